package eventlog

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const helperEnv = "EVENTLOG_TEST_HELPER_PATH"

// TestHelperAppender is not a test: TestSIGKILL runs the test binary again
// with helperEnv set, and this appends to that log until killed, printing
// "seq N" after every Append that returned, N being its last Seq.
func TestHelperAppender(t *testing.T) {
	path := os.Getenv(helperEnv)
	if path == "" {
		t.Skip("helper process for TestSIGKILL")
	}
	l, err := Open(path)
	if err != nil {
		fmt.Println("error", err)
		os.Exit(2)
	}
	sse := l.LastSSEID()
	for i := 0; i < 1e6; i++ {
		// Batches of 1–7 records up to 16 KB each make kills land inside
		// the data write, inside the index write and between the two.
		batch := make([]Record, 1+i%7)
		for j := range batch {
			pad := strings.Repeat("x", (i*977+j*131)%16000)
			batch[j] = Record{Dir: DirOut, Env: json.RawMessage(fmt.Sprintf(`{"i":%d,"pad":%q}`, i, pad))}
			if (i+j)%3 != 0 {
				sse++
				batch[j].Dir, batch[j].SSEID = DirIn, sse
			}
		}
		out, err := l.Append(batch...)
		if err != nil {
			fmt.Println("error", err)
			os.Exit(2)
		}
		fmt.Printf("seq %d\n", out[len(out)-1].Seq)
		if i%100 == 0 {
			l.Sync()
		}
	}
	os.Exit(0) // not reached in time: the parent kills us first
}

// TestSIGKILL kills a process that is appending, at an arbitrary instant,
// three times over the same log, and checks after each kill that every
// record whose Append returned is there, once, in order.
func TestSIGKILL(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log")
	var prev int64
	for round := range 3 {
		cmd := exec.Command(os.Args[0], "-test.run=^TestHelperAppender$")
		cmd.Env = append(os.Environ(), helperEnv+"="+path)
		cmd.Stderr = os.Stderr
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		started, reported := make(chan struct{}), make(chan int64)
		go func() {
			var last int64
			begun := false
			sc := bufio.NewScanner(stdout)
			for sc.Scan() {
				if _, err := fmt.Sscanf(sc.Text(), "seq %d", &last); err != nil && strings.HasPrefix(sc.Text(), "error") {
					t.Errorf("helper: %s", sc.Text())
				}
				if last > 0 && !begun {
					close(started)
					begun = true
				}
			}
			reported <- last
		}()
		// Time the kill from the first Append, not from exec: a race-enabled
		// binary on a loaded machine can take longer than that to start.
		select {
		case <-started:
		case <-time.After(10 * time.Second):
		}
		time.Sleep(200 * time.Millisecond)
		if err := cmd.Process.Kill(); err != nil { // SIGKILL on Unix
			t.Fatal(err)
		}
		last := <-reported // pipe closes when the child dies
		cmd.Wait()
		if last <= prev {
			t.Fatalf("round %d: helper made no progress (reported %d, log had %d)", round, last, prev)
		}

		data, _ := os.ReadFile(path)
		idx, _ := os.ReadFile(path + ".idx")
		torn := fmt.Sprintf("data ends in newline %v, %d lines, %d index bytes",
			strings.HasSuffix(string(data), "\n"), strings.Count(string(data), "\n"), len(idx))

		l := openT(t, path)
		recs := readAllT(t, l, 500) // checks Seqs are 1…LastSeq
		if n := int64(len(recs)); n < last {
			t.Fatalf("round %d: %d records after kill; Append had returned for %d", round, n, last)
		}
		var sse int64
		for _, r := range recs {
			if r.SSEID != 0 && r.SSEID != sse+1 {
				t.Fatalf("record %d: SSEID %d after %d", r.Seq, r.SSEID, sse)
			}
			sse = max(sse, r.SSEID)
		}
		if l.LastSSEID() != sse {
			t.Errorf("LastSSEID %d, want %d", l.LastSSEID(), sse)
		}
		t.Logf("round %d: Append returned for %d, log has %d; at the kill: %s", round, last, len(recs), torn)
		prev = int64(len(recs))
		l.Close()
	}
}

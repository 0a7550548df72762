package eventlog

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

// testEnv is a JSON-RPC envelope with whitespace (so compaction is exercised)
// and HTML characters (which must be stored as given, not \u-escaped).
func testEnv(i int) json.RawMessage {
	return json.RawMessage(fmt.Sprintf(`{"jsonrpc": "2.0", "method": "session/update",
		"params": {"n": %d, "text": "<a & b>"}}`, i))
}

// testRecords returns n records for Seq first…first+n-1: every third one is
// "out"; the others are "in" with SSEID 10×Seq.
func testRecords(first int64, n int) []Record {
	recs := make([]Record, n)
	for i := range recs {
		seq := first + int64(i)
		recs[i] = Record{Dir: DirIn, SSEID: 10 * seq, Env: testEnv(int(seq))}
		if seq%3 == 0 {
			recs[i] = Record{Dir: DirOut, Env: testEnv(int(seq))}
		}
	}
	return recs
}

func openT(t testing.TB, path string) *Log {
	t.Helper()
	l, err := Open(path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return l
}

// appendT appends n test records continuing l's numbering.
func appendT(t testing.TB, l *Log, n int) []Record {
	t.Helper()
	out, err := l.Append(testRecords(l.LastSeq()+1, n)...)
	if err != nil {
		t.Fatalf("Append: %v", err)
	}
	return out
}

// readAllT reads the whole log in pages of page records and checks that the
// Seqs run 1, 2, 3… without gaps or repeats.
func readAllT(t testing.TB, l *Log, page int) []Record {
	t.Helper()
	var all []Record
	for {
		recs, err := l.Read(int64(len(all)), page)
		if err != nil {
			t.Fatalf("Read(%d, %d): %v", len(all), page, err)
		}
		if len(recs) == 0 {
			break
		}
		for i, r := range recs {
			if want := int64(len(all) + i + 1); r.Seq != want {
				t.Fatalf("record %d has Seq %d", want, r.Seq)
			}
		}
		all = append(all, recs...)
	}
	if int64(len(all)) != l.LastSeq() {
		t.Fatalf("read %d records, LastSeq %d", len(all), l.LastSeq())
	}
	return all
}

func seqs(recs []Record) []int64 {
	s := []int64{}
	for _, r := range recs {
		s = append(s, r.Seq)
	}
	return s
}

func TestAppendRead(t *testing.T) {
	l := openT(t, filepath.Join(t.TempDir(), "log"))
	defer l.Close()
	stored := append(appendT(t, l, 4), appendT(t, l, 6)...)
	if got := seqs(stored); !reflect.DeepEqual(got, []int64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}) {
		t.Fatalf("assigned Seqs %v", got)
	}
	if want := `{"jsonrpc":"2.0","method":"session/update","params":{"n":1,"text":"<a & b>"}}`; string(stored[0].Env) != want {
		t.Errorf("stored Env %s, want %s", stored[0].Env, want)
	}
	if stored[0].Time.IsZero() {
		t.Error("Time not assigned")
	}
	if all, _ := l.Read(0, 100); !reflect.DeepEqual(all, stored) {
		t.Errorf("Read returned\n%v\nAppend returned\n%v", all, stored)
	}
	if l.LastSeq() != 10 || l.LastSSEID() != 100 {
		t.Errorf("LastSeq %d LastSSEID %d, want 10 100", l.LastSeq(), l.LastSSEID())
	}

	for _, tc := range []struct {
		after   int64
		limit   int
		want    []int64
		wantErr bool
	}{
		{after: 0, limit: 3, want: []int64{1, 2, 3}},
		{after: 3, limit: 3, want: []int64{4, 5, 6}},
		{after: 8, limit: 5, want: []int64{9, 10}},
		{after: 9, limit: 1, want: []int64{10}},
		{after: 10, limit: 5, want: []int64{}},
		{after: 1 << 40, limit: 5, want: []int64{}},
		{after: 2, limit: 0, want: []int64{}},
		{after: -1, limit: 5, wantErr: true},
		{after: 0, limit: -1, wantErr: true},
	} {
		recs, err := l.Read(tc.after, tc.limit)
		if (err != nil) != tc.wantErr {
			t.Errorf("Read(%d, %d) error %v, want error %v", tc.after, tc.limit, err, tc.wantErr)
			continue
		}
		if !tc.wantErr && !reflect.DeepEqual(seqs(recs), tc.want) {
			t.Errorf("Read(%d, %d) = %v, want %v", tc.after, tc.limit, seqs(recs), tc.want)
		}
	}
}

func TestAppendValidation(t *testing.T) {
	l := openT(t, filepath.Join(t.TempDir(), "log"))
	defer l.Close()
	good := Record{Dir: DirOut, Env: json.RawMessage(`{}`)}
	for _, tc := range []struct {
		name string
		rec  Record
		ok   bool
	}{
		{"in", Record{Dir: DirIn, SSEID: 7, Env: json.RawMessage(`{"a":1}`)}, true},
		{"newlines compacted away", Record{Dir: DirOut, Env: json.RawMessage("{\n \"a\":\n[1,\n2]\n}\n")}, true},
		{"empty dir", Record{Env: json.RawMessage(`{}`)}, false},
		{"bad dir", Record{Dir: "sideways", Env: json.RawMessage(`{}`)}, false},
		{"invalid env", Record{Dir: DirIn, Env: json.RawMessage(`{"a":`)}, false},
		{"empty env", Record{Dir: DirIn}, false},
		{"two values", Record{Dir: DirIn, Env: json.RawMessage("{}\n{}")}, false},
		{"unencodable time", Record{Dir: DirIn, Env: json.RawMessage(`{}`), Time: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}, false},
	} {
		before := l.LastSeq()
		// The bad record goes in the middle of a batch: all or nothing.
		_, err := l.Append(good, tc.rec, good)
		if (err == nil) != tc.ok {
			t.Errorf("%s: Append error %v, want ok=%v", tc.name, err, tc.ok)
		}
		if want := before + map[bool]int64{true: 3, false: 0}[tc.ok]; l.LastSeq() != want {
			t.Errorf("%s: LastSeq %d, want %d", tc.name, l.LastSeq(), want)
		}
	}
	readAllT(t, l, 4)
	if out, err := l.Append(); out != nil || err != nil {
		t.Errorf("empty Append = %v, %v", out, err)
	}
}

func TestReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log")
	l := openT(t, path)
	for l.LastSeq() < 1500 {
		appendT(t, l, 50)
	}
	// End on "out" records so LastSSEID must be found behind them.
	l.Append(Record{Dir: DirOut, Env: json.RawMessage(`1`)}, Record{Dir: DirOut, Env: json.RawMessage(`2`)})
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Read(0, 1); !errors.Is(err, os.ErrClosed) {
		t.Errorf("Read after Close: %v", err)
	}
	if _, err := l.Append(testRecords(1, 1)...); !errors.Is(err, os.ErrClosed) {
		t.Errorf("Append after Close: %v", err)
	}

	l = openT(t, path)
	defer l.Close()
	// Record 1500 is "out" (Seq%3 == 0), so the last SSEID is 1499's.
	if l.LastSeq() != 1502 || l.LastSSEID() != 14990 {
		t.Fatalf("after reopen LastSeq %d LastSSEID %d, want 1502 14990", l.LastSeq(), l.LastSSEID())
	}
	all := readAllT(t, l, 100)
	if want := fmt.Sprintf(`{"jsonrpc":"2.0","method":"session/update","params":{"n":%d,"text":"<a & b>"}}`, 1500); string(all[1499].Env) != want {
		t.Errorf("record 1500 Env %s", all[1499].Env)
	}
	if out := appendT(t, l, 2); out[1].Seq != 1504 || l.LastSSEID() != 15040 {
		t.Errorf("append after reopen: Seq %d LastSSEID %d, want 1504 15040", out[1].Seq, l.LastSSEID())
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("data file mode %v, %v", fi.Mode(), err)
	}
}

// TestConcurrent runs one writer and four readers; run it with -race.
func TestConcurrent(t *testing.T) {
	l := openT(t, filepath.Join(t.TempDir(), "log"))
	defer l.Close()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := l.Append(testRecords(l.LastSeq()+1, 1+i%5)...); err != nil {
				t.Error(err)
				return
			}
			if i%100 == 0 {
				l.Sync()
			}
		}
	})
	for r := range 4 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				last := l.LastSeq()
				after := max(0, last-int64(i*7+r)%(last+1))
				recs, err := l.Read(after, 50)
				if err != nil {
					t.Error(err)
					return
				}
				for j, rec := range recs {
					if rec.Seq != after+int64(j)+1 {
						t.Errorf("Read(%d) record %d has Seq %d", after, j, rec.Seq)
						return
					}
				}
				if len(recs) < int(min(50, last-after)) {
					t.Errorf("Read(%d, 50) returned %d records, LastSeq was %d", after, len(recs), last)
				}
			}
		})
	}
	time.Sleep(300 * time.Millisecond)
	close(stop)
	wg.Wait()
	readAllT(t, l, 1000)
}

// TestReadBytes: a byte budget cuts a page before the record that would overrun it, but never below one
// record, and Size tracks the data file.
func TestReadBytes(t *testing.T) {
	l := openT(t, filepath.Join(t.TempDir(), "log"))
	defer l.Close()
	// Records of 1, 10, 100, 1, 1 KiB of text (plus the record's own ~100 bytes).
	var recs []Record
	for _, n := range []int{1 << 10, 10 << 10, 100 << 10, 1 << 10, 1 << 10} {
		recs = append(recs, Record{Dir: DirIn, Env: json.RawMessage(fmt.Sprintf(`{"text":%q}`, strings.Repeat("x", n)))})
	}
	if _, err := l.Append(recs...); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(l.path); err != nil || fi.Size() != l.Size() {
		t.Fatalf("Size() = %d, data file %v %v", l.Size(), fi.Size(), err)
	}
	for _, tc := range []struct {
		after    int64
		maxBytes int64
		want     []int64
	}{
		{0, 0, []int64{1, 2, 3, 4, 5}},
		{0, 2 << 10, []int64{1}},
		{0, 12 << 10, []int64{1, 2}},
		{0, 200 << 10, []int64{1, 2, 3, 4, 5}},
		{1, 1, []int64{2}}, // always one record, however small the budget
		{2, 50 << 10, []int64{3}},
		{3, 3 << 10, []int64{4, 5}},
	} {
		got, err := l.ReadBytes(tc.after, 10, tc.maxBytes)
		if err != nil || !reflect.DeepEqual(seqs(got), tc.want) {
			t.Errorf("ReadBytes(%d, 10, %d) = %v, %v; want %v", tc.after, tc.maxBytes, seqs(got), err, tc.want)
		}
	}
}

// TestReadLast: the end of the log, as many records as fit in the budget and at least the last one.
func TestReadLast(t *testing.T) {
	l := openT(t, filepath.Join(t.TempDir(), "log"))
	defer l.Close()
	if got, err := l.ReadLast(5, 100); err != nil || len(got) != 0 {
		t.Fatalf("ReadLast on an empty log = %v, %v", seqs(got), err)
	}
	var recs []Record
	for _, n := range []int{1 << 10, 1 << 10, 100 << 10, 1 << 10, 1 << 10} {
		recs = append(recs, Record{Dir: DirIn, Env: json.RawMessage(fmt.Sprintf(`{"text":%q}`, strings.Repeat("x", n)))})
	}
	if _, err := l.Append(recs...); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		limit    int
		maxBytes int64
		want     []int64
	}{
		{10, 0, []int64{1, 2, 3, 4, 5}},
		{2, 0, []int64{4, 5}},
		{10, 3 << 10, []int64{4, 5}},
		{10, 1, []int64{5}},
		{10, 200 << 10, []int64{1, 2, 3, 4, 5}},
		{10, 103 << 10, []int64{3, 4, 5}},
		{0, 0, []int64{}},
	} {
		got, err := l.ReadLast(tc.limit, tc.maxBytes)
		if err != nil || !reflect.DeepEqual(seqs(got), tc.want) {
			t.Errorf("ReadLast(%d, %d) = %v, %v; want %v", tc.limit, tc.maxBytes, seqs(got), err, tc.want)
		}
	}
}

package eventlog

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

// checkRecovered opens path, which a test has damaged, and checks that it
// holds exactly want (nothing complete lost, nothing doubled), that appending
// continues the numbering, and that the repaired files reopen unchanged.
func checkRecovered(t *testing.T, path string, want []Record) {
	t.Helper()
	l := openT(t, path)
	got := readAllT(t, l, 7)
	if !reflect.DeepEqual(got, want) && len(got)+len(want) > 0 {
		t.Fatalf("recovered Seqs %v, want %v", seqs(got), seqs(want))
	}
	var sse int64 // of the latest record that has one; the max for real logs
	for _, r := range want {
		if r.SSEID != 0 {
			sse = r.SSEID
		}
	}
	if l.LastSSEID() != sse {
		t.Errorf("LastSSEID %d, want %d", l.LastSSEID(), sse)
	}
	if out := appendT(t, l, 1); out[0].Seq != int64(len(want))+1 {
		t.Errorf("next Seq %d, want %d", out[0].Seq, len(want)+1)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path + ".idx"); err != nil || fi.Size() != int64(len(want)+1)*entrySize {
		t.Errorf("index after repair and append: %v bytes, %v; want %d", fi.Size(), err, (len(want)+1)*entrySize)
	}
	l = openT(t, path)
	if n := len(readAllT(t, l, 100)); n != len(want)+1 {
		t.Errorf("after reopen %d records, want %d", n, len(want)+1)
	}
	l.Close()
}

// TestRecoverTornStates writes the files of each damaged state directly and
// checks that Open repairs it.
func TestRecoverTornStates(t *testing.T) {
	bp := filepath.Join(t.TempDir(), "log")
	l := openT(t, bp)
	recs := appendT(t, l, 20)
	l.Close()
	data, _ := os.ReadFile(bp)
	idx, _ := os.ReadFile(bp + ".idx")
	off := func(seq int) int { return int(binary.LittleEndian.Uint64(idx[(seq-1)*entrySize:])) }
	withEntry := func(seq int, v uint64) []byte {
		b := bytes.Clone(idx)
		binary.LittleEndian.PutUint64(b[(seq-1)*entrySize:], v)
		return b
	}
	rotten := bytes.Clone(data)
	rotten[off(10)+2] = '#'

	for _, tc := range []struct {
		name      string
		data, idx []byte // idx nil: no index file
		keep      int    // records 1..keep must survive
		torn      []byte // expected <path>.torn; nil: none
	}{
		{"clean", data, idx, 20, nil},
		{"partial last line", cat(data, data[off(5):off(5)+30]), idx, 20, nil},
		{"partial first line", data[:10], nil, 0, nil},
		{"killed inside a batch write", data[:off(18)+7], idx[:17*entrySize], 17, nil},
		{"index shorter than data", data, idx[:5*entrySize], 20, nil},
		{"index empty", data, []byte{}, 20, nil},
		{"index torn entry", data, idx[:12*entrySize+3], 20, nil},
		{"index missing", data, nil, 20, nil},
		{"index longer than data", data[:off(15)], idx, 14, nil},
		{"index longer, data line torn", data[:off(15)+9], idx, 14, nil},
		{"index with junk entries past the end", data, cat(idx, []byte("\xff\xff\xff\xff\xff\xff\xff\xff\x03\x00\x00\x00\x00\x00\x00\x00")), 20, nil},
		{"last entry past data", data, withEntry(20, 1<<40), 20, nil},
		{"last entry mid-line", data, withEntry(20, uint64(off(20)+3)), 20, nil},
		{"middle entry mid-line", data, withEntry(10, uint64(off(10)+3)), 20, nil},
		{"middle entry past data", data, withEntry(10, 1<<63), 20, nil},
		{"first entry corrupted", data, withEntry(1, 5), 20, nil},
		{"index all zero", data, make([]byte, len(idx)), 20, nil},
		{"data empty, index full", []byte{}, idx, 0, nil},
		{"junk line after data", cat(data, []byte("junk\n")), idx, 20, []byte("junk\n")},
		{"record repeated at the end", cat(data, data[off(3):off(4)]), idx, 20, data[off(3):off(4)]},
		{"zeros then torn line", cat(data, []byte("\x00\x00\n{\"seq\":21")), idx, 20, []byte("\x00\x00\n{\"seq\":21")},
		// Not a crash state (appends never rewrite): the policy is the same,
		// the log is the valid prefix and the rest is kept aside.
		{"bit rot mid-file", rotten, idx, 9, rotten[off(10):]},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "log")
			if err := os.WriteFile(path, tc.data, 0o600); err != nil {
				t.Fatal(err)
			}
			if tc.idx != nil {
				if err := os.WriteFile(path+".idx", tc.idx, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			checkRecovered(t, path, recs[:tc.keep])
			torn, err := os.ReadFile(path + ".torn")
			if tc.torn == nil && err == nil {
				t.Errorf(".torn written: %q", torn)
			} else if tc.torn != nil && !bytes.Equal(torn, tc.torn) {
				t.Errorf(".torn = %q, %v; want %q", torn, err, tc.torn)
			}
		})
	}
}

// TestReadRepairs damages an index entry far enough back that Open's bounded
// checks do not read it; the Read that meets it must repair, not fail.
func TestReadRepairs(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log")
	l := openT(t, path)
	want := appendT(t, l, 600)
	l.Close()
	f, err := os.OpenFile(path+".idx", os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteAt([]byte{0xff, 0xff, 0xff}, 99*entrySize) // entry of record 100
	f.Close()

	l = openT(t, path)
	defer l.Close()
	if got := readAllT(t, l, 1000); !reflect.DeepEqual(got, want) {
		t.Fatalf("after repair Seqs %v", seqs(got))
	}
}

// FuzzOpenRecover feeds arbitrary data and index files to Open. Open must not
// panic or fail; the log it yields must read back as Seqs 1…LastSeq, take an
// Append, and reopen unchanged. Seeds: testdata/fuzz/FuzzOpenRecover.
func FuzzOpenRecover(f *testing.F) {
	f.Fuzz(func(t *testing.T, data, idx []byte) {
		path := filepath.Join(t.TempDir(), "log")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path+".idx", idx, 0o600); err != nil {
			t.Fatal(err)
		}
		l := openT(t, path)
		recs, err := l.Read(0, len(data)+1)
		if err != nil {
			t.Fatalf("Read: %v", err)
		}
		if int64(len(recs)) != l.LastSeq() {
			t.Fatalf("Read(0) gave %d records, LastSeq %d", len(recs), l.LastSeq())
		}
		for i, r := range recs {
			if r.Seq != int64(i)+1 {
				t.Fatalf("record %d has Seq %d", i+1, r.Seq)
			}
		}
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
		checkRecovered(t, path, recs)
	})
}

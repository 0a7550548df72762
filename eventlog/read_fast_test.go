package eventlog

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// appendedLine is a line as Append writes it.
func appendedLine(t testing.TB, r Record) []byte {
	t.Helper()
	path := filepath.Join(t.TempDir(), "log")
	l, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Append(r); err != nil {
		t.Fatal(err)
	}
	l.Close()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// TestDecodeAppendedTakesAppendsLayout: what Append writes takes the fast path and decodes as
// json.Unmarshal does.
func TestDecodeAppendedTakesAppendsLayout(t *testing.T) {
	for _, r := range []Record{
		{Dir: DirIn, SSEID: 42, Env: benchEnv},
		{Dir: DirOut, Env: json.RawMessage(`{"jsonrpc":"2.0","id":"turn-1","method":"session/prompt","params":{"prompt":[{"type":"text","text":"a \"quoted\" <b>\n\u00e9"}]}}`)},
		{Dir: DirIn, SSEID: 1, Env: json.RawMessage(` { "a" : [ 1 , 2 ] } `)},
	} {
		line := appendedLine(t, r)
		var fast, slow Record
		if !decodeAppended(line, &fast) {
			t.Errorf("not taken: %s", line)
			continue
		}
		if err := json.Unmarshal(line, &slow); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(fast, slow) {
			t.Errorf("%s:\nfast %+v\nslow %+v", line, fast, slow)
		}
	}
}

// FuzzDecodeAppended: whenever the fast path takes a line, it decodes it as json.Unmarshal does.
func FuzzDecodeAppended(f *testing.F) {
	for _, s := range []string{
		`{"seq":1,"t":"2026-01-02T03:04:05.123456789Z","dir":"in","sse":7,"env":{"jsonrpc":"2.0"}}` + "\n",
		`{"seq":12,"t":"2026-01-02T03:04:05Z","dir":"out","env":{"a":[1,{"b":"c"}]}}` + "\n",
		`{"seq":1,"t":"2026-01-02T03:04:05Z","dir":"out","env":{"a":1},"env":{"b":2}}` + "\n",
		`{"seq":01,"t":"2026-01-02T03:04:05Z","dir":"in","env":{}}` + "\n",
		`{"seq":1,"t":"2026-01-02T03:04:05+01:00","dir":"in","env":{}}` + "\n",
		`{"seq":1,"t":"2026-01-02T03:04:05\u005a","dir":"in","env":{}}` + "\n",
		`{"seq":1,"t":"2026-13-02T03:04:05Z","dir":"in","env":{}}` + "\n",
		`{"seq":1,"t":"2026-01-02T03:04:05Z","dir":"in","sse":-1,"env":{}}` + "\n",
		`{"seq":99999999999999999999,"t":"2026-01-02T03:04:05Z","dir":"in","env":{}}` + "\n",
		`{"seq":1,"t":"2026-01-02T03:04:05Z","dir":"in","env":{} }` + "\n",
		`{"seq":1,"t":"2026-01-02T03:04:05Z","dir":"in","env":{"a":"\x"}}` + "\n",
		`{"seq":1,"t":"2026-01-02T03:04:05Z","dir":"in","env":{"a":1}x}` + "\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		var fast, slow Record
		if !decodeAppended(line, &fast) {
			return
		}
		if err := json.Unmarshal(line, &slow); err != nil {
			t.Fatalf("fast path took a line json.Unmarshal refuses (%v): %q", err, line)
		}
		if !reflect.DeepEqual(fast, slow) || !bytes.Equal(fast.Env, slow.Env) {
			t.Fatalf("%q:\nfast %+v\nslow %+v", line, fast, slow)
		}
	})
}

// BenchmarkDecodeLine: one typical record, the fast path against json.Unmarshal.
func BenchmarkDecodeLine(b *testing.B) {
	line := appendedLine(b, Record{Dir: DirIn, SSEID: 99901, Env: benchEnv})
	b.Run("fast", func(b *testing.B) {
		var r Record
		for b.Loop() {
			if err := decodeLine(line, 1, &r); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("unmarshal", func(b *testing.B) {
		var r Record
		for b.Loop() {
			r = Record{}
			if err := json.Unmarshal(line, &r); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// FuzzValidJSON: validJSON is json.Valid.
func FuzzValidJSON(f *testing.F) {
	for _, s := range []string{`{}`, `[]`, ` {"a":[1,-0.5e+3,true,false,null,"\u00e9\n"]} `, `{"a":1,}`, `[1 2]`, `01`, `-`, `1.`, `1e`, `"\x"`, "\"\x01\"", "\"\xff\"",
		`{"a"}`, `{1:2}`, `nul`, `truex`, `"abc`, `[` + string(bytes.Repeat([]byte("["), 70)) + string(bytes.Repeat([]byte("]"), 71)), ``, ` `} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if got, want := validJSON(b), json.Valid(b); got != want {
			t.Fatalf("validJSON(%q) = %v, json.Valid %v", b, got, want)
		}
	})
}

// BenchmarkValidJSON: validJSON against json.Valid on a typical envelope.
func BenchmarkValidJSON(b *testing.B) {
	b.Run("fast", func(b *testing.B) {
		for b.Loop() {
			if !validJSON(benchEnv) {
				b.Fatal("invalid")
			}
		}
	})
	b.Run("std", func(b *testing.B) {
		for b.Loop() {
			if !json.Valid(benchEnv) {
				b.Fatal("invalid")
			}
		}
	})
}

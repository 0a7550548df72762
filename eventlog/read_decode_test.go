package eventlog

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

// appendedLine is a line as Append writes it; ok=false: Append refused the record.
func appendedLine(t testing.TB, r Record) (line []byte, ok bool) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "log")
	l, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if _, err := l.Append(r); err != nil {
		return nil, false
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data, true
}

// decodesAsUnmarshal fails t unless decodeAppended takes line and decodes it as json.Unmarshal does.
func decodesAsUnmarshal(t *testing.T, line []byte) {
	t.Helper()
	var got, want Record
	if !decodeAppended(line, &got) {
		t.Fatalf("not taken: %q", line)
	}
	if err := json.Unmarshal(line, &want); err != nil {
		t.Fatalf("taken, but json.Unmarshal refuses it (%v): %q", err, line)
	}
	if !reflect.DeepEqual(got, want) || !bytes.Equal(got.Env, want.Env) {
		t.Fatalf("%q:\ndecodeAppended %+v\njson.Unmarshal %+v", line, got, want)
	}
}

// appendSeeds are records Append writes in each way its layout allows: both directions, with and
// without an SSE id (negative and extreme ones too), envelopes of every JSON kind, escapes, characters
// encoding/json would escape as HTML, and bytes that are not UTF-8.
var appendSeeds = []Record{
	{Dir: DirIn, SSEID: 42, Env: benchEnv},
	{Dir: DirOut, Env: json.RawMessage(`{"jsonrpc":"2.0","id":"turn-1","method":"session/prompt","params":{"prompt":[{"type":"text","text":"a \"quoted\" <b>&\n\u00e9 \u2028"}]}}`)},
	{Dir: DirIn, SSEID: 1, Env: json.RawMessage(` { "a" : [ 1 , 2 ] } `)},
	{Dir: DirIn, SSEID: -7, Env: json.RawMessage(`[1,"x"]`)},
	{Dir: DirIn, SSEID: 9223372036854775807, Env: json.RawMessage(`"a string"`)},
	{Dir: DirIn, SSEID: -9223372036854775808, Env: json.RawMessage(`-0.5e3`)},
	{Dir: DirOut, Env: json.RawMessage(`null`)},
	{Dir: DirOut, Env: json.RawMessage("{\"bad\":\"\xff\xfe\"}")},
	{Dir: DirIn, Time: time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("x", 3600)), Env: json.RawMessage(`{}`)},
}

// TestDecodeAppendedTakesAppendsLayout: every line Append writes decodes, as json.Unmarshal decodes it.
func TestDecodeAppendedTakesAppendsLayout(t *testing.T) {
	for _, r := range appendSeeds {
		line, ok := appendedLine(t, r)
		if !ok {
			t.Fatalf("Append refused %+v", r)
		}
		decodesAsUnmarshal(t, line)
	}
}

// FuzzAppendedLayout: whatever Append writes, decodeAppended decodes as json.Unmarshal does (a line
// it did not take would be corrupt: it is the only decoder).
func FuzzAppendedLayout(f *testing.F) {
	for _, r := range appendSeeds {
		f.Add([]byte(r.Env), r.SSEID, r.Dir == DirOut, r.Time.UnixNano())
	}
	f.Fuzz(func(t *testing.T, env []byte, sse int64, out bool, nanos int64) {
		r := Record{Dir: DirIn, SSEID: sse, Env: env, Time: time.Unix(0, nanos)}
		if out {
			r.Dir = DirOut
		}
		if line, ok := appendedLine(t, r); ok {
			decodesAsUnmarshal(t, line)
		}
	})
}

// FuzzDecodeAppended: whenever decodeAppended takes a line, it decodes it as json.Unmarshal does.
func FuzzDecodeAppended(f *testing.F) {
	for _, s := range []string{
		`{"seq":1,"t":"2026-01-02T03:04:05.123456789Z","dir":"in","sse":7,"env":{"jsonrpc":"2.0"}}` + "\n",
		`{"seq":12,"t":"2026-01-02T03:04:05Z","dir":"out","env":{"a":[1,{"b":"c"}]}}` + "\n",
		`{"seq":1,"t":"2026-01-02T03:04:05Z","dir":"out","env":{"a":1},"env":{"b":2}}` + "\n",
		`{"seq":01,"t":"2026-01-02T03:04:05Z","dir":"in","env":{}}` + "\n",
		`{"seq":-0,"t":"2026-01-02T03:04:05Z","dir":"in","env":{}}` + "\n",
		`{"seq":1,"t":"2026-01-02T03:04:05+01:00","dir":"in","env":{}}` + "\n",
		`{"seq":1,"t":"2026-01-02T03:04:05\u005a","dir":"in","env":{}}` + "\n",
		`{"seq":1,"t":"2026-13-02T03:04:05Z","dir":"in","env":{}}` + "\n",
		`{"seq":1,"t":"2026-01-02T03:04:05Z","dir":"in","sse":-1,"env":{}}` + "\n",
		`{"seq":1,"t":"2026-01-02T03:04:05Z","dir":"in","sse":-01,"env":{}}` + "\n",
		`{"seq":9223372036854775808,"t":"2026-01-02T03:04:05Z","dir":"in","env":{}}` + "\n",
		`{"seq":1,"t":"2026-01-02T03:04:05Z","dir":"in","sse":1.0,"env":{}}` + "\n",
		`{"seq":1,"t":"2026-01-02T03:04:05Z","dir":"in","env":{} }` + "\n",
		`{"seq":1,"t":"2026-01-02T03:04:05Z","dir":"in","env": {}}` + "\n",
		`{"seq":1,"t":"2026-01-02T03:04:05Z","dir":"in","env":5}` + "\n",
		`{"seq":1,"t":"2026-01-02T03:04:05Z","dir":"in","env":"}"}` + "\n",
		`{"seq":1,"t":"2026-01-02T03:04:05Z","dir":"in","env":{"a":"\x"}}` + "\n",
		`{"seq":1,"t":"2026-01-02T03:04:05Z","dir":"in","env":{"a":1}x}` + "\n",
		`{"seq":1,"t":"2026-01-02T03:04:05Z","dir":"in","env":1,"x":2}` + "\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		var r Record
		if decodeAppended(line, &r) {
			decodesAsUnmarshal(t, line)
		}
	})
}

// TestDecodeLineRefusesOtherLayouts: a valid JSON record that Append would not have written is corrupt.
func TestDecodeLineRefusesOtherLayouts(t *testing.T) {
	for _, line := range []string{
		`{"t":"2026-01-02T03:04:05Z","seq":1,"dir":"in","env":{}}`,
		`{"seq":1, "t":"2026-01-02T03:04:05Z","dir":"in","env":{}}`,
		`{"Seq":1,"t":"2026-01-02T03:04:05Z","dir":"in","env":{}}`,
		`{"seq":1,"t":"2026-01-02T03:04:05Z","dir":"in","env":{},"x":1}`,
	} {
		var r Record
		if err := json.Unmarshal([]byte(line), &r); err != nil || r.Seq != 1 {
			t.Fatalf("the case is wrong: %s: %+v %v", line, r, err)
		}
		if err := decodeLine([]byte(line+"\n"), 1, &r); err == nil {
			t.Errorf("%s: decoded", line)
		}
	}
}

// BenchmarkDecodeLine: one typical record, decodeLine against its reference, json.Unmarshal.
func BenchmarkDecodeLine(b *testing.B) {
	line, _ := appendedLine(b, Record{Dir: DirIn, SSEID: 99901, Env: benchEnv})
	b.Run("decodeLine", func(b *testing.B) {
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

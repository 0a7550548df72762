package jsonscan

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestValid(t *testing.T) {
	deep := func(n int) string { return strings.Repeat("[", n) + strings.Repeat("]", n) }
	for _, tc := range []struct {
		in    string
		valid bool
	}{
		{`{}`, true},
		{`[]`, true},
		{` {"a":[1,-0.5e+3,true,false,null,"\u00e9\n"]} `, true},
		{`"é"`, true},
		{"\"\xff\"", true}, // json.Valid does not check strings' UTF-8
		{`0`, true},
		{`-0.0e-0`, true},
		{``, false},
		{` `, false},
		{`{"a":1,}`, false},
		{`[1,]`, false},
		{`[,1]`, false},
		{`[1 2]`, false},
		{`{"a"}`, false},
		{`{1:2}`, false},
		{`01`, false},
		{`-`, false},
		{`1.`, false},
		{`1e`, false},
		{`"\x"`, false},
		{`"\u12g4"`, false},
		{"\"\x01\"", false},
		{`"abc`, false},
		{`nul`, false},
		{`truex`, false},
		{`{} {}`, false},
		{deep(MaxDepth), true},      // encoding/json's limit…
		{deep(MaxDepth + 1), false}, // …and one past it
		{`[1 ` + deep(MaxDepth), false},
	} {
		if got := Valid([]byte(tc.in)); got != tc.valid {
			t.Errorf("Valid(%.40q) = %v; want %v", tc.in, got, tc.valid)
		}
		if want := json.Valid([]byte(tc.in)); want != tc.valid {
			t.Errorf("json.Valid(%.40q) = %v: the case is wrong", tc.in, want)
		}
	}
}

// unquoteCases are string bodies with encoding/json's replacement rules at work.
var unquoteCases = []string{
	`abc`,
	`a\"b\\c\/d\b\f\n\r\t`,
	`\u00e9\u4E16`,
	`é`,
	`\ud83d\ude00`,       // a pair
	`\ud83d`,             // a lone high surrogate…
	`\ud83dx`,            // …followed by something else
	`\ud83d\u0041`,       // …by an escape that is not its other half
	`\ude00\ud83d`,       // halves in the wrong order
	`\ud83d\ud83d\ude00`, // a lone half, then a pair
	"\xff",               // an invalid UTF-8 byte
	"a\xe2\x82z",         // a truncated sequence
	"\xed\xa0\x80",       // a surrogate encoded as UTF-8
	"\xef\xbf\xbd",       // U+FFFD itself
}

func TestUnquote(t *testing.T) {
	for _, body := range unquoteCases {
		var want string
		if err := json.Unmarshal([]byte(`"`+body+`"`), &want); err != nil {
			t.Fatalf("%q: %v", body, err)
		}
		if got := Unquote([]byte(body)); got != want {
			t.Errorf("Unquote(%q) = %q; encoding/json %q", body, got, want)
		}
	}
}

// FuzzValid: Valid is json.Valid.
func FuzzValid(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		if got, want := Valid(b), json.Valid(b); got != want {
			t.Fatalf("Valid(%q) = %v, json.Valid %v", b, got, want)
		}
	})
}

// FuzzUnquote: a string the Scanner accepts reads as encoding/json reads it.
func FuzzUnquote(f *testing.F) {
	for _, body := range unquoteCases {
		f.Add([]byte(body))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		tok := append(append([]byte{'"'}, body...), '"')
		s := Scanner{B: tok}
		var got string
		if !s.StringOrNull(&got) || !s.End() {
			return
		}
		var want string
		if err := json.Unmarshal(tok, &want); err != nil {
			t.Fatalf("%q: accepted, but encoding/json says %v", tok, err)
		}
		if got != want {
			t.Fatalf("%q: %q, encoding/json %q", tok, got, want)
		}
	})
}

// BenchmarkValid: Valid against json.Valid on a typical envelope (a streamed chunk of ~200 bytes).
func BenchmarkValid(b *testing.B) {
	env := []byte(`{"jsonrpc":"2.0","method":"session/update","params":{"sessionId":"s-0123456789abcdef","update":{"sessionUpdate":"agent_message_chunk","content":{"type":"text","text":"Reading the package layout before editing the file."}}}}`)
	b.Run("jsonscan", func(b *testing.B) {
		for b.Loop() {
			if !Valid(env) {
				b.Fatal("invalid")
			}
		}
	})
	b.Run("std", func(b *testing.B) {
		for b.Loop() {
			if !json.Valid(env) {
				b.Fatal("invalid")
			}
		}
	})
}

package jsonscan

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestValid(t *testing.T) {
	deep := func(n int) string { return strings.Repeat("[", n) + strings.Repeat("]", n) }
	for _, tc := range []struct {
		in             string
		valid, decided bool
	}{
		{`{}`, true, true},
		{`[]`, true, true},
		{` {"a":[1,-0.5e+3,true,false,null,"\u00e9\n"]} `, true, true},
		{`"é"`, true, true},
		{"\"\xff\"", true, true}, // json.Valid does not check strings' UTF-8
		{`0`, true, true},
		{`-0.0e-0`, true, true},
		{``, false, true},
		{` `, false, true},
		{`{"a":1,}`, false, true},
		{`[1,]`, false, true},
		{`[,1]`, false, true},
		{`[1 2]`, false, true},
		{`{"a"}`, false, true},
		{`{1:2}`, false, true},
		{`01`, false, true},
		{`-`, false, true},
		{`1.`, false, true},
		{`1e`, false, true},
		{`"\x"`, false, true},
		{`"\u12g4"`, false, true},
		{"\"\x01\"", false, true},
		{`"abc`, false, true},
		{`nul`, false, true},
		{`truex`, false, true},
		{`{} {}`, false, true},
		{deep(MaxDepth), true, true},
		{deep(MaxDepth + 1), false, false},
		{`[1 ` + deep(MaxDepth+1), false, true}, // invalid before it gets deep
	} {
		valid, decided := Valid([]byte(tc.in))
		if valid != tc.valid || decided != tc.decided {
			t.Errorf("Valid(%q) = %v, %v; want %v, %v", tc.in, valid, decided, tc.valid, tc.decided)
		}
		if decided && valid != json.Valid([]byte(tc.in)) {
			t.Errorf("Valid(%q) = %v, json.Valid %v", tc.in, valid, !valid)
		}
	}
}

func TestUnquote(t *testing.T) {
	for _, tc := range []struct {
		body, want string
		ok         bool
	}{
		{`abc`, "abc", true},
		{`a\"b\\c\/d\b\f\n\r\t`, "a\"b\\c/d\b\f\n\r\t", true},
		{`\u00e9\u4E16`, "é世", true},
		{`é`, "é", true},
		{`\ud83d\ude00`, "", false}, // surrogates: encoding/json's rules
		{"\xff", "", false},
	} {
		got, ok := Unquote([]byte(tc.body))
		if got != tc.want || ok != tc.ok {
			t.Errorf("Unquote(%q) = %q, %v; want %q, %v", tc.body, got, ok, tc.want, tc.ok)
		}
		if !ok {
			continue
		}
		var want string
		if err := json.Unmarshal([]byte(`"`+tc.body+`"`), &want); err != nil || got != want {
			t.Errorf("Unquote(%q) = %q; encoding/json %q, %v", tc.body, got, want, err)
		}
	}
}

// FuzzValid: Valid is json.Valid whenever it decides.
func FuzzValid(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		valid, decided := Valid(b)
		if !decided {
			return
		}
		if want := json.Valid(b); valid != want {
			t.Fatalf("Valid(%q) = %v, json.Valid %v", b, valid, want)
		}
	})
}

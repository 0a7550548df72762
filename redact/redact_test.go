package redact

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"
)

const key = "sk-ant-test-0123456789"

func TestString(t *testing.T) {
	r := FromEnv([]string{"ANTHROPIC_API_KEY", "SHORT", "UNSET", "OPENAI_API_KEY"}, func(n string) string {
		return map[string]string{"ANTHROPIC_API_KEY": key, "SHORT": "1234567", "OPENAI_API_KEY": key + "-longer"}[n]
	})
	tests := []struct{ name, in, want string }{
		{"value replaced by its name", "key=" + key + ".", "key=[REDACTED:ANTHROPIC_API_KEY]."},
		{"every occurrence", key + key, "[REDACTED:ANTHROPIC_API_KEY][REDACTED:ANTHROPIC_API_KEY]"},
		{"a longer secret containing a shorter one goes whole", "x " + key + "-longer y", "x [REDACTED:OPENAI_API_KEY] y"},
		{"values shorter than 8 bytes are left alone", "pin 1234567", "pin 1234567"},
		{"text without secrets is unchanged", "hello", "hello"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := r.String(tt.in); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestNilAndEmpty(t *testing.T) {
	for _, r := range []*Redactor{nil, New(nil), New([]string{"short"})} {
		if !r.Empty() || r.String(key) != key || string(r.Bytes([]byte(key))) != key {
			t.Errorf("%#v redacted something", r)
		}
		h := slog.NewTextHandler(&bytes.Buffer{}, nil)
		if r.Handler(h) != h {
			t.Errorf("Handler wrapped with nothing to redact")
		}
	}
}

func TestBytes(t *testing.T) {
	odd := `ab<c>"d\e` + "\n" + `&fgh` // every character JSON escapes, with and without HTML escaping
	nlead := "nabcdefgh"               // matches inside "\nabcdefgh": a naive replacement leaves `\[`
	r := New([]string{key, odd, nlead})
	esc := func(s string, html bool) string { return jsonString(s, html) }
	tests := []struct {
		name, in string
		want     string // "" means: must not contain any secret and must be valid JSON
	}{
		{"raw in text", "say " + key, "say [REDACTED]"},
		{"inside a JSON string", `{"text":"KEY=` + key + `"}`, `{"text":"KEY=[REDACTED]"}`},
		{"JSON-escaped with HTML escaping", `{"t":"` + esc(odd, true) + `"}`, `{"t":"[REDACTED]"}`},
		{"JSON-escaped without HTML escaping", `{"t":"` + esc(odd, false) + `"}`, `{"t":"[REDACTED]"}`},
		{"spelt with \\u escapes", `{"t":"\u0073k-ant-test-0123456789","n":12345678901234567890}`, `{"n":12345678901234567890,"t":"[REDACTED]"}`},
		{"match that starts inside an escape keeps the JSON valid", `{"t":"x\nabcdefgh"}`, `{"t":"x\nabcdefgh"}`},
		{"a secret as a key", `{"` + key + `":1}`, `{"[REDACTED]":1}`},
		{"no secret: unchanged", `{"a":"\u00e9"}`, `{"a":"\u00e9"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := string(r.Bytes([]byte(tt.in)))
			if got != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
			if json.Valid([]byte(tt.in)) && !json.Valid([]byte(got)) {
				t.Errorf("redaction broke the JSON: %s", got)
			}
		})
	}
}

func TestBytesLeavesInputAlone(t *testing.T) {
	r := New([]string{key})
	in := []byte(`{"k":"` + key + `"}`)
	orig := string(in)
	_ = r.Bytes(in)
	if string(in) != orig {
		t.Errorf("input modified: %s", in)
	}
	clean := []byte(`{"k":"v"}`)
	if got := r.Bytes(clean); &got[0] != &clean[0] {
		t.Errorf("clean input was copied")
	}
}

type stringer struct{}

func (stringer) String() string { return "s=" + key }

func TestHandler(t *testing.T) {
	var buf bytes.Buffer
	r := FromEnv([]string{"K"}, func(string) string { return key })
	log := slog.New(r.Handler(slog.NewJSONHandler(&buf, nil))).With("preset", key).WithGroup("g")
	log.Info("printed "+key,
		"str", key,
		"err", errors.New("exec failed: "+key),
		"args", []string{"sbx", "exec", key},
		"bytes", []byte(key),
		"raw", json.RawMessage(`"`+key+`"`),
		"stringer", stringer{},
		slog.Group("inner", "v", key),
		"n", 42)
	out := buf.String()
	if strings.Contains(out, key) {
		t.Fatalf("secret in log line: %s", out)
	}
	if got := strings.Count(out, "[REDACTED:K]"); got != 9 {
		t.Errorf("%d redactions, want 9: %s", got, out)
	}
	if !strings.Contains(out, `"n":42`) {
		t.Errorf("a value without a secret lost its type: %s", out)
	}
}

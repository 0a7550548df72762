// Package redact removes secret values (the agents' API keys) from text before it leaves the server:
// tool results, resources, prompts, log lines and the durable event logs. Secrets reach sandboxes by
// variable name only; this package is the second line, for when an agent or a CLI prints one back.
package redact

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
)

// MinLen is the shortest value redacted. Shorter values ("1", "true", a short test token) are too likely
// to occur in ordinary text, where replacing them would garble output without protecting anything.
const MinLen = 8

// Redactor replaces known secret values. A nil *Redactor, or one without values, changes nothing. It is
// safe for concurrent use: it is immutable after New.
type Redactor struct {
	repl  *strings.Replacer // nil when there is nothing to redact
	forms []string          // every spelling replaced, longest first (for Stream)
}

// secret is one value and the text that replaces it.
type secret struct{ value, with string }

// New returns a Redactor for values; each is replaced by "[REDACTED]". Values shorter than MinLen are
// ignored.
func New(values []string) *Redactor {
	var ss []secret
	for _, v := range values {
		ss = append(ss, secret{value: v, with: "[REDACTED]"})
	}
	return build(ss)
}

// FromEnv returns a Redactor for the values of the variables names that getenv reports set; each is
// replaced by "[REDACTED:<NAME>]", so a reader can tell which key was printed without seeing it.
func FromEnv(names []string, getenv func(string) string) *Redactor {
	var ss []secret
	for _, n := range names {
		ss = append(ss, secret{value: getenv(n), with: "[REDACTED:" + n + "]"})
	}
	return build(ss)
}

func build(ss []secret) *Redactor {
	var pairs []secret
	for _, s := range ss {
		if len(s.value) < MinLen {
			continue
		}
		// The value as it appears inside a JSON string, in the two spellings encoders use: with and without
		// HTML escaping (Go's default turns <, > and & into \u003c…; serde_json does not).
		for _, form := range []string{s.value, jsonString(s.value, true), jsonString(s.value, false)} {
			if !slices.ContainsFunc(pairs, func(p secret) bool { return p.value == form }) {
				pairs = append(pairs, secret{value: form, with: s.with})
			}
		}
	}
	if len(pairs) == 0 {
		return &Redactor{}
	}
	// Longest first: where one secret contains another, the whole of the longer one goes (strings.Replacer
	// prefers the earlier pair at one position).
	slices.SortStableFunc(pairs, func(a, b secret) int { return len(b.value) - len(a.value) })
	args := make([]string, 0, 2*len(pairs))
	forms := make([]string, 0, len(pairs))
	for _, p := range pairs {
		args = append(args, p.value, p.with)
		forms = append(forms, p.value)
	}
	return &Redactor{repl: strings.NewReplacer(args...), forms: forms}
}

// jsonString is v encoded as the contents of a JSON string (without the quotes).
func jsonString(v string, escapeHTML bool) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(escapeHTML)
	_ = enc.Encode(v) // a string always encodes
	s := strings.TrimSuffix(b.String(), "\n")
	return s[1 : len(s)-1]
}

// Empty reports whether r redacts nothing.
func (r *Redactor) Empty() bool { return r == nil || r.repl == nil }

// String returns s with every secret replaced.
func (r *Redactor) String(s string) string {
	if r.Empty() {
		return s
	}
	return r.repl.Replace(s)
}

// Bytes returns b with every secret replaced, in its raw and JSON-escaped forms. When b is valid JSON
// the result is valid JSON too, and a secret spelt with \u escapes inside a JSON string is found as well
// (the document is then decoded and re-encoded). b is never modified; when nothing is replaced, b itself
// is returned.
func (r *Redactor) Bytes(b []byte) []byte {
	if r.Empty() {
		return b
	}
	out := []byte(r.repl.Replace(string(b)))
	changed := !bytes.Equal(out, b)
	// Only \u and \/ escapes can hide a secret's characters from the replacement above.
	escaped := bytes.Contains(b, []byte(`\u`)) || bytes.Contains(b, []byte(`\/`))
	if !changed && !escaped {
		return b
	}
	if !json.Valid(b) {
		return out // not JSON: text replacement is all there is to do
	}
	if !escaped && json.Valid(out) {
		return out
	}
	// A replacement broke the JSON (a match that began inside an escape such as \n), or an escape may
	// hide a secret: redact the decoded strings instead.
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber() // keep numbers exactly as they were
	var v any
	if err := dec.Decode(&v); err != nil {
		return out
	}
	v, walked := r.walk(v)
	switch {
	case !walked && !changed:
		return b
	case !walked && json.Valid(out):
		return out
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return out
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

// walk redacts every string (keys included) in a decoded JSON value, reporting whether any changed.
func (r *Redactor) walk(v any) (any, bool) {
	switch v := v.(type) {
	case string:
		s := r.String(v)
		return s, s != v
	case []any:
		changed := false
		for i, e := range v {
			var c bool
			v[i], c = r.walk(e)
			changed = changed || c
		}
		return v, changed
	case map[string]any:
		changed := false
		out := make(map[string]any, len(v))
		for k, e := range v {
			nk := r.String(k)
			ne, c := r.walk(e)
			changed = changed || c || nk != k
			out[nk] = ne
		}
		return out, changed
	}
	return v, false
}

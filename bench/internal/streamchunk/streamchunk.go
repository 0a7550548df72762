// Package streamchunk recognises the chunks of the scripted agent's `stream` command ("s1 ", "s2 ", …,
// internal/testagent) in what carries them: a line of the agent's stdout (bench/internal/stamp, at emission)
// or a sandbox-agent envelope (the latency benchmark, on arrival). One reading, so that both ends number a
// chunk alike.
package streamchunk

import "bytes"

// Index returns i for an agent_message_chunk whose text is "s<i> ", else 0.
func Index(b []byte) int {
	if !bytes.Contains(b, []byte(`"agent_message_chunk"`)) {
		return 0
	}
	_, rest, ok := bytes.Cut(b, []byte(`"text":"s`))
	if !ok {
		return 0
	}
	n := 0
	for _, c := range rest {
		switch {
		case '0' <= c && c <= '9':
			n = n*10 + int(c-'0')
		case c == ' ' && n > 0:
			return n
		default:
			return 0
		}
	}
	return 0
}

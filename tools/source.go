package tools

import (
	"context"
	"fmt"
	"strings"
)

// PromptSource adapts a Service to what the review prompt embeds, rendered as text.
type PromptSource struct{ Svc Service }

// Diff renders the workspace diff in a fenced block that no line of it can close (the agent writes the
// files), with the untracked files after it, their names quoted when they are not plain.
func (p PromptSource) Diff(ctx context.Context, sandbox string) (string, error) {
	d, err := p.Svc.Diff(ctx, sandbox)
	if err != nil {
		return "", worded(err)
	}
	var b strings.Builder
	if d.Diff == "" {
		b.WriteString("(no changes to tracked files)\n")
	} else {
		b.WriteString(fence("diff", strings.TrimRight(d.Diff, "\n")))
	}
	if len(d.Untracked) > 0 {
		names := make([]string, len(d.Untracked))
		for i, n := range d.Untracked {
			names[i] = word(n)
		}
		fmt.Fprintf(&b, "\nUntracked files:\n- %s\n", strings.Join(names, "\n- "))
	}
	if len(d.ControlChanges) > 0 {
		fmt.Fprintf(&b, "\nGit control files changed (check before running git on the host):\n- %s\n", strings.Join(d.ControlChanges, "\n- "))
	}
	return b.String(), nil
}

// Transcript renders a session's transcript.
func (p PromptSource) Transcript(ctx context.Context, sandbox, session string) (string, error) {
	text, err := Transcript(ctx, p.Svc, sandbox, session)
	return text, worded(err)
}

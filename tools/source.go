package tools

import (
	"context"
	"fmt"
	"strings"
)

// PromptSource adapts a Service to what the review prompt embeds, rendered as text.
type PromptSource struct{ Svc Service }

// Diff renders the workspace diff in a fenced block, with the untracked files after it.
func (p PromptSource) Diff(ctx context.Context, sandbox string) (string, error) {
	d, err := p.Svc.Diff(ctx, sandbox)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	if d.Diff == "" {
		b.WriteString("(no changes to tracked files)\n")
	} else {
		fmt.Fprintf(&b, "```diff\n%s\n```\n", strings.TrimRight(d.Diff, "\n"))
	}
	if len(d.Untracked) > 0 {
		fmt.Fprintf(&b, "\nUntracked files:\n- %s\n", strings.Join(d.Untracked, "\n- "))
	}
	if len(d.ControlChanges) > 0 {
		fmt.Fprintf(&b, "\nGit control files changed (check before running git on the host):\n- %s\n", strings.Join(d.ControlChanges, "\n- "))
	}
	return b.String(), nil
}

// Transcript renders a session's transcript.
func (p PromptSource) Transcript(ctx context.Context, sandbox, session string) (string, error) {
	return Transcript(ctx, p.Svc, sandbox, session)
}

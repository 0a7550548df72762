package testagent

import (
	"context"
	"fmt"
	"os/exec"
	"time"
)

// maxRunOutput bounds what a run command reports.
const maxRunOutput = 4000

// run executes a command in the session's cwd as one tool call of kind execute (script commands run and
// commit). It is bounded by the turn's context and 60 seconds.
func (t *turn) runCmd(title string, name string, args ...string) {
	id := t.newCallID()
	t.toolCall(id, title, "execute")
	ctx, cancel := context.WithTimeout(t.ctx, 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = t.s.cwd
	cmd.WaitDelay = 2 * time.Second
	out, err := cmd.CombinedOutput()
	if len(out) > maxRunOutput {
		out = out[len(out)-maxRunOutput:]
	}
	if err != nil {
		t.toolUpdate(id, "failed", fmt.Sprintf("%v: %s", err, out))
		return
	}
	t.toolUpdate(id, "completed", string(out))
}

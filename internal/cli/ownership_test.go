package cli

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sandbox-mcp/sandbox-mcp/internal/testkit"
	"github.com/sandbox-mcp/sandbox-mcp/manager"
)

// TestAdoptedSandboxIsNeverRemoved: an sbx sandbox someone made by hand, which create_sandbox adopts
// because it has the name and workspace asked for, is used but never stopped by the idle janitor, never
// pruned, and never removed by destroy_sandbox, which says so in one line with the command to do it by hand.
func TestAdoptedSandboxIsNeverRemoved(t *testing.T) {
	env, bin := testkit.FakeEnv(t)
	ws := t.TempDir()
	if err := testkit.RunFake(bin, env, "create", "--name", "adopted-box", "--pull", "missing", "-t", "sandbox-mcp/test:latest", "--", "claude", ws); err != nil {
		t.Fatal(err)
	}
	exists := func() bool {
		_, err := os.Stat(filepath.Join(env["FAKECLI_ROOT"], "sbx", "adopted-box", "meta.json"))
		return err == nil
	}
	h, mgr := inProcessServer(t, env, bin)
	t.Cleanup(func() {
		mgr.Close()
		_ = testkit.RunFake(bin, env, "rm", "-f", "adopted-box") // kills the sandbox-agent the double runs locally
	})
	ctx := t.Context()
	var sb manager.SandboxResult
	h.OK("create_sandbox", map[string]any{"workspace": ws, "name": "adopted-box"}, &sb)
	if !sb.Reused {
		t.Fatalf("create_sandbox = %+v; want the existing sandbox adopted", sb)
	}
	status := func() string { return sandboxStatus(h, sb.Name) }

	// The idle janitor, with a TTL every sandbox is past, many rounds over.
	jctx, stopJanitor := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); mgr.RunJanitor(jctx, time.Millisecond, 10*time.Millisecond) }()
	time.Sleep(500 * time.Millisecond)
	stopJanitor()
	<-done
	if got := status(); got != "running" {
		t.Errorf("after the idle janitor the adopted sandbox is %s; want running", got)
	}

	rep, err := mgr.Prune(ctx, 0, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Entries) != 1 || rep.Entries[0].Action != manager.PruneSkipped || !strings.Contains(rep.Entries[0].Reason, "adopted") {
		t.Errorf("prune = %+v; want the adopted sandbox skipped", rep.Entries)
	}
	if !exists() {
		t.Fatal("prune removed the adopted sandbox")
	}

	got := h.Fails("destroy_sandbox", map[string]any{"name": sb.Name})
	if !strings.Contains(got, "was not created by sandbox-mcp") || !strings.Contains(got, "`sbx rm adopted-box`") || strings.Contains(got, "\n") {
		t.Errorf("destroy_sandbox = %q; want one line saying it was adopted and how to remove it by hand", got)
	}
	if !exists() {
		t.Error("destroy_sandbox removed the adopted sandbox")
	}
	// Forgotten, not removed: a second destroy finds a sandbox that is not in the records, not ours.
	if got := h.Fails("destroy_sandbox", map[string]any{"name": sb.Name}); !strings.Contains(got, "not created by sandbox-mcp") {
		t.Errorf("second destroy_sandbox = %q", got)
	}

	// Ours, then removed and made again by someone else under the same name on another folder: ownership is
	// checked again right before the removal, so theirs stays.
	var ours manager.SandboxResult
	h.OK("create_sandbox", map[string]any{"workspace": t.TempDir(), "name": "ours-box"}, &ours)
	t.Cleanup(func() { _ = testkit.RunFake(bin, env, "rm", "-f", "ours-box") })
	if err := testkit.RunFake(bin, env, "rm", "-f", "ours-box"); err != nil {
		t.Fatal(err)
	}
	if err := testkit.RunFake(bin, env, "create", "--name", "ours-box", "--pull", "missing", "-t", "sandbox-mcp/test:latest", "--", "claude", t.TempDir()); err != nil {
		t.Fatal(err)
	}
	if got := h.Fails("destroy_sandbox", map[string]any{"name": "ours-box"}); !strings.Contains(got, "is not the one sandbox-mcp created") {
		t.Errorf("destroy_sandbox of a sandbox re-made by someone else = %q", got)
	}
	if _, err := os.Stat(filepath.Join(env["FAKECLI_ROOT"], "sbx", "ours-box", "meta.json")); err != nil {
		t.Errorf("the sandbox re-made by someone else was removed: %v", err)
	}
}

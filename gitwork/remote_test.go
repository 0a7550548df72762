package gitwork

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestCheckRemoteURL(t *testing.T) {
	for _, tc := range []struct {
		url  string
		kind RemoteKind
	}{
		{"git://127.0.0.1:9418/sb", RemoteDaemon},
		{"git://127.0.0.5/sb", RemoteDaemon},
		{"git://[::1]:1234/sb", RemoteDaemon},
		{"git://localhost/x/y", RemoteDaemon},
		{"/var/lib/sbx/clones/sb", RemoteLocal},
		{"file:///var/lib/sbx/sb/", RemoteLocal},
		{"git://example.com/sb", 0},
		{"git://10.0.0.1/sb", 0},
		{"git://u@127.0.0.1/sb", 0},
		{"ssh://127.0.0.1/sb", 0},
		{"http://127.0.0.1/sb", 0},
		{"ext::sh -c touch% /tmp/x", 0},
		{"127.0.0.1:sb", 0},
		{"-uhelp", 0},
		{"file://evil.example/x", 0},
	} {
		kind, _, err := CheckRemoteURL(tc.url)
		if kind != tc.kind || (err == nil) != (tc.kind != 0) {
			t.Errorf("CheckRemoteURL(%q) = %v, %v; want kind %v", tc.url, kind, err, tc.kind)
		}
	}
}

// agentClone makes what sbx --clone leaves behind: a clone of the user's repository where the agent
// committed, with InsideScript's refs, and a hostile configuration that must never take effect on the host.
func agentClone(t *testing.T, ws, canary string) (string, string) {
	t.Helper()
	parent := t.TempDir()
	clone := filepath.Join(parent, "sb")
	sh(t, parent, "clone", "-q", "--no-hardlinks", ws, clone)
	write(t, clone, "agent.txt", "agent\n")
	sh(t, clone, "add", "agent.txt")
	sh(t, clone, "commit", "-q", "-m", "agent")
	write(t, clone, "wip.txt", "wip\n")
	cmd := exec.Command("sh", "-c", InsideScript, "sh", clone, "refs")
	cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("inside script: %v: %s", err, out)
	}
	evil := filepath.Join(clone, "evil.sh")
	write(t, clone, "evil.sh", "#!/bin/sh\ntouch "+canary+"\n")
	for _, kv := range [][2]string{{"core.fsmonitor", evil}, {"uploadpack.packObjectsHook", evil}, {"core.hooksPath", clone}, {"core.alternateRefsCommand", evil}} {
		sh(t, clone, "config", kv[0], kv[1])
	}
	for _, h := range []string{"reference-transaction", "post-checkout", "pre-auto-gc"} {
		write(t, clone, h, "#!/bin/sh\ntouch "+canary+"\n")
	}
	return parent, clone
}

// TestCollectRemote: the sandbox-<name> remote, as a git daemon on loopback and as a local path, gives the
// agent's commit and uncommitted work; nothing of the clone's configuration or hooks runs.
func TestCollectRemote(t *testing.T) {
	ctx := context.Background()
	g := &Git{}
	ws := userRepo(t)
	canary := filepath.Join(t.TempDir(), "canary")
	parent, clone := agentClone(t, ws, canary)
	head := sh(t, clone, "rev-parse", "HEAD")

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	d := exec.Command("git", "daemon", "--export-all", "--base-path="+parent, "--listen=127.0.0.1", fmt.Sprintf("--port=%d", port), "--reuseaddr")
	d.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // `git daemon` runs git-daemon as a child: kill the group
	if err := d.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Kill(-d.Process.Pid, syscall.SIGKILL); d.Wait() })
	daemonURL := fmt.Sprintf("git://127.0.0.1:%d/sb", port)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("git daemon did not listen")
		}
	}
	for _, url := range []string{daemonURL, clone, "file://" + clone} {
		t.Run(strings.SplitN(url, ":", 2)[0], func(t *testing.T) {
			repo, _ := g.Inspect(ctx, ws)
			results := filepath.Join(t.TempDir(), "results.git")
			p, err := g.Prepare(ctx, PrepareSpec{Repo: repo, Branch: "sandbox/sb", Results: results})
			if err != nil {
				t.Fatal(err)
			}
			c, err := g.CollectRemote(ctx, results, url)
			if err != nil {
				t.Fatal(err)
			}
			if c.Head != head || !c.Dirty() {
				t.Fatalf("collected %+v, want head %s and uncommitted work", c, head)
			}
			df, err := g.Diff(ctx, results, p.Base, c, 30000, 100)
			if err != nil || !strings.Contains(strings.Join(df.Files, ","), "A\tagent.txt") || !strings.Contains(strings.Join(df.Files, ","), "A\twip.txt") {
				t.Errorf("Diff = %+v, %v", df, err)
			}
		})
	}
	if _, err := os.Stat(canary); err == nil {
		t.Fatal("the clone's configuration or hooks ran on the host")
	}
	if _, err := g.CollectRemote(ctx, t.TempDir(), "ssh://127.0.0.1/sb"); err == nil || !strings.Contains(err.Error(), "does not fetch from it") {
		t.Errorf("ssh remote: %v", err)
	}
}

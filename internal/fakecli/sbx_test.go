package fakecli

import (
	"context"
	"encoding/json"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Tests of the sbx behaviours rebuilt from the documentation (docs/upstream/sbx-cli.json).

func TestSbxRefusesDetachedExec(t *testing.T) {
	f := newSandbox(t, "sbx")
	for _, flag := range []string{"-d", "--detach", "-di"} {
		r := f.run("sbx", "exec", flag, "sb", "true")
		if r.code != 1 || r.stderr != "ERROR: detached exec (-d/--detach) is not supported\n" {
			t.Errorf("exec %s = %+v, want sbx's refusal", flag, r)
		}
	}
	// The legacy plugin had exec -d (spec §7).
	pf := newSandbox(t, "docker")
	if r := pf.run("docker", "sandbox", "exec", "-d", "sb", "true"); r.code != 0 {
		t.Errorf("plugin exec -d = %+v, want accepted", r)
	}
}

// status reads one sandbox's status from `sbx ls --json`.
func sbxStatus(t *testing.T, f *fixture, extra []string) string {
	t.Helper()
	r := f.runEnv(context.Background(), "", extra, "sbx", "ls", "--json")
	var v []struct{ Name, Status string }
	must(t, json.Unmarshal([]byte(r.stdout), &v))
	for _, s := range v {
		if s.Name == "sb" {
			return s.Status
		}
	}
	return ""
}

func waitStatus(t *testing.T, f *fixture, want string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for sbxStatus(t, f, nil) != want {
		if time.Now().After(deadline) {
			t.Fatalf("status %q after %v, want %q", sbxStatus(t, f, nil), within, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestSbxAutoStop(t *testing.T) {
	f := newFixture(t)
	f.env = append(f.env, "FAKECLI_AUTOSTOP=300ms")
	f.ok("sbx", "create", "--name", "sb", "-t", "sandbox-mcp/test:latest", "claude", f.work)
	// After create, nothing holds it: it stops by itself.
	waitStatus(t, f, "stopped", 10*time.Second)

	// An open exec session holds it running well past the delay; what it started dies with the stop that
	// follows the session's end.
	cmd, child := held(t, f)
	time.Sleep(900 * time.Millisecond)
	if got := sbxStatus(t, f, nil); got != "running" {
		t.Fatalf("status with a session open = %q, want running", got)
	}
	must(t, cmd.Process.Kill()) // the session ends (as when its client dies)
	cmd.Wait()
	waitStatus(t, f, "stopped", 10*time.Second)
	waitDead(t, child)
}

func TestSbxPorts(t *testing.T) {
	f := newSandbox(t, "sbx")
	svc := freePort(t)
	// A service inside on 127.0.0.1 only, one on 0.0.0.0: only the second is reachable through a published
	// port ("Services must bind to 0.0.0.0").
	_, _ = held(t, f) // keeps the sandbox running
	list := func() []port {
		var ps []port
		must(t, json.Unmarshal([]byte(f.ok("sbx", "ports", "sb", "--json")), &ps))
		return ps
	}
	if ps := list(); len(ps) != 0 {
		t.Fatalf("ports before publish = %+v", ps)
	}
	f.ok("sbx", "ports", "sb", "--publish", strconv.Itoa(svc))
	ps := list()
	if len(ps) != 1 || ps[0].HostIP != "127.0.0.1" || ps[0].SandboxPort != svc || ps[0].HostPort == 0 || ps[0].HostPort == svc || ps[0].Protocol != "tcp" {
		t.Fatalf("ports = %+v, want one ephemeral loopback binding of %d", ps, svc)
	}
	first := ps[0].HostPort
	for _, tc := range []struct {
		bind  string
		reach bool
	}{{"127.0.0.1", false}, {"0.0.0.0", true}} {
		ln, err := net.Listen("tcp", net.JoinHostPort(tc.bind, strconv.Itoa(svc)))
		must(t, err)
		go func() {
			if c, err := ln.Accept(); err == nil {
				c.Write([]byte("hi"))
				c.Close()
			}
		}()
		c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(first))
		must(t, err)
		c.SetReadDeadline(time.Now().Add(3 * time.Second))
		b := make([]byte, 2)
		n, _ := c.Read(b)
		c.Close()
		ln.Close()
		if got := string(b[:n]) == "hi"; got != tc.reach {
			t.Errorf("service on %s reachable = %v, want %v", tc.bind, got, tc.reach)
		}
	}
	// A restart gives the publication another host port.
	f.ok("sbx", "stop", "sb")
	if ps := list(); len(ps) != 0 {
		t.Errorf("ports of a stopped sandbox = %+v, want none", ps)
	}
	_, _ = held(t, f)
	var again []port
	for deadline := time.Now().Add(5 * time.Second); len(again) == 0 && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		again = list()
	}
	if len(again) != 1 || again[0].HostPort == first || again[0].SandboxPort != svc {
		t.Errorf("ports after restart = %+v, want %d on a host port other than %d", again, svc, first)
	}
	f.ok("sbx", "ports", "sb", "--unpublish", strconv.Itoa(again[0].HostPort)+":"+strconv.Itoa(svc))
	if ps := list(); len(ps) != 0 {
		t.Errorf("ports after unpublish = %+v", ps)
	}
	if r := f.run("sbx", "ports", "ghost", "--json"); r.code != 1 || !strings.Contains(r.stderr, "no sandbox named 'ghost'") {
		t.Errorf("ports ghost = %+v", r)
	}
	if r := f.runEnv(context.Background(), "", []string{"FAKECLI_SBX_VERSION=0.36.0"}, "sbx", "ports", "sb"); r.code == 0 {
		t.Errorf("ports on 0.36 = %+v, want an unknown command", r)
	}
}

func freePort(t *testing.T) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func TestSbxSecretsAndPolicy(t *testing.T) {
	f := newSandbox(t, "sbx")
	ctx := context.Background()
	if r := f.runEnv(ctx, "sk-test-value\n", nil, "sbx", "secret", "set", "-g", "anthropic"); r.code != 0 {
		t.Fatalf("secret set = %+v", r)
	}
	f.ok("sbx", "secret", "set", "sb", "openai", "-t", "sk-other")
	out := f.ok("sbx", "secret", "ls")
	if !strings.Contains(out, "anthropic") || !strings.Contains(out, "openai") || strings.Contains(out, "sk-") {
		t.Errorf("secret ls = %q, want both services and no value", out)
	}
	if out := f.ok("sbx", "secret", "ls", "-g"); strings.Contains(out, "openai") {
		t.Errorf("secret ls -g = %q, want the global one only", out)
	}
	f.ok("sbx", "secret", "rm", "-g", "anthropic")
	if out := f.ok("sbx", "secret", "ls"); strings.Contains(out, "anthropic") {
		t.Errorf("after rm: %q", out)
	}
	f.ok("sbx", "policy", "allow", "network", "sb", "registry.npmjs.org,cdn.agentclientprotocol.com")
	if out := f.ok("sbx", "policy", "ls", "sb"); !strings.Contains(out, "registry.npmjs.org") || !strings.Contains(out, "cdn.agentclientprotocol.com") {
		t.Errorf("policy ls = %q", out)
	}
	if r := f.run("sbx", "policy", "allow", "network", "ghost", "x.example"); r.code != 1 || !strings.Contains(r.stderr, "no sandbox named 'ghost'") {
		t.Errorf("policy on ghost = %+v", r)
	}
}

func TestSbxJSONVerbsAndNames(t *testing.T) {
	f := newSandbox(t, "sbx")
	r := f.run("sbx", "stop", "--json", "sb", "ghost")
	var got []map[string]string
	must(t, json.Unmarshal([]byte(r.stdout), &got))
	if r.code != 1 || len(got) != 2 || got[0]["action"] != "stopped" || got[1]["error"] != "no sandbox named 'ghost'" {
		t.Errorf("stop --json = %+v (%s)", got, r.stderr)
	}
	r = f.run("sbx", "rm", "-f", "--json", "sb")
	got = nil
	must(t, json.Unmarshal([]byte(r.stdout), &got))
	if r.code != 0 || len(got) != 1 || got[0]["action"] != "removed" {
		t.Errorf("rm --json = %+v", got)
	}
	if r := f.runEnv(context.Background(), "", []string{"FAKECLI_SBX_VERSION=0.47.0"}, "sbx", "rm", "-f", "--json", "x"); r.code != 2 || !strings.Contains(r.stderr, "unknown flag: --json") {
		t.Errorf("rm --json on 0.47 = %+v, want unknown flag", r)
	}
	if r := f.run("sbx", "create", "--name", "default", "shell", f.work); r.code != 1 || !strings.Contains(r.stderr, "reserved") {
		t.Errorf("create default = %+v, want the reserved name refused", r)
	}
}

func TestPluginTemplateFlagsByVersion(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	v07 := []string{"FAKECLI_PLUGIN_VERSION=0.7.1"}
	if r := f.runEnv(ctx, "", v07, "docker", "sandbox", "create", "--name", "a", "--pull-template", "never", "-t", "sandbox-mcp/test:latest", "claude", f.work); r.code != 2 || !strings.Contains(r.stderr, "unknown flag: --pull-template") {
		t.Errorf("0.7.1 --pull-template = %+v, want unknown flag", r)
	}
	if r := f.runEnv(ctx, "", v07, "docker", "sandbox", "create", "--name", "a", "--load-local-template", "-t", "sandbox-mcp/test:latest", "claude", f.work); r.code != 0 {
		t.Errorf("0.7.1 --load-local-template = %+v", r)
	}
	if r := f.run("docker", "sandbox", "create", "--name", "b", "--load-local-template", "-t", "sandbox-mcp/test:latest", "claude", f.work); r.code != 2 || !strings.Contains(r.stderr, "unknown flag: --load-local-template") {
		t.Errorf("0.12 --load-local-template = %+v, want unknown flag", r)
	}
}

package cli

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sandbox-mcp/sandbox-mcp/internal/testenv"
	"github.com/sandbox-mcp/sandbox-mcp/internal/testkit"
	"github.com/sandbox-mcp/sandbox-mcp/manager"
	"github.com/sandbox-mcp/sandbox-mcp/state"
)

// prune runs runPrune and returns its stdout lines; a failure fails the test.
func prune(t *testing.T, env map[string]string, args ...string) []string {
	t.Helper()
	var stdout, stderr bytes.Buffer
	err := runPrune(context.Background(), args, func(k string) string { return env[k] }, &stdout, &stderr)
	t.Logf("prune %s\nstdout:\n%sstderr:\n%s", strings.Join(args, " "), stdout.String(), stderr.String())
	if err != nil {
		t.Fatalf("prune: %v", err)
	}
	return strings.Split(strings.TrimSuffix(stdout.String(), "\n"), "\n")
}

// hasLine reports whether some line starts with prefix.
func hasLine(lines []string, prefix string) bool {
	return slices.ContainsFunc(lines, func(l string) bool { return strings.HasPrefix(l, prefix) })
}

// TestPruneSbx: on the sbx double, of two sandboxes in our records only the one created before the age
// goes (through destroy, so its sessions are archived); a sandbox not in our records is never touched,
// however old. A dry run removes nothing.
func TestPruneSbx(t *testing.T) {
	env, bin := testkit.FakeEnv(t)
	stateDir := t.TempDir()
	store, err := state.Open(stateDir)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	for _, sb := range []struct {
		name   string
		age    time.Duration
		record bool
	}{{"old-box", 72 * time.Hour, true}, {"new-box", time.Hour, true}, {"stranger", 0, false}} {
		ws := t.TempDir()
		if err := testkit.RunFake(bin, env, "create", "--name", sb.name, "--pull", "missing", "-t", "sandbox-mcp/test:latest", "--", "claude", ws); err != nil {
			t.Fatal(err)
		}
		if !sb.record {
			continue
		}
		// The record as the server writes it, created backdated.
		rec := `{"name": "` + sb.name + `", "backend": "sbx", "workspace": "` + ws + `", "agent": "claude",
			"template": "sandbox-mcp/test:latest", "agent_port": 2468, "agent_version": "0.4.2",
			"created": "` + now.Add(-sb.age).Format(time.RFC3339Nano) + `", "last_used": "` + now.Add(-sb.age).Format(time.RFC3339Nano) + `"}`
		if err := os.WriteFile(filepath.Join(stateDir, "sandboxes", sb.name+".json"), []byte(rec), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	ended := state.Session{Sandbox: "old-box", Name: "mock-1", Agent: "mock", Created: now.Add(-70 * time.Hour)}
	ended.State.End()
	if err := store.PutSession(ended); err != nil {
		t.Fatal(err)
	}
	sandboxExists := func(name string) bool {
		_, err := os.Stat(filepath.Join(env["FAKECLI_ROOT"], "sbx", name, "meta.json"))
		return err == nil
	}
	args := []string{"--backend=sbx", "--sbx-bin=" + filepath.Join(bin, "sbx"), "--state-dir=" + stateDir,
		"--cli-env=FAKECLI_ROOT,FAKECLI_TEMPLATES", "--older-than", "24h"}

	lines := prune(t, env, append(args, "--dry-run")...)
	want := []string{ // in name order
		"skipped sbx/new-box: created 1h ago, less than 24h",
		"would remove sbx/old-box: created 3d ago; in our records",
		"dry run: 1 would be removed, 1 skipped (older than 24h); nothing was removed",
	}
	if !slices.Equal(lines, want) {
		t.Errorf("dry run printed\n%s\nwant\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
	for _, name := range []string{"old-box", "new-box", "stranger"} {
		if !sandboxExists(name) {
			t.Errorf("dry run removed %s", name)
		}
	}

	lines = prune(t, env, args...)
	want = []string{
		"skipped sbx/new-box: created 1h ago, less than 24h",
		"removed sbx/old-box: created 3d ago; in our records; 0 open session(s) closed",
		"pruned: 1 removed, 1 skipped (older than 24h)",
	}
	if !slices.Equal(lines, want) {
		t.Errorf("prune printed\n%s\nwant\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
	if sandboxExists("old-box") {
		t.Error("old-box is still there")
	}
	for _, name := range []string{"new-box", "stranger"} {
		if !sandboxExists(name) {
			t.Errorf("%s was removed", name)
		}
	}
	if _, err := store.GetSandbox("old-box"); !errors.Is(err, state.ErrNotFound) {
		t.Errorf("old-box's record: %v, want it gone", err)
	}
	if _, err := store.GetSandbox("new-box"); err != nil {
		t.Errorf("new-box's record: %v", err)
	}
	// auto (the default) looks at every backend that answers; the double's docker has no containers.
	lines = prune(t, env, "--sbx-bin="+filepath.Join(bin, "sbx"), "--docker-bin="+filepath.Join(bin, "docker"),
		"--state-dir="+stateDir, "--cli-env=FAKECLI_ROOT,FAKECLI_TEMPLATES", "--dry-run")
	want = []string{
		"skipped sbx/new-box: created 1h ago, less than 24h",
		"dry run: 0 would be removed, 1 skipped (older than 24h); nothing was removed",
	}
	if !slices.Equal(lines, want) {
		t.Errorf("prune with --backend auto printed\n%s\nwant\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
	archived, _ := filepath.Glob(filepath.Join(stateDir, "archive", "old-box-*", "mock-1.json"))
	if len(archived) != 1 {
		t.Errorf("old-box's session was not archived: %v", archived)
	}
}

// TestPruneDocker, on the real engine: a container labelled as ours with an old created label and no
// record goes; one labelled as ours but recent stays; an unlabelled container, and one with only our
// created label, are never touched.
func TestPruneDocker(t *testing.T) {
	image := testenv.Docker(t)
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	id := hex.EncodeToString(b)
	old, recent, plain, createdOnly := "prune-old-"+id, "prune-new-"+id, "prune-plain-"+id, "prune-half-"+id
	t.Cleanup(func() { testkit.Docker(t, "rm", "-f", "--", old, recent, plain, createdOnly) })
	longAgo := "org.sandbox-mcp.created=2020-01-02T03:04:05Z"
	start := func(name string, labels ...string) {
		args := []string{"run", "-d", "--init", "--network", "none", "--name", name}
		for _, l := range labels {
			args = append(args, "--label", l)
		}
		testkit.Docker(t, append(args, "--entrypoint", "sleep", image, "infinity")...)
	}
	start(old, "org.sandbox-mcp.managed=true", longAgo, "org.sandbox-mcp.workspace="+t.TempDir())
	start(recent, "org.sandbox-mcp.managed=true", "org.sandbox-mcp.created="+time.Now().UTC().Format(time.RFC3339))
	start(plain)
	start(createdOnly, longAgo)

	env := map[string]string{"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME": t.TempDir()}
	args := []string{"--backend=docker", "--docker-image=" + image, "--docker-network=none", "--docker-transport=exec",
		"--state-dir=" + t.TempDir(), "--older-than=24h"}
	args = append(args, testenv.ProvisionArgs(t)...)
	exists := func(name string) bool {
		return testkit.Docker(t, "ps", "-a", "-q", "--filter", "name=^"+name+"$") != ""
	}

	lines := prune(t, env, append(args, "--dry-run")...)
	if !hasLine(lines, "would remove docker/"+old+": created ") || !hasLine(lines, "skipped docker/"+recent+": created ") {
		t.Errorf("dry run did not list %s as would remove and %s as skipped", old, recent)
	}
	for _, name := range []string{old, recent, plain, createdOnly} {
		if !exists(name) {
			t.Errorf("dry run removed %s", name)
		}
	}

	lines = prune(t, env, args...)
	if !hasLine(lines, "removed docker/"+old+": created ") || !strings.Contains(strings.Join(lines, "\n"), " ago; labelled as ours, not in our records") {
		t.Errorf("prune did not report removing %s", old)
	}
	if !hasLine(lines, "skipped docker/"+recent+": created ") {
		t.Errorf("prune did not report keeping %s", recent)
	}
	for _, name := range []string{plain, createdOnly} {
		if strings.Contains(strings.Join(lines, "\n"), name) {
			t.Errorf("prune mentioned %s, which is not ours", name)
		}
	}
	if exists(old) {
		t.Errorf("%s is still there", old)
	}
	for _, name := range []string{recent, plain, createdOnly} {
		if got := testkit.Docker(t, "inspect", "--format", "{{.State.Status}}", name); got != "running" {
			t.Errorf("%s is %q, want it running untouched", name, got)
		}
	}
}

func TestPruneArgs(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		env      map[string]string
		want     pruneOptions
		logLevel string
		wantErr  string
	}{
		{"defaults", nil, nil, pruneOptions{olderThan: 24 * time.Hour}, "warn", ""},
		{"our flags among the server's",
			[]string{"--backend", "docker", "--older-than=7d", "-dry-run", "--docker-network", "none"}, nil,
			pruneOptions{olderThan: 7 * 24 * time.Hour, dryRun: true}, "warn", ""},
		{"a separate value", []string{"-older-than", "90m"}, nil, pruneOptions{olderThan: 90 * time.Minute}, "warn", ""},
		{"--dry-run=false", []string{"--dry-run=false"}, nil, pruneOptions{olderThan: 24 * time.Hour}, "warn", ""},
		{"zero is allowed", []string{"--older-than=0"}, nil, pruneOptions{}, "warn", ""},
		{"from the environment", nil, map[string]string{"SANDBOX_MCP_OLDER_THAN": "2d", "SANDBOX_MCP_DRY_RUN": "1", "SANDBOX_MCP_LOG_LEVEL": "debug"},
			pruneOptions{olderThan: 48 * time.Hour, dryRun: true}, "debug", ""},
		{"the command line wins", []string{"--older-than=1h", "--log-level=error"}, map[string]string{"SANDBOX_MCP_OLDER_THAN": "2d"},
			pruneOptions{olderThan: time.Hour}, "error", ""},
		{"after -- nothing is a flag", []string{"--", "--dry-run"}, nil, pruneOptions{}, "", "unexpected argument"},
		{"no value", []string{"--older-than"}, nil, pruneOptions{}, "", "needs an argument"},
		{"not a duration", []string{"--older-than", "soon"}, nil, pruneOptions{}, "", "not a duration"},
		{"negative", []string{"--older-than=-1h"}, nil, pruneOptions{}, "", "negative"},
		{"bad bool", []string{"--dry-run=maybe"}, nil, pruneOptions{}, "", "invalid boolean"},
		{"bad variable", nil, map[string]string{"SANDBOX_MCP_OLDER_THAN": "soon"}, pruneOptions{}, "", "SANDBOX_MCP_OLDER_THAN"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := map[string]string{"HOME": t.TempDir()}
			maps.Copy(env, tt.env)
			got, cfg, err := parsePruneArgs(tt.args, func(k string) string { return env[k] }, io.Discard)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want || cfg.logLevel != tt.logLevel {
				t.Errorf("got %+v log level %q, %v; want %+v, %q", got, cfg.logLevel, err, tt.want, tt.logLevel)
			}
		})
	}
}

func TestPruneUsageErrors(t *testing.T) {
	getenv := func(string) string { return "" }
	var stdout, stderr bytes.Buffer
	if err := runPrune(context.Background(), []string{"-h"}, getenv, &stdout, &stderr); !errors.Is(err, flag.ErrHelp) ||
		!strings.Contains(stderr.String(), "Usage: sandbox-mcp prune") {
		t.Errorf("-h: %v, stderr %q", err, stderr.String())
	}
	stderr.Reset()
	if err := runPrune(context.Background(), []string{"--state-dir=" + t.TempDir(), "--no-such-flag"}, getenv, &stdout, &stderr); err == nil ||
		!strings.Contains(stderr.String(), "no-such-flag") {
		t.Errorf("unknown flag: %v, stderr %q", err, stderr.String())
	}
	if stdout.Len() != 0 {
		t.Errorf("errors went to stdout: %q", stdout.String())
	}
}

func TestHumanDuration(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{1500 * time.Millisecond, "2s"},
		{5 * time.Minute, "5m"},
		{90 * time.Minute, "1h30m"},
		{24 * time.Hour, "24h"},
		{72*time.Hour + 4*time.Hour, "3d4h"},
		{72 * time.Hour, "3d"},
	}
	for _, tt := range tests {
		if got := manager.HumanDuration(tt.d); got != tt.want {
			t.Errorf("HumanDuration(%v) = %q, want %q", tt.d, got, tt.want)
		}
	}
}

package fakecli

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// Tests of the front ends: version lines, docker plugin modes (absent,
// removed, and their --help exit-0 trap) and fault injection.

func TestVersion(t *testing.T) {
	f := newFixture(t)
	for _, tc := range []struct{ prog, want string }{
		{"sbx", "sbx version v0.53.0 (fake)\n"},
		{"docker", "github.com/docker/sandboxes/cli-plugin v0.12.0 fake\n"},
	} {
		if got := f.ok(tc.prog, sb(tc.prog, "version")...); got != tc.want {
			t.Errorf("%s version = %q, want %q", tc.prog, got, tc.want)
		}
	}
}

func TestRootRequired(t *testing.T) {
	var out, errb bytes.Buffer
	code := Main("sbx", []string{"ls"}, nil, &out, &errb, func(string) string { return "" })
	if got, want := code, 1; got != want || !strings.Contains(errb.String(), "FAKECLI_ROOT") {
		t.Errorf("exit %d stderr %q, want %d mentioning FAKECLI_ROOT", got, errb.String(), want)
	}
}

func TestDockerModes(t *testing.T) {
	f := newFixture(t)
	absent := "docker: unknown command: docker sandbox\n\nRun 'docker --help' for more information\n"
	removed := "\"docker sandbox\" is deprecated and has been removed.\nPlease migrate to Docker Sandboxes: https://www.docker.com/products/docker-sandboxes\n"
	for _, tc := range []struct {
		mode       string
		args       []string
		code       int
		stdoutHas  string
		wantStderr string
	}{
		{"absent", []string{"sandbox", "version"}, 1, "", absent},
		{"absent", []string{"sandbox", "ls", "--json"}, 1, "", absent},
		{"absent", []string{"sandbox", "--help"}, 0, "Usage:  docker [OPTIONS] COMMAND", ""},
		{"absent", []string{"sandbox", "ls", "--help"}, 0, "Usage:  docker [OPTIONS] COMMAND", ""},
		{"removed", []string{"sandbox", "version"}, 1, "", removed},
		{"removed", []string{"sandbox", "create", "claude", f.work}, 1, "", removed},
		{"removed", []string{"sandbox", "--help"}, 0, "Usage:", ""},
		{"present", []string{"sandbox", "--help"}, 0, "Usage:  docker sandbox", ""},
		{"present", []string{"ps"}, 1, "", "fake docker: only \"docker sandbox\" is implemented\n"},
		{"present", []string{"sandbox", "network", "proxy", "x"}, 1, "", "fake docker: \"network\" is not implemented by the test double\n"},
		{"bogus", []string{"sandbox", "version"}, 1, "", "fake docker: invalid FAKECLI_DOCKER_SANDBOX=\"bogus\" (want present, absent or removed)\n"},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		r := f.runEnv(ctx, "", []string{"FAKECLI_DOCKER_SANDBOX=" + tc.mode}, "docker", tc.args...)
		cancel()
		if r.code != tc.code || !strings.Contains(r.stdout, tc.stdoutHas) || r.stderr != tc.wantStderr {
			t.Errorf("%s docker %v: exit %d stdout %q stderr %q; want %d, stdout with %q, stderr %q",
				tc.mode, tc.args, r.code, r.stdout, r.stderr, tc.code, tc.stdoutHas, tc.wantStderr)
		}
	}
}

func TestFaults(t *testing.T) {
	f := newFixture(t)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	r := f.runEnv(ctx, "", []string{"FAKECLI_HANG=ls"}, "sbx", "ls", "--json")
	if ctx.Err() == nil || r.code == 0 || time.Since(start) > 5*time.Second {
		t.Errorf("FAKECLI_HANG: exit %d after %v, ctx %v; want killed at the deadline", r.code, time.Since(start), ctx.Err())
	}
	r = f.runEnv(context.Background(), "", []string{"FAKECLI_GARBAGE=ls"}, "docker", "sandbox", "list", "--json")
	if r.code != 3 || json.Valid([]byte(r.stdout)) || r.stdout == "" {
		t.Errorf("FAKECLI_GARBAGE: exit %d stdout %q, want 3 and non-JSON output", r.code, r.stdout)
	}
	r = f.runEnv(context.Background(), "", []string{"FAKECLI_FAIL=version:boom: it broke"}, "sbx", "version")
	if got, want := r, (result{"", "boom: it broke\n", 1}); got != want {
		t.Errorf("FAKECLI_FAIL = %+v, want %+v", got, want)
	}
	if got, want := f.ok("sbx", "version"), "sbx version v"+defaultSbxVersion+" (fake)\n"; got != want {
		t.Errorf("faults leak into other runs: %q, want %q", got, want)
	}
}

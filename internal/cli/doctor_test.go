package cli

import (
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/sandbox-mcp/sandbox-mcp/internal/fakecli"
	"github.com/sandbox-mcp/sandbox-mcp/internal/testenv"
	"github.com/sandbox-mcp/sandbox-mcp/internal/testkit"
)

// doctorRun parses args as the server would and runs the doctor with env as the whole environment.
func doctorRun(t *testing.T, args []string, env map[string]string) (ready bool, out string) {
	t.Helper()
	getenv := func(k string) string { return env[k] }
	cfg, err := parseConfig(args, getenv, io.Discard)
	if err != nil {
		t.Fatalf("parseConfig(%q): %v", args, err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	var b bytes.Buffer
	ready = runDoctor(ctx, cfg, getenv, &b)
	out = b.String()
	t.Logf("doctor %q:\n%s", args, out)
	return ready, out
}

// checkReport: every line is a check with a mark, blank, the verdict, or a numbered step; the verdict
// matches ready; a report that is not ready has numbered next steps.
func checkReport(t *testing.T, ready bool, out string) {
	t.Helper()
	step := regexp.MustCompile(`^  \d+\. \S`)
	verdicts := 0
	for i, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		switch {
		case i == 0 && strings.HasPrefix(line, "sandbox-mcp doctor "):
		case line == "", line == "next steps:":
		case strings.HasPrefix(line, "✓ "), strings.HasPrefix(line, "✗ "), strings.HasPrefix(line, "– "):
		case strings.HasPrefix(line, "ready: "), strings.HasPrefix(line, "not ready: "):
			verdicts++
			if got := strings.HasPrefix(line, "ready: "); got != ready {
				t.Errorf("verdict %q, but runDoctor returned ready=%v", line, ready)
			}
		case step.MatchString(line):
		default:
			t.Errorf("line %d is neither a check, a verdict nor a step: %q", i+1, line)
		}
	}
	if verdicts != 1 {
		t.Errorf("%d verdict lines, want 1", verdicts)
	}
	if !ready && (!strings.Contains(out, "next steps:\n  1. ") || !strings.Contains(out, "✗ ")) {
		t.Errorf("not ready without a ✗ line and numbered next steps")
	}
	if ready && strings.Contains(out, "✗ ") {
		t.Errorf("ready with a ✗ line")
	}
}

// emptyMachine is an environment with nothing on PATH and the backend CLIs pointing at missing paths.
func emptyMachine(t *testing.T) (args []string, env map[string]string) {
	t.Helper()
	dir := t.TempDir()
	env = map[string]string{"PATH": filepath.Join(dir, "empty-bin"), "HOME": filepath.Join(dir, "home")}
	args = []string{"--sbx-bin=" + filepath.Join(dir, "missing", "sbx"), "--docker-bin=" + filepath.Join(dir, "missing", "docker"),
		"--state-dir=" + filepath.Join(dir, "state")}
	return args, env
}

func TestDoctorNoBackend(t *testing.T) {
	tests := []struct {
		name    string
		backend string
		want    []string
	}{
		{"auto with no CLI installed finds no backend", "auto", []string{
			"– sbx: not installed", "– docker-sandbox: not installed", "– docker: not installed",
			"✗ backend: auto finds none that answers", "not ready: no sandbox backend answers", "1. install a sandbox backend"}},
		{"an explicit backend that is not installed is a problem", "docker", []string{
			"– sbx: not installed", "✗ docker: not installed", "not ready: backend docker does not answer",
			"1. make `docker version` reach an engine"}},
		{"an explicit sbx that is not installed says how to install it", "sbx", []string{
			"✗ sbx: not installed", "not ready: backend sbx does not answer", "brew install docker/tap/sbx"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args, env := emptyMachine(t)
			ready, out := doctorRun(t, append(args, "--backend="+tt.backend), env)
			if ready {
				t.Errorf("ready on a machine without backends")
			}
			checkReport(t, ready, out)
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q", w)
				}
			}
			// A state directory that does not exist yet is fine: the server creates it.
			if !strings.Contains(out, "✓ state directory ") || !strings.Contains(out, "will be created under") {
				t.Errorf("state directory not reported as creatable")
			}
		})
	}
}

// TestDoctorKeys: the names of the agent keys that are set are listed; their values appear nowhere.
func TestDoctorKeys(t *testing.T) {
	args, env := emptyMachine(t)
	const secret = "sk-ant-doctor-test-4f1d9c2b7a"
	env["ANTHROPIC_API_KEY"] = secret
	env["MY_AGENT_TOKEN"] = secret + "-2"
	_, out := doctorRun(t, append(args, "--pass-env=MY_AGENT_TOKEN,UNSET_EXTRA"), env)
	if !regexp.MustCompile(`(?m)^✓ agent keys set .*ANTHROPIC_API_KEY, MY_AGENT_TOKEN$`).MatchString(out) {
		t.Errorf("set keys not listed by name")
	}
	if !regexp.MustCompile(`(?m)^– agent keys not set: .*OPENAI_API_KEY.*UNSET_EXTRA$`).MatchString(out) {
		t.Errorf("unset keys not listed")
	}
	if strings.Contains(out, secret) || strings.Contains(out, "sk-ant") {
		t.Errorf("a key's value is in the output")
	}

	_, out = doctorRun(t, args, map[string]string{"PATH": env["PATH"], "HOME": env["HOME"]})
	if !strings.Contains(out, "– agent keys: none set (looked for ANTHROPIC_API_KEY, ") || !strings.Contains(out, "e.g. ANTHROPIC_API_KEY for claude") {
		t.Errorf("no key set: want a note and a next step")
	}
}

func TestDoctorStateDir(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	readOnly := filepath.Join(dir, "ro")
	if err := os.Mkdir(readOnly, 0o500); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, stateDir, want string
		ok                   bool
	}{
		{"an existing writable directory is fine", dir, "✓ state directory " + dir + ": exists, writable, ", true},
		{"a missing directory under a writable one will be created", filepath.Join(dir, "a", "b"), "will be created under " + dir + ", writable", true},
		{"a path through a file is refused", filepath.Join(file, "state"), "✗ state directory " + filepath.Join(file, "state") + ": " + file + " is not a directory", false},
		{"a read-only directory is refused", filepath.Join(readOnly, "state"), "is not writable", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !tt.ok && tt.want == "is not writable" && os.Geteuid() == 0 {
				t.Skip("root writes through directory permissions")
			}
			var b bytes.Buffer
			d := &doctor{out: &b}
			d.stateDir(tt.stateDir)
			if got := len(d.failed) == 0; got != tt.ok || !strings.Contains(b.String(), tt.want) {
				t.Errorf("stateDir(%s) = %q (ok %v), want %q (ok %v)", tt.stateDir, b.String(), got, tt.want, tt.ok)
			}
		})
	}
}

// TestDoctorSandboxCLIs runs the doctor against the test double of sbx and docker sandbox: versions are
// read, the Docker Desktop 4.80 stub and a missing plugin are recognised, and auto picks sbx.
func TestDoctorSandboxCLIs(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "bin")
	if err := fakecli.Install(bin); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, mode string
		extra      []string
		ready      bool
		want       []string
	}{
		{"the DD 4.80 stub is recognised and auto picks sbx", "removed", []string{"--template=sandbox-mcp/test:latest"}, true, []string{
			"✓ sbx: sbx version v0.53.0 (fake), answers",
			"– docker-sandbox: not available: docker sandbox was removed in Docker Desktop 4.80",
			"✓ backend: auto picks sbx",
			"– template sandbox-mcp/test:latest: needs no sandbox-agent; sandbox-mcp copies sandbox-agent 0.4.2 into each sandbox that lacks it",
			"ready: backend sbx (sbx version v0.53.0 (fake)), template sandbox-mcp/test:latest, sandbox-agent 0.4.2 provided by sandbox-mcp"}},
		{"with --provision-agent=false the template is checked by create_sandbox", "removed", []string{"--template=sandbox-mcp/test:latest", "--provision-agent=false"}, true, []string{
			"– template sandbox-mcp/test:latest: sandbox-agent and curl are checked by create_sandbox",
			"ready: backend sbx (sbx version v0.53.0 (fake)), template sandbox-mcp/test:latest (sandbox-agent is checked by create_sandbox)"}},
		{"a missing plugin is recognised", "absent", []string{"--template=sandbox-mcp/test:latest"}, true, []string{
			"– docker-sandbox: not available: the docker sandbox plugin is not installed"}},
		{"the plugin of DD 4.58-4.79 answers with its version", "present", []string{"--backend=docker-sandbox", "--template=t:1"}, true, []string{
			"✓ docker-sandbox: github.com/docker/sandboxes/cli-plugin v0.12.0 fake, answers",
			"✓ backend: docker-sandbox (--backend docker-sandbox)"}},
		{"sbx without a template is ready: sandbox-mcp copies sandbox-agent into the stock template", "removed", nil, true, []string{
			"– template none set (the agent's stock template): needs no sandbox-agent; sandbox-mcp copies sandbox-agent 0.4.2 into each sandbox that lacks it",
			"sandbox-agent 0.4.2 for linux/" + runtime.GOARCH + ": fetched from https://registry.npmjs.org on the first create_sandbox that needs it",
			"ready: backend sbx (sbx version v0.53.0 (fake)), template (the agent's stock template), sandbox-agent 0.4.2 provided by sandbox-mcp"}},
		{"sbx without a template and without provisioning is not ready: stock templates have no sandbox-agent", "removed", []string{"--provision-agent=false"}, false, []string{
			"✗ template: none set, and sbx's stock templates have no sandbox-agent",
			"pass it with --template (env SANDBOX_MCP_TEMPLATE)"}},
		{"sbx: which keys sbx holds and which would be passed by value", "removed", []string{"--template=t:1", "--sbx-pass-keys"}, true, []string{
			"✓ sbx holds keys: ANTHROPIC_API_KEY (anthropic): its proxy authenticates",
			"passed into sbx sandboxes by value (--sbx-pass-keys): CLAUDE_CODE_OAUTH_TOKEN"}},
		{"sbx: keys sbx does not hold are not passed unless allowed", "removed", []string{"--template=t:1"}, true, []string{
			"✓ sbx holds keys: ANTHROPIC_API_KEY (anthropic)",
			"set here but not passed into sbx sandboxes (sbx does not hold them): CLAUDE_CODE_OAUTH_TOKEN",
			"allow passing them by value with --sbx-pass-keys"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := map[string]string{"PATH": bin, "HOME": t.TempDir(), "FAKECLI_ROOT": t.TempDir(), "FAKECLI_DOCKER_SANDBOX": tt.mode,
				"ANTHROPIC_API_KEY": "sk-ant-doctor", "CLAUDE_CODE_OAUTH_TOKEN": "oauth-doctor"}
			if err := testkit.RunFake(bin, env, "secret", "set", "-g", "anthropic", "-t", "stored"); err != nil {
				t.Fatal(err)
			}
			args := append([]string{"--sbx-bin=" + filepath.Join(bin, "sbx"), "--docker-bin=" + filepath.Join(bin, "docker"),
				"--state-dir=" + t.TempDir(), "--cli-env=FAKECLI_ROOT,FAKECLI_DOCKER_SANDBOX"}, tt.extra...)
			ready, out := doctorRun(t, args, env)
			checkReport(t, ready, out)
			if ready != tt.ready {
				t.Errorf("ready = %v, want %v", ready, tt.ready)
			}
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q", w)
				}
			}
		})
	}
}

// TestDoctorDocker runs the doctor against the real Docker Engine and the test images.
func TestDoctorDocker(t *testing.T) {
	image := testenv.Docker(t)
	noAgent := os.Getenv("SANDBOX_MCP_TEST_IMAGE_NO_AGENT")
	if noAgent == "" {
		noAgent = "sandbox-mcp-test:no-agent"
	}
	env := map[string]string{"PATH": os.Getenv("PATH"), "HOME": t.TempDir(), "ANTHROPIC_API_KEY": "sk-doctor-docker-secret"}
	args := func(image string, extra ...string) []string {
		// The image's own sandbox-agent is what these check; provisioning has its own subtest below.
		return append(append([]string{"--backend=docker", "--docker-image=" + image, "--state-dir=" + t.TempDir(), "--provision-agent=false"},
			testenv.ProvisionArgs(t)...), extra...)
	}

	t.Run("with provisioning an image without sandbox-agent is ready", func(t *testing.T) {
		if err := exec.Command("docker", "image", "inspect", noAgent).Run(); err != nil {
			testenv.Missing(t, "the test image "+noAgent, "run scripts/build-test-image or set SANDBOX_MCP_TEST_IMAGE_NO_AGENT")
		}
		a := append([]string{"--backend=docker", "--docker-image=" + noAgent, "--state-dir=" + t.TempDir()}, testenv.ProvisionArgs(t)...)
		ready, out := doctorRun(t, a, env)
		checkReport(t, ready, out)
		for _, w := range []string{"✓ image " + noAgent + ": on this machine", "✓ sandbox-agent 0.4.2 for linux/",
			"sandbox-agent 0.4.2 provided by sandbox-mcp"} {
			if !strings.Contains(out, w) {
				t.Errorf("output lacks %q", w)
			}
		}
		if !ready {
			t.Errorf("not ready:\n%s", out)
		}
		// A missing image that is not the default: not ready, and the advice never names an image we made up.
		ready, out = doctorRun(t, append(a, "--docker-image=sandbox-mcp-test:doctor-no-such-tag"), env)
		if ready || strings.Contains(out, "sandbox-mcp/agent") || !strings.Contains(out, "if it is published") {
			t.Errorf("missing image with provisioning: ready=%v\n%s", ready, out)
		}
	})

	t.Run("the test image is ready", func(t *testing.T) {
		ready, out := doctorRun(t, args(image), env)
		checkReport(t, ready, out)
		if !ready {
			t.Fatalf("not ready with a Docker Engine and the test image")
		}
		verdict := regexp.MustCompile(`(?m)^ready: backend docker \(Docker Engine \S+\), image ` + regexp.QuoteMeta(image) + ` has sandbox-agent 0\.4\.\d+$`)
		if !verdict.MatchString(out) {
			t.Errorf("no verdict line like %s", verdict)
		}
		for _, w := range []string{"✓ docker: Docker Engine ", "✓ image " + image + ": sandbox-agent 0.4.", "✓ image " + image + ": curl ",
			"✓ agent keys set (passed to agents by name): ANTHROPIC_API_KEY"} {
			if !strings.Contains(out, w) {
				t.Errorf("output lacks %q", w)
			}
		}
		if strings.Contains(out, env["ANTHROPIC_API_KEY"]) {
			t.Errorf("the key's value is in the output")
		}
	})

	t.Run("an image without sandbox-agent is not ready", func(t *testing.T) {
		if err := exec.Command("docker", "image", "inspect", noAgent).Run(); err != nil {
			testenv.Missing(t, "the test image "+noAgent, "run scripts/build-test-image or set SANDBOX_MCP_TEST_IMAGE_NO_AGENT")
		}
		ready, out := doctorRun(t, args(noAgent), env)
		checkReport(t, ready, out)
		if ready {
			t.Fatalf("ready with an image that has no sandbox-agent")
		}
		for _, w := range []string{"✗ image " + noAgent + ": sandbox-agent is missing from the image",
			"not ready: sandbox-agent is missing from image " + noAgent, "npm install -g @sandbox-agent/cli@0.4.2", "drop --provision-agent=false"} {
			if !strings.Contains(out, w) {
				t.Errorf("output lacks %q", w)
			}
		}
	})

	t.Run("an image that is not on the machine is not pulled", func(t *testing.T) {
		missing := "sandbox-mcp-test:doctor-no-such-tag"
		ready, out := doctorRun(t, args(missing), env)
		checkReport(t, ready, out)
		if ready || !strings.Contains(out, "✗ image "+missing+": not on this machine") || !strings.Contains(out, "docker pull "+missing) {
			t.Errorf("a missing image: want not ready, saying how to get it")
		}
		// With --docker-pull the server would pull it on first use: not a problem.
		ready, out = doctorRun(t, args(missing, "--docker-pull"), env)
		checkReport(t, ready, out)
		if !ready || !strings.Contains(out, "create_sandbox pulls it") {
			t.Errorf("a missing image with --docker-pull: want ready, saying it is pulled on first use")
		}
	})

	t.Run("exec transport needs curl", func(t *testing.T) {
		// --docker-network none selects the exec transport, which reaches sandbox-agent through curl.
		ready, out := doctorRun(t, args(image, "--docker-network=none"), env)
		checkReport(t, ready, out)
		if !ready || !strings.Contains(out, "✓ image "+image+": curl ") {
			t.Errorf("exec transport with curl in the image: want ready and curl reported")
		}
	})
}

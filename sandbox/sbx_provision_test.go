package sandbox

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestParseAgentProbe(t *testing.T) {
	tests := []struct {
		name, out string
		want      agentProbe
	}{
		{"nothing there", "arch=x86_64\nbin=/home/agent/.local/bin/sandbox-agent\n",
			agentProbe{arch: "amd64", uname: "x86_64", bin: "/home/agent/.local/bin/sandbox-agent"}},
		{"a Mac's microVM", "arch=aarch64\nbin=/b\nours=sandbox-agent 0.4.2\n",
			agentProbe{arch: "arm64", uname: "aarch64", bin: "/b", ours: "0.4.2"}},
		{"the template's own", "arch=x86_64\nbin=/b\npath=sandbox-agent 0.4.1\n",
			agentProbe{arch: "amd64", uname: "x86_64", bin: "/b", own: "0.4.1"}},
		{"unknown architecture", "arch=riscv64\nbin=/b\n", agentProbe{uname: "riscv64", bin: "/b"}},
		{"a version line that is not one", "arch=x86_64\nbin=/b\nours=sandbox-agent 0.4.2; rm -rf /\npath=\n",
			agentProbe{arch: "amd64", uname: "x86_64", bin: "/b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := parseAgentProbe([]byte(tt.out)); got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

// provisionWorld is the sandbox CLI double with templates for provisioning, and a stand-in for the
// fetched sandbox-agent (a script that prints the pinned version) with a provider that counts its calls.
type provisionWorld struct {
	ex    *Exec
	bin   string
	mu    sync.Mutex
	archs []string // the architectures the provider was asked for
	prov  *Provision
}

func newProvisionWorld(t *testing.T) *provisionWorld {
	t.Helper()
	ex, bin, _ := fakeWorld(t, "present")
	tpl := filepath.Join(filepath.Dir(bin), "tpl")
	ex.Env = append(ex.Env, "FAKECLI_TEMPLATES="+tpl, "FAKECLI_AUTOSTOP=off")
	script := func(dir, name, body string) {
		if err := os.MkdirAll(filepath.Join(tpl, dir, "bin"), 0o755); err != nil {
			t.Fatal(err)
		}
		if name != "" {
			if err := os.WriteFile(filepath.Join(tpl, dir, "bin", name), []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
				t.Fatal(err)
			}
		}
	}
	script("none", "", "")
	script("own", "sandbox-agent", "echo 'sandbox-agent 0.4.2'")
	script("old", "sandbox-agent", "echo 'sandbox-agent 0.1.11'")
	script("arm", "uname", "echo aarch64")
	script("riscv", "uname", "echo riscv64")
	host := filepath.Join(t.TempDir(), "sandbox-agent")
	if err := os.WriteFile(host, []byte("#!/bin/sh\necho 'sandbox-agent 0.4.2'\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	w := &provisionWorld{ex: ex, bin: bin}
	w.prov = &Provision{Version: "0.4.2", Provide: func(ctx context.Context, arch string) (string, string, error) {
		w.mu.Lock()
		defer w.mu.Unlock()
		w.archs = append(w.archs, arch)
		return host, "0.4.2", nil
	}}
	return w
}

func (w *provisionWorld) asked() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.archs)
}

// TestProvisionAgentStreams: on both CLIs, a sandbox whose template lacks the pinned sandbox-agent gets
// the binary for its own architecture (uname -m inside, not the host's) streamed in, once: the next call
// finds it there. A template with the pinned version costs no copy; one with another version gets ours.
func TestProvisionAgentStreams(t *testing.T) {
	for _, d := range []string{"sbx", "docker-sandbox"} {
		for _, tc := range []struct {
			tpl     string
			asked   []string // architectures fetched
			wantBin bool     // the provisioned path, else the template's own ("")
		}{
			{"none", []string{"amd64"}, true},
			{"arm", []string{"arm64"}, true},
			{"own", nil, false},
			{"old", []string{"amd64"}, true},
		} {
			t.Run(d+"/"+tc.tpl, func(t *testing.T) {
				w := newProvisionWorld(t)
				ctx := t.Context()
				var b interface {
					Backend
					AgentProvisioner
				}
				if d == "sbx" {
					b = NewSbx(w.ex, SbxOptions{Binary: filepath.Join(w.bin, "sbx"), Pull: "never", Template: tc.tpl, Provision: w.prov})
				} else {
					b = NewDockerSandbox(w.ex, DockerSandboxOptions{Binary: filepath.Join(w.bin, "docker"), PullTemplate: "never", Template: tc.tpl, Provision: w.prov})
				}
				if _, err := b.Create(ctx, Spec{Name: "prov", Workspace: t.TempDir()}); err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { _ = b.Remove(context.Background(), "prov") })
				rep := &stepRecorder{}
				bin, version, err := b.ProvisionAgent(WithReporter(ctx, rep), "prov")
				if err != nil {
					t.Fatal(err)
				}
				if version != "0.4.2" || (bin != "") != tc.wantBin || (tc.wantBin && !strings.HasSuffix(bin, "/home/.local/bin/sandbox-agent")) {
					t.Errorf("ProvisionAgent = %q, %q", bin, version)
				}
				if got := w.asked(); !slices.Equal(got, tc.asked) {
					t.Errorf("provider asked for %v, want %v", got, tc.asked)
				}
				if copied := slices.Contains(rep.steps, "copy of sandbox-agent into the sandbox"); copied != tc.wantBin {
					t.Errorf("steps = %v, copied = %v", rep.steps, copied)
				}
				// Again (a later session, a restart of the server): found, not copied again.
				bin2, version2, err := b.ProvisionAgent(ctx, "prov")
				if err != nil || bin2 != bin || version2 != "0.4.2" {
					t.Errorf("second ProvisionAgent = %q, %q, %v", bin2, version2, err)
				}
				if got := w.asked(); !slices.Equal(got, tc.asked) {
					t.Errorf("provider asked again: %v", got)
				}
				if tc.wantBin {
					res, err := b.Exec(ctx, "prov", ExecSpec{Args: []string{bin, "--version"}})
					if err != nil || strings.TrimSpace(string(res.Stdout)) != "sandbox-agent 0.4.2" {
						t.Errorf("%s --version in the sandbox = %q, %v", bin, res.Stdout, err)
					}
				}
			})
		}
	}
}

// TestProvisionAgentRefusals: an architecture without a release and a failed fetch are one-line errors
// that say what to do; without Provision nothing is probed.
func TestProvisionAgentRefusals(t *testing.T) {
	w := newProvisionWorld(t)
	ctx := t.Context()
	s := NewSbx(w.ex, SbxOptions{Binary: filepath.Join(w.bin, "sbx"), Pull: "never", Template: "riscv", Provision: w.prov})
	if _, err := s.Create(ctx, Spec{Name: "riscv", Workspace: t.TempDir()}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Remove(context.Background(), "riscv") })
	_, _, err := s.ProvisionAgent(ctx, "riscv")
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), `"riscv64"`) || strings.Contains(err.Error(), "\n") {
		t.Errorf("riscv64: %v", err)
	}

	failing := &Provision{Version: "0.4.2", Provide: func(context.Context, string) (string, string, error) {
		return "", "", errors.New("dial tcp 127.0.0.1:9: connection refused")
	}}
	s = NewSbx(w.ex, SbxOptions{Binary: filepath.Join(w.bin, "sbx"), Pull: "never", Template: "none", Provision: failing})
	if _, err := s.Create(ctx, Spec{Name: "nofetch", Workspace: t.TempDir()}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Remove(context.Background(), "nofetch") })
	_, _, err = s.ProvisionAgent(ctx, "nofetch")
	if err == nil || !strings.Contains(err.Error(), "--provision-agent=false") || !strings.Contains(err.Error(), "connection refused") || strings.Contains(err.Error(), "\n") {
		t.Errorf("failed fetch: %v", err)
	}

	off := NewSbx(w.ex, SbxOptions{Binary: filepath.Join(w.bin, "sbx"), Pull: "never", Template: "none"})
	if bin, version, err := off.ProvisionAgent(ctx, "nofetch"); bin != "" || version != "" || err != nil {
		t.Errorf("without Provision: %q, %q, %v", bin, version, err)
	}
}

// TestSbxHeldExecStartsProvisionedPath: the held exec that starts sandbox-agent gets the provisioned path
// as a variable (the script is fixed text), right after ProvisionAgent without a second probe, and any
// later start probes again (the sandbox may have stopped or been recreated meanwhile).
func TestSbxHeldExecStartsProvisionedPath(t *testing.T) {
	w := newProvisionWorld(t)
	ctx := t.Context()
	rec := &recorder{r: w.ex}
	s := NewSbx(rec, SbxOptions{Binary: filepath.Join(w.bin, "sbx"), Pull: "never", Template: "none", AgentPort: freeTestPort(t),
		StateDir: t.TempDir(), BaseEnv: w.ex.Env, Provision: w.prov})
	if err := s.Check(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Create(ctx, Spec{Name: "held", Workspace: t.TempDir()}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Remove(context.Background(), "held") })
	bin, _, err := s.ProvisionAgent(ctx, "held")
	if err != nil || bin == "" {
		t.Fatalf("ProvisionAgent = %q, %v", bin, err)
	}
	count := func(script string) (n int, last []string) {
		rec.mu.Lock()
		defer rec.mu.Unlock()
		for _, a := range rec.args {
			if slices.Contains(a, script) {
				n, last = n+1, a
			}
		}
		return n, last
	}
	// The stand-in exits at once, so the start fails; what matters is how it was started.
	_, _, _ = s.AgentEndpoint(ctx, "held")
	probes, _ := count(agentProbeScript)
	starts, argv := count(sbxAgentScript)
	if probes != 1 || starts != 1 || !slices.Contains(argv, sbxBinVar+"="+bin) {
		t.Fatalf("%d probes, %d starts, start argv %q: want 1, 1 and -e %s=%s", probes, starts, argv, sbxBinVar, bin)
	}
	_, _, _ = s.AgentEndpoint(ctx, "held")
	probes, _ = count(agentProbeScript)
	starts, argv = count(sbxAgentScript)
	streams, _ := count(agentStreamScript)
	if probes != 2 || starts != 2 || streams != 1 || !slices.Contains(argv, sbxBinVar+"="+bin) {
		t.Errorf("second start: %d probes, %d starts, %d streams, argv %q; want 2, 2, 1", probes, starts, streams, argv)
	}
}

type stepRecorder struct {
	mu    sync.Mutex
	steps []string
}

func (r *stepRecorder) Say(string) {}
func (r *stepRecorder) Step(what string, _ time.Duration) {
	r.mu.Lock()
	r.steps = append(r.steps, what)
	r.mu.Unlock()
}

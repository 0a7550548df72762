package sandbox

import (
	"errors"
	"fmt"
	"testing"
)

// TestDockerSandboxCheck covers the three worlds of §1-§2: plugin present (DD 4.58-4.79), plugin missing
// (two CLI generations word it differently) and the DD ≥ 4.80 stub that fails every command.
func TestDockerSandboxCheck(t *testing.T) {
	version := []string{"docker", "sandbox", "version"}
	runCheckCases(t, func(r Runner) Backend { return NewDockerSandbox(r, DockerSandboxOptions{}) }, version, []checkCase{
		{name: "plugin v0.12 answers", res: out("github.com/docker/sandboxes/cli-plugin v0.12.0 abc\n")},
		{name: "Docker 28.x CLI without the plugin",
			err:      exitErr(1, "docker: unknown command: docker sandbox\n\nRun 'docker --help' for more information\n", version...),
			wantUnav: true, wantTexts: []string{"plugin is not installed", "install the sbx CLI"}},
		{name: "older CLI without the plugin",
			err:      exitErr(1, "docker: 'sandbox' is not a docker command.\nSee 'docker --help'", version...),
			wantUnav: true, wantTexts: []string{"plugin is not installed", "install the sbx CLI"}},
		{name: "DD 4.80+ stub",
			err: exitErr(1, "\"docker sandbox\" is deprecated and has been removed.\n"+
				"Please migrate to Docker Sandboxes: https://www.docker.com/products/docker-sandboxes\n", version...),
			wantUnav: true, wantTexts: []string{"removed in Docker Desktop 4.80", "brew install docker/tap/sbx", "has been removed"}},
		{name: "docker not installed",
			err:      fmt.Errorf("docker is not installed or not on PATH: %w", ErrUnavailable),
			wantUnav: true, wantTexts: []string{"docker is not installed", "Docker Desktop 4.58-4.79", "sbx"}},
		{name: "Docker Desktop not running",
			err:      exitErr(1, "Error: failed to connect to sandboxd: dial unix: connect: no such file or directory", version...),
			wantUnav: true, wantTexts: []string{"failed to connect to sandboxd", "Docker Desktop 4.58-4.79 running"}},
	})
}

// TestDockerSandboxCreateNeedsWorkspace: the plugin's create has a mandatory WORKSPACE (§5, §7), so an empty
// one is refused before running anything (sbx creates a mountless sandbox instead, see TestOptions).
func TestDockerSandboxCreateNeedsWorkspace(t *testing.T) {
	_, err := NewDockerSandbox(newFakeRunner(t), DockerSandboxOptions{}).Create(t.Context(), Spec{Name: "box1"})
	if !errors.Is(err, ErrInvalid) {
		t.Errorf("got %v, want ErrInvalid", err)
	}
}

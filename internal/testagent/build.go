package testagent

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
)

const (
	modulePath = "github.com/sandbox-mcp/sandbox-mcp"
	agentPkg   = modulePath + "/internal/cmd/scripted-agent"
)

// Build compiles the scripted agent as a static binary (CGO_ENABLED=0) into
// dir/scripted-agent and returns its absolute path.
func Build(dir string) (string, error) {
	root, err := moduleRoot()
	if err != nil {
		return "", err
	}
	out, err := filepath.Abs(filepath.Join(dir, "scripted-agent"))
	if err != nil {
		return "", err
	}
	cmd := exec.Command("go", "build", "-o", out, agentPkg)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if msg, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build %s: %v\n%s", agentPkg, err, msg)
	}
	return out, nil
}

// moduleRoot finds the directory of this module's go.mod: via `go env GOMOD`
// in the working directory, then by walking up from the working directory,
// then from this source file.
func moduleRoot() (string, error) {
	if b, err := exec.Command("go", "env", "GOMOD").Output(); err == nil {
		if gomod := strings.TrimSpace(string(b)); gomod != "" && gomod != os.DevNull && isOurModule(gomod) {
			return filepath.Dir(gomod), nil
		}
	}
	var starts []string
	if wd, err := os.Getwd(); err == nil {
		starts = append(starts, wd)
	}
	if _, file, _, ok := runtime.Caller(0); ok {
		starts = append(starts, filepath.Dir(file))
	}
	for _, d := range starts {
		for {
			if isOurModule(filepath.Join(d, "go.mod")) {
				return d, nil
			}
			parent := filepath.Dir(d)
			if parent == d {
				break
			}
			d = parent
		}
	}
	return "", errors.New("testagent: cannot find the go.mod of module " + modulePath)
}

func isOurModule(gomod string) bool {
	b, err := os.ReadFile(gomod)
	if err != nil {
		return false
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) == 2 && f[0] == "module" {
			return strings.Trim(f[1], `"`) == modulePath
		}
	}
	return false
}

// LauncherPath is where sandbox-agent looks for the launcher of agent "mock"
// under XDG_DATA_HOME=dataHome.
func LauncherPath(dataHome string) string {
	return filepath.Join(dataHome, "sandbox-agent", "bin", "agent_processes", "mock-acp")
}

// WriteLauncher writes the executable shell launcher that makes sandbox-agent
// (XDG_DATA_HOME=dataHome, agent id "mock") exec agentBin. agentBin must be
// an absolute path (in the filesystem where the launcher runs) without single
// quotes.
func WriteLauncher(dataHome, agentBin string) error {
	if !strings.HasPrefix(agentBin, "/") {
		return fmt.Errorf("testagent: agent binary path must be absolute: %q", agentBin)
	}
	if strings.ContainsAny(agentBin, "'\x00") {
		return fmt.Errorf("testagent: agent binary path contains a single quote or NUL: %q", agentBin)
	}
	path := LauncherPath(dataHome)
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	script := "#!/bin/sh\nexec '" + agentBin + "' \"$@\"\n"
	// Write then rename, so a launcher being executed is never rewritten in place.
	tmp, err := os.CreateTemp(dir, ".mock-acp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.WriteString(script); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o755); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

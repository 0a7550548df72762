package sandbox

import (
	"context"
	"fmt"
	"os"
	"path"
	"strings"
	"time"
)

// agentStreamScript writes its stdin to $HOME/.local/bin/sandbox-agent (beside, then renamed, so a running
// copy is never overwritten in place) and prints the path. Fixed text: nothing from a caller is in it.
const agentStreamScript = `set -e
d="$HOME/.local/bin"
mkdir -p "$d"
t="$d/.sandbox-agent.$$"
cat > "$t"
chmod 0755 "$t"
mv -f "$t" "$d/sandbox-agent"
printf '%s\n' "$d/sandbox-agent"`

// InstallAgentByExec streams the provisioned sandbox-agent at hostPath (a static Linux executable, from
// package provision) into sandbox name through the backend's `exec -i … sh -c <fixed script>`, and returns
// its path inside the sandbox ($HOME/.local/bin/sandbox-agent). For backends that cannot bind-mount a host
// file (sbx, the legacy docker sandbox plugin): their sandboxes then need no sandbox-agent in the template.
// The file is an io.Seeker, so a backend that restarts a stopped sandbox can send it again.
func InstallAgentByExec(ctx context.Context, b Backend, name, hostPath string) (string, error) {
	f, err := os.Open(hostPath)
	if err != nil {
		return "", fmt.Errorf("install sandbox-agent into %s: %w", name, err)
	}
	defer f.Close()
	t0 := time.Now()
	res, err := b.Exec(ctx, name, ExecSpec{Args: []string{"sh", "-c", agentStreamScript}, Stdin: f, Timeout: 5 * time.Minute})
	if err != nil {
		return "", fmt.Errorf("install sandbox-agent into %s: %w", name, err)
	}
	p := strings.TrimSpace(string(res.Stdout))
	if !path.IsAbs(p) || strings.ContainsAny(p, "\n\x00") {
		return "", fmt.Errorf("install sandbox-agent into %s: the sandbox reported path %q", name, truncate(p, 80))
	}
	Step(ctx, "copy of sandbox-agent into the sandbox", time.Since(t0))
	return p, nil
}

package fakecli

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// Option values shared by create and exec: docker-style env lists and sbx
// port mappings.

// resolveEnv turns --env-file files and -e entries into K=V pairs with
// docker semantics: files first, then -e (later wins); a bare NAME takes the
// value from the CLI's own environment and is dropped when unset there.
func (e *env) resolveEnv(files, entries []string) ([]string, error) {
	var all []string
	for _, f := range files {
		lines, err := readEnvFile(f)
		if err != nil {
			return nil, err
		}
		all = append(all, lines...)
	}
	all = append(all, entries...)
	var out []string
	for _, kv := range all {
		k, v, ok := strings.Cut(kv, "=")
		if k == "" {
			return nil, fmt.Errorf("invalid environment variable: %q", kv)
		}
		if !ok {
			if v = e.getenv(k); v == "" {
				continue
			}
		}
		out = setEnv(out, k, v)
	}
	return out, nil
}

// setEnv replaces or appends k in a K=V list, keeping first-seen order.
func setEnv(list []string, k, v string) []string {
	for i, kv := range list {
		if strings.HasPrefix(kv, k+"=") {
			list[i] = k + "=" + v
			return list
		}
	}
	return append(list, k+"="+v)
}

// readEnvFile reads a docker --env-file: one K=V or K per line, '#' comments
// and blank lines ignored, no quote processing (docker does none either).
func readEnvFile(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimLeft(sc.Text(), " \t")
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		out = append(out, line)
	}
	return out, sc.Err()
}

// parsePorts parses sbx -p values: [[HOST_IP:]HOST_PORT:]SANDBOX_PORT[/PROTO].
// Host IP defaults to 127.0.0.1 (sandboxes publish on loopback) and a missing
// host port means an ephemeral one, chosen at every start (docker/docs
// reference/cli/sbx/ports: "If HOST_PORT is omitted, an ephemeral port is
// allocated automatically"). The double binds IPv4 only: the docs' "tcp binds
// both 127.0.0.1 and ::1 (or only 127.0.0.1 if the sandbox is IPv4-only)".
func parsePorts(specs []string) ([]port, error) {
	var out []port
	for _, s := range specs {
		spec, proto, _ := strings.Cut(s, "/")
		if proto == "" {
			proto = "tcp"
		}
		if proto != "tcp" && proto != "tcp4" {
			return nil, fmt.Errorf("invalid port mapping %q: the test double publishes tcp/tcp4 only", s)
		}
		parts := strings.Split(spec, ":")
		p := port{HostIP: "127.0.0.1", Protocol: proto}
		var err1, err2 error
		switch len(parts) {
		case 1:
			p.SandboxPort, err1 = strconv.Atoi(parts[0])
		case 2:
			p.HostPort, err1 = strconv.Atoi(parts[0])
			p.SandboxPort, err2 = strconv.Atoi(parts[1])
		case 3:
			p.HostIP = parts[0]
			p.HostPort, err1 = strconv.Atoi(parts[1])
			p.SandboxPort, err2 = strconv.Atoi(parts[2])
		default:
			err1 = fmt.Errorf("too many colons")
		}
		if err1 != nil || err2 != nil || p.SandboxPort <= 0 || p.SandboxPort > 65535 || p.HostPort < 0 || p.HostPort > 65535 {
			return nil, fmt.Errorf("invalid port mapping %q", s)
		}
		out = append(out, p)
	}
	return out, nil
}

// String renders a mapping for the PORTS column, docker ps style.
func (p port) String() string {
	return fmt.Sprintf("%s:%d->%d/%s", p.HostIP, p.HostPort, p.SandboxPort, p.Protocol)
}

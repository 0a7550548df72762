package fakecli

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sandbox-mcp/sandbox-mcp/internal/testenv"
)

// TestSbxNetworkProxy: processes inside an sbx sandbox reach the network only through the VM's proxy,
// which answers sbx's 403 "Blocked by network policy" for a host the policy does not allow (inside the
// TLS tunnel for https, as sbx's TLS-terminating proxy does) and, for an allowed host, a 502 saying the
// double does not reach the internet. `sbx policy check network` agrees with the proxy.
func TestSbxNetworkProxy(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		testenv.Missing(t, "curl", "install curl")
	}
	f := newSandbox(t, "sbx")
	curl := func(url string) result {
		t.Helper()
		return f.run("sbx", "exec", "sb", "curl", "-sS", "-w", "\n%{http_code}", url)
	}
	for _, url := range []string{"https://registry.example.test/x", "http://registry.example.test/x"} {
		r := curl(url)
		port := map[bool]string{true: "443", false: "80"}[strings.HasPrefix(url, "https")]
		want := "Blocked by network policy: domain registry.example.test:" + port + "\n  detail: " + blockedDetail + "\n\n403"
		if r.code != 0 || r.stdout != want {
			t.Errorf("curl %s before allow = %+v, want %q", url, r, want)
		}
	}
	if r := f.run("sbx", "policy", "check", "network", "--sandbox", "sb", "registry.example.test"); r.code != 1 || !strings.HasPrefix(r.stdout, "Denied") {
		t.Errorf("policy check before allow = %+v, want Denied, exit 1", r)
	}

	f.ok("sbx", "policy", "allow", "network", "sb", "registry.example.test,*.cdn.example.test")
	for _, url := range []string{"https://registry.example.test/x", "https://a.cdn.example.test/y"} {
		if r := curl(url); r.code != 0 || !strings.HasSuffix(r.stdout, "\n502") || !strings.Contains(r.stdout, "does not reach the internet") {
			t.Errorf("curl %s after allow = %+v, want the double's 502", url, r)
		}
	}
	if r := f.run("sbx", "policy", "check", "network", "--sandbox", "sb", "https://registry.example.test/x"); r.code != 0 || !strings.HasPrefix(r.stdout, "Allowed") {
		t.Errorf("policy check after allow = %+v, want Allowed, exit 0", r)
	}
	// Deny wins over allow; another sandbox's rules do not apply.
	f.ok("sbx", "policy", "deny", "network", "-g", "a.cdn.example.test")
	if r := curl("https://a.cdn.example.test/y"); !strings.HasSuffix(r.stdout, "\n403") {
		t.Errorf("curl after a global deny = %+v, want 403", r)
	}
	if r := f.run("sbx", "policy", "check", "network", "registry.example.test"); r.code != 1 {
		t.Errorf("global policy check of a host allowed for sb only = %+v, want Denied", r)
	}
	// The loopback stays outside the proxy (NO_PROXY), as processes inside reach their own services.
	if r := f.run("sbx", "exec", "sb", "sh", "-c", `echo "$HTTPS_PROXY $NO_PROXY"`); !strings.HasPrefix(r.stdout, "http://127.") || !strings.Contains(r.stdout, "127.0.0.1") {
		t.Errorf("proxy environment inside = %q", r.stdout)
	}
}

// proxyAddr is the running VM's proxy address of sandbox sb (meta.json).
func proxyAddr(t *testing.T, f *fixture) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(f.root, "sbx", "sb", "meta.json"))
	must(t, err)
	var m meta
	must(t, json.Unmarshal(b, &m))
	if m.Proxy == "" {
		t.Fatal("no proxy in meta.json")
	}
	return m.Proxy
}

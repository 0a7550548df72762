package provision

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sandbox-mcp/sandbox-mcp/internal/testenv"
)

// registry is a fake npm registry on 127.0.0.1 serving one tarball at the path the real one has.
type registry struct {
	*httptest.Server
	hits atomic.Int32
}

func newRegistry(t *testing.T, pkgPath string, body []byte, handler http.HandlerFunc) *registry {
	t.Helper()
	r := &registry{}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.hits.Add(1)
		if handler != nil {
			handler(w, req)
			return
		}
		if req.URL.Path != pkgPath {
			http.NotFound(w, req)
			return
		}
		_, _ = w.Write(body)
	}))
	t.Cleanup(r.Close)
	return r
}

// TestFetchRealTarball: the pinned linux-x64 tarball, served by a loopback registry, is fetched once,
// verified against both pins, cached executable, runs, and is not fetched again (by this Fetcher or a
// new one, as after a server restart).
func TestFetchRealTarball(t *testing.T) {
	body, err := os.ReadFile(testenv.SandboxAgentTarball(t))
	if err != nil {
		t.Fatal(err)
	}
	reg := newRegistry(t, "/@sandbox-agent/cli-linux-x64/-/cli-linux-x64-0.4.2.tgz", body, nil)
	cache := t.TempDir()
	f := &Fetcher{Registry: reg.URL, CacheDir: cache}
	if f.Cached("amd64") {
		t.Fatal("Cached before any fetch")
	}
	var msgs []string
	path, fetched, err := f.SandboxAgent(context.Background(), "amd64", func(m string) { msgs = append(msgs, m) })
	if err != nil {
		t.Fatal(err)
	}
	if !fetched || path != f.Path("amd64") || !strings.HasPrefix(path, cache) {
		t.Errorf("fetched=%v path=%s", fetched, path)
	}
	if len(msgs) < 2 || !strings.Contains(msgs[0], "fetching sandbox-agent 0.4.2 for linux/amd64") ||
		!strings.Contains(msgs[len(msgs)-1], "verified and cached") {
		t.Errorf("progress = %q", msgs)
	}
	out, err := exec.Command(path, "--version").Output()
	if err != nil || !strings.Contains(string(out), "sandbox-agent 0.4.2") {
		t.Errorf("%s --version = %q, %v", path, out, err)
	}
	for _, g := range []*Fetcher{f, {Registry: reg.URL, CacheDir: cache}} {
		if _, fetched, err := g.SandboxAgent(context.Background(), "amd64", nil); err != nil || fetched {
			t.Errorf("second call: fetched=%v err=%v", fetched, err)
		}
	}
	if n := reg.hits.Load(); n != 1 {
		t.Errorf("registry hit %d times, want 1", n)
	}
	if !f.Cached("amd64") || f.Cached("arm64") {
		t.Errorf("Cached: amd64 %v arm64 %v", f.Cached("amd64"), f.Cached("arm64"))
	}
}

// fakeTarball builds a gzipped npm tarball holding content at package/bin/sandbox-agent, and the pin that
// matches it.
func fakeTarball(t *testing.T, content []byte) ([]byte, pin) {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for _, f := range []struct {
		name string
		body []byte
	}{{"package/package.json", []byte(`{}`)}, {"package/bin/sandbox-agent", content}} {
		if err := tw.WriteHeader(&tar.Header{Name: f.name, Mode: 0o644, Size: int64(len(f.body)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		_, _ = tw.Write(f.body)
	}
	tw.Close()
	gz.Close()
	s512 := sha512.Sum512(buf.Bytes())
	s256 := sha256.Sum256(content)
	return buf.Bytes(), pin{pkg: "@sandbox-agent/cli-linux-x64", integrity: "sha512-" + base64.StdEncoding.EncodeToString(s512[:]),
		sha256: hex.EncodeToString(s256[:]), size: int64(len(content))}
}

// TestFetchRefuses: whatever does not match the pins is refused and nothing is cached; the error says why.
func TestFetchRefuses(t *testing.T) {
	good := []byte("#!/bin/sh\necho sandbox-agent 0.4.2\n")
	tgz, p := fakeTarball(t, good)
	const path = "/@sandbox-agent/cli-linux-x64/-/cli-linux-x64-0.4.2.tgz"
	otherTgz, _ := fakeTarball(t, []byte("#!/bin/sh\necho evil\n"))
	tests := []struct {
		name    string
		body    []byte
		pin     func(pin) pin
		handler http.HandlerFunc
		want    string
	}{
		{name: "another tarball", body: otherTgz, want: "integrity is sha512-"},
		{name: "right tarball, wrong binary pin", body: tgz, pin: func(p pin) pin { p.sha256 = strings.Repeat("0", 64); return p },
			want: "has sha256"},
		{name: "right tarball, wrong size", body: tgz, pin: func(p pin) pin { p.size++; return p }, want: "bytes, want"},
		{name: "not found", handler: func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) }, want: "404 Not Found"},
		{name: "too big", handler: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", "999999999")
			w.WriteHeader(http.StatusOK)
		}, want: "more than the"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := newRegistry(t, path, tt.body, tt.handler)
			pp := p
			if tt.pin != nil {
				pp = tt.pin(p)
			}
			f := &Fetcher{Registry: reg.URL, CacheDir: t.TempDir(), pins: map[string]pin{"amd64": pp}}
			_, _, err := f.SandboxAgent(context.Background(), "amd64", nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.want)
			}
			if _, err := os.Stat(f.Path("amd64")); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("something was cached: %v", err)
			}
		})
	}
	t.Run("the good one passes", func(t *testing.T) {
		reg := newRegistry(t, path, tgz, nil)
		f := &Fetcher{Registry: reg.URL, CacheDir: t.TempDir(), pins: map[string]pin{"amd64": p}}
		if _, _, err := f.SandboxAgent(context.Background(), "amd64", nil); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("a corrupted cache is fetched again", func(t *testing.T) {
		reg := newRegistry(t, path, tgz, nil)
		f := &Fetcher{Registry: reg.URL, CacheDir: t.TempDir(), pins: map[string]pin{"amd64": p}}
		if _, _, err := f.SandboxAgent(context.Background(), "amd64", nil); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(f.Path("amd64"), []byte("tampered"), 0o755); err != nil {
			t.Fatal(err)
		}
		g := &Fetcher{Registry: reg.URL, CacheDir: f.CacheDir, pins: f.pins}
		if _, fetched, err := g.SandboxAgent(context.Background(), "amd64", nil); err != nil || !fetched {
			t.Fatalf("fetched=%v err=%v", fetched, err)
		}
		if b, _ := os.ReadFile(f.Path("amd64")); !bytes.Equal(b, good) {
			t.Errorf("cache holds %q", b)
		}
	})
}

// TestFetchDeadlineAndCancel: a registry that never finishes is cut off by the Fetcher's deadline, and by
// the caller's cancellation.
func TestFetchDeadlineAndCancel(t *testing.T) {
	release := make(chan struct{})
	var once sync.Once
	t.Cleanup(func() { once.Do(func() { close(release) }) })
	reg := newRegistry(t, "", nil, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "1000")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte("partial"))
		w.(http.Flusher).Flush()
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	f := &Fetcher{Registry: reg.URL, CacheDir: t.TempDir(), Timeout: 200 * time.Millisecond}
	if _, _, err := f.SandboxAgent(context.Background(), "amd64", nil); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("deadline: err = %v", err)
	}
	f.Timeout = time.Hour
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	if _, _, err := f.SandboxAgent(ctx, "amd64", nil); !errors.Is(err, context.Canceled) {
		t.Errorf("cancel: err = %v", err)
	}
}

func TestUnsupportedArchAndURL(t *testing.T) {
	f := &Fetcher{CacheDir: t.TempDir()}
	if _, _, err := f.SandboxAgent(context.Background(), "s390x", nil); !errors.Is(err, ErrUnsupportedArch) {
		t.Errorf("s390x: %v", err)
	}
	tests := []struct{ registry, want string }{
		{"", "https://registry.npmjs.org/@sandbox-agent/cli-linux-arm64/-/cli-linux-arm64-0.4.2.tgz"},
		{"http://127.0.0.1:4873/", "http://127.0.0.1:4873/@sandbox-agent/cli-linux-arm64/-/cli-linux-arm64-0.4.2.tgz"},
		{"file:///etc", ""},
	}
	for _, tt := range tests {
		got, err := (&Fetcher{Registry: tt.registry}).tarballURL(pins["arm64"])
		if got != tt.want || (tt.want == "") != (err != nil) {
			t.Errorf("tarballURL(%q) = %q, %v; want %q", tt.registry, got, err, tt.want)
		}
	}
}

func TestDefaultCacheDir(t *testing.T) {
	tests := []struct {
		goos string
		env  map[string]string
		want string
	}{
		{"linux", map[string]string{"HOME": "/h", "XDG_CACHE_HOME": "/x"}, "/x/sandbox-mcp"},
		{"linux", map[string]string{"HOME": "/h", "XDG_CACHE_HOME": "relative"}, "/h/.cache/sandbox-mcp"},
		{"darwin", map[string]string{"HOME": "/Users/u"}, "/Users/u/Library/Caches/sandbox-mcp"},
		{"linux", map[string]string{}, ""},
	}
	for _, tt := range tests {
		got, err := DefaultCacheDir(tt.goos, func(k string) string { return tt.env[k] })
		if got != tt.want || (tt.want == "") != (err != nil) {
			t.Errorf("DefaultCacheDir(%s, %v) = %q, %v; want %q", tt.goos, tt.env, got, err, tt.want)
		}
	}
}

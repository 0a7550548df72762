// Package provision fetches the pinned sandbox-agent release once, verifies it and keeps it in the user's
// cache, so that a sandbox needs nothing of ours in its image: the Docker backend bind-mounts the binary
// read-only, and the sbx backends can stream it in (sandbox.InstallAgentByExec).
//
// Where it comes from: the npm registry's @sandbox-agent/cli-linux-<arch> package, whose tarball holds the
// static (musl) executable at package/bin/sandbox-agent. Both the tarball (the registry's sha512 integrity)
// and the executable inside it (sha256) are pinned here, so a registry or mirror that serves anything else is
// refused, and the cached file is checked again before its first use in each process.
package provision

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// Version is the sandbox-agent release the server drives.
const Version = "0.4.2"

// DefaultRegistry is the npm registry the release is fetched from unless configured otherwise.
const DefaultRegistry = "https://registry.npmjs.org"

// pin is one architecture's release: npm package, tarball integrity and executable hash.
type pin struct {
	pkg       string // npm package name
	integrity string // the registry's dist.integrity of the tarball (sha512, base64)
	sha256    string // of package/bin/sandbox-agent
	size      int64  // of package/bin/sandbox-agent, an upper bound for the extraction
}

// pins are the releases by Docker architecture name (`docker version` .Server.Arch, uname -m mapped).
// Source: `npm view @sandbox-agent/cli-linux-<arch>@0.4.2 dist` and sha256sum of the extracted binary.
var pins = map[string]pin{
	"amd64": {"@sandbox-agent/cli-linux-x64",
		"sha512-H9Rbqq0DRkCHvakzefJUDrDa2y+vJjlYd5/tefzKbQ34locE13TGNygRLxdEVXpBECjK9wVdBwTVEphQNsOcjw==",
		"bab098abef874ade481aa7b50463662814fbf27294399f545307fedb638f029b", 24621712},
	"arm64": {"@sandbox-agent/cli-linux-arm64",
		"sha512-TGmTUexMoubmWQyTeaOJu0rDVl2h0Ifh1pZ0ceZy7u/6Eoqs2n46CbfQtasUxZJf10uxPgRyzEDhcdDrTYVQUA==",
		"50361f87b9a6ce74bacaf07fd8f77866288bee88fc46fd1622f82f62b8f9dc5a", 25724224},
}

// maxTarball bounds the download: the real tarballs are about 10 MB.
const maxTarball = 64 << 20

// ErrUnsupportedArch: no pinned release for that architecture.
var ErrUnsupportedArch = errors.New("no sandbox-agent release for this architecture")

// Fetcher fetches and caches the release. The zero value is not usable: set CacheDir.
type Fetcher struct {
	// Registry is the npm registry's base URL. Default DefaultRegistry.
	Registry string
	// CacheDir is the folder the binaries are kept in, one per version and architecture:
	// <CacheDir>/sandbox-agent/<Version>/linux-<arch>/sandbox-agent.
	CacheDir string
	// Timeout bounds one download, on top of the caller's context. Default 5 minutes.
	Timeout time.Duration
	// Client is the HTTP client. Default: one that honours the proxy variables.
	Client *http.Client

	mu       sync.Mutex
	verified map[string]bool // paths hashed and found right in this process
	pins     map[string]pin  // tests replace it; nil means the package's pins
}

// Path is where the binary for arch is (or will be) cached.
func (f *Fetcher) Path(arch string) string {
	return filepath.Join(f.CacheDir, "sandbox-agent", Version, "linux-"+arch, "sandbox-agent")
}

// Cached reports whether a verified binary for arch is in the cache, without fetching anything.
func (f *Fetcher) Cached(arch string) bool {
	p, ok := f.pin(arch)
	return ok && f.check(f.Path(arch), p) == nil
}

func (f *Fetcher) pin(arch string) (pin, bool) {
	ps := f.pins
	if ps == nil {
		ps = pins
	}
	p, ok := ps[arch]
	return p, ok
}

// Progress hears what a long step is doing (the MCP tools turn it into progress notifications).
type Progress func(msg string)

// SandboxAgent returns the path of a verified sandbox-agent for linux/arch, fetching it first when it is
// not cached. fetched says whether this call downloaded it. Concurrent calls in one process fetch once.
func (f *Fetcher) SandboxAgent(ctx context.Context, arch string, progress Progress) (path string, fetched bool, err error) {
	p, ok := f.pin(arch)
	if !ok {
		return "", false, fmt.Errorf("sandbox-agent %s for linux/%s: %w (amd64 and arm64 are)", Version, arch, ErrUnsupportedArch)
	}
	if f.CacheDir == "" {
		return "", false, errors.New("sandbox-agent: no cache folder is set")
	}
	path = f.Path(arch)
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.check(path, p) == nil {
		return path, false, nil
	}
	if err := f.fetch(ctx, arch, p, path, progress); err != nil {
		return "", false, err
	}
	return path, true, nil
}

// check verifies the cached file once per process (hashing 25 MB takes about 0.1 s).
func (f *Fetcher) check(path string, p pin) error {
	if f.verified[path] {
		if fi, err := os.Stat(path); err == nil && fi.Size() == p.size {
			return nil
		}
	}
	file, err := os.Open(path)
	if err != nil {
		return err
	}
	defer file.Close()
	h := sha256.New()
	if _, err := io.Copy(h, file); err != nil {
		return err
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != p.sha256 {
		return fmt.Errorf("%s has sha256 %s, want %s", path, got, p.sha256)
	}
	if f.verified == nil {
		f.verified = map[string]bool{}
	}
	f.verified[path] = true
	return nil
}

// tarballURL is the registry's address of the package's tarball: <registry>/<@scope/name>/-/<name>-<v>.tgz.
func (f *Fetcher) tarballURL(p pin) (string, error) {
	reg := strings.TrimRight(f.Registry, "/")
	if reg == "" {
		reg = DefaultRegistry
	}
	u, err := url.Parse(reg)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return "", fmt.Errorf("npm registry %q is not an http(s) URL", reg)
	}
	_, name, _ := strings.Cut(p.pkg, "/")
	return reg + "/" + p.pkg + "/-/" + name + "-" + Version + ".tgz", nil
}

func (f *Fetcher) fetch(ctx context.Context, arch string, p pin, dest string, progress Progress) error {
	say := func(format string, a ...any) {
		if progress != nil {
			progress(fmt.Sprintf(format, a...))
		}
	}
	u, err := f.tarballURL(p)
	if err != nil {
		return err
	}
	timeout := f.Timeout
	if timeout <= 0 {
		timeout = 5 * time.Minute
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := os.MkdirAll(filepath.Dir(dest), 0o755); err != nil {
		return fmt.Errorf("sandbox-agent cache: %w", err)
	}
	tgz, err := os.CreateTemp(filepath.Dir(dest), ".tarball-*")
	if err != nil {
		return fmt.Errorf("sandbox-agent cache: %w", err)
	}
	defer os.Remove(tgz.Name())
	defer tgz.Close()

	say("fetching sandbox-agent %s for linux/%s from %s", Version, arch, u)
	if err := f.download(ctx, u, tgz, p, say); err != nil {
		return fmt.Errorf("fetching sandbox-agent %s (%s): %w", Version, u, err)
	}
	if _, err := tgz.Seek(0, io.SeekStart); err != nil {
		return err
	}
	if err := extract(tgz, dest, p); err != nil {
		return fmt.Errorf("sandbox-agent %s tarball from %s: %w", Version, u, err)
	}
	say("sandbox-agent %s for linux/%s verified and cached at %s", Version, arch, dest)
	if f.verified == nil {
		f.verified = map[string]bool{}
	}
	f.verified[dest] = true
	return nil
}

// download writes the tarball to w and checks it against the pinned integrity, reporting progress about
// every second.
func (f *Fetcher) download(ctx context.Context, u string, w io.Writer, p pin, say func(string, ...any)) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	client := f.Client
	if client == nil {
		client = &http.Client{Transport: http.DefaultTransport}
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("the registry answered %s", resp.Status)
	}
	if resp.ContentLength > maxTarball {
		return fmt.Errorf("the tarball is %d bytes, more than the %d expected", resp.ContentLength, maxTarball)
	}
	h := sha512.New()
	var n int64
	last := time.Now()
	buf := make([]byte, 64<<10)
	body := io.LimitReader(resp.Body, maxTarball+1)
	for {
		k, rerr := body.Read(buf)
		if k > 0 {
			n += int64(k)
			h.Write(buf[:k])
			if _, err := w.Write(buf[:k]); err != nil {
				return err
			}
			if time.Since(last) >= time.Second {
				last = time.Now()
				if resp.ContentLength > 0 {
					say("sandbox-agent: %d of %d KB", n>>10, resp.ContentLength>>10)
				} else {
					say("sandbox-agent: %d KB", n>>10)
				}
			}
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return rerr
		}
	}
	if n > maxTarball {
		return fmt.Errorf("the tarball is larger than %d bytes", maxTarball)
	}
	if got := "sha512-" + base64.StdEncoding.EncodeToString(h.Sum(nil)); got != p.integrity {
		return fmt.Errorf("the tarball's integrity is %s, want the pinned %s: refusing it", got, p.integrity)
	}
	return nil
}

// extract takes package/bin/sandbox-agent out of the gzipped tarball r, checks its sha256, and renames it
// into place at dest (mode 0755), so a concurrent reader never sees a half-written file.
func extract(r io.Reader, dest string, p pin) error {
	gz, err := gzip.NewReader(r)
	if err != nil {
		return err
	}
	defer gz.Close()
	tr := tar.NewReader(gz)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return errors.New("no package/bin/sandbox-agent in it")
		}
		if err != nil {
			return err
		}
		if hdr.Name != "package/bin/sandbox-agent" || hdr.Typeflag != tar.TypeReg {
			continue
		}
		if hdr.Size != p.size {
			return fmt.Errorf("package/bin/sandbox-agent is %d bytes, want %d", hdr.Size, p.size)
		}
		out, err := os.CreateTemp(filepath.Dir(dest), ".sandbox-agent-*")
		if err != nil {
			return err
		}
		defer os.Remove(out.Name())
		h := sha256.New()
		_, err = io.Copy(io.MultiWriter(out, h), io.LimitReader(tr, p.size))
		if cerr := out.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
		if got := hex.EncodeToString(h.Sum(nil)); got != p.sha256 {
			return fmt.Errorf("package/bin/sandbox-agent has sha256 %s, want the pinned %s: refusing it", got, p.sha256)
		}
		if err := os.Chmod(out.Name(), 0o755); err != nil {
			return err
		}
		return os.Rename(out.Name(), dest)
	}
}

// DefaultCacheDir is <user cache dir>/sandbox-mcp as os.UserCacheDir would find it, computed from getenv
// so that the server's configured environment decides (XDG_CACHE_HOME, else HOME/.cache; on macOS
// HOME/Library/Caches).
func DefaultCacheDir(goos string, getenv func(string) string) (string, error) {
	var base string
	switch {
	case goos == "darwin" && getenv("HOME") != "":
		base = filepath.Join(getenv("HOME"), "Library", "Caches")
	case goos == "windows" && getenv("LocalAppData") != "":
		base = getenv("LocalAppData")
	case getenv("XDG_CACHE_HOME") != "" && filepath.IsAbs(getenv("XDG_CACHE_HOME")):
		base = getenv("XDG_CACHE_HOME")
	case getenv("HOME") != "":
		base = filepath.Join(getenv("HOME"), ".cache")
	default:
		return "", errors.New("no cache folder: set HOME or XDG_CACHE_HOME, or pass --cache-dir")
	}
	return filepath.Join(base, "sandbox-mcp"), nil
}

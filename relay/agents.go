package relay

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// fallbackHome is sandbox-agent's HOME when the image's HOME is not a folder this user can write (a stock
// image run as the host user's uid has no /home/agent): the agents it starts need a writable HOME.
const fallbackHome = "/tmp/sandbox-mcp-home"

// LinkAgents prepares sandbox-agent's environment so it finds the agents installed in dir (read-only, shared
// by sandboxes): its data dir's bin folder (${XDG_DATA_HOME:-$HOME/.local/share}/sandbox-agent/bin) becomes a
// symlink to dir. An image that has that bin folder already keeps its own installs. It returns the
// environment to run sandbox-agent with and a note for the log ("" when nothing unusual happened).
func LinkAgents(env []string, dir string) ([]string, string) {
	get := func(k string) string {
		for _, e := range slices.Backward(env) {
			if v, ok := strings.CutPrefix(e, k+"="); ok {
				return v
			}
		}
		return ""
	}
	set := func(k, v string) {
		env = append(slices.DeleteFunc(env, func(e string) bool { return strings.HasPrefix(e, k+"=") }), k+"="+v)
	}
	note := ""
	home := get("HOME")
	if !writableDir(home) {
		if err := os.MkdirAll(fallbackHome, 0o700); err != nil {
			return env, fmt.Sprintf("HOME %q is not writable and %s cannot be made (%v): agents are not linked", home, fallbackHome, err)
		}
		note = fmt.Sprintf("HOME %q is not a writable folder: sandbox-agent and its agents use %s", home, fallbackHome)
		home = fallbackHome
		set("HOME", home)
	}
	data := get("XDG_DATA_HOME")
	if data == "" || !filepath.IsAbs(data) {
		data = filepath.Join(home, ".local", "share")
	}
	bin := filepath.Join(data, "sandbox-agent", "bin")
	if _, err := os.Lstat(bin); err == nil {
		if target, err := os.Readlink(bin); err == nil && target == dir {
			return env, note // linked at an earlier start of this container
		}
		return env, strings.TrimSpace(note + "\nthe image has its own sandbox-agent installs at " + bin + ": the shared ones are not used")
	}
	if err := os.MkdirAll(filepath.Dir(bin), 0o755); err != nil {
		return env, strings.TrimSpace(note + "\ncannot make " + filepath.Dir(bin) + ": " + err.Error())
	}
	if err := os.Symlink(dir, bin); err != nil {
		return env, strings.TrimSpace(note + "\ncannot link " + bin + ": " + err.Error())
	}
	return env, note
}

// writableDir reports whether p is a folder this process can create files in.
func writableDir(p string) bool {
	if p == "" || !filepath.IsAbs(p) {
		return false
	}
	f, err := os.CreateTemp(p, ".sandbox-mcp-probe-*")
	if err != nil {
		return false
	}
	f.Close()
	os.Remove(f.Name())
	return true
}

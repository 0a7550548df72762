package sandbox

// What the two Docker Sandboxes CLIs changed between releases, as far as our command lines care. Every
// fact is in docs/upstream/sbx-cli.json with its source; sandbox/clisurface_test.go checks our argv
// against that table at several versions.

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
)

// cliVersion is the version `version` printed, kept once it answered (Check). Unknown (zero) means "assume
// the newest": choices that depend on it fall back to what works on every release.
type cliVersion struct {
	mu    sync.Mutex
	v     [3]int
	known bool
}

var semverRE = regexp.MustCompile(`v?(\d+)\.(\d+)\.(\d+)`)

// set records the first semver in `version`'s output (sbx: `sbx version v0.53.0 …`; the plugin:
// `github.com/docker/sandboxes/cli-plugin v0.12.0 <commit>`).
func (c *cliVersion) set(out []byte) {
	m := semverRE.FindStringSubmatch(string(out))
	if c == nil || m == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := range 3 {
		c.v[i], _ = strconv.Atoi(m[i+1])
	}
	c.known = true
}

// known reports whether the version is known and, if so, whether it is at least want ("0.48.0").
func (c *cliVersion) atLeast(want string) (known, ok bool) {
	if c == nil {
		return false, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.known {
		return false, false
	}
	m := semverRE.FindStringSubmatch(want)
	for i := range 3 {
		w, _ := strconv.Atoi(m[i+1])
		if c.v[i] != w {
			return true, c.v[i] > w
		}
	}
	return true, true
}

// String is "0.53.0", or "" when unknown.
func (c *cliVersion) String() string {
	if c == nil {
		return ""
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.known {
		return ""
	}
	return fmt.Sprintf("%d.%d.%d", c.v[0], c.v[1], c.v[2])
}

// pullArgs is create's pull-policy flag. The plugin before v0.12 has no --pull-template but
// --load-local-template, which is what "never" (a locally built template) means there (spec §7, §13.0).
func (c *cli) pullArgs(mode string) []string {
	if c.d.pullFlag == "--pull-template" {
		if known, ok := c.ver.atLeast("0.12.0"); known && !ok {
			return legacyPull(mode)
		}
	}
	return []string{c.d.pullFlag, mode}
}

func legacyPull(mode string) []string {
	if mode == "never" {
		return []string{"--load-local-template"}
	}
	return []string{}
}

// pullFallback is what to retry create with when the CLI said "unknown flag" to pull (plugin only).
func (c *cli) pullFallback(pull []string) ([]string, bool) {
	if c.d.pullFlag != "--pull-template" || len(pull) < 2 || pull[0] != "--pull-template" {
		return nil, false
	}
	return legacyPull(pull[1]), true
}

// jsonArgs is `--json` for sbx rm/stop from v0.48 on (per-target action/error), when the version is known.
func (c *cli) jsonArgs() []string {
	if c.d.name != "sbx" {
		return nil
	}
	if known, ok := c.ver.atLeast("0.48.0"); known && ok {
		return []string{"--json"}
	}
	return nil
}

// perTargetError reads sbx rm/stop --json output ([{name, action} | {name, error}]) and returns the error
// reported for name, "" when none (or when out is not that shape).
func perTargetError(out []byte, name string) string {
	var entries []struct {
		Name  string `json:"name"`
		Error string `json:"error"`
	}
	if json.Unmarshal(out, &entries) != nil {
		return ""
	}
	for _, e := range entries {
		if e.Name == name && e.Error != "" {
			return e.Error
		}
	}
	return ""
}

// targetErr maps a per-target error of rm/stop --json; an empty one with a nil err is a success.
func targetErr(op, jerr string, err error) error {
	switch {
	case jerr == "" && err == nil:
		return nil
	case strings.Contains(jerr, "no sandbox named"):
		return Errorf(NotFound, "%s: %s", op, jerr)
	case jerr != "":
		return fmt.Errorf("%s: %s", op, jerr)
	}
	return fmt.Errorf("%s: %w", op, err)
}

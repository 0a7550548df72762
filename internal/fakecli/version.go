package fakecli

import (
	"strconv"
	"strings"
)

// Version switches. Each CLI changed its surface between releases; the double
// follows the release selected by FAKECLI_SBX_VERSION / FAKECLI_PLUGIN_VERSION
// (default: the newest each spec covers). Every gate names its source; the
// same facts are in docs/upstream/sbx-cli.json.

// version returns the impersonated version of this CLI, without a "v".
func (e *env) cliVersion() string {
	key, def := "FAKECLI_PLUGIN_VERSION", defaultPluginVersion
	if e.prog == "sbx" {
		key, def = "FAKECLI_SBX_VERSION", defaultSbxVersion
	}
	if v := strings.TrimPrefix(e.getenv(key), "v"); v != "" {
		return v
	}
	return def
}

// atLeast reports whether the impersonated version is >= want ("0.48.0").
func (e *env) atLeast(want string) bool { return cmpVersion(e.cliVersion(), want) >= 0 }

// cmpVersion compares dotted numeric versions; missing parts count as 0.
func cmpVersion(a, b string) int {
	pa, pb := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < max(len(pa), len(pb)); i++ {
		var x, y int
		if i < len(pa) {
			x, _ = strconv.Atoi(pa[i])
		}
		if i < len(pb) {
			y, _ = strconv.Atoi(pb[i])
		}
		if x != y {
			if x < y {
				return -1
			}
			return 1
		}
	}
	return 0
}

// Feature gates.
const (
	// sbx 0.48.0 (docker/docs automation.md, "Update scripts for v0.48.0"): `ls --json` prints a bare array,
	// `rm --json`/`stop --json` exist, `create -q` became `--no-progress`.
	sbxJSONArray = "0.48.0"
	// sbx 0.37: `-p/--publish` on create and the `ports` command (spec §13 table; docker/docs usage.md).
	sbxPorts = "0.37.0"
	// sbx 0.39: `-e/--env`, `--env-file` on create (spec §11, §13).
	sbxCreateEnv = "0.39.0"
	// plugin 0.12.0 (Docker Desktop 4.61): `--pull-template` replaced `--load-local-template` (spec §7, §13.0).
	pluginPullTemplate = "0.12.0"
)

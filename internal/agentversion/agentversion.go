// Package agentversion reads what `sandbox-agent --version` prints and says whether this server can drive
// that version. The manager (before it starts sandbox-agent in a sandbox) and `sandbox-mcp doctor` (on the
// configured image) both ask it, so they agree on "too old".
package agentversion

import (
	"fmt"
	"regexp"
	"strconv"
)

// versionRE matches `sandbox-agent --version` output such as "sandbox-agent 0.4.2" (a leading v allowed).
var versionRE = regexp.MustCompile(`sandbox-agent\s+v?(\d+)\.(\d+)\.(\d+)`)

// Version is a parsed sandbox-agent version.
type Version struct{ Major, Minor, Patch int }

// Parse finds the version in the output of `sandbox-agent --version`; ok is false when there is none.
func Parse(out []byte) (v Version, ok bool) {
	m := versionRE.FindSubmatch(out)
	if m == nil {
		return Version{}, false
	}
	nums := [3]int{}
	for i := range nums {
		n, err := strconv.Atoi(string(m[i+1]))
		if err != nil { // more digits than an int holds: not a version we know
			return Version{}, false
		}
		nums[i] = n
	}
	return Version{nums[0], nums[1], nums[2]}, true
}

// String is the version as "MAJOR.MINOR.PATCH", without leading zeros.
func (v Version) String() string { return fmt.Sprintf("%d.%d.%d", v.Major, v.Minor, v.Patch) }

// TooOld reports a version before 0.2: 0.1.x had a different API (`api sessions`) that this server cannot
// drive.
func (v Version) TooOld() bool { return v.Major == 0 && v.Minor < 2 }

// Tested reports the release line the server is tested with (0.4.x).
func (v Version) Tested() bool { return v.Major == 0 && v.Minor == 4 }

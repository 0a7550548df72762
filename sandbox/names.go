package sandbox

import (
	"crypto/sha256"
	"encoding/hex"
	"path/filepath"
	"regexp"
	"strings"
)

// nameRE is the one name syntax we accept, for sandboxes and sessions alike. It is the intersection of what
// every backend allows (sbx ≥ 0.43 dropped '_' and '+'; the plugin v0.7 refused '.'), starts with a letter
// or digit so a name can never become a CLI flag, and stays short because Docker Sandboxes put a Unix
// socket path under a directory named after it.
var nameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{1,30}$`)

// ValidateName checks a sandbox or session name. The error wraps ErrInvalid and says what is allowed.
func ValidateName(kind, name string) error {
	if !nameRE.MatchString(name) {
		return Errorf(Invalid, "%s name %q is not valid: use 2-31 lowercase letters, digits or '-', starting with a letter or digit",
			kind, truncate(name, 40))
	}
	return nil
}

// DefaultName derives a sandbox name from a workspace path: "smcp-<basename>-<hash>", valid for every
// backend and stable for one workspace, so calling create_sandbox twice finds the same sandbox.
// The prefix keeps it from ever being read as an agent name by `run`-style CLIs.
func DefaultName(workspace string) string {
	sum := sha256.Sum256([]byte(workspace))
	base := strings.ToLower(filepath.Base(workspace))
	var b strings.Builder
	for _, r := range base {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
		case b.Len() > 0 && !strings.HasSuffix(b.String(), "-"):
			b.WriteByte('-')
		}
	}
	slug := strings.Trim(b.String(), "-")
	if len(slug) > 16 {
		slug = strings.Trim(slug[:16], "-")
	}
	if slug == "" {
		slug = "ws"
	}
	return "smcp-" + slug + "-" + hex.EncodeToString(sum[:])[:6]
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

package tools

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/mark3labs/mcp-go/server"

	"github.com/sandbox-mcp/sandbox-mcp/gitwork"
	"github.com/sandbox-mcp/sandbox-mcp/manager"
	"github.com/sandbox-mcp/sandbox-mcp/sandbox"
)

// LandSandboxInput is land_sandbox's arguments.
type LandSandboxInput struct {
	Sandbox            string `json:"sandbox" jsonschema_description:"Sandbox name (a sandbox on its own clone)."`
	Branch             string `json:"branch,omitempty" jsonschema_description:"Branch the work becomes in your repository. Default: the sandbox's own, sandbox/<name>. An existing branch is only fast-forwarded."`
	Into               string `json:"into,omitempty" jsonschema_description:"Also bring the work into this existing branch: fast-forward, or a merge computed without touching any working tree; conflicts are reported and change nothing. A branch checked out in a working tree is refused."`
	Check              string `json:"check,omitempty" jsonschema_description:"A command run first inside the sandbox, in the workspace (sh -c), e.g. 'go test ./...'. It must exit 0, or nothing is landed."`
	CheckTimeoutSecond int    `json:"check_timeout_seconds,omitempty" jsonschema_description:"Limit of the check command, in seconds. Default 600, at most 3600."`
	IncludeUncommitted bool   `json:"include_uncommitted,omitempty" jsonschema_description:"Also land the sandbox's uncommitted work, as one commit on top of its branch."`
}

// Validate implements validator.
func (in LandSandboxInput) Validate() error {
	for _, b := range []string{in.Branch, in.Into} {
		if b != "" && !gitwork.ValidBranch(b) {
			return sandbox.Errorf(sandbox.Invalid, "branch %q is not valid: use letters, digits and . _ / - (not starting with one of them)", truncate(b, 60))
		}
	}
	if in.CheckTimeoutSecond < 0 || in.CheckTimeoutSecond > 3600 {
		return sandbox.Errorf(sandbox.Invalid, "check_timeout_seconds must be between 1 and 3600")
	}
	if len(in.Check) > 4096 || strings.ContainsRune(in.Check, 0) {
		return sandbox.Errorf(sandbox.Invalid, "check must be a command line of at most 4096 bytes")
	}
	return checkName("sandbox", in.Sandbox, true)
}

// LandSandbox is the land_sandbox tool.
func LandSandbox(svc Service, log *slog.Logger) server.ServerTool {
	return newTool(spec{
		name:  "land_sandbox",
		title: "Land sandbox work",
		description: "Bring the work of a sandbox on its own clone into your repository as a branch (default sandbox/<name>), " +
			"without touching your working tree, index or HEAD and without running any hook. Optionally run a check command in the sandbox first " +
			"and land only if it passes, and fast-forward or merge into another branch. Landing again is a no-op. Review first with get_diff.",
		ann: annotations{idempotent: true, openWorld: true},
	}, log, func(ctx context.Context, in LandSandboxInput, progress func(string)) (manager.LandResult, error) {
		if in.Check != "" && progress != nil {
			progress("running the check in the sandbox")
		}
		return svc.LandSandbox(ctx, manager.LandRequest{Sandbox: in.Sandbox, Branch: in.Branch, Into: in.Into, Check: in.Check,
			CheckTimeout: time.Duration(in.CheckTimeoutSecond) * time.Second, IncludeUncommitted: in.IncludeUncommitted})
	}, func(out manager.LandResult) string {
		var b strings.Builder
		verb := "Landed"
		if out.AlreadyLanded {
			verb = "Already landed:"
		}
		fmt.Fprintf(&b, "%s %d commit(s) of sandbox %s as branch %s (%.12s) in %s.", verb, out.Commits, out.Sandbox, out.Branch, out.Commit, out.Workspace)
		if out.Into != "" {
			fmt.Fprintf(&b, " %s: %s (%.12s).", out.Into, out.Integration, out.IntoCommit)
		}
		if out.Uncommitted {
			b.WriteString(" The sandbox also has uncommitted work (land it with include_uncommitted=true).")
		}
		if out.Note != "" {
			b.WriteString(" Note: " + out.Note + ".")
		}
		return b.String()
	})
}

// truncate cuts s to n bytes for an error message.
func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

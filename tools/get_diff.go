package tools

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/mark3labs/mcp-go/server"

	"github.com/sandbox-mcp/sandbox-mcp/manager"
)

// GetDiffInput is get_diff's arguments.
type GetDiffInput struct {
	Sandbox string `json:"sandbox" jsonschema_description:"Sandbox name."`
}

// Validate implements validator.
func (in GetDiffInput) Validate() error { return checkName("sandbox", in.Sandbox, true) }

// GetDiff is the get_diff tool.
func GetDiff(svc Service, log *slog.Logger) server.ServerTool {
	return newTool(spec{
		name:  "get_diff",
		title: "Get workspace diff",
		description: "Show what changed in the sandbox's workspace: git diff against the commit checked out when the sandbox was created, the untracked files and any change to git's control files, as the sandbox sees them (bounded). " +
			"The workspace must be a git repository.",
		ann: annotations{readOnly: true, idempotent: true},
	}, log, func(ctx context.Context, in GetDiffInput, _ func(string)) (manager.DiffResult, error) {
		return svc.Diff(ctx, in.Sandbox)
	}, func(out manager.DiffResult) string {
		var b strings.Builder
		if i := out.Isolation; i != nil {
			fmt.Fprintf(&b, "Branch %s against base %.12s: %d commit(s), %d file(s) changed", i.Branch, i.Base, len(i.Commits), len(i.Files))
			if i.Uncommitted {
				b.WriteString(" (some uncommitted)")
			}
			if i.Landed {
				b.WriteString("; landed")
			}
			b.WriteString(".\n")
			if out.Diff == "" {
				return b.String()
			}
		}
		if out.Diff == "" && len(out.Untracked) == 0 && len(out.ControlChanges) == 0 {
			return fmt.Sprintf("No changes in %s.", out.Workspace)
		}
		b.WriteString(out.Diff)
		if len(out.Untracked) > 0 {
			fmt.Fprintf(&b, "\nUntracked files:\n  %s", strings.Join(out.Untracked, "\n  "))
		}
		if len(out.ControlChanges) > 0 {
			fmt.Fprintf(&b, "\nGit control files changed (check before running git on the host):\n  %s", strings.Join(out.ControlChanges, "\n  "))
		}
		if out.Truncated {
			b.WriteString("\n(truncated)")
		}
		return b.String()
	})
}

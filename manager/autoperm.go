package manager

import (
	"context"
	"encoding/json"
	"path/filepath"
	"slices"
	"time"

	"github.com/sandbox-mcp/sandbox-mcp/acp"
	"github.com/sandbox-mcp/sandbox-mcp/events"
)

// Auto-permission policies (--auto-permission). Off is the default: every request waits for
// respond_permission, so a person (or the host's assistant) decides.
const (
	AutoPermissionOff   = "off"
	AutoPermissionEdits = "edits" // allow reads and edits whose every location is inside the session's cwd
	AutoPermissionAll   = "all"   // allow everything once: for trusted, throwaway sandboxes only
)

// AutoPermissionPolicies lists the valid values.
var AutoPermissionPolicies = []string{AutoPermissionOff, AutoPermissionEdits, AutoPermissionAll}

type permissionRequest struct {
	ToolCall struct {
		Kind      string `json:"kind"`
		Locations []struct {
			Path string `json:"path"`
		} `json:"locations"`
	} `json:"toolCall"`
	Options []struct {
		OptionID string `json:"optionId"`
		Kind     string `json:"kind"`
	} `json:"options"`
}

// autoOption decides a permission request under policy: the option id to answer with, or "" to leave it
// to respond_permission.
func autoOption(policy, cwd string, params json.RawMessage) string {
	if policy != AutoPermissionEdits && policy != AutoPermissionAll {
		return ""
	}
	var p permissionRequest
	if json.Unmarshal(params, &p) != nil {
		return ""
	}
	if policy == AutoPermissionEdits {
		if !slices.Contains([]string{"edit", "read"}, p.ToolCall.Kind) || len(p.ToolCall.Locations) == 0 {
			return ""
		}
		for _, loc := range p.ToolCall.Locations {
			if !filepath.IsAbs(loc.Path) || !within(filepath.Clean(loc.Path), cwd) {
				return ""
			}
		}
	}
	for _, kind := range []string{"allow_once", "allow_always"} {
		for _, o := range p.Options {
			if o.Kind == kind {
				return o.OptionID
			}
		}
	}
	return ""
}

// autoAnswer answers a permission request the stream just delivered, when the policy allows it, and
// returns the answer to log; nil when the request is left to respond_permission. It is called with the
// ingest lock held, so the request and its answer reach the log together.
func (l *live) autoAnswer(ctx context.Context, data []byte) []byte {
	policy := l.m.cfg.AutoPermission
	if policy == "" || policy == AutoPermissionOff {
		return nil
	}
	var env acp.Envelope
	if json.Unmarshal(data, &env) != nil || env.Method != events.MethodPermission || !env.IsRequest() {
		return nil
	}
	option := autoOption(policy, l.snapshot().Cwd, env.Params)
	if option == "" {
		return nil
	}
	reply, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": env.ID,
		"result": map[string]any{"outcome": map[string]string{"outcome": "selected", "optionId": option}}})
	if err := l.client.Post(ctx, json.RawMessage(reply), 15*time.Second); err != nil {
		l.m.log.Warn("auto-permission answer failed; left to respond_permission", "session", l.key(), "err", err)
		return nil
	}
	l.m.log.Info("permission answered by policy", "session", l.key(), "policy", policy, "option", option)
	return reply
}

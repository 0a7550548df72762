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

// maybeAutoAnswer answers a permission request just logged, when the policy allows it. It runs outside
// the ingest lock (the answer takes it), tracked so Close waits for it.
func (l *live) maybeAutoAnswer(data []byte) {
	policy := l.m.cfg.AutoPermission
	if policy == "" || policy == AutoPermissionOff {
		return
	}
	var env acp.Envelope
	if json.Unmarshal(data, &env) != nil || env.Method != events.MethodPermission || !env.IsRequest() {
		return
	}
	option := autoOption(policy, l.snapshot().Cwd, env.Params)
	if option == "" {
		return
	}
	reply, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": env.ID,
		"result": map[string]any{"outcome": map[string]string{"outcome": "selected", "optionId": option}}})
	l.m.wg.Add(1)
	go func() {
		defer l.m.wg.Done()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := l.sendLogged(ctx, reply); err != nil {
			l.m.log.Warn("auto-permission answer failed", "session", l.key(), "err", err)
			return
		}
		l.m.log.Info("permission auto-answered", "session", l.key(), "policy", policy, "option", option)
	}()
}

package live

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/sandbox-mcp/sandbox-mcp/acp"
)

// Auto-permission policies (--auto-permission). Off is the default: every request waits for
// respond_permission, so a person (or the host's assistant) decides.
const (
	AutoPermissionOff   = "off"
	AutoPermissionEdits = "edits" // allow reads and edits whose every location is inside the sandbox's workspace
	AutoPermissionAll   = "all"   // allow everything once: for trusted, throwaway sandboxes only
)

// AutoPermissionPolicies lists the valid values.
var AutoPermissionPolicies = []string{AutoPermissionOff, AutoPermissionEdits, AutoPermissionAll}

// permissionRequest is what the policy reads of a session/request_permission. It is filled by
// decodePermission, never by json.Unmarshal: encoding/json matches keys case-insensitively and keeps the
// last of duplicate keys, so {"kind":"execute","KIND":"edit"} would pass for an edit while the agent acts
// on the execute.
type permissionRequest struct {
	kind      string
	locations []string
	options   []permissionOption
}

type permissionOption struct{ id, kind string }

// autoOption decides a permission request under policy: the option id to answer with, or "" to leave it
// to respond_permission. workspace is the sandbox's workspace (mounted at the same path inside it); under
// "edits" every location must be inside it. The session's cwd is no bound: the caller chooses it, and a
// cwd of "/" would make every file an edit "inside cwd". Only an allow_once option is ever chosen: an
// allow_always answer would approve requests the policy never sees.
func autoOption(policy, workspace string, params json.RawMessage) string {
	if policy != AutoPermissionEdits && policy != AutoPermissionAll {
		return ""
	}
	p, ok := decodePermission(params)
	if !ok {
		return ""
	}
	if policy == AutoPermissionEdits {
		if (p.kind != "edit" && p.kind != "read") || len(p.locations) == 0 || !autoWorkspaceOK(workspace) {
			return ""
		}
		for _, loc := range p.locations {
			if !autoLocationOK(loc, workspace) {
				return ""
			}
		}
	}
	for _, o := range p.options {
		if o.kind == "allow_once" {
			return o.id
		}
	}
	return ""
}

// autoWorkspaceOK refuses a workspace that cannot bound anything: empty, relative or the root.
func autoWorkspaceOK(ws string) bool {
	return filepath.IsAbs(ws) && filepath.Clean(ws) == ws && ws != string(filepath.Separator)
}

// autoLocationOK reports whether an edit or read of path may be approved without asking: an absolute
// path, inside the workspace once "." and ".." are resolved, with no hidden component below it. Hidden
// files and folders are where tools keep their configuration, and writing them runs code outside the
// sandbox or widens the agent's own rights later: .git (hooks, config, fsmonitor), .claude, .codex,
// .cursor, .vscode, .idea, .github (CI), .husky, .envrc (direnv), .mcp.json, .npmrc… A list would miss the
// next tool, so every name starting with "." is left to respond_permission.
func autoLocationOK(path, workspace string) bool {
	if !filepath.IsAbs(path) || strings.ContainsRune(path, 0) {
		return false
	}
	// Paths inside the sandbox are Linux paths, compared exactly (whatever the host's file system does
	// with case).
	rel, err := filepath.Rel(workspace, filepath.Clean(path))
	if err != nil || rel == ".." || strings.HasPrefix(rel, "../") {
		return false
	}
	for _, part := range strings.Split(filepath.ToSlash(rel), "/") {
		if strings.HasPrefix(part, ".") && part != "." {
			return false
		}
	}
	return true
}

// decodePermission reads the fields the policy needs from a request's params, strictly: keys match
// exactly, and an object holding one key twice (in any letter case) is refused as a whole, so the policy
// cannot read another value than the one the agent acts on.
func decodePermission(params json.RawMessage) (permissionRequest, bool) {
	var p permissionRequest
	top, ok := strictObject(params)
	if !ok {
		return p, false
	}
	tc, ok := strictObject(top["toolCall"])
	if !ok {
		return p, false
	}
	if p.kind, ok = strictString(tc["kind"]); !ok {
		return p, false
	}
	if raw, present := tc["locations"]; present {
		locs, ok := strictArray(raw)
		if !ok {
			return p, false
		}
		for _, l := range locs {
			lo, ok := strictObject(l)
			if !ok {
				return p, false
			}
			path, ok := strictString(lo["path"])
			if !ok {
				return p, false
			}
			p.locations = append(p.locations, path)
		}
	}
	opts, ok := strictArray(top["options"])
	if !ok {
		return p, false
	}
	for _, o := range opts {
		oo, ok := strictObject(o)
		if !ok {
			return p, false
		}
		id, ok1 := strictString(oo["optionId"])
		kind, ok2 := strictString(oo["kind"])
		if !ok1 || !ok2 {
			return p, false
		}
		p.options = append(p.options, permissionOption{id: id, kind: kind})
	}
	return p, true
}

// strictObject decodes a JSON object into its members, refusing duplicate keys under any letter case.
func strictObject(raw json.RawMessage) (map[string]json.RawMessage, bool) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, false
	}
	out := map[string]json.RawMessage{}
	seen := map[string]bool{}
	for dec.More() {
		t, err := dec.Token()
		key, isKey := t.(string)
		if err != nil || !isKey {
			return nil, false
		}
		folded := strings.ToLower(key)
		if seen[folded] {
			return nil, false
		}
		seen[folded] = true
		var v json.RawMessage
		if dec.Decode(&v) != nil {
			return nil, false
		}
		out[key] = v
	}
	if t, err := dec.Token(); err != nil || t != json.Delim('}') {
		return nil, false
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, false
	}
	return out, true
}

func strictArray(raw json.RawMessage) ([]json.RawMessage, bool) {
	var a []json.RawMessage
	if len(raw) == 0 || json.Unmarshal(raw, &a) != nil || a == nil {
		return nil, false
	}
	return a, true
}

func strictString(raw json.RawMessage) (string, bool) {
	var s string
	if len(raw) == 0 || raw[0] != '"' || json.Unmarshal(raw, &s) != nil {
		return "", false
	}
	return s, true
}

// autoAnswer answers a permission request the stream just delivered, when the policy allows it, and
// returns the answer to log; nil when the request is left to respond_permission. It is called with the
// ingest lock held, so the request and its answer reach the log together.
func (l *Session) autoAnswer(ctx context.Context, data []byte) []byte {
	policy := l.cfg.AutoPermission
	if policy == "" || policy == AutoPermissionOff {
		return nil
	}
	var env acp.Envelope
	if json.Unmarshal(data, &env) != nil || env.Method != acp.MethodPermission || !env.IsRequest() {
		return nil
	}
	workspace := l.cfg.Workspace(l.Snapshot().Sandbox)
	option := autoOption(policy, workspace, env.Params)
	if option == "" {
		return nil
	}
	reply, _ := json.Marshal(acp.Response{ID: env.ID, Result: acp.SelectOption(option)})
	if err := l.client.Post(ctx, json.RawMessage(reply), 15*time.Second); err != nil {
		l.logger.Warn("auto-permission answer failed; left to the client to answer", "session", l.Key(), "err", err)
		return nil
	}
	l.logger.Info("permission answered by policy", "session", l.Key(), "policy", policy, "option", option)
	return reply
}

// Package state keeps the server's own records on disk: which sandboxes it created, their sessions and
// each session's status, beside the sessions' event logs. sandbox-agent keeps no sessions and the backends
// know nothing of ours, so this is what lets a restarted server pick up where it was.
//
// Layout under the state directory (mode 0700, files 0600):
//
//	sandboxes/<name>.json
//	sessions/<sandbox>/<session>.json
//	sessions/<sandbox>/<session>.log (+ .log.idx)   the eventlog
//	archive/<sandbox>-<unix time>/                 sessions of destroyed sandboxes
//
// Every JSON file is written atomically (temp file, fsync, rename), so a crash leaves the old or the new
// version, never a torn one.
package state

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/sandbox-mcp/sandbox-mcp/events"
)

// ErrNotFound is returned for a record that does not exist.
var ErrNotFound = errors.New("not found")

// Sandbox is what we remember of a sandbox we created.
type Sandbox struct {
	Name         string    `json:"name"`
	Backend      string    `json:"backend"`
	Workspace    string    `json:"workspace"`
	Agent        string    `json:"agent,omitempty"`
	Template     string    `json:"template,omitempty"`
	AgentPort    int       `json:"agent_port"`
	AgentVersion string    `json:"agent_version,omitempty"`
	Created      time.Time `json:"created"`
	LastUsed     time.Time `json:"last_used,omitzero"`
	// BaseCommit is the workspace's HEAD when the sandbox was created ("" if none): get_diff diffs
	// against it, so a commit made inside the sandbox cannot hide a change.
	BaseCommit string `json:"base_commit,omitempty"`
	// GitControl fingerprints the workspace's git control files at creation (.git's kind, config, hooks,
	// info), so get_diff can report a change to them.
	GitControl string `json:"git_control,omitempty"`
	// Adopted: the sandbox existed before create_sandbox found it (same name and workspace) and was not
	// created by sandbox-mcp. It is never removed, stopped or pruned by us.
	Adopted bool `json:"adopted,omitempty"`
	// SbxMCP are the operator's sbx MCP registrations this server attached to the sandbox's MCP gateway
	// (sbx only, manager/sbxmcp.go): pinned at creation when SbxMCPStatic, or loaded into it later.
	SbxMCP       []string `json:"sbx_mcp,omitempty"`
	SbxMCPStatic bool     `json:"sbx_mcp_static,omitempty"`
}

// Session is what we remember of an agent session.
type Session struct {
	Sandbox   string          `json:"sandbox"`
	Name      string          `json:"name"`
	Agent     string          `json:"agent"`
	ServerID  string          `json:"server_id"`
	SessionID string          `json:"session_id"`
	Cwd       string          `json:"cwd"`
	Model     string          `json:"model,omitempty"`
	Mode      string          `json:"mode,omitempty"`
	Created   time.Time       `json:"created"`
	AgentInfo json.RawMessage `json:"agent_info,omitempty"`
	Modes     json.RawMessage `json:"modes,omitempty"`
	Models    json.RawMessage `json:"models,omitempty"`
	State     events.State    `json:"state"`
	// Budget limits each turn (nil: no limits).
	Budget *Budget `json:"budget,omitempty"`
	// MCPServers are the inner agent's MCP servers as asked for: secrets stay references (${NAME}).
	MCPServers []MCPServer `json:"mcp_servers,omitempty"`
	// LoadSession is whether the agent advertised ACP loadSession, so the session can be continued with
	// session/load after its agent process is gone.
	LoadSession bool `json:"load_session,omitempty"`
	// Continued says how the session was last continued ("session/load" or "summary"), and ForkedFrom
	// names the session whose context this one started with.
	Continued  string `json:"continued,omitempty"`
	ForkedFrom string `json:"forked_from,omitempty"`
}

// Budget limits one turn of a session; zero fields are unlimited.
type Budget struct {
	MaxTokens      int64   `json:"max_tokens,omitempty"`
	MaxCostUSD     float64 `json:"max_cost_usd,omitempty"`
	MaxTurnSeconds int     `json:"max_turn_seconds,omitempty"`
}

// IsZero reports a budget with no limit.
func (b *Budget) IsZero() bool { return b == nil || *b == Budget{} }

// MCPServer is one MCP server for the agent inside the sandbox: a stdio command (type stdio, the
// default) or an HTTP server the sandbox can reach (type http or sse).
type MCPServer struct {
	Name    string            `json:"name"`
	Type    string            `json:"type,omitempty"`
	Command string            `json:"command,omitempty"`
	Args    []string          `json:"args,omitempty"`
	Env     map[string]string `json:"env,omitempty"`
	URL     string            `json:"url,omitempty"`
	Headers map[string]string `json:"headers,omitempty"`
}

// Store reads and writes records under one directory. Methods are safe for concurrent use as long as no
// two goroutines write the same record at once (the server serialises per session).
type Store struct {
	dir string
	// Redact, when set, removes secret values from every record before it is written: a session record
	// holds what the agent reported (agent info, modes, models, pending requests, errors), and no state
	// file may hold a key. It must keep valid JSON valid.
	Redact func([]byte) []byte
}

// Open creates the directory layout if needed.
func Open(dir string) (*Store, error) {
	for _, d := range []string{dir, filepath.Join(dir, "sandboxes"), filepath.Join(dir, "sessions"), filepath.Join(dir, "archive")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("state dir: %w", err)
		}
	}
	return &Store{dir: dir}, nil
}

// Dir is the state directory.
func (s *Store) Dir() string { return s.dir }

func (s *Store) sandboxPath(name string) string {
	return filepath.Join(s.dir, "sandboxes", name+".json")
}

func (s *Store) sessionDir(sandbox string) string { return filepath.Join(s.dir, "sessions", sandbox) }

func (s *Store) sessionPath(sandbox, name string) string {
	return filepath.Join(s.sessionDir(sandbox), name+".json")
}

// LogPath is where a session's event log lives.
func (s *Store) LogPath(sandbox, name string) string {
	return filepath.Join(s.sessionDir(sandbox), name+".log")
}

// PutSandbox writes a sandbox record.
func (s *Store) PutSandbox(r Sandbox) error { return s.writeJSON(s.sandboxPath(r.Name), r) }

// GetSandbox reads one sandbox record, or ErrNotFound.
func (s *Store) GetSandbox(name string) (Sandbox, error) {
	var r Sandbox
	return r, readJSON(s.sandboxPath(name), &r)
}

// ListSandboxes returns all sandbox records, sorted by name.
func (s *Store) ListSandboxes() ([]Sandbox, error) {
	var out []Sandbox
	err := listJSON(filepath.Join(s.dir, "sandboxes"), func(path string) error {
		var r Sandbox
		if err := readJSON(path, &r); err != nil {
			return err
		}
		out = append(out, r)
		return nil
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, err
}

// DeleteSandbox removes a sandbox record and moves its sessions (records and logs) to the archive, so a
// destroyed sandbox's transcripts are still on disk and its name can be reused.
func (s *Store) DeleteSandbox(name string) error {
	if dir := s.sessionDir(name); exists(dir) {
		dst := filepath.Join(s.dir, "archive", name+"-"+strconv.FormatInt(time.Now().UnixNano(), 10))
		if err := os.Rename(dir, dst); err != nil {
			return fmt.Errorf("archive sessions of %s: %w", name, err)
		}
	}
	if err := os.Remove(s.sandboxPath(name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("delete sandbox record %s: %w", name, err)
	}
	return nil
}

// PutSession writes a session record.
func (s *Store) PutSession(r Session) error {
	if err := os.MkdirAll(s.sessionDir(r.Sandbox), 0o700); err != nil {
		return err
	}
	return s.writeJSON(s.sessionPath(r.Sandbox, r.Name), r)
}

// GetSession reads one session record, or ErrNotFound.
func (s *Store) GetSession(sandbox, name string) (Session, error) {
	var r Session
	return r, readJSON(s.sessionPath(sandbox, name), &r)
}

// ListSessions returns a sandbox's session records, sorted by creation.
func (s *Store) ListSessions(sandbox string) ([]Session, error) {
	var out []Session
	err := listJSON(s.sessionDir(sandbox), func(path string) error {
		var r Session
		if err := readJSON(path, &r); err != nil {
			return err
		}
		out = append(out, r)
		return nil
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Created.Before(out[j].Created) })
	return out, err
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

func listJSON(dir string, fn func(path string) error) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".json") {
			continue
		}
		if err := fn(filepath.Join(dir, e.Name())); err != nil {
			return err
		}
	}
	return nil
}

func readJSON(path string, v any) error {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return ErrNotFound
	}
	if err != nil {
		return err
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	return nil
}

// writeJSON replaces path atomically: a reader, or the next start after a crash, sees the old or the new
// content, never a mix.
func (s *Store) writeJSON(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	if s.Redact != nil {
		data = s.Redact(data)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(append(data, '\n')); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

package testagent

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

var (
	modes = []map[string]any{
		{"id": "normal", "name": "Normal"},
		{"id": "plan", "name": "Plan"},
	}
	models = []map[string]any{
		{"modelId": "mock", "name": "Mock"},
		{"modelId": "mock-fast", "name": "Mock fast"},
	}
)

type session struct {
	id    string
	cwd   string
	mode  string
	model string

	mcp json.RawMessage // the mcpServers it was opened or loaded with

	// guarded by agent.mu
	running bool
	cancel  context.CancelFunc
	history []json.RawMessage // every update it emitted, for session/load
}

type sessionParams struct {
	SessionID string `json:"sessionId"`
}

// lookup decodes m.Params into p and returns the session named by sid(), or
// responds -32602 and returns nil.
func (a *agent) lookup(m inMsg, p any, sid func() string) *session {
	if err := json.Unmarshal(orEmpty(m.Params), p); err != nil {
		a.respondErr(m.ID, codeInvalidParams, "invalid params: "+err.Error())
		return nil
	}
	a.mu.Lock()
	s := a.sessions[sid()]
	a.mu.Unlock()
	if s == nil {
		a.respondErr(m.ID, codeInvalidParams, fmt.Sprintf("unknown session %q", sid()))
	}
	return s
}

func orEmpty(raw json.RawMessage) json.RawMessage {
	if len(raw) == 0 || string(raw) == "null" {
		return json.RawMessage("{}")
	}
	return raw
}

func (a *agent) newSession(m inMsg) {
	var p struct {
		Cwd        string          `json:"cwd"`
		McpServers json.RawMessage `json:"mcpServers"`
	}
	if err := json.Unmarshal(orEmpty(m.Params), &p); err != nil {
		a.respondErr(m.ID, codeInvalidParams, "invalid params: "+err.Error())
		return
	}
	if p.Cwd == "" {
		p.Cwd, _ = os.Getwd()
	}
	if !filepath.IsAbs(p.Cwd) {
		a.respondErr(m.ID, codeInvalidParams, fmt.Sprintf("cwd must be absolute, got %q", p.Cwd))
		return
	}
	a.mu.Lock()
	s := &session{id: a.newID(), cwd: p.Cwd, mode: "normal", model: "mock", mcp: p.McpServers}
	a.sessions[s.id] = s
	a.mu.Unlock()
	a.respond(m.ID, map[string]any{
		"sessionId": s.id,
		"modes":     map[string]any{"currentModeId": s.mode, "availableModes": modes},
		"models":    map[string]any{"currentModelId": s.model, "availableModels": models},
	})
}

// newID picks the next session id, skipping ids whose history a former process left in the state
// directory, and creates that history file. The caller holds a.mu.
func (a *agent) newID() string {
	for {
		a.nextSession++
		id := fmt.Sprintf("sess-%d", a.nextSession)
		if a.stateDir == "" {
			return id
		}
		if err := os.MkdirAll(a.stateDir, 0o700); err != nil {
			a.logf("state dir: %v", err)
			return id
		}
		f, err := os.OpenFile(a.historyPath(id), os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
		if err == nil {
			f.Close()
			return id
		}
		if !os.IsExist(err) {
			a.logf("history file: %v", err)
			return id
		}
	}
}

func (a *agent) historyPath(id string) string { return filepath.Join(a.stateDir, id+".jsonl") }

// record keeps an update a session emitted, in memory and in its history file.
func (a *agent) record(s *session, u map[string]any) {
	b, err := json.Marshal(u)
	if err != nil {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	s.history = append(s.history, b)
	if a.stateDir == "" {
		return
	}
	f, err := os.OpenFile(a.historyPath(s.id), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		a.logf("history file: %v", err)
		return
	}
	defer f.Close()
	_, _ = f.Write(append(b, '\n'))
}

// loadSession answers session/load: the session's history is replayed as session/update notifications,
// then the request is answered. A session this process does not hold is read from its history file.
func (a *agent) loadSession(m inMsg) {
	var p struct {
		SessionID  string          `json:"sessionId"`
		Cwd        string          `json:"cwd"`
		McpServers json.RawMessage `json:"mcpServers"`
	}
	if err := json.Unmarshal(orEmpty(m.Params), &p); err != nil {
		a.respondErr(m.ID, codeInvalidParams, "invalid params: "+err.Error())
		return
	}
	if !a.loadable {
		a.respondErr(m.ID, codeMethodNotFound, "method not found: session/load")
		return
	}
	if !filepath.IsAbs(p.Cwd) {
		a.respondErr(m.ID, codeInvalidParams, fmt.Sprintf("cwd must be absolute, got %q", p.Cwd))
		return
	}
	a.mu.Lock()
	s := a.sessions[p.SessionID]
	if s == nil {
		var history []json.RawMessage
		ok := false
		if a.stateDir != "" && strings.HasPrefix(p.SessionID, "sess-") && !strings.ContainsAny(p.SessionID, "/\\") {
			if b, err := os.ReadFile(a.historyPath(p.SessionID)); err == nil {
				ok = true
				for _, line := range strings.Split(string(b), "\n") {
					if json.Valid([]byte(line)) {
						history = append(history, json.RawMessage(line))
					}
				}
			}
		}
		if !ok {
			a.mu.Unlock()
			a.respondErr(m.ID, codeInvalidParams, fmt.Sprintf("unknown session %q", p.SessionID))
			return
		}
		s = &session{id: p.SessionID, history: history}
		a.sessions[s.id] = s
	}
	if s.running {
		a.mu.Unlock()
		a.respondErr(m.ID, codeInvalidRequest, "prompt running")
		return
	}
	s.cwd, s.mode, s.model, s.mcp = p.Cwd, "normal", "mock", p.McpServers
	history := append([]json.RawMessage(nil), s.history...)
	a.mu.Unlock()
	for _, u := range history {
		a.notify("session/update", map[string]any{"sessionId": s.id, "update": u})
	}
	a.respond(m.ID, map[string]any{
		"modes":  map[string]any{"currentModeId": s.mode, "availableModes": modes},
		"models": map[string]any{"currentModelId": s.model, "availableModels": models},
	})
}

func (a *agent) setMode(m inMsg) {
	var p struct {
		SessionID string `json:"sessionId"`
		ModeID    string `json:"modeId"`
	}
	s := a.lookup(m, &p, func() string { return p.SessionID })
	if s == nil {
		return
	}
	if p.ModeID != "normal" && p.ModeID != "plan" {
		a.respondErr(m.ID, codeInvalidParams, fmt.Sprintf("unknown mode %q", p.ModeID))
		return
	}
	a.mu.Lock()
	s.mode = p.ModeID
	a.mu.Unlock()
	a.notify("session/update", map[string]any{
		"sessionId": s.id,
		"update":    map[string]any{"sessionUpdate": "current_mode_update", "currentModeId": p.ModeID},
	})
	a.respond(m.ID, map[string]any{})
}

func (a *agent) setModel(m inMsg) {
	var p struct {
		SessionID string `json:"sessionId"`
		ModelID   string `json:"modelId"`
	}
	s := a.lookup(m, &p, func() string { return p.SessionID })
	if s == nil {
		return
	}
	if p.ModelID != "mock" && p.ModelID != "mock-fast" {
		a.respondErr(m.ID, codeInvalidParams, fmt.Sprintf("unknown model %q", p.ModelID))
		return
	}
	a.mu.Lock()
	s.model = p.ModelID
	a.mu.Unlock()
	a.respond(m.ID, map[string]any{})
}

func (a *agent) cancelSession(params json.RawMessage) {
	var p sessionParams
	if json.Unmarshal(orEmpty(params), &p) != nil {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if s := a.sessions[p.SessionID]; s != nil && s.running {
		s.cancel()
	}
}

func (a *agent) startPrompt(m inMsg) {
	var p struct {
		SessionID string `json:"sessionId"`
		Prompt    []struct {
			Type string `json:"type"`
			Text string `json:"text"`
		} `json:"prompt"`
	}
	s := a.lookup(m, &p, func() string { return p.SessionID })
	if s == nil {
		return
	}
	var texts []string
	for _, b := range p.Prompt {
		if b.Type == "text" {
			texts = append(texts, b.Text)
		}
	}
	a.mu.Lock()
	if s.running {
		a.mu.Unlock()
		a.respondErr(m.ID, codeInvalidRequest, "prompt already running")
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	s.running, s.cancel = true, cancel
	a.turns.Add(1)
	a.mu.Unlock()
	t := &turn{a: a, s: s, ctx: ctx, id: m.ID}
	go t.run(strings.Join(texts, "\n"))
}

// endTurn marks the session idle. It runs before the final response is
// written so that a client may send the next prompt as soon as it sees it.
func (a *agent) endTurn(s *session) {
	a.mu.Lock()
	s.running = false
	s.cancel()
	a.mu.Unlock()
}

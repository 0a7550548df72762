package fakeagent

// The HTTP routes, as docs/upstream/sandbox-agent.md §5, §6 and §9 describe sandbox-agent 0.4.2's.

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

func problem(w http.ResponseWriter, status int, kind, detail string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"type": "urn:sandbox-agent:error:" + kind, "title": http.StatusText(status), "status": status, "detail": detail,
	})
}

func (a *Agent) auth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if a.opts.Token != "" && r.Header.Get("Authorization") != "Bearer "+a.opts.Token {
			problem(w, http.StatusUnauthorized, "token_invalid", "token invalid")
			return
		}
		next.ServeHTTP(w, r)
	})
}

func accepts(r *http.Request, typ string) bool {
	h := r.Header.Get("Accept")
	return h == "" || strings.Contains(h, typ) || strings.Contains(h, "*/*")
}

func (a *Agent) health(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprint(w, `{"status":"ok"}`)
}

// envelope is a JSON-RPC message as the fake reads it.
type envelope struct {
	ID     json.RawMessage `json:"id,omitempty"`
	Method string          `json:"method,omitempty"`
	Params json.RawMessage `json:"params,omitempty"`
	Result json.RawMessage `json:"result,omitempty"`
	Error  json.RawMessage `json:"error,omitempty"`
}

func (e envelope) isRequest() bool { return e.Method != "" && len(e.ID) > 0 && string(e.ID) != "null" }

func (a *Agent) post(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	a.mu.Lock()
	a.posts = append(a.posts, r.URL.RequestURI())
	a.mu.Unlock()
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		problem(w, http.StatusUnsupportedMediaType, "unsupported_media_type", "unsupported media type: content-type must be application/json")
		return
	}
	if !accepts(r, "application/json") {
		problem(w, http.StatusNotAcceptable, "not_acceptable", "accept must allow application/json")
		return
	}
	var env envelope
	if err := json.NewDecoder(r.Body).Decode(&env); err != nil {
		problem(w, http.StatusBadRequest, "invalid_request", "invalid request: request body must be a JSON-RPC object")
		return
	}
	a.mu.Lock()
	s, known := a.servers[id]
	switch q := r.URL.Query().Get("agent"); {
	case !known && q == "":
		a.mu.Unlock()
		problem(w, http.StatusBadRequest, "invalid_request", "invalid request: missing required 'agent' query parameter for first POST to /v1/acp/"+url.PathEscape(id))
		return
	case known && q != "" && q != s.agent:
		a.mu.Unlock()
		problem(w, http.StatusConflict, "conflict", fmt.Sprintf("conflict: server '%s' already exists for agent '%s'; requested '%s'", id, s.agent, q))
		return
	case !known:
		s = a.serverLocked(id, q)
	}
	a.mu.Unlock()

	if !env.isRequest() {
		a.notified(s, env)
		w.WriteHeader(http.StatusAccepted)
		return
	}
	reply, ok := a.answer(r.Context(), s, env)
	if !ok {
		return // the client gave up, or the fake stopped
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(reply)
}

// notified takes a notification (session/cancel) or the client's response to one of the agent's requests.
func (a *Agent) notified(s *server, env envelope) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if env.Method == "session/cancel" {
		var p struct {
			SessionID string `json:"sessionId"`
		}
		_ = json.Unmarshal(env.Params, &p)
		if t := s.turns[p.SessionID]; t != nil {
			t.cancelOnce.Do(func() { close(t.cancel) })
		}
		return
	}
	if env.Method == "" {
		if ch, ok := s.waiting[string(env.ID)]; ok {
			delete(s.waiting, string(env.ID))
			reply := env.Result
			if len(env.Error) > 0 {
				reply = env.Error
			}
			ch <- reply
		}
	}
}

// answer computes a request's response, emits it to the streams and returns it for the POST's body.
func (a *Agent) answer(ctx context.Context, s *server, env envelope) ([]byte, bool) {
	if env.Method == "session/prompt" && !a.opts.Echo {
		return a.prompt(ctx, s, env)
	}
	var reply []byte
	if a.opts.Echo {
		switch env.Method {
		case "block":
			select {
			case <-a.release:
			case <-ctx.Done():
				return nil, false
			case <-a.life():
				return nil, false
			}
		case "fail":
			reply = errorReply(env.ID, -32601, "Method not found")
		}
		if reply == nil {
			reply = resultReply(env.ID, fmt.Sprintf(`{"method":%q,"params":%s}`, env.Method, orNull(env.Params)))
		}
	} else {
		reply = a.acpReply(s, env)
	}
	a.emit(s, reply)
	return reply, true
}

// acpReply is an ACP agent's answer to the requests other than session/prompt (§6.1).
func (a *Agent) acpReply(s *server, env envelope) []byte {
	switch env.Method {
	case "initialize":
		if a.opts.Init != nil {
			return resultReply(env.ID, string(a.opts.Init))
		}
		info := a.opts.AgentInfo
		if info == nil {
			info = json.RawMessage(`{"name":"fakeagent","version":"0.0.0"}`)
		}
		return resultReply(env.ID, `{"protocolVersion":1,"agentCapabilities":{"loadSession":false},"authMethods":[],"agentInfo":`+string(info)+`}`)
	case "session/new":
		result := a.opts.NewSession
		a.mu.Lock()
		defer a.mu.Unlock()
		if result == nil {
			s.sessions++
			result = fmt.Appendf(nil, `{"sessionId":"fake-session-%d"}`, s.sessions)
		}
		var p struct {
			Cwd string `json:"cwd"`
		}
		var r struct {
			SessionID string `json:"sessionId"`
		}
		_ = json.Unmarshal(env.Params, &p)
		_ = json.Unmarshal(result, &r)
		s.cwds[r.SessionID] = p.Cwd // the turns' Cwd
		return resultReply(env.ID, string(result))
	case "authenticate", "session/set_mode", "session/set_config_option", "session/set_model":
		return resultReply(env.ID, `{}`)
	}
	return errorReply(env.ID, -32601, "Method not found")
}

func resultReply(id json.RawMessage, result string) []byte {
	return fmt.Appendf(nil, `{"jsonrpc":"2.0","id":%s,"result":%s}`, id, result)
}

func errorReply(id json.RawMessage, code int, msg string) []byte {
	return fmt.Appendf(nil, `{"jsonrpc":"2.0","id":%s,"error":{"code":%d,"message":%q}}`, id, code, msg)
}

func orNull(raw json.RawMessage) string {
	if len(raw) == 0 {
		return "null"
	}
	return string(raw)
}

func (a *Agent) stream(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if !accepts(r, "text/event-stream") {
		problem(w, http.StatusNotAcceptable, "not_acceptable", "accept must allow text/event-stream")
		return
	}
	var last int64
	if h := r.Header.Get("Last-Event-ID"); h != "" {
		last, _ = strconv.ParseInt(h, 10, 64)
	}
	// The replay and the subscription are taken together, so no envelope falls between them.
	live := make(chan frame, 4096)
	a.mu.Lock()
	s := a.servers[id]
	if s == nil {
		a.mu.Unlock()
		problem(w, http.StatusNotFound, "session_not_found", "session not found: "+id)
		return
	}
	var replay []frame
	for _, f := range s.ring {
		if f.id > last {
			replay = append(replay, f)
		}
	}
	s.subs[live] = struct{}{}
	a.gets = append(a.gets, last)
	closed, quit := a.streams, a.quit
	a.mu.Unlock()
	defer func() {
		a.mu.Lock()
		delete(s.subs, live)
		a.mu.Unlock()
	}()

	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	flush := w.(http.Flusher).Flush
	flush()
	for _, f := range replay {
		fmt.Fprintf(w, "event: message\nid: %d\ndata: %s\n\n", f.id, f.data)
	}
	flush()
	tick := time.NewTicker(a.opts.Heartbeat)
	defer tick.Stop()
	for {
		select {
		case f := <-live:
			fmt.Fprintf(w, "event: message\nid: %d\ndata: %s\n\n", f.id, f.data)
			flush()
		case <-tick.C:
			fmt.Fprint(w, ": heartbeat\n\n")
			flush()
		case <-r.Context().Done():
			return
		case <-closed:
			return
		case <-quit:
			return
		}
	}
}

// delete closes a server id: it leaves GET /v1/acp at once, and the request never returns (§10).
func (a *Agent) delete(_ http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	delete(a.servers, r.PathValue("id"))
	quit := a.quit
	a.mu.Unlock()
	select {
	case <-r.Context().Done():
	case <-quit:
	}
}

// list answers GET /v1/acp: the live server ids, oldest first (§5).
func (a *Agent) list(w http.ResponseWriter, _ *http.Request) {
	type entry struct {
		ServerID  string `json:"serverId"`
		Agent     string `json:"agent"`
		CreatedAt int64  `json:"createdAtMs"`
	}
	a.mu.Lock()
	servers := []entry{}
	for id, s := range a.servers {
		servers = append(servers, entry{id, s.agent, s.created.UnixMilli()})
	}
	a.mu.Unlock()
	slices.SortFunc(servers, func(x, y entry) int {
		return cmp.Or(cmp.Compare(x.CreatedAt, y.CreatedAt), strings.Compare(x.ServerID, y.ServerID))
	})
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"servers": servers})
}

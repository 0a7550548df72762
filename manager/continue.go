package manager

// Sessions that continue. An agent session lives in its agent process, which dies with sandbox-agent
// (a stopped sandbox, an idle stop, a reboot, a crash); our record and event log outlive it. Continuing
// a session starts a new agent process under a new sandbox-agent server id and gives it the
// conversation back:
//
//   - with ACP session/load when the agent advertised loadSession (claude-agent-acp and codex-acp do): the
//     agent reloads its own history and replays it as session/update notifications before answering. Our
//     log already holds those events, so the replay is not ingested: the stream starts after the load's
//     reply (suppressed, not marked);
//   - otherwise with session/new, then a first turn whose prompt is a compact summary of the transcript.
//
// The session keeps its name, its log (cursors stay valid) and its turn count; a session_continued event
// says which way was used. A fork is a new session primed with another session's summary.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/sandbox-mcp/sandbox-mcp/acp"
	"github.com/sandbox-mcp/sandbox-mcp/eventlog"
	"github.com/sandbox-mcp/sandbox-mcp/events"
	"github.com/sandbox-mcp/sandbox-mcp/remedy"
	"github.com/sandbox-mcp/sandbox-mcp/sandbox"
	"github.com/sandbox-mcp/sandbox-mcp/state"
)

// How a session was continued.
const (
	ContinuedLoad    = acp.MethodLoad
	ContinuedSummary = "summary"
)

// canContinue reports whether a session can be continued, and how it would be.
func canContinue(s state.Session) (bool, string) {
	if s.State.Status != events.StatusEnded && s.State.Status != events.StatusFailed {
		return false, ""
	}
	if s.LoadSession {
		return true, ContinuedLoad
	}
	return true, ContinuedSummary
}

// continueSession continues the ended or failed session req.Continue in place.
func (m *Manager) continueSession(ctx context.Context, req CreateSessionRequest) (SessionResult, error) {
	if req.Name != "" || req.Fork != "" || req.Cwd != "" || len(req.MCPServers) > 0 || req.Model != "" || req.Mode != "" {
		return SessionResult{}, invalidf("continue takes the session's own name, cwd, mode, model and MCP servers: pass only sandbox, agent, continue and optionally budget")
	}
	if err := sandbox.ValidateName("session", req.Continue); err != nil {
		return SessionResult{}, err
	}
	rec, err := m.sandboxRecord(req.Sandbox)
	if err != nil {
		return SessionResult{}, err
	}
	res, primer, err := m.continueLocked(ctx, rec, req)
	if err != nil || primer == "" {
		return res, err
	}
	return m.prime(ctx, res, primer)
}

func (m *Manager) continueLocked(ctx context.Context, rec state.Sandbox, req CreateSessionRequest) (SessionResult, string, error) {
	defer m.use(ctx, rec.Name)() // a use, for --idle-ttl (ttl.go)
	defer m.lockSandbox(rec.Name)()
	old, err := m.cfg.Store.GetSession(rec.Name, req.Continue)
	if errors.Is(err, state.ErrNotFound) {
		return SessionResult{}, "", remedy.Errorf(sandbox.NotFound, remedy.ListContinuable, "unknown session %q in sandbox %q", req.Continue, rec.Name)
	}
	if err != nil {
		return SessionResult{}, "", err
	}
	if l := m.cached(rec.Name, old.Name); l != nil {
		old = l.Snapshot()
	}
	if ok, _ := canContinue(old); !ok {
		return SessionResult{}, "", remedy.Errorf(sandbox.Invalid, remedy.KeepSending, "session %q is %s, not ended or failed", old.Name, old.State.Status)
	}
	if req.Agent != old.Agent {
		return SessionResult{}, "", invalidf("session %q runs the %s agent: continue it with the %s agent", old.Name, old.Agent, old.Agent)
	}
	srec := old
	if req.Budget != nil {
		if srec.Budget, err = m.sessionBudget(req.Budget); err != nil {
			return SessionResult{}, "", err
		}
	}
	// The summary is made before the log is touched, from what the session said so far.
	summary, err := m.summaryOf(old)
	if err != nil {
		return SessionResult{}, "", err
	}
	m.forgetSession(rec.Name, old.Name) // its stream is over; its log is reopened below
	client, init, err := m.startAgent(ctx, rec, &srec)
	if err != nil {
		return SessionResult{}, "", err
	}
	servers, err := m.acpMCPServers(srec.MCPServers, init.MCP)
	if err != nil {
		client.Close(context.WithoutCancel(ctx))
		return SessionResult{}, "", err
	}
	how, method, reqID := ContinuedSummary, acp.MethodNew, 1
	params := acp.SessionParams{Cwd: srec.Cwd, MCPServers: servers}
	var res json.RawMessage
	if init.LoadSession && old.SessionID != "" {
		load := params
		load.SessionID = old.SessionID
		res, err = client.Request(ctx, acp.Request{ID: acp.NumberID(reqID), Method: acp.MethodLoad, Params: load}, "", initTimeout)
		if err == nil {
			how, method = ContinuedLoad, acp.MethodLoad
		} else {
			// The agent lost the session (its store did not survive): fall back to a summary, with the
			// next request id, whose reply then marks where the stream resumes.
			m.log.Warn("session/load failed; continuing with a summary", "session", rec.Name+"/"+old.Name, "err", err)
			reqID++
		}
	}
	if method == acp.MethodNew {
		res, err = client.Request(ctx, acp.Request{ID: acp.NumberID(reqID), Method: acp.MethodNew, Params: params}, "", initTimeout)
		if err != nil {
			client.Close(context.WithoutCancel(ctx))
			return SessionResult{}, "", fmt.Errorf("open a new %s session to continue %q: %w", srec.Agent, old.Name, err)
		}
	}
	var sn agentSession
	_ = json.Unmarshal(res, &sn)
	if method == acp.MethodNew {
		if sn.SessionID == "" {
			client.Close(context.WithoutCancel(ctx))
			return SessionResult{}, "", fmt.Errorf("%s agent returned no session id: %s", srec.Agent, truncate(string(res), 200))
		}
		srec.SessionID = sn.SessionID
	}
	if len(sn.Modes) > 0 {
		srec.Modes = sn.Modes
	}
	if len(sn.Models) > 0 {
		srec.Models = sn.Models
	}
	if err := m.configure(ctx, client, &srec, srec.Modes, srec.Models, sn.ConfigOptions); err != nil {
		client.Close(context.WithoutCancel(ctx))
		return SessionResult{}, "", err
	}
	// The new server's stream numbers its envelopes from 1 again. Find our reply's id there: the live
	// stream starts after it, so neither the replies nor a session/load replay are ingested again.
	sseID, err := replyID(ctx, client, reqID)
	if err != nil {
		client.Close(context.WithoutCancel(ctx))
		return SessionResult{}, "", fmt.Errorf("continue %q: %w", old.Name, err)
	}
	srec.Continued = how
	srec.State.Status, srec.State.Turn, srec.State.LastError = events.StatusIdle, "", ""
	srec.State.Pending, srec.State.PendingIDs, srec.State.Budget = nil, nil, nil
	// From here a failure must close the client (sessions.go says why).
	if err := m.logContinuation(srec, method, how, reqID, res, sseID); err != nil {
		client.Close(context.WithoutCancel(ctx))
		return SessionResult{}, "", err
	}
	if err := m.cfg.Store.PutSession(srec); err != nil {
		client.Close(context.WithoutCancel(ctx))
		return SessionResult{}, "", err
	}
	l, err := m.open(srec, client)
	if err != nil {
		client.Close(context.WithoutCancel(ctx))
		return SessionResult{}, "", err
	}
	out := sessionResult(l.Snapshot())
	out.Continued = how
	if how == ContinuedSummary {
		return out, primerText("an earlier agent session of this conversation ended (its agent process is gone)", summary), nil
	}
	return out, "", nil
}

// replyID reads the new server's stream from its start until our reply to request id, and returns its
// SSE id. The ring holds the last 1024 envelopes, and the reply is the latest one.
func replyID(ctx context.Context, c *acp.Client, id int) (int64, error) {
	errFound := errors.New("found")
	want := fmt.Sprint(id)
	var found int64
	err := c.Stream(ctx, 0, 30*time.Second, func(sseID int64, data []byte) error {
		var env acp.Envelope
		if json.Unmarshal(data, &env) == nil && env.IsResponse() && acp.IDString(env.ID) == want {
			found = sseID
			return errFound
		}
		return nil
	}, nil, nil)
	if found > 0 {
		return found, nil
	}
	if err == nil {
		err = errors.New("the stream ended")
	}
	return 0, fmt.Errorf("the agent's reply did not show up on sandbox-agent's event stream: %w", err)
}

// logContinuation appends to the session's log what we sent (without the MCP servers, which may carry
// secret values) and the agent's reply under its SSE id on the new server, which becomes the stream's
// resume point.
func (m *Manager) logContinuation(s state.Session, method, how string, reqID int, reply json.RawMessage, sseID int64) error {
	lg, err := eventlog.Open(m.cfg.Store.LogPath(s.Sandbox, s.Name))
	if err != nil {
		return fmt.Errorf("open event log: %w", err)
	}
	defer lg.Close()
	params := acp.SessionParams{Cwd: s.Cwd, Meta: map[string]any{events.MetaContinued: how}}
	if method == acp.MethodLoad {
		params.SessionID = s.SessionID
	}
	id := acp.NumberID(reqID)
	sent, _ := json.Marshal(acp.Request{ID: id, Method: method, Params: params})
	got, _ := json.Marshal(acp.Response{ID: id, Result: reply})
	_, err = lg.Append(eventlog.Record{Dir: eventlog.DirOut, Env: m.cfg.Redact(sent)},
		eventlog.Record{Dir: eventlog.DirIn, SSEID: sseID, Env: m.cfg.Redact(got)})
	if err == nil {
		err = lg.Sync()
	}
	return err
}

// forgetSession stops one session's stream and drops it from memory.
func (m *Manager) forgetSession(sandboxName, name string) {
	m.mu.Lock()
	l := m.sessions[sandboxName+"/"+name]
	delete(m.sessions, sandboxName+"/"+name)
	m.mu.Unlock()
	if l != nil {
		l.Stop()
	}
}

// forkPrimer is the summary a fork of session from starts with.
func (m *Manager) forkPrimer(sandboxName, from string) (string, error) {
	if err := sandbox.ValidateName("session", from); err != nil {
		return "", err
	}
	src, err := m.cfg.Store.GetSession(sandboxName, from)
	if errors.Is(err, state.ErrNotFound) {
		return "", remedy.Errorf(sandbox.NotFound, remedy.ListSessions, "unknown session %q to fork in sandbox %q", from, sandboxName)
	}
	if err != nil {
		return "", err
	}
	unlock := m.lockSandbox(sandboxName)
	summary, err := m.summaryOf(src)
	unlock()
	if err != nil {
		return "", err
	}
	return primerText(fmt.Sprintf("this session is a fork of session %q", from), summary), nil
}

// prime sends the summary as the session's first turn and reports it in the result.
func (m *Manager) prime(ctx context.Context, res SessionResult, primer string) (SessionResult, error) {
	tr, err := m.SendMessage(ctx, SendRequest{Sandbox: res.Sandbox, Session: res.Name, Message: primer})
	if err != nil {
		return res, remedy.With(remedy.SendContext, fmt.Errorf("session %q is open but priming it with the summary failed: %w", res.Name, err))
	}
	res.Turn, res.Status = tr.TurnID, tr.Status
	return res, nil
}

func primerText(why, summary string) string {
	if strings.TrimSpace(summary) == "" {
		summary = "(nothing was said yet)"
	}
	return "[sandbox-mcp] Context: " + why + ". Here is a compact summary of that conversation, oldest first. " +
		"Take it as background, reply briefly that you have it, and wait for the next instruction.\n\n" + summary
}

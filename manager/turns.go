package manager

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/sandbox-mcp/sandbox-mcp/events"
	"github.com/sandbox-mcp/sandbox-mcp/live"
	"github.com/sandbox-mcp/sandbox-mcp/remedy"
	"github.com/sandbox-mcp/sandbox-mcp/sandbox"
)

// SendRequest is send_message's input after binding.
type SendRequest struct {
	Sandbox, Session, Message string
	// Wait, when positive, holds the call until the turn ends (or asks for a permission) or Wait passes.
	Wait     time.Duration
	Progress func(msg string)
}

// TurnResult is send_message's answer.
type TurnResult struct {
	Sandbox    string `json:"sandbox"`
	Session    string `json:"session"`
	TurnID     string `json:"turn_id"`
	Status     string `json:"status"`
	Cursor     int64  `json:"cursor"`
	Done       bool   `json:"done"`
	StopReason string `json:"stop_reason,omitempty"`
	Error      string `json:"error,omitempty"`
	FinalText  string `json:"final_text,omitempty"`
	Resumed    string `json:"resumed,omitempty"`
	// FinalCut is how many bytes of the agent's text were cut from FinalText's start; the tool says where
	// they are.
	FinalCut int64 `json:"-"`
}

// SendMessage starts a turn (live.Session.Send), continuing an interrupted session first.
func (m *Manager) SendMessage(ctx context.Context, req SendRequest) (TurnResult, error) {
	if strings.TrimSpace(req.Message) == "" {
		return TurnResult{}, invalidf("message is empty: say what the agent should do")
	}
	defer m.use(ctx, req.Sandbox)() // a use, for --idle-ttl (ttl.go)
	l, err := m.session(ctx, req.Sandbox, req.Session)
	if err != nil {
		return TurnResult{}, err
	}
	l, resumed, err := m.resume(ctx, l) // an interrupted session is continued first (resume.go)
	if err != nil {
		return TurnResult{}, err
	}
	t, err := l.Send(ctx, req.Message, req.Wait, req.Progress)
	if err != nil {
		return TurnResult{}, gone(req.Sandbox, err)
	}
	return TurnResult{Sandbox: req.Sandbox, Session: req.Session, TurnID: t.ID, Status: t.Status, Cursor: t.Cursor, Done: t.Done,
		StopReason: t.StopReason, Error: t.Error, FinalText: t.FinalText, FinalCut: t.FinalCut, Resumed: resumed}, nil
}

// PermissionResult is respond_permission's answer.
type PermissionResult struct {
	RequestID string `json:"request_id"`
	Outcome   string `json:"outcome"`
	Status    string `json:"status"`
}

// RespondPermission answers a pending session/request_permission with one of its option ids, or
// "cancelled".
func (m *Manager) RespondPermission(ctx context.Context, sandboxName, sessionName, requestID, option string) (PermissionResult, error) {
	defer m.use(ctx, sandboxName)() // a use, for --idle-ttl (ttl.go)
	l, err := m.session(ctx, sandboxName, sessionName)
	if err != nil {
		return PermissionResult{}, err
	}
	status, err := l.Respond(ctx, requestID, option)
	if err != nil {
		return PermissionResult{}, gone(sandboxName, err)
	}
	return PermissionResult{RequestID: requestID, Outcome: option, Status: status}, nil
}

// CancelResult is cancel_turn's answer.
type CancelResult struct {
	TurnID string `json:"turn_id"`
	Status string `json:"status"`
}

// CancelTurn stops the running turn (live.Session.Cancel).
func (m *Manager) CancelTurn(ctx context.Context, sandboxName, sessionName string) (CancelResult, error) {
	defer m.use(ctx, sandboxName)() // a use, for --idle-ttl (ttl.go)
	l, err := m.session(ctx, sandboxName, sessionName)
	if err != nil {
		return CancelResult{}, err
	}
	turn, status, err := l.Cancel(ctx)
	if err != nil {
		return CancelResult{}, gone(sandboxName, err)
	}
	return CancelResult{TurnID: turn, Status: status}, nil
}

// EventsRequest is get_events' input after binding.
type EventsRequest struct {
	Sandbox, Session string
	Cursor           int64
	Limit            int
	Raw              bool
	MaxBytes         int
	// Wait, when positive, holds the call until events arrive after Cursor, the turn stops running, or
	// Wait passes. Progress, when set, is called every few seconds meanwhile with what the agent is doing.
	Wait     time.Duration
	Progress func(msg string)
}

// GetEvents returns the normalised events after a cursor, bounded in count and bytes, waiting for them
// when asked.
func (m *Manager) GetEvents(ctx context.Context, req EventsRequest) (live.Page, error) {
	defer m.use(ctx, req.Sandbox)() // a use, for --idle-ttl (ttl.go)
	l, err := m.session(ctx, req.Sandbox, req.Session)
	if err != nil {
		return live.Page{}, err
	}
	var page live.Page
	err = l.WaitFor(ctx, req.Wait, req.Progress, func() (bool, error) {
		var err error
		page, err = l.Page(live.PageRequest{Cursor: req.Cursor, Limit: req.Limit, Raw: req.Raw, MaxBytes: req.MaxBytes})
		busy := page.Status == events.StatusRunning
		return err != nil || len(page.Events) > 0 || !busy, err
	})
	return page, err
}

// gone rewrites a failure caused by a sandbox that no longer exists into what the model should do.
func gone(sandboxName string, err error) error {
	if errors.Is(err, sandbox.ErrNotFound) {
		return remedy.Errorf(sandbox.NotFound, remedy.RecreateSandbox, "sandbox %q no longer exists (it was removed outside sandbox-mcp)", sandboxName)
	}
	return err
}

// Package acp is our client for Rivet's sandbox-agent (0.4.x): a stateless ACP (Agent Client Protocol,
// JSON-RPC 2.0) proxy that spawns one agent process per client-chosen server id, forwards our envelopes to
// it over HTTP POST and streams the agent's output back over SSE.
//
// The package knows the wire shapes and the 0.4.2 quirks; how bytes reach the server is a Transport: plain
// HTTP when its port is reachable, or curl run inside the sandbox through the backend's exec when it is not
// (Docker Sandboxes publish no ports).
package acp

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Errors callers test with errors.Is.
var (
	// ErrTimeout: the request did not complete within its deadline. For session/prompt this is the normal
	// case: the POST blocks until the turn ends, so we stop waiting and read the result from SSE.
	ErrTimeout = errors.New("sandbox-agent request timed out")
	// ErrUnreachable: nothing answers on sandbox-agent's port (not started, or died).
	ErrUnreachable = errors.New("sandbox-agent is not reachable")
	// ErrNoClient: the sandbox lacks the HTTP client (curl) the exec transport needs.
	ErrNoClient = errors.New("curl is not installed in the sandbox")
)

// Envelope is one JSON-RPC 2.0 message in either direction.
type Envelope struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id,omitempty"`
	Method  string          `json:"method,omitempty"`
	Params  json.RawMessage `json:"params,omitempty"`
	Result  json.RawMessage `json:"result,omitempty"`
	Error   *RPCError       `json:"error,omitempty"`
}

// IsRequest reports a message with both a method and an id (it expects a response).
func (e *Envelope) IsRequest() bool { return e.Method != "" && len(e.ID) > 0 && string(e.ID) != "null" }

// IsNotification reports a message with a method and no id.
func (e *Envelope) IsNotification() bool {
	return e.Method != "" && (len(e.ID) == 0 || string(e.ID) == "null")
}

// IsResponse reports a message without a method (a result or an error for some id).
func (e *Envelope) IsResponse() bool { return e.Method == "" && len(e.ID) > 0 }

// IDString renders the id for comparison and display: strings without their quotes, numbers as written.
func IDString(id json.RawMessage) string {
	var s string
	if json.Unmarshal(id, &s) == nil {
		return s
	}
	return string(bytes.TrimSpace(id))
}

// RPCError is a JSON-RPC error object. sandbox-agent returns agent errors as HTTP 200 with this member,
// sometimes with data.agentStderr.
type RPCError struct {
	Code    int             `json:"code"`
	Message string          `json:"message"`
	Data    json.RawMessage `json:"data,omitempty"`
}

func (e *RPCError) Error() string {
	msg := fmt.Sprintf("agent error %d: %s", e.Code, e.Message)
	// claude-agent-acp (and sandbox-agent) put the reason in data.details; codex-acp in data.message, with
	// its own error class in data.codex_error_info (e.g. internal_server_error for a model API 500).
	var d struct {
		Details   string `json:"details"`
		Message   string `json:"message"`
		CodexInfo string `json:"codex_error_info"`
	}
	if json.Unmarshal(e.Data, &d) != nil {
		return msg
	}
	switch {
	case d.Details != "":
		msg += ": " + d.Details
	case d.Message != "":
		msg += ": " + d.Message
	}
	if d.CodexInfo != "" {
		msg += " (" + d.CodexInfo + ")"
	}
	return msg
}

// ProblemError is sandbox-agent's RFC 7807 error body for HTTP statuses ≥ 400.
type ProblemError struct {
	Status int    `json:"status"`
	Type   string `json:"type"`
	Title  string `json:"title"`
	Detail string `json:"detail"`
	// Details.Stderr is what a failed step printed; for install_failed, sandbox-agent 0.4.2 puts the failed
	// download there ("download failed: https://…"), the only place the host appears.
	Details struct {
		Stderr string `json:"stderr"`
	} `json:"details"`
}

// Kind is the last part of the problem type, e.g. "session_not_found" or "install_failed".
func (e *ProblemError) Kind() string {
	return e.Type[strings.LastIndex(e.Type, ":")+1:]
}

func (e *ProblemError) Error() string {
	detail := e.Detail
	if detail == "" {
		detail = e.Title
	}
	if se := strings.Join(strings.Fields(e.Details.Stderr), " "); se != "" {
		// One line, bounded: the end of a long stderr says what failed.
		if len(se) > 300 {
			i := len(se) - 300
			for i < len(se) && !utf8.RuneStart(se[i]) {
				i++
			}
			se = "…" + se[i:]
		}
		detail += " (" + se + ")"
	}
	return fmt.Sprintf("sandbox-agent: HTTP %d %s: %s", e.Status, e.Kind(), detail)
}

// parseProblem turns a non-2xx body into a *ProblemError, tolerating bodies that are not problem+json.
func parseProblem(status int, body []byte) error {
	p := &ProblemError{}
	if json.Unmarshal(body, p) != nil || (p.Type == "" && p.Detail == "" && p.Title == "") {
		p.Title = strings.Join(strings.Fields(string(body)), " ")
		if len(p.Title) > 300 {
			p.Title = p.Title[:300] + "…"
		}
	}
	p.Status = status
	return p
}

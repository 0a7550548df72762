package manager

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sandbox-mcp/sandbox-mcp/internal/fakeagent"
	"github.com/sandbox-mcp/sandbox-mcp/sandbox"
)

// TestDomainBadInput is the refusal table of the root's TestBadInput run against the manager directly (the
// root test keeps proving that the refusals reach the host as tool errors): every refusal is one line, of
// the kind the tool layer maps to a tool error, and leaves nothing behind in the backend or the state.
func TestDomainBadInput(t *testing.T) {
	// Nothing here waits on a clock, so no synctest bubble (t.Run cannot run inside one).
	w := newDomainWorld(t, fakeagent.Options{})
	ctx := t.Context()
	ws := filepath.Join(t.TempDir(), "ws")
	if err := os.Mkdir(ws, 0o700); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(ws, "file.txt")
	if err := os.WriteFile(file, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	create := func(req CreateSandboxRequest) func() error {
		return func() error { _, err := w.m.CreateSandbox(ctx, req); return err }
	}
	session := func(req CreateSessionRequest) func() error {
		return func() error { _, err := w.m.CreateSession(ctx, req); return err }
	}
	send := func(req SendRequest) func() error {
		return func() error { _, err := w.m.SendMessage(ctx, req); return err }
	}
	get := func(req EventsRequest) func() error {
		return func() error { _, err := w.m.GetEvents(ctx, req); return err }
	}
	tests := []struct {
		name string
		call func() error
		kind error
		want string
	}{
		{"relative workspace", create(CreateSandboxRequest{Workspace: "project"}), sandbox.ErrInvalid, "is relative: pass an absolute path"},
		{"missing workspace", create(CreateSandboxRequest{Workspace: filepath.Join(ws, "nope")}), sandbox.ErrInvalid, "does not exist"},
		{"workspace is a file", create(CreateSandboxRequest{Workspace: file}), sandbox.ErrInvalid, "is not a directory"},
		{"workspace is /", create(CreateSandboxRequest{Workspace: "/"}), sandbox.ErrInvalid, "system folder"},
		{"workspace is the home folder", create(CreateSandboxRequest{Workspace: w.home}), sandbox.ErrInvalid, "home folder itself"},
		{"workspace escapes with ..", create(CreateSandboxRequest{Workspace: ws + "/../../../../../../etc"}), sandbox.ErrInvalid, "system folder"},
		{"name starting with -", create(CreateSandboxRequest{Workspace: ws, Name: "--privileged"}), sandbox.ErrInvalid, "is not valid"},
		{"name with shell characters", create(CreateSandboxRequest{Workspace: ws, Name: "x$(reboot)"}), sandbox.ErrInvalid, "is not valid"},
		{"template that would become a flag", create(CreateSandboxRequest{Workspace: ws, Template: "-v/:/host"}), sandbox.ErrInvalid, "not a valid image reference"},
		{"unknown isolation", create(CreateSandboxRequest{Workspace: ws, Isolation: "vm"}), sandbox.ErrInvalid, `isolation "vm" is unknown`},
		{"unknown backend", create(CreateSandboxRequest{Workspace: ws, Backend: "kvm"}), sandbox.ErrInvalid, `unknown backend "kvm": use one of fake`},
		{"unknown agent", session(CreateSessionRequest{Sandbox: "nobox", Agent: "gpt-7"}), sandbox.ErrInvalid, "unknown agent"},
		{"unknown sandbox", session(CreateSessionRequest{Sandbox: "nobox", Agent: "mock"}), sandbox.ErrNotFound, `unknown sandbox "nobox"`},
		{"unknown sandbox for a message", send(SendRequest{Sandbox: "nobox", Session: "s1", Message: "hi"}), sandbox.ErrNotFound, "unknown sandbox"},
		{"empty message", send(SendRequest{Sandbox: "nobox", Session: "s1", Message: " \n"}), sandbox.ErrInvalid, "message is empty"},
		{"unknown session", get(EventsRequest{Sandbox: "nobox", Session: "s1"}), sandbox.ErrNotFound, "unknown sandbox"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			if !errors.Is(err, tt.kind) || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "\n") {
				t.Errorf("got %v; want one line containing %q (%v)", err, tt.want, tt.kind)
			}
		})
	}
	if infos, _ := w.b.List(ctx); len(infos) != 0 {
		t.Errorf("sandboxes created by refused calls: %+v", infos)
	}
	if recs, _ := w.store.ListSandboxes(); len(recs) != 0 {
		t.Errorf("state records left by refused calls: %+v", recs)
	}

	// An unknown session or cursor in a real sandbox.
	s := w.session(t, "real")
	for _, tt := range []struct {
		name string
		call func() error
		kind error
		want string
	}{
		{"get_events of an unknown session", get(EventsRequest{Sandbox: "real", Session: "nosuch"}), sandbox.ErrNotFound, `unknown session "nosuch"`},
		{"respond_permission in an unknown session", func() error {
			_, err := w.m.RespondPermission(ctx, "real", "nosuch", "p", "allow")
			return err
		}, sandbox.ErrNotFound, "unknown session"},
		{"cancel_turn in an unknown session", func() error {
			_, err := w.m.CancelTurn(context.Background(), "real", "nosuch")
			return err
		}, sandbox.ErrNotFound, "unknown session"},
		{"negative cursor", get(EventsRequest{Sandbox: "real", Session: s.Name, Cursor: -1}), sandbox.ErrInvalid, "cursor -1 is negative"},
		{"session name with shell characters", get(EventsRequest{Sandbox: "real", Session: "$(id)"}), sandbox.ErrInvalid, "is not valid"},
		{"a cwd outside any clean absolute path", session(CreateSessionRequest{Sandbox: "real", Agent: "claude", Cwd: "../x"}), sandbox.ErrInvalid, "must be a clean absolute path"},
		{"a session name taken", session(CreateSessionRequest{Sandbox: "real", Agent: "claude", Name: s.Name}), sandbox.ErrExists, "already exists"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			if !errors.Is(err, tt.kind) || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "\n") {
				t.Errorf("got %v; want one line containing %q (%v)", err, tt.want, tt.kind)
			}
		})
	}
}

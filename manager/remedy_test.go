package manager

import (
	"errors"
	"testing"
	"testing/synctest"

	"github.com/sandbox-mcp/sandbox-mcp/internal/fakeagent"
	"github.com/sandbox-mcp/sandbox-mcp/remedy"
	"github.com/sandbox-mcp/sandbox-mcp/sandbox"
)

// TestDomainRemedies: a refusal names its next step as a remedy.Step, which the tools word with their
// names (tools/remedy.go), and keeps its kind.
func TestDomainRemedies(t *testing.T) {
	w := newDomainWorld(t, fakeagent.Options{})
	ctx := t.Context()
	s := w.session(t, "real")
	for _, tt := range []struct {
		name string
		call func() error
		kind error
		want remedy.Step
	}{
		{"unknown sandbox", func() error {
			_, err := w.m.CreateSession(ctx, CreateSessionRequest{Sandbox: "nobox", Agent: "mock"})
			return err
		}, sandbox.ErrNotFound, remedy.CreateSandbox},
		{"unknown session", func() error {
			_, err := w.m.GetEvents(ctx, EventsRequest{Sandbox: "real", Session: "nosuch"})
			return err
		}, sandbox.ErrNotFound, remedy.CreateSession},
		{"cursor beyond the log", func() error {
			_, err := w.m.GetEvents(ctx, EventsRequest{Sandbox: "real", Session: s.Name, Cursor: 1 << 40})
			return err
		}, sandbox.ErrInvalid, remedy.PageCursor},
		{"no such permission request", func() error {
			_, err := w.m.RespondPermission(ctx, "real", s.Name, "p-9", "allow")
			return err
		}, sandbox.ErrInvalid, remedy.ReadPending},
		{"continue an unknown session", func() error {
			_, err := w.m.CreateSession(ctx, CreateSessionRequest{Sandbox: "real", Agent: "claude", Continue: "nosuch"})
			return err
		}, sandbox.ErrNotFound, remedy.ListContinuable},
		{"continue a session still in use", func() error {
			_, err := w.m.CreateSession(ctx, CreateSessionRequest{Sandbox: "real", Agent: "claude", Continue: s.Name})
			return err
		}, sandbox.ErrInvalid, remedy.KeepSending},
		{"fork an unknown session", func() error {
			_, err := w.m.CreateSession(ctx, CreateSessionRequest{Sandbox: "real", Agent: "claude", Fork: "nosuch"})
			return err
		}, sandbox.ErrNotFound, remedy.ListSessions},
		{"land a sandbox that works in the folder", func() error {
			_, err := w.m.LandSandbox(ctx, LandRequest{Sandbox: "real", Branch: "x"})
			return err
		}, sandbox.ErrInvalid, remedy.SeeDiff},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			if !errors.Is(err, tt.kind) || remedy.Of(err) != tt.want {
				t.Errorf("got %v (remedy %d); want %v with remedy %d", err, remedy.Of(err), tt.kind, tt.want)
			}
		})
	}
}

// TestDomainBusyRemedy: a message sent while a turn runs is refused with FollowTurn.
func TestDomainBusyRemedy(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newDomainWorld(t, fakeagent.Options{Prompt: func(turn *fakeagent.Turn) { turn.Say("working"); <-turn.Stopped() }})
		s := w.session(t, "busy")
		res, err := w.m.SendMessage(t.Context(), SendRequest{Sandbox: "busy", Session: s.Name, Message: "hold"})
		if err != nil {
			t.Fatal(err)
		}
		_, err = w.m.SendMessage(t.Context(), SendRequest{Sandbox: "busy", Session: s.Name, Message: "again"})
		if !errors.Is(err, sandbox.ErrInvalid) || remedy.Of(err) != remedy.FollowTurn {
			t.Errorf("send during turn %s: %v (remedy %d); want FollowTurn", res.TurnID, err, remedy.Of(err))
		}
		if _, err := w.m.CancelTurn(t.Context(), "busy", s.Name); err != nil {
			t.Fatal(err)
		}
	})
}

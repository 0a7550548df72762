package manager

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sandbox-mcp/sandbox-mcp/events"
	"github.com/sandbox-mcp/sandbox-mcp/internal/fakeagent"
)

// The idle TTL (ttl.go) over the fakes, on the bubble's clock: the janitor's rounds, the TTL and the
// stops happen at exact times, which the fake backend records (fakebackend.Transition). Stopping a sandbox
// kills its fake sandbox-agent, and starting it again brings up a fresh one, as with the Docker backend.

// transitions lists a sandbox's status changes in the fake backend, each with its time since start on the
// bubble's clock: "running+0s", "stopped+5m0s".
func (w *domainWorld) transitions(name string, start time.Time) []string {
	var out []string
	for _, tr := range w.b.Transitions() {
		if tr.Sandbox == name {
			out = append(out, fmt.Sprintf("%s+%s", tr.Status, tr.At.Sub(start)))
		}
	}
	return out
}

func (w *domainWorld) wantTransitions(t *testing.T, name string, start time.Time, when string, want ...string) {
	t.Helper()
	if got := w.transitions(name, start); !slices.Equal(got, want) {
		t.Fatalf("%s: sandbox %s went %q, want %q", when, name, got, want)
	}
}

// TestTTLStopsIdleSandboxAndCreateSessionStartsItAgain: the janitor stops a sandbox at the first round
// its TTL is over, sandbox-agent dies with it, its record stays, its session says why it ended, and
// create_session starts it again for a working session.
func TestTTLStopsIdleSandboxAndCreateSessionStartsItAgain(t *testing.T) {
	domainTest(t, fakeagent.Options{}, func(t *testing.T, w *domainWorld) {
		ctx := t.Context()
		start := time.Now()
		s := w.session(t, "ttl-idle")
		const ttl, every = 5 * time.Minute, 30 * time.Second
		w.m.StartJanitor(ttl, every)

		time.Sleep(ttl - every) // the janitor's last round before the TTL is over
		synctest.Wait()
		w.wantTransitions(t, "ttl-idle", start, "before its TTL", "running+0s")
		time.Sleep(every) // the round at the TTL
		synctest.Wait()
		w.wantTransitions(t, "ttl-idle", start, "at its TTL", "running+0s", "stopped+5m0s")
		if w.agent.Alive() {
			t.Error("sandbox-agent still answers after the stop")
		}
		if _, err := w.store.GetSandbox("ttl-idle"); err != nil {
			t.Errorf("the sandbox record was not kept: %v", err)
		}
		if logs := w.logs.String(); !strings.Contains(logs, `msg="idle sandbox stopped" sandbox=ttl-idle backend=fake idle=5m0s idle_ttl=5m0s sessions_ended=1`) {
			t.Errorf("the stop is not logged with its figures:\n%s", logs)
		}

		s2, err := w.m.CreateSession(ctx, CreateSessionRequest{Sandbox: "ttl-idle", Agent: "claude"})
		if err != nil {
			t.Fatalf("create_session after the stop: %v", err)
		}
		w.wantTransitions(t, "ttl-idle", start, "after create_session", "running+0s", "stopped+5m0s", "running+5m0s")
		if !w.agent.Alive() {
			t.Error("sandbox-agent is not up after create_session")
		}
		res, err := w.m.SendMessage(ctx, SendRequest{Sandbox: "ttl-idle", Session: s2.Name, Message: "back again", Wait: 10 * time.Second})
		if err != nil || !res.Done || res.FinalText != "back again" {
			t.Errorf("a turn after the restart: %+v, %v", res, err)
		}
		page, err := w.m.GetEvents(ctx, EventsRequest{Sandbox: "ttl-idle", Session: s.Name})
		want := "stopped after 5m0s idle (--idle-ttl); create a session to start again"
		if err != nil || page.Status != events.StatusEnded || page.LastError != want {
			t.Errorf("the first session after the stop: status %q, last_error %q, %v; want ended with %q", page.Status, page.LastError, err, want)
		}
	})
}

// TestTTLKeepsSandboxInUse: every call naming the sandbox is a use; calls closer together than the TTL
// keep it up however long they go on, and it stops a TTL after the last one.
func TestTTLKeepsSandboxInUse(t *testing.T) {
	domainTest(t, fakeagent.Options{}, func(t *testing.T, w *domainWorld) {
		ctx := t.Context()
		start := time.Now()
		s := w.session(t, "ttl-used")
		const ttl, every, gap = time.Minute, 10 * time.Second, 50 * time.Second
		w.m.StartJanitor(ttl, every)
		calls := []func() error{
			func() error {
				_, err := w.m.GetEvents(ctx, EventsRequest{Sandbox: "ttl-used", Session: s.Name})
				return err
			},
			func() error { _, err := w.m.ListSessions(ctx, "ttl-used"); return err },
		}
		for i := range 6 { // five TTLs, thirty rounds: one at most 50 s after a call, none 60 s after
			time.Sleep(gap)
			if err := calls[i%len(calls)](); err != nil {
				t.Fatal(err)
			}
		}
		synctest.Wait()
		w.wantTransitions(t, "ttl-used", start, "while in use", "running+0s")
		// The last call was at 5m0s: the round at 6m0s finds it a TTL old.
		time.Sleep(ttl + every)
		synctest.Wait()
		w.wantTransitions(t, "ttl-used", start, "once nobody calls", "running+0s", "stopped+6m0s")
	})
}

// TestTTLNeverStopsRunningTurnOrPendingPermission: a sandbox with a turn running, or a permission
// waiting for an answer, stays up however long nobody calls; it stops at the first round after the turn
// ends (a TTL after the last call). A call that arrives while the janitor stops it waits for the stop to
// finish, so it finds the session ended rather than half stopped.
func TestTTLNeverStopsRunningTurnOrPendingPermission(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		step := make(chan struct{}) // in the bubble: a script blocked on it is durably blocked
		opts := fakeagent.Options{Prompt: func(turn *fakeagent.Turn) {
			switch turn.Text {
			case "hold":
				turn.Say("working")
				select {
				case <-step:
				case <-turn.Stopped():
					return
				}
				turn.Say(" done")
			case "perm":
				if _, ok := turn.RequestPermission("perm-1", "call-1", "rm -rf build"); ok {
					turn.Say("removed")
				}
			}
		}}
		w := newDomainWorld(t, opts)
		const stopTakes = 10 * time.Second
		w.b.StopDelay = stopTakes // a VM's shutdown: long enough for a call to arrive meanwhile
		ctx := t.Context()
		start := time.Now()
		s := w.session(t, "ttl-busy")
		const ttl, every = time.Minute, 10 * time.Second
		w.m.StartJanitor(ttl, every)

		if _, err := w.m.SendMessage(ctx, SendRequest{Sandbox: "ttl-busy", Session: s.Name, Message: "hold"}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(5*ttl + every/2) // five TTLs, thirty rounds, nobody calling
		synctest.Wait()
		w.wantTransitions(t, "ttl-busy", start, "with a turn running", "running+0s")
		close(step) // the turn ends at 5m5s; the round at 5m10s stops the sandbox, done 10 s later
		time.Sleep(every/2 + stopTakes)
		synctest.Wait()
		w.wantTransitions(t, "ttl-busy", start, "after the turn ended", "running+0s", "stopped+5m20s")

		s2, err := w.m.CreateSession(ctx, CreateSessionRequest{Sandbox: "ttl-busy", Agent: "claude"})
		if err != nil {
			t.Fatal(err)
		}
		res, err := w.m.SendMessage(ctx, SendRequest{Sandbox: "ttl-busy", Session: s2.Name, Message: "perm", Wait: 10 * time.Second})
		if err != nil || res.Status != events.StatusWaitingPermission {
			t.Fatalf("send: %+v, %v; want waiting_permission", res, err)
		}
		time.Sleep(5 * ttl)
		synctest.Wait()
		w.wantTransitions(t, "ttl-busy", start, "with a permission pending", "running+0s", "stopped+5m20s", "running+5m20s")
		if _, err := w.m.RespondPermission(ctx, "ttl-busy", s2.Name, "perm-1", "allow"); err != nil {
			t.Fatal(err)
		}
		// The answer at 10m20s is the last use: the round at 11m20s claims the stop, which ends at 11m30s.
		time.Sleep(ttl + time.Second)
		synctest.Wait()
		w.wantTransitions(t, "ttl-busy", start, "during the stop", "running+0s", "stopped+5m20s", "running+5m20s")
		// list_sessions, not get_events: get_events loads the session, which starts the sandbox again
		// (AgentEndpoint), and the janitor holds the sandbox's lock while it stops it.
		called := time.Now()
		list, err := w.m.ListSessions(ctx, "ttl-busy")
		if waited := time.Since(called); waited != stopTakes-time.Second {
			t.Errorf("list_sessions during the stop returned after %v, want %v (when the stop was over)", waited, stopTakes-time.Second)
		}
		if err != nil || len(list.Sessions) != 2 || list.Sessions[1].Status != events.StatusEnded || !strings.Contains(list.Sessions[1].LastError, "--idle-ttl") {
			t.Errorf("sessions after the stop: %+v, %v; want %s ended by the TTL", list.Sessions, err, s2.Name)
		}
		w.wantTransitions(t, "ttl-busy", start, "after the stop", "running+0s", "stopped+5m20s", "running+5m20s", "stopped+11m30s")
	})
}

// TestTTLLastUsedPersistedAtMostOncePerMinute: a call writes LastUsed to the sandbox's record when the
// last write is a minute old; the calls in between only keep it in memory, where the janitor reads it.
func TestTTLLastUsedPersistedAtMostOncePerMinute(t *testing.T) {
	domainTest(t, fakeagent.Options{}, func(t *testing.T, w *domainWorld) {
		start := time.Now()
		s := w.session(t, "ttl-persist") // create_session is the first use: written then
		lastUsed := func() time.Time {
			t.Helper()
			synctest.Wait() // the write happens in the background
			rec, err := w.store.GetSandbox("ttl-persist")
			if err != nil {
				t.Fatal(err)
			}
			return rec.LastUsed
		}
		get := func() {
			t.Helper()
			if _, err := w.m.GetEvents(t.Context(), EventsRequest{Sandbox: "ttl-persist", Session: s.Name}); err != nil {
				t.Fatal(err)
			}
		}
		if got := lastUsed(); !got.Equal(start) {
			t.Fatalf("LastUsed %v after create_session, want %v", got, start)
		}
		time.Sleep(lastUsedPersistEvery)
		get()
		if got := lastUsed(); !got.Equal(start.Add(lastUsedPersistEvery)) {
			t.Fatalf("LastUsed %v after a call a minute after the last write, want %v", got, start.Add(lastUsedPersistEvery))
		}
		for range 5 {
			time.Sleep(10 * time.Second)
			get()
		}
		if got := lastUsed(); !got.Equal(start.Add(lastUsedPersistEvery)) {
			t.Errorf("LastUsed written again within a minute: %v", got)
		}
		// The last call was at 1m50s, the last write at 1m0s. With a TTL of a minute, the rounds up to 2m40s
		// find the record over a TTL old but keep the sandbox: the janitor reads the last use from memory.
		w.m.StartJanitor(time.Minute, 10*time.Second)
		time.Sleep(55 * time.Second)
		synctest.Wait()
		w.wantTransitions(t, "ttl-persist", start, "a TTL after the last write", "running+0s")
		time.Sleep(10 * time.Second)
		synctest.Wait()
		w.wantTransitions(t, "ttl-persist", start, "a TTL after the last call", "running+0s", "stopped+2m50s")
	})
}

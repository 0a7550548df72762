package events

import (
	"bytes"
	"encoding/json"
	"reflect"
	"slices"
	"testing"

	"github.com/sandbox-mcp/sandbox-mcp/eventlog"
)

// step is one record applied to a State and the status expected after it.
type step struct {
	rec  eventlog.Record
	want string
}

func TestStateApply(t *testing.T) {
	tests := []struct {
		name  string
		steps []step
		want  State // compared on Status, Turn, Turns, LastStopReason, LastError and TurnStartSeq
	}{
		{
			name: "a turn with a permission round trip: idle, running, waiting, running, idle",
			steps: []step{
				{out(initOut), StatusIdle}, {in(initResult), StatusIdle}, {out(newOut), StatusIdle}, {in(newResult), StatusIdle},
				{out(prompt("turn-1", "write hello")), StatusRunning},
				{in(update(toolCall)), StatusRunning},
				{in(permRequest(`"perm-1"`)), StatusWaitingPermission},
				{out(permAnswer(`"perm-1"`, "allow")), StatusRunning},
				{in(chunk("Wro")), StatusRunning},
				{in(chunk("te it.")), StatusRunning},
				{in(turnEnd("turn-1", "end_turn")), StatusIdle},
			},
			want: State{Status: StatusIdle, Turns: 1, LastStopReason: "end_turn", TurnStartSeq: 5},
		},
		{
			name: "a turn error returns to idle with the error",
			steps: []step{
				{out(prompt("turn-1", "hi")), StatusRunning},
				{in(`{"jsonrpc":"2.0","id":"turn-1","error":{"code":-32603,"message":"Internal error"}}`), StatusIdle},
			},
			want: State{Status: StatusIdle, Turns: 1, LastError: "agent error -32603: Internal error", TurnStartSeq: 1},
		},
		{
			name: "responses to other ids do not end the turn",
			steps: []step{
				{out(prompt("turn-1", "hi")), StatusRunning},
				{in(newResult), StatusRunning},
				{in(`{"jsonrpc":"2.0","id":3,"error":{"code":-32601,"message":"Method not found"}}`), StatusRunning},
				{in(turnEnd("turn-0", "end_turn")), StatusRunning},
			},
			want: State{Status: StatusRunning, Turn: "turn-1", Turns: 1, TurnStartSeq: 1},
		},
		{
			name: "a cancelled turn stays running until its response",
			steps: []step{
				{out(prompt("turn-1", "long job")), StatusRunning},
				{out(cancelOut), StatusRunning},
				{in(turnEnd("turn-1", "cancelled")), StatusIdle},
			},
			want: State{Status: StatusIdle, Turns: 1, LastStopReason: "cancelled", TurnStartSeq: 1},
		},
		{
			name: "a second prompt resets the last turn's outcome",
			steps: []step{
				{out(prompt("turn-1", "a")), StatusRunning},
				{in(chunk("first")), StatusRunning},
				{in(`{"jsonrpc":"2.0","id":"turn-1","error":{"code":-32603,"message":"Internal error"}}`), StatusIdle},
				{out(prompt("turn-2", "b")), StatusRunning},
				{in(chunk("second")), StatusRunning},
			},
			want: State{Status: StatusRunning, Turn: "turn-2", Turns: 2, TurnStartSeq: 4},
		},
		{
			name: "message chunks outside a turn leave the session idle",
			steps: []step{
				{in(chunk("stray")), StatusIdle},
				{out(prompt("turn-1", "a")), StatusRunning},
				{in(turnEnd("turn-1", "end_turn")), StatusIdle},
				{in(chunk("late")), StatusIdle},
			},
			want: State{Status: StatusIdle, Turns: 1, LastStopReason: "end_turn", TurnStartSeq: 2},
		},
		{
			name: "the agent exiting mid-turn fails the session",
			steps: []step{
				{out(prompt("turn-1", "hi")), StatusRunning},
				{in(permRequest(`"perm-1"`)), StatusWaitingPermission},
				{in(exitFailed), StatusFailed},
			},
			want: State{Status: StatusFailed, Turns: 1, LastError: "the agent process exited with code 1", TurnStartSeq: 1},
		},
		{
			name: "even a clean exit mid-turn fails the session",
			steps: []step{
				{out(prompt("turn-1", "hi")), StatusRunning},
				{in(exitOK), StatusFailed},
			},
			want: State{Status: StatusFailed, Turns: 1, LastError: "the agent process exited with code 0", TurnStartSeq: 1},
		},
		{
			name:  "a clean exit when idle ends the session",
			steps: []step{{in(exitOK), StatusEnded}},
			want:  State{Status: StatusEnded},
		},
		{
			name:  "an unsuccessful exit when idle fails the session",
			steps: []step{{in(exitFailed), StatusFailed}},
			want:  State{Status: StatusFailed, LastError: "the agent process exited with code 1"},
		},
		{
			name: "nothing moves an ended session",
			steps: []step{
				{in(exitOK), StatusEnded},
				{out(prompt("turn-1", "hi")), StatusEnded},
				{in(permRequest(`7`)), StatusEnded},
			},
			want: State{Status: StatusEnded},
		},
		{
			name: "malformed records change nothing",
			steps: []step{
				{out(prompt("turn-1", "hi")), StatusRunning},
				{in(`{"id":"turn-1",`), StatusRunning},
				{out(`garbage`), StatusRunning},
				{in(`{"jsonrpc":"2.0","method":"session/request_permission","params":{}}`), StatusRunning}, // no id: not a request
			},
			want: State{Status: StatusRunning, Turn: "turn-1", Turns: 1, TurnStartSeq: 1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			recs := make([]eventlog.Record, len(tt.steps))
			for i, s := range tt.steps {
				recs[i] = s.rec
			}
			recs = records(recs...)
			s := NewState()
			for i, r := range recs {
				s.Apply(r)
				if s.Status != tt.steps[i].want {
					t.Fatalf("after record %d %s: got status %q, want %q", r.Seq, r.Env, s.Status, tt.steps[i].want)
				}
			}
			got := State{Status: s.Status, Turn: s.Turn, Turns: s.Turns, LastStopReason: s.LastStopReason,
				LastError: s.LastError, TurnStartSeq: s.TurnStartSeq}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("state:\ngot  %+v\nwant %+v", got, tt.want)
			}
			if tt.want.Status != StatusWaitingPermission && (len(s.Pending) != 0 || len(s.PendingIDs) != 0) {
				t.Errorf("pending: got %d requests, %d ids, want none", len(s.Pending), len(s.PendingIDs))
			}
		})
	}
}

func TestStatePendingIDsKeepTheRawIDType(t *testing.T) {
	s := NewState()
	for _, r := range records(out(prompt("turn-1", "two edits")), in(permRequest(`"perm-1"`)), in(permRequest(`7`))) {
		s.Apply(r)
	}
	if got, want := s.Status, StatusWaitingPermission; got != want {
		t.Fatalf("status: got %q, want %q", got, want)
	}
	wantIDs := map[string]json.RawMessage{"perm-1": json.RawMessage(`"perm-1"`), "7": json.RawMessage(`7`)}
	if !reflect.DeepEqual(s.PendingIDs, wantIDs) {
		t.Errorf("PendingIDs: got %s, want %s", s.PendingIDs, wantIDs)
	}
	var ids []string
	for _, p := range s.Pending {
		ids = append(ids, p.Permission.RequestID)
	}
	if want := []string{"perm-1", "7"}; !slices.Equal(ids, want) {
		t.Errorf("pending request ids: got %q, want %q", ids, want)
	}
	if got := s.Pending[1]; got.Seq != 3 || got.Kind != KindPermissionRequest || len(got.Permission.Options) != 3 {
		t.Errorf("pending event: got seq %d kind %s with %d options, want seq 3 permission_request with 3 options",
			got.Seq, got.Kind, len(got.Permission.Options))
	}

	// The persisted state must give back the same raw ids.
	data, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var loaded State
	if err := json.Unmarshal(data, &loaded); err != nil {
		t.Fatal(err)
	}
	for k, v := range wantIDs {
		if !bytes.Equal(loaded.PendingIDs[k], v) {
			t.Errorf("reloaded PendingIDs[%s]: got %s, want %s", k, loaded.PendingIDs[k], v)
		}
	}

	// Answering the numeric one leaves the string one pending; answering that resumes the turn.
	loaded.Apply(eventlog.Record{Seq: 4, Dir: eventlog.DirOut, Env: json.RawMessage(permAnswer(`7`, "allow"))})
	if _, still := loaded.PendingIDs["7"]; still || loaded.Status != StatusWaitingPermission || len(loaded.Pending) != 1 {
		t.Errorf("after answering 7: got status %q, %d pending, ids %s; want waiting_permission with perm-1 only",
			loaded.Status, len(loaded.Pending), loaded.PendingIDs)
	}
	loaded.Apply(eventlog.Record{Seq: 5, Dir: eventlog.DirOut, Env: json.RawMessage(`{"jsonrpc":"2.0","id":"perm-1","result":{"outcome":{"outcome":"cancelled"}}}`)})
	if loaded.Status != StatusRunning || len(loaded.Pending) != 0 || len(loaded.PendingIDs) != 0 {
		t.Errorf("after answering perm-1: got status %q, %d pending, ids %s; want running with none",
			loaded.Status, len(loaded.Pending), loaded.PendingIDs)
	}
}

func TestStateEndAndFail(t *testing.T) {
	waiting := func() State {
		s := NewState()
		for _, r := range records(out(prompt("turn-1", "hi")), in(permRequest(`"perm-1"`))) {
			s.Apply(r)
		}
		return s
	}
	tests := []struct {
		name          string
		do            func(*State)
		wantStatus    string
		wantLastError string
	}{
		{name: "End ends a waiting session and drops its requests", do: (*State).End, wantStatus: StatusEnded},
		{name: "Fail fails a waiting session with the reason", do: func(s *State) { s.Fail("sandbox-agent lost it") },
			wantStatus: StatusFailed, wantLastError: "sandbox-agent lost it"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := waiting()
			tt.do(&s)
			if s.Status != tt.wantStatus || s.LastError != tt.wantLastError || s.Turn != "" || s.Pending != nil || s.PendingIDs != nil {
				t.Errorf("got %+v, want status %q, last error %q, no turn and nothing pending", s, tt.wantStatus, tt.wantLastError)
			}
			s.Apply(eventlog.Record{Seq: 9, Dir: eventlog.DirOut, Env: json.RawMessage(prompt("turn-2", "again"))})
			if s.Status != tt.wantStatus || s.Turns != 1 {
				t.Errorf("a prompt after the end: got status %q turns %d, want %q and 1", s.Status, s.Turns, tt.wantStatus)
			}
		})
	}
}

// FuzzNormalize feeds arbitrary envelopes to Normalize and State.Apply. Each input line is one record; a
// line starting with "out " is a record we sent, any other line one the agent sent.
func FuzzNormalize(f *testing.F) {
	f.Add([]byte(chunk("Hel") + "\n" + chunk("lo")))
	f.Add([]byte("out " + prompt("turn-1", "hi") + "\n" + permRequest(`7`) + "\nout " + permAnswer(`7`, "allow") + "\n" + turnEnd("turn-1", "end_turn")))
	f.Add([]byte(`{"id":null,"method":"session/request_permission","params":null}`))
	f.Fuzz(func(t *testing.T, input []byte) {
		var recs []eventlog.Record
		for _, line := range bytes.Split(input, []byte("\n")) {
			if env, ok := bytes.CutPrefix(line, []byte("out ")); ok {
				recs = append(recs, out(string(env)))
			} else {
				recs = append(recs, in(string(line)))
			}
		}
		recs = records(recs...)

		plain, withRaw := Normalize(recs, false), Normalize(recs, true)
		if len(plain) != len(withRaw) {
			t.Fatalf("raw changes the event count: %d vs %d", len(plain), len(withRaw))
		}
		var last int64
		for i, ev := range withRaw {
			if !slices.Contains(Kinds, ev.Kind) {
				t.Errorf("event %d: unknown kind %q", i, ev.Kind)
			}
			if ev.Seq <= last || (ev.FirstSeq != 0 && (ev.FirstSeq <= last || ev.FirstSeq >= ev.Seq)) {
				t.Errorf("event %d: seq %d first_seq %d after seq %d: cursors must increase", i, ev.Seq, ev.FirstSeq, last)
			}
			if len(ev.Raw) == 0 || plain[i].Raw != nil {
				t.Errorf("event %d: %d raw envelopes with raw, %d without", i, len(ev.Raw), len(plain[i].Raw))
			}
			last = ev.Seq
		}

		s := NewState()
		for _, r := range recs {
			s.Apply(r)
			if !slices.Contains(Statuses, s.Status) {
				t.Fatalf("unknown status %q", s.Status)
			}
			if s.Status == StatusWaitingPermission && len(s.Pending) == 0 {
				t.Fatalf("waiting for permission with nothing pending")
			}
		}
		if _, err := json.Marshal(s); err != nil {
			t.Fatalf("the state does not serialise: %v", err)
		}
	})
}

// TestStateCopyUnchangedByApply: a copy of a State (a session's Snapshot, read without its owner's lock)
// keeps its usage and pending ids while the original goes on applying records: Apply copies what it shares
// with a copy before changing it, so a reader never races the writer. Each record is checked on its own.
func TestStateCopyUnchangedByApply(t *testing.T) {
	s := NewState()
	for i, r := range []eventlog.Record{
		out(prompt("turn-1", "go")),
		in(update(`{"sessionUpdate":"usage_update","used":100,"size":1000}`)),
		in(permRequest(`7`)),
		in(update(`{"sessionUpdate":"usage_update","used":300,"size":1000,"cost":{"amount":0.5,"currency":"USD"}}`)),
		in(permRequest(`8`)),
		out(permAnswer(`7`, "allow")),
		out(permAnswer(`8`, "reject")),
		in(turnEnd("turn-1", "end_turn")),
		out(prompt("turn-2", "again")),
	} {
		snap := s
		before, err := json.Marshal(snap)
		if err != nil {
			t.Fatal(err)
		}
		r.Seq = int64(i + 1)
		s.Apply(r)
		if after, _ := json.Marshal(snap); !bytes.Equal(before, after) {
			t.Errorf("applying %s changed a copy:\nbefore %s\nafter  %s", r.Env, before, after)
		}
	}
	if s.Usage.Session.ContextUsed != 300 || s.Turns != 2 || len(s.Usage.Turns) != 1 || len(s.PendingIDs) != 0 {
		t.Errorf("the original did not advance: %+v, usage %+v", s, s.Usage)
	}
}

package state

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/sandbox-mcp/sandbox-mcp/events"
	"github.com/sandbox-mcp/sandbox-mcp/redact"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func openStore(t *testing.T) *Store {
	t.Helper()
	s, err := Open(filepath.Join(t.TempDir(), "state"))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s
}

func sandboxRec(name string) Sandbox {
	return Sandbox{Name: name, Backend: "docker", Workspace: "/home/u/" + name, Agent: "claude", AgentPort: 2468,
		AgentVersion: "0.4.2", Created: t0}
}

func sessionRec(sandbox, name string, created time.Time) Session {
	st := events.NewState()
	st.Turns = 2
	st.PendingIDs = map[string]json.RawMessage{"7": json.RawMessage(`7`)}
	return Session{Sandbox: sandbox, Name: name, Agent: "claude", ServerID: "sdk-claude-" + name, SessionID: "sess-" + name,
		Cwd: "/ws", Created: created, Modes: json.RawMessage(`{"currentModeId":"default"}`), State: st}
}

// compact is v as compact JSON (json.Marshal compacts embedded RawMessages).
func compact(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestSandboxRecords(t *testing.T) {
	s := openStore(t)
	for _, name := range []string{"zeta", "alpha", "mid"} {
		if err := s.PutSandbox(sandboxRec(name)); err != nil {
			t.Fatalf("PutSandbox(%s): %v", name, err)
		}
	}
	updated := sandboxRec("mid")
	updated.LastUsed = t0.Add(time.Hour)
	if err := s.PutSandbox(updated); err != nil {
		t.Fatal(err)
	}

	got, err := s.GetSandbox("mid")
	if err != nil || !reflect.DeepEqual(got, updated) {
		t.Errorf("GetSandbox(mid): got %+v, %v; want %+v", got, err, updated)
	}
	list, err := s.ListSandboxes()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, r := range list {
		names = append(names, r.Name)
	}
	if want := []string{"alpha", "mid", "zeta"}; !reflect.DeepEqual(names, want) {
		t.Errorf("ListSandboxes: got %q, want %q (sorted by name)", names, want)
	}
	if _, err := s.GetSandbox("nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("GetSandbox(nope): got %v, want ErrNotFound", err)
	}
}

func TestListOfAnEmptyStore(t *testing.T) {
	s := openStore(t)
	sbs, err := s.ListSandboxes()
	if err != nil || len(sbs) != 0 {
		t.Errorf("ListSandboxes: got %v, %v; want none", sbs, err)
	}
	sess, err := s.ListSessions("never-created")
	if err != nil || len(sess) != 0 {
		t.Errorf("ListSessions of an unknown sandbox: got %v, %v; want none", sess, err)
	}
}

func TestSessionRecords(t *testing.T) {
	s := openStore(t)
	recs := []Session{
		sessionRec("box", "late", t0.Add(2*time.Minute)),
		sessionRec("box", "early", t0),
		sessionRec("box", "middle", t0.Add(time.Minute)),
		sessionRec("other", "elsewhere", t0),
	}
	for _, r := range recs {
		if err := s.PutSession(r); err != nil {
			t.Fatalf("PutSession(%s/%s): %v", r.Sandbox, r.Name, err)
		}
	}
	got, err := s.GetSession("box", "early")
	if err != nil {
		t.Fatalf("GetSession(box, early): %v", err)
	}
	// Raw JSON members come back re-indented by MarshalIndent: compare them as JSON.
	if g, w := compact(t, got), compact(t, recs[1]); g != w {
		t.Errorf("GetSession(box, early):\ngot  %s\nwant %s", g, w)
	}
	if string(got.State.PendingIDs["7"]) != "7" {
		t.Errorf("the state's raw pending id: got %s, want 7", got.State.PendingIDs["7"])
	}
	list, err := s.ListSessions("box")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, r := range list {
		names = append(names, r.Name)
	}
	if want := []string{"early", "middle", "late"}; !reflect.DeepEqual(names, want) {
		t.Errorf("ListSessions(box): got %q, want %q (sorted by creation)", names, want)
	}
	if _, err := s.GetSession("box", "nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("GetSession(box, nope): got %v, want ErrNotFound", err)
	}
	if _, err := s.GetSession("nobox", "early"); !errors.Is(err, ErrNotFound) {
		t.Errorf("GetSession(nobox, early): got %v, want ErrNotFound", err)
	}
	if got, want := s.LogPath("box", "early"), filepath.Join(s.Dir(), "sessions", "box", "early.log"); got != want {
		t.Errorf("LogPath: got %q, want %q", got, want)
	}
}

func TestDeleteSandboxArchivesSessionsAndFreesTheName(t *testing.T) {
	s := openStore(t)
	if err := s.PutSandbox(sandboxRec("box")); err != nil {
		t.Fatal(err)
	}
	if err := s.PutSession(sessionRec("box", "s1", t0)); err != nil {
		t.Fatal(err)
	}
	logData := []byte(`{"seq":1}` + "\n")
	if err := os.WriteFile(s.LogPath("box", "s1"), logData, 0o600); err != nil {
		t.Fatal(err)
	}

	if err := s.DeleteSandbox("box"); err != nil {
		t.Fatalf("DeleteSandbox: %v", err)
	}
	if _, err := s.GetSandbox("box"); !errors.Is(err, ErrNotFound) {
		t.Errorf("GetSandbox after delete: got %v, want ErrNotFound", err)
	}
	if list, err := s.ListSessions("box"); err != nil || len(list) != 0 {
		t.Errorf("ListSessions after delete: got %d sessions, %v; want none", len(list), err)
	}
	archived, _ := filepath.Glob(filepath.Join(s.Dir(), "archive", "box-*"))
	if len(archived) != 1 {
		t.Fatalf("archive: got %q, want one box-<time> dir", archived)
	}
	if got, err := os.ReadFile(filepath.Join(archived[0], "s1.log")); err != nil || string(got) != string(logData) {
		t.Errorf("archived log: got %q, %v; want %q", got, err, logData)
	}
	if _, err := os.Stat(filepath.Join(archived[0], "s1.json")); err != nil {
		t.Errorf("archived session record: %v", err)
	}

	// The name is free again: a new sandbox of that name starts with no sessions.
	if err := s.PutSandbox(sandboxRec("box")); err != nil {
		t.Fatal(err)
	}
	if err := s.PutSession(sessionRec("box", "s2", t0)); err != nil {
		t.Fatal(err)
	}
	list, err := s.ListSessions("box")
	if err != nil || len(list) != 1 || list[0].Name != "s2" {
		t.Errorf("sessions of the new box: got %+v, %v; want only s2", list, err)
	}
	if _, err := s.GetSession("box", "s1"); !errors.Is(err, ErrNotFound) {
		t.Errorf("the old session under the reused name: got %v, want ErrNotFound", err)
	}

	// Deleting again archives the second generation beside the first.
	if err := s.DeleteSandbox("box"); err != nil {
		t.Fatal(err)
	}
	if archived, _ := filepath.Glob(filepath.Join(s.Dir(), "archive", "box-*")); len(archived) != 2 {
		t.Errorf("archive after a second delete: got %q, want two dirs", archived)
	}
}

func TestDeleteSandboxWithoutSessionsOrRecord(t *testing.T) {
	s := openStore(t)
	if err := s.DeleteSandbox("never-existed"); err != nil {
		t.Errorf("DeleteSandbox of an unknown name: got %v, want nil", err)
	}
	if err := s.PutSandbox(sandboxRec("bare")); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteSandbox("bare"); err != nil {
		t.Errorf("DeleteSandbox without sessions: got %v, want nil", err)
	}
	if entries, _ := os.ReadDir(filepath.Join(s.Dir(), "archive")); len(entries) != 0 {
		t.Errorf("archive: got %d entries, want none for a sandbox without sessions", len(entries))
	}
}

func TestPermissions(t *testing.T) {
	s := openStore(t)
	if err := s.PutSandbox(sandboxRec("box")); err != nil {
		t.Fatal(err)
	}
	if err := s.PutSession(sessionRec("box", "s1", t0)); err != nil {
		t.Fatal(err)
	}
	err := filepath.WalkDir(s.Dir(), func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		want := fs.FileMode(0o600)
		if d.IsDir() {
			want = 0o700
		}
		if got := info.Mode().Perm(); got != want {
			t.Errorf("%s: got mode %v, want %v", path, got, want)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestWriteJSONLeavesNoTempFiles(t *testing.T) {
	s := openStore(t)
	for i := range 5 {
		r := sandboxRec("box")
		r.AgentPort = 2468 + i
		if err := s.PutSandbox(r); err != nil {
			t.Fatal(err)
		}
		if err := s.PutSession(sessionRec("box", "s1", t0.Add(time.Duration(i)))); err != nil {
			t.Fatal(err)
		}
	}
	for _, dir := range []string{filepath.Join(s.Dir(), "sandboxes"), filepath.Join(s.Dir(), "sessions", "box")} {
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		want := []string{"box.json"}
		if strings.HasSuffix(dir, "box") {
			want = []string{"s1.json"}
		}
		if !reflect.DeepEqual(names, want) {
			t.Errorf("%s: got %q, want %q", dir, names, want)
		}
	}
	if got, err := s.GetSandbox("box"); err != nil || got.AgentPort != 2472 {
		t.Errorf("GetSandbox: got port %d, %v; want the last write, 2472", got.AgentPort, err)
	}
}

func TestWriteJSONFailureLeavesTheOldRecord(t *testing.T) {
	s := openStore(t)
	if err := s.PutSandbox(sandboxRec("box")); err != nil {
		t.Fatal(err)
	}
	bad := sandboxRec("box")
	err := s.writeJSON(s.sandboxPath("box"), map[string]any{"sandbox": bad, "bad": func() {}})
	if err == nil {
		t.Fatal("writeJSON of an unencodable value: got nil, want an error")
	}
	got, err := s.GetSandbox("box")
	if err != nil || !reflect.DeepEqual(got, sandboxRec("box")) {
		t.Errorf("after a failed write: got %+v, %v; want the old record", got, err)
	}
}

func TestTornTempFileFromACrashIsIgnored(t *testing.T) {
	s := openStore(t)
	if err := s.PutSandbox(sandboxRec("box")); err != nil {
		t.Fatal(err)
	}
	if err := s.PutSession(sessionRec("box", "s1", t0)); err != nil {
		t.Fatal(err)
	}
	// A crash between CreateTemp and Rename leaves a half-written temp file behind.
	for _, dir := range []string{filepath.Join(s.Dir(), "sandboxes"), filepath.Join(s.Dir(), "sessions", "box")} {
		if err := os.WriteFile(filepath.Join(dir, ".tmp-123456"), []byte(`{"name":"torn","back`), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	sbs, err := s.ListSandboxes()
	if err != nil || len(sbs) != 1 || sbs[0].Name != "box" {
		t.Errorf("ListSandboxes: got %+v, %v; want only box", sbs, err)
	}
	sess, err := s.ListSessions("box")
	if err != nil || len(sess) != 1 || sess[0].Name != "s1" {
		t.Errorf("ListSessions: got %+v, %v; want only s1", sess, err)
	}
	// And the next write over it still works.
	if err := s.PutSandbox(sandboxRec("box")); err != nil {
		t.Errorf("PutSandbox after a crash: %v", err)
	}
}

func TestOpenIsIdempotent(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	s1, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := s1.PutSandbox(sandboxRec("box")); err != nil {
		t.Fatal(err)
	}
	s2, err := Open(dir)
	if err != nil {
		t.Fatalf("second Open: %v", err)
	}
	if got, err := s2.GetSandbox("box"); err != nil || got.Name != "box" {
		t.Errorf("record after reopening: got %+v, %v", got, err)
	}
}

// TestRecordsAreRedacted: what an agent reports about itself (agent info, modes, models) and its pending
// requests and errors are stored in the session record; with Redact set, no record on disk holds a key,
// and the record still reads back as valid JSON.
func TestRecordsAreRedacted(t *testing.T) {
	const key = "sk-ant-canary-0123456789abcdef"
	s := openStore(t)
	s.Redact = redact.New([]string{key}).Bytes
	rec := Session{Sandbox: "box", Name: "claude-1", Agent: "claude", Created: t0,
		AgentInfo: json.RawMessage(`{"name":"agent","title":"` + key + `"}`),
		Modes:     json.RawMessage(`{"availableModes":[{"id":"m","name":"\u0073k-ant-canary-0123456789abcdef"}]}`),
		Models:    json.RawMessage(`{"availableModels":[{"modelId":"x","description":"uses ` + key + `"}]}`),
		State: events.State{Status: events.StatusWaitingPermission, LastError: "failed: " + key,
			Pending: []events.Event{{Kind: events.KindPermissionRequest, ToolCall: &events.ToolCall{ID: "c", Title: "run " + key}}}}}
	if err := s.PutSession(rec); err != nil {
		t.Fatal(err)
	}
	if err := s.PutSandbox(Sandbox{Name: "box", Workspace: "/w/" + key, Created: t0}); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{s.sessionPath("box", "claude-1"), s.sandboxPath("box")} {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(b), key) || strings.Contains(string(b), `\u0073k-ant`) || !strings.Contains(string(b), "[REDACTED]") {
			t.Errorf("%s holds the key (or no redaction happened):\n%s", path, b)
		}
	}
	got, err := s.GetSession("box", "claude-1")
	if err != nil {
		t.Fatalf("the redacted record does not read back: %v", err)
	}
	if !strings.Contains(string(got.AgentInfo), "[REDACTED]") {
		t.Errorf("agent info read back = %s", got.AgentInfo)
	}
}

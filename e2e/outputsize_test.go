package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/sandbox-mcp/sandbox-mcp/events"
	"github.com/sandbox-mcp/sandbox-mcp/internal/testenv"
	"github.com/sandbox-mcp/sandbox-mcp/internal/testkit"
	"github.com/sandbox-mcp/sandbox-mcp/live"
	"github.com/sandbox-mcp/sandbox-mcp/manager"
)

// Claude Code refuses an MCP tool result over 25 000 tokens (MAX_MCP_OUTPUT_TOKENS); other hosts have
// similar limits or silently cut. We count bytes, not tokens: English prose and JSON run at about 4
// characters per token with Claude's tokenizer, and denser text (paths, ids, numbers, punctuation) at
// less, so 3.5 characters per token is a conservative rate: 25 000 × 3.5 = 87 500 bytes. What a host may
// pass to the model is the text content and the structured content (as JSON), and some hosts pass both,
// so the two are added up.
const (
	hostTokenLimit  = 25_000
	charsPerToken   = 3.5
	hostOutputBytes = int(hostTokenLimit * charsPerToken) // 87 500
)

// TestOutputSize drives the worst cases of every tool whose output grows with what the agent did, with
// default arguments, on the sbx test double, and checks that each result stays within hostOutputBytes and
// that a result cut to fit says so and lets the client read on.
func TestOutputSize(t *testing.T) {
	env, bin := testkit.FakeEnv(t)
	h := startServer(t, testkit.SandboxArgs(t, "sbx", bin), env)

	t.Run("get_events: 2000 tool calls", func(t *testing.T) {
		s := newSession(t, h)
		turn := s.send(t, "calls 2000", 0)
		waitTurnEnded(t, s)
		var titles []string
		pages, lost := readEventsChecked(t, s, turn.Cursor, func(ev events.Event) {
			if ev.Kind == events.KindToolCall {
				titles = append(titles, ev.ToolCall.Title)
			}
		})
		if got, want := strings.Join(titles, " ")+" ", series("t", 2000); got != want && !lost {
			t.Errorf("read %d tool calls, want t1..t2000 in order, each once", len(titles))
		}
		t.Logf("2000 tool calls in %d pages", pages)
	})

	t.Run("get_events: one message of 3000 chunks", func(t *testing.T) {
		s := newSession(t, h)
		turn := s.send(t, "events 3000", 0)
		waitTurnEnded(t, s)
		msgs := checkedAgentMessages(t, s, turn.Cursor)
		if len(msgs) == 0 || !strings.HasPrefix(msgs[0].Text, "e1 e2 e3 ") {
			t.Fatalf("agent messages: %+v", msgs)
		}
		// Not a default: raw=true adds every ACP envelope behind each event, and a merged message has one
		// per chunk. Measured for the record, not held to the budget.
		largest := 0
		for cursor, more := turn.Cursor, true; more; {
			res := s.h.Call("get_events", map[string]any{"sandbox": s.sandbox, "session": s.session, "cursor": cursor, "raw": true})
			txt, js := outputSize(t, "get_events raw=true", res)
			largest = max(largest, txt+js)
			var page live.Page
			decode(t, res, &page)
			cursor, more = page.NextCursor, page.More
		}
		t.Logf("get_events raw=true (not a default): the largest page is %d bytes (%.0f%% of the budget)", largest, 100*float64(largest)/float64(hostOutputBytes))
	})

	t.Run("get_events and send_message: one 100 kB message", func(t *testing.T) {
		s := newSession(t, h)
		msg := "say " + proseText(99_990)
		res := s.h.Call("send_message", map[string]any{"sandbox": s.sandbox, "session": s.session, "message": msg, "wait_seconds": 45})
		outputWithin(t, "send_message with wait_seconds", res)
		var turn manager.TurnResult
		decode(t, res, &turn)
		waitTurnEnded(t, s)
		msgs := checkedAgentMessages(t, s, turn.Cursor)
		if len(msgs) == 0 || !strings.HasPrefix(msgs[0].Text, "lorem ipsum") {
			t.Fatalf("agent messages: %+v", msgs)
		}
	})

	t.Run("get_events: eleven 8 kB messages", func(t *testing.T) {
		// Messages as large as an event may be, kept apart by tool calls so they do not merge: pages are
		// then cut by bytes, not by count, with text that JSON escapes (quotes, newlines).
		s := newSession(t, h)
		var script []string
		var want strings.Builder
		for i := range 11 {
			m := fmt.Sprintf("m%02d %s", i, proseText(7_900))
			script = append(script, "say "+m, fmt.Sprintf("tool step %d", i))
			want.WriteString(strings.TrimSpace(m))
		}
		turn := s.send(t, strings.Join(script, "; "), 0)
		waitTurnEnded(t, s)
		var got strings.Builder
		cut := false
		_, lost := readPagesChecked(t, s, turn.Cursor, func(page live.Page) {
			cut = cut || page.Truncated
			for _, ev := range page.Events {
				if ev.Kind == events.KindAgentMessage {
					// A message cut by a page boundary goes on as the next page's first event.
					got.WriteString(ev.Text)
				}
			}
		})
		switch {
		case lost:
			t.Log("events were lost upstream: the pages' content is not checked")
		case !cut:
			t.Error("no page was cut by size: the case does not reach the byte limit")
		case got.String() != want.String():
			t.Errorf("the messages read across pages (%d bytes) differ from the ones sent (%d bytes): lost or doubled text", got.Len(), want.Len())
		}
	})

	t.Run("list_sandboxes: several sandboxes", func(t *testing.T) {
		// On the double every sandbox-agent listens on the same loopback port, so sandboxes after the
		// first reach the first one's agent; what is measured here, the listing, is unaffected.
		const ours, sessionsEach, foreign = 6, 4, 24
		for range ours {
			s := newSession(t, h)
			for range sessionsEach - 1 {
				var sess manager.SessionResult
				h.OK("create_session", map[string]any{"sandbox": s.sandbox, "agent": "mock"}, &sess)
			}
		}
		ws := t.TempDir()
		for i := range foreign {
			name := fmt.Sprintf("someone-elses-sandbox-%02d", i)
			if err := testkit.RunFake(bin, env, "create", "--name", name, "-t", "sandbox-mcp/test:latest", "shell", ws); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = testkit.RunFake(bin, env, "rm", "-f", name) })
		}
		res := h.Call("list_sandboxes", map[string]any{})
		n := outputWithin(t, "list_sandboxes", res)
		var list manager.SandboxList
		decode(t, res, &list)
		if len(list.Sandboxes) < ours+foreign {
			t.Fatalf("list_sandboxes shows %d sandboxes, want %d: %s", len(list.Sandboxes), ours+foreign, testkit.Text(res))
		}
		// list_sandboxes has no paging: say how many sandboxes fit.
		per := n / (ours*(1+sessionsEach) + foreign)
		t.Logf("list_sandboxes: %d bytes for %d sandboxes with %d sessions (~%d bytes a row): about %d rows fit the limit",
			n, ours+foreign, ours*sessionsEach, per, hostOutputBytes/per)
	})

	t.Run("get_diff: a 540 kB change, then 600 new files", func(t *testing.T) {
		ws := repoWithFiles(t, 6)
		s := sessionOnRepo(t, h, ws)
		// 6 tracked files of 90 kB each (a message is at most 100 000 characters: one file a turn).
		for i := range 6 {
			turn := s.send(t, fmt.Sprintf("write big-%d.txt %s", i, sourceLines(90_000)), 45)
			if !turn.Done || turn.StopReason != "end_turn" {
				t.Fatalf("write turn %d: %+v", i, turn)
			}
		}
		res := h.Call("get_diff", map[string]any{"sandbox": s.sandbox})
		outputWithin(t, "get_diff of a 540 kB change", res)
		var d manager.DiffResult
		decode(t, res, &d)
		if !d.Truncated || !strings.Contains(testkit.Text(res), "(truncated)") {
			t.Errorf("get_diff of a 540 kB change: truncated=%v, %d bytes of diff", d.Truncated, len(d.Diff))
		}

		// The worst case: as much diff as get_diff returns, and as many new files as it lists.
		var script []string
		for i := range 600 {
			script = append(script, fmt.Sprintf("write generated/module-%03d/src/implementation_of_feature_%03d.go x", i, i))
		}
		if turn := s.send(t, strings.Join(script, "; "), 45); !turn.Done || turn.StopReason != "end_turn" {
			t.Fatalf("write turn: %+v", turn)
		}
		res = h.Call("get_diff", map[string]any{"sandbox": s.sandbox})
		outputWithin(t, "get_diff of a 540 kB change and 600 new files", res)
		decode(t, res, &d)
		if !d.Truncated || len(d.Untracked) >= 600 {
			t.Errorf("get_diff with 600 new files: truncated=%v, %d listed", d.Truncated, len(d.Untracked))
		}
	})
}

// outputWithin fails the test when res is larger than a host takes, and returns its size.
func outputWithin(t *testing.T, what string, res *mcp.CallToolResult) int {
	t.Helper()
	txt, js := outputSize(t, what, res)
	n := txt + js
	if n > hostOutputBytes {
		t.Errorf("%s: %d bytes (text %d + structured %d) is over the %d-byte budget (%d tokens at %.1f bytes a token)",
			what, n, txt, js, hostOutputBytes, hostTokenLimit, charsPerToken)
	} else {
		t.Logf("%s: %d bytes (text %d + structured %d), %.0f%% of the budget", what, n, txt, js, 100*float64(n)/float64(hostOutputBytes))
	}
	return n
}

// outputSize measures a successful result: its text content, and its structured content as JSON (as a
// JavaScript host would serialize it: no HTML escaping).
func outputSize(t *testing.T, what string, res *mcp.CallToolResult) (txt, js int) {
	t.Helper()
	if res.IsError {
		t.Fatalf("%s failed: %s", what, testkit.Text(res))
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(res.StructuredContent); err != nil {
		t.Fatal(err)
	}
	return len(testkit.Text(res)), b.Len() - 1 // Encode adds a newline
}

// readPagesChecked reads get_events with default arguments from cursor until nothing more is there,
// checking each page's size and that next_cursor always moves on. It returns the number of pages, and
// whether the server reported lost events (see noteLostEvents), which voids checks of the content.
func readPagesChecked(t *testing.T, s session, cursor int64, each func(live.Page)) (pages int, lost bool) {
	t.Helper()
	var largest int
	for pages = 1; ; pages++ {
		res := s.h.Call("get_events", map[string]any{"sandbox": s.sandbox, "session": s.session, "cursor": cursor})
		txt, js := outputSize(t, "get_events", res)
		largest = max(largest, txt+js)
		var page live.Page
		decode(t, res, &page)
		for _, ev := range page.Events {
			lost = noteLostEvents(t, ev) || lost
		}
		each(page)
		if page.Truncated && (!page.More || !strings.Contains(testkit.Text(res), "truncated=true")) {
			t.Errorf("page %d is truncated but more=%v, text says %q", pages, page.More, lastBytes(testkit.Text(res), 80))
		}
		if page.More && page.NextCursor <= cursor {
			t.Fatalf("page %d: next_cursor %d does not move on from %d", pages, page.NextCursor, cursor)
		}
		cursor = page.NextCursor
		if !page.More {
			t.Logf("get_events: %d pages, the largest %d bytes (%.0f%% of the budget)", pages, largest, 100*float64(largest)/float64(hostOutputBytes))
			if largest > hostOutputBytes {
				t.Errorf("get_events: a page of %d bytes is over the %d-byte budget", largest, hostOutputBytes)
			}
			return pages, lost
		}
	}
}

// readEventsChecked is readPagesChecked, event by event.
func readEventsChecked(t *testing.T, s session, cursor int64, each func(events.Event)) (pages int, lost bool) {
	t.Helper()
	return readPagesChecked(t, s, cursor, func(p live.Page) {
		for _, ev := range p.Events {
			each(ev)
		}
	})
}

// checkedAgentMessages reads the turn from cursor with default arguments (checking each page's size) and
// returns its agent messages, each checked: one longer than an event may be must say it was cut and how
// to see the rest.
func checkedAgentMessages(t *testing.T, s session, cursor int64) []events.Event {
	t.Helper()
	var msgs []events.Event
	readEventsChecked(t, s, cursor, func(ev events.Event) {
		if ev.Kind != events.KindAgentMessage {
			return
		}
		msgs = append(msgs, ev)
		if len(ev.Text) > 8_000 && (!ev.Truncated || !strings.Contains(ev.Text, "the raw envelopes have all of it")) {
			t.Errorf("a %d-byte agent message: truncated=%v, ends %q", len(ev.Text), ev.Truncated, lastBytes(ev.Text, 80))
		}
	})
	return msgs
}

// noteLostEvents logs an error event saying events were lost (sandbox-agent replays only its last 1024
// events after its stream drops, which a fast enough burst causes): it is not what this test measures,
// and the sizes hold either way. It reports whether ev was one.
func noteLostEvents(t *testing.T, ev events.Event) bool {
	t.Helper()
	if ev.Kind == events.KindError && strings.Contains(ev.Error, "were lost") {
		t.Logf("note: %s", ev.Error)
		return true
	}
	return false
}

// waitTurnEnded waits until the session's turn has ended (a long turn outlives one waiting call).
func waitTurnEnded(t *testing.T, s session) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		var list manager.SessionList
		s.h.OK("list_sessions", map[string]any{"sandbox": s.sandbox}, &list)
		for _, se := range list.Sessions {
			if se.Name == s.session && se.Status == events.StatusIdle {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("session %s not idle after 2 min: %+v", s.session, list.Sessions)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// sessionOnRepo creates a sandbox over ws with one mock session, destroyed when the test ends.
func sessionOnRepo(t *testing.T, h *harness, ws string) session {
	t.Helper()
	var sb manager.SandboxResult
	h.OK("create_sandbox", map[string]any{"workspace": ws}, &sb)
	t.Cleanup(func() { h.Call("destroy_sandbox", map[string]any{"name": sb.Name}) })
	var sess manager.SessionResult
	h.OK("create_session", map[string]any{"sandbox": sb.Name, "agent": "mock"}, &sess)
	return session{h: h, sandbox: sb.Name, session: sess.Name}
}

// repoWithFiles makes a git repository with files big-0.txt … big-<n-1>.txt committed (one line each).
func repoWithFiles(t *testing.T, n int) string {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		testenv.Missing(t, "git", "install git (apt-get install git)")
	}
	ws := t.TempDir()
	git := func(args ...string) {
		cmd := exec.Command("git", append([]string{"-c", "user.email=t@t", "-c", "user.name=t", "-c", "init.defaultBranch=main", "-C", ws}, args...)...)
		cmd.Env = []string{"GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1", "HOME=" + ws, "PATH=/usr/local/bin:/usr/bin:/bin"}
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v: %s", args, err, out)
		}
	}
	git("init", "-q")
	files := []string{"README.md"}
	if err := writeTestFile(ws+"/README.md", "# project\n"); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		f := fmt.Sprintf("big-%d.txt", i)
		if err := writeTestFile(ws+"/"+f, "placeholder\n"); err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	git(append([]string{"add"}, files...)...)
	git("commit", "-q", "-m", "baseline")
	return ws
}

// proseText is n bytes of English-like text with quotes and newlines (which JSON escapes), and no ';' (the
// scripted agent's command separator).
func proseText(n int) string {
	const words = `lorem ipsum "dolor" sit amet, consectetur adipiscing elit, sed do eiusmod tempor.` + "\n"
	return strings.Repeat(words, n/len(words)+1)[:n]
}

// sourceLines is n bytes of source-like lines.
func sourceLines(n int) string {
	var b strings.Builder
	for i := 0; b.Len() < n; i++ {
		fmt.Fprintf(&b, "func generated%05d() int { return %d } // a line of a large generated file\n", i, i)
	}
	return b.String()[:n]
}

func writeTestFile(path, content string) error { return os.WriteFile(path, []byte(content), 0o644) }

func lastBytes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[len(s)-n:]
}

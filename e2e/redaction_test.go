package e2e

import (
	"context"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/sandbox-mcp/sandbox-mcp/events"
	"github.com/sandbox-mcp/sandbox-mcp/internal/testkit"
	"github.com/sandbox-mcp/sandbox-mcp/live"
	"github.com/sandbox-mcp/sandbox-mcp/manager"
	"github.com/sandbox-mcp/sandbox-mcp/tools"
)

// TestSecurityStreamedKey: the agent speaks the key in pieces of 1 to 3 bytes (messages and thoughts,
// fast and slowly), as streaming agents do. No channel may let a reader put it back together: get_events
// (normal and raw, read at every cursor and while the key streams in), progress notifications, send_message's
// final text, the transcript resource, the review prompt, the event log and every other state file, and
// the debug log. A channel's text is searched as a reader would join it: every JSON "text" value in it,
// concatenated in order (an envelope per chunk joins back into the key).
func TestSecurityStreamedKey(t *testing.T) {
	env, bin := testkit.FakeEnv(t)
	secret := randomHex(t)
	canary := "sk-ant-canary-" + secret
	env["ANTHROPIC_API_KEY"] = canary
	// The key must be inside the sandbox for the agent to leak it: sbx holds no secret here, so the
	// operator allows passing it by value (sandbox/sbx_creds.go).
	args := append(testkit.SandboxArgs(t, "sbx", bin), "--sbx-pass-keys")
	stateDir := strings.TrimPrefix(args[2], "--state-dir=")
	h, stdout, stderr := startCapturing(t, args, env)

	ws := t.TempDir()
	gitInit(t, ws) // the review prompt embeds the workspace's diff
	var sb manager.SandboxResult
	h.OK("create_sandbox", map[string]any{"workspace": ws}, &sb)
	var sess manager.SessionResult
	h.OK("create_session", map[string]any{"sandbox": sb.Name, "agent": "mock"}, &sess)
	get := func(args map[string]any) live.Page {
		args["sandbox"], args["session"] = sb.Name, sess.Name
		var page live.Page
		h.OK("get_events", args, &page)
		return page
	}

	// Pauses with the key as the last thing said let a progress tick (every 3 s) report it; the slow
	// spelling lets the reads below catch it half streamed.
	script := "spell 1 ANTHROPIC_API_KEY; sleep 3500; tool step; spell-think 2 ANTHROPIC_API_KEY; sleep 3500; " +
		"spell 3 ANTHROPIC_API_KEY 25; spell 1 ANTHROPIC_API_KEY 10; say done"
	var turn manager.TurnResult
	h.OK("send_message", map[string]any{"sandbox": sb.Name, "session": sess.Name, "message": script}, &turn)

	// While the turn runs: long polls with a progress token from the turn's start, reading on from each
	// next_cursor as the key streams in, and the same cursors in raw mode.
	progress := 0
	h.Client.OnNotification(func(n mcp.JSONRPCNotification) {
		if n.Method == "notifications/progress" {
			progress++
		}
	})
	deadline := time.Now().Add(60 * time.Second)
	for cursor := turn.Cursor; time.Now().Before(deadline); {
		req := mcp.CallToolRequest{}
		req.Params.Name = "get_events"
		req.Params.Meta = &mcp.Meta{ProgressToken: "p1"}
		req.Params.Arguments = map[string]any{"sandbox": sb.Name, "session": sess.Name, "cursor": cursor, "limit": 2, "wait_seconds": 5}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		res, err := h.Client.CallTool(ctx, req)
		cancel()
		if err != nil || res.IsError {
			t.Fatalf("get_events: %v %v", err, res)
		}
		var page live.Page
		decode(t, res, &page)
		get(map[string]any{"cursor": cursor, "limit": 2, "raw": true})
		cursor = page.NextCursor
		if page.Status == events.StatusIdle && !page.More {
			break
		}
	}

	// After the turn: every cursor, normal and raw, one event per page and the default page.
	last := get(map[string]any{"cursor": 0, "limit": 500}).NextCursor
	for c := int64(0); c < last; c++ {
		get(map[string]any{"cursor": c, "limit": 1})
		get(map[string]any{"cursor": c, "limit": 1, "raw": true})
	}
	all := get(map[string]any{"cursor": 0, "raw": true})
	joined := ""
	for _, ev := range all.Events {
		if ev.Kind == events.KindAgentMessage {
			joined += ev.Text
		}
	}
	if strings.Count(joined, "ANTHROPIC_API_KEY=[REDACTED:ANTHROPIC_API_KEY]") != 3 {
		t.Errorf("the agent's messages = %q, want the key redacted in each of its three spellings", joined)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := h.Client.ReadResource(ctx, mcp.ReadResourceRequest{Params: mcp.ReadResourceParams{URI: tools.TranscriptURI(sb.Name, sess.Name)}})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(resourceText(res), "[REDACTED:ANTHROPIC_API_KEY]") {
		t.Errorf("the transcript lacks the redacted key")
	}
	if _, err := h.Client.GetPrompt(ctx, mcp.GetPromptRequest{Params: mcp.GetPromptParams{Name: "review_sandbox_work",
		Arguments: map[string]string{"sandbox": sb.Name, "session": sess.Name}}}); err != nil {
		t.Fatal(err)
	}
	// send_message's final text: a second turn that ends within its wait.
	h.OK("send_message", map[string]any{"sandbox": sb.Name, "session": sess.Name, "message": "spell 2 ANTHROPIC_API_KEY", "wait_seconds": 30}, &turn)
	if !strings.Contains(turn.FinalText, "[REDACTED:ANTHROPIC_API_KEY]") {
		t.Errorf("final text = %q, want the key redacted", turn.FinalText)
	}
	if progress == 0 {
		t.Errorf("no progress notification arrived: that channel was not checked")
	}

	channels := map[string][]byte{"the MCP stream (results, notifications, resources, prompts)": stdout.Bytes(), "the debug log": stderr.Bytes()}
	var notes []byte
	for _, line := range strings.Split(string(stdout.Bytes()), "\n") {
		if strings.Contains(line, `"notifications/progress"`) {
			notes = append(notes, line+"\n"...)
		}
	}
	channels["the progress notifications"] = notes
	files := 0
	err = filepath.WalkDir(stateDir, func(path string, de fs.DirEntry, err error) error {
		if err != nil || !de.Type().IsRegular() {
			return err
		}
		b, err := os.ReadFile(path)
		files++
		channels["the state file "+strings.TrimPrefix(path, stateDir)] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for what, b := range channels {
		if piece := keyPiece(b, secret); piece != "" {
			t.Errorf("%s lets a reader rebuild the key: %q", what, piece)
		}
	}
	t.Logf("streamed key: %d progress notifications, %d state files, MCP stream %d bytes, log %d bytes: no piece of the key",
		progress, files, len(stdout.Bytes()), len(stderr.Bytes()))
}

// jsonText finds JSON string values under the key "text", at any depth.
var jsonText = regexp.MustCompile(`"text":("(?:[^"\\]|\\.)*")`)

// keyPiece looks for 10 or more bytes of secret in b as a reader could see them: in b itself, and in
// all of b's "text" values joined in order (decoded, so that JSON nested as a string is searched too).
// It returns the piece found, or "".
func keyPiece(b []byte, secret string) string {
	var joined strings.Builder
	for _, doc := range []string{string(b), unescapeOnce(string(b))} {
		for _, m := range jsonText.FindAllStringSubmatch(doc, -1) {
			var s string
			if json.Unmarshal([]byte(m[1]), &s) == nil {
				joined.WriteString(s)
			}
		}
	}
	for _, hay := range []string{string(b), joined.String()} {
		for i := 0; i+10 <= len(secret); i++ {
			if strings.Contains(hay, secret[i:i+10]) {
				return secret[i : i+10]
			}
		}
	}
	return ""
}

// unescapeOnce turns JSON nested inside JSON strings (\"text\":\"…\") back into JSON.
func unescapeOnce(s string) string {
	return strings.NewReplacer(`\"`, `"`, `\\`, `\`).Replace(s)
}

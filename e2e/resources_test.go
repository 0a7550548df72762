package e2e

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/sandbox-mcp/sandbox-mcp/events"
	"github.com/sandbox-mcp/sandbox-mcp/internal/testkit"
	"github.com/sandbox-mcp/sandbox-mcp/manager"
	"github.com/sandbox-mcp/sandbox-mcp/tools"
)

// TestResources reads the server's resources through a real MCP client, on the sandbox CLI double with
// the real sandbox-agent and the scripted agent: the listings, then the sandbox list and a transcript
// after one conversation, then URIs that name no valid or known session.
func TestResources(t *testing.T) {
	env, bin := testkit.FakeEnv(t)
	h := startServer(t, testkit.SandboxArgs(t, "sbx", bin), env)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	list, err := h.Client.ListResources(ctx, mcp.ListResourcesRequest{})
	if err != nil {
		t.Fatalf("resources/list: %v", err)
	}
	var uris []string
	for _, r := range list.Resources {
		uris = append(uris, r.URI)
	}
	if !slices.Contains(uris, tools.SandboxesURI) {
		t.Errorf("resources/list = %q, want %s", uris, tools.SandboxesURI)
	}

	tmpls, err := h.Client.ListResourceTemplates(ctx, mcp.ListResourceTemplatesRequest{})
	if err != nil {
		t.Fatalf("resources/templates/list: %v", err)
	}
	var raw []string
	for _, tm := range tmpls.ResourceTemplates {
		if tm.URITemplate != nil {
			raw = append(raw, tm.URITemplate.Raw())
		}
	}
	const transcriptTemplate = "sandbox-mcp://sandboxes/{sandbox}/sessions/{session}/transcript"
	if !slices.Contains(raw, transcriptTemplate) {
		t.Errorf("resources/templates/list = %q, want %s", raw, transcriptTemplate)
	}

	// Before any sandbox: the list says how to make one.
	if got := readResource(t, h, tools.SandboxesURI); !strings.Contains(got, "create_sandbox") {
		t.Errorf("empty sandbox list:\n%s", got)
	}

	// One conversation: text, a tool call, the turn's end.
	ws := t.TempDir()
	var sb manager.SandboxResult
	h.OK("create_sandbox", map[string]any{"workspace": ws}, &sb)
	var sess manager.SessionResult
	h.OK("create_session", map[string]any{"sandbox": sb.Name, "agent": "mock"}, &sess)
	const msg = "say hello there; tool build"
	var turn manager.TurnResult
	h.OK("send_message", map[string]any{"sandbox": sb.Name, "session": sess.Name, "message": msg, "wait_seconds": 20}, &turn)
	if !turn.Done || turn.Status != events.StatusIdle || turn.StopReason != "end_turn" {
		t.Fatalf("send_message = %+v, want the turn done with end_turn", turn)
	}

	uri := tools.TranscriptURI(sb.Name, sess.Name)
	sandboxes := readResource(t, h, tools.SandboxesURI)
	for _, want := range []string{"## " + sb.Name + "\n", "- workspace: " + ws + "\n", "- session " + sess.Name + " (mock)", uri} {
		if !strings.Contains(sandboxes, want) {
			t.Errorf("sandbox list lacks %q:\n%s", want, sandboxes)
		}
	}

	transcript := readResource(t, h, uri)
	for _, want := range []string{
		"# Session " + sess.Name + " in sandbox " + sb.Name,
		"### User (turn-1)\n\n```text\n" + msg + "\n```\n",
		"**Agent:**\n\n```text\nhello there\n```\n",
		`"build"`, // the tool call, by its title
		"turn turn-1 ended: end_turn",
	} {
		if !strings.Contains(transcript, want) {
			t.Errorf("transcript lacks %q:\n%s", want, transcript)
		}
	}
	// In order: the message, the agent's text, the tool call, the end.
	if i, j, k, l := strings.Index(transcript, msg), strings.Index(transcript, "hello there"), strings.Index(transcript, `"build"`), strings.Index(transcript, "ended: end_turn"); !(i < j && j < k && k < l) {
		t.Errorf("transcript out of order (%d %d %d %d):\n%s", i, j, k, l, transcript)
	}

	// Bad names and unknown sessions are errors, and the server lives on.
	for bad, want := range map[string]string{
		"sandbox-mcp://sandboxes/-x/sessions/s/transcript":               `is not valid`, // both names are ("s" is too short)
		"sandbox-mcp://sandboxes/-x/sessions/mock-1/transcript":          `sandbox name "-x" is not valid`,
		"sandbox-mcp://sandboxes/" + sb.Name + "/sessions/-s/transcript": `session name "-s" is not valid`,
		tools.TranscriptURI(sb.Name, "nosuch-1"):                         `unknown session "nosuch-1"`,
		tools.TranscriptURI("nosuch", "mock-1"):                          `unknown sandbox "nosuch"`,
	} {
		res, err := readResourceErr(h, bad)
		if err == nil {
			t.Errorf("read %s succeeded, want an error: %+v", bad, res)
			continue
		}
		if !strings.Contains(err.Error(), want) {
			t.Errorf("read %s: %v, want an error saying %s", bad, err, want)
		}
	}
	if got := readResource(t, h, uri); got != transcript {
		t.Errorf("transcript changed after the bad reads:\n%s", got)
	}

	var d manager.DestroyResult
	h.OK("destroy_sandbox", map[string]any{"name": sb.Name}, &d)
	if !d.Destroyed {
		t.Errorf("destroy_sandbox = %+v", d)
	}
	if got := readResource(t, h, tools.SandboxesURI); strings.Contains(got, "## "+sb.Name+"\n") {
		t.Errorf("sandbox list after destroy still shows %s:\n%s", sb.Name, got)
	}
}

// readResource reads a text resource that must exist, and returns its text.
func readResource(t *testing.T, h *harness, uri string) string {
	t.Helper()
	res, err := readResourceErr(h, uri)
	if err != nil {
		t.Fatalf("read %s: %v", uri, err)
	}
	if len(res.Contents) != 1 {
		t.Fatalf("read %s: %d contents, want 1", uri, len(res.Contents))
	}
	tc, ok := res.Contents[0].(mcp.TextResourceContents)
	if !ok {
		t.Fatalf("read %s: contents %T, want text", uri, res.Contents[0])
	}
	if tc.URI != uri || tc.MIMEType != "text/markdown" {
		t.Errorf("read %s: uri %q, mime type %q", uri, tc.URI, tc.MIMEType)
	}
	return tc.Text
}

func readResourceErr(h *harness, uri string) (*mcp.ReadResourceResult, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	req := mcp.ReadResourceRequest{}
	req.Params.URI = uri
	return h.Client.ReadResource(ctx, req)
}

package prompts

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
)

// fakeSource returns a fixed diff and transcript, or err, and records what it was asked for.
type fakeSource struct {
	diffErr, transcriptErr error
	calls                  []string
}

const (
	fixedDiff       = "```diff\ndiff --git a/main.go b/main.go\n--- a/main.go\n+++ b/main.go\n@@ -1 +1 @@\n-package old\n+package main\n```\n\nUntracked files:\n- notes.txt\n"
	fixedTranscript = "# Session mock-1 in sandbox box-1\n\nStatus: idle\n\n### User (turn-1)\n\n```text\nfix the package name\n```\n\n**Agent:**\n\n```text\ndone\n```\n\n— turn turn-1 ended: end_turn\n\n"
)

func (f *fakeSource) Diff(_ context.Context, sandbox string) (string, error) {
	f.calls = append(f.calls, "diff "+sandbox)
	return fixedDiff, f.diffErr
}

func (f *fakeSource) Transcript(_ context.Context, sandbox, session string) (string, error) {
	f.calls = append(f.calls, "transcript "+sandbox+" "+session)
	return fixedTranscript, f.transcriptErr
}

func prompt(t *testing.T, src Source, name string) server.ServerPrompt {
	t.Helper()
	for _, p := range All(src) {
		if p.Prompt.Name == name {
			return p
		}
	}
	t.Fatalf("no prompt %s", name)
	return server.ServerPrompt{}
}

// get runs a prompt's handler with args.
func get(t *testing.T, p server.ServerPrompt, args map[string]string) (*mcp.GetPromptResult, error) {
	t.Helper()
	req := mcp.GetPromptRequest{}
	req.Params.Name = p.Prompt.Name
	req.Params.Arguments = args
	return p.Handler(context.Background(), req)
}

// userText checks that a prompt result is one user message of text, and returns the text.
func userText(t *testing.T, res *mcp.GetPromptResult) string {
	t.Helper()
	if res.Description == "" || len(res.Messages) != 1 || res.Messages[0].Role != mcp.RoleUser {
		t.Fatalf("prompt result = %+v, want a description and one user message", res)
	}
	tc, ok := res.Messages[0].Content.(mcp.TextContent)
	if !ok {
		t.Fatalf("message content %T, want text", res.Messages[0].Content)
	}
	return tc.Text
}

// golden compares got with testdata/<name>.golden. UPDATE_GOLDEN=1 rewrites the file; a missing file is
// written (to review) outside CI and fails in CI.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	update := os.Getenv("UPDATE_GOLDEN") == "1"
	want, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) && !update {
		if os.Getenv("CI") == "true" {
			t.Fatalf("golden file %s is missing: run with UPDATE_GOLDEN=1, review it and commit it", path)
		}
		t.Logf("golden file %s was missing: writing it; review it", path)
		update = true
	} else if err != nil && !update {
		t.Fatal(err)
	}
	if update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if got != string(want) {
		t.Errorf("prompt %s changed; review it and run with UPDATE_GOLDEN=1.\ngot:\n%s\nwant:\n%s", name, got, want)
	}
}

func TestPromptDelegateTaskGolden(t *testing.T) {
	p := prompt(t, &fakeSource{}, "delegate_task")
	res, err := get(t, p, map[string]string{"task": "Add a --verbose flag to the CLI and test it.", "workspace": "/home/dev/project", "agent": "codex"})
	if err != nil {
		t.Fatal(err)
	}
	got := userText(t, res)
	golden(t, "delegate_task", got)
	for _, want := range []string{"(codex)", `workspace="/home/dev/project"`, `agent="codex"`, "Task: Add a --verbose flag to the CLI and test it."} {
		if !strings.Contains(got, want) {
			t.Errorf("delegate_task text lacks %q", want)
		}
	}

	// The agent defaults to claude.
	res, err = get(t, p, map[string]string{"task": "t", "workspace": "/w"})
	if err != nil {
		t.Fatal(err)
	}
	if got := userText(t, res); !strings.Contains(got, `agent="claude"`) || strings.Contains(got, "codex") {
		t.Errorf("delegate_task without agent:\n%s\nwant agent claude", got)
	}
}

func TestPromptReviewSandboxWorkGolden(t *testing.T) {
	src := &fakeSource{}
	res, err := get(t, prompt(t, src, "review_sandbox_work"), map[string]string{"sandbox": "box-1", "session": "mock-1"})
	if err != nil {
		t.Fatal(err)
	}
	got := userText(t, res)
	golden(t, "review_sandbox_work", got)
	if !strings.Contains(got, fixedDiff) || !strings.Contains(got, fixedTranscript) || !strings.Contains(res.Description, "box-1") {
		t.Errorf("review_sandbox_work (%s) does not embed the diff and the transcript:\n%s", res.Description, got)
	}
	if want := []string{"diff box-1", "transcript box-1 mock-1"}; !slices.Equal(src.calls, want) {
		t.Errorf("source calls = %q, want %q", src.calls, want)
	}
}

// Without a session there is no transcript: the diff alone.
func TestPromptReviewSandboxWorkNoSession(t *testing.T) {
	src := &fakeSource{}
	res, err := get(t, prompt(t, src, "review_sandbox_work"), map[string]string{"sandbox": "box-1"})
	if err != nil {
		t.Fatalf("review_sandbox_work without a session: %v", err)
	}
	got := userText(t, res)
	golden(t, "review_sandbox_work_no_session", got)
	if !strings.Contains(got, fixedDiff) || strings.Contains(got, "What the agent said") || strings.Contains(got, "(session") {
		t.Errorf("review_sandbox_work without a session:\n%s", got)
	}
	if want := []string{"diff box-1"}; !slices.Equal(src.calls, want) {
		t.Errorf("source calls = %q, want %q", src.calls, want)
	}
}

func TestPromptErrors(t *testing.T) {
	boom := errors.New("boom")
	for _, tc := range []struct {
		name, prompt string
		src          *fakeSource
		args         map[string]string
		want         string
	}{
		{"delegate without task", "delegate_task", &fakeSource{}, map[string]string{"workspace": "/w"}, "needs the task and workspace"},
		{"delegate without workspace", "delegate_task", &fakeSource{}, map[string]string{"task": "t", "agent": "codex"}, "needs the task and workspace"},
		{"delegate without arguments", "delegate_task", &fakeSource{}, nil, "needs the task and workspace"},
		{"review without sandbox", "review_sandbox_work", &fakeSource{}, map[string]string{"session": "mock-1"}, "needs the sandbox"},
		{"review, diff fails", "review_sandbox_work", &fakeSource{diffErr: boom}, map[string]string{"sandbox": "box-1", "session": "mock-1"}, "boom"},
		{"review, transcript fails", "review_sandbox_work", &fakeSource{transcriptErr: boom}, map[string]string{"sandbox": "box-1", "session": "mock-1"}, "boom"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := get(t, prompt(t, tc.src, tc.prompt), tc.args)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("%s(%v) = %+v, %v; want an error saying %q", tc.prompt, tc.args, res, err, tc.want)
			}
			if strings.Contains(tc.name, "without") && len(tc.src.calls) != 0 {
				t.Errorf("source called %q before the arguments were checked", tc.src.calls)
			}
		})
	}
	if _, err := Render("no_such_prompt", nil); err == nil {
		t.Errorf("Render of an unknown template succeeded")
	}
}

// TestPromptList: All offers exactly the two prompts, each described, with described arguments and the
// right ones required.
func TestPromptList(t *testing.T) {
	type arg struct {
		name     string
		required bool
	}
	want := map[string][]arg{
		"delegate_task":       {{"task", true}, {"workspace", true}, {"agent", false}},
		"review_sandbox_work": {{"sandbox", true}, {"session", false}},
	}
	all := All(&fakeSource{})
	if len(all) != len(want) {
		t.Errorf("All lists %d prompts, want %d", len(all), len(want))
	}
	seen := map[string]bool{}
	for _, p := range all {
		name := p.Prompt.Name
		wantArgs, ok := want[name]
		if !ok || seen[name] {
			t.Errorf("unexpected or repeated prompt %q", name)
			continue
		}
		seen[name] = true
		if p.Prompt.Description == "" || p.Handler == nil {
			t.Errorf("%s: no description or no handler", name)
		}
		var got []arg
		for _, a := range p.Prompt.Arguments {
			if a.Description == "" {
				t.Errorf("%s: argument %s has no description", name, a.Name)
			}
			got = append(got, arg{a.Name, a.Required})
		}
		if !slices.Equal(got, wantArgs) {
			t.Errorf("%s arguments = %+v, want %+v", name, got, wantArgs)
		}
	}
	for name := range want {
		if !seen[name] {
			t.Errorf("prompt %s missing", name)
		}
	}
}

package tools

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/sandbox-mcp/sandbox-mcp/remedy"
	"github.com/sandbox-mcp/sandbox-mcp/sandbox"
)

// TestRemedyWording: every remedy the domain can give has its words here, and each names a tool or a
// tool's argument (the point of a remedy is the step a model takes with them).
func TestRemedyWording(t *testing.T) {
	words, assigns := toolWords(t)
	step := regexp.MustCompile(`(?:^|[^A-Za-z0-9_])(?:` + strings.Join(words, "|") + `)(?:$|[^A-Za-z0-9_])|(?:^|\s)(?:` + strings.Join(assigns, "|") + `)=`)
	for _, r := range remedy.All() {
		w := remedies[r]
		if w == "" {
			t.Errorf("remedy %d has no wording in remedies", r)
			continue
		}
		if !step.MatchString(w) {
			t.Errorf("remedy %d: %q names no tool and no argument", r, w)
		}
	}
	if n := len(remedy.All()); len(remedies) != n {
		t.Errorf("%d wordings for %d remedies: a wording for a remedy that does not exist", len(remedies), n)
	}
}

// TestRemedyOutsideToolResults: a failed resource read or prompt source reads like a tool's error line, with
// its remedy's words at the end, and keeps its kind.
func TestRemedyOutsideToolResults(t *testing.T) {
	svc := &fakeService{err: remedy.Errorf(sandbox.NotFound, remedy.CreateSandbox, "unknown sandbox %q", "nobox")}
	const want = `unknown sandbox "nobox": create it with create_sandbox first`
	list, templates := Resources(svc)
	req := mcp.ReadResourceRequest{}
	req.Params.URI = TranscriptURI("nobox", "s1")
	req.Params.Arguments = map[string]any{"sandbox": "nobox", "session": "s1"}
	_, readList := list[0].Handler(context.Background(), mcp.ReadResourceRequest{})
	_, readTranscript := templates[0].Handler(context.Background(), req)
	_, diff := PromptSource{Svc: svc}.Diff(context.Background(), "nobox")
	_, transcript := PromptSource{Svc: svc}.Transcript(context.Background(), "nobox", "s1")
	for name, err := range map[string]error{"sandbox list": readList, "transcript resource": readTranscript, "prompt diff": diff, "prompt transcript": transcript} {
		if err == nil || err.Error() != want || !errors.Is(err, sandbox.ErrNotFound) {
			t.Errorf("%s: %v; want %q, not found", name, err, want)
		}
	}
	if err := worded(nil); err != nil {
		t.Errorf("worded(nil) = %v", err)
	}
}

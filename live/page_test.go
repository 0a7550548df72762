package live

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sandbox-mcp/sandbox-mcp/events"
	"github.com/sandbox-mcp/sandbox-mcp/internal/fakeagent"
)

// TestPaging: 25 tool calls read 10 at a time come back in order, each once, with More set while a page was
// cut by the limit.
func TestPaging(t *testing.T) {
	opts := fakeagent.Options{Prompt: func(turn *fakeagent.Turn) {
		for i := range 25 {
			turn.ToolCall(fmt.Sprintf("call-%d", i), fmt.Sprintf("step %d", i))
		}
	}}
	worldTest(t, opts, func(t *testing.T, w *world) {
		l := w.open(t, "paging")
		res, err := l.Send(t.Context(), "go", 10*time.Second, nil)
		if err != nil || !res.Done {
			t.Fatalf("send: %+v, %v", res, err)
		}
		var titles []string
		pages := 0
		for cursor := res.Cursor; ; pages++ {
			page, err := l.Page(PageRequest{Cursor: cursor, Limit: 10})
			if err != nil {
				t.Fatal(err)
			}
			for _, ev := range page.Events {
				if ev.Kind == events.KindToolCall {
					titles = append(titles, ev.ToolCall.Title)
				}
			}
			if len(page.Events) > 0 && page.NextCursor <= cursor {
				t.Fatalf("next_cursor %d does not advance past %d", page.NextCursor, cursor)
			}
			if !page.More {
				if len(page.Events) == 10 {
					t.Errorf("a full page at the end says more=false: %+v", page)
				}
				break
			}
			cursor = page.NextCursor
		}
		if pages < 2 {
			t.Errorf("read in %d pages; want the limit to cut them", pages+1)
		}
		var want []string
		for i := range 25 {
			want = append(want, fmt.Sprintf("step %d", i))
		}
		if strings.Join(titles, ",") != strings.Join(want, ",") {
			t.Errorf("tool calls %q, want %q", titles, want)
		}
	})
}

package manager

import (
	"fmt"
	"strings"

	"github.com/sandbox-mcp/sandbox-mcp/internal/textcut"

	"github.com/sandbox-mcp/sandbox-mcp/eventlog"
	"github.com/sandbox-mcp/sandbox-mcp/events"
	"github.com/sandbox-mcp/sandbox-mcp/state"
)

// Bounds of a summary: the whole of it, and each message in it. The newest part of a long conversation
// is kept.
const (
	maxSummary     = 6000
	maxSummaryItem = 600
)

// summaryOf renders a compact summary of a session's conversation from its log: the user's messages,
// the agent's replies and the tools it ran, each shortened, newest kept when it is long.
func (m *Manager) summaryOf(s state.Session) (string, error) {
	var lines []string
	err := m.readLog(s, func(recs []eventlog.Record) {
		for ev := range events.NormalizeSeq(recs, false) {
			if line := summaryLine(ev); line != "" {
				if n := len(lines); n > 0 && ev.Kind == events.KindAgentMessage && strings.HasPrefix(lines[n-1], "Agent: ") {
					lines[n-1] = clipText(lines[n-1]+ev.Text, maxSummaryItem) // a run split by a batch boundary
					continue
				}
				lines = append(lines, line)
			}
		}
	})
	if err != nil {
		return "", fmt.Errorf("summarise session %q: %w", s.Name, err)
	}
	size, first := 0, len(lines)
	for first > 0 && size+len(lines[first-1])+1 <= maxSummary {
		first--
		size += len(lines[first]) + 1
	}
	out := strings.Join(lines[first:], "\n")
	if first > 0 {
		out = fmt.Sprintf("(%d earlier items left out)\n", first) + out
	}
	return out, nil
}

func summaryLine(ev events.Event) string {
	switch ev.Kind {
	case events.KindUserMessage:
		if strings.HasPrefix(ev.Text, "[sandbox-mcp] Context:") {
			return "" // an earlier summary: its content is in the lines before it
		}
		return "User: " + clipText(ev.Text, maxSummaryItem)
	case events.KindAgentMessage:
		return "Agent: " + clipText(ev.Text, maxSummaryItem)
	case events.KindToolCall:
		if ev.ToolCall != nil && ev.ToolCall.Title != "" {
			return "Tool: " + clipText(ev.ToolCall.Title, 200)
		}
	case events.KindTurnEnd:
		if ev.Error != "" {
			return "(turn failed: " + clipText(ev.Error, 200) + ")"
		}
		if ev.StopReason != "" && ev.StopReason != "end_turn" {
			return "(turn ended: " + ev.StopReason + ")"
		}
	}
	return ""
}

func clipText(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) <= n {
		return s
	}
	return textcut.Head(s, n) + "…"
}

// readLog hands a session's log to fn in batches: through the live session when it is loaded (a log may be
// open once), else by opening it. The caller holds the sandbox lock.
func (m *Manager) readLog(s state.Session, fn func([]eventlog.Record)) error {
	var lg *eventlog.Log
	if l := m.cached(s.Sandbox, s.Name); l != nil {
		lg = l.Log()
	}
	if lg == nil {
		var err error
		if lg, err = eventlog.Open(m.cfg.Store.LogPath(s.Sandbox, s.Name)); err != nil {
			return err
		}
		defer lg.Close()
	}
	for cursor := int64(0); ; {
		recs, err := lg.Read(cursor, 1000)
		if err != nil {
			return err
		}
		if len(recs) == 0 {
			return nil
		}
		fn(recs)
		cursor = recs[len(recs)-1].Seq
	}
}

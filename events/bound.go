package events

import "github.com/sandbox-mcp/sandbox-mcp/internal/textcut"

// Limits bound what one event may carry of the agent's strings, each measured as JSON (escapes
// counted), so a hostile agent cannot inflate a result with a huge title, option or plan, or with text
// that escapes to six times its size. The text forms quote agent strings the same way, so they are
// bounded by the same figures.
type Limits struct {
	Text  int // message, thought and tool output text, in bytes as written; twice that as JSON
	Title int // tool call titles and option names
	Field int // ids, kinds, statuses, stop reasons, plan priorities
	Error int
	// Options and PlanEntries cap the lists; PlanEntry bounds one entry's content.
	Options, PlanEntries, PlanEntry int
	// Diffs, Locations and Terminals cap a tool call's lists; DiffText bounds one diff's text (in bytes
	// as written; twice that as JSON); Path bounds a diff's or a location's path.
	Diffs, DiffText, Locations, Terminals, Path int
	// Commands and Configs cap available_commands and config_change lists; CommandText bounds a
	// command's description and hint.
	Commands, CommandText, Configs int
}

// EventLimits bound one event of a get_events page: at most about 20 kB of JSON whatever the agent
// sends, 30 kB for a tool call with text, diffs and locations (the page itself is bounded to 40 kB by
// adding events up).
var EventLimits = Limits{Text: 8_000, Title: 1_000, Field: 256, Error: 2_000, Options: 16, PlanEntries: 24, PlanEntry: 300,
	Diffs: 3, DiffText: 1_000, Locations: 4, Terminals: 4, Path: 512, Commands: 40, CommandText: 160, Configs: 16}

// PendingLimits bound a waiting permission request as the session's state keeps it (and every result
// that lists it): at most about 3 kB of JSON (a diff's path, counts and first lines included). Ids are
// cut as in EventLimits, so a request id shown in a page is the one respond_permission takes.
var PendingLimits = Limits{Text: 256, Title: 256, Field: 256, Error: 256, Options: 8, PlanEntries: 0, PlanEntry: 0,
	Diffs: 1, DiffText: 128, Locations: 0, Terminals: 0, Path: 256}

// MaxPending is how many waiting permission requests a result lists; the rest are counted.
const MaxPending = 5

// Bound returns ev with every agent-controlled string and list cut to l, and Truncated set when
// anything was cut. Raw envelopes are left alone (raw mode returns them whole).
func Bound(ev Event, l Limits) Event {
	cut := false
	clip := func(s string, n int, note func(int) string) string {
		out, c := textcut.JSONClip(s, n, note)
		cut = cut || c
		return out
	}
	field := func(s string) string { return clip(s, l.Field, textcut.MoreBytes) }
	// Text is cut at l.Text bytes (what a reader expects of "8,000 bytes"), and at twice that as JSON,
	// so text that escapes to six times its size is cut sooner.
	text := func(s, more string) string {
		note := func(n int) string { return "… [" + itoa(n) + " more bytes" + more + "]" }
		h := textcut.JSONHead(textcut.Head(s, l.Text), 2*l.Text)
		if len(h) == len(s) {
			return s
		}
		cut = true
		return h + note(len(s)-len(h))
	}
	if ev.Kind == KindSessionInfo {
		ev.Text = clip(ev.Text, l.Title, textcut.MoreBytes) // a title
	} else {
		ev.Text = text(ev.Text, "; the raw envelopes have all of it")
	}
	ev.Turn, ev.StopReason = field(ev.Turn), field(ev.StopReason)
	ev.Error = clip(ev.Error, l.Error, textcut.MoreBytes)
	if tc := ev.ToolCall; tc != nil {
		b := *tc
		b.ID, b.Kind, b.Status = field(b.ID), field(b.Kind), field(b.Status)
		b.Title = clip(b.Title, l.Title, textcut.MoreBytes)
		b.Output = text(b.Output, "")
		b.Diffs = capList(b.Diffs, l.Diffs, &cut, func(d Diff) Diff {
			d.Path = clip(d.Path, l.Path, textcut.MoreBytes)
			if h := textcut.JSONHead(textcut.Head(d.Diff, l.DiffText), 2*l.DiffText); len(h) < len(d.Diff) {
				d.Diff, cut = h+"… [diff cut; the raw envelopes have all of it]", true
			}
			return d
		})
		b.Locations = capList(b.Locations, l.Locations, &cut, func(x Location) Location {
			x.Path = clip(x.Path, l.Path, textcut.MoreBytes)
			return x
		})
		b.Terminals = capList(b.Terminals, l.Terminals, &cut, field)
		ev.ToolCall = &b
	}
	if p := ev.Permission; p != nil {
		b := *p
		b.RequestID, b.Outcome = field(b.RequestID), field(b.Outcome)
		if len(b.Options) > l.Options {
			b.Options, cut = b.Options[:l.Options], true
		}
		opts := make([]Option, len(b.Options))
		for i, o := range b.Options {
			opts[i] = Option{ID: field(o.ID), Name: clip(o.Name, l.Title, textcut.MoreBytes), Kind: field(o.Kind)}
		}
		if b.Options != nil {
			b.Options = opts
		}
		ev.Permission = &b
	}
	if len(ev.Plan) > 0 {
		n := min(len(ev.Plan), l.PlanEntries)
		cut = cut || n < len(ev.Plan)
		plan := make([]PlanEntry, n)
		for i, e := range ev.Plan[:n] {
			plan[i] = PlanEntry{Content: clip(e.Content, l.PlanEntry, textcut.MoreBytes), Priority: field(e.Priority), Status: field(e.Status)}
		}
		ev.Plan = plan
	}
	ev.Commands = capList(ev.Commands, l.Commands, &cut, func(c Command) Command {
		return Command{Name: field(c.Name), Description: clip(c.Description, l.CommandText, textcut.MoreBytes),
			Hint: clip(c.Hint, l.CommandText, textcut.MoreBytes)}
	})
	ev.Config = capList(ev.Config, l.Configs, &cut, func(c ConfigValue) ConfigValue {
		return ConfigValue{ID: field(c.ID), Category: field(c.Category), Value: field(c.Value)}
	})
	ev.Truncated = ev.Truncated || cut
	return ev
}

// capList keeps at most n items of list, each passed through f, into a new slice (the event's own lists
// may be shared with a cached copy); cut is set when items were dropped. A nil or empty list stays nil.
func capList[T any](list []T, n int, cut *bool, f func(T) T) []T {
	if len(list) == 0 {
		return nil
	}
	if len(list) > n {
		list, *cut = list[:n], true
	}
	if len(list) == 0 {
		return nil
	}
	out := make([]T, len(list))
	for i, x := range list {
		out[i] = f(x)
	}
	return out
}

// BoundID is a request id as Bound cuts it: the form pending requests are stored and answered under.
func BoundID(id string) string {
	out, _ := textcut.JSONClip(id, EventLimits.Field, textcut.MoreBytes)
	return out
}

package events

import (
	"encoding/json"
	"math"
	"strconv"
)

// What the real adapters send beside text (read from claude-agent-acp 0.23.1, codex-acp 0.16 and OpenCode
// 1.18's ACP code; docs/real-agents.md): tool-call content items of type diff and terminal, tool-call
// locations, available commands, config options. Each list is decoded item by item, so one malformed item
// costs only itself, and nothing here fails the event it rides on. The lists are cut to size by Bound;
// decoding keeps at most maxItems of each, so a hostile list costs no more than that to hold.

const maxItems = 256

// items decodes a JSON array into its elements; anything else is no elements.
func items(raw json.RawMessage) []json.RawMessage {
	if len(raw) == 0 || raw[0] != '[' {
		return nil
	}
	var list []json.RawMessage
	if !decodeItems(raw, &list, maxItems) {
		return nil
	}
	return list
}

// toolContent reads the diffs and terminals of a tool call's content list (ACP ToolCallContent:
// {type: diff, path, oldText, newText} and {type: terminal, terminalId}). Text items are contentText's.
func toolContent(raw json.RawMessage) (diffs []Diff, terminals []string) {
	for _, it := range items(raw) {
		var c toolContentItem
		if !decodeToolContentItem(it, &c) {
			continue
		}
		switch {
		case c.Type == "diff":
			diffs = append(diffs, summarizeDiff(c.Path, c.OldText, c.NewText))
		case c.Type == "terminal" && c.TerminalID != "":
			terminals = append(terminals, c.TerminalID)
		}
	}
	return diffs, terminals
}

// toolContentItem is an item of a tool call's content list, as toolContent reads it.
type toolContentItem struct {
	Type       string  `json:"type"`
	Path       string  `json:"path"`
	OldText    *string `json:"oldText"`
	NewText    string  `json:"newText"`
	TerminalID string  `json:"terminalId"`
}

// locations reads a tool call's locations ([{path, line?}]).
func locations(raw json.RawMessage) []Location {
	var out []Location
	for _, it := range items(raw) {
		var l struct {
			Path string  `json:"path"`
			Line float64 `json:"line"`
		}
		if json.Unmarshal(it, &l) != nil || l.Path == "" {
			continue
		}
		out = append(out, Location{Path: l.Path, Line: lineNumber(l.Line)})
	}
	return out
}

// lineNumber keeps a sane line number (ACP: uint32); anything else is unknown (0).
func lineNumber(f float64) int {
	if math.IsNaN(f) || f < 0 || f > math.MaxUint32 || f != math.Trunc(f) {
		return 0
	}
	return int(f)
}

// commands reads an available_commands_update's list ([{name, description, input?: {hint}}]).
func commands(raw json.RawMessage) []Command {
	var out []Command
	for _, it := range items(raw) {
		var c struct {
			Name        string `json:"name"`
			Description string `json:"description"`
			Input       *struct {
				Hint string `json:"hint"`
			} `json:"input"`
		}
		if json.Unmarshal(it, &c) != nil || c.Name == "" {
			continue
		}
		cmd := Command{Name: c.Name, Description: c.Description}
		if c.Input != nil {
			cmd.Hint = c.Input.Hint
		}
		out = append(out, cmd)
	}
	return out
}

// configValues reads a config_option_update's options ([{id, name, category?, type, currentValue,
// options}]) into their current values. A value is a string (a select's choice) or a boolean (ACP's
// boolean options); other options are left out.
func configValues(raw json.RawMessage) []ConfigValue {
	var out []ConfigValue
	for _, it := range items(raw) {
		var o struct {
			ID           string          `json:"id"`
			Category     string          `json:"category"`
			CurrentValue json.RawMessage `json:"currentValue"`
		}
		if json.Unmarshal(it, &o) != nil || o.ID == "" {
			continue
		}
		var s string
		var b bool
		switch {
		case json.Unmarshal(o.CurrentValue, &s) == nil && len(o.CurrentValue) > 0 && o.CurrentValue[0] == '"':
		case json.Unmarshal(o.CurrentValue, &b) == nil && len(o.CurrentValue) > 0 && o.CurrentValue[0] != 'n':
			s = strconv.FormatBool(b)
		default:
			continue
		}
		out = append(out, ConfigValue{ID: o.ID, Category: o.Category, Value: s})
	}
	return out
}

// Current mode and model, as a session's config tells them: the option with category (or, failing that,
// id) mode or model.
func currentOf(cfg []ConfigValue, which string) (string, bool) {
	for _, c := range cfg {
		if c.Category == which || (c.Category == "" && c.ID == which) {
			return c.Value, true
		}
	}
	return "", false
}

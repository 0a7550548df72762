package sandbox

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// Parsing of `sbx ls` and `docker sandbox ls` output, JSON first and the table as a fallback: their shapes
// drifted between versions, so every field is optional and columns are found by header name.

// lsEntry is one sandbox in `ls --json`. Every field is optional (stopped entries omit workspaces, §8), and
// fields we do not read (socket_path, sandbox_count, ports, sbx's short-lived id) are ignored.
type lsEntry struct {
	Name       string   `json:"name"`
	Agent      string   `json:"agent"`
	Status     string   `json:"status"`
	Workspaces []string `json:"workspaces"`
	Template   string   `json:"template"`
}

// parseLsJSON accepts the documented `{"vms":[…]}`, the `{"sandboxes":[…]}` seen when the plugin's list is
// empty and in sbx (§8, §13), an object with neither key (no sandboxes) and, to be lenient, a bare array.
// A field of an unexpected type (sbx's schema drifts, §13) is skipped, not fatal.
func parseLsJSON(b []byte) ([]Info, error) {
	var raw []json.RawMessage
	if t := bytes.TrimSpace(b); len(t) > 0 && t[0] == '[' {
		if err := json.Unmarshal(t, &raw); err != nil {
			return nil, err
		}
	} else {
		var top struct {
			VMs       []json.RawMessage `json:"vms"`
			Sandboxes []json.RawMessage `json:"sandboxes"`
		}
		if err := json.Unmarshal(t, &top); err != nil {
			return nil, err
		}
		raw = append(top.VMs, top.Sandboxes...)
	}
	out := []Info{}
	for _, r := range raw {
		var e lsEntry
		var te *json.UnmarshalTypeError
		if err := json.Unmarshal(r, &e); err != nil && !errors.As(err, &te) {
			return nil, err
		}
		if e.Name == "" {
			continue // nothing a caller could address
		}
		out = append(out, Info{Name: e.Name, Agent: e.Agent, Status: status(e.Status), Workspaces: e.Workspaces, Template: e.Template})
	}
	return out, nil
}

// status maps a CLI status to ours: only running and stopped are documented; anything else (`exited`, …) is
// stopped (§6). Zombie VMs still say running (§6): Exec reports those.
func status(s string) string {
	if strings.EqualFold(strings.TrimSpace(s), StatusRunning) {
		return StatusRunning
	}
	return StatusStopped
}

var cellSep = regexp.MustCompile(`\s{2,}`)

// parseLsTable reads the `ls` table by header name (§8): the plugin prints SANDBOX AGENT STATUS WORKSPACE,
// sbx adds PORTS, and the reference page shows a stale VM-centric header, so positions are not trusted.
// Cells are split on runs of 2+ spaces; when a row has a different number of cells (an empty PORTS cell),
// the header's column offsets are used instead (tabwriter aligns every row to them). WORKSPACE is `-` for
// none and joins several with ", " (a path containing ", " cannot be told apart).
func parseLsTable(b []byte) ([]Info, error) {
	lines := strings.Split(strings.ReplaceAll(string(b), "\r\n", "\n"), "\n")
	for len(lines) > 0 && strings.TrimSpace(lines[0]) == "" {
		lines = lines[1:]
	}
	if len(lines) == 0 {
		return nil, errors.New("cannot parse ls output: no header")
	}
	header := []rune(strings.TrimRight(lines[0], " \t"))
	cols := cellSep.Split(string(header), -1)
	var starts []int // rune offset of each column in the header
	for i, r := range header {
		if r != ' ' && (i == 0 || (i >= 2 && header[i-1] == ' ' && header[i-2] == ' ')) {
			starts = append(starts, i)
		}
	}
	idx := map[string]int{}
	for i, c := range cols {
		idx[strings.ToUpper(strings.TrimSpace(c))] = i
	}
	col := func(names ...string) int {
		for _, n := range names {
			if i, ok := idx[n]; ok {
				return i
			}
		}
		return -1
	}
	nameCol, agentCol, statusCol, wsCol := col("SANDBOX", "NAME"), col("AGENT", "AGENTS"), col("STATUS"), col("WORKSPACE", "WORKSPACES")
	if nameCol < 0 || len(starts) != len(cols) {
		return nil, fmt.Errorf("cannot parse ls output: unexpected header %q", truncate(string(header), 80))
	}
	out := []Info{}
	for _, line := range lines[1:] {
		if strings.TrimSpace(line) == "" {
			continue
		}
		cells := cellSep.Split(strings.TrimSpace(line), -1)
		if len(cells) != len(cols) {
			cells = splitAt([]rune(line), starts)
		}
		cell := func(i int) string {
			if i < 0 || i >= len(cells) {
				return ""
			}
			return strings.TrimSpace(cells[i])
		}
		in := Info{Name: cell(nameCol), Agent: cell(agentCol), Status: status(cell(statusCol))}
		if ws := cell(wsCol); ws != "" && ws != "-" {
			in.Workspaces = strings.Split(ws, ", ")
		}
		if in.Name != "" {
			out = append(out, in)
		}
	}
	return out, nil
}

// splitAt cuts a row at the header's column offsets; the last column takes the rest of the line.
func splitAt(row []rune, starts []int) []string {
	cells := make([]string, len(starts))
	for i, s := range starts {
		end := len(row)
		if i+1 < len(starts) {
			end = min(starts[i+1], len(row))
		}
		if s < end {
			cells[i] = string(row[s:end])
		}
	}
	return cells
}

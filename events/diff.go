package events

import "strings"

// Tool-call diffs. Real adapters report a file change as {type: "diff", path, oldText, newText} (ACP
// ToolCallContent): Claude Code's Write sends the whole new file with oldText null, its Edit the replaced
// string and its replacement, codex-acp the whole old and new file. A reader needs what changed, not the
// two texts, so an event carries the path, the counts of lines added and removed, and the changed lines
// with a little context, clipped. The work is bounded whatever the agent sends: texts are split once, the
// common head and tail are skipped, and only a small middle is aligned line by line (a larger one counts
// as wholly replaced, which is never less than the true change).

const (
	// diffContext is how many unchanged lines are shown before and after the change.
	diffContext = 3
	// maxAlign bounds the line-alignment table (old × new lines of the changed middle).
	maxAlign = 40_000
	// maxDiffText bounds the diff text built here; Bound cuts it further (Limits.DiffText).
	maxDiffText = 16 << 10
)

// summarizeDiff summarises a change from oldText (nil: a new file) to newText.
func summarizeDiff(path string, oldText *string, newText string) Diff {
	d := Diff{Path: path, NewFile: oldText == nil}
	var old []string
	if oldText != nil {
		old = splitLines(*oldText)
	}
	cur := splitLines(newText)
	p := 0
	for p < len(old) && p < len(cur) && old[p] == cur[p] {
		p++
	}
	q := 0
	for q < len(old)-p && q < len(cur)-p && old[len(old)-1-q] == cur[len(cur)-1-q] {
		q++
	}
	a, b := old[p:len(old)-q], cur[p:len(cur)-q]
	if len(a) == 0 && len(b) == 0 {
		return d // the same text
	}
	w := diffWriter{}
	for _, l := range old[max(0, p-diffContext):p] {
		w.line(' ', l)
	}
	for _, op := range align(a, b) {
		switch op.kind {
		case '-':
			d.Removed++
		case '+':
			d.Added++
		}
		w.line(op.kind, op.text)
	}
	for _, l := range old[len(old)-q : len(old)-q+min(q, diffContext)] {
		w.line(' ', l)
	}
	d.Diff = w.String()
	return d
}

// splitLines splits s into lines; a final newline ends the last line rather than starting an empty one.
func splitLines(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(strings.TrimSuffix(s, "\n"), "\n")
}

type diffOp struct {
	kind byte // ' ', '-' or '+'
	text string
}

// align returns an edit script from a to b: a longest common subsequence when the table is small, else
// all of a removed and all of b added.
func align(a, b []string) []diffOp {
	ops := make([]diffOp, 0, len(a)+len(b))
	if len(a) == 0 || len(b) == 0 || len(a)*len(b) > maxAlign {
		for _, l := range a {
			ops = append(ops, diffOp{'-', l})
		}
		for _, l := range b {
			ops = append(ops, diffOp{'+', l})
		}
		return ops
	}
	// lcs[i][j]: length of the longest common subsequence of a[i:] and b[j:].
	n, m := len(a), len(b)
	lcs := make([]int32, (n+1)*(m+1))
	at := func(i, j int) *int32 { return &lcs[i*(m+1)+j] }
	for i := n - 1; i >= 0; i-- {
		for j := m - 1; j >= 0; j-- {
			if a[i] == b[j] {
				*at(i, j) = *at(i+1, j+1) + 1
			} else {
				*at(i, j) = max(*at(i+1, j), *at(i, j+1))
			}
		}
	}
	i, j := 0, 0
	for i < n && j < m {
		switch {
		case a[i] == b[j]:
			ops = append(ops, diffOp{' ', a[i]})
			i, j = i+1, j+1
		case *at(i+1, j) >= *at(i, j+1):
			ops = append(ops, diffOp{'-', a[i]})
			i++
		default:
			ops = append(ops, diffOp{'+', b[j]})
			j++
		}
	}
	for ; i < n; i++ {
		ops = append(ops, diffOp{'-', a[i]})
	}
	for ; j < m; j++ {
		ops = append(ops, diffOp{'+', b[j]})
	}
	return ops
}

// diffWriter builds diff text up to maxDiffText bytes, then notes that lines were left out.
type diffWriter struct {
	b       strings.Builder
	omitted int
}

func (w *diffWriter) line(kind byte, text string) {
	if w.omitted > 0 || w.b.Len()+len(text)+2 > maxDiffText {
		w.omitted++
		return
	}
	w.b.WriteByte(kind)
	w.b.WriteString(text)
	w.b.WriteByte('\n')
}

func (w *diffWriter) String() string {
	if w.omitted > 0 {
		return w.b.String() + "… [" + itoa(w.omitted) + " more lines]\n"
	}
	return w.b.String()
}

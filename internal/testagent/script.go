package testagent

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
)

// Op names a script command.
type Op string

// Script commands. OpEcho is not a command word: ParseScript returns it for
// prompts without any recognised command (the default scenario).
const (
	OpSay      Op = "say"
	OpThink    Op = "think"
	OpPlan     Op = "plan"
	OpTool     Op = "tool"
	OpWrite    Op = "write"
	OpPerm     Op = "perm"
	OpSleep    Op = "sleep"
	OpEvents   Op = "events"
	OpStream   Op = "stream"
	OpStop     Op = "stop"
	OpFail     Op = "fail"
	OpExit     Op = "exit"
	OpEchoEnv  Op = "echo-env"
	OpEcho     Op = "echo"
	OpCalls    Op = "calls"
	OpPermEdit Op = "perm-edit"
	OpUsage    Op = "usage"
	OpTokens   Op = "tokens"
	OpHistory  Op = "history"
	OpMCP      Op = "mcp"
	OpSpell    Op = "spell"
	OpSpellTh  Op = "spell-think"
	OpPerms    Op = "perms"
	OpPlanBig  Op = "plan-big"
	OpFailBig  Op = "fail-big"
	OpSayBig   Op = "say-big"
)

var commandWords = map[Op]bool{
	OpSay: true, OpThink: true, OpPlan: true, OpTool: true, OpWrite: true,
	OpPerm: true, OpSleep: true, OpEvents: true, OpStream: true, OpStop: true,
	OpFail: true, OpExit: true, OpEchoEnv: true, OpCalls: true, OpPermEdit: true,
	OpUsage: true, OpTokens: true, OpHistory: true, OpMCP: true,
	OpSpell: true, OpSpellTh: true, OpPerms: true, OpPlanBig: true, OpFailBig: true, OpSayBig: true,
}

// StopReasons are the stopReason values accepted by `stop`.
var StopReasons = []string{"end_turn", "max_tokens", "max_turn_requests", "refusal", "cancelled"}

// Command is one parsed script command.
type Command struct {
	Op    Op
	Text  string   // say, think, tool/perm title, write content, stop reason, fail message, echo-env name, echo text
	Path  string   // write
	Items []string // plan
	N     int      // events, stream count, exit code, spell chunk size, perms count, plan-big entries, *-big bytes
	MS    int      // sleep, stream interval (milliseconds)
	Nums  []int    // usage: used, size; tokens: input, output, cache read, cache write
	Cost  *float64 // usage: the session's cumulative cost in USD, when given
	Sizes []int    // perms: title bytes, options, option name bytes; plan-big: entry bytes
}

const maxCount = 1_000_000

// ParseScript parses prompt text. Commands are separated by ';' and trimmed;
// empty segments are skipped. Each command is a word followed by its argument
// text. If no segment starts with a command word, the result is the default
// scenario: a single OpEcho command carrying the whole text. Otherwise every
// segment must be a valid command.
func ParseScript(text string) ([]Command, error) {
	var segs []string
	recognised := false
	for _, s := range strings.Split(text, ";") {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		segs = append(segs, s)
		if w, _ := splitWord(s); commandWords[Op(w)] {
			recognised = true
		}
	}
	if !recognised {
		return []Command{{Op: OpEcho, Text: text}}, nil
	}
	cmds := make([]Command, 0, len(segs))
	for _, s := range segs {
		c, err := parseCommand(s)
		if err != nil {
			return nil, err
		}
		cmds = append(cmds, c)
	}
	return cmds, nil
}

func splitWord(s string) (word, rest string) {
	i := strings.IndexFunc(s, unicode.IsSpace)
	if i < 0 {
		return s, ""
	}
	return s[:i], strings.TrimSpace(s[i:])
}

func parseCommand(seg string) (Command, error) {
	w, arg := splitWord(seg)
	c := Command{Op: Op(w)}
	var err error
	switch c.Op {
	case OpSay, OpThink:
		if arg == "" {
			return c, fmt.Errorf("%s: missing text", w)
		}
		c.Text = arg
	case OpPlan:
		for _, it := range strings.Split(arg, "|") {
			if it = strings.TrimSpace(it); it != "" {
				c.Items = append(c.Items, it)
			}
		}
		if len(c.Items) == 0 {
			return c, fmt.Errorf("plan: missing entries")
		}
	case OpTool, OpPerm:
		c.Text = arg
		if c.Text == "" {
			c.Text = w
		}
	case OpWrite:
		c.Path, c.Text = splitWord(arg)
		if c.Path == "" {
			return c, fmt.Errorf("write: missing path")
		}
	case OpSleep:
		c.MS, err = intArgs(w, arg, 1, maxCount*1000, &c.MS)
	case OpEvents, OpCalls:
		c.N, err = intArgs(w, arg, 1, maxCount, &c.N)
	case OpPermEdit:
		c.Path = arg
		if c.Path == "" {
			return c, fmt.Errorf("perm-edit: missing path")
		}
	case OpStream:
		_, err = intArgs(w, arg, 2, maxCount, &c.N, &c.MS)
	case OpExit:
		c.N, err = intArgs(w, arg, 1, 255, &c.N)
	case OpStop:
		c.Text = arg
		if !validStopReason(arg) {
			return c, fmt.Errorf("stop: invalid reason %q (want one of %s)", arg, strings.Join(StopReasons, ", "))
		}
	case OpFail:
		c.Text = arg
		if c.Text == "" {
			c.Text = "scripted failure"
		}
	case OpUsage:
		f := strings.Fields(arg)
		if len(f) == 3 {
			v, perr := strconv.ParseFloat(f[2], 64)
			if perr != nil || v < 0 {
				return c, fmt.Errorf("usage: invalid cost %q", f[2])
			}
			c.Cost = &v
			f = f[:2]
		}
		c.Nums = make([]int, 2)
		_, err = intArgs(w, strings.Join(f, " "), 2, maxCount*1000, &c.Nums[0], &c.Nums[1])
	case OpTokens:
		f := strings.Fields(arg)
		if len(f) < 2 || len(f) > 4 {
			return c, fmt.Errorf("tokens: want 2 to 4 integer arguments, got %q", arg)
		}
		c.Nums = make([]int, 4)
		dst := []*int{&c.Nums[0], &c.Nums[1], &c.Nums[2], &c.Nums[3]}
		_, err = intArgs(w, arg, len(f), maxCount*1000, dst[:len(f)]...)
	case OpHistory, OpMCP:
		if arg != "" {
			return c, fmt.Errorf("%s: takes no argument, got %q", w, arg)
		}
	case OpSpell, OpSpellTh:
		f := strings.Fields(arg)
		if len(f) != 2 && len(f) != 3 {
			return c, fmt.Errorf("%s: want a chunk size, one variable name and an optional pause in ms, got %q", w, arg)
		}
		c.Text = f[1]
		nums := f[0]
		if len(f) == 3 {
			nums += " " + f[2]
		}
		_, err = intArgs(w, nums, len(f)-1, maxCount, &c.N, &c.MS)
		if err == nil && c.N == 0 {
			err = fmt.Errorf("%s: the chunk size must be at least 1", w)
		}
	case OpPerms:
		c.Sizes = make([]int, 3)
		_, err = intArgs(w, arg, 4, maxCount, &c.N, &c.Sizes[0], &c.Sizes[1], &c.Sizes[2])
	case OpPlanBig:
		c.Sizes = make([]int, 1)
		_, err = intArgs(w, arg, 2, maxCount, &c.N, &c.Sizes[0])
	case OpFailBig, OpSayBig:
		c.N, err = intArgs(w, arg, 1, maxCount, &c.N)
	case OpEchoEnv:
		if arg == "" || strings.ContainsFunc(arg, unicode.IsSpace) {
			return c, fmt.Errorf("echo-env: want exactly one variable name, got %q", arg)
		}
		c.Text = arg
	default:
		return c, fmt.Errorf("unknown command %q", w)
	}
	return c, err
}

// intArgs parses exactly len(dst) non-negative integers (each <= max) from
// arg into dst and returns the first one.
func intArgs(word, arg string, n, max int, dst ...*int) (int, error) {
	f := strings.Fields(arg)
	if len(f) != n {
		return 0, fmt.Errorf("%s: want %d integer argument(s), got %q", word, n, arg)
	}
	for i, s := range f {
		v, err := strconv.Atoi(s)
		if err != nil || v < 0 || v > max {
			return 0, fmt.Errorf("%s: invalid number %q (0..%d)", word, s, max)
		}
		*dst[i] = v
	}
	return *dst[0], nil
}

func validStopReason(r string) bool {
	for _, s := range StopReasons {
		if r == s {
			return true
		}
	}
	return false
}

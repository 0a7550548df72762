package testagent

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseScript(t *testing.T) {
	cases := []struct {
		in   string
		want []Command
		err  string
	}{
		{in: "hello; world", want: []Command{{Op: OpEcho, Text: "hello; world"}}},
		{in: "", want: []Command{{Op: OpEcho, Text: ""}}},
		{in: "Say hi", want: []Command{{Op: OpEcho, Text: "Say hi"}}},
		{in: " say  hi  there ;; think x ;", want: []Command{{Op: OpSay, Text: "hi  there"}, {Op: OpThink, Text: "x"}}},
		{in: "plan a|b | |c", want: []Command{{Op: OpPlan, Items: []string{"a", "b", "c"}}}},
		{in: "tool; perm Run it", want: []Command{{Op: OpTool, Text: "tool"}, {Op: OpPerm, Text: "Run it"}}},
		{in: "write a/b.txt  x y", want: []Command{{Op: OpWrite, Path: "a/b.txt", Text: "x y"}}},
		{in: "write a", want: []Command{{Op: OpWrite, Path: "a"}}},
		{in: "sleep 10; events 3; stream 2 5", want: []Command{{Op: OpSleep, MS: 10}, {Op: OpEvents, N: 3}, {Op: OpStream, N: 2, MS: 5}}},
		{in: "stop refusal", want: []Command{{Op: OpStop, Text: "refusal"}}},
		{in: "fail", want: []Command{{Op: OpFail, Text: "scripted failure"}}},
		{in: "exit 7", want: []Command{{Op: OpExit, N: 7}}},
		{in: "echo-env PATH", want: []Command{{Op: OpEchoEnv, Text: "PATH"}}},
		{in: "spell 2 KEY; spell-think 3 KEY 20", want: []Command{{Op: OpSpell, N: 2, Text: "KEY"}, {Op: OpSpellTh, N: 3, Text: "KEY", MS: 20}}},
		{in: "perms 3 95000 200 10000; plan-big 5 100", want: []Command{{Op: OpPerms, N: 3, Sizes: []int{95000, 200, 10000}}, {Op: OpPlanBig, N: 5, Sizes: []int{100}}}},
		{in: "fail-big 9; say-big 7", want: []Command{{Op: OpFailBig, N: 9}, {Op: OpSayBig, N: 7}}},
		{in: "spell 0 KEY", err: "at least 1"},
		{in: "spell KEY", err: "spell: want a chunk size"},
		{in: "perms 1 2", err: "perms: want 4 integer"},
		{in: "say a; hello", err: `unknown command "hello"`},
		{in: "say", err: "say: missing text"},
		{in: "plan |", err: "plan: missing entries"},
		{in: "sleep x", err: "sleep: invalid number"},
		{in: "sleep -1", err: "sleep: invalid number"},
		{in: "stream 3", err: "stream: want 2 integer"},
		{in: "exit 256", err: "exit: invalid number"},
		{in: "stop later", err: "stop: invalid reason"},
		{in: "echo-env A B", err: "echo-env: want exactly one"},
		{in: "write", err: "write: missing path"},
	}
	for _, tc := range cases {
		got, err := ParseScript(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParseScript(%q) error = %v, want %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ParseScript(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
}

func TestSplitting(t *testing.T) {
	if got := splitRunes("héllo wörld!", 8); !reflect.DeepEqual(got, []string{"héllo wö", "rld!"}) {
		t.Errorf("splitRunes = %q", got)
	}
	if got := splitN(splitRunes("You said: ", 0), 3); strings.Join(got, "") != "You said: " || len(got) != 3 {
		t.Errorf("splitN = %q", got)
	}
}

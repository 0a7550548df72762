package cli

import (
	"io"
	"maps"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// TestConfigEnv: a SANDBOX_MCP_* variable goes through its flag's own parser, so a value the flag refuses is
// refused from the variable too (naming the variable) instead of silently becoming the default; the
// command line wins; booleans take the flag's forms.
func TestConfigEnv(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		check   func(config) bool
		wantErr []string // each must appear in the error
	}{
		{"a duration without a unit, from the variable", nil, map[string]string{"SANDBOX_MCP_IDLE_TTL": "30"}, nil,
			[]string{"SANDBOX_MCP_IDLE_TTL", "--idle-ttl"}},
		{"a duration without a unit, from the flag", []string{"--idle-ttl=30"}, nil, nil, []string{"idle-ttl"}},
		{"a good duration", nil, map[string]string{"SANDBOX_MCP_IDLE_TTL": "30m"}, func(c config) bool { return c.idleTTL == 30*time.Minute }, nil},
		{"bool 1 is true, as for the flag", nil, map[string]string{"SANDBOX_MCP_DOCKER_PULL": "1"}, func(c config) bool { return c.docker.Pull }, nil},
		{"bool TRUE", nil, map[string]string{"SANDBOX_MCP_DOCKER_READ_ONLY": "TRUE"}, func(c config) bool { return c.docker.ReadOnlyRoot }, nil},
		{"bool yes is refused", nil, map[string]string{"SANDBOX_MCP_DOCKER_PULL": "yes"}, nil, []string{"SANDBOX_MCP_DOCKER_PULL"}},
		{"an int that is not", nil, map[string]string{"SANDBOX_MCP_WORKERS": "many"}, nil, []string{"SANDBOX_MCP_WORKERS", "--workers"}},
		{"every bad variable at once", nil, map[string]string{"SANDBOX_MCP_WORKERS": "many", "SANDBOX_MCP_ACP_TIMEOUT": "2"}, nil,
			[]string{"SANDBOX_MCP_WORKERS", "SANDBOX_MCP_ACP_TIMEOUT"}},
		{"validation still applies to variables", nil, map[string]string{"SANDBOX_MCP_BACKEND": "nope"}, nil, []string{`--backend "nope"`}},
		{"the command line wins", []string{"--idle-ttl=1h", "--workers=3"}, map[string]string{"SANDBOX_MCP_IDLE_TTL": "30", "SANDBOX_MCP_WORKERS": "7"},
			func(c config) bool { return c.idleTTL == time.Hour && c.workers == 3 }, nil},
		{"an empty variable is unset", nil, map[string]string{"SANDBOX_MCP_WORKERS": ""}, func(c config) bool { return c.workers == 32 }, nil},
		{"a string variable", nil, map[string]string{"SANDBOX_MCP_AUTO_PERMISSION": "edits", "SANDBOX_MCP_DOCKER_CAP_ADD": "CHOWN, SETUID"},
			func(c config) bool {
				return c.autoPermission == "edits" && strings.Join(c.docker.CapAdd, ",") == "CHOWN,SETUID"
			}, nil},
		{"a bad allowed origin", []string{"--http=:0"}, map[string]string{"SANDBOX_MCP_HTTP_ALLOWED_ORIGINS": "https://ok.example, evil"}, nil,
			[]string{"--http-allowed-origins", `"evil"`}},
		{"--version needs no configuration", []string{"--version"}, map[string]string{"HOME": "", "SANDBOX_MCP_IDLE_TTL": "30"},
			func(c config) bool { return c.version }, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := map[string]string{"HOME": t.TempDir()}
			maps.Copy(env, tt.env)
			c, err := parseConfig(tt.args, func(k string) string { return env[k] }, io.Discard)
			if tt.wantErr != nil {
				if err == nil {
					t.Fatalf("no error; want one naming %q", tt.wantErr)
				}
				for _, w := range tt.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not name %q", err, w)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !tt.check(c) {
				t.Errorf("config = %+v", c)
			}
		})
	}
}

// TestConfigUsageNamesVariables: the help text names each flag's variable, generated from the flag's name.
func TestConfigUsageNamesVariables(t *testing.T) {
	var out strings.Builder
	_, err := parseConfig([]string{"-h"}, func(string) string { return "" }, &out)
	if err == nil {
		t.Fatal("-h: no error")
	}
	for _, want := range []string{"(env SANDBOX_MCP_IDLE_TTL)", "(env SANDBOX_MCP_DOCKER_PULL)", "(env SANDBOX_MCP_HTTP_TOKEN_FILE)"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("usage does not contain %q", want)
		}
	}
	if strings.Contains(out.String(), "SANDBOX_MCP_VERSION") {
		t.Error("usage gives --version a variable")
	}
}

// TestConfigMaxTurnTime: --max-turn-time (flag or variable) becomes the budget's turn seconds. Before,
// validate (a value receiver) set it on a copy, so the limit never reached the manager.
func TestConfigMaxTurnTime(t *testing.T) {
	for _, tc := range []struct {
		args []string
		env  map[string]string
		want int
	}{
		{args: []string{"--max-turn-time=90s"}, want: 90},
		{env: map[string]string{"SANDBOX_MCP_MAX_TURN_TIME": "2m"}, want: 120},
		{args: []string{"--max-turn-time=100ms"}, want: 1},
		{want: 0},
	} {
		getenv := func(k string) string { return tc.env[k] }
		c, err := parseConfig(append([]string{"--state-dir", t.TempDir()}, tc.args...), getenv, io.Discard)
		if err != nil {
			t.Fatalf("%v %v: %v", tc.args, tc.env, err)
		}
		if c.budget.MaxTurnSeconds != tc.want {
			t.Errorf("%v %v: MaxTurnSeconds = %d, want %d", tc.args, tc.env, c.budget.MaxTurnSeconds, tc.want)
		}
	}
}

// TestConfigBadValueKeepsCharacters: a long bad value is cut in the error on a character boundary, so the
// message shows the characters, not \x escapes of half of one.
func TestConfigBadValueKeepsCharacters(t *testing.T) {
	v := "x" + strings.Repeat("é", 40) // 81 bytes: a cut at byte 64 falls inside an é
	_, err := parseConfig(nil, func(k string) string {
		if k == "SANDBOX_MCP_WORKERS" {
			return v
		}
		return ""
	}, io.Discard)
	if err == nil {
		t.Fatal("no error for a bad SANDBOX_MCP_WORKERS")
	}
	if msg := err.Error(); !utf8.ValidString(msg) || strings.Contains(msg, `\x`) || !strings.Contains(msg, "x"+strings.Repeat("é", 31)+"…") {
		t.Errorf("error = %q; want the value cut after 31 whole é", msg)
	}
}

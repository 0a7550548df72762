package sandbox

import (
	"testing"
)

// FuzzParseLs: the `ls --json` and `ls` table parsers never panic on whatever the CLI prints, and every
// sandbox they return has a name and one of our two statuses.
func FuzzParseLs(f *testing.F) {
	for _, s := range []string{
		`{"vms":[{"name":"box1","agent":"claude","status":"running","workspaces":["/w"]}]}`,
		`{"sandboxes":[{"id":"7f0c","name":"b1","status":"running","ports":[{"host_port":1}]}]}`,
		`[{"name":"b1"}]`, `{"vms":null}`, `{"vms":{"name":"x"}}`, `{"sandboxes":[{"workspaces":"/w","agent":7,"name":"b"}]}`,
		"SANDBOX   AGENT   STATUS    PORTS   WORKSPACE\nb1        codex   running           /w\n",
		"SANDBOX                        AGENT    STATUS    WORKSPACE\nclaude-sbox   claude   running   /a, /b\n",
		"\r\nSTATUS    NAME   WORKSPACES\r\nrunning   b1     /w\r\n",
		"SANDBOX  AGENT\nébox     ç\n", "NAME\n", "", "\x00\xff",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		for parser, parse := range map[string]func([]byte) ([]Info, error){"json": parseLsJSON, "table": parseLsTable} {
			infos, err := parse(b)
			if err != nil {
				continue
			}
			for _, in := range infos {
				if in.Name == "" {
					t.Errorf("%s parser returned a sandbox without a name: %+v", parser, in)
				}
				if in.Status != StatusRunning && in.Status != StatusStopped {
					t.Errorf("%s parser returned status %q", parser, in.Status)
				}
			}
		}
	})
}

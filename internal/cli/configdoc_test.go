package cli

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sandbox-mcp/sandbox-mcp/internal/gendoc"
	"github.com/sandbox-mcp/sandbox-mcp/internal/testenv"
)

// machineDefaults are the flags whose default depends on the machine the server runs on; the reference
// states the rule instead of this machine's value.
var machineDefaults = map[string]string{
	"state-dir":   "`$XDG_STATE_HOME/sandbox-mcp`, else `~/.local/state/sandbox-mcp`",
	"docker-user": "your `uid:gid`",
	"docker-cpus": "`2` (`1` on a one-CPU machine)",
}

// docFlagSet is the server's FlagSet as parseConfigWith builds it (extra adds a subcommand's flags), read
// in the environment env.
func docFlagSet(t *testing.T, env map[string]string, extra func(*flag.FlagSet)) *flag.FlagSet {
	t.Helper()
	var fs *flag.FlagSet
	getenv := func(k string) string { return env[k] }
	if _, err := parseConfigWith("sandbox-mcp", []string{"--version"}, getenv, io.Discard, func(f *flag.FlagSet) {
		fs = f
		if extra != nil {
			extra(f)
		}
	}); err != nil {
		t.Fatal(err)
	}
	return fs
}

// flagsTable renders the flags of fs (only those in names, when names is not nil) as a Markdown table.
func flagsTable(fs *flag.FlagSet, names []string) string {
	var b strings.Builder
	b.WriteString("| flag | environment variable | default | description |\n|---|---|---|---|\n")
	fs.VisitAll(func(f *flag.Flag) {
		if names != nil && !slices.Contains(names, f.Name) {
			return
		}
		env, usage := "(none)", f.Usage
		if !noEnvFlags[f.Name] {
			env = "`" + flagEnvName(f.Name) + "`"
			usage = strings.TrimSuffix(usage, " (env "+flagEnvName(f.Name)+")")
		}
		def := "(empty)"
		if d, ok := machineDefaults[f.Name]; ok {
			def = d
		} else if f.DefValue != "" {
			def = "`" + f.DefValue + "`"
		}
		fmt.Fprintf(&b, "| `--%s` | %s | %s | %s |\n", f.Name, env, gendoc.Cell(def), gendoc.Cell(gendoc.Escape(usage)))
	})
	return b.String()
}

// TestConfigurationDoc keeps docs/configuration.md's flag tables equal to the FlagSet: a flag added,
// renamed or re-described without the doc fails here. UPDATE_DOCS=1 rewrites the tables.
func TestConfigurationDoc(t *testing.T) {
	env := map[string]string{"HOME": "/home/me"}
	server := docFlagSet(t, env, nil)
	gendoc.Check(t, filepath.Join(testenv.RepoRoot(), "docs", "configuration.md"), "FLAGS", flagsTable(server, nil))

	var opts pruneOptions
	prune := docFlagSet(t, env, pruneFlags(&opts))
	var own []string
	prune.VisitAll(func(f *flag.Flag) {
		if server.Lookup(f.Name) == nil {
			own = append(own, f.Name)
		}
	})
	if len(own) == 0 {
		t.Fatal("prune defines no flags of its own: pruneFlags changed")
	}
	gendoc.Check(t, filepath.Join(testenv.RepoRoot(), "docs", "configuration.md"), "PRUNE FLAGS", flagsTable(prune, own))
}

// TestMachineDefaults guards machineDefaults: each names a flag, and every flag whose default follows the
// environment or this machine's user is listed (else the doc would show the generating machine's value).
func TestMachineDefaults(t *testing.T) {
	a := docFlagSet(t, map[string]string{"HOME": "/home/a"}, nil)
	b := docFlagSet(t, map[string]string{"HOME": "/home/b", "XDG_STATE_HOME": "/state/b"}, nil)
	for name := range machineDefaults {
		if a.Lookup(name) == nil {
			t.Errorf("machineDefaults names %q, which is not a flag", name)
		}
	}
	ids := fmt.Sprintf("%d:%d", os.Getuid(), os.Getgid())
	a.VisitAll(func(f *flag.Flag) {
		varies := f.DefValue != b.Lookup(f.Name).DefValue || f.DefValue == ids
		if _, ok := machineDefaults[f.Name]; varies && !ok {
			t.Errorf("--%s's default %q depends on the machine: describe it in machineDefaults", f.Name, f.DefValue)
		}
	})
}

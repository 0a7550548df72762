package cli

// `sandbox-mcp prune`: remove our sandboxes (and only ours) older than an age, from a shell or a cron job.
// The shared flags (--backend, --state-dir, --docker-*, --sbx-bin…) are the server's, parsed by
// parseConfig, and the manager is wired by newManager, so prune sees exactly what the server would.

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/sandbox-mcp/sandbox-mcp/manager"
	"github.com/sandbox-mcp/sandbox-mcp/redact"
)

// defaultPruneAge is --older-than's default.
const defaultPruneAge = 24 * time.Hour

// pruneOptions are prune's own flags.
type pruneOptions struct {
	olderThan time.Duration
	dryRun    bool
}

// parsePruneArgs parses prune's flags and the server's on one flag set, so both take the same forms
// (-x, --x, --x=v, --x v) and the same environment rules (SANDBOX_MCP_OLDER_THAN, SANDBOX_MCP_DRY_RUN;
// applyEnv). Logs default to warn here: the lines on stdout say what happened, and info logs on stderr
// would say it twice.
func parsePruneArgs(args []string, getenv func(string) string, stderr io.Writer) (pruneOptions, config, error) {
	var opts pruneOptions
	cfg, err := parseConfigWith("sandbox-mcp prune", args, getenv, stderr, pruneFlags(&opts))
	return opts, cfg, err
}

// pruneFlags defines prune's own flags into opts (docs/configuration.md lists them from here).
func pruneFlags(opts *pruneOptions) func(*flag.FlagSet) {
	return func(fs *flag.FlagSet) {
		opts.olderThan = defaultPruneAge
		fs.Var(ageValue{&opts.olderThan}, "older-than", "minimum age, e.g. 24h, 90m or 7d")
		fs.BoolVar(&opts.dryRun, "dry-run", false, "only print what would be removed")
		if f := fs.Lookup("log-level"); f != nil {
			_ = f.Value.Set("warn") // a default: the command line and the variable still override it
			f.DefValue = "warn"
		}
		fs.Usage = func() { pruneUsage(fs.Output()) }
	}
}

// runPrune runs `sandbox-mcp prune [--older-than 24h] [--dry-run] [server flags]`. It prints one line per
// sandbox it looked at (removed, would remove, skipped: reason, failed: error) and a summary to stdout, and
// returns an error when a sandbox could not be removed. -h prints its usage and returns flag.ErrHelp.
func runPrune(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	opts, cfg, err := parsePruneArgs(args, getenv, stderr)
	if err != nil {
		return fmt.Errorf("prune: %w", err)
	}
	red := redact.FromEnv(cfg.passEnv, getenv)
	logger := newLogger(cfg, getenv, stderr, red)
	mgr, err := newManager(cfg, getenv, logger, red)
	if err != nil {
		return fmt.Errorf("prune: %w", err)
	}
	defer mgr.Close()

	rep, err := mgr.Prune(ctx, opts.olderThan, opts.dryRun)
	for _, e := range rep.Entries {
		fmt.Fprintf(stdout, "%s %s/%s: %s\n", e.Action, e.Backend, e.Name, e.Reason)
	}
	for _, w := range rep.Warnings {
		fmt.Fprintf(stderr, "sandbox-mcp prune: warning: %s\n", w)
	}
	fmt.Fprintln(stdout, pruneSummary(rep))
	if err != nil {
		return err
	}
	if n := rep.Count(manager.PruneFailed); n > 0 {
		return fmt.Errorf("prune: %d sandbox(es) could not be removed", n)
	}
	return nil
}

// pruneSummary is the last line: what was done, against which age.
func pruneSummary(rep manager.PruneReport) string {
	age := manager.HumanDuration(rep.OlderThan)
	if rep.DryRun {
		return fmt.Sprintf("dry run: %d would be removed, %d skipped (older than %s); nothing was removed",
			rep.Count(manager.PruneWouldRemove), rep.Count(manager.PruneSkipped), age)
	}
	s := fmt.Sprintf("pruned: %d removed, %d skipped", rep.Count(manager.PruneRemoved), rep.Count(manager.PruneSkipped))
	if n := rep.Count(manager.PruneFailed); n > 0 {
		s += fmt.Sprintf(", %d failed", n)
	}
	return s + " (older than " + age + ")"
}

// ageValue is --older-than as a flag.Value: a Go duration or a number of days, never negative.
type ageValue struct{ d *time.Duration }

func (v ageValue) String() string {
	if v.d == nil {
		return ""
	}
	return manager.HumanDuration(*v.d)
}

func (v ageValue) Set(s string) error {
	d, err := parseAge(s)
	if err != nil {
		return err
	}
	*v.d = d
	return nil
}

// parseAge reads a Go duration ("36h", "90m") or a number of days ("7d").
func parseAge(s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if days, ok := strings.CutSuffix(s, "d"); ok && err != nil {
		if n, nerr := strconv.Atoi(days); nerr == nil {
			d, err = time.Duration(n)*24*time.Hour, nil
		}
	}
	switch {
	case err != nil:
		return 0, fmt.Errorf("%q is not a duration: use e.g. 24h, 90m or 7d", s)
	case d < 0:
		return 0, fmt.Errorf("%q is negative", s)
	}
	return d, nil
}

func pruneUsage(w io.Writer) {
	fmt.Fprint(w, `Usage: sandbox-mcp prune [--older-than 24h] [--dry-run] [server flags]

Removes sandboxes sandbox-mcp created more than --older-than ago: those in the state directory's records
(their sessions are closed and their records archived, as destroy_sandbox does), and Docker containers
labelled org.sandbox-mcp.managed=true that the records do not know (a lost state directory), by their
org.sandbox-mcp.created label. Unlabelled containers and sbx or docker sandbox sandboxes that are not in
the records are never touched. A sandbox with a turn running that was used within --older-than is kept.

  --older-than DURATION   minimum age, e.g. 24h, 90m or 7d (default 24h; env SANDBOX_MCP_OLDER_THAN)
  --dry-run               only print what would be removed (env SANDBOX_MCP_DRY_RUN)

Server flags that apply: --backend (auto: every backend; or only sbx, docker-sandbox or docker),
--state-dir, --sbx-bin, --docker-bin, --docker-context and the other --docker-* flags, --log-level
(default warn here). See sandbox-mcp -h.
`)
}

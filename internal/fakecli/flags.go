package fakecli

import (
	"fmt"
	"strconv"
	"strings"
)

// A tiny pflag/cobra look-alike. The real CLIs are cobra programs, so callers
// see cobra's error texts ("unknown flag: --x", "flag needs an argument: ...")
// and cobra's parsing rules (combined short bools, --f=v, interspersed flags,
// "--" terminator). Re-implementing the subset we need keeps the package
// stdlib-only while letting tests exercise argument-building mistakes.

type flagKind int

const (
	boolFlag   flagKind = iota // --json, -q
	stringFlag                 // --name N (last one wins)
	listFlag                   // -e K=V (repeatable, order kept)
)

type flagSpec struct {
	long  string // without dashes; also the key in parsed maps
	short string // one letter or ""
	kind  flagKind
}

// globalFlags are accepted by every command (cobra persistent flags):
// -D/--debug is documented, --socket is the hidden daemon-socket override.
var globalFlags = []flagSpec{
	{long: "debug", short: "D", kind: boolFlag},
	{long: "socket", kind: stringFlag},
}

type parsed struct {
	bools map[string]bool
	strs  map[string]string
	lists map[string][]string
	args  []string
	help  bool
}

// str returns the flag's value or def when the flag was not given, which lets
// callers distinguish "absent" from "given empty" where that matters.
func (p *parsed) str(name, def string) string {
	if v, ok := p.strs[name]; ok {
		return v
	}
	return def
}

// usageError marks errors that cobra would report as usage errors (exit 2 here).
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, a ...any) error { return usageError{fmt.Sprintf(format, a...)} }

// parseFlags parses args against specs (+ globalFlags). With interspersed
// false, parsing stops at the first positional argument, which is what
// `docker exec` does so that the inner command's flags are passed through.
func parseFlags(specs []flagSpec, args []string, interspersed bool) (*parsed, error) {
	all := append(append([]flagSpec{}, specs...), globalFlags...)
	p := &parsed{bools: map[string]bool{}, strs: map[string]string{}, lists: map[string][]string{}}
	byLong := func(n string) *flagSpec {
		for i := range all {
			if all[i].long == n {
				return &all[i]
			}
		}
		return nil
	}
	byShort := func(n string) *flagSpec {
		for i := range all {
			if all[i].short != "" && all[i].short == n {
				return &all[i]
			}
		}
		return nil
	}
	set := func(f *flagSpec, v string) error {
		switch f.kind {
		case boolFlag:
			b, err := strconv.ParseBool(v)
			if err != nil {
				return usagef("invalid argument %q for \"--%s\" flag: %v", v, f.long, err)
			}
			p.bools[f.long] = b
		case stringFlag:
			p.strs[f.long] = v
		case listFlag:
			p.lists[f.long] = append(p.lists[f.long], v)
		}
		return nil
	}
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			p.args = append(p.args, args[i+1:]...)
			return p, nil
		case strings.HasPrefix(a, "--"):
			name, val, hasVal := strings.Cut(a[2:], "=")
			if name == "help" {
				p.help = true
				continue
			}
			f := byLong(name)
			if f == nil {
				return nil, usagef("unknown flag: --%s", name)
			}
			if !hasVal {
				if f.kind == boolFlag {
					val = "true"
				} else {
					if i+1 >= len(args) {
						return nil, usagef("flag needs an argument: --%s", name)
					}
					i++
					val = args[i]
				}
			}
			if err := set(f, val); err != nil {
				return nil, err
			}
		case strings.HasPrefix(a, "-") && len(a) > 1:
			// Combined shorthands: -it, -dit, -tIMAGE, -eK=V.
			for j := 1; j < len(a); j++ {
				c := a[j : j+1]
				if c == "h" {
					p.help = true
					continue
				}
				f := byShort(c)
				if f == nil {
					return nil, usagef("unknown shorthand flag: '%s' in %s", c, a)
				}
				if f.kind == boolFlag {
					p.bools[f.long] = true
					continue
				}
				val := strings.TrimPrefix(a[j+1:], "=")
				if j+1 >= len(a) {
					if i+1 >= len(args) {
						return nil, usagef("flag needs an argument: '%s' in %s", c, a)
					}
					i++
					val = args[i]
				}
				if err := set(f, val); err != nil {
					return nil, err
				}
				break
			}
		default:
			if !interspersed {
				p.args = append(p.args, args[i:]...)
				return p, nil
			}
			p.args = append(p.args, a)
		}
	}
	return p, nil
}

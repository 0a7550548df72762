package fakecli

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
)

// `sbx secret` and `sbx policy`, the two host-side stores sbx consults for a
// sandbox's outbound traffic (docker/docs reference/cli/sbx/secret/*,
// reference/cli/sbx/policy/*, checked 2026-12-02). The double keeps them, so
// callers can be tested for what they store and ask; each sbx VM's proxy (proxy.go) enforces the policy.
//
//	sbx secret set [-g | SANDBOX] SERVICE [-t TOKEN]   (value from stdin without -t)
//	sbx secret ls [SANDBOX] [-g] [--service S]
//	sbx secret rm [-g | SANDBOX] SERVICE
//	sbx policy allow|deny network [-g | SANDBOX] "host1,host2"
//	sbx policy ls [SANDBOX]
//	sbx policy check network [--sandbox SANDBOX] [--json] TARGET   (sbx ≥ 0.35; exit 1 when denied)
//
// The text layout of `secret ls` and `policy ls` is not documented; the
// double prints a table with a SERVICE (resp. HOST) column. Values are never
// printed: "The secret is never exposed directly."

type secretRec struct {
	Scope   string `json:"scope"` // "(global)" or a sandbox name
	Service string `json:"service"`
	Value   string `json:"value"`
}

type policyRec struct {
	Scope  string `json:"scope"`
	Action string `json:"action"` // allow | deny
	Host   string `json:"host"`
}

const globalScope = "(global)"

func (e *env) storePath(kind string) string { return filepath.Join(e.root, "."+kind+".json") }

func (e *env) loadStore(kind string, v any) error {
	b, err := os.ReadFile(e.storePath(kind))
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

func (e *env) saveStore(kind string, v any) error {
	if err := os.MkdirAll(e.root, 0o755); err != nil {
		return err
	}
	b, _ := json.MarshalIndent(v, "", "  ")
	tmp := e.storePath(kind) + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, e.storePath(kind))
}

// scope resolves `-g | SANDBOX`: exactly one of them (a sandbox must exist).
func (e *env) scope(global bool, args []string) (string, []string, error) {
	if global {
		return globalScope, args, nil
	}
	if len(args) == 0 {
		return "", nil, usagef("specify -g or a sandbox name")
	}
	if _, err := e.load(args[0]); err != nil {
		return "", nil, err
	}
	return args[0], args[1:], nil
}

func (e *env) secret(args []string) int {
	if len(args) == 0 {
		return e.usage(usagef("\"sbx secret\" requires a subcommand: set, ls, rm"), "sbx secret")
	}
	sub, rest := args[0], args[1:]
	cmdPath := "sbx secret " + sub
	p, err := parseFlags([]flagSpec{{long: "global", short: "g", kind: boolFlag}, {long: "service", kind: stringFlag},
		{long: "token", short: "t", kind: stringFlag}}, rest, true)
	if err != nil {
		return e.usage(err, cmdPath)
	}
	unlock, err := e.lock()
	if err != nil {
		return e.fail("%v", err)
	}
	defer unlock()
	var recs []secretRec
	if err := e.loadStore("secrets", &recs); err != nil {
		return e.fail("%v", err)
	}
	switch sub {
	case "ls":
		tw := tabwriter.NewWriter(e.stdout, 0, 8, 3, ' ', 0)
		fmt.Fprintln(tw, "SCOPE\tSERVICE\tSECRET")
		for _, r := range recs {
			if (p.bools["global"] && r.Scope != globalScope) || (len(p.args) > 0 && r.Scope != p.args[0] && r.Scope != globalScope) ||
				(p.str("service", "") != "" && r.Service != p.str("service", "")) {
				continue
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\n", r.Scope, r.Service, "********")
		}
		tw.Flush()
		return 0
	case "set", "rm":
		scope, rest, err := e.scope(p.bools["global"], p.args)
		if err != nil {
			if _, ok := err.(usageError); ok {
				return e.usage(err, cmdPath)
			}
			return e.notFound(p.args[0], err)
		}
		if len(rest) != 1 {
			return e.usage(usagef("%q requires exactly one SERVICE", cmdPath), cmdPath)
		}
		svc := rest[0]
		recs = slices.DeleteFunc(recs, func(r secretRec) bool { return r.Scope == scope && r.Service == svc })
		if sub == "set" {
			val := p.str("token", "")
			if val == "" {
				line, _ := bufio.NewReader(e.stdin).ReadString('\n')
				val = strings.TrimSpace(line)
			}
			if val == "" {
				return e.fail("no secret value given")
			}
			recs = append(recs, secretRec{Scope: scope, Service: svc, Value: val})
		}
		if err := e.saveStore("secrets", recs); err != nil {
			return e.fail("%v", err)
		}
		return 0
	}
	return e.usage(usagef("unknown command %q for \"sbx secret\"", sub), "sbx secret")
}

func (e *env) policy(args []string) int {
	if len(args) == 0 {
		return e.usage(usagef("\"sbx policy\" requires a subcommand"), "sbx policy")
	}
	sub, rest := args[0], args[1:]
	if code, ok := e.fault("policy " + sub); ok { // FAKECLI_FAIL="policy allow:…" fails only that subcommand
		return code
	}
	if sub == "check" {
		return e.policyCheck(rest)
	}
	p, err := parseFlags([]flagSpec{{long: "global", short: "g", kind: boolFlag}}, rest, true)
	if err != nil {
		return e.usage(err, "sbx policy "+sub)
	}
	unlock, err := e.lock()
	if err != nil {
		return e.fail("%v", err)
	}
	defer unlock()
	var recs []policyRec
	if err := e.loadStore("policy", &recs); err != nil {
		return e.fail("%v", err)
	}
	switch sub {
	case "ls":
		tw := tabwriter.NewWriter(e.stdout, 0, 8, 3, ' ', 0)
		fmt.Fprintln(tw, "SCOPE\tACTION\tHOST")
		for _, r := range recs {
			if len(p.args) == 0 || r.Scope == p.args[0] || r.Scope == globalScope {
				fmt.Fprintf(tw, "%s\t%s\t%s\n", r.Scope, r.Action, r.Host)
			}
		}
		tw.Flush()
		return 0
	case "allow", "deny":
		cmdPath := "sbx policy " + sub + " network"
		if len(p.args) == 0 || p.args[0] != "network" {
			return e.usage(usagef("%q requires the resource type \"network\"", "sbx policy "+sub), cmdPath)
		}
		scope, rest, err := e.scope(p.bools["global"], p.args[1:])
		if err != nil {
			if _, ok := err.(usageError); ok {
				return e.usage(err, cmdPath)
			}
			return e.notFound(p.args[1], err)
		}
		if len(rest) != 1 || strings.TrimSpace(rest[0]) == "" {
			return e.usage(usagef("%q requires one comma-separated list of hosts", cmdPath), cmdPath)
		}
		for _, h := range strings.Split(rest[0], ",") {
			h = strings.TrimSpace(h)
			if h == "" || strings.ContainsAny(h, " /\\") {
				return e.fail("invalid host %q", h)
			}
			recs = slices.DeleteFunc(recs, func(r policyRec) bool { return r.Scope == scope && r.Host == h })
			recs = append(recs, policyRec{Scope: scope, Action: sub, Host: h})
		}
		if err := e.saveStore("policy", recs); err != nil {
			return e.fail("%v", err)
		}
		return 0
	}
	return e.usage(usagef("unknown command %q for \"sbx policy\"", sub), "sbx policy")
}

// policyCheck is `sbx policy check network [--sandbox S] TARGET`: "The output reports Allowed or Denied
// … A denied check returns exit status 1"; TARGET is a hostname, host:port, IP or URL, and "Bare hosts
// and IP literals are evaluated with port 443. HTTP(S) URLs use their default ports"
// (docs.docker.com/reference/cli/sbx/policy/check/network, ai/governance/local/test-monitor.md).
// The double prints one line; the real layout (governance and context details) is not documented.
func (e *env) policyCheck(args []string) int {
	cmdPath := "sbx policy check network"
	p, err := parseFlags([]flagSpec{{long: "sandbox", kind: stringFlag}, {long: "json", kind: boolFlag},
		{long: "verbose", kind: boolFlag}}, args, true)
	if err != nil {
		return e.usage(err, cmdPath)
	}
	if len(p.args) != 2 || p.args[0] != "network" {
		return e.usage(usagef("%q requires exactly one TARGET", cmdPath), cmdPath)
	}
	target := p.args[1]
	hostPort := target
	if u, err := url.Parse(target); err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" {
		port := u.Port()
		if port == "" {
			port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
		}
		hostPort = net.JoinHostPort(u.Hostname(), port)
	} else if _, _, err := net.SplitHostPort(target); err != nil {
		hostPort = net.JoinHostPort(target, "443")
	}
	name := p.str("sandbox", "")
	if name != "" {
		if _, err := e.load(name); err != nil {
			return e.notFound(name, err)
		}
	}
	decision := "Denied"
	if e.policyAllows(name, hostPort) {
		decision = "Allowed"
	}
	if p.bools["json"] {
		b, _ := json.Marshal(map[string]string{"target": hostPort, "decision": strings.ToLower(decision)})
		fmt.Fprintln(e.stdout, string(b))
	} else {
		fmt.Fprintf(e.stdout, "%s: %s\n", decision, hostPort)
	}
	if decision == "Denied" {
		return 1
	}
	return 0
}

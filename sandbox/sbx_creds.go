package sandbox

// Agent keys and sbx's credential proxy. sbx runs an HTTP(S) proxy on the host for every sandbox: "When a
// sandbox starts, the proxy uses stored secrets to authenticate API requests on behalf of the agent. The
// secret is never exposed directly" (docs.docker.com/reference/cli/sbx/secret). A secret is stored per
// service (`sbx secret set -g anthropic`), the sandbox sees only a sentinel in the variable, and the proxy
// writes the real header on the way out (docs.docker.com/ai/sandboxes/security/credentials). Passing the
// same key with `exec -e` would put the real value inside the VM, where the agent (which we treat as
// hostile) can read it. So for a key whose service sbx holds, sandbox-agent gets no -e for it; a key sbx
// does not hold enters the VM only when the operator allowed it (SbxOptions.PassKeys, --sbx-pass-keys).
// Variables the operator named with --pass-env are not agent keys and pass as before.

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"
)

// SbxKeyServices maps an agent key variable to the sbx service whose stored secret the proxy uses in its
// place. The services and their variables are those of Docker's own credential kit, sbx/shell-kit
// (hub.docker.com/r/sbx/shell-kit: ANTHROPIC_API_KEY anthropic, GH_TOKEN github, GOOGLE_API_KEY google,
// MISTRAL_API_KEY mistral, NEBIUS_API_KEY nebius, OPENAI_API_KEY openai, OPENROUTER_API_KEY openrouter,
// XAI_API_KEY xai), plus GEMINI_API_KEY, which Google's SDKs read for the same service.
var SbxKeyServices = map[string]string{
	"ANTHROPIC_API_KEY":  "anthropic",
	"OPENAI_API_KEY":     "openai",
	"GOOGLE_API_KEY":     "google",
	"GEMINI_API_KEY":     "google",
	"OPENROUTER_API_KEY": "openrouter",
	"GH_TOKEN":           "github",
	"GITHUB_TOKEN":       "github",
	"MISTRAL_API_KEY":    "mistral",
	"XAI_API_KEY":        "xai",
	"NEBIUS_API_KEY":     "nebius",
}

// SecretServices runs `sbx secret ls` and returns the services whose secrets apply to sandbox name: the
// global ones and name's own (name "" lists the global ones only).
func (s *Sbx) SecretServices(ctx context.Context, name string) (map[string]bool, error) {
	args := []string{}
	if name != "" {
		args = append(args, name)
	}
	op := s.c.op("secret ls", name)
	res, err := s.c.r.Run(ctx, Cmd{Args: s.c.argv("secret", append([]string{"ls"}, args...)...)})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, s.c.mapExec(op, name, err))
	}
	return parseSecretLs(res.Stdout, name), nil
}

// parseSecretLs reads `sbx secret ls`: a table whose layout is undocumented beyond its columns SCOPE,
// SERVICE and SECRET (a masked value), with "(global)" as the global scope. Columns are found by header.
func parseSecretLs(out []byte, name string) map[string]bool {
	got := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	scope, service := -1, -1
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		if scope < 0 && service < 0 {
			scope, service = slices.Index(f, "SCOPE"), slices.Index(f, "SERVICE")
			if service < 0 { // not a header: no table we can read
				return got
			}
			continue
		}
		if service >= len(f) {
			continue
		}
		if scope >= 0 && scope < len(f) && f[scope] != "(global)" && f[scope] != name {
			continue
		}
		got[strings.ToLower(f[service])] = true
	}
	return got
}

// KeyPlan says, for each agent key set on the host, how it reaches a sandbox on sbx.
type KeyPlan struct {
	Held    []string // sbx holds the key's service: the proxy authenticates, the value stays on the host
	ByValue []string // passed into the VM by name (-e NAME), because the operator allowed it
	Dropped []string // neither: the agent has no key unless one is stored with `sbx secret set`
}

// planKeys sorts the agent keys among env's bare names (secrets passed by name) by what sbx holds.
func (s *Sbx) planKeys(env []string, held map[string]bool) (KeyPlan, []string) {
	var p KeyPlan
	out := make([]string, 0, len(env))
	for _, kv := range env {
		if strings.Contains(kv, "=") || !slices.Contains(s.opts.AgentKeys, kv) {
			out = append(out, kv)
			continue
		}
		switch svc, ok := SbxKeyServices[kv]; {
		case ok && held[svc]:
			p.Held = append(p.Held, kv)
		case s.opts.PassKeys:
			p.ByValue = append(p.ByValue, kv)
			out = append(out, kv)
		default:
			p.Dropped = append(p.Dropped, kv)
		}
	}
	return p, out
}

// PlanKeys is planKeys for doctor: keys are the agent keys set on the host; it asks sbx what it holds.
func (s *Sbx) PlanKeys(ctx context.Context, keys []string) (KeyPlan, error) {
	held, err := s.SecretServices(ctx, "")
	if err != nil {
		return KeyPlan{}, err
	}
	p, _ := s.planKeys(keys, held)
	return p, nil
}

// keyEnv filters sandbox-agent's environment for sandbox name before it is started: agent keys that sbx
// holds, or that the operator did not allow by value, are left out. When `sbx secret ls` fails, no key
// is passed by value unless allowed, as if sbx held none.
func (s *Sbx) keyEnv(ctx context.Context, name string, env []string) []string {
	if len(s.opts.AgentKeys) == 0 {
		return env
	}
	hasKey := slices.ContainsFunc(env, func(kv string) bool { return slices.Contains(s.opts.AgentKeys, kv) })
	if !hasKey {
		return env
	}
	held, err := s.SecretServices(ctx, name)
	if err != nil {
		held = map[string]bool{}
	}
	p, out := s.planKeys(env, held)
	if len(p.Dropped) > 0 && s.opts.Warn != nil {
		s.opts.Warn(fmt.Sprintf("agent keys %s are not passed into sbx sandbox %q: store them with `sbx secret set -g SERVICE` (the proxy then authenticates) or allow passing them by value with --sbx-pass-keys",
			strings.Join(p.Dropped, ", "), name))
	}
	return out
}

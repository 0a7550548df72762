package sandbox

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseSecretLs(t *testing.T) {
	out := "SCOPE      SERVICE     SECRET\n(global)   anthropic   ********\nother      openai      ********\nkeys       github      ********\n"
	for _, tc := range []struct {
		name, out string
		want      []string
	}{
		{"global and own", out, []string{"anthropic", "github"}},
		{"empty table", "SCOPE   SERVICE   SECRET\n", nil},
		{"no header", "anthropic\n", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := parseSecretLs([]byte(tc.out), "keys")
			if len(got) != len(tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
			for _, w := range tc.want {
				if !got[w] {
					t.Errorf("got %v, want %s", got, w)
				}
			}
		})
	}
}

// TestSbxKeysThroughProxy: an agent key whose service sbx holds as a stored secret never enters the VM (the
// proxy authenticates); a key sbx does not hold enters it only with PassKeys; --pass-env variables that are
// not agent keys pass as before. Checked inside the sandbox, in the held exec's environment.
func TestSbxKeysThroughProxy(t *testing.T) {
	for _, tc := range []struct {
		name                 string
		stored, passKeys     bool
		wantKey, wantUnknown string // inside: ANTHROPIC_API_KEY, CLAUDE_CODE_OAUTH_TOKEN
	}{
		{"stored, not allowed", true, false, "none", "none"},
		{"stored, allowed", true, true, "none", "tok-oauth"},
		{"not stored, not allowed", false, false, "none", "none"},
		{"not stored, allowed", false, true, "sk-ant-value", "tok-oauth"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ex, bin, _ := fakeWorld(t, "present")
			ex.Env = append(ex.Env, "FAKECLI_AUTOSTOP=off", "ANTHROPIC_API_KEY=sk-ant-value", "CLAUDE_CODE_OAUTH_TOKEN=tok-oauth", "PLAIN=p")
			tpl := filepath.Join(filepath.Dir(bin), "tpl")
			os.MkdirAll(filepath.Join(tpl, "t"), 0o755)
			ex.Env = append(ex.Env, "FAKECLI_TEMPLATES="+tpl)
			var warned []string
			b := NewSbx(ex, SbxOptions{Binary: filepath.Join(bin, "sbx"), Pull: "never", Template: "t", StateDir: t.TempDir(), BaseEnv: ex.Env,
				AgentKeys: []string{"ANTHROPIC_API_KEY", "CLAUDE_CODE_OAUTH_TOKEN"}, PassKeys: tc.passKeys,
				Warn: func(s string) { warned = append(warned, s) }})
			ctx, ws := t.Context(), t.TempDir()
			if _, err := b.Create(ctx, Spec{Name: "keys", Workspace: ws}); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { b.Remove(context.Background(), "keys") }) // t.Context() is done by cleanup time
			if tc.stored {
				if _, err := ex.Run(ctx, Cmd{Args: []string{filepath.Join(bin, "sbx"), "secret", "set", "-g", "anthropic", "-t", "stored"}}); err != nil {
					t.Fatal(err)
				}
			}
			out := filepath.Join(ws, "env")
			script := `echo "${ANTHROPIC_API_KEY:-none} ${CLAUDE_CODE_OAUTH_TOKEN:-none} ${PLAIN:-none}" > ` + out + `; exec sleep 30`
			if _, err := b.Exec(ctx, "keys", ExecSpec{Args: []string{"sh", "-c", script}, Workdir: ws, Detach: true,
				Env: []string{"ANTHROPIC_API_KEY", "CLAUDE_CODE_OAUTH_TOKEN", "PLAIN"}}); err != nil {
				t.Fatal(err)
			}
			var got []byte
			for deadline := time.Now().Add(10 * time.Second); len(got) == 0 && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
				got, _ = os.ReadFile(out)
			}
			if want := tc.wantKey + " " + tc.wantUnknown + " p\n"; string(got) != want {
				t.Errorf("inside the sandbox: %q, want %q", got, want)
			}
			if dropped := tc.wantUnknown == "none"; dropped != (len(warned) == 1 && strings.Contains(warned[0], "CLAUDE_CODE_OAUTH_TOKEN")) {
				t.Errorf("warnings %q", warned)
			}
		})
	}
}

// TestSbxAllowHosts: the install hosts are allowed for the sandbox in sbx's policy store, once.
func TestSbxAllowHosts(t *testing.T) {
	ex, bin, _ := fakeWorld(t, "present")
	tpl := filepath.Join(filepath.Dir(bin), "tpl")
	os.MkdirAll(filepath.Join(tpl, "t"), 0o755)
	ex.Env = append(ex.Env, "FAKECLI_AUTOSTOP=off", "FAKECLI_TEMPLATES="+tpl)
	rec := &recorder{r: ex}
	b := NewSbx(rec, SbxOptions{Binary: filepath.Join(bin, "sbx"), Pull: "never", Template: "t", StateDir: t.TempDir()})
	ctx := t.Context()
	if _, err := b.Create(ctx, Spec{Name: "pol", Workspace: t.TempDir()}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Remove(context.Background(), "pol") }) // t.Context() is done by cleanup time
	hosts := []string{"cdn.agentclientprotocol.com", "registry.npmjs.org"}
	for range 2 {
		if err := b.AllowHosts(ctx, "pol", hosts); err != nil {
			t.Fatal(err)
		}
	}
	n := 0
	for _, a := range rec.args {
		if slices.Contains(a, "policy") {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d policy commands, want 1 (the second call has nothing to allow)", n)
	}
	res, err := ex.Run(ctx, Cmd{Args: []string{filepath.Join(bin, "sbx"), "policy", "ls", "pol"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range hosts {
		if !strings.Contains(string(res.Stdout), "allow") || !strings.Contains(string(res.Stdout), h) {
			t.Errorf("policy ls lacks allow %s:\n%s", h, res.Stdout)
		}
	}
}

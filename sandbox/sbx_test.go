package sandbox

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// checkCase is one scripted answer to `version` and what Check must make of it.
type checkCase struct {
	name      string
	res       Result
	err       error
	wantUnav  bool     // errors.Is(err, ErrUnavailable)
	wantTexts []string // substrings of the message
}

func runCheckCases(t *testing.T, b func(Runner) Backend, version []string, tests []checkCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := b(newFakeRunner(t, expect{args: version, res: tt.res, err: tt.err})).Check(t.Context())
			if got, want := errors.Is(err, ErrUnavailable), tt.wantUnav; got != want {
				t.Errorf("errors.Is(%v, ErrUnavailable) = %v, want %v", err, got, want)
			}
			if len(tt.wantTexts) == 0 && err != nil {
				t.Errorf("got %v, want nil", err)
			}
			for _, s := range tt.wantTexts {
				if err == nil || !strings.Contains(err.Error(), s) {
					t.Errorf("got %v, want it to contain %q", err, s)
				}
			}
			if err != nil && strings.Contains(err.Error(), "\n") {
				t.Errorf("got a multi-line error %q, want one line", err)
			}
		})
	}
}

func TestSbxCheck(t *testing.T) {
	version := []string{"sbx", "version"}
	runCheckCases(t, func(r Runner) Backend { return NewSbx(r, SbxOptions{}) }, version, []checkCase{
		{name: "version answers", res: out("sbx version v0.53.0\n")},
		{name: "not installed keeps the runner's error and adds the install hint",
			err:      fmt.Errorf("sbx is not installed or not on PATH: %w", ErrUnavailable),
			wantUnav: true, wantTexts: []string{"sbx check: sbx is not installed", "brew install docker/tap/sbx", "winget install Docker.sbx", "docker-sbx", "sbx login"}},
		{name: "any failure of version means unavailable, with the CLI's words",
			err:      exitErr(1, "Error: not logged in: run sbx login", version...),
			wantUnav: true, wantTexts: []string{"not logged in", "sbx login"}},
	})
}

func TestCheckCancelledIsNotUnavailable(t *testing.T) {
	for _, d := range dialects {
		t.Run(d.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(t.Context())
			cancel()
			r := newFakeRunner(t, expect{args: d.argv("version"), err: fmt.Errorf("%s version: %w", d.pre[0], context.Canceled)})
			err := d.new(r).Check(ctx)
			if !errors.Is(err, context.Canceled) || errors.Is(err, ErrUnavailable) {
				t.Errorf("got %v, want context.Canceled and not ErrUnavailable", err)
			}
		})
	}
}

func TestNames(t *testing.T) {
	if got, want := NewSbx(nil, SbxOptions{}).Name(), "sbx"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if got, want := NewDockerSandbox(nil, DockerSandboxOptions{}).Name(), "docker-sandbox"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

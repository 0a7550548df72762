package fakecli

import (
	"reflect"
	"testing"
)

// parseFlags must follow cobra/pflag rules, since callers build argv for the
// real CLIs and the double should fail exactly where they would.
func TestParseFlags(t *testing.T) {
	specs := []flagSpec{
		{long: "detach", short: "d", kind: boolFlag},
		{long: "interactive", short: "i", kind: boolFlag},
		{long: "env", short: "e", kind: listFlag},
		{long: "workdir", short: "w", kind: stringFlag},
	}
	for _, tc := range []struct {
		name         string
		args         []string
		interspersed bool
		wantArgs     []string
		wantEnv      []string
		wantWorkdir  string
		wantBools    map[string]bool
		wantErr      string
	}{
		{"combined shorts", []string{"-di", "sb", "ls"}, false, []string{"sb", "ls"}, nil, "", map[string]bool{"detach": true, "interactive": true}, ""},
		{"attached values", []string{"-eA=1", "--env=B=2", "-e", "C", "-w/x", "sb"}, false, []string{"sb"}, []string{"A=1", "B=2", "C"}, "/x", map[string]bool{}, ""},
		{"stop at first positional", []string{"sb", "-d", "--bogus"}, false, []string{"sb", "-d", "--bogus"}, nil, "", map[string]bool{}, ""},
		{"interspersed", []string{"a", "-d", "b"}, true, []string{"a", "b"}, nil, "", map[string]bool{"detach": true}, ""},
		{"double dash", []string{"-d", "--", "-i"}, true, []string{"-i"}, nil, "", map[string]bool{"detach": true}, ""},
		{"bool value", []string{"--detach=false", "x"}, true, []string{"x"}, nil, "", map[string]bool{"detach": false}, ""},
		{"global debug", []string{"-D", "x"}, true, []string{"x"}, nil, "", map[string]bool{"debug": true}, ""},
		{"unknown long", []string{"--nope"}, true, nil, nil, "", nil, "unknown flag: --nope"},
		{"unknown short", []string{"-dz"}, true, nil, nil, "", nil, "unknown shorthand flag: 'z' in -dz"},
		{"missing value", []string{"-w"}, true, nil, nil, "", nil, "flag needs an argument: 'w' in -w"},
		{"missing long value", []string{"--workdir"}, true, nil, nil, "", nil, "flag needs an argument: --workdir"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := parseFlags(specs, tc.args, tc.interspersed)
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(p.args, tc.wantArgs) || !reflect.DeepEqual(p.lists["env"], tc.wantEnv) ||
				p.strs["workdir"] != tc.wantWorkdir || !reflect.DeepEqual(p.bools, tc.wantBools) {
				t.Errorf("got args %q env %q workdir %q bools %v; want %q %q %q %v",
					p.args, p.lists["env"], p.strs["workdir"], p.bools, tc.wantArgs, tc.wantEnv, tc.wantWorkdir, tc.wantBools)
			}
		})
	}
}

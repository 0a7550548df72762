package agentversion

import "testing"

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		out    string
		ok     bool
		want   string
		tooOld bool
		tested bool
	}{
		{"sandbox-agent 0.4.2\n", true, "0.4.2", false, true},
		{"sandbox-agent v0.4.10", true, "0.4.10", false, true},
		{"sandbox-agent 0.2.0", true, "0.2.0", false, false},
		{"sandbox-agent 1.0.0", true, "1.0.0", false, false},
		{"sandbox-agent 0.1.9", true, "0.1.9", true, false},
		{"sandbox-agent 0.0.1", true, "0.0.1", true, false},
		// Leading zeros: the same version as 0.1.0, so just as old (doctor used to compare the digits as text).
		{"sandbox-agent 0.01.0", true, "0.1.0", true, false},
		{"sandbox-agent 00.1.0", true, "0.1.0", true, false},
		{"sandbox-agent 0.99999999999999999999.0", false, "", false, false},
		{"sandbox-agent", false, "", false, false},
		{"", false, "", false, false},
	} {
		v, ok := Parse([]byte(tc.out))
		if ok != tc.ok {
			t.Errorf("Parse(%q) ok = %v, want %v", tc.out, ok, tc.ok)
			continue
		}
		if !ok {
			continue
		}
		if v.String() != tc.want || v.TooOld() != tc.tooOld || v.Tested() != tc.tested {
			t.Errorf("Parse(%q) = %s (too old %v, tested %v), want %s (too old %v, tested %v)",
				tc.out, v, v.TooOld(), v.Tested(), tc.want, tc.tooOld, tc.tested)
		}
	}
}

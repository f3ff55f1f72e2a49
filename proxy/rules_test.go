package proxy

import (
	"strings"
	"testing"

	"github.com/warden-auth/warden/auth"
)

// Rules of one prefix combine by kind (all kinds present must be met),
// any one rule of a kind suffices, and each refusal names what failed.
func TestRuleRefusals(t *testing.T) {
	mustRule := func(r Rule, err error) Rule {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	rules := []Rule{
		mustRule(ParseRule("/p=S-1-5-21-1-2-3-1104")),
		mustRule(ParseRule("/p=S-1-5-21-1-2-3-1199")),
		mustRule(ParseDeviceRule("/p=S-1-5-21-1-2-3-1110")),
		mustRule(ParseClaimRule("/p=ad://ext/department=Sales", false)),
		mustRule(ParseClaimRule("/p=ad://ext/site=Paris", true)),
		mustRule(ParseDeviceRule("/devonly=S-1-5-21-1-2-3-1110")),
		mustRule(ParseDeviceRule("/byname=Workstations")),
	}
	rs, err := compileRules(rules)
	if err != nil {
		t.Fatal(err)
	}
	find := func(p string) *ruleSet {
		for i := range rs {
			if rs[i].path == p {
				return &rs[i]
			}
		}
		t.Fatalf("no rule set %s", p)
		return nil
	}
	full := func() *auth.Identity {
		return &auth.Identity{User: "alice", Realm: "R",
			Groups: []auth.Group{{SID: "S-1-5-21-1-2-3-1104"}},
			Claims: []auth.Claim{{ID: "ad://ext/department", Values: []string{"Support", "Sales"}}},
			Device: &auth.Device{SID: "S-1-5-21-1-2-3-1105", Groups: []auth.Group{{SID: "S-1-5-21-1-2-3-1110"}},
				Claims: []auth.Claim{{ID: "AD://ext/site", Values: []string{"Paris"}}}}}
	}
	cases := []struct {
		name   string
		set    string
		mutate func(*auth.Identity)
		want   string // "" allowed, else a fragment of the reason
	}{
		{"everything met", "/p", func(*auth.Identity) {}, ""},
		{"user group missing", "/p", func(id *auth.Identity) { id.Groups = nil }, "alice@R is not a member of S-1-5-21-1-2-3-1104 or S-1-5-21-1-2-3-1199, which /p requires"},
		{"user claim value differs", "/p", func(id *auth.Identity) { id.Claims[0].Values = []string{"Support"} }, "alice@R does not have the claim ad://ext/department=Sales"},
		{"no device", "/p", func(id *auth.Identity) { id.Device = nil }, "/p requires the computer's identity (Kerberos compound identity)"},
		{"device group missing", "/p", func(id *auth.Identity) { id.Device.Groups = nil }, "the device S-1-5-21-1-2-3-1105 is not a member of S-1-5-21-1-2-3-1110"},
		{"device claim missing", "/p", func(id *auth.Identity) { id.Device.Claims = nil }, "does not have the claim ad://ext/site=Paris"},
		{"device named in the reason", "/p", func(id *auth.Identity) { id.Device.Name = "WS01$"; id.Device.Groups = nil }, "the device WS01$ (S-1-5-21-1-2-3-1105)"},
		{"device rule only", "/devonly", func(id *auth.Identity) { id.Groups, id.Claims = nil, nil }, ""},
		// Device groups match by name as user groups do (auth.Identity.InGroup).
		{"device group by name", "/byname", func(id *auth.Identity) { id.Device.Groups[0].Name = "workstations" }, ""},
		{"device group name unknown", "/byname", func(*auth.Identity) {}, "is not a member of Workstations, which /byname requires"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			id := full()
			tc.mutate(id)
			got := find(tc.set).refusal(id)
			if (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
	for _, bad := range []string{"/p=ad://ext/department", "p=a=b", "/p==v"} {
		if _, err := ParseClaimRule(bad, false); err == nil {
			t.Errorf("ParseClaimRule(%q) accepted", bad)
		}
	}
}

package proxy

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/warden-auth/warden/auth"
)

// Rule is one requirement for the paths under Path: membership of Group
// (a SID "S-1-5-21-…", or a name when identities carry group names), or
// the claim Claim with the value Value — of the user or, with Device, of
// the computer the user signed in from (Kerberos compound identity).
// Exactly one of Group and Claim is set.
//
// The rules of one path prefix combine by kind: each kind that has rules
// there (user group, device group, user claim, device claim) must be met,
// by any one of its rules. So "--require-group /p=G --require-device-group
// /p=D" means user in G and device in D, while two user groups mean
// either.
type Rule struct {
	Path   string
	Device bool
	Group  string
	Claim  string
	Value  string
}

// ParseRule parses a user group rule "PATH=GROUP", e.g.
// "/admin=S-1-5-21-1-2-3-1105".
func ParseRule(s string) (Rule, error) {
	p, g, ok := strings.Cut(s, "=")
	p, g = strings.TrimSpace(p), strings.TrimSpace(g)
	if !ok || !strings.HasPrefix(p, "/") || g == "" {
		return Rule{}, &Error{Reason: fmt.Sprintf("group rule %q is not PATH=GROUP", s), Hint: "e.g. --require-group /admin=S-1-5-21-…-1105 (warden group add prints the SID)"}
	}
	return Rule{Path: p, Group: g}, nil
}

// ParseDeviceRule parses a device group rule "PATH=GROUP".
func ParseDeviceRule(s string) (Rule, error) {
	r, err := ParseRule(s)
	if err != nil {
		return Rule{}, &Error{Reason: fmt.Sprintf("device group rule %q is not PATH=GROUP", s), Hint: "e.g. --require-device-group /admin=S-1-5-21-…-1110 (a group of computers)"}
	}
	r.Device = true
	return r, nil
}

// ParseClaimRule parses a claim rule "PATH=CLAIM=VALUE", e.g.
// "/sales=ad://ext/department=Sales", for the user or, with device, the
// device.
func ParseClaimRule(s string, device bool) (Rule, error) {
	p, rest, ok := strings.Cut(s, "=")
	id, v, ok2 := strings.Cut(rest, "=")
	p, id, v = strings.TrimSpace(p), strings.TrimSpace(id), strings.TrimSpace(v)
	if !ok || !ok2 || !strings.HasPrefix(p, "/") || id == "" || v == "" {
		return Rule{}, &Error{Reason: fmt.Sprintf("claim rule %q is not PATH=CLAIM=VALUE", s), Hint: "e.g. --require-claim /sales=ad://ext/department=Sales"}
	}
	return Rule{Path: p, Device: device, Claim: id, Value: v}, nil
}

// ruleSet is what one normalized prefix requires.
type ruleSet struct {
	prefix string // lower case, cleaned, no trailing slash except "/"
	path   string // as configured, for messages
	// Any one of each non-empty list suffices.
	groups, deviceGroups []string
	claims, deviceClaims []Rule
}

// compileRules groups the rules by normalized prefix, longest first.
func compileRules(rules []Rule) ([]ruleSet, error) {
	byPrefix := map[string]*ruleSet{}
	for _, r := range rules {
		if !strings.HasPrefix(r.Path, "/") || (r.Group == "") == (r.Claim == "") || (r.Claim != "" && r.Value == "") {
			return nil, &Error{Reason: fmt.Sprintf("rule for %q needs a path starting with / and either a group or a claim and its value", r.Path)}
		}
		k := normPath(r.Path)
		rs := byPrefix[k]
		if rs == nil {
			rs = &ruleSet{prefix: k, path: r.Path}
			byPrefix[k] = rs
		}
		switch {
		case r.Group != "" && r.Device:
			rs.deviceGroups = append(rs.deviceGroups, r.Group)
		case r.Group != "":
			rs.groups = append(rs.groups, r.Group)
		case r.Device:
			rs.deviceClaims = append(rs.deviceClaims, r)
		default:
			rs.claims = append(rs.claims, r)
		}
	}
	out := make([]ruleSet, 0, len(byPrefix))
	for _, rs := range byPrefix {
		out = append(out, *rs)
	}
	sort.Slice(out, func(i, j int) bool { return len(out[i].prefix) > len(out[j].prefix) })
	return out, nil
}

// refusal returns why id may not use the prefix, or "".
func (rs *ruleSet) refusal(id *auth.Identity) string {
	if len(rs.groups) > 0 && !slices.ContainsFunc(rs.groups, id.InGroup) {
		return fmt.Sprintf("%s is not a member of %s, which %s requires", id.Principal(), strings.Join(rs.groups, " or "), rs.path)
	}
	if len(rs.claims) > 0 && !slices.ContainsFunc(rs.claims, func(r Rule) bool { return hasClaim(id.Claims, r) }) {
		return fmt.Sprintf("%s does not have the claim %s, which %s requires", id.Principal(), claimList(rs.claims), rs.path)
	}
	if len(rs.deviceGroups) == 0 && len(rs.deviceClaims) == 0 {
		return ""
	}
	d := id.Device
	if d == nil {
		return fmt.Sprintf("%s requires the computer's identity (Kerberos compound identity), and %s's credentials carry none: sign in on a domain computer whose TGT armors the request (warden kinit --armor-keytab), to a service flagged compound-identity", rs.path, id.Principal())
	}
	who := "the device " + d.SID
	if d.Name != "" {
		who = "the device " + d.Name + " (" + d.SID + ")"
	}
	if len(rs.deviceGroups) > 0 && !slices.ContainsFunc(rs.deviceGroups, d.InGroup) {
		return fmt.Sprintf("%s is not a member of %s, which %s requires", who, strings.Join(rs.deviceGroups, " or "), rs.path)
	}
	if len(rs.deviceClaims) > 0 && !slices.ContainsFunc(rs.deviceClaims, func(r Rule) bool { return hasClaim(d.Claims, r) }) {
		return fmt.Sprintf("%s does not have the claim %s, which %s requires", who, claimList(rs.deviceClaims), rs.path)
	}
	return ""
}

// hasClaim reports whether cs hold r's claim with r's value; claim IDs
// compare without letter case, values exactly.
func hasClaim(cs []auth.Claim, r Rule) bool {
	return slices.ContainsFunc(cs, func(c auth.Claim) bool {
		return strings.EqualFold(c.ID, r.Claim) && slices.Contains(c.Values, r.Value)
	})
}

func claimList(rs []Rule) string {
	var s []string
	for _, r := range rs {
		s = append(s, r.Claim+"="+r.Value)
	}
	return strings.Join(s, " or ")
}

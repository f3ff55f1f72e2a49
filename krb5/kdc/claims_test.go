package kdc_test

import (
	"context"
	"testing"

	"github.com/warden-auth/warden/krb5"
	"github.com/warden-auth/warden/krb5/pac"
	"github.com/warden-auth/warden/store"
)

// claimsIn decodes a PAC's client claims as ID → values (nil: none).
func claimsIn(t *testing.T, p *pac.PAC) map[string]pac.ClaimEntry {
	t.Helper()
	if p == nil || p.ClientClaims == nil {
		return nil
	}
	cs, err := pac.DecodeClaims(p.ClientClaims)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]pac.ClaimEntry{}
	for _, a := range cs.Arrays {
		if a.Source != pac.ClaimsSourceAD {
			t.Errorf("claims source %d", a.Source)
		}
		for _, c := range a.Claims {
			out[c.ID] = c
		}
	}
	return out
}

// A TGT carries the user's claims, typed by the realm's claim types; a
// service ticket carries them when the service is flagged
// claims-supported or the client asks with PA-PAC-OPTIONS, and not
// otherwise; a claim change shows in the next TGT.
func TestClaimsInTickets(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	for _, ct := range []store.ClaimType{
		{ID: "ad://ext/department", ValueType: store.ClaimString, AppliesTo: []store.Kind{store.KindUser}},
		{ID: "ad://ext/clearance", ValueType: store.ClaimInt64, AppliesTo: []store.Kind{store.KindUser}},
		{ID: "ad://ext/contractor", ValueType: store.ClaimBoolean, AppliesTo: []store.Kind{store.KindUser}},
	} {
		if err := e.r.Store.DefineClaimType(ctx, ct); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []store.Claim{
		{ID: "ad://ext/department", Values: []string{"Sales", "Support"}},
		{ID: "ad://ext/clearance", Values: []string{"-3"}},
		{ID: "ad://ext/contractor", Values: []string{"true"}},
	} {
		if err := e.r.Store.SetClaim(ctx, "alice", c); err != nil {
			t.Fatal(err)
		}
	}
	e.refresh()
	tg := e.login("alice", alicePW)
	_, tp := e.ticketPAC(tg.ticket, "krbtgt")
	got := claimsIn(t, tp)
	if d := got["ad://ext/department"]; d.Type != pac.ClaimTypeString || len(d.Strings) != 2 || d.Strings[1] != "Support" {
		t.Errorf("department %+v", d)
	}
	if c := got["ad://ext/clearance"]; c.Type != pac.ClaimTypeInt64 || len(c.Int64s) != 1 || c.Int64s[0] != -3 {
		t.Errorf("clearance %+v", c)
	}
	if c := got["ad://ext/contractor"]; c.Type != pac.ClaimTypeBoolean || len(c.Uint64s) != 1 || c.Uint64s[0] != 1 {
		t.Errorf("contractor %+v", c)
	}

	// A plain service: no claims; asked for with PA-PAC-OPTIONS: claims.
	_, sp := e.ticketPAC(e.serviceTicket(tg, service, nil), service)
	if sp == nil || sp.ClientClaims != nil {
		t.Fatalf("plain service ticket: PAC %v with claims %x", sp != nil, sp.ClientClaims)
	}
	ask := func(p *tgsParts) { p.extraPA = krb5.MethodData{krb5.PACOptions{Flags: krb5.PACOptClaims}.PAData()} }
	etp, sp := e.ticketPAC(e.serviceTicket(tg, service, ask), service)
	if len(claimsIn(t, sp)) != 3 {
		t.Fatalf("claims asked for: %v", claimsIn(t, sp))
	}
	if err := sp.VerifyTicketSignature(etp, e.signingKey("krbtgt", aes256)); err != nil {
		t.Fatal(err)
	}
	// The plain service again (its template without claims is kept apart).
	if _, sp := e.ticketPAC(e.serviceTicket(tg, service, nil), service); sp.ClientClaims != nil {
		t.Fatal("claims leaked into the no-claims template")
	}
	// A claims-supported service gets them without asking.
	e.setFlags("HTTP-web", store.FlagClaimsSupported)
	e.refresh()
	if _, sp := e.ticketPAC(e.serviceTicket(tg, service, nil), service); len(claimsIn(t, sp)) != 3 {
		t.Fatalf("claims-supported service: %v", claimsIn(t, sp))
	}

	// A change shows in the next TGT.
	if err := e.r.Store.UnsetClaim(ctx, "alice", "ad://ext/clearance"); err != nil {
		t.Fatal(err)
	}
	e.refresh()
	tg = e.login("alice", alicePW)
	if _, tp := e.ticketPAC(tg.ticket, "krbtgt"); len(claimsIn(t, tp)) != 2 {
		t.Fatalf("after unset: %v", claimsIn(t, tp))
	}
	// Without claims there is no claims buffer at all.
	for _, c := range []string{"ad://ext/department", "ad://ext/contractor"} {
		if err := e.r.Store.UnsetClaim(ctx, "alice", c); err != nil {
			t.Fatal(err)
		}
	}
	e.refresh()
	if _, tp := e.ticketPAC(e.login("alice", alicePW).ticket, "krbtgt"); tp.ClientClaims != nil {
		t.Fatal("a TGT without claims has a claims buffer")
	}
}

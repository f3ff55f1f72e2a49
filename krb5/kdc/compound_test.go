package kdc_test

import (
	"context"
	"encoding/binary"
	"slices"
	"testing"
	"time"

	"github.com/warden-auth/warden/admin"
	"github.com/warden-auth/warden/internal/testkit"
	"github.com/warden-auth/warden/krb5"
	"github.com/warden-auth/warden/krb5/kcrypto"
	"github.com/warden-auth/warden/krb5/pac"
	"github.com/warden-auth/warden/store"
)

// compoundEnv: alice with a department claim, the computer WS01$ in the
// group Workstations with a site claim, the service HTTP/web flagged
// compound-identity and HTTP/plain not.
func compoundEnv(t *testing.T) (e *env, ridWS uint32) {
	t.Helper()
	e = newEnv(t)
	ctx := context.Background()
	e.computerTGT() // creates WS01$
	for _, ct := range []store.ClaimType{
		{ID: "ad://ext/department", ValueType: store.ClaimString, AppliesTo: []store.Kind{store.KindUser}},
		{ID: "ad://ext/site", ValueType: store.ClaimString, AppliesTo: []store.Kind{store.KindComputer}},
	} {
		if err := e.r.Store.DefineClaimType(ctx, ct); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.r.Store.SetClaim(ctx, "alice", store.Claim{ID: "ad://ext/department", Values: []string{"Sales"}}); err != nil {
		t.Fatal(err)
	}
	if err := e.r.Store.SetClaim(ctx, "WS01$", store.Claim{ID: "ad://ext/site", Values: []string{"Paris"}}); err != nil {
		t.Fatal(err)
	}
	ridWS = e.group("Workstations", "WS01$")
	e.r.AddService(t, "HTTP/plain", admin.ServiceOptions{})
	e.setFlags("HTTP-web", store.FlagCompoundIdentity)
	e.refresh()
	return e, ridWS
}

// compoundTicket asks, with alice's TGT tg armored explicitly by the
// device TGT dev, for a ticket to sname and returns its verified PAC.
func (e *env) compoundTicket(tg, dev tgt, sname, owner string) (*krb5.EncTicketPart, *pac.PAC) {
	e.t.Helper()
	a := e.newArmor(dev, nil)
	_, kr, err := e.fastTGS(tg, sname, func(p *fastTGSParts) { p.explicit = &a })
	if err != nil {
		e.t.Fatalf("compound TGS-REQ for %s: %v", sname, err)
	}
	etp, p := e.ticketPAC(kr.Ticket, owner)
	if p == nil {
		e.t.Fatalf("ticket for %s has no PAC", sname)
	}
	if err := p.VerifyTicketSignature(etp, e.signingKey("krbtgt", aes256)); err != nil {
		e.t.Fatal(err)
	}
	if err := p.VerifyFullSignature(e.signingKey("krbtgt", aes256)); err != nil {
		e.t.Fatal(err)
	}
	return etp, p
}

func hasSID(l []pac.SIDAndAttributes, s pac.SID) bool {
	return slices.ContainsFunc(l, func(x pac.SIDAndAttributes) bool { return x.SID == s })
}

// MS-KILE 3.3.5.7.4: a flagged service's ticket carries PAC_DEVICE_INFO
// (the computer's RID, primary group, domain, groups) and
// PAC_DEVICE_CLAIMS_INFO (its claims), and COMPOUNDED_AUTHENTICATION among
// the user's SIDs; the user's claims come along. An unflagged service,
// or the flagged one without explicit armor, gets no device data.
func TestCompoundIdentity(t *testing.T) {
	e, ridWS := compoundEnv(t)
	tg := e.login("alice", alicePW)
	dev := e.computerTGT()

	_, p := e.compoundTicket(tg, dev, service, "HTTP-web")
	di := p.DeviceInfo
	if di == nil || p.DeviceClaims == nil {
		t.Fatalf("flagged service: device info %v, device claims %v", di, p.DeviceClaims)
	}
	if di.UserID != e.rid("WS01$") || di.PrimaryGroupID != pac.RIDDomainComputers || di.AccountDomainID != p.LogonInfo.LogonDomainID {
		t.Errorf("device info %+v", di)
	}
	if !slices.ContainsFunc(di.AccountGroupIDs, func(g pac.GroupMembership) bool { return g.RID == ridWS }) {
		t.Errorf("device groups %v lack Workstations (%d)", di.AccountGroupIDs, ridWS)
	}
	if !hasSID(di.ExtraSIDs, pac.SIDClaimsValid) {
		t.Errorf("device extra SIDs %v lack CLAIMS_VALID", di.ExtraSIDs)
	}
	if got := testkit.ClaimStrings(t, p.DeviceClaims, "ad://ext/site"); !slices.Equal(got, []string{"Paris"}) {
		t.Errorf("device claim site = %v", got)
	}
	if !hasSID(p.LogonInfo.ExtraSIDs, pac.SIDCompoundedAuthentication) || !hasSID(p.LogonInfo.ExtraSIDs, pac.SIDClaimsValid) {
		t.Errorf("user extra SIDs %v: want COMPOUNDED_AUTHENTICATION and CLAIMS_VALID", p.LogonInfo.ExtraSIDs)
	}
	if got := testkit.ClaimStrings(t, p.ClientClaims, "ad://ext/department"); !slices.Equal(got, []string{"Sales"}) {
		t.Errorf("user claims with compound identity: %v", got)
	}
	if p.LogonInfo.UserID != e.rid("alice") {
		t.Errorf("the ticket is for RID %d, not alice", p.LogonInfo.UserID)
	}

	// The same device armor for an unflagged service: nothing of the device.
	_, p = e.compoundTicket(tg, dev, "HTTP/plain", "HTTP-plain")
	if p.DeviceInfo != nil || p.DeviceClaims != nil || hasSID(p.LogonInfo.ExtraSIDs, pac.SIDCompoundedAuthentication) {
		t.Errorf("unflagged service got device data: %+v / %x / %v", p.DeviceInfo, p.DeviceClaims, p.LogonInfo.ExtraSIDs)
	}
	// The flagged service without explicit armor: nothing either.
	_, kr, err := e.fastTGS(tg, service, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, p := e.ticketPAC(kr.Ticket, "HTTP-web"); p.DeviceInfo != nil || p.DeviceClaims != nil {
		t.Error("implicit armor gave device data")
	}
	// And a plain TGS-REQ for it afterwards (the PAC template path) has
	// no trace of the device.
	if _, p := e.ticketPAC(e.serviceTicket(tg, service, nil), "HTTP-web"); p.DeviceInfo != nil || hasSID(p.LogonInfo.ExtraSIDs, pac.SIDCompoundedAuthentication) {
		t.Error("device data leaked into a later unarmored ticket")
	}
}

// A device that left a group keeps it in the device TGT it already has
// and loses it in the next one, as for users.
func TestCompoundDeviceGroupChange(t *testing.T) {
	e, ridWS := compoundEnv(t)
	tg := e.login("alice", alicePW)
	old := e.computerTGT()
	if err := e.r.Admin.RemoveMembers(context.Background(), "Workstations", "WS01$"); err != nil {
		t.Fatal(err)
	}
	e.refresh()
	e.clock.Set(t0.Add(time.Second))
	inWS := func(p *pac.PAC) bool {
		return slices.ContainsFunc(p.DeviceInfo.AccountGroupIDs, func(g pac.GroupMembership) bool { return g.RID == ridWS })
	}
	if _, p := e.compoundTicket(tg, old, service, "HTTP-web"); !inWS(p) {
		t.Error("the older device TGT lost the group")
	}
	if _, p := e.compoundTicket(tg, e.computerTGT(), service, "HTTP-web"); inWS(p) {
		t.Error("the next device TGT still has the group")
	}
}

// Renewed user and device TGTs still make compound tickets: renewal keeps
// both PACs.
func TestCompoundAfterRenewal(t *testing.T) {
	e, ridWS := compoundEnv(t)
	r := e.asReq("alice").withTimestamp(t, alicePW, t0)
	r.opts = krb5.KDCOptRenewable
	ke, rep, _ := e.handle(r.bytes())
	if ke != nil {
		t.Fatal(ke.EText)
	}
	tg := e.decodeAS(rep, "alice", alicePW)
	dev := e.computerTGTWith(krb5.KDCOptRenewable)
	e.clock.Set(t0.Add(7 * time.Hour))
	tg, dev = e.renewTGT(tg), e.renewTGT(dev)
	_, p := e.compoundTicket(tg, dev, service, "HTTP-web")
	if p.DeviceInfo == nil || !slices.ContainsFunc(p.DeviceInfo.AccountGroupIDs, func(g pac.GroupMembership) bool { return g.RID == ridWS }) {
		t.Fatalf("after renewal: device info %+v", p.DeviceInfo)
	}
	if got := testkit.ClaimStrings(t, p.DeviceClaims, "ad://ext/site"); !slices.Equal(got, []string{"Paris"}) {
		t.Errorf("device claims after renewal: %v", got)
	}
}

// renewTGT renews tg at the TGS.
func (e *env) renewTGT(tg tgt) tgt {
	e.t.Helper()
	ke, rep, _ := e.handle(e.tgsReq(tg, "krbtgt/"+realm, func(p *tgsParts) {
		p.body.KDCOptions = krb5.KDCOptRenew
		p.auth.CName = e.open(tg.ticket, "krbtgt").CName
	}))
	if ke != nil {
		e.t.Fatalf("renew: %v %s", ke.ErrorCode, ke.EText)
	}
	var kr krb5.KDCRep
	if err := kr.Unmarshal(rep); err != nil {
		e.t.Fatal(err)
	}
	plain, err := tg.key.DecryptData(kcrypto.UsageTGSRepEncPartSessionKey, kr.EncPart)
	if err != nil {
		e.t.Fatal(err)
	}
	var part krb5.EncKDCRepPart
	if err := part.Unmarshal(plain); err != nil {
		e.t.Fatal(err)
	}
	sk, _ := kcrypto.NewKey(part.Key, kcrypto.Options{})
	return tgt{ticket: kr.Ticket, key: sk, part: part}
}

// Device armor that cannot stand for a device is refused with the reason.
func TestCompoundRefusals(t *testing.T) {
	t.Run("disabled computer", func(t *testing.T) {
		e, _ := compoundEnv(t)
		tg := e.login("alice", alicePW)
		dev := e.computerTGT()
		e.setFlags("WS01$", store.FlagDisabled)
		e.refresh()
		a := e.newArmor(dev, nil)
		_, _, err := e.fastTGS(tg, service, func(p *fastTGSParts) { p.explicit = &a })
		var ke *krb5.Error
		if !asKrb5(err, &ke) || ke.Code != krb5.KDCErrClientRevoked || ke.Reason != "FAST armor: account WS01$@"+realm+" is disabled" {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("user TGT as the device", func(t *testing.T) {
		e, _ := compoundEnv(t)
		tg := e.login("alice", alicePW)
		a := e.newArmor(e.login("alice", alicePW), nil)
		_, _, err := e.fastTGS(tg, service, func(p *fastTGSParts) { p.explicit = &a })
		var ke *krb5.Error
		want := "explicit FAST armor in a TGS-REQ names the device (compound identity), but the armor TGT is for alice@" + realm + ", a user account, not a computer"
		if !asKrb5(err, &ke) || ke.Code != krb5.KDCErrPolicy || ke.Reason != want {
			t.Fatalf("got %v, want %v %q", err, krb5.KDCErrPolicy, want)
		}
	})
	t.Run("device TGT with an altered PAC", func(t *testing.T) {
		e, _ := compoundEnv(t)
		tg := e.login("alice", alicePW)
		dev := e.computerTGT()
		e.reseal(&dev.ticket, func(etp *krb5.EncTicketPart) {
			raw, _, _ := pac.FromAuthorizationData(etp.AuthorizationData)
			raw = append([]byte(nil), raw...)
			// A byte inside the first buffer (the logon info).
			raw[binary.LittleEndian.Uint64(raw[16:24])+20] ^= 1
			etp.AuthorizationData, _ = pac.WithPAC(etp.AuthorizationData, raw)
		})
		a := e.newArmor(dev, nil)
		_, _, err := e.fastTGS(tg, service, func(p *fastTGSParts) { p.explicit = &a })
		var ke *krb5.Error
		if !asKrb5(err, &ke) || ke.Code != krb5.KRBAPErrModified {
			t.Fatalf("got %v", err)
		}
	})
}

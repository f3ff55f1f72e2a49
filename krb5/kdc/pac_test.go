package kdc_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/warden-auth/warden/admin"
	"github.com/warden-auth/warden/krb5"
	"github.com/warden-auth/warden/krb5/kcrypto"
	"github.com/warden-auth/warden/krb5/pac"
	"github.com/warden-auth/warden/store"
)

// signingKey returns the current key of an account (by name or SPN) of
// enctype et, as the PAC signs with it.
func (e *env) signingKey(owner string, et krb5.EncType) pac.SigningKey {
	e.t.Helper()
	kt, _, err := e.r.Admin.Keytab(context.Background(), owner, false)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, en := range kt.Entries {
		if en.Key.KeyType == et {
			k, err := kcrypto.NewKey(en.Key, kcrypto.Options{})
			if err != nil {
				e.t.Fatal(err)
			}
			return pac.SigningKey{Key: k, KVNO: en.KVNO}
		}
	}
	e.t.Fatalf("%s has no %v key", owner, et)
	return pac.SigningKey{}
}

// open decrypts a ticket with its owner's key.
func (e *env) open(tk krb5.Ticket, owner string) *krb5.EncTicketPart {
	e.t.Helper()
	k := e.signingKey(owner, tk.EncPart.EType)
	plain, err := k.Key.DecryptData(kcrypto.UsageTicket, tk.EncPart)
	if err != nil {
		e.t.Fatalf("ticket does not decrypt with the key of %s: %v", owner, err)
	}
	var etp krb5.EncTicketPart
	if err := etp.Unmarshal(plain); err != nil {
		e.t.Fatal(err)
	}
	return &etp
}

// seal encrypts etp as a ticket for owner, as only someone holding its
// key could.
func (e *env) seal(tk *krb5.Ticket, owner string, etp *krb5.EncTicketPart) {
	e.t.Helper()
	k := e.signingKey(owner, tk.EncPart.EType)
	etp.Raw = nil
	b, err := etp.Marshal()
	if err != nil {
		e.t.Fatal(err)
	}
	ed, err := k.Key.EncryptData(rand.Reader, kcrypto.UsageTicket, b, k.KVNO, true)
	if err != nil {
		e.t.Fatal(err)
	}
	tk.Raw = nil
	tk.EncPart = ed
}

// ticketPAC opens a ticket and decodes its PAC (nil when it has none).
func (e *env) ticketPAC(tk krb5.Ticket, owner string) (*krb5.EncTicketPart, *pac.PAC) {
	e.t.Helper()
	etp := e.open(tk, owner)
	p, err := pac.FromTicket(etp)
	if err != nil {
		e.t.Fatalf("PAC of the ticket for %s: %v", owner, err)
	}
	return etp, p
}

// serviceTicket asks the TGS for a ticket to sname with tg.
func (e *env) serviceTicket(tg tgt, sname string, mutate func(*tgsParts)) krb5.Ticket {
	e.t.Helper()
	ke, rep, res := e.handle(e.tgsReq(tg, sname, mutate))
	if ke != nil {
		e.t.Fatalf("TGS for %s: %v %s (%s)", sname, ke.ErrorCode, ke.EText, res.Detail)
	}
	var kr krb5.KDCRep
	if err := kr.Unmarshal(rep); err != nil {
		e.t.Fatal(err)
	}
	return kr.Ticket
}

func (e *env) sid(rid uint32) pac.SID {
	e.t.Helper()
	s, err := pac.ParseSID(store.SID(e.r.Admin.Realm().DomainSID, rid))
	if err != nil {
		e.t.Fatal(err)
	}
	return s
}

func (e *env) group(name string, members ...string) uint32 {
	e.t.Helper()
	ctx := context.Background()
	g, err := e.r.Admin.AddGroup(ctx, name, "")
	if err != nil {
		e.t.Fatal(err)
	}
	if len(members) > 0 {
		if err := e.r.Admin.AddMembers(ctx, name, members...); err != nil {
			e.t.Fatal(err)
		}
	}
	return g.RID
}

func (e *env) rid(name string) uint32 {
	e.t.Helper()
	a, err := e.r.Store.Account(context.Background(), name)
	if err != nil {
		e.t.Fatal(err)
	}
	return a.RID
}

// groupRIDs lists the GroupIds of a logon info, ascending.
func groupRIDs(li *pac.LogonInfo) []uint32 {
	var out []uint32
	for _, g := range li.GroupIDs {
		out = append(out, g.RID)
	}
	slices.Sort(out)
	return out
}

// newPACEnv is newEnv with alice in group A, A in B (nested), and a
// display name.
func newPACEnv(t *testing.T) (e *env, ridA, ridB uint32) {
	e = newEnv(t)
	e.edit("alice", func(a *store.Account) { a.DisplayName = "Alice Liddell" })
	ridA = e.group("A", "alice")
	ridB = e.group("B", "A")
	e.group("unrelated")
	e.refresh()
	return e, ridA, ridB
}

// The TGT and the service ticket carry the PAC: alice's SID, Domain Users
// as primary group and both groups of a nested membership, the realm's
// SID and names, signed as MS-PAC 2.8 asks — TGT: server and KDC
// signatures with the krbtgt key, attributes and requestor; service
// ticket: server signature with the service key, KDC, ticket and full
// signatures with the krbtgt key, no attributes or requestor.
func TestPACInTickets(t *testing.T) {
	e, ridA, ridB := newPACEnv(t)
	tg := e.login("alice", alicePW)
	user := e.sid(e.rid("alice"))
	krbtgt := e.signingKey("krbtgt", aes256)
	realmRec := e.r.Admin.Realm()

	tgtPart, tp := e.ticketPAC(tg.ticket, "krbtgt")
	if tp == nil {
		t.Fatal("TGT has no PAC")
	}
	if !bytes.Equal(tgtPart.AuthorizationData[0].Data, pac.ADEntry(tp.Raw).Data) || tgtPart.AuthorizationData[0].Type != krb5.ADIfRelevant {
		t.Error("the PAC is not the first authorization-data element, in AD-IF-RELEVANT")
	}
	li := tp.LogonInfo
	if li == nil || tp.ClientInfo == nil || tp.UPNDNSInfo == nil {
		t.Fatalf("TGT PAC lacks buffers: %+v", tp)
	}
	if got := li.UserSID(); got != user {
		t.Errorf("user SID %v, want %v", got, user)
	}
	wantGroups := []uint32{store.RIDDomainUsers, ridA, ridB}
	slices.Sort(wantGroups)
	if got := groupRIDs(li); !slices.Equal(got, wantGroups) {
		t.Errorf("group RIDs %v, want %v (Domain Users, A and B through A)", got, wantGroups)
	}
	for _, g := range li.GroupIDs {
		if g.Attributes != pac.GroupMandatory|pac.GroupEnabledByDefault|pac.GroupEnabled {
			t.Errorf("group %d attributes %#x, want 0x7", g.RID, g.Attributes)
		}
	}
	if li.PrimaryGroupID != store.RIDDomainUsers || li.LogonDomainID.String() != realmRec.DomainSID ||
		li.LogonDomainName != realmRec.NetBIOS || li.EffectiveName != "alice" || li.FullName != "Alice Liddell" ||
		li.LogonServer == "" {
		t.Errorf("logon info %+v", li)
	}
	if li.UserAccountControl != pac.UserNormalAccount || li.UserFlags != pac.UserFlagExtraSIDs ||
		len(li.ExtraSIDs) != 1 || li.ExtraSIDs[0].SID != pac.SIDAuthenticationAuthorityAsserted {
		t.Errorf("UAC %#x, user flags %#x, extra SIDs %v", li.UserAccountControl, li.UserFlags, li.ExtraSIDs)
	}
	if li.LogonTime.Time() != t0 || li.LogoffTime != pac.Never || li.KickOffTime != pac.Never ||
		li.PasswordMustChange != pac.Never || li.PasswordLastSet == 0 {
		t.Errorf("times: logon %v logoff %#x kickoff %#x must-change %#x last-set %v",
			li.LogonTime.Time(), li.LogoffTime, li.KickOffTime, li.PasswordMustChange, li.PasswordLastSet.Time())
	}
	if ci := tp.ClientInfo; ci.Name != "alice" || ci.ClientID.Time() != t0 {
		t.Errorf("client info %+v", ci)
	}
	if u := tp.UPNDNSInfo; u.UPN != "alice@test.warden" || u.DNSDomainName != realm || u.SamName != "alice" || u.SID != user ||
		u.Flags != pac.UPNExtended {
		t.Errorf("UPN/DNS info %+v", u)
	}
	if a := tp.Attributes; a == nil || a.Flags != pac.AttributePACWasGivenImplicitly {
		t.Errorf("attributes %+v, want PAC_WAS_GIVEN_IMPLICITLY (no PA-PAC-REQUEST)", a)
	}
	if tp.Requestor == nil || *tp.Requestor != user {
		t.Errorf("requestor %v, want %v", tp.Requestor, user)
	}
	if tp.TicketSignature != nil || tp.FullSignature != nil {
		t.Error("a TGT PAC carries ticket or full signatures (Windows puts none in TGTs)")
	}
	if err := tp.VerifyServerSignature(krbtgt); err != nil {
		t.Error(err)
	}
	if err := tp.VerifyKDCSignature(krbtgt); err != nil {
		t.Error(err)
	}

	st := e.serviceTicket(tg, service, nil)
	stPart, sp := e.ticketPAC(st, service)
	if sp == nil {
		t.Fatal("service ticket has no PAC")
	}
	tgtBytes, _ := tg.ticket.Marshal()
	stBytes, _ := st.Marshal()
	t.Logf("user in 3 groups: TGT PAC %d bytes, TGT %d bytes; service ticket PAC %d bytes, service ticket %d bytes",
		len(tp.Raw), len(tgtBytes), len(sp.Raw), len(stBytes))
	if got := groupRIDs(sp.LogonInfo); !slices.Equal(got, wantGroups) || sp.LogonInfo.UserSID() != user {
		t.Errorf("service ticket PAC: user %v groups %v", sp.LogonInfo.UserSID(), got)
	}
	if sp.Attributes != nil || sp.Requestor != nil {
		t.Error("service ticket PAC keeps the TGT-only attributes or requestor buffers")
	}
	svcKey := e.signingKey(service, st.EncPart.EType)
	for name, err := range map[string]error{
		"server": sp.VerifyServerSignature(svcKey),
		"KDC":    sp.VerifyKDCSignature(krbtgt),
		"ticket": sp.VerifyTicketSignature(stPart, krbtgt),
		"full":   sp.VerifyFullSignature(krbtgt),
		"client": sp.VerifyClientInfo(stPart.AuthTime, stPart.CName),
	} {
		if err != nil {
			t.Errorf("service ticket %s check: %v", name, err)
		}
	}
	// A second service ticket from the same TGT (its PAC remembered as
	// verified, the service PAC's encoding reused) is what pac.Sign makes.
	e.clock.Set(t0.Add(time.Second))
	st2 := e.serviceTicket(tg, service, nil)
	st2Part, sp2 := e.ticketPAC(st2, service)
	if sp2 == nil || bytes.Equal(sp2.Raw, sp.Raw) {
		t.Fatal("second service ticket: no PAC, or the same signatures as the first")
	}
	again2 := *sp2
	raw2, err := again2.Sign(pac.SignOptions{ServerKey: svcKey, KDCKey: krbtgt, Ticket: st2Part})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(raw2, sp2.Raw) {
		t.Errorf("the reused service PAC encoding differs from pac.Sign's:\n% x\n% x", sp2.Raw, raw2)
	}
	if err := sp2.VerifyTicketSignature(st2Part, krbtgt); err != nil {
		t.Error(err)
	}
	e.clock.Set(t0)

	// The service ticket's PAC is the TGT's, not a fresh one.
	if sp.ClientInfo.ClientID != tp.ClientInfo.ClientID || !stPart.AuthTime.Equal(tgtPart.AuthTime) {
		t.Error("service ticket PAC is not bound to the TGT's authtime")
	}

	// A second TGT (built from the cached encoding) is what a fresh
	// encoding gives: re-encoding its decoded PAC yields the same bytes.
	e.clock.Set(t0.Add(time.Minute))
	tg2 := e.login("alice", alicePW)
	_, tp2 := e.ticketPAC(tg2.ticket, "krbtgt")
	if tp2.LogonInfo.LogonTime.Time() != t0.Add(time.Minute) || tp2.ClientInfo.ClientID.Time() != t0.Add(time.Minute) {
		t.Errorf("second TGT PAC times %v %v", tp2.LogonInfo.LogonTime.Time(), tp2.ClientInfo.ClientID.Time())
	}
	again := *tp2
	raw, err := again.Sign(pac.SignOptions{ServerKey: krbtgt, KDCKey: krbtgt})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(raw, tp2.Raw) {
		t.Errorf("the cached TGT PAC encoding differs from pac.Sign's:\n% x\n% x", tp2.Raw, raw)
	}
	for _, err := range []error{tp2.VerifyServerSignature(krbtgt), tp2.VerifyKDCSignature(krbtgt)} {
		if err != nil {
			t.Error(err)
		}
	}
}

// A computer's PAC: Domain Computers as primary group, a workstation
// trust account; the name in PAC_CLIENT_INFO is the name as the client
// typed it, also through the cached encoding.
func TestPACComputerAndNameCase(t *testing.T) {
	e := newEnv(t)
	if _, err := e.r.Admin.AddComputer(context.Background(), "ws01", admin.KeyOptions{}); err != nil {
		t.Fatal(err)
	}
	e.refresh()
	kt, _, err := e.r.Admin.Keytab(context.Background(), "WS01$", false)
	if err != nil {
		t.Fatal(err)
	}
	var key *kcrypto.Key
	for _, en := range kt.Entries {
		if en.Key.KeyType == aes256 {
			key, _ = kcrypto.NewKey(en.Key, kcrypto.Options{})
		}
	}
	for i, name := range []string{"WS01$", "ws01$", "WS01$"} {
		r := e.asReq(name)
		r.nonce = uint32(i)
		ts := krb5.PAEncTSEnc{PATimestamp: t0}
		plain, _ := ts.Marshal()
		ed, _ := key.EncryptData(rand.Reader, kcrypto.UsageASReqPAEncTimestamp, plain, 0, false)
		v, _ := ed.Marshal()
		r.padata = krb5.MethodData{{Type: krb5.PAEncTimestamp, Value: v}}
		ke, rep, _ := e.handle(r.bytes())
		if ke != nil {
			t.Fatalf("%s: %v %s", name, ke.ErrorCode, ke.EText)
		}
		var kr krb5.KDCRep
		_ = kr.Unmarshal(rep)
		_, p := e.ticketPAC(kr.Ticket, "krbtgt")
		li := p.LogonInfo
		if li.PrimaryGroupID != store.RIDDomainComputers || li.UserAccountControl != pac.UserWorkstationTrustAccount ||
			!slices.Equal(groupRIDs(li), []uint32{store.RIDDomainComputers}) {
			t.Errorf("%s: primary %d UAC %#x groups %v", name, li.PrimaryGroupID, li.UserAccountControl, groupRIDs(li))
		}
		if p.ClientInfo.Name != name || li.EffectiveName != "WS01$" {
			t.Errorf("client info name %q, effective name %q; want %q, WS01$", p.ClientInfo.Name, li.EffectiveName, name)
		}
		if err := p.VerifyServerSignature(e.signingKey("krbtgt", aes256)); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// Group changes reach the next TGT (MS-KILE: the PAC is built at AS
// time); tickets from the older TGT keep the groups it was issued with.
func TestPACGroupChangeInNextTGT(t *testing.T) {
	e, ridA, ridB := newPACEnv(t)
	old := e.login("alice", alicePW)
	ctx := context.Background()
	if err := e.r.Admin.RemoveMembers(ctx, "A", "alice"); err != nil {
		t.Fatal(err)
	}
	ridC := e.group("C", "alice")
	e.refresh()
	e.clock.Set(t0.Add(time.Second))
	tg := e.login("alice", alicePW)
	_, p := e.ticketPAC(tg.ticket, "krbtgt")
	if got, want := groupRIDs(p.LogonInfo), []uint32{store.RIDDomainUsers, ridC}; !slices.Equal(got, want) {
		t.Errorf("after removal from A (and so from B) and adding to C: groups %v, want %v", got, want)
	}
	_, sp := e.ticketPAC(e.serviceTicket(old, service, nil), service)
	if got, want := groupRIDs(sp.LogonInfo), []uint32{store.RIDDomainUsers, ridA, ridB}; !slices.Equal(got, want) {
		t.Errorf("service ticket from the older TGT: groups %v, want %v", got, want)
	}
}

// PA-PAC-REQUEST: a TGT always has a PAC, whose attributes record the
// client's choice; a client that declined gets service tickets without
// one, from the TGS and from the AS directly.
func TestPACRequest(t *testing.T) {
	yes, no := true, false
	for _, tc := range []struct {
		name      string
		req       *bool
		wantAttrs uint32
		wantPAC   bool
	}{
		{"no PA-PAC-REQUEST", nil, pac.AttributePACWasGivenImplicitly, true},
		{"include-pac true", &yes, pac.AttributePACWasRequested, true},
		{"include-pac false", &no, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			r := e.asReq("alice").withTimestamp(t, alicePW, t0)
			if tc.req != nil {
				r.padata = append(r.padata, krb5.PACRequest{IncludePAC: *tc.req}.PAData())
			}
			ke, rep, _ := e.handle(r.bytes())
			if ke != nil {
				t.Fatal(ke.EText)
			}
			tg := e.decodeAS(rep, "alice", alicePW)
			_, p := e.ticketPAC(tg.ticket, "krbtgt")
			if p == nil || p.Attributes == nil || p.Attributes.Flags != tc.wantAttrs || p.Attributes.FlagsLength != 2 {
				t.Fatalf("TGT PAC attributes %+v, want flags %#x", p, tc.wantAttrs)
			}
			_, sp := e.ticketPAC(e.serviceTicket(tg, service, nil), service)
			if (sp != nil) != tc.wantPAC {
				t.Errorf("service ticket from the TGS has a PAC: %v, want %v", sp != nil, tc.wantPAC)
			}
			// The same request for the service directly.
			r.sname, r.nonce = service, 99
			ke, rep, _ = e.handle(r.bytes())
			if ke != nil {
				t.Fatal(ke.EText)
			}
			var kr krb5.KDCRep
			_ = kr.Unmarshal(rep)
			etp, sp := e.ticketPAC(kr.Ticket, service)
			if (sp != nil) != tc.wantPAC {
				t.Fatalf("service ticket from the AS has a PAC: %v, want %v", sp != nil, tc.wantPAC)
			}
			if sp != nil {
				if sp.Attributes != nil || sp.Requestor != nil {
					t.Error("AS service ticket PAC has attributes or requestor")
				}
				if err := sp.VerifyTicketSignature(etp, e.signingKey("krbtgt", aes256)); err != nil {
					t.Error(err)
				}
			}
		})
	}
	e := newEnv(t)
	r := e.asReq("alice").withTimestamp(t, alicePW, t0)
	r.padata = append(r.padata, krb5.PAData{Type: krb5.PAPACRequest, Value: []byte{0x30, 0x03, 0x01, 0x01, 0xff}})
	if ke, _, _ := e.handle(r.bytes()); ke == nil || ke.ErrorCode != krb5.KRBErrGeneric || ke.EText != "PA-PAC-REQUEST is malformed" {
		t.Errorf("malformed PA-PAC-REQUEST: %+v", ke)
	}
}

// A service flagged no-pac gets tickets without a PAC, from the AS and
// the TGS; TGTs are not affected.
func TestNoPACService(t *testing.T) {
	e := newEnv(t)
	e.setFlags("HTTP-web", store.FlagNoPAC)
	e.refresh()
	tg := e.login("alice", alicePW)
	if _, p := e.ticketPAC(tg.ticket, "krbtgt"); p == nil {
		t.Fatal("TGT without PAC")
	}
	if etp, p := e.ticketPAC(e.serviceTicket(tg, service, nil), service); p != nil || len(etp.AuthorizationData) != 0 {
		t.Errorf("TGS: ticket for a no-pac service has authorization data %v", etp.AuthorizationData)
	}
	r := e.asReq("alice").withTimestamp(t, alicePW, t0)
	r.sname = service
	ke, rep, _ := e.handle(r.bytes())
	if ke != nil {
		t.Fatal(ke.EText)
	}
	var kr krb5.KDCRep
	_ = kr.Unmarshal(rep)
	if _, p := e.ticketPAC(kr.Ticket, service); p != nil {
		t.Error("AS: ticket for a no-pac service has a PAC")
	}
}

// Renewal and a TGS request for another TGT keep the PAC, re-signed.
func TestPACKeptByRenewAndTGT(t *testing.T) {
	e, ridA, ridB := newPACEnv(t)
	r := e.asReq("alice").withTimestamp(t, alicePW, t0)
	r.opts = krb5.KDCOptRenewable
	ke, rep, _ := e.handle(r.bytes())
	if ke != nil {
		t.Fatal(ke.EText)
	}
	tg := e.decodeAS(rep, "alice", alicePW)
	e.clock.Set(t0.Add(time.Hour))
	for _, opts := range []krb5.Flags{krb5.KDCOptRenew, 0} {
		tk := e.serviceTicket(tg, "krbtgt/"+realm, func(p *tgsParts) { p.body.KDCOptions = opts })
		_, p := e.ticketPAC(tk, "krbtgt")
		if p == nil || p.Requestor == nil || p.Attributes == nil || p.TicketSignature != nil {
			t.Fatalf("options %v: new TGT's PAC %+v", opts, p)
		}
		if got := groupRIDs(p.LogonInfo); !slices.Contains(got, ridA) || !slices.Contains(got, ridB) {
			t.Errorf("options %v: groups %v", opts, got)
		}
		krbtgt := e.signingKey("krbtgt", aes256)
		if err := p.VerifyServerSignature(krbtgt); err != nil {
			t.Error(err)
		}
	}
}

// Every single-byte change anywhere in the TGT's PAC — the buffer table,
// each buffer, the padding, either signature — is refused by the TGS,
// even in a TGT sealed with the krbtgt key.
func TestTGTPACEveryByteFlipRefused(t *testing.T) {
	e, _, _ := newPACEnv(t)
	tg := e.login("alice", alicePW)
	etp, p := e.ticketPAC(tg.ticket, "krbtgt")
	region := func(off int) string {
		for _, bi := range p.Layout {
			if off >= bi.Offset && off < pacAlign(bi.Offset+bi.Size) {
				return bi.Type.String()
			}
		}
		return "PACTYPE header"
	}
	counts := map[string]int{}
	for i := range p.Raw {
		flipped := bytes.Clone(p.Raw)
		flipped[i] ^= 0xff
		part := *etp
		var err error
		if part.AuthorizationData, err = pac.WithPAC(etp.AuthorizationData, flipped); err != nil {
			t.Fatal(err)
		}
		tk := tg.ticket
		e.seal(&tk, "krbtgt", &part)
		ke, _, res := e.handle(e.tgsReq(tg, service, func(pt *tgsParts) { pt.ticket = tk }))
		if ke == nil {
			t.Fatalf("byte %d (%s) flipped: TGS issued a ticket (%+v)", i, region(i), res)
		}
		if ke.ErrorCode != krb5.KRBAPErrModified || !strings.HasPrefix(ke.EText, "TGT PAC rejected: ") {
			t.Errorf("byte %d (%s) flipped: %v %q", i, region(i), ke.ErrorCode, ke.EText)
		}
		counts[region(i)]++
	}
	t.Logf("%d bytes flipped one at a time, each refused: %v", len(p.Raw), counts)
	if len(counts) != len(p.Layout)+1 {
		t.Errorf("flips covered %d regions, want the header and %d buffers", len(counts), len(p.Layout))
	}
}

// maxUDPReply is kdc.ServeConfig.MaxUDPReply's default.
const maxUDPReply = 4096

func pacAlign(n int) int { return (n + 7) &^ 7 }

// TGS refusals about the TGT's PAC: code and reason.
func TestTGTPACRefusals(t *testing.T) {
	type fix struct {
		e    *env
		etp  *krb5.EncTicketPart
		p    *pac.PAC
		tg   tgt
		user pac.SID
	}
	// resign re-signs the TGT's PAC with the krbtgt key after f changed
	// it: a PAC only the KDC could make.
	resign := func(x *fix, f func(*pac.PAC), opt pac.SignOptions) []byte {
		f(x.p)
		k := x.e.signingKey("krbtgt", aes256)
		if opt.ServerKey.Key == nil {
			opt.ServerKey = k
		}
		if opt.KDCKey.Key == nil {
			opt.KDCKey = k
		}
		raw, err := x.p.Sign(opt)
		if err != nil {
			x.e.t.Fatal(err)
		}
		return raw
	}
	withPAC := func(x *fix, raw []byte) {
		var err error
		if x.etp.AuthorizationData, err = pac.WithPAC(x.etp.AuthorizationData, raw); err != nil {
			x.e.t.Fatal(err)
		}
	}
	cases := []struct {
		name       string
		setup      func(x *fix)
		change     func(x *fix) // edits x.etp (and x.p), resealed with the krbtgt key
		authName   string
		wantCode   krb5.ErrorCode
		wantReason func(x *fix) string
	}{
		{name: "no PAC", change: func(x *fix) { x.etp.AuthorizationData = nil },
			wantCode: krb5.KDCErrTGTRevoked,
			wantReason: func(*fix) string {
				return "TGT of alice@TEST.WARDEN carries no PAC, and this KDC puts one in every TGT it issues"
			}},
		{name: "PAC outside AD-IF-RELEVANT", change: func(x *fix) {
			x.etp.AuthorizationData = krb5.AuthorizationData{{Type: krb5.ADWin2KPAC, Data: x.p.Raw}}
		}, wantCode: krb5.KRBAPErrModified,
			wantReason: func(*fix) string {
				return "TGT PAC rejected: ticket holds an AD-WIN2K-PAC element outside AD-IF-RELEVANT"
			}},
		{name: "two PACs", change: func(x *fix) {
			x.etp.AuthorizationData = append(x.etp.AuthorizationData, pac.ADEntry(x.p.Raw))
		}, wantCode: krb5.KRBAPErrModified,
			wantReason: func(*fix) string { return "TGT PAC rejected: ticket holds 2 PACs, at most one is allowed" }},
		{name: "KDC signature by another key", change: func(x *fix) {
			withPAC(x, resign(x, func(*pac.PAC) {}, pac.SignOptions{KDCKey: x.e.signingKey(service, aes256)}))
		}, wantCode: krb5.KRBAPErrModified,
			wantReason: func(*fix) string {
				return "TGT PAC rejected: PAC KDC signature does not verify with the krbtgt key (kvno 1, aes256-cts-hmac-sha1-96)"
			}},
		{name: "PAC of a service ticket", change: func(x *fix) {
			withPAC(x, resign(x, func(*pac.PAC) {}, pac.SignOptions{ServerKey: x.e.signingKey(service, aes256)}))
		}, wantCode: krb5.KRBAPErrModified,
			wantReason: func(*fix) string {
				return "TGT PAC rejected: PAC server signature does not verify with the krbtgt key (kvno 1, aes256-cts-hmac-sha1-96)"
			}},
		{name: "PAC from another logon", change: func(x *fix) { x.etp.AuthTime = x.etp.AuthTime.Add(-time.Minute) },
			wantCode: krb5.KRBAPErrModified,
			wantReason: func(*fix) string {
				return "TGT PAC rejected: PAC_CLIENT_INFO ClientId 2026-11-23T12:00:00Z does not match the ticket's authtime 2026-11-23T11:59:00Z"
			}},
		{name: "no requestor", change: func(x *fix) {
			withPAC(x, resign(x, func(p *pac.PAC) { p.Requestor = nil }, pac.SignOptions{}))
		}, wantCode: krb5.KDCErrTGTRevoked,
			wantReason: func(*fix) string { return "TGT PAC of alice@TEST.WARDEN names no requestor (PAC_REQUESTOR)" }},
		{name: "requestor is someone else", change: func(x *fix) {
			bob := x.e.sid(x.e.rid("bob"))
			withPAC(x, resign(x, func(p *pac.PAC) { p.Requestor = &bob }, pac.SignOptions{}))
		}, wantCode: krb5.KDCErrTGTRevoked,
			wantReason: func(x *fix) string {
				return fmt.Sprintf("TGT was requested by %v, but alice@TEST.WARDEN now resolves to the account alice (%v)", x.e.sid(x.e.rid("bob")), x.user)
			}},
		{name: "cname changed to another account (noPac)", authName: "bob", change: func(x *fix) {
			x.etp.CName = *pn("bob")
			withPAC(x, resign(x, func(p *pac.PAC) { p.ClientInfo.Name = "bob" }, pac.SignOptions{}))
		}, wantCode: krb5.KDCErrTGTRevoked,
			wantReason: func(x *fix) string {
				return fmt.Sprintf("TGT was requested by %v, but bob@TEST.WARDEN now resolves to the account bob (%v)", x.user, x.e.sid(x.e.rid("bob")))
			}},
		{name: "account re-created under the same name (noPac)", setup: func(x *fix) {
			ctx := context.Background()
			if err := x.e.r.Admin.Delete(ctx, "alice"); err != nil {
				x.e.t.Fatal(err)
			}
			x.e.r.AddUser(x.e.t, "alice", alicePW, admin.UserOptions{})
		}, wantCode: krb5.KDCErrTGTRevoked,
			wantReason: func(x *fix) string {
				return fmt.Sprintf("TGT was requested by %v, but alice@TEST.WARDEN now resolves to the account alice (%v)", x.user, x.e.sid(x.e.rid("alice")))
			}},
		{name: "ticket signature present and the flags changed after", change: func(x *fix) {
			withPAC(x, resign(x, func(*pac.PAC) {}, pac.SignOptions{Ticket: x.etp}))
			x.etp.Flags |= krb5.TktFlagForwardable
		}, wantCode: krb5.KRBAPErrModified,
			wantReason: func(*fix) string {
				return "TGT PAC rejected: PAC ticket signature does not verify with the krbtgt key (kvno 1, aes256-cts-hmac-sha1-96)"
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.r.AddUser(t, "bob", "bob's password", admin.UserOptions{})
			e.refresh()
			tg := e.login("alice", alicePW)
			x := &fix{e: e, tg: tg, user: e.sid(e.rid("alice"))}
			x.etp, x.p = e.ticketPAC(tg.ticket, "krbtgt")
			// The genuine TGT first: the KDC remembers its PAC as
			// verified, which must not let the altered one through.
			e.serviceTicket(tg, service, nil)
			if tc.setup != nil {
				tc.setup(x)
				e.refresh()
			}
			tk := tg.ticket
			if tc.change != nil {
				tc.change(x)
				e.seal(&tk, "krbtgt", x.etp)
			}
			ke, _, res := e.handle(e.tgsReq(tg, service, func(p *tgsParts) {
				p.ticket = tk
				if tc.authName != "" {
					p.auth.CName = *pn(tc.authName)
				}
			}))
			if ke == nil {
				t.Fatalf("request succeeded (%+v)", res)
			}
			if want := tc.wantReason(x); ke.ErrorCode != tc.wantCode || ke.EText != want {
				t.Errorf("got %v %q\nwant %v %q", ke.ErrorCode, ke.EText, tc.wantCode, want)
			}
		})
	}
}

// A TGT whose PAC carries a valid ticket signature (not what this KDC
// issues, but what a KDC may) is accepted: the signature is verified,
// not required.
func TestTGTPACWithTicketSignatureAccepted(t *testing.T) {
	e := newEnv(t)
	tg := e.login("alice", alicePW)
	etp, p := e.ticketPAC(tg.ticket, "krbtgt")
	k := e.signingKey("krbtgt", aes256)
	raw, err := p.Sign(pac.SignOptions{ServerKey: k, KDCKey: k, Ticket: etp})
	if err != nil {
		t.Fatal(err)
	}
	etp.AuthorizationData, _ = pac.WithPAC(etp.AuthorizationData, raw)
	tk := tg.ticket
	e.seal(&tk, "krbtgt", etp)
	e.serviceTicket(tg, service, func(p *tgsParts) { p.ticket = tk })
}

// Bronze Bit (CVE-2020-17049): whoever holds a service's key can decrypt
// its tickets, set the forwardable flag and re-encrypt them. Warden's TGS
// takes no service ticket as evidence yet (no S4U2proxy), so such a
// ticket is refused as not a TGT; and the check any such path must run,
// the PAC's ticket signature with the krbtgt key, catches the change.
func TestBronzeBitForgedForwardable(t *testing.T) {
	e := newEnv(t)
	tg := e.login("alice", alicePW)
	st := e.serviceTicket(tg, service, nil)
	etp := e.open(st, service)
	if etp.Flags.Has(krb5.TktFlagForwardable) {
		t.Fatal("the service ticket is forwardable already")
	}
	ctx := context.Background()
	if err := e.k.VerifyServiceTicketPAC(ctx, etp, service); err != nil {
		t.Fatalf("genuine service ticket: %v", err)
	}
	etp.Flags |= krb5.TktFlagForwardable
	forged := st
	e.seal(&forged, service, etp)

	err := e.k.VerifyServiceTicketPAC(ctx, e.open(forged, service), service)
	var ke *krb5.Error
	want := "service ticket PAC rejected: PAC ticket signature does not verify with the krbtgt key (kvno 1, aes256-cts-hmac-sha1-96)"
	if !asKrb5(err, &ke) || ke.Code != krb5.KRBAPErrModified || ke.Reason != want {
		t.Errorf("forged forwardable flag: %v, want %v %q", err, krb5.KRBAPErrModified, want)
	}
	kerr, _, _ := e.handle(e.tgsReq(tg, service, func(p *tgsParts) { p.ticket = forged }))
	if kerr == nil || kerr.ErrorCode != krb5.KRBAPErrNotUs {
		t.Errorf("forged service ticket presented to the TGS: %+v", kerr)
	}
	// Without the PAC the ticket cannot vouch for its flags at all.
	etp.AuthorizationData = nil
	err = e.k.VerifyServiceTicketPAC(ctx, etp, service)
	if !asKrb5(err, &ke) || ke.Code != krb5.KRBAPErrModified || ke.Reason != "service ticket carries no PAC" {
		t.Errorf("service ticket without PAC: %v", err)
	}
}

func asKrb5(err error, ke **krb5.Error) bool { return errors.As(err, ke) }

// A user in 1,000 groups: the PAC lists them all, the TGS copies them,
// and the sizes are what the README states (a reply this big needs TCP:
// over UDP the KDC answers RESPONSE_TOO_BIG, see TestBigPACOverUDPThenTCP).
func TestPACThousandGroups(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	want := []uint32{store.RIDDomainUsers}
	for i := range 1000 {
		g := &store.Group{Name: fmt.Sprintf("g%04d", i), Members: []store.Member{{Name: "alice"}}}
		if err := e.r.Store.CreateGroup(ctx, g); err != nil {
			t.Fatal(err)
		}
		want = append(want, g.RID)
	}
	slices.Sort(want)
	e.refresh()
	r := e.asReq("alice").withTimestamp(t, alicePW, t0)
	ke, asRep, _ := e.handle(r.bytes())
	if ke != nil {
		t.Fatal(ke.EText)
	}
	tg := e.decodeAS(asRep, "alice", alicePW)
	_, p := e.ticketPAC(tg.ticket, "krbtgt")
	if got := groupRIDs(p.LogonInfo); !slices.Equal(got, want) {
		t.Fatalf("TGT PAC lists %d groups, want %d", len(got), len(want))
	}
	ke, tgsRep, _ := e.handle(e.tgsReq(tg, service, nil))
	if ke != nil {
		t.Fatal(ke.EText)
	}
	var kr krb5.KDCRep
	_ = kr.Unmarshal(tgsRep)
	_, sp := e.ticketPAC(kr.Ticket, service)
	if got := groupRIDs(sp.LogonInfo); !slices.Equal(got, want) {
		t.Fatalf("service ticket PAC lists %d groups, want %d", len(got), len(want))
	}
	tgtBytes, _ := tg.ticket.Marshal()
	stBytes, _ := kr.Ticket.Marshal()
	// What a client sends an HTTP server: an AP-REQ with this ticket and
	// an authenticator like MIT's (GSS checksum, subkey, sequence number)
	// in a GSS-API token, base64 after "Negotiate ".
	plain, err := tg.key.DecryptData(kcrypto.UsageTGSRepEncPartSessionKey, kr.EncPart)
	if err != nil {
		t.Fatal(err)
	}
	var part krb5.EncKDCRepPart
	if err := part.Unmarshal(plain); err != nil {
		t.Fatal(err)
	}
	sk, _ := kcrypto.NewKey(part.Key, kcrypto.Options{})
	sub := part.Key
	auth := krb5.Authenticator{CRealm: realm, CName: *pn("alice"), CTime: t0, CUSec: 123456,
		Cksum: &krb5.Checksum{CksumType: 0x8003, Checksum: make([]byte, 24)}, Subkey: &sub, SeqNumber: 0x12345678, HasSeqNumber: true}
	ab, _ := auth.Marshal()
	encAuth, _ := sk.EncryptData(rand.Reader, kcrypto.UsageAPReqAuthenticator, ab, 0, false)
	apReq, _ := (&krb5.APReq{APOptions: krb5.APOptMutualRequired, Ticket: kr.Ticket, Authenticator: encAuth}).Marshal()
	header := "Negotiate " + base64.StdEncoding.EncodeToString(krb5.WrapKRB5Token(krb5.TokIDAPReq, apReq))
	t.Logf("1,000 groups: TGT PAC %d bytes, TGT %d bytes, AS-REP %d bytes; service ticket PAC %d bytes, service ticket %d bytes, TGS-REP %d bytes; AP-REQ %d bytes, Negotiate header %d bytes (Kerberos token; SPNEGO wrapping adds a few dozen)",
		len(p.Raw), len(tgtBytes), len(asRep), len(sp.Raw), len(stBytes), len(tgsRep), len(apReq), len(header))
	if len(asRep) <= maxUDPReply || len(tgsRep) <= maxUDPReply {
		t.Errorf("replies of %d and %d bytes fit in UDP; the README says they need TCP", len(asRep), len(tgsRep))
	}

	// A second TGT comes from the cached template, which at this size
	// does not fit inside it (pacTemplate.inline): the same groups, the
	// new logon time, valid signatures.
	e.clock.Set(t0.Add(time.Minute))
	_, p2 := e.ticketPAC(e.login("alice", alicePW).ticket, "krbtgt")
	if got := groupRIDs(p2.LogonInfo); !slices.Equal(got, want) {
		t.Fatalf("second TGT PAC lists %d groups, want %d", len(got), len(want))
	}
	if p2.LogonInfo.LogonTime.Time() != t0.Add(time.Minute) {
		t.Errorf("second TGT PAC logon time %v", p2.LogonInfo.LogonTime.Time())
	}
	krbtgt := e.signingKey("krbtgt", aes256)
	for _, err := range []error{p2.VerifyServerSignature(krbtgt), p2.VerifyKDCSignature(krbtgt)} {
		if err != nil {
			t.Error(err)
		}
	}
}

// Tickets for kadmin/changepw carry a PAC without the ticket and full
// signatures (MS-PAC 2.8.3), from the AS and from the TGS.
func TestPACChangepwNoTicketSignature(t *testing.T) {
	e := newEnv(t)
	e.r.AddService(t, "kadmin/changepw", admin.ServiceOptions{})
	e.refresh()
	tg := e.login("alice", alicePW)
	r := e.asReq("alice").withTimestamp(t, alicePW, t0)
	r.sname, r.nonce = "kadmin/changepw", 5
	ke, rep, _ := e.handle(r.bytes())
	if ke != nil {
		t.Fatal(ke.EText)
	}
	var kr krb5.KDCRep
	_ = kr.Unmarshal(rep)
	for name, tk := range map[string]krb5.Ticket{"AS": kr.Ticket, "TGS": e.serviceTicket(tg, "kadmin/changepw", nil)} {
		etp, p := e.ticketPAC(tk, "kadmin/changepw")
		if p == nil {
			t.Fatalf("%s: no PAC", name)
		}
		if p.TicketSignature != nil || p.FullSignature != nil || p.Requestor != nil || p.Attributes != nil {
			t.Errorf("%s: kadmin/changepw PAC has ticket/full signatures or TGT-only buffers", name)
		}
		if err := p.VerifyServerSignature(e.signingKey("kadmin/changepw", tk.EncPart.EType)); err != nil {
			t.Errorf("%s: %v", name, err)
		}
		if err := p.VerifyKDCSignature(e.signingKey("krbtgt", aes256)); err != nil {
			t.Errorf("%s: %v", name, err)
		}
		if err := p.VerifyClientInfo(etp.AuthTime, etp.CName); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

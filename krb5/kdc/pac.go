package kdc

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/warden-auth/warden/krb5"
	"github.com/warden-auth/warden/krb5/kcrypto"
	"github.com/warden-auth/warden/krb5/pac"
	"github.com/warden-auth/warden/store"
)

// PAC issuance (MS-KILE 3.3.5.3, 3.3.5.6.4, 3.3.5.7).
//
// Every TGT carries a PAC, built at AS time from the account DB: the
// user's SID, primary group and every group it is in (nested groups
// expanded), signed with the krbtgt key. PA-PAC-REQUEST does not remove
// the PAC from a TGT — MS-KILE 3.3.5.3 makes it mandatory there, so that
// the TGS can always tell who requested the TGT — but it is recorded in
// PAC_ATTRIBUTES_INFO, and a client that declined gets service tickets
// without a PAC. At TGS time the TGT's PAC is verified (signatures,
// client info, requestor) and copied into the service ticket, which is
// re-signed with the service key. A service account flagged no-pac gets
// no PAC in its tickets.

// pacDomain is the realm as a PAC describes it.
type pacDomain struct {
	sid     pac.SID // the domain SID; account SIDs append their RID
	netbios string  // LogonDomainName
	dns     string  // the realm: UPN_DNS_INFO DnsDomainName
}

func newPACDomain(r *store.Realm) (*pacDomain, error) {
	sid, err := pac.ParseSID(r.DomainSID)
	if err == nil {
		_, err = sid.AppendRID(0) // room for the RIDs
	}
	if err != nil {
		return nil, fmt.Errorf("realm %s: domain SID unusable in a PAC: %w", r.Name, err)
	}
	nb := r.NetBIOS
	if nb == "" {
		nb, _, _ = strings.Cut(r.Name, ".")
	}
	return &pacDomain{sid: sid, netbios: nb, dns: r.Name}, nil
}

// sidOf returns the SID of the account or group with this RID.
func (d *pacDomain) sidOf(rid uint32) pac.SID {
	s, _ := d.sid.AppendRID(rid) // newPACDomain checked there is room
	return s
}

// defaultLogonServer is the KDC's NetBIOS-style name for LogonServer: the
// host name's first label in upper case, at most 15 characters.
func defaultLogonServer() string {
	h, err := os.Hostname()
	if err != nil || h == "" {
		return "WARDEN"
	}
	h, _, _ = strings.Cut(h, ".")
	h = strings.ToUpper(h)
	if len(h) > 15 {
		h = h[:15]
	}
	return h
}

// assertedIdentity is the ExtraSids entry a KDC adds to PACs it builds
// from a logon with the account's keys (MS-PAC 2.5, MS-SFU 3.1.5.1):
// AUTHENTICATION_AUTHORITY_ASSERTED_IDENTITY. Read only.
var assertedIdentity = []pac.SIDAndAttributes{{SID: pac.SIDAuthenticationAuthorityAsserted, Attributes: pac.GroupDefault}}

// assertedWithClaims adds CLAIMS_VALID, which a KDC puts among the
// ExtraSids of a PAC whose client claims it added (MS-KILE 3.3.5.6.4.6):
// services honour claims only with it. Read only.
var assertedWithClaims = []pac.SIDAndAttributes{
	{SID: pac.SIDAuthenticationAuthorityAsserted, Attributes: pac.GroupDefault},
	{SID: pac.SIDClaimsValid, Attributes: pac.GroupDefault},
}

// pacAttributes returns the PAC_ATTRIBUTES_INFO flags for the request's
// PA-PAC-REQUEST: PAC_WAS_REQUESTED for include-pac TRUE, none for
// FALSE, and PAC_WAS_GIVEN_IMPLICITLY without the padata (as Samba).
func (x *exchange) pacAttributes() (uint32, error) {
	pa, ok := x.req.PAData.Find(krb5.PAPACRequest)
	if !ok {
		return pac.AttributePACWasGivenImplicitly, nil
	}
	var r krb5.PACRequest
	if err := r.Unmarshal(pa.Value); err != nil {
		return 0, &krb5.Error{Code: krb5.KRBErrGeneric, Reason: "PA-PAC-REQUEST is malformed", Err: err,
			Hint: "the client sent a KERB-PA-PAC-REQUEST that is not a SEQUENCE { include-pac [0] BOOLEAN }"}
	}
	if r.IncludePAC {
		return pac.AttributePACWasRequested, nil
	}
	return 0, nil
}

// isKrbtgt reports whether p is the realm's ticket-granting service.
func isKrbtgt(p *principal) bool {
	return p.acct.Kind == store.KindService && strings.EqualFold(p.acct.Name, krbtgtName)
}

// isChangepw reports whether sname is the password-changing service,
// whose tickets carry no ticket signature (MS-PAC 2.8.3).
func isChangepw(sname krb5.PrincipalName) bool {
	n := sname.NameString
	return len(n) == 2 && strings.EqualFold(n[0], "kadmin") && strings.EqualFold(n[1], "changepw")
}

// userAccountControl maps the account's kind and flags to the SAM USER_*
// bits of KERB_VALIDATION_INFO (MS-SAMR 2.2.1.12).
func userAccountControl(a *accountInfo, now time.Time) pac.UserAccountControl {
	u := pac.UserNormalAccount
	if a.Kind == store.KindComputer {
		u = pac.UserWorkstationTrustAccount
	}
	for _, m := range []struct {
		f store.Flags
		u pac.UserAccountControl
	}{
		{store.FlagDisabled, pac.UserAccountDisabled},
		{store.FlagPasswordNeverExpires, pac.UserDontExpirePassword},
		{store.FlagNoForward, pac.UserNotDelegated},
		{store.FlagOKAsDelegate, pac.UserTrustedForDelegation},
		{store.FlagNoPAC, pac.UserNoAuthDataRequired},
	} {
		if a.Flags&m.f != 0 {
			u |= m.u
		}
	}
	if a.Flags&store.FlagPreauthRequired == 0 {
		u |= pac.UserDontRequirePreauth
	}
	if pe := a.PasswordExpires(); !pe.IsZero() && !now.Before(pe) && a.Flags&store.FlagPasswordNeverExpires == 0 {
		u |= pac.UserPasswordExpired
	}
	return u
}

// newPAC builds the PAC of a ticket issued at AS time (MS-KILE
// 3.3.5.6.4): logon info, client info and UPN/DNS info, plus, in a TGT,
// the attributes (attrs) and the requestor. reply signs it.
func (x *exchange) newPAC(client *principal, cname krb5.PrincipalName, authTime time.Time, attrs uint32, tgt bool) *pac.PAC {
	d := x.k.dir.domain.Load()
	a := &client.acct
	primary := pac.RIDDomainUsers
	if a.Kind == store.KindComputer {
		primary = pac.RIDDomainComputers
	}
	// Windows lists the primary group among GroupIds too.
	groups := make([]pac.GroupMembership, 1, len(client.groups)+1)
	groups[0] = pac.GroupMembership{RID: primary, Attributes: pac.GroupDefault}
	for _, rid := range client.groups {
		if rid != primary {
			groups = append(groups, pac.GroupMembership{RID: rid, Attributes: pac.GroupDefault})
		}
	}
	never := func(t time.Time) pac.FileTime {
		if t.IsZero() {
			return pac.Never
		}
		return pac.NewFileTime(t)
	}
	mustChange := pac.Never
	if a.Flags&store.FlagPasswordNeverExpires == 0 {
		mustChange = never(a.PasswordExpires())
	}
	authFT := pac.NewFileTime(authTime)
	logoff, pwdSet := never(a.AccountExpires()), pac.NewFileTime(a.PasswordLastSet())
	li := &pac.LogonInfo{
		LogonTime:          authFT,
		LogoffTime:         logoff,
		KickOffTime:        logoff,
		PasswordLastSet:    pwdSet,
		PasswordCanChange:  pwdSet, // no minimum password age
		PasswordMustChange: mustChange,
		EffectiveName:      a.Name,
		FullName:           client.displayName(),
		UserID:             a.RID,
		PrimaryGroupID:     primary,
		GroupIDs:           groups,
		UserFlags:          pac.UserFlagExtraSIDs,
		LogonServer:        x.k.cfg.LogonServer,
		LogonDomainName:    d.netbios,
		LogonDomainID:      d.sid,
		UserAccountControl: userAccountControl(a, x.now),
		ExtraSIDs:          assertedIdentity,
	}
	user := d.sidOf(a.RID)
	upn, flags := client.upn(), pac.UPNDNSFlags(0)
	if upn == "" {
		upn, flags = a.Name+"@"+strings.ToLower(d.dns), pac.UPNConstructed
	}
	p := &pac.PAC{
		LogonInfo:  li,
		ClientInfo: &pac.ClientInfo{ClientID: authFT, Name: cname.String()},
		UPNDNSInfo: &pac.UPNDNSInfo{UPN: upn, DNSDomainName: d.dns, Flags: flags, SamName: a.Name, SID: user},
	}
	if tgt {
		p.Attributes = &pac.AttributesInfo{FlagsLength: 2, Flags: attrs}
		p.Requestor = &user
		// A TGT carries the claims whether or not the client asked: the
		// TGS decides per service (claimsFor).
		p.ClientClaims = client.claims
		if client.claims != nil {
			li.ExtraSIDs = assertedWithClaims
		}
	}
	return p
}

// claimsFor reports whether a service ticket for server carries the
// client's claims (MS-KILE 3.3.5.7.5): when the service is flagged
// claims-supported (or compound-identity) or the client asked with
// PA-PAC-OPTIONS.
func (x *exchange) claimsFor(server *principal) bool {
	// A compound-identity service gets the device's claims, and the
	// user's with them.
	if server.acct.Flags&(store.FlagClaimsSupported|store.FlagCompoundIdentity) != 0 {
		return true
	}
	pa, ok := x.req.PAData.Find(krb5.PAPACOptions)
	if !ok {
		return false
	}
	var o krb5.PACOptions
	return o.Unmarshal(pa.Value) == nil && o.Flags.Has(krb5.PACOptClaims)
}

// signPAC puts t.pac, signed, first in the ticket's authorization-data
// (MS-PAC 2.8): the server signature with the key the ticket is
// encrypted with, the KDC signature with the krbtgt key and, in service
// tickets other than kadmin/changepw, the ticket and full-PAC signatures
// over the final EncTicketPart.
func (x *exchange) signPAC(t *ticket) error {
	krbtgt, err := x.k.krbtgt(x.ctx)
	if err != nil {
		return err
	}
	kk, ok := krbtgt.ticketKey()
	if !ok {
		return errNoKrbtgtKey()
	}
	sk, _ := t.server.ticketKey()
	ad, err := pac.WithPAC(t.enc.AuthorizationData, nil)
	if err != nil {
		return err
	}
	t.enc.AuthorizationData = ad
	opt := pac.SignOptions{
		ServerKey: pac.SigningKey{Key: sk.key(), KVNO: sk.kvno},
		KDCKey:    pac.SigningKey{Key: kk.key(), KVNO: kk.kvno},
	}
	if !isKrbtgt(t.server) && !isChangepw(t.sname) {
		opt.Ticket = &t.enc
	}
	var raw []byte
	var dev *deviceData
	if x.fast != nil {
		dev = x.fast.compound
	}
	switch {
	case t.pacFrom != nil && opt.Ticket != nil && dev == nil:
		raw, err = x.signServicePAC(t, opt)
	case t.pacFrom != nil:
		// kadmin/changepw (no ticket signature) and compound identity
		// (a PAC per device): built and signed in full.
		if t.pac, err = servicePAC(t.pacFrom, t.noClaims); err == nil {
			if dev != nil {
				dev.addTo(t.pac)
			}
			raw, err = t.pac.Sign(opt)
		}
	default:
		raw, err = t.pac.Sign(opt)
	}
	if err != nil {
		return err
	}
	ad[0] = pac.ADEntry(raw)
	return nil
}

// verifiedPAC is what the TGS keeps of a TGT's PAC it verified. The last
// one of each client is kept on the client's principal: a client asks
// for tickets to several services with the same TGT, and a PAC identical
// to one already verified with the same krbtgt key needs neither
// decoding nor verifying again; the service tickets made from it share
// one encoding too (servicePACTemplate). To keep principals small it
// holds the PAC's bytes and the few fields every request checks, not the
// decoded PAC. Read only once stored.
type verifiedPAC struct {
	raw []byte        // the PAC as it was in the TGT
	key *principalKey // the krbtgt key that decrypted that TGT
	// What every request checks: the client info, the requestor, the
	// attributes.
	clientInfo    pac.ClientInfo
	requestor     pac.SID // zero when the PAC has none
	attrs         uint32
	hasAttributes bool
	hasClaims     bool
	// svc is the encoding of the service tickets' PAC; svcNoClaims that
	// for services that get no claims.
	svc, svcNoClaims atomic.Pointer[servicePACTemplate]
}

// tgtPAC is a TGT's verified PAC during one request: what is kept, and
// the decoded PAC when this request decoded it.
type tgtPAC struct {
	*verifiedPAC
	decoded *pac.PAC
}

// pac returns the decoded PAC, decoding the verified bytes if this
// request has not.
func (v *tgtPAC) pac() (*pac.PAC, error) {
	if v.decoded == nil {
		p, err := pac.Decode(v.raw)
		if err != nil {
			return nil, errTGTPAC(err)
		}
		v.decoded = p
	}
	return v.decoded, nil
}

// verifyTGTPAC checks the PAC of a TGT presented to the TGS (MS-PAC
// 2.8.4, MS-KILE 3.3.5.7): that there is one (this KDC puts one in every
// TGT), that the server and KDC signatures verify with the krbtgt key —
// and the ticket and full-PAC signatures too if the TGT has them — and
// that PAC_CLIENT_INFO matches the TGT. The requestor is checked against
// the client account by checkRequestor. client, the principal the TGT's
// client name resolves to (nil if none), keeps the result.
func (x *exchange) verifyTGTPAC(a *tgsAuth, client *principal) (*tgtPAC, error) {
	raw, ok, err := pac.FromAuthorizationData(a.tgt.AuthorizationData)
	if err != nil {
		return nil, errTGTPAC(err)
	}
	if !ok {
		x.res.Detail = "TGT without PAC"
		return nil, &krb5.Error{Code: krb5.KDCErrTGTRevoked,
			Reason: "TGT of " + x.res.Client + " carries no PAC, and this KDC puts one in every TGT it issues",
			Hint:   "get a new TGT with kinit; a TGT without a PAC was issued before PAC support or by another KDC sharing the krbtgt key"}
	}
	if client != nil {
		if v := client.tgtPACSeen.Load(); v != nil && v.key == a.tgtKey && bytes.Equal(v.raw, raw) {
			ci := &pac.PAC{ClientInfo: &v.clientInfo}
			if err := ci.VerifyClientInfo(a.tgt.AuthTime, a.tgt.CName); err != nil {
				return nil, errTGTPAC(err)
			}
			return &tgtPAC{verifiedPAC: v}, nil
		}
	}
	p, err := pac.Decode(raw)
	if err != nil {
		return nil, errTGTPAC(err)
	}
	if err := verifyKrbtgtPAC(p, &a.tgt, a.krbtgt, a.tgtKey); err != nil {
		return nil, errTGTPAC(err)
	}
	v := &verifiedPAC{raw: p.Raw, key: a.tgtKey, clientInfo: *p.ClientInfo}
	if p.Requestor != nil {
		v.requestor = *p.Requestor
	}
	if p.Attributes != nil {
		v.attrs, v.hasAttributes = p.Attributes.Flags, true
	}
	v.hasClaims = p.ClientClaims != nil
	// A ticket signature covers the rest of the ticket, so it must be
	// checked with every ticket: such PACs are not remembered (this KDC
	// puts none in TGTs).
	if client != nil && p.TicketSignature == nil {
		client.tgtPACSeen.Store(v)
	}
	return &tgtPAC{verifiedPAC: v, decoded: p}, nil
}

// verifyKrbtgtPAC checks the decoded PAC p of a TGT (etp) that key, a
// key of krbtgt, decrypted: the server and KDC signatures, the ticket
// and full-PAC signatures when present, and the client info against the
// ticket. Failures are *pac.Error.
func verifyKrbtgtPAC(p *pac.PAC, etp *krb5.EncTicketPart, krbtgt *principal, key *principalKey) error {
	// A TGT's server signature is made with the krbtgt key: say so.
	if err := p.VerifyServerSignature(pac.SigningKey{Key: key.key(), KVNO: key.kvno, Role: "krbtgt"}); err != nil {
		return err
	}
	if err := verifyKDCKeyed(krbtgt, key, p.KDCSignature, p.VerifyKDCSignature); err != nil {
		return err
	}
	if p.TicketSignature != nil {
		err := verifyKDCKeyed(krbtgt, key, p.TicketSignature, func(k pac.SigningKey) error {
			return p.VerifyTicketSignature(etp, k)
		})
		if err != nil {
			return err
		}
	}
	if p.FullSignature != nil {
		if err := verifyKDCKeyed(krbtgt, key, p.FullSignature, p.VerifyFullSignature); err != nil {
			return err
		}
	}
	return p.VerifyClientInfo(etp.AuthTime, etp.CName)
}

// verifyServiceTicketPAC checks the PAC of a service ticket presented
// back to the KDC (the evidence ticket of S4U2proxy, renewal or
// validation of service tickets; MS-PAC 2.8.4): the server signature
// with the service's key, and the KDC, ticket and full-PAC signatures
// with the krbtgt key. The ticket signature covers the whole
// EncTicketPart, so a ticket whose flags were changed by someone holding
// only the service key (a forged forwardable flag, CVE-2020-17049 "Bronze
// Bit") fails here. Warden's TGS does not accept service tickets yet (no
// S4U, no service-ticket renewal); whoever adds such a path must call
// this first.
func verifyServiceTicketPAC(etp *krb5.EncTicketPart, serviceKey *principalKey, krbtgt *principal) (*pac.PAC, error) {
	p, err := pac.FromTicket(etp)
	if err != nil {
		return nil, errTicketPAC(err)
	}
	if p == nil {
		return nil, &krb5.Error{Code: krb5.KRBAPErrModified, Reason: "service ticket carries no PAC",
			Hint: "the ticket cannot vouch for its flags without the PAC's ticket signature"}
	}
	if err := p.VerifyServerSignature(pac.SigningKey{Key: serviceKey.key(), KVNO: serviceKey.kvno}); err != nil {
		return nil, errTicketPAC(err)
	}
	for _, c := range []struct {
		sig    *pac.SignatureData
		verify func(pac.SigningKey) error
	}{
		{p.KDCSignature, p.VerifyKDCSignature},
		{p.TicketSignature, func(k pac.SigningKey) error { return p.VerifyTicketSignature(etp, k) }},
		{p.FullSignature, p.VerifyFullSignature},
	} {
		if err := verifyKDCKeyed(krbtgt, nil, c.sig, c.verify); err != nil {
			return nil, errTicketPAC(err)
		}
	}
	return p, nil
}

// verifyKDCKeyed verifies a krbtgt-keyed signature. It tries the krbtgt
// keys whose checksum type is the signature's — the one that encrypted
// the TGT first, then newest first — so that PACs signed before a krbtgt
// key rollover still verify. Without such a key (or without the
// signature), verify reports why with the preferred key.
func verifyKDCKeyed(krbtgt *principal, prefer *principalKey, sig *pac.SignatureData, verify func(pac.SigningKey) error) error {
	var first error
	try := func(k *principalKey) bool {
		if ct, ok := kcrypto.ChecksumTypeFor(k.etype); !ok || sig == nil || ct != sig.Type {
			return false
		}
		err := verify(pac.SigningKey{Key: k.key(), KVNO: k.kvno})
		if err == nil {
			return true
		}
		if first == nil {
			first = err
		}
		return false
	}
	if prefer != nil && try(prefer) {
		return nil
	}
	keys := krbtgt.keys()
	for i := range keys {
		if k := &keys[i]; k != prefer && try(k) {
			return nil
		}
	}
	if first != nil {
		return first
	}
	if prefer == nil {
		var ok bool
		if prefer, ok = krbtgt.ticketKey(); !ok {
			return errNoKrbtgtKey()
		}
	}
	return verify(pac.SigningKey{Key: prefer.key(), KVNO: prefer.kvno})
}

// checkRequestor refuses a TGT whose PAC_REQUESTOR is not the SID of the
// account its client name resolves to now (MS-KILE 3.3.5.7.1; the noPac
// class, CVE-2021-42287): an account deleted and re-created under the
// same name, or renamed to take another's name, must not inherit the
// other's TGTs.
func (x *exchange) checkRequestor(v *tgtPAC, client *principal) error {
	if v.requestor.IsZero() {
		x.res.Detail = "TGT PAC without PAC_REQUESTOR"
		return &krb5.Error{Code: krb5.KDCErrTGTRevoked,
			Reason: "TGT PAC of " + x.res.Client + " names no requestor (PAC_REQUESTOR)",
			Hint:   "get a new TGT with kinit"}
	}
	if want := x.k.dir.domain.Load().sidOf(client.acct.RID); v.requestor != want {
		x.res.Detail = "PAC_REQUESTOR mismatch"
		return &krb5.Error{Code: krb5.KDCErrTGTRevoked,
			Reason: fmt.Sprintf("TGT was requested by %v, but %s now resolves to the account %s (%v)", v.requestor, x.res.Client, client.acct.Name, want),
			Hint:   "the account was deleted and re-created, or renamed; the user must get a new TGT with kinit"}
	}
	return nil
}

// pacForTicket sets the PAC a ticket for server issued from a TGT with
// PAC v gets (MS-KILE 3.3.5.3, 3.3.5.7): a TGT keeps every buffer; a
// service ticket gets none when the service is flagged no-pac or the
// client declined the PAC at AS time, and otherwise the TGT's buffers
// without the TGT-only attributes and requestor, and without the client
// claims unless claims is set. Either is signed by reply, a service
// ticket's through the template v keeps when it has one (then the PAC is
// not decoded at all).
func pacForTicket(t *ticket, v *tgtPAC, server *principal, claims bool) error {
	if isKrbtgt(server) {
		in, err := v.pac()
		if err != nil {
			return err
		}
		cp := *in
		t.pac = &cp
		return nil
	}
	wanted := !v.hasAttributes || v.attrs&(pac.AttributePACWasRequested|pac.AttributePACWasGivenImplicitly) != 0
	if server.acct.Flags&store.FlagNoPAC != 0 || !wanted {
		return nil
	}
	t.pacFrom, t.noClaims = v, v.hasClaims && !claims
	return nil
}

// servicePAC returns the PAC of a service ticket made from the TGT PAC v:
// the TGT's buffers without the attributes and requestor, which belong
// in TGTs only, without PKINIT credentials (AS replies only), and
// without the client claims when noClaims.
func servicePAC(v *tgtPAC, noClaims bool) (*pac.PAC, error) {
	in, err := v.pac()
	if err != nil {
		return nil, err
	}
	out := *in
	out.Attributes, out.Requestor = nil, nil
	if noClaims {
		out.ClientClaims = nil
	}
	// Device data comes from a verified device TGT only (compound.go),
	// never from the user's TGT; this KDC puts none there.
	out.DeviceInfo, out.DeviceClaims = nil, nil
	out.Other = nil
	for _, b := range in.Other {
		if b.Type != pac.TypeCredentialInfo {
			out.Other = append(out.Other, b)
		}
	}
	return &out, nil
}

// errTGTPAC turns a PAC failure in a TGT into the KRB-ERROR: the ticket
// was modified (KRB_AP_ERR_MODIFIED), or uses a checksum type this KDC
// does not support.
func errTGTPAC(err error) error {
	return pacError("TGT", err)
}

func errTicketPAC(err error) error {
	return pacError("service ticket", err)
}

func pacError(what string, err error) error {
	var pe *pac.Error
	if !errors.As(err, &pe) {
		return err
	}
	hint := pe.Hint
	if hint == "" {
		hint = "get a new ticket with kinit; if it persists, the ticket was tampered with"
	}
	return &krb5.Error{Code: pe.Code(), Reason: what + " PAC rejected: " + pe.Reason, Hint: hint, Err: err}
}

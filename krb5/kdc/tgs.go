package kdc

import (
	"fmt"
	"strings"
	"time"

	"github.com/warden-auth/warden/krb5"
	"github.com/warden-auth/warden/krb5/kcrypto"
	"github.com/warden-auth/warden/krb5/pac"
	"github.com/warden-auth/warden/store"
)

// tgsAuth is a verified PA-TGS-REQ: the TGT's contents and the
// authenticator that came with it.
type tgsAuth struct {
	tgt     krb5.EncTicketPart
	auth    krb5.Authenticator
	sessKey *kcrypto.Key
	subkey  *kcrypto.Key // nil when the authenticator has none
	krbtgt  *principal
	tgtKey  *principalKey // the krbtgt key the TGT is encrypted with
	pac     *tgtPAC       // the TGT's verified PAC
}

// tgs answers a TGS-REQ (RFC 4120 3.3).
func (x *exchange) tgs() ([]byte, error) {
	k, body := x.k, &x.req.ReqBody
	// verifyTGSReq opens a FAST tunnel first: body is then the inner
	// request, which is the one checked (an armored TGS-REQ without a
	// service name is CVE-2021-37750).
	a, err := x.verifyTGSReq()
	if err != nil {
		return nil, err
	}
	if !k.sameRealm(body.Realm) {
		return nil, errWrongRealm(body.Realm, k.realm)
	}
	if body.SName == nil {
		return nil, errBadOption("TGS-REQ without a service name")
	}
	x.cname = &a.tgt.CName
	x.res.Client = a.tgt.CName.String() + "@" + a.tgt.CRealm
	if err := RefuseAnonymousTGT(&a.tgt); err != nil { // anonymous.go: armor only
		return nil, err
	}
	opts := body.KDCOptions
	if opts.Has(krb5.KDCOptEncTktInSkey) {
		return nil, errBadOption("user-to-user tickets (enc-tkt-in-skey) are not supported")
	}
	if opts.Has(krb5.KDCOptValidate) {
		return nil, errBadOption("ticket validation is not supported: Warden issues no postdated tickets")
	}

	// The client account must still be in good standing: disabling an
	// account stops its TGTs from yielding new tickets.
	var client *principal
	if k.sameRealm(a.tgt.CRealm) {
		client, err = k.dir.lookup(x.ctx, a.tgt.CName.String())
		if err != nil {
			if isNotFound(err) {
				return nil, &krb5.Error{Code: krb5.KDCErrTGTRevoked,
					Reason: "the account of " + x.res.Client + " no longer exists"}
			}
			return nil, err
		}
		if client.acct.Flags&store.FlagDisabled != 0 {
			return nil, errDisabled(x.res.Client)
		}
		if e := client.acct.AccountExpires(); !e.IsZero() && !x.now.Before(e) {
			return nil, errAccountExpired(x.res.Client, e)
		}
		if x.fast == nil && k.fastRequired(client) {
			return nil, errFASTRequiredTGS()
		}
	}
	if a.pac, err = x.verifyTGTPAC(a, client); err != nil {
		return nil, err
	}
	if client != nil {
		if err := x.checkRequestor(a.pac, client); err != nil {
			return nil, err
		}
	}

	if opts.Has(krb5.KDCOptRenew) {
		return x.renew(a)
	}

	server, err := x.lookupServer(body.SName)
	if err != nil {
		return nil, err
	}
	sessEType, ok := firstCommon(body.EType, server.etypes())
	if !ok {
		return nil, errNoCommonEType(body.EType, "service "+body.SName.String(), server.etypes())
	}
	// The TGT's PAC is re-signed for the new ticket by reply (or left
	// out); the copy in the TGT's authorization-data goes.
	ad, err := pac.WithoutPAC(a.tgt.AuthorizationData)
	if err != nil {
		return nil, errTGTPAC(err)
	}
	if body.EncAuthorizationData != nil {
		extra, err := x.encAuthData(a)
		if err != nil {
			return nil, err
		}
		ad = append(ad, extra...) // still nil when both are empty
	}
	t, err := x.newTicket(ticketSpec{
		server: server, cname: a.tgt.CName, sname: *body.SName, crealm: a.tgt.CRealm,
		sessEType: sessEType, authTime: a.tgt.AuthTime, tgt: &a.tgt, ad: ad, caddr: a.tgt.CAddr,
	})
	if err != nil {
		return nil, err
	}
	t.crealm = a.tgt.CRealm
	if err := pacForTicket(t, a.pac, server, x.claimsFor(server)); err != nil {
		return nil, err
	}
	if t.pacFrom != nil && x.compoundFor(server) {
		if x.fast.compound, err = x.device(); err != nil {
			return nil, err
		}
	}
	if opts.Has(krb5.KDCOptCanonicalize) {
		t.srealm = k.realm
	}
	x.res.EType = sessEType
	replyKey, usage := a.sessKey, kcrypto.UsageTGSRepEncPartSessionKey
	if a.subkey != nil {
		replyKey, usage = a.subkey, kcrypto.UsageTGSRepEncPartSubkey
	}
	return x.reply(krb5.MsgTGSRep, t, replyKey, usage, nil)
}

// verifyTGSReq decrypts and checks the TGT and authenticator of
// PA-TGS-REQ. An armored request's FAST tunnel is opened as soon as the
// keys it derives from are known, so that the checks after it (and the
// authenticator checksum) apply to the inner request.
func (x *exchange) verifyTGSReq() (*tgsAuth, error) {
	k := x.k
	pa, ok := x.req.PAData.Find(krb5.PATGSReq)
	if !ok {
		return nil, &krb5.Error{Code: krb5.KDCErrPADataTypeNoSupp, Reason: "TGS-REQ carries no PA-TGS-REQ (no TGT)"}
	}
	var ap krb5.APReq
	if err := ap.Unmarshal(pa.Value); err != nil {
		return nil, &krb5.Error{Code: krb5.KRBAPErrMsgType, Reason: "PA-TGS-REQ is not a valid AP-REQ", Err: err}
	}
	tn := ap.Ticket.SName.NameString
	if len(tn) != 2 || !strings.EqualFold(tn[0], "krbtgt") || !k.sameRealm(tn[1]) || !k.sameRealm(ap.Ticket.Realm) {
		return nil, &krb5.Error{Code: krb5.KRBAPErrNotUs,
			Reason: fmt.Sprintf("PA-TGS-REQ ticket is for %s@%s, not krbtgt/%s", ap.Ticket.SName, ap.Ticket.Realm, k.realm)}
	}
	a := &tgsAuth{}
	var err error
	if a.krbtgt, a.tgtKey, err = x.openTGT(&ap.Ticket, "TGT", &a.tgt); err != nil {
		return nil, err
	}
	a.sessKey, err = kcrypto.NewKey(a.tgt.Key, k.cfg.Crypto)
	if err != nil {
		return nil, &krb5.Error{Code: krb5.KDCErrETypeNoSupp, Reason: "TGT session key enctype is not enabled", Err: err}
	}
	authPlain, err := a.sessKey.DecryptData(kcrypto.UsageTGSReqAuthenticator, ap.Authenticator)
	if err != nil {
		return nil, &krb5.Error{Code: krb5.KRBAPErrBadIntegrity, Reason: "authenticator does not decrypt with the TGT session key", Err: err}
	}
	if err := a.auth.Unmarshal(authPlain); err != nil {
		return nil, &krb5.Error{Code: krb5.KRBAPErrBadIntegrity, Reason: "authenticator is malformed", Err: err}
	}
	if a.auth.Subkey != nil {
		a.subkey, err = kcrypto.NewKey(*a.auth.Subkey, k.cfg.Crypto)
		if err != nil {
			return nil, &krb5.Error{Code: krb5.KDCErrETypeNoSupp, Reason: "authenticator subkey enctype is not enabled", Err: err}
		}
	}
	fr, armored, err := x.armoredRequest()
	if err != nil {
		return nil, err
	}
	if armored {
		if err := x.unwrapTGS(fr, a, ap.Raw); err != nil {
			return nil, err
		}
	}
	if !a.auth.CName.Equal(a.tgt.CName) || !strings.EqualFold(a.auth.CRealm, a.tgt.CRealm) {
		return nil, &krb5.Error{Code: krb5.KRBAPErrBadMatch,
			Reason: fmt.Sprintf("authenticator names %s@%s but the TGT is for %s@%s", a.auth.CName, a.auth.CRealm, a.tgt.CName, a.tgt.CRealm)}
	}
	if err := x.checkSkew(a.auth.Time(), ""); err != nil {
		return nil, err
	}
	if len(a.auth.AuthorizationData) > 0 {
		// AD-fx-fast-armor marks a ticket for armor use only (RFC 6113
		// 5.4.1.1); an authenticator carrying it is not a TGS request.
		found, err := krb5.FindAD(a.auth.AuthorizationData, krb5.ADFXFastArmor)
		if err != nil {
			return nil, &krb5.Error{Code: krb5.KDCErrPolicy, Reason: "the PA-TGS-REQ authenticator's authorization-data is malformed", Err: err}
		}
		if len(found) > 0 {
			return nil, &krb5.Error{Code: krb5.KDCErrPolicy, Reason: "the PA-TGS-REQ authenticator carries AD-fx-fast-armor: an armor-only authenticator cannot ask for tickets"}
		}
	}
	renew := x.req.ReqBody.KDCOptions.Has(krb5.KDCOptRenew)
	if a.tgt.Flags.Has(krb5.TktFlagInvalid) {
		return nil, &krb5.Error{Code: krb5.KRBAPErrTktNYV, Reason: "TGT is marked invalid"}
	}
	if st := a.tgt.StartTime; !st.IsZero() && st.Sub(x.now) > k.cfg.MaxSkew {
		return nil, &krb5.Error{Code: krb5.KRBAPErrTktNYV, Reason: "TGT is not valid until " + st.UTC().Format(time.RFC3339)}
	}
	if renew {
		if !a.tgt.Flags.Has(krb5.TktFlagRenewable) {
			return nil, errBadOption("the TGT is not renewable; get a renewable one with kinit -r")
		}
		if !x.now.Before(a.tgt.RenewTill) {
			return nil, &krb5.Error{Code: krb5.KRBAPErrTktExpired,
				Reason: "renewable lifetime of the TGT ended at " + a.tgt.RenewTill.UTC().Format(time.RFC3339), Hint: "run kinit"}
		}
	} else if !x.now.Before(a.tgt.EndTime) {
		return nil, &krb5.Error{Code: krb5.KRBAPErrTktExpired,
			Reason: "TGT expired at " + a.tgt.EndTime.UTC().Format(time.RFC3339), Hint: "run kinit (or kinit -R if it is renewable)"}
	}
	if a.auth.Cksum == nil {
		return nil, &krb5.Error{Code: krb5.KRBAPErrInappCksum, Reason: "authenticator carries no checksum over the request body"}
	}
	if err := a.sessKey.VerifyChecksum(kcrypto.UsageTGSReqAuthCksum, x.req.ReqBody.Raw, *a.auth.Cksum); err != nil {
		return nil, err
	}
	return a, nil
}

// openTGT decrypts a ticket for this realm's krbtgt into etp with the
// krbtgt key of its enctype and kvno; what names the ticket in reasons
// ("TGT", "FAST armor TGT").
func (x *exchange) openTGT(tk *krb5.Ticket, what string, etp *krb5.EncTicketPart) (*principal, *principalKey, error) {
	tgs, err := x.k.krbtgt(x.ctx)
	if err != nil {
		return nil, nil, err
	}
	ed := tk.EncPart
	var kvno uint32
	if ed.HasKVNO {
		kvno = ed.KVNO
	}
	key, ok := tgs.key(ed.EType, kvno)
	if !ok {
		return nil, nil, &krb5.Error{Code: krb5.KRBAPErrBadKeyVer,
			Reason: fmt.Sprintf("%s is encrypted with %v kvno %d, which this KDC does not hold (current kvno %d)", what, ed.EType, kvno, tgs.kvno),
			Hint:   "get a new TGT with kinit"}
	}
	plain, err := key.key().DecryptData(kcrypto.UsageTicket, ed)
	if err != nil {
		return nil, nil, &krb5.Error{Code: krb5.KRBAPErrBadIntegrity,
			Reason: what + " does not decrypt with the realm's krbtgt key (forged, or from another KDC)",
			Hint:   "get a new TGT with kinit", Err: err}
	}
	if err := etp.Unmarshal(plain); err != nil {
		return nil, nil, &krb5.Error{Code: krb5.KRBAPErrBadIntegrity, Reason: what + " contents are malformed", Err: err}
	}
	return tgs, key, nil
}

// encAuthData decrypts the request's enc-authorization-data.
func (x *exchange) encAuthData(a *tgsAuth) (krb5.AuthorizationData, error) {
	key, usage := a.sessKey, kcrypto.UsageTGSReqAuthDataSessionKey
	if a.subkey != nil {
		key, usage = a.subkey, kcrypto.UsageTGSReqAuthDataSubkey
	}
	plain, err := key.DecryptData(usage, *x.req.ReqBody.EncAuthorizationData)
	if err != nil {
		return nil, &krb5.Error{Code: krb5.KRBAPErrBadIntegrity, Reason: "enc-authorization-data does not decrypt", Err: err}
	}
	var ad krb5.AuthorizationData
	if err := ad.Unmarshal(plain); err != nil {
		return nil, &krb5.Error{Code: krb5.KRBAPErrBadIntegrity, Reason: "enc-authorization-data is malformed", Err: err}
	}
	// Clients may not inject what only the KDC issues (the PAC among them).
	for _, t := range []krb5.ADType{krb5.ADWin2KPAC, krb5.ADKDCIssued, krb5.ADFXFastArmor, krb5.ADFXFastUsed} {
		found, err := krb5.FindAD(ad, t)
		if err != nil {
			return nil, &krb5.Error{Code: krb5.KRBAPErrBadIntegrity, Reason: "enc-authorization-data is malformed", Err: err}
		}
		if len(found) > 0 {
			return nil, errPolicy(fmt.Sprintf("authorization data of type %v may only come from the KDC", t), "")
		}
	}
	return ad, nil
}

// renew issues a fresh copy of a renewable TGT (or service ticket) with a
// new session key and a new end time within its renewable life.
func (x *exchange) renew(a *tgsAuth) ([]byte, error) {
	k := x.k
	server, err := x.lookupServer(x.req.ReqBody.SName)
	if err != nil {
		return nil, err
	}
	life := a.tgt.EndTime.Sub(a.tgt.StartTime)
	if a.tgt.StartTime.IsZero() {
		life = a.tgt.EndTime.Sub(a.tgt.AuthTime)
	}
	end := minTime(x.now.Add(life), a.tgt.RenewTill)
	sk, err := kcrypto.RandomEncryptionKey(a.sessKey.EType(), k.cfg.Rand, k.cfg.Crypto)
	if err != nil {
		return nil, err
	}
	enc := a.tgt
	enc.Raw = nil
	enc.Key = sk
	enc.StartTime = x.now.UTC().Truncate(time.Second)
	enc.EndTime = end.UTC().Truncate(time.Second)
	enc.Flags &^= krb5.TktFlagInitial
	if enc.AuthorizationData, err = pac.WithoutPAC(enc.AuthorizationData); err != nil {
		return nil, errTGTPAC(err)
	}
	t := x.ticketMem()
	*t = ticket{enc: enc, sname: *x.req.ReqBody.SName, crealm: a.tgt.CRealm, srealm: x.req.ReqBody.Realm, server: server}
	if err := pacForTicket(t, a.pac, server, x.claimsFor(server)); err != nil {
		return nil, err
	}
	x.res.EType = sk.KeyType
	replyKey, usage := a.sessKey, kcrypto.UsageTGSRepEncPartSessionKey
	if a.subkey != nil {
		replyKey, usage = a.subkey, kcrypto.UsageTGSRepEncPartSubkey
	}
	return x.reply(krb5.MsgTGSRep, t, replyKey, usage, nil)
}

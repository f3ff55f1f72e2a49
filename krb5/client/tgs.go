package client

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/warden-auth/warden/krb5"
	"github.com/warden-auth/warden/krb5/kcrypto"
)

// TGSOptions are the choices of one TGS exchange. The forwardable,
// proxiable and renewable options are asked for exactly when the TGT has
// those flags, as MIT does: the KDC cannot grant more than the TGT has.
type TGSOptions struct {
	// Lifetime is the requested life (default: until the TGT expires).
	Lifetime time.Duration
	// Canonicalize lets the KDC answer with the service's canonical name.
	// A referral to another realm is refused: cross-realm is not
	// implemented.
	Canonicalize bool
	// Subkey puts a fresh subkey in the authenticator, so the KDC
	// encrypts its reply in it (usage 9) instead of the TGT session key
	// (usage 8). MIT and Windows clients always send one. Armored
	// requests always carry one: the armor key is made from it.
	Subkey bool
	// FAST chooses whether the request is armored with FAST (RFC 6113);
	// the default, FASTAuto, armors it when the TGT came from an armored
	// exchange (Credentials.FAST). An armored request must be answered
	// with valid FAST protection, else it fails with ErrFASTDowngrade.
	FAST FASTMode
	// Armor, when set, is a TGT of the same realm used as explicit armor
	// (an AP-REQ in the armor field) instead of the implicit armor made
	// from the TGT itself: MS-KILE compound identity armors the user's
	// TGS request with the device's TGT while PA-TGS-REQ carries the
	// user's. Armor implies FAST.
	Armor *Credentials
}

// FASTMode chooses whether a TGS request is armored.
type FASTMode int

const (
	// FASTAuto armors the request when the TGT was obtained with FAST
	// or explicit armor is given.
	FASTAuto FASTMode = iota
	// FASTOn always armors it (implicit armor unless Armor is set), as
	// MIT's client does; unlike MIT's, an unprotected reply is refused.
	FASTOn
	// FASTOff never armors it.
	FASTOff
)

// TGSExchange uses tgt to get a ticket for service in the TGT's realm.
// The request carries the TGT in an AP-REQ (PA-TGS-REQ) whose
// authenticator holds a checksum over the request body, binding the two.
func (c *Client) TGSExchange(ctx context.Context, tgt *Credentials, service krb5.PrincipalName, opts TGSOptions) (*Credentials, error) {
	if tgt == nil || !tgt.IsTGT() {
		return nil, errors.New("client: TGSExchange needs a ticket-granting ticket (krbtgt/REALM)")
	}
	if len(service.NameString) == 0 {
		return nil, errors.New("client: empty service principal name")
	}
	now := c.now()
	if err := usableNow(tgt, now); err != nil {
		return nil, err
	}
	realm := tgt.Server.Name.NameString[1]
	flags := tgt.Flags & (krb5.KDCOptForwardable | krb5.KDCOptProxiable | krb5.KDCOptRenewable)
	if opts.Canonicalize {
		flags |= krb5.KDCOptCanonicalize
	}
	till := tgt.EndTime
	if opts.Lifetime > 0 && now.Add(opts.Lifetime).Before(till) {
		till = now.Add(opts.Lifetime)
	}
	var rtime time.Time
	if flags.Has(krb5.KDCOptRenewable) {
		rtime = tgt.RenewTill
	}
	cr, err := c.tgs(ctx, tgt, tgsParams{realm: realm, sname: service, flags: flags, till: till, rtime: rtime,
		subkey: opts.Subkey, fast: opts.FAST, armor: opts.Armor})
	if err != nil {
		return nil, err
	}
	// A canonicalizing KDC may answer with a referral TGT for another
	// realm instead of the service ticket; following it is cross-realm
	// work this client does not do, so say so rather than return a TGT
	// as if it were the service's ticket.
	if cr.IsTGT() && !(len(service.NameString) == 2 && service.NameString[0] == "krbtgt") {
		return nil, &krb5.Error{Code: krb5.KDCErrWrongRealm,
			Reason: fmt.Sprintf("the KDC referred the request for %s to %s", principalString(service, realm), cr.Server),
			Hint:   "the service is in another realm; cross-realm referrals are not supported by this client"}
	}
	return cr, nil
}

// Renew renews a renewable ticket (normally a TGT) before it expires:
// a TGS exchange with the renew option, presenting the ticket itself.
// The result has a new session key and end time, and the same renew-till.
func (c *Client) Renew(ctx context.Context, creds *Credentials) (*Credentials, error) {
	if creds == nil {
		return nil, errors.New("client: Renew needs credentials")
	}
	now := c.now()
	if !creds.Flags.Has(krb5.TktFlagRenewable) {
		return nil, &krb5.Error{Code: krb5.KDCErrBadOption,
			Reason: fmt.Sprintf("the ticket for %s is not renewable", creds.Server),
			Hint:   "get a renewable ticket first (kinit -r 7d)"}
	}
	if !now.Before(creds.RenewTill) {
		return nil, &krb5.Error{Code: krb5.KRBAPErrTktExpired,
			Reason: fmt.Sprintf("the renewable life of the ticket for %s ended at %s", creds.Server, creds.RenewTill.UTC().Format(time.RFC3339)),
			Hint:   "run kinit again"}
	}
	if err := usableNow(creds, now); err != nil {
		return nil, err
	}
	// The ticket's forwardable, proxiable and renewable flags go back as
	// options, with its renew-till as rtime, as MIT's client does: MIT's
	// KDC (1.20) decides renewability afresh for every TGS reply, renewals
	// included, and without the renewable option it returns a renewed
	// ticket that can never be renewed again.
	flags := krb5.KDCOptRenew | creds.Flags&(krb5.KDCOptForwardable|krb5.KDCOptProxiable|krb5.KDCOptRenewable)
	return c.tgs(ctx, creds, tgsParams{realm: creds.Server.Realm, sname: creds.Server.Name, flags: flags,
		till: creds.RenewTill, rtime: creds.RenewTill, subkey: true})
}

// usableNow refuses locally what the KDC would refuse anyway, with a
// clearer message: a TGS request with an expired ticket.
func usableNow(t *Credentials, now time.Time) error {
	if t.Expired(now) {
		return &krb5.Error{Code: krb5.KRBAPErrTktExpired,
			Reason: fmt.Sprintf("the ticket for %s expired at %s", t.Server, t.EndTime.UTC().Format(time.RFC3339)),
			Hint:   "run kinit again"}
	}
	return nil
}

// tgsParams are the request fields and choices of one TGS exchange.
type tgsParams struct {
	realm       string
	sname       krb5.PrincipalName
	flags       krb5.Flags
	till, rtime time.Time
	subkey      bool
	fast        FASTMode
	armor       *Credentials // explicit armor TGT
}

// tgs runs one TGS exchange with tgt for p.sname in p.realm, armored with
// FAST when p and tgt say so (see TGSOptions.FAST).
func (c *Client) tgs(ctx context.Context, tgt *Credentials, p tgsParams) (*Credentials, error) {
	armored := p.armor != nil || p.fast == FASTOn || p.fast == FASTAuto && tgt.FAST
	if p.fast == FASTOff && p.armor != nil {
		return nil, errors.New("client: TGS options ask for explicit FAST armor and for no FAST")
	}
	nonce, err := c.nonce()
	if err != nil {
		return nil, err
	}
	now := c.now()
	req, sess, subkey, err := c.newTGSReq(tgt, p.realm, p.sname, p.flags, p.till, p.rtime, nonce, now, p.subkey || armored)
	if err != nil {
		return nil, err
	}
	out := req
	var a *armor
	if armored {
		if p.armor != nil {
			if a, err = c.apArmor(p.armor, p.realm); err == nil {
				a, err = explicitTGSArmor(a, subkey)
			}
		} else {
			a, err = implicitArmor(subkey, sess)
		}
		if err != nil {
			return nil, err
		}
		// The req-checksum of a TGS request covers the PA-TGS-REQ AP-REQ
		// (RFC 6113 5.4.2), which newTGSReq put first.
		if out, err = a.wrap(c.cfg.Rand, req, req.PAData[0].Value); err != nil {
			return nil, err
		}
	}
	svc := principalString(p.sname, p.realm)
	rep, ke, err := c.roundTrip(ctx, p.realm, out, krb5.MsgTGSRep)
	if err != nil {
		return nil, err
	}
	if ke != nil {
		if a != nil {
			if ke, _, err = a.openError(ke, nonce); err != nil {
				return nil, fmt.Errorf("getting a ticket for %s: %w", svc, err)
			}
		}
		e := kdcError(ke, errContext{client: tgt.Client.String(), service: svc, realm: p.realm, offered: c.etypes, now: c.now()})
		return nil, fmt.Errorf("getting a ticket for %s: %w", svc, e)
	}
	key, usage := sess, kcrypto.UsageTGSRepEncPartSessionKey
	if subkey != nil {
		key, usage = subkey, kcrypto.UsageTGSRepEncPartSubkey
	}
	if a != nil {
		resp, err := a.openReply(rep, nonce)
		if err != nil {
			return nil, fmt.Errorf("getting a ticket for %s: %w", svc, err)
		}
		if key, err = strengthen(resp, key, c.cfg.Options); err != nil {
			return nil, err
		}
	}
	part, err := openReply(key, usage, rep)
	if err != nil {
		return nil, err
	}
	if err := checkReply(req, rep, part, expectation{
		cname: tgt.Client.Name, crealm: tgt.Client.Realm, sname: p.sname, srealm: p.realm,
		canonicalize: p.flags.Has(krb5.KDCOptCanonicalize), now: c.now(), skew: c.cfg.MaxSkew,
	}); err != nil {
		return nil, err
	}
	cr := credsFromReply(rep, part)
	cr.FAST = a != nil
	return cr, nil
}

// newTGSReq builds a TGS-REQ and returns it with the TGT's session key
// and the authenticator's subkey (nil without one). The body is encoded
// once and the authenticator's checksum (usage 6, the session key
// enctype's checksum type) is computed over those bytes; the KDC checks
// it over the body as received, and DER encoding is deterministic, so the
// request's own encoding of the body is the same bytes. Under FAST the
// body travels both inside the armor and outside, identical.
func (c *Client) newTGSReq(tgt *Credentials, realm string, sname krb5.PrincipalName, flags krb5.Flags, till, rtime time.Time, nonce uint32, now time.Time, withSubkey bool) (*krb5.KDCReq, *kcrypto.Key, *kcrypto.Key, error) {
	sessKey, err := kcrypto.NewKey(tgt.Key, c.cfg.Options)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("client: the TGT's session key: %w", err)
	}
	sn := sname
	body := krb5.KDCReqBody{
		KDCOptions: flags,
		Realm:      realm,
		SName:      &sn,
		Till:       till.UTC().Truncate(time.Second),
		Nonce:      nonce,
		EType:      append([]krb5.EncType(nil), c.etypes...),
	}
	if !rtime.IsZero() {
		body.RTime = rtime.UTC().Truncate(time.Second)
	}
	bodyBytes, err := body.Marshal()
	if err != nil {
		return nil, nil, nil, err
	}
	cksum, err := sessKey.Checksum(kcrypto.UsageTGSReqAuthCksum, bodyBytes)
	if err != nil {
		return nil, nil, nil, err
	}
	auth := krb5.Authenticator{Cksum: &cksum}
	var subkey *kcrypto.Key
	if withSubkey {
		if subkey, err = kcrypto.RandomKey(sessKey.EType(), c.cfg.Rand, c.cfg.Options); err != nil {
			return nil, nil, nil, err
		}
		k := subkey.EncryptionKey()
		auth.Subkey = &k
	}
	apBytes, err := apReq(c.cfg.Rand, tgt, sessKey, kcrypto.UsageTGSReqAuthenticator, auth, now)
	if err != nil {
		return nil, nil, nil, err
	}
	return &krb5.KDCReq{
		MsgType: krb5.MsgTGSReq,
		PAData:  krb5.MethodData{{Type: krb5.PATGSReq, Value: apBytes}},
		ReqBody: body,
	}, sessKey, subkey, nil
}

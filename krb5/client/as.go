package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/warden-auth/warden/krb5"
	"github.com/warden-auth/warden/krb5/kcrypto"
)

// ASOptions are the choices of one AS exchange. Zero values take the
// Config's defaults; the flags add to Config.Forwardable/Proxiable.
type ASOptions struct {
	// Realm is the client's realm (default Config.Realm).
	Realm string
	// Lifetime is the requested ticket life (default Config.TicketLifetime).
	Lifetime time.Duration
	// RenewLifetime, when positive, asks for a renewable ticket
	// (default Config.RenewLifetime).
	RenewLifetime time.Duration
	Forwardable   bool
	Proxiable     bool
	// Canonicalize lets the KDC answer with the principal's canonical
	// name (RFC 6806), e.g. for an alias or a different-case name.
	Canonicalize bool
	// Service is the ticket's server (default krbtgt/REALM: a TGT).
	Service krb5.PrincipalName
}

// ASExchange gets initial credentials (normally a TGT) for cname with the
// key from keys. It sends an AS-REQ without pre-authentication asking for
// a PAC; when the KDC answers KDC_ERR_PREAUTH_REQUIRED it derives the key
// with the salt and s2kparams of the KDC's PA-ETYPE-INFO2 and retries
// with PA-ENC-TIMESTAMP. The reply is decrypted and checked against the
// request (see checkReply) before it is returned.
func (c *Client) ASExchange(ctx context.Context, cname krb5.PrincipalName, keys KeySource, opts ASOptions) (*Credentials, error) {
	if keys == nil {
		return nil, errNoKeySource
	}
	realm := opts.Realm
	if realm == "" {
		realm = c.cfg.Realm
	}
	if realm == "" {
		return nil, errors.New("client: no realm: name one (alice@REALM) or set default_realm in krb5.conf")
	}
	if len(cname.NameString) == 0 {
		return nil, errors.New("client: empty client principal name")
	}
	who := principalString(cname, realm)
	offered, err := keys.etypes(cname, realm, c.etypes)
	if err != nil {
		return nil, err
	}
	nonce, err := c.nonce()
	if err != nil {
		return nil, err
	}
	now := c.now()
	req := c.newASReq(cname, realm, offered, opts, now, nonce)
	ec := errContext{client: who, realm: realm, offered: offered, keytab: keys.fromKeytab(),
		service: principalString(*req.ReqBody.SName, realm)}

	rep, ke, err := c.roundTrip(ctx, realm, req, krb5.MsgASRep)
	if err != nil {
		return nil, err
	}
	var (
		preauthKey *kcrypto.Key
		preauthS2K s2kInput
	)
	if ke != nil {
		if ke.ErrorCode != krb5.KDCErrPreauthRequired {
			ec.now = c.now()
			return nil, asRefused(ke, ec)
		}
		md, err := ke.MethodData()
		if err != nil {
			return nil, fmt.Errorf("client: KDC_ERR_PREAUTH_REQUIRED with unreadable e-data: %w", err)
		}
		if _, ok := md.Find(krb5.PAEncTimestamp); !ok {
			return nil, &krb5.Error{Code: krb5.KDCErrPreauthRequired,
				Reason: fmt.Sprintf("the KDC asks %s for pre-authentication but not by encrypted timestamp (it offers %s)", who, paTypeWords(md)),
				Hint:   "this client only does encrypted-timestamp pre-authentication; FAST-only or PKINIT-only accounts need another client"}
		}
		preauthS2K, err = chooseS2K(md, offered, cname, realm)
		if err != nil {
			return nil, err
		}
		preauthKey, err = keys.key(cname, realm, preauthS2K, 0, c.cfg.Options)
		if err != nil {
			return nil, err
		}
		now = c.now()
		ts, err := encTimestamp(preauthKey, now, c.cfg.Rand)
		if err != nil {
			return nil, err
		}
		req.PAData = append(krb5.MethodData{ts}, req.PAData...)
		rep, ke, err = c.roundTrip(ctx, realm, req, krb5.MsgASRep)
		if err != nil {
			return nil, err
		}
		if ke != nil {
			ec.now = c.now()
			return nil, asRefused(ke, ec)
		}
	}

	// The reply key: the KDC's PA-ETYPE-INFO2 in the reply names the salt
	// when present (RFC 4120 5.2.7.5); otherwise it is the key used for
	// pre-authentication, or the default salt when there was none.
	s2k := s2kInput{etype: rep.EncPart.EType, salt: defaultSalt(cname, realm)}
	if indexEType(offered, s2k.etype) < 0 {
		return nil, replyMismatch("enc-part enctype", s2k.etype.String(), "one of "+etypeWords(offered))
	}
	if preauthKey != nil && preauthS2K.etype == s2k.etype {
		s2k = preauthS2K
	}
	if pa, ok := rep.PAData.Find(krb5.PAETypeInfo2); ok {
		var info krb5.ETypeInfo2
		if err := info.Unmarshal(pa.Value); err != nil {
			return nil, fmt.Errorf("client: AS-REP PA-ETYPE-INFO2: %w", err)
		}
		for _, e := range info {
			if e.EType == s2k.etype {
				s2k = s2kFromInfo(e, cname, realm)
				break
			}
		}
	}
	key := preauthKey
	if key == nil || !preauthS2K.same(s2k) {
		var kvno uint32
		if rep.EncPart.HasKVNO {
			kvno = rep.EncPart.KVNO
		}
		if key, err = keys.key(cname, realm, s2k, kvno, c.cfg.Options); err != nil {
			return nil, err
		}
	}
	part, err := openReply(key, kcrypto.UsageASRepEncPart, rep)
	if err != nil {
		if krb5.CodeOf(err) == krb5.KRBAPErrBadIntegrity {
			// Without pre-authentication a wrong password is only found
			// here, when the reply does not decrypt.
			if keys.fromKeytab() {
				return nil, fmt.Errorf("the keytab's key for %s does not decrypt the KDC's reply (stale keytab?): %w", who, err)
			}
			return nil, fmt.Errorf("password incorrect for %s: %w", who, err)
		}
		return nil, err
	}
	if err := checkReply(req, rep, part, expectation{
		cname: cname, crealm: realm, sname: *req.ReqBody.SName, srealm: realm,
		canonicalize: opts.Canonicalize, asReq: true, now: c.now(), skew: c.cfg.MaxSkew,
	}); err != nil {
		return nil, err
	}
	return credsFromReply(rep, part), nil
}

// asRefused maps the KDC's refusal of an AS-REQ, naming the principal.
func asRefused(ke *krb5.KRBError, ec errContext) error {
	e := kdcError(ke, ec)
	if ke.ErrorCode == krb5.KDCErrPreauthFailed {
		if ec.keytab {
			return fmt.Errorf("the keytab's key for %s was refused: %w", ec.client, e)
		}
		return fmt.Errorf("password incorrect for %s: %w", ec.client, e)
	}
	return fmt.Errorf("getting initial credentials for %s: %w", ec.client, e)
}

// newASReq builds the AS-REQ: no pre-authentication yet, PA-PAC-REQUEST
// asking for a PAC (MS-KILE; KDCs that do not issue PACs ignore it).
func (c *Client) newASReq(cname krb5.PrincipalName, realm string, etypes []krb5.EncType, o ASOptions, now time.Time, nonce uint32) *krb5.KDCReq {
	sname := o.Service
	if len(sname.NameString) == 0 {
		sname = TGTName(realm)
	}
	life := o.Lifetime
	if life <= 0 {
		life = c.cfg.TicketLifetime
	}
	renew := o.RenewLifetime
	if renew <= 0 {
		renew = c.cfg.RenewLifetime
	}
	var flags krb5.Flags
	if o.Forwardable || c.cfg.Forwardable {
		flags |= krb5.KDCOptForwardable
	}
	if o.Proxiable || c.cfg.Proxiable {
		flags |= krb5.KDCOptProxiable
	}
	if o.Canonicalize {
		flags |= krb5.KDCOptCanonicalize
	}
	cn := cname
	body := krb5.KDCReqBody{
		CName: &cn,
		Realm: realm,
		SName: &sname,
		Till:  now.Add(life).UTC().Truncate(time.Second),
		Nonce: nonce,
		EType: append([]krb5.EncType(nil), etypes...),
	}
	if renew > 0 {
		flags |= krb5.KDCOptRenewable
		body.RTime = now.Add(renew).UTC().Truncate(time.Second)
	}
	body.KDCOptions = flags
	return &krb5.KDCReq{
		MsgType: krb5.MsgASReq,
		PAData:  krb5.MethodData{krb5.PACRequest{IncludePAC: true}.PAData()},
		ReqBody: body,
	}
}

// chooseS2K picks the enctype, salt and s2kparams for pre-authentication
// from the KDC's METHOD-DATA: the first PA-ETYPE-INFO2 entry (the KDC
// lists them in its order of preference) with an enctype the client
// offered; else the legacy PA-ETYPE-INFO; else the first offered enctype
// with PA-PW-SALT or the default salt (RFC 4120 5.2.7).
func chooseS2K(md krb5.MethodData, offered []krb5.EncType, cname krb5.PrincipalName, realm string) (s2kInput, error) {
	if pa, ok := md.Find(krb5.PAETypeInfo2); ok {
		var info krb5.ETypeInfo2
		if err := info.Unmarshal(pa.Value); err != nil {
			return s2kInput{}, fmt.Errorf("client: KDC's PA-ETYPE-INFO2: %w", err)
		}
		for _, e := range info {
			if indexEType(offered, e.EType) >= 0 {
				return s2kFromInfo(e, cname, realm), nil
			}
		}
		return s2kInput{}, noCommonInfo(infoETypes2(info), offered)
	}
	if pa, ok := md.Find(krb5.PAETypeInfo); ok {
		var info krb5.ETypeInfo
		if err := info.Unmarshal(pa.Value); err != nil {
			return s2kInput{}, fmt.Errorf("client: KDC's PA-ETYPE-INFO: %w", err)
		}
		var names []krb5.EncType
		for _, e := range info {
			if indexEType(offered, e.EType) >= 0 {
				s := s2kInput{etype: e.EType, salt: defaultSalt(cname, realm)}
				if e.Salt != nil {
					s.salt = string(e.Salt)
				}
				return s, nil
			}
			names = append(names, e.EType)
		}
		return s2kInput{}, noCommonInfo(names, offered)
	}
	s := s2kInput{etype: offered[0], salt: defaultSalt(cname, realm)}
	if pa, ok := md.Find(krb5.PAPwSalt); ok {
		s.salt = string(pa.Value)
	}
	return s, nil
}

func s2kFromInfo(e krb5.ETypeInfo2Entry, cname krb5.PrincipalName, realm string) s2kInput {
	s := s2kInput{etype: e.EType, salt: defaultSalt(cname, realm), params: e.S2KParams}
	if e.HasSalt {
		s.salt = e.Salt
	}
	return s
}

func infoETypes2(info krb5.ETypeInfo2) []krb5.EncType {
	out := make([]krb5.EncType, len(info))
	for i, e := range info {
		out[i] = e.EType
	}
	return out
}

func noCommonInfo(kdc, offered []krb5.EncType) error {
	return &krb5.Error{Code: krb5.KDCErrETypeNoSupp,
		Reason: fmt.Sprintf("the KDC has keys of %s for the client, none of which this client offered (%s)", etypeWords(kdc), etypeWords(offered)),
		Hint:   "add an AES key to the account (change its password) or allow its enctype in default_tkt_enctypes"}
}

func paTypeWords(md krb5.MethodData) string {
	var s []string
	for _, p := range md {
		s = append(s, p.Type.String())
	}
	if len(s) == 0 {
		return "nothing"
	}
	return strings.Join(s, ", ")
}

// encTimestamp builds PA-ENC-TIMESTAMP (RFC 4120 5.2.7.2): the current
// time with microseconds, encrypted in the client's key with usage 1.
func encTimestamp(key *kcrypto.Key, now time.Time, rand io.Reader) (krb5.PAData, error) {
	ts := krb5.PAEncTSEnc{
		PATimestamp: now.UTC().Truncate(time.Second),
		PAUSec:      int32(now.Nanosecond() / 1000),
		HasUSec:     true,
	}
	plain, err := ts.Marshal()
	if err != nil {
		return krb5.PAData{}, err
	}
	ed, err := key.EncryptData(rand, kcrypto.UsageASReqPAEncTimestamp, plain, 0, false)
	if err != nil {
		return krb5.PAData{}, err
	}
	b, err := ed.Marshal()
	if err != nil {
		return krb5.PAData{}, err
	}
	return krb5.PAData{Type: krb5.PAEncTimestamp, Value: b}, nil
}

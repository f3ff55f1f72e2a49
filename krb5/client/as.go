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
	// Armor, when set, armors the exchange with FAST (RFC 6113): a TGT of
	// the realm, normally the computer's, from which the armor key is
	// made. The password is then proven by encrypted challenge inside the
	// armor, the KDC's errors come protected, and a reply without valid
	// FAST protection is refused.
	Armor *Credentials
	// Certificate, when set, proves the client's identity with PKINIT
	// (RFC 4556) instead of a key: ASExchange takes a nil KeySource
	// (pkinit.go).
	Certificate *Certificate
	// Anonymous asks for an anonymous TGT of Realm by anonymous PKINIT
	// (RFC 8062): no account and no key; cname is ignored. Such a TGT
	// is meant for FAST armor (Armor).
	Anonymous bool
}

// ASExchange gets initial credentials (normally a TGT) for cname with the
// key from keys. It sends an AS-REQ without pre-authentication asking for
// a PAC; when the KDC answers KDC_ERR_PREAUTH_REQUIRED it derives the key
// with the salt and s2kparams of the KDC's PA-ETYPE-INFO2 and retries
// with PA-ENC-TIMESTAMP. With opts.Armor the exchange is armored with FAST
// instead (see armoredAS). The reply is decrypted and checked against the
// request (see checkReply) before it is returned.
func (c *Client) ASExchange(ctx context.Context, cname krb5.PrincipalName, keys KeySource, opts ASOptions) (*Credentials, error) {
	if opts.Certificate != nil || opts.Anonymous {
		return c.pkinitAS(ctx, cname, opts)
	}
	st, err := c.newASState(cname, keys, opts)
	if err != nil {
		return nil, err
	}
	if opts.Armor != nil {
		return c.armoredAS(ctx, st)
	}
	nonce, err := c.nonce()
	if err != nil {
		return nil, err
	}
	req := c.newASReq(cname, st.realm, st.offered, opts, c.now(), nonce)
	// PA-REQ-ENC-PA-REP asks the KDC to confirm, under the reply key,
	// what it received and whether it does FAST (RFC 6806 11), as MIT's
	// client does in every AS-REQ; KDCs without it ignore it.
	req.PAData = append(req.PAData, krb5.PAData{Type: krb5.PAReqEncPARep, Value: []byte{}})
	sent, err := req.Marshal()
	if err != nil {
		return nil, err
	}
	rep, ke, err := c.exchange(ctx, st.realm, sent, krb5.MsgASRep)
	if err != nil {
		return nil, err
	}
	var (
		preauthKey  *kcrypto.Key
		preauthS2K  s2kInput
		fastOffered bool
	)
	if ke != nil {
		if ke.ErrorCode != krb5.KDCErrPreauthRequired {
			return nil, asRefused(ke, st.errContext(c.now()))
		}
		md, err := ke.MethodData()
		if err != nil {
			return nil, fmt.Errorf("client: KDC_ERR_PREAUTH_REQUIRED with unreadable e-data: %w", err)
		}
		_, fastOffered = md.Find(krb5.PAFXFast)
		if _, ok := md.Find(krb5.PAEncTimestamp); !ok {
			return nil, noEncTimestamp(ke, md, st.who, fastOffered)
		}
		preauthS2K, err = chooseS2K(md, st.offered, cname, st.realm)
		if err != nil {
			return nil, err
		}
		preauthKey, err = keys.key(cname, st.realm, preauthS2K, 0, c.cfg.Options)
		if err != nil {
			return nil, err
		}
		ts, err := encTimestamp(preauthKey, c.now(), c.cfg.Rand)
		if err != nil {
			return nil, err
		}
		req.PAData = append(krb5.MethodData{ts}, req.PAData...)
		if sent, err = req.Marshal(); err != nil {
			return nil, err
		}
		rep, ke, err = c.exchange(ctx, st.realm, sent, krb5.MsgASRep)
		if err != nil {
			return nil, err
		}
		if ke != nil {
			return nil, asRefused(ke, st.errContext(c.now()))
		}
	}
	key, err := c.asReplyKey(st, rep, preauthKey, preauthS2K)
	if err != nil {
		return nil, err
	}
	cr, part, err := c.finishAS(st, req, rep, key, false)
	if err != nil {
		return nil, err
	}
	fastNego, err := checkEncPARep(part, key, sent)
	if err != nil {
		return nil, err
	}
	cr.FAST, cr.FASTOffered = fastNego, fastOffered || fastNego
	return cr, nil
}

// asState is what every round of one AS exchange needs.
type asState struct {
	cname   krb5.PrincipalName
	realm   string
	who     string // "alice@REALM"
	keys    KeySource
	offered []krb5.EncType
	opts    ASOptions
	sname   krb5.PrincipalName
}

func (c *Client) newASState(cname krb5.PrincipalName, keys KeySource, opts ASOptions) (*asState, error) {
	if keys == nil {
		return nil, errNoKeySource
	}
	realm, err := c.asRealm(opts)
	if err != nil {
		return nil, err
	}
	if len(cname.NameString) == 0 {
		return nil, errors.New("client: empty client principal name")
	}
	st := &asState{cname: cname, realm: realm, who: principalString(cname, realm), keys: keys, opts: opts, sname: asService(opts, realm)}
	if st.offered, err = keys.etypes(cname, realm, c.etypes); err != nil {
		return nil, err
	}
	return st, nil
}

// asRealm is the realm of an AS exchange: opts.Realm, else the Config's.
func (c *Client) asRealm(opts ASOptions) (string, error) {
	if opts.Realm != "" {
		return opts.Realm, nil
	}
	if c.cfg.Realm == "" {
		return "", errors.New("client: no realm: name one (alice@REALM) or set default_realm in krb5.conf")
	}
	return c.cfg.Realm, nil
}

// asService is the server of an AS exchange: opts.Service, else the
// ticket-granting service of realm.
func asService(opts ASOptions, realm string) krb5.PrincipalName {
	if len(opts.Service.NameString) == 0 {
		return TGTName(realm)
	}
	return opts.Service
}

func (st *asState) errContext(now time.Time) errContext {
	return errContext{client: st.who, realm: st.realm, offered: st.offered, keytab: st.keys.fromKeytab(),
		service: principalString(st.sname, st.realm), now: now}
}

// noEncTimestamp is the refusal when the KDC asks for pre-authentication
// by methods other than encrypted timestamp. When it lists PA-FX-FAST the
// account (or realm) needs FAST: pre-authentication only inside armor.
func noEncTimestamp(ke *krb5.KRBError, md krb5.MethodData, who string, fastOffered bool) error {
	if fastOffered {
		reason := fmt.Sprintf("the KDC asks %s for pre-authentication only inside FAST armor (it offers %s)", who, paTypeWords(md))
		if t := strings.TrimSpace(ke.EText); t != "" {
			reason += ": " + t
		}
		return &krb5.Error{Code: krb5.KDCErrPreauthRequired,
			Reason: reason,
			Hint:   "armor the request with a computer's TGT: warden kinit --armor-keytab KEYTAB (or --armor-ccache CACHE); in Go, set ASOptions.Armor",
			Err:    ErrFASTRequired}
	}
	return &krb5.Error{Code: krb5.KDCErrPreauthRequired,
		Reason: fmt.Sprintf("the KDC asks %s for pre-authentication but not by encrypted timestamp (it offers %s)", who, paTypeWords(md)),
		Hint:   "this client does encrypted-timestamp and (with FAST armor) encrypted-challenge pre-authentication; PKINIT-only accounts need another client"}
}

// asReplyKey returns the key that decrypts an AS reply. The KDC's
// PA-ETYPE-INFO2 in the reply names the salt when present (RFC 4120
// 5.2.7.5); otherwise it is the key used for pre-authentication, or the
// default salt when there was none. Under FAST rep.PAData is already the
// padata of the protected KrbFastResponse.
func (c *Client) asReplyKey(st *asState, rep *krb5.KDCRep, preauthKey *kcrypto.Key, preauthS2K s2kInput) (*kcrypto.Key, error) {
	s2k := s2kInput{etype: rep.EncPart.EType, salt: defaultSalt(st.cname, st.realm)}
	if indexEType(st.offered, s2k.etype) < 0 {
		return nil, replyMismatch("enc-part enctype", s2k.etype.String(), "one of "+etypeWords(st.offered))
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
				s2k = s2kFromInfo(e, st.cname, st.realm)
				break
			}
		}
	}
	if preauthKey != nil && preauthS2K.same(s2k) {
		return preauthKey, nil
	}
	var kvno uint32
	if rep.EncPart.HasKVNO {
		kvno = rep.EncPart.KVNO
	}
	return st.keys.key(st.cname, st.realm, s2k, kvno, c.cfg.Options)
}

// finishAS decrypts the AS reply with key and checks it against req.
// When the KDC's encrypted challenge already proved the client's key
// (proven), a reply that does not decrypt is not a password problem: it
// was altered.
func (c *Client) finishAS(st *asState, req *krb5.KDCReq, rep *krb5.KDCRep, key *kcrypto.Key, proven bool) (*Credentials, *krb5.EncKDCRepPart, error) {
	part, err := openReply(key, kcrypto.UsageASRepEncPart, rep)
	if err != nil {
		if proven {
			return nil, nil, fastModified("its reply does not decrypt in the strengthened reply key", err)
		}
		if krb5.CodeOf(err) == krb5.KRBAPErrBadIntegrity {
			// Without pre-authentication a wrong password is only found
			// here, when the reply does not decrypt.
			if st.keys.fromKeytab() {
				return nil, nil, fmt.Errorf("the keytab's key for %s does not decrypt the KDC's reply (stale keytab?): %w", st.who, err)
			}
			return nil, nil, fmt.Errorf("password incorrect for %s: %w", st.who, err)
		}
		return nil, nil, err
	}
	if err := checkReply(req, rep, part, expectation{
		cname: st.cname, crealm: st.realm, sname: st.sname, srealm: st.realm,
		canonicalize: st.opts.Canonicalize, asReq: true, now: c.now(), skew: c.cfg.MaxSkew,
	}); err != nil {
		return nil, nil, err
	}
	return credsFromReply(rep, part), part, nil
}

// checkEncPARep verifies the KDC's answer to PA-REQ-ENC-PA-REP (RFC 6806
// 11): with the enc-pa-rep flag set, the encrypted padata must hold a
// checksum (usage 56, reply key) of the AS-REQ exactly as sent, which
// shows that nobody altered the unprotected request, and PA-FX-FAST there
// says, under the same protection, that the KDC does FAST. It reports
// whether the KDC said so.
func checkEncPARep(part *krb5.EncKDCRepPart, key *kcrypto.Key, sent []byte) (bool, error) {
	if !part.Flags.Has(krb5.TktFlagEncPARep) {
		return false, nil
	}
	pa, ok := part.EncryptedPAData.Find(krb5.PAReqEncPARep)
	if !ok {
		return false, replyMismatch("PA-REQ-ENC-PA-REP", "absent", "present (the reply has the enc-pa-rep flag)")
	}
	var sum krb5.Checksum
	if err := sum.Unmarshal(pa.Value); err != nil {
		return false, fmt.Errorf("client: AS-REP PA-REQ-ENC-PA-REP: %w", err)
	}
	if err := key.VerifyChecksum(kcrypto.UsageASReq, sent, sum); err != nil {
		return false, &krb5.Error{Code: krb5.KRBAPErrModified,
			Reason: "the KDC's checksum of the AS-REQ (PA-REQ-ENC-PA-REP) does not match the request sent: it was altered on the way",
			Hint:   "something between this host and the KDC modifies Kerberos requests; check the network path and the KDC addresses in krb5.conf",
			Err:    err}
	}
	_, fast := part.EncryptedPAData.Find(krb5.PAFXFast)
	return fast, nil
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
	sname := asService(o, realm)
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
	ed, err := sealTimestamp(key, kcrypto.UsageASReqPAEncTimestamp, now, rand)
	if err != nil {
		return krb5.PAData{}, err
	}
	b, err := ed.Marshal()
	if err != nil {
		return krb5.PAData{}, err
	}
	return krb5.PAData{Type: krb5.PAEncTimestamp, Value: b}, nil
}

// sealTimestamp encrypts PA-ENC-TS-ENC (now, with microseconds) in key
// with usage: the proof of both encrypted timestamp and FAST encrypted
// challenge (fast.go), which differ only in key and usage.
func sealTimestamp(key *kcrypto.Key, usage kcrypto.Usage, now time.Time, rand io.Reader) (krb5.EncryptedData, error) {
	ts := krb5.PAEncTSEnc{
		PATimestamp: now.UTC().Truncate(time.Second),
		PAUSec:      int32(now.Nanosecond() / 1000),
		HasUSec:     true,
	}
	plain, err := ts.Marshal()
	if err != nil {
		return krb5.EncryptedData{}, err
	}
	return key.EncryptData(rand, usage, plain, 0, false)
}

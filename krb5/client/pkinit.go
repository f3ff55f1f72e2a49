package client

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"github.com/warden-auth/warden/internal/cms"
	"github.com/warden-auth/warden/krb5"
	"github.com/warden-auth/warden/krb5/ccache"
	"github.com/warden-auth/warden/krb5/pkinit"
)

// PKINIT on the client side (RFC 4556, RFC 5349, RFC 8636, RFC 8070) and
// anonymous PKINIT (RFC 8062): the AS-REQ carries a PA-PK-AS-REQ whose
// AuthPack binds the request body (paChecksum) to an ephemeral (EC)DH
// key, signed by the client's certificate key or, for anonymous, not
// signed at all. The reply key comes from the key agreement with the
// KDC's half, which the KDC signs with its certificate (pkinitreply.go).

// maxPKINITRounds bounds the PKINIT requests of one exchange (after the
// probe without pre-authentication): the first, a retry with a freshness
// token the KDC sent only in its refusal (RFC 8070), and one with a
// key-agreement group the KDC listed (TD-DH-PARAMETERS).
const maxPKINITRounds = 3

// groupPreference is the key-agreement order: ECDH P-256 first (cheap,
// RFC 5349), then what a KDC may insist on. MODP group 2 (1024 bits) is
// never offered.
var groupPreference = []pkinit.Group{pkinit.ECDHP256, pkinit.ECDHP384, pkinit.ECDHP521, pkinit.MODP14}

// AnonymousName is the client of anonymous PKINIT, WELLKNOWN/ANONYMOUS
// (RFC 8062 2), and AnonymousRealm the realm of its tickets.
var AnonymousName = krb5.PrincipalName{NameType: krb5.NameTypeWellKnown, NameString: []string{"WELLKNOWN", "ANONYMOUS"}}

// AnonymousRealm is WELLKNOWN:ANONYMOUS, the client realm of an
// anonymous ticket (RFC 8062 2).
const AnonymousRealm = "WELLKNOWN:ANONYMOUS"

// pkinitState is one PKINIT exchange.
type pkinitState struct {
	cname  krb5.PrincipalName
	realm  string
	who    string
	sname  krb5.PrincipalName
	opts   ASOptions
	anon   bool
	group  pkinit.Group
	tried  []pkinit.Group
	fresh  []byte // the KDC's freshness token (RFC 8070), once known
	cookie []byte // the KDC's PA-FX-COOKIE, echoed
	armor  *armor // FAST armor (ASOptions.Armor), or nil
}

// pkinitAS is ASExchange with a certificate (opts.Certificate) or
// anonymously (opts.Anonymous).
func (c *Client) pkinitAS(ctx context.Context, cname krb5.PrincipalName, opts ASOptions) (*Credentials, error) {
	st, err := c.newPKINITState(cname, opts)
	if err != nil {
		return nil, err
	}
	if opts.Armor != nil {
		if st.armor, err = c.apArmor(opts.Armor, st.realm); err != nil {
			return nil, err
		}
	}
	if err := c.pkinitProbe(ctx, st); err != nil {
		return nil, err
	}
	for range maxPKINITRounds {
		round, err := c.pkinitRequest(st)
		if err != nil {
			return nil, err
		}
		rep, ke, md, err := c.pkinitSend(ctx, st, round)
		if err != nil {
			return nil, err
		}
		if ke == nil {
			return c.finishPKINIT(st, round, rep)
		}
		retry, err := st.retryAfter(ke, md)
		if err != nil {
			return nil, err
		}
		if !retry {
			return nil, c.pkinitRefused(ke, st)
		}
	}
	return nil, &krb5.Error{Code: krb5.KDCErrPreauthFailed,
		Reason: fmt.Sprintf("the KDC kept refusing %s's PKINIT requests (%d sent)", st.who, maxPKINITRounds),
		Hint:   "the KDC wants something this client does not offer; its log says what"}
}

// pkinitProbe sends the request without pre-authentication first, as
// MIT's client does: the KDC's KDC_ERR_PREAUTH_REQUIRED says whether it
// offers PKINIT to this client, and carries its freshness token (RFC
// 8070; a KDC may require it) and cookie. A KDC that answers with a
// ticket (an account without pre-authentication) has encrypted it in a
// key this client does not have; the PKINIT request follows anyway.
func (c *Client) pkinitProbe(ctx context.Context, st *pkinitState) error {
	req, err := c.pkinitASReq(st, c.now())
	if err != nil {
		return err
	}
	// An empty PA-AS-FRESHNESS asks the KDC for a token (RFC 8070 4).
	req.PAData = append(req.PAData, krb5.PAData{Type: krb5.PAASFreshness, Value: []byte{}})
	round := &pkinitRound{req: req}
	if err := c.encodeRound(st, round); err != nil {
		return err
	}
	_, ke, md, err := c.pkinitSend(ctx, st, round)
	if err != nil || ke == nil {
		return err
	}
	if ke.ErrorCode != krb5.KDCErrPreauthRequired {
		return c.pkinitRefused(ke, st)
	}
	if _, ok := md.Find(krb5.PAPKASReq); !ok {
		return &krb5.Error{Code: ke.ErrorCode,
			Reason: fmt.Sprintf("the KDC does not offer PKINIT to %s (it offers %s)", st.who, paTypeWords(md)),
			Hint:   "the KDC has no PKINIT configured (or not for this principal); log in with a password or keytab"}
	}
	if cookie, ok := md.Find(krb5.PAFXCookie); ok {
		st.cookie = append([]byte(nil), cookie.Value...)
	}
	if fresh, ok := md.Find(krb5.PAASFreshness); ok && len(fresh.Value) > 0 {
		st.fresh = append([]byte(nil), fresh.Value...)
	}
	return nil
}

func (c *Client) newPKINITState(cname krb5.PrincipalName, opts ASOptions) (*pkinitState, error) {
	realm, err := c.asRealm(opts)
	if err != nil {
		return nil, err
	}
	st := &pkinitState{cname: cname, realm: realm, opts: opts, anon: opts.Anonymous, group: groupPreference[0], sname: asService(opts, realm)}
	switch {
	case opts.Anonymous && opts.Certificate != nil:
		return nil, errors.New("client: an anonymous request takes no certificate")
	case opts.Anonymous:
		st.cname = AnonymousName
	case len(opts.Certificate.Chain) == 0 || opts.Certificate.Key == nil:
		return nil, errors.New("client: the PKINIT certificate needs a certificate chain and its private key")
	case len(cname.NameString) == 0:
		return nil, errors.New("client: empty client principal name")
	}
	if opts.Armor != nil && opts.Anonymous {
		return nil, &krb5.Error{Code: krb5.KDCErrBadOption,
			Reason: "an anonymous request is not armored: it is what makes armor on a host without an account",
			Hint:   "drop the armor from the anonymous request"}
	}
	st.who = principalString(st.cname, realm)
	return st, nil
}

// pkinitASReq builds the AS-REQ of one PKINIT round, before its padata:
// a fresh nonce, and request-anonymous for anonymous PKINIT.
func (c *Client) pkinitASReq(st *pkinitState, now time.Time) (*krb5.KDCReq, error) {
	nonce, err := c.nonce()
	if err != nil {
		return nil, err
	}
	req := c.newASReq(st.cname, st.realm, c.etypes, st.opts, now, nonce)
	if st.anon {
		req.ReqBody.KDCOptions |= krb5.KDCOptRequestAnonymous
	}
	return req, nil
}

// pkinitRound is one request of the exchange and what its reply is
// checked against.
type pkinitRound struct {
	req   *krb5.KDCReq
	sent  []byte // the AS-REQ as sent, armored when armored (bound by the RFC 8636 KDF)
	state *pkinit.ClientState
	fast  *krb5.KrbFastResponse // the verified FAST response of an armored reply
}

// pkinitRequest builds an AS-REQ with PA-PK-AS-REQ (pkinit.NewClientRequest):
// a PKAuthenticator with the time, the body's nonce and the SHA-1 of the
// body as encoded (paChecksum), the KDC's freshness token when it sent
// one, a fresh ephemeral key of st.group and the RFC 8636 KDFs, signed as
// CMS SignedData with the certificate's key (unsigned for anonymous).
func (c *Client) pkinitRequest(st *pkinitState) (*pkinitRound, error) {
	now := c.now()
	req, err := c.pkinitASReq(st, now)
	if err != nil {
		return nil, err
	}
	body, err := req.ReqBody.Marshal()
	if err != nil {
		return nil, err
	}
	o := pkinit.ClientRequestOptions{Rand: c.cfg.Rand, Group: st.group, Nonce: req.ReqBody.Nonce, ReqBody: body, Time: now, FreshnessToken: st.fresh}
	if cert := st.opts.Certificate; cert != nil {
		o.Signer = &cms.Signer{Cert: cert.Chain[0], Chain: cert.Chain[1:], Key: cert.Key}
	}
	pa, state, err := pkinit.NewClientRequest(o)
	if err != nil {
		return nil, fmt.Errorf("client: building the PKINIT request: %w", err)
	}
	req.PAData = append(krb5.MethodData{{Type: krb5.PAPKASReq, Value: pa}}, req.PAData...)
	if st.cookie != nil {
		req.PAData = append(req.PAData, krb5.FXCookiePAData(st.cookie))
	}
	if st.armor == nil {
		// Ask the KDC to confirm the request under the reply key (RFC
		// 6806 11), as in every unarmored AS-REQ of this client.
		req.PAData = append(req.PAData, krb5.PAData{Type: krb5.PAReqEncPARep, Value: []byte{}})
	}
	round := &pkinitRound{req: req, state: state}
	if err := c.encodeRound(st, round); err != nil {
		return nil, err
	}
	return round, nil
}

// encodeRound sets round.sent: the request as it goes to the KDC,
// wrapped in FAST armor when st.armor is set (RFC 6113 5.4.2; the
// paChecksum covers the body, which is the same inside and outside).
func (c *Client) encodeRound(st *pkinitState, round *pkinitRound) error {
	out := round.req
	if st.armor != nil {
		body, err := round.req.ReqBody.Marshal()
		if err != nil {
			return err
		}
		if out, err = st.armor.wrap(c.cfg.Rand, round.req, body); err != nil {
			return err
		}
	}
	var err error
	round.sent, err = out.Marshal()
	return err
}

// pkinitSend sends round.sent (encodeRound) and returns the reply, or
// the KDC's error with its METHOD-DATA: under FAST the error and its
// padata come from the verified KrbFastResponse (a bare error is
// ErrFASTDowngrade), and a reply's padata are replaced by the protected
// ones.
func (c *Client) pkinitSend(ctx context.Context, st *pkinitState, round *pkinitRound) (*krb5.KDCRep, *krb5.KRBError, krb5.MethodData, error) {
	rep, ke, err := c.exchange(ctx, st.realm, round.sent, krb5.MsgASRep)
	if err != nil {
		return nil, nil, nil, err
	}
	if st.armor == nil {
		if ke == nil {
			return rep, nil, nil, nil
		}
		md, _ := ke.MethodData() // not every error carries METHOD-DATA
		return nil, ke, md, nil
	}
	nonce := round.req.ReqBody.Nonce
	if ke != nil {
		inner, md, err := st.armor.openError(ke, nonce)
		if err != nil {
			return nil, nil, nil, err
		}
		return nil, inner, md, nil
	}
	if round.fast, err = st.armor.openReply(rep, nonce); err != nil {
		return nil, nil, nil, err
	}
	return rep, nil, nil, nil
}

// retryAfter decides whether the KDC's error asks for another request
// this client can make: one with the freshness token the KDC sent
// (RFC 8070), or one with a key-agreement group the KDC accepts.
func (st *pkinitState) retryAfter(ke *krb5.KRBError, md krb5.MethodData) (bool, error) {
	switch ke.ErrorCode {
	case krb5.KDCErrDHKeyParametersNotAccepted:
		st.tried = append(st.tried, st.group)
		g, ok := nextGroup(ke, md, st.tried)
		if !ok {
			return false, nil
		}
		st.group = g
		return true, nil
	case krb5.KDCErrPreauthRequired, krb5.KDCErrPreauthFailed, krb5.KDCErrPreauthExpired:
		if cookie, ok := md.Find(krb5.PAFXCookie); ok {
			st.cookie = append([]byte(nil), cookie.Value...)
		}
		fresh, ok := md.Find(krb5.PAASFreshness)
		if !ok || st.fresh != nil || len(fresh.Value) == 0 {
			return false, nil
		}
		st.fresh = append([]byte(nil), fresh.Value...)
		return true, nil
	}
	return false, nil
}

// tdDHParameters is the TYPED-DATA type of TD-DH-PARAMETERS (RFC 4556
// 3.2.2).
const tdDHParameters = 109

// nextGroup picks, from the groups the KDC lists with
// KDC_ERR_DH_KEY_PARAMETERS_NOT_ACCEPTED, the first this client prefers
// and has not tried. The list is TYPED-DATA in the error's e-data, or,
// inside FAST, where the error has no e-data, a padata of the same type
// in the KrbFastResponse (as MIT's KDC sends it). A KDC listing nothing
// usable ends the exchange.
func nextGroup(ke *krb5.KRBError, md krb5.MethodData, tried []pkinit.Group) (pkinit.Group, bool) {
	var raw []byte
	if pa, ok := md.Find(krb5.PAType(tdDHParameters)); ok {
		raw = pa.Value
	} else if td, err := parseTypedData(ke.EData); err == nil {
		for _, d := range td {
			if d.Type == tdDHParameters {
				raw = d.Value
				break
			}
		}
	}
	var params pkinit.TDDHParameters
	if raw == nil || params.Unmarshal(raw) != nil {
		return 0, false
	}
	listed := map[pkinit.Group]bool{}
	for _, a := range params {
		if g, ok := groupOf(a); ok {
			listed[g] = true
		}
	}
	for _, g := range groupPreference {
		if listed[g] && !slices.Contains(tried, g) {
			return g, true
		}
	}
	return 0, false
}

// groupOf reads the group of a TD-DH-PARAMETERS entry with the same
// parser the KDC uses for clientPublicValue, so that a KDC's encoding of
// the domain parameters (with or without q) does not matter, only the
// prime or the curve.
func groupOf(a cms.AlgorithmIdentifier) (pkinit.Group, bool) {
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		a.Add(b)
		b.AddASN1BitString([]byte{2})
	})
	spki, err := b.Bytes()
	if err != nil {
		return 0, false
	}
	g, _, err := pkinit.ParsePublicKeyInfo(spki)
	return g, err == nil
}

// StartRealmKey is MIT's credential-cache configuration entry naming the
// realm whose TGT the cache holds, written for anonymous caches: their
// default principal's realm is WELLKNOWN:ANONYMOUS (RFC 8062 3).
const StartRealmKey = "start_realm"

// CacheRealm returns the realm of the TGT a cache was made for: MIT's
// start_realm entry when there is one, else the default principal's realm.
func CacheRealm(c *ccache.Cache) string {
	if v, ok := c.Config(StartRealmKey, ""); ok && len(v) > 0 {
		return string(v)
	}
	return c.DefaultPrincipal.Realm
}

// Principals returns the Kerberos principal names the certificate
// carries in id-pkinit-san (RFC 4556 3.2.2), as "name@REALM"; a
// malformed extension gives none.
func (c *Certificate) Principals() []string {
	if len(c.Chain) == 0 {
		return nil
	}
	names, err := certPrincipals(c.Chain[0])
	if err != nil {
		return nil
	}
	return names
}

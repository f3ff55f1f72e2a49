package kdc

import (
	"context"
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/warden-auth/warden/internal/cms"
	"github.com/warden-auth/warden/internal/der"
	"github.com/warden-auth/warden/krb5"
	"github.com/warden-auth/warden/krb5/kcrypto"
	"github.com/warden-auth/warden/krb5/pkinit"
)

// PKINIT (RFC 4556, RFC 5349, RFC 8636) in the AS exchange: a client
// proves itself with a certificate and its key instead of a password.
// The KDC verifies the CMS signature of the AuthPack, the client's chain
// (realm CA or configured anchors, validity, revocation, key purpose)
// and maps the certificate to the requested account with the strong
// mapping rules of mutual TLS (pki.Mapper); then it answers the client's
// ECDH/DH key with its own, signed by the KDC certificate, and the reply
// key comes from the shared secret. See docs/architecture.md 8.15.

// PKINITConfig enables certificate logon (Config.PKINIT).
type PKINITConfig struct {
	// Cert and Key are the KDC certificate (id-pkinit-KPKdc, SAN
	// krbtgt/REALM@REALM; pki.Authority.IssueKDC) and its key; Chain are
	// intermediates sent along (not the root).
	Cert  *x509.Certificate
	Chain []*x509.Certificate
	Key   crypto.Signer
	// Clients checks client chains (realm CA and other trust anchors,
	// validity, key purpose, revocation) and maps them to accounts:
	// *pki.PKINITChecker (required).
	Clients PKINITClientChecker
	// Anonymous enables anonymous PKINIT (RFC 8062): TGTs for
	// WELLKNOWN/ANONYMOUS usable only as FAST armor.
	Anonymous bool
	// AllowMODP2 accepts the 1024-bit DH group 2 (off: too weak today).
	AllowMODP2 bool
}

// PKINITClientChecker accepts a PKINIT client's certificate chain
// (signer first) and names the account it maps to; detail is for the
// log. A refusal should implement PKINITError (pki.Error does) so that
// the KDC answers with its code and reason; others are
// KDC_ERR_CLIENT_NOT_TRUSTED.
type PKINITClientChecker interface {
	CheckPKINITClient(ctx context.Context, chain []*x509.Certificate) (account, detail string, err error)
}

// PKINITError is a classified certificate refusal.
type PKINITError interface {
	error
	PKINITCode() int32    // the KRB-ERROR code
	PublicReason() string // the e-text: what was wrong, no secrets
	ErrorHint() string    // advice for the log
}

// pkinitState is the KDC's PKINIT configuration in use.
type pkinitState struct {
	cfg    PKINITConfig
	signer atomic.Pointer[cms.Signer] // the KDC certificate, replaceable (SetPKINITCertificate)
	replay *replayCache
	certs  *certCache // accepted client certificates (pkinitcache.go)
}

func newPKINIT(cfg *PKINITConfig) (*pkinitState, error) {
	if cfg == nil {
		return nil, nil
	}
	if cfg.Cert == nil || cfg.Key == nil || cfg.Clients == nil {
		return nil, errors.New("kdc: PKINITConfig needs Cert, Key and Clients")
	}
	if !pkinit.HasEKU(cfg.Cert, pkinit.OIDKPKdc) {
		return nil, fmt.Errorf("kdc: the PKINIT certificate %s lacks the id-pkinit-KPKdc extended key usage", cfg.Cert.Subject)
	}
	ps := &pkinitState{cfg: *cfg, replay: newReplayCache(), certs: newCertCache()}
	ps.signer.Store(&cms.Signer{Cert: cfg.Cert, Chain: cfg.Chain, Key: cfg.Key})
	return ps, nil
}

// SetPKINITCertificate replaces the KDC certificate of a running KDC
// (a renewed one); requests in flight finish with the old one.
func (k *KDC) SetPKINITCertificate(cert *x509.Certificate, chain []*x509.Certificate, key crypto.Signer) error {
	if k.pkinit == nil {
		return errors.New("kdc: PKINIT is not enabled")
	}
	if cert == nil || key == nil || !pkinit.HasEKU(cert, pkinit.OIDKPKdc) {
		return errors.New("kdc: a PKINIT certificate with the id-pkinit-KPKdc extended key usage and its key are required")
	}
	k.pkinit.signer.Store(&cms.Signer{Cert: cert, Chain: chain, Key: key})
	return nil
}

// pkReply is what a verified PA-PK-AS-REQ contributes to the AS reply.
type pkReply struct {
	key    *kcrypto.Key    // the reply key
	padata krb5.MethodData // PA-PK-AS-REP (and PA-PKINIT-KX for anonymous)
}

// verifyPKINIT checks a signed PA-PK-AS-REQ for the account client and
// answers it: the reply key and the PA-PK-AS-REP.
func (x *exchange) verifyPKINIT(client *principal, value []byte) (*pkReply, error) {
	if _, old := x.req.PAData.Find(krb5.PAPKASReqOld); old {
		return nil, &krb5.Error{Code: krb5.KRBErrGeneric, Reason: "both PA-PK-AS-REQ and PA-PK-AS-REQ_OLD are present; send one"}
	}
	req, err := parsePKINIT(value)
	if err != nil {
		return nil, err
	}
	if req.Anonymous {
		return nil, &krb5.Error{Code: krb5.KDCErrInvalidSig,
			Reason: "the AuthPack is not signed: an unsigned AuthPack is accepted only for anonymous PKINIT (client WELLKNOWN/ANONYMOUS with request-anonymous)",
			Hint:   "give the client its certificate and key (MIT: -X X509_user_identity=FILE:cert.pem,key.pem)"}
	}
	certs, err := req.Signed.Verify()
	if err != nil {
		return nil, cmsError(err)
	}
	ce, err := x.acceptCertificate(certs)
	if err != nil {
		return nil, err
	}
	if ce.account != client.acct.Name {
		x.res.Detail = ce.detail + " (maps to " + ce.account + ")"
		return nil, &krb5.Error{Code: krb5.KDCErrClientNameMismatch,
			Reason: fmt.Sprintf("certificate %s maps to account %s, not to the requested client %s", certs[0].Subject, ce.account, client.acct.Name),
			Hint:   "log in as the account the certificate was issued to, or issue one for this account (warden cert issue --account NAME)"}
	}
	x.res.Detail = ce.detail
	return x.answerPKINIT(req, client.etypes(), pkinit.KRB5PrincipalName{Realm: x.req.ReqBody.Realm, Name: *x.req.ReqBody.CName})
}

// acceptCertificate checks the signer's chain (trust anchor, validity,
// key purpose, revocation) and maps it to an account, or finds that
// done within certCacheTTL.
func (x *exchange) acceptCertificate(certs []*x509.Certificate) (certEntry, error) {
	ps := x.k.pkinit
	gen := x.k.dir.gen.Load() // before the checks: a change during them invalidates the entry
	if ce, ok := ps.certs.get(certs[0], x.now, gen); ok {
		return ce, nil
	}
	account, detail, err := ps.cfg.Clients.CheckPKINITClient(x.ctx, certs)
	if err != nil {
		return certEntry{}, certError(err)
	}
	ce := certEntry{account: account, detail: detail, gen: gen}
	ps.certs.put(certs[0], ce, x.now)
	return ce, nil
}

// parsePKINIT decodes a PA-PK-AS-REQ, mapping failures to KRB-ERRORs.
func parsePKINIT(value []byte) (*pkinit.Request, error) {
	req, err := pkinit.ParseASReq(value)
	if err != nil {
		if errors.Is(err, cms.ErrUnsupported) {
			return nil, cmsError(err)
		}
		return nil, &krb5.Error{Code: krb5.KRBErrGeneric, Reason: "malformed PA-PK-AS-REQ", Err: err}
	}
	return req, nil
}

// answerPKINIT runs the checks common to signed and anonymous requests
// (request checksum, time, nonce, replay, key-agreement group) and
// builds the reply. The reply key's enctype is the client's first one
// in etypes (nil: any enabled one); kdfClient is the client principal the RFC 8636 KDF
// binds (the request's, or the anonymous principal).
func (x *exchange) answerPKINIT(req *pkinit.Request, etypes []krb5.EncType, kdfClient pkinit.KRB5PrincipalName) (*pkReply, error) {
	k, ps, body := x.k, x.k.pkinit, &x.req.ReqBody
	if err := req.CheckChecksum(body.Raw); err != nil {
		var ce *pkinit.ChecksumError
		if errors.As(err, &ce) && ce.Missing {
			return nil, &krb5.Error{Code: krb5.KDCErrPAChecksumMustBeIncluded, Reason: ce.Msg + "; this KDC requires it (RFC 4556 3.2.1)"}
		}
		return nil, &krb5.Error{Code: krb5.KRBAPErrModified, Reason: err.Error(), Err: err}
	}
	a := &req.AuthPack.PKAuthenticator
	if err := x.checkSkew(a.Time(), "PKINIT"); err != nil {
		return nil, err
	}
	if a.Nonce != body.Nonce {
		return nil, &krb5.Error{Code: krb5.KDCErrPreauthFailed,
			Reason: fmt.Sprintf("PKAuthenticator nonce %d is not the request's nonce %d", a.Nonce, body.Nonce)}
	}
	g, err := req.Group()
	if err == nil && g == pkinit.MODP2 && !ps.cfg.AllowMODP2 {
		err = &pkinit.KeyError{Msg: "the 1024-bit DH group 2 is too weak and not accepted"}
	}
	if err != nil {
		x.typedData = dhParametersData(ps.cfg.AllowMODP2)
		return nil, &krb5.Error{Code: krb5.KDCErrDHKeyParametersNotAccepted,
			Reason: err.Error() + "; this KDC accepts ECDH P-256/P-384/P-521 and DH group 14",
			Hint:   "use ECDH P-256 or DH group 14 (MIT: pkinit_dh_min_bits = 2048 or P-256)", Err: err}
	}
	fresh, err := x.checkFreshness(a.FreshnessToken)
	if err != nil {
		return nil, err
	}
	// Replay: the same signed AuthPack again within the skew window.
	switch ps.replay.add(req.Digest, x.now, a.Time().Add(k.cfg.MaxSkew+k.cfg.MaxSkew)) {
	case replaySeen:
		x.res.Detail = "replayed PA-PK-AS-REQ"
		return nil, &krb5.Error{Code: krb5.KRBAPErrRepeat,
			Reason: "this PA-PK-AS-REQ was already used (replay): a client signs a fresh AuthPack for every request"}
	case replayFull:
		// Same code (the request cannot be shown fresh), but the log
		// and the client learn that it is load, not a replay.
		x.res.Detail = "PKINIT replay cache full"
		return nil, &krb5.Error{Code: krb5.KRBAPErrRepeat,
			Reason: "the KDC cannot record this PA-PK-AS-REQ against replay (too many certificate logons within the clock-skew window); try again in a few minutes",
			Hint:   "a flood of PKINIT requests filled the replay cache; it empties as their clock-skew window passes"}
	}
	if etypes == nil {
		etypes = enabledETypes(k)
	}
	etype, ok := firstCommon(body.EType, etypes)
	if !ok {
		return nil, errNoCommonEType(body.EType, "PKINIT for this client", etypes)
	}
	rep, rk, err := req.BuildReply(pkinit.ReplyParams{
		Rand: k.cfg.Rand, Signer: ps.signer.Load(), EType: etype,
		Client: kdfClient,
		Server: pkinit.KRB5PrincipalName{Realm: body.Realm, Name: *body.SName},
		ASReq:  x.req.Raw,
	})
	if err != nil {
		var ke *pkinit.KeyError
		if errors.As(err, &ke) {
			x.typedData = dhParametersData(ps.cfg.AllowMODP2)
			return nil, &krb5.Error{Code: krb5.KDCErrDHKeyParametersNotAccepted, Reason: ke.Error()}
		}
		return nil, err
	}
	key, err := kcrypto.NewKey(rk, k.cfg.Crypto)
	if err != nil {
		return nil, err
	}
	x.res.Detail += fmt.Sprintf("; %v", g)
	if fresh {
		x.res.Detail += "; freshness token"
	}
	return &pkReply{key: key, padata: krb5.MethodData{{Type: krb5.PAPKASRep, Value: rep}}}, nil
}

// enabledETypes are the enctypes a PKINIT reply key may have when the
// account names none (principal.etypes() holds only enabled ones).
func enabledETypes(k *KDC) []krb5.EncType {
	es := []krb5.EncType{krb5.ETypeAES256CTSHMACSHA196, krb5.ETypeAES128CTSHMACSHA196, krb5.ETypeAES256CTSHMACSHA384, krb5.ETypeAES128CTSHMACSHA256}
	if k.cfg.Crypto.AllowRC4 {
		es = append(es, krb5.ETypeRC4HMAC)
	}
	return es
}

// dhParametersData is the e-data of KDC_ERR_DH_KEY_PARAMETERS_NOT_ACCEPTED:
// TYPED-DATA with TD-DH-PARAMETERS (RFC 4556 3.2.2), the groups we take
// in order of preference.
func dhParametersData(allowMODP2 bool) []byte {
	groups := []pkinit.Group{pkinit.ECDHP256, pkinit.ECDHP384, pkinit.ECDHP521, pkinit.MODP14}
	if allowMODP2 {
		groups = append(groups, pkinit.MODP2)
	}
	var params pkinit.TDDHParameters
	for _, g := range groups {
		params = append(params, pkinit.DHParameters(g))
	}
	v, err := params.Marshal()
	if err != nil {
		return nil
	}
	return typedData(tdDHParameters, v)
}

// cmsError maps a CMS failure to its PKINIT error code.
func cmsError(err error) *krb5.Error {
	switch {
	case errors.Is(err, cms.ErrUnsupported):
		return &krb5.Error{Code: krb5.KDCErrDigestInSignedDataNotAccepted, Reason: "PKINIT signature: " + err.Error(), Err: err,
			Hint: "sign with SHA-256 (or SHA-1/384/512) and RSA PKCS#1 v1.5 or ECDSA"}
	case errors.Is(err, cms.ErrMalformed):
		return &krb5.Error{Code: krb5.KRBErrGeneric, Reason: "malformed signedAuthPack: " + err.Error(), Err: err}
	}
	return &krb5.Error{Code: krb5.KDCErrInvalidSig, Reason: "the AuthPack signature does not verify: " + err.Error(), Err: err,
		Hint: "the request was altered, or the certificate sent is not the signing key's"}
}

// certError maps a refusal of the client certificate to its PKINIT
// error code; the checker's reason (names, serials, dates) is the e-text.
func certError(err error) error {
	var pe PKINITError
	if !errors.As(err, &pe) {
		return &krb5.Error{Code: krb5.KDCErrClientNotTrusted, Reason: "the client certificate is not trusted", Err: err}
	}
	return &krb5.Error{Code: krb5.ErrorCode(pe.PKINITCode()), Reason: pe.PublicReason(), Hint: pe.ErrorHint(), Err: err}
}

// withPKINITHint adds PA-PK-AS-REQ to a PREAUTH_REQUIRED METHOD-DATA
// when certificate logon is on: MIT's client tries PKINIT only when
// the KDC lists it.
func (x *exchange) withPKINITHint(md krb5.MethodData) krb5.MethodData {
	if x.k.pkinit == nil {
		return md
	}
	md = append(md, krb5.PAData{Type: krb5.PAPKASReq, Value: []byte{}})
	if fresh, ok := x.freshnessHint(); ok {
		md = append(md, fresh)
	}
	return md
}

// TYPED-DATA types of PKINIT errors (RFC 4556 3.2.2).
const tdDHParameters = 109

// typedData encodes a one-element TYPED-DATA ::= SEQUENCE OF SEQUENCE {
// data-type [0] Int32, data-value [1] OCTET STRING } (RFC 4120 5.9.1).
func typedData(t int32, v []byte) []byte {
	e := der.NewEncoder(make([]byte, 0, len(v)+16))
	outer := e.Open(der.TagSequence)
	el := e.Open(der.TagSequence)
	f := e.Open(der.Context(0))
	e.Int(int64(t))
	e.Close(f)
	f = e.Open(der.Context(1))
	e.OctetString(v)
	e.Close(f)
	e.Close(el)
	e.Close(outer)
	return e.Bytes()
}

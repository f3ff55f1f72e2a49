package client

import (
	"crypto/subtle"
	"errors"
	"fmt"

	"github.com/warden-auth/warden/internal/cms"
	"github.com/warden-auth/warden/krb5"
	"github.com/warden-auth/warden/krb5/kcrypto"
	"github.com/warden-auth/warden/krb5/pkinit"
)

// Checking a PKINIT AS-REP: the PA-PK-AS-REP must carry the KDC's half of
// the key agreement, signed by a certificate this client trusts as the
// realm's KDC and bound to this request's nonce; the reply key derives
// from the shared secret (RFC 8636 KDF when the KDC names one, else RFC
// 4556 octetstring2key); the reply must decrypt in it and answer the
// request. Anonymous replies must also be marked anonymous and carry
// PA-PKINIT-KX proving the session key (RFC 8062 7).

// finishPKINIT verifies the reply to round and returns the credentials.
func (c *Client) finishPKINIT(st *pkinitState, round *pkinitRound, rep *krb5.KDCRep) (*Credentials, error) {
	key, err := c.pkinitReplyKey(st, round, rep)
	if err != nil {
		return nil, err
	}
	encKey := key
	if round.fast != nil {
		// Armored: the enc-part is in the reply key strengthened by the
		// KDC's strengthen key (RFC 6113 5.4.3).
		if encKey, err = strengthen(round.fast, key, c.cfg.Options); err != nil {
			return nil, err
		}
	}
	part, err := openReply(encKey, kcrypto.UsageASRepEncPart, rep)
	if err != nil {
		// The KDC proved its identity by signing its key-agreement half;
		// a reply that does not decrypt in the agreed key was altered.
		return nil, &krb5.Error{Code: krb5.KRBAPErrModified,
			Reason: "the KDC's reply does not decrypt in the key agreed by PKINIT",
			Hint:   "the reply was altered on the way, or the KDC derives the reply key differently; check the network path to the KDC",
			Err:    err}
	}
	x := expectation{cname: st.cname, crealm: st.realm, sname: st.sname, srealm: st.realm,
		canonicalize: st.opts.Canonicalize, asReq: true, now: c.now(), skew: c.cfg.MaxSkew}
	if st.anon {
		x.crealm = AnonymousRealm
	}
	if err := checkReply(round.req, rep, part, x); err != nil {
		return nil, err
	}
	if st.anon && !part.Flags.Has(krb5.TktFlagAnonymous) {
		// RFC 8062 4.1: a KDC that ignores request-anonymous would issue
		// a normal ticket; the client must not take it for anonymous.
		return nil, &krb5.Error{Code: krb5.KRBAPErrModified,
			Reason: "the KDC's reply to an anonymous request is not flagged anonymous",
			Hint:   "the KDC does not support anonymous PKINIT (RFC 8062); the ticket was not used"}
	}
	if err := checkPKINITKX(rep.PAData, key, part.Key, st.anon, c.cfg.Options); err != nil {
		return nil, err
	}
	fast := round.fast != nil
	if !fast {
		if fast, err = checkEncPARep(part, key, round.sent); err != nil {
			return nil, err
		}
	}
	cr := credsFromReply(rep, part)
	cr.FAST, cr.FASTOffered = fast, fast
	return cr, nil
}

// pkinitReplyKey checks the PA-PK-AS-REP of rep and derives the reply key.
func (c *Client) pkinitReplyKey(st *pkinitState, round *pkinitRound, rep *krb5.KDCRep) (*kcrypto.Key, error) {
	pa, ok := rep.PAData.Find(krb5.PAPKASRep)
	if !ok {
		return nil, &krb5.Error{Code: krb5.KRBAPErrModified,
			Reason: fmt.Sprintf("the KDC answered %s's PKINIT request without PA-PK-AS-REP (padata: %s)", st.who, paTypeWords(rep.PAData)),
			Hint:   "the reply is not a PKINIT reply: the KDC ignored PKINIT, or the reply was altered; it was not used"}
	}
	etype := rep.EncPart.EType
	if indexEType(c.etypes, etype) < 0 {
		return nil, replyMismatch("enc-part enctype", etype.String(), "one of "+etypeWords(c.etypes))
	}
	// RFC 8636 3 binds the reply key to the request's names; for
	// anonymous the client realm is WELLKNOWN:ANONYMOUS, as MIT computes it.
	crealm := st.realm
	if st.anon {
		crealm = AnonymousRealm
	}
	ek, certs, err := round.state.ParseReply(pa.Value, pkinit.ReplyKeyInput{EType: etype,
		Client: pkinit.KRB5PrincipalName{Realm: crealm, Name: st.cname},
		Server: pkinit.KRB5PrincipalName{Realm: st.realm, Name: st.sname},
		ASReq:  round.sent})
	switch {
	case errors.Is(err, cms.ErrBadSignature), errors.Is(err, cms.ErrNoSigner):
		return nil, &krb5.Error{Code: krb5.KDCErrInvalidSig,
			Reason: fmt.Sprintf("the KDC's signature on its key-agreement data does not verify: %v", err),
			Hint:   "the reply was altered or forged; it was not used",
			Err:    err}
	case err != nil:
		return nil, pkinitBadReply("its PA-PK-AS-REP is not usable", err)
	}
	if err := verifyKDCCertificate(certs[0], certs[1:], c.cfg.PKINIT, st.realm, c.now()); err != nil {
		return nil, err
	}
	return kcrypto.NewKey(ek, c.cfg.Options)
}

// checkPKINITKX verifies PA-PKINIT-KX (RFC 8062 7): the KDC's
// contribution key, encrypted in the reply key (usage 44), must give the
// session key as KRB-FX-CF2(contribution, reply key, "PKINIT",
// "KEYEXCHANGE") (pkinit.ParseKX). It shows that the KDC, not only whoever knows the
// reply key, chose the session key; anonymous replies must carry it.
func checkPKINITKX(md krb5.MethodData, reply *kcrypto.Key, session krb5.EncryptionKey, required bool, opt kcrypto.Options) error {
	pa, ok := md.Find(krb5.PAPKINITKX)
	if !ok {
		if required {
			return pkinitBadReply("its anonymous reply has no PA-PKINIT-KX (RFC 8062 7)", nil)
		}
		return nil
	}
	want, err := pkinit.ParseKX(pa.Value, reply, opt)
	if err != nil {
		return pkinitBadReply("its PA-PKINIT-KX is not usable", err)
	}
	got := want.EncryptionKey()
	if got.KeyType != session.KeyType || subtle.ConstantTimeCompare(got.KeyValue, session.KeyValue) != 1 {
		return pkinitBadReply("the session key is not the one PA-PKINIT-KX gives", nil)
	}
	return nil
}

// pkinitBadReply is a PKINIT reply that fails a check.
func pkinitBadReply(what string, cause error) *krb5.Error {
	return &krb5.Error{Code: krb5.KRBAPErrModified,
		Reason: "the KDC's PKINIT reply is not valid: " + what,
		Hint:   "the reply was altered, or the KDC's PKINIT does not follow RFC 4556/8062; it was not used",
		Err:    cause}
}

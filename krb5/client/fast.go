package client

import (
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/warden-auth/warden/krb5"
	"github.com/warden-auth/warden/krb5/kcrypto"
)

// FAST (RFC 6113) on the client side: the armor key, wrapping a request
// in PA-FX-FAST, and opening the KDC's armored replies and errors. The AS
// and TGS exchanges (fastas.go, tgs.go) decide when to armor; this file
// only knows the tunnel.

// ErrFASTDowngrade is wrapped by the error returned when the KDC answers
// an armored request without valid FAST protection. The answer is not
// used: a KDC that supports FAST always protects its answer, so a bare
// one comes from a KDC without FAST or from something in between that
// removed the protection (RFC 6113 5.4.3).
var ErrFASTDowngrade = errors.New("the KDC's answer to an armored request is not FAST-protected")

// ErrFASTRequired is wrapped by the error returned when the KDC offers
// pre-authentication only inside FAST and the request was not armored.
var ErrFASTRequired = errors.New("the KDC requires FAST armor")

// armor is the FAST state of one request: the armor key, and for explicit
// armor the KrbFastArmor (an AP-REQ) sent with it. Implicit TGS armor has
// no KrbFastArmor: the KDC derives the key from PA-TGS-REQ.
type armor struct {
	key   *kcrypto.Key
	field *krb5.KrbFastArmor
}

// apArmor makes FX_FAST_ARMOR_AP_REQUEST armor from tgt, a TGT of realm:
// an AP-REQ whose authenticator carries a fresh subkey, and the armor key
// KRB-FX-CF2(subkey, ticket session key, "subkeyarmor", "ticketarmor")
// (RFC 6113 5.4.1.1). The AP-REQ has no checksum and no options, as MIT's
// armor does: it binds nothing but the key.
func (c *Client) apArmor(tgt *Credentials, realm string) (*armor, error) {
	if tgt == nil {
		return nil, errors.New("client: no armor ticket given")
	}
	if !tgt.IsTGT() || tgt.Server.Realm != realm || tgt.Server.Name.NameString[1] != realm {
		return nil, &krb5.Error{Code: krb5.KDCErrBadOption,
			Reason: fmt.Sprintf("the armor ticket is for %s, not for the ticket-granting service of %s", tgt.Server, realm),
			Hint:   fmt.Sprintf("armor needs a TGT (krbtgt/%s@%s) of the realm being asked, normally the computer's: warden kinit -k -t KEYTAB 'HOST$'", realm, realm)}
	}
	now := c.now()
	if tgt.Expired(now) {
		return nil, &krb5.Error{Code: krb5.KRBAPErrTktExpired,
			Reason: fmt.Sprintf("the armor ticket for %s expired at %s", tgt.Client, tgt.EndTime.UTC().Format(time.RFC3339)),
			Hint:   "get a fresh armor TGT (the computer's: warden kinit -k -t KEYTAB)"}
	}
	sess, err := kcrypto.NewKey(tgt.Key, c.cfg.Options)
	if err != nil {
		return nil, fmt.Errorf("client: the armor ticket's session key: %w", err)
	}
	sub, err := kcrypto.RandomKey(sess.EType(), c.cfg.Rand, c.cfg.Options)
	if err != nil {
		return nil, err
	}
	sk := sub.EncryptionKey()
	ap, err := apReq(c.cfg.Rand, tgt, sess, kcrypto.UsageAPReqAuthenticator, krb5.Authenticator{Subkey: &sk}, now)
	if err != nil {
		return nil, err
	}
	key, err := kcrypto.CF2(sub, sess, krb5.PepperSubkeyArmor, krb5.PepperTicketArmor)
	if err != nil {
		return nil, err
	}
	return &armor{key: key, field: &krb5.KrbFastArmor{ArmorType: krb5.ArmorAPRequest, ArmorValue: ap}}, nil
}

// apReq encodes an AP-REQ presenting tgt: auth, completed with the
// client's name and now, encrypted in the ticket's session key with usage
// (11 for FAST armor, 7 for PA-TGS-REQ). No AP options: neither use asks
// for mutual authentication.
func apReq(rand io.Reader, tgt *Credentials, sess *kcrypto.Key, usage kcrypto.Usage, auth krb5.Authenticator, now time.Time) ([]byte, error) {
	auth.CRealm, auth.CName = tgt.Client.Realm, tgt.Client.Name
	auth.CUSec, auth.CTime = int32(now.Nanosecond()/1000), now.UTC().Truncate(time.Second)
	plain, err := auth.Marshal()
	if err != nil {
		return nil, err
	}
	enc, err := sess.EncryptData(rand, usage, plain, 0, false)
	if err != nil {
		return nil, err
	}
	ap := krb5.APReq{Ticket: tgt.Ticket, Authenticator: enc}
	return ap.Marshal()
}

// implicitArmor is the armor of a TGS request without an armor field
// (RFC 6113 5.4.1.1): KRB-FX-CF2(authenticator subkey, TGT session key,
// "subkeyarmor", "ticketarmor").
func implicitArmor(subkey, tgtSession *kcrypto.Key) (*armor, error) {
	key, err := kcrypto.CF2(subkey, tgtSession, krb5.PepperSubkeyArmor, krb5.PepperTicketArmor)
	if err != nil {
		return nil, err
	}
	return &armor{key: key}, nil
}

// explicitTGSArmor turns AP-REQ armor from another TGT (the device's) into
// the armor of a TGS request whose PA-TGS-REQ authenticator carries
// tgsSubkey: KRB-FX-CF2(armor key, tgsSubkey, "explicitarmor",
// "tgsarmor") (MS-KILE 3.3.5.7.4, as MIT's krb5int_fast_tgs_armor).
func explicitTGSArmor(a *armor, tgsSubkey *kcrypto.Key) (*armor, error) {
	key, err := kcrypto.CF2(a.key, tgsSubkey, krb5.PepperExplicitArmor, krb5.PepperTGSArmor)
	if err != nil {
		return nil, err
	}
	return &armor{key: key, field: a.field}, nil
}

// wrap returns the armored form of req (RFC 6113 5.4.2): the KrbFastReq
// carrying req's body and padata is encrypted in the armor key (usage 51),
// and the req-checksum (usage 50) covers checksummed: the encoded outer
// KDC-REQ-BODY for AS, the PA-TGS-REQ AP-REQ for TGS. The outer request
// keeps a copy of the body (a KDC reads only the inner one) and carries
// only PA-TGS-REQ and PA-FX-FAST: the real padata travel encrypted.
func (a *armor) wrap(rand io.Reader, req *krb5.KDCReq, checksummed []byte) (*krb5.KDCReq, error) {
	fr := krb5.KrbFastReq{ReqBody: req.ReqBody, PAData: krb5.MethodData{}}
	var outer krb5.MethodData
	for _, p := range req.PAData {
		if p.Type == krb5.PATGSReq {
			outer = append(outer, p)
			continue
		}
		fr.PAData = append(fr.PAData, p)
	}
	plain, err := fr.Marshal()
	if err != nil {
		return nil, err
	}
	enc, err := a.key.EncryptData(rand, kcrypto.UsageFastEnc, plain, 0, false)
	if err != nil {
		return nil, err
	}
	sum, err := a.key.Checksum(kcrypto.UsageFastReqChecksum, checksummed)
	if err != nil {
		return nil, err
	}
	pa, err := krb5.FastArmoredReq{Armor: a.field, ReqChecksum: sum, EncFastReq: enc}.PAData()
	if err != nil {
		return nil, err
	}
	return &krb5.KDCReq{MsgType: req.MsgType, PAData: append(outer, pa), ReqBody: req.ReqBody}, nil
}

// response decrypts the KrbFastResponse carried by the PA-FX-FAST in md
// (a reply's padata or an error's METHOD-DATA) and checks that it answers
// the request with nonce. A missing PA-FX-FAST is ErrFASTDowngrade.
func (a *armor) response(md krb5.MethodData, nonce uint32) (*krb5.KrbFastResponse, error) {
	pa, ok := md.Find(krb5.PAFXFast)
	if !ok {
		return nil, ErrFASTDowngrade
	}
	var rep krb5.FastArmoredRep
	if err := rep.Unmarshal(pa.Value); err != nil {
		return nil, fastModified("its PA-FX-FAST does not decode", err)
	}
	plain, err := a.key.DecryptData(kcrypto.UsageFastRep, rep.EncFastRep)
	if err != nil {
		return nil, fastModified("its FAST response does not decrypt with the armor key", err)
	}
	var resp krb5.KrbFastResponse
	if err := resp.Unmarshal(plain); err != nil {
		return nil, fastModified("its FAST response does not decode", err)
	}
	if resp.Nonce != nonce {
		return nil, replyMismatch("FAST response nonce", fmt.Sprint(resp.Nonce), fmt.Sprint(nonce))
	}
	return &resp, nil
}

// openReply checks the FAST protection of a KDC-REP and returns its
// KrbFastResponse. KrbFastFinished must be there and its ticket checksum
// (usage 53) must cover the reply's ticket, which binds the unencrypted
// ticket to the armored exchange. The reply's client name and padata are
// then replaced by the protected ones (the outer names may be anonymous
// with hide-client-names, and the outer padata is only PA-FX-FAST).
func (a *armor) openReply(rep *krb5.KDCRep, nonce uint32) (*krb5.KrbFastResponse, error) {
	resp, err := a.response(rep.PAData, nonce)
	if errors.Is(err, ErrFASTDowngrade) {
		return nil, downgrade(nil)
	}
	if err != nil {
		return nil, err
	}
	if resp.Finished == nil {
		return nil, fastModified("its FAST response has no finished part", nil)
	}
	tkt, err := rep.Ticket.Marshal()
	if err != nil {
		return nil, err
	}
	if err := a.key.VerifyChecksum(kcrypto.UsageFastFinished, tkt, resp.Finished.TicketChecksum); err != nil {
		return nil, fastModified("the ticket does not match the FAST finished checksum", err)
	}
	rep.CName = resp.Finished.CName
	rep.CRealm = resp.Finished.CRealm
	rep.PAData = resp.PAData
	return resp, nil
}

// openError returns the KRB-ERROR protected inside an armored error
// (PA-FX-ERROR in the KrbFastResponse, RFC 6113 5.4.3) and the response's
// padata (ETYPE-INFO2, method hints, PA-FX-COOKIE). The outer error is
// not trusted: without FAST protection the answer is ErrFASTDowngrade.
func (a *armor) openError(ke *krb5.KRBError, nonce uint32) (*krb5.KRBError, krb5.MethodData, error) {
	md, err := ke.MethodData()
	if err != nil {
		return nil, nil, downgrade(ke)
	}
	resp, err := a.response(md, nonce)
	if errors.Is(err, ErrFASTDowngrade) {
		return nil, nil, downgrade(ke)
	}
	if err != nil {
		return nil, nil, err
	}
	raw, ok, err := krb5.FXErrorValue(resp.PAData)
	if !ok {
		return nil, nil, fastModified("its FAST error response has no PA-FX-ERROR", nil)
	}
	if err != nil {
		return nil, nil, fastModified("its PA-FX-ERROR does not decode", err)
	}
	var inner krb5.KRBError
	if err := inner.Unmarshal(raw); err != nil {
		return nil, nil, fastModified("its PA-FX-ERROR does not decode", err)
	}
	return &inner, resp.PAData, nil
}

// strengthen applies the KDC's strengthen key to the reply key (RFC 6113
// 5.4.3): KRB-FX-CF2(strengthen key, reply key, "strengthenkey",
// "replykey"). Without a strengthen key the reply key is unchanged.
func strengthen(resp *krb5.KrbFastResponse, reply *kcrypto.Key, opt kcrypto.Options) (*kcrypto.Key, error) {
	if resp.StrengthenKey == nil {
		return reply, nil
	}
	sk, err := kcrypto.NewKey(*resp.StrengthenKey, opt)
	if err != nil {
		return nil, fastModified("its strengthen key is unusable", err)
	}
	return kcrypto.CF2(sk, reply, krb5.PepperStrengthenKey, krb5.PepperReplyKey)
}

// encChallenge builds the client's PA-ENCRYPTED-CHALLENGE (RFC 6113
// 5.4.6): PA-ENC-TS-ENC with the current time, encrypted (usage 54) in
// the client challenge key KRB-FX-CF2(armor key, long-term key,
// "clientchallengearmor", "challengelongterm").
func encChallenge(a *armor, longTerm *kcrypto.Key, now time.Time, rand io.Reader) (krb5.PAData, error) {
	ck, err := kcrypto.CF2(a.key, longTerm, krb5.PepperClientChallenge, krb5.PepperChallengeLT)
	if err != nil {
		return krb5.PAData{}, err
	}
	ed, err := sealTimestamp(ck, kcrypto.UsageEncChallengeClient, now, rand)
	if err != nil {
		return krb5.PAData{}, err
	}
	return krb5.EncryptedChallengePAData(ed), nil
}

// checkKDCChallenge verifies the KDC's PA-ENCRYPTED-CHALLENGE in the FAST
// response padata (RFC 6113 5.4.6): a timestamp within the allowed skew,
// encrypted (usage 55) in KRB-FX-CF2(armor key, long-term key,
// "kdcchallengearmor", "challengelongterm"). It proves that the reply
// comes from a KDC that knows the client's key; a KDC that accepted the
// client's encrypted challenge must send it.
func checkKDCChallenge(a *armor, longTerm *kcrypto.Key, md krb5.MethodData, now time.Time, skew time.Duration) error {
	pa, ok := md.Find(krb5.PAEncryptedChallenge)
	if !ok {
		return fastModified("it accepted the encrypted challenge but sent none of its own", nil)
	}
	ed, err := krb5.DecodeEncryptedChallenge(pa.Value)
	if err != nil {
		return fastModified("its encrypted challenge does not decode", err)
	}
	kk, err := kcrypto.CF2(a.key, longTerm, krb5.PepperKDCChallenge, krb5.PepperChallengeLT)
	if err != nil {
		return err
	}
	plain, err := kk.DecryptData(kcrypto.UsageEncChallengeKDC, ed)
	if err != nil {
		return fastModified("its encrypted challenge does not decrypt with the client's key", err)
	}
	var ts krb5.PAEncTSEnc
	if err := ts.Unmarshal(plain); err != nil {
		return fastModified("its encrypted challenge does not decode", err)
	}
	return checkSkew("encrypted challenge says", ts.Time(), now, skew)
}

// fastModified is a FAST reply that fails its checks: altered in transit,
// or not from the realm's KDC.
func fastModified(what string, cause error) *krb5.Error {
	return &krb5.Error{Code: krb5.KRBAPErrModified,
		Reason: "the KDC's FAST reply is not valid: " + what,
		Hint:   "the reply was altered or does not come from the realm's KDC; check the KDC addresses in krb5.conf, and that the armor ticket is current",
		Err:    cause}
}

// downgrade is the error for an armored request answered without FAST.
// The KDC's code and text are reported as unverified and never acted on.
func downgrade(ke *krb5.KRBError) *krb5.Error {
	reason := "the KDC answered the armored request without FAST protection"
	if ke != nil {
		reason = fmt.Sprintf("the KDC answered the armored request with an unprotected %v", ke.ErrorCode)
		if ke.EText != "" {
			reason += fmt.Sprintf(" (%q, not verified)", ke.EText)
		}
	}
	return &krb5.Error{Code: krb5.KRBAPErrModified, Reason: reason,
		Hint: "the answer was not trusted: the KDC could not use the armor (an armor TGT it does not accept: expired, of another realm, or older than a key change; get a fresh one), does not support FAST (RFC 6113), or something between this host and the KDC removed the protection",
		Err:  ErrFASTDowngrade}
}

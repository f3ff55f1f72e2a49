package kdc

import (
	"crypto/sha256"
	"fmt"
	"strings"
	"time"

	"github.com/warden-auth/warden/krb5"
	"github.com/warden-auth/warden/krb5/kcrypto"
	"github.com/warden-auth/warden/store"
)

// FAST (RFC 6113): a request carrying PA-FX-FAST is a tunnel keyed by an
// armor key. The KDC opens it (armor, req-checksum, KrbFastReq), answers
// the inner request as usual, and wraps the answer: a KDC-REP carries
// only PA-FX-FAST (KrbFastResponse with the strengthen key and the
// ticket checksum) and its enc-part is under the strengthened reply key;
// a KRB-ERROR carries the real error inside PA-FX-ERROR. See
// docs/architecture.md 8.7c.

// fastState is an armored request's tunnel, set once the KrbFastReq has
// been decrypted and its checksum verified; from then on every error is
// answered inside the tunnel.
type fastState struct {
	armorKey *kcrypto.Key
	// device is the explicit armor of a TGS-REQ: the computer whose
	// identity compound identity adds (compound.go). nil otherwise.
	device *armor
	// compound, set by the TGS for a compound-identity service, is the
	// device part signPAC adds to the service ticket's PAC.
	compound *deviceData
	options  krb5.Flags
	nonce    uint32 // the inner request's nonce, echoed in KrbFastResponse
	// armorDigest identifies the armor key without revealing it; a
	// PA-FX-COOKIE is valid only in the conversation (armor) it was
	// issued to.
	armorDigest [16]byte
	// kdcChallenge, after an encrypted challenge verified, is the key
	// the KDC's own challenge is encrypted with (usage 55).
	kdcChallenge *kcrypto.Key
	// replyHalf is PRF+(reply key, "replykey") when the reply key is a
	// long-term key whose PRF+ is cached (strengthening then costs PRF
	// calls of the fresh strengthen key only).
	replyHalf []byte
}

// fastOuterEText is the e-text of the unprotected KRB-ERROR around a FAST
// error: the reason itself travels only inside the tunnel, where a
// man in the middle can neither read nor change it.
const fastOuterEText = "see the FAST-protected error (PA-FX-ERROR)"

// armoredRequest returns the request's PA-FX-FAST, decoded, if it has one.
func (x *exchange) armoredRequest() (*krb5.FastArmoredReq, bool, error) {
	pa, ok := x.req.PAData.Find(krb5.PAFXFast)
	if !ok {
		return nil, false, nil
	}
	var fr krb5.FastArmoredReq
	if err := fr.Unmarshal(pa.Value); err != nil {
		return nil, true, &krb5.Error{Code: krb5.KDCErrPreauthFailed, Reason: "PA-FX-FAST is malformed", Err: err,
			Hint: "the client sent a PA-FX-FAST that is not a PA-FX-FAST-REQUEST"}
	}
	return &fr, true, nil
}

// unwrapAS opens an armored AS-REQ (RFC 6113 5.4.1, 5.4.2): the armor
// must be an AP-REQ on a TGT of this realm, the req-checksum covers the
// outer KDC-REQ-BODY; the inner KrbFastReq's body and padata replace the
// outer ones.
func (x *exchange) unwrapAS(fr *krb5.FastArmoredReq) error {
	if fr.Armor == nil {
		return &krb5.Error{Code: krb5.KDCErrPreauthFailed,
			Reason: "armored AS-REQ without armor: FAST in the AS exchange needs an AP-REQ armor on a TGT of this realm",
			Hint:   "armor the request with a computer's TGT (kinit -T <computer ccache>)"}
	}
	ar, err := x.openArmor(fr.Armor)
	if err != nil {
		return err
	}
	x.res.ArmorClient = ar.client
	return x.openFASTReq(fr, ar.key, x.req.ReqBody.Raw)
}

// openFASTReq verifies the req-checksum over checksummed with the armor
// key (usage 50), decrypts the KrbFastReq (usage 51) and makes its body
// and padata the request's.
func (x *exchange) openFASTReq(fr *krb5.FastArmoredReq, armorKey *kcrypto.Key, checksummed []byte) error {
	if err := armorKey.VerifyChecksum(kcrypto.UsageFastReqChecksum, checksummed, fr.ReqChecksum); err != nil {
		return &krb5.Error{Code: krb5.KRBAPErrModified,
			Reason: "FAST req-checksum does not verify with the armor key: the request was altered or the armor is not the client's",
			Err:    err}
	}
	plain, err := armorKey.DecryptData(kcrypto.UsageFastEnc, fr.EncFastReq)
	if err != nil {
		return &krb5.Error{Code: krb5.KRBAPErrBadIntegrity, Reason: "FAST enc-fast-req does not decrypt with the armor key", Err: err}
	}
	var inner krb5.KrbFastReq
	if err := inner.Unmarshal(plain); err != nil {
		return &krb5.Error{Code: krb5.KDCErrPreauthFailed, Reason: "FAST KrbFastReq is malformed", Err: err}
	}
	fs := &fastState{armorKey: armorKey, options: inner.FastOptions, nonce: inner.ReqBody.Nonce}
	fs.armorDigest = digestKey(armorKey)
	x.fast = fs
	x.res.FAST = true
	if u := inner.UnknownCriticalOptions(); u != 0 {
		return &krb5.Error{Code: krb5.KDCErrUnknownCriticalFastOptions,
			Reason: fmt.Sprintf("unknown critical FAST options %#08x (this KDC knows hide-client-names only)", uint32(u))}
	}
	// From here on only the inner request counts (RFC 6113 5.4.2): the
	// outer body is a copy for KDCs that do not know FAST.
	x.req.ReqBody = inner.ReqBody
	x.req.PAData = inner.PAData
	x.nameInResult()
	return nil
}

// digestKey names an armor key in a cookie: a truncated SHA-256 of the
// key bytes, which says nothing about the key.
func digestKey(k *kcrypto.Key) [16]byte {
	sum := sha256.Sum256(k.Bytes())
	var d [16]byte
	copy(d[:], sum[:])
	return d
}

// hideClient reports whether the client asked that its name stay inside
// the tunnel (RFC 6113 5.4.1 hide-client-names).
func (x *exchange) hideClient() bool {
	return x.fast != nil && x.fast.options.Has(krb5.FastOptHideClientNames)
}

// anonymous is what an outer reply or error names instead of the client
// under hide-client-names (RFC 6113 5.4.3, RFC 6111).
var (
	anonymousName  = krb5.PrincipalName{NameType: krb5.NameTypeWellKnown, NameString: []string{"WELLKNOWN", "ANONYMOUS"}}
	anonymousRealm = "WELLKNOWN:ANONYMOUS"
)

// armor is a verified FX_FAST_ARMOR_AP_REQUEST.
type armor struct {
	key    *kcrypto.Key // CF2(subkey, ticket session key)
	client string       // the armor TGT's client, "WS01$@REALM"
	// What compound identity needs of an explicit TGS armor (the
	// device's TGT, compound.go): the decrypted TGT, the krbtgt key that
	// opened it, and the account it names (nil in another realm).
	tgt     krb5.EncTicketPart
	krbtgt  *principal
	tgtKey  *principalKey
	account *principal
}

// openArmor verifies an AP-REQ armor like the TGS verifies PA-TGS-REQ:
// a TGT of this realm, still valid, whose client still exists and is
// enabled, with an authenticator within the clock skew that carries a
// subkey. armor_key = KRB-FX-CF2(subkey, session key, "subkeyarmor",
// "ticketarmor") (RFC 6113 5.4.1.1). No replay cache: the subkey makes
// every armor key fresh, and a replayed armor only lets its sender use a
// key it does not know.
func (x *exchange) openArmor(a *krb5.KrbFastArmor) (*armor, error) {
	k := x.k
	if a.ArmorType != krb5.ArmorAPRequest {
		return nil, &krb5.Error{Code: krb5.KDCErrPreauthFailed,
			Reason: fmt.Sprintf("unknown FAST armor type %d (this KDC accepts FX_FAST_ARMOR_AP_REQUEST, 1)", a.ArmorType)}
	}
	var ap krb5.APReq
	if err := ap.Unmarshal(a.ArmorValue); err != nil {
		return nil, &krb5.Error{Code: krb5.KDCErrPreauthFailed, Reason: "FAST armor is not a valid AP-REQ", Err: err}
	}
	tn := ap.Ticket.SName.NameString
	if len(tn) != 2 || !strings.EqualFold(tn[0], "krbtgt") || !k.sameRealm(tn[1]) || !k.sameRealm(ap.Ticket.Realm) {
		return nil, &krb5.Error{Code: krb5.KRBAPErrNotUs,
			Reason: fmt.Sprintf("FAST armor ticket is for %s@%s, not krbtgt/%s: armor must be a TGT of this realm", ap.Ticket.SName, ap.Ticket.Realm, k.realm),
			Hint:   "get the computer's TGT from this realm's KDC (kinit -k) and armor with it"}
	}
	ar := &armor{}
	etp := &ar.tgt
	var err error
	if ar.krbtgt, ar.tgtKey, err = x.openTGT(&ap.Ticket, "FAST armor TGT", etp); err != nil {
		return nil, err
	}
	sess, err := kcrypto.NewKey(etp.Key, k.cfg.Crypto)
	if err != nil {
		return nil, &krb5.Error{Code: krb5.KDCErrETypeNoSupp, Reason: "FAST armor TGT session key enctype is not enabled", Err: err}
	}
	plain, err := sess.DecryptData(kcrypto.UsageAPReqAuthenticator, ap.Authenticator)
	if err != nil {
		return nil, &krb5.Error{Code: krb5.KRBAPErrBadIntegrity, Reason: "FAST armor authenticator does not decrypt with the armor TGT's session key", Err: err}
	}
	var auth krb5.Authenticator
	if err := auth.Unmarshal(plain); err != nil {
		return nil, &krb5.Error{Code: krb5.KRBAPErrBadIntegrity, Reason: "FAST armor authenticator is malformed", Err: err}
	}
	client := etp.CName.String() + "@" + etp.CRealm
	if !auth.CName.Equal(etp.CName) || !strings.EqualFold(auth.CRealm, etp.CRealm) {
		return nil, &krb5.Error{Code: krb5.KRBAPErrBadMatch,
			Reason: fmt.Sprintf("FAST armor authenticator names %s@%s but the armor TGT is for %s", auth.CName, auth.CRealm, client)}
	}
	if err := x.checkSkew(auth.Time(), "FAST armor"); err != nil {
		return nil, err
	}
	if err := x.checkTicketTimes(etp, "FAST armor TGT"); err != nil {
		return nil, err
	}
	if auth.Subkey == nil {
		return nil, &krb5.Error{Code: krb5.KDCErrPolicy, Reason: "FAST armor authenticator carries no subkey (RFC 6113 requires one)"}
	}
	sub, err := kcrypto.NewKey(*auth.Subkey, k.cfg.Crypto)
	if err != nil {
		return nil, &krb5.Error{Code: krb5.KDCErrETypeNoSupp, Reason: "FAST armor subkey enctype is not enabled", Err: err}
	}
	// The armor's account must still be in good standing, as for any TGT.
	if k.sameRealm(etp.CRealm) {
		p, err := k.dir.lookup(x.ctx, etp.CName.String())
		if err != nil {
			if isNotFound(err) {
				return nil, &krb5.Error{Code: krb5.KDCErrTGTRevoked, Reason: "the account of the FAST armor TGT (" + client + ") no longer exists"}
			}
			return nil, err
		}
		if p.acct.Flags&store.FlagDisabled != 0 {
			e := errDisabled(client)
			e.Reason = "FAST armor: " + e.Reason
			return nil, e
		}
		ar.account = p
	}
	if ar.key, err = kcrypto.CF2(sub, sess, krb5.PepperSubkeyArmor, krb5.PepperTicketArmor); err != nil {
		return nil, err
	}
	ar.client = client
	return ar, nil
}

// checkTicketTimes refuses a TGT that is marked invalid, not yet valid or
// expired; what names it in the reasons.
func (x *exchange) checkTicketTimes(etp *krb5.EncTicketPart, what string) error {
	if etp.Flags.Has(krb5.TktFlagInvalid) {
		return &krb5.Error{Code: krb5.KRBAPErrTktNYV, Reason: what + " is marked invalid"}
	}
	if st := etp.StartTime; !st.IsZero() && st.Sub(x.now) > x.k.cfg.MaxSkew {
		return &krb5.Error{Code: krb5.KRBAPErrTktNYV, Reason: what + " is not valid until " + st.UTC().Format(time.RFC3339)}
	}
	if !x.now.Before(etp.EndTime) {
		return &krb5.Error{Code: krb5.KRBAPErrTktExpired,
			Reason: what + " expired at " + etp.EndTime.UTC().Format(time.RFC3339), Hint: "run kinit"}
	}
	return nil
}

// unwrapTGS opens an armored TGS-REQ. Without an armor field the armor
// is implicit (RFC 6113 5.4.1.1): the armor key comes from the
// PA-TGS-REQ authenticator's subkey and the TGT session key. With an
// AP-REQ armor (MS-KILE 3.3.5.7.4 explicit armor, the computer's TGT)
// that key is combined with the TGS subkey. The req-checksum covers the
// PA-TGS-REQ AP-REQ as sent.
func (x *exchange) unwrapTGS(fr *krb5.FastArmoredReq, a *tgsAuth, apReq []byte) error {
	if a.subkey == nil {
		return &krb5.Error{Code: krb5.KDCErrPreauthFailed,
			Reason: "armored TGS-REQ whose authenticator carries no subkey: FAST needs one to derive the armor key"}
	}
	var key *kcrypto.Key
	var device *armor
	var err error
	if fr.Armor == nil {
		key, err = kcrypto.CF2(a.subkey, a.sessKey, krb5.PepperSubkeyArmor, krb5.PepperTicketArmor)
	} else {
		if device, err = x.openArmor(fr.Armor); err != nil {
			return err
		}
		x.res.ArmorClient = device.client
		key, err = kcrypto.CF2(device.key, a.subkey, krb5.PepperExplicitArmor, krb5.PepperTGSArmor)
	}
	if err != nil {
		return err
	}
	if err := x.openFASTReq(fr, key, apReq); err != nil {
		return err
	}
	if device == nil {
		return nil
	}
	// Inside the tunnel, so that the client can trust the refusal.
	if err := checkDeviceArmor(device); err != nil {
		return err
	}
	x.fast.device = device
	return nil
}

// armorReply wraps a KDC-REP's extras in PA-FX-FAST (RFC 6113 5.4.3):
// a fresh strengthen key of the reply key's enctype, KrbFastFinished
// with the checksum of the ticket as sent, the padata the reply would
// have carried and the KDC's encrypted challenge. It returns the outer
// padata and the strengthened reply key.
func (x *exchange) armorReply(ticketDER []byte, crealm string, cname krb5.PrincipalName, replyKey *kcrypto.Key, padata krb5.MethodData) (krb5.MethodData, *kcrypto.Key, error) {
	fs, k := x.fast, x.k
	ck, err := fs.armorKey.Checksum(kcrypto.UsageFastFinished, ticketDER)
	if err != nil {
		return nil, nil, err
	}
	sk, err := kcrypto.RandomKey(replyKey.EType(), k.cfg.Rand, k.cfg.Crypto)
	if err != nil {
		return nil, nil, err
	}
	inner := padata
	if fs.kdcChallenge != nil {
		ch, err := x.kdcChallengePAData()
		if err != nil {
			return nil, nil, err
		}
		inner = append(inner, ch)
	}
	if inner == nil {
		inner = krb5.MethodData{}
	}
	strengthenKey := sk.EncryptionKey()
	resp := krb5.KrbFastResponse{
		PAData:        inner,
		StrengthenKey: &strengthenKey,
		Finished: &krb5.KrbFastFinished{
			Timestamp: x.now.UTC().Truncate(time.Second), Usec: int32(x.now.Nanosecond() / 1000),
			CRealm: crealm, CName: cname, TicketChecksum: ck,
		},
		Nonce: fs.nonce,
	}
	pa, err := x.sealFASTResponse(&resp)
	if err != nil {
		return nil, nil, err
	}
	var strengthened *kcrypto.Key
	if fs.replyHalf != nil {
		strengthened, err = cf2Half(sk, krb5.PepperStrengthenKey, fs.replyHalf, k.cfg.Crypto)
	} else {
		strengthened, err = kcrypto.CF2(sk, replyKey, krb5.PepperStrengthenKey, krb5.PepperReplyKey)
	}
	if err != nil {
		return nil, nil, err
	}
	return krb5.MethodData{pa}, strengthened, nil
}

// sealFASTResponse encrypts a KrbFastResponse with the armor key (usage
// 52) into the PA-FX-FAST of a reply or error.
func (x *exchange) sealFASTResponse(resp *krb5.KrbFastResponse) (krb5.PAData, error) {
	plain, err := resp.Marshal()
	if err != nil {
		return krb5.PAData{}, err
	}
	ed, err := x.fast.armorKey.EncryptData(x.k.cfg.Rand, kcrypto.UsageFastRep, plain, 0, false)
	if err != nil {
		return krb5.PAData{}, err
	}
	return krb5.FastArmoredRep{EncFastRep: ed}.PAData()
}

// fastErrorReply is the KRB-ERROR for a refusal inside the tunnel (RFC
// 6113 5.4.3): the real error, without e-data, goes in PA-FX-ERROR
// inside the armored KrbFastResponse, next to the hints (ETYPE-INFO2,
// methods, cookie); the outer error repeats the code, as MIT does, with
// a fixed e-text, and names the client only when it did not ask to hide
// its name.
func (x *exchange) fastErrorReply(ke *krb5.Error, sname krb5.PrincipalName) []byte {
	k := x.k
	cname := x.errCName()
	md := make(krb5.MethodData, 0, 1+len(x.hints))
	md = append(md, krb5.FXErrorPAData(k.errorReply(x.now, ke, cname, sname)))
	md = append(md, x.hints...)
	pa, err := x.sealFASTResponse(&krb5.KrbFastResponse{PAData: md, Nonce: x.fast.nonce})
	if err != nil {
		// Encryption only fails when randomness does; say nothing more.
		return k.errorReply(x.now, &krb5.Error{Code: ke.Code}, nil, sname)
	}
	if x.hideClient() {
		cname = nil
	}
	edata, _ := (&krb5.MethodData{pa}).Marshal()
	return k.errorReplyData(x.now, &krb5.Error{Code: ke.Code, Reason: fastOuterEText}, cname, sname, edata)
}

// fastRequired reports whether client must use FAST: its account says so,
// or the realm does and it is a user. Computers and services are exempt
// from the realm setting: their keys are random, so there is no password
// to guess offline, and a computer must get the TGT that armors its
// users' logons without armor.
func (k *KDC) fastRequired(client *principal) bool {
	if client.acct.Flags&store.FlagFASTRequired != 0 {
		return true
	}
	return client.acct.Kind == store.KindUser && k.dir.realm.Load().FASTRequired
}

// encPARep answers PA-REQ-ENC-PA-REP (RFC 6806 11, which MIT clients send
// in every AS-REQ): the enc-pa-rep flag, a checksum of the request as
// received under the reply key (usage 56), and PA-FX-FAST in the
// encrypted padata. The client thereby learns, protected by its own key,
// that this KDC does FAST, and that nobody removed PA-FX-FAST from an
// earlier unprotected reply. MIT kinit records it in the credential
// cache (fast_avail), so that a cache used as armor later makes kinit -T
// armor its very first request.
func (x *exchange) encPARep(part *krb5.EncKDCRepPart, replyKey *kcrypto.Key) error {
	ck, err := replyKey.Checksum(kcrypto.UsageASReq, x.req.Raw)
	if err != nil {
		return err
	}
	v, err := ck.Marshal()
	if err != nil {
		return err
	}
	part.Flags |= krb5.TktFlagEncPARep
	part.EncryptedPAData = krb5.MethodData{
		{Type: krb5.PAReqEncPARep, Value: v},
		{Type: krb5.PAFXFast, Value: []byte{}},
	}
	return nil
}

// supportedEnctypes is the PA-SUPPORTED-ENCTYPES a TGT's reply carries
// in its encrypted padata (MS-KILE 2.2.8, 3.3.5.6.4.7) when the client
// can be expected to read it — it asked for canonicalization or
// PA-REQ-ENC-PA-REP, or armored the request: the krbtgt's enctypes and
// what this KDC does — FAST, compound identity, claims — so that the
// client knows, under its own key, that TGS requests with this TGT may
// carry a device's armor.
func supportedEnctypes(krbtgt *principal) krb5.PAData {
	bits := krb5.SETFASTSupported | krb5.SETCompoundIdentity | krb5.SETClaimsSupported
	for _, e := range krbtgt.etypes() {
		bits |= enctypeBit(e)
	}
	return krb5.PAData{Type: krb5.PASupportedEnctypes, Value: krb5.EncodeSupportedEnctypes(bits)}
}

// enctypeBit is an enctype's msDS-SupportedEncryptionTypes bit (MS-KILE
// 2.2.7); the RFC 8009 enctypes have none.
func enctypeBit(e krb5.EncType) krb5.SupportedEnctypes {
	switch e {
	case krb5.ETypeAES128CTSHMACSHA196:
		return krb5.SETAES128
	case krb5.ETypeAES256CTSHMACSHA196:
		return krb5.SETAES256
	case krb5.ETypeRC4HMAC:
		return krb5.SETRC4HMAC
	}
	return 0
}

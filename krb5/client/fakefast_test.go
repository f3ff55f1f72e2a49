package client

import (
	"bytes"
	"crypto/rand"
	"time"

	"github.com/warden-auth/warden/krb5"
	"github.com/warden-auth/warden/krb5/kcrypto"
)

// The fake KDC's FAST half (RFC 6113), written from the RFC independently
// of the client code it tests: it derives every key itself and checks
// what the client sends (armor AP-REQ, req-checksum, encrypted
// challenge, cookie echo), so that a client mistake fails a test instead
// of being mirrored by the fake.

// fastCtx is the FAST state of one armored request at the fake KDC.
type fastCtx struct {
	key      *kcrypto.Key
	nonce    uint32
	explicit bool                // armor field present
	armorCN  krb5.PrincipalName  // client of the armor ticket
	inner    krb5.MethodData     // the inner padata as received
	outer    krb5.MethodData     // the outer padata as received
	options  krb5.Flags          // fast-options
	armorTkt *krb5.EncTicketPart // the armor ticket, when explicit
}

// openAPReq decrypts an AP-REQ on a ticket for krbtgt and returns the
// ticket, its session key and the authenticator.
func (f *fakeKDC) openAPReq(b []byte, usage kcrypto.Usage) (*krb5.EncTicketPart, *kcrypto.Key, *krb5.Authenticator, error) {
	var ap krb5.APReq
	if err := ap.Unmarshal(b); err != nil {
		return nil, nil, nil, krb5.NewError(krb5.KRBErrGeneric, "armor AP-REQ does not decode")
	}
	if ap.Ticket.SName.String() != "krbtgt/"+f.realm {
		return nil, nil, nil, krb5.NewError(krb5.KDCErrPreauthFailed, "armor ticket is not a TGT")
	}
	plain, err := f.krbtgt.DecryptData(kcrypto.UsageTicket, ap.Ticket.EncPart)
	if err != nil {
		return nil, nil, nil, krb5.NewError(krb5.KRBAPErrBadIntegrity, "armor ticket does not decrypt")
	}
	var etp krb5.EncTicketPart
	if err := etp.Unmarshal(plain); err != nil {
		return nil, nil, nil, err
	}
	sess, err := kcrypto.NewKey(etp.Key, kcrypto.Options{})
	if err != nil {
		return nil, nil, nil, err
	}
	aplain, err := sess.DecryptData(usage, ap.Authenticator)
	if err != nil {
		return nil, nil, nil, krb5.NewError(krb5.KRBAPErrBadIntegrity, "armor authenticator does not decrypt")
	}
	var auth krb5.Authenticator
	if err := auth.Unmarshal(aplain); err != nil {
		return nil, nil, nil, err
	}
	if !auth.CName.Equal(etp.CName) || auth.CRealm != etp.CRealm {
		return nil, nil, nil, krb5.NewError(krb5.KRBAPErrBadMatch, "armor authenticator client")
	}
	return &etp, sess, &auth, nil
}

// unwrapFAST checks PA-FX-FAST and returns the inner request.
func (f *fakeKDC) unwrapFAST(req *krb5.KDCReq, value []byte) (*krb5.KDCReq, *fastCtx, error) {
	var ar krb5.FastArmoredReq
	if err := ar.Unmarshal(value); err != nil {
		return nil, nil, err
	}
	fc := &fastCtx{outer: req.PAData}
	var checksummed []byte
	var tgsAP []byte
	if req.MsgType == krb5.MsgTGSReq {
		pa, ok := req.PAData.Find(krb5.PATGSReq)
		if !ok {
			return nil, nil, krb5.NewError(krb5.KDCErrPADataTypeNoSupp, "no PA-TGS-REQ")
		}
		tgsAP, checksummed = pa.Value, pa.Value
	} else {
		checksummed = req.ReqBody.Raw
	}
	var armorKey *kcrypto.Key
	if ar.Armor != nil {
		if ar.Armor.ArmorType != krb5.ArmorAPRequest {
			return nil, nil, krb5.NewError(krb5.KDCErrPreauthFailed, "unknown armor type")
		}
		etp, sess, auth, err := f.openAPReq(ar.Armor.ArmorValue, kcrypto.UsageAPReqAuthenticator)
		if err != nil {
			return nil, nil, err
		}
		if auth.Subkey == nil {
			return nil, nil, krb5.NewError(krb5.KDCErrPreauthFailed, "armor authenticator without subkey")
		}
		sub, err := kcrypto.NewKey(*auth.Subkey, kcrypto.Options{})
		if err != nil {
			return nil, nil, err
		}
		if armorKey, err = kcrypto.CF2(sub, sess, "subkeyarmor", "ticketarmor"); err != nil {
			return nil, nil, err
		}
		fc.explicit, fc.armorCN, fc.armorTkt = true, etp.CName, etp
	} else if req.MsgType == krb5.MsgASReq {
		return nil, nil, krb5.NewError(krb5.KDCErrPreauthFailed, "AS FAST without armor")
	}
	if req.MsgType == krb5.MsgTGSReq {
		// The TGS authenticator subkey: implicit armor uses it with the
		// TGT session key, explicit armor mixes it into the armor key.
		_, sess, auth, err := f.openAPReq(tgsAP, kcrypto.UsageTGSReqAuthenticator)
		if err != nil {
			return nil, nil, err
		}
		if auth.Subkey == nil {
			return nil, nil, krb5.NewError(krb5.KDCErrPreauthFailed, "FAST TGS without authenticator subkey")
		}
		sub, err := kcrypto.NewKey(*auth.Subkey, kcrypto.Options{})
		if err != nil {
			return nil, nil, err
		}
		if armorKey == nil {
			armorKey, err = kcrypto.CF2(sub, sess, "subkeyarmor", "ticketarmor")
		} else {
			armorKey, err = kcrypto.CF2(armorKey, sub, "explicitarmor", "tgsarmor")
		}
		if err != nil {
			return nil, nil, err
		}
	}
	fc.key = armorKey
	if err := armorKey.VerifyChecksum(kcrypto.UsageFastReqChecksum, checksummed, ar.ReqChecksum); err != nil {
		return nil, nil, krb5.NewError(krb5.KRBAPErrModified, "FAST req-checksum")
	}
	plain, err := armorKey.DecryptData(kcrypto.UsageFastEnc, ar.EncFastReq)
	if err != nil {
		return nil, nil, krb5.NewError(krb5.KRBAPErrBadIntegrity, "enc-fast-req does not decrypt")
	}
	var fr krb5.KrbFastReq
	if err := fr.Unmarshal(plain); err != nil {
		return nil, nil, err
	}
	if !bytes.Equal(fr.ReqBody.Raw, req.ReqBody.Raw) {
		f.t.Errorf("fake KDC: outer body differs from the inner one")
	}
	fc.nonce, fc.inner, fc.options = fr.ReqBody.Nonce, fr.PAData, fr.FastOptions
	inner := &krb5.KDCReq{MsgType: req.MsgType, PAData: fr.PAData, ReqBody: fr.ReqBody}
	if tgsAP != nil {
		inner.PAData = append(krb5.MethodData{{Type: krb5.PATGSReq, Value: tgsAP}}, inner.PAData...)
	}
	f.mu.Lock()
	f.lastFAST = fc
	f.mu.Unlock()
	return inner, fc, nil
}

// fastPreauth is the armored AS pre-authentication: encrypted challenge
// only. It returns a wrapped PREAUTH_REQUIRED when there is none yet.
func (f *fakeKDC) fastPreauth(req *krb5.KDCReq, fc *fastCtx, user string, etype krb5.EncType) (bool, []byte, error) {
	f.mu.Lock()
	cookie := f.cookie
	f.mu.Unlock()
	info := krb5.ETypeInfo2{{EType: etype, Salt: f.realm + user, HasSalt: true}}
	pa, ok := req.PAData.Find(krb5.PAEncryptedChallenge)
	if !ok {
		if !f.requirePreauth {
			return false, nil, nil
		}
		hints := krb5.MethodData{info.PAData(), {Type: krb5.PAEncryptedChallenge, Value: []byte{}}}
		if cookie != nil {
			hints = append(hints, krb5.FXCookiePAData(cookie))
		}
		return false, f.errReply(fc, krb5.KDCErrPreauthRequired, "", hints), nil
	}
	if cookie != nil {
		if got, ok := req.PAData.Find(krb5.PAFXCookie); !ok || !bytes.Equal(got.Value, cookie) {
			return false, nil, krb5.NewError(krb5.KDCErrPreauthExpired, "cookie missing or wrong")
		}
	}
	ed, err := krb5.DecodeEncryptedChallenge(pa.Value)
	if err != nil {
		return false, nil, err
	}
	ck, err := kcrypto.CF2(fc.key, f.userKey(user, etype), "clientchallengearmor", "challengelongterm")
	if err != nil {
		return false, nil, err
	}
	plain, err := ck.DecryptData(kcrypto.UsageEncChallengeClient, ed)
	if err != nil {
		return false, f.errReply(fc, krb5.KDCErrPreauthFailed, "Preauthentication failed", krb5.MethodData{info.PAData()}), nil
	}
	var ts krb5.PAEncTSEnc
	if err := ts.Unmarshal(plain); err != nil {
		return false, nil, err
	}
	f.mu.Lock()
	f.lastTS = &ts
	f.mu.Unlock()
	if d := ts.Time().Sub(f.clock()); d > 5*time.Minute || d < -5*time.Minute {
		return false, nil, krb5.NewError(krb5.KRBAPErrSkew, "Clock skew too great")
	}
	return true, nil, nil
}

// fastReply puts the FAST response into rep (reply padata = PA-FX-FAST
// only) and returns the strengthened reply key.
func (f *fakeKDC) fastReply(fc *fastCtx, rep *krb5.KDCRep, replyKey *kcrypto.Key, challenged bool) (*kcrypto.Key, error) {
	f.mu.Lock()
	hook, strip, noKDCCh := f.fastHook, f.stripFAST || f.stripFASTReply, f.noKDCChallenge
	f.mu.Unlock()
	strengthen, err := kcrypto.RandomKey(replyKey.EType(), rand.Reader, kcrypto.Options{})
	if err != nil {
		return nil, err
	}
	newKey, err := kcrypto.CF2(strengthen, replyKey, "strengthenkey", "replykey")
	if err != nil {
		return nil, err
	}
	tkt, _ := rep.Ticket.Marshal()
	sum, err := fc.key.Checksum(kcrypto.UsageFastFinished, tkt)
	if err != nil {
		return nil, err
	}
	now := f.clock()
	sk := strengthen.EncryptionKey()
	resp := krb5.KrbFastResponse{
		PAData:        append(krb5.MethodData{}, rep.PAData...),
		StrengthenKey: &sk,
		Finished: &krb5.KrbFastFinished{Timestamp: now.UTC().Truncate(time.Second), Usec: int32(now.Nanosecond() / 1000),
			CRealm: rep.CRealm, CName: rep.CName, TicketChecksum: sum},
		Nonce: fc.nonce,
	}
	if challenged && !noKDCCh {
		kk, err := kcrypto.CF2(fc.key, replyKey, "kdcchallengearmor", "challengelongterm")
		if err != nil {
			return nil, err
		}
		ts := krb5.PAEncTSEnc{PATimestamp: now.UTC().Truncate(time.Second), PAUSec: int32(now.Nanosecond() / 1000), HasUSec: true}
		b, _ := ts.Marshal()
		ed, err := kk.EncryptData(rand.Reader, kcrypto.UsageEncChallengeKDC, b, 0, false)
		if err != nil {
			return nil, err
		}
		resp.PAData = append(resp.PAData, krb5.EncryptedChallengePAData(ed))
	}
	if hook != nil {
		hook(&resp, rep)
	}
	if strip {
		return newKey, nil
	}
	plain, _ := resp.Marshal()
	enc, err := fc.key.EncryptData(rand.Reader, kcrypto.UsageFastRep, plain, 0, false)
	if err != nil {
		return nil, err
	}
	pa, _ := krb5.FastArmoredRep{EncFastRep: enc}.PAData()
	rep.PAData = krb5.MethodData{pa}
	return newKey, nil
}

// errReply answers with a KRB-ERROR, inside the armor when fc is set:
// the outer error repeats the code and carries PA-FX-FAST whose response
// holds PA-FX-ERROR (the error without e-data) and the hints.
func (f *fakeKDC) errReply(fc *fastCtx, code krb5.ErrorCode, text string, hints krb5.MethodData) []byte {
	if fc == nil {
		var edata []byte
		if hints != nil {
			edata, _ = hints.Marshal()
		}
		return f.krbErr(code, text, edata)
	}
	f.mu.Lock()
	hook, strip := f.fastErrHook, f.stripFAST
	f.mu.Unlock()
	innerBytes := f.krbErr(code, text, nil)
	if strip {
		return innerBytes
	}
	resp := krb5.KrbFastResponse{PAData: append(krb5.MethodData{krb5.FXErrorPAData(innerBytes)}, hints...), Nonce: fc.nonce}
	if hook != nil {
		hook(&resp)
	}
	plain, _ := resp.Marshal()
	enc, err := fc.key.EncryptData(rand.Reader, kcrypto.UsageFastRep, plain, 0, false)
	if err != nil {
		f.t.Errorf("fake KDC: %v", err)
	}
	pa, _ := krb5.FastArmoredRep{EncFastRep: enc}.PAData()
	md := krb5.MethodData{pa}
	edata, _ := md.Marshal()
	return f.krbErr(code, "", edata)
}

// negotiate answers PA-REQ-ENC-PA-REP: the enc-pa-rep flag, a checksum
// of the request as received (usage 56, reply key), and PA-FX-FAST when
// the fake does FAST.
func (f *fakeKDC) negotiate(req *krb5.KDCReq, part *krb5.EncKDCRepPart, replyKey *kcrypto.Key) {
	sum, err := replyKey.Checksum(kcrypto.UsageASReq, req.Raw)
	if err != nil {
		f.t.Errorf("fake KDC: %v", err)
		return
	}
	v, _ := sum.Marshal()
	part.Flags |= krb5.TktFlagEncPARep
	part.EncryptedPAData = krb5.MethodData{{Type: krb5.PAReqEncPARep, Value: v}}
	if f.fast {
		part.EncryptedPAData = append(part.EncryptedPAData, krb5.PAData{Type: krb5.PAFXFast, Value: []byte{}})
	}
	f.mu.Lock()
	hook := f.encPARepHook
	f.mu.Unlock()
	if hook != nil {
		hook(part)
	}
}

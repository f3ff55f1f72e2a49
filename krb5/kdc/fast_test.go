package kdc_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/warden-auth/warden/krb5"
	"github.com/warden-auth/warden/krb5/kcrypto"
	"github.com/warden-auth/warden/store"
)

// fastLogin is the armored two-round AS exchange of RFC 6113 with the
// encrypted challenge, checked at every step: PREAUTH_REQUIRED inside the
// tunnel with the hints and a cookie, then the AS-REP whose only padata
// is PA-FX-FAST, whose KrbFastResponse carries the KDC's challenge, the
// strengthen key and the ticket checksum, and whose enc-part is under
// the strengthened reply key.
func (e *env) fastLogin(a fastArmor, name, pw string, opts krb5.Flags) (tgt, krb5.KrbFastResponse, *krb5.KDCRep) {
	e.t.Helper()
	t := e.t
	r := e.asReq(name)
	ke, _, res := e.handle(e.armorAS(r, a, fastReq{opts: opts}))
	if ke == nil || ke.ErrorCode != krb5.KDCErrPreauthRequired {
		t.Fatalf("round 1: %+v (%+v)", ke, res)
	}
	if ke.EText != "see the FAST-protected error (PA-FX-ERROR)" {
		t.Errorf("outer e-text %q leaks more than the code", ke.EText)
	}
	inner, resp := fastError(t, ke, a.key)
	if inner.ErrorCode != krb5.KDCErrPreauthRequired || inner.EText != "pre-authentication required" {
		t.Errorf("inner error %v %q", inner.ErrorCode, inner.EText)
	}
	if resp.Nonce != r.nonce || resp.StrengthenKey != nil || resp.Finished != nil {
		t.Errorf("error response: nonce %d, strengthen %v, finished %v", resp.Nonce, resp.StrengthenKey, resp.Finished)
	}
	cookie, ok := resp.PAData.Find(krb5.PAFXCookie)
	if !ok {
		t.Fatal("PREAUTH_REQUIRED in FAST without PA-FX-COOKIE")
	}
	if pa, ok := resp.PAData.Find(krb5.PAEncryptedChallenge); !ok || len(pa.Value) != 0 {
		t.Error("PA-ENCRYPTED-CHALLENGE not offered (empty)")
	}
	pa, ok := resp.PAData.Find(krb5.PAETypeInfo2)
	if !ok {
		t.Fatal("no ETYPE-INFO2 in the FAST response")
	}
	var info krb5.ETypeInfo2
	if err := info.Unmarshal(pa.Value); err != nil || info[0].Salt != realm+name {
		t.Fatalf("ETYPE-INFO2 %+v %v", info, err)
	}
	if !res.FAST || res.ArmorClient != "WS01$@"+realm {
		t.Errorf("result FAST %v armor %q", res.FAST, res.ArmorClient)
	}

	lt := userKey(t, name, pw, info[0].EType)
	r.nonce++
	ke, rep, res := e.handle(e.armorAS(r, a, fastReq{opts: opts, innerPA: krb5.MethodData{*cookie, encChallenge(t, a.key, lt, e.clock.Now())}}))
	if ke != nil {
		inner, _ := fastError(t, ke, a.key)
		t.Fatalf("round 2: %v %q (%s)", inner.ErrorCode, inner.EText, res.Detail)
	}
	var kr krb5.KDCRep
	if err := kr.Unmarshal(rep); err != nil {
		t.Fatal(err)
	}
	if len(kr.PAData) != 1 || kr.PAData[0].Type != krb5.PAFXFast {
		t.Fatalf("AS-REP padata %v, want PA-FX-FAST only", kr.PAData)
	}
	resp = openFAST(t, kr.PAData, a.key)
	if resp.Nonce != r.nonce || resp.StrengthenKey == nil || resp.Finished == nil {
		t.Fatalf("KrbFastResponse nonce %d strengthen %v finished %v", resp.Nonce, resp.StrengthenKey, resp.Finished)
	}
	tktDER, _ := kr.Ticket.Marshal()
	if err := a.key.VerifyChecksum(kcrypto.UsageFastFinished, tktDER, resp.Finished.TicketChecksum); err != nil {
		t.Errorf("finished ticket-checksum: %v", err)
	}
	if resp.Finished.CName.String() != name || resp.Finished.CRealm != realm {
		t.Errorf("finished names %s@%s", resp.Finished.CName, resp.Finished.CRealm)
	}
	// The KDC proves it knows the long-term key: its challenge opens
	// with CF2(armor key, long-term key, "kdcchallengearmor", ...).
	ch, ok := resp.PAData.Find(krb5.PAEncryptedChallenge)
	if !ok {
		t.Fatal("no KDC PA-ENCRYPTED-CHALLENGE in the FAST response")
	}
	ed, err := krb5.DecodeEncryptedChallenge(ch.Value)
	if err != nil {
		t.Fatal(err)
	}
	kck, _ := kcrypto.CF2(a.key, lt, "kdcchallengearmor", "challengelongterm")
	plain, err := kck.DecryptData(kcrypto.UsageEncChallengeKDC, ed)
	if err != nil {
		t.Fatalf("KDC challenge: %v", err)
	}
	var ts krb5.PAEncTSEnc
	if err := ts.Unmarshal(plain); err != nil || !ts.Time().Equal(e.clock.Now()) {
		t.Errorf("KDC challenge time %v (%v)", ts.Time(), err)
	}
	sk, _ := kcrypto.NewKey(*resp.StrengthenKey, kcrypto.Options{})
	if sk.EType() != lt.EType() {
		t.Errorf("strengthen key %v, reply key %v", sk.EType(), lt.EType())
	}
	reply, _ := kcrypto.CF2(sk, lt, "strengthenkey", "replykey")
	if _, err := lt.DecryptData(kcrypto.UsageASRepEncPart, kr.EncPart); err == nil {
		t.Error("the enc-part opens with the unstrengthened long-term key")
	}
	plain, err = reply.DecryptData(kcrypto.UsageASRepEncPart, kr.EncPart)
	if err != nil {
		t.Fatalf("enc-part under the strengthened reply key: %v", err)
	}
	var part krb5.EncKDCRepPart
	if err := part.Unmarshal(plain); err != nil {
		t.Fatal(err)
	}
	if part.Nonce != r.nonce || !part.Flags.Has(krb5.TktFlagPreAuthent|krb5.TktFlagInitial) {
		t.Errorf("enc-part nonce %d flags %#x", part.Nonce, uint32(part.Flags))
	}
	if !res.OK() || !res.FAST || res.ArmorClient != "WS01$@"+realm {
		t.Errorf("result %+v", res)
	}
	skey, _ := kcrypto.NewKey(part.Key, kcrypto.Options{})
	return tgt{ticket: kr.Ticket, key: skey, part: part}, resp, &kr
}

func TestFASTASEncryptedChallenge(t *testing.T) {
	e := newEnv(t)
	a := e.newArmor(e.computerTGT(), nil)
	tg, _, kr := e.fastLogin(a, "alice", alicePW, 0)
	if kr.CName.String() != "alice" {
		t.Errorf("outer cname %v", kr.CName)
	}
	// The FAST TGT works at the TGS like any other.
	if ke, _, _ := e.handle(e.tgsReq(tg, service, nil)); ke != nil {
		t.Fatalf("TGS with the FAST TGT: %v %s", ke.ErrorCode, ke.EText)
	}
}

// A client that used the account's second key (aes128-sha256): the
// challenge names only the armor key's enctype, so the KDC tries the
// account's other keys, and that key becomes the reply key.
func TestFASTChallengeWithSecondKey(t *testing.T) {
	e := newEnv(t)
	a := e.newArmor(e.computerTGT(), nil)
	r := e.asReq("alice")
	lt := userKey(t, "alice", alicePW, aes128s2)
	ke, rep, res := e.handle(e.armorAS(r, a, fastReq{innerPA: krb5.MethodData{encChallenge(t, a.key, lt, t0)}}))
	if ke != nil {
		inner, _ := fastError(t, ke, a.key)
		t.Fatalf("%v %q (%s)", inner.ErrorCode, inner.EText, res.Detail)
	}
	var kr krb5.KDCRep
	_ = kr.Unmarshal(rep)
	resp := openFAST(t, kr.PAData, a.key)
	sk, _ := kcrypto.NewKey(*resp.StrengthenKey, kcrypto.Options{})
	reply, _ := kcrypto.CF2(sk, lt, "strengthenkey", "replykey")
	if kr.EncPart.EType != aes128s2 {
		t.Errorf("enc-part %v", kr.EncPart.EType)
	}
	if _, err := reply.DecryptData(kcrypto.UsageASRepEncPart, kr.EncPart); err != nil {
		t.Fatal(err)
	}
}

// PA-ENC-TIMESTAMP is accepted inside the tunnel too (Windows does), and
// the reply is armored all the same.
func TestFASTWithEncTimestamp(t *testing.T) {
	e := newEnv(t)
	a := e.newArmor(e.computerTGT(), nil)
	r := e.asReq("alice").withTimestamp(t, alicePW, t0)
	inner := r.padata
	r.padata = nil
	ke, rep, _ := e.handle(e.armorAS(r, a, fastReq{innerPA: inner}))
	if ke != nil {
		in, _ := fastError(t, ke, a.key)
		t.Fatalf("%v %q", in.ErrorCode, in.EText)
	}
	var kr krb5.KDCRep
	_ = kr.Unmarshal(rep)
	resp := openFAST(t, kr.PAData, a.key)
	if _, ok := resp.PAData.Find(krb5.PAEncryptedChallenge); ok {
		t.Error("KDC challenge without a client challenge")
	}
	sk, _ := kcrypto.NewKey(*resp.StrengthenKey, kcrypto.Options{})
	reply, _ := kcrypto.CF2(sk, userKey(t, "alice", alicePW, aes256), "strengthenkey", "replykey")
	if _, err := reply.DecryptData(kcrypto.UsageASRepEncPart, kr.EncPart); err != nil {
		t.Fatal(err)
	}
}

// A wrong password in the encrypted challenge: PREAUTH_FAILED inside the
// tunnel (which MIT kinit reports as "Password incorrect"), the failure
// counted for lockout, and the log told why.
func TestFASTWrongPassword(t *testing.T) {
	e := newEnv(t)
	a := e.newArmor(e.computerTGT(), nil)
	lt := userKey(t, "alice", "not the password", aes256)
	ke, _, res := e.handle(e.armorAS(e.asReq("alice"), a, fastReq{innerPA: krb5.MethodData{encChallenge(t, a.key, lt, t0)}}))
	if ke == nil || ke.ErrorCode != krb5.KDCErrPreauthFailed {
		t.Fatalf("got %+v", ke)
	}
	inner, _ := fastError(t, ke, a.key)
	if inner.ErrorCode != krb5.KDCErrPreauthFailed || inner.EText != "password incorrect for alice@TEST.WARDEN" {
		t.Errorf("inner %v %q", inner.ErrorCode, inner.EText)
	}
	if res.Detail != "wrong password (encrypted challenge)" {
		t.Errorf("detail %q", res.Detail)
	}
	if ke.EText == inner.EText {
		t.Error("the outer error repeats the protected reason")
	}
	acct, _ := e.r.Store.Account(context.Background(), "alice")
	if acct.Lockout.BadCount != 1 {
		t.Errorf("bad count %d", acct.Lockout.BadCount)
	}
}

// hide-client-names: the outer reply and errors name nobody; the real
// name is in KrbFastFinished.
func TestFASTHideClientNames(t *testing.T) {
	e := newEnv(t)
	a := e.newArmor(e.computerTGT(), nil)
	_, resp, kr := e.fastLogin(a, "alice", alicePW, krb5.FastOptHideClientNames)
	if kr.CName.String() != "WELLKNOWN/ANONYMOUS" || kr.CName.NameType != krb5.NameTypeWellKnown || kr.CRealm != "WELLKNOWN:ANONYMOUS" {
		t.Errorf("outer reply names %v@%s", kr.CName, kr.CRealm)
	}
	if resp.Finished.CName.String() != "alice" {
		t.Errorf("finished names %v", resp.Finished.CName)
	}
	lt := userKey(t, "alice", "wrong", aes256)
	ke, _, _ := e.handle(e.armorAS(e.asReq("alice"), a, fastReq{opts: krb5.FastOptHideClientNames,
		innerPA: krb5.MethodData{encChallenge(t, a.key, lt, t0)}}))
	if ke == nil || ke.CName != nil || ke.CRealm != "" {
		t.Fatalf("outer error names the client: %+v", ke)
	}
	if inner, _ := fastError(t, ke, a.key); inner.CName == nil || inner.CName.String() != "alice" {
		t.Errorf("inner error names %v", inner.CName)
	}
}

// Unarmored PREAUTH_REQUIRED tells the client that FAST is available.
func TestPreauthRequiredAdvertisesFAST(t *testing.T) {
	e := newEnv(t)
	ke, _, _ := e.handle(e.asReq("alice").bytes())
	md, err := ke.MethodData()
	if err != nil {
		t.Fatal(err)
	}
	if pa, ok := md.Find(krb5.PAFXFast); !ok || len(pa.Value) != 0 {
		t.Error("PA-FX-FAST not advertised")
	}
	if _, ok := md.Find(krb5.PAFXCookie); ok {
		t.Error("cookie outside FAST")
	}
}

// RFC 6806 FAST negotiation: with PA-REQ-ENC-PA-REP in the request, the
// reply sets enc-pa-rep, checksums the request as sent with the reply
// key and lists PA-FX-FAST in the encrypted padata.
func TestFASTNegotiation(t *testing.T) {
	e := newEnv(t)
	for _, armored := range []bool{false, true} {
		r := e.asReq("alice").withTimestamp(t, alicePW, t0)
		r.padata = append(r.padata, krb5.PAData{Type: krb5.PAReqEncPARep, Value: []byte{}})
		req := r.bytes()
		replyKey := userKey(t, "alice", alicePW, aes256)
		var a fastArmor
		if armored {
			a = e.newArmor(e.computerTGT(), nil)
			inner := r.padata
			r.padata = nil
			req = e.armorAS(r, a, fastReq{innerPA: inner})
		}
		ke, rep, _ := e.handle(req)
		if ke != nil {
			t.Fatalf("armored %v: %v %s", armored, ke.ErrorCode, ke.EText)
		}
		var kr krb5.KDCRep
		_ = kr.Unmarshal(rep)
		if armored {
			resp := openFAST(t, kr.PAData, a.key)
			sk, _ := kcrypto.NewKey(*resp.StrengthenKey, kcrypto.Options{})
			replyKey, _ = kcrypto.CF2(sk, replyKey, "strengthenkey", "replykey")
		}
		plain, err := replyKey.DecryptData(kcrypto.UsageASRepEncPart, kr.EncPart)
		if err != nil {
			t.Fatal(err)
		}
		var part krb5.EncKDCRepPart
		_ = part.Unmarshal(plain)
		if !part.Flags.Has(krb5.TktFlagEncPARep) {
			t.Errorf("armored %v: enc-pa-rep not set", armored)
		}
		pa, ok := part.EncryptedPAData.Find(krb5.PAReqEncPARep)
		if !ok {
			t.Fatalf("armored %v: no PA-REQ-ENC-PA-REP", armored)
		}
		var ck krb5.Checksum
		if err := ck.Unmarshal(pa.Value); err != nil {
			t.Fatal(err)
		}
		if err := replyKey.VerifyChecksum(kcrypto.UsageASReq, req, ck); err != nil {
			t.Errorf("armored %v: request checksum: %v", armored, err)
		}
		if _, ok := part.EncryptedPAData.Find(krb5.PAFXFast); !ok {
			t.Errorf("armored %v: PA-FX-FAST not in the encrypted padata", armored)
		}
		// The ticket itself does not carry the reply-only flag.
		if etp := e.open(kr.Ticket, "krbtgt"); etp.Flags.Has(krb5.TktFlagEncPARep) {
			t.Error("enc-pa-rep in the ticket")
		}
	}
	// Without the padata nothing changes.
	tg := e.login("alice", alicePW)
	if tg.part.Flags.Has(krb5.TktFlagEncPARep) || tg.part.EncryptedPAData != nil {
		t.Error("negotiation answered without PA-REQ-ENC-PA-REP")
	}
}

// The fast-required policy: per account, and realm-wide for users.
func TestFASTRequired(t *testing.T) {
	const wantReason = "FAST armor is required for this account; armor the request with a computer's TGT (MIT: kinit -T <computer ccache>; warden kinit --armor-keytab or --armor-ccache)"
	for _, realmWide := range []bool{false, true} {
		e := newEnv(t)
		a := e.newArmor(e.computerTGT(), nil)
		if realmWide {
			rr, _ := e.r.Store.Realm(context.Background())
			rr.FASTRequired = true
			if err := e.r.Store.UpdateRealm(context.Background(), rr); err != nil {
				t.Fatal(err)
			}
		} else {
			e.setFlags("alice", store.FlagFASTRequired)
		}
		e.refresh()
		// Even with a correct PA-ENC-TIMESTAMP: the key is not used.
		ke, _, res := e.handle(e.asReq("alice").withTimestamp(t, alicePW, t0).bytes())
		if ke == nil || ke.ErrorCode != krb5.KDCErrPreauthRequired || ke.EText != wantReason {
			t.Fatalf("realm-wide %v: unarmored: %+v", realmWide, ke)
		}
		md, _ := ke.MethodData()
		if len(md) != 1 || md[0].Type != krb5.PAFXFast {
			t.Errorf("hints %v, want PA-FX-FAST only", md)
		}
		if res.Detail == "" {
			t.Error("no detail for the log")
		}
		tg, _, _ := e.fastLogin(a, "alice", alicePW, 0)

		// TGS: unarmored refused, armored (implicit) served.
		ke, _, _ = e.handle(e.tgsReq(tg, service, nil))
		if ke == nil || ke.ErrorCode != krb5.KDCErrPolicy || !bytes.HasPrefix([]byte(ke.EText), []byte("FAST armor is required for this account")) {
			t.Fatalf("unarmored TGS: %+v", ke)
		}
		if _, _, err := e.fastTGS(tg, service, nil); err != nil {
			t.Fatalf("armored TGS: %v", err)
		}
		// The computer is exempt from the realm setting (it must log in
		// to armor anything); an explicit flag binds it too.
		if realmWide {
			e.computerTGT()
		}
	}
}

// The computer's own AS exchange is refused unarmored only when its
// account is flagged.
func TestFASTRequiredComputerFlag(t *testing.T) {
	e := newEnv(t)
	e.computerTGT()
	e.setFlags("WS01$", store.FlagFASTRequired)
	e.refresh()
	r := e.asReq("WS01$")
	if ke, _, _ := e.handle(r.bytes()); ke == nil || ke.ErrorCode != krb5.KDCErrPreauthRequired || ke.EText == "pre-authentication required" {
		t.Fatalf("flagged computer: %+v", ke)
	}
}

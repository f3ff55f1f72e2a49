package kdc_test

import (
	"crypto/rand"
	"testing"
	"time"

	"github.com/warden-auth/warden/krb5"
	"github.com/warden-auth/warden/krb5/kcrypto"
)

// fastTGSParts is an armored TGS-REQ under construction.
type fastTGSParts struct {
	body     krb5.KDCReqBody // the inner body (the outer one is a copy)
	noSubkey bool
	explicit *fastArmor // explicit armor (MS-KILE compound identity)
	f        fastReq
	// implicitKey makes the client use the implicit armor key even with
	// explicit armor.
	implicitKey bool
}

// armorTGS builds a FAST TGS-REQ presenting tg: implicit armor unless
// explicit is set. It returns the request and the armor and reply keys.
func (e *env) armorTGS(tg tgt, sname string, mutate func(*fastTGSParts)) ([]byte, *kcrypto.Key, *kcrypto.Key) {
	e.t.Helper()
	now := e.clock.Now()
	p := &fastTGSParts{body: krb5.KDCReqBody{Realm: realm, SName: pn(sname), Till: now.Add(4 * time.Hour), Nonce: 4242,
		EType: []krb5.EncType{aes256, aes128s2}}}
	if mutate != nil {
		mutate(p)
	}
	sub, _ := kcrypto.RandomKey(aes256, rand.Reader, kcrypto.Options{})
	bodyDER, _ := p.body.Marshal()
	ck, _ := tg.key.Checksum(kcrypto.UsageTGSReqAuthCksum, bodyDER)
	subEK := sub.EncryptionKey()
	auth := krb5.Authenticator{CRealm: realm, CName: e.open(tg.ticket, "krbtgt").CName, CTime: now.Truncate(time.Second), Cksum: &ck, Subkey: &subEK}
	if p.noSubkey {
		auth.Subkey = nil
	}
	ab, _ := auth.Marshal()
	encAuth, _ := tg.key.EncryptData(rand.Reader, kcrypto.UsageTGSReqAuthenticator, ab, 0, false)
	ap := krb5.APReq{Ticket: tg.ticket, Authenticator: encAuth}
	apDER, _ := ap.Marshal()
	var armorKey *kcrypto.Key
	if p.explicit != nil && !p.implicitKey {
		armorKey, _ = kcrypto.CF2(p.explicit.key, sub, "explicitarmor", "tgsarmor")
	} else {
		armorKey, _ = kcrypto.CF2(sub, tg.key, "subkeyarmor", "ticketarmor")
	}
	fr := e.sealFAST(armorKey, apDER, p.body, p.f)
	if p.explicit != nil {
		fr.Armor = p.explicit.armor
	}
	fpa, _ := fr.PAData()
	outer := p.body
	req := krb5.KDCReq{MsgType: krb5.MsgTGSReq, PAData: krb5.MethodData{{Type: krb5.PATGSReq, Value: apDER}, fpa}, ReqBody: outer}
	if outer.SName == nil {
		// A client hiding nothing still sends some outer service name.
		req.ReqBody.SName = pn(service)
	}
	b, _ := req.Marshal()
	return b, armorKey, sub
}

// fastTGS sends an armored TGS-REQ and opens the reply: the FAST
// response's finished checksum and nonce, and the enc-part under
// CF2(strengthen key, subkey) (usage 9). A refusal comes back as the
// inner *krb5.Error when the KDC answered inside the tunnel, as the
// outer one otherwise (wrapped reports which).
func (e *env) fastTGS(tg tgt, sname string, mutate func(*fastTGSParts)) (krb5.EncKDCRepPart, *krb5.KDCRep, error) {
	e.t.Helper()
	req, armorKey, sub := e.armorTGS(tg, sname, mutate)
	ke, rep, _ := e.handle(req)
	if ke != nil {
		if md, err := ke.MethodData(); err == nil {
			if _, ok := md.Find(krb5.PAFXFast); ok {
				inner, _ := fastError(e.t, ke, armorKey)
				return krb5.EncKDCRepPart{}, nil, &wrappedErr{inner.Err()}
			}
		}
		return krb5.EncKDCRepPart{}, nil, ke.Err()
	}
	var kr krb5.KDCRep
	if err := kr.Unmarshal(rep); err != nil {
		e.t.Fatal(err)
	}
	if len(kr.PAData) != 1 {
		e.t.Errorf("TGS-REP padata %v, want PA-FX-FAST only", kr.PAData)
	}
	resp := openFAST(e.t, kr.PAData, armorKey)
	if resp.StrengthenKey == nil || resp.Finished == nil || resp.Nonce != 4242 {
		e.t.Fatalf("KrbFastResponse: strengthen %v finished %v nonce %d", resp.StrengthenKey, resp.Finished, resp.Nonce)
	}
	tktDER, _ := kr.Ticket.Marshal()
	if err := armorKey.VerifyChecksum(kcrypto.UsageFastFinished, tktDER, resp.Finished.TicketChecksum); err != nil {
		e.t.Errorf("finished ticket-checksum: %v", err)
	}
	sk, _ := kcrypto.NewKey(*resp.StrengthenKey, kcrypto.Options{})
	reply, _ := kcrypto.CF2(sk, sub, "strengthenkey", "replykey")
	plain, err := reply.DecryptData(kcrypto.UsageTGSRepEncPartSubkey, kr.EncPart)
	if err != nil {
		e.t.Fatalf("TGS-REP enc-part under the strengthened subkey: %v", err)
	}
	var part krb5.EncKDCRepPart
	if err := part.Unmarshal(plain); err != nil {
		e.t.Fatal(err)
	}
	return part, &kr, nil
}

// wrappedErr marks a refusal that came inside the FAST tunnel.
type wrappedErr struct{ ke *krb5.Error }

func (w *wrappedErr) Error() string { return w.ke.Error() }
func (w *wrappedErr) Unwrap() error { return w.ke }

func TestFASTTGSImplicitArmor(t *testing.T) {
	e := newEnv(t)
	tg := e.login("alice", alicePW)
	part, kr, err := e.fastTGS(tg, service, nil)
	if err != nil {
		t.Fatal(err)
	}
	if part.SName.String() != service || part.Nonce != 4242 {
		t.Errorf("reply part %v nonce %d", part.SName, part.Nonce)
	}
	if etp := e.open(kr.Ticket, "HTTP-web"); etp.CName.String() != "alice" {
		t.Errorf("service ticket for %v", etp.CName)
	}
}

// Explicit armor (MS-KILE 3.3.5.7.4): the computer's TGT armors the
// user's TGS-REQ; the armor key combines both, and the result names the
// armor's client.
func TestFASTTGSExplicitArmor(t *testing.T) {
	e := newEnv(t)
	tg := e.login("alice", alicePW)
	a := e.newArmor(e.computerTGT(), nil)
	req, _, _ := e.armorTGS(tg, service, func(p *fastTGSParts) { p.explicit = &a })
	_, _, res := e.handle(req)
	if !res.OK() || !res.FAST || res.ArmorClient != "WS01$@"+realm {
		t.Fatalf("result %+v", res)
	}
	if _, _, err := e.fastTGS(tg, service, func(p *fastTGSParts) { p.explicit = &a }); err != nil {
		t.Fatal(err)
	}
	// With explicit armor the implicit armor key is not the armor key.
	_, _, err := e.fastTGS(tg, service, func(p *fastTGSParts) { p.explicit = &a; p.implicitKey = true })
	var ke *krb5.Error
	if !asKrb5(err, &ke) || ke.Code != krb5.KRBAPErrModified {
		t.Fatalf("implicit key with explicit armor: %v", err)
	}
}

// Every refusal of an armored TGS-REQ, and whether it came inside the
// tunnel.
func TestFASTTGSRefusals(t *testing.T) {
	cases := []struct {
		name       string
		mutate     func(e *env, p *fastTGSParts)
		wantCode   krb5.ErrorCode
		wantReason string
		wrapped    bool
	}{
		{"no subkey", func(e *env, p *fastTGSParts) { p.noSubkey = true },
			krb5.KDCErrPreauthFailed, "armored TGS-REQ whose authenticator carries no subkey: FAST needs one to derive the armor key", false},
		{"wrong req-checksum", func(e *env, p *fastTGSParts) { p.f.badCksum = true },
			krb5.KRBAPErrModified, "FAST req-checksum does not verify with the armor key: the request was altered or the armor is not the client's", false},
		{"KrbFastReq under another key", func(e *env, p *fastTGSParts) { p.f.wrongKey = true },
			krb5.KRBAPErrBadIntegrity, "FAST enc-fast-req does not decrypt with the armor key", false},
		// CVE-2021-37750: MIT's KDC dereferenced the missing server name
		// of the inner request.
		{"inner request without a server name", func(e *env, p *fastTGSParts) { p.body.SName = nil },
			krb5.KDCErrBadOption, "TGS-REQ without a service name", true},
		{"unknown critical option", func(e *env, p *fastTGSParts) { p.f.opts = krb5.Bit(5) },
			krb5.KDCErrUnknownCriticalFastOptions, "unknown critical FAST options 0x04000000 (this KDC knows hide-client-names only)", true},
		{"inner request for an unknown service", func(e *env, p *fastTGSParts) { p.body.SName = pn("HTTP/nope") },
			krb5.KDCErrSPrincipalUnknown, "service HTTP/nope@TEST.WARDEN not found", true},
		{"malformed KrbFastReq", func(e *env, p *fastTGSParts) { p.f.innerBytes = []byte{0x30, 0x00} },
			krb5.KDCErrPreauthFailed, "FAST KrbFastReq is malformed", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			tg := e.login("alice", alicePW)
			_, _, err := e.fastTGS(tg, service, func(p *fastTGSParts) { tc.mutate(e, p) })
			var ke *krb5.Error
			if !asKrb5(err, &ke) {
				t.Fatalf("got %v", err)
			}
			_, wrapped := err.(*wrappedErr)
			if ke.Code != tc.wantCode || ke.Reason != tc.wantReason || wrapped != tc.wrapped {
				t.Errorf("got %v %q (in tunnel %v)\nwant %v %q (in tunnel %v)", ke.Code, ke.Reason, wrapped, tc.wantCode, tc.wantReason, tc.wrapped)
			}
		})
	}
}

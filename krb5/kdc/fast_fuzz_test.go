package kdc_test

import (
	"context"
	"testing"
	"time"

	"github.com/warden-auth/warden/admin"
	"github.com/warden-auth/warden/internal/testkit"
	"github.com/warden-auth/warden/krb5"
	"github.com/warden-auth/warden/krb5/kdc"
)

// fuzzEnv is a realm for fuzz targets: alice, the service, the computer
// WS01$ and a KDC on a fixed clock.
func fuzzEnv(f *testing.F) *env {
	r := testkit.NewRealm(f, realm)
	r.AddUser(f, "alice", alicePW, admin.UserOptions{})
	r.AddService(f, service, admin.ServiceOptions{})
	c := &clock{t: t0}
	k, err := kdc.New(kdc.Config{Store: r.Store, Time: c.Now, PollInterval: time.Hour})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { k.Close() })
	return &env{t: f, r: r, k: k, clock: c}
}

// with is a copy of e reporting to t (inside a fuzz target, the
// *testing.F must not be used).
func (e *env) with(t testing.TB) *env {
	c := *e
	c.t = t
	return &c
}

// checkReply asserts what every answer must be: nothing, a KRB-ERROR or a
// KDC-REP.
func checkReply(t *testing.T, rep []byte) {
	if rep == nil {
		return
	}
	mt, ok := krb5.MessageType(rep)
	if !ok || (mt != krb5.MsgKRBError && mt != krb5.MsgASRep && mt != krb5.MsgTGSRep) {
		t.Fatalf("reply is not a KRB-ERROR or KDC-REP: % x", rep[:min(len(rep), 16)])
	}
}

// FuzzFASTInner puts arbitrary bytes where the KrbFastReq goes, inside a
// valid tunnel (armor, req-checksum, encryption all correct), so that the
// fuzzer reaches what the KDC does with a decrypted inner request:
// options, inner padata (challenge, timestamp, cookie), inner body.
func FuzzFASTInner(f *testing.F) {
	e := fuzzEnv(f)
	a := e.newArmor(e.computerTGT(), nil)
	lt := userKey(f, "alice", alicePW, aes256)
	seed := func(r *asReq, fr fastReq) {
		body := krb5.KDCReqBody{KDCOptions: r.opts, CName: pn(r.cname), Realm: r.realm, SName: pn(r.sname), Till: r.till, Nonce: r.nonce, EType: r.etypes}
		inner := krb5.KrbFastReq{FastOptions: fr.opts, PAData: fr.innerPA, ReqBody: body}
		if inner.PAData == nil {
			inner.PAData = krb5.MethodData{}
		}
		b, _ := inner.Marshal()
		f.Add(b)
	}
	seed(e.asReq("alice"), fastReq{})
	seed(e.asReq("alice"), fastReq{innerPA: krb5.MethodData{encChallenge(f, a.key, lt, t0)}})
	seed(e.asReq("alice"), fastReq{opts: krb5.FastOptHideClientNames, innerPA: krb5.MethodData{e.cookieRound1(a, "alice"), encChallenge(f, a.key, lt, t0)}})
	seed(e.asReq("alice").withTimestamp(f, alicePW, t0), fastReq{})
	seed(e.asReq("nobody"), fastReq{})
	f.Fuzz(func(t *testing.T, inner []byte) {
		e := e.with(t)
		req := e.armorAS(e.asReq("alice"), a, fastReq{innerBytes: inner})
		rep, _ := e.k.Handle(context.Background(), req)
		checkReply(t, rep)
	})
}

// FuzzFASTTGSInner does the same for an implicitly armored TGS-REQ.
func FuzzFASTTGSInner(f *testing.F) {
	e := fuzzEnv(f)
	tg := e.login("alice", alicePW)
	body := krb5.KDCReqBody{Realm: realm, SName: pn(service), Till: t0.Add(time.Hour), Nonce: 4242, EType: []krb5.EncType{aes256}}
	inner := krb5.KrbFastReq{PAData: krb5.MethodData{}, ReqBody: body}
	b, _ := inner.Marshal()
	f.Add(b)
	inner.ReqBody.SName = nil
	b, _ = inner.Marshal()
	f.Add(b)
	f.Fuzz(func(t *testing.T, inner []byte) {
		e := e.with(t)
		req, _, _ := e.armorTGS(tg, service, func(p *fastTGSParts) { p.f.innerBytes = inner })
		rep, _ := e.k.Handle(context.Background(), req)
		checkReply(t, rep)
	})
}

// FuzzFASTCookie puts arbitrary bytes in the PA-FX-COOKIE of an armored
// request, seeded with a real cookie.
func FuzzFASTCookie(f *testing.F) {
	e := fuzzEnv(f)
	a := e.newArmor(e.computerTGT(), nil)
	f.Add(e.cookieRound1(a, "alice").Value)
	f.Add([]byte("WDC1"))
	f.Add([]byte("MIT"))
	f.Fuzz(func(t *testing.T, cookie []byte) {
		e := e.with(t)
		req := e.armorAS(e.asReq("alice"), a, fastReq{innerPA: krb5.MethodData{{Type: krb5.PAFXCookie, Value: cookie}}})
		rep, _ := e.k.Handle(context.Background(), req)
		checkReply(t, rep)
	})
}

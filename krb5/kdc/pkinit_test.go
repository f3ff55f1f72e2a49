package kdc_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"testing"
	"time"

	"github.com/warden-auth/warden/admin"
	"github.com/warden-auth/warden/internal/cms"
	"github.com/warden-auth/warden/internal/testkit"
	"github.com/warden-auth/warden/krb5"
	"github.com/warden-auth/warden/krb5/kcrypto"
	"github.com/warden-auth/warden/krb5/kdc"
	"github.com/warden-auth/warden/krb5/pkinit"
	"github.com/warden-auth/warden/pki"
)

// pkEnv is a KDC with certificate logon and anonymous PKINIT, the realm
// CA that issued its certificate, and alice's logon certificate.
type pkEnv struct {
	*env
	ca    *pki.Authority
	alice *cms.Signer
}

func newPKINITEnv(t testing.TB, mod func(*kdc.PKINITConfig)) *pkEnv {
	t.Helper()
	ctx := context.Background()
	r := testkit.NewRealm(t, realm)
	r.AddUser(t, "alice", alicePW, admin.UserOptions{})
	r.AddUser(t, "bob", "bob's password", admin.UserOptions{})
	r.AddService(t, service, admin.ServiceOptions{})
	c := &clock{t: time.Now().UTC()}
	if _, _, err := pki.EnsureCA(ctx, r.Store, pki.CAOptions{Realm: realm}); err != nil {
		t.Fatal(err)
	}
	ca, err := pki.New(ctx, pki.Config{Store: r.Store})
	if err != nil {
		t.Fatal(err)
	}
	kc, err := ca.IssueKDC(ctx, nil, pki.IssueRequest{})
	if err != nil {
		t.Fatal(err)
	}
	v, _ := pki.NewVerifier(pki.VerifierConfig{Roots: []*x509.Certificate{ca.CA()}, Revocation: ca, Time: c.Now})
	m, _ := pki.NewMapper(ctx, pki.MapperConfig{Store: r.Store})
	pc := &kdc.PKINITConfig{Cert: kc.Cert, Key: kc.Key, Clients: &pki.PKINITChecker{Verifier: v, Mapper: m}, Anonymous: true}
	if mod != nil {
		mod(pc)
	}
	k, err := kdc.New(kdc.Config{Store: r.Store, Time: c.Now, PollInterval: time.Hour, PKINIT: pc})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { k.Close() })
	ai, err := ca.IssueAccount(ctx, "alice", pki.IssueRequest{})
	if err != nil {
		t.Fatal(err)
	}
	return &pkEnv{env: &env{t: t, r: r, k: k, clock: c}, ca: ca, alice: &cms.Signer{Cert: ai.Cert, Key: ai.Key}}
}

// pkReq is a PKINIT AS-REQ under construction.
type pkReq struct {
	cname   string
	sname   string
	opts    krb5.Flags
	signer  *cms.Signer // nil: unsigned (anonymous)
	group   pkinit.Group
	at      time.Time
	nonce   uint32 // PKAuthenticator nonce; 0: the body's
	sumBody []byte // what paChecksum covers; nil: the body
	extraPA krb5.MethodData
	paValue []byte // replaces the PA-PK-AS-REQ value
	fresh   []byte // RFC 8070 freshness token
}

// build returns the AS-REQ and the client state that reads the reply.
func (e *pkEnv) build(p pkReq) ([]byte, *pkinit.ClientState) {
	e.t.Helper()
	cname := pn(p.cname)
	if p.cname == "WELLKNOWN/ANONYMOUS" {
		cname.NameType = krb5.NameTypeWellKnown
	}
	if p.sname == "" {
		p.sname = "krbtgt/" + realm
	}
	body := krb5.KDCReqBody{KDCOptions: p.opts, CName: cname, Realm: realm, SName: pn(p.sname),
		Till: e.clock.Now().Add(8 * time.Hour), Nonce: 4242, EType: []krb5.EncType{aes256, aes128s2}}
	bodyDER, _ := body.Marshal()
	if p.sumBody == nil {
		p.sumBody = bodyDER
	}
	if p.nonce == 0 {
		p.nonce = body.Nonce
	}
	if p.at.IsZero() {
		p.at = e.clock.Now()
	}
	pa, st, err := pkinit.NewClientRequest(pkinit.ClientRequestOptions{Rand: rand.Reader, Signer: p.signer, Group: p.group,
		Nonce: p.nonce, ReqBody: p.sumBody, Time: p.at, FreshnessToken: p.fresh})
	if err != nil {
		e.t.Fatal(err)
	}
	if p.paValue != nil {
		pa = p.paValue
	}
	req := krb5.KDCReq{MsgType: krb5.MsgASReq, PAData: append(krb5.MethodData{{Type: krb5.PAPKASReq, Value: pa}}, p.extraPA...), ReqBody: body}
	b, _ := req.Marshal()
	return b, st
}

// decodePK reads a PKINIT AS-REP: the reply key from the key agreement,
// the enc-part and the padata.
func (e *pkEnv) decodePK(rep, req []byte, st *pkinit.ClientState, cname krb5.PrincipalName, crealm string) (tgt, *kcrypto.Key, krb5.KDCRep) {
	e.t.Helper()
	var kr krb5.KDCRep
	if err := kr.Unmarshal(rep); err != nil {
		e.t.Fatal(err)
	}
	pa, ok := kr.PAData.Find(krb5.PAPKASRep)
	if !ok {
		e.t.Fatal("AS-REP without PA-PK-AS-REP")
	}
	rk, certs, err := st.ParseReply(pa.Value, pkinit.ReplyKeyInput{EType: kr.EncPart.EType,
		Client: pkinit.KRB5PrincipalName{Realm: crealm, Name: cname},
		Server: pkinit.KRB5PrincipalName{Realm: realm, Name: *pn("krbtgt/" + realm)}, ASReq: req})
	if err != nil {
		e.t.Fatal(err)
	}
	if !pkinit.HasEKU(certs[0], pkinit.OIDKPKdc) {
		e.t.Error("the reply is not signed by a KDC certificate")
	}
	key, _ := kcrypto.NewKey(rk, kcrypto.Options{})
	plain, err := key.DecryptData(kcrypto.UsageASRepEncPart, kr.EncPart)
	if err != nil {
		e.t.Fatalf("AS-REP enc-part does not decrypt with the PKINIT reply key: %v", err)
	}
	var part krb5.EncKDCRepPart
	if err := part.Unmarshal(plain); err != nil {
		e.t.Fatal(err)
	}
	sk, _ := kcrypto.NewKey(part.Key, kcrypto.Options{})
	return tgt{ticket: kr.Ticket, key: sk, part: part}, key, kr
}

// Certificate logon for every key-agreement group: the TGT is initial
// and pre-authenticated, its PAC serves a service ticket, and the log
// line says how the certificate was mapped.
func TestPKINITLogon(t *testing.T) {
	e := newPKINITEnv(t, nil)
	for _, g := range []pkinit.Group{pkinit.ECDHP256, pkinit.ECDHP384, pkinit.ECDHP521, pkinit.MODP14} {
		req, st := e.build(pkReq{cname: "alice", signer: e.alice, group: g})
		ke, rep, res := e.handle(req)
		if ke != nil {
			t.Fatalf("%v: %v %s", g, ke.ErrorCode, ke.EText)
		}
		tg, _, _ := e.decodePK(rep, req, st, *pn("alice"), realm)
		if !tg.part.Flags.Has(krb5.TktFlagInitial) || !tg.part.Flags.Has(krb5.TktFlagPreAuthent) {
			t.Errorf("%v: flags %v", g, tg.part.Flags)
		}
		if res.Detail == "" || !bytes.Contains([]byte(res.Detail), []byte("mapped by sid")) {
			t.Errorf("%v: log detail %q", g, res.Detail)
		}
		if ke, _, res := e.handle(e.tgsReq(tg, service, nil)); ke != nil {
			t.Fatalf("%v: TGS with the PKINIT TGT: %v %s (%s)", g, ke.ErrorCode, ke.EText, res.Detail)
		}
	}
}

// The same signed AuthPack twice: the second is a replay.
func TestPKINITReplay(t *testing.T) {
	e := newPKINITEnv(t, nil)
	req, _ := e.build(pkReq{cname: "alice", signer: e.alice})
	if ke, _, _ := e.handle(req); ke != nil {
		t.Fatalf("first: %v %s", ke.ErrorCode, ke.EText)
	}
	ke, _, res := e.handle(req)
	if ke == nil || ke.ErrorCode != krb5.KRBAPErrRepeat || res.Detail != "replayed PA-PK-AS-REQ" {
		t.Fatalf("replay: %+v %+v", ke, res)
	}
}

func selfSigned(t testing.TB, like *x509.Certificate) *cms.Signer {
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(9), Subject: pkix.Name{CommonName: "alice"}, NotBefore: time.Now().Add(-time.Hour),
		NotAfter: time.Now().Add(time.Hour), ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, ExtraExtensions: like.Extensions}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return &cms.Signer{Cert: c, Key: k}
}

// Each refusal has its PKINIT code and a reason saying what to fix.
func TestPKINITRefusals(t *testing.T) {
	e := newPKINITEnv(t, nil)
	ctx := context.Background()
	bobIss, _ := e.ca.IssueAccount(ctx, "bob", pki.IssueRequest{})
	bob := &cms.Signer{Cert: bobIss.Cert, Key: bobIss.Key}
	forged := selfSigned(t, e.alice.Cert)
	wrongKey := &cms.Signer{Cert: e.alice.Cert, Key: forged.Key}
	now := e.clock.Now()
	// An AuthPack without paChecksum, signed properly.
	noSum := func() []byte {
		ap := pkinit.AuthPack{PKAuthenticator: pkinit.PKAuthenticator{CTime: now.Truncate(time.Second), Nonce: 4242}}
		k, _ := pkinit.GenerateKey(rand.Reader, pkinit.ECDHP256)
		ap.ClientPublicValue = k.SubjectPublicKeyInfo()
		apb, _ := ap.Marshal()
		signed, err := cms.Sign(rand.Reader, pkinit.OIDAuthData, apb, e.alice)
		if err != nil {
			t.Fatal(err)
		}
		v, _ := (&pkinit.PAPKASReq{SignedAuthPack: signed}).Marshal()
		return v
	}()
	for _, c := range []struct {
		name  string
		req   pkReq
		code  krb5.ErrorCode
		etext string
	}{
		{"another account's certificate", pkReq{cname: "alice", signer: bob}, krb5.KDCErrClientNameMismatch, "maps to account bob, not to the requested client alice"},
		{"self-signed certificate", pkReq{cname: "alice", signer: forged}, krb5.KDCErrCantVerifyCertificate, "which is not a trusted realm CA"},
		{"signature by another key", pkReq{cname: "alice", signer: wrongKey}, krb5.KDCErrInvalidSig, "does not verify"},
		{"unsigned AuthPack", pkReq{cname: "alice"}, krb5.KDCErrInvalidSig, "only for anonymous PKINIT"},
		{"checksum of another body", pkReq{cname: "alice", signer: e.alice, sumBody: []byte{0x30, 0}}, krb5.KRBAPErrModified, "paChecksum does not match"},
		{"no checksum", pkReq{cname: "alice", paValue: noSum}, krb5.KDCErrPAChecksumMustBeIncluded, "carries no paChecksum"},
		{"nonce", pkReq{cname: "alice", signer: e.alice, nonce: 1}, krb5.KDCErrPreauthFailed, "PKAuthenticator nonce 1 is not the request's nonce 4242"},
		{"clock", pkReq{cname: "alice", signer: e.alice, at: now.Add(-time.Hour)}, krb5.KRBAPErrSkew, "PKINIT: client clock is 1h0m0s behind"},
		{"DH group 2", pkReq{cname: "alice", signer: e.alice, group: pkinit.MODP2}, krb5.KDCErrDHKeyParametersNotAccepted, "group 2 is too weak"},
		{"old and new PA", pkReq{cname: "alice", signer: e.alice, extraPA: krb5.MethodData{{Type: krb5.PAPKASReqOld, Value: []byte{0x30, 0}}}}, krb5.KRBErrGeneric, "both PA-PK-AS-REQ and PA-PK-AS-REQ_OLD"},
		{"garbage", pkReq{cname: "alice", paValue: []byte{0x30, 0x03, 0x80, 0x01, 0x00}}, krb5.KRBErrGeneric, "malformed"},
	} {
		t.Run(c.name, func(t *testing.T) {
			req, _ := e.build(c.req)
			ke, _, res := e.handle(req)
			if ke == nil || ke.ErrorCode != c.code || !bytes.Contains([]byte(ke.EText), []byte(c.etext)) {
				t.Fatalf("got %+v (%+v), want %v %q", ke, res, c.code, c.etext)
			}
			if c.code == krb5.KDCErrDHKeyParametersNotAccepted {
				// e-data: TYPED-DATA with TD-DH-PARAMETERS (109) listing P-256 first.
				if !bytes.Contains(ke.EData, []byte{0xa0, 0x03, 0x02, 0x01, 109}) {
					t.Errorf("no TD-DH-PARAMETERS in e-data %x", ke.EData)
				}
			}
		})
	}
}

// Anonymous PKINIT: a TGT for WELLKNOWN/ANONYMOUS@WELLKNOWN:ANONYMOUS
// with the anonymous flag, whose session key is the PA-PKINIT-KX
// combination; the TGS refuses it for a service ticket.
func TestAnonymousPKINIT(t *testing.T) {
	e := newPKINITEnv(t, nil)
	anon := krb5.PrincipalName{NameType: krb5.NameTypeWellKnown, NameString: []string{"WELLKNOWN", "ANONYMOUS"}}
	req, st := e.build(pkReq{cname: "WELLKNOWN/ANONYMOUS", opts: krb5.KDCOptRequestAnonymous})
	ke, rep, res := e.handle(req)
	if ke != nil {
		t.Fatalf("%v %s", ke.ErrorCode, ke.EText)
	}
	tg, replyKey, kr := e.decodePK(rep, req, st, anon, "WELLKNOWN:ANONYMOUS")
	if kr.CRealm != "WELLKNOWN:ANONYMOUS" || !kr.CName.Equal(anon) || !tg.part.Flags.Has(krb5.TktFlagAnonymous) {
		t.Fatalf("reply %s@%s flags %v", kr.CName, kr.CRealm, tg.part.Flags)
	}
	kx, ok := kr.PAData.Find(krb5.PAPKINITKX)
	if !ok {
		t.Fatal("no PA-PKINIT-KX")
	}
	sess, err := pkinit.ParseKX(kx.Value, replyKey, kcrypto.Options{})
	if err != nil || !bytes.Equal(sess.Bytes(), tg.key.Bytes()) {
		t.Fatalf("session key is not KRB-FX-CF2(contribution, reply key): %v", err)
	}
	if res.Client != "WELLKNOWN/ANONYMOUS@WELLKNOWN:ANONYMOUS" {
		t.Errorf("result client %q", res.Client)
	}
	ke, _, _ = e.handle(e.tgsReq(tg, service, func(p *tgsParts) {
		p.auth.CName, p.auth.CRealm = anon, "WELLKNOWN:ANONYMOUS"
	}))
	if ke == nil || ke.ErrorCode != krb5.KDCErrPolicy || !bytes.Contains([]byte(ke.EText), []byte("only be used as FAST armor")) {
		t.Fatalf("service ticket with the anonymous TGT: %+v", ke)
	}
}

func TestAnonymousRefusals(t *testing.T) {
	e := newPKINITEnv(t, nil)
	for _, c := range []struct {
		name  string
		req   pkReq
		code  krb5.ErrorCode
		etext string
	}{
		{"for a service", pkReq{cname: "WELLKNOWN/ANONYMOUS", sname: service, opts: krb5.KDCOptRequestAnonymous}, krb5.KDCErrPolicy, "issued only for krbtgt/"},
		{"named client", pkReq{cname: "alice", opts: krb5.KDCOptRequestAnonymous}, krb5.KDCErrBadOption, "needs the client name WELLKNOWN/ANONYMOUS"},
		{"signed", pkReq{cname: "WELLKNOWN/ANONYMOUS", signer: e.alice, opts: krb5.KDCOptRequestAnonymous}, krb5.KDCErrBadOption, "unsigned AuthPack"},
	} {
		req, _ := e.build(c.req)
		ke, _, _ := e.handle(req)
		if ke == nil || ke.ErrorCode != c.code || !bytes.Contains([]byte(ke.EText), []byte(c.etext)) {
			t.Errorf("%s: %+v", c.name, ke)
		}
	}
	off := newPKINITEnv(t, func(pc *kdc.PKINITConfig) { pc.Anonymous = false })
	req, _ := off.build(pkReq{cname: "WELLKNOWN/ANONYMOUS", opts: krb5.KDCOptRequestAnonymous})
	if ke, _, _ := off.handle(req); ke == nil || ke.ErrorCode != krb5.KDCErrPolicy {
		t.Errorf("anonymous with anonymous PKINIT off: %+v", ke)
	}
}

// PREAUTH_REQUIRED lists PA-PK-AS-REQ when certificate logon is on
// (MIT's kinit -X only tries PKINIT when the KDC offers it).
func TestPreauthRequiredOffersPKINIT(t *testing.T) {
	e := newPKINITEnv(t, nil)
	ke, _, _ := e.handle(e.asReq("alice").bytes())
	if ke == nil || ke.ErrorCode != krb5.KDCErrPreauthRequired {
		t.Fatalf("%+v", ke)
	}
	var md krb5.MethodData
	if err := md.Unmarshal(ke.EData); err != nil {
		t.Fatal(err)
	}
	if _, ok := md.Find(krb5.PAPKASReq); !ok {
		t.Fatalf("PA-PK-AS-REQ not offered: %+v", md)
	}
}

// BenchmarkHandleASPKINIT is one certificate logon (ECDH P-256, ECDSA
// client and KDC certificates, RFC 8636 SHA-256 KDF): CMS verify, chain
// and revocation check, mapping, key agreement, signing, ticket. The
// requests are made beforehand (each is used once: the replay cache).
func BenchmarkHandleASPKINIT(b *testing.B) {
	e := newPKINITEnv(b, nil)
	reqs := make([][]byte, b.N)
	for i := range reqs {
		reqs[i], _ = e.build(pkReq{cname: "alice", signer: e.alice})
	}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, res := e.k.Handle(ctx, reqs[i]); !res.OK() {
			b.Fatalf("%+v", res)
		}
	}
}

// An accepted certificate is remembered, but a revocation (a write to
// the account DB) reaches the KDC at its next poll: the next logon with
// the certificate is refused as revoked.
func TestPKINITRevokedAfterLogon(t *testing.T) {
	e := newPKINITEnv(t, nil)
	req, _ := e.build(pkReq{cname: "alice", signer: e.alice})
	if ke, _, _ := e.handle(req); ke != nil {
		t.Fatalf("%v %s", ke.ErrorCode, ke.EText)
	}
	if _, err := e.ca.Revoke(context.Background(), pki.SerialString(e.alice.Cert.SerialNumber), pki.ReasonKeyCompromise); err != nil {
		t.Fatal(err)
	}
	e.refresh()
	req, _ = e.build(pkReq{cname: "alice", signer: e.alice})
	if ke, _, _ := e.handle(req); ke == nil || ke.ErrorCode != krb5.KDCErrRevokedCertificate {
		t.Fatalf("after revocation: %+v", ke)
	}
}

// freshToken asks for a freshness token the way MIT does (an empty
// PA-AS-FRESHNESS in the first AS-REQ) and returns it.
func (e *pkEnv) freshToken(cname string) []byte {
	e.t.Helper()
	r := e.asReq(cname)
	if cname == "WELLKNOWN/ANONYMOUS" {
		r.opts = krb5.KDCOptRequestAnonymous
	}
	r.padata = krb5.MethodData{{Type: krb5.PAASFreshness, Value: []byte{}}}
	ke, _, _ := e.handle(r.bytes())
	if ke == nil || ke.ErrorCode != krb5.KDCErrPreauthRequired {
		e.t.Fatalf("%+v", ke)
	}
	var md krb5.MethodData
	if err := md.Unmarshal(ke.EData); err != nil {
		e.t.Fatal(err)
	}
	pa, ok := md.Find(krb5.PAASFreshness)
	if !ok || len(pa.Value) == 0 {
		e.t.Fatalf("no freshness token in %+v", md)
	}
	return pa.Value
}

// RFC 8070 freshness tokens: issued on request with PREAUTH_REQUIRED,
// accepted inside the signed PKAuthenticator for the client they were
// issued to and for freshLifetime; altered, foreign or old ones refused.
func TestPKINITFreshness(t *testing.T) {
	e := newPKINITEnv(t, nil)
	tok := e.freshToken("alice")
	req, _ := e.build(pkReq{cname: "alice", signer: e.alice, fresh: tok})
	ke, _, res := e.handle(req)
	if ke != nil || !bytes.Contains([]byte(res.Detail), []byte("freshness token")) {
		t.Fatalf("%+v %q", ke, res.Detail)
	}
	if tok := e.freshToken("WELLKNOWN/ANONYMOUS"); tok == nil {
		t.Fatal("no token for anonymous")
	} else {
		req, _ := e.build(pkReq{cname: "WELLKNOWN/ANONYMOUS", opts: krb5.KDCOptRequestAnonymous, fresh: tok})
		if ke, _, _ := e.handle(req); ke != nil {
			t.Fatalf("anonymous with its token: %v %s", ke.ErrorCode, ke.EText)
		}
	}
	altered := append([]byte(nil), tok...)
	altered[len(altered)-1] ^= 1
	for _, c := range []struct {
		name  string
		tok   []byte
		later time.Duration
		code  krb5.ErrorCode
		etext string
	}{
		{"altered", altered, 0, krb5.KDCErrPreauthFailed, "not issued by this realm's KDC"},
		{"foreign", []byte("some other KDC's token"), 0, krb5.KDCErrPreauthFailed, "not issued by this realm's KDC"},
		{"another client's", e.freshToken("bob"), 0, krb5.KDCErrPreauthFailed, "issued to another client"},
		{"expired", tok, 11 * time.Minute, krb5.KDCErrPreauthExpired, "freshness token expired"},
	} {
		e.clock.Set(time.Now().UTC().Add(c.later))
		req, _ := e.build(pkReq{cname: "alice", signer: e.alice, fresh: c.tok})
		ke, _, _ := e.handle(req)
		if ke == nil || ke.ErrorCode != c.code || !bytes.Contains([]byte(ke.EText), []byte(c.etext)) {
			t.Errorf("%s: %+v", c.name, ke)
		}
	}
}

// A renewed KDC certificate replaces the old one in a running KDC; a
// certificate without id-pkinit-KPKdc is refused.
func TestSetPKINITCertificate(t *testing.T) {
	e := newPKINITEnv(t, nil)
	ctx := context.Background()
	next, err := e.ca.IssueKDC(ctx, nil, pki.IssueRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.k.SetPKINITCertificate(e.alice.Cert, nil, e.alice.Key); err == nil {
		t.Fatal("a client certificate was accepted as the KDC's")
	}
	if err := e.k.SetPKINITCertificate(next.Cert, nil, next.Key); err != nil {
		t.Fatal(err)
	}
	req, st := e.build(pkReq{cname: "alice", signer: e.alice})
	ke, rep, _ := e.handle(req)
	if ke != nil {
		t.Fatalf("%v %s", ke.ErrorCode, ke.EText)
	}
	var kr krb5.KDCRep
	if err := kr.Unmarshal(rep); err != nil {
		t.Fatal(err)
	}
	pa, _ := kr.PAData.Find(krb5.PAPKASRep)
	_, certs, err := st.ParseReply(pa.Value, pkinit.ReplyKeyInput{EType: kr.EncPart.EType,
		Client: pkinit.KRB5PrincipalName{Realm: realm, Name: *pn("alice")},
		Server: pkinit.KRB5PrincipalName{Realm: realm, Name: *pn("krbtgt/" + realm)}, ASReq: req})
	if err != nil || !certs[0].Equal(next.Cert) {
		t.Fatalf("reply not signed by the new certificate: %v", err)
	}
}

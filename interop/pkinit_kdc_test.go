package interop

import (
	"context"
	"crypto/x509"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/warden-auth/warden/admin"
	"github.com/warden-auth/warden/internal/testkit"
	"github.com/warden-auth/warden/krb5"
	"github.com/warden-auth/warden/krb5/kdc"
	"github.com/warden-auth/warden/pki"
)

// Warden's PKINIT KDC (RFC 4556, RFC 8062; krb5/kdc/pkinit.go,
// anonymous.go) against MIT kinit with the pkinit plugin (Debian
// krb5-pkinit): certificate logon with -X X509_user_identity, anonymous
// PKINIT with -n, and an anonymous TGT as FAST armor (-T). MIT checks
// the KDC certificate (chain to pkinit_anchors, id-pkinit-KPKdc, SAN
// krbtgt/REALM@REALM) and the signed DH reply, so a TGT in MIT's cache
// proves the whole exchange.

// wardenPKINIT is a Warden realm with a CA, a KDC certificate from it,
// PKINIT and anonymous PKINIT on, and an MIT client that trusts the CA.
type wardenPKINIT struct {
	r       *testkit.Realm
	ca      *pki.Authority
	k       *testkit.KDC
	c       *testkit.Client
	results *kdcResults
}

const kdcPKUser, kdcPKPassword = "alice", "correct horse battery"

func newWardenPKINIT(t *testing.T, mod func(*kdc.PKINITConfig, *pki.Authority)) *wardenPKINIT {
	t.Helper()
	testkit.RequirePeer(t, "kinit", "klist", "kvno")
	if _, err := os.Stat("/usr/lib/x86_64-linux-gnu/krb5/plugins/preauth/pkinit.so"); err != nil {
		if matches, _ := filepath.Glob("/usr/lib/*/krb5/plugins/preauth/pkinit.so"); len(matches) == 0 {
			t.Skip("MIT's pkinit plugin is not installed (apt-get install krb5-pkinit)")
		}
	}
	ctx := context.Background()
	r := testkit.NewRealm(t, wardenRealm)
	r.AddUser(t, kdcPKUser, kdcPKPassword, admin.UserOptions{})
	r.AddUser(t, "bob", "bob's password 1", admin.UserOptions{})
	r.AddService(t, "HTTP/web.warden.test", admin.ServiceOptions{})
	if _, _, err := pki.EnsureCA(ctx, r.Store, pki.CAOptions{Realm: r.Name}); err != nil {
		t.Fatal(err)
	}
	ca, err := pki.New(ctx, pki.Config{Store: r.Store})
	if err != nil {
		t.Fatal(err)
	}
	kdcCert, err := ca.IssueKDC(ctx, []string{"kdc.warden.test"}, pki.IssueRequest{})
	if err != nil {
		t.Fatal(err)
	}
	v, err := pki.NewVerifier(pki.VerifierConfig{Roots: []*x509.Certificate{ca.CA()}, Revocation: ca})
	if err != nil {
		t.Fatal(err)
	}
	m, err := pki.NewMapper(ctx, pki.MapperConfig{Store: r.Store})
	if err != nil {
		t.Fatal(err)
	}
	pc := &kdc.PKINITConfig{Cert: kdcCert.Cert, Key: kdcCert.Key, Clients: &pki.PKINITChecker{Verifier: v, Mapper: m}, Anonymous: true}
	if mod != nil {
		mod(pc, ca)
	}
	res := &kdcResults{}
	k := testkit.StartKDC(t, r, kdc.Config{PKINIT: pc}, kdc.ServeConfig{OnResult: res.add})
	c := testkit.NewClient(t, wardenRealm, k.Addr, true)
	anchor := filepath.Join(c.Dir, "ca.pem")
	testkit.WritePEM(t, anchor, "CERTIFICATE", ca.CA().Raw, 0o600)
	conf, err := os.ReadFile(c.Conf)
	if err != nil {
		t.Fatal(err)
	}
	conf = []byte(strings.Replace(string(conf), "[libdefaults]\n", "[libdefaults]\n pkinit_anchors = FILE:"+anchor+"\n", 1))
	if err := os.WriteFile(c.Conf, conf, 0o644); err != nil {
		t.Fatal(err)
	}
	return &wardenPKINIT{r: r, ca: ca, k: k, c: c, results: res}
}

// identityFiles writes an issued certificate and its key as PEM files
// and returns their paths.
func (w *wardenPKINIT) identityFiles(t *testing.T, name string, iss *pki.Issued) (cert, key string) {
	t.Helper()
	cert = filepath.Join(w.c.Dir, name+".crt")
	key = filepath.Join(w.c.Dir, name+".key")
	testkit.WritePEM(t, cert, "CERTIFICATE", iss.Cert.Raw, 0o600)
	kb, err := x509.MarshalPKCS8PrivateKey(iss.Key)
	if err != nil {
		t.Fatal(err)
	}
	testkit.WritePEM(t, key, "PRIVATE KEY", kb, 0o600)
	return cert, key
}

// identity writes an issued certificate and its key as PEM files and
// returns MIT's X509_user_identity for them.
func (w *wardenPKINIT) identity(t *testing.T, name string, iss *pki.Issued) string {
	t.Helper()
	cert, key := w.identityFiles(t, name, iss)
	return "X509_user_identity=FILE:" + cert + "," + key
}

// MIT kinit -X X509_user_identity=FILE:cert,key alice gets a TGT from
// Warden with alice's realm certificate (no password), then kvno gets a
// service ticket with it.
func TestMITKinitPKINITAgainstWarden(t *testing.T) {
	w := newWardenPKINIT(t, nil)
	iss, err := w.ca.IssueAccount(t.Context(), kdcPKUser, pki.IssueRequest{})
	if err != nil {
		t.Fatal(err)
	}
	id := w.identity(t, kdcPKUser, iss)
	trace, err := w.c.RunTraced(t, "", "kinit", "-X", id, kdcPKUser+"@"+wardenRealm)
	if err != nil {
		t.Fatalf("kinit -X: %v\n%s\nKDC: %+v", err, trace, w.results.take())
	}
	mustTrace(t, trace, `PKINIT client verified DH reply`, `Decrypted AS reply`)
	res := w.results.take()
	last := res[len(res)-1]
	// MIT asked for an RFC 8070 freshness token and signed it.
	if !last.OK() || !strings.Contains(last.Detail, "certificate logon") || !strings.Contains(last.Detail, "freshness token") {
		t.Errorf("KDC result %+v", last)
	}
	t.Logf("KDC: %s", last.Detail)
	out, err := w.c.Run(t, "", "klist", "-f")
	if err != nil || !strings.Contains(out, "krbtgt/"+wardenRealm+"@"+wardenRealm) {
		t.Fatalf("klist: %v\n%s", err, out)
	}
	if !regexpMatch(`Flags: [A-Za-z]*I[A-Za-z]*`, out) || !regexpMatch(`Flags: [A-Za-z]*A`, out) {
		t.Errorf("TGT is not initial and pre-authenticated:\n%s", out)
	}
	if out, err := w.c.Run(t, "", "kvno", "HTTP/web.warden.test"); err != nil {
		t.Fatalf("kvno: %v\n%s", err, out)
	}
}

func regexpMatch(p, s string) bool { return regexp.MustCompile(p).MatchString(s) }

// MIT kinit -n gets an anonymous TGT (RFC 8062): client
// WELLKNOWN/ANONYMOUS@WELLKNOWN:ANONYMOUS, the anonymous flag; MIT
// checks the KDC's signed DH reply and PA-PKINIT-KX.
func TestMITKinitAnonymousAgainstWarden(t *testing.T) {
	w := newWardenPKINIT(t, nil)
	trace, err := w.c.RunTraced(t, "", "kinit", "-n", "@"+wardenRealm)
	if err != nil {
		t.Fatalf("kinit -n: %v\n%s\nKDC: %+v", err, trace, w.results.take())
	}
	mustTrace(t, trace, `Processing preauth types: PA-PK-AS-REP \(17\), PA-PKINIT-KX \(147\)`, `PKINIT client verified DH reply`,
		`PKINIT client matched KDC principal krbtgt/WARDEN.TEST@WARDEN.TEST against id-pkinit-san`, `Decrypted AS reply`)
	res := w.results.take()
	t.Logf("KDC: %+v", res[len(res)-1])
	if d := res[len(res)-1].Detail; !strings.Contains(d, "freshness token") {
		t.Errorf("MIT's anonymous request carried no freshness token: %q", d)
	}
	out, err := w.c.Run(t, "", "klist", "-f")
	if err != nil || !strings.Contains(out, "WELLKNOWN/ANONYMOUS@WELLKNOWN:ANONYMOUS") || !strings.Contains(out, "krbtgt/"+wardenRealm+"@"+wardenRealm) {
		t.Fatalf("klist: %v\n%s", err, out)
	}
	if !regexpMatch(`Flags: [A-Za-z]*a`, out) {
		t.Errorf("anonymous TGT lacks the anonymous flag:\n%s", out)
	}
}

// kinit -n, then kinit -T with that anonymous cache: MIT armors alice's
// password logon (FAST, encrypted challenge) with the anonymous TGT —
// FAST on a host with no computer account. Then MIT kvno with the
// anonymous cache is refused: anonymous TGTs are armor only.
func TestMITAnonymousArmorAgainstWarden(t *testing.T) {
	w := newWardenPKINIT(t, nil)
	anon := "FILE:" + filepath.Join(w.c.Dir, "anon.ccache")
	if out, err := w.c.Run(t, "", "kinit", "-n", "-c", anon, "@"+wardenRealm); err != nil {
		t.Fatalf("kinit -n: %v\n%s", err, out)
	}
	w.results.take()
	trace, err := w.c.RunTraced(t, kdcPKPassword+"\n", "kinit", "-T", anon, kdcPKUser+"@"+wardenRealm)
	if err != nil {
		t.Fatalf("kinit -T anonymous: %v\n%s\nKDC: %+v", err, trace, w.results.take())
	}
	mustTrace(t, trace, `Encoding request body and padata into FAST request`,
		`Preauth module encrypted_challenge \(138\) \(real\) returned: 0/Success`, `FAST reply key`, `Decrypted AS reply`)
	res := w.results.take()
	last := res[len(res)-1]
	if !last.OK() || !last.FAST || last.ArmorClient != "WELLKNOWN/ANONYMOUS@WELLKNOWN:ANONYMOUS" || last.Client != kdcPKUser+"@"+wardenRealm {
		t.Errorf("armored logon result %+v", last)
	}
	if out, err := w.c.Run(t, "", "kvno", "HTTP/web.warden.test"); err != nil {
		t.Fatalf("kvno with alice's armored TGT: %v\n%s", err, out)
	}
	w.results.take()

	out, err := w.c.Run(t, "", "kvno", "-c", anon, "HTTP/web.warden.test")
	if err == nil {
		t.Fatalf("kvno with the anonymous TGT succeeded:\n%s", out)
	}
	t.Logf("MIT kvno with the anonymous TGT: %s", strings.TrimSpace(out))
	res = w.results.take()
	if len(res) == 0 || res[len(res)-1].Code != krb5.KDCErrPolicy || !strings.Contains(res[len(res)-1].Reason, "only be used as FAST armor") {
		t.Fatalf("KDC results %+v", res)
	}
}

// Refused certificate logons, each with MIT kinit -X: the KDC answers
// with the PKINIT error code MIT names in its trace, and the reason (the
// e-text, also in the KDC's log line) says what was wrong.
func TestMITKinitPKINITRefusals(t *testing.T) {
	w := newWardenPKINIT(t, nil)
	ctx := t.Context()
	w.r.AddUser(t, "carol", "carol's password 1", admin.UserOptions{})
	w.r.AddUser(t, "dave", "dave's password 1", admin.UserOptions{})

	revoked, err := w.ca.IssueAccount(ctx, kdcPKUser, pki.IssueRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.ca.Revoke(ctx, revoked.Record.Serial, pki.ReasonKeyCompromise); err != nil {
		t.Fatal(err)
	}
	// dave's certificate outlives dave's account: its SID names nobody.
	orphan, err := w.ca.IssueAccount(ctx, "dave", pki.IssueRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.r.Admin.Delete(ctx, "dave"); err != nil {
		t.Fatal(err)
	}
	carols, err := w.ca.IssueAccount(ctx, "carol", pki.IssueRequest{})
	if err != nil {
		t.Fatal(err)
	}
	server, err := w.ca.IssueServer(ctx, []string{"web.warden.test"}, pki.IssueRequest{})
	if err != nil {
		t.Fatal(err)
	}
	w.results.take()
	for _, tc := range []struct {
		name   string
		iss    *pki.Issued
		code   krb5.ErrorCode
		mit    string // MIT's message for the code, in its trace
		reason string
	}{
		{"revoked", revoked, krb5.KDCErrRevokedCertificate, "Revoked certificate", "was revoked at"},
		{"unmapped", orphan, krb5.KDCErrCertificateMismatch, "Certificate mismatch", "names no account"},
		{"another account's", carols, krb5.KDCErrClientNameMismatch, "Client name mismatch", "maps to account carol, not to the requested client alice"},
		{"wrong EKU", server, krb5.KDCErrInconsistentKeyPurpose, "Inconsistent key purpose", "has extended key usage serverAuth; certificate logon needs"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			trace, err := w.c.RunTraced(t, "", "kinit", "-X", w.identity(t, strings.ReplaceAll(tc.name, " ", "_"), tc.iss), kdcPKUser+"@"+wardenRealm)
			if err == nil {
				t.Fatalf("kinit succeeded:\n%s", trace)
			}
			mustTrace(t, trace, `Received error from KDC: -[0-9]+/`+tc.mit)
			var seen bool
			for _, r := range w.results.take() {
				if r.Code == tc.code {
					seen = true
					if !strings.Contains(r.Reason, tc.reason) {
						t.Errorf("reason %q lacks %q", r.Reason, tc.reason)
					}
					t.Logf("KDC: %v: %s", r.Code, r.Reason)
				}
			}
			if !seen {
				t.Errorf("the KDC never answered %v", tc.code)
			}
		})
	}
}

// An expired client certificate: MIT kinit refuses to use it at all
// ("certificate has expired", checked on the client). The KDC's own
// refusal is shown with a KDC whose certificate verifier runs two hours
// ahead, so that a certificate still valid for MIT has expired for it:
// KDC_ERR_INVALID_CERTIFICATE with the dates.
func TestMITKinitPKINITExpiredCertificate(t *testing.T) {
	ahead := func() time.Time { return time.Now().Add(2 * time.Hour) }
	w := newWardenPKINIT(t, func(pc *kdc.PKINITConfig, ca *pki.Authority) {
		v, err := pki.NewVerifier(pki.VerifierConfig{Roots: []*x509.Certificate{ca.CA()}, Revocation: ca, Time: ahead})
		if err != nil {
			t.Fatal(err)
		}
		pc.Clients = &pki.PKINITChecker{Verifier: v, Mapper: pc.Clients.(*pki.PKINITChecker).Mapper}
	})
	ctx := t.Context()
	past, err := pki.New(ctx, pki.Config{Store: w.r.Store, Time: func() time.Time { return time.Now().Add(-61 * time.Minute) }})
	if err != nil {
		t.Fatal(err)
	}
	expired, err := past.IssueAccount(ctx, kdcPKUser, pki.IssueRequest{Lifetime: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	out, err := w.c.Run(t, "", "kinit", "-X", w.identity(t, "expired", expired), kdcPKUser+"@"+wardenRealm)
	if err == nil || !strings.Contains(out, "certificate has expired") {
		t.Fatalf("MIT used an expired certificate: %v\n%s", err, out)
	}
	soon, err := w.ca.IssueAccount(ctx, kdcPKUser, pki.IssueRequest{Lifetime: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	w.results.take()
	trace, err := w.c.RunTraced(t, "", "kinit", "-X", w.identity(t, "soon", soon), kdcPKUser+"@"+wardenRealm)
	if err == nil {
		t.Fatalf("kinit succeeded:\n%s", trace)
	}
	mustTrace(t, trace, `Received error from KDC: -[0-9]+/Invalid certificate`)
	var seen bool
	for _, r := range w.results.take() {
		if r.Code == krb5.KDCErrInvalidCertificate && strings.Contains(r.Reason, "expired at") {
			seen = true
			t.Logf("KDC: %v: %s", r.Code, r.Reason)
		}
	}
	if !seen {
		t.Error("the KDC did not refuse the certificate as expired")
	}
}

// Certificate logon inside FAST armored with an anonymous TGT (MIT
// kinit -n, then kinit -T anon -X): the PKINIT request travels in the
// tunnel; paChecksum covers the inner body.
func TestMITKinitPKINITArmoredAnonymously(t *testing.T) {
	w := newWardenPKINIT(t, nil)
	anon := "FILE:" + filepath.Join(w.c.Dir, "anon.ccache")
	if out, err := w.c.Run(t, "", "kinit", "-n", "-c", anon, "@"+wardenRealm); err != nil {
		t.Fatalf("kinit -n: %v\n%s", err, out)
	}
	iss, err := w.ca.IssueAccount(t.Context(), kdcPKUser, pki.IssueRequest{})
	if err != nil {
		t.Fatal(err)
	}
	w.results.take()
	trace, err := w.c.RunTraced(t, "", "kinit", "-T", anon, "-X", w.identity(t, kdcPKUser, iss), kdcPKUser+"@"+wardenRealm)
	if err != nil {
		t.Fatalf("kinit -T -X: %v\n%s\nKDC: %+v", err, trace, w.results.take())
	}
	mustTrace(t, trace, `Encoding request body and padata into FAST request`, `PKINIT client verified DH reply`, `FAST reply key`, `Decrypted AS reply`)
	res := w.results.take()
	last := res[len(res)-1]
	if !last.OK() || !last.FAST || last.ArmorClient != "WELLKNOWN/ANONYMOUS@WELLKNOWN:ANONYMOUS" || !strings.Contains(last.Detail, "certificate logon") {
		t.Errorf("KDC result %+v", last)
	}
}

// RSA keys on both sides: MIT signs its AuthPack with an RSA-3072
// realm certificate (PKCS#1 v1.5), Warden signs KDCDHKeyInfo with an
// RSA KDC certificate, and MIT verifies it.
func TestMITKinitPKINITRSA(t *testing.T) {
	w := newWardenPKINIT(t, func(pc *kdc.PKINITConfig, ca *pki.Authority) {
		iss, err := ca.IssueKDC(context.Background(), nil, pki.IssueRequest{KeyType: pki.KeyRSA3072})
		if err != nil {
			t.Fatal(err)
		}
		pc.Cert, pc.Key = iss.Cert, iss.Key
	})
	iss, err := w.ca.IssueAccount(t.Context(), kdcPKUser, pki.IssueRequest{KeyType: pki.KeyRSA3072})
	if err != nil {
		t.Fatal(err)
	}
	trace, err := w.c.RunTraced(t, "", "kinit", "-X", w.identity(t, kdcPKUser, iss), kdcPKUser+"@"+wardenRealm)
	if err != nil {
		t.Fatalf("kinit -X: %v\n%s\nKDC: %+v", err, trace, w.results.take())
	}
	mustTrace(t, trace, `PKINIT client verified DH reply`, `Decrypted AS reply`)
	if res := w.results.take(); !res[len(res)-1].OK() {
		t.Errorf("KDC result %+v", res[len(res)-1])
	}
}

// The whole path through the binary's pieces: warden init, warden serve
// with HTTPS (which issues the KDC certificate at its first start),
// warden cert ca and warden cert issue --account alice; then MIT kinit
// -X with that certificate and MIT kinit -n against warden serve's KDC.
func TestMITPKINITAgainstWardenServe(t *testing.T) {
	testkit.RequirePeer(t, "kinit", "klist")
	dir, srv := pkiRealm(t)
	d := "--data=" + dir
	out := t.TempDir()
	anchor := filepath.Join(out, "ca.pem")
	mustWardenCLI(t, "cert", "ca", "-o", anchor, d)
	mustWardenCLI(t, "cert", "issue", "--account", "alice", "--out", filepath.Join(out, "alice"), d)
	if _, err := os.Stat(filepath.Join(dir, "kdc-pkinit.crt")); err != nil {
		t.Fatalf("warden serve did not issue the KDC certificate: %v", err)
	}
	c := testkit.NewClient(t, "PKI.TEST", srv.KDCAddr(), true)
	conf, _ := os.ReadFile(c.Conf)
	conf = []byte(strings.Replace(string(conf), "[libdefaults]\n", "[libdefaults]\n pkinit_anchors = FILE:"+anchor+"\n", 1))
	if err := os.WriteFile(c.Conf, conf, 0o644); err != nil {
		t.Fatal(err)
	}
	id := "X509_user_identity=FILE:" + filepath.Join(out, "alice.crt") + "," + filepath.Join(out, "alice.key")
	if o, err := c.Run(t, "", "kinit", "-X", id, "alice@PKI.TEST"); err != nil {
		t.Fatalf("kinit -X against warden serve: %v\n%s", err, o)
	}
	if o, err := c.Run(t, "", "klist"); err != nil || !strings.Contains(o, "alice@PKI.TEST") {
		t.Fatalf("klist: %v\n%s", err, o)
	}
	anon := "FILE:" + filepath.Join(c.Dir, "anon.ccache")
	if o, err := c.Run(t, "", "kinit", "-n", "-c", anon, "@PKI.TEST"); err != nil {
		t.Fatalf("kinit -n against warden serve: %v\n%s", err, o)
	}
	if o, err := c.Run(t, "", "klist", "-c", anon); err != nil || !strings.Contains(o, "WELLKNOWN/ANONYMOUS@WELLKNOWN:ANONYMOUS") {
		t.Fatalf("klist anonymous: %v\n%s", err, o)
	}
}

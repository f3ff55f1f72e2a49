package pki

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/warden-auth/warden/admin"
	"github.com/warden-auth/warden/internal/testkit"
	"github.com/warden-auth/warden/store"
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type fixture struct {
	realm *testkit.Realm
	clk   *clock
	auth  *Authority
	ver   *Verifier
}

func newFixture(t testing.TB, cfg Config) *fixture {
	t.Helper()
	r := testkit.NewRealm(t, "EXAMPLE.TEST")
	clk := &clock{t: time.Now().UTC().Truncate(time.Second)}
	ctx := context.Background()
	if _, err := CreateCA(ctx, r.Store, CAOptions{Realm: r.Name, Time: clk.Now}); err != nil {
		t.Fatal(err)
	}
	cfg.Store, cfg.Time = r.Store, clk.Now
	a, err := New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	v, err := NewVerifier(VerifierConfig{Roots: []*x509.Certificate{a.CA()}, Revocation: a, Time: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{realm: r, clk: clk, auth: a, ver: v}
}

func (f *fixture) user(t testing.TB, name string, o admin.UserOptions) *store.Account {
	return f.realm.AddUser(t, name, "password of "+name, o)
}

func (f *fixture) issue(t testing.TB, name string) *Issued {
	t.Helper()
	iss, err := f.auth.IssueAccount(context.Background(), name, IssueRequest{})
	if err != nil {
		t.Fatal(err)
	}
	return iss
}

func wantCode(t *testing.T, what string, err error, code Code, reasonHas ...string) {
	t.Helper()
	if CodeOf(err) != code {
		t.Fatalf("%s: got %v, want %s", what, err, code)
	}
	var pe *Error
	errors.As(err, &pe)
	for _, s := range reasonHas {
		if !strings.Contains(pe.Reason, s) {
			t.Fatalf("%s: reason %q does not contain %q", what, pe.Reason, s)
		}
	}
	if !errors.Is(err, &Error{Code: code}) {
		t.Fatalf("%s: errors.Is does not match the code", what)
	}
}

func TestCreateCA(t *testing.T) {
	for _, kt := range []KeyType{KeyECDSAP256, KeyRSA3072} {
		t.Run(string(kt), func(t *testing.T) {
			r := testkit.NewRealm(t, "EXAMPLE.TEST")
			ctx := t.Context()
			_, err := New(ctx, Config{Store: r.Store})
			wantCode(t, "New without a CA", err, CodeNoCA, "EXAMPLE.TEST")
			if !strings.Contains(err.(*Error).Hint, "warden cert ca") {
				t.Fatalf("hint %q does not say what to run", err.(*Error).Hint)
			}
			ca, created, err := EnsureCA(ctx, r.Store, CAOptions{Realm: r.Name, KeyType: kt})
			if err != nil || !created {
				t.Fatalf("EnsureCA: %v created=%v", err, created)
			}
			again, created, err := EnsureCA(ctx, r.Store, CAOptions{Realm: r.Name})
			if err != nil || created || !again.Equal(ca) {
				t.Fatalf("second EnsureCA: %v created=%v", err, created)
			}
			if _, err := CreateCA(ctx, r.Store, CAOptions{Realm: r.Name}); !errors.Is(err, store.ErrExists) {
				t.Fatalf("second CreateCA: %v", err)
			}
			if !ca.IsCA || !ca.MaxPathLenZero || ca.KeyUsage&x509.KeyUsageCertSign == 0 || ca.KeyUsage&x509.KeyUsageCRLSign == 0 {
				t.Fatalf("CA constraints: IsCA=%v pathlen0=%v usage=%v", ca.IsCA, ca.MaxPathLenZero, ca.KeyUsage)
			}
			if life := ca.NotAfter.Sub(ca.NotBefore); life < DefaultCALifetime || life > DefaultCALifetime+time.Hour {
				t.Fatalf("CA lifetime %v", life)
			}
			if ca.SerialNumber.BitLen() < 64 || ca.SerialNumber.BitLen() > 127 {
				t.Fatalf("serial of %d bits", ca.SerialNumber.BitLen())
			}
			want := map[KeyType]string{KeyECDSAP256: "ECDSA P-256", KeyRSA3072: "RSA-3072"}[kt]
			if got := keyDescription(ca.PublicKey); got != want {
				t.Fatalf("CA key %s, want %s", got, want)
			}
			a, err := New(ctx, Config{Store: r.Store})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := a.IssueServer(ctx, []string{"web.example.test"}, IssueRequest{}); err != nil {
				t.Fatalf("issuing with a %s CA: %v", kt, err)
			}
		})
	}
}

func TestIssueAccount(t *testing.T) {
	f := newFixture(t, Config{BaseURL: "https://aa.example.test:8443/"})
	ctx := t.Context()
	alice := f.user(t, "alice", admin.UserOptions{})
	iss := f.issue(t, "alice")
	c := iss.Cert
	if c.Subject.CommonName != "alice" || len(c.ExtKeyUsage) != 1 || c.ExtKeyUsage[0] != x509.ExtKeyUsageClientAuth || c.KeyUsage != x509.KeyUsageDigitalSignature {
		t.Fatalf("certificate: subject %s eku %v ku %v", c.Subject, c.ExtKeyUsage, c.KeyUsage)
	}
	upns, err := CertUPNs(c)
	if err != nil || len(upns) != 1 || upns[0] != alice.UPN {
		t.Fatalf("UPNs %v %v, want %s", upns, err, alice.UPN)
	}
	sid, err := CertSID(c)
	if want := store.SID(f.realm.Admin.Realm().DomainSID, alice.RID); err != nil || sid != want {
		t.Fatalf("SID %q %v, want %s", sid, err, want)
	}
	if life := c.NotAfter.Sub(c.NotBefore); life != DefaultLeafLifetime+backdate {
		t.Fatalf("lifetime %v", life)
	}
	if c.CRLDistributionPoints[0] != "https://aa.example.test:8443/pki/crl" || c.OCSPServer[0] != "https://aa.example.test:8443/pki/ocsp" {
		t.Fatalf("URLs: %v %v", c.CRLDistributionPoints, c.OCSPServer)
	}
	if iss.Key == nil || keyDescription(iss.Key.Public()) != "ECDSA P-256" {
		t.Fatal("no generated P-256 key")
	}
	rec, err := f.auth.Cert(ctx, strings.ToUpper(SerialString(c.SerialNumber)))
	if err != nil || rec.Account != "alice" || rec.Kind != store.CertUser {
		t.Fatalf("record %+v %v", rec, err)
	}
	if _, err := f.ver.VerifyClient([]*x509.Certificate{c}); err != nil {
		t.Fatal(err)
	}

	// RSA key, 30 days.
	iss, err = f.auth.IssueAccount(ctx, "alice", IssueRequest{KeyType: KeyRSA3072, Lifetime: 30 * 24 * time.Hour})
	if err != nil || keyDescription(iss.Cert.PublicKey) != "RSA-3072" || iss.Cert.NotAfter.Sub(iss.Cert.NotBefore) != 30*24*time.Hour+backdate {
		t.Fatalf("RSA issuance: %v", err)
	}

	// A computer gets its FQDN too.
	if _, err := f.realm.Admin.AddComputer(ctx, "ws01", admin.KeyOptions{}); err != nil {
		t.Fatal(err)
	}
	iss = f.issue(t, "WS01$")
	if len(iss.Cert.DNSNames) != 1 || iss.Cert.DNSNames[0] != "ws01.example.test" {
		t.Fatalf("computer DNS names %v", iss.Cert.DNSNames)
	}
	if upns, _ := CertUPNs(iss.Cert); upns[0] != "WS01$@EXAMPLE.TEST" {
		t.Fatalf("computer UPN %v", upns)
	}

	// Refusals.
	_, err = f.auth.IssueAccount(ctx, "nobody", IssueRequest{})
	wantCode(t, "unknown account", err, CodeNotFound, "nobody")
	f.realm.AddService(t, "HTTP/web.example.test", admin.ServiceOptions{})
	svc, err := f.realm.Store.AccountByPrincipal(ctx, "HTTP/web.example.test")
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.auth.IssueAccount(ctx, svc.Name, IssueRequest{})
	wantCode(t, "service account", err, CodeBadRequest, "service")
	f.user(t, "bob", admin.UserOptions{})
	if _, err := f.realm.Admin.SetFlags(ctx, "bob", store.FlagDisabled, 0); err != nil {
		t.Fatal(err)
	}
	_, err = f.auth.IssueAccount(ctx, "bob", IssueRequest{})
	wantCode(t, "disabled account", err, CodeAccountDisabled, "bob")
	_, err = f.auth.IssueAccount(ctx, "alice", IssueRequest{Lifetime: 10 * 365 * 24 * time.Hour})
	wantCode(t, "10-year leaf", err, CodeBadRequest, "lifetime")
}

func TestIssueServer(t *testing.T) {
	f := newFixture(t, Config{})
	ctx := t.Context()
	iss, err := f.auth.IssueServer(ctx, []string{"Web.Example.Test.", "*.apps.example.test", "127.0.0.1"}, IssueRequest{})
	if err != nil {
		t.Fatal(err)
	}
	c := iss.Cert
	if strings.Join(c.DNSNames, " ") != "web.example.test *.apps.example.test" || len(c.IPAddresses) != 1 || c.ExtKeyUsage[0] != x509.ExtKeyUsageServerAuth {
		t.Fatalf("server cert names %v %v eku %v", c.DNSNames, c.IPAddresses, c.ExtKeyUsage)
	}
	for _, name := range []string{"web.example.test", "WEB.example.test", "x.apps.example.test", "127.0.0.1"} {
		if err := f.ver.VerifyServer([]*x509.Certificate{c}, name); err != nil {
			t.Errorf("VerifyServer(%s): %v", name, err)
		}
	}
	for _, name := range []string{"other.example.test", "a.b.apps.example.test", "apps.example.test", "127.0.0.2"} {
		wantCode(t, "VerifyServer("+name+")", f.ver.VerifyServer([]*x509.Certificate{c}, name), CodeNameMismatch,
			"[web.example.test *.apps.example.test 127.0.0.1]", name)
	}
	for _, bad := range [][]string{nil, {"a..b"}, {"-a.b"}, {"a_b.test"}, {"*.test"}, {"a.*.test"}} {
		_, err := f.auth.IssueServer(ctx, bad, IssueRequest{})
		wantCode(t, "IssueServer("+strings.Join(bad, ",")+")", err, CodeBadRequest)
	}
	// A server certificate is not a client certificate, and vice versa.
	_, err = f.ver.VerifyClient([]*x509.Certificate{c})
	wantCode(t, "server cert as client", err, CodeWrongUsage, "serverAuth")
	f.user(t, "alice", admin.UserOptions{})
	wantCode(t, "client cert as server", f.ver.VerifyServer([]*x509.Certificate{f.issue(t, "alice").Cert}, "alice"), CodeWrongUsage, "clientAuth")
}

func csrFor(t testing.TB, key crypto.Signer) []byte {
	t.Helper()
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "ignored"}, DNSNames: []string{"evil.example"}}, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})
}

func TestCSR(t *testing.T) {
	f := newFixture(t, Config{})
	ctx := t.Context()
	f.user(t, "alice", admin.UserOptions{})
	key, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	iss, err := f.auth.IssueAccount(ctx, "alice", IssueRequest{CSR: csrFor(t, key)})
	if err != nil {
		t.Fatal(err)
	}
	if iss.Key != nil || !key.PublicKey.Equal(iss.Cert.PublicKey) || iss.Cert.Subject.CommonName != "alice" || len(iss.Cert.DNSNames) != 0 {
		t.Fatalf("CSR issuance: key %v subject %s names %v (the CSR's names must be ignored)", iss.Key, iss.Cert.Subject, iss.Cert.DNSNames)
	}
	// DER works too.
	blk, _ := pem.Decode(csrFor(t, key))
	if _, err := ParseCSR(blk.Bytes); err != nil {
		t.Fatal(err)
	}

	tampered := append([]byte{}, blk.Bytes...)
	tampered[len(tampered)-5] ^= 1 // inside the signature
	small, _ := rsa.GenerateKey(rand.Reader, 1024)
	for _, tc := range []struct {
		name, reason string
		in           []byte
	}{
		{"garbage", "not a PKCS#10", []byte("hello")},
		{"too big", "at most", make([]byte, MaxCSRSize+1)},
		{"wrong PEM", "not CERTIFICATE REQUEST", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: blk.Bytes})},
		{"bad signature", "proof of possession", tampered},
		{"RSA-1024", "RSA-1024", csrFor(t, small)},
	} {
		_, err := ParseCSR(tc.in)
		wantCode(t, tc.name, err, CodeBadCSR, tc.reason)
	}
}

// selfSigned makes a certificate signed by its own key with the given
// subject and issuer name (a forgery of the realm CA's name when asked).
func selfSigned(t testing.TB, subject, issuer pkix.Name, eku x509.ExtKeyUsage, notBefore, notAfter time.Time) *x509.Certificate {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	parent := &x509.Certificate{Subject: issuer, SerialNumber: big.NewInt(1)}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(99), Subject: subject, NotBefore: notBefore, NotAfter: notAfter,
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{eku}, DNSNames: []string{"web.example.test"}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return c
}

type failingChecker struct{}

func (failingChecker) Status(context.Context, *x509.Certificate, *x509.Certificate) (Status, error) {
	return Status{}, errors.New("responder down")
}

func TestVerifyRefusals(t *testing.T) {
	f := newFixture(t, Config{})
	ctx := t.Context()
	f.user(t, "alice", admin.UserOptions{})
	good := f.issue(t, "alice").Cert
	revoked := f.issue(t, "alice").Cert
	if _, err := f.auth.Revoke(ctx, SerialString(revoked.SerialNumber), ReasonKeyCompromise); err != nil {
		t.Fatal(err)
	}
	now := f.clk.Now()
	sameSubject := selfSigned(t, good.Subject, f.auth.CA().Subject, x509.ExtKeyUsageClientAuth, now.Add(-time.Hour), now.Add(time.Hour))
	selfSignedSame := selfSigned(t, good.Subject, good.Subject, x509.ExtKeyUsageClientAuth, now.Add(-time.Hour), now.Add(time.Hour))
	expiredForged := selfSigned(t, good.Subject, f.auth.CA().Subject, x509.ExtKeyUsageClientAuth, now.Add(-48*time.Hour), now.Add(-24*time.Hour))
	noRevocation, _ := NewVerifier(VerifierConfig{Roots: []*x509.Certificate{f.auth.CA()}, Revocation: failingChecker{}, Time: f.clk.Now})

	tests := []struct {
		name     string
		v        *Verifier
		chain    []*x509.Certificate
		at       time.Time
		wantCode Code
		reason   []string
	}{
		{"good", f.ver, []*x509.Certificate{good}, now, 0, nil},
		{"expired", f.ver, []*x509.Certificate{good}, good.NotAfter.Add(time.Hour), CodeExpired, []string{"expired at " + fmtTime(good.NotAfter), "it is now"}},
		{"not yet valid", f.ver, []*x509.Certificate{good}, good.NotBefore.Add(-time.Hour), CodeNotYetValid, []string{"not valid before " + fmtTime(good.NotBefore)}},
		{"revoked", f.ver, []*x509.Certificate{revoked}, now, CodeRevoked, []string{"revoked at " + fmtTime(now), "keyCompromise"}},
		{"revocation unknown", noRevocation, []*x509.Certificate{good}, now, CodeRevocationUnknown, []string{"could not be determined"}},
		{"forged realm CA name", f.ver, []*x509.Certificate{sameSubject}, now, CodeUnknownIssuer, []string{"not signed by its key"}},
		{"self-signed, same subject", f.ver, []*x509.Certificate{selfSignedSame}, now, CodeUnknownIssuer, []string{"not a trusted realm CA"}},
		{"expired forgery is a forgery", f.ver, []*x509.Certificate{expiredForged}, now, CodeUnknownIssuer, nil},
		{"no certificate", f.ver, nil, now, CodeUnknownIssuer, []string{"no client certificate"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f.clk.mu.Lock()
			saved := f.clk.t
			f.clk.t = tc.at
			f.clk.mu.Unlock()
			defer func() { f.clk.mu.Lock(); f.clk.t = saved; f.clk.mu.Unlock() }()
			leaf, err := tc.v.VerifyClient(tc.chain)
			if tc.wantCode == 0 {
				if err != nil || !leaf.Equal(good) {
					t.Fatalf("VerifyClient: %v", err)
				}
				return
			}
			wantCode(t, tc.name, err, tc.wantCode, tc.reason...)
		})
	}

	// Server side: the same forgery as a server certificate.
	forgedServer := selfSigned(t, pkix.Name{CommonName: "web.example.test"}, f.auth.CA().Subject, x509.ExtKeyUsageServerAuth, now.Add(-time.Hour), now.Add(time.Hour))
	wantCode(t, "forged server", f.ver.VerifyServer([]*x509.Certificate{forgedServer}, "web.example.test"), CodeUnknownIssuer)
	srv, err := f.auth.IssueServer(ctx, []string{"web.example.test"}, IssueRequest{})
	if err != nil {
		t.Fatal(err)
	}
	// Server revocation is soft-fail when unknown, hard when revoked.
	if err := noRevocation.VerifyServer([]*x509.Certificate{srv.Cert}, "web.example.test"); err != nil {
		t.Fatalf("server with unknown revocation status: %v", err)
	}
	f.auth.Revoke(ctx, srv.Record.Serial, ReasonSuperseded)
	wantCode(t, "revoked server", f.ver.VerifyServer([]*x509.Certificate{srv.Cert}, "web.example.test"), CodeRevoked, "superseded")
}

func TestRevoke(t *testing.T) {
	f := newFixture(t, Config{})
	ctx := t.Context()
	f.user(t, "alice", admin.UserOptions{})
	a1, a2 := f.issue(t, "alice"), f.issue(t, "alice")
	c, err := f.auth.Revoke(ctx, a1.Record.Serial, ReasonKeyCompromise)
	if err != nil || !c.IsRevoked() || c.Reason != int(ReasonKeyCompromise) {
		t.Fatalf("Revoke: %+v %v", c, err)
	}
	_, err = f.auth.Revoke(ctx, a1.Record.Serial, ReasonUnspecified)
	wantCode(t, "second revoke", err, CodeAlreadyRevoked, "already revoked at")
	_, err = f.auth.Revoke(ctx, "abcdef", ReasonUnspecified)
	wantCode(t, "unknown serial", err, CodeNotFound, "abcdef")
	_, err = f.auth.Revoke(ctx, "xyz", ReasonUnspecified)
	wantCode(t, "bad serial", err, CodeBadRequest)
	_, err = f.auth.Revoke(ctx, a2.Record.Serial, Reason(6))
	wantCode(t, "certificateHold", err, CodeBadRequest)
	_, err = f.auth.Renew(ctx, a1.Record.Serial, IssueRequest{})
	wantCode(t, "renew revoked", err, CodeAlreadyRevoked)

	n, err := f.auth.Renew(ctx, a2.Record.Serial, IssueRequest{})
	if err != nil || n.Record.Account != "alice" || n.Record.Serial == a2.Record.Serial {
		t.Fatalf("Renew: %+v %v", n, err)
	}
	list, err := f.auth.RevokeAccount(ctx, "alice", ReasonAffiliationChanged)
	if err != nil || len(list) != 2 {
		t.Fatalf("RevokeAccount revoked %d: %v", len(list), err)
	}
	for _, s := range []string{"key-compromise", "KEYCOMPROMISE", "superseded", ""} {
		if _, err := ParseReason(s); err != nil {
			t.Errorf("ParseReason(%q): %v", s, err)
		}
	}
	_, err = ParseReason("certificateHold")
	wantCode(t, "ParseReason(certificateHold)", err, CodeBadRequest)
}

func TestCRL(t *testing.T) {
	f := newFixture(t, Config{CRLLifetime: 2 * time.Hour})
	ctx := t.Context()
	f.user(t, "alice", admin.UserOptions{})
	a1, a2 := f.issue(t, "alice"), f.issue(t, "alice")
	der1, err := f.auth.CRL(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if again, _ := f.auth.CRL(ctx); &again[0] != &der1[0] {
		t.Fatal("unchanged CRL was re-signed")
	}
	f.auth.Revoke(ctx, a1.Record.Serial, ReasonKeyCompromise)
	der2, err := f.auth.CRL(ctx)
	if err != nil {
		t.Fatal(err)
	}
	crl, err := x509.ParseRevocationList(der2)
	if err != nil {
		t.Fatal(err)
	}
	if err := crl.CheckSignatureFrom(f.auth.CA()); err != nil {
		t.Fatal(err)
	}
	if len(crl.RevokedCertificateEntries) != 1 || crl.RevokedCertificateEntries[0].SerialNumber.Cmp(a1.Cert.SerialNumber) != 0 ||
		crl.RevokedCertificateEntries[0].ReasonCode != int(ReasonKeyCompromise) {
		t.Fatalf("CRL entries %+v", crl.RevokedCertificateEntries)
	}
	if crl.NextUpdate.Sub(crl.ThisUpdate) != 2*time.Hour {
		t.Fatalf("CRL validity %v", crl.NextUpdate.Sub(crl.ThisUpdate))
	}
	old, _ := x509.ParseRevocationList(der1)
	if crl.Number.Cmp(old.Number) <= 0 {
		t.Fatal("CRL number did not grow")
	}
	// After half its lifetime the CRL is re-signed; after expiry the
	// revoked certificate leaves it.
	f.clk.Add(time.Hour + time.Second)
	der3, _ := f.auth.CRL(ctx)
	if string(der3) == string(der2) {
		t.Fatal("CRL not re-signed after half its lifetime")
	}
	f.clk.Add(a1.Cert.NotAfter.Sub(f.clk.Now()) + 2*time.Hour)
	der4, _ := f.auth.CRL(ctx)
	crl, _ = x509.ParseRevocationList(der4)
	if len(crl.RevokedCertificateEntries) != 0 {
		t.Fatal("expired certificate still on the CRL")
	}
	_ = a2
}

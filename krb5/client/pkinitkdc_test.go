package client

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/warden-auth/warden/internal/testkit"
	"github.com/warden-auth/warden/krb5"
)

// TestVerifyKDCCertificate: each check of the KDC's certificate refuses
// with its own code and a reason naming what is wrong.
func TestVerifyKDCCertificate(t *testing.T) {
	const realm = "PK.TEST"
	ca := testkit.NewPKICA(t, "PK CA")
	other := testkit.NewPKICA(t, "Someone else's CA")
	cfg := PKINITConfig{Anchors: map[string][]string{"": {"FILE:" + ca.CAFile}}}
	now := time.Now()

	windowsStyle := ca.IssueKDC(t, realm, testkit.CertOptions{NoSAN: true})
	// A Windows KDC certificate names the domain as a dNSName instead.
	windowsStyle = reissueWithDNS(t, ca, windowsStyle, strings.ToLower(realm))

	tests := []struct {
		name       string
		cert       *x509.Certificate
		cfg        PKINITConfig
		realm      string
		wantCode   krb5.ErrorCode
		wantReason string
	}{
		{"good", ca.IssueKDC(t, realm, testkit.CertOptions{}).Cert, cfg, realm, 0, ""},
		{"good EC", ca.IssueKDC(t, realm, testkit.CertOptions{EC: true}).Cert, cfg, realm, 0, ""},
		{"realm anchors", ca.IssueKDC(t, realm, testkit.CertOptions{}).Cert,
			PKINITConfig{Anchors: map[string][]string{realm: {ca.CAFile}}}, realm, 0, ""},
		{"dNSName of the realm", windowsStyle.Cert, cfg, realm, 0, ""},
		{"untrusted issuer", other.IssueKDC(t, realm, testkit.CertOptions{}).Cert, cfg, realm,
			krb5.KDCErrKDCNotTrusted, `does not chain to a trusted anchor (FILE:` + ca.CAFile + `)`},
		{"anchors of another realm only", ca.IssueKDC(t, realm, testkit.CertOptions{}).Cert,
			PKINITConfig{Anchors: map[string][]string{"OTHER.TEST": {ca.CAFile}}}, realm,
			krb5.KDCErrKDCNotTrusted, "no PKINIT trust anchor for the KDC certificates of PK.TEST"},
		{"expired", ca.IssueKDC(t, realm, testkit.CertOptions{NotBefore: now.Add(-3 * time.Hour), NotAfter: now.Add(-time.Hour)}).Cert, cfg, realm,
			krb5.KDCErrInvalidCertificate, "is valid from"},
		{"another realm's KDC", ca.IssueKDC(t, "OTHER.TEST", testkit.CertOptions{}).Cert, cfg, realm,
			krb5.KDCErrKDCNameMismatch, "does not name krbtgt/PK.TEST@PK.TEST (its names: krbtgt/OTHER.TEST@OTHER.TEST)"},
		{"a user's certificate", ca.IssueClient(t, "mallory", realm, testkit.CertOptions{}).Cert, cfg, realm,
			krb5.KDCErrKDCNameMismatch, "its names: mallory@PK.TEST"},
		{"no KPKdc EKU", ca.IssueKDC(t, realm, testkit.CertOptions{EKUs: []asn1.ObjectIdentifier{{1, 3, 6, 1, 5, 5, 7, 3, 1}}}).Cert, cfg, realm,
			krb5.KDCErrInconsistentKeyPurpose, "lack id-pkinit-KPKdc (1.3.6.1.5.2.3.5)"},
		{"unreadable anchors", ca.IssueKDC(t, realm, testkit.CertOptions{}).Cert,
			PKINITConfig{Anchors: map[string][]string{"": {"PKCS11:opensc.so"}}}, realm,
			krb5.KDCErrKDCNotTrusted, `anchor type "PKCS11" is not supported`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := verifyKDCCertificate(tt.cert, nil, tt.cfg, tt.realm, now)
			if tt.wantCode == 0 {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			var ke *krb5.Error
			if !errors.As(err, &ke) || ke.Code != tt.wantCode || !strings.Contains(ke.Reason, tt.wantReason) || ke.Hint == "" {
				t.Fatalf("got %v, want %v with reason containing %q and a hint", err, tt.wantCode, tt.wantReason)
			}
		})
	}
}

// reissueWithDNS issues c's certificate again with a dNSName SAN.
func reissueWithDNS(t *testing.T, ca *testkit.PKICA, c *testkit.IssuedCert, dns string) *testkit.IssuedCert {
	t.Helper()
	tmpl := *c.Cert
	tmpl.DNSNames = []string{dns}
	tmpl.ExtraExtensions = nil
	tmpl.Extensions = nil
	tmpl.Subject = pkix.Name{CommonName: "dc01." + dns}
	der, err := x509.CreateCertificate(nil, &tmpl, ca.Cert, c.Key.Public(), ca.Key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &testkit.IssuedCert{Cert: cert, Key: c.Key}
}

func TestPKINITAnchorsFromKrb5Conf(t *testing.T) {
	dir := t.TempDir()
	ca := testkit.NewPKICA(t, "conf CA")
	b, err := os.ReadFile(ca.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "a.pem"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "crl.txt"), []byte("not a certificate"), 0o644)
	cfg, err := ParseKrb5Conf([]byte("[libdefaults]\n pkinit_anchors = FILE:/nonexistent.pem\n[realms]\n R = {\n  kdc = k\n  pkinit_anchors = DIR:" + dir + "\n }\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.PKINIT.Anchors; len(got[""]) != 1 || len(got["R"]) != 1 || got["R"][0] != "DIR:"+dir {
		t.Fatalf("anchors %v", got)
	}
	if _, _, err := cfg.PKINIT.pool("R"); err == nil || !strings.Contains(err.Error(), "/nonexistent.pem") {
		t.Fatalf("a missing anchor file: %v", err)
	}
	cfg.PKINIT.Anchors[""] = nil
	pool, where, err := cfg.PKINIT.pool("R")
	if err != nil || len(where) != 1 {
		t.Fatal(err, where)
	}
	if _, err := ca.Cert.Verify(x509.VerifyOptions{Roots: pool}); err != nil {
		t.Fatalf("DIR anchors do not hold the CA: %v", err)
	}
}

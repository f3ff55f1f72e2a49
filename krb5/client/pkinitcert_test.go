package client

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"os"
	"strings"
	"testing"

	"github.com/warden-auth/warden/internal/testkit"
)

func TestParseCertificate(t *testing.T) {
	ca := testkit.NewPKICA(t, "cert CA")
	rsaID := ca.IssueClient(t, "alice", "R", testkit.CertOptions{})
	ecID := ca.IssueClient(t, "bob", "R", testkit.CertOptions{EC: true})
	read := func(p string) []byte {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	ecDER, err := x509.MarshalECPrivateKey(ecID.Key.(*ecdsa.PrivateKey))
	if err != nil {
		t.Fatal(err)
	}
	sec1 := pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: ecDER})
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	edDER, _ := x509.MarshalPKCS8PrivateKey(edKey)
	chain := append(read(rsaID.CertFile), read(ca.CAFile)...)

	tests := []struct {
		name      string
		cert, key []byte
		wantLen   int
		wantErr   string
	}{
		{"RSA PKCS#8", read(rsaID.CertFile), read(rsaID.KeyFile), 1, ""},
		{"EC SEC1, key and chain in one file", append(read(ecID.CertFile), sec1...), append(read(ecID.CertFile), sec1...), 1, ""},
		{"chain", chain, read(rsaID.KeyFile), 2, ""},
		{"another certificate's key", read(rsaID.CertFile), read(ecID.KeyFile), 0, "does not belong to the certificate"},
		{"no certificate", read(rsaID.KeyFile), read(rsaID.KeyFile), 0, "no PEM CERTIFICATE"},
		{"no key", read(rsaID.CertFile), read(rsaID.CertFile), 0, "no PEM private key"},
		{"encrypted", read(rsaID.CertFile), pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: []byte{1}}), 0, "decrypt it first"},
		{"ed25519", read(rsaID.CertFile), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: edDER}), 0, "need an RSA or ECDSA key"},
		{"garbage certificate", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte{0x30, 0}}), read(rsaID.KeyFile), 0, "certificate 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ParseCertificate(tt.cert, tt.key)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got %v, want an error containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || len(c.Chain) != tt.wantLen || c.Key == nil {
				t.Fatalf("got %v, %+v", err, c)
			}
		})
	}
	if _, err := LoadCertificate(rsaID.CertFile, rsaID.KeyFile); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadCertificate(rsaID.CertFile, ecID.KeyFile); err == nil || !strings.Contains(err.Error(), rsaID.CertFile) {
		t.Fatalf("LoadCertificate error should name the files: %v", err)
	}
}

// FuzzParseCertificate: whatever PEM the identity and anchor files hold,
// parsing ends in a clean error or a chain within its cap, never a panic.
// Seeded with a real identity (EC key, chain with its CA).
func FuzzParseCertificate(f *testing.F) {
	ca := testkit.NewPKICA(f, "fuzz CA")
	id := ca.IssueClient(f, "alice", "R", testkit.CertOptions{EC: true})
	read := func(p string) []byte {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		return b
	}
	f.Add(append(read(id.CertFile), read(ca.CAFile)...), read(id.KeyFile))
	f.Add([]byte("-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----\n"), []byte("-----BEGIN PRIVATE KEY-----\nMAA=\n-----END PRIVATE KEY-----\n"))
	f.Fuzz(func(t *testing.T, certPEM, keyPEM []byte) {
		if c, err := ParseCertificate(certPEM, keyPEM); err == nil && (len(c.Chain) == 0 || len(c.Chain) > maxChain || c.Key == nil) {
			t.Fatalf("accepted an identity with %d certificates, key %v", len(c.Chain), c.Key != nil)
		}
		if certs, err := parsePEMCerts(certPEM, "f"); err == nil && (len(certs) == 0 || len(certs) > maxAnchors) {
			t.Fatalf("%d anchors", len(certs))
		}
	})
}

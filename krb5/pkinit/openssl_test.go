package pkinit

import (
	"crypto/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// OpenSSL (a parser we did not write) reads our clientPublicValue
// SubjectPublicKeyInfos: the RFC 5349 named-curve EC keys and the X9.42
// dhpublicnumber keys with {p, g, q} of groups 2 and 14. MIT krb5 1.20
// sends DH only (ECDH arrives in MIT 1.22), so this is the outside check
// of the EC encoding.
func TestOpenSSLReadsPublicKeyInfo(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("openssl not installed")
	}
	for g, want := range map[Group]string{
		ECDHP256: "prime256v1", ECDHP384: "secp384r1", ECDHP521: "secp521r1",
		MODP14: "(2048 bit)", MODP2: "(1024 bit)",
	} {
		k, err := GenerateKey(rand.Reader, g)
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(t.TempDir(), "spki.der")
		if err := os.WriteFile(path, k.SubjectPublicKeyInfo(), 0o600); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command("openssl", "pkey", "-pubin", "-inform", "DER", "-in", path, "-text", "-noout").CombinedOutput()
		if err != nil || !strings.Contains(string(out), want) {
			t.Errorf("%v: openssl: %v\n%s", g, err, out)
		}
	}
}

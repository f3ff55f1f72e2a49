package admin

import (
	"bytes"
	"encoding/hex"
	"testing"

	"github.com/warden-auth/warden/krb5"
	"github.com/warden-auth/warden/store"
)

func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// H(A1) against RFC 7616 3.9.1 (MD5, SHA-256; SHA-512-256 from the spec
// digest, same inputs).
func TestDigestHA1Vectors(t *testing.T) {
	for _, tc := range []struct{ alg, want string }{
		{"MD5", "3d78807defe7de2157e2b0b6573a855f"},
		{"MD5-sess", "3d78807defe7de2157e2b0b6573a855f"}, // -sess stores the same H(A1) base
		{"SHA-256", "7987c64c30e25f1b74be53f966b49b90f2808aa92faf9a00262392d7b4794232"},
		{"SHA-512-256", "fb174f5c3c7802721517cae13b98e2b8dae2e0118cb705d94ee29946319204ce"},
	} {
		got := DigestHA1(tc.alg, "Mufasa", "http-auth@example.org", "Circle of Life")
		if !bytes.Equal(got, unhex(t, tc.want)) {
			t.Errorf("%s: %x, want %s", tc.alg, got, tc.want)
		}
	}
}

func TestSalt(t *testing.T) {
	for _, tc := range []struct {
		acct store.Account
		want string
	}{
		{store.Account{Kind: store.KindUser, Name: "alice"}, "EXAMPLE.COMalice"},
		{store.Account{Kind: store.KindComputer, Name: "WS1$"}, "EXAMPLE.COMhostws1.example.com"},
		{store.Account{Kind: store.KindService, Name: "HTTP-web", SPNs: []string{"HTTP/web.example.com"}}, "EXAMPLE.COMHTTPweb.example.com"},
	} {
		if got := Salt("EXAMPLE.COM", &tc.acct); got != tc.want {
			t.Errorf("%s: salt %q, want %q", tc.acct.Name, got, tc.want)
		}
	}
}

// One password yields the AES keys, the NT hash (MS-NLMP NTOWFv1 vector)
// and an H(A1) per Digest algorithm; RC4 only when asked, and then its key
// is the NT hash.
func TestPasswordSecrets(t *testing.T) {
	a := &store.Account{Kind: store.KindUser, Name: "alice"}
	s, err := PasswordSecrets("EXAMPLE.COM", a, "Password", 3, KeyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if want := unhex(t, "a4f49c406510bdcab6824ee7c30fd852"); !bytes.Equal(s.NTHash, want) {
		t.Errorf("NT hash %x, want %x", s.NTHash, want)
	}
	if len(s.Keys) != len(DefaultETypes) {
		t.Fatalf("%d keys, want %d", len(s.Keys), len(DefaultETypes))
	}
	for i, k := range s.Keys {
		if krb5.EncType(k.EType) != DefaultETypes[i] || k.KVNO != 3 || k.Salt != "EXAMPLE.COMalice" {
			t.Errorf("key %d: etype %d kvno %d salt %q", i, k.EType, k.KVNO, k.Salt)
		}
		if krb5.EncType(k.EType) == krb5.ETypeRC4HMAC {
			t.Error("RC4 key made without being asked")
		}
	}
	if len(s.HA1s) != len(DigestAlgorithms) {
		t.Errorf("%d H(A1)s, want %d", len(s.HA1s), len(DigestAlgorithms))
	}
	for _, h := range s.HA1s {
		if h.Realm != "EXAMPLE.COM" || !bytes.Equal(h.Value, DigestHA1(h.Algorithm, "alice", "EXAMPLE.COM", "Password")) {
			t.Errorf("H(A1) %s for %q is wrong", h.Algorithm, h.Realm)
		}
	}

	s, err = PasswordSecrets("EXAMPLE.COM", a, "Password", 3, KeyOptions{RC4: true})
	if err != nil {
		t.Fatal(err)
	}
	last := s.Keys[len(s.Keys)-1]
	if krb5.EncType(last.EType) != krb5.ETypeRC4HMAC || !bytes.Equal(last.Value, s.NTHash) || last.Salt != "" {
		t.Errorf("RC4 key %+v is not the unsalted NT hash", last)
	}
}

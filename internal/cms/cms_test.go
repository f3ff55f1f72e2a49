package cms

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

func signer(t testing.TB, kind string, h crypto.Hash) *Signer {
	t.Helper()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(42), Subject: pkix.Name{CommonName: "signer " + kind},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), SubjectKeyId: []byte{1, 2, 3}}
	var key crypto.Signer
	switch kind {
	case "rsa":
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatal(err)
		}
		key = k
	case "p256":
		key, _ = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case "p384":
		key, _ = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return &Signer{Cert: c, Key: key, Hash: h}
}

var testOID = []int{1, 3, 6, 1, 5, 2, 3, 1}

func TestSignVerify(t *testing.T) {
	cases := []struct {
		kind string
		h    crypto.Hash
	}{{"rsa", crypto.SHA256}, {"rsa", crypto.SHA1}, {"rsa", crypto.SHA512}, {"p256", crypto.SHA256}, {"p384", crypto.SHA384}}
	for _, c := range cases {
		s := signer(t, c.kind, c.h)
		msg, err := Sign(rand.Reader, testOID, []byte("auth pack"), s)
		if err != nil {
			t.Fatal(err)
		}
		sd, err := ParseSignedData(msg)
		if err != nil {
			t.Fatal(c, err)
		}
		certs, err := sd.Verify()
		if err != nil {
			t.Fatal(c, err)
		}
		if !certs[0].Equal(s.Cert) || string(sd.EContent) != "auth pack" {
			t.Fatal("wrong signer or content")
		}
		// A changed content must fail the message-digest check.
		sd.EContent = []byte("auth pacK")
		if _, err := sd.Verify(); !errors.Is(err, ErrBadSignature) {
			t.Fatalf("%v: tampered content: %v", c, err)
		}
		// A flipped signature bit must fail the signature.
		sd.EContent = []byte("auth pack")
		sd.SignerInfos[0].Signature[5] ^= 1
		if _, err := sd.Verify(); !errors.Is(err, ErrBadSignature) {
			t.Fatalf("%v: tampered signature: %v", c, err)
		}
	}
}

func TestUnsigned(t *testing.T) {
	msg := SignUnsigned(testOID, []byte("anon"))
	sd, err := ParseSignedData(msg)
	if err != nil {
		t.Fatal(err)
	}
	if len(sd.SignerInfos) != 0 || string(sd.EContent) != "anon" {
		t.Fatal("unsigned SignedData round trip")
	}
	if _, err := sd.Verify(); !errors.Is(err, ErrNoSigner) {
		t.Fatalf("Verify of unsigned data: %v", err)
	}
}

// TestOpenSSLVerifies has an implementation we did not write (openssl
// cms) verify our SignedData, so the signed-attribute encoding and SET
// ordering are checked by a peer.
func TestOpenSSLVerifies(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("openssl not installed")
	}
	for _, kind := range []string{"rsa", "p256"} {
		s := signer(t, kind, crypto.SHA256)
		msg, err := Sign(rand.Reader, OIDData, []byte("hello"), s)
		if err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		in := filepath.Join(dir, "m.der")
		os.WriteFile(in, msg, 0o600)
		ca := filepath.Join(dir, "ca.pem")
		os.WriteFile(ca, pemCert(s.Cert), 0o600)
		out, err := exec.Command("openssl", "cms", "-verify", "-inform", "DER", "-in", in, "-CAfile", ca, "-purpose", "any").Output()
		if err != nil || string(out[:5]) != "hello" {
			t.Fatalf("%s: openssl cms -verify: %v\n%s", kind, err, out)
		}
	}
}

func FuzzParseSignedData(f *testing.F) {
	s := signer(f, "p256", crypto.SHA256)
	msg, _ := Sign(rand.Reader, testOID, []byte("x"), s)
	f.Add(msg)
	f.Add(SignUnsigned(testOID, []byte("y")))
	f.Fuzz(func(t *testing.T, b []byte) {
		sd, err := ParseSignedData(b)
		if err != nil {
			return
		}
		_, _ = sd.Verify()
	})
}

func FuzzParseContentInfo(f *testing.F) {
	f.Add(MarshalContentInfo(OIDData, []byte{0x04, 0x01, 0x00}))
	f.Add([]byte{0x30, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		ci, err := ParseContentInfo(b)
		if err != nil {
			return
		}
		_ = MarshalContentInfo(ci.ContentType, ci.Content)
	})
}

// The signature and digest OIDs Sign writes and Verify reads, as RFC
// 3279, RFC 4055 and RFC 5758 assign them.
func TestAlgorithmOIDs(t *testing.T) {
	rsaPub, ecPub := &rsa.PublicKey{}, &ecdsa.PublicKey{}
	for _, c := range []struct {
		h             crypto.Hash
		digest        string
		rsa, ecdsaOID string
	}{
		{crypto.SHA1, "1.3.14.3.2.26", "1.2.840.113549.1.1.5", "1.2.840.10045.4.1"},
		{crypto.SHA256, "2.16.840.1.101.3.4.2.1", "1.2.840.113549.1.1.11", "1.2.840.10045.4.3.2"},
		{crypto.SHA384, "2.16.840.1.101.3.4.2.2", "1.2.840.113549.1.1.12", "1.2.840.10045.4.3.3"},
		{crypto.SHA512, "2.16.840.1.101.3.4.2.3", "1.2.840.113549.1.1.13", "1.2.840.10045.4.3.4"},
	} {
		d, ok := HashOID(c.h)
		if !ok || d.String() != c.digest {
			t.Errorf("HashOID(%v) = %v", c.h, d)
		}
		if h, ok := hashFor(d); !ok || h != c.h {
			t.Errorf("hashFor(%v) = %v", d, h)
		}
		r, err := signatureAlgorithm(rsaPub, c.h)
		if err != nil || r.Algorithm.String() != c.rsa || string(r.Parameters) != "\x05\x00" {
			t.Errorf("RSA %v: %v %x %v", c.h, r.Algorithm, r.Parameters, err)
		}
		e, err := signatureAlgorithm(ecPub, c.h)
		if err != nil || e.Algorithm.String() != c.ecdsaOID || e.Parameters != nil {
			t.Errorf("ECDSA %v: %v %x %v", c.h, e.Algorithm, e.Parameters, err)
		}
		for _, oid := range []AlgorithmIdentifier{r, e} {
			if h, ok := signatureHash(oid.Algorithm, 0); !ok || h != c.h {
				t.Errorf("signatureHash(%v) = %v", oid.Algorithm, h)
			}
		}
	}
	if _, err := signatureAlgorithm(rsaPub, crypto.MD5); !errors.Is(err, ErrUnsupported) {
		t.Errorf("MD5: %v", err)
	}
	if _, err := signatureAlgorithm("not a key", crypto.SHA256); !errors.Is(err, ErrUnsupported) {
		t.Errorf("string key: %v", err)
	}
}

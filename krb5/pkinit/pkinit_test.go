package pkinit

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"testing"
	"time"

	"github.com/warden-auth/warden/internal/cms"
	"github.com/warden-auth/warden/krb5"
	"github.com/warden-auth/warden/krb5/kcrypto"
)

func testSigner(t testing.TB, rsaKey bool) *cms.Signer {
	t.Helper()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "kdc"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	if rsaKey {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatal(err)
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
		if err != nil {
			t.Fatal(err)
		}
		c, _ := x509.ParseCertificate(der)
		return &cms.Signer{Cert: c, Key: k}
	}
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return &cms.Signer{Cert: c, Key: k}
}

func principals() (KRB5PrincipalName, KRB5PrincipalName) {
	return KRB5PrincipalName{Realm: "EXAMPLE.TEST", Name: krb5.NewPrincipalName(krb5.NameTypePrincipal, "alice")},
		KRB5PrincipalName{Realm: "EXAMPLE.TEST", Name: krb5.PrincipalName{NameType: krb5.NameTypeSrvInst, NameString: []string{"krbtgt", "EXAMPLE.TEST"}}}
}

// TestRoundTrip runs both halves against each other for every group,
// with and without an RFC 8636 KDF, signed and anonymous: the client and
// the KDC must derive the same reply key.
func TestRoundTrip(t *testing.T) {
	kdcSigner := testSigner(t, true)
	clientSigner := testSigner(t, false)
	client, server := principals()
	body := []byte("\x30\x03\x02\x01\x05") // stands for the DER req-body
	asReq := []byte("as-req bytes")
	for _, g := range []Group{ECDHP256, ECDHP384, ECDHP521, MODP2, MODP14} {
		for _, noKDF := range []bool{false, true} {
			for _, anon := range []bool{false, true} {
				s := clientSigner
				if anon {
					s = nil
				}
				pa, st, err := NewClientRequest(ClientRequestOptions{Rand: rand.Reader, Signer: s, Group: g, Nonce: 0xdeadbeef, ReqBody: body, NoKDFs: noKDF, Time: time.Now()})
				if err != nil {
					t.Fatal(err)
				}
				req, err := ParseASReq(pa)
				if err != nil {
					t.Fatal(g, err)
				}
				if req.Anonymous != anon {
					t.Fatalf("%v anonymous = %v", g, req.Anonymous)
				}
				if !anon {
					certs, err := req.Signed.Verify()
					if err != nil {
						t.Fatal(g, err)
					}
					if !certs[0].Equal(clientSigner.Cert) {
						t.Fatal("signer certificate not first")
					}
				}
				if err := req.CheckChecksum(body); err != nil {
					t.Fatal(err)
				}
				if err := req.CheckChecksum(append(body, 0)); err == nil {
					t.Fatal("paChecksum accepted another body")
				}
				if got, _ := req.Group(); got != g {
					t.Fatalf("group %v, want %v", got, g)
				}
				rep, kdcKey, err := req.BuildReply(ReplyParams{Rand: rand.Reader, Signer: kdcSigner, EType: krb5.ETypeAES256CTSHMACSHA196, Client: client, Server: server, ASReq: asReq})
				if err != nil {
					t.Fatal(g, err)
				}
				cliKey, certs, err := st.ParseReply(rep, ReplyKeyInput{EType: krb5.ETypeAES256CTSHMACSHA196, Client: client, Server: server, ASReq: asReq})
				if err != nil {
					t.Fatal(g, err)
				}
				if !certs[0].Equal(kdcSigner.Cert) {
					t.Fatal("KDC certificate not returned")
				}
				if !bytes.Equal(cliKey.KeyValue, kdcKey.KeyValue) || len(cliKey.KeyValue) != 32 {
					t.Fatalf("%v noKDF=%v: reply keys differ", g, noKDF)
				}
			}
		}
	}
}

// TestOctetString2Key checks the RFC 4556 3.2.3.1 construction against
// an independent computation: SHA1(00|x) | SHA1(01|x), truncated.
func TestOctetString2Key(t *testing.T) {
	z := bytes.Repeat([]byte{0x5a}, 64)
	k, err := OctetString2Key(krb5.ETypeAES256CTSHMACSHA196, z, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	a := sha1sum(append([]byte{0}, z...))
	b := sha1sum(append([]byte{1}, z...))
	want := append(a, b...)[:32]
	if !bytes.Equal(k.KeyValue, want) {
		t.Fatalf("got %x want %x", k.KeyValue, want)
	}
	k16, _ := OctetString2Key(krb5.ETypeAES128CTSHMACSHA196, z, nil, nil)
	if !bytes.Equal(k16.KeyValue, a[:16]) {
		t.Fatal("aes128 key is not the first 16 bytes")
	}
}

func TestKX(t *testing.T) {
	rk, err := kcrypto.RandomKey(krb5.ETypeAES256CTSHMACSHA196, rand.Reader, kcrypto.Options{})
	if err != nil {
		t.Fatal(err)
	}
	pa, sess, err := NewKX(rand.Reader, rk, kcrypto.Options{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParseKX(pa, rk, kcrypto.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Bytes(), sess.Bytes()) {
		t.Fatal("PA-PKINIT-KX session keys differ")
	}
}

func TestRefusedKeys(t *testing.T) {
	for name, spki := range map[string][]byte{
		"garbage":   {0x30, 0x00},
		"rsa":       (&cms.AlgorithmIdentifier{Algorithm: cms.OIDRSAEncryption}).Marshal(),
		"empty bit": nil,
	} {
		if _, _, err := ParsePublicKeyInfo(spki); err == nil {
			t.Errorf("%s accepted", name)
		}
	}
	k, _ := GenerateKey(rand.Reader, MODP14)
	for _, y := range [][]byte{{0x02, 0x01, 0x01}, {0x02, 0x01, 0x00}} {
		if _, err := k.SharedSecret(y); err == nil {
			t.Errorf("degenerate DH public %x accepted", y)
		}
	}
}

package pki

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"testing"

	"golang.org/x/crypto/ocsp"
)

// FuzzParseCSR: CSR intake never panics, and whatever it accepts has a
// valid self-signature and an accepted key. Seeds: testdata/fuzz and a
// fresh PEM and DER request.
func FuzzParseCSR(f *testing.F) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	p := csrFor(f, key)
	f.Add(p)
	blk, _ := pem.Decode(p)
	f.Add(blk.Bytes)
	f.Add([]byte("-----BEGIN CERTIFICATE REQUEST-----\n-----END CERTIFICATE REQUEST-----\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		csr, err := ParseCSR(in)
		if err != nil {
			if CodeOf(err) != CodeBadCSR {
				t.Fatalf("error without CodeBadCSR: %v", err)
			}
			return
		}
		if csr.CheckSignature() != nil || checkPublicKey(csr.PublicKey) != nil {
			t.Fatal("accepted a request that does not check")
		}
	})
}

// FuzzParseOCSPRequest: the OCSP request parser never panics, refuses
// with CodeBadRequest, and what it accepts has 1..16 CertIDs.
func FuzzParseOCSPRequest(f *testing.F) {
	ca := selfSigned(f, nameOf("CA"), nameOf("CA"), x509.ExtKeyUsageAny, nowFrom(nil), nowFrom(nil).AddDate(1, 0, 0))
	req, _ := ocsp.CreateRequest(ca, ca, nil)
	f.Add(req)
	f.Add(withNonce(f, req, []byte{4, 2, 1, 2}))
	f.Fuzz(func(t *testing.T, in []byte) {
		r, err := ParseOCSPRequest(in)
		if err != nil {
			if CodeOf(err) != CodeBadRequest {
				t.Fatalf("error without CodeBadRequest: %v", err)
			}
			return
		}
		if n := len(r.CertIDs); n == 0 || n > maxOCSPCertIDs {
			t.Fatalf("%d CertIDs", n)
		}
		for _, id := range r.CertIDs {
			if id.Serial == nil || len(id.raw) == 0 {
				t.Fatal("CertID without serial")
			}
		}
	})
}

func nameOf(cn string) pkix.Name { return pkix.Name{CommonName: cn} }

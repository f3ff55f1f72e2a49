package pkinit

import (
	"os"
	"testing"

	"github.com/warden-auth/warden/krb5"
)

// AS-REQs that MIT krb5 1.20's kinit sent to Warden's KDC (recorded on
// the wire by interop's relay): kinit -X X509_user_identity with an
// ECDSA realm certificate, and kinit -n. They are real-peer vectors for
// the parser and seeds for FuzzParsePAPKASReq.
func loadMITReq(t testing.TB, name string) (*krb5.KDCReq, []byte) {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	var r krb5.KDCReq
	if err := r.Unmarshal(b); err != nil {
		t.Fatal(err)
	}
	pa, ok := r.PAData.Find(krb5.PAPKASReq)
	if !ok {
		t.Fatal("no PA-PK-AS-REQ")
	}
	return &r, pa.Value
}

func TestMITRequests(t *testing.T) {
	r, pa := loadMITReq(t, "mit-1.20-as-req-cert.der")
	req, err := ParseASReq(pa)
	if err != nil {
		t.Fatal(err)
	}
	if req.Anonymous {
		t.Fatal("signed request taken as anonymous")
	}
	certs, err := req.Signed.Verify()
	if err != nil {
		t.Fatalf("MIT's signature does not verify: %v", err)
	}
	if certs[0].Subject.CommonName != "alice" {
		t.Errorf("signer %s", certs[0].Subject)
	}
	if err := req.CheckChecksum(r.ReqBody.Raw); err != nil {
		t.Fatal(err)
	}
	if req.AuthPack.PKAuthenticator.Nonce != r.ReqBody.Nonce {
		t.Error("nonce")
	}
	if g, err := req.Group(); err != nil || g != MODP14 {
		t.Errorf("MIT 1.20's default group: %v %v", g, err)
	}
	// MIT 1.20 offers the RFC 8636 KDFs, SHA-256 first.
	if k := ChooseKDF(req.AuthPack.SupportedKDFs); !k.Equal(OIDKDFSHA256) {
		t.Errorf("supportedKDFs %v", req.AuthPack.SupportedKDFs)
	}
	if len(req.AuthPack.SupportedCMSTypes) == 0 {
		t.Error("no supportedCMSTypes")
	}

	r, pa = loadMITReq(t, "mit-1.20-as-req-anonymous.der")
	req, err = ParseASReq(pa)
	if err != nil {
		t.Fatal(err)
	}
	if !req.Anonymous || req.Signed != nil {
		t.Fatal("kinit -n's AuthPack not recognised as unsigned")
	}
	if err := req.CheckChecksum(r.ReqBody.Raw); err != nil {
		t.Fatal(err)
	}
	if !r.ReqBody.KDCOptions.Has(krb5.KDCOptRequestAnonymous) || r.ReqBody.CName.String() != "WELLKNOWN/ANONYMOUS" {
		t.Errorf("anonymous request body %+v", r.ReqBody)
	}
}

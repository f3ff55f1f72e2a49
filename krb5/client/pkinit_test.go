package client

import (
	"bytes"
	"context"
	"encoding/asn1"
	"errors"
	"strings"
	"testing"

	"github.com/warden-auth/warden/internal/testkit"
	"github.com/warden-auth/warden/krb5"
	"github.com/warden-auth/warden/krb5/pkinit"
)

func fakeIdentity(t *testing.T, f *fakePKINITKDC, o testkit.CertOptions) *Certificate {
	t.Helper()
	ic := f.ca.IssueClient(t, testUser, testRealm, o)
	id, err := LoadCertificate(ic.CertFile, ic.KeyFile)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

var testUserName = krb5.PrincipalName{NameType: krb5.NameTypePrincipal, NameString: []string{testUser}}

// TestPKINITExchange: certificate and anonymous logins against the fake
// KDC, each variant the client must handle (KDF or octetstring2key, a KDC
// that wants another group, freshness tokens).
func TestPKINITExchange(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name      string
		anon, ec  bool
		set       func(f *fakePKINITKDC)
		wantReqs  int
		wantFresh bool
	}{
		{name: "RSA certificate", wantReqs: 2},
		{name: "ECDSA certificate", ec: true, wantReqs: 2},
		{name: "anonymous", anon: true, wantReqs: 2},
		{name: "octetstring2key", set: func(f *fakePKINITKDC) { f.kdfOff = true }, wantReqs: 2},
		{name: "KDC wants DH group 14", set: func(f *fakePKINITKDC) { f.groups = []pkinit.Group{pkinit.MODP14} }, wantReqs: 3},
		{name: "KDC wants P-384", anon: true, set: func(f *fakePKINITKDC) { f.groups = []pkinit.Group{pkinit.MODP2, pkinit.ECDHP384} }, wantReqs: 3},
		{name: "freshness token", set: func(f *fakePKINITKDC) { f.fresh = []byte("fresh!") }, wantReqs: 2, wantFresh: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakePKINITKDC(t, testkit.CertOptions{})
			if tt.set != nil {
				f.set(tt.set)
			}
			c := f.client(t)
			opts := ASOptions{Anonymous: tt.anon}
			if !tt.anon {
				opts.Certificate = fakeIdentity(t, f, testkit.CertOptions{EC: tt.ec})
			}
			cr, err := c.ASExchange(ctx, testUserName, nil, opts)
			if err != nil {
				t.Fatal(err)
			}
			want := testUser + "@" + testRealm
			if tt.anon {
				want = "WELLKNOWN/ANONYMOUS@WELLKNOWN:ANONYMOUS"
			}
			if cr.Client.String() != want || !cr.IsTGT() {
				t.Fatalf("got %s -> %s", cr.Client, cr.Server)
			}
			f.mu.Lock()
			defer f.mu.Unlock()
			if f.requests != tt.wantReqs {
				t.Errorf("%d requests, want %d", f.requests, tt.wantReqs)
			}
			if last := f.seenFrsh[len(f.seenFrsh)-1]; tt.wantFresh != bytes.Equal(last, []byte("fresh!")) {
				t.Errorf("freshness token sent: %q", last)
			}
		})
	}
}

// TestPKINITReplyChecks: every altered or unacceptable reply is refused
// with its code, never used.
func TestPKINITReplyChecks(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name       string
		anon       bool
		kdcCert    testkit.CertOptions
		set        func(f *fakePKINITKDC)
		wantCode   krb5.ErrorCode
		wantReason string
	}{
		{name: "KDC certificate for another realm", kdcCert: testkit.CertOptions{}, set: func(f *fakePKINITKDC) {
			kc := f.ca.IssueKDC(f.t, "OTHER.REALM", testkit.CertOptions{})
			f.signer.Cert, f.signer.Key = kc.Cert, kc.Key
		}, wantCode: krb5.KDCErrKDCNameMismatch, wantReason: "does not name krbtgt/TEST.REALM@TEST.REALM"},
		{name: "KDC certificate without KPKdc", kdcCert: testkit.CertOptions{EKUs: []asn1.ObjectIdentifier{{1, 3, 6, 1, 5, 5, 7, 3, 1}}},
			wantCode: krb5.KDCErrInconsistentKeyPurpose, wantReason: "lack id-pkinit-KPKdc"},
		{name: "KDC certificate from another CA", set: func(f *fakePKINITKDC) {
			kc := testkit.NewPKICA(f.t, "other").IssueKDC(f.t, testRealm, testkit.CertOptions{})
			f.signer.Cert, f.signer.Key = kc.Cert, kc.Key
		}, wantCode: krb5.KDCErrKDCNotTrusted, wantReason: "does not chain to a trusted anchor"},
		{name: "signature altered", set: func(f *fakePKINITKDC) {
			f.paHook = func(pa []byte) []byte { pa[len(pa)-300] ^= 1; return pa }
		}, wantCode: krb5.KDCErrInvalidSig},
		{name: "no PA-PK-AS-REP", set: func(f *fakePKINITKDC) {
			f.hook = func(rep *krb5.KDCRep, _ *krb5.EncKDCRepPart) { rep.PAData = nil }
		}, wantCode: krb5.KRBAPErrModified, wantReason: "without PA-PK-AS-REP"},
		{name: "reply nonce", set: func(f *fakePKINITKDC) {
			f.hook = func(_ *krb5.KDCRep, p *krb5.EncKDCRepPart) { p.Nonce++ }
		}, wantCode: krb5.KRBAPErrModified, wantReason: "does not match the request"},
		{name: "anonymous reply not flagged", anon: true, set: func(f *fakePKINITKDC) {
			f.hook = func(_ *krb5.KDCRep, p *krb5.EncKDCRepPart) { p.Flags &^= krb5.TktFlagAnonymous }
		}, wantCode: krb5.KRBAPErrModified, wantReason: "not flagged anonymous"},
		{name: "anonymous reply without PA-PKINIT-KX", anon: true, set: func(f *fakePKINITKDC) { f.noKX = true },
			wantCode: krb5.KRBAPErrModified, wantReason: "no PA-PKINIT-KX"},
		{name: "anonymous session key not from PA-PKINIT-KX", anon: true, set: func(f *fakePKINITKDC) {
			f.hook = func(_ *krb5.KDCRep, p *krb5.EncKDCRepPart) {
				p.Key.KeyValue = bytes.Repeat([]byte{1}, len(p.Key.KeyValue))
			}
		}, wantCode: krb5.KRBAPErrModified, wantReason: "PA-PKINIT-KX gives"},
		{name: "no group in common", set: func(f *fakePKINITKDC) { f.groups = []pkinit.Group{pkinit.MODP2} },
			wantCode: krb5.KDCErrDHKeyParametersNotAccepted},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakePKINITKDC(t, tt.kdcCert)
			if tt.set != nil {
				f.set(tt.set)
			}
			c := f.client(t)
			opts := ASOptions{Anonymous: tt.anon}
			if !tt.anon {
				opts.Certificate = fakeIdentity(t, f, testkit.CertOptions{})
			}
			_, err := c.ASExchange(ctx, testUserName, nil, opts)
			var ke *krb5.Error
			if !errors.As(err, &ke) || ke.Code != tt.wantCode || !strings.Contains(err.Error(), tt.wantReason) {
				t.Fatalf("got %v, want %v with %q", err, tt.wantCode, tt.wantReason)
			}
		})
	}
}

func TestParseTypedData(t *testing.T) {
	params, _ := pkinit.TDDHParameters{pkinit.DHParameters(pkinit.MODP14), pkinit.DHParameters(pkinit.ECDHP384)}.Marshal()
	good := typedDataDER(tdDHParameters, params)
	td, err := parseTypedData(good)
	if err != nil || len(td) != 1 || td[0].Type != tdDHParameters || !bytes.Equal(td[0].Value, params) {
		t.Fatalf("%+v %v", td, err)
	}
	for _, bad := range [][]byte{nil, {0x30, 0x00, 0x00}, good[:len(good)-1], {0x30, 0x03, 0x30, 0x01, 0x00}} {
		if _, err := parseTypedData(bad); err == nil {
			t.Errorf("parseTypedData(%x) accepted", bad)
		}
	}
	ke := &krb5.KRBError{ErrorCode: krb5.KDCErrDHKeyParametersNotAccepted, EData: good}
	if g, ok := nextGroup(ke, nil, []pkinit.Group{pkinit.ECDHP256}); !ok || g != pkinit.ECDHP384 {
		t.Errorf("next group %v %v, want P-384 (preferred to group 14)", g, ok)
	}
	if g, ok := nextGroup(ke, nil, []pkinit.Group{pkinit.ECDHP256, pkinit.ECDHP384, pkinit.MODP14}); ok {
		t.Errorf("next group %v after every listed one was tried", g)
	}
	// Inside FAST the list comes as a padata of the FAST response.
	md := krb5.MethodData{{Type: krb5.PAType(tdDHParameters), Value: params}}
	if g, ok := nextGroup(&krb5.KRBError{}, md, []pkinit.Group{pkinit.ECDHP256, pkinit.ECDHP384}); !ok || g != pkinit.MODP14 {
		t.Errorf("next group from FAST padata %v %v, want group 14", g, ok)
	}
}

// FuzzParseTypedData: the e-data of any KDC error is parsed without
// panic and within its caps.
func FuzzParseTypedData(f *testing.F) {
	params, _ := pkinit.TDDHParameters{pkinit.DHParameters(pkinit.MODP14)}.Marshal()
	f.Add(typedDataDER(tdDHParameters, params))
	f.Add([]byte{0x30, 0x00})
	f.Add([]byte{0x30, 0x05, 0x30, 0x03, 0xa0, 0x01, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		td, err := parseTypedData(b)
		if err == nil && len(td) > maxTypedData {
			t.Fatalf("%d elements", len(td))
		}
		nextGroup(&krb5.KRBError{EData: b}, krb5.MethodData{{Type: krb5.PAType(tdDHParameters), Value: b}}, nil)
	})
}

// FuzzPKINITReply: whatever a KDC puts in PA-PK-AS-REP (and the
// PA-PKINIT-KX next to it), the client's checks end in a clean error or
// a key, never a panic. Seeded with a real reply to a real request.
func FuzzPKINITReply(f *testing.F) {
	kdc := newFakePKINITKDC(f, testkit.CertOptions{})
	c := kdc.client(f)
	st, err := c.newPKINITState(krb5.PrincipalName{}, ASOptions{Anonymous: true})
	if err != nil {
		f.Fatal(err)
	}
	round, err := c.pkinitRequest(st)
	if err != nil {
		f.Fatal(err)
	}
	var rep krb5.KDCRep
	if err := rep.Unmarshal(kdc.handle(round.sent)); err != nil {
		f.Fatal(err)
	}
	pa, _ := rep.PAData.Find(krb5.PAPKASRep)
	kx, _ := rep.PAData.Find(krb5.PAPKINITKX)
	f.Add(pa.Value, kx.Value)
	f.Add([]byte{0xa0, 0x00}, []byte{})
	f.Fuzz(func(t *testing.T, paRep, kxValue []byte) {
		r := krb5.KDCRep{PAData: krb5.MethodData{{Type: krb5.PAPKASRep, Value: paRep}}, EncPart: rep.EncPart}
		key, err := c.pkinitReplyKey(st, round, &r)
		if err != nil {
			return
		}
		checkPKINITKX(krb5.MethodData{{Type: krb5.PAPKINITKX, Value: kxValue}}, key, key.EncryptionKey(), true, c.cfg.Options)
	})
}

// TestPKINITRefusedETypes: a KDC refusing a PKINIT request with
// KDC_ERR_ETYPE_NOSUPP gets the same hint as a password login, naming
// the enctypes this client offered (not "none").
func TestPKINITRefusedETypes(t *testing.T) {
	c, err := New(Config{Realm: testRealm, ETypes: []krb5.EncType{krb5.ETypeAES256CTSHMACSHA196}})
	if err != nil {
		t.Fatal(err)
	}
	st, err := c.newPKINITState(krb5.PrincipalName{}, ASOptions{Anonymous: true})
	if err != nil {
		t.Fatal(err)
	}
	err = c.pkinitRefused(&krb5.KRBError{ErrorCode: krb5.KDCErrETypeNoSupp}, st)
	var ke *krb5.Error
	if !errors.As(err, &ke) || ke.Code != krb5.KDCErrETypeNoSupp || !strings.Contains(ke.Hint, "offered aes256-cts-hmac-sha1-96 (18)") {
		t.Fatalf("got %v (hint %q)", err, ke.Hint)
	}
}

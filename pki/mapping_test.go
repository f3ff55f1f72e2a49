package pki

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"net/url"
	"testing"
	"time"

	"github.com/warden-auth/warden/admin"
	"github.com/warden-auth/warden/store"
)

// signed makes a clientAuth certificate signed by the realm CA with
// exactly the extensions given (to test mapping rules on certificates
// warden cert issue would not make).
func (f *fixture) signed(t *testing.T, cn string, exts []pkix.Extension, uris ...string) *x509.Certificate {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	serial, _ := newSerial(rand.Reader)
	now := f.clk.Now()
	tmpl := &x509.Certificate{SerialNumber: serial, Subject: pkix.Name{CommonName: cn}, NotBefore: now.Add(-time.Minute), NotAfter: now.Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, ExtraExtensions: exts}
	for _, u := range uris {
		pu, _ := url.Parse(u)
		tmpl.URIs = append(tmpl.URIs, pu)
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, f.auth.CA(), &key.PublicKey, f.auth.key)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return c
}

func upnExt(t *testing.T, upn string) pkix.Extension {
	v, err := marshalSAN(sanNames{upn: upn})
	if err != nil {
		t.Fatal(err)
	}
	return pkix.Extension{Id: OIDSubjectAltName, Value: v}
}

func sidExt(t *testing.T, sid string) pkix.Extension {
	v, err := marshalSIDExtension(sid)
	if err != nil {
		t.Fatal(err)
	}
	return pkix.Extension{Id: OIDSIDExtension, Value: v}
}

func TestMapping(t *testing.T) {
	f := newFixture(t, Config{})
	ctx := t.Context()
	alice := f.user(t, "alice", admin.UserOptions{})
	bob := f.user(t, "bob", admin.UserOptions{})
	if _, err := f.realm.Admin.AddGroup(ctx, "devs", ""); err != nil {
		t.Fatal(err)
	}
	if err := f.realm.Admin.AddMembers(ctx, "devs", "alice"); err != nil {
		t.Fatal(err)
	}
	dom := f.realm.Admin.Realm().DomainSID
	aliceSID, bobSID := store.SID(dom, alice.RID), store.SID(dom, bob.RID)
	strict, _ := NewMapper(ctx, MapperConfig{Store: f.realm.Store, Time: f.clk.Now})
	lax, _ := NewMapper(ctx, MapperConfig{Store: f.realm.Store, AllowUPN: true, Time: f.clk.Now})

	issued := f.issue(t, "alice").Cert
	upnOnly := f.signed(t, "alice", []pkix.Extension{upnExt(t, alice.UPN)})
	sidURL := f.signed(t, "alice", nil, sidURLPrefix+aliceSID)
	bare := f.signed(t, "nobody", nil)
	bound := f.signed(t, "whatever", nil)
	if err := f.auth.Bind(ctx, bound, "bob"); err != nil {
		t.Fatal(err)
	}
	boundWithAliceSID := f.signed(t, "x", []pkix.Extension{sidExt(t, aliceSID)})
	if err := f.auth.Bind(ctx, boundWithAliceSID, "bob"); err != nil {
		t.Fatal(err)
	}
	sidUPNMismatch := f.signed(t, "x", []pkix.Extension{sidExt(t, aliceSID), upnExt(t, bob.UPN)})
	foreignSID := f.signed(t, "x", []pkix.Extension{sidExt(t, "S-1-5-21-1-2-3-1105")})
	goneSID := f.signed(t, "x", []pkix.Extension{sidExt(t, store.SID(dom, 99999))})
	badSID := f.signed(t, "x", []pkix.Extension{sidExt(t, "S-1-1-0")})
	twoSIDs := f.signed(t, "x", []pkix.Extension{sidExt(t, aliceSID)}, sidURLPrefix+bobSID)
	unknownUPN := f.signed(t, "x", []pkix.Extension{upnExt(t, "carol@example.test")})

	tests := []struct {
		name       string
		m          *Mapper
		cert       *x509.Certificate
		wantCode   Code
		wantAcct   string
		wantMethod Method
		reason     []string
	}{
		{"SID extension (warden cert issue)", strict, issued, 0, "alice", MethodSID, nil},
		{"SID in SAN URL", strict, sidURL, 0, "alice", MethodSID, nil},
		{"explicit binding", strict, bound, 0, "bob", MethodBinding, nil},
		{"UPN only, strict realm", strict, upnOnly, CodeWeakMapping, "", "", []string{"only by its UPN " + alice.UPN, "weak"}},
		{"UPN only, realm allows it", lax, upnOnly, 0, "alice", MethodUPN, nil},
		{"nothing to map", lax, bare, CodeUnmapped, "", "", []string{"no SID extension or UPN"}},
		{"binding vs SID", strict, boundWithAliceSID, CodeMappingMismatch, "", "", []string{"carries SID " + aliceSID, "to bob"}},
		{"SID vs UPN", strict, sidUPNMismatch, CodeMappingMismatch, "", "", []string{"UPN " + bob.UPN}},
		{"SID of another domain", strict, foreignSID, CodeUnmapped, "", "", []string{"not in realm"}},
		{"SID of a deleted account", strict, goneSID, CodeUnmapped, "", "", []string{"names no account"}},
		{"malformed SID", strict, badSID, CodeBadCertificate, "", "", []string{"not a domain account SID"}},
		{"two SIDs", strict, twoSIDs, CodeBadCertificate, "", "", []string{"two different SIDs"}},
		{"unknown UPN", lax, unknownUPN, CodeUnmapped, "", "", []string{"carol@example.test"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			mp, err := tc.m.Map(ctx, tc.cert)
			if tc.wantCode != 0 {
				wantCode(t, tc.name, err, tc.wantCode, tc.reason...)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if mp.Account.Name != tc.wantAcct || mp.Method != tc.wantMethod || mp.Strong != (tc.wantMethod != MethodUPN) {
				t.Fatalf("mapped to %s by %s (strong %v)", mp.Account.Name, mp.Method, mp.Strong)
			}
			if tc.wantAcct == "alice" && (len(mp.Groups) == 0 || mp.Groups[0].Name != "devs" || mp.SID != aliceSID) {
				t.Fatalf("groups %v SID %s", mp.Groups, mp.SID)
			}
		})
	}

	// Account state.
	if _, err := f.realm.Admin.SetFlags(ctx, "alice", store.FlagDisabled, 0); err != nil {
		t.Fatal(err)
	}
	_, err := strict.Map(ctx, issued)
	wantCode(t, "disabled", err, CodeAccountDisabled, "alice is disabled")
	f.realm.Admin.SetFlags(ctx, "alice", 0, store.FlagDisabled)
	p := store.PasswordPolicy{LockoutThreshold: 1, LockoutWindow: time.Hour, LockoutDuration: time.Hour}
	if _, err := f.realm.Store.RecordLogonFailure(ctx, "alice", f.clk.Now(), p); err != nil {
		t.Fatal(err)
	}
	_, err = strict.Map(ctx, issued)
	wantCode(t, "locked", err, CodeAccountLocked, "locked out until")
	f.realm.Store.ResetLockout(ctx, "alice")
	acct, _ := f.realm.Store.Account(ctx, "alice")
	acct.AccountExpires = f.clk.Now().Add(-time.Hour)
	if err := f.realm.Store.UpdateAccount(ctx, acct); err != nil {
		t.Fatal(err)
	}
	_, err = strict.Map(ctx, issued)
	wantCode(t, "expired account", err, CodeAccountDisabled, "expired at")

	// A UPN certificate older than the account is refused even when UPN
	// mapping is allowed (the account was re-created under that name).
	f.clk.Add(-2 * time.Hour)
	old := f.signed(t, "bob", []pkix.Extension{upnExt(t, bob.UPN)})
	f.clk.Add(2 * time.Hour)
	f.realm.Admin.Delete(ctx, "bob")
	f.user(t, "bob", admin.UserOptions{})
	_, err = lax.Map(ctx, old)
	wantCode(t, "certificate older than the account", err, CodeMappingMismatch, "before account bob was created")
}

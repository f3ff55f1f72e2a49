package interop

import (
	"context"
	"strings"
	"testing"

	"github.com/warden-auth/warden/internal/testkit"
	"github.com/warden-auth/warden/krb5"
	"github.com/warden-auth/warden/krb5/client"
)

// Warden's PKINIT client (RFC 4556, anonymous RFC 6112/8062) against MIT's
// krb5kdc with its PKINIT plugin, a PKINIT KDC we did not write.

const pkinitUser = "carol" // logs in by certificate only (random keys)

// mitPKINITRealm starts an MIT KDC with PKINIT and anonymous PKINIT, the
// certificate user carol, the password user alice and a service.
func mitPKINITRealm(t *testing.T, lines ...string) (*testkit.MITPKINITKDC, *testkit.IssuedCert) {
	t.Helper()
	testkit.RequirePeer(t, "kinit", "klist", "kvno")
	kdc := testkit.StartMITPKINITKDC(t, mitRealm, testkit.PKINITKDCOptions{RealmLines: lines})
	cert := kdc.AddPKINITUser(t, pkinitUser, testkit.CertOptions{})
	kdc.AddPrincipal(t, mitUser, mitPassword)
	kdc.AddRandKey(t, mitService)
	return kdc, cert
}

// TestPKINITHarnessMIT checks the test harness itself with MIT's own
// client: kinit -X X509_user_identity gets carol's TGT with her
// certificate, and kinit -n an anonymous TGT. If these fail, the KDC's
// configuration is wrong, not Warden.
func TestPKINITHarnessMIT(t *testing.T) {
	kdc, cert := mitPKINITRealm(t)
	out, errOut, err := kdc.Run(t, nil, "kinit", "-X", "X509_user_identity=FILE:"+cert.CertFile+","+cert.KeyFile, pkinitUser)
	if err != nil {
		t.Fatalf("MIT kinit with a certificate: %v\n%s%s\n%s", err, out, errOut, kdc.Log(t))
	}
	out, _, err = kdc.Run(t, nil, "klist")
	if err != nil || !strings.Contains(out, "Default principal: "+pkinitUser+"@"+mitRealm) {
		t.Fatalf("klist after certificate kinit: %v\n%s", err, out)
	}
	out, errOut, err = kdc.Run(t, nil, "kinit", "-n")
	if err != nil {
		t.Fatalf("MIT kinit -n: %v\n%s%s\n%s", err, out, errOut, kdc.Log(t))
	}
	out, _, err = kdc.Run(t, nil, "klist")
	if err != nil || !strings.Contains(out, "Default principal: WELLKNOWN/ANONYMOUS@WELLKNOWN:ANONYMOUS") {
		t.Fatalf("klist after kinit -n: %v\n%s", err, out)
	}
}

// pkinitClient is a Warden client for kdc that trusts its CA for KDC
// certificates (pkinit_anchors in the krb5.conf, as for MIT's tools).
func pkinitClient(t *testing.T, kdc *testkit.MITPKINITKDC) *client.Client {
	t.Helper()
	return newMITClient(t, writeConf(t, kdc.Addr(), " pkinit_anchors = FILE:"+kdc.CA.CAFile), nil)
}

func TestPKINITClientLibraryMIT(t *testing.T) {
	kdc, cert := mitPKINITRealm(t)
	c := pkinitClient(t, kdc)
	id, err := client.LoadCertificate(cert.CertFile, cert.KeyFile)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	name := krb5.PrincipalName{NameType: krb5.NameTypePrincipal, NameString: []string{pkinitUser}}
	tgt, err := c.ASExchange(ctx, name, nil, client.ASOptions{Certificate: id})
	if err != nil {
		t.Fatalf("PKINIT: %v\n%s", err, kdc.Log(t))
	}
	t.Logf("TGT %s -> %s, FAST %v", tgt.Client, tgt.Server, tgt.FAST)
	anon, err := c.ASExchange(ctx, krb5.PrincipalName{}, nil, client.ASOptions{Anonymous: true})
	if err != nil {
		t.Fatalf("anonymous PKINIT: %v\n%s", err, kdc.Log(t))
	}
	t.Logf("anonymous TGT %s -> %s, flags %#x", anon.Client, anon.Server, anon.Flags)
}

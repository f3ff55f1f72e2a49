package interop

import (
	"context"
	"encoding/asn1"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/warden-auth/warden/internal/testkit"
	"github.com/warden-auth/warden/krb5"
	"github.com/warden-auth/warden/krb5/ccache"
	"github.com/warden-auth/warden/krb5/client"
	"github.com/warden-auth/warden/krb5/keytab"
)

// Warden's PKINIT client (RFC 4556, anonymous RFC 6112/8062) against MIT's
// krb5kdc with its PKINIT plugin, a PKINIT KDC we did not write. MIT's
// own tools read what warden writes (klist, kvno) and MIT's KDC log says
// what it saw.

const pkinitUser = "carol" // logs in by certificate only (random keys)

// mitPKINITRealm starts an MIT KDC with PKINIT and anonymous PKINIT, the
// certificate user carol, the password user alice and a service. Logins
// by encrypted challenge (only inside FAST) get the fastIndicator.
func mitPKINITRealm(t *testing.T, lines ...string) (*testkit.MITPKINITKDC, *testkit.IssuedCert) {
	t.Helper()
	testkit.RequirePeer(t, "kinit", "klist", "kvno")
	kdc := testkit.StartMITPKINITKDC(t, mitRealm, testkit.PKINITKDCOptions{RealmLines: append([]string{
		"encrypted_challenge_indicator = " + fastIndicator,
	}, lines...)})
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

// pkinitConf writes a krb5.conf for kdc whose pkinit_anchors is caFile.
func pkinitConf(t *testing.T, kdc *testkit.MITPKINITKDC, caFile string) string {
	t.Helper()
	return writeConf(t, kdc.Addr(), " pkinit_anchors = FILE:"+caFile)
}

var carolName = krb5.PrincipalName{NameType: krb5.NameTypePrincipal, NameString: []string{pkinitUser}}

// TestPKINITClientLibraryMIT: the library gets carol's TGT with an RSA
// and with an ECDSA certificate, and an anonymous TGT. MIT 1.20's KDC
// refuses ECDH ("Key parameters not accepted") and lists its MODP groups:
// the client falls back to group 14 on its own. The TGTs get service
// tickets from MIT.
func TestPKINITClientLibraryMIT(t *testing.T) {
	kdc, cert := mitPKINITRealm(t)
	c := newMITClient(t, pkinitConf(t, kdc, kdc.CA.CAFile), nil)
	ctx := context.Background()
	ecCert := kdc.CA.IssueClient(t, pkinitUser, mitRealm, testkit.CertOptions{EC: true})
	for _, ic := range []*testkit.IssuedCert{cert, ecCert} {
		id, err := client.LoadCertificate(ic.CertFile, ic.KeyFile)
		if err != nil {
			t.Fatal(err)
		}
		tgt, err := c.ASExchange(ctx, carolName, nil, client.ASOptions{Certificate: id})
		if err != nil {
			t.Fatalf("PKINIT with %T key: %v\n%s", id.Key, err, kdc.Log(t))
		}
		if tgt.Client.String() != pkinitUser+"@"+mitRealm || !tgt.IsTGT() || !tgt.Flags.Has(krb5.TktFlagPreAuthent) {
			t.Fatalf("TGT %s -> %s, flags %#x", tgt.Client, tgt.Server, tgt.Flags)
		}
		svc, err := c.TGSExchange(ctx, tgt, krb5.NewPrincipalName(krb5.NameTypeSrvHst, mitService), client.TGSOptions{})
		if err != nil || svc.Server.String() != mitService+"@"+mitRealm {
			t.Fatalf("service ticket with the PKINIT TGT: %v", err)
		}
	}
	if log := kdc.Log(t); !strings.Contains(log, "Key parameters not accepted") || strings.Count(log, "ISSUE: authtime") < 2 {
		t.Errorf("MIT's log does not show the ECDH refusal and the issue after the fallback:\n%s", log)
	}

	anon, err := c.ASExchange(ctx, krb5.PrincipalName{}, nil, client.ASOptions{Anonymous: true})
	if err != nil {
		t.Fatalf("anonymous PKINIT: %v\n%s", err, kdc.Log(t))
	}
	if anon.Client.String() != "WELLKNOWN/ANONYMOUS@WELLKNOWN:ANONYMOUS" || anon.Server.String() != "krbtgt/"+mitRealm+"@"+mitRealm ||
		!anon.Flags.Has(krb5.TktFlagAnonymous) {
		t.Fatalf("anonymous TGT %s -> %s, flags %#x", anon.Client, anon.Server, anon.Flags)
	}
	if !strings.Contains(kdc.Log(t), "WELLKNOWN/ANONYMOUS@MIT.TEST for krbtgt/MIT.TEST@MIT.TEST") {
		t.Errorf("MIT's log does not show the anonymous issue:\n%s", kdc.Log(t))
	}

	// PKINIT inside FAST, armored with the anonymous TGT: the reply is
	// accepted only with valid FAST protection (KrbFastFinished over the
	// ticket, the strengthened reply key), so a TGT here proves MIT
	// answered inside the armor.
	id, err := client.LoadCertificate(cert.CertFile, cert.KeyFile)
	if err != nil {
		t.Fatal(err)
	}
	armored, err := c.ASExchange(ctx, carolName, nil, client.ASOptions{Certificate: id, Armor: anon})
	if err != nil {
		t.Fatalf("armored PKINIT: %v\n%s", err, kdc.Log(t))
	}
	if !armored.FAST || armored.Client.String() != pkinitUser+"@"+mitRealm {
		t.Fatalf("armored PKINIT TGT: %s, FAST %v", armored.Client, armored.FAST)
	}
}

// TestPKINITClientFreshnessMIT: with pkinit_require_freshness MIT refuses
// a request without its freshness token (RFC 8070); the client takes the
// token from the refusal and retries once.
func TestPKINITClientFreshnessMIT(t *testing.T) {
	kdc, cert := mitPKINITRealm(t, "pkinit_require_freshness = true")
	c := newMITClient(t, pkinitConf(t, kdc, kdc.CA.CAFile), nil)
	id, err := client.LoadCertificate(cert.CertFile, cert.KeyFile)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.ASExchange(context.Background(), carolName, nil, client.ASOptions{Certificate: id}); err != nil {
		t.Fatalf("PKINIT with required freshness: %v\n%s", err, kdc.Log(t))
	}
	if log := kdc.Log(t); !strings.Contains(log, "PKINIT: freshness token received from "+pkinitUser+"@"+mitRealm) {
		t.Errorf("MIT's log does not show the freshness token:\n%s", log)
	}
}

// TestPKINITClientCLIMIT: warden kinit --cert/--key, --anonymous and
// --armor anonymous against MIT, with MIT's klist and kvno on the caches
// warden writes; and the refusals as printed.
func TestPKINITClientCLIMIT(t *testing.T) {
	kdc, cert := mitPKINITRealm(t)
	kdc.AddRandKey(t, fastService)
	kdc.SetString(t, fastService, "require_auth", fastIndicator)
	dir := t.TempDir()
	svcKTPath := filepath.Join(dir, "svc.keytab")
	kdc.ExportKeytab(t, svcKTPath, "krbtgt/"+mitRealm, mitService)
	svcKT, err := keytab.Load(svcKTPath)
	if err != nil {
		t.Fatal(err)
	}
	ours := filepath.Join(dir, "ours.ccache")
	t.Setenv("KRB5_CONFIG", pkinitConf(t, kdc, kdc.CA.CAFile))
	t.Setenv("KRB5CCNAME", "FILE:"+ours)
	mitEnv := cLocaleEnv(append(kdc.Env(), "KRB5CCNAME=FILE:"+ours))
	tgtName := "krbtgt/" + mitRealm + "@" + mitRealm

	// Certificate login; the principal comes from the certificate.
	mustWardenCLI(t, "kinit", "--cert", cert.CertFile, "--key", cert.KeyFile)
	if out := runMIT(t, mitEnv, "klist"); !containsAll(out, []string{"Default principal: " + pkinitUser + "@" + mitRealm, tgtName}) {
		t.Errorf("MIT klist of warden's PKINIT cache:\n%s", out)
	}
	runMIT(t, mitEnv, "kvno", mitService)

	// Anonymous; MIT kvno uses the anonymous TGT too.
	mustWardenCLI(t, "kinit", "--anonymous")
	if out := runMIT(t, mitEnv, "klist"); !containsAll(out, []string{"Default principal: WELLKNOWN/ANONYMOUS@WELLKNOWN:ANONYMOUS", tgtName}) {
		t.Errorf("MIT klist of warden's anonymous cache:\n%s", out)
	}
	mustWardenCLI(t, "kinit", "-n", "@"+mitRealm)
	runMIT(t, mitEnv, "kvno", mitService)
	// warden kvno finds the realm in MIT's start_realm entry: the cache's
	// principal is in WELLKNOWN:ANONYMOUS.
	mustWardenCLI(t, "kinit", "-n", "@"+mitRealm)
	if out := mustWardenCLI(t, "kvno", mitService); out != mitService+"@"+mitRealm+": kvno = 1\n" {
		t.Errorf("warden kvno with the anonymous cache: %q", out)
	}

	// --armor anonymous: alice's password login armored with an
	// anonymous TGT got on the fly. MIT marks logins by encrypted
	// challenge, which exists only inside FAST, with the indicator; a
	// plain login has none.
	pw := filepath.Join(dir, "pw")
	if err := os.WriteFile(pw, []byte(mitPassword+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	mustWardenCLI(t, "kinit", "--password-file", pw, mitUser)
	if ind := indicators(t, svcKT, aliceTGT(t, ours)); len(ind) != 0 {
		t.Fatalf("plain login has indicators %q", ind)
	}
	mustWardenCLI(t, "kinit", "--armor", "anonymous", "--password-file", pw, mitUser)
	if ind := indicators(t, svcKT, aliceTGT(t, ours)); len(ind) != 1 || ind[0] != fastIndicator {
		t.Fatalf("armored login's indicators %q, want [%s]: MIT saw no encrypted challenge", ind, fastIndicator)
	}
	runMIT(t, mitEnv, "kvno", fastService)

	// A certificate login armored the same way: the cache records that
	// the TGT came from a verified FAST exchange (fast_avail).
	mustWardenCLI(t, "kinit", "--armor", "anonymous", "--cert", cert.CertFile, "--key", cert.KeyFile)
	if c, err := ccache.Load(ours); err != nil {
		t.Fatal(err)
	} else if v, ok := c.Config("fast_avail", tgtName); !ok || string(v) != "yes" || c.DefaultPrincipal.String() != pkinitUser+"@"+mitRealm {
		t.Errorf("armored certificate login: %s, fast_avail %q", c.DefaultPrincipal, v)
	}

	// A certificate from a CA MIT's KDC does not trust: MIT's refusal
	// and our hint, as printed.
	stranger := testkit.NewPKICA(t, "Stranger CA").IssueClient(t, pkinitUser, mitRealm, testkit.CertOptions{})
	code, _, errOut := wardenCLI(t, "kinit", "--cert", stranger.CertFile, "--key", stranger.KeyFile)
	if code != 1 || !strings.Contains(errOut, "warden: error: certificate login of carol@"+mitRealm+": ") ||
		!strings.Contains(errOut, "warden: hint: the KDC does not trust your certificate") {
		t.Errorf("untrusted certificate: exit %d\n%s", code, errOut)
	}
	t.Logf("a certificate MIT does not trust, as printed:\n%s", errOut)

	// A KDC this client does not trust: krb5.conf names another CA.
	t.Setenv("KRB5_CONFIG", pkinitConf(t, kdc, testkit.NewPKICA(t, "Not the realm CA").CAFile))
	code, _, errOut = wardenCLI(t, "kinit", "--cert", cert.CertFile, "--key", cert.KeyFile)
	if code != 1 || !strings.Contains(errOut, "KDC_ERR_KDC_NOT_TRUSTED") || !strings.Contains(errOut, "does not chain to a trusted anchor") ||
		!strings.Contains(errOut, "warden: hint: this client does not trust the KDC's issuer") {
		t.Errorf("untrusted KDC: exit %d\n%s", code, errOut)
	}
	t.Logf("a KDC this client does not trust, as printed:\n%s", errOut)
	// --pkinit-anchor adds the right CA.
	mustWardenCLI(t, "kinit", "--pkinit-anchor", kdc.CA.CAFile, "--cert", cert.CertFile, "--key", cert.KeyFile)
}

// aliceTGT returns the TGT in the cache at path.
func aliceTGT(t *testing.T, path string) krb5.Ticket {
	t.Helper()
	c, err := ccache.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	tgt, err := client.TGTFromCache(c, mitRealm)
	if err != nil {
		t.Fatal(err)
	}
	return tgt.Ticket
}

// TestPKINITClientKDCCertificateMIT: the client refuses an MIT KDC whose
// certificate does not name krbtgt/REALM, and one whose certificate is
// not for a KDC (no id-pkinit-KPKdc), each with its code.
func TestPKINITClientKDCCertificateMIT(t *testing.T) {
	testkit.RequirePeer(t, "kinit")
	tests := []struct {
		name     string
		kdcCert  testkit.CertOptions
		wantCode krb5.ErrorCode
	}{
		{"no krbtgt name", testkit.CertOptions{NoSAN: true}, krb5.KDCErrKDCNameMismatch},
		{"no KDC EKU", testkit.CertOptions{EKUs: []asn1.ObjectIdentifier{{1, 3, 6, 1, 5, 5, 7, 3, 1}}}, krb5.KDCErrInconsistentKeyPurpose},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kdc := testkit.StartMITPKINITKDC(t, mitRealm, testkit.PKINITKDCOptions{KDCCert: tt.kdcCert})
			c := newMITClient(t, pkinitConf(t, kdc, kdc.CA.CAFile), nil)
			_, err := c.ASExchange(context.Background(), krb5.PrincipalName{}, nil, client.ASOptions{Anonymous: true})
			var ke *krb5.Error
			if !errors.As(err, &ke) || ke.Code != tt.wantCode {
				t.Fatalf("got %v, want %v\n%s", err, tt.wantCode, kdc.Log(t))
			}
		})
	}
}

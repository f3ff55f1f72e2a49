package interop

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/warden-auth/warden/krb5"
	"github.com/warden-auth/warden/krb5/client"
	"github.com/warden-auth/warden/pki"
)

// Warden's PKINIT client against Warden's own PKINIT KDC (both halves of
// issue 11; the client's peer proof is MIT's KDC in
// pkinit_client_test.go, the KDC's is MIT's kinit in pkinit_kdc_test.go).
// Warden's KDC does ECDH, so here the client's default P-256 is used
// without the group-14 fallback MIT needs.

func TestPKINITClientWarden(t *testing.T) {
	w := newWardenPKINIT(t, nil)
	ctx := context.Background()
	iss, err := w.ca.IssueAccount(t.Context(), kdcPKUser, pki.IssueRequest{})
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile := w.identityFiles(t, "alice", iss)
	cache := filepath.Join(w.c.Dir, "ours.ccache")
	t.Setenv("KRB5_CONFIG", w.c.Conf)
	t.Setenv("KRB5CCNAME", "FILE:"+cache)
	w.results.take()

	// Library: certificate logon with ECDH P-256, then a service ticket.
	c := newMITClient(t, w.c.Conf, nil)
	id, err := client.LoadCertificate(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	alice := krb5.PrincipalName{NameType: krb5.NameTypePrincipal, NameString: []string{kdcPKUser}}
	tgt, err := c.ASExchange(ctx, alice, nil, client.ASOptions{Certificate: id})
	if err != nil {
		t.Fatalf("PKINIT against Warden: %v\nKDC: %+v", err, w.results.take())
	}
	if tgt.Client.String() != kdcPKUser+"@"+wardenRealm {
		t.Fatalf("TGT for %s", tgt.Client)
	}
	res := w.results.take()
	if len(res) != 2 || res[0].Code != krb5.KDCErrPreauthRequired || !res[1].OK() {
		t.Errorf("KDC results (probe, then one PKINIT request): %+v", res)
	}
	if _, err := c.TGSExchange(ctx, tgt, krb5.NewPrincipalName(krb5.NameTypeSrvHst, "HTTP/web.warden.test"), client.TGSOptions{}); err != nil {
		t.Fatalf("service ticket with the PKINIT TGT: %v", err)
	}

	// CLI: warden kinit --cert/--key (the principal from the UPN the
	// realm CA wrote), then warden kvno.
	mustWardenCLI(t, "kinit", "--cert", certFile, "--key", keyFile)
	if out := mustWardenCLI(t, "kvno", "HTTP/web.warden.test"); !strings.HasPrefix(out, "HTTP/web.warden.test@"+wardenRealm+": kvno = ") {
		t.Errorf("warden kvno: %q", out)
	}

	// Anonymous, and anonymous armor for bob's password logon.
	mustWardenCLI(t, "kinit", "--anonymous", "@"+wardenRealm)
	code, _, errOut := wardenCLI(t, "kvno", "HTTP/web.warden.test")
	if code != 1 || !strings.Contains(errOut, "KDC_ERR_POLICY") {
		t.Errorf("kvno with an anonymous TGT: exit %d\n%s", code, errOut)
	}
	t.Logf("warden kvno with an anonymous TGT, as printed:\n%s", errOut)
	w.results.take()
	pw := filepath.Join(w.c.Dir, "bobpw")
	if err := os.WriteFile(pw, []byte("bob's password 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	mustWardenCLI(t, "kinit", "--armor", "anonymous", "--password-file", pw, "bob")
	res = w.results.take()
	last := res[len(res)-1]
	if !last.OK() || !last.FAST || last.ArmorClient != "WELLKNOWN/ANONYMOUS@WELLKNOWN:ANONYMOUS" || last.Client != "bob@"+wardenRealm {
		t.Errorf("bob's armored logon: %+v", last)
	}

	// A certificate login armored with an anonymous TGT.
	certFile, keyFile = w.identityFiles(t, "alice2", iss)
	mustWardenCLI(t, "kinit", "--armor", "anonymous", "--cert", certFile, "--key", keyFile, kdcPKUser)
	res = w.results.take()
	last = res[len(res)-1]
	if !last.OK() || !last.FAST || last.ArmorClient != "WELLKNOWN/ANONYMOUS@WELLKNOWN:ANONYMOUS" || last.Client != kdcPKUser+"@"+wardenRealm {
		t.Errorf("alice's armored certificate logon: %+v", last)
	}

	// A revoked certificate (never used before: the KDC may keep a
	// revocation status for its stated freshness): Warden's refusal and
	// reason, as printed.
	revoked, err := w.ca.IssueAccount(t.Context(), kdcPKUser, pki.IssueRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.ca.Revoke(t.Context(), revoked.Record.Serial, pki.ReasonKeyCompromise); err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = w.identityFiles(t, "revoked", revoked)
	code, _, errOut = wardenCLI(t, "kinit", "--cert", certFile, "--key", keyFile, kdcPKUser)
	if code != 1 || !strings.Contains(errOut, "KDC_ERR_REVOKED_CERTIFICATE") || !strings.Contains(errOut, "was revoked at") ||
		!strings.Contains(errOut, "warden: hint: your certificate") {
		t.Errorf("revoked certificate: exit %d\n%s", code, errOut)
	}
	t.Logf("a revoked certificate, as printed:\n%s", errOut)
}

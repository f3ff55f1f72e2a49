package cli

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/warden-auth/warden/admin"
	"github.com/warden-auth/warden/config"
	"github.com/warden-auth/warden/pki"
	"github.com/warden-auth/warden/server"
	"github.com/warden-auth/warden/store"
)

func readPEMCert(t *testing.T, path string) *x509.Certificate {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(b)
	c, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// The CA tour: init makes the CA; ca exports it; issue for an account,
// for DNS names and from a CSR; list; revoke by serial and by account;
// bind; the refusals with their hints.
func TestCertCommands(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	out := t.TempDir()
	d := "--data=" + dir
	mustRun(t, "", "init", "--realm", "example.test", d)
	mustRun(t, "pw-of-alice-1\n", "user", "add", "alice", d)

	caPath := filepath.Join(out, "ca.crt")
	if s := mustRun(t, "", "cert", "ca", "-o", caPath, d); !strings.Contains(s, "EXAMPLE.TEST Warden CA") {
		t.Fatalf("cert ca: %s", s)
	}
	ca := readPEMCert(t, caPath)
	v, _ := pki.NewVerifier(pki.VerifierConfig{Roots: []*x509.Certificate{ca}})

	alice := filepath.Join(out, "alice")
	s := mustRun(t, "", "cert", "issue", "--account", "alice", "--out", alice, "--days", "30", d)
	if !strings.Contains(s, "issued user certificate") {
		t.Fatalf("issue: %s", s)
	}
	if st, err := os.Stat(alice + ".key"); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", err, st)
	}
	ac := readPEMCert(t, alice+".crt")
	if _, err := v.VerifyClient([]*x509.Certificate{ac}); err != nil {
		t.Fatal(err)
	}
	if ac.NotAfter.Sub(ac.NotBefore) > 31*24*time.Hour {
		t.Fatalf("--days 30 gave %v", ac.NotAfter.Sub(ac.NotBefore))
	}
	_, errOut, code := run(t, "", "cert", "issue", "--account", "alice", "--out", alice, d)
	if code == 0 || !strings.Contains(errOut, "--force") {
		t.Fatalf("overwrite: %d %s", code, errOut)
	}

	web := filepath.Join(out, "web")
	mustRun(t, "", "cert", "issue", "--dns", "web.example.test,127.0.0.1", "--out", web, "--key-type", "rsa-3072", d)
	wc := readPEMCert(t, web+".crt")
	if err := v.VerifyServer([]*x509.Certificate{wc}, "web.example.test"); err != nil {
		t.Fatal(err)
	}

	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	csrDER, _ := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "x"}}, key)
	csrPath := filepath.Join(out, "req.csr")
	os.WriteFile(csrPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: csrDER}), 0o644)
	fromCSR := filepath.Join(out, "csr")
	mustRun(t, "", "cert", "issue", "--account", "alice", "--csr", csrPath, "--out", fromCSR, d)
	if _, err := os.Stat(fromCSR + ".key"); err == nil {
		t.Fatal("a key file was written for a CSR")
	}
	if !key.PublicKey.Equal(readPEMCert(t, fromCSR+".crt").PublicKey) {
		t.Fatal("CSR key not certified")
	}

	list := mustRun(t, "", "cert", "list", d)
	serial := pki.SerialString(ac.SerialNumber)
	if !strings.Contains(list, serial) || !strings.Contains(list, "web.example.test,127.0.0.1") || strings.Count(list, "valid") != 3 {
		t.Fatalf("list:\n%s", list)
	}
	if s := mustRun(t, "", "cert", "revoke", strings.ToUpper(serial), "--reason", "key-compromise", d); !strings.Contains(s, "keyCompromise") {
		t.Fatalf("revoke: %s", s)
	}
	_, errOut, code = run(t, "", "cert", "revoke", serial, d)
	if code == 0 || !strings.Contains(errOut, "ALREADY_REVOKED") {
		t.Fatalf("second revoke: %s", errOut)
	}
	if s := mustRun(t, "", "cert", "revoke", "--account", "alice", d); strings.Count(s, "revoked ") != 1 {
		t.Fatalf("revoke --account (one left): %s", s)
	}
	if s := mustRun(t, "", "cert", "list", "--revoked", d); strings.Count(s, "revoked ") != 2 {
		t.Fatalf("list --revoked:\n%s", s)
	}

	// Bind a foreign certificate.
	mustRun(t, "", "cert", "bind", "--account", "alice", web+".crt", d)

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"cert", "issue", "--out", alice}, "either --account NAME or --dns NAME"},
		{[]string{"cert", "issue", "--account", "nobody", "--out", filepath.Join(out, "n")}, "NOT_FOUND"},
		{[]string{"cert", "issue", "--account", "alice"}, "--out PREFIX is required"},
		{[]string{"cert", "issue", "--dns", "bad_name", "--out", filepath.Join(out, "b")}, "not a DNS name"},
		{[]string{"cert", "revoke", "zz"}, "not a certificate serial"},
		{[]string{"cert", "revoke", "abc", "--reason", "hold"}, "not a revocation reason"},
		{[]string{"cert", "revoke"}, "either a SERIAL or --account"},
	} {
		_, errOut, code := run(t, "", append(tc.args, d)...)
		if code == 0 || !strings.Contains(errOut, tc.want) {
			t.Errorf("warden %s: exit %d, %s (want %q)", strings.Join(tc.args, " "), code, errOut, tc.want)
		}
	}
}

// A data directory from before the PKI: cert commands say what to run,
// and cert ca creates the CA.
func TestCertWithoutCA(t *testing.T) {
	dir := t.TempDir()
	cfg := config.Default("OLD.TEST")
	cfg.Dir = dir
	if _, err := store.CreateMasterKey(cfg.Path(cfg.MasterKeyFile)); err != nil {
		t.Fatal(err)
	}
	st, err := server.OpenStore(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin.InitRealm(context.Background(), st, cfg.Realm, nil, time.Now()); err != nil {
		t.Fatal(err)
	}
	st.Close()
	if err := cfg.Save(dir); err != nil {
		t.Fatal(err)
	}
	d := "--data=" + dir
	_, errOut, code := run(t, "", "cert", "list", d)
	if code == 0 || !strings.Contains(errOut, "PKI_NO_CA") || !strings.Contains(errOut, "hint: create it with: warden cert ca -o ca.crt --data "+dir) {
		t.Fatalf("list without CA: %s", errOut)
	}
	_, errOut, _ = run(t, "", "cert", "ca", "--key-type", "rsa-3072", d)
	if !strings.Contains(errOut, "created the realm CA") || !strings.Contains(errOut, "RSA") {
		t.Fatalf("cert ca: %s", errOut)
	}
	mustRun(t, "", "cert", "list", d)
}

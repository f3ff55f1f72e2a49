package interop

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/warden-auth/warden/config"
	"github.com/warden-auth/warden/internal/testkit"
	"github.com/warden-auth/warden/server"
)

// openssl runs openssl and returns its combined output and error.
func openssl(t *testing.T, stdin string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command("openssl", args...)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// pkiRealm makes a realm with the CLI (init creates the CA), a user and
// an HTTPS listener on 127.0.0.1, and starts warden serve on it.
func pkiRealm(t *testing.T) (dir string, srv *server.Server) {
	t.Helper()
	dir = filepath.Join(t.TempDir(), "data")
	d := "--data=" + dir
	mustWardenCLI(t, "init", "--realm", "PKI.TEST", "--kdc-addr", "127.0.0.1:0", d)
	pw := filepath.Join(t.TempDir(), "pw")
	os.WriteFile(pw, []byte("alice password 1\n"), 0o600)
	mustWardenCLI(t, "user", "add", "alice", "--password-file", pw, d)
	cfg, err := config.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	cfg.HTTPS.Addr = "127.0.0.1:0"
	if err := cfg.Save(dir); err != nil {
		t.Fatal(err)
	}
	srv, err = server.New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Listen(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	return dir, srv
}

// OpenSSL verifies the certificates the realm CA issues, with the CRL
// and over OCSP from warden serve, and sees the HTTPS listener's chain
// to the realm CA.
func TestOpenSSLPKI(t *testing.T) {
	testkit.RequirePeer(t, "openssl")
	dir, srv := pkiRealm(t)
	d := "--data=" + dir
	out := t.TempDir()
	ca := filepath.Join(out, "ca.crt")
	mustWardenCLI(t, "cert", "ca", "-o", ca, d)
	alice, web := filepath.Join(out, "alice"), filepath.Join(out, "web")
	mustWardenCLI(t, "cert", "issue", "--account", "alice", "--out", alice, d)
	mustWardenCLI(t, "cert", "issue", "--dns", "web.pki.test", "--out", web, "--key-type", "rsa-3072", d)

	// openssl verify accepts them, for their purposes.
	for _, tc := range []struct{ file, purpose string }{{alice + ".crt", "sslclient"}, {web + ".crt", "sslserver"}} {
		o, err := openssl(t, "", "verify", "-CAfile", ca, "-purpose", tc.purpose, tc.file)
		if err != nil || !strings.Contains(o, ": OK") {
			t.Fatalf("openssl verify %s: %v\n%s", tc.file, err, o)
		}
	}
	// The key files are what openssl expects for the certificates.
	o, err := openssl(t, "", "x509", "-in", alice+".crt", "-noout", "-text")
	if err != nil || !strings.Contains(o, "TLS Web Client Authentication") || !strings.Contains(o, "1.3.6.1.4.1.311.25.2") {
		t.Fatalf("openssl x509 -text:\n%s", o)
	}
	if o, err := openssl(t, "", "pkey", "-in", alice+".key", "-noout"); err != nil {
		t.Fatalf("openssl pkey: %v %s", err, o)
	}

	port := srv.HTTPSAddr()[strings.LastIndex(srv.HTTPSAddr(), ":")+1:]
	ocspURL := "https://127.0.0.1:" + port + "/pki/ocsp"
	ocspCheck := func(want string) {
		t.Helper()
		o, err := openssl(t, "", "ocsp", "-issuer", ca, "-cert", alice+".crt", "-url", ocspURL, "-CAfile", ca)
		if err != nil || !strings.Contains(o, alice+".crt: "+want) || !strings.Contains(o, "Response verify OK") {
			t.Fatalf("openssl ocsp (want %s): %v\n%s", want, err, o)
		}
		if strings.Contains(o, "WARNING") {
			t.Errorf("openssl ocsp warns:\n%s", o)
		}
	}
	ocspCheck("good")

	// Revoke with the CLI (another process's view of the DB, as in real
	// use): OCSP says revoked at once, and the CRL lists it.
	serial := strings.TrimSpace(strings.Fields(strings.Split(mustWardenCLI(t, "cert", "list", "--account", "alice", d), "\n")[1])[0])
	mustWardenCLI(t, "cert", "revoke", serial, "--reason", "keyCompromise", d)
	ocspCheck("revoked")
	o, _ = openssl(t, "", "ocsp", "-issuer", ca, "-cert", alice+".crt", "-url", ocspURL, "-CAfile", ca)
	if !strings.Contains(o, "Reason: keyCompromise") {
		t.Errorf("openssl ocsp does not show the reason:\n%s", o)
	}

	pool := x509.NewCertPool()
	pool.AddCert(srv.PKI().CA())
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}, Timeout: 5 * time.Second}
	resp, err := hc.Get("https://127.0.0.1:" + port + "/pki/crl")
	if err != nil {
		t.Fatal(err)
	}
	crlDER, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	crl := filepath.Join(out, "crl.pem")
	os.WriteFile(crl, pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: crlDER}), 0o644)
	o, err = openssl(t, "", "crl", "-in", crl, "-noout", "-CAfile", ca)
	if err != nil || !strings.Contains(o, "verify OK") {
		t.Fatalf("openssl crl: %v\n%s", err, o)
	}
	o, err = openssl(t, "", "verify", "-crl_check", "-CAfile", ca, "-CRLfile", crl, alice+".crt")
	if err == nil || !strings.Contains(o, "certificate revoked") {
		t.Fatalf("openssl verify -crl_check of the revoked certificate: %v\n%s", err, o)
	}
	o, err = openssl(t, "", "verify", "-crl_check", "-CAfile", ca, "-CRLfile", crl, web+".crt")
	if err != nil || !strings.Contains(o, ": OK") {
		t.Fatalf("openssl verify -crl_check of a good certificate: %v\n%s", err, o)
	}

	// s_client sees the listener's chain to the realm CA and verifies it
	// for the name it asks.
	o, err = openssl(t, "", "s_client", "-connect", "127.0.0.1:"+port, "-servername", "localhost",
		"-CAfile", ca, "-verify_hostname", "localhost", "-verify_return_error", "-showcerts")
	if err != nil || !strings.Contains(o, "Verify return code: 0 (ok)") || !strings.Contains(o, "PKI.TEST Warden CA") {
		t.Fatalf("openssl s_client: %v\n%s", err, o)
	}
	// ... and refuses it for another name.
	o, _ = openssl(t, "", "s_client", "-connect", "127.0.0.1:"+port, "-servername", "other.pki.test",
		"-CAfile", ca, "-verify_hostname", "other.pki.test", "-verify_return_error")
	if !strings.Contains(o, "hostname mismatch") {
		t.Fatalf("openssl s_client with another name:\n%s", o)
	}
}

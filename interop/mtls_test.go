package interop

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/warden-auth/warden/internal/testkit"
	"github.com/warden-auth/warden/pki"
	"github.com/warden-auth/warden/server"
)

// mtlsRealm is a running warden serve (OCSP and CRL on its HTTPS
// listener) with certificates from its CA in files: the CA, a server
// certificate for localhost, and client certificates.
type mtlsRealm struct {
	dir, out, ca string
	srv          *server.Server
	app          *httpApp
}

func newMTLSRealm(t *testing.T) *mtlsRealm {
	dir, srv := pkiRealm(t)
	m := &mtlsRealm{dir: dir, srv: srv, out: t.TempDir(), app: newHTTPApp(t)}
	m.ca = filepath.Join(m.out, "ca.crt")
	mustWardenCLI(t, "cert", "ca", "-o", m.ca, "--data="+dir)
	mustWardenCLI(t, "cert", "issue", "--dns", "localhost", "--out", m.file("web"), "--data="+dir)
	mustWardenCLI(t, "cert", "issue", "--account", "alice", "--out", m.file("alice"), "--data="+dir)
	return m
}

func (m *mtlsRealm) file(prefix string) string { return filepath.Join(m.out, prefix) }

func (m *mtlsRealm) aaURL(path string) string {
	port := m.srv.HTTPSAddr()[strings.LastIndex(m.srv.HTTPSAddr(), ":")+1:]
	return "https://127.0.0.1:" + port + path
}

// proxy runs warden proxy --auth tls with the server certificate prefix.
func (m *mtlsRealm) proxy(t *testing.T, server string, extra ...string) (int, *lockedBuf) {
	args := append([]string{"--upstream", m.app.URL, "--auth", "tls", "--tls-cert", m.file(server) + ".crt", "--tls-key", m.file(server) + ".key",
		"--ca", m.ca, "--data=" + m.dir, "--ocsp-url", m.aaURL("/pki/ocsp"), "--crl-url", m.aaURL("/pki/crl"),
		"--revocation-freshness", "1m", "--log-level", "info"}, extra...)
	return startWardenProxy(t, args...)
}

// writePair writes a certificate and its key as PREFIX.crt/.key.
func writePair(t *testing.T, prefix string, der []byte, key any) {
	t.Helper()
	kd, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(prefix+".crt", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
	os.WriteFile(prefix+".key", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kd}), 0o600)
}

func curlStatus(t *testing.T, args ...string) (code string, body string, err error) {
	t.Helper()
	out, err := exec.Command("curl", append([]string{"-sS", "-o", "-", "-w", "\n%{http_code}"}, args...)...).CombinedOutput()
	s := strings.TrimRight(string(out), "\n")
	i := strings.LastIndex(s, "\n")
	if i < 0 {
		return s, "", err
	}
	return s[i+1:], s[:i], err
}

// curl with a client certificate through warden proxy --auth tls reaches
// the application as the mapped user; a self-signed look-alike, an
// expired and a revoked certificate are refused by the proxy with the
// reason in the answer (and in its log, once); a proxy whose certificate
// is for another name is refused by curl and by warden get; openssl
// s_client completes the mutual handshake and sees the realm CA asked for.
func TestMutualTLSProxy(t *testing.T) {
	testkit.RequirePeer(t, "curl", "openssl")
	m := newMTLSRealm(t)
	d := "--data=" + m.dir
	ctx := context.Background()

	// bob's certificate is revoked (OCSP from warden serve says so).
	pw := filepath.Join(m.out, "pw")
	os.WriteFile(pw, []byte("bob password 1\n"), 0o600)
	mustWardenCLI(t, "user", "add", "bob", "--password-file", pw, d)
	mustWardenCLI(t, "user", "add", "carol", "--password-file", pw, d)
	mustWardenCLI(t, "cert", "issue", "--account", "bob", "--out", m.file("bob"), d)
	mustWardenCLI(t, "cert", "revoke", "--account", "bob", d)
	// carol's expired an minute ago: issued by the same CA with a clock
	// 61 minutes back and the shortest lifetime.
	past, err := pki.New(ctx, pki.Config{Store: m.srv.Store(), Time: func() time.Time { return time.Now().Add(-61 * time.Minute) }})
	if err != nil {
		t.Fatal(err)
	}
	old, err := past.IssueAccount(ctx, "carol", pki.IssueRequest{Lifetime: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	writePair(t, m.file("carol"), old.Cert.Raw, old.Key)
	// A self-signed certificate with alice's subject.
	aliceCert, err := tls.LoadX509KeyPair(m.file("alice")+".crt", m.file("alice")+".key")
	if err != nil {
		t.Fatal(err)
	}
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: aliceCert.Leaf.Subject, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, ExtraExtensions: aliceCert.Leaf.Extensions[:0]}
	for _, e := range aliceCert.Leaf.Extensions { // alice's UPN and SID, copied
		if e.Id.Equal(pki.OIDSubjectAltName) || e.Id.Equal(pki.OIDSIDExtension) {
			tmpl.ExtraExtensions = append(tmpl.ExtraExtensions, e)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	writePair(t, m.file("fake"), der, key)

	port, logs := m.proxy(t, "web")
	url := fmt.Sprintf("https://localhost:%d/", port)
	curl := func(client string) (string, string, error) {
		return curlStatus(t, "--cacert", m.ca, "--cert", m.file(client)+".crt", "--key", m.file(client)+".key", url)
	}

	code, body, err := curl("alice")
	if err != nil || code != "200" || body != "hello alice@PKI.TEST" {
		t.Fatalf("curl as alice: %v %s %q\n%s", err, code, body, logs)
	}
	if _, h := m.app.seen(); h.Get("X-Warden-Auth-Method") != "tls" || h.Get("X-Warden-Mutual") != "true" || !strings.HasPrefix(h.Get("X-Warden-User-SID"), "S-1-5-21-") {
		t.Fatalf("upstream headers: %v", h)
	}

	for _, tc := range []struct{ client, code, reason string }{
		{"fake", "CERT_UNKNOWN_ISSUER", "not a trusted realm CA"},
		{"carol", "CERT_EXPIRED", "expired at " + old.Cert.NotAfter.UTC().Format(time.RFC3339)},
		{"bob", "CERT_REVOKED", "was revoked at"},
	} {
		before := strings.Count(logs.String(), "authentication failed")
		status, body, err := curl(tc.client)
		if err != nil || status != "401" || !strings.Contains(body, tc.code+": ") || !strings.Contains(body, tc.reason) {
			t.Errorf("curl as %s: %v %s %q, want 401 %s %q", tc.client, err, status, body, tc.code, tc.reason)
		}
		l := logs.String()
		if strings.Count(l, "authentication failed") != before+1 || !strings.Contains(l, "code="+tc.code) {
			t.Errorf("proxy log after %s:\n%s", tc.client, l)
		}
	}

	// warden get --auth tls: the same answers.
	if out := mustWardenCLI(t, "get", "--auth", "tls", "--cert", m.file("alice")+".crt", "--key", m.file("alice")+".key", "--cacert", m.ca, url); out != "hello alice@PKI.TEST" {
		t.Fatalf("warden get: %q", out)
	}
	_, _, stderr := wardenCLI(t, "get", "--auth", "tls", "--cert", m.file("bob")+".crt", "--key", m.file("bob")+".key", "--cacert", m.ca, url)
	if !strings.Contains(stderr, "401 Unauthorized: CERT_REVOKED") {
		t.Fatalf("warden get with the revoked certificate:\n%s", stderr)
	}

	// openssl s_client: the mutual handshake, the CA list asked for, and
	// an HTTP answer as alice.
	o, err := openssl(t, "GET / HTTP/1.0\r\nHost: localhost\r\n\r\n", "s_client", "-connect", fmt.Sprintf("127.0.0.1:%d", port), "-servername", "localhost",
		"-CAfile", m.ca, "-verify_hostname", "localhost", "-verify_return_error", "-cert", m.file("alice")+".crt", "-key", m.file("alice")+".key", "-ign_eof")
	if err != nil || !strings.Contains(o, "Verify return code: 0 (ok)") || !strings.Contains(o, "Acceptable client certificate CA names") ||
		!strings.Contains(o, "PKI.TEST Warden CA") || !strings.Contains(o, "hello alice@PKI.TEST") {
		t.Fatalf("openssl s_client: %v\n%s", err, o)
	}
	// Without a certificate the handshake fails (certificate required).
	o, _ = openssl(t, "GET / HTTP/1.0\r\n\r\n", "s_client", "-connect", fmt.Sprintf("127.0.0.1:%d", port), "-servername", "localhost", "-CAfile", m.ca, "-ign_eof")
	if !strings.Contains(o, "certificate required") {
		t.Fatalf("openssl s_client without a certificate:\n%s", o)
	}

	// A proxy whose certificate is for another name: the clients refuse it.
	mustWardenCLI(t, "cert", "issue", "--dns", "other.pki.test", "--out", m.file("other"), d)
	port2, _ := m.proxy(t, "other")
	url2 := fmt.Sprintf("https://localhost:%d/", port2)
	_, body, err = curlStatus(t, "--cacert", m.ca, "--cert", m.file("alice")+".crt", "--key", m.file("alice")+".key", url2)
	if err == nil || !strings.Contains(body, "no alternative certificate subject name matches target host name") {
		t.Fatalf("curl to a server certificate for another name: %v %q", err, body)
	}
	_, _, stderr = wardenCLI(t, "get", "--auth", "tls", "--cert", m.file("alice")+".crt", "--key", m.file("alice")+".key", "--cacert", m.ca, url2)
	if !strings.Contains(stderr, "CERT_NAME_MISMATCH: server certificate is for [other.pki.test], not for localhost") || !strings.Contains(stderr, "hint:") {
		t.Fatalf("warden get to a server certificate for another name:\n%s", stderr)
	}
}

// TestMutualTLSBenchmark measures full mutual-TLS handshakes (no session
// resumption, a new connection per request) through warden proxy --auth
// tls with revocation checking on (OCSP from warden serve, cached for the
// stated freshness) and mapping in the account DB, each followed by one
// GET that reaches the application. It runs when WARDEN_BENCH_MTLS is set
// (a test, not a Benchmark, because the realm helpers take *testing.T).
func TestMutualTLSBenchmark(t *testing.T) {
	if os.Getenv("WARDEN_BENCH_MTLS") == "" {
		t.Skip("set WARDEN_BENCH_MTLS=1 to measure")
	}
	m := newMTLSRealm(t)
	port, _ := m.proxy(t, "web")
	cert, err := tls.LoadX509KeyPair(m.file("alice")+".crt", m.file("alice")+".key")
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(m.srv.PKI().CA())
	url := fmt.Sprintf("https://localhost:%d/", port)
	res := testing.Benchmark(func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{cert}, ServerName: "localhost"}, DisableKeepAlives: true}
				resp, err := (&http.Client{Transport: tr}).Get(url)
				if err != nil {
					b.Error(err)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					b.Errorf("status %d", resp.StatusCode)
					return
				}
			}
		})
	})
	t.Logf("full mTLS handshake + GET through warden proxy (revocation on): %d in %v: %.0f handshakes/s, %v each",
		res.N, res.T, float64(res.N)/res.T.Seconds(), time.Duration(res.NsPerOp()))
}

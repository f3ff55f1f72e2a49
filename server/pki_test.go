package server

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ocsp"

	"github.com/warden-auth/warden/config"

	"github.com/warden-auth/warden/pki"
	"github.com/warden-auth/warden/store"
)

// startServer runs a server on a realm dir until the test ends.
func startServer(t *testing.T, cfg *config.Config) (*Server, *syncBuffer) {
	t.Helper()
	var logBuf syncBuffer
	s, err := New(cfg, slog.New(slog.NewTextHandler(&logBuf, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Listen(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	return s, &logBuf
}

// The serve HTTPS listener presents a certificate from the realm CA and
// publishes the CA, the CRL and OCSP (POST and GET); a data directory
// without a CA gets one at start.
func TestPKIEndpoints(t *testing.T) {
	cfg := newRealmDir(t)
	s, logs := startServer(t, cfg)
	ca := s.PKI().CA()
	if !strings.Contains(logs.String(), "created the realm CA") {
		t.Errorf("CA creation not logged:\n%s", logs)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: "localhost"}}, Timeout: 5 * time.Second}
	base := "https://" + s.HTTPSAddr()
	get := func(path string) []byte {
		t.Helper()
		resp, err := hc.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			t.Fatalf("GET %s: %s %s", path, resp.Status, b)
		}
		return b
	}
	if !bytes.Equal(get("/pki/ca.crt"), ca.Raw) {
		t.Fatal("/pki/ca.crt is not the CA")
	}
	if !strings.Contains(string(get("/pki/ca.pem")), "BEGIN CERTIFICATE") {
		t.Fatal("/pki/ca.pem is not PEM")
	}

	// The listener's certificate: from the CA, for localhost and 127.0.0.1.
	conn, err := tls.Dial("tcp", s.HTTPSAddr(), &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	leaf := conn.ConnectionState().PeerCertificates[0]
	conn.Close()
	v, _ := pki.NewVerifier(pki.VerifierConfig{Roots: []*x509.Certificate{ca}})
	if err := v.VerifyServer([]*x509.Certificate{leaf}, "localhost"); err != nil {
		t.Fatal(err)
	}

	// Issue a user certificate and ask OCSP by POST and GET, then revoke.
	ctx := t.Context()
	iss, err := s.PKI().IssueAccount(ctx, "alice", pki.IssueRequest{})
	if err != nil {
		t.Fatal(err)
	}
	req, _ := ocsp.CreateRequest(iss.Cert, ca, nil)
	askPOST := func() *ocsp.Response {
		t.Helper()
		resp, err := hc.Post(base+"/pki/ocsp", "application/ocsp-request", bytes.NewReader(req))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if ct := resp.Header.Get("Content-Type"); ct != "application/ocsp-response" {
			t.Fatalf("content type %q", ct)
		}
		o, err := ocsp.ParseResponseForCert(b, iss.Cert, ca)
		if err != nil {
			t.Fatal(err)
		}
		return o
	}
	askGET := func() *ocsp.Response {
		t.Helper()
		b := get("/pki/ocsp/" + url.PathEscape(base64.StdEncoding.EncodeToString(req)))
		o, err := ocsp.ParseResponseForCert(b, iss.Cert, ca)
		if err != nil {
			t.Fatal(err)
		}
		return o
	}
	if askPOST().Status != ocsp.Good || askGET().Status != ocsp.Good {
		t.Fatal("fresh certificate not good")
	}
	if _, err := s.PKI().Revoke(ctx, iss.Record.Serial, pki.ReasonKeyCompromise); err != nil {
		t.Fatal(err)
	}
	if askPOST().Status != ocsp.Revoked || askGET().Status != ocsp.Revoked {
		t.Fatal("revoked certificate not revoked")
	}
	crl, err := x509.ParseRevocationList(get("/pki/crl"))
	if err != nil || crl.CheckSignatureFrom(ca) != nil || len(crl.RevokedCertificateEntries) != 1 {
		t.Fatalf("CRL: %v", err)
	}
	// A malformed OCSP request gets malformedRequest, and is logged.
	resp, err := hc.Post(base+"/pki/ocsp", "application/ocsp-request", strings.NewReader("junk"))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if _, err := ocsp.ParseResponse(b, nil); err != (ocsp.ResponseError{Status: ocsp.Malformed}) {
		t.Fatalf("junk: %v", err)
	}
	// A GET that is not base64, or too long, is refused the same way,
	// and the log says which.
	for _, c := range []struct{ path, reason string }{
		{"/pki/ocsp/" + url.PathEscape("not*base64"), "OCSP GET request is not base64"},
		{"/pki/ocsp/" + strings.Repeat("A", 2*pki.MaxOCSPRequestSize+1), "base64 characters; at most"},
	} {
		if _, err := ocsp.ParseResponse(get(c.path), nil); err != (ocsp.ResponseError{Status: ocsp.Malformed}) {
			t.Fatalf("GET %.40s: %v", c.path, err)
		}
		if !strings.Contains(logs.String(), c.reason) {
			t.Fatalf("GET %.40s: log lacks %q:\n%s", c.path, c.reason, logs)
		}
	}
	if !strings.Contains(logs.String(), "ocsp request refused") || !strings.Contains(string(get("/metrics")), `warden_pki_requests_total{op="ocsp",result="revoked"} 2`) {
		t.Fatalf("OCSP not logged or counted:\n%s", logs)
	}
}

// A saved HTTPS certificate is reused while current, and re-issued when
// it is not from the realm CA (e.g. the old self-signed one) or lacks a
// configured name.
func TestHTTPSCertRenewal(t *testing.T) {
	cfg := newRealmDir(t)
	s1, _ := New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	c1, err := s1.ensureHTTPSCert(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	same, err := s1.ensureHTTPSCert(t.Context(), loadHTTPSCert(cfg.Path(HTTPSCertFile), cfg.Path(HTTPSKeyFile)))
	if err != nil || !same.Leaf.Equal(c1.Leaf) {
		t.Fatalf("a current certificate was re-issued: %v", err)
	}
	if why := needsRenewal(c1, s1.PKI().CA(), []string{"other.example.test"}, time.Now()); !strings.Contains(why, "other.example.test") {
		t.Fatalf("missing name: %q", why)
	}
	if why := needsRenewal(c1, s1.PKI().CA(), HTTPSNames(cfg), c1.Leaf.NotAfter.Add(-time.Hour)); !strings.Contains(why, "expires") {
		t.Fatalf("near expiry: %q", why)
	}
	st, _ := os.Stat(cfg.Path(HTTPSKeyFile))
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v", st.Mode().Perm())
	}
	all, _ := s1.Store().Certs(t.Context(), store.CertFilter{})
	var certs []*store.Cert
	for _, c := range all {
		if !strings.Contains(c.Subject, "CN=krbtgt/") { // the KDC's PKINIT certificate (pkinit.go)
			certs = append(certs, c)
		}
	}
	if len(certs) != 1 || certs[0].Kind != store.CertServer {
		t.Fatalf("recorded certificates %+v", certs)
	}
	s1.KDC().Close()
	s1.Store().Close()
}

package cli

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/warden-auth/warden/pki"
)

// demoTLS is warden proxy --auth tls with a server certificate for
// web.warden.test, in front of the demo application, checking
// revocation with the AA's OCSP responder and mapping certificates in
// the realm's account DB.
type demoTLS struct {
	*demoHTTP
	ca  *x509.Certificate
	dir string
}

// writeIssued writes an issued certificate and key as PREFIX.crt/.key.
func writeIssued(prefix string, iss *pki.Issued) error {
	kd, err := x509.MarshalPKCS8PrivateKey(iss.Key)
	if err != nil {
		return err
	}
	if err := os.WriteFile(prefix+".crt", pemCert(iss.Cert.Raw), 0o644); err != nil {
		return err
	}
	return os.WriteFile(prefix+".key", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kd}), 0o600)
}

func (d *demoRealm) startTLS(c context.Context) (*demoTLS, error) {
	a := d.srv.PKI()
	if a == nil {
		return nil, errors.New("the demo AA runs no CA")
	}
	h := &demoTLS{demoHTTP: &demoHTTP{stopped: make(chan error, 1)}, ca: a.CA(), dir: d.dir}
	web, err := a.IssueServer(c, []string{"web.warden.test"}, pki.IssueRequest{})
	if err != nil {
		return nil, err
	}
	if err := writeIssued(filepath.Join(d.dir, "web"), web); err != nil {
		return nil, err
	}
	caFile := filepath.Join(d.dir, "ca.crt")
	if err := os.WriteFile(caFile, pemCert(a.CA().Raw), 0o644); err != nil {
		return nil, err
	}
	appLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	app := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.mu.Lock()
		h.seenUser, h.seenGrps = r.Header.Get("X-Forwarded-User"), r.Header.Get("X-Forwarded-Groups")
		h.mu.Unlock()
		fmt.Fprintf(w, "hello %s\n", r.Header.Get("X-Forwarded-User"))
	})}
	go func() { _ = app.Serve(appLn) }()
	go func() { <-c.Done(); app.Close() }()
	aa := "https://" + d.srv.HTTPSAddr()
	ready := make(chan string, 1)
	go func() {
		h.stopped <- runProxy(c, io.Discard, proxyOptions{listen: "127.0.0.1:0", upstream: "http://" + appLn.Addr().String(), auth: "tls",
			tlsCert: filepath.Join(d.dir, "web.crt"), tlsKey: filepath.Join(d.dir, "web.key"), caFile: caFile, data: d.dir,
			ocspURL: aa + "/pki/ocsp", crlURL: aa + "/pki/crl", freshness: time.Minute, verifyAt: "http",
			logLevel: "error", logFormat: "text"}, func(addr string) { ready <- addr })
	}()
	select {
	case h.proxyAddr = <-ready:
		return h, nil
	case err := <-h.stopped:
		if err == nil {
			err = errors.New("the proxy stopped at once")
		}
		return nil, err
	}
}

// get fetches https://web.warden.test/ through the proxy with cert,
// checking the proxy's certificate against the realm CA.
func (h *demoTLS) get(c context.Context, cert *pki.Issued) (int, string, error) {
	v, err := pki.NewVerifier(pki.VerifierConfig{Roots: []*x509.Certificate{h.ca}})
	if err != nil {
		return 0, "", err
	}
	cfg := v.ClientTLSConfig("web.warden.test")
	pair := tls.Certificate{Certificate: [][]byte{cert.Cert.Raw}, PrivateKey: cert.Key, Leaf: cert.Cert}
	cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &pair, nil }
	tr := &http.Transport{TLSClientConfig: cfg, DialContext: func(c context.Context, network, _ string) (net.Conn, error) {
		var dl net.Dialer
		return dl.DialContext(c, network, h.proxyAddr)
	}}
	defer tr.CloseIdleConnections()
	req, _ := http.NewRequestWithContext(c, "GET", "https://web.warden.test/", nil)
	resp, err := (&http.Client{Transport: tr, Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	return resp.StatusCode, strings.TrimSpace(string(body)), nil
}

// mutualTLS is MS-AUTHSOD 2.5.4.1.3 in its modern form: the realm CA
// issues the proxy's and alice's certificates, both sides verify each
// other in the TLS 1.3 handshake, the proxy checks revocation with the
// AA's OCSP responder and maps the certificate to alice in the account
// DB, and the application learns who she is.
func (d *demoRealm) mutualTLS(c context.Context) (string, error) {
	c, cancel := context.WithCancel(c)
	defer cancel()
	h, err := d.startTLS(c)
	if err != nil {
		return "", err
	}
	defer h.stop(cancel)
	alice, err := d.srv.PKI().IssueAccount(c, "alice", pki.IssueRequest{})
	if err != nil {
		return "", err
	}
	status, body, err := h.get(c, alice)
	if err != nil {
		return "", err
	}
	if status != http.StatusOK {
		return "", fmt.Errorf("HTTP %d: %s", status, body)
	}
	user, groups := h.seen()
	if want := "alice@" + d.realm; user != want {
		return "", fmt.Errorf("the application saw X-Forwarded-User %q, want %q", user, want)
	}
	n := 0
	if groups != "" {
		n = strings.Count(groups, ",") + 1
	}
	return fmt.Sprintf("app saw X-Forwarded-User: %s (%d groups) from certificate serial %s; client verified web.warden.test against the realm CA",
		user, n, pki.SerialString(alice.Cert.SerialNumber)), nil
}

// mutualTLSRevoked presents a certificate revoked a moment ago: the
// proxy's OCSP check finds it and answers 401 with the date.
func (d *demoRealm) mutualTLSRevoked(c context.Context) (string, error) {
	c, cancel := context.WithCancel(c)
	defer cancel()
	h, err := d.startTLS(c)
	if err != nil {
		return "", err
	}
	defer h.stop(cancel)
	iss, err := d.srv.PKI().IssueAccount(c, "alice", pki.IssueRequest{})
	if err != nil {
		return "", err
	}
	if _, err := d.srv.PKI().Revoke(c, iss.Record.Serial, pki.ReasonKeyCompromise); err != nil {
		return "", err
	}
	status, body, err := h.get(c, iss)
	if err != nil {
		return "", err
	}
	if status == http.StatusOK {
		return "accepted", nil
	}
	return "", fmt.Errorf("%s", body)
}

package cli

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/warden-auth/warden/pki"
)

// demoTLS is warden proxy --auth tls with a server certificate for
// web.warden.test, in front of the demo application, checking
// revocation with the AA's OCSP responder and mapping certificates in
// the realm's account DB.
type demoTLS struct {
	*demoHTTP
	ca *x509.Certificate
}

func (d *demoRealm) startTLS(c context.Context) (*demoTLS, error) {
	a := d.srv.PKI()
	if a == nil {
		return nil, errors.New("the demo AA runs no CA")
	}
	web, err := a.IssueServer(c, []string{"web.warden.test"}, pki.IssueRequest{})
	if err != nil {
		return nil, err
	}
	webFiles := &issueOpts{out: filepath.Join(d.dir, "web"), force: true}
	if err := webFiles.write(io.Discard, a, web); err != nil {
		return nil, err
	}
	caFile, err := d.writeCA()
	if err != nil {
		return nil, err
	}
	aa := "https://" + d.srv.HTTPSAddr()
	h, err := startProxy(c, proxyOptions{auth: "tls", tlsCert: webFiles.out + ".crt", tlsKey: webFiles.out + ".key",
		caFile: caFile, data: d.dir, ocspURL: aa + "/pki/ocsp", crlURL: aa + "/pki/crl", freshness: time.Minute, verifyAt: "http"})
	if err != nil {
		return nil, err
	}
	return &demoTLS{demoHTTP: h, ca: a.CA()}, nil
}

// writeCA writes the realm CA's certificate for the proxy and returns
// the file.
func (d *demoRealm) writeCA() (string, error) {
	caFile := filepath.Join(d.dir, "ca.crt")
	return caFile, os.WriteFile(caFile, pemCert(d.srv.PKI().CA().Raw), 0o644)
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
	return demoFetch(c, &http.Transport{TLSClientConfig: cfg, DialContext: h.dial}, nil, "https://web.warden.test/")
}

// mutualTLS is MS-AUTHSOD 2.5.4.1.3 in its modern form: the realm CA
// issues the proxy's and alice's certificates, both sides verify each
// other in the TLS 1.3 handshake, the proxy checks revocation with the
// AA's OCSP responder and maps the certificate to alice in the account
// DB, and the application learns who she is.
func (d *demoRealm) mutualTLS(c context.Context) (string, error) {
	h, err := d.startTLS(c)
	if err != nil {
		return "", err
	}
	defer h.stop()
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
	user, n := h.seen()
	if want := "alice@" + d.realm; user != want {
		return "", fmt.Errorf("the application saw X-Forwarded-User %q, want %q", user, want)
	}
	return fmt.Sprintf("app saw X-Forwarded-User: %s (%d groups) from certificate serial %s; client verified web.warden.test against the realm CA",
		user, n, pki.SerialString(alice.Cert.SerialNumber)), nil
}

// mutualTLSRevoked presents a certificate revoked a moment ago: the
// proxy's OCSP check finds it and answers 401 with the date.
func (d *demoRealm) mutualTLSRevoked(c context.Context) (string, error) {
	h, err := d.startTLS(c)
	if err != nil {
		return "", err
	}
	defer h.stop()
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

package cli

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/warden-auth/warden/pki"
)

// runGetTLS is warden get --auth tls: HTTPS with a client certificate.
// The server's chain and DNS name are checked against the realm CA of
// --cacert with pki.Verifier, so a refusal says which names the
// certificate holds and which name was asked; without --cacert the
// system's roots and Go's own check apply.
func runGetTLS(cmd *cobra.Command, rawURL string, o getOptions) error {
	u, err := url.Parse(rawURL)
	if err != nil {
		return err
	}
	if u.Scheme != "https" {
		return withHint(fmt.Errorf("%s: --auth tls needs an https:// URL", rawURL), "e.g. warden get --auth tls --cert alice.crt --key alice.key https://web.example.test/")
	}
	if o.cert == "" || o.key == "" {
		return withHint(errors.New("--auth tls needs --cert and --key"), "issue a client certificate: warden cert issue --account NAME --out NAME (writes NAME.crt and NAME.key)")
	}
	cert, err := tls.LoadX509KeyPair(o.cert, o.key)
	if err != nil {
		return withHint(fmt.Errorf("client certificate: %w", err), "--cert and --key must be the PEM certificate and its key (warden cert issue writes both)")
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	caName := "the system's roots"
	if o.caCert != "" {
		b, err := os.ReadFile(o.caCert)
		if err != nil {
			return err
		}
		roots, err := parsePEMCerts(b)
		if err != nil || len(roots) == 0 {
			return withHint(fmt.Errorf("--cacert %s holds no PEM certificate", o.caCert), "export the realm CA: warden cert ca -o ca.crt")
		}
		v, err := pki.NewVerifier(pki.VerifierConfig{Roots: roots})
		if err != nil {
			return err
		}
		cfg = v.ClientTLSConfig(u.Hostname())
		caName = roots[0].Subject.String()
	}
	// Present the certificate whatever CAs the server lists, so that a
	// server refusing it says why (Go would otherwise send none).
	cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &cert, nil }
	stderr := cmd.ErrOrStderr()
	if o.verbose {
		fmt.Fprintf(stderr, "> GET %s (client certificate %s, serial %s)\n", u, cert.Leaf.Subject, pki.SerialString(cert.Leaf.SerialNumber))
	}
	tr := &http.Transport{TLSClientConfig: cfg, Proxy: http.ProxyFromEnvironment, ForceAttemptHTTP2: true}
	req, err := http.NewRequestWithContext(ctx(cmd), "GET", u.String(), nil)
	if err != nil {
		return err
	}
	resp, err := (&http.Client{Transport: tr, Timeout: o.timeout}).Do(req)
	if err != nil {
		err = urlCause(err)
		if pki.CodeOf(err) != 0 {
			return err // server certificate refused: the reason and hint
		}
		if s := err.Error(); strings.Contains(s, "remote error: tls:") {
			return withHint(fmt.Errorf("the server refused the TLS handshake: %w", err),
				"the server refused the client certificate during the handshake without saying why; its log has the reason (check warden cert list for expiry or revocation)")
		}
		return err
	}
	defer resp.Body.Close()
	if o.verbose {
		fmt.Fprintf(stderr, "< %s %s\n", resp.Proto, resp.Status)
		if resp.TLS != nil && len(resp.TLS.PeerCertificates) > 0 {
			leaf := resp.TLS.PeerCertificates[0]
			fmt.Fprintf(stderr, "* server certificate for [%s] verified for %s against %s; %s\n", strings.Join(leaf.DNSNames, " "), u.Hostname(), caName, tls.VersionName(resp.TLS.Version))
		}
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return tlsStatusError(resp)
	}
	return writeBody(cmd, o.output, resp.Body)
}

// tlsStatusError quotes the server's reason for a non-2xx answer.
func tlsStatusError(resp *http.Response) error {
	err := httpError(resp, serverReason(resp))
	switch resp.StatusCode {
	case http.StatusUnauthorized:
		return withHint(err, "the server refused the client certificate; renew or re-issue it: warden cert issue --account NAME")
	case http.StatusForbidden:
		return withHint(err, "the server accepted the certificate but refused its account (or the path needs a group)")
	}
	return err
}

package pki

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"strings"
	"time"
)

// VerifierConfig configures a Verifier.
type VerifierConfig struct {
	// Roots are the CAs trusted to issue logon and server certificates:
	// the realm CA (exported with warden cert ca). Required.
	Roots []*x509.Certificate
	// Revocation checks revocation; nil skips the check. Client
	// certificates fail closed when the status cannot be determined;
	// server certificates fail only when known to be revoked.
	Revocation RevocationChecker
	// Time is the clock (default time.Now).
	Time func() time.Time
}

// Verifier checks certificate chains against the realm CA. It is safe
// for concurrent use.
type Verifier struct {
	cfg   VerifierConfig
	roots *x509.CertPool
}

// NewVerifier returns a Verifier for the roots.
func NewVerifier(cfg VerifierConfig) (*Verifier, error) {
	if len(cfg.Roots) == 0 {
		return nil, errors.New("pki: a Verifier needs the realm CA certificate")
	}
	p := x509.NewCertPool()
	for _, r := range cfg.Roots {
		p.AddCert(r)
	}
	return &Verifier{cfg: cfg, roots: p}, nil
}

// Pool returns the roots as a pool (tls.Config.ClientCAs / RootCAs).
func (v *Verifier) Pool() *x509.CertPool { return v.roots }

func (v *Verifier) now() time.Time {
	if v.cfg.Time == nil {
		return time.Now()
	}
	return v.cfg.Time()
}

// VerifyClient checks a client's chain (leaf first, as in
// tls.ConnectionState.PeerCertificates): it leads to a root, every
// certificate is valid now, the leaf allows clientAuth, and it is not
// revoked (hard fail). It returns the leaf. Refusals are *Error with
// CodeUnknownIssuer, CodeExpired, CodeNotYetValid, CodeWrongUsage,
// CodeRevoked or CodeRevocationUnknown.
func (v *Verifier) VerifyClient(chain []*x509.Certificate) (*x509.Certificate, error) {
	return v.VerifyClientContext(context.Background(), chain)
}

// VerifyClientContext is VerifyClient with a context for the revocation check.
func (v *Verifier) VerifyClientContext(ctx context.Context, chain []*x509.Certificate) (*x509.Certificate, error) {
	verified, err := v.verifyChain(chain, x509.ExtKeyUsageClientAuth, "client")
	if err != nil {
		return nil, err
	}
	if err := v.checkRevocation(ctx, verified, true); err != nil {
		return nil, err
	}
	return verified[0], nil
}

// VerifyServer checks a server's chain like VerifyClient (serverAuth;
// revocation soft-fail) and that one of its DNS or IP names matches
// name, the name the client meant to reach (RFC 9525: SANs only, a
// wildcard only as the whole left-most label). A mismatch is
// CodeNameMismatch listing the certificate's names and the name asked.
func (v *Verifier) VerifyServer(chain []*x509.Certificate, name string) error {
	return v.VerifyServerContext(context.Background(), chain, name)
}

// VerifyServerContext is VerifyServer with a context for the revocation check.
func (v *Verifier) VerifyServerContext(ctx context.Context, chain []*x509.Certificate, name string) error {
	verified, err := v.verifyChain(chain, x509.ExtKeyUsageServerAuth, "server")
	if err != nil {
		return err
	}
	leaf := verified[0]
	if err := leaf.VerifyHostname(strings.TrimSuffix(name, ".")); err != nil {
		names := append([]string{}, leaf.DNSNames...)
		for _, ip := range leaf.IPAddresses {
			names = append(names, ip.String())
		}
		return newErr(CodeNameMismatch,
			fmt.Sprintf("server certificate is for [%s], not for %s", strings.Join(names, " "), name),
			"connect with a name the certificate holds, or issue one for this name: warden cert issue --dns "+name, err)
	}
	return v.checkRevocation(ctx, verified, false)
}

// VerifyServerConnection returns a tls.Config.VerifyConnection function
// for clients: set InsecureSkipVerify (Go's own check is replaced, not
// skipped) and this, and the handshake fails with a *Error.
func (v *Verifier) VerifyServerConnection(name string) func(tls.ConnectionState) error {
	return func(cs tls.ConnectionState) error { return v.VerifyServer(cs.PeerCertificates, name) }
}

// ClientTLSConfig returns a TLS client configuration (TLS 1.2+) that
// verifies the server against the realm CA and name with VerifyServer.
func (v *Verifier) ClientTLSConfig(name string) *tls.Config {
	return &tls.Config{
		MinVersion:         tls.VersionTLS12,
		ServerName:         name,
		RootCAs:            v.roots,
		InsecureSkipVerify: true, // replaced by VerifyConnection below, which always runs
		VerifyConnection:   v.VerifyServerConnection(name),
	}
}

// verifyChain builds and checks the path. A forged or foreign leaf is
// reported as an unknown issuer whatever its dates; a leaf from the realm
// CA outside its validity as expired / not yet valid, with the dates.
func (v *Verifier) verifyChain(chain []*x509.Certificate, eku x509.ExtKeyUsage, role string) ([]*x509.Certificate, error) {
	if len(chain) == 0 || chain[0] == nil {
		return nil, newErr(CodeUnknownIssuer, "no "+role+" certificate was presented", "", nil)
	}
	leaf := chain[0]
	inter := x509.NewCertPool()
	for _, c := range chain[1:] {
		inter.AddCert(c)
	}
	now := v.now()
	at := now
	if now.Before(leaf.NotBefore) {
		at = leaf.NotBefore
	} else if now.After(leaf.NotAfter) {
		at = leaf.NotAfter
	}
	opts := x509.VerifyOptions{Roots: v.roots, Intermediates: inter, CurrentTime: at, KeyUsages: []x509.ExtKeyUsage{eku}}
	chains, err := leaf.Verify(opts)
	if err != nil {
		return nil, v.chainError(leaf, role, err)
	}
	switch {
	case now.Before(leaf.NotBefore):
		return nil, newErr(CodeNotYetValid, fmt.Sprintf("%s certificate %s (serial %s) is not valid before %s; it is now %s",
			role, leaf.Subject, SerialString(leaf.SerialNumber), fmtTime(leaf.NotBefore), fmtTime(now)),
			"check the clocks of both hosts (NTP)", nil)
	case now.After(leaf.NotAfter):
		return nil, newErr(CodeExpired, fmt.Sprintf("%s certificate %s (serial %s) expired at %s; it is now %s",
			role, leaf.Subject, SerialString(leaf.SerialNumber), fmtTime(leaf.NotAfter), fmtTime(now)),
			"renew it: warden cert issue (or warden cert renew SERIAL)", nil)
	}
	if at != now {
		return chains[0], nil
	}
	// The CA and intermediates at the real time.
	for _, c := range chains[0][1:] {
		if now.After(c.NotAfter) {
			return nil, newErr(CodeExpired, fmt.Sprintf("CA certificate %s expired at %s; it is now %s", c.Subject, fmtTime(c.NotAfter), fmtTime(now)), "", nil)
		}
		if now.Before(c.NotBefore) {
			return nil, newErr(CodeNotYetValid, fmt.Sprintf("CA certificate %s is not valid before %s; it is now %s", c.Subject, fmtTime(c.NotBefore), fmtTime(now)), "check the clocks (NTP)", nil)
		}
	}
	return chains[0], nil
}

func (v *Verifier) chainError(leaf *x509.Certificate, role string, err error) error {
	var ua x509.UnknownAuthorityError
	var ci x509.CertificateInvalidError
	switch {
	case errors.As(err, &ua):
		reason := fmt.Sprintf("%s certificate %s was issued by %s, which is not a trusted realm CA", role, leaf.Subject, leaf.Issuer)
		for _, r := range v.cfg.Roots {
			if string(r.RawSubject) == string(leaf.RawIssuer) {
				reason = fmt.Sprintf("%s certificate %s names the realm CA %s as issuer but is not signed by its key (forged or self-signed)", role, leaf.Subject, leaf.Issuer)
			}
		}
		return newErr(CodeUnknownIssuer, reason, "use a certificate issued by the realm CA (warden cert issue) and trust the CA exported with warden cert ca", err)
	case errors.As(err, &ci) && ci.Reason == x509.IncompatibleUsage:
		return newErr(CodeWrongUsage, fmt.Sprintf("%s certificate %s does not allow %s authentication (extended key usage %s)",
			role, leaf.Subject, role, ekuNames(leaf)), "issue a "+role+" certificate: warden cert issue "+map[string]string{"client": "--account NAME", "server": "--dns NAME"}[role], err)
	case errors.As(err, &ci) && ci.Reason == x509.Expired:
		return newErr(CodeExpired, fmt.Sprintf("a CA certificate of the %s chain is outside its validity: %s", role, ci.Detail), "", err)
	}
	return newErr(CodeBadCertificate, fmt.Sprintf("%s certificate %s is invalid", role, leaf.Subject), "", err)
}

func ekuNames(c *x509.Certificate) string {
	names := map[x509.ExtKeyUsage]string{x509.ExtKeyUsageServerAuth: "serverAuth", x509.ExtKeyUsageClientAuth: "clientAuth",
		x509.ExtKeyUsageOCSPSigning: "OCSPSigning", x509.ExtKeyUsageAny: "any"}
	var out []string
	for _, u := range c.ExtKeyUsage {
		if n, ok := names[u]; ok {
			out = append(out, n)
		} else {
			out = append(out, fmt.Sprint(int(u)))
		}
	}
	if len(out) == 0 {
		return "none"
	}
	return strings.Join(out, ",")
}

func (v *Verifier) checkRevocation(ctx context.Context, chain []*x509.Certificate, hard bool) error {
	if v.cfg.Revocation == nil || len(chain) < 2 {
		return nil
	}
	leaf := chain[0]
	st, err := v.cfg.Revocation.Status(ctx, leaf, chain[1])
	if err != nil {
		if !hard {
			return nil // server certificates: soft fail
		}
		var pe *Error
		if errors.As(err, &pe) && pe.Code == CodeRevocationUnknown {
			return err
		}
		return newErr(CodeRevocationUnknown, fmt.Sprintf("revocation status of %s (serial %s) could not be determined", leaf.Subject, SerialString(leaf.SerialNumber)),
			"check that the AA's /pki/ocsp or /pki/crl is reachable", err)
	}
	if st.Revoked {
		return newErr(CodeRevoked, fmt.Sprintf("certificate %s (serial %s) was revoked at %s (%s; status from %s, produced %s)",
			leaf.Subject, SerialString(leaf.SerialNumber), fmtTime(st.RevokedAt), st.Reason, st.Source, fmtTime(st.ThisUpdate)),
			"issue a new certificate: warden cert issue", nil)
	}
	return nil
}

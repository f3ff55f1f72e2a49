package httpauth

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/warden-auth/warden/auth"
	"github.com/warden-auth/warden/pki"
)

// CertMapper maps a verified client certificate to the identity of an
// account. *pki.Mapper is one (next to the account DB: strong mapping,
// disabled and locked accounts refused, groups from the DB).
type CertMapper interface {
	Identity(ctx context.Context, cert *x509.Certificate) (*auth.Identity, error)
}

// TLSConfig configures a TLSAuthenticator. Zero values are the documented
// defaults.
type TLSConfig struct {
	// Verifier checks the client's chain against the realm CA, its
	// validity and clientAuth usage, and its revocation (hard fail) with
	// the Verifier's RevocationChecker: a pki.RemoteChecker (OCSP, then
	// the CRL, cached for its Freshness) away from the AA. Required.
	Verifier *pki.Verifier
	// Mapper maps the verified certificate to an account (required unless
	// CertificateIdentity is set).
	Mapper CertMapper
	// CertificateIdentity, with no Mapper, takes the identity from the
	// verified certificate alone, for servers that cannot reach the
	// account DB: the account SID from the AD SID extension (required),
	// the user from the UPN, no groups. What the DB would add is then
	// missing: a disabled or locked account is not refused (revoke its
	// certificates: warden cert revoke --account NAME), and group rules
	// see no groups.
	CertificateIdentity bool
	// Realm is the realm of identities made with CertificateIdentity;
	// certificates whose UPN names another realm are refused.
	Realm string
	// Fallback authenticates requests that come without a client
	// certificate (HTTP Negotiate for "negotiate,tls"); nil refuses them.
	Fallback *Authenticator
	// Logger receives one line per refusal (keys op, code, reason, hint,
	// principal, remote) and a debug line per success; nil means
	// slog.Default().
	Logger *slog.Logger
	// HandshakeTimeout bounds the revocation check made during a
	// handshake (VerifyAtHandshake); 0 means 10 seconds.
	HandshakeTimeout time.Duration
}

// TLSAuthenticator authenticates HTTP requests by the client certificate
// of their TLS connection. It is safe for concurrent use.
//
// Where the refusal happens: by default the handshake only requires a
// certificate (tls.RequireAnyClientCert), and the chain, validity,
// revocation and mapping are checked for each request by Middleware, so
// that a refused client reads "401 Unauthorized: CERT_REVOKED: ..." in
// the HTTP answer. A refusal in the handshake reaches the client as a
// bare TLS alert (bad_certificate) with no reason; ServerTLSConfig with
// VerifyAtHandshake does that, for servers that want no refused client
// to speak HTTP at all, and logs the reason on the server side only.
type TLSAuthenticator struct {
	cfg TLSConfig
	log *slog.Logger
}

// NewTLS checks cfg and returns a TLSAuthenticator.
func NewTLS(cfg TLSConfig) (*TLSAuthenticator, error) {
	if cfg.Verifier == nil {
		return nil, errors.New("httpauth: TLSConfig.Verifier (the realm CA) is required")
	}
	if cfg.Mapper == nil && !cfg.CertificateIdentity {
		return nil, errors.New("httpauth: TLSConfig needs a Mapper (the account DB), or CertificateIdentity to trust the certificate's SID alone")
	}
	if cfg.Mapper != nil && cfg.CertificateIdentity {
		return nil, errors.New("httpauth: TLSConfig.CertificateIdentity and Mapper exclude each other")
	}
	if cfg.HandshakeTimeout <= 0 {
		cfg.HandshakeTimeout = 10 * time.Second
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	return &TLSAuthenticator{cfg: cfg, log: log}, nil
}

// ConnContext is the Fallback's (per-connection Negotiate state), or
// returns ctx unchanged.
func (a *TLSAuthenticator) ConnContext(ctx context.Context, c net.Conn) context.Context {
	if a.cfg.Fallback != nil {
		return a.cfg.Fallback.ConnContext(ctx, c)
	}
	return ctx
}

// Middleware authenticates every request by its client certificate before
// next runs: next sees the identity in auth.FromContext(r.Context()).
// Requests without a certificate go to the Fallback, or get 401.
// Certificates that fail verification get 401, certificates that verify
// but whose account is refused (unmapped, weak mapping only, disabled,
// locked) get 403; both with a one-line reason, logged once.
func (a *TLSAuthenticator) Middleware(next http.Handler) http.Handler {
	var fallback http.Handler
	if a.cfg.Fallback != nil {
		fallback = a.cfg.Fallback.Middleware(next)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if fallback != nil && (r.TLS == nil || len(r.TLS.PeerCertificates) == 0) {
			fallback.ServeHTTP(w, r)
			return
		}
		id, err := a.Authenticate(r.Context(), r.TLS)
		if err != nil {
			a.refuse(w, r, err)
			return
		}
		a.log.Debug("authenticated", "op", "httpauth.tls", "principal", id.Principal(), "mutual", true, "remote", r.RemoteAddr)
		next.ServeHTTP(w, r.WithContext(auth.NewContext(r.Context(), id)))
	})
}

// Authenticate verifies the client certificate of a TLS connection and
// maps it to an identity. Failures are *Error: NoClientCertificate, or
// CertificateRejected wrapping the *pki.Error with the reason.
func (a *TLSAuthenticator) Authenticate(ctx context.Context, cs *tls.ConnectionState) (*auth.Identity, error) {
	if cs == nil {
		return nil, &Error{Code: NoClientCertificate, Reason: "client certificate required: this server authenticates over HTTPS only",
			Hint: "use https:// and a client certificate (curl --cert F --key F, warden get --auth tls --cert F --key F)"}
	}
	if len(cs.PeerCertificates) == 0 {
		return nil, &Error{Code: NoClientCertificate, Reason: "client certificate required: the TLS connection carries none",
			Hint: "present a certificate from the realm CA (warden cert issue --account NAME): curl --cert F --key F, warden get --auth tls --cert F --key F"}
	}
	leaf, err := a.cfg.Verifier.VerifyClientContext(ctx, cs.PeerCertificates)
	if err != nil {
		return nil, certErr(err)
	}
	var id *auth.Identity
	if a.cfg.Mapper != nil {
		id, err = a.cfg.Mapper.Identity(ctx, leaf)
	} else {
		id, err = a.certificateIdentity(leaf)
	}
	if err != nil {
		return nil, certErr(err)
	}
	return id, nil
}

func certErr(err error) error {
	var pe *pki.Error
	if errors.As(err, &pe) {
		return &Error{Code: CertificateRejected, Reason: pe.Reason, Err: err}
	}
	return &Error{Code: CertificateRejected, Reason: "the client certificate could not be checked", Err: err}
}

// certificateIdentity is the identity a verified certificate states by
// itself (CertificateIdentity).
func (a *TLSAuthenticator) certificateIdentity(c *x509.Certificate) (*auth.Identity, error) {
	who := fmt.Sprintf("certificate %s (serial %s)", c.Subject, pki.SerialString(c.SerialNumber))
	sid, err := pki.CertSID(c)
	if err != nil {
		return nil, &pki.Error{Code: pki.CodeBadCertificate, Reason: who + ": " + err.Error(), Err: err}
	}
	upns, err := pki.CertUPNs(c)
	if err != nil {
		return nil, &pki.Error{Code: pki.CodeBadCertificate, Reason: who + ": " + err.Error(), Err: err}
	}
	if sid == "" {
		return nil, &pki.Error{Code: pki.CodeUnmapped, Reason: who + " carries no SID extension, and this server maps certificates without the account DB",
			Hint: "issue the certificate with warden cert issue --account NAME, or run the server next to the account DB (warden proxy --data DIR)"}
	}
	id := &auth.Identity{User: c.Subject.CommonName, Realm: a.cfg.Realm, SID: sid, Method: auth.MethodTLS, Mutual: true, Expires: c.NotAfter}
	if len(upns) > 0 {
		user, realm, _ := strings.Cut(upns[0], "@")
		if a.cfg.Realm != "" && !strings.EqualFold(realm, a.cfg.Realm) {
			return nil, &pki.Error{Code: pki.CodeUnmapped, Reason: fmt.Sprintf("%s has UPN %s, outside realm %s", who, upns[0], a.cfg.Realm)}
		}
		id.User = user
		if a.cfg.Realm == "" {
			id.Realm = strings.ToUpper(realm)
		}
	}
	if id.User == "" {
		return nil, &pki.Error{Code: pki.CodeUnmapped, Reason: who + " names no user (no UPN, no common name)"}
	}
	return id, nil
}

// statusOf is the HTTP status of a refusal: 403 when the certificate is
// good but its account is refused, 401 otherwise.
func statusOf(err error) int {
	switch pki.CodeOf(err) {
	case pki.CodeUnmapped, pki.CodeWeakMapping, pki.CodeMappingMismatch, pki.CodeAccountDisabled, pki.CodeAccountLocked:
		return http.StatusForbidden
	}
	return http.StatusUnauthorized
}

// refuse answers the refusal with its reason and logs it once.
func (a *TLSAuthenticator) refuse(w http.ResponseWriter, r *http.Request, err error) {
	var e *Error
	if !errors.As(err, &e) {
		e = &Error{Code: CertificateRejected, Reason: "authentication failed", Err: err}
	}
	a.logRefusal(r.Context(), "request", e, r.TLS, r.RemoteAddr)
	status := statusOf(err)
	h := w.Header()
	if a.cfg.Fallback != nil && status == http.StatusUnauthorized {
		h.Add("WWW-Authenticate", schemeNegotiate)
	}
	refusalHeaders(h)
	w.WriteHeader(status)
	_, _ = fmt.Fprintf(w, "%d %s: %s\n", status, http.StatusText(status), oneLine(e.Error()))
}

// logRefusal logs a refusal once; principal is the certificate's subject
// (the account is not known before the mapping succeeds).
func (a *TLSAuthenticator) logRefusal(ctx context.Context, stage string, e *Error, cs *tls.ConnectionState, remote string) {
	principal := ""
	if cs != nil && len(cs.PeerCertificates) > 0 {
		principal = cs.PeerCertificates[0].Subject.String()
	}
	level := slog.LevelWarn
	if e.Code == NoClientCertificate {
		level = slog.LevelInfo
	}
	a.log.Log(ctx, level, "authentication failed", "op", "httpauth.tls", "stage", stage, "code", e.logCode(), "reason", e.Reason,
		"hint", e.ErrorHint(), "principal", principal, "remote", remote)
}

// oneLine keeps a reason on one line of the answer body.
func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\n' || r == '\r' {
			return ' '
		}
		return r
	}, s)
}

// TLSServerOptions configures ServerTLSConfig.
type TLSServerOptions struct {
	// Certificates are the server's certificate chains and keys.
	Certificates []tls.Certificate
	// VerifyAtHandshake refuses bad client certificates during the
	// handshake (the client sees a TLS alert without reason; the server
	// logs it) instead of with a readable 401/403 (the default).
	VerifyAtHandshake bool
}

// tls12Suites are the TLS 1.2 suites allowed: ECDHE with AES-GCM or
// ChaCha20-Poly1305 (no RSA key transport, no CBC). TLS 1.3 suites are
// not configurable and all qualify.
var tls12Suites = []uint16{
	tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
}

// ServerTLSConfig returns the server's TLS configuration for client
// certificates: TLS 1.2 (ECDHE + AEAD suites) and 1.3 only; the
// CertificateRequest lists the realm CA, so clients pick the right
// certificate; a client certificate is required in the handshake
// (tls.RequireAnyClientCert: a client without one gets the
// certificate_required alert), or only requested when a Fallback
// authenticates requests without one. Go's own chain check is not used:
// Middleware (or VerifyConnection, with VerifyAtHandshake, which runs for
// resumed sessions too) checks the chain, revocation and mapping, so that
// every refusal carries its reason.
func (a *TLSAuthenticator) ServerTLSConfig(o TLSServerOptions) *tls.Config {
	c := &tls.Config{
		MinVersion:   tls.VersionTLS12,
		MaxVersion:   tls.VersionTLS13,
		CipherSuites: tls12Suites,
		Certificates: o.Certificates,
		ClientCAs:    a.cfg.Verifier.Pool(),
		ClientAuth:   tls.RequireAnyClientCert,
	}
	if a.cfg.Fallback != nil {
		c.ClientAuth = tls.RequestClientCert
	}
	if o.VerifyAtHandshake {
		// A configuration per connection, so that the refusal logged
		// names the client's address.
		c.GetConfigForClient = func(h *tls.ClientHelloInfo) (*tls.Config, error) {
			cc := c.Clone()
			cc.GetConfigForClient = nil
			remote := ""
			if h.Conn != nil {
				remote = h.Conn.RemoteAddr().String()
			}
			cc.VerifyConnection = func(cs tls.ConnectionState) error { return a.verifyConnection(cs, remote) }
			return cc, nil
		}
	}
	return c
}

// verifyConnection refuses a connection whose client certificate does not
// authenticate; the reason is logged here, the client gets an alert.
func (a *TLSAuthenticator) verifyConnection(cs tls.ConnectionState, remote string) error {
	if len(cs.PeerCertificates) == 0 {
		return nil // allowed by ClientAuth: the Fallback authenticates it
	}
	ctx, cancel := context.WithTimeout(context.Background(), a.cfg.HandshakeTimeout)
	defer cancel()
	_, err := a.Authenticate(ctx, &cs)
	if err != nil {
		var e *Error
		errors.As(err, &e)
		a.logRefusal(ctx, "handshake", e, &cs, remote)
	}
	return err
}

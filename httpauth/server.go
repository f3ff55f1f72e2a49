package httpauth

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/warden-auth/warden/auth"
	"github.com/warden-auth/warden/krb5/gss"
)

// Config configures an Authenticator. Zero values are the documented
// defaults.
type Config struct {
	// Acceptor verifies the Kerberos tokens (required). Its keytab can be
	// replaced while serving (gss.Acceptor.SetKeytab).
	Acceptor *gss.Acceptor
	// Mechanisms are offered through SPNEGO besides Kerberos (NTLM, when
	// it arrives). Their negotiations take several legs and need
	// ConnContext.
	Mechanisms []gss.Mechanism
	// ServerCertificate returns the certificate the server presented on a
	// TLS connection, from which the tls-server-end-point channel
	// bindings are computed (RFC 5929). nil: no bindings are checked,
	// which is what a server behind a TLS-terminating load balancer needs.
	// StaticCertificate makes one for a server with a single certificate.
	ServerCertificate func(*tls.ConnectionState) *x509.Certificate
	// RequireChannelBindings refuses, on TLS connections, clients that do
	// not bind their token to the TLS channel (Extended Protection).
	// Needs ServerCertificate.
	RequireChannelBindings bool
	// MaxHeaderBytes bounds the Authorization header; 0 means
	// DefaultMaxHeaderBytes.
	MaxHeaderBytes int
	// PendingTimeout is how long an unfinished multi-leg negotiation is
	// kept on a connection; 0 means one minute.
	PendingTimeout time.Duration
	// Logger receives one line per failure (keys op, code, reason, hint,
	// principal, remote) and a debug line per success; nil means
	// slog.Default(). Tokens are never logged.
	Logger *slog.Logger
	// Time is the clock for pending negotiations; nil means time.Now.
	Time func() time.Time
}

// StaticCertificate returns a Config.ServerCertificate for a server that
// presents one certificate.
func StaticCertificate(cert *x509.Certificate) func(*tls.ConnectionState) *x509.Certificate {
	return func(*tls.ConnectionState) *x509.Certificate { return cert }
}

// Authenticator runs HTTP Negotiate for a server. It is safe for
// concurrent use.
type Authenticator struct {
	cfg Config
	log *slog.Logger
}

// New checks cfg and returns an Authenticator.
func New(cfg Config) (*Authenticator, error) {
	if cfg.Acceptor == nil {
		return nil, errors.New("httpauth: Config.Acceptor is required")
	}
	if cfg.RequireChannelBindings && cfg.ServerCertificate == nil {
		return nil, errors.New("httpauth: RequireChannelBindings needs ServerCertificate (the bindings are computed from the server's certificate)")
	}
	if cfg.MaxHeaderBytes <= 0 {
		cfg.MaxHeaderBytes = DefaultMaxHeaderBytes
	}
	if cfg.PendingTimeout <= 0 {
		cfg.PendingTimeout = time.Minute
	}
	if cfg.Time == nil {
		cfg.Time = time.Now
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	return &Authenticator{cfg: cfg, log: log}, nil
}

// connKey finds this Authenticator's per-connection state in a
// connection's context.
type connKey struct{ a *Authenticator }

// connState is the negotiation in progress on one connection.
type connState struct {
	mu      sync.Mutex
	pending *gss.SPNEGOAcceptor
	since   time.Time
}

// ConnContext gives each connection its own negotiation state; install it
// as http.Server.ConnContext to allow negotiations of more than one leg.
// The state lives in the connection's context, so it goes away with the
// connection and is never shared between connections (RFC 4559 6).
func (a *Authenticator) ConnContext(ctx context.Context, _ net.Conn) context.Context {
	return context.WithValue(ctx, connKey{a}, &connState{})
}

// Middleware authenticates every request before next runs: next sees the
// verified identity in auth.FromContext(r.Context()), and the response
// carries the server's mutual-authentication token. Requests that do not
// authenticate get 401 and never reach next.
func (a *Authenticator) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, out, err := a.authenticate(r)
		if err != nil {
			a.fail(w, r, out, err)
			return
		}
		if out != nil {
			w.Header().Add("WWW-Authenticate", schemeNegotiate+" "+base64.StdEncoding.EncodeToString(out))
		}
		a.log.Debug("authenticated", "op", "httpauth.negotiate", "principal", id.Principal(), "mutual", id.Mutual, "remote", r.RemoteAddr)
		next.ServeHTTP(w, r.WithContext(auth.NewContext(r.Context(), id)))
	})
}

// errContinue is not a failure: the negotiation goes on with another
// 401 carrying the acceptor's token.
var errContinue = errors.New("negotiation continues")

// authenticate runs one leg. It returns the identity, or the token to
// send back with the 401 (a continuation, or a reject carrying a
// KRB-ERROR the client can read) and why.
func (a *Authenticator) authenticate(r *http.Request) (*auth.Identity, []byte, error) {
	values := r.Header.Values("Authorization")
	switch len(values) {
	case 0:
		return nil, nil, &Error{Code: NoCredentials, Reason: "authentication required: send Authorization: Negotiate",
			Hint: "get a Kerberos ticket (kinit) and use a Negotiate client (curl --negotiate -u : URL, warden get URL)"}
	case 1:
	default:
		return nil, nil, &Error{Code: BadHeader, Reason: "the request has several Authorization headers"}
	}
	tok, err := ParseNegotiate(values[0], a.cfg.MaxHeaderBytes)
	if err != nil {
		return nil, nil, err
	}
	st, _ := r.Context().Value(connKey{a}).(*connState)

	var acc *gss.SPNEGOAcceptor
	if tok[0] == 0xa1 { // a negTokenResp: the next leg of a negotiation
		if st != nil {
			st.mu.Lock()
			if st.pending != nil && a.cfg.Time().Sub(st.since) <= a.cfg.PendingTimeout {
				acc = st.pending
			}
			st.pending = nil
			st.mu.Unlock()
		}
		if acc == nil {
			return nil, nil, &Error{Code: ConnectionStateRequired,
				Reason: "a continuation token arrived, but no negotiation is in progress on this connection",
				Hint:   "every leg of a negotiation must use the same keep-alive connection; start over with a new token"}
		}
	} else {
		acc = a.cfg.Acceptor.NewSPNEGO(a.acceptOptions(r), a.cfg.Mechanisms...)
	}
	out, done, err := acc.Step(tok)
	if err != nil {
		return nil, out, &Error{Code: Rejected, Reason: gssReason(err), Err: err}
	}
	if !done {
		switch {
		case st == nil:
			return nil, nil, &Error{Code: ConnectionStateRequired,
				Reason: "the negotiation needs another leg, and this server keeps no per-connection state for it",
				Hint:   "offer Kerberos first (kinit); server operators: set http.Server.ConnContext to Authenticator.ConnContext"}
		case r.ProtoMajor >= 2:
			return nil, nil, &Error{Code: ConnectionStateRequired,
				Reason: "the negotiation needs another leg, which needs an HTTP/1.1 connection (HTTP/2 multiplexes requests)",
				Hint:   "offer Kerberos first (kinit), or use HTTP/1.1"}
		}
		st.mu.Lock()
		st.pending, st.since = acc, a.cfg.Time()
		st.mu.Unlock()
		return nil, out, errContinue
	}
	ctx := acc.Context()
	if ctx == nil {
		return nil, nil, &Error{Code: Rejected, Reason: "the negotiation completed without a security context"}
	}
	return ctx.Identity(), out, nil
}

func (a *Authenticator) acceptOptions(r *http.Request) gss.AcceptOptions {
	var o gss.AcceptOptions
	if r.TLS == nil || a.cfg.ServerCertificate == nil {
		return o
	}
	if cert := a.cfg.ServerCertificate(r.TLS); cert != nil {
		o.ChannelBindings = gss.TLSServerEndPoint(cert)
		o.RequireChannelBindings = a.cfg.RequireChannelBindings
	}
	return o
}

// gssReason is the peer-safe reason of a GSS error.
func gssReason(err error) string {
	var ge *gss.Error
	if errors.As(err, &ge) && ge.Reason != "" {
		return ge.Reason
	}
	return "the token was refused"
}

// refusalHeaders marks an answer that refuses: a short text reason, never
// sniffed as something else, never cached.
func refusalHeaders(h http.Header) {
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
}

// fail answers 401 with the Negotiate challenge (carrying the acceptor's
// token when there is one) and the reason as a short text body, and logs
// the failure once.
func (a *Authenticator) fail(w http.ResponseWriter, r *http.Request, out []byte, err error) {
	h := w.Header()
	if out != nil {
		h.Add("WWW-Authenticate", schemeNegotiate+" "+base64.StdEncoding.EncodeToString(out))
	} else {
		h.Add("WWW-Authenticate", schemeNegotiate)
	}
	refusalHeaders(h)
	if errors.Is(err, errContinue) {
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	var e *Error
	if !errors.As(err, &e) {
		e = &Error{Code: Rejected, Reason: "authentication failed", Err: err}
	}
	level := slog.LevelWarn
	if e.Code == NoCredentials {
		level = slog.LevelDebug // the first leg of every Negotiate exchange
	}
	var principal string
	if ge := (*gss.Error)(nil); errors.As(err, &ge) {
		principal = ge.Principal
	}
	a.log.Log(r.Context(), level, "authentication failed",
		"op", "httpauth.negotiate", "code", e.logCode(), "reason", e.Reason, "hint", e.ErrorHint(),
		"principal", principal, "remote", r.RemoteAddr)
	w.WriteHeader(http.StatusUnauthorized)
	_, _ = w.Write([]byte("401 Unauthorized: " + e.Reason + "\n"))
}

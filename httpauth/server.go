package httpauth

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/warden-auth/warden/auth"
	"github.com/warden-auth/warden/krb5/gss"
	"github.com/warden-auth/warden/ntlm"
)

// Config configures an Authenticator. Zero values are the documented
// defaults.
type Config struct {
	// Acceptor verifies the Kerberos tokens; it is required unless NTLM
	// is set (a server without a keytab offers only the NTLM scheme). Its
	// keytab can be replaced while serving (gss.Acceptor.SetKeytab).
	Acceptor *gss.Acceptor
	// Mechanisms are offered through SPNEGO besides Kerberos. Their
	// negotiations take several legs and need ConnContext.
	Mechanisms []gss.Mechanism
	// NTLM, when set, offers NTLM with validation by the AA: inside
	// Negotiate after Kerberos (when there is an Acceptor) and as the
	// plain "NTLM" scheme. Needs ConnContext (NTLM takes two legs).
	NTLM *NTLMConfig
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
	// Names, when set, resolves the SIDs of Kerberos identities (groups,
	// device) to names (names.go); nil leaves them as SIDs.
	Names NameResolver
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
	cfg     Config
	log     *slog.Logger
	schemes []string // accepted in Authorization, offered in WWW-Authenticate
}

// New checks cfg and returns an Authenticator.
func New(cfg Config) (*Authenticator, error) {
	if cfg.Acceptor == nil && cfg.NTLM == nil {
		return nil, errors.New("httpauth: Config.Acceptor is required (or NTLM, for an NTLM-only server)")
	}
	var schemes []string
	if cfg.Acceptor != nil {
		schemes = append(schemes, schemeNegotiate)
	}
	if cfg.NTLM != nil {
		n := *cfg.NTLM
		if err := n.check(); err != nil {
			return nil, err
		}
		cfg.NTLM = &n
		if cfg.Acceptor != nil {
			cfg.Mechanisms = append(append([]gss.Mechanism(nil), cfg.Mechanisms...), &ntlmMech{cfg: n})
		}
		schemes = append(schemes, schemeNTLM)
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
	return &Authenticator{cfg: cfg, log: log, schemes: schemes}, nil
}

// connKey finds this Authenticator's per-connection state in a
// connection's context.
type connKey struct{ a *Authenticator }

// connState is the negotiation in progress on one connection: a SPNEGO
// negotiation, or a plain NTLM authentication.
type connState struct {
	mu      sync.Mutex
	pending *gss.SPNEGOAcceptor
	ntlm    *ntlmAcceptor
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
		id, scheme, out, err := a.authenticate(r)
		if err != nil {
			a.fail(w, r, scheme, out, err)
			return
		}
		if out != nil {
			w.Header().Add("WWW-Authenticate", scheme+" "+base64.StdEncoding.EncodeToString(out))
		}
		a.log.Debug("authenticated", "op", logOp(scheme), "principal", id.Principal(), "method", id.Method, "mutual", id.Mutual, "remote", r.RemoteAddr)
		next.ServeHTTP(w, r.WithContext(auth.NewContext(r.Context(), id)))
	})
}

// errContinue is not a failure: the negotiation goes on with another
// 401 carrying the acceptor's token.
var errContinue = errors.New("negotiation continues")

// authenticate runs one leg. It returns the identity, or the token to
// send back with the 401 (a continuation, or a reject carrying a
// KRB-ERROR the client can read) and why; scheme is the scheme of the
// request, in which any token goes back.
func (a *Authenticator) authenticate(r *http.Request) (_ *auth.Identity, scheme string, _ []byte, _ error) {
	values := r.Header.Values("Authorization")
	switch len(values) {
	case 0:
		return nil, "", nil, &Error{Code: NoCredentials, Reason: "authentication required: send Authorization: " + strings.Join(a.schemes, " or "),
			Hint: schemeHint(a.schemes)}
	case 1:
	default:
		return nil, "", nil, &Error{Code: BadHeader, Reason: "the request has several Authorization headers"}
	}
	scheme, tok, err := ParseAuthorization(values[0], a.cfg.MaxHeaderBytes, a.schemes...)
	if err != nil {
		return nil, "", nil, err
	}
	st, _ := r.Context().Value(connKey{a}).(*connState)
	if scheme == schemeNTLM || isRawNTLM(tok) && a.cfg.NTLM != nil {
		// Some clients send raw NTLM under "Negotiate"; answer in kind.
		id, out, err := a.authenticateNTLM(r, st, tok)
		return id, scheme, out, err
	}

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
			return nil, scheme, nil, &Error{Code: ConnectionStateRequired,
				Reason: "a continuation token arrived, but no negotiation is in progress on this connection",
				Hint:   "every leg of a negotiation must use the same keep-alive connection; start over with a new token"}
		}
	} else {
		acc = a.cfg.Acceptor.NewSPNEGO(a.acceptOptions(r), a.cfg.Mechanisms...)
	}
	out, done, err := acc.StepContext(r.Context(), tok)
	if err != nil {
		return nil, scheme, out, &Error{Code: Rejected, Reason: gssReason(err), Err: err}
	}
	if !done {
		if err := a.canContinue(r, st); err != nil {
			return nil, scheme, nil, err
		}
		st.mu.Lock()
		st.pending, st.since = acc, a.cfg.Time()
		st.mu.Unlock()
		return nil, scheme, out, errContinue
	}
	ctx := acc.Context()
	if ctx == nil {
		return nil, scheme, nil, &Error{Code: Rejected, Reason: "the negotiation completed without a security context"}
	}
	id := ctx.Identity()
	a.resolveNames(r.Context(), id)
	return id, scheme, out, nil
}

// canContinue says whether a negotiation can take another leg on r's
// connection.
func (a *Authenticator) canContinue(r *http.Request, st *connState) error {
	switch {
	case st == nil:
		return &Error{Code: ConnectionStateRequired,
			Reason: "the negotiation needs another leg, and this server keeps no per-connection state for it",
			Hint:   "offer Kerberos first (kinit); server operators: set http.Server.ConnContext to Authenticator.ConnContext"}
	case r.ProtoMajor >= 2:
		return &Error{Code: ConnectionStateRequired,
			Reason: "the negotiation needs another leg, which needs an HTTP/1.1 connection (HTTP/2 multiplexes requests)",
			Hint:   "offer Kerberos first (kinit), or use HTTP/1.1"}
	}
	return nil
}

// authenticateNTLM runs one leg of plain NTLM: NEGOTIATE gets a
// CHALLENGE kept on the connection; AUTHENTICATE is validated by the AA.
func (a *Authenticator) authenticateNTLM(r *http.Request, st *connState, tok []byte) (*auth.Identity, []byte, error) {
	if len(tok) < 12 || !isRawNTLM(tok) {
		return nil, nil, &Error{Code: BadHeader, Reason: "the NTLM token is not an NTLM message"}
	}
	switch tok[8] {
	case 1: // NEGOTIATE_MESSAGE
		if err := a.canContinue(r, st); err != nil {
			return nil, nil, err
		}
		n := &ntlmAcceptor{cfg: a.cfg.NTLM, opts: a.acceptOptions(r)}
		out, _, err := n.Step(r.Context(), tok)
		if err != nil {
			return nil, nil, &Error{Code: Rejected, Reason: ntlmReason(err), Err: err}
		}
		st.mu.Lock()
		st.ntlm, st.since = n, a.cfg.Time()
		st.mu.Unlock()
		return nil, out, errContinue
	case 3: // AUTHENTICATE_MESSAGE
		var n *ntlmAcceptor
		if st != nil {
			st.mu.Lock()
			if st.ntlm != nil && a.cfg.Time().Sub(st.since) <= a.cfg.PendingTimeout {
				n = st.ntlm
			}
			st.ntlm = nil // one answer per challenge
			st.mu.Unlock()
		}
		if n == nil {
			return nil, nil, &Error{Code: ConnectionStateRequired,
				Reason: "an NTLM answer arrived, but this connection has no challenge outstanding",
				Hint:   "NTLM needs both legs on one keep-alive connection; start over with a NEGOTIATE message"}
		}
		if _, _, err := n.Step(r.Context(), tok); err != nil {
			return nil, nil, &Error{Code: Rejected, Reason: ntlmReason(err), Err: err}
		}
		return n.ctx.id, nil, nil
	}
	return nil, nil, &Error{Code: BadHeader, Reason: fmt.Sprintf("NTLM message type %d is not one a client sends", tok[8])}
}

// ntlmReason is the client-safe reason of an NTLM refusal. Unknown user
// and wrong password read the same, as the AA answers them.
func ntlmReason(err error) string {
	var ne *ntlm.Error
	if errors.As(err, &ne) {
		return ne.Status.String() + ": " + ne.Reason
	}
	return "the NTLM logon failed"
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

// logOp is the op of a log line: httpauth.ntlm for the plain NTLM
// scheme, else httpauth.negotiate (also before the scheme is known).
func logOp(scheme string) string {
	if scheme == schemeNTLM {
		return "httpauth.ntlm"
	}
	return "httpauth.negotiate"
}

// fail answers 401 with the challenges of the schemes offered (the one
// of the request carrying the acceptor's token when there is one) and the
// reason as a short text body, and logs the failure once.
func (a *Authenticator) fail(w http.ResponseWriter, r *http.Request, scheme string, out []byte, err error) {
	h := w.Header()
	if out != nil {
		h.Add("WWW-Authenticate", scheme+" "+base64.StdEncoding.EncodeToString(out))
	} else {
		for _, s := range a.schemes {
			h.Add("WWW-Authenticate", s)
		}
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
		"op", logOp(scheme), "code", e.logCode(), "reason", e.Reason, "hint", e.ErrorHint(),
		"principal", principal, "remote", r.RemoteAddr)
	w.WriteHeader(http.StatusUnauthorized)
	_, _ = w.Write([]byte("401 Unauthorized: " + e.Reason + "\n"))
}

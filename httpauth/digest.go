package httpauth

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/warden-auth/warden/auth"
	"github.com/warden-auth/warden/digest"
)

// HTTP Digest (RFC 7616) with validation by the AA: the middleware
// challenges, checks what a server can check alone (digest.Server:
// realm, request-target, algorithm, qop, its nonces and their counts),
// and has the AA check the response (a digest.Validator, normally
// *passthrough.Client); the server never holds a password or H(A1).

// Defaults of DigestConfig.
const (
	DefaultDigestMaxBody = 1 << 20
	DefaultDigestTimeout = 10 * time.Second
)

// DigestConfig configures a DigestAuthenticator. Zero values are the
// documented defaults.
type DigestConfig struct {
	// Realm is the Digest realm (required). The AA keeps H(A1)s for its
	// Kerberos realm name ("EXAMPLE.TEST"), so that is what it must be;
	// passthrough.Client.ServerInfo returns it.
	Realm string
	// Validator checks responses where the secrets are (required):
	// *passthrough.Client, authenticated to the AA by this server's
	// computer-account certificate.
	Validator digest.Validator
	// Algorithms are offered in order, one challenge each;
	// digest.DefaultAlgorithms (SHA-256) when empty. MD5 and MD5-sess
	// need AllowMD5 and come last.
	Algorithms []digest.Algorithm
	// AllowMD5 permits MD5 for old clients; without it MD5 answers are
	// refused even if a client sends one unasked.
	AllowMD5 bool
	// AuthInt also offers qop=auth-int: the request body is read (up to
	// MaxBodyBytes) and hashed into the response.
	AuthInt bool
	// UserHash asks clients to hide the user name (RFC 7616 3.4.4).
	UserHash bool
	// NonceKey authenticates nonces (digest.NonceKeySize bytes); nil
	// draws one, so nonces die with the process. Servers behind one name
	// share it; each keeps its own nonce-count tracker, so replays are
	// only caught per server.
	NonceKey []byte
	// NonceLifetime is how long a nonce is accepted before clients are
	// told stale=true; digest.DefaultNonceLifetime when zero.
	NonceLifetime time.Duration
	// MaxBodyBytes caps the body hashed for auth-int (413 beyond it);
	// DefaultDigestMaxBody when zero.
	MaxBodyBytes int64
	// Timeout bounds one validation at the AA; DefaultDigestTimeout
	// when zero.
	Timeout time.Duration
	// Logger receives one line per failure (op httpauth.digest, code,
	// reason, hint, principal, remote) and a debug line per success; nil
	// means slog.Default(). Credentials are never logged.
	Logger *slog.Logger
	// Time is the clock for nonces; nil means time.Now.
	Time func() time.Time
}

// DigestAuthenticator runs HTTP Digest for a server. It is safe for
// concurrent use.
type DigestAuthenticator struct {
	cfg DigestConfig
	srv *digest.Server
	log *slog.Logger
}

// NewDigest checks cfg and returns a DigestAuthenticator.
func NewDigest(cfg DigestConfig) (*DigestAuthenticator, error) {
	if cfg.Validator == nil {
		return nil, errors.New("httpauth: DigestConfig.Validator is required (the AA validates Digest responses)")
	}
	srv, err := digest.NewServer(digest.ServerConfig{Realm: cfg.Realm, Algorithms: cfg.Algorithms, AllowMD5: cfg.AllowMD5,
		AuthInt: cfg.AuthInt, UserHash: cfg.UserHash, NonceKey: cfg.NonceKey, NonceLifetime: cfg.NonceLifetime, Time: cfg.Time})
	if err != nil {
		return nil, fmt.Errorf("httpauth: %w", err)
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = DefaultDigestMaxBody
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultDigestTimeout
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	return &DigestAuthenticator{cfg: cfg, srv: srv, log: log}, nil
}

// ConnContext returns ctx: Digest keeps no per-connection state (each
// request carries its whole answer). It lets a DigestAuthenticator
// serve where a per-connection hook is expected (proxy.Authenticator).
func (d *DigestAuthenticator) ConnContext(ctx context.Context, _ net.Conn) context.Context {
	return ctx
}

// Middleware authenticates every request before next runs: next sees
// the identity in auth.FromContext(r.Context()), and the response
// carries Authentication-Info (rspauth, proving to the client that the
// AA checked this request). Requests that do not authenticate never
// reach next.
func (d *DigestAuthenticator) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, info, err := d.Authenticate(r)
		if err != nil {
			d.Refuse(w, r, err)
			return
		}
		w.Header().Set("Authentication-Info", info)
		d.log.Debug("authenticated", "op", "httpauth.digest", "principal", id.Principal(), "remote", r.RemoteAddr)
		next.ServeHTTP(w, r.WithContext(auth.NewContext(r.Context(), id)))
	})
}

// Authenticate runs Digest for one request: the identity and the
// Authentication-Info value to send with the answer, or a *digest.Error
// to answer with Refuse. For qop=auth-int it reads the body and puts it
// back for the handler.
func (d *DigestAuthenticator) Authenticate(r *http.Request) (*auth.Identity, string, error) {
	values := r.Header.Values("Authorization")
	if len(values) > 1 {
		return nil, "", &digest.Error{Code: digest.BadHeader, Reason: "the request has several Authorization headers"}
	}
	req := digest.Request{Method: r.Method, URI: r.RequestURI, Body: func() ([]byte, error) { return d.body(r) }}
	if len(values) == 1 {
		req.Authorization = values[0]
	}
	ctx, cancel := context.WithTimeout(r.Context(), d.cfg.Timeout)
	defer cancel()
	res, err := d.srv.Authenticate(ctx, d.cfg.Validator, req)
	if err != nil {
		return nil, "", err
	}
	id := res.Identity
	id.Method, id.Mutual = auth.MethodDigest, true
	return &id, res.AuthInfo, nil
}

// body reads the request body for auth-int, at most MaxBodyBytes, and
// leaves a copy in r.Body for the handler.
func (d *DigestAuthenticator) body(r *http.Request) ([]byte, error) {
	if r.Body == nil || r.Body == http.NoBody {
		return nil, nil
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, d.cfg.MaxBodyBytes+1))
	r.Body.Close()
	if err != nil {
		return nil, &digest.Error{Code: digest.BadHeader, Reason: "cannot read the request body", Err: err}
	}
	if int64(len(b)) > d.cfg.MaxBodyBytes {
		return nil, &digest.Error{Code: digest.BodyTooLarge,
			Reason: fmt.Sprintf("qop=auth-int over a body larger than %d bytes", d.cfg.MaxBodyBytes),
			Hint:   "use qop=auth for large bodies"}
	}
	r.Body = io.NopCloser(bytes.NewReader(b))
	return b, nil
}

// AddChallenges adds this server's Digest challenges to h (one
// WWW-Authenticate per algorithm, strongest first), for a 401 that also
// offers other schemes. stale marks them as the answer to a right
// response with an expired nonce.
func (d *DigestAuthenticator) AddChallenges(h http.Header, stale bool) error {
	chs, err := d.srv.Challenges(stale)
	if err != nil {
		return err
	}
	for _, c := range chs {
		h.Add("WWW-Authenticate", c)
	}
	return nil
}

// Refuse answers a failed Authenticate: 401 with fresh challenges
// (stale=true after an expired nonce), 400 for malformed credentials or
// a response for another URI, 413 for an auth-int body too large, 503
// when the AA cannot be asked; the reason as a short text body. It logs
// the failure once. Unknown user and wrong password get the same answer
// (the AA says LOGON_FAILURE for both; its log has the truth).
func (d *DigestAuthenticator) Refuse(w http.ResponseWriter, r *http.Request, err error) {
	var e *digest.Error
	if !errors.As(err, &e) {
		e = &digest.Error{Code: digest.Unavailable, Reason: "authentication failed", Err: err}
	}
	status := e.Code.HTTPStatus()
	reason := e.Reason
	if e.Code == digest.Unavailable {
		reason = "the server cannot check logons now; try again later"
	}
	h := w.Header()
	refusalHeaders(h)
	if status == http.StatusUnauthorized {
		if cerr := d.AddChallenges(h, e.Code == digest.StaleNonce); cerr != nil {
			status, reason = http.StatusInternalServerError, "cannot make a challenge"
		}
	}
	level := slog.LevelWarn
	switch e.Code {
	case digest.NoCredentials, digest.StaleNonce:
		level = slog.LevelDebug // the first leg of every exchange; a nonce's end of life
	case digest.Unavailable:
		level = slog.LevelError
	}
	args := []any{"op", "httpauth.digest", "code", e.Code.String(), "reason", e.Reason, "hint", e.Hint, "principal", e.User, "remote", r.RemoteAddr}
	if e.Err != nil {
		args = append(args, "err", e.Err.Error())
	}
	d.log.Log(r.Context(), level, "authentication failed", args...)
	w.WriteHeader(status)
	_, _ = fmt.Fprintf(w, "%d %s: %s\n", status, http.StatusText(status), reason)
}

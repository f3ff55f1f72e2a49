package digest

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
)

// DefaultAlgorithms are offered when ServerConfig.Algorithms is empty:
// SHA-256 alone. Every client we know that does SHA-512-256 also does
// SHA-256, while python-requests reads only the last of several Digest
// challenges (RFC 7616 3.7 says the first it supports) and has no
// SHA-512-256, so a second challenge would lock it out; and curl before
// 8.7 computes "SHA-512-256" with SHA-256, so offering it first would
// lock curl out.
var DefaultAlgorithms = []Algorithm{SHA256}

// Defaults of ServerConfig.
const (
	DefaultNonceLifetime = 5 * time.Minute
	DefaultMaxNonces     = 100_000
)

// ServerConfig configures a Server. Zero values are the documented
// defaults.
type ServerConfig struct {
	// Realm is sent in challenges and must come back in credentials
	// (required). With validation by the AA it must be the realm the AA
	// keeps H(A1)s for: Warden's Kerberos realm name ("EXAMPLE.TEST").
	Realm string
	// Algorithms are offered in this order, one challenge each;
	// DefaultAlgorithms when empty. MD5 and MD5-sess need AllowMD5 and
	// come last.
	Algorithms []Algorithm
	// AllowMD5 permits MD5 and MD5-sess, for old clients only: MD5
	// responses are cheap to brute-force.
	AllowMD5 bool
	// AuthInt also offers qop=auth-int (integrity of the request body);
	// the caller must then supply Request.Body.
	AuthInt bool
	// UserHash asks clients to send H(username ":" realm) instead of the
	// name (RFC 7616 3.4.4); the AA looks it up in its index.
	UserHash bool
	// NonceKey authenticates nonces (NonceKeySize bytes or more); nil
	// draws a random key, so nonces do not survive a restart and are
	// not accepted by another server. Servers behind one name share it.
	NonceKey []byte
	// NonceLifetime is how long a nonce is accepted; then the client is
	// told stale=true and retries. Default DefaultNonceLifetime.
	NonceLifetime time.Duration
	// MaxNonces bounds the nonces whose counts are tracked; default
	// DefaultMaxNonces (about 5 MB).
	MaxNonces int
	Time      func() time.Time
	Rand      io.Reader
}

// Server is the server half of Digest: it issues challenges, checks
// what it can without a secret, has a Validator (the AA) check the
// response, and tracks nonce counts. It is safe for concurrent use.
type Server struct {
	cfg    ServerConfig
	nonces *nonceMaker
	nc     *ncTracker
	qop    []string
}

// NewServer checks cfg and returns a Server.
func NewServer(cfg ServerConfig) (*Server, error) {
	if cfg.Realm == "" || !quotable(cfg.Realm) || len(cfg.Realm) > maxRealm {
		return nil, errors.New("digest: ServerConfig.Realm is required (the AA's realm name), without control characters")
	}
	if len(cfg.Algorithms) == 0 {
		cfg.Algorithms = DefaultAlgorithms
	}
	for i, a := range cfg.Algorithms {
		switch {
		case !a.Valid():
			return nil, fmt.Errorf("digest: ServerConfig.Algorithms[%d] is not an algorithm", i)
		case a.IsMD5() && !cfg.AllowMD5:
			return nil, fmt.Errorf("digest: %s is offered but AllowMD5 is not set (MD5 is for old clients only)", a)
		case slices.Index(cfg.Algorithms, a) != i:
			return nil, fmt.Errorf("digest: %s is listed twice", a)
		case a.IsMD5() && slices.ContainsFunc(cfg.Algorithms[i:], func(b Algorithm) bool { return !b.IsMD5() }):
			// Clients answer the first challenge they support: MD5 first
			// would downgrade every client.
			return nil, fmt.Errorf("digest: %s must be offered after the SHA-2 algorithms", a)
		}
	}
	cfg.Algorithms = slices.Clone(cfg.Algorithms)
	if cfg.Rand == nil {
		cfg.Rand = rand.Reader
	}
	if cfg.Time == nil {
		cfg.Time = time.Now
	}
	if cfg.NonceLifetime <= 0 {
		cfg.NonceLifetime = DefaultNonceLifetime
	}
	if cfg.MaxNonces <= 0 {
		cfg.MaxNonces = DefaultMaxNonces
	}
	key := cfg.NonceKey
	if key == nil {
		key = make([]byte, NonceKeySize)
		if _, err := io.ReadFull(cfg.Rand, key); err != nil {
			return nil, err
		}
	} else if len(key) < NonceKeySize {
		return nil, fmt.Errorf("digest: ServerConfig.NonceKey is %d bytes, at least %d are needed", len(key), NonceKeySize)
	}
	s := &Server{cfg: cfg, nonces: newNonceMaker(key, cfg.Realm), nc: newNCTracker(cfg.MaxNonces, int64(cfg.NonceLifetime)), qop: []string{"auth"}}
	if cfg.AuthInt {
		s.qop = append(s.qop, "auth-int")
	}
	return s, nil
}

// Realm returns the realm the server challenges for.
func (s *Server) Realm() string { return s.cfg.Realm }

// Challenges returns the WWW-Authenticate values, one per algorithm in
// order of preference, all with the same fresh nonce. stale marks them
// as the answer to a right response with an expired nonce.
func (s *Server) Challenges(stale bool) ([]string, error) {
	nonce, err := s.nonces.issue(s.cfg.Time(), s.cfg.Rand)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(s.cfg.Algorithms))
	for i, a := range s.cfg.Algorithms {
		c := Challenge{Realm: s.cfg.Realm, Nonce: nonce, Algorithm: a, QOP: s.qop, Stale: stale, Charset: "UTF-8", UserHash: s.cfg.UserHash}
		out[i] = c.String()
	}
	return out, nil
}

// Request is what Digest authentication needs of an HTTP request.
type Request struct {
	// Authorization is the header's value.
	Authorization string
	Method        string
	// URI is the request-target exactly as received (http.Request's
	// RequestURI), which the client's uri must equal.
	URI string
	// Body returns the entity body for qop=auth-int; nil refuses
	// auth-int. Errors should be *Error (BodyTooLarge).
	Body func() ([]byte, error)
}

// Result is a successful authentication.
type Result struct {
	Verdict
	// AuthInfo is the Authentication-Info header value (rspauth, and a
	// nextnonce once the nonce is past half its life).
	AuthInfo string
}

// Authenticate checks a request's credentials: the syntax, realm,
// request-target, algorithm and qop against what this server offered,
// the nonce's MAC and age, the nonce count; then v checks the response
// where the secret is. Refusals are *Error values (with User set once
// the credentials parsed); StaleNonce means the response was right but
// the nonce has expired: answer with Challenges(true).
func (s *Server) Authenticate(ctx context.Context, v Validator, req Request) (*Result, error) {
	if req.Authorization == "" {
		return nil, &Error{Code: NoCredentials, Reason: "authentication required: send Authorization: Digest",
			Hint: "use a Digest client (curl --digest -u USER URL, warden get --auth digest URL)"}
	}
	c, err := ParseCredentials(req.Authorization)
	if err != nil {
		return nil, err
	}
	fail := func(e *Error) (*Result, error) {
		e.User = c.Username
		return nil, e
	}
	if !slices.Contains(s.cfg.Algorithms, c.Algorithm) {
		e := errorf(UnsupportedAlgorithm, "algorithm %s is not offered here (offered: %s)", c.Algorithm, s.offered())
		if c.Algorithm.IsMD5() && !s.cfg.AllowMD5 {
			e.Hint = "MD5 is refused unless the server allows it for old clients; use a client that does SHA-256"
		}
		return fail(e)
	}
	if c.Realm != s.cfg.Realm {
		return fail(&Error{Code: WrongRealm, Reason: fmt.Sprintf("the credentials are for realm %s, this server's is %s", quoteShort(c.Realm), quoteShort(s.cfg.Realm))})
	}
	if c.URI != req.URI {
		return fail(errorf(URIMismatch, "the credentials are for uri %s, not this request's %s", quoteShort(c.URI), quoteShort(req.URI)))
	}
	if !slices.Contains(s.qop, c.QOP) {
		return fail(errorf(UnsupportedQOP, "qop %s is not offered here (offered: %s)", quoteShort(c.QOP), strings.Join(s.qop, ", ")))
	}
	if c.UserHash && !s.cfg.UserHash {
		return fail(badHeader("userhash=true, but this server did not ask for it"))
	}
	if c.Opaque != "" {
		return fail(badHeader("an opaque value, but this server sends none"))
	}
	val := c.Validation(req.Method)
	if val.QOP == "auth-int" {
		// A placeholder of the right shape until the body is hashed, so
		// that a malformed request is refused before its body is read.
		val.EntityHash = strings.Repeat("0", 2*val.Algorithm.Size())
	}
	if err := val.Check(); err != nil {
		return fail(asError(err, BadHeader, "the credentials are malformed"))
	}
	nc, _ := strconv.ParseUint(c.NC, 16, 32)
	id, ok := s.nonces.open(c.Nonce)
	if !ok {
		return fail(&Error{Code: BadNonce, Reason: "the nonce was not issued by this server",
			Hint: "a restarted server forgets its nonces unless it has a fixed nonce key; the client should start over"})
	}
	now := s.cfg.Time()
	stale := now.UnixNano()-id.issued() > int64(s.cfg.NonceLifetime) || id.issued()-now.UnixNano() > int64(time.Minute)
	if !stale {
		switch s.nc.check(id, uint32(nc)) {
		case useReplay:
			return fail(replayed(c.NC))
		case useForgotten:
			stale = true
		}
	}
	if val.QOP == "auth-int" {
		if req.Body == nil {
			return fail(errorf(UnsupportedQOP, "qop=auth-int, but the request body is not available to hash"))
		}
		body, err := req.Body()
		if err != nil {
			return fail(asError(err, BadHeader, "cannot read the request body"))
		}
		val.EntityHash = val.Algorithm.HashBody(body)
	}
	verdict, err := v.ValidateDigest(ctx, val)
	if err != nil {
		return fail(asError(err, Unavailable, "the AA could not validate the response"))
	}
	if stale {
		return fail(s.staleNonce())
	}
	switch s.nc.use(id, uint32(nc), now.UnixNano()) {
	case useReplay:
		return fail(replayed(c.NC))
	case useForgotten:
		return fail(s.staleNonce())
	}
	info := AuthInfo{QOP: c.QOP, RspAuth: verdict.RspAuth, CNonce: c.CNonce, NC: c.NC}
	if now.UnixNano()-id.issued() > int64(s.cfg.NonceLifetime)/2 {
		if n, err := s.nonces.issue(now, s.cfg.Rand); err == nil {
			info.NextNonce = n
		}
	}
	return &Result{Verdict: *verdict, AuthInfo: info.String()}, nil
}

// asError returns err's *Error, or wraps err in one with code and reason.
func asError(err error, code Code, reason string) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Code: code, Reason: reason, Err: err}
}

func replayed(nc string) *Error {
	return errorf(Replay, "nonce count %s was already used with this nonce", nc)
}

// staleNonce tells a client whose response was right that its nonce
// expired (or was forgotten), so that it retries with the new one
// without asking the user again.
func (s *Server) staleNonce() *Error {
	return &Error{Code: StaleNonce, Reason: "the nonce has expired; retry with the new one",
		Hint: fmt.Sprintf("nonces live %s", s.cfg.NonceLifetime)}
}

func (s *Server) offered() string {
	names := make([]string, len(s.cfg.Algorithms))
	for i, a := range s.cfg.Algorithms {
		names[i] = a.String()
	}
	return strings.Join(names, ", ")
}

package digest

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
)

// Client answers Digest challenges for one user.
type Client struct {
	Username string
	Password string
	// AllowMD5 lets the client answer MD5 and MD5-sess challenges when
	// the server offers nothing stronger.
	AllowMD5 bool
	// Rand makes cnonces; nil means crypto/rand.
	Rand io.Reader
}

// supports reports whether the client can answer ch.
func (c *Client) supports(ch *Challenge) bool {
	return ch.Algorithm.Valid() && (!ch.Algorithm.IsMD5() || c.AllowMD5) &&
		(slices.Contains(ch.QOP, "auth") || slices.Contains(ch.QOP, "auth-int")) &&
		(ch.Charset == "" || strings.EqualFold(ch.Charset, "UTF-8"))
}

// NewSession answers the first challenge the client supports, in the
// server's order of preference (RFC 7616 3.7).
func (c *Client) NewSession(chs []Challenge) (*Session, error) {
	for i := range chs {
		if c.supports(&chs[i]) {
			s := &Session{c: c}
			if err := s.adopt(chs[i], chs[i].Nonce); err != nil {
				return nil, err
			}
			return s, nil
		}
	}
	var offered []string
	for _, ch := range chs {
		offered = append(offered, fmt.Sprintf("%s qop=%s", ch.Algorithm, strings.Join(ch.QOP, "/")))
	}
	e := errorf(NoChallenge, "no Digest challenge this client supports (offered: %s)", strings.Join(offered, "; "))
	if len(chs) == 0 {
		e.Reason = "the server offered no Digest challenge"
	} else if !c.AllowMD5 {
		e.Hint = "MD5 is refused unless allowed; ask the server for SHA-256"
	}
	return nil, e
}

// Session is the client's state for one server: the challenge it
// answers, the nonce, its count and the cnonce. Requests reuse the nonce
// with increasing counts until the server says stale. Safe for
// concurrent use.
type Session struct {
	c      *Client
	mu     sync.Mutex
	ch     Challenge
	ha1    string // H(username:realm:password), cached per session
	user   string // as sent: the name, or the userhash
	nc     uint32
	cnonce string
}

// adopt starts answering ch with nonce (ch's, or a nextnonce).
func (s *Session) adopt(ch Challenge, nonce string) error {
	var b [16]byte
	rnd := s.c.Rand
	if rnd == nil {
		rnd = rand.Reader
	}
	if _, err := io.ReadFull(rnd, b[:]); err != nil {
		return err
	}
	if s.ha1 == "" || s.ch.Realm != ch.Realm || s.ch.Algorithm.Base() != ch.Algorithm.Base() {
		s.ha1 = HA1(ch.Algorithm, s.c.Username, ch.Realm, s.c.Password)
	}
	s.ch = ch
	s.ch.Nonce, s.nc, s.cnonce = nonce, 0, hex.EncodeToString(b[:])
	s.user = s.c.Username
	if ch.UserHash {
		s.user = UserHash(ch.Algorithm, s.c.Username, ch.Realm)
	}
	return nil
}

// Algorithm is the algorithm of the challenge being answered.
func (s *Session) Algorithm() Algorithm {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ch.Algorithm
}

// Attempt is one request's credentials, and what the server's
// Authentication-Info must say.
type Attempt struct {
	// Authorization is the header value to send.
	Authorization string
	s             *Session
	nonce, nc     string
	cnonce, qop   string
	rspauth       string
}

// Authorize makes the credentials for the next request: method and uri
// (the request-target as sent: path and query, or the absolute URI to a
// proxy). body supplies the entity body when only auth-int is offered.
func (s *Session) Authorize(method, uri string, body func() ([]byte, error)) (*Attempt, error) {
	s.mu.Lock()
	s.nc++
	ch, ha1, user, nc, cnonce := s.ch, s.ha1, s.user, s.nc, s.cnonce
	s.mu.Unlock()
	v := Validation{Algorithm: ch.Algorithm, Username: user, UserHash: ch.UserHash, Realm: ch.Realm, Nonce: ch.Nonce,
		CNonce: cnonce, NC: fmt.Sprintf("%08x", nc), QOP: "auth", Method: method, URI: uri}
	if !slices.Contains(ch.QOP, "auth") {
		if body == nil {
			return nil, errorf(UnsupportedQOP, "the server offers only qop=auth-int and the request body cannot be read twice")
		}
		b, err := body()
		if err != nil {
			return nil, err
		}
		v.QOP, v.EntityHash = "auth-int", ch.Algorithm.HashBody(b)
	}
	resp, rsp := v.Expected(ha1)
	cred := Credentials{Username: user, UserHash: ch.UserHash, Realm: ch.Realm, Nonce: ch.Nonce, URI: uri, Response: resp,
		Algorithm: ch.Algorithm, CNonce: cnonce, NC: v.NC, QOP: v.QOP, Opaque: ch.Opaque}
	return &Attempt{Authorization: cred.String(), s: s, nonce: ch.Nonce, nc: v.NC, cnonce: cnonce, qop: v.QOP, rspauth: rsp}, nil
}

// Check verifies the server's Authentication-Info value: its rspauth
// proves the answer comes from a server that had the AA check this very
// request. It returns false without error when the value is "" (the
// server sent none), and adopts a nextnonce.
func (a *Attempt) Check(value string) (bool, error) {
	if value == "" {
		return false, nil
	}
	info, err := ParseAuthInfo(value)
	if err != nil {
		return false, err
	}
	switch {
	case info.RspAuth == "":
		return false, errorf(MutualFailed, "the server's Authentication-Info has no rspauth")
	case subtle.ConstantTimeCompare([]byte(strings.ToLower(info.RspAuth)), []byte(a.rspauth)) != 1:
		return false, &Error{Code: MutualFailed, Reason: "the server's rspauth does not match this request",
			Hint: "the answer may not come from the server you authenticated to; do not trust it"}
	case info.CNonce != "" && info.CNonce != a.cnonce, info.NC != "" && info.NC != a.nc, info.QOP != "" && !strings.EqualFold(info.QOP, a.qop):
		return false, errorf(MutualFailed, "the server's Authentication-Info is for another request (cnonce, nc or qop differ)")
	}
	if info.NextNonce != "" {
		a.s.mu.Lock()
		if a.s.ch.Nonce == a.nonce {
			a.s.adopt(a.s.ch, info.NextNonce)
		}
		a.s.mu.Unlock()
	}
	return true, nil
}

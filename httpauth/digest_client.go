package httpauth

import (
	"errors"
	"io"
	"net/http"
	"sync"

	"github.com/warden-auth/warden/digest"
)

// DigestTransport is an http.RoundTripper doing HTTP Digest (RFC 7616).
// It sends a request as is; on a 401 with Digest challenges it answers
// the first challenge it supports (SHA-256, SHA-512-256, their -sess
// variants; MD5 only with AllowMD5) and resends. Later requests to the
// same server reuse the nonce with growing counts, saving the round
// trip; when the server says the nonce is stale (or has forgotten it) the
// request is answered again with the new nonce, transparently. The
// server's rspauth (Authentication-Info) is checked before a response
// is returned: a wrong one is a MUTUAL_FAILED error.
//
// Requests whose body cannot be replayed (no GetBody) are authenticated
// only when a nonce is already known. Safe for concurrent use; do not
// copy after first use.
type DigestTransport struct {
	// User and Password are the credentials; with charset UTF-8 the name
	// may be any Unicode (it travels as username* when not ASCII).
	User, Password string
	// Base sends the requests; nil means http.DefaultTransport.
	Base http.RoundTripper
	// AllowMD5 answers MD5 challenges when nothing stronger is offered.
	AllowMD5 bool
	// RequireMutual refuses a successful answer without an rspauth.
	RequireMutual bool

	mu       sync.Mutex
	sessions map[string]*digest.Session // by scheme://host:port
}

// maxDigestSends bounds the sends of one request: preemptive, after a
// challenge, after a stale nonce.
const maxDigestSends = 3

// RoundTrip implements http.RoundTripper.
func (t *DigestTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	res := resultOf(req)
	res.Client = t.User
	replayable := canReplay(req)
	space := req.URL.Scheme + "://" + req.URL.Host
	client := &digest.Client{Username: t.User, Password: t.Password, AllowMD5: t.AllowMD5}

	sess := t.session(space)
	var att *digest.Attempt
	preemptive := sess != nil
	r2 := req
	if sess != nil {
		var err error
		if r2, att, err = t.authorize(req, sess, res); err != nil {
			return nil, err
		}
	}
	for sends := 1; ; sends++ {
		resp, err := orDefault(t.Base).RoundTrip(r2)
		if err != nil {
			return nil, err
		}
		if resp.StatusCode != http.StatusUnauthorized {
			if att == nil {
				return resp, nil
			}
			res.Authenticated = true
			mutual, err := att.Check(resp.Header.Get("Authentication-Info"))
			if err == nil && !mutual && t.RequireMutual {
				err = &digest.Error{Code: digest.MutualFailed, Reason: "the server's answer has no Authentication-Info rspauth",
					Hint: "the server did not prove that the AA checked this request; do not trust the answer"}
			}
			if err != nil {
				drain(resp)
				return nil, err
			}
			res.Mutual = mutual
			return resp, nil
		}
		chs, perr := digest.ParseChallenges(resp.Header.Values("WWW-Authenticate"))
		if perr != nil || len(chs) == 0 {
			return resp, nil // not a Digest refusal: the caller reads it
		}
		stale := false
		for _, c := range chs {
			stale = stale || c.Stale
		}
		// Answer a first challenge; after sending credentials, only a
		// stale nonce or a refused preemptive nonce is worth another try.
		if att != nil && !stale && !preemptive || !replayable || sends == maxDigestSends {
			if att != nil {
				res.Refusal = errors.New("the server refused the credentials: " + resp.Status)
			}
			return resp, nil
		}
		drain(resp)
		if sess, err = client.NewSession(chs); err != nil {
			return nil, err
		}
		t.setSession(space, sess)
		preemptive = false
		if r2, att, err = t.authorize(req, sess, res); err != nil {
			return nil, err
		}
	}
}

// authorize clones req with the credentials of sess's next count.
func (t *DigestTransport) authorize(req *http.Request, sess *digest.Session, res *Result) (*http.Request, *digest.Attempt, error) {
	var body func() ([]byte, error)
	if req.GetBody != nil {
		body = func() ([]byte, error) {
			rc, err := req.GetBody()
			if err != nil {
				return nil, err
			}
			defer rc.Close()
			return io.ReadAll(rc)
		}
	}
	att, err := sess.Authorize(req.Method, req.URL.RequestURI(), body)
	if err != nil {
		return nil, nil, err
	}
	r2, err := withBody(req)
	if err != nil {
		return nil, nil, err
	}
	r2.Header.Set("Authorization", att.Authorization)
	res.Attempts++
	res.Authenticated, res.Mutual, res.Refusal = false, false, nil
	return r2, att, nil
}

func (t *DigestTransport) session(space string) *digest.Session {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.sessions[space]
}

func (t *DigestTransport) setSession(space string, s *digest.Session) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.sessions == nil {
		t.sessions = map[string]*digest.Session{}
	}
	t.sessions[space] = s
}

package digest

import (
	"context"
	"encoding/hex"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/warden-auth/warden/auth"
)

const testRealm = "TEST.WARDEN"

// pwValidator stands in for the AA: it keeps passwords and answers as
// the AA does, LogonFailure for unknown user and wrong password alike.
type pwValidator struct {
	users map[string]string
	calls atomic.Int32
}

func (p *pwValidator) ValidateDigest(_ context.Context, v *Validation) (*Verdict, error) {
	p.calls.Add(1)
	name := v.Username
	if v.UserHash {
		for u := range p.users {
			if UserHash(v.Algorithm, u, v.Realm) == v.Username {
				name = u
			}
		}
	}
	pw, ok := p.users[name]
	raw, _ := hex.DecodeString(HA1(v.Algorithm, name, v.Realm, pw))
	rsp, err := v.Verify(raw)
	if err != nil || !ok {
		return nil, &Error{Code: LogonFailure, Reason: "unknown user or wrong password"}
	}
	return &Verdict{Identity: auth.Identity{User: name, Realm: v.Realm, Method: auth.MethodDigest}, RspAuth: rsp}, nil
}

type serverEnv struct {
	srv *Server
	val *pwValidator
	mu  sync.Mutex
	now time.Time
}

func newServerEnv(t *testing.T, cfg ServerConfig) *serverEnv {
	t.Helper()
	e := &serverEnv{val: &pwValidator{users: map[string]string{"alice": "alice password", "jörg": "jörg's password"}},
		now: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)}
	cfg.Realm = testRealm
	cfg.Time = e.clock
	srv, err := NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	e.srv = srv
	return e
}

func (e *serverEnv) clock() time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.now
}

func (e *serverEnv) advance(d time.Duration) {
	e.mu.Lock()
	e.now = e.now.Add(d)
	e.mu.Unlock()
}

// session answers the server's current challenges as user.
func (e *serverEnv) session(t *testing.T, c *Client) *Session {
	t.Helper()
	vals, err := e.srv.Challenges(false)
	if err != nil {
		t.Fatal(err)
	}
	chs, err := ParseChallenges(vals)
	if err != nil {
		t.Fatal(err)
	}
	s, err := c.NewSession(chs)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func (e *serverEnv) auth(authz, method, uri string, body []byte) (*Result, error) {
	return e.srv.Authenticate(context.Background(), e.val, Request{Authorization: authz, Method: method, URI: uri,
		Body: func() ([]byte, error) { return body, nil }})
}

func mustAuthorize(t *testing.T, s *Session, method, uri string) *Attempt {
	t.Helper()
	a, err := s.Authorize(method, uri, nil)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func wantCode(t *testing.T, err error, code Code, text string) {
	t.Helper()
	if !errors.Is(err, &Error{Code: code}) || !strings.Contains(err.Error(), text) {
		t.Fatalf("err = %v, want %v with %q", err, code, text)
	}
}

func TestServerRoundTrip(t *testing.T) {
	for _, alg := range []Algorithm{SHA256, SHA256Sess, SHA512_256, SHA512_256Sess, MD5, MD5Sess} {
		t.Run(alg.String(), func(t *testing.T) {
			e := newServerEnv(t, ServerConfig{Algorithms: []Algorithm{alg}, AllowMD5: true})
			s := e.session(t, &Client{Username: "alice", Password: "alice password", AllowMD5: true})
			for i := 0; i < 3; i++ { // the nonce is reused with growing counts
				a := mustAuthorize(t, s, "GET", "/dir/index.html?x=1")
				res, err := e.auth(a.Authorization, "GET", "/dir/index.html?x=1", nil)
				if err != nil {
					t.Fatal(err)
				}
				if res.Identity.User != "alice" {
					t.Fatalf("identity %+v", res.Identity)
				}
				if mutual, err := a.Check(res.AuthInfo); !mutual || err != nil {
					t.Fatalf("rspauth check: %v %v (%s)", mutual, err, res.AuthInfo)
				}
			}
		})
	}
}

func TestServerChallenges(t *testing.T) {
	e := newServerEnv(t, ServerConfig{Algorithms: []Algorithm{SHA256, SHA512_256, MD5}, AllowMD5: true, AuthInt: true, UserHash: true})
	vals, err := e.srv.Challenges(true)
	if err != nil {
		t.Fatal(err)
	}
	chs, err := ParseChallenges(vals)
	if err != nil || len(chs) != 3 {
		t.Fatalf("%v %v", err, vals)
	}
	for i, want := range []Algorithm{SHA256, SHA512_256, MD5} {
		c := chs[i]
		if c.Algorithm != want || c.Realm != testRealm || !c.Stale || !c.UserHash || c.Charset != "UTF-8" ||
			strings.Join(c.QOP, ",") != "auth,auth-int" || c.Nonce != chs[0].Nonce {
			t.Fatalf("challenge %d: %+v", i, c)
		}
	}
	// Configuration errors.
	for _, cfg := range []ServerConfig{
		{Realm: testRealm, Algorithms: []Algorithm{SHA256, MD5}},
		{Realm: testRealm, Algorithms: []Algorithm{SHA256, SHA256}},
		{Realm: testRealm, Algorithms: []Algorithm{MD5, SHA256}, AllowMD5: true},
		{Realm: testRealm, Algorithms: []Algorithm{0}},
		{Realm: ""},
		{Realm: "bad\nrealm"},
		{Realm: testRealm, NonceKey: make([]byte, 16)},
	} {
		if _, err := NewServer(cfg); err == nil {
			t.Errorf("%+v accepted", cfg)
		}
	}
}

func TestServerRefusals(t *testing.T) {
	alice := &Client{Username: "alice", Password: "alice password"}
	tests := []struct {
		name     string
		cfg      ServerConfig
		client   *Client
		edit     func(c *Credentials)
		uri      string // the request's target; default "/app"
		wantCode Code
		wantText string
	}{
		{name: "response for another URI", uri: "/other", wantCode: URIMismatch, wantText: `for uri "/app", not this request's "/other"`},
		{name: "MD5 refused unless allowed", edit: func(c *Credentials) { c.Algorithm = MD5 }, wantCode: UnsupportedAlgorithm, wantText: "MD5 is not offered here (offered: SHA-256)"},
		{name: "algorithm not offered", edit: func(c *Credentials) { c.Algorithm = SHA512_256 }, wantCode: UnsupportedAlgorithm, wantText: "SHA-512-256 is not offered"},
		{name: "other realm", edit: func(c *Credentials) { c.Realm = "OTHER" }, wantCode: WrongRealm, wantText: `realm "OTHER"`},
		{name: "auth-int not offered", edit: func(c *Credentials) { c.QOP = "auth-int" }, wantCode: UnsupportedQOP, wantText: "auth-int"},
		{name: "forged nonce", edit: func(c *Credentials) { c.Nonce = strings.Repeat("A", 43) }, wantCode: BadNonce, wantText: "not issued by this server"},
		{name: "foreign nonce", edit: func(c *Credentials) { c.Nonce = "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v" }, wantCode: BadNonce, wantText: "not issued"},
		{name: "userhash not asked for", edit: func(c *Credentials) { c.UserHash, c.Username = true, UserHash(SHA256, "alice", testRealm) }, wantCode: BadHeader, wantText: "did not ask"},
		{name: "unsolicited opaque", edit: func(c *Credentials) { c.Opaque = "x" }, wantCode: BadHeader, wantText: "opaque"},
		{name: "nc zero", edit: func(c *Credentials) { c.NC = "00000000" }, wantCode: BadHeader, wantText: "nc must be"},
		{name: "short response", edit: func(c *Credentials) { c.Response = "abcd" }, wantCode: BadHeader, wantText: "64 hex digits"},
		{name: "wrong password", client: &Client{Username: "alice", Password: "nope"}, wantCode: LogonFailure, wantText: "unknown user or wrong password"},
		{name: "unknown user", client: &Client{Username: "mallory", Password: "x"}, wantCode: LogonFailure, wantText: "unknown user or wrong password"},
		{name: "tampered response", edit: func(c *Credentials) { c.Response = strings.Repeat("0", 64) }, wantCode: LogonFailure, wantText: "unknown user"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newServerEnv(t, tt.cfg)
			c := tt.client
			if c == nil {
				c = alice
			}
			a := mustAuthorize(t, e.session(t, c), "GET", "/app")
			authz := a.Authorization
			if tt.edit != nil {
				cr, err := ParseCredentials(authz)
				if err != nil {
					t.Fatal(err)
				}
				tt.edit(cr)
				authz = cr.String()
			}
			uri := tt.uri
			if uri == "" {
				uri = "/app"
			}
			_, err := e.auth(authz, "GET", uri, nil)
			wantCode(t, err, tt.wantCode, tt.wantText)
			var de *Error
			if errors.As(err, &de); de.User == "" {
				t.Errorf("the refusal does not name the user for the log")
			}
		})
	}
	if _, err := newServerEnv(t, ServerConfig{}).auth("", "GET", "/", nil); !errors.Is(err, &Error{Code: NoCredentials}) {
		t.Fatalf("no header: %v", err)
	}
}

// Each (nonce, nc) is accepted once; counts may arrive out of order; a
// replay is refused before the AA is asked.
func TestServerReplay(t *testing.T) {
	e := newServerEnv(t, ServerConfig{})
	s := e.session(t, &Client{Username: "alice", Password: "alice password"})
	a1 := mustAuthorize(t, s, "GET", "/")
	a2 := mustAuthorize(t, s, "GET", "/")
	if _, err := e.auth(a2.Authorization, "GET", "/", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := e.auth(a1.Authorization, "GET", "/", nil); err != nil {
		t.Fatalf("count 1 after count 2: %v", err)
	}
	calls := e.val.calls.Load()
	for _, a := range []*Attempt{a1, a2} {
		_, err := e.auth(a.Authorization, "GET", "/", nil)
		wantCode(t, err, Replay, "already used")
	}
	if e.val.calls.Load() != calls {
		t.Fatal("a replay reached the AA")
	}
	// A count far behind the newest is refused too.
	for i := 0; i < ncWindowSize+1; i++ {
		mustAuthorize(t, s, "GET", "/")
	}
	last := mustAuthorize(t, s, "GET", "/")
	if _, err := e.auth(last.Authorization, "GET", "/", nil); err != nil {
		t.Fatal(err)
	}
	cr, _ := ParseCredentials(a2.Authorization)
	cr.NC = "00000003"
	_, err := e.auth(cr.String(), "GET", "/", nil)
	wantCode(t, err, Replay, "00000003")
}

// Concurrent requests on one nonce: all distinct counts pass, each once.
func TestServerReplayConcurrent(t *testing.T) {
	e := newServerEnv(t, ServerConfig{})
	s := e.session(t, &Client{Username: "alice", Password: "alice password"})
	const n = 32
	as := make([]*Attempt, n)
	for i := range as {
		as[i] = mustAuthorize(t, s, "GET", "/")
	}
	var ok atomic.Int32
	var wg sync.WaitGroup
	for _, a := range append(as, as...) { // every request twice
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := e.auth(a.Authorization, "GET", "/", nil); err == nil {
				ok.Add(1)
			} else if !errors.Is(err, &Error{Code: Replay}) {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if ok.Load() != n {
		t.Fatalf("%d of %d distinct requests accepted (each sent twice)", ok.Load(), n)
	}
}

// An expired nonce with a right response is StaleNonce; with a wrong
// password it is a plain logon failure, not stale (RFC 7616 3.3).
func TestServerStale(t *testing.T) {
	e := newServerEnv(t, ServerConfig{NonceLifetime: time.Minute})
	good := e.session(t, &Client{Username: "alice", Password: "alice password"})
	bad := e.session(t, &Client{Username: "alice", Password: "nope"})
	e.advance(61 * time.Second)
	_, err := e.auth(mustAuthorize(t, good, "GET", "/").Authorization, "GET", "/", nil)
	wantCode(t, err, StaleNonce, "expired")
	_, err = e.auth(mustAuthorize(t, bad, "GET", "/").Authorization, "GET", "/", nil)
	wantCode(t, err, LogonFailure, "wrong password")
	// After half its life a nonce comes with a nextnonce, which the
	// client adopts.
	s := e.session(t, &Client{Username: "alice", Password: "alice password"})
	e.advance(40 * time.Second)
	a := mustAuthorize(t, s, "GET", "/")
	res, err := e.auth(a.Authorization, "GET", "/", nil)
	if err != nil {
		t.Fatal(err)
	}
	info, _ := ParseAuthInfo(res.AuthInfo)
	if info.NextNonce == "" {
		t.Fatalf("no nextnonce: %s", res.AuthInfo)
	}
	if _, err := a.Check(res.AuthInfo); err != nil {
		t.Fatal(err)
	}
	e.advance(30 * time.Second) // the first nonce is now expired, the next one is not
	a = mustAuthorize(t, s, "GET", "/")
	if _, err := e.auth(a.Authorization, "GET", "/", nil); err != nil {
		t.Fatalf("with the nextnonce: %v", err)
	}
	if cr, _ := ParseCredentials(a.Authorization); cr.Nonce != info.NextNonce || cr.NC != "00000001" {
		t.Fatalf("the client did not adopt the nextnonce: %+v", cr)
	}
}

// When more nonces are in use than the tracker holds, the older half is
// forgotten and those nonces become stale: never replayable.
func TestServerTrackerBound(t *testing.T) {
	e := newServerEnv(t, ServerConfig{MaxNonces: 4})
	var first *Attempt
	for i := 0; i < 10; i++ {
		s := e.session(t, &Client{Username: "alice", Password: "alice password"})
		a := mustAuthorize(t, s, "GET", "/")
		if _, err := e.auth(a.Authorization, "GET", "/", nil); err != nil {
			t.Fatal(err)
		}
		if first == nil {
			first = a
		}
		e.advance(time.Second)
	}
	if n := e.srv.nc.len(); n > 4 {
		t.Fatalf("%d nonces tracked", n)
	}
	_, err := e.auth(first.Authorization, "GET", "/", nil)
	wantCode(t, err, StaleNonce, "expired")
}

func TestServerAuthInt(t *testing.T) {
	e := newServerEnv(t, ServerConfig{AuthInt: true})
	vals, _ := e.srv.Challenges(false)
	chs, _ := ParseChallenges(vals)
	chs[0].QOP = []string{"auth-int"} // as if only auth-int were offered
	s, err := (&Client{Username: "alice", Password: "alice password"}).NewSession(chs)
	if err != nil {
		t.Fatal(err)
	}
	body := []byte(`{"amount": 10}`)
	a, err := s.Authorize("POST", "/pay", func() ([]byte, error) { return body, nil })
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.auth(a.Authorization, "POST", "/pay", []byte(`{"amount": 1000}`)); !errors.Is(err, &Error{Code: LogonFailure}) {
		t.Fatalf("another body: %v", err)
	}
	a, _ = s.Authorize("POST", "/pay", func() ([]byte, error) { return body, nil })
	res, err := e.auth(a.Authorization, "POST", "/pay", body)
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := a.Check(res.AuthInfo); !ok || err != nil {
		t.Fatalf("rspauth: %v %v", ok, err)
	}
	// Without a body function auth-int is refused.
	a, _ = s.Authorize("POST", "/pay", func() ([]byte, error) { return body, nil })
	_, err = e.srv.Authenticate(context.Background(), e.val, Request{Authorization: a.Authorization, Method: "POST", URI: "/pay"})
	wantCode(t, err, UnsupportedQOP, "not available")
}

func TestServerUserHashAndUTF8(t *testing.T) {
	e := newServerEnv(t, ServerConfig{UserHash: true})
	for _, user := range []string{"alice", "jörg"} {
		s := e.session(t, &Client{Username: user, Password: user + "'s password"})
		if user == "alice" {
			s = e.session(t, &Client{Username: user, Password: "alice password"})
		}
		a := mustAuthorize(t, s, "GET", "/")
		cr, _ := ParseCredentials(a.Authorization)
		if !cr.UserHash || cr.Username != UserHash(SHA256, user, testRealm) {
			t.Fatalf("the client did not hash the name: %s", a.Authorization)
		}
		res, err := e.auth(a.Authorization, "GET", "/", nil)
		if err != nil || res.Identity.User != user {
			t.Fatalf("%s: %v %+v", user, err, res)
		}
	}
	// Without userhash a UTF-8 name travels as username*.
	e = newServerEnv(t, ServerConfig{})
	a := mustAuthorize(t, e.session(t, &Client{Username: "jörg", Password: "jörg's password"}), "GET", "/")
	if !strings.Contains(a.Authorization, "username*=UTF-8''j%C3%B6rg") {
		t.Fatalf("%s", a.Authorization)
	}
	if res, err := e.auth(a.Authorization, "GET", "/", nil); err != nil || res.Identity.User != "jörg" {
		t.Fatalf("%v %+v", err, res)
	}
}

// Servers sharing a nonce key accept each other's nonces; the count
// tracker is per server.
func TestServerSharedKey(t *testing.T) {
	key := make([]byte, NonceKeySize)
	a := newServerEnv(t, ServerConfig{NonceKey: key})
	b := newServerEnv(t, ServerConfig{NonceKey: key})
	s := a.session(t, &Client{Username: "alice", Password: "alice password"})
	if _, err := b.auth(mustAuthorize(t, s, "GET", "/").Authorization, "GET", "/", nil); err != nil {
		t.Fatal(err)
	}
}

func TestClientChoosesFirstSupported(t *testing.T) {
	chs, err := ParseChallenges([]string{
		`Digest realm="r", nonce="n1", algorithm=SHA3-256, qop="auth"`,
		`Digest realm="r", nonce="n2", algorithm=SHA-256, qop="auth-conf"`,
		`Digest realm="r", nonce="n3", algorithm=MD5, qop="auth"`,
		`Digest realm="r", nonce="n4", algorithm=SHA-512-256, qop="auth"`,
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		md5  bool
		want Algorithm
	}{{false, SHA512_256}, {true, MD5}} {
		s, err := (&Client{Username: "u", Password: "p", AllowMD5: tc.md5}).NewSession(chs)
		if err != nil || s.Algorithm() != tc.want {
			t.Fatalf("AllowMD5=%v: %v %v", tc.md5, err, s)
		}
	}
	_, err = (&Client{}).NewSession(chs[:3])
	wantCode(t, err, NoChallenge, "SHA-256 qop=auth-conf")
	_, err = (&Client{}).NewSession(nil)
	wantCode(t, err, NoChallenge, "no Digest challenge")
}

func TestClientChecksRspAuth(t *testing.T) {
	e := newServerEnv(t, ServerConfig{})
	s := e.session(t, &Client{Username: "alice", Password: "alice password"})
	a := mustAuthorize(t, s, "GET", "/")
	res, err := e.auth(a.Authorization, "GET", "/", nil)
	if err != nil {
		t.Fatal(err)
	}
	info, _ := ParseAuthInfo(res.AuthInfo)
	for name, edit := range map[string]func(*AuthInfo){
		"wrong rspauth": func(i *AuthInfo) { i.RspAuth = strings.Repeat("0", 64) },
		"no rspauth":    func(i *AuthInfo) { i.RspAuth = "" },
		"other nc":      func(i *AuthInfo) { i.NC = "00000009" },
	} {
		x := *info
		edit(&x)
		if _, err := a.Check(x.String()); !errors.Is(err, &Error{Code: MutualFailed}) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if ok, err := a.Check(""); ok || err != nil {
		t.Fatalf("no header: %v %v", ok, err)
	}
}

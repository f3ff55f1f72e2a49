package httpauth_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/warden-auth/warden/admin"
	"github.com/warden-auth/warden/digest"
	"github.com/warden-auth/warden/httpauth"
	"github.com/warden-auth/warden/internal/testkit"
	"github.com/warden-auth/warden/passthrough"
)

// digestEnv is a Digest-protected server whose responses the AA's
// validation service checks (in-process, answering as its HTTPS
// endpoint does), with a clock the test moves.
type digestEnv struct {
	srv   *httptest.Server
	log   *logBuffer
	mu    sync.Mutex
	now   time.Time
	seen  atomic.Int32 // requests that reached the server
	authz []string     // Authorization headers received, in order
}

func (e *digestEnv) clock() time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.now
}

func (e *digestEnv) advance(d time.Duration) {
	e.mu.Lock()
	e.now = e.now.Add(d)
	e.mu.Unlock()
}

func (e *digestEnv) lastAuthz() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.authz[len(e.authz)-1]
}

// digestRealm is a realm with alice (in web-admins) and the computer
// account of the server, WEB01$.
func digestRealm(t *testing.T) digest.Validator {
	t.Helper()
	r := testkit.NewRealm(t, testRealm)
	ctx := context.Background()
	if _, err := r.Admin.AddGroup(ctx, "web-admins", ""); err != nil {
		t.Fatal(err)
	}
	r.AddUser(t, "alice", "alice password", admin.UserOptions{Groups: []string{"web-admins"}})
	if _, err := r.Admin.AddComputer(ctx, "WEB01", admin.KeyOptions{}); err != nil {
		t.Fatal(err)
	}
	svc, err := passthrough.New(passthrough.Config{Store: r.Store})
	if err != nil {
		t.Fatal(err)
	}
	return svc.DigestValidator("WEB01$")
}

func newDigestEnv(t *testing.T, val digest.Validator, cfg httpauth.DigestConfig) *digestEnv {
	t.Helper()
	e := &digestEnv{log: &logBuffer{}, now: time.Now()}
	cfg.Realm, cfg.Validator, cfg.Time = testRealm, val, e.clock
	cfg.Logger = slog.New(slog.NewJSONHandler(e.log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	d, err := httpauth.NewDigest(cfg)
	if err != nil {
		t.Fatal(err)
	}
	h := d.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		whoami.ServeHTTP(w, r)
		if len(body) > 0 {
			w.Write(append([]byte(" body="), body...))
		}
	}))
	e.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.seen.Add(1)
		e.mu.Lock()
		e.authz = append(e.authz, r.Header.Get("Authorization"))
		e.mu.Unlock()
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(e.srv.Close)
	return e
}

func do(t *testing.T, c *http.Client, method, url, authz string, body []byte) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, bytes.NewReader(body))
	if authz != "" {
		req.Header.Set("Authorization", authz)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func TestDigestMiddlewareWithTransport(t *testing.T) {
	e := newDigestEnv(t, digestRealm(t), httpauth.DigestConfig{})
	tr := &httpauth.DigestTransport{User: "alice", Password: "alice password"}
	c := &http.Client{Transport: tr}
	for i, wantSeen := range []int32{2, 3} { // a challenge first, then the nonce is reused
		var res httpauth.Result
		req, _ := http.NewRequestWithContext(httpauth.WithResult(context.Background(), &res), "GET", e.srv.URL+"/app?q=1", nil)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.HasPrefix(string(body), "alice@"+testRealm+" method=digest mutual=true sid=S-1-5-21-") {
			t.Fatalf("request %d: %d %s", i, resp.StatusCode, body)
		}
		if !strings.Contains(resp.Header.Get("Authentication-Info"), "rspauth=") || !res.Authenticated || !res.Mutual || res.Attempts != 1 {
			t.Fatalf("request %d: result %+v, Authentication-Info %q", i, res, resp.Header.Get("Authentication-Info"))
		}
		if e.seen.Load() != wantSeen {
			t.Fatalf("request %d: the server saw %d requests, want %d", i, e.seen.Load(), wantSeen)
		}
	}
	// SHA-256 alone is offered by default; the client answered it.
	if !strings.Contains(e.lastAuthz(), "algorithm=SHA-256,") || !strings.Contains(e.lastAuthz(), "nc=00000002") {
		t.Fatalf("credentials %s", e.lastAuthz())
	}
}

// A stale nonce: 401 with stale=true, and the transport answers the new
// nonce without the caller noticing.
func TestDigestStaleRetriedTransparently(t *testing.T) {
	e := newDigestEnv(t, digestRealm(t), httpauth.DigestConfig{NonceLifetime: time.Minute})
	var stale atomic.Bool
	tr := &httpauth.DigestTransport{User: "alice", Password: "alice password", Base: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		resp, err := http.DefaultTransport.RoundTrip(r)
		if err == nil && resp.StatusCode == 401 && strings.Contains(resp.Header.Get("WWW-Authenticate"), "stale=true") {
			stale.Store(true)
		}
		return resp, err
	})}
	c := &http.Client{Transport: tr}
	if resp, body := do(t, c, "GET", e.srv.URL+"/", "", nil); resp.StatusCode != 200 {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	e.advance(2 * time.Minute)
	var res httpauth.Result
	req, _ := http.NewRequestWithContext(httpauth.WithResult(context.Background(), &res), "GET", e.srv.URL+"/", nil)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || !stale.Load() || res.Attempts != 2 || !res.Mutual {
		t.Fatalf("status %d, stale seen %v, result %+v", resp.StatusCode, stale.Load(), res)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

var nonceRE = regexp.MustCompile(`nonce="[^"]*"`)

// Unknown user and wrong password get the same answer, byte for byte
// but the fresh nonce; the server's log names the user, not the reason
// (the AA's log has it).
func TestDigestUnknownUserLikeWrongPassword(t *testing.T) {
	e := newDigestEnv(t, digestRealm(t), httpauth.DigestConfig{})
	answer := func(user, pw string) string {
		resp, err := (&http.Client{Transport: &httpauth.DigestTransport{User: user, Password: pw}}).Get(e.srv.URL + "/")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		h := resp.Header.Clone()
		h.Del("Date")
		var b strings.Builder
		b.WriteString(resp.Status + "\n")
		h.Write(&b)
		b.Write(body)
		return nonceRE.ReplaceAllString(b.String(), `nonce="…"`)
	}
	wrong, unknown := answer("alice", "wrong"), answer("nobody", "wrong")
	if wrong != unknown {
		t.Fatalf("distinguishable:\n%s\n---\n%s", wrong, unknown)
	}
	if !strings.HasPrefix(wrong, "401 Unauthorized\n") || !strings.Contains(wrong, "unknown user or wrong password") ||
		!strings.Contains(wrong, "Www-Authenticate: Digest realm=") {
		t.Fatalf("answer:\n%s", wrong)
	}
	for _, l := range e.log.failures(t) {
		if l["code"] != "LOGON_FAILURE" || (l["principal"] != "alice" && l["principal"] != "nobody") {
			t.Fatalf("log line %v", l)
		}
	}
}

func TestDigestMiddlewareRefusals(t *testing.T) {
	val := digestRealm(t)
	// A good request's credentials, made by a session against e.
	credsFor := func(t *testing.T, e *digestEnv, uri string, md5 bool) string {
		resp, _ := do(t, http.DefaultClient, "GET", e.srv.URL+"/", "", nil)
		chs, err := digest.ParseChallenges(resp.Header.Values("WWW-Authenticate"))
		if err != nil {
			t.Fatal(err)
		}
		if md5 {
			chs[0].Algorithm = digest.MD5
		}
		s, err := (&digest.Client{Username: "alice", Password: "alice password", AllowMD5: true}).NewSession(chs)
		if err != nil {
			t.Fatal(err)
		}
		a, err := s.Authorize("GET", uri, nil)
		if err != nil {
			t.Fatal(err)
		}
		return a.Authorization
	}
	t.Run("replayed nc", func(t *testing.T) {
		e := newDigestEnv(t, val, httpauth.DigestConfig{})
		authz := credsFor(t, e, "/a", false)
		if resp, body := do(t, http.DefaultClient, "GET", e.srv.URL+"/a", authz, nil); resp.StatusCode != 200 {
			t.Fatalf("first: %d %s", resp.StatusCode, body)
		}
		resp, body := do(t, http.DefaultClient, "GET", e.srv.URL+"/a", authz, nil)
		if resp.StatusCode != 401 || !strings.Contains(body, "already used") || resp.Header.Get("WWW-Authenticate") == "" {
			t.Fatalf("replay: %d %s", resp.StatusCode, body)
		}
	})
	t.Run("response for another URI", func(t *testing.T) {
		e := newDigestEnv(t, val, httpauth.DigestConfig{})
		resp, body := do(t, http.DefaultClient, "GET", e.srv.URL+"/admin", credsFor(t, e, "/a", false), nil)
		if resp.StatusCode != 400 || !strings.Contains(body, `for uri "/a", not this request's "/admin"`) {
			t.Fatalf("%d %s", resp.StatusCode, body)
		}
	})
	t.Run("MD5 refused unless allowed", func(t *testing.T) {
		e := newDigestEnv(t, val, httpauth.DigestConfig{})
		resp, body := do(t, http.DefaultClient, "GET", e.srv.URL+"/a", credsFor(t, e, "/a", true), nil)
		if resp.StatusCode != 401 || !strings.Contains(body, "algorithm MD5 is not offered here") || strings.Contains(strings.Join(resp.Header.Values("WWW-Authenticate"), " "), "MD5") {
			t.Fatalf("%d %s %v", resp.StatusCode, body, resp.Header.Values("WWW-Authenticate"))
		}
		if _, err := httpauth.NewDigest(httpauth.DigestConfig{Realm: testRealm, Validator: val, Algorithms: []digest.Algorithm{digest.MD5}}); err == nil {
			t.Fatal("MD5 offered without AllowMD5")
		}
		// Allowed: offered last, and a client that takes only MD5 gets in.
		e = newDigestEnv(t, val, httpauth.DigestConfig{Algorithms: []digest.Algorithm{digest.SHA256, digest.MD5}, AllowMD5: true})
		resp, body = do(t, http.DefaultClient, "GET", e.srv.URL+"/a", credsFor(t, e, "/a", true), nil)
		if resp.StatusCode != 200 {
			t.Fatalf("allowed MD5: %d %s", resp.StatusCode, body)
		}
	})
	t.Run("no credentials, another scheme, malformed", func(t *testing.T) {
		e := newDigestEnv(t, val, httpauth.DigestConfig{})
		for _, tc := range []struct {
			authz  string
			status int
			text   string
		}{
			{"", 401, "authentication required"},
			{"Basic YWxpY2U6cHc=", 401, `accepts Digest, not "Basic"`},
			{`Digest username="alice", realm=`, 400, "no value"},
		} {
			resp, body := do(t, http.DefaultClient, "GET", e.srv.URL+"/", tc.authz, nil)
			if resp.StatusCode != tc.status || !strings.Contains(body, tc.text) {
				t.Fatalf("%q: %d %s", tc.authz, resp.StatusCode, body)
			}
		}
	})
	t.Run("AA unreachable", func(t *testing.T) {
		down := digest.ValidatorFunc(func(context.Context, *digest.Validation) (*digest.Verdict, error) {
			return nil, errors.New("dial tcp 10.0.0.1:8443: connection refused")
		})
		e := newDigestEnv(t, down, httpauth.DigestConfig{})
		resp, body := do(t, http.DefaultClient, "GET", e.srv.URL+"/a", credsFor(t, e, "/a", false), nil)
		if resp.StatusCode != 503 || !strings.Contains(body, "cannot check logons now") || strings.Contains(body, "10.0.0.1") {
			t.Fatalf("%d %s", resp.StatusCode, body)
		}
		if !strings.Contains(e.log.String(), "connection refused") {
			t.Fatalf("the cause is not logged: %s", e.log)
		}
	})
}

// qop=auth-int: the body is hashed into the response; a changed body is
// refused, the handler reads the body, and bodies above the cap are 413.
func TestDigestAuthInt(t *testing.T) {
	e := newDigestEnv(t, digestRealm(t), httpauth.DigestConfig{AuthInt: true, MaxBodyBytes: 64})
	resp, _ := do(t, http.DefaultClient, "POST", e.srv.URL+"/pay", "", nil)
	chs, _ := digest.ParseChallenges(resp.Header.Values("WWW-Authenticate"))
	chs[0].QOP = []string{"auth-int"} // as a client preferring integrity would choose
	s, err := (&digest.Client{Username: "alice", Password: "alice password"}).NewSession(chs)
	if err != nil {
		t.Fatal(err)
	}
	body := []byte(`{"amount":10}`)
	authz := func(b []byte) string {
		a, err := s.Authorize("POST", "/pay", func() ([]byte, error) { return b, nil })
		if err != nil {
			t.Fatal(err)
		}
		return a.Authorization
	}
	if resp, got := do(t, http.DefaultClient, "POST", e.srv.URL+"/pay", authz(body), body); resp.StatusCode != 200 || !strings.HasSuffix(got, ` body={"amount":10}`) {
		t.Fatalf("%d %s", resp.StatusCode, got)
	}
	if resp, got := do(t, http.DefaultClient, "POST", e.srv.URL+"/pay", authz(body), []byte(`{"amount":1000}`)); resp.StatusCode != 401 {
		t.Fatalf("changed body: %d %s", resp.StatusCode, got)
	}
	big := bytes.Repeat([]byte("x"), 65)
	if resp, got := do(t, http.DefaultClient, "POST", e.srv.URL+"/pay", authz(big), big); resp.StatusCode != 413 {
		t.Fatalf("large body: %d %s", resp.StatusCode, got)
	}
}

// The transport refuses an answer whose rspauth is wrong: it does not
// come from a server that had the AA check the request.
func TestDigestTransportMutual(t *testing.T) {
	e := newDigestEnv(t, digestRealm(t), httpauth.DigestConfig{})
	forge := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		resp, err := http.DefaultTransport.RoundTrip(r)
		if err == nil && resp.StatusCode == 200 {
			resp.Header.Set("Authentication-Info", `rspauth="`+strings.Repeat("0", 64)+`"`)
		}
		return resp, err
	})
	_, err := (&http.Client{Transport: &httpauth.DigestTransport{User: "alice", Password: "alice password", Base: forge}}).Get(e.srv.URL + "/")
	if !errors.Is(err, &digest.Error{Code: digest.MutualFailed}) {
		t.Fatalf("forged rspauth: %v", err)
	}
	strip := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		resp, err := http.DefaultTransport.RoundTrip(r)
		if err == nil {
			resp.Header.Del("Authentication-Info")
		}
		return resp, err
	})
	_, err = (&http.Client{Transport: &httpauth.DigestTransport{User: "alice", Password: "alice password", Base: strip, RequireMutual: true}}).Get(e.srv.URL + "/")
	if !errors.Is(err, &digest.Error{Code: digest.MutualFailed}) {
		t.Fatalf("no rspauth with RequireMutual: %v", err)
	}
	// A server offering only MD5 is refused by a client that does not allow it.
	_, err = (&http.Client{Transport: &httpauth.DigestTransport{User: "alice", Password: "x"}}).Get(
		newDigestEnv(t, digestRealm(t), httpauth.DigestConfig{Algorithms: []digest.Algorithm{digest.MD5}, AllowMD5: true}).srv.URL)
	if !errors.Is(err, &digest.Error{Code: digest.NoChallenge}) {
		t.Fatalf("MD5-only server: %v", err)
	}
}

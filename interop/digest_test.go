package interop

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/warden-auth/warden/auth"
	"github.com/warden-auth/warden/digest"
	"github.com/warden-auth/warden/httpauth"
	"github.com/warden-auth/warden/internal/testkit"
	"github.com/warden-auth/warden/passthrough"
	"github.com/warden-auth/warden/pki"
)

// HTTP Digest (RFC 7616) with validation by the AA, against real
// clients: curl --digest and python requests' HTTPDigestAuth talk to a Go
// HTTP server using httpauth's Digest middleware, which has a running
// warden serve check every response over its HTTPS passthrough endpoint
// (the server authenticated by its computer account's certificate). The
// application server never holds a password or H(A1).

const digestPW = "alice password 1" // pkiRealm's alice

// digestAA is a running AA (warden serve with HTTPS) with alice in
// web-admins, jörg, and the application server's computer account
// WEB01$, and the passthrough client that server uses.
type digestAA struct {
	dir    string
	client *passthrough.Client
	realm  string
}

func newDigestAA(t *testing.T) *digestAA {
	t.Helper()
	dir, srv := pkiRealm(t)
	d := "--data=" + dir
	pw := filepath.Join(t.TempDir(), "pw")
	os.WriteFile(pw, []byte("jörg's password\n"), 0o600)
	mustWardenCLI(t, "user", "add", "jörg", "--password-file", pw, d)
	mustWardenCLI(t, "group", "add", "web-admins", d)
	mustWardenCLI(t, "group", "add-member", "web-admins", "alice", d)
	mustWardenCLI(t, "computer", "add", "WEB01", d)
	iss, err := srv.PKI().IssueAccount(context.Background(), "WEB01$", pki.IssueRequest{})
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(srv.PKI().CA())
	c := &passthrough.Client{URL: "https://" + srv.HTTPSAddr(), HTTPClient: &http.Client{Timeout: 10 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: "localhost",
			Certificates: []tls.Certificate{{Certificate: [][]byte{iss.Cert.Raw}, PrivateKey: iss.Key}}}}}}
	// The server learns the Digest realm from the AA.
	info, err := c.ServerInfo(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return &digestAA{dir: dir, client: c, realm: info.Realm}
}

// digestApp is the application server: the Digest middleware with the
// AA as validator, recording the Authorization headers it receives.
type digestApp struct {
	*httptest.Server
	mu    sync.Mutex
	authz []string
	logs  *lockedBuf
}

func (aa *digestAA) app(t *testing.T, cfg httpauth.DigestConfig) *digestApp {
	t.Helper()
	a := &digestApp{logs: &lockedBuf{}}
	cfg.Realm, cfg.Validator = aa.realm, aa.client
	cfg.Logger = slog.New(slog.NewTextHandler(a.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	d, err := httpauth.NewDigest(cfg)
	if err != nil {
		t.Fatal(err)
	}
	h := d.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := auth.FromContext(r.Context())
		var groups []string
		for _, g := range id.Groups {
			groups = append(groups, g.Name)
		}
		fmt.Fprintf(w, "hello %s (%s) groups=%s", id.Principal(), id.Method, strings.Join(groups, ","))
	}))
	a.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.mu.Lock()
		a.authz = append(a.authz, r.Header.Get("Authorization"))
		a.mu.Unlock()
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(a.Close)
	return a
}

// credentials returns the Digest credentials the server received.
func (a *digestApp) credentials(t *testing.T) []*digest.Credentials {
	t.Helper()
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []*digest.Credentials
	for _, h := range a.authz {
		if h == "" {
			continue
		}
		c, err := digest.ParseCredentials(h)
		if err != nil {
			t.Fatalf("the server received %q: %v", h, err)
		}
		out = append(out, c)
	}
	return out
}

// curlDigest runs curl --digest and returns the status, body and
// response headers.
func curlDigest(t *testing.T, url, user, pw string) (code, body, headers string) {
	t.Helper()
	hdr := filepath.Join(t.TempDir(), "headers")
	out, err := exec.Command("curl", "-sS", "--digest", "-u", user+":"+pw, "-D", hdr, "-o", "-", "-w", "\n%{http_code}", url).CombinedOutput()
	if err != nil {
		t.Fatalf("curl: %v\n%s", err, out)
	}
	s := string(out)
	i := strings.LastIndex(s, "\n")
	h, _ := os.ReadFile(hdr)
	return s[i+1:], s[:i], string(h)
}

// curl --digest: it answers the first challenge it supports, SHA-256,
// although SHA-512-256 and MD5 are offered too; the AA validates; the
// answer carries Authentication-Info; a wrong password is 401; and every
// algorithm we offer, userhash and a UTF-8 user name work with curl.
func TestDigestCurl(t *testing.T) {
	testkit.RequirePeer(t, "curl")
	aa := newDigestAA(t)
	app := aa.app(t, httpauth.DigestConfig{Algorithms: []digest.Algorithm{digest.SHA256, digest.SHA512_256, digest.MD5}, AllowMD5: true})

	code, body, headers := curlDigest(t, app.URL+"/docs/index.html?v=2", "alice", digestPW)
	if code != "200" || body != "hello alice@PKI.TEST (digest) groups=Domain Users,web-admins" {
		t.Fatalf("curl got %s %q\n%s", code, body, app.logs)
	}
	if !strings.Contains(headers, "Authentication-Info: ") || !strings.Contains(headers, "rspauth=") {
		t.Fatalf("no Authentication-Info:\n%s", headers)
	}
	creds := app.credentials(t)
	if len(creds) != 1 || creds[0].Algorithm != digest.SHA256 || creds[0].QOP != "auth" || creds[0].URI != "/docs/index.html?v=2" {
		t.Fatalf("curl sent %+v", creds)
	}

	code, body, _ = curlDigest(t, app.URL+"/", "alice", "wrong password")
	if code != "401" || !strings.Contains(body, "unknown user or wrong password") {
		t.Fatalf("wrong password: curl got %s %q", code, body)
	}
	if code, body2, _ := curlDigest(t, app.URL+"/", "nobody", "wrong password"); code != "401" || body2 != body {
		t.Fatalf("unknown user: curl got %s %q, wrong password %q", code, body2, body)
	}

	// curl before 8.7 computes "SHA-512-256" with SHA-256 (curl pull
	// request 12897: "Digest Auth fakes SHA-512/256 by using SHA-256");
	// its answers must be refused, not accepted under the wrong name.
	realSHA512_256 := curlAtLeast(t, 8, 7)
	for _, tc := range []struct {
		name   string
		cfg    httpauth.DigestConfig
		user   string
		pw     string
		want   func(*digest.Credentials) bool
		refuse bool
	}{
		{"SHA-256-sess", httpauth.DigestConfig{Algorithms: []digest.Algorithm{digest.SHA256Sess}}, "alice", digestPW,
			func(c *digest.Credentials) bool { return c.Algorithm == digest.SHA256Sess }, false},
		{"SHA-512-256", httpauth.DigestConfig{Algorithms: []digest.Algorithm{digest.SHA512_256}}, "alice", digestPW,
			func(c *digest.Credentials) bool { return c.Algorithm == digest.SHA512_256 }, !realSHA512_256},
		{"SHA-512-256-sess", httpauth.DigestConfig{Algorithms: []digest.Algorithm{digest.SHA512_256Sess}}, "alice", digestPW,
			func(c *digest.Credentials) bool { return c.Algorithm == digest.SHA512_256Sess }, !realSHA512_256},
		{"MD5 when allowed", httpauth.DigestConfig{Algorithms: []digest.Algorithm{digest.MD5}, AllowMD5: true}, "alice", digestPW,
			func(c *digest.Credentials) bool { return c.Algorithm == digest.MD5 }, false},
		{"MD5-sess when allowed", httpauth.DigestConfig{Algorithms: []digest.Algorithm{digest.MD5Sess}, AllowMD5: true}, "alice", digestPW,
			func(c *digest.Credentials) bool { return c.Algorithm == digest.MD5Sess }, false},
		{"userhash", httpauth.DigestConfig{UserHash: true}, "alice", digestPW,
			func(c *digest.Credentials) bool {
				return c.UserHash && c.Username == digest.UserHash(digest.SHA256, "alice", "PKI.TEST")
			}, false},
		{"UTF-8 user name", httpauth.DigestConfig{}, "jörg", "jörg's password",
			func(c *digest.Credentials) bool { return c.Username == "jörg" }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			app := aa.app(t, tc.cfg)
			code, body, _ := curlDigest(t, app.URL+"/", tc.user, tc.pw)
			if creds := app.credentials(t); len(creds) != 1 || !tc.want(creds[0]) {
				t.Fatalf("curl sent %+v", creds)
			}
			if tc.refuse {
				if code != "401" {
					t.Fatalf("curl's SHA-256 answer labelled %s was accepted: %s %q", tc.name, code, body)
				}
				t.Logf("curl before 8.7 hashes %s with SHA-256: refused, as it must be", tc.name)
				return
			}
			if code != "200" || !strings.HasPrefix(body, "hello "+tc.user+"@PKI.TEST (digest)") {
				t.Fatalf("curl got %s %q\n%s", code, body, app.logs)
			}
		})
	}
}

// curlAtLeast reports whether curl's version is major.minor or later.
func curlAtLeast(t *testing.T, major, minor int) bool {
	t.Helper()
	out, err := exec.Command("curl", "--version").Output()
	if err != nil {
		t.Fatal(err)
	}
	var ma, mi int
	if _, err := fmt.Sscanf(string(out), "curl %d.%d", &ma, &mi); err != nil {
		t.Fatalf("curl --version: %q", out)
	}
	return ma > major || ma == major && mi >= minor
}

// python requests' HTTPDigestAuth (Debian python3-requests): the
// default challenge (SHA-256), a second request reusing the nonce with
// nc=2, a wrong password refused, and a nonce that went stale between
// two requests answered again without the script noticing.
func TestDigestPythonRequests(t *testing.T) {
	py := testkit.PythonWith(t, "requests")
	aa := newDigestAA(t)
	app := aa.app(t, httpauth.DigestConfig{NonceLifetime: 2 * time.Second})
	const script = `
import sys, time, requests
from requests.auth import HTTPDigestAuth
url, user, pw = sys.argv[1], sys.argv[2], sys.argv[3]
s = requests.Session()
s.auth = HTTPDigestAuth(user, pw)
for i in range(int(sys.argv[4])):
    if i == 2:
        time.sleep(2.5)  # the nonce goes stale
    r = s.get(url + "/item/%d" % i)
    print(r.status_code, r.headers.get("Authentication-Info", "-") != "-", r.text, flush=True)
`
	run := func(user, pw string, n int) []string {
		out, err := exec.Command(py, "-c", script, app.URL, user, pw, fmt.Sprint(n)).CombinedOutput()
		if err != nil {
			t.Fatalf("python: %v\n%s", err, out)
		}
		return strings.Split(strings.TrimSpace(string(out)), "\n")
	}
	lines := run("alice", digestPW, 3)
	for i, l := range lines {
		if l != "200 True hello alice@PKI.TEST (digest) groups=Domain Users,web-admins" {
			t.Fatalf("request %d: %q\n%s", i, l, app.logs)
		}
	}
	var ncs, nonces []string
	for _, c := range app.credentials(t) {
		if c.Algorithm != digest.SHA256 {
			t.Fatalf("requests sent %+v", c)
		}
		ncs, nonces = append(ncs, c.NC), append(nonces, c.Nonce)
	}
	// 1: answers the challenge; 2: reuses the nonce; 3: the stale nonce
	// (refused with stale=true), then the new one.
	if strings.Join(ncs, " ") != "00000001 00000002 00000003 00000001" || nonces[0] != nonces[2] || nonces[2] == nonces[3] {
		t.Fatalf("counts %v nonces %v", ncs, nonces)
	}
	if !strings.Contains(app.logs.String(), "code=STALE_NONCE") {
		t.Fatalf("no stale nonce:\n%s", app.logs)
	}
	if lines := run("alice", "wrong password", 1); !strings.HasPrefix(lines[0], "401 False ") || !strings.Contains(lines[0], "unknown user or wrong password") {
		t.Fatalf("wrong password: %q", lines)
	}
}

// Warden's own client (httpauth.DigestTransport, what warden get uses)
// through the same server and AA: a UTF-8 name goes as username*, the
// rspauth the AA computed is checked, the nonce is reused.
func TestDigestTransportWithAA(t *testing.T) {
	aa := newDigestAA(t)
	app := aa.app(t, httpauth.DigestConfig{})
	c := &http.Client{Transport: &httpauth.DigestTransport{User: "jörg", Password: "jörg's password", RequireMutual: true}}
	for i := 0; i < 2; i++ {
		var res httpauth.Result
		req, _ := http.NewRequestWithContext(httpauth.WithResult(context.Background(), &res), "GET", app.URL+"/x", nil)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 || !res.Mutual {
			t.Fatalf("request %d: %d %+v\n%s", i, resp.StatusCode, res, app.logs)
		}
	}
	creds := app.credentials(t)
	if len(creds) != 2 || !creds[0].UsernameExt || creds[0].Username != "jörg" || creds[1].NC != "00000002" {
		t.Fatalf("sent %+v", creds)
	}
}

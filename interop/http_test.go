package interop

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	gokrb5client "github.com/jcmturner/gokrb5/v8/client"
	gokrb5config "github.com/jcmturner/gokrb5/v8/config"
	"github.com/jcmturner/gokrb5/v8/spnego"

	"github.com/warden-auth/warden/auth"
	"github.com/warden-auth/warden/cli"
	"github.com/warden-auth/warden/httpauth"
	"github.com/warden-auth/warden/internal/testkit"
	"github.com/warden-auth/warden/krb5/gss"
	"github.com/warden-auth/warden/krb5/keytab"
)

// HTTP Negotiate (RFC 4559) against real peers: curl and python
// requests-kerberos (MIT GSS-API underneath) through `warden proxy`,
// `warden get` against an MIT acceptor (python-gssapi), and gokrb5's
// SPNEGO client against the httpauth middleware. Tickets come from
// Warden's KDC (with a PAC); MIT's kinit gets them for the MIT clients.

const (
	httpHost     = "web.warden.test"
	httpSPN      = "HTTP/" + httpHost
	alicePW      = "correct horse battery"
	aliceAtRealm = "alice@" + wardenRealm
)

// httpApp is the application behind the proxy: it records the identity
// headers of the last request.
type httpApp struct {
	*httptest.Server
	mu   sync.Mutex
	user string
	all  http.Header
}

func newHTTPApp(t *testing.T) *httpApp {
	a := &httpApp{}
	a.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.mu.Lock()
		a.user, a.all = r.Header.Get("X-Forwarded-User"), r.Header.Clone()
		a.mu.Unlock()
		fmt.Fprintf(w, "hello %s", r.Header.Get("X-Forwarded-User"))
	}))
	t.Cleanup(a.Close)
	return a
}

func (a *httpApp) seen() (string, http.Header) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.user, a.all
}

// lockedBuf is a goroutine-safe log sink.
type lockedBuf struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startWardenProxy runs `warden proxy` in-process until the test ends and
// returns its port. The port is picked free and then bound by the proxy,
// so another process may take it in between: a start that fails with
// "address already in use" is retried on a new port.
func startWardenProxy(t *testing.T, args ...string) (port int, logs *lockedBuf) {
	t.Helper()
	for attempt := 0; ; attempt++ {
		port = testkit.FreePort(t)
		logs = &lockedBuf{}
		c, cancel := context.WithCancel(context.Background())
		done := make(chan int, 1)
		go func() {
			done <- cli.ExecuteContext(c, "interop", append([]string{"proxy", "--listen", fmt.Sprintf("127.0.0.1:%d", port)}, args...), io.Discard, logs)
		}()
		code, exited := waitListening(t, logs, done)
		if !exited {
			t.Cleanup(func() {
				cancel()
				if code := <-done; code != 0 {
					t.Errorf("warden proxy exited %d:\n%s", code, logs)
				}
			})
			return port, logs
		}
		cancel()
		if attempt == 5 || !strings.Contains(logs.String(), "address already in use") {
			t.Fatalf("warden proxy exited %d:\n%s", code, logs)
		}
	}
}

// waitListening waits until the proxy logs that it listens, or exits.
func waitListening(t *testing.T, logs *lockedBuf, done <-chan int) (code int, exited bool) {
	t.Helper()
	for i := 0; !strings.Contains(logs.String(), "proxy listening"); i++ {
		select {
		case code := <-done:
			return code, true
		default:
		}
		if i > 500 {
			t.Fatalf("warden proxy did not start:\n%s", logs)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return 0, false
}

// mitLogin is an MIT client environment with alice's TGT from Warden's
// KDC (MIT kinit).
func mitLogin(t *testing.T, kdcAddr string) *testkit.Client {
	t.Helper()
	c := testkit.NewClient(t, wardenRealm, kdcAddr, false)
	if out, err := c.Run(t, alicePW+"\n", "kinit", "alice@"+wardenRealm); err != nil {
		t.Fatalf("kinit: %v\n%s", err, out)
	}
	return c
}

// curl --negotiate -u : through warden proxy, with a ticket MIT kinit got
// from Warden's KDC, over HTTP and HTTPS: curl gets 200 and the
// application gets X-Forwarded-User alice@WARDEN.TEST (and not what curl
// claimed in its own X-Forwarded-User header).
func TestCurlNegotiateThroughWardenProxy(t *testing.T) {
	testkit.RequirePeer(t, "curl", "kinit")
	_, k, kt := wardenRealmWithKDC(t)
	mit := mitLogin(t, k.Addr)
	app := newHTTPApp(t)
	cert := testkit.NewTLSCert(t, httpHost)
	plain, logs := startWardenProxy(t, "--upstream", app.URL, "--keytab", kt, "--principal", httpSPN)
	secure, _ := startWardenProxy(t, "--upstream", app.URL, "--keytab", kt, "--tls-cert", cert.CertFile, "--tls-key", cert.KeyFile)

	for _, tc := range []struct {
		name string
		url  string
		port int
	}{
		{"http", fmt.Sprintf("http://%s:%d/app", httpHost, plain), plain},
		{"https", fmt.Sprintf("https://%s:%d/app", httpHost, secure), secure},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := mit.Run(t, "", "curl", "-sS", "--negotiate", "-u", ":", "--cacert", cert.CertFile,
				"--resolve", fmt.Sprintf("%s:%d:127.0.0.1", httpHost, tc.port),
				"-H", "X-Forwarded-User: mallory@"+wardenRealm, "-w", "\n%{http_code}", tc.url)
			if err != nil {
				t.Fatalf("curl: %v\n%s\nproxy log:\n%s", err, out, logs)
			}
			if want := "hello " + aliceAtRealm + "\n200"; out != want {
				t.Errorf("curl printed %q, want %q\nproxy log:\n%s", out, want, logs)
			}
			user, h := app.seen()
			if user != aliceAtRealm || len(h.Values("X-Forwarded-User")) != 1 || h.Get("X-Warden-User-Sid") == "" {
				t.Errorf("application saw X-Forwarded-User %q (%v), SID %q", user, h.Values("X-Forwarded-User"), h.Get("X-Warden-User-Sid"))
			}
		})
	}
	// curl without a ticket: 401 and the reason in the body.
	bare := testkit.NewClient(t, wardenRealm, k.Addr, false)
	out, _ := bare.Run(t, "", "curl", "-sS", "--negotiate", "-u", ":", "-w", "\n%{http_code}",
		"--resolve", fmt.Sprintf("%s:%d:127.0.0.1", httpHost, plain), fmt.Sprintf("http://%s:%d/", httpHost, plain))
	if !strings.HasSuffix(out, "\n401") || !strings.Contains(out, "authentication required") {
		t.Errorf("curl without a ticket: %q", out)
	}
}

const requestsKerberosScript = `
import sys, requests
from requests_kerberos import HTTPKerberosAuth, REQUIRED
from requests_kerberos.exceptions import MutualAuthenticationError
auth = HTTPKerberosAuth(mutual_authentication=REQUIRED, hostname_override=sys.argv[2])
try:
    r = requests.get(sys.argv[1], auth=auth)
except MutualAuthenticationError as e:
    print("MUTUAL-FAILED", e)
    sys.exit(3)
print(r.status_code)
print(r.text)
`

// python requests-kerberos with mutual_authentication=REQUIRED through
// warden proxy: it verifies the proxy's AP-REP (and refuses a response
// whose token was removed on the way, which shows the check is real).
func TestPythonRequestsKerberosMutual(t *testing.T) {
	testkit.RequirePeer(t, "kinit")
	py := testkit.PythonWith(t, "requests_kerberos")
	_, k, kt := wardenRealmWithKDC(t)
	mit := mitLogin(t, k.Addr)
	app := newHTTPApp(t)
	port, logs := startWardenProxy(t, "--upstream", app.URL, "--keytab", kt)

	out, err := mit.Run(t, "", py, "-c", requestsKerberosScript, fmt.Sprintf("http://127.0.0.1:%d/py", port), httpHost)
	if err != nil || out != "200\nhello "+aliceAtRealm+"\n" {
		t.Fatalf("requests-kerberos: %v\n%s\nproxy log:\n%s", err, out, logs)
	}
	if user, _ := app.seen(); user != aliceAtRealm {
		t.Errorf("application saw %q", user)
	}

	// A man in the middle that drops the proxy's mutual token from the
	// final response (keeping the 401 challenge).
	target, _ := url.Parse(fmt.Sprintf("http://127.0.0.1:%d", port))
	strip := httptest.NewServer(&httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) { pr.SetURL(target) },
		ModifyResponse: func(r *http.Response) error {
			if r.StatusCode == http.StatusOK {
				r.Header.Del("WWW-Authenticate")
			}
			return nil
		},
	})
	defer strip.Close()
	out, err = mit.Run(t, "", py, "-c", requestsKerberosScript, strip.URL+"/py", httpHost)
	if err == nil || !strings.Contains(out, "MUTUAL-FAILED") {
		t.Errorf("requests-kerberos accepted a response without the mutual token: %v\n%s", err, out)
	}
}

// mitAcceptorScript is an HTTP server whose Negotiate acceptor is MIT's
// GSS-API (python-gssapi, keytab from KRB5_KTNAME). With "notoken" it
// completes the context but does not return the mutual token.
const mitAcceptorScript = `
import base64, sys, gssapi, http.server
notoken = len(sys.argv) > 1 and sys.argv[1] == "notoken"
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        a = self.headers.get("Authorization", "")
        if not a.lower().startswith("negotiate "):
            self.send_response(401)
            self.send_header("WWW-Authenticate", "Negotiate")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        ctx = gssapi.SecurityContext(usage="accept")
        try:
            out = ctx.step(base64.b64decode(a.split(None, 1)[1]))
        except gssapi.exceptions.GSSError as e:
            body = ("refused: %s" % e).encode()
            self.send_response(401)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        body = ("hello %s complete=%s" % (ctx.initiator_name, ctx.complete)).encode()
        self.send_response(200)
        if out and not notoken:
            self.send_header("WWW-Authenticate", "Negotiate " + base64.b64encode(out).decode())
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
srv = http.server.HTTPServer(("127.0.0.1", 0), H)
print(srv.server_address[1], flush=True)
srv.serve_forever()
`

// startMITAcceptor runs the python-gssapi HTTP server until the test
// ends and returns its URL.
func startMITAcceptor(t *testing.T, py, kt string, env []string, args ...string) string {
	t.Helper()
	cmd := exec.Command(py, append([]string{"-c", mitAcceptorScript}, args...)...)
	cmd.Env = append(env, "KRB5_KTNAME=FILE:"+kt, "KRB5RCACHEDIR="+t.TempDir())
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr lockedBuf
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("python-gssapi server did not start: %v\n%s", err, stderr.String())
	}
	return "http://127.0.0.1:" + strings.TrimSpace(line)
}

// warden get against an MIT acceptor (python-gssapi): MIT accepts our
// SPNEGO token and ticket, and we verify MIT's AP-REP; an MIT server that
// withholds it makes warden get fail.
func TestWardenGetAgainstMITAcceptor(t *testing.T) {
	py := testkit.PythonWith(t, "gssapi")
	_, k, kt := wardenRealmWithKDC(t)
	env := testkit.NewClient(t, wardenRealm, k.Addr, false)
	t.Setenv("KRB5_CONFIG", env.Conf)
	t.Setenv("KRB5CCNAME", "FILE:"+env.CCache)
	pw := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(pw, []byte(alicePW+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	mustWardenCLI(t, "kinit", "--password-file", pw, "alice")

	srv := startMITAcceptor(t, py, kt, env.Env())
	code, out, errOut := wardenCLI(t, "get", srv+"/", "--spn", httpSPN, "-v")
	if code != 0 || out != "hello "+aliceAtRealm+" complete=True" ||
		!strings.Contains(errOut, "* authenticated as "+aliceAtRealm+" to "+httpSPN+"@"+wardenRealm+"; the server proved its identity (mutual authentication)") {
		t.Fatalf("warden get: exit %d\n%s\n%s", code, out, errOut)
	}

	silent := startMITAcceptor(t, py, kt, env.Env(), "notoken")
	code, out, errOut = wardenCLI(t, "get", silent+"/", "--spn", httpSPN)
	if code != 1 || out != "" || !strings.Contains(errOut, "warden: error: MUTUAL_FAILED: missing mutual token: the server answered 200 without proving it is "+httpSPN) {
		t.Errorf("server without mutual token: exit %d\n%s\n%s", code, out, errOut)
	}
}

// gokrb5's SPNEGO HTTP client, a Go peer with its own Kerberos and SPNEGO
// code, logs in to Warden's KDC and authenticates to the httpauth
// middleware.
func TestGokrb5SPNEGOClientAgainstMiddleware(t *testing.T) {
	_, k, ktPath := wardenRealmWithKDC(t)
	kt, err := keytab.Load(ktPath)
	if err != nil {
		t.Fatal(err)
	}
	acc, err := gss.NewAcceptor(gss.AcceptorConfig{Keytab: kt, Principal: httpSPN, RequirePAC: true})
	if err != nil {
		t.Fatal(err)
	}
	var logs lockedBuf
	a, err := httpauth.New(httpauth.Config{Acceptor: acc, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(a.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := auth.FromContext(r.Context())
		fmt.Fprintf(w, "hello %s sid=%s groups=%d", id.Principal(), id.SID, len(id.Groups))
	})))
	srv.Config.ConnContext = a.ConnContext
	srv.StartTLS()
	defer srv.Close()

	cfg, err := gokrb5config.NewFromString(fmt.Sprintf(`[libdefaults]
 default_realm = %[1]s
 dns_lookup_kdc = false
 default_tkt_enctypes = aes256-cts-hmac-sha1-96
 default_tgs_enctypes = aes256-cts-hmac-sha1-96
 permitted_enctypes = aes256-cts-hmac-sha1-96
[realms]
 %[1]s = {
  kdc = %[2]s
 }
`, wardenRealm, k.Addr))
	if err != nil {
		t.Fatal(err)
	}
	cl := gokrb5client.NewWithPassword("alice", wardenRealm, alicePW, cfg, gokrb5client.DisablePAFXFAST(true))
	if err := cl.Login(); err != nil {
		t.Fatalf("gokrb5 login to Warden's KDC: %v", err)
	}
	defer cl.Destroy()
	sc := spnego.NewClient(cl, srv.Client(), httpSPN)
	resp, err := sc.Get(srv.URL + "/")
	if err != nil {
		t.Fatalf("gokrb5 SPNEGO client: %v\n%s", err, logs.String())
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(string(body), "hello "+aliceAtRealm+" sid=S-1-5-21-") {
		t.Fatalf("status %d, body %q\n%s", resp.StatusCode, body, logs.String())
	}
}

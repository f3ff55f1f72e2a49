package cli

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/warden-auth/warden/admin"
	"github.com/warden-auth/warden/internal/testkit"
	"github.com/warden-auth/warden/krb5/kdc"
	"github.com/warden-auth/warden/store"
)

const httpSPN = "HTTP/web.cli.test"

// httpEnv is a realm with alice (in "developers") and HTTP/web.cli.test,
// a krb5.conf and cache in the environment, alice's TGT in the cache, and
// an application that echoes the identity headers it gets.
type httpEnv struct {
	dir, keytab, devSID string
	app                 *httptest.Server
}

func newHTTPEnv(t *testing.T) *httpEnv {
	t.Helper()
	r := testkit.NewRealm(t, cliRealm)
	g, err := r.Admin.AddGroup(t.Context(), "developers", "")
	if err != nil {
		t.Fatal(err)
	}
	r.AddUser(t, "alice", cliPassword, admin.UserOptions{Groups: []string{"developers"}})
	e := &httpEnv{dir: t.TempDir(), keytab: r.AddService(t, httpSPN, admin.ServiceOptions{}),
		devSID: store.SID(r.Admin.Realm().DomainSID, g.RID)}
	k := testkit.StartKDC(t, r, kdc.Config{}, kdc.ServeConfig{})
	conf := filepath.Join(e.dir, "krb5.conf")
	body := fmt.Sprintf("[libdefaults]\n default_realm = %s\n[realms]\n %s = {\n  kdc = %s\n }\n", cliRealm, cliRealm, k.Addr)
	if err := os.WriteFile(conf, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	pw := filepath.Join(e.dir, "pw")
	if err := os.WriteFile(pw, []byte(cliPassword+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("KRB5_CONFIG", conf)
	t.Setenv("KRB5CCNAME", "FILE:"+filepath.Join(e.dir, "ccache"))
	clientMustRun(t, "kinit", "--password-file", pw, "alice")
	e.app = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hello %s groups=%s forged=%q\n", r.Header.Get("X-Forwarded-User"), r.Header.Get("X-Forwarded-Groups"), r.Header.Get("X-Warden-Evil"))
	}))
	t.Cleanup(e.app.Close)
	return e
}

// startProxyCLI runs `warden proxy args...` in-process until the test
// ends and returns its address.
func startProxyCLI(t *testing.T, args ...string) (addr string, logs *syncBuf) {
	t.Helper()
	addr = fmt.Sprintf("127.0.0.1:%d", testkit.FreePort(t))
	logs = &syncBuf{}
	c, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() {
		done <- ExecuteContext(c, "test", append([]string{"proxy", "--listen", addr}, args...), io.Discard, logs)
	}()
	t.Cleanup(func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("warden proxy exited %d:\n%s", code, logs)
		}
	})
	for i := 0; ; i++ {
		if strings.Contains(logs.String(), "proxy listening") {
			return addr, logs
		}
		select {
		case code := <-done:
			t.Fatalf("warden proxy exited %d:\n%s", code, logs)
		default:
		}
		if i > 500 {
			t.Fatalf("warden proxy did not start:\n%s", logs)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// warden get through warden proxy: the body, the verbose account of the
// exchange, the ticket stored in the cache, and the 403 of a group rule.
func TestProxyAndGet(t *testing.T) {
	e := newHTTPEnv(t)
	addr, logs := startProxyCLI(t, "--upstream", e.app.URL, "--keytab", e.keytab, "--principal", httpSPN,
		"--require-group", "/dev="+e.devSID, "--require-group", "/admin=S-1-5-21-9-9-9-512", "--log-level", "debug")
	url := "http://" + addr

	code, out, errOut := clientRun(t, "get", url+"/dev/x", "--spn", httpSPN, "-v")
	if code != 0 {
		t.Fatalf("warden get: exit %d\n%s%s\nproxy:\n%s", code, out, errOut, logs)
	}
	if want := "hello alice@CLI.TEST groups="; !strings.HasPrefix(out, want) || !strings.Contains(out, e.devSID) {
		t.Errorf("body %q", out)
	}
	for _, want := range []string{"> GET " + url + "/dev/x", "< HTTP/1.1 200 OK",
		"* authenticated as alice@CLI.TEST to HTTP/web.cli.test@CLI.TEST; the server proved its identity (mutual authentication)"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("verbose output lacks %q:\n%s", want, errOut)
		}
	}
	if !strings.Contains(clientMustRun(t, "klist"), httpSPN+"@"+cliRealm) {
		t.Error("the service ticket was not stored in the cache")
	}
	if !strings.Contains(logs.String(), "principal=alice@CLI.TEST") {
		t.Errorf("debug log lacks the authenticated principal:\n%s", logs)
	}

	outFile := filepath.Join(e.dir, "body")
	clientMustRun(t, "get", url+"/", "--spn", httpSPN, "-o", outFile)
	if b, _ := os.ReadFile(outFile); !strings.HasPrefix(string(b), "hello alice@CLI.TEST") {
		t.Errorf("-o wrote %q", b)
	}

	code, _, errOut = clientRun(t, "get", url+"/admin/users", "--spn", httpSPN)
	if code != 1 || !strings.Contains(errOut, "warden: error: HTTP 403 Forbidden: alice@CLI.TEST is not a member of S-1-5-21-9-9-9-512, which /admin requires") {
		t.Errorf("group rule: exit %d\n%s", code, errOut)
	}

	// A service the KDC does not know: the KDC's reason and hint.
	code, _, errOut = clientRun(t, "get", url+"/", "--spn", "host/svc.cli.test")
	if code != 1 || !strings.Contains(errOut, "warden: error: NO_TICKET: getting a ticket for host/svc.cli.test@CLI.TEST: KDC_ERR_S_PRINCIPAL_UNKNOWN") ||
		!strings.Contains(errOut, "warden: hint: check the service name") {
		t.Errorf("unknown service: exit %d\n%s", code, errOut)
	}

	// Without credentials.
	t.Setenv("KRB5CCNAME", "FILE:"+filepath.Join(e.dir, "none"))
	code, _, errOut = clientRun(t, "get", url+"/", "--spn", httpSPN)
	if code != 1 || !strings.Contains(errOut, "warden: error: NO_TICKET: no usable credential cache") || !strings.Contains(errOut, "warden: hint: get a ticket first: kinit") {
		t.Errorf("no cache: exit %d\n%s", code, errOut)
	}
}

// A ticket the proxy refuses (its keytab does not match the KDC's keys):
// a second try with a fresh ticket, then an error quoting the proxy's
// reason.
func TestGetRefused(t *testing.T) {
	e := newHTTPEnv(t)
	other := testkit.NewTicketMint(t, cliRealm, httpSPN)
	stale := filepath.Join(e.dir, "stale.keytab")
	if err := other.Keytab.WriteFile(stale); err != nil {
		t.Fatal(err)
	}
	addr, _ := startProxyCLI(t, "--upstream", e.app.URL, "--keytab", stale)
	code, _, errOut := clientRun(t, "get", "http://"+addr+"/", "--spn", httpSPN, "-v")
	if code != 1 || !strings.Contains(errOut, "warden: error: HTTP 401 Unauthorized: ticket for HTTP/web.cli.test@CLI.TEST was encrypted with kvno 1 but the keytab holds kvno 2 — re-export the keytab") ||
		!strings.Contains(errOut, "warden: hint: the server refused the ticket") || !strings.Contains(errOut, "the first ticket was refused; a fresh one was fetched") {
		t.Errorf("exit %d\n%s", code, errOut)
	}
}

// HTTPS: warden get trusts the proxy's certificate with --cacert and binds
// its token to the TLS channel; the proxy can require that.
func TestProxyTLSAndGet(t *testing.T) {
	e := newHTTPEnv(t)
	cert := testkit.NewTLSCert(t, "web.cli.test")
	addr, _ := startProxyCLI(t, "--upstream", e.app.URL, "--keytab", e.keytab,
		"--tls-cert", cert.CertFile, "--tls-key", cert.KeyFile, "--require-channel-bindings")
	code, out, errOut := clientRun(t, "get", "https://"+addr+"/", "--spn", httpSPN, "--cacert", cert.CertFile, "-v")
	if code != 0 || !strings.HasPrefix(out, "hello alice@CLI.TEST") || !strings.Contains(errOut, "bound to the TLS channel") {
		t.Errorf("exit %d\n%s%s", code, out, errOut)
	}
	code, _, errOut = clientRun(t, "get", "https://"+addr+"/", "--spn", httpSPN)
	if code != 1 || !strings.Contains(errOut, "certificate") {
		t.Errorf("untrusted certificate: exit %d\n%s", code, errOut)
	}
}

// Flag mistakes are refused before anything starts, with hints.
func TestProxyFlagErrors(t *testing.T) {
	kt := testkit.NewTicketMint(t, cliRealm, httpSPN)
	ktPath := filepath.Join(t.TempDir(), "kt")
	if err := kt.Keytab.WriteFile(ktPath); err != nil {
		t.Fatal(err)
	}
	t.Setenv("KRB5_KTNAME", "")
	tc := testkit.NewTLSCert(t, "web.cli.test")
	tlsArgs := func(extra ...string) []string {
		return append([]string{"proxy", "--upstream", "http://x", "--auth", "tls", "--tls-cert", tc.CertFile, "--tls-key", tc.KeyFile}, extra...)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"proxy", "--keytab", ktPath}, "warden: error: --upstream is required"},
		{[]string{"proxy", "--upstream", "http://127.0.0.1:1"}, "warden: error: --keytab is required"},
		{[]string{"proxy", "--upstream", "ftp://x", "--keytab", ktPath}, "the upstream must be an http:// or https:// URL"},
		{[]string{"proxy", "--upstream", "http://x", "--keytab", ktPath, "--auth", "ntlm"}, "warden: error: --auth ntlm needs --aa, --aa-cert, --aa-key and --ca"},
		{[]string{"proxy", "--upstream", "http://x", "--auth", "ntlm", "--aa", "http://aa", "--aa-cert", "c", "--aa-key", "k", "--ca", "ca"}, "--aa \"http://aa\" is not an https:// URL"},
		{[]string{"get", "http://x/", "--auth", "ntlm"}, "--auth ntlm needs --user"},
		{[]string{"proxy", "--upstream", "http://x", "--keytab", ktPath, "--tls-cert", "c.pem"}, "--tls-cert and --tls-key go together"},
		{[]string{"proxy", "--upstream", "http://x", "--keytab", ktPath, "--require-channel-bindings"}, "--require-channel-bindings needs HTTPS"},
		{[]string{"proxy", "--upstream", "http://x", "--keytab", ktPath, "--require-group", "admin"}, `group rule "admin" is not PATH=GROUP`},
		{[]string{"proxy", "--upstream", "http://x", "--keytab", ktPath + ".none"}, "cannot read the keytab"},
		{[]string{"proxy", "--upstream", "http://x", "--keytab", ktPath, "--principal", "HTTP/other.cli.test"}, "the keytab has no keys for HTTP/other.cli.test"},
		{[]string{"proxy", "--upstream", "http://x", "--auth", "tls"}, "--auth tls needs HTTPS"},
		{tlsArgs(), "--auth tls needs the account DB to map certificates to accounts"},
		{tlsArgs("--cert-identity-only"), "--auth tls needs the realm CA"},
		{tlsArgs("--cert-identity-only", "--ca", tc.KeyFile), "holds no PEM certificate"},
		{tlsArgs("--cert-identity-only", "--ca", tc.CertFile, "--tls-verify-at", "later"), `--tls-verify-at "later"`},
		{[]string{"get", "ftp://x/"}, "not an http:// or https:// URL"},
		{[]string{"get", "http://x/", "--auth", "digest"}, "--auth digest needs --user"},
		{[]string{"proxy", "--upstream", "http://x", "--auth", "digest"}, "--auth digest needs --aa, --aa-cert, --aa-key and --ca"},
		{[]string{"proxy", "--upstream", "http://x", "--keytab", ktPath, "--auth", "negotiate,digest"}, "digest cannot be combined with other methods yet"},
		{[]string{"get", "http://x/", "--auth", "negotiate,tls"}, "choose one method"},
		{[]string{"get", "http://x/", "--auth", "tls"}, "--auth tls needs an https:// URL"},
		{[]string{"get", "https://x/", "--auth", "tls"}, "--auth tls needs --cert and --key"},
	} {
		code, _, errOut := clientRun(t, tc.args...)
		if code != 1 || !strings.Contains(errOut, tc.want) {
			t.Errorf("warden %s: exit %d\n%s\nwant %q", strings.Join(tc.args, " "), code, errOut, tc.want)
		}
	}
}

// The demo's HTTP and mutual TLS rows run the proxy and pass. Runs of
// spaces (the table's padding) compare as one.
func TestDemoHTTP(t *testing.T) {
	out := mustRun(t, "", "demo")
	squeeze := func(s string) string { return strings.Join(strings.Fields(s), " ") }
	for _, want := range []string{
		"Kerberos (HTTP Negotiate, mutual): client → warden proxy → app ok app saw X-Forwarded-User: alice@WARDEN.TEST",
		"replayed token (refused, reason told) ok 401: request is a replay",
		"Mutual TLS: client certificate → warden proxy (OCSP, mapping) → app ok app saw X-Forwarded-User: alice@WARDEN.TEST",
		"Mutual TLS: revoked client certificate (refused, reason told) ok 401 Unauthorized: CERT_REVOKED:",
	} {
		if !strings.Contains(squeeze(out), want) {
			t.Errorf("demo output lacks %q:\n%s", want, out)
		}
	}
}

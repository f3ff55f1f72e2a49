package proxy_test

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/warden-auth/warden/admin"
	"github.com/warden-auth/warden/httpauth"
	"github.com/warden-auth/warden/internal/testkit"
	"github.com/warden-auth/warden/krb5"
	"github.com/warden-auth/warden/krb5/client"
	"github.com/warden-auth/warden/krb5/gss"
	"github.com/warden-auth/warden/krb5/kdc"
	"github.com/warden-auth/warden/proxy"
	"github.com/warden-auth/warden/store"
)

const (
	realm = "WARDEN.TEST"
	spn   = "HTTP/web.warden.test"
)

// realmEnv is a Warden realm with a KDC, alice in "developers" (not in
// "ops"), the web service's keytab and alice's TGT.
type realmEnv struct {
	r              *testkit.Realm
	kc             *client.Client
	ktPath         string
	tgt            *client.Credentials
	devSID, opsSID string
}

func newRealmEnv(t testing.TB) *realmEnv {
	t.Helper()
	ctx := context.Background()
	e := &realmEnv{r: testkit.NewRealm(t, realm)}
	for _, g := range []string{"developers", "ops"} {
		grp, err := e.r.Admin.AddGroup(ctx, g, "")
		if err != nil {
			t.Fatal(err)
		}
		sid := store.SID(e.r.Admin.Realm().DomainSID, grp.RID)
		if g == "developers" {
			e.devSID = sid
		} else {
			e.opsSID = sid
		}
	}
	e.r.AddUser(t, "alice", "correct horse battery", admin.UserOptions{Groups: []string{"developers"}})
	e.ktPath = e.r.AddService(t, spn, admin.ServiceOptions{})
	k := testkit.StartKDC(t, e.r, kdc.Config{}, kdc.ServeConfig{})
	var err error
	if e.kc, err = client.New(client.Config{Realm: realm, KDCs: map[string][]string{realm: {k.Addr}}}); err != nil {
		t.Fatal(err)
	}
	if e.tgt, err = e.kc.ASExchange(ctx, krb5.NewPrincipalName(krb5.NameTypePrincipal, "alice"), client.Password("correct horse battery"), client.ASOptions{}); err != nil {
		t.Fatal(err)
	}
	return e
}

// source gets service tickets from the KDC, caching one until asked for
// a fresh one, as a ccache would.
func (e *realmEnv) source(t testing.TB) httpauth.CredentialSource {
	var mu sync.Mutex
	var cached *gss.Credential
	return httpauth.CredentialFunc(func(ctx context.Context, s string, fresh bool) (*gss.Credential, error) {
		mu.Lock()
		defer mu.Unlock()
		if cached != nil && !fresh {
			return cached, nil
		}
		name, _, err := client.ParsePrincipal(s, realm)
		if err != nil {
			return nil, err
		}
		creds, err := e.kc.TGSExchange(ctx, e.tgt, name, client.TGSOptions{Subkey: true})
		if err != nil {
			return nil, err
		}
		cc := creds.CCache()
		cached, err = gss.CredentialFromCCache(&cc)
		return cached, err
	})
}

// upstream records the headers of the last request it got.
type upstream struct {
	*httptest.Server
	mu   sync.Mutex
	last http.Header
	hits int
}

func newUpstream(t testing.TB) *upstream {
	u := &upstream{}
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.mu.Lock()
		u.last, u.hits = r.Header.Clone(), u.hits+1
		u.mu.Unlock()
		if r.URL.Path == "/negotiate-itself" {
			w.Header().Add("WWW-Authenticate", "Negotiate oRQwEqADCgEAoQsGCSqGSIb3EgECAg==")
			w.Header().Add("WWW-Authenticate", `Basic realm="app"`)
		}
		io.WriteString(w, "hello "+r.Header.Get("X-Forwarded-User")+" at "+r.URL.Path)
	}))
	t.Cleanup(u.Close)
	return u
}

func (u *upstream) seen() (http.Header, int) {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.last, u.hits
}

// running is a proxy served on 127.0.0.1.
type running struct {
	url     string
	watcher *proxy.KeytabWatcher
	log     *strings.Builder
	logMu   *sync.Mutex
}

type lockedWriter struct {
	mu *sync.Mutex
	b  *strings.Builder
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (r *running) logs() string {
	r.logMu.Lock()
	defer r.logMu.Unlock()
	return r.log.String()
}

func startProxy(t testing.TB, ktPath, upstreamURL string, tlsCert *testkit.TLSCert, rules ...proxy.Rule) *running {
	t.Helper()
	w, err := proxy.NewKeytabWatcher(ktPath, gss.AcceptorConfig{})
	if err != nil {
		t.Fatal(err)
	}
	rn := &running{watcher: w, log: &strings.Builder{}, logMu: &sync.Mutex{}}
	log := slog.New(slog.NewTextHandler(lockedWriter{rn.logMu, rn.log}, nil))
	acfg := httpauth.Config{Acceptor: w.Acceptor, Logger: log}
	var tlsCfg *tls.Config
	if tlsCert != nil {
		acfg.ServerCertificate = httpauth.StaticCertificate(tlsCert.Cert.Leaf)
		tlsCfg = &tls.Config{Certificates: []tls.Certificate{tlsCert.Cert}}
	}
	a, err := httpauth.New(acfg)
	if err != nil {
		t.Fatal(err)
	}
	up, _ := url.Parse(upstreamURL)
	p, err := proxy.New(proxy.Config{Upstream: up, Auth: a, Rules: rules, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Serve(ctx, ln, tlsCfg) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	scheme := "http"
	if tlsCert != nil {
		scheme = "https"
	}
	rn.url = scheme + "://" + ln.Addr().String()
	return rn
}

func negotiateClient(src httpauth.CredentialSource, base http.RoundTripper) *http.Client {
	if base == nil {
		base = &http.Transport{}
	}
	return &http.Client{Transport: &httpauth.Transport{Base: base, Credentials: src, ServicePrincipal: func(string) string { return spn }}}
}

func get(t *testing.T, c *http.Client, u string, hdr http.Header) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", u, nil)
	for k, v := range hdr {
		req.Header[k] = v
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(b)
}

// The identity reaches upstream, forged identity headers do not (in any
// spelling), the Kerberos token stays at the proxy, and the client
// verified the proxy's mutual token.
func TestProxyForwardsIdentity(t *testing.T) {
	e := newRealmEnv(t)
	up := newUpstream(t)
	p := startProxy(t, e.ktPath, up.URL, nil)
	forged := http.Header{
		"X-Forwarded-User":     {"mallory@WARDEN.TEST"},
		"x-forwarded-user":     {"mallory2@WARDEN.TEST"},
		"X_forwarded_user":     {"mallory3@WARDEN.TEST"},
		"X-Forwarded-Groups":   {"S-1-5-32-544"},
		"X-WARDEN-USER-SID":    {"S-1-5-21-1-2-3-500"},
		"X_Warden_Mutual":      {"true"},
		"X-Warden-Anything":    {"x"},
		"X-Forwarded-Username": {"kept: not one of ours"},
	}
	var res httpauth.Result
	c := negotiateClient(e.source(t), nil)
	req, _ := http.NewRequestWithContext(httpauth.WithResult(t.Context(), &res), "GET", p.url+"/app/page?q=1", nil)
	for k, v := range forged {
		req.Header[k] = v
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != "hello alice@WARDEN.TEST at /app/page" {
		t.Fatalf("status %d, body %q", resp.StatusCode, body)
	}
	if !res.Mutual || res.Attempts != 1 {
		t.Errorf("client result %+v", res)
	}
	h, _ := up.seen()
	var ours []string
	for k, v := range h {
		n := strings.ToLower(strings.ReplaceAll(k, "_", "-"))
		if n == "x-forwarded-user" || n == "x-forwarded-groups" || strings.HasPrefix(n, "x-warden-") {
			ours = append(ours, k+"="+strings.Join(v, "|"))
		}
	}
	aliceSID := h.Get("X-Warden-User-SID")
	want := map[string]string{
		"X-Forwarded-User":     "alice@WARDEN.TEST",
		"X-Warden-User":        "alice",
		"X-Warden-Realm":       "WARDEN.TEST",
		"X-Warden-Auth-Method": "kerberos",
		"X-Warden-Mutual":      "true",
	}
	for k, v := range want {
		if got := h.Values(k); len(got) != 1 || got[0] != v {
			t.Errorf("upstream %s = %q, want %q", k, got, v)
		}
	}
	if !strings.HasPrefix(aliceSID, e.r.Admin.Realm().DomainSID+"-") {
		t.Errorf("X-Warden-User-SID %q is not in the realm's domain %s", aliceSID, e.r.Admin.Realm().DomainSID)
	}
	if g := h.Get("X-Forwarded-Groups"); !strings.Contains(g, e.devSID) || strings.Contains(g, e.opsSID) || strings.Contains(g, "S-1-5-32-544") {
		t.Errorf("X-Forwarded-Groups %q, want developers %s and not ops", g, e.devSID)
	}
	if h.Get("X-Warden-Expires") == "" || h.Get("X-Forwarded-For") != "127.0.0.1" {
		t.Errorf("X-Warden-Expires %q, X-Forwarded-For %q", h.Get("X-Warden-Expires"), h.Get("X-Forwarded-For"))
	}
	if len(ours) != 9 {
		t.Errorf("upstream got these identity headers (forged ones must be gone):\n%s", strings.Join(ours, "\n"))
	}
	if h.Get("Authorization") != "" {
		t.Error("the Kerberos token was passed upstream")
	}
	if h.Get("X-Forwarded-Username") != "kept: not one of ours" {
		t.Error("an unrelated header was dropped")
	}
}

// Group rules: 403 with the reason outside the group, and no way around
// a rule through path tricks the upstream might normalize.
func TestProxyGroupRules(t *testing.T) {
	e := newRealmEnv(t)
	up := newUpstream(t)
	p := startProxy(t, e.ktPath, up.URL, nil,
		proxy.Rule{Path: "/dev", Group: e.devSID},
		proxy.Rule{Path: "/ops", Group: e.opsSID},
		proxy.Rule{Path: "/ops", Group: "S-1-5-21-9-9-9-512"},
		proxy.Rule{Path: "/dev/ops-only/", Group: e.opsSID})
	c := negotiateClient(e.source(t), nil)
	for _, tc := range []struct {
		path string
		code int
	}{
		{"/dev", 200},
		{"/dev/x", 200},
		{"/public", 200},
		{"/opsx", 200}, // not under /ops: prefixes match whole segments
		{"/ops", 403},
		{"/ops/", 403},
		{"/OPS/report", 403},
		{"/public/../ops/report", 403},
		{"/public/%2e%2e/ops", 403},
		{"//ops", 403},
		{"/ops;jsessionid=1/x", 403},
		{"/public%5c..%5cops", 403},
		{"/dev/ops-only", 403},
		{"/dev/ops-only/y", 403},
	} {
		resp, body := get(t, c, p.url+tc.path, nil)
		if resp.StatusCode != tc.code {
			t.Errorf("%s: %d %q, want %d", tc.path, resp.StatusCode, body, tc.code)
			continue
		}
		if tc.code == 403 && !strings.Contains(body, "alice@WARDEN.TEST is not a member of "+e.opsSID) {
			t.Errorf("%s: reason %q", tc.path, body)
		}
	}
	if !strings.Contains(p.logs(), "op=proxy.authorize code=FORBIDDEN") {
		t.Errorf("refusals not logged:\n%s", p.logs())
	}
	if _, err := proxy.ParseRule("/admin"); err == nil {
		t.Error("a rule without a group parsed")
	}
	if r, err := proxy.ParseRule(" /admin = S-1-5-21-1-2-3-4 "); err != nil || r.Path != "/admin" || r.Group != "S-1-5-21-1-2-3-4" {
		t.Errorf("ParseRule: %+v %v", r, err)
	}
}

// Refusals at the proxy never reach upstream.
func TestProxyRefusals(t *testing.T) {
	e := newRealmEnv(t)
	up := newUpstream(t)
	p := startProxy(t, e.ktPath, up.URL, nil)

	resp, body := get(t, http.DefaultClient, p.url+"/x", nil)
	if resp.StatusCode != 401 || resp.Header.Get("WWW-Authenticate") != "Negotiate" || !strings.Contains(body, "authentication required") {
		t.Errorf("no token: %d %q %q", resp.StatusCode, resp.Header.Values("WWW-Authenticate"), body)
	}
	resp, body = get(t, http.DefaultClient, p.url+"/x", http.Header{"Authorization": {"Negotiate AAAA"}})
	if resp.StatusCode != 401 || !strings.Contains(body, "401 Unauthorized: ") {
		t.Errorf("bad token: %d %q", resp.StatusCode, body)
	}
	// A token captured on the way and played again.
	cred, err := e.source(t).Credential(t.Context(), spn, false)
	if err != nil {
		t.Fatal(err)
	}
	_, tok, err := gss.NewSPNEGOInitiator(cred, gss.InitiatorConfig{})
	if err != nil {
		t.Fatal(err)
	}
	h := http.Header{"Authorization": {"Negotiate " + b64(tok)}}
	if resp, body := get(t, http.DefaultClient, p.url+"/x", h); resp.StatusCode != 200 {
		t.Fatalf("first use: %d %q", resp.StatusCode, body)
	}
	resp, body = get(t, http.DefaultClient, p.url+"/x", h)
	if resp.StatusCode != 401 || !strings.Contains(body, "request is a replay") {
		t.Errorf("replay: %d %q", resp.StatusCode, body)
	}
	if _, hits := up.seen(); hits != 1 {
		t.Errorf("upstream saw %d requests, want 1", hits)
	}
	if l := p.logs(); !strings.Contains(l, "code=KRB_AP_ERR_REPEAT") || strings.Contains(l, b64(tok)[:20]) {
		t.Errorf("log:\n%s", l)
	}
}

// The application's own Negotiate challenges do not reach the client
// (which would take them for the proxy's); its other challenges do.
// An upstream that is down is a 502 with a reason.
func TestProxyUpstreamResponses(t *testing.T) {
	e := newRealmEnv(t)
	up := newUpstream(t)
	p := startProxy(t, e.ktPath, up.URL, nil)
	c := negotiateClient(e.source(t), nil)
	resp, _ := get(t, c, p.url+"/negotiate-itself", nil)
	vals := resp.Header.Values("WWW-Authenticate")
	if resp.StatusCode != 200 || len(vals) != 2 || !strings.HasPrefix(vals[0], "Negotiate ") || vals[0] == "Negotiate oRQwEqADCgEAoQsGCSqGSIb3EgECAg==" || vals[1] != `Basic realm="app"` {
		t.Errorf("status %d, WWW-Authenticate %q", resp.StatusCode, vals)
	}

	down := startProxy(t, e.ktPath, "http://127.0.0.1:1", nil)
	resp, body := get(t, c, down.url+"/", nil)
	if resp.StatusCode != 502 || !strings.Contains(body, "did not answer") || !strings.Contains(down.logs(), "op=proxy.upstream code=BAD_GATEWAY") {
		t.Errorf("upstream down: %d %q\n%s", resp.StatusCode, body, down.logs())
	}
	if _, err := proxy.New(proxy.Config{Upstream: &url.URL{Scheme: "ftp", Host: "x"}}); err == nil {
		t.Error("an ftp upstream was accepted")
	}
}

// HTTPS: the client binds its token to the proxy's certificate.
func TestProxyTLS(t *testing.T) {
	e := newRealmEnv(t)
	up := newUpstream(t)
	cert := testkit.NewTLSCert(t, "web.warden.test")
	p := startProxy(t, e.ktPath, up.URL, cert)
	var res httpauth.Result
	c := negotiateClient(e.source(t), &http.Transport{TLSClientConfig: &tls.Config{RootCAs: cert.Pool()}})
	req, _ := http.NewRequestWithContext(httpauth.WithResult(t.Context(), &res), "GET", p.url+"/", nil)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || !res.ChannelBound || !res.Mutual {
		t.Errorf("status %d, result %+v", resp.StatusCode, res)
	}
}

// A key rotation: tickets with the new kvno are refused (with the reason
// naming both kvnos) until the keytab is re-exported, then accepted
// without a restart.
func TestProxyKeytabReload(t *testing.T) {
	e := newRealmEnv(t)
	up := newUpstream(t)
	p := startProxy(t, e.ktPath, up.URL, nil)
	ctx := t.Context()
	if _, err := e.r.Admin.Rekey(ctx, "HTTP-web", admin.KeyOptions{}); err != nil {
		t.Fatal(err)
	}
	// The KDC polls the store every 50ms in testkit; a fresh source
	// asks for a new ticket, which has kvno 2 once the KDC sees it.
	var resp *http.Response
	var body string
	for range 100 {
		resp, body = get(t, negotiateClient(e.source(t), nil), p.url+"/", nil)
		if strings.Contains(body, "kvno 2") {
			break
		}
	}
	if resp.StatusCode != 401 || !strings.Contains(body, "was encrypted with kvno 2 but the keytab holds kvno 1") {
		t.Fatalf("before re-export: %d %q", resp.StatusCode, body)
	}
	if changed, err := p.watcher.Check(); changed || err != nil {
		t.Fatalf("unchanged file: changed %v, %v", changed, err)
	}

	// A half-written file is reported and the old keys stay.
	if err := os.WriteFile(e.ktPath, []byte{0x05, 0x02, 0, 0}, 0o600); err != nil {
		t.Fatal(err)
	}
	if changed, err := p.watcher.Check(); changed || err == nil || !strings.Contains(err.Error(), "the old keys stay in use") {
		t.Fatalf("bad file: changed %v, %v", changed, err)
	}
	kt, _, err := e.r.Admin.Keytab(ctx, spn, false)
	if err != nil {
		t.Fatal(err)
	}
	if err := kt.WriteFile(e.ktPath); err != nil {
		t.Fatal(err)
	}
	if changed, err := p.watcher.Check(); !changed || err != nil {
		t.Fatalf("re-exported file: changed %v, %v", changed, err)
	}
	if k := p.watcher.Keys(); k != spn+"@"+realm+" kvno 2" {
		t.Errorf("keys %q", k)
	}
	if resp, body := get(t, negotiateClient(e.source(t), nil), p.url+"/", nil); resp.StatusCode != 200 {
		t.Errorf("after reload: %d %q", resp.StatusCode, body)
	}
}

// Run reloads on its own.
func TestKeytabWatcherRun(t *testing.T) {
	e := newRealmEnv(t)
	w, err := proxy.NewKeytabWatcher(e.ktPath, gss.AcceptorConfig{})
	if err != nil {
		t.Fatal(err)
	}
	var logs strings.Builder
	var mu sync.Mutex
	w.Interval = 10 * time.Millisecond
	w.Logger = slog.New(slog.NewTextHandler(lockedWriter{&mu, &logs}, nil))
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { defer close(done); w.Run(ctx) }()
	if _, err := e.r.Admin.Rekey(ctx, "HTTP-web", admin.KeyOptions{}); err != nil {
		t.Fatal(err)
	}
	kt, _, _ := e.r.Admin.Keytab(ctx, spn, true)
	if err := kt.WriteFile(e.ktPath); err != nil {
		t.Fatal(err)
	}
	for i := 0; ; i++ {
		mu.Lock()
		l := logs.String()
		mu.Unlock()
		if strings.Contains(l, "keytab reloaded") {
			if !strings.Contains(l, "kvno 1") || !strings.Contains(l, "kvno 2") {
				t.Errorf("log %q", l)
			}
			break
		}
		if i > 500 {
			t.Fatalf("no reload logged: %q", l)
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	<-done
	if _, err := proxy.NewKeytabWatcher(e.ktPath+".missing", gss.AcceptorConfig{}); err == nil {
		t.Error("a missing keytab loaded")
	}
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

package proxy_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"testing"

	"github.com/warden-auth/warden/admin"
	"github.com/warden-auth/warden/httpauth"
	"github.com/warden-auth/warden/internal/testkit"
	"github.com/warden-auth/warden/krb5/gss"
	"github.com/warden-auth/warden/passthrough"
	"github.com/warden-auth/warden/proxy"
)

// BenchmarkProxyNegotiate is a full Negotiate round trip through the
// proxy over loopback HTTP/1.1 keep-alive: the client makes a fresh
// SPNEGO token (a new authenticator on a ticket with a PAC), the proxy
// verifies it, forwards the request with the identity headers to an
// upstream, and the client verifies the proxy's AP-REP. The token is sent
// preemptively (one HTTP exchange per iteration).
func BenchmarkProxyNegotiate(b *testing.B) {
	m := testkit.NewTicketMint(b, realm, spn)
	ktPath := filepath.Join(b.TempDir(), "web.keytab")
	if err := m.Keytab.WriteFile(ktPath); err != nil {
		b.Fatal(err)
	}
	up := newUpstream(b)
	p := startProxy(b, ktPath, up.URL, nil)
	cred := m.Credential(b, "alice", testkit.MintOptions{PAC: true, GroupRIDs: []uint32{1105, 1106}})
	src := httpauth.CredentialFunc(func(context.Context, string, bool) (*gss.Credential, error) { return cred, nil })
	base := &http.Transport{MaxIdleConnsPerHost: 64}
	defer base.CloseIdleConnections()
	c := &http.Client{Transport: &httpauth.Transport{Base: base, Credentials: src, Preemptive: true,
		ServicePrincipal: func(string) string { return spn }}}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			resp, err := c.Get(p.url + "/")
			if err != nil {
				b.Error(err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				b.Errorf("status %d", resp.StatusCode)
				return
			}
		}
	})
}

// BenchmarkProxyNTLM is a full NTLM handshake through the proxy per
// iteration: NEGOTIATE, CHALLENGE and AUTHENTICATE over one loopback
// keep-alive connection, the proxy asking the AA over HTTPS to validate
// (the AA's handler, store and group expansion; the calling server is
// taken as WEB01$ instead of from its certificate), then the upstream.
func BenchmarkProxyNTLM(b *testing.B) {
	r := testkit.NewRealm(b, realm)
	ctx := context.Background()
	r.AddUser(b, "alice", "alice password", admin.UserOptions{})
	if _, err := r.Admin.AddComputer(ctx, "WEB01", admin.KeyOptions{}); err != nil {
		b.Fatal(err)
	}
	svc, err := passthrough.New(passthrough.Config{Store: r.Store})
	if err != nil {
		b.Fatal(err)
	}
	mux := http.NewServeMux()
	caller := func(*http.Request) (string, error) { return "WEB01$", nil }
	mux.Handle("POST "+passthrough.NTLMPath, passthrough.Handler(svc, caller, nil))
	mux.Handle("GET "+passthrough.InfoPath, passthrough.InfoHandler(svc, caller, nil))
	aa := httptest.NewTLSServer(mux)
	defer aa.Close()
	pc := &passthrough.Client{URL: aa.URL, HTTPClient: aa.Client()}
	aa.Client().Transport.(*http.Transport).MaxIdleConnsPerHost = 64
	info, err := pc.ServerInfo(ctx)
	if err != nil {
		b.Fatal(err)
	}
	a, err := httpauth.New(httpauth.Config{NTLM: &httpauth.NTLMConfig{Server: info.NTLMServer(), Validator: pc},
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	up := newUpstream(b)
	u, _ := url.Parse(up.URL)
	p, err := proxy.New(proxy.Config{Upstream: u, Auth: a, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	c, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- p.Serve(c, ln, nil) }()
	defer func() { cancel(); <-done }()
	base := &http.Transport{MaxIdleConnsPerHost: 64}
	defer base.CloseIdleConnections()
	cl := &http.Client{Transport: &httpauth.NTLMTransport{Base: base, User: "alice", Password: "alice password"}}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			resp, err := cl.Get("http://" + ln.Addr().String() + "/")
			if err != nil {
				b.Error(err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				b.Errorf("status %d", resp.StatusCode)
				return
			}
		}
	})
}

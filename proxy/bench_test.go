package proxy_test

import (
	"context"
	"io"
	"net/http"
	"path/filepath"
	"testing"

	"github.com/warden-auth/warden/httpauth"
	"github.com/warden-auth/warden/internal/testkit"
	"github.com/warden-auth/warden/krb5/gss"
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

package httpauth_test

import (
	"encoding/base64"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/warden-auth/warden/httpauth"
	"github.com/warden-auth/warden/internal/testkit"
	"github.com/warden-auth/warden/krb5/gss"
)

// tokenPool hands out distinct SPNEGO initial tokens (each a fresh
// authenticator, so the replay cache refuses none), made outside the
// timed region in batches. The ticket carries a signed PAC with a few
// groups, as a Warden KDC issues them, so verification includes
// decrypting the ticket and checking the PAC's server signature.
type tokenPool struct {
	b    *testing.B
	cred *gss.Credential
	toks [][]byte
	next atomic.Int64
}

func newTokenPool(b *testing.B, m *testkit.TicketMint, n int) *tokenPool {
	p := &tokenPool{b: b, cred: m.Credential(b, "alice", testkit.MintOptions{PAC: true, GroupRIDs: []uint32{1105, 1106, 1107}})}
	p.toks = make([][]byte, n)
	for i := range p.toks {
		_, tok, err := gss.NewSPNEGOInitiator(p.cred, gss.InitiatorConfig{})
		if err != nil {
			b.Fatal(err)
		}
		p.toks[i] = tok
	}
	return p
}

func (p *tokenPool) get() []byte { return p.toks[p.next.Add(1)-1] }

// BenchmarkAcceptSPNEGO measures AP-REQ verification as the middleware
// runs it: SPNEGO parse, ticket decryption with the service key,
// authenticator decryption, replay cache, PAC server signature, AP-REP
// with an acceptor subkey. Run with -cpu 1 for the per-core rate.
func BenchmarkAcceptSPNEGO(b *testing.B) {
	m := testkit.NewTicketMint(b, testRealm, testSPN)
	acc := m.Acceptor(b, gss.AcceptorConfig{})
	pool := newTokenPool(b, m, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		if _, done, err := acc.NewSPNEGO(gss.AcceptOptions{}).Step(pool.get()); err != nil || !done {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "verifications/s")
}

// BenchmarkAcceptSPNEGOParallel is the same on every core at once (one
// acceptor and replay cache shared, as in a server).
func BenchmarkAcceptSPNEGOParallel(b *testing.B) {
	m := testkit.NewTicketMint(b, testRealm, testSPN)
	acc := m.Acceptor(b, gss.AcceptorConfig{})
	pool := newTokenPool(b, m, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, done, err := acc.NewSPNEGO(gss.AcceptOptions{}).Step(pool.get()); err != nil || !done {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "verifications/s")
}

// BenchmarkMiddleware adds what the middleware does around it: header
// parsing and base64, the 200 with the mutual token, the identity in the
// context; no network.
func BenchmarkMiddleware(b *testing.B) {
	m := testkit.NewTicketMint(b, testRealm, testSPN)
	a, err := httpauth.New(httpauth.Config{Acceptor: m.Acceptor(b, gss.AcceptorConfig{}), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	h := a.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	pool := newTokenPool(b, m, b.N)
	headers := make([]string, b.N)
	for i := range headers {
		headers[i] = "Negotiate " + base64.StdEncoding.EncodeToString(pool.get())
	}
	req := httptest.NewRequest("GET", "/", nil)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		req.Header.Set("Authorization", headers[i])
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != 200 {
			b.Fatalf("status %d: %s", w.Code, w.Body)
		}
	}
}

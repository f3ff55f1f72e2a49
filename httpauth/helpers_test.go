package httpauth_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/warden-auth/warden/auth"
	"github.com/warden-auth/warden/httpauth"
	"github.com/warden-auth/warden/internal/testkit"
	"github.com/warden-auth/warden/krb5/gss"
)

const (
	testRealm = "WARDEN.TEST"
	testSPN   = "HTTP/web.warden.test"
)

// logBuffer collects JSON log lines from concurrent handlers.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// records returns the log lines at level WARN and above, decoded.
func (l *logBuffer) failures(t *testing.T) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(l.String()), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if m["level"] == "WARN" || m["level"] == "ERROR" {
			out = append(out, m)
		}
	}
	return out
}

// env is a Negotiate-protected test server with an echoing handler.
type env struct {
	mint *testkit.TicketMint
	acc  *gss.Acceptor
	auth *httpauth.Authenticator
	srv  *httptest.Server
	log  *logBuffer
	h    atomic.Pointer[http.Handler]
}

// setHandler replaces what the server runs (by default the middleware
// around whoami).
func (e *env) setHandler(h http.Handler) { e.h.Store(&h) }

type envOptions struct {
	tls         bool
	requireCB   bool
	noConnState bool
	noCert      bool
	names       httpauth.NameResolver
}

// whoami answers with what the middleware put in the context.
var whoami = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	id := auth.FromContext(r.Context())
	if id == nil {
		http.Error(w, "no identity", http.StatusInternalServerError)
		return
	}
	var groups []string
	for _, g := range id.Groups {
		groups = append(groups, g.SID)
	}
	fmt.Fprintf(w, "%s method=%s mutual=%v sid=%s groups=%s", id.Principal(), id.Method, id.Mutual, id.SID, strings.Join(groups, ","))
})

func newEnv(t *testing.T, o envOptions) *env {
	t.Helper()
	e := &env{mint: testkit.NewTicketMint(t, testRealm, testSPN), log: &logBuffer{}}
	e.acc = e.mint.Acceptor(t, gss.AcceptorConfig{})
	e.srv = httptest.NewUnstartedServer(nil)
	cfg := httpauth.Config{Acceptor: e.acc, RequireChannelBindings: o.requireCB, Names: o.names,
		Logger: slog.New(slog.NewJSONHandler(e.log, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	var cert *testkit.TLSCert
	if o.tls {
		cert = testkit.NewTLSCert(t, "web.warden.test")
		e.srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert.Cert}}
		if !o.noCert {
			cfg.ServerCertificate = httpauth.StaticCertificate(cert.Cert.Leaf)
		}
	}
	a, err := httpauth.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	e.auth = a
	e.setHandler(a.Middleware(whoami))
	e.srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { (*e.h.Load()).ServeHTTP(w, r) })
	if !o.noConnState {
		e.srv.Config.ConnContext = a.ConnContext
	}
	if o.tls {
		e.srv.StartTLS()
	} else {
		e.srv.Start()
	}
	t.Cleanup(e.srv.Close)
	return e
}

// source hands out tickets from the mint, counting the calls.
func (e *env) source(t *testing.T, o testkit.MintOptions) (httpauth.CredentialSource, *[]bool) {
	var mu sync.Mutex
	var calls []bool
	return httpauth.CredentialFunc(func(_ context.Context, spn string, fresh bool) (*gss.Credential, error) {
		mu.Lock()
		calls = append(calls, fresh)
		mu.Unlock()
		if spn != testSPN {
			return nil, fmt.Errorf("asked for %q", spn)
		}
		return e.mint.Credential(t, "alice", o), nil
	}), &calls
}

// client returns an http.Client doing Negotiate against the env's server,
// whatever host the URL names.
func (e *env) client(tr *httpauth.Transport) *http.Client {
	if tr.Base == nil {
		tr.Base = e.srv.Client().Transport
	}
	if tr.ServicePrincipal == nil {
		tr.ServicePrincipal = func(string) string { return testSPN }
	}
	return &http.Client{Transport: tr}
}

// token returns a fresh SPNEGO initial token for alice.
func (e *env) token(t *testing.T, cfg gss.InitiatorConfig) []byte {
	t.Helper()
	_, tok, err := gss.NewSPNEGOInitiator(e.mint.Credential(t, "alice", testkit.MintOptions{}), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// get sends a GET with the given Authorization header values.
func (e *env) get(t *testing.T, authz ...string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", e.srv.URL+"/x", nil)
	for _, v := range authz {
		req.Header.Add("Authorization", v)
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(b)
}

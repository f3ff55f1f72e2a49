package httpauth_test

import (
	"context"
	"encoding/base64"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/warden-auth/warden/admin"
	"github.com/warden-auth/warden/httpauth"
	"github.com/warden-auth/warden/internal/testkit"
	"github.com/warden-auth/warden/krb5"
	"github.com/warden-auth/warden/krb5/ccache"
	"github.com/warden-auth/warden/krb5/client"
	"github.com/warden-auth/warden/krb5/gss"
	"github.com/warden-auth/warden/krb5/kdc"
	"github.com/warden-auth/warden/krb5/keytab"
)

// A refused ticket (the service's keys changed since it was issued) is
// replaced once with a fresh one.
func TestTransportRetriesWithFreshTicket(t *testing.T) {
	e := newEnv(t, envOptions{})
	stale := testkit.NewTicketMint(t, testRealm, testSPN)
	var calls []bool
	src := httpauth.CredentialFunc(func(_ context.Context, _ string, fresh bool) (*gss.Credential, error) {
		calls = append(calls, fresh)
		if fresh {
			return e.mint.Credential(t, "alice", testkit.MintOptions{}), nil
		}
		return stale.Credential(t, "alice", testkit.MintOptions{}), nil
	})
	var res httpauth.Result
	req, _ := http.NewRequestWithContext(httpauth.WithResult(t.Context(), &res), "GET", e.srv.URL, nil)
	resp, err := e.client(&httpauth.Transport{Credentials: src}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || res.Attempts != 2 || !res.Mutual || len(calls) != 2 || calls[0] || !calls[1] {
		t.Fatalf("status %d, result %+v, calls %v", resp.StatusCode, res, calls)
	}

	// Refused twice: the 401 is returned with the server's reason, decoded
	// from its KRB-ERROR, and no third try.
	calls = nil
	src = func(_ context.Context, _ string, fresh bool) (*gss.Credential, error) {
		calls = append(calls, fresh)
		return stale.Credential(t, "alice", testkit.MintOptions{}), nil
	}
	res = httpauth.Result{}
	req, _ = http.NewRequestWithContext(httpauth.WithResult(t.Context(), &res), "GET", e.srv.URL, nil)
	resp, err = e.client(&httpauth.Transport{Credentials: src}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 401 || res.Attempts != 2 || len(calls) != 2 || res.Authenticated {
		t.Fatalf("status %d, result %+v, calls %v", resp.StatusCode, res, calls)
	}
	if res.Refusal == nil || !strings.Contains(res.Refusal.Error(), "does not decrypt with the keytab's kvno 2") || !strings.Contains(string(body), "does not decrypt") {
		t.Errorf("refusal %v, body %q", res.Refusal, body)
	}
}

// The response must prove the server: a missing or altered mutual token
// is an error, never a response.
func TestTransportVerifiesMutualToken(t *testing.T) {
	for _, tc := range []struct {
		name   string
		tamper func(h http.Header)
		want   string
	}{
		{"missing", func(h http.Header) { h.Del("WWW-Authenticate") }, "missing mutual token: the server answered 200 without proving it is " + testSPN},
		{"altered", func(h http.Header) {
			_, tok, _ := httpauth.NegotiateChallenge(h)
			tok[len(tok)-3] ^= 1 // inside the AP-REP's encrypted part
			h.Set("WWW-Authenticate", "Negotiate "+base64.StdEncoding.EncodeToString(tok))
		}, "the server's mutual-authentication token does not verify"},
		{"not base64", func(h http.Header) { h.Set("WWW-Authenticate", "Negotiate ***") }, "cannot verify the server"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, envOptions{})
			e.setHandler(e.auth.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				tc.tamper(w.Header())
				io.WriteString(w, "secret data")
			})))
			src, _ := e.source(t, testkit.MintOptions{})
			resp, err := e.client(&httpauth.Transport{Credentials: src}).Get(e.srv.URL)
			if err == nil {
				resp.Body.Close()
				t.Fatalf("got a response (%d) from an unproven server", resp.StatusCode)
			}
			if !errors.Is(err, &httpauth.Error{Code: httpauth.MutualFailed}) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want %q", err, tc.want)
			}
		})
	}
}

// Without mutual authentication requested, no proof is needed.
func TestTransportWithoutMutual(t *testing.T) {
	e := newEnv(t, envOptions{})
	src, _ := e.source(t, testkit.MintOptions{})
	var res httpauth.Result
	req, _ := http.NewRequestWithContext(httpauth.WithResult(t.Context(), &res), "GET", e.srv.URL, nil)
	resp, err := e.client(&httpauth.Transport{Credentials: src, Flags: gss.FlagInteg | gss.FlagConf}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || res.Mutual || !res.Authenticated || !strings.Contains(string(body), "mutual=false") {
		t.Errorf("status %d, result %+v, body %q", resp.StatusCode, res, body)
	}
}

// Bodies: a replayable body is sent again after the 401; one that cannot
// be replayed goes with the token on the first request.
func TestTransportBodies(t *testing.T) {
	e := newEnv(t, envOptions{})
	var hits atomic.Int32
	e.setHandler(countRequests(&hits, e.auth.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(w, r.Body)
	}))))
	src, _ := e.source(t, testkit.MintOptions{})
	c := e.client(&httpauth.Transport{Credentials: src})

	resp, err := c.Post(e.srv.URL, "text/plain", strings.NewReader("replayable body"))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(b) != "replayable body" || hits.Load() != 2 {
		t.Errorf("replayable: %d %q after %d requests", resp.StatusCode, b, hits.Load())
	}

	hits.Store(0)
	resp, err = c.Post(e.srv.URL, "text/plain", io.NopCloser(strings.NewReader("one-shot body")))
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(b) != "one-shot body" || hits.Load() != 1 {
		t.Errorf("one-shot: %d %q after %d requests", resp.StatusCode, b, hits.Load())
	}

	hits.Store(0)
	c = e.client(&httpauth.Transport{Credentials: src, Preemptive: true})
	resp, err = c.Get(e.srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || hits.Load() != 1 {
		t.Errorf("preemptive: %d after %d requests", resp.StatusCode, hits.Load())
	}
}

func countRequests(n *atomic.Int32, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		h.ServeHTTP(w, r)
	})
}

// A server that does not ask for Negotiate is answered as is.
func TestTransportNoChallenge(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "" {
			t.Error("sent a token unasked")
		}
		w.Header().Set("WWW-Authenticate", `Basic realm="x"`)
		w.WriteHeader(401)
	}))
	defer srv.Close()
	src := httpauth.CredentialFunc(func(context.Context, string, bool) (*gss.Credential, error) {
		t.Error("asked for a ticket unasked")
		return nil, errors.New("no")
	})
	resp, err := (&http.Client{Transport: &httpauth.Transport{Credentials: src}}).Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Errorf("status %d", resp.StatusCode)
	}
	if _, err := (&httpauth.Transport{}).RoundTrip(httptest.NewRequest("GET", srv.URL, nil)); err == nil {
		t.Error("a Transport without Credentials worked")
	}
}

// The ccache source against a real KDC: the first request gets the
// service ticket with the cache's TGT and stores it, the next one uses
// it from the cache; without a TGT the error says what to do.
func TestCCacheSource(t *testing.T) {
	r := testkit.NewRealm(t, testRealm)
	r.AddUser(t, "alice", "correct horse battery", admin.UserOptions{})
	ktPath := r.AddService(t, testSPN, admin.ServiceOptions{})
	k := testkit.StartKDC(t, r, kdc.Config{}, kdc.ServeConfig{})
	kc, err := client.New(client.Config{Realm: testRealm, KDCs: map[string][]string{testRealm: {k.Addr}}})
	if err != nil {
		t.Fatal(err)
	}
	tgt, err := kc.ASExchange(t.Context(), krb5.NewPrincipalName(krb5.NameTypePrincipal, "alice"), client.Password("correct horse battery"), client.ASOptions{})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "ccache")
	cache := &ccache.Cache{Version: 0x0504, DefaultPrincipal: tgt.Client, Credentials: []ccache.Credential{tgt.CCache()}}
	if err := cache.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	kt, err := keytab.Load(ktPath)
	if err != nil {
		t.Fatal(err)
	}
	acc, err := gss.NewAcceptor(gss.AcceptorConfig{Keytab: kt})
	if err != nil {
		t.Fatal(err)
	}
	a, err := httpauth.New(httpauth.Config{Acceptor: acc, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(a.Middleware(whoami))
	defer srv.Close()
	spn := func(string) string { return testSPN }

	src := &httpauth.CCache{Path: path, Client: kc}
	c := &http.Client{Transport: &httpauth.Transport{Credentials: src, ServicePrincipal: spn}}
	for i := range 2 {
		resp, err := c.Get(srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.HasPrefix(string(b), "alice@WARDEN.TEST method=kerberos mutual=true") {
			t.Fatalf("request %d: %d %q", i, resp.StatusCode, b)
		}
		after, err := ccache.Load(path)
		if err != nil {
			t.Fatal(err)
		}
		if len(after.Credentials) != 2 || after.Credentials[1].Server.String() != testSPN+"@"+testRealm {
			t.Fatalf("cache after request %d holds %d credentials", i, len(after.Credentials))
		}
	}
	// Cached ticket only (no KDC): still works.
	c = &http.Client{Transport: &httpauth.Transport{Credentials: &httpauth.CCache{Path: path}, ServicePrincipal: spn}}
	resp, err := c.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("cached ticket: %d", resp.StatusCode)
	}

	for _, tc := range []struct {
		name  string
		src   *httpauth.CCache
		spn   string
		want  string
		wantH string
	}{
		{"no cache", &httpauth.CCache{Path: filepath.Join(t.TempDir(), "none"), Client: kc}, testSPN, "no usable credential cache", "kinit"},
		{"no KDC", &httpauth.CCache{Path: path}, "HTTP/other.warden.test", "no KDC is configured", "KRB5_CONFIG"},
		{"unknown service", &httpauth.CCache{Path: path, Client: kc}, "HTTP/other.warden.test", "getting a ticket for HTTP/other.warden.test@WARDEN.TEST: KDC_ERR_S_PRINCIPAL_UNKNOWN", "check the service name"},
		{"other realm", &httpauth.CCache{Path: path, Client: kc}, "HTTP/x@OTHER.TEST", "in another realm", "cross-realm"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &http.Client{Transport: &httpauth.Transport{Credentials: tc.src, ServicePrincipal: func(string) string { return tc.spn }}}
			resp, err := c.Get(srv.URL)
			if err == nil {
				resp.Body.Close()
				t.Fatal("no error")
			}
			var e *httpauth.Error
			if !errors.As(err, &e) || e.Code != httpauth.NoTicket || !strings.Contains(err.Error(), tc.want) || !strings.Contains(e.ErrorHint(), tc.wantH) {
				t.Errorf("error %v (hint %q); want %q, hint %q", err, e.ErrorHint(), tc.want, tc.wantH)
			}
		})
	}
}

// An application that answers 401 itself after the middleware accepted
// the ticket: the Transport returns it without a pointless second ticket.
func TestTransportApplication401(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.setHandler(e.auth.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "not for you", http.StatusUnauthorized)
	})))
	src, calls := e.source(t, testkit.MintOptions{})
	var res httpauth.Result
	req, _ := http.NewRequestWithContext(httpauth.WithResult(t.Context(), &res), "GET", e.srv.URL, nil)
	resp, err := e.client(&httpauth.Transport{Credentials: src}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 || !res.Authenticated || !res.Mutual || res.Attempts != 1 || len(*calls) != 1 {
		t.Errorf("status %d, result %+v, calls %v", resp.StatusCode, res, *calls)
	}
}

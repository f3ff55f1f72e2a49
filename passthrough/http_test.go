package passthrough

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/warden-auth/warden/ntlm"
	"github.com/warden-auth/warden/pki"
)

// aaServer serves the validation endpoint over TLS with client
// certificates from a realm CA, as warden serve does.
func aaServer(t *testing.T, e *env) (*httptest.Server, *pki.Authority) {
	t.Helper()
	ctx := context.Background()
	if _, _, err := pki.EnsureCA(ctx, e.r.Store, pki.CAOptions{Realm: realmName}); err != nil {
		t.Fatal(err)
	}
	a, err := pki.New(ctx, pki.Config{Store: e.r.Store})
	if err != nil {
		t.Fatal(err)
	}
	v, err := pki.NewVerifier(pki.VerifierConfig{Roots: []*x509.Certificate{a.CA()}, Revocation: a})
	if err != nil {
		t.Fatal(err)
	}
	m, err := pki.NewMapper(ctx, pki.MapperConfig{Store: e.r.Store})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("POST "+NTLMPath, Handler(e.svc, CertCaller(v, m), nil))
	mux.Handle("POST "+NamesPath, NamesHandler(e.svc, CertCaller(v, m), nil))
	srv := httptest.NewUnstartedServer(mux)
	srv.TLS = &tls.Config{ClientAuth: tls.RequestClientCert}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv, a
}

// clientAs returns a passthrough client presenting a certificate of
// account (or none when account is "").
func clientAs(t *testing.T, srv *httptest.Server, a *pki.Authority, account string) *Client {
	t.Helper()
	hc := srv.Client()
	if account != "" {
		iss, err := a.IssueAccount(context.Background(), account, pki.IssueRequest{})
		if err != nil {
			t.Fatal(err)
		}
		tr := hc.Transport.(*http.Transport).Clone()
		tr.TLSClientConfig.Certificates = []tls.Certificate{{Certificate: [][]byte{iss.Cert.Raw}, PrivateKey: iss.Key, Leaf: iss.Cert}}
		hc = &http.Client{Transport: tr}
	}
	return &Client{URL: srv.URL, HTTPClient: hc}
}

func TestHTTPValidateNTLM(t *testing.T) {
	e := newEnv(t)
	srv, a := aaServer(t, e)
	ctx := context.Background()
	web := clientAs(t, srv, a, "WEB01$")

	sctx, v := e.answer(t, "alice", "alice password", "WEB01")
	res, err := web.ValidateNTLM(ctx, v)
	if err != nil {
		t.Fatal(err)
	}
	if res.Identity.Principal() != "alice@"+realmName || !res.Identity.InGroup("staff") {
		t.Fatalf("identity %+v", res.Identity)
	}
	if _, err := sctx.Finish(res.SessionBaseKey, nil, false); err != nil {
		t.Fatal(err)
	}

	// Unknown user and wrong password look the same to the server.
	_, v1 := e.answer(t, "alice", "wrong", "WEB01")
	_, v2 := e.answer(t, "nobody", "x", "WEB01")
	_, err1 := web.ValidateNTLM(ctx, v1)
	_, err2 := web.ValidateNTLM(ctx, v2)
	if err1 == nil || err2 == nil || err1.Error() != err2.Error() || !errors.Is(err1, &ntlm.Error{Status: ntlm.StatusLogonFailure}) {
		t.Fatalf("distinguishable refusals:\n%v\n%v", err1, err2)
	}

	// Only computer accounts with a certificate may ask.
	for _, who := range []string{"", "alice"} {
		_, v := e.answer(t, "alice", "alice password", "WEB01")
		_, err := clientAs(t, srv, a, who).ValidateNTLM(ctx, v)
		if !errors.Is(err, &ntlm.Error{Status: ntlm.StatusAccountRestriction}) {
			t.Fatalf("caller %q: %v", who, err)
		}
		if who == "" && !strings.Contains(err.Error(), "no client certificate") {
			t.Fatalf("reason: %v", err)
		}
	}
}

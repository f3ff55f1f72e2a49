package server

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/warden-auth/warden/admin"
	"github.com/warden-auth/warden/ntlm"
	"github.com/warden-auth/warden/passthrough"
	"github.com/warden-auth/warden/pki"
)

// The HTTPS listener validates NTLM answers for a server that presents
// its computer certificate, and refuses one that presents none.
func TestPassthroughEndpoint(t *testing.T) {
	cfg := newRealmDir(t)
	s, _ := startServer(t, cfg)
	ctx := context.Background()
	ad, err := admin.New(ctx, admin.Config{Store: s.Store()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ad.AddUser(ctx, "carol", "carol's password", admin.UserOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := ad.AddComputer(ctx, "WEB01", admin.KeyOptions{}); err != nil {
		t.Fatal(err)
	}
	iss, err := s.PKI().IssueAccount(ctx, "WEB01$", pki.IssueRequest{})
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(s.PKI().CA())
	mk := func(certs []tls.Certificate) *passthrough.Client {
		return &passthrough.Client{URL: "https://" + s.HTTPSAddr(), HTTPClient: &http.Client{Timeout: 5 * time.Second,
			Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: "localhost", Certificates: certs}}}}
	}
	realm := s.PKI().Realm()
	answer := func() (*ntlm.ServerContext, *ntlm.Validation) {
		c := &ntlm.Client{User: "carol", Password: "carol's password"}
		sctx, ch, err := ntlm.NewChallenge(ntlm.ServerConfig{NetBIOSDomain: realm.NetBIOS, NetBIOSComputer: "WEB01"}, c.Negotiate())
		if err != nil {
			t.Fatal(err)
		}
		am, _, err := c.Authenticate(ch)
		if err != nil {
			t.Fatal(err)
		}
		v, err := sctx.Authenticate(am)
		if err != nil {
			t.Fatal(err)
		}
		return sctx, v
	}
	sctx, v := answer()
	res, err := mk([]tls.Certificate{{Certificate: [][]byte{iss.Cert.Raw}, PrivateKey: iss.Key}}).ValidateNTLM(ctx, v)
	if err != nil {
		t.Fatal(err)
	}
	if res.Identity.User != "carol" {
		t.Fatalf("identity %+v", res.Identity)
	}
	if _, err := sctx.Finish(res.SessionBaseKey, nil, false); err != nil {
		t.Fatal(err)
	}
	_, v = answer()
	if _, err := mk(nil).ValidateNTLM(ctx, v); !errors.Is(err, &ntlm.Error{Status: ntlm.StatusAccountRestriction}) {
		t.Fatalf("without a certificate: %v", err)
	}
}

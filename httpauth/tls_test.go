package httpauth_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/warden-auth/warden/admin"
	"github.com/warden-auth/warden/auth"
	"github.com/warden-auth/warden/httpauth"
	"github.com/warden-auth/warden/internal/testkit"
	"github.com/warden-auth/warden/krb5/gss"
	"github.com/warden-auth/warden/pki"
	"github.com/warden-auth/warden/store"
)

// tlsRealm is a realm with its CA (valid since three years ago, so that
// certificates that expired long ago still chain to it), an OCSP and CRL
// responder on 127.0.0.1, and a relying-party Verifier using them.
type tlsRealm struct {
	realm    *testkit.Realm
	ca       *pki.Authority
	past     *pki.Authority // the same CA with a clock two years back
	verifier *pki.Verifier
	mapper   *pki.Mapper
	ocspUp   atomic.Bool
	ocspHits atomic.Int32
	server   tls.Certificate // localhost, serverAuth
}

func newTLSRealm(t testing.TB) *tlsRealm {
	t.Helper()
	r := testkit.NewRealm(t, testRealm)
	ctx := context.Background()
	start := time.Now().Add(-3 * 365 * 24 * time.Hour)
	if _, err := pki.CreateCA(ctx, r.Store, pki.CAOptions{Realm: r.Name, Time: func() time.Time { return start }}); err != nil {
		t.Fatal(err)
	}
	ca, err := pki.New(ctx, pki.Config{Store: r.Store})
	if err != nil {
		t.Fatal(err)
	}
	past, err := pki.New(ctx, pki.Config{Store: r.Store, Time: func() time.Time { return time.Now().Add(-2 * 365 * 24 * time.Hour) }})
	if err != nil {
		t.Fatal(err)
	}
	tr := &tlsRealm{realm: r, ca: ca, past: past}
	tr.ocspUp.Store(true)
	resp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, q *http.Request) {
		if !tr.ocspUp.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		switch q.URL.Path {
		case "/pki/ocsp":
			tr.ocspHits.Add(1)
			body, _ := io.ReadAll(q.Body)
			der, _, _ := ca.RespondOCSP(q.Context(), body)
			w.Write(der)
		case "/pki/crl":
			der, _ := ca.CRL(q.Context())
			w.Write(der)
		default:
			http.NotFound(w, q)
		}
	}))
	t.Cleanup(resp.Close)
	rc := pki.NewRemoteChecker(pki.RemoteConfig{OCSPURL: resp.URL + "/pki/ocsp", CRLURL: resp.URL + "/pki/crl", Freshness: time.Minute})
	tr.verifier, err = pki.NewVerifier(pki.VerifierConfig{Roots: []*x509.Certificate{ca.CA()}, Revocation: rc})
	if err != nil {
		t.Fatal(err)
	}
	tr.mapper, err = pki.NewMapper(ctx, pki.MapperConfig{Store: r.Store})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := ca.IssueServer(ctx, []string{"localhost"}, pki.IssueRequest{})
	if err != nil {
		t.Fatal(err)
	}
	tr.server = pair(srv)
	return tr
}

func pair(iss *pki.Issued) tls.Certificate {
	return tls.Certificate{Certificate: [][]byte{iss.Cert.Raw}, PrivateKey: iss.Key, Leaf: iss.Cert}
}

func (tr *tlsRealm) user(t testing.TB, name string, groups ...string) tls.Certificate {
	t.Helper()
	tr.realm.AddUser(t, name, "password of "+name, admin.UserOptions{Groups: groups})
	iss, err := tr.ca.IssueAccount(context.Background(), name, pki.IssueRequest{})
	if err != nil {
		t.Fatal(err)
	}
	return pair(iss)
}

// forge signs a clientAuth certificate for subject with a new key:
// self-signed (issuer nil), or under issuer/issuerKey.
func forge(t testing.TB, subject pkix.Name, issuer *x509.Certificate, issuerKey crypto.Signer, ca bool) (tls.Certificate, *x509.Certificate, crypto.Signer) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: subject,
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	if ca {
		tmpl.IsCA, tmpl.BasicConstraintsValid, tmpl.KeyUsage = true, true, x509.KeyUsageCertSign|x509.KeyUsageDigitalSignature
	}
	parent, signer := tmpl, crypto.Signer(key)
	if issuer != nil {
		parent, signer = issuer, issuerKey
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, signer)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: c}, c, key
}

// start serves next behind the authenticator over TLS on 127.0.0.1.
func (tr *tlsRealm) start(t testing.TB, a *httpauth.TLSAuthenticator, o httpauth.TLSServerOptions, next http.Handler) *httptest.Server {
	t.Helper()
	o.Certificates = []tls.Certificate{tr.server}
	s := httptest.NewUnstartedServer(a.Middleware(next))
	s.TLS = a.ServerTLSConfig(o)
	s.Config.ConnContext = a.ConnContext
	s.StartTLS()
	t.Cleanup(s.Close)
	return s
}

// client is an HTTPS client that checks the server as "localhost" against
// the realm CA and presents cert (none when cert.Certificate is nil),
// even when the server's CertificateRequest names another CA (as curl
// does; Go's default would send nothing then).
func (tr *tlsRealm) client(cert tls.Certificate) *http.Client {
	cfg := tr.verifier.ClientTLSConfig("localhost")
	if cert.Certificate != nil {
		cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &cert, nil }
	}
	return &http.Client{Transport: &http.Transport{TLSClientConfig: cfg}, Timeout: 10 * time.Second}
}

// certWhoami answers with the identity the middleware set.
var certWhoami = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	id := auth.FromContext(r.Context())
	var groups []string
	for _, g := range id.Groups {
		groups = append(groups, g.Name+"="+g.SID)
	}
	fmt.Fprintf(w, "%s sid=%s method=%s mutual=%v groups=%s", id.Principal(), id.SID, id.Method, id.Mutual, strings.Join(groups, ","))
})

func get(t *testing.T, c *http.Client, url string) (int, string) {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestTLSAuthenticatorRefusals(t *testing.T) {
	tr := newTLSRealm(t)
	ctx := context.Background()
	logs := &logBuffer{}
	a, err := httpauth.NewTLS(httpauth.TLSConfig{Verifier: tr.verifier, Mapper: tr.mapper, Logger: slog.New(slog.NewJSONHandler(logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	s := tr.start(t, a, httpauth.TLSServerOptions{}, certWhoami)
	if _, err := tr.realm.Admin.AddGroup(ctx, "devs", ""); err != nil {
		t.Fatal(err)
	}
	alice := tr.user(t, "alice", "devs")
	bob := tr.user(t, "bob")
	carol := tr.user(t, "carol")
	tr.realm.AddUser(t, "dave", "password of dave", admin.UserOptions{})

	// Revoked before first use (within freshness nothing is cached yet).
	if _, err := tr.ca.Revoke(ctx, pki.SerialString(bob.Leaf.SerialNumber), pki.ReasonKeyCompromise); err != nil {
		t.Fatal(err)
	}
	if _, err := tr.realm.Admin.SetFlags(ctx, "carol", store.FlagDisabled, 0); err != nil {
		t.Fatal(err)
	}
	daveOld, err := tr.past.IssueAccount(ctx, "dave", pki.IssueRequest{Lifetime: 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	selfSigned, _, _ := forge(t, alice.Leaf.Subject, nil, nil, false)
	_, fakeCA, fakeKey := forge(t, tr.ca.CA().Subject, nil, nil, true)
	lookAlike, _, _ := forge(t, alice.Leaf.Subject, fakeCA, fakeKey, false)
	// A good certificate whose account was deleted since.
	gone := tr.user(t, "frank")
	if err := tr.realm.Admin.Delete(ctx, "frank"); err != nil {
		t.Fatal(err)
	}
	// A certificate of alice's, bound explicitly to dave: the binding
	// and the SID extension disagree.
	alice2, err := tr.ca.IssueAccount(ctx, "alice", pki.IssueRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.ca.Bind(ctx, alice2.Cert, "dave"); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name       string
		cert       tls.Certificate
		wantStatus int
		wantCode   string
		wantReason []string
	}{
		{"self-signed, same subject", selfSigned, 401, "CERT_UNKNOWN_ISSUER", []string{"CN=alice", "not a trusted realm CA"}},
		{"look-alike CA", lookAlike, 401, "CERT_UNKNOWN_ISSUER", []string{"forged or self-signed"}},
		{"expired", pair(daveOld), 401, "CERT_EXPIRED", []string{"expired at " + daveOld.Cert.NotAfter.UTC().Format(time.RFC3339), "it is now"}},
		{"revoked", bob, 401, "CERT_REVOKED", []string{"was revoked at", "keyCompromise", "status from ocsp"}},
		{"unmapped (account deleted)", gone, 403, "CERT_UNMAPPED", []string{"names no account"}},
		{"binding and SID disagree", pair(alice2), 403, "CERT_MAPPING_MISMATCH", []string{"maps by issuer-serial to dave"}},
		{"disabled account", carol, 403, "ACCOUNT_DISABLED", []string{"account carol is disabled"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := len(logs.failures(t))
			status, body := get(t, tr.client(tc.cert), s.URL)
			if status != tc.wantStatus || !strings.Contains(body, tc.wantCode+": ") {
				t.Fatalf("got %d %q, want %d %s", status, body, tc.wantStatus, tc.wantCode)
			}
			for _, r := range tc.wantReason {
				if !strings.Contains(body, r) {
					t.Errorf("body %q lacks %q", body, r)
				}
			}
			if strings.Count(strings.TrimSpace(body), "\n") != 0 {
				t.Errorf("reason is not one line: %q", body)
			}
			f := logs.failures(t)
			if len(f) != before+1 {
				t.Fatalf("%d log lines for one refusal, want 1", len(f)-before)
			}
			l := f[len(f)-1]
			if l["op"] != "httpauth.tls" || l["code"] != tc.wantCode || l["reason"] == "" || l["remote"] == "" || l["principal"] == "" {
				t.Errorf("log line %v", l)
			}
		})
	}

	t.Run("good", func(t *testing.T) {
		status, body := get(t, tr.client(alice), s.URL)
		sid := store.SID(tr.realm.Admin.Realm().DomainSID, mustAccount(t, tr, "alice").RID)
		if status != 200 || !strings.HasPrefix(body, "alice@"+testRealm+" sid="+sid+" method=tls mutual=true groups=") || !strings.Contains(body, "devs=S-1-5-21-") {
			t.Fatalf("got %d %q", status, body)
		}
	})

	t.Run("no certificate: handshake alert", func(t *testing.T) {
		_, err := tr.client(tls.Certificate{}).Get(s.URL)
		if err == nil || !strings.Contains(err.Error(), "certificate required") {
			t.Fatalf("got %v, want the certificate_required alert", err)
		}
	})

	t.Run("revocation status unavailable: hard fail", func(t *testing.T) {
		tr.ocspUp.Store(false)
		defer tr.ocspUp.Store(true)
		d := tr.user(t, "erin")
		status, body := get(t, tr.client(d), s.URL)
		if status != 401 || !strings.Contains(body, "CERT_REVOCATION_UNKNOWN") || !strings.Contains(body, "OCSP:") {
			t.Fatalf("got %d %q", status, body)
		}
	})

	t.Run("revoked after use: seen once the freshness has passed", func(t *testing.T) {
		// The status is cached for RemoteConfig.Freshness (a minute
		// here): tested with a fake clock in pki; here only that the
		// cache is used.
		hits := tr.ocspHits.Load()
		get(t, tr.client(alice), s.URL)
		if tr.ocspHits.Load() != hits {
			t.Fatalf("the cached status was not used")
		}
	})
}

func mustAccount(t *testing.T, tr *tlsRealm, name string) *store.Account {
	t.Helper()
	a, err := tr.realm.Store.Account(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestTLSAuthenticatorModes(t *testing.T) {
	tr := newTLSRealm(t)
	ctx := context.Background()
	alice := tr.user(t, "alice")
	selfSigned, _, _ := forge(t, alice.Leaf.Subject, nil, nil, false)
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))

	t.Run("config", func(t *testing.T) {
		for _, cfg := range []httpauth.TLSConfig{
			{Mapper: tr.mapper},
			{Verifier: tr.verifier},
			{Verifier: tr.verifier, Mapper: tr.mapper, CertificateIdentity: true},
		} {
			if _, err := httpauth.NewTLS(cfg); err == nil {
				t.Errorf("NewTLS(%+v) accepted", cfg)
			}
		}
	})

	t.Run("server config", func(t *testing.T) {
		a, _ := httpauth.NewTLS(httpauth.TLSConfig{Verifier: tr.verifier, Mapper: tr.mapper})
		c := a.ServerTLSConfig(httpauth.TLSServerOptions{})
		if c.MinVersion != tls.VersionTLS12 || c.MaxVersion != tls.VersionTLS13 || c.ClientAuth != tls.RequireAnyClientCert || c.ClientCAs == nil {
			t.Fatalf("%+v", c)
		}
		for _, s := range c.CipherSuites {
			if n := tls.CipherSuiteName(s); !strings.HasPrefix(n, "TLS_ECDHE_") || !(strings.Contains(n, "GCM") || strings.Contains(n, "CHACHA20")) {
				t.Errorf("suite %s allowed", n)
			}
		}
	})

	t.Run("verify at handshake", func(t *testing.T) {
		logs := &logBuffer{}
		a, _ := httpauth.NewTLS(httpauth.TLSConfig{Verifier: tr.verifier, Mapper: tr.mapper, Logger: slog.New(slog.NewJSONHandler(logs, nil))})
		s := tr.start(t, a, httpauth.TLSServerOptions{VerifyAtHandshake: true}, certWhoami)
		if status, body := get(t, tr.client(alice), s.URL); status != 200 || !strings.HasPrefix(body, "alice@") {
			t.Fatalf("good certificate: %d %q", status, body)
		}
		_, err := tr.client(selfSigned).Get(s.URL)
		if err == nil || !strings.Contains(err.Error(), "bad certificate") {
			t.Fatalf("self-signed at the handshake: %v, want a bad_certificate alert", err)
		}
		f := logs.failures(t)
		if len(f) != 1 || f[0]["code"] != "CERT_UNKNOWN_ISSUER" || f[0]["stage"] != "handshake" || f[0]["remote"] == "" {
			t.Fatalf("server log: %v", f)
		}
	})

	t.Run("certificate identity without the account DB", func(t *testing.T) {
		a, err := httpauth.NewTLS(httpauth.TLSConfig{Verifier: tr.verifier, CertificateIdentity: true, Realm: testRealm, Logger: quiet})
		if err != nil {
			t.Fatal(err)
		}
		s := tr.start(t, a, httpauth.TLSServerOptions{}, certWhoami)
		sid := store.SID(tr.realm.Admin.Realm().DomainSID, mustAccount(t, tr, "alice").RID)
		status, body := get(t, tr.client(alice), s.URL)
		if status != 200 || body != "alice@"+testRealm+" sid="+sid+" method=tls mutual=true groups=" {
			t.Fatalf("got %d %q", status, body)
		}
		other, _ := httpauth.NewTLS(httpauth.TLSConfig{Verifier: tr.verifier, CertificateIdentity: true, Realm: "OTHER.TEST", Logger: quiet})
		s2 := tr.start(t, other, httpauth.TLSServerOptions{}, certWhoami)
		if status, body := get(t, tr.client(alice), s2.URL); status != 403 || !strings.Contains(body, "outside realm OTHER.TEST") {
			t.Fatalf("another realm: %d %q", status, body)
		}
	})

	t.Run("negotiate fallback", func(t *testing.T) {
		mint := testkit.NewTicketMint(t, testRealm, testSPN)
		neg, err := httpauth.New(httpauth.Config{Acceptor: mint.Acceptor(t, gssConfig()), Logger: quiet})
		if err != nil {
			t.Fatal(err)
		}
		a, _ := httpauth.NewTLS(httpauth.TLSConfig{Verifier: tr.verifier, Mapper: tr.mapper, Fallback: neg, Logger: quiet})
		s := tr.start(t, a, httpauth.TLSServerOptions{}, certWhoami)
		if a.ServerTLSConfig(httpauth.TLSServerOptions{}).ClientAuth != tls.RequestClientCert {
			t.Fatal("with a fallback the certificate must be optional")
		}
		// No certificate: Negotiate is asked for.
		resp, err := tr.client(tls.Certificate{}).Get(s.URL)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 401 || resp.Header.Get("WWW-Authenticate") != "Negotiate" {
			t.Fatalf("no certificate: %d %v", resp.StatusCode, resp.Header)
		}
		// A Kerberos ticket instead of a certificate.
		cl := tr.client(tls.Certificate{})
		cl.Transport = &httpauth.Transport{Base: cl.Transport, ServicePrincipal: func(string) string { return testSPN },
			Credentials: httpauth.CredentialFunc(func(context.Context, string, bool) (*gss.Credential, error) {
				return mint.Credential(t, "alice", testkit.MintOptions{}), nil
			})}
		if status, body := get(t, cl, s.URL); status != 200 || !strings.Contains(body, "method=kerberos") {
			t.Fatalf("negotiate: %d %q", status, body)
		}
		// A certificate: TLS; a bad one is refused, not passed on.
		if status, body := get(t, tr.client(alice), s.URL); status != 200 || !strings.Contains(body, "method=tls") {
			t.Fatalf("certificate: %d %q", status, body)
		}
		if status, body := get(t, tr.client(selfSigned), s.URL); status != 401 || !strings.Contains(body, "CERT_UNKNOWN_ISSUER") {
			t.Fatalf("bad certificate: %d %q", status, body)
		}
	})

	t.Run("plain HTTP", func(t *testing.T) {
		a, _ := httpauth.NewTLS(httpauth.TLSConfig{Verifier: tr.verifier, Mapper: tr.mapper, Logger: quiet})
		s := httptest.NewServer(a.Middleware(certWhoami))
		defer s.Close()
		status, body := get(t, s.Client(), s.URL)
		if status != 401 || !strings.Contains(body, "NO_CLIENT_CERTIFICATE: client certificate required") {
			t.Fatalf("got %d %q", status, body)
		}
		_, err := a.Authenticate(ctx, nil)
		if c, ok := httpauth.CodeOf(err); !ok || c != httpauth.NoClientCertificate {
			t.Fatalf("Authenticate(nil): %v", err)
		}
	})
}

func gssConfig() gss.AcceptorConfig { return gss.AcceptorConfig{} }

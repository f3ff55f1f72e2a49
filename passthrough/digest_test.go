package passthrough

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/warden-auth/warden/admin"
	"github.com/warden-auth/warden/digest"
	"github.com/warden-auth/warden/pki"
	"github.com/warden-auth/warden/store"
)

// digestAnswer is what a server forwards for a client that answered
// with user and password: the response computed as a client does.
func digestAnswer(alg digest.Algorithm, user, password, realm string) *digest.Validation {
	v := &digest.Validation{Algorithm: alg, Username: user, Realm: realm, Nonce: "bm9uY2U", CNonce: "Y25vbmNl",
		NC: "00000001", QOP: "auth", Method: "GET", URI: "/app?x=1"}
	v.Response, _ = v.Expected(digest.HA1(alg, user, realm, password))
	return v
}

func TestValidateDigest(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	for _, alg := range []digest.Algorithm{digest.SHA256, digest.SHA256Sess, digest.SHA512_256, digest.SHA512_256Sess, digest.MD5, digest.MD5Sess} {
		t.Run(alg.String(), func(t *testing.T) {
			v := digestAnswer(alg, "alice", "alice password", realmName)
			vd, err := e.svc.ValidateDigest(ctx, "WEB01$", v)
			if err != nil {
				t.Fatal(err)
			}
			id := vd.Identity
			if id.Principal() != "alice@"+realmName || !strings.HasPrefix(id.SID, e.realm.DomainSID+"-") || id.Method != "digest" {
				t.Fatalf("identity %+v", id)
			}
			for _, g := range []string{"web-admins", "staff", "Domain Users"} {
				if !id.InGroup(g) {
					t.Errorf("not in %s: %+v", g, id.Groups)
				}
			}
			// The rspauth is the one the client expects.
			_, want := v.Expected(digest.HA1(alg, "alice", realmName, "alice password"))
			if vd.RspAuth != want {
				t.Fatalf("rspauth %s, want %s", vd.RspAuth, want)
			}
		})
	}
	// admin derives the stored H(A1) exactly as digest computes it.
	a, _ := e.r.Store.Account(ctx, "alice")
	for _, h := range a.Secrets.HA1s {
		alg, _ := digest.ParseAlgorithm(h.Algorithm)
		if hex.EncodeToString(h.Value) != digest.HA1(alg, "alice", h.Realm, "alice password") || h.Realm != realmName {
			t.Fatalf("stored %s H(A1) for %s differs", h.Algorithm, h.Realm)
		}
	}
}

func TestValidateDigestRefusals(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name       string
		setup      func(t *testing.T, e *env)
		v          func() *digest.Validation
		caller     string
		wantCode   digest.Code
		wantReason string
	}{
		{name: "wrong password", v: func() *digest.Validation { return digestAnswer(digest.SHA256, "alice", "nope", realmName) },
			wantCode: digest.WrongPassword, wantReason: "does not match the password"},
		{name: "unknown user", v: func() *digest.Validation { return digestAnswer(digest.SHA256, "mallory", "x", realmName) },
			wantCode: digest.NoSuchUser, wantReason: `no user "mallory"`},
		{name: "a computer is no Digest user", v: func() *digest.Validation { return digestAnswer(digest.SHA256, "WEB01$", "x", realmName) },
			wantCode: digest.NoSuchUser, wantReason: `no user "WEB01$"`},
		{name: "name in another case", v: func() *digest.Validation { return digestAnswer(digest.SHA256, "Alice", "alice password", realmName) },
			wantCode: digest.WrongPassword, wantReason: `spelled the name "Alice"; Digest hashes it as stored, "alice"`},
		{name: "unknown userhash", v: func() *digest.Validation {
			v := digestAnswer(digest.SHA256, "alice", "alice password", realmName)
			v.UserHash, v.Username = true, digest.UserHash(digest.SHA256, "mallory", realmName)
			return v
		}, wantCode: digest.NoSuchUser, wantReason: "no user with userhash"},
		{name: "other Digest realm", v: func() *digest.Validation {
			return digestAnswer(digest.SHA256, "alice", "alice password", "web@example")
		},
			wantCode: digest.WrongRealm, wantReason: `"web@example" is not the realm the AA keeps H(A1)s for (` + realmName + ")"},
		{name: "disabled", setup: func(t *testing.T, e *env) { e.r.Admin.SetFlags(ctx, "alice", store.FlagDisabled, 0) },
			v: func() *digest.Validation { return digestAnswer(digest.SHA256, "alice", "alice password", realmName) }, wantCode: digest.AccountDisabled, wantReason: "is disabled"},
		{name: "no H(A1) kept", setup: func(t *testing.T, e *env) {
			a, _ := e.r.Store.Account(ctx, "alice")
			a.Secrets.HA1s = nil
			if err := e.r.Store.UpdateAccount(ctx, a); err != nil {
				t.Fatal(err)
			}
		}, v: func() *digest.Validation { return digestAnswer(digest.SHA256, "alice", "alice password", realmName) },
			wantCode: digest.AccountRestriction, wantReason: "no SHA-256 H(A1)"},
		{name: "caller not a computer", caller: "alice", v: func() *digest.Validation { return digestAnswer(digest.SHA256, "alice", "alice password", realmName) },
			wantCode: digest.AccountRestriction, wantReason: "only enabled computer accounts"},
		{name: "malformed", v: func() *digest.Validation {
			v := digestAnswer(digest.SHA256, "alice", "alice password", realmName)
			v.NC = "1"
			return v
		}, wantCode: digest.BadHeader, wantReason: "nc must be"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			if tt.setup != nil {
				tt.setup(t, e)
			}
			caller := tt.caller
			if caller == "" {
				caller = "WEB01$"
			}
			_, err := e.svc.ValidateDigest(ctx, caller, tt.v())
			var de *digest.Error
			if !errors.As(err, &de) || de.Code != tt.wantCode || !strings.Contains(de.Reason, tt.wantReason) {
				t.Fatalf("err = %v; want %v with %q", err, tt.wantCode, tt.wantReason)
			}
		})
	}
}

// Userhash: the AA finds the account from H(name ":" realm) for every
// algorithm, and sees users added later once the store changed.
func TestValidateDigestUserHash(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	clock := e.now
	svc, err := New(Config{Store: e.r.Store, Time: func() time.Time { return clock }})
	if err != nil {
		t.Fatal(err)
	}
	hashed := func(alg digest.Algorithm, user, pw string) *digest.Validation {
		v := digestAnswer(alg, user, pw, realmName)
		v.UserHash, v.Username = true, digest.UserHash(alg, user, realmName)
		return v
	}
	for _, alg := range []digest.Algorithm{digest.SHA256, digest.SHA512_256Sess, digest.MD5} {
		vd, err := svc.ValidateDigest(ctx, "WEB01$", hashed(alg, "alice", "alice password"))
		if err != nil || vd.Identity.User != "alice" {
			t.Fatalf("%s: %v %+v", alg, err, vd)
		}
	}
	e.r.AddUser(t, "jörg", "jörg's password", admin.UserOptions{})
	clock = clock.Add(userhashRebuild)
	vd, err := svc.ValidateDigest(ctx, "WEB01$", hashed(digest.SHA256, "jörg", "jörg's password"))
	if err != nil || vd.Identity.User != "jörg" {
		t.Fatalf("new user: %v", err)
	}
	// An entry for a deleted user does not match anyone.
	if err := e.r.Store.DeleteAccount(ctx, "jörg"); err != nil {
		t.Fatal(err)
	}
	clock = clock.Add(time.Minute)
	if _, err := svc.ValidateDigest(ctx, "WEB01$", hashed(digest.SHA256, "jörg", "jörg's password")); !errors.Is(err, &digest.Error{Code: digest.NoSuchUser}) {
		t.Fatalf("deleted user: %v", err)
	}
}

// Wrong answers are counted exactly, concurrently, and lock the account
// at the threshold, as for NTLM.
func TestDigestLockout(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	const n = 6
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e.svc.ValidateDigest(ctx, "WEB01$", digestAnswer(digest.SHA256, "alice", "wrong", realmName))
		}()
	}
	wg.Wait()
	a, _ := e.r.Store.Account(ctx, "alice")
	if a.Lockout.BadCount != n {
		t.Fatalf("bad count %d after %d failures", a.Lockout.BadCount, n)
	}
	for i := n; i < e.realm.Policy.LockoutThreshold; i++ {
		e.svc.ValidateDigest(ctx, "WEB01$", digestAnswer(digest.SHA256, "alice", "wrong", realmName))
	}
	_, err := e.svc.ValidateDigest(ctx, "WEB01$", digestAnswer(digest.SHA256, "alice", "alice password", realmName))
	if !errors.Is(err, &digest.Error{Code: digest.AccountLockedOut}) {
		t.Fatalf("after %d failures: %v", e.realm.Policy.LockoutThreshold, err)
	}
}

// digestAAServer serves the AA's routes as warden serve mounts them,
// on a TLS listener asking for client certificates from the realm CA.
func digestAAServer(t testing.TB, e *env, cached bool) (*httptest.Server, *pki.Authority) {
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
	caller := CertCaller(v, m)
	if cached {
		caller = CachedCaller(caller, time.Minute, nil)
	}
	mux := http.NewServeMux()
	mux.Handle("POST "+NTLMPath, Handler(e.svc, caller, nil))
	mux.Handle("POST "+DigestPath, DigestHandler(e.svc, caller, nil))
	srv := httptest.NewUnstartedServer(mux)
	srv.TLS = &tls.Config{ClientAuth: tls.RequestClientCert}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv, a
}

func TestHTTPValidateDigest(t *testing.T) {
	e := newEnv(t)
	srv, a := digestAAServer(t, e, false)
	ctx := context.Background()
	web := clientAs(t, srv, a, "WEB01$")

	v := digestAnswer(digest.SHA512_256, "alice", "alice password", realmName)
	vd, err := web.ValidateDigest(ctx, v)
	if err != nil {
		t.Fatal(err)
	}
	_, want := v.Expected(digest.HA1(digest.SHA512_256, "alice", realmName, "alice password"))
	if vd.Identity.Principal() != "alice@"+realmName || !vd.Identity.InGroup("staff") || vd.RspAuth != want {
		t.Fatalf("verdict %+v", vd)
	}

	// Unknown user and wrong password look the same to the server.
	_, err1 := web.ValidateDigest(ctx, digestAnswer(digest.SHA256, "alice", "wrong", realmName))
	_, err2 := web.ValidateDigest(ctx, digestAnswer(digest.SHA256, "nobody", "x", realmName))
	if err1 == nil || err2 == nil || err1.Error() != err2.Error() || !errors.Is(err1, &digest.Error{Code: digest.LogonFailure}) {
		t.Fatalf("distinguishable refusals:\n%v\n%v", err1, err2)
	}
	// Only computer accounts with a certificate may ask; that is the
	// server's problem, not the user's.
	for _, who := range []string{"", "alice"} {
		_, err := clientAs(t, srv, a, who).ValidateDigest(ctx, digestAnswer(digest.SHA256, "alice", "alice password", realmName))
		var de *digest.Error
		if !errors.As(err, &de) || de.Code != digest.Unavailable || !strings.Contains(de.Hint, "certificate of its computer account") {
			t.Fatalf("caller %q: %v", who, err)
		}
	}

	// Other refusals keep their code.
	e.r.Admin.SetFlags(ctx, "alice", store.FlagDisabled, 0)
	e.svc.cache.forget("alice")
	if _, err := web.ValidateDigest(ctx, digestAnswer(digest.SHA256, "alice", "alice password", realmName)); !errors.Is(err, &digest.Error{Code: digest.AccountDisabled}) {
		t.Fatalf("disabled: %v", err)
	}
}

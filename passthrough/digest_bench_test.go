package passthrough

import (
	"context"
	"testing"

	"github.com/warden-auth/warden/digest"
)

// BenchmarkValidateDigest is one Digest validation at the AA (SHA-256):
// realm, caller and account from the cache, the response recomputed from
// the stored H(A1), the identity with its groups. ns/op is the inverse
// of validations/s per core.
func BenchmarkValidateDigest(b *testing.B) {
	t := &testing.T{}
	e := newEnv(t)
	v := digestAnswer(digest.SHA256, "alice", "alice password", realmName)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.svc.ValidateDigest(ctx, "WEB01$", v); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkValidateDigestUserHash adds the userhash lookup.
func BenchmarkValidateDigestUserHash(b *testing.B) {
	t := &testing.T{}
	e := newEnv(t)
	v := digestAnswer(digest.SHA256, "alice", "alice password", realmName)
	v.UserHash, v.Username = true, digest.UserHash(digest.SHA256, "alice", realmName)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.svc.ValidateDigest(ctx, "WEB01$", v); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkValidateDigestHTTP is the same validation through the AA's
// HTTPS endpoint, as an application server makes it: JSON over a
// keep-alive TLS connection with the server's client certificate,
// checked per request (CertCaller) or once a minute (CachedCaller, as
// warden serve does).
func BenchmarkValidateDigestHTTP(b *testing.B) {
	for _, cached := range []bool{false, true} {
		name := "CertCaller"
		if cached {
			name = "CachedCaller"
		}
		b.Run(name, func(b *testing.B) {
			t := &testing.T{}
			e := newEnv(t)
			srv, a := digestAAServer(b, e, cached)
			web := clientAs(t, srv, a, "WEB01$")
			v := digestAnswer(digest.SHA256, "alice", "alice password", realmName)
			ctx := context.Background()
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := web.ValidateDigest(ctx, v); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

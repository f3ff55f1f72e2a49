package pki

import (
	"context"
	"crypto/x509"
	"testing"

	"golang.org/x/crypto/ocsp"

	"github.com/warden-auth/warden/admin"
)

// BenchmarkOCSP measures OCSP answers per second: parse, look the serial
// up in the account DB (SQLite), sign with the CA's P-256 key.
func BenchmarkOCSP(b *testing.B) {
	f := newFixture(b, Config{})
	f.user(b, "alice", admin.UserOptions{})
	iss := f.issue(b, "alice")
	req, _ := ocsp.CreateRequest(iss.Cert, f.auth.CA(), nil)
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, ans, err := f.auth.RespondOCSP(ctx, req); err != nil || ans.Status != OCSPGood {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkVerifyClient measures client chain verification per second
// (path building, signature, EKU), without revocation.
func BenchmarkVerifyClient(b *testing.B) {
	f := newFixture(b, Config{})
	f.user(b, "alice", admin.UserOptions{})
	chain := []*x509.Certificate{f.issue(b, "alice").Cert}
	v, _ := NewVerifier(VerifierConfig{Roots: []*x509.Certificate{f.auth.CA()}})
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := v.VerifyClient(chain); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkVerifyAndMap adds the local revocation check and the mapping
// to an account (SID), as the AA does for a client certificate.
func BenchmarkVerifyAndMap(b *testing.B) {
	f := newFixture(b, Config{})
	f.user(b, "alice", admin.UserOptions{})
	chain := []*x509.Certificate{f.issue(b, "alice").Cert}
	m, _ := NewMapper(context.Background(), MapperConfig{Store: f.realm.Store})
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			leaf, err := f.ver.VerifyClientContext(ctx, chain)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := m.Map(ctx, leaf); err != nil {
				b.Fatal(err)
			}
		}
	})
}

package storetest

import (
	"bytes"
	"reflect"
	"testing"
	"time"

	"github.com/warden-auth/warden/store"
)

func testCA(t *testing.T, s store.Store) {
	ctx := t.Context()
	_, err := s.CA(ctx)
	wantErr(t, "CA before InitCA", err, store.ErrNotFound)
	ca := store.CA{CertDER: []byte("cert bytes"), KeyDER: bytes.Repeat([]byte{7}, 121), Created: t0}
	ok(t, s.InitCA(ctx, ca))
	got, err := s.CA(ctx)
	ok(t, err)
	if !bytes.Equal(got.CertDER, ca.CertDER) || !bytes.Equal(got.KeyDER, ca.KeyDER) || !got.Created.Equal(t0) {
		t.Fatalf("CA = %+v, want %+v", got, ca)
	}
	wantErr(t, "second InitCA", s.InitCA(ctx, ca), store.ErrExists)
}

// Cert returns a certificate record for tests.
func Cert(serial, account string, kind store.CertKind, notBefore time.Time) *store.Cert {
	return &store.Cert{
		Serial: serial, Kind: kind, Account: account, Subject: "CN=" + account,
		NotBefore: notBefore, NotAfter: notBefore.Add(365 * 24 * time.Hour),
		DER: []byte("der of " + serial),
	}
}

func sameCert(t *testing.T, what string, got, want *store.Cert) {
	t.Helper()
	g, w := *got, *want
	for _, p := range []*time.Time{&g.NotBefore, &g.NotAfter, &g.Revoked, &g.Created, &w.NotBefore, &w.NotAfter, &w.Revoked, &w.Created} {
		*p = p.UTC()
	}
	if !reflect.DeepEqual(g, w) {
		t.Fatalf("%s:\n got %+v\nwant %+v", what, g, w)
	}
}

func testCerts(t *testing.T, s store.Store) {
	ctx := t.Context()
	create(t, s, user("alice"))
	create(t, s, user("bob"))
	a1 := Cert("a1", "alice", store.CertUser, t0)
	a2 := Cert("a2", "alice", store.CertUser, t0.Add(time.Hour))
	b1 := Cert("b1", "bob", store.CertUser, t0.Add(-time.Hour))
	srv := Cert("5e", "", store.CertServer, t0.Add(2*time.Hour))
	srv.Subject, srv.DNSNames = "CN=aa.example.test", []string{"aa.example.test", "127.0.0.1"}
	for _, c := range []*store.Cert{a2, a1, b1, srv} {
		ok(t, s.AddCert(ctx, c))
		if c.Created.IsZero() {
			t.Fatalf("AddCert(%s) did not set Created", c.Serial)
		}
	}
	wantErr(t, "AddCert of a taken serial", s.AddCert(ctx, Cert("a1", "bob", store.CertUser, t0)), store.ErrExists)
	wantErr(t, "AddCert for an unknown account", s.AddCert(ctx, Cert("c1", "carol", store.CertUser, t0)), store.ErrNotFound)

	got, err := s.Cert(ctx, "A1")
	ok(t, err)
	sameCert(t, "Cert(A1) (serials are case-insensitive hex)", got, a1)
	got, err = s.Cert(ctx, "005e")
	ok(t, err)
	sameCert(t, "Cert(005e) (leading zeros ignored)", got, srv)
	_, err = s.Cert(ctx, "ff")
	wantErr(t, "Cert(unknown)", err, store.ErrNotFound)

	all, err := s.Certs(ctx, store.CertFilter{})
	ok(t, err)
	if len(all) != 4 || all[0].Serial != "b1" || all[1].Serial != "a1" || all[2].Serial != "a2" || all[3].Serial != "5e" {
		t.Fatalf("Certs() order: %v", serials(all))
	}
	mine, err := s.Certs(ctx, store.CertFilter{Account: "ALICE"})
	ok(t, err)
	if len(mine) != 2 || mine[0].Serial != "a1" || mine[1].Serial != "a2" {
		t.Fatalf("Certs(alice) = %v", serials(mine))
	}
	servers, err := s.Certs(ctx, store.CertFilter{Kind: store.CertServer})
	ok(t, err)
	if len(servers) != 1 || servers[0].Serial != "5e" {
		t.Fatalf("Certs(kind server) = %v", serials(servers))
	}

	// Deleting the account keeps its certificates: the CRL must still
	// list their revocations.
	ok(t, s.DeleteAccount(ctx, "bob"))
	if _, err := s.Cert(ctx, "b1"); err != nil {
		t.Fatalf("certificate of a deleted account: %v", err)
	}
}

func serials(cs []*store.Cert) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Serial)
	}
	return out
}

func testCertRevoke(t *testing.T, s store.Store) {
	ctx := t.Context()
	create(t, s, user("alice"))
	ok(t, s.AddCert(ctx, Cert("a1", "alice", store.CertUser, t0)))
	ok(t, s.AddCert(ctx, Cert("a2", "alice", store.CertUser, t0)))
	g0, err := s.Generation(ctx)
	ok(t, err)
	at := t0.Add(24 * time.Hour)
	ok(t, s.RevokeCert(ctx, "a1", at, 1))
	if g, _ := s.Generation(ctx); g <= g0 {
		t.Fatalf("generation %d after a revocation, was %d", g, g0)
	}
	c, err := s.Cert(ctx, "a1")
	ok(t, err)
	if !c.IsRevoked() || !c.Revoked.Equal(at) || c.Reason != 1 {
		t.Fatalf("revoked cert = %+v", c)
	}
	wantErr(t, "second revocation", s.RevokeCert(ctx, "a1", at.Add(time.Hour), 4), store.ErrExists)
	c, _ = s.Cert(ctx, "a1")
	if !c.Revoked.Equal(at) || c.Reason != 1 {
		t.Fatalf("second revocation changed the first: %+v", c)
	}
	wantErr(t, "revoking an unknown serial", s.RevokeCert(ctx, "ff", at, 0), store.ErrNotFound)
	rev, err := s.Certs(ctx, store.CertFilter{RevokedOnly: true})
	ok(t, err)
	if len(rev) != 1 || rev[0].Serial != "a1" {
		t.Fatalf("revoked certs = %v", serials(rev))
	}
}

func testCertBindings(t *testing.T, s store.Store) {
	ctx := t.Context()
	create(t, s, user("alice"))
	create(t, s, user("bob"))
	b := store.CertBinding{Issuer: "CN=Other CA,O=Example", Serial: "0AbC", Account: "alice", Created: t0}
	ok(t, s.BindCert(ctx, b))
	wantErr(t, "binding the same certificate twice", s.BindCert(ctx, store.CertBinding{Issuer: b.Issuer, Serial: "abc", Account: "bob"}), store.ErrExists)
	wantErr(t, "binding to an unknown account", s.BindCert(ctx, store.CertBinding{Issuer: b.Issuer, Serial: "1", Account: "carol"}), store.ErrNotFound)
	got, err := s.CertBinding(ctx, b.Issuer, "ABC")
	ok(t, err)
	if got.Account != "alice" || got.Serial != "abc" || !got.Created.Equal(t0) {
		t.Fatalf("CertBinding = %+v", got)
	}
	_, err = s.CertBinding(ctx, "CN=Another", "abc")
	wantErr(t, "binding under another issuer", err, store.ErrNotFound)
	ok(t, s.BindCert(ctx, store.CertBinding{Issuer: b.Issuer, Serial: "1", Account: "bob"}))
	list, err := s.CertBindings(ctx, "alice")
	ok(t, err)
	if len(list) != 1 || list[0].Serial != "abc" {
		t.Fatalf("CertBindings(alice) = %+v", list)
	}
	all, err := s.CertBindings(ctx, "")
	ok(t, err)
	if len(all) != 2 {
		t.Fatalf("CertBindings() = %+v", all)
	}
	ok(t, s.UnbindCert(ctx, b.Issuer, "abc"))
	wantErr(t, "second unbind", s.UnbindCert(ctx, b.Issuer, "abc"), store.ErrNotFound)
	// Deleting the account removes its bindings.
	ok(t, s.DeleteAccount(ctx, "bob"))
	_, err = s.CertBinding(ctx, b.Issuer, "1")
	wantErr(t, "binding of a deleted account", err, store.ErrNotFound)
}

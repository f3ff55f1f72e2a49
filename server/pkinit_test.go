package server

import (
	"crypto/x509"
	"encoding/pem"
	"io"
	"log/slog"
	"os"
	"testing"

	"github.com/warden-auth/warden/krb5/pkinit"
)

// warden serve with HTTPS on issues the KDC's PKINIT certificate at its
// first start (an existing realm gets one on its next start) and reuses
// it afterwards: id-pkinit-KPKdc, SAN krbtgt/REALM@REALM, from the realm CA.
func TestKDCCertIssuedOnceAtStart(t *testing.T) {
	cfg := newRealmDir(t)
	open := func() *x509.Certificate {
		s, err := New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
		if err != nil {
			t.Fatal(err)
		}
		defer func() { s.KDC().Close(); s.Store().Close() }()
		b, err := os.ReadFile(cfg.Path(KDCCertFile))
		if err != nil {
			t.Fatal(err)
		}
		p, _ := pem.Decode(b)
		c, err := x509.ParseCertificate(p.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.CheckSignatureFrom(s.PKI().CA()); err != nil {
			t.Fatalf("KDC certificate not from the realm CA: %v", err)
		}
		return c
	}
	c1 := open()
	if !pkinit.HasEKU(c1, pkinit.OIDKPKdc) {
		t.Fatal("KDC certificate lacks id-pkinit-KPKdc")
	}
	sans, err := pkinit.PrincipalSANs(c1)
	if err != nil || len(sans) != 1 || sans[0].Name.String() != "krbtgt/"+cfg.Realm || sans[0].Realm != cfg.Realm {
		t.Fatalf("KDC certificate SAN %+v (%v)", sans, err)
	}
	if st, _ := os.Stat(cfg.Path(KDCKeyFile)); st.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v", st.Mode().Perm())
	}
	if c2 := open(); !c2.Equal(c1) {
		t.Fatal("the KDC certificate was re-issued at the second start")
	}
}

package passthrough

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net/http"
	"testing"
	"time"
)

func TestCachedCaller(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	calls := 0
	refuse := false
	f := CachedCaller(func(r *http.Request) (string, error) {
		calls++
		if refuse {
			return "", errors.New("revoked")
		}
		return "WEB" + string(r.TLS.PeerCertificates[0].Raw) + "$", nil
	}, 10*time.Second, func() time.Time { return now })
	req := func(cert string) *http.Request {
		return &http.Request{TLS: &tls.ConnectionState{PeerCertificates: []*x509.Certificate{{Raw: []byte(cert)}}}}
	}
	for i := 0; i < 3; i++ {
		if who, err := f(req("01")); err != nil || who != "WEB01$" {
			t.Fatalf("%q %v", who, err)
		}
	}
	if who, _ := f(req("02")); who != "WEB02$" || calls != 2 {
		t.Fatalf("a second certificate: %q after %d calls", who, calls)
	}
	// After ttl the certificate is checked again, and a refusal is not
	// remembered.
	now = now.Add(10 * time.Second)
	refuse = true
	for i := 0; i < 2; i++ {
		if _, err := f(req("01")); err == nil {
			t.Fatal("expired entry used")
		}
	}
	if calls != 4 {
		t.Fatalf("%d calls", calls)
	}
	// No certificate: always asks.
	if _, err := f(&http.Request{}); err == nil || calls != 5 {
		t.Fatalf("no certificate: %v, %d calls", err, calls)
	}
}

package pki

import (
	"crypto/x509"
	"encoding/asn1"
	"testing"
)

// The key-purpose rule of PKINIT client certificates (RFC 4556 3.2.2,
// MS-PKCA 3.1.5.1): id-pkinit-KPClientAuth or Smart Card Logon always,
// clientAuth only when not strict.
func TestPKINITClientUsage(t *testing.T) {
	for _, c := range []struct {
		name    string
		eku     []x509.ExtKeyUsage
		unknown []asn1.ObjectIdentifier
		strict  bool
		want    bool
	}{
		{"id-pkinit-KPClientAuth", nil, []asn1.ObjectIdentifier{OIDKPClientAuth}, true, true},
		{"Smart Card Logon", nil, []asn1.ObjectIdentifier{OIDSmartcardLogon}, true, true},
		{"clientAuth", []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, nil, false, true},
		{"clientAuth, strict", []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, nil, true, false},
		{"serverAuth only", []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, nil, false, false},
		{"the KDC's EKU", nil, []asn1.ObjectIdentifier{OIDKPKdc}, false, false},
		{"none", nil, nil, false, false},
	} {
		cert := &x509.Certificate{ExtKeyUsage: c.eku, UnknownExtKeyUsage: c.unknown}
		if got := pkinitClientUsage(cert, c.strict); got != c.want {
			t.Errorf("%s (strict %v): %v, want %v", c.name, c.strict, got, c.want)
		}
	}
}

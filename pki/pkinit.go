package pki

import (
	"context"
	"crypto/x509"
	"encoding/asn1"
	"fmt"
	"strings"
)

// PKINIT extended key usages (RFC 4556 3.2.2, MS-PKCA 3.1.5.1).
var (
	OIDKPClientAuth   = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 2, 3, 4}          // id-pkinit-KPClientAuth
	OIDKPKdc          = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 2, 3, 5}          // id-pkinit-KPKdc
	OIDSmartcardLogon = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 20, 2, 2} // Microsoft Smart Card Logon
	OIDPKINITSAN      = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 2, 2}             // id-pkinit-san otherName
)

// VerifyPKINITClient checks the chain of a PKINIT client certificate
// like VerifyClientContext (path to the realm CA or a configured anchor,
// validity, revocation with hard fail) with PKINIT's key-purpose rule
// instead of clientAuth: the leaf must carry id-pkinit-KPClientAuth or
// Smart Card Logon, or clientAuth unless requirePKINITEKU (the realm's
// own account certificates carry clientAuth). A certificate without any
// of them is CodeWrongUsage.
func (v *Verifier) VerifyPKINITClient(ctx context.Context, chain []*x509.Certificate, requirePKINITEKU bool) (*x509.Certificate, error) {
	// Go's x509 knows no PKINIT EKU: the path is built for any usage and
	// the leaf's usage checked here.
	verified, err := v.verifyChain(chain, x509.ExtKeyUsageAny, "client")
	if err != nil {
		return nil, err
	}
	leaf := verified[0]
	if !pkinitClientUsage(leaf, requirePKINITEKU) {
		want := "id-pkinit-KPClientAuth (1.3.6.1.5.2.3.4), Smart Card Logon (1.3.6.1.4.1.311.20.2.2) or clientAuth"
		if requirePKINITEKU {
			want = "id-pkinit-KPClientAuth (1.3.6.1.5.2.3.4) or Smart Card Logon (1.3.6.1.4.1.311.20.2.2)"
		}
		return nil, newErr(CodeWrongUsage, fmt.Sprintf("client certificate %s (serial %s) has extended key usage %s; certificate logon needs %s",
			leaf.Subject, SerialString(leaf.SerialNumber), pkinitEKUNames(leaf), want),
			"issue a logon certificate for the account: warden cert issue --account NAME", nil)
	}
	if err := v.checkRevocation(ctx, verified, true); err != nil {
		return nil, err
	}
	return leaf, nil
}

func pkinitClientUsage(c *x509.Certificate, strict bool) bool {
	for _, u := range c.UnknownExtKeyUsage {
		if u.Equal(OIDKPClientAuth) || u.Equal(OIDSmartcardLogon) {
			return true
		}
	}
	if strict {
		return false
	}
	for _, u := range c.ExtKeyUsage {
		if u == x509.ExtKeyUsageClientAuth {
			return true
		}
	}
	return false
}

func pkinitEKUNames(c *x509.Certificate) string {
	s := ekuNames(c)
	var extra []string
	for _, u := range c.UnknownExtKeyUsage {
		extra = append(extra, u.String())
	}
	if len(extra) == 0 {
		return s
	}
	if s == "none" {
		return strings.Join(extra, ",")
	}
	return s + "," + strings.Join(extra, ",")
}

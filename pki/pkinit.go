package pki

import (
	"context"
	"crypto/x509"
	"encoding/asn1"
	"fmt"
	"slices"
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
	return hasUnknownEKU(c, OIDKPClientAuth) || hasUnknownEKU(c, OIDSmartcardLogon) ||
		!strict && slices.Contains(c.ExtKeyUsage, x509.ExtKeyUsageClientAuth)
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

// PKINITChecker accepts PKINIT client certificates for a KDC: the chain
// with VerifyPKINITClient, the account with the Mapper's strong-mapping
// rules (those of mutual TLS). It implements krb5/kdc's
// PKINITClientChecker without the KDC depending on this package.
type PKINITChecker struct {
	Verifier *Verifier
	Mapper   *Mapper
	// RequirePKINITEKU refuses certificates that carry only clientAuth.
	RequirePKINITEKU bool
}

// CheckPKINITClient verifies the chain (signer first) and returns the
// account it maps to and how, for the log. Refusals are *Error; their
// PKINITCode says which KRB-ERROR to send.
func (c *PKINITChecker) CheckPKINITClient(ctx context.Context, chain []*x509.Certificate) (account, detail string, err error) {
	leaf, err := c.Verifier.VerifyPKINITClient(ctx, chain, c.RequirePKINITEKU)
	if err != nil {
		return "", "", err
	}
	mp, err := c.Mapper.Map(ctx, leaf)
	if err != nil {
		return "", "", err
	}
	return mp.Account.Name, fmt.Sprintf("certificate logon: serial %s mapped by %s", SerialString(leaf.SerialNumber), mp.Method), nil
}

// PKINITCode is the RFC 4556 / RFC 4120 error code a KDC answers this
// refusal with (a number, so that pki stays below the Kerberos packages).
func (e *Error) PKINITCode() int32 {
	switch e.Code {
	case CodeUnknownIssuer:
		return 70 // KDC_ERR_CANT_VERIFY_CERTIFICATE
	case CodeExpired, CodeNotYetValid, CodeBadCertificate:
		return 71 // KDC_ERR_INVALID_CERTIFICATE
	case CodeRevoked:
		return 72 // KDC_ERR_REVOKED_CERTIFICATE
	case CodeRevocationUnknown:
		return 73 // KDC_ERR_REVOCATION_STATUS_UNKNOWN
	case CodeWrongUsage:
		return 77 // KDC_ERR_INCONSISTENT_KEY_PURPOSE
	case CodeUnmapped, CodeWeakMapping, CodeMappingMismatch:
		return 66 // KDC_ERR_CERTIFICATE_MISMATCH
	case CodeAccountDisabled, CodeAccountLocked:
		return 18 // KDC_ERR_CLIENT_REVOKED
	}
	return 62 // KDC_ERR_CLIENT_NOT_TRUSTED
}

// PublicReason is the reason a peer may see (the e-text).
func (e *Error) PublicReason() string { return e.Reason }

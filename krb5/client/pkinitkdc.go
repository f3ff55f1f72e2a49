package client

import (
	"crypto/x509"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/warden-auth/warden/krb5"
	"github.com/warden-auth/warden/krb5/pkinit"
)

// Checking the KDC's certificate in a PKINIT reply (RFC 4556 3.2.4): it
// must chain to a configured anchor, be valid now, name the realm's
// ticket-granting service and be meant for a KDC. Whoever holds a
// certificate that passes these checks can answer as the KDC (the reply
// key comes from a key agreement it signs), so each failure refuses the
// reply and says which check failed.

// maxSANNames caps the names read from one certificate.
const maxSANNames = 64

// verifyKDCCertificate checks the certificate that signed the KDC's reply
// (leaf) with the other certificates of the SignedData as intermediates.
func verifyKDCCertificate(leaf *x509.Certificate, others []*x509.Certificate, cfg PKINITConfig, realm string, now time.Time) error {
	roots, where, err := cfg.pool(realm)
	if err != nil {
		var ae *pkinitAnchorError
		if errors.As(err, &ae) {
			return &krb5.Error{Code: krb5.KDCErrKDCNotTrusted, Reason: ae.Error(), Hint: ae.ErrorHint(), Err: err}
		}
		return &krb5.Error{Code: krb5.KDCErrKDCNotTrusted, Reason: err.Error(),
			Hint: "fix pkinit_anchors in krb5.conf (FILE:/path/ca.pem or DIR:/path)", Err: err}
	}
	inter := x509.NewCertPool()
	for _, c := range others {
		if c != leaf {
			inter.AddCert(c)
		}
	}
	// EKU is checked below against id-pkinit-KPKdc, which crypto/x509
	// does not know: ExtKeyUsageAny keeps Verify from judging it.
	_, err = leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, CurrentTime: now,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}})
	if err != nil {
		return kdcCertChainError(leaf, where, now, err)
	}
	if err := checkKDCName(leaf, realm); err != nil {
		return err
	}
	if pkinit.HasEKU(leaf, pkinit.OIDKPKdc) {
		return nil
	}
	return &krb5.Error{Code: krb5.KDCErrInconsistentKeyPurpose,
		Reason: fmt.Sprintf("the KDC's certificate %q is not meant for a KDC: its extended key usages (%s) lack id-pkinit-KPKdc (1.3.6.1.5.2.3.5)", leaf.Subject, ekuWords(leaf)),
		Hint:   "the KDC must use a certificate issued for a KDC (EKU id-pkinit-KPKdc); Warden's KDC gets one from the realm CA at init"}
}

func kdcCertChainError(leaf *x509.Certificate, where []string, now time.Time, err error) error {
	var ua x509.UnknownAuthorityError
	var ci x509.CertificateInvalidError
	switch {
	case errors.As(err, &ua):
		return &krb5.Error{Code: krb5.KDCErrKDCNotTrusted,
			Reason: fmt.Sprintf("the KDC's certificate %q (issued by %q) does not chain to a trusted anchor (%s)", leaf.Subject, leaf.Issuer, strings.Join(where, ", ")),
			Hint:   "this client does not trust the KDC's issuer; add the realm CA to pkinit_anchors (warden cert ca -o FILE exports Warden's), or check that the KDC address really is the realm's KDC",
			Err:    err}
	case errors.As(err, &ci) && ci.Reason == x509.Expired:
		return &krb5.Error{Code: krb5.KDCErrInvalidCertificate,
			Reason: fmt.Sprintf("the KDC's certificate %q is valid from %s to %s, not now (%s)", ci.Cert.Subject,
				ci.Cert.NotBefore.UTC().Format(time.RFC3339), ci.Cert.NotAfter.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339)),
			Hint: "the KDC's certificate (or its issuer's) must be renewed; if it looks current, check this host's clock",
			Err:  err}
	}
	return &krb5.Error{Code: krb5.KDCErrInvalidCertificate,
		Reason: fmt.Sprintf("the KDC's certificate %q does not verify: %v", leaf.Subject, err),
		Hint:   "the KDC's certificate chain is not acceptable; ask the realm's administrator",
		Err:    err}
}

// checkKDCName requires the certificate to name the realm's KDC: an
// id-pkinit-san krbtgt/REALM@REALM (RFC 4556 3.2.4), or, as Windows KDC
// certificates do instead (MS-PKCA 3.1.5.2.1.2), a dNSName equal to the
// realm's DNS name.
func checkKDCName(cert *x509.Certificate, realm string) error {
	names, err := certPrincipals(cert)
	if err != nil {
		return &krb5.Error{Code: krb5.KDCErrInvalidCertificate,
			Reason: fmt.Sprintf("the KDC's certificate %q has unreadable subject alternative names: %v", cert.Subject, err),
			Hint:   "the KDC's certificate is malformed; ask the realm's administrator", Err: err}
	}
	want := "krbtgt/" + realm + "@" + realm
	if slices.Contains(names, want) ||
		slices.ContainsFunc(cert.DNSNames, func(d string) bool { return strings.EqualFold(d, realm) }) {
		return nil
	}
	have := append(names, cert.DNSNames...)
	if len(have) == 0 {
		have = []string{"none"}
	}
	return &krb5.Error{Code: krb5.KDCErrKDCNameMismatch,
		Reason: fmt.Sprintf("the KDC's certificate %q does not name %s (its names: %s)", cert.Subject, want, strings.Join(have, ", ")),
		Hint:   "the certificate belongs to another realm's KDC or to something that is not a KDC; check the realm name and the KDC addresses in krb5.conf"}
}

// certPrincipals returns the id-pkinit-san names of a certificate's
// subject alternative names as "name/inst@REALM".
func certPrincipals(cert *x509.Certificate) ([]string, error) {
	sans, err := pkinit.PrincipalSANs(cert)
	if err != nil {
		return nil, err
	}
	if len(sans) > maxSANNames {
		return nil, fmt.Errorf("more than %d principal names", maxSANNames)
	}
	out := make([]string, len(sans))
	for i, n := range sans {
		out[i] = principalString(n.Name, n.Realm)
	}
	return out, nil
}

func ekuWords(c *x509.Certificate) string {
	var s []string
	for _, u := range c.ExtKeyUsage {
		switch u {
		case x509.ExtKeyUsageServerAuth:
			s = append(s, "serverAuth")
		case x509.ExtKeyUsageClientAuth:
			s = append(s, "clientAuth")
		case x509.ExtKeyUsageAny:
			s = append(s, "any")
		default:
			s = append(s, fmt.Sprintf("x509.ExtKeyUsage(%d)", u))
		}
	}
	for _, u := range c.UnknownExtKeyUsage {
		s = append(s, u.String())
	}
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}

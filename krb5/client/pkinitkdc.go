package client

import (
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"strings"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"github.com/warden-auth/warden/krb5"
)

// Checking the KDC's certificate in a PKINIT reply (RFC 4556 3.2.4): it
// must chain to a configured anchor, be valid now, name the realm's
// ticket-granting service and be meant for a KDC. Whoever holds a
// certificate that passes these checks can answer as the KDC (the reply
// key comes from a key agreement it signs), so each failure refuses the
// reply and says which check failed.

var (
	oidSubjectAltName = asn1.ObjectIdentifier{2, 5, 29, 17}
	oidPKINITSan      = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 2, 2}
	oidPKINITKPKdc    = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 2, 3, 5}
)

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
	for _, u := range leaf.UnknownExtKeyUsage {
		if u.Equal(oidPKINITKPKdc) {
			return nil
		}
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
	for _, n := range names {
		if n == want {
			return nil
		}
	}
	for _, d := range cert.DNSNames {
		if strings.EqualFold(d, realm) {
			return nil
		}
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
	var ext []byte
	for _, e := range cert.Extensions {
		if e.Id.Equal(oidSubjectAltName) {
			ext = e.Value
			break
		}
	}
	if ext == nil {
		return nil, nil
	}
	in := cryptobyte.String(ext)
	var seq cryptobyte.String
	if !in.ReadASN1(&seq, cbasn1.SEQUENCE) || !in.Empty() {
		return nil, errors.New("malformed GeneralNames")
	}
	var out []string
	for n := 0; !seq.Empty(); n++ {
		if n == maxSANNames {
			return nil, fmt.Errorf("more than %d names", maxSANNames)
		}
		var gn cryptobyte.String
		var tag cbasn1.Tag
		if !seq.ReadAnyASN1(&gn, &tag) {
			return nil, errors.New("malformed GeneralName")
		}
		if tag != cbasn1.Tag(0).ContextSpecific().Constructed() {
			continue // not an otherName
		}
		var oid asn1.ObjectIdentifier
		var val cryptobyte.String
		if !gn.ReadASN1ObjectIdentifier(&oid) || !gn.ReadASN1(&val, cbasn1.Tag(0).ContextSpecific().Constructed()) || !gn.Empty() {
			return nil, errors.New("malformed otherName")
		}
		if !oid.Equal(oidPKINITSan) {
			continue
		}
		p, err := parseKRB5PrincipalName(val)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

// parseKRB5PrincipalName reads KRB5PrincipalName ::= SEQUENCE { realm [0]
// Realm, principalName [1] PrincipalName } (RFC 4556 3.2.2).
func parseKRB5PrincipalName(in cryptobyte.String) (string, error) {
	ctx := func(n int) cbasn1.Tag { return cbasn1.Tag(n).ContextSpecific().Constructed() }
	var seq, realmF, realm, pnF, pn, ntF, namesF, names cryptobyte.String
	var nt int64
	if !in.ReadASN1(&seq, cbasn1.SEQUENCE) || !in.Empty() ||
		!seq.ReadASN1(&realmF, ctx(0)) || !realmF.ReadASN1(&realm, cbasn1.GeneralString) || !realmF.Empty() ||
		!seq.ReadASN1(&pnF, ctx(1)) || !seq.Empty() ||
		!pnF.ReadASN1(&pn, cbasn1.SEQUENCE) || !pnF.Empty() ||
		!pn.ReadASN1(&ntF, ctx(0)) || !ntF.ReadASN1Int64WithTag(&nt, cbasn1.INTEGER) || !ntF.Empty() ||
		!pn.ReadASN1(&namesF, ctx(1)) || !pn.Empty() ||
		!namesF.ReadASN1(&names, cbasn1.SEQUENCE) || !namesF.Empty() {
		return "", errors.New("malformed id-pkinit-san KRB5PrincipalName")
	}
	var comps []string
	for !names.Empty() {
		var s cryptobyte.String
		if !names.ReadASN1(&s, cbasn1.GeneralString) || len(comps) == 8 {
			return "", errors.New("malformed id-pkinit-san name-string")
		}
		comps = append(comps, string(s))
	}
	return strings.Join(comps, "/") + "@" + string(realm), nil
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

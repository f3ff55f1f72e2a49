package pkinit

import (
	"crypto/x509"
	"encoding/asn1"
	"fmt"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

var oidSAN = asn1.ObjectIdentifier{2, 5, 29, 17}

// PrincipalSANs returns the id-pkinit-san otherNames of a certificate
// (RFC 4556 3.2.2): the Kerberos principals it was issued to.
func PrincipalSANs(c *x509.Certificate) ([]KRB5PrincipalName, error) {
	var out []KRB5PrincipalName
	for _, ext := range c.Extensions {
		if !ext.Id.Equal(oidSAN) {
			continue
		}
		s := cryptobyte.String(ext.Value)
		var names cryptobyte.String
		if !s.ReadASN1(&names, cbasn1.SEQUENCE) {
			return nil, fmt.Errorf("pkinit: malformed subjectAltName")
		}
		for !names.Empty() {
			var gn cryptobyte.String
			var tag cbasn1.Tag
			if !names.ReadAnyASN1(&gn, &tag) {
				return nil, fmt.Errorf("pkinit: malformed subjectAltName")
			}
			if tag != cbasn1.Tag(0).Constructed().ContextSpecific() {
				continue
			}
			var oid asn1.ObjectIdentifier
			var val, inner cryptobyte.String
			if !gn.ReadASN1ObjectIdentifier(&oid) || !gn.ReadASN1(&val, cbasn1.Tag(0).Constructed().ContextSpecific()) {
				return nil, fmt.Errorf("pkinit: malformed otherName in subjectAltName")
			}
			if !oid.Equal(OIDPKINITSAN) {
				continue
			}
			if !val.ReadASN1Element(&inner, cbasn1.SEQUENCE) {
				return nil, fmt.Errorf("pkinit: malformed KRB5PrincipalName in subjectAltName")
			}
			var n KRB5PrincipalName
			if err := n.Unmarshal(inner); err != nil {
				return nil, err
			}
			out = append(out, n)
		}
	}
	return out, nil
}

// HasEKU reports whether the certificate lists the extended key usage oid
// (one Go's x509 does not know, such as id-pkinit-KPKdc).
func HasEKU(c *x509.Certificate, oid asn1.ObjectIdentifier) bool {
	for _, u := range c.UnknownExtKeyUsage {
		if u.Equal(oid) {
			return true
		}
	}
	return false
}

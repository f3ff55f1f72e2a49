package pkinit

import (
	"crypto/x509"
	"fmt"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"github.com/warden-auth/warden/internal/der"
)

var oidSAN = der.OID{2, 5, 29, 17}

// PrincipalSANs returns the id-pkinit-san otherNames of a certificate
// (RFC 4556 3.2.2): the Kerberos principals it was issued to.
func PrincipalSANs(c *x509.Certificate) ([]KRB5PrincipalName, error) {
	var out []KRB5PrincipalName
	for _, ext := range c.Extensions {
		if !oidSAN.Equal(ext.Id) {
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
			if tag != der.Context(0) {
				continue
			}
			var oid der.OID
			var val, inner cryptobyte.String
			if !der.ReadOID(&gn, &oid) || !gn.ReadASN1(&val, der.Context(0)) {
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
func HasEKU(c *x509.Certificate, oid der.OID) bool {
	for _, u := range c.UnknownExtKeyUsage {
		if oid.Equal(u) {
			return true
		}
	}
	return false
}

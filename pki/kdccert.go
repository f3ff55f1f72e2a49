package pki

import (
	"context"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"time"

	"github.com/warden-auth/warden/store"
	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// IssueKDC issues the KDC's PKINIT certificate (RFC 4556 3.2.4,
// MS-PKCA 3.2.1): EKU id-pkinit-KPKdc (which MIT and Heimdal clients
// check) and serverAuth; SAN id-pkinit-san krbtgt/REALM@REALM and the
// KDC's DNS names (MS-PKCA clients match the domain's dNSName instead).
// The record is a server certificate with no account.
func (a *Authority) IssueKDC(ctx context.Context, dnsNames []string, r IssueRequest) (*Issued, error) {
	realm := a.realm.Name
	san, err := kdcSAN(realm, dnsNames)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		Subject:            pkix.Name{CommonName: "krbtgt/" + realm, Organization: []string{realm}},
		KeyUsage:           x509.KeyUsageDigitalSignature,
		ExtKeyUsage:        []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		UnknownExtKeyUsage: []asn1.ObjectIdentifier{OIDKPKdc},
		ExtraExtensions:    []pkix.Extension{{Id: OIDSubjectAltName, Value: san}},
	}
	return a.issue(ctx, tmpl, sanNames{}, store.CertServer, "", r)
}

// kdcSAN encodes GeneralNames with the id-pkinit-san otherName
// KRB5PrincipalName{realm, krbtgt/realm (NT-SRV-INST)} and dNSNames.
func kdcSAN(realm string, dnsNames []string) ([]byte, error) {
	for _, d := range dnsNames {
		if err := validDNSName(d); err != nil {
			return nil, err
		}
	}
	var b cryptobyte.Builder
	gs := func(b *cryptobyte.Builder, s string) {
		b.AddASN1(cbasn1.Tag(27), func(b *cryptobyte.Builder) { b.AddBytes([]byte(s)) }) // GeneralString
	}
	ctx := func(n int) cbasn1.Tag { return cbasn1.Tag(n).Constructed().ContextSpecific() }
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		addOtherName(b, OIDPKINITSAN, func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				b.AddASN1(ctx(0), func(b *cryptobyte.Builder) { gs(b, realm) })
				b.AddASN1(ctx(1), func(b *cryptobyte.Builder) {
					b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
						b.AddASN1(ctx(0), func(b *cryptobyte.Builder) { b.AddASN1Int64(2) }) // KRB5-NT-SRV-INST
						b.AddASN1(ctx(1), func(b *cryptobyte.Builder) {
							b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
								gs(b, "krbtgt")
								gs(b, realm)
							})
						})
					})
				})
			})
		})
		for _, d := range dnsNames {
			b.AddASN1(cbasn1.Tag(2).ContextSpecific(), func(b *cryptobyte.Builder) { b.AddBytes([]byte(d)) })
		}
	})
	return b.Bytes()
}

// KDCCertRenewal reports why the KDC certificate must be (re-)issued,
// or "": none yet, not from the realm CA, lacking the KDC EKU, or
// within renewBefore of its end.
func KDCCertRenewal(c, ca *x509.Certificate, now time.Time, renewBefore time.Duration) string {
	switch {
	case c == nil:
		return "none yet"
	case c.CheckSignatureFrom(ca) != nil:
		return "not issued by the realm CA"
	case !hasUnknownEKU(c, OIDKPKdc):
		return "lacks the id-pkinit-KPKdc extended key usage"
	case now.Add(renewBefore).After(c.NotAfter):
		return fmt.Sprintf("expires at %s", fmtTime(c.NotAfter))
	}
	return ""
}

func hasUnknownEKU(c *x509.Certificate, oid asn1.ObjectIdentifier) bool {
	for _, u := range c.UnknownExtKeyUsage {
		if u.Equal(oid) {
			return true
		}
	}
	return false
}

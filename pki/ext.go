package pki

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"net"
	"regexp"
	"strings"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// Object identifiers of the extensions and names the realm's certificates carry.
var (
	OIDSubjectAltName   = asn1.ObjectIdentifier{2, 5, 29, 17}
	OIDUPN              = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 20, 2, 3}       // SAN otherName: userPrincipalName
	OIDSIDExtension     = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 25, 2}          // szOID_NTDS_CA_SECURITY_EXT
	OIDSIDOtherName     = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 25, 2, 1}       // its otherName type
	OIDOCSPNoCheck      = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 48, 1, 5}         // id-pkix-ocsp-nocheck
	oidOCSPNonce        = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 48, 1, 2}         // id-pkix-ocsp-nonce
	oidOCSPBasic        = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 48, 1, 1}         // id-pkix-ocsp-basic
	sidURLPrefix        = "tag:microsoft.com,2022-09-14:sid:"                          // SID in a SAN URL
	sidPattern          = regexp.MustCompile(`^S-1-5-21-[0-9]+-[0-9]+-[0-9]+-[0-9]+$`) // a domain account SID
	maxNamesInCert      = 64
	maxNameLen          = 253
	maxSANExtensionSize = 16 << 10
)

// sanNames are the subject alternative names of a certificate we issue.
type sanNames struct {
	upn string
	dns []string
	ips []net.IP
}

// marshalSAN encodes a GeneralNames with an otherName UPN (UTF8String),
// dNSNames and iPAddresses. Go's x509 cannot write otherName, so the whole
// extension is built here.
func marshalSAN(n sanNames) ([]byte, error) {
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		if n.upn != "" {
			addOtherName(b, OIDUPN, func(b *cryptobyte.Builder) {
				b.AddASN1(cbasn1.UTF8String, func(b *cryptobyte.Builder) { b.AddBytes([]byte(n.upn)) })
			})
		}
		for _, d := range n.dns {
			b.AddASN1(cbasn1.Tag(2).ContextSpecific(), func(b *cryptobyte.Builder) { b.AddBytes([]byte(d)) })
		}
		for _, ip := range n.ips {
			if v4 := ip.To4(); v4 != nil {
				ip = v4
			}
			b.AddASN1(cbasn1.Tag(7).ContextSpecific(), func(b *cryptobyte.Builder) { b.AddBytes(ip) })
		}
	})
	return b.Bytes()
}

// addOtherName adds GeneralName otherName [0] { type-id, [0] EXPLICIT value }.
func addOtherName(b *cryptobyte.Builder, oid asn1.ObjectIdentifier, value cryptobyte.BuilderContinuation) {
	b.AddASN1(cbasn1.Tag(0).ContextSpecific().Constructed(), func(b *cryptobyte.Builder) {
		b.AddASN1ObjectIdentifier(oid)
		b.AddASN1(cbasn1.Tag(0).ContextSpecific().Constructed(), value)
	})
}

// marshalSIDExtension encodes the AD SID extension: a GeneralNames with
// one otherName 1.3.6.1.4.1.311.25.2.1 whose value is the textual SID in
// an OCTET STRING (KB5014754).
func marshalSIDExtension(sid string) ([]byte, error) {
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		addOtherName(b, OIDSIDOtherName, func(b *cryptobyte.Builder) {
			b.AddASN1OctetString([]byte(sid))
		})
	})
	return b.Bytes()
}

// otherNames walks a GeneralNames and calls f for each otherName.
func otherNames(der []byte, f func(oid asn1.ObjectIdentifier, value cryptobyte.String) error) error {
	if len(der) > maxSANExtensionSize {
		return fmt.Errorf("extension of %d bytes is too long", len(der))
	}
	in := cryptobyte.String(der)
	var seq cryptobyte.String
	if !in.ReadASN1(&seq, cbasn1.SEQUENCE) || !in.Empty() {
		return fmt.Errorf("malformed GeneralNames")
	}
	for n := 0; !seq.Empty(); n++ {
		if n >= maxNamesInCert {
			return fmt.Errorf("more than %d names", maxNamesInCert)
		}
		var gn cryptobyte.String
		var tag cbasn1.Tag
		if !seq.ReadAnyASN1(&gn, &tag) {
			return fmt.Errorf("malformed GeneralName")
		}
		if tag != cbasn1.Tag(0).ContextSpecific().Constructed() {
			continue
		}
		var oid asn1.ObjectIdentifier
		var val cryptobyte.String
		if !gn.ReadASN1ObjectIdentifier(&oid) || !gn.ReadASN1(&val, cbasn1.Tag(0).ContextSpecific().Constructed()) || !gn.Empty() {
			return fmt.Errorf("malformed otherName")
		}
		if err := f(oid, val); err != nil {
			return err
		}
	}
	return nil
}

func findExtension(exts []pkix.Extension, oid asn1.ObjectIdentifier) (pkix.Extension, bool) {
	for _, e := range exts {
		if e.Id.Equal(oid) {
			return e, true
		}
	}
	return pkix.Extension{}, false
}

// CertUPNs returns the UPN otherNames of a certificate's SAN.
func CertUPNs(c *x509.Certificate) ([]string, error) {
	ext, ok := findExtension(c.Extensions, OIDSubjectAltName)
	if !ok {
		return nil, nil
	}
	var out []string
	err := otherNames(ext.Value, func(oid asn1.ObjectIdentifier, v cryptobyte.String) error {
		if !oid.Equal(OIDUPN) {
			return nil
		}
		var s cryptobyte.String
		if !v.ReadASN1(&s, cbasn1.UTF8String) || !v.Empty() || len(s) == 0 || len(s) > maxNameLen*2 {
			return fmt.Errorf("malformed UPN in the subject alternative names")
		}
		out = append(out, string(s))
		return nil
	})
	return out, err
}

// CertSID returns the account SID a certificate carries: from the SID
// extension, else from a SAN URL tag:microsoft.com,2022-09-14:sid:S-…
// ("" when none). A malformed or conflicting SID is an error.
func CertSID(c *x509.Certificate) (string, error) {
	var sids []string
	if ext, ok := findExtension(c.Extensions, OIDSIDExtension); ok {
		err := otherNames(ext.Value, func(oid asn1.ObjectIdentifier, v cryptobyte.String) error {
			if !oid.Equal(OIDSIDOtherName) {
				return nil
			}
			var s cryptobyte.String
			if !v.ReadASN1(&s, cbasn1.OCTET_STRING) || !v.Empty() {
				return fmt.Errorf("malformed SID extension")
			}
			sids = append(sids, string(s))
			return nil
		})
		if err != nil {
			return "", err
		}
	}
	for _, u := range c.URIs {
		if s, ok := strings.CutPrefix(u.String(), sidURLPrefix); ok {
			sids = append(sids, s)
		}
	}
	if len(sids) == 0 {
		return "", nil
	}
	for _, s := range sids {
		if !sidPattern.MatchString(s) {
			return "", fmt.Errorf("SID %q in the certificate is not a domain account SID", truncate(s, 80))
		}
		if s != sids[0] {
			return "", fmt.Errorf("certificate carries two different SIDs (%s, %s)", sids[0], s)
		}
	}
	return sids[0], nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

package cms

import (
	"bytes"
	"crypto"
	"fmt"
	"math/big"
	"slices"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"github.com/warden-auth/warden/internal/der"
)

var (
	tagCtx0Constructed = cbasn1.Tag(0).Constructed().ContextSpecific()
	tagCtx1Constructed = cbasn1.Tag(1).Constructed().ContextSpecific()
	tagCtx0Primitive   = cbasn1.Tag(0).ContextSpecific()
)

// SignedData is RFC 5652 5.1's SignedData. Byte slices alias the parsed
// input.
type SignedData struct {
	Version          int64
	DigestAlgorithms []AlgorithmIdentifier
	EContentType     der.OID
	// EContent is the encapsulated content (the OCTET STRING's bytes),
	// nil when absent (detached).
	EContent []byte
	// Certificates are the DER certificates of the certificates field,
	// in order; the signer's usually comes first.
	Certificates [][]byte
	SignerInfos  []SignerInfo
}

// SignerInfo is one signer (RFC 5652 5.3).
type SignerInfo struct {
	Version int64
	// IssuerRaw and Serial identify the signer certificate
	// (IssuerAndSerialNumber); SubjectKeyID is set instead for the
	// [0] SubjectKeyIdentifier choice.
	IssuerRaw       []byte
	Serial          *big.Int
	SubjectKeyID    []byte
	DigestAlgorithm AlgorithmIdentifier
	// SignedAttrs is the whole [0] IMPLICIT element as received (nil
	// when absent); the signature covers it re-tagged as a SET.
	SignedAttrs        []byte
	ContentTypeAttr    der.OID // the content-type signed attribute
	MessageDigestAttr  []byte  // the message-digest signed attribute
	SignatureAlgorithm AlgorithmIdentifier
	Signature          []byte
}

// ParseSignedData decodes a ContentInfo whose content is SignedData.
func ParseSignedData(b []byte) (*SignedData, error) {
	ci, err := ParseContentInfo(b)
	if err != nil {
		return nil, err
	}
	if !ci.ContentType.Equal(OIDSignedData) {
		return nil, &Error{Kind: KindUnsupported, Msg: fmt.Sprintf("ContentInfo type %s is not signedData", ci.ContentType)}
	}
	return parseSignedDataContent(ci.Content)
}

func parseSignedDataContent(b []byte) (*SignedData, error) {
	s := cryptobyte.String(b)
	var seq cryptobyte.String
	if !s.ReadASN1(&seq, cbasn1.SEQUENCE) || !s.Empty() {
		return nil, malformed("SignedData")
	}
	var sd SignedData
	if !seq.ReadASN1Int64WithTag(&sd.Version, cbasn1.INTEGER) {
		return nil, malformed("SignedData version")
	}
	if sd.Version < 1 || sd.Version > 5 {
		return nil, &Error{Kind: KindUnsupported, Msg: fmt.Sprintf("SignedData version %d", sd.Version)}
	}
	var set cryptobyte.String
	if !seq.ReadASN1(&set, cbasn1.SET) {
		return nil, malformed("SignedData digestAlgorithms")
	}
	for !set.Empty() {
		if len(sd.DigestAlgorithms) >= MaxSigners*2 {
			return nil, malformed("SignedData digestAlgorithms (too many)")
		}
		var a AlgorithmIdentifier
		if !ParseAlgorithmIdentifier(&set, &a) {
			return nil, malformed("SignedData digestAlgorithm")
		}
		sd.DigestAlgorithms = append(sd.DigestAlgorithms, a)
	}
	var encap cryptobyte.String
	if !seq.ReadASN1(&encap, cbasn1.SEQUENCE) || !der.ReadOID(&encap, &sd.EContentType) {
		return nil, malformed("SignedData encapContentInfo")
	}
	if !encap.Empty() {
		var ec, oct cryptobyte.String
		if !encap.ReadASN1(&ec, tagCtx0Constructed) || !encap.Empty() ||
			!ec.ReadASN1(&oct, cbasn1.OCTET_STRING) || !ec.Empty() {
			return nil, malformed("SignedData eContent")
		}
		sd.EContent = []byte(oct)
		if sd.EContent == nil {
			sd.EContent = []byte{}
		}
	}
	if seq.PeekASN1Tag(tagCtx0Constructed) {
		var certs cryptobyte.String
		if !seq.ReadASN1(&certs, tagCtx0Constructed) {
			return nil, malformed("SignedData certificates")
		}
		for !certs.Empty() {
			if len(sd.Certificates) >= MaxCerts {
				return nil, &Error{Kind: KindMalformed, Msg: fmt.Sprintf("more than %d certificates in SignedData", MaxCerts)}
			}
			var c cryptobyte.String
			if !certs.ReadASN1Element(&c, cbasn1.SEQUENCE) {
				return nil, malformed("SignedData certificate (only X.509 certificates are accepted)")
			}
			sd.Certificates = append(sd.Certificates, []byte(c))
		}
	}
	if seq.PeekASN1Tag(tagCtx1Constructed) {
		// CRLs are not used: revocation is checked by the verifier's
		// own sources, never from what the peer sends.
		if !seq.SkipASN1(tagCtx1Constructed) {
			return nil, malformed("SignedData crls")
		}
	}
	var signers cryptobyte.String
	if !seq.ReadASN1(&signers, cbasn1.SET) || !seq.Empty() {
		return nil, malformed("SignedData signerInfos")
	}
	for !signers.Empty() {
		if len(sd.SignerInfos) >= MaxSigners {
			return nil, &Error{Kind: KindMalformed, Msg: fmt.Sprintf("more than %d signerInfos", MaxSigners)}
		}
		si, err := parseSignerInfo(&signers)
		if err != nil {
			return nil, err
		}
		sd.SignerInfos = append(sd.SignerInfos, si)
	}
	return &sd, nil
}

func parseSignerInfo(s *cryptobyte.String) (SignerInfo, error) {
	var si SignerInfo
	var seq cryptobyte.String
	if !s.ReadASN1(&seq, cbasn1.SEQUENCE) || !seq.ReadASN1Int64WithTag(&si.Version, cbasn1.INTEGER) {
		return si, malformed("SignerInfo")
	}
	switch {
	case seq.PeekASN1Tag(cbasn1.SEQUENCE):
		var ias, issuer cryptobyte.String
		si.Serial = new(big.Int)
		if !seq.ReadASN1(&ias, cbasn1.SEQUENCE) || !ias.ReadASN1Element(&issuer, cbasn1.SEQUENCE) ||
			!ias.ReadASN1Integer(si.Serial) || !ias.Empty() {
			return si, malformed("SignerInfo issuerAndSerialNumber")
		}
		si.IssuerRaw = []byte(issuer)
	case seq.PeekASN1Tag(tagCtx0Primitive):
		var ski cryptobyte.String
		if !seq.ReadASN1(&ski, tagCtx0Primitive) || len(ski) == 0 {
			return si, malformed("SignerInfo subjectKeyIdentifier")
		}
		si.SubjectKeyID = []byte(ski)
	default:
		return si, malformed("SignerInfo sid")
	}
	if !ParseAlgorithmIdentifier(&seq, &si.DigestAlgorithm) {
		return si, malformed("SignerInfo digestAlgorithm")
	}
	if seq.PeekASN1Tag(tagCtx0Constructed) {
		var el, attrs cryptobyte.String
		if !seq.ReadASN1Element(&el, tagCtx0Constructed) {
			return si, malformed("SignerInfo signedAttrs")
		}
		si.SignedAttrs = []byte(el)
		if !el.ReadASN1(&attrs, tagCtx0Constructed) {
			return si, malformed("SignerInfo signedAttrs")
		}
		if err := si.parseAttrs(attrs); err != nil {
			return si, err
		}
	}
	var sig cryptobyte.String
	if !ParseAlgorithmIdentifier(&seq, &si.SignatureAlgorithm) || !seq.ReadASN1(&sig, cbasn1.OCTET_STRING) {
		return si, malformed("SignerInfo signature")
	}
	si.Signature = []byte(sig)
	if seq.PeekASN1Tag(tagCtx1Constructed) && !seq.SkipASN1(tagCtx1Constructed) {
		return si, malformed("SignerInfo unsignedAttrs")
	}
	if !seq.Empty() {
		return si, malformed("SignerInfo (trailing data)")
	}
	return si, nil
}

func (si *SignerInfo) parseAttrs(attrs cryptobyte.String) error {
	n := 0
	for !attrs.Empty() {
		if n++; n > MaxAttrs {
			return malformed("signedAttrs (too many)")
		}
		var a, vals cryptobyte.String
		var oid der.OID
		if !attrs.ReadASN1(&a, cbasn1.SEQUENCE) || !der.ReadOID(&a, &oid) ||
			!a.ReadASN1(&vals, cbasn1.SET) || !a.Empty() {
			return malformed("signed attribute")
		}
		switch {
		case oid.Equal(OIDContentType):
			var v der.OID
			if si.ContentTypeAttr != nil || !der.ReadOID(&vals, &v) || !vals.Empty() {
				return malformed("content-type attribute")
			}
			si.ContentTypeAttr = v
		case oid.Equal(OIDMessageDigest):
			var v cryptobyte.String
			if si.MessageDigestAttr != nil || !vals.ReadASN1(&v, cbasn1.OCTET_STRING) || !vals.Empty() {
				return malformed("message-digest attribute")
			}
			si.MessageDigestAttr = []byte(v)
		}
	}
	return nil
}

// signedBytes is what the signature covers: the DER of the signed
// attributes as a SET OF (RFC 5652 5.4: the [0] IMPLICIT tag replaced by
// the SET tag), or the content itself without signed attributes.
func (si *SignerInfo) signedBytes(content []byte) []byte {
	if si.SignedAttrs == nil {
		return content
	}
	b := slices.Clone(si.SignedAttrs)
	b[0] = byte(cbasn1.SET)
	return b
}

// SignUnsigned returns a ContentInfo(SignedData) that encapsulates
// eContent with no signers, no certificates and no digest algorithms:
// the AuthPack of anonymous PKINIT (RFC 8062 4.1).
func SignUnsigned(eContentType der.OID, eContent []byte) []byte {
	return buildSignedData(eContentType, eContent, nil, nil, nil)
}

func buildSignedData(eContentType der.OID, eContent []byte, digestAlgs []AlgorithmIdentifier, certs [][]byte, signerInfo []byte) []byte {
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		der.AddOID(b, OIDSignedData)
		b.AddASN1(tagCtx0Constructed, func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				// RFC 5652 5.1: version 3 when eContentType is not id-data.
				v := int64(3)
				if eContentType.Equal(OIDData) {
					v = 1
				}
				b.AddASN1Int64(v)
				b.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) {
					for _, a := range digestAlgs {
						a.Add(b)
					}
				})
				b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
					der.AddOID(b, eContentType)
					b.AddASN1(tagCtx0Constructed, func(b *cryptobyte.Builder) {
						b.AddASN1OctetString(eContent)
					})
				})
				if len(certs) > 0 {
					b.AddASN1(tagCtx0Constructed, func(b *cryptobyte.Builder) {
						for _, c := range certs {
							b.AddBytes(c)
						}
					})
				}
				b.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) {
					if signerInfo != nil {
						b.AddBytes(signerInfo)
					}
				})
			})
		})
	})
	return b.BytesOrPanic()
}

// encodeSignedAttrs returns the SET OF Attribute (content-type and
// message-digest) in DER order (sorted encodings, X.690 11.6).
func encodeSignedAttrs(contentType der.OID, digest []byte) []byte {
	one := func(oid der.OID, val func(b *cryptobyte.Builder)) []byte {
		var b cryptobyte.Builder
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			der.AddOID(b, oid)
			b.AddASN1(cbasn1.SET, val)
		})
		return b.BytesOrPanic()
	}
	attrs := [][]byte{
		one(OIDContentType, func(b *cryptobyte.Builder) { der.AddOID(b, contentType) }),
		one(OIDMessageDigest, func(b *cryptobyte.Builder) { b.AddASN1OctetString(digest) }),
	}
	slices.SortFunc(attrs, bytes.Compare)
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) {
		for _, a := range attrs {
			b.AddBytes(a)
		}
	})
	return b.BytesOrPanic()
}

// hashAlgs ties each accepted digest to its OIDs: the digest algorithm
// and the RSA PKCS#1 v1.5 and ECDSA signature algorithms over it. Every
// OID-to-hash mapping of this package reads this one table.
var hashAlgs = [...]struct {
	hash              crypto.Hash
	digest, rsa, ecds der.OID
}{
	{crypto.SHA1, OIDSHA1, OIDSHA1WithRSA, OIDECDSAWithSHA1},
	{crypto.SHA256, OIDSHA256, OIDSHA256WithRSA, OIDECDSAWithSHA2},
	{crypto.SHA384, OIDSHA384, OIDSHA384WithRSA, OIDECDSAWithSHA3},
	{crypto.SHA512, OIDSHA512, OIDSHA512WithRSA, OIDECDSAWithSHA5},
}

// hashFor maps a digest algorithm OID to its hash.
func hashFor(oid der.OID) (crypto.Hash, bool) {
	for _, a := range hashAlgs {
		if oid.Equal(a.digest) {
			return a.hash, true
		}
	}
	return 0, false
}

// HashOID returns the digest algorithm OID of h.
func HashOID(h crypto.Hash) (der.OID, bool) {
	for _, a := range hashAlgs {
		if a.hash == h {
			return a.digest, true
		}
	}
	return nil, false
}

// HashAlgorithm returns the hash of a digest AlgorithmIdentifier
// (SHA-1, SHA-256, SHA-384, SHA-512), as PAChecksum2 names it.
func HashAlgorithm(a AlgorithmIdentifier) (crypto.Hash, bool) { return hashFor(a.Algorithm) }

// Package cms is the subset of the Cryptographic Message Syntax (RFC 5652)
// that PKINIT (RFC 4556, RFC 8062) needs: ContentInfo, SignedData with
// signed attributes, signing and verifying with RSA PKCS#1 v1.5 and ECDSA
// through the standard library, and the unsigned SignedData of anonymous
// PKINIT.
//
// It is hand-written over golang.org/x/crypto/cryptobyte rather than
// encoding/asn1: a PA-PK-AS-REQ is parsed on the KDC's AS path and the
// reflection decoder both allocates heavily and accepts BER shapes the
// KDC should not. Certificates themselves are parsed by crypto/x509.
//
// API:
//
//	ParseContentInfo(der) (*ContentInfo, error)      any ContentInfo
//	MarshalContentInfo(oid, content) []byte
//	ParseSignedData(der) (*SignedData, error)         ContentInfo(id-signedData)
//	(*SignedData).Verify() ([]*x509.Certificate, error) signature + signed attributes; signer first
//	(*SignedData).Certs() ([]*x509.Certificate, error)
//	Sign(rand, eContentType, eContent, *Signer) ([]byte, error)
//	SignUnsigned(eContentType, eContent) []byte       no signerInfos (anonymous)
//
// Errors are *Error with a Kind (KindMalformed, KindUnsupported,
// KindBadSignature, KindNoSigner) so that callers map them to protocol
// codes (KDC_ERR_INVALID_SIG, KDC_ERR_DIGEST_IN_SIGNED_DATA_NOT_ACCEPTED).
package cms

import (
	"fmt"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"github.com/warden-auth/warden/internal/der"
)

// Object identifiers used by CMS and PKINIT signatures.
var (
	OIDData          = der.OID{1, 2, 840, 113549, 1, 7, 1}
	OIDSignedData    = der.OID{1, 2, 840, 113549, 1, 7, 2}
	OIDEnvelopedData = der.OID{1, 2, 840, 113549, 1, 7, 3}
	OIDContentType   = der.OID{1, 2, 840, 113549, 1, 9, 3}
	OIDMessageDigest = der.OID{1, 2, 840, 113549, 1, 9, 4}
	OIDSigningTime   = der.OID{1, 2, 840, 113549, 1, 9, 5}

	OIDSHA1   = der.OID{1, 3, 14, 3, 2, 26}
	OIDSHA256 = der.OID{2, 16, 840, 1, 101, 3, 4, 2, 1}
	OIDSHA384 = der.OID{2, 16, 840, 1, 101, 3, 4, 2, 2}
	OIDSHA512 = der.OID{2, 16, 840, 1, 101, 3, 4, 2, 3}

	OIDRSAEncryption = der.OID{1, 2, 840, 113549, 1, 1, 1}
	OIDSHA1WithRSA   = der.OID{1, 2, 840, 113549, 1, 1, 5}
	OIDSHA256WithRSA = der.OID{1, 2, 840, 113549, 1, 1, 11}
	OIDSHA384WithRSA = der.OID{1, 2, 840, 113549, 1, 1, 12}
	OIDSHA512WithRSA = der.OID{1, 2, 840, 113549, 1, 1, 13}
	OIDECPublicKey   = der.OID{1, 2, 840, 10045, 2, 1}
	OIDECDSAWithSHA1 = der.OID{1, 2, 840, 10045, 4, 1}
	OIDECDSAWithSHA2 = der.OID{1, 2, 840, 10045, 4, 3, 2}
	OIDECDSAWithSHA3 = der.OID{1, 2, 840, 10045, 4, 3, 3}
	OIDECDSAWithSHA5 = der.OID{1, 2, 840, 10045, 4, 3, 4}
)

// Size caps: a PKINIT request carries a leaf and a few intermediates;
// anything larger is refused before any allocation grows with it.
const (
	MaxMessage = 64 << 10 // whole ContentInfo
	MaxCerts   = 16
	MaxSigners = 4
	MaxAttrs   = 16
)

// Kind classifies a CMS failure.
type Kind int

// Failure kinds.
const (
	KindMalformed    Kind = iota + 1 // not DER of the expected shape, or too large
	KindUnsupported                  // an algorithm or version we do not accept
	KindBadSignature                 // the signature or a signed attribute does not match
	KindNoSigner                     // no signerInfo, or its certificate is missing
)

// Error is a CMS failure; Msg says what was wrong, without secrets.
type Error struct {
	Kind Kind
	Msg  string
	Err  error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return "cms: " + e.Msg + ": " + e.Err.Error()
	}
	return "cms: " + e.Msg
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Is matches an *Error of the same Kind.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Kind == e.Kind
}

// Sentinels for errors.Is.
var (
	ErrMalformed    = &Error{Kind: KindMalformed}
	ErrUnsupported  = &Error{Kind: KindUnsupported}
	ErrBadSignature = &Error{Kind: KindBadSignature}
	ErrNoSigner     = &Error{Kind: KindNoSigner}
)

func malformed(what string) error { return &Error{Kind: KindMalformed, Msg: "malformed " + what} }

// AlgorithmIdentifier is an algorithm OID and its raw DER parameters
// (nil when absent).
type AlgorithmIdentifier struct {
	Algorithm  der.OID
	Parameters []byte // full DER element(s) after the OID, nil if none
}

// ParseAlgorithmIdentifier reads one AlgorithmIdentifier SEQUENCE.
func ParseAlgorithmIdentifier(s *cryptobyte.String, out *AlgorithmIdentifier) bool {
	var seq cryptobyte.String
	if !s.ReadASN1(&seq, cbasn1.SEQUENCE) || !der.ReadOID(&seq, &out.Algorithm) {
		return false
	}
	out.Parameters = nil
	if !seq.Empty() {
		out.Parameters = []byte(seq)
	}
	return true
}

// Add appends the AlgorithmIdentifier to a builder.
func (a AlgorithmIdentifier) Add(b *cryptobyte.Builder) {
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		der.AddOID(b, a.Algorithm)
		if a.Parameters != nil {
			b.AddBytes(a.Parameters)
		}
	})
}

// Marshal returns the DER of the AlgorithmIdentifier.
func (a AlgorithmIdentifier) Marshal() []byte {
	var b cryptobyte.Builder
	a.Add(&b)
	return b.BytesOrPanic()
}

// ContentInfo is RFC 5652 5.1's outer wrapper: a type and its content
// (the DER inside the [0] EXPLICIT tag).
type ContentInfo struct {
	ContentType der.OID
	Content     []byte
}

// ParseContentInfo decodes a ContentInfo. Content aliases b.
func ParseContentInfo(b []byte) (*ContentInfo, error) {
	if len(b) > MaxMessage {
		return nil, &Error{Kind: KindMalformed, Msg: fmt.Sprintf("ContentInfo of %d bytes exceeds the %d-byte limit", len(b), MaxMessage)}
	}
	s := cryptobyte.String(b)
	var seq, content cryptobyte.String
	var ci ContentInfo
	if !s.ReadASN1(&seq, cbasn1.SEQUENCE) || !s.Empty() {
		return nil, malformed("ContentInfo")
	}
	if !der.ReadOID(&seq, &ci.ContentType) {
		return nil, malformed("ContentInfo contentType")
	}
	if !seq.ReadASN1(&content, cbasn1.Tag(0).Constructed().ContextSpecific()) || !seq.Empty() {
		return nil, malformed("ContentInfo content")
	}
	ci.Content = []byte(content)
	return &ci, nil
}

// MarshalContentInfo wraps DER content (one element) in a ContentInfo.
func MarshalContentInfo(contentType der.OID, content []byte) []byte {
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		der.AddOID(b, contentType)
		b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) { b.AddBytes(content) })
	})
	return b.BytesOrPanic()
}

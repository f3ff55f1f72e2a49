package cms

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/subtle"
	"crypto/x509"
	"fmt"
	"io"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"github.com/warden-auth/warden/internal/der"
)

// Signer is a certificate and its private key, with the chain to send
// along (intermediates; never the root, RFC 4556 3.2.1).
type Signer struct {
	Cert  *x509.Certificate
	Chain []*x509.Certificate
	Key   crypto.Signer
	// Hash is the digest (default SHA-256).
	Hash crypto.Hash
}

// Sign returns a ContentInfo(SignedData) that encapsulates eContent,
// signed by s over the content-type and message-digest signed
// attributes, with s's certificate and chain included.
func Sign(rand io.Reader, eContentType der.OID, eContent []byte, s *Signer) ([]byte, error) {
	if s == nil || s.Cert == nil || s.Key == nil {
		return nil, &Error{Kind: KindNoSigner, Msg: "no signer certificate and key"}
	}
	h := s.Hash
	if h == 0 {
		h = crypto.SHA256
	}
	hOID, ok := HashOID(h)
	if !ok || !h.Available() {
		return nil, &Error{Kind: KindUnsupported, Msg: fmt.Sprintf("digest %v", h)}
	}
	sigAlg, err := signatureAlgorithm(s.Key.Public(), h)
	if err != nil {
		return nil, err
	}
	md := h.New()
	md.Write(eContent)
	attrs := encodeSignedAttrs(eContentType, md.Sum(nil))
	d := h.New()
	d.Write(attrs)
	var opts crypto.SignerOpts = h
	sig, err := s.Key.Sign(rand, d.Sum(nil), opts)
	if err != nil {
		return nil, fmt.Errorf("cms: signing: %w", err)
	}
	digestAlg := AlgorithmIdentifier{Algorithm: hOID}
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1Int64(1) // issuerAndSerialNumber
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddBytes(s.Cert.RawIssuer)
			b.AddASN1BigInt(s.Cert.SerialNumber)
		})
		digestAlg.Add(b)
		// The signed attributes under their [0] IMPLICIT tag.
		b.AddASN1(tagCtx0Constructed, func(b *cryptobyte.Builder) {
			inner := cryptobyte.String(attrs)
			var content cryptobyte.String
			inner.ReadASN1(&content, cbasn1.SET)
			b.AddBytes(content)
		})
		sigAlg.Add(b)
		b.AddASN1OctetString(sig)
	})
	si, err := b.Bytes()
	if err != nil {
		return nil, err
	}
	certs := [][]byte{s.Cert.Raw}
	for _, c := range s.Chain {
		certs = append(certs, c.Raw)
	}
	return buildSignedData(eContentType, eContent, []AlgorithmIdentifier{digestAlg}, certs, si), nil
}

// signatureAlgorithm is the signatureAlgorithm of a SignerInfo made by
// a key of pub's type with hash h (RSA with a NULL parameter, RFC 4055).
func signatureAlgorithm(pub crypto.PublicKey, h crypto.Hash) (AlgorithmIdentifier, error) {
	_, isRSA := pub.(*rsa.PublicKey)
	if _, isEC := pub.(*ecdsa.PublicKey); !isRSA && !isEC {
		return AlgorithmIdentifier{}, &Error{Kind: KindUnsupported, Msg: fmt.Sprintf("signing key type %T (RSA and ECDSA are supported)", pub)}
	}
	for _, a := range hashAlgs {
		if a.hash != h {
			continue
		}
		if isRSA {
			return AlgorithmIdentifier{Algorithm: a.rsa, Parameters: []byte{0x05, 0x00}}, nil
		}
		return AlgorithmIdentifier{Algorithm: a.ecds}, nil
	}
	return AlgorithmIdentifier{}, &Error{Kind: KindUnsupported, Msg: fmt.Sprintf("digest %v", h)}
}

// Certs parses the certificates field. The first one whose issuer and
// serial (or key identifier) match the first signer is returned first.
func (sd *SignedData) Certs() ([]*x509.Certificate, error) {
	out := make([]*x509.Certificate, 0, len(sd.Certificates))
	for _, raw := range sd.Certificates {
		c, err := x509.ParseCertificate(raw)
		if err != nil {
			return nil, &Error{Kind: KindMalformed, Msg: "malformed certificate in SignedData", Err: err}
		}
		out = append(out, c)
	}
	if len(sd.SignerInfos) > 0 {
		for i, c := range out {
			if sd.SignerInfos[0].matches(c) {
				out[0], out[i] = out[i], out[0]
				break
			}
		}
	}
	return out, nil
}

func (si *SignerInfo) matches(c *x509.Certificate) bool {
	if si.SubjectKeyID != nil {
		return subtle.ConstantTimeCompare(si.SubjectKeyID, c.SubjectKeyId) == 1
	}
	return string(si.IssuerRaw) == string(c.RawIssuer) && si.Serial.Cmp(c.SerialNumber) == 0
}

// Verify checks the first signerInfo: its certificate is in the
// certificates field, the signed attributes name eContentType and carry
// the content's digest, and the signature verifies with the
// certificate's key. It returns the certificates with the signer's
// first (for the caller's chain check, which Verify does not do).
func (sd *SignedData) Verify() ([]*x509.Certificate, error) {
	if len(sd.SignerInfos) == 0 {
		return nil, &Error{Kind: KindNoSigner, Msg: "SignedData has no signerInfos"}
	}
	if sd.EContent == nil {
		return nil, &Error{Kind: KindMalformed, Msg: "SignedData has no encapsulated content"}
	}
	certs, err := sd.Certs()
	if err != nil {
		return nil, err
	}
	si := &sd.SignerInfos[0]
	if len(certs) == 0 || !si.matches(certs[0]) {
		return nil, &Error{Kind: KindNoSigner, Msg: "the signer's certificate is not in SignedData.certificates"}
	}
	if err := si.verify(certs[0], sd.EContentType, sd.EContent); err != nil {
		return nil, err
	}
	return certs, nil
}

func (si *SignerInfo) verify(cert *x509.Certificate, eContentType der.OID, content []byte) error {
	h, ok := hashFor(si.DigestAlgorithm.Algorithm)
	if !ok {
		return &Error{Kind: KindUnsupported, Msg: fmt.Sprintf("digest algorithm %s (SHA-1, SHA-256, SHA-384 and SHA-512 are accepted)", si.DigestAlgorithm.Algorithm)}
	}
	if si.SignedAttrs != nil {
		if !si.ContentTypeAttr.Equal(eContentType) {
			return &Error{Kind: KindBadSignature, Msg: fmt.Sprintf("content-type attribute %v does not match eContentType %s", si.ContentTypeAttr, eContentType)}
		}
		d := h.New()
		d.Write(content)
		if si.MessageDigestAttr == nil || subtle.ConstantTimeCompare(d.Sum(nil), si.MessageDigestAttr) != 1 {
			return &Error{Kind: KindBadSignature, Msg: "message-digest attribute does not match the content"}
		}
	}
	signed := si.signedBytes(content)
	// The key decides the scheme, the algorithm OID only the hash: MIT
	// krb5 1.20 labels ECDSA signatures sha256WithRSAEncryption, and no
	// confusion is possible since the signature must verify with the
	// certificate's own key under its own scheme.
	sh, ok := signatureHash(si.SignatureAlgorithm.Algorithm, h)
	if !ok {
		return &Error{Kind: KindUnsupported, Msg: fmt.Sprintf("signature algorithm %s (RSA PKCS#1 v1.5 and ECDSA with SHA-1/256/384/512 are accepted)", si.SignatureAlgorithm.Algorithm)}
	}
	d := sh.New()
	d.Write(signed)
	switch pub := cert.PublicKey.(type) {
	case *rsa.PublicKey:
		if err := rsa.VerifyPKCS1v15(pub, sh, d.Sum(nil), si.Signature); err != nil {
			return &Error{Kind: KindBadSignature, Msg: "RSA signature does not verify with the signer's certificate", Err: err}
		}
	case *ecdsa.PublicKey:
		if !ecdsa.VerifyASN1(pub, d.Sum(nil), si.Signature) {
			return &Error{Kind: KindBadSignature, Msg: "ECDSA signature does not verify with the signer's certificate"}
		}
	default:
		return &Error{Kind: KindUnsupported, Msg: fmt.Sprintf("signer key type %T", cert.PublicKey)}
	}
	return nil
}

// signatureHash is the hash a signature algorithm names; the bare key
// algorithms (rsaEncryption, id-ecPublicKey) take the digest algorithm's.
func signatureHash(oid der.OID, digest crypto.Hash) (crypto.Hash, bool) {
	if oid.Equal(OIDRSAEncryption) || oid.Equal(OIDECPublicKey) {
		return digest, true
	}
	for _, a := range hashAlgs {
		if oid.Equal(a.rsa) || oid.Equal(a.ecds) {
			return a.hash, true
		}
	}
	return 0, false
}

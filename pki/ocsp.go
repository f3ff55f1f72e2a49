package pki

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	_ "crypto/sha1" // hashes of OCSP CertIDs
	_ "crypto/sha256"
	_ "crypto/sha512"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"github.com/warden-auth/warden/store"
)

// Limits of the OCSP request parser.
const (
	MaxOCSPRequestSize = 4096 // bytes of DER
	maxOCSPCertIDs     = 16
	maxNonceSize       = 128
)

// OCSP response statuses (RFC 6960 4.2.1).
const (
	ocspSuccessful       = 0
	ocspMalformedRequest = 1
	ocspInternalError    = 2
	ocspUnauthorized     = 6
)

// Certificate statuses of an OCSP answer.
const (
	OCSPGood    = "good"
	OCSPRevoked = "revoked"
	OCSPUnknown = "unknown"
)

var hashOIDs = []struct {
	oid  asn1.ObjectIdentifier
	hash crypto.Hash
}{
	{asn1.ObjectIdentifier{1, 3, 14, 3, 2, 26}, crypto.SHA1},
	{asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}, crypto.SHA256},
	{asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 2}, crypto.SHA384},
	{asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 3}, crypto.SHA512},
}

// issuerIDs are the CA's issuerNameHash and issuerKeyHash for each hash
// OCSP clients may use.
type issuerIDs map[crypto.Hash][2][]byte

func newIssuerIDs(ca *x509.Certificate) (issuerIDs, error) {
	pub, err := publicKeyBits(ca)
	if err != nil {
		return nil, err
	}
	ids := issuerIDs{}
	for _, h := range hashOIDs {
		ids[h.hash] = [2][]byte{digest(h.hash, ca.RawSubject), digest(h.hash, pub)}
	}
	return ids, nil
}

// publicKeyBits returns the subjectPublicKey BIT STRING of a certificate,
// what OCSP's issuerKeyHash and responderID byKey hash.
func publicKeyBits(c *x509.Certificate) ([]byte, error) {
	var spki struct {
		Algorithm pkix.AlgorithmIdentifier
		PublicKey asn1.BitString
	}
	if _, err := asn1.Unmarshal(c.RawSubjectPublicKeyInfo, &spki); err != nil {
		return nil, err
	}
	return spki.PublicKey.RightAlign(), nil
}

func digest(h crypto.Hash, b []byte) []byte {
	d := h.New()
	d.Write(b)
	return d.Sum(nil)
}

// OCSPCertID is one CertID of an OCSP request.
type OCSPCertID struct {
	Hash     crypto.Hash // 0 when the algorithm is not one we know
	NameHash []byte
	KeyHash  []byte
	Serial   *big.Int
	raw      []byte // the CertID as sent, echoed in the answer
}

// OCSPRequest is a parsed RFC 6960 OCSPRequest.
type OCSPRequest struct {
	CertIDs []OCSPCertID
	Nonce   []byte // the nonce extension's value (DER), nil when absent
}

// ParseOCSPRequest parses an OCSPRequest (RFC 6960 4.1.1) strictly: the
// size, the number of CertIDs and the nonce length are capped, trailing
// data is refused, and a signed request's signature is ignored (RFC 6960
// lets a responder not require signed requests).
func ParseOCSPRequest(der []byte) (*OCSPRequest, error) {
	bad := func(what string) error {
		return newErr(CodeBadRequest, "malformed OCSP request: "+what, "", nil)
	}
	if len(der) > MaxOCSPRequestSize {
		return nil, newErr(CodeBadRequest, fmt.Sprintf("OCSP request is %d bytes; at most %d are accepted", len(der), MaxOCSPRequestSize), "", nil)
	}
	in := cryptobyte.String(der)
	var req, tbs cryptobyte.String
	if !in.ReadASN1(&req, cbasn1.SEQUENCE) || !in.Empty() {
		return nil, bad("not one DER SEQUENCE")
	}
	if !req.ReadASN1(&tbs, cbasn1.SEQUENCE) {
		return nil, bad("no tbsRequest")
	}
	if !req.SkipOptionalASN1(cbasn1.Tag(0).ContextSpecific().Constructed()) || !req.Empty() {
		return nil, bad("trailing data after tbsRequest")
	}
	var version cryptobyte.String
	var hasVersion bool
	if !tbs.ReadOptionalASN1(&version, &hasVersion, cbasn1.Tag(0).ContextSpecific().Constructed()) {
		return nil, bad("version")
	}
	if hasVersion {
		var v int64
		if !version.ReadASN1Int64WithTag(&v, cbasn1.INTEGER) || v != 0 || !version.Empty() {
			return nil, bad("version is not v1")
		}
	}
	if !tbs.SkipOptionalASN1(cbasn1.Tag(1).ContextSpecific().Constructed()) {
		return nil, bad("requestorName")
	}
	var list cryptobyte.String
	if !tbs.ReadASN1(&list, cbasn1.SEQUENCE) {
		return nil, bad("no requestList")
	}
	out := &OCSPRequest{}
	for !list.Empty() {
		if len(out.CertIDs) == maxOCSPCertIDs {
			return nil, bad(fmt.Sprintf("more than %d certificates asked", maxOCSPCertIDs))
		}
		var one, certID cryptobyte.String
		if !list.ReadASN1(&one, cbasn1.SEQUENCE) {
			return nil, bad("Request")
		}
		if !one.ReadASN1Element(&certID, cbasn1.SEQUENCE) {
			return nil, bad("CertID")
		}
		if !one.SkipOptionalASN1(cbasn1.Tag(0).ContextSpecific().Constructed()) || !one.Empty() {
			return nil, bad("singleRequestExtensions")
		}
		id, err := parseCertID(certID)
		if err != nil {
			return nil, bad(err.Error())
		}
		out.CertIDs = append(out.CertIDs, id)
	}
	if len(out.CertIDs) == 0 {
		return nil, bad("empty requestList")
	}
	var exts cryptobyte.String
	var hasExts bool
	if !tbs.ReadOptionalASN1(&exts, &hasExts, cbasn1.Tag(2).ContextSpecific().Constructed()) || !tbs.Empty() {
		return nil, bad("requestExtensions")
	}
	if hasExts {
		var seq cryptobyte.String
		if !exts.ReadASN1(&seq, cbasn1.SEQUENCE) || !exts.Empty() {
			return nil, bad("Extensions")
		}
		for !seq.Empty() {
			var ext cryptobyte.String
			var oid asn1.ObjectIdentifier
			var val cryptobyte.String
			if !seq.ReadASN1(&ext, cbasn1.SEQUENCE) || !ext.ReadASN1ObjectIdentifier(&oid) {
				return nil, bad("Extension")
			}
			var critical bool
			if ext.PeekASN1Tag(cbasn1.BOOLEAN) && !ext.ReadASN1Boolean(&critical) {
				return nil, bad("Extension critical flag")
			}
			if !ext.ReadASN1(&val, cbasn1.OCTET_STRING) || !ext.Empty() {
				return nil, bad("Extension value")
			}
			switch {
			case oid.Equal(oidOCSPNonce):
				if len(val) == 0 || len(val) > maxNonceSize {
					return nil, bad(fmt.Sprintf("nonce of %d bytes (1 to %d allowed)", len(val), maxNonceSize))
				}
				out.Nonce = bytes.Clone(val)
			case critical:
				return nil, bad("unsupported critical extension " + oid.String())
			}
		}
	}
	return out, nil
}

func parseCertID(der cryptobyte.String) (OCSPCertID, error) {
	id := OCSPCertID{raw: bytes.Clone(der)}
	var seq, alg cryptobyte.String
	var oid asn1.ObjectIdentifier
	var nameHash, keyHash []byte
	if !der.ReadASN1(&seq, cbasn1.SEQUENCE) || !seq.ReadASN1(&alg, cbasn1.SEQUENCE) || !alg.ReadASN1ObjectIdentifier(&oid) {
		return id, errors.New("CertID hashAlgorithm")
	}
	if !alg.Empty() && !alg.SkipASN1(cbasn1.NULL) || !alg.Empty() {
		return id, errors.New("CertID hashAlgorithm parameters")
	}
	if !seq.ReadASN1Bytes(&nameHash, cbasn1.OCTET_STRING) || !seq.ReadASN1Bytes(&keyHash, cbasn1.OCTET_STRING) {
		return id, errors.New("CertID hashes")
	}
	serial := new(big.Int)
	if !seq.ReadASN1Integer(serial) || !seq.Empty() {
		return id, errors.New("CertID serialNumber")
	}
	if len(nameHash) > 64 || len(keyHash) > 64 {
		return id, errors.New("CertID hash too long")
	}
	for _, h := range hashOIDs {
		if h.oid.Equal(oid) {
			id.Hash = h.hash
		}
	}
	id.NameHash, id.KeyHash, id.Serial = nameHash, keyHash, serial
	return id, nil
}

// OCSPAnswer describes what RespondOCSP answered, for the caller's log.
type OCSPAnswer struct {
	Serial    string // of the first CertID
	Status    string // good, revoked, unknown; "" when refused
	RevokedAt time.Time
	Refused   string // malformedRequest, unauthorized, internalError
}

// RespondOCSP answers a DER OCSPRequest with a DER OCSPResponse. A
// malformed request gets a malformedRequest response (and the parse
// error), a CertID for another issuer "unauthorized"; known serials are
// good or revoked (with time and reason), others unknown. Answers are
// signed by the CA or the delegated responder, valid for OCSPLifetime,
// and echo the request's nonce.
func (a *Authority) RespondOCSP(ctx context.Context, der []byte) ([]byte, OCSPAnswer, error) {
	req, err := ParseOCSPRequest(der)
	if err != nil {
		return statusOnly(ocspMalformedRequest), OCSPAnswer{Refused: "malformedRequest"}, err
	}
	signer, err := a.ocspSigner(ctx)
	if err != nil {
		return statusOnly(ocspInternalError), OCSPAnswer{Refused: "internalError"}, err
	}
	now := a.now()
	ans := OCSPAnswer{Serial: SerialString(req.CertIDs[0].Serial)}
	var singles [][]byte
	for i, id := range req.CertIDs {
		want, ok := a.ids[id.Hash]
		if !ok || !bytes.Equal(want[0], id.NameHash) || !bytes.Equal(want[1], id.KeyHash) {
			return statusOnly(ocspUnauthorized), OCSPAnswer{Serial: ans.Serial, Refused: "unauthorized"}, nil
		}
		st, err := a.localStatus(ctx, id.Serial)
		if err != nil {
			return statusOnly(ocspInternalError), OCSPAnswer{Serial: ans.Serial, Refused: "internalError"}, err
		}
		if i == 0 {
			ans.Status, ans.RevokedAt = st.status, st.revokedAt
		}
		singles = append(singles, singleResponse(id, st, now, now.Add(a.cfg.OCSPLifetime)))
	}
	resp, err := signer.basicResponse(singles, req.Nonce, now)
	if err != nil {
		return statusOnly(ocspInternalError), OCSPAnswer{Serial: ans.Serial, Refused: "internalError"}, err
	}
	return resp, ans, nil
}

type certStatus struct {
	status    string
	revokedAt time.Time
	reason    Reason
}

func (a *Authority) localStatus(ctx context.Context, serial *big.Int) (certStatus, error) {
	c, err := a.st.Cert(ctx, SerialString(serial))
	if errors.Is(err, store.ErrNotFound) {
		return certStatus{status: OCSPUnknown}, nil
	}
	if err != nil {
		return certStatus{}, err
	}
	if c.IsRevoked() {
		return certStatus{status: OCSPRevoked, revokedAt: c.Revoked, reason: Reason(c.Reason)}, nil
	}
	return certStatus{status: OCSPGood}, nil
}

// MalformedOCSPResponse is the OCSPResponse refusing a request that
// could not be read (malformedRequest), for a transport that fails
// before RespondOCSP sees the request.
func MalformedOCSPResponse() []byte { return statusOnly(ocspMalformedRequest) }

func statusOnly(status int) []byte {
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { b.AddASN1Enum(int64(status)) })
	return b.BytesOrPanic()
}

func addGeneralizedTime(b *cryptobyte.Builder, t time.Time) {
	b.AddASN1GeneralizedTime(t.UTC())
}

// singleResponse encodes a SingleResponse echoing the request's CertID.
func singleResponse(id OCSPCertID, st certStatus, this, next time.Time) []byte {
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddBytes(id.raw)
		switch st.status {
		case OCSPGood:
			b.AddASN1(cbasn1.Tag(0).ContextSpecific(), func(*cryptobyte.Builder) {})
		case OCSPRevoked:
			b.AddASN1(cbasn1.Tag(1).ContextSpecific().Constructed(), func(b *cryptobyte.Builder) {
				addGeneralizedTime(b, st.revokedAt)
				if st.reason != ReasonUnspecified {
					b.AddASN1(cbasn1.Tag(0).ContextSpecific().Constructed(), func(b *cryptobyte.Builder) {
						b.AddASN1Enum(int64(st.reason))
					})
				}
			})
		default:
			b.AddASN1(cbasn1.Tag(2).ContextSpecific(), func(*cryptobyte.Builder) {})
		}
		addGeneralizedTime(b, this)
		b.AddASN1(cbasn1.Tag(0).ContextSpecific().Constructed(), func(b *cryptobyte.Builder) { addGeneralizedTime(b, next) })
	})
	return b.BytesOrPanic()
}

// basicResponse signs a ResponseData (responderID byKey) and wraps it in
// a successful OCSPResponse, with the signer's certificate when it is a
// delegated responder.
func (r *responder) basicResponse(singles [][]byte, nonce []byte, produced time.Time) ([]byte, error) {
	var tb cryptobyte.Builder
	tb.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.Tag(2).ContextSpecific().Constructed(), func(b *cryptobyte.Builder) { b.AddASN1OctetString(r.keyHash) })
		addGeneralizedTime(b, produced)
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			for _, s := range singles {
				b.AddBytes(s)
			}
		})
		if nonce != nil {
			b.AddASN1(cbasn1.Tag(1).ContextSpecific().Constructed(), func(b *cryptobyte.Builder) {
				b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
					b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
						b.AddASN1ObjectIdentifier(oidOCSPNonce)
						b.AddASN1OctetString(nonce)
					})
				})
			})
		}
	})
	tbs, err := tb.Bytes()
	if err != nil {
		return nil, err
	}
	signed := tbs
	if r.hash != 0 {
		signed = digest(r.hash, tbs)
	}
	sig, err := r.key.Sign(nil, signed, r.hash)
	if err != nil {
		return nil, err
	}
	var bb cryptobyte.Builder
	bb.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddBytes(tbs)
		b.AddBytes(r.algID)
		b.AddASN1BitString(sig)
		if r.delegated {
			b.AddASN1(cbasn1.Tag(0).ContextSpecific().Constructed(), func(b *cryptobyte.Builder) {
				b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { b.AddBytes(r.cert.Raw) })
			})
		}
	})
	basic, err := bb.Bytes()
	if err != nil {
		return nil, err
	}
	var rb cryptobyte.Builder
	rb.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1Enum(ocspSuccessful)
		b.AddASN1(cbasn1.Tag(0).ContextSpecific().Constructed(), func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				b.AddASN1ObjectIdentifier(oidOCSPBasic)
				b.AddASN1OctetString(basic)
			})
		})
	})
	return rb.Bytes()
}

// signatureAlgorithmID returns the DER AlgorithmIdentifier and hash for
// signing with key: ecdsa-with-SHA256/384, sha256WithRSAEncryption, Ed25519.
func signatureAlgorithmID(key crypto.Signer) ([]byte, crypto.Hash, error) {
	var b cryptobyte.Builder
	var h crypto.Hash
	switch k := key.Public().(type) {
	case *ecdsa.PublicKey:
		oid, hh := asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 2}, crypto.SHA256
		if k.Curve.Params().BitSize > 256 {
			oid, hh = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 3}, crypto.SHA384
		}
		h = hh
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { b.AddASN1ObjectIdentifier(oid) })
	case *rsa.PublicKey:
		h = crypto.SHA256
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1ObjectIdentifier(asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 11})
			b.AddASN1NULL()
		})
	case ed25519.PublicKey:
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { b.AddASN1ObjectIdentifier(asn1.ObjectIdentifier{1, 3, 101, 112}) })
	default:
		return nil, 0, fmt.Errorf("cannot sign OCSP answers with a %T key", k)
	}
	der, err := b.Bytes()
	return der, h, err
}

package pkinit

import (
	"fmt"
	"time"

	"github.com/warden-auth/warden/internal/cms"
	"github.com/warden-auth/warden/internal/der"
	"github.com/warden-auth/warden/krb5"
	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// PKINIT object identifiers (RFC 4556 3.1, RFC 8636 4).
var (
	OIDAuthData        = der.OID{1, 3, 6, 1, 5, 2, 3, 1} // id-pkinit-authData
	OIDDHKeyData       = der.OID{1, 3, 6, 1, 5, 2, 3, 2} // id-pkinit-DHKeyData
	OIDRKeyData        = der.OID{1, 3, 6, 1, 5, 2, 3, 3} // id-pkinit-rkeyData
	OIDKPClientAuth    = der.OID{1, 3, 6, 1, 5, 2, 3, 4} // id-pkinit-KPClientAuth
	OIDKPKdc           = der.OID{1, 3, 6, 1, 5, 2, 3, 5} // id-pkinit-KPKdc
	OIDPKINITSAN       = der.OID{1, 3, 6, 1, 5, 2, 2}    // id-pkinit-san
	OIDMSSmartcardLogo = der.OID{1, 3, 6, 1, 4, 1, 311, 20, 2, 2}
	OIDKDFSHA1         = der.OID{1, 3, 6, 1, 5, 2, 3, 6, 1} // id-pkinit-kdf-ah-sha1
	OIDKDFSHA256       = der.OID{1, 3, 6, 1, 5, 2, 3, 6, 2} // id-pkinit-kdf-ah-sha256
	OIDKDFSHA512       = der.OID{1, 3, 6, 1, 5, 2, 3, 6, 3} // id-pkinit-kdf-ah-sha512
	OIDKDFSHA384       = der.OID{1, 3, 6, 1, 5, 2, 3, 6, 4} // id-pkinit-kdf-ah-sha384
)

// MaxMessage caps every PKINIT message this package decodes.
const MaxMessage = cms.MaxMessage

func malformed(typ string) error { return malformedField(typ, "") }

func malformedField(typ, field string) error {
	return &krb5.ParseError{Type: typ, Field: field}
}

func tooBig(typ string, n int) error {
	if n > MaxMessage {
		return &krb5.ParseError{Type: typ, Field: fmt.Sprintf("length %d over %d", n, MaxMessage)}
	}
	return nil
}

// explicit wraps f's output in the context tag [n].
func explicit(b *cryptobyte.Builder, n int, f cryptobyte.BuilderContinuation) {
	b.AddASN1(der.Context(n), f)
}

func addKerberosTime(b *cryptobyte.Builder, t time.Time) {
	e := der.NewEncoder(nil)
	e.KerberosTime(t)
	b.AddBytes(e.Bytes())
}

func addUInt32(b *cryptobyte.Builder, v uint32) { b.AddASN1Int64(int64(v)) }

// PAPKASReq is PA-PK-AS-REQ (RFC 4556 3.2.1). SignedAuthPack is a DER
// ContentInfo(SignedData) whose eContent is an AuthPack.
type PAPKASReq struct {
	SignedAuthPack []byte
	// TrustedCertifiers is the raw SEQUENCE OF ExternalPrincipalIdentifier
	// (nil if absent); Warden has one realm CA and does not use it.
	TrustedCertifiers []byte
	KDCPkID           []byte
}

// Marshal encodes the PA-PK-AS-REQ.
func (p *PAPKASReq) Marshal() ([]byte, error) {
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1(der.ContextPrimitive(0), func(b *cryptobyte.Builder) { b.AddBytes(p.SignedAuthPack) })
		if p.TrustedCertifiers != nil {
			explicit(b, 1, func(b *cryptobyte.Builder) { b.AddBytes(p.TrustedCertifiers) })
		}
		if p.KDCPkID != nil {
			b.AddASN1(der.ContextPrimitive(2), func(b *cryptobyte.Builder) { b.AddBytes(p.KDCPkID) })
		}
	})
	return b.Bytes()
}

// Unmarshal decodes a PA-PK-AS-REQ. Fields alias a copy of b.
func (p *PAPKASReq) Unmarshal(b []byte) error {
	const typ = "PA-PK-AS-REQ"
	if err := tooBig(typ, len(b)); err != nil {
		return err
	}
	s := cryptobyte.String(append([]byte(nil), b...))
	var seq, v cryptobyte.String
	if !s.ReadASN1(&seq, cbasn1.SEQUENCE) || !s.Empty() {
		return malformed(typ)
	}
	if !seq.ReadASN1(&v, der.ContextPrimitive(0)) {
		return malformedField(typ, "signedAuthPack")
	}
	*p = PAPKASReq{SignedAuthPack: []byte(v)}
	var present bool
	if !seq.ReadOptionalASN1(&v, &present, der.Context(1)) {
		return malformedField(typ, "trustedCertifiers")
	}
	if present {
		p.TrustedCertifiers = []byte(v)
	}
	if !seq.ReadOptionalASN1(&v, &present, der.ContextPrimitive(2)) {
		return malformedField(typ, "kdcPkId")
	}
	if present {
		p.KDCPkID = []byte(v)
	}
	if !seq.Empty() {
		return malformedField(typ, "trailing data")
	}
	return nil
}

// PAChecksum2 is MS-PKCA 2.2.3's agile request checksum.
type PAChecksum2 struct {
	Checksum  []byte
	Algorithm cms.AlgorithmIdentifier
}

// PKAuthenticator binds the signed AuthPack to one request (RFC 4556
// 3.2.1, RFC 8070 freshness token, MS-PKCA paChecksum2).
type PKAuthenticator struct {
	CUSec          int32
	CTime          time.Time
	Nonce          uint32
	PAChecksum     []byte // SHA-1 of the DER req-body; nil if absent
	FreshnessToken []byte
	PAChecksum2    *PAChecksum2
}

// Time returns ctime with cusec.
func (a *PKAuthenticator) Time() time.Time {
	return a.CTime.Add(time.Duration(a.CUSec) * time.Microsecond)
}

func (a *PKAuthenticator) add(b *cryptobyte.Builder) {
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		explicit(b, 0, func(b *cryptobyte.Builder) { b.AddASN1Int64(int64(a.CUSec)) })
		explicit(b, 1, func(b *cryptobyte.Builder) { addKerberosTime(b, a.CTime) })
		explicit(b, 2, func(b *cryptobyte.Builder) { addUInt32(b, a.Nonce) })
		if a.PAChecksum != nil {
			explicit(b, 3, func(b *cryptobyte.Builder) { b.AddASN1OctetString(a.PAChecksum) })
		}
		if a.FreshnessToken != nil {
			explicit(b, 4, func(b *cryptobyte.Builder) { b.AddASN1OctetString(a.FreshnessToken) })
		}
		if a.PAChecksum2 != nil {
			explicit(b, 5, func(b *cryptobyte.Builder) {
				b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
					explicit(b, 0, func(b *cryptobyte.Builder) { b.AddASN1OctetString(a.PAChecksum2.Checksum) })
					explicit(b, 1, func(b *cryptobyte.Builder) { a.PAChecksum2.Algorithm.Add(b) })
				})
			})
		}
	})
}

func (a *PKAuthenticator) decode(s *cryptobyte.String) error {
	const typ = "PKAuthenticator"
	var seq, f cryptobyte.String
	if !s.ReadASN1(&seq, cbasn1.SEQUENCE) {
		return malformed(typ)
	}
	*a = PKAuthenticator{}
	if !der.ReadExplicit(&seq, 0, &f) || !der.ReadInt32(&f, &a.CUSec) || !f.Empty() || a.CUSec < 0 || a.CUSec > 999999 {
		return malformedField(typ, "cusec")
	}
	if !der.ReadExplicit(&seq, 1, &f) || !der.ReadKerberosTime(&f, &a.CTime) || !f.Empty() {
		return malformedField(typ, "ctime")
	}
	if !der.ReadExplicit(&seq, 2, &f) || !der.ReadUInt32(&f, &a.Nonce) || !f.Empty() {
		return malformedField(typ, "nonce")
	}
	var present bool
	if !der.ReadOptionalExplicit(&seq, 3, &f, &present) || (present && (!der.ReadOctetString(&f, &a.PAChecksum) || !f.Empty())) {
		return malformedField(typ, "paChecksum")
	}
	if present && a.PAChecksum == nil {
		a.PAChecksum = []byte{}
	}
	if !der.ReadOptionalExplicit(&seq, 4, &f, &present) || (present && (!der.ReadOctetString(&f, &a.FreshnessToken) || !f.Empty())) {
		return malformedField(typ, "freshnessToken")
	}
	if !der.ReadOptionalExplicit(&seq, 5, &f, &present) {
		return malformedField(typ, "paChecksum2")
	}
	if present {
		var c2, g cryptobyte.String
		pc := &PAChecksum2{}
		if !f.ReadASN1(&c2, cbasn1.SEQUENCE) || !f.Empty() ||
			!der.ReadExplicit(&c2, 0, &g) || !der.ReadOctetString(&g, &pc.Checksum) || !g.Empty() ||
			!der.ReadExplicit(&c2, 1, &g) || !cms.ParseAlgorithmIdentifier(&g, &pc.Algorithm) || !g.Empty() {
			return malformedField(typ, "paChecksum2")
		}
		a.PAChecksum2 = pc
	}
	// Later extensions (the type is extensible) are skipped.
	return nil
}

// AuthPack is the signed content of PA-PK-AS-REQ (RFC 4556 3.2.1,
// RFC 8636 supportedKDFs).
type AuthPack struct {
	PKAuthenticator PKAuthenticator
	// ClientPublicValue is the DER SubjectPublicKeyInfo of the client's
	// DH/ECDH key; nil means RSA key transport (not supported by the KDC).
	ClientPublicValue []byte
	SupportedCMSTypes []cms.AlgorithmIdentifier
	ClientDHNonce     []byte
	SupportedKDFs     []der.OID
}

// Marshal encodes the AuthPack.
func (p *AuthPack) Marshal() ([]byte, error) {
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		explicit(b, 0, p.PKAuthenticator.add)
		if p.ClientPublicValue != nil {
			explicit(b, 1, func(b *cryptobyte.Builder) { b.AddBytes(p.ClientPublicValue) })
		}
		if p.SupportedCMSTypes != nil {
			explicit(b, 2, func(b *cryptobyte.Builder) {
				b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
					for _, a := range p.SupportedCMSTypes {
						a.Add(b)
					}
				})
			})
		}
		if p.ClientDHNonce != nil {
			explicit(b, 3, func(b *cryptobyte.Builder) { b.AddASN1OctetString(p.ClientDHNonce) })
		}
		if p.SupportedKDFs != nil {
			explicit(b, 4, func(b *cryptobyte.Builder) {
				b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
					for _, k := range p.SupportedKDFs {
						addKDFAlgorithmID(b, k)
					}
				})
			})
		}
	})
	return b.Bytes()
}

func addKDFAlgorithmID(b *cryptobyte.Builder, oid der.OID) {
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		explicit(b, 0, func(b *cryptobyte.Builder) { der.AddOID(b, oid) })
	})
}

func readKDFAlgorithmID(s *cryptobyte.String, out *der.OID) bool {
	var seq, f cryptobyte.String
	return s.ReadASN1(&seq, cbasn1.SEQUENCE) && der.ReadExplicit(&seq, 0, &f) && der.ReadOID(&f, out) && f.Empty()
}

// maxListed caps supportedCMSTypes and supportedKDFs entries.
const maxListed = 32

// Unmarshal decodes an AuthPack. Fields alias a copy of b.
func (p *AuthPack) Unmarshal(b []byte) error {
	const typ = "AuthPack"
	if err := tooBig(typ, len(b)); err != nil {
		return err
	}
	s := cryptobyte.String(append([]byte(nil), b...))
	var seq, f cryptobyte.String
	if !s.ReadASN1(&seq, cbasn1.SEQUENCE) || !s.Empty() {
		return malformed(typ)
	}
	*p = AuthPack{}
	if !der.ReadExplicit(&seq, 0, &f) {
		return malformedField(typ, "pkAuthenticator")
	}
	if err := p.PKAuthenticator.decode(&f); err != nil {
		return err // names the PKAuthenticator field
	}
	if !f.Empty() {
		return malformedField(typ, "pkAuthenticator")
	}
	var present bool
	if !der.ReadOptionalExplicit(&seq, 1, &f, &present) {
		return malformedField(typ, "clientPublicValue")
	}
	if present {
		var spki cryptobyte.String
		if !f.ReadASN1Element(&spki, cbasn1.SEQUENCE) || !f.Empty() {
			return malformedField(typ, "clientPublicValue")
		}
		p.ClientPublicValue = []byte(spki)
	}
	if !der.ReadOptionalExplicit(&seq, 2, &f, &present) {
		return malformedField(typ, "supportedCMSTypes")
	}
	if present {
		var list cryptobyte.String
		if !f.ReadASN1(&list, cbasn1.SEQUENCE) || !f.Empty() {
			return malformedField(typ, "supportedCMSTypes")
		}
		p.SupportedCMSTypes = []cms.AlgorithmIdentifier{}
		for !list.Empty() {
			var a cms.AlgorithmIdentifier
			if len(p.SupportedCMSTypes) >= maxListed || !cms.ParseAlgorithmIdentifier(&list, &a) {
				return malformedField(typ, "supportedCMSTypes")
			}
			p.SupportedCMSTypes = append(p.SupportedCMSTypes, a)
		}
	}
	if !der.ReadOptionalExplicit(&seq, 3, &f, &present) || (present && (!der.ReadOctetString(&f, &p.ClientDHNonce) || !f.Empty())) {
		return malformedField(typ, "clientDHNonce")
	}
	if !der.ReadOptionalExplicit(&seq, 4, &f, &present) {
		return malformedField(typ, "supportedKDFs")
	}
	if present {
		var list cryptobyte.String
		if !f.ReadASN1(&list, cbasn1.SEQUENCE) || !f.Empty() {
			return malformedField(typ, "supportedKDFs")
		}
		p.SupportedKDFs = []der.OID{}
		for !list.Empty() {
			var oid der.OID
			if len(p.SupportedKDFs) >= maxListed || !readKDFAlgorithmID(&list, &oid) {
				return malformedField(typ, "supportedKDFs")
			}
			p.SupportedKDFs = append(p.SupportedKDFs, oid)
		}
	}
	return nil
}

// KDCDHKeyInfo is the KDC's signed DH contribution (RFC 4556 3.2.3.1).
type KDCDHKeyInfo struct {
	SubjectPublicKey []byte // the BIT STRING's bytes
	Nonce            uint32 // the PKAuthenticator nonce
	DHKeyExpiration  time.Time
}

// Marshal encodes the KDCDHKeyInfo.
func (k *KDCDHKeyInfo) Marshal() ([]byte, error) {
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		explicit(b, 0, func(b *cryptobyte.Builder) { b.AddASN1BitString(k.SubjectPublicKey) })
		explicit(b, 1, func(b *cryptobyte.Builder) { addUInt32(b, k.Nonce) })
		if !k.DHKeyExpiration.IsZero() {
			explicit(b, 2, func(b *cryptobyte.Builder) { addKerberosTime(b, k.DHKeyExpiration) })
		}
	})
	return b.Bytes()
}

// Unmarshal decodes a KDCDHKeyInfo.
func (k *KDCDHKeyInfo) Unmarshal(b []byte) error {
	const typ = "KDCDHKeyInfo"
	if err := tooBig(typ, len(b)); err != nil {
		return err
	}
	s := cryptobyte.String(append([]byte(nil), b...))
	var seq, f, bits cryptobyte.String
	if !s.ReadASN1(&seq, cbasn1.SEQUENCE) || !s.Empty() {
		return malformed(typ)
	}
	*k = KDCDHKeyInfo{}
	if !der.ReadExplicit(&seq, 0, &f) || !f.ReadASN1(&bits, cbasn1.BIT_STRING) || !f.Empty() || len(bits) < 2 || bits[0] != 0 {
		return malformedField(typ, "subjectPublicKey")
	}
	k.SubjectPublicKey = []byte(bits[1:])
	if !der.ReadExplicit(&seq, 1, &f) || !der.ReadUInt32(&f, &k.Nonce) || !f.Empty() {
		return malformedField(typ, "nonce")
	}
	var present bool
	if !der.ReadOptionalExplicit(&seq, 2, &f, &present) || (present && (!der.ReadKerberosTime(&f, &k.DHKeyExpiration) || !f.Empty())) {
		return malformedField(typ, "dhKeyExpiration")
	}
	return nil
}

// DHRepInfo is the DH branch of PA-PK-AS-REP (RFC 4556 3.2.3, RFC 8636).
type DHRepInfo struct {
	DHSignedData  []byte // ContentInfo(SignedData(KDCDHKeyInfo))
	ServerDHNonce []byte
	KDF           der.OID // nil: octetstring2key (RFC 4556)
}

// PAPKASRep is PA-PK-AS-REP: exactly one of DHInfo and EncKeyPack.
type PAPKASRep struct {
	DHInfo     *DHRepInfo
	EncKeyPack []byte // ContentInfo(EnvelopedData); not produced by Warden
}

// Marshal encodes the PA-PK-AS-REP.
func (r *PAPKASRep) Marshal() ([]byte, error) {
	var b cryptobyte.Builder
	switch {
	case r.DHInfo != nil:
		d := r.DHInfo
		explicit(&b, 0, func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				b.AddASN1(der.ContextPrimitive(0), func(b *cryptobyte.Builder) { b.AddBytes(d.DHSignedData) })
				if d.ServerDHNonce != nil {
					explicit(b, 1, func(b *cryptobyte.Builder) { b.AddASN1OctetString(d.ServerDHNonce) })
				}
				if d.KDF != nil {
					explicit(b, 2, func(b *cryptobyte.Builder) { addKDFAlgorithmID(b, d.KDF) })
				}
			})
		})
	case r.EncKeyPack != nil:
		b.AddASN1(der.ContextPrimitive(1), func(b *cryptobyte.Builder) { b.AddBytes(r.EncKeyPack) })
	default:
		return nil, fmt.Errorf("pkinit: PA-PK-AS-REP with neither dhInfo nor encKeyPack")
	}
	return b.Bytes()
}

// Unmarshal decodes a PA-PK-AS-REP.
func (r *PAPKASRep) Unmarshal(b []byte) error {
	const typ = "PA-PK-AS-REP"
	if err := tooBig(typ, len(b)); err != nil {
		return err
	}
	s := cryptobyte.String(append([]byte(nil), b...))
	*r = PAPKASRep{}
	switch {
	case s.PeekASN1Tag(der.Context(0)):
		var f, seq, v cryptobyte.String
		if !s.ReadASN1(&f, der.Context(0)) || !s.Empty() || !f.ReadASN1(&seq, cbasn1.SEQUENCE) || !f.Empty() {
			return malformedField(typ, "dhInfo")
		}
		d := &DHRepInfo{}
		if !seq.ReadASN1(&v, der.ContextPrimitive(0)) {
			return malformedField(typ, "dhSignedData")
		}
		d.DHSignedData = []byte(v)
		var present bool
		if !der.ReadOptionalExplicit(&seq, 1, &v, &present) || (present && (!der.ReadOctetString(&v, &d.ServerDHNonce) || !v.Empty())) {
			return malformedField(typ, "serverDHNonce")
		}
		if !der.ReadOptionalExplicit(&seq, 2, &v, &present) || (present && (!readKDFAlgorithmID(&v, &d.KDF) || !v.Empty())) {
			return malformedField(typ, "kdf")
		}
		r.DHInfo = d
	case s.PeekASN1Tag(der.ContextPrimitive(1)):
		var v cryptobyte.String
		if !s.ReadASN1(&v, der.ContextPrimitive(1)) || !s.Empty() {
			return malformedField(typ, "encKeyPack")
		}
		r.EncKeyPack = []byte(v)
	default:
		return malformed(typ)
	}
	return nil
}

// ReplyKeyPack is the RSA key-transport reply content (RFC 4556 3.2.3.2).
type ReplyKeyPack struct {
	ReplyKey   krb5.EncryptionKey
	ASChecksum krb5.Checksum
}

// Marshal encodes the ReplyKeyPack.
func (r *ReplyKeyPack) Marshal() ([]byte, error) {
	k, err := r.ReplyKey.Marshal()
	if err != nil {
		return nil, err
	}
	c, err := r.ASChecksum.Marshal()
	if err != nil {
		return nil, err
	}
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		explicit(b, 0, func(b *cryptobyte.Builder) { b.AddBytes(k) })
		explicit(b, 1, func(b *cryptobyte.Builder) { b.AddBytes(c) })
	})
	return b.Bytes()
}

// Unmarshal decodes a ReplyKeyPack.
func (r *ReplyKeyPack) Unmarshal(b []byte) error {
	const typ = "ReplyKeyPack"
	if err := tooBig(typ, len(b)); err != nil {
		return err
	}
	s := cryptobyte.String(append([]byte(nil), b...))
	var seq, f cryptobyte.String
	if !s.ReadASN1(&seq, cbasn1.SEQUENCE) || !s.Empty() || !der.ReadExplicit(&seq, 0, &f) {
		return malformed(typ)
	}
	if err := r.ReplyKey.Unmarshal(f); err != nil {
		return malformedField(typ, "replyKey")
	}
	if !der.ReadExplicit(&seq, 1, &f) {
		return malformedField(typ, "asChecksum")
	}
	if err := r.ASChecksum.Unmarshal(f); err != nil {
		return malformedField(typ, "asChecksum")
	}
	return nil
}

// TDDHParameters is TD-DH-PARAMETERS: the groups the KDC accepts, sent
// in the e-data of KDC_ERR_DH_KEY_PARAMETERS_NOT_ACCEPTED (RFC 4556 3.2.2).
type TDDHParameters []cms.AlgorithmIdentifier

// Marshal encodes the list.
func (t TDDHParameters) Marshal() ([]byte, error) {
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		for _, a := range t {
			a.Add(b)
		}
	})
	return b.Bytes()
}

// Unmarshal decodes the list.
func (t *TDDHParameters) Unmarshal(b []byte) error {
	if err := tooBig("TD-DH-PARAMETERS", len(b)); err != nil {
		return err
	}
	s := cryptobyte.String(append([]byte(nil), b...))
	var seq cryptobyte.String
	if !s.ReadASN1(&seq, cbasn1.SEQUENCE) || !s.Empty() {
		return malformed("TD-DH-PARAMETERS")
	}
	*t = TDDHParameters{}
	for !seq.Empty() {
		var a cms.AlgorithmIdentifier
		if len(*t) >= maxListed || !cms.ParseAlgorithmIdentifier(&seq, &a) {
			return malformed("TD-DH-PARAMETERS")
		}
		*t = append(*t, a)
	}
	return nil
}

// DHParameters returns the TD-DH-PARAMETERS entry of a group.
func DHParameters(g Group) cms.AlgorithmIdentifier {
	if g.IsEC() {
		var b cryptobyte.Builder
		der.AddOID(&b, g.curveOID())
		return cms.AlgorithmIdentifier{Algorithm: cms.OIDECPublicKey, Parameters: b.BytesOrPanic()}
	}
	return cms.AlgorithmIdentifier{Algorithm: OIDDHPublicNumber, Parameters: DomainParameters(g)}
}

// KRB5PrincipalName is the id-pkinit-san otherName value and the party
// info of the RFC 8636 KDF: a principal with its realm.
type KRB5PrincipalName struct {
	Realm string
	Name  krb5.PrincipalName
}

// Marshal encodes the KRB5PrincipalName.
func (n *KRB5PrincipalName) Marshal() ([]byte, error) {
	pn, err := n.Name.Marshal()
	if err != nil {
		return nil, err
	}
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		explicit(b, 0, func(b *cryptobyte.Builder) {
			b.AddASN1(der.TagGeneralString, func(b *cryptobyte.Builder) { b.AddBytes([]byte(n.Realm)) })
		})
		explicit(b, 1, func(b *cryptobyte.Builder) { b.AddBytes(pn) })
	})
	return b.Bytes()
}

// Unmarshal decodes a KRB5PrincipalName.
func (n *KRB5PrincipalName) Unmarshal(b []byte) error {
	const typ = "KRB5PrincipalName"
	if err := tooBig(typ, len(b)); err != nil {
		return err
	}
	s := cryptobyte.String(append([]byte(nil), b...))
	var seq, f cryptobyte.String
	if !s.ReadASN1(&seq, cbasn1.SEQUENCE) || !s.Empty() ||
		!der.ReadExplicit(&seq, 0, &f) || !der.ReadGeneralString(&f, &n.Realm) || !f.Empty() ||
		!der.ReadExplicit(&seq, 1, &f) {
		return malformed(typ)
	}
	if err := n.Name.Unmarshal(f); err != nil {
		return malformedField(typ, "principalName")
	}
	return nil
}

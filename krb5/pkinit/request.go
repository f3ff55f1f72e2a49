package pkinit

import (
	"crypto/sha1"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/warden-auth/warden/internal/cms"
	"github.com/warden-auth/warden/internal/der"
	"github.com/warden-auth/warden/krb5"
	"github.com/warden-auth/warden/krb5/kcrypto"
	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// Request is a decoded PA-PK-AS-REQ as the KDC sees it.
type Request struct {
	PA       PAPKASReq
	Signed   *cms.SignedData // nil for the unsigned id-pkinit-authData form
	AuthPack AuthPack
	// Anonymous is set for an unsigned AuthPack (anonymous PKINIT, RFC
	// 8062 4.1): a ContentInfo of type id-pkinit-authData (what MIT and
	// Heimdal send) or a SignedData without signerInfos.
	Anonymous bool
	// Digest is SHA-256 of the signedAuthPack bytes: the replay-cache key
	// (a replay repeats the signed AuthPack byte for byte).
	Digest [sha256.Size]byte

	// key is clientPublicValue parsed once: the KDC asks for the group
	// (to refuse a weak one) before BuildReply needs the public value.
	key struct {
		parsed bool
		group  Group
		pub    []byte
		err    error
	}
}

// ParseASReq decodes a PA-PK-AS-REQ value down to its AuthPack. It does
// not verify the signature (Request.Signed.Verify) or the certificates.
func ParseASReq(paValue []byte) (*Request, error) {
	var r Request
	if err := r.PA.Unmarshal(paValue); err != nil {
		return nil, err
	}
	r.Digest = sha256.Sum256(r.PA.SignedAuthPack)
	ci, err := cms.ParseContentInfo(r.PA.SignedAuthPack)
	if err != nil {
		return nil, err
	}
	if ci.ContentType.Equal(OIDAuthData) {
		// The unsigned form MIT krb5 and Heimdal send for anonymous
		// PKINIT: ContentInfo{id-pkinit-authData, OCTET STRING AuthPack}.
		s := cryptobyte.String(ci.Content)
		var ap cryptobyte.String
		if !s.ReadASN1(&ap, cbasn1.OCTET_STRING) || !s.Empty() {
			return nil, &cms.Error{Kind: cms.KindMalformed, Msg: "malformed unsigned id-pkinit-authData content"}
		}
		if err := r.AuthPack.Unmarshal(ap); err != nil {
			return nil, err
		}
		r.Anonymous = true
		return &r, nil
	}
	sd, err := cms.ParseSignedData(r.PA.SignedAuthPack)
	if err != nil {
		return nil, err
	}
	if !sd.EContentType.Equal(OIDAuthData) {
		return nil, &cms.Error{Kind: cms.KindUnsupported, Msg: fmt.Sprintf("signedAuthPack content type %s is not id-pkinit-authData", sd.EContentType)}
	}
	if sd.EContent == nil {
		return nil, &cms.Error{Kind: cms.KindMalformed, Msg: "signedAuthPack without content"}
	}
	if err := r.AuthPack.Unmarshal(sd.EContent); err != nil {
		return nil, err
	}
	r.Signed = sd
	r.Anonymous = len(sd.SignerInfos) == 0
	return &r, nil
}

// ChecksumError is a paChecksum / paChecksum2 refusal.
type ChecksumError struct {
	Missing bool // no paChecksum at all (KDC_ERR_PA_CHECKSUM_MUST_BE_INCLUDED)
	Msg     string
}

func (e *ChecksumError) Error() string { return "pkinit: " + e.Msg }

// CheckChecksum verifies paChecksum = SHA-1(req-body) (RFC 4556 3.2.1)
// and paChecksum2 when present (MS-PKCA 2.2.3), over reqBody, the DER
// KDC-REQ-BODY as sent (the inner body under FAST).
func (r *Request) CheckChecksum(reqBody []byte) error {
	a := &r.AuthPack.PKAuthenticator
	if a.PAChecksum == nil {
		return &ChecksumError{Missing: true, Msg: "the PKAuthenticator carries no paChecksum of the request body"}
	}
	sum := sha1.Sum(reqBody)
	if subtle.ConstantTimeCompare(sum[:], a.PAChecksum) != 1 {
		return &ChecksumError{Msg: "paChecksum does not match the request body (the request was altered, or the checksum covers another body)"}
	}
	if c2 := a.PAChecksum2; c2 != nil {
		h, ok := cms.HashAlgorithm(c2.Algorithm)
		if !ok {
			return &ChecksumError{Msg: fmt.Sprintf("paChecksum2 algorithm %s is not supported", c2.Algorithm.Algorithm)}
		}
		d := h.New()
		d.Write(reqBody)
		if subtle.ConstantTimeCompare(d.Sum(nil), c2.Checksum) != 1 {
			return &ChecksumError{Msg: "paChecksum2 does not match the request body"}
		}
	}
	return nil
}

// Group returns the key-agreement group of the clientPublicValue.
func (r *Request) Group() (Group, error) {
	g, _, err := r.clientKey()
	return g, err
}

// clientKey parses the clientPublicValue on first use; a missing or
// refused one is a *KeyError.
func (r *Request) clientKey() (Group, []byte, error) {
	k := &r.key
	if !k.parsed {
		k.parsed = true
		if r.AuthPack.ClientPublicValue == nil {
			k.err = &KeyError{Msg: "no clientPublicValue: RSA key transport is not supported, use Diffie-Hellman"}
		} else {
			k.group, k.pub, k.err = ParsePublicKeyInfo(r.AuthPack.ClientPublicValue)
		}
	}
	return k.group, k.pub, k.err
}

// ReplyParams are the KDC's inputs to BuildReply.
type ReplyParams struct {
	Rand   io.Reader
	Signer *cms.Signer // the KDC certificate and key
	EType  krb5.EncType
	// Client and Server are the AS-REQ body's cname and sname with its
	// realm; ASReq is the whole AS-REQ as received. They feed the RFC
	// 8636 KDF when the client offered one.
	Client, Server KRB5PrincipalName
	ASReq          []byte
}

// BuildReply makes the KDC's DH/ECDH contribution, signs KDCDHKeyInfo
// with the KDC certificate and returns the PA-PK-AS-REP value and the
// AS reply key. A refused client key is a *KeyError.
func (r *Request) BuildReply(p ReplyParams) ([]byte, krb5.EncryptionKey, error) {
	var none krb5.EncryptionKey
	g, pub, err := r.clientKey()
	if err != nil {
		return nil, none, err
	}
	k, err := GenerateKey(p.Rand, g)
	if err != nil {
		return nil, none, err
	}
	z, err := k.SharedSecret(pub)
	if err != nil {
		return nil, none, err
	}
	info := KDCDHKeyInfo{SubjectPublicKey: k.PublicValue(), Nonce: r.AuthPack.PKAuthenticator.Nonce}
	infoDER, err := info.Marshal()
	if err != nil {
		return nil, none, err
	}
	signed, err := cms.Sign(p.Rand, OIDDHKeyData, infoDER, p.Signer)
	if err != nil {
		return nil, none, err
	}
	kdf := ChooseKDF(r.AuthPack.SupportedKDFs)
	rep := PAPKASRep{DHInfo: &DHRepInfo{DHSignedData: signed, KDF: kdf}}
	repDER, err := rep.Marshal()
	if err != nil {
		return nil, none, err
	}
	key, err := replyKey(kdf, z, p.EType, p.Client, p.Server, p.ASReq, repDER)
	return repDER, key, err
}

// replyKey derives the AS reply key from Z: the RFC 8636 KDF when one
// was agreed, else octetstring2key without DH nonces (neither side
// reuses DH keys, RFC 4556 3.2.3.1).
func replyKey(kdf der.OID, z []byte, etype krb5.EncType, client, server KRB5PrincipalName, asReq, rep []byte) (krb5.EncryptionKey, error) {
	if kdf == nil {
		return OctetString2Key(etype, z, nil, nil)
	}
	return KDF(KDFInput{KDF: kdf, EType: etype, Z: z, Client: client, Server: server, ASReq: asReq, PKASRep: rep})
}

// ClientRequestOptions are a client's inputs to NewClientRequest.
type ClientRequestOptions struct {
	Rand io.Reader
	// Signer is the client certificate and key; nil makes the unsigned
	// AuthPack of anonymous PKINIT.
	Signer *cms.Signer
	Group  Group // default ECDHP256
	// Nonce is the AS-REQ body nonce; ReqBody its DER encoding (the
	// paChecksum covers it, so build the body first).
	Nonce   uint32
	ReqBody []byte
	// Time is the client's clock (the PKAuthenticator's ctime/cusec),
	// from the caller's injected clock; required.
	Time time.Time
	// KDFs are offered as supportedKDFs (default KDFs); set
	// NoKDFs to send none and use RFC 4556's octetstring2key.
	KDFs           []der.OID
	NoKDFs         bool
	FreshnessToken []byte
}

// ClientState keeps what the client needs to read the KDC's reply.
type ClientState struct {
	key   *PrivateKey
	nonce uint32
}

// NewClientRequest builds a PA-PK-AS-REQ value: an AuthPack with the
// client's ephemeral DH/ECDH key, signed by o.Signer (or unsigned).
func NewClientRequest(o ClientRequestOptions) ([]byte, *ClientState, error) {
	if o.Group == 0 {
		o.Group = ECDHP256
	}
	if o.Time.IsZero() {
		return nil, nil, errors.New("pkinit: ClientRequestOptions.Time is required (the client's clock)")
	}
	k, err := GenerateKey(o.Rand, o.Group)
	if err != nil {
		return nil, nil, err
	}
	sum := sha1.Sum(o.ReqBody)
	t := o.Time.UTC()
	ap := AuthPack{
		PKAuthenticator: PKAuthenticator{
			CUSec: int32(t.Nanosecond() / 1000), CTime: t.Truncate(time.Second), Nonce: o.Nonce,
			PAChecksum: sum[:], FreshnessToken: o.FreshnessToken,
		},
		ClientPublicValue: k.SubjectPublicKeyInfo(),
	}
	if !o.NoKDFs {
		ap.SupportedKDFs = o.KDFs
		if ap.SupportedKDFs == nil {
			ap.SupportedKDFs = KDFs
		}
	}
	apDER, err := ap.Marshal()
	if err != nil {
		return nil, nil, err
	}
	var signed []byte
	if o.Signer == nil {
		signed = UnsignedAuthPack(apDER)
	} else if signed, err = cms.Sign(o.Rand, OIDAuthData, apDER, o.Signer); err != nil {
		return nil, nil, err
	}
	pa := PAPKASReq{SignedAuthPack: signed}
	b, err := pa.Marshal()
	if err != nil {
		return nil, nil, err
	}
	return b, &ClientState{key: k, nonce: o.Nonce}, nil
}

// ReplyKeyInput names what the reply key is bound to on the client side.
type ReplyKeyInput struct {
	EType          krb5.EncType // the AS-REP enc-part's enctype
	Client, Server KRB5PrincipalName
	ASReq          []byte // the AS-REQ as sent
}

// ParseReply reads the KDC's PA-PK-AS-REP: it checks the KDCDHKeyInfo
// signature with the certificate the SignedData carries and the nonce,
// and derives the reply key. It returns the KDC's certificates (signer
// first): the caller must still check that chain against its trust
// anchors, the id-pkinit-KPKdc EKU and the krbtgt SAN (krb5/client does it in verifyKDCCertificate).
func (c *ClientState) ParseReply(paValue []byte, in ReplyKeyInput) (krb5.EncryptionKey, []*x509.Certificate, error) {
	var none krb5.EncryptionKey
	var rep PAPKASRep
	if err := rep.Unmarshal(paValue); err != nil {
		return none, nil, err
	}
	if rep.DHInfo == nil {
		return none, nil, errors.New("pkinit: the KDC answered with RSA key transport (encKeyPack), which this client did not ask for")
	}
	sd, err := cms.ParseSignedData(rep.DHInfo.DHSignedData)
	if err != nil {
		return none, nil, err
	}
	if !sd.EContentType.Equal(OIDDHKeyData) {
		return none, nil, fmt.Errorf("pkinit: the KDC's signed data is %s, not id-pkinit-DHKeyData", sd.EContentType)
	}
	certs, err := sd.Verify()
	if err != nil {
		return none, nil, err
	}
	var info KDCDHKeyInfo
	if err := info.Unmarshal(sd.EContent); err != nil {
		return none, nil, err
	}
	if info.Nonce != c.nonce {
		return none, nil, fmt.Errorf("pkinit: KDCDHKeyInfo nonce %d is not the request's %d", info.Nonce, c.nonce)
	}
	z, err := c.key.SharedSecret(info.SubjectPublicKey)
	if err != nil {
		return none, nil, err
	}
	if kdf := rep.DHInfo.KDF; kdf != nil {
		if _, ok := kdfHash(kdf); !ok {
			return none, nil, fmt.Errorf("pkinit: the KDC chose KDF %s, which this client does not implement", kdf)
		}
	}
	var key krb5.EncryptionKey
	if rep.DHInfo.ServerDHNonce != nil && rep.DHInfo.KDF == nil {
		key, err = OctetString2Key(in.EType, z, nil, rep.DHInfo.ServerDHNonce)
	} else {
		key, err = replyKey(rep.DHInfo.KDF, z, in.EType, in.Client, in.Server, in.ASReq, paValue)
	}
	return key, certs, err
}

// NewKX makes the PA_PKINIT_KX of RFC 6112 7 (mandatory for anonymous
// PKINIT): a random KDC contribution key encrypted in the reply key
// (usage 44), and the ticket session key KRB-FX-CF2(contribution,
// reply key, "PKINIT", "KEYEXCHANGE": upper case, as MIT computes it),
// which proves to the client that
// the KDC knew the reply key.
func NewKX(rand io.Reader, replyKey *kcrypto.Key, opt kcrypto.Options) (paValue []byte, session *kcrypto.Key, err error) {
	contrib, err := kcrypto.RandomKey(replyKey.EType(), rand, opt)
	if err != nil {
		return nil, nil, err
	}
	ek := contrib.EncryptionKey()
	plain, err := ek.Marshal()
	if err != nil {
		return nil, nil, err
	}
	ed, err := replyKey.EncryptData(rand, kcrypto.UsagePKINITKX, plain, 0, false)
	if err != nil {
		return nil, nil, err
	}
	if paValue, err = ed.Marshal(); err != nil {
		return nil, nil, err
	}
	session, err = kcrypto.CF2(contrib, replyKey, "PKINIT", "KEYEXCHANGE")
	return paValue, session, err
}

// ParseKX is the client half of NewKX: the session key the ticket must carry.
func ParseKX(paValue []byte, replyKey *kcrypto.Key, opt kcrypto.Options) (*kcrypto.Key, error) {
	var ed krb5.EncryptedData
	if err := ed.Unmarshal(paValue); err != nil {
		return nil, err
	}
	plain, err := replyKey.DecryptData(kcrypto.UsagePKINITKX, ed)
	if err != nil {
		return nil, fmt.Errorf("pkinit: PA-PKINIT-KX does not decrypt with the reply key: %w", err)
	}
	var ek krb5.EncryptionKey
	if err := ek.Unmarshal(plain); err != nil {
		return nil, err
	}
	contrib, err := kcrypto.NewKey(ek, opt)
	if err != nil {
		return nil, err
	}
	return kcrypto.CF2(contrib, replyKey, "PKINIT", "KEYEXCHANGE")
}

// UnsignedAuthPack wraps an AuthPack for anonymous PKINIT as MIT krb5
// and Heimdal do: ContentInfo{id-pkinit-authData, [0] OCTET STRING}.
func UnsignedAuthPack(authPack []byte) []byte {
	var b cryptobyte.Builder
	b.AddASN1OctetString(authPack)
	return cms.MarshalContentInfo(OIDAuthData, b.BytesOrPanic())
}

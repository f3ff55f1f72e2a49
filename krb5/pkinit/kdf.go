package pkinit

import (
	"crypto"
	"crypto/sha1"
	_ "crypto/sha256" // registers SHA-256 for crypto.Hash.New
	_ "crypto/sha512" // registers SHA-384 and SHA-512
	"encoding/binary"
	"fmt"

	"github.com/warden-auth/warden/internal/der"
	"github.com/warden-auth/warden/krb5"
	"github.com/warden-auth/warden/krb5/kcrypto"
	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// KDFs lists the RFC 8636 KDFs Warden implements, in the KDC's order of
// preference (the client's order wins when it lists several).
var KDFs = []der.OID{OIDKDFSHA256, OIDKDFSHA512, OIDKDFSHA384, OIDKDFSHA1}

func kdfHash(oid der.OID) (crypto.Hash, bool) {
	switch {
	case oid.Equal(OIDKDFSHA1):
		return crypto.SHA1, true
	case oid.Equal(OIDKDFSHA256):
		return crypto.SHA256, true
	case oid.Equal(OIDKDFSHA384):
		return crypto.SHA384, true
	case oid.Equal(OIDKDFSHA512):
		return crypto.SHA512, true
	}
	return 0, false
}

// ChooseKDF returns the first KDF of the client's supportedKDFs that
// Warden implements, or nil (then octetstring2key is used, RFC 4556).
func ChooseKDF(supported []der.OID) der.OID {
	for _, s := range supported {
		if _, ok := kdfHash(s); ok {
			return s
		}
	}
	return nil
}

// keyBytes is the random-to-key input length of etype: every enctype
// Warden keeps (AES-SHA1, AES-SHA2, RC4) has random-to-key = identity
// over the key length.
func keyBytes(etype krb5.EncType) (int, error) {
	n := kcrypto.KeySize(etype)
	if n == 0 {
		return 0, fmt.Errorf("pkinit: no key derivation for enctype %d", int32(etype))
	}
	return n, nil
}

// OctetString2Key is RFC 4556 3.2.3.1's reply-key derivation:
// random-to-key(K-truncate(SHA1(0|x) | SHA1(1|x) | ...)) with
// x = Z | clientDHNonce | serverDHNonce.
func OctetString2Key(etype krb5.EncType, z, clientNonce, serverNonce []byte) (krb5.EncryptionKey, error) {
	n, err := keyBytes(etype)
	if err != nil {
		return krb5.EncryptionKey{}, err
	}
	out := make([]byte, 0, n+sha1.Size)
	for c := byte(0); len(out) < n; c++ {
		h := sha1.New()
		h.Write([]byte{c})
		h.Write(z)
		h.Write(clientNonce)
		h.Write(serverNonce)
		out = h.Sum(out)
	}
	return krb5.EncryptionKey{KeyType: etype, KeyValue: out[:n]}, nil
}

// KDFInput is what the RFC 8636 KDF binds the reply key to.
type KDFInput struct {
	KDF     der.OID
	EType   krb5.EncType
	Z       []byte
	Client  KRB5PrincipalName // cname and realm of the AS-REQ body
	Server  KRB5PrincipalName // sname and realm of the AS-REQ body
	ASReq   []byte            // the DER AS-REQ as sent
	PKASRep []byte            // the DER PA-PK-AS-REP value as sent
}

// KDF is RFC 8636's one-step hash KDF (NIST SP 800-56A 5.8.1):
// K(i) = H(counter_i | Z | OtherInfo) with OtherInfo binding the KDF,
// both principals, the enctype, the AS-REQ and the PA-PK-AS-REP.
func KDF(in KDFInput) (krb5.EncryptionKey, error) {
	h, ok := kdfHash(in.KDF)
	if !ok {
		return krb5.EncryptionKey{}, fmt.Errorf("pkinit: unknown KDF %s", in.KDF)
	}
	n, err := keyBytes(in.EType)
	if err != nil {
		return krb5.EncryptionKey{}, err
	}
	other, err := otherInfo(in)
	if err != nil {
		return krb5.EncryptionKey{}, err
	}
	out := make([]byte, 0, n+h.Size())
	var ctr [4]byte
	for i := uint32(1); len(out) < n; i++ {
		binary.BigEndian.PutUint32(ctr[:], i)
		d := h.New()
		d.Write(ctr[:])
		d.Write(in.Z)
		d.Write(other)
		out = d.Sum(out)
	}
	return krb5.EncryptionKey{KeyType: in.EType, KeyValue: out[:n]}, nil
}

// otherInfo encodes RFC 8636 3's OtherInfo with PkinitSuppPubInfo.
func otherInfo(in KDFInput) ([]byte, error) {
	u, err := in.Client.Marshal()
	if err != nil {
		return nil, err
	}
	v, err := in.Server.Marshal()
	if err != nil {
		return nil, err
	}
	var sp cryptobyte.Builder
	sp.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		explicit(b, 0, func(b *cryptobyte.Builder) { b.AddASN1Int64(int64(in.EType)) })
		explicit(b, 1, func(b *cryptobyte.Builder) { b.AddASN1OctetString(in.ASReq) })
		explicit(b, 2, func(b *cryptobyte.Builder) { b.AddASN1OctetString(in.PKASRep) })
	})
	supp, err := sp.Bytes()
	if err != nil {
		return nil, err
	}
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { der.AddOID(b, in.KDF) })
		b.AddASN1(der.Context(0), func(b *cryptobyte.Builder) { b.AddASN1OctetString(u) })
		b.AddASN1(der.Context(1), func(b *cryptobyte.Builder) { b.AddASN1OctetString(v) })
		b.AddASN1(der.Context(2), func(b *cryptobyte.Builder) { b.AddASN1OctetString(supp) })
	})
	return b.Bytes()
}

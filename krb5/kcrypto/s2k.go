package kcrypto

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/pbkdf2"
	"crypto/rc4"
	"encoding/binary"
	"fmt"
	"unicode/utf16"

	//lint:ignore SA1019 the RC4-HMAC key is the NT hash, which is MD4 by definition (RFC 4757)
	"golang.org/x/crypto/md4"

	"github.com/warden-auth/warden/krb5"
)

// StringToKey derives a long-term key from a password. For the AES
// enctypes salt is the principal's salt (ETYPE-INFO2) and s2kparams the
// optional 4-byte big-endian iteration count; rc4-hmac ignores both.
func StringToKey(e krb5.EncType, password, salt string, s2kparams []byte, opt Options) (*Key, error) {
	if err := checkEType(e, opt); err != nil {
		return nil, err
	}
	if e == krb5.ETypeRC4HMAC {
		return newKey(e, ntHash(password)), nil
	}
	p := profiles[e]
	iter := p.defaultIt
	if s2kparams != nil {
		if len(s2kparams) != 4 {
			return nil, &krb5.Error{Code: krb5.KDCErrPreauthFailed,
				Reason: fmt.Sprintf("s2kparams for %v must be 4 bytes, got %d", e, len(s2kparams))}
		}
		iter = binary.BigEndian.Uint32(s2kparams)
		if iter == 0 && !p.sha2 {
			// RFC 3962: 0 stands for 2^32, which no one can compute.
			return nil, &krb5.Error{Code: krb5.KDCErrPreauthFailed, Reason: "s2kparams asks for 2^32 iterations"}
		}
	}
	if opt.MaxIterations > 0 && iter > opt.MaxIterations {
		return nil, &krb5.Error{Code: krb5.KDCErrPreauthFailed,
			Reason: fmt.Sprintf("the KDC asks for %d string-to-key iterations, more than the allowed %d", iter, opt.MaxIterations)}
	}
	var key []byte
	if p.sha2 {
		saltp := append(append([]byte(e.String()), 0), salt...)
		tkey, err := pbkdf2.Key(p.newHash, password, saltp, int(iter), p.keyLen)
		if err != nil {
			return nil, fmt.Errorf("kcrypto: string-to-key: %w", err)
		}
		key = kdfHMACSHA2(p.newHash, tkey, []byte("kerberos"), nil, p.keyLen)
	} else {
		tkey, err := pbkdf2.Key(p.newHash, password, []byte(salt), int(iter), p.keyLen)
		if err != nil {
			return nil, fmt.Errorf("kcrypto: string-to-key: %w", err)
		}
		key = dr(tkey, []byte("kerberos"), p.keyLen)
	}
	return newKey(e, key), nil
}

// ntHash is MD4(UTF-16LE(password)), the RC4-HMAC key and NT hash.
func ntHash(password string) []byte {
	u := utf16.Encode([]rune(password))
	b := make([]byte, 2*len(u))
	for i, c := range u {
		binary.LittleEndian.PutUint16(b[2*i:], c)
	}
	h := md4.New()
	h.Write(b)
	return h.Sum(nil)
}

// rc4MessageType maps a key usage to RFC 4757's message type T.
func rc4MessageType(u Usage) uint32 {
	switch u {
	case 3:
		return 8
	case 9:
		return 8
	case 23:
		return 13
	}
	return uint32(u)
}

func rc4UsageKey(key []byte, u Usage) []byte {
	var t [4]byte
	binary.LittleEndian.PutUint32(t[:], rc4MessageType(u))
	m := hmac.New(md5.New, key)
	m.Write(t[:])
	return m.Sum(nil)
}

func rc4Encrypt(k1, conf, plaintext []byte) []byte {
	data := append(append([]byte(nil), conf...), plaintext...)
	m := hmac.New(md5.New, k1)
	m.Write(data)
	cksum := m.Sum(nil)
	m = hmac.New(md5.New, k1)
	m.Write(cksum)
	k3 := m.Sum(nil)
	c, _ := rc4.NewCipher(k3)
	out := make([]byte, 16+len(data))
	copy(out, cksum)
	c.XORKeyStream(out[16:], data)
	return out
}

func rc4Decrypt(k1, ciphertext []byte) ([]byte, bool) {
	cksum := ciphertext[:16]
	m := hmac.New(md5.New, k1)
	m.Write(cksum)
	k3 := m.Sum(nil)
	c, _ := rc4.NewCipher(k3)
	data := make([]byte, len(ciphertext)-16)
	c.XORKeyStream(data, ciphertext[16:])
	m = hmac.New(md5.New, k1)
	m.Write(data)
	if !hmac.Equal(m.Sum(nil), cksum) {
		return nil, false
	}
	return data[8:], true
}

// rc4Checksum is the hmac-md5 (-138) checksum of RFC 4757, used for PAC
// signatures with RC4 keys.
func rc4Checksum(key []byte, u Usage, data []byte) []byte {
	m := hmac.New(md5.New, key)
	m.Write([]byte("signaturekey\x00"))
	ksign := m.Sum(nil)
	var t [4]byte
	binary.LittleEndian.PutUint32(t[:], rc4MessageType(u))
	h := md5.New()
	h.Write(t[:])
	h.Write(data)
	m = hmac.New(md5.New, ksign)
	m.Write(h.Sum(nil))
	return m.Sum(nil)
}

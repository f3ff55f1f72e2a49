package kcrypto

import (
	"bytes"
	"crypto/rand"
	"testing"

	"github.com/warden-auth/warden/krb5"
)

// AppendDecrypt and AppendChecksum give what Decrypt and Checksum give,
// after what dst held; a failed decryption leaves dst's length and no
// plaintext in its spare room.
func TestAppendDecryptAndChecksum(t *testing.T) {
	eachRandomKey(t, func(t *testing.T, key *Key) {
		for _, n := range []int{0, 1, 15, 16, 17, 40, 300} {
			plain := bytes.Repeat([]byte{0x5a}, n)
			ct, err := key.Encrypt(rand.Reader, 1, plain)
			if err != nil {
				t.Fatal(err)
			}
			prefix := []byte("kept")
			for _, dst := range [][]byte{append([]byte(nil), prefix...), append(make([]byte, 0, 512), prefix...)} {
				got, err := key.AppendDecrypt(dst, 1, ct)
				if err != nil || !bytes.Equal(got, append(append([]byte(nil), prefix...), plain...)) {
					t.Fatalf("%d bytes: AppendDecrypt = %x, %v", n, got, err)
				}
			}
			bad := bytes.Clone(ct)
			bad[len(bad)-1] ^= 1
			dst := append(make([]byte, 0, 512), prefix...)
			got, err := key.AppendDecrypt(dst, 1, bad)
			if err == nil || !bytes.Equal(got, prefix) {
				t.Fatalf("%d bytes, tampered: AppendDecrypt = %x, %v", n, got, err)
			}
			if spare := dst[len(prefix):cap(dst)]; bytes.Contains(spare, []byte{0x5a, 0x5a}) && n >= 2 {
				t.Fatalf("%d bytes, tampered: plaintext left in dst's spare capacity", n)
			}
			c, err := key.Checksum(17, plain)
			if err != nil {
				t.Fatal(err)
			}
			if got := key.AppendChecksum(bytes.Clone(prefix), 17, plain); !bytes.Equal(got, append(bytes.Clone(prefix), c.Checksum...)) {
				t.Fatalf("%d bytes: AppendChecksum = %x, want %x after the prefix", n, got, c.Checksum)
			}
		}
	})
}

// eachRandomKey runs f as a subtest with a random key of each enctype.
func eachRandomKey(t *testing.T, f func(t *testing.T, key *Key)) {
	for _, e := range []krb5.EncType{krb5.ETypeAES128CTSHMACSHA196, krb5.ETypeAES256CTSHMACSHA196,
		krb5.ETypeAES128CTSHMACSHA256, krb5.ETypeAES256CTSHMACSHA384, krb5.ETypeRC4HMAC} {
		t.Run(e.String(), func(t *testing.T) {
			key, err := RandomKey(e, rand.Reader, Options{AllowRC4: true})
			if err != nil {
				t.Fatal(err)
			}
			f(t, key)
		})
	}
}

// RandomEncryptionKeyIn puts the key in buf's memory when it has room,
// and in memory of its own otherwise; both are fresh random keys.
func TestRandomEncryptionKeyIn(t *testing.T) {
	for _, e := range []krb5.EncType{krb5.ETypeAES128CTSHMACSHA196, krb5.ETypeAES256CTSHMACSHA384, krb5.ETypeRC4HMAC} {
		var mem [32]byte
		k, err := RandomEncryptionKeyIn(mem[:0], e, rand.Reader, Options{AllowRC4: true})
		if err != nil || k.KeyType != e || len(k.KeyValue) != KeySize(e) || &k.KeyValue[0] != &mem[0] {
			t.Fatalf("%v: key %v (%d bytes), %v; in buf: %v", e, k.KeyType, len(k.KeyValue), err, err == nil && &k.KeyValue[0] == &mem[0])
		}
		if bytes.Equal(k.KeyValue, make([]byte, KeySize(e))) {
			t.Fatalf("%v: zero key", e)
		}
		small := make([]byte, 0, 4)
		k2, err := RandomEncryptionKeyIn(small, e, rand.Reader, Options{AllowRC4: true})
		if err != nil || len(k2.KeyValue) != KeySize(e) || bytes.Equal(k2.KeyValue, k.KeyValue) {
			t.Fatalf("%v: with a small buf: %x, %v", e, k2.KeyValue, err)
		}
	}
	if _, err := RandomEncryptionKeyIn(nil, krb5.ETypeRC4HMAC, rand.Reader, Options{}); err == nil {
		t.Error("RC4 without AllowRC4 accepted")
	}
}

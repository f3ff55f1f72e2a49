// Package kcrypto implements the Kerberos cryptosystem (RFC 3961) for the
// enctypes Warden supports: aes128/aes256-cts-hmac-sha1-96 (RFC 3962),
// aes128-cts-hmac-sha256-128 and aes256-cts-hmac-sha384-192 (RFC 8009),
// and rc4-hmac (RFC 4757) only when a caller explicitly allows it.
//
// A *Key is immutable and safe for concurrent use. It derives its
// per-usage keys (Ke, Ki, Kc) and AES key schedules once and caches them,
// because the KDC uses the same krbtgt and service keys for every request
// and re-deriving them would dominate the hot path.
package kcrypto

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/binary"
	"fmt"
	"hash"
	"io"
	"sync"
	"sync/atomic"

	"github.com/warden-auth/warden/krb5"
)

// Usage is an RFC 3961 key usage number.
type Usage uint32

// Key usage numbers used by Warden (RFC 4120 7.5.1, RFC 4121, RFC 6113,
// RFC 6112, MS-PAC).
const (
	UsageASReqPAEncTimestamp      Usage = 1
	UsageTicket                   Usage = 2
	UsageASRepEncPart             Usage = 3
	UsageTGSReqAuthDataSessionKey Usage = 4
	UsageTGSReqAuthDataSubkey     Usage = 5
	UsageTGSReqAuthCksum          Usage = 6
	UsageTGSReqAuthenticator      Usage = 7
	UsageTGSRepEncPartSessionKey  Usage = 8
	UsageTGSRepEncPartSubkey      Usage = 9
	UsageAPReqAuthCksum           Usage = 10
	UsageAPReqAuthenticator       Usage = 11
	UsageAPRepEncPart             Usage = 12
	UsageKrbPriv                  Usage = 13
	UsageKrbCred                  Usage = 14
	UsageKrbSafeCksum             Usage = 15
	UsagePACCredentials           Usage = 16
	UsagePACSignature             Usage = 17
	UsageGSSAcceptorSeal          Usage = 22
	UsageGSSAcceptorSign          Usage = 23
	UsageGSSInitiatorSeal         Usage = 24
	UsageGSSInitiatorSign         Usage = 25
	UsagePKINITKX                 Usage = 44
	UsageFastReqChecksum          Usage = 50
	UsageFastEnc                  Usage = 51
	UsageFastRep                  Usage = 52
	UsageFastFinished             Usage = 53
	UsageEncChallengeClient       Usage = 54
	UsageEncChallengeKDC          Usage = 55
	UsageASReq                    Usage = 56
)

// Options are the caller's crypto policy.
type Options struct {
	// AllowRC4 permits rc4-hmac (23). It is off by default: RC4 keys are the
	// NT hash, so they exist only for NTLM-era compatibility.
	AllowRC4 bool
	// MaxIterations caps the string-to-key iteration count a peer may ask
	// for in s2kparams (0 = no cap). Callers should not set it below 50000.
	MaxIterations uint32
}

// profile describes one enctype.
type profile struct {
	etype     krb5.EncType
	cksum     krb5.ChecksumType
	keyLen    int // key and seed length in bytes
	macLen    int // truncated HMAC length
	kcLen     int // checksum key length (RFC 8009: 16/24)
	kiLen     int
	sha2      bool
	newHash   func() hash.Hash
	defaultIt uint32
}

var profiles = map[krb5.EncType]*profile{
	krb5.ETypeAES128CTSHMACSHA196: {etype: 17, cksum: krb5.CksumHMACSHA196AES128, keyLen: 16, macLen: 12, kcLen: 16, kiLen: 16, newHash: sha1.New, defaultIt: 4096},
	krb5.ETypeAES256CTSHMACSHA196: {etype: 18, cksum: krb5.CksumHMACSHA196AES256, keyLen: 32, macLen: 12, kcLen: 32, kiLen: 32, newHash: sha1.New, defaultIt: 4096},
	krb5.ETypeAES128CTSHMACSHA256: {etype: 19, cksum: krb5.CksumHMACSHA256128AES128, keyLen: 16, macLen: 16, kcLen: 16, kiLen: 16, sha2: true, newHash: sha256.New, defaultIt: 32768},
	krb5.ETypeAES256CTSHMACSHA384: {etype: 20, cksum: krb5.CksumHMACSHA384192AES256, keyLen: 32, macLen: 24, kcLen: 24, kiLen: 24, sha2: true, newHash: sha512.New384, defaultIt: 32768},
}

// Supported reports whether e is implemented (rc4-hmac counts, though it
// still needs Options.AllowRC4).
func Supported(e krb5.EncType) bool {
	_, ok := profiles[e]
	return ok || e == krb5.ETypeRC4HMAC
}

// ChecksumTypeFor returns the mandatory checksum type of enctype e.
func ChecksumTypeFor(e krb5.EncType) (krb5.ChecksumType, bool) {
	if p, ok := profiles[e]; ok {
		return p.cksum, true
	}
	if e == krb5.ETypeRC4HMAC {
		return krb5.CksumHMACMD5, true
	}
	return 0, false
}

// KeySize returns the key length of enctype e in bytes.
func KeySize(e krb5.EncType) int {
	if p, ok := profiles[e]; ok {
		return p.keyLen
	}
	if e == krb5.ETypeRC4HMAC {
		return 16
	}
	return 0
}

func checkEType(e krb5.EncType, opt Options) error {
	if _, ok := profiles[e]; ok {
		return nil
	}
	switch e {
	case krb5.ETypeRC4HMAC:
		if opt.AllowRC4 {
			return nil
		}
		return &krb5.Error{Code: krb5.KDCErrETypeNoSupp,
			Reason: "rc4-hmac (23) is disabled",
			Hint:   "allow rc4-hmac only for legacy clients that cannot use AES"}
	case krb5.ETypeDESCBCCRC, krb5.ETypeDESCBCMD5, krb5.ETypeDES3CBCSHA1:
		return &krb5.Error{Code: krb5.KDCErrETypeNoSupp,
			Reason: fmt.Sprintf("%v (%d) is a broken single/triple-DES enctype and is not supported", e, int32(e)),
			Hint:   "configure the peer for aes256-cts-hmac-sha1-96 or aes256-cts-hmac-sha384-192"}
	}
	return &krb5.Error{Code: krb5.KDCErrETypeNoSupp, Reason: fmt.Sprintf("enctype %v is not supported", e)}
}

// derived holds the encryption keys derived for one usage.
type derived struct {
	ke    cipher.Block
	ki    []byte
	rc4k1 []byte // RC4: HMAC-MD5(K, T(usage))
}

// Key is a Kerberos key with its cached per-usage derivations. Encryption
// keys (Ke, Ki) and checksum keys (Kc) are derived separately and only
// when used, since a fresh session key typically needs only a few.
type Key struct {
	etype krb5.EncType
	key   []byte
	p     *profile // nil for RC4
	// Ke, Ki per usage and Kc per usage. Held by value in the cache's
	// slice, so a long-lived key (a KDC caches one per principal) is few
	// objects for the garbage collector to visit.
	enc usageCache[derived]
	cks usageCache[[]byte]

	baseOnce sync.Once
	base     cipher.Block // AES schedule of key, for RFC 3961 DR
}

// NewKey wraps k. The key bytes are copied.
func NewKey(k krb5.EncryptionKey, opt Options) (*Key, error) {
	if err := checkEType(k.KeyType, opt); err != nil {
		return nil, err
	}
	want := KeySize(k.KeyType)
	if len(k.KeyValue) != want {
		return nil, &krb5.Error{Code: krb5.KRBAPErrBadIntegrity,
			Reason: fmt.Sprintf("%v key must be %d bytes, got %d", k.KeyType, want, len(k.KeyValue))}
	}
	return &Key{etype: k.KeyType, key: append([]byte(nil), k.KeyValue...), p: profiles[k.KeyType]}, nil
}

// EType returns the key's enctype.
func (k *Key) EType() krb5.EncType { return k.etype }

// Bytes returns a copy of the key bytes.
func (k *Key) Bytes() []byte { return append([]byte(nil), k.key...) }

// EncryptionKey returns the wire form of the key.
func (k *Key) EncryptionKey() krb5.EncryptionKey {
	return krb5.EncryptionKey{KeyType: k.etype, KeyValue: k.Bytes()}
}

func (k *Key) derive(u Usage) *derived {
	if d := k.enc.get(u); d != nil {
		return d
	}
	var d derived
	if k.p == nil {
		d.rc4k1 = rc4UsageKey(k.key, u)
	} else {
		ke := k.dk(u, 0xAA, k.p.keyLen)
		d.ke, _ = aes.NewCipher(ke)
		d.ki = k.dk(u, 0x55, k.p.kiLen)
	}
	return k.enc.put(u, d)
}

// checksumKey returns Kc for usage u.
func (k *Key) checksumKey(u Usage) []byte {
	if kc := k.cks.get(u); kc != nil {
		return *kc
	}
	return *k.cks.put(u, k.dk(u, 0x99, k.p.kcLen))
}

// usageCache maps the few usages a key is used for to what was derived
// for them. Reads are lock-free over an immutable slice that inserts
// (rare: once per usage) replace; a KDC holds one per principal key, so
// this is a fraction of sync.Map's size.
type usageCache[V any] struct {
	mu sync.Mutex
	p  atomic.Pointer[[]usageEntry[V]]
}

type usageEntry[V any] struct {
	u Usage
	v V
}

// get returns the stored value for u, or nil. The pointer is into an
// immutable slice (put copies on write), so it stays valid.
func (c *usageCache[V]) get(u Usage) *V {
	if s := c.p.Load(); s != nil {
		for i := range *s {
			if (*s)[i].u == u {
				return &(*s)[i].v
			}
		}
	}
	return nil
}

// put stores v for u unless another goroutine got there first, and
// returns the stored value.
func (c *usageCache[V]) put(u Usage, v V) *V {
	c.mu.Lock()
	defer c.mu.Unlock()
	var old []usageEntry[V]
	if s := c.p.Load(); s != nil {
		old = *s
	}
	for i := range old {
		if old[i].u == u {
			return &old[i].v
		}
	}
	n := make([]usageEntry[V], len(old), len(old)+1)
	copy(n, old)
	n = append(n, usageEntry[V]{u, v})
	c.p.Store(&n)
	return &n[len(n)-1].v
}

// dk derives a key of n bytes from the base key for usage u and the
// suffix byte (0xAA Ke, 0x55 Ki, 0x99 Kc): RFC 3961 DK for the SHA-1
// family, RFC 8009 KDF-HMAC-SHA2 for the SHA-2 family.
func (k *Key) dk(u Usage, suffix byte, n int) []byte {
	var c [5]byte
	binary.BigEndian.PutUint32(c[:4], uint32(u))
	c[4] = suffix
	if k.p.sha2 {
		return kdfHMACSHA2(k.p.newHash, k.key, c[:], nil, n)
	}
	k.baseOnce.Do(func() { k.base, _ = aes.NewCipher(k.key) })
	return drBlock(k.base, foldedUsage(u, suffix), n)
}

// foldedUsages holds n-fold(usage || suffix, 128) for the usages Warden
// uses, computed once: the fold depends only on the constant, and
// computing it per derivation dominated the cost of fresh session keys.
var foldedUsages = sync.OnceValue(func() map[[5]byte][aes.BlockSize]byte {
	m := make(map[[5]byte][aes.BlockSize]byte)
	for u := 0; u < 64; u++ {
		for _, sfx := range []byte{0xAA, 0x55, 0x99} {
			var c [5]byte
			binary.BigEndian.PutUint32(c[:4], uint32(u))
			c[4] = sfx
			m[c] = [aes.BlockSize]byte(nfold(c[:], aes.BlockSize*8))
		}
	}
	return m
})

func foldedUsage(u Usage, suffix byte) []byte {
	var c [5]byte
	binary.BigEndian.PutUint32(c[:4], uint32(u))
	c[4] = suffix
	if f, ok := foldedUsages()[c]; ok {
		return f[:]
	}
	return nfold(c[:], aes.BlockSize*8)
}

// dr is RFC 3961 DR(K, constant) with AES as E, producing n bytes.
func dr(key, constant []byte, n int) []byte {
	block, _ := aes.NewCipher(key)
	in := constant
	if len(in) != aes.BlockSize {
		in = nfold(constant, aes.BlockSize*8)
	}
	return drBlock(block, in, n)
}

// drBlock is DR with the key schedule and the folded constant ready.
func drBlock(block cipher.Block, folded []byte, n int) []byte {
	out := make([]byte, 0, n+aes.BlockSize)
	var buf [aes.BlockSize]byte
	copy(buf[:], folded)
	for len(out) < n {
		block.Encrypt(buf[:], buf[:])
		out = append(out, buf[:]...)
	}
	return out[:n]
}

// kdfHMACSHA2 is RFC 8009 KDF-HMAC-SHA2(key, label, context, n bytes).
func kdfHMACSHA2(h func() hash.Hash, key, label, context []byte, n int) []byte {
	m := hmac.New(h, key)
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], 1)
	m.Write(b[:])
	m.Write(label)
	m.Write([]byte{0})
	m.Write(context)
	binary.BigEndian.PutUint32(b[:], uint32(n*8))
	m.Write(b[:])
	return m.Sum(nil)[:n]
}

// nfold is RFC 3961 n-fold, producing n bits (n a multiple of 8).
func nfold(in []byte, n int) []byte {
	inBits := len(in) * 8
	lcm := inBits * n / gcd(inBits, n)
	buf := make([]byte, lcm/8)
	for i := 0; i < lcm/inBits; i++ {
		rot := rotateRight(in, 13*i)
		copy(buf[i*len(in):], rot)
	}
	out := make([]byte, n/8)
	for off := 0; off < len(buf); off += n / 8 {
		onesComplementAdd(out, buf[off:off+n/8])
	}
	return out
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

func rotateRight(b []byte, bits int) []byte {
	n := len(b) * 8
	bits %= n
	out := make([]byte, len(b))
	for i := 0; i < n; i++ {
		src := (i - bits + n) % n
		if b[src/8]&(0x80>>(src%8)) != 0 {
			out[i/8] |= 0x80 >> (i % 8)
		}
	}
	return out
}

func onesComplementAdd(acc, x []byte) {
	carry := 0
	for i := len(acc) - 1; i >= 0; i-- {
		s := int(acc[i]) + int(x[i]) + carry
		acc[i] = byte(s)
		carry = s >> 8
	}
	for carry != 0 {
		for i := len(acc) - 1; i >= 0 && carry != 0; i-- {
			s := int(acc[i]) + carry
			acc[i] = byte(s)
			carry = s >> 8
		}
	}
}

func integrityError(e krb5.EncType, u Usage, why string) error {
	return &krb5.Error{Code: krb5.KRBAPErrBadIntegrity,
		Reason: fmt.Sprintf("decryption integrity check failed (%v, key usage %d): %s", e, u, why),
		Hint:   "the data was encrypted with a different key (wrong password, stale keytab or kvno) or was altered in transit"}
}

// Encrypt encrypts plaintext for usage u with a random confounder.
func (k *Key) Encrypt(rand io.Reader, u Usage, plaintext []byte) ([]byte, error) {
	conf := make([]byte, k.confounderLen())
	if _, err := io.ReadFull(rand, conf); err != nil {
		return nil, fmt.Errorf("kcrypto: reading confounder: %w", err)
	}
	return k.EncryptWithConfounder(u, plaintext, conf)
}

func (k *Key) confounderLen() int {
	if k.p == nil {
		return 8
	}
	return aes.BlockSize
}

// EncryptWithConfounder encrypts with a caller-chosen confounder; it exists
// for test vectors and must not be used with a fixed confounder otherwise.
func (k *Key) EncryptWithConfounder(u Usage, plaintext, conf []byte) ([]byte, error) {
	if len(conf) != k.confounderLen() {
		return nil, fmt.Errorf("kcrypto: confounder must be %d bytes", k.confounderLen())
	}
	d := k.derive(u)
	if k.p == nil {
		return rc4Encrypt(d.rc4k1, conf, plaintext), nil
	}
	// One buffer: confounder and plaintext, encrypted in place, then the
	// MAC appended (over the plaintext for RFC 3962, over IV and
	// ciphertext for RFC 8009).
	n := len(conf) + len(plaintext)
	out := make([]byte, n, n+k.p.macLen)
	copy(out[copy(out, conf):], plaintext)
	var sum [64]byte
	var mac []byte
	if !k.p.sha2 {
		mac = hmacSum(k.p.newHash, d.ki, sum[:0], out, nil)
	}
	ctsEncrypt(d.ke, out, out)
	if k.p.sha2 {
		mac = hmacSum(k.p.newHash, d.ki, sum[:0], zeroIV[:], out)
	}
	return append(out, mac[:k.p.macLen]...), nil
}

// zeroIV is the all-zero cipher state RFC 8009 includes in its MAC.
var zeroIV [aes.BlockSize]byte

// Decrypt decrypts and verifies ciphertext for usage u, returning the
// plaintext without the confounder.
func (k *Key) Decrypt(u Usage, ciphertext []byte) ([]byte, error) {
	d := k.derive(u)
	if k.p == nil {
		if len(ciphertext) < 16+8 {
			return nil, integrityError(k.etype, u, "ciphertext too short")
		}
		pt, ok := rc4Decrypt(d.rc4k1, ciphertext)
		if !ok {
			return nil, integrityError(k.etype, u, "checksum mismatch")
		}
		return pt, nil
	}
	if len(ciphertext) < aes.BlockSize+k.p.macLen {
		return nil, integrityError(k.etype, u, "ciphertext too short")
	}
	body, mac := ciphertext[:len(ciphertext)-k.p.macLen], ciphertext[len(ciphertext)-k.p.macLen:]
	var sum [64]byte
	if k.p.sha2 {
		if !hmac.Equal(hmacSum(k.p.newHash, d.ki, sum[:0], zeroIV[:], body)[:k.p.macLen], mac) {
			return nil, integrityError(k.etype, u, "checksum mismatch")
		}
	}
	plain := make([]byte, len(body))
	ctsDecrypt(d.ke, plain, body)
	if !k.p.sha2 {
		if !hmac.Equal(hmacSum(k.p.newHash, d.ki, sum[:0], plain, nil)[:k.p.macLen], mac) {
			return nil, integrityError(k.etype, u, "checksum mismatch")
		}
	}
	return plain[aes.BlockSize:], nil
}

// EncryptData encrypts into an EncryptedData carrying this key's enctype.
func (k *Key) EncryptData(rand io.Reader, u Usage, plaintext []byte, kvno uint32, hasKVNO bool) (krb5.EncryptedData, error) {
	c, err := k.Encrypt(rand, u, plaintext)
	if err != nil {
		return krb5.EncryptedData{}, err
	}
	return krb5.EncryptedData{EType: k.etype, KVNO: kvno, HasKVNO: hasKVNO, Cipher: c}, nil
}

// DecryptData decrypts an EncryptedData, refusing one made with another
// enctype than the key's.
func (k *Key) DecryptData(u Usage, ed krb5.EncryptedData) ([]byte, error) {
	if ed.EType != k.etype {
		return nil, &krb5.Error{Code: krb5.KRBAPErrBadIntegrity,
			Reason: fmt.Sprintf("data is encrypted with %v but the key is %v", ed.EType, k.etype),
			Hint:   "the peer used a key this side does not hold; check the enctypes of the account and keytab"}
	}
	return k.Decrypt(u, ed.Cipher)
}

// Checksum computes the enctype's mandatory keyed checksum for usage u.
func (k *Key) Checksum(u Usage, data []byte) (krb5.Checksum, error) {
	if k.p == nil {
		return krb5.Checksum{CksumType: krb5.CksumHMACMD5, Checksum: rc4Checksum(k.key, u, data)}, nil
	}
	var sum [64]byte
	mac := hmacSum(k.p.newHash, k.checksumKey(u), sum[:0], data, nil)
	return krb5.Checksum{CksumType: k.p.cksum, Checksum: append([]byte(nil), mac[:k.p.macLen]...)}, nil
}

// hmacSum appends HMAC(key, a || b) (RFC 2104) to dst. It is what
// crypto/hmac computes, with one hash state reused for the inner and
// outer pass instead of crypto/hmac's two hashes and two pad buffers per
// message: on the KDC's hot path those allocations were a large share of
// the garbage collector's work.
func hmacSum(newHash func() hash.Hash, key, dst, a, b []byte) []byte {
	h := newHash()
	bs := h.BlockSize()
	// One buffer: the inner pad, the outer pad, then room for a digest.
	buf := make([]byte, 2*bs, 2*bs+h.Size())
	ipad, opad := buf[:bs], buf[bs:2*bs]
	if len(key) > bs {
		h.Write(key)
		key = h.Sum(buf[2*bs : 2*bs])
		h.Reset()
	}
	copy(ipad, key)
	copy(opad, key)
	for i := range bs {
		ipad[i] ^= 0x36
		opad[i] ^= 0x5c
	}
	h.Write(ipad)
	h.Write(a)
	h.Write(b)
	inner := h.Sum(buf[2*bs : 2*bs])
	h.Reset()
	h.Write(opad)
	h.Write(inner)
	return h.Sum(dst)
}

// VerifyChecksum checks c over data in constant time.
func (k *Key) VerifyChecksum(u Usage, data []byte, c krb5.Checksum) error {
	want, _ := ChecksumTypeFor(k.etype)
	if c.CksumType != want {
		return &krb5.Error{Code: krb5.KRBAPErrInappCksum,
			Reason: fmt.Sprintf("checksum type %v does not match the %v key (expected %v)", c.CksumType, k.etype, want)}
	}
	got, _ := k.Checksum(u, data)
	if !hmac.Equal(got.Checksum, c.Checksum) {
		return &krb5.Error{Code: krb5.KRBAPErrModified,
			Reason: fmt.Sprintf("%v checksum (key usage %d) does not match: the data was altered or the key is wrong", c.CksumType, u)}
	}
	return nil
}

// PRF is the enctype's pseudo-random function (RFC 3961 / 3962 / 8009 /
// RC4 as used by MIT and Heimdal).
func (k *Key) PRF(data []byte) ([]byte, error) {
	switch {
	case k.p == nil:
		m := hmac.New(sha1.New, k.key)
		m.Write(data)
		return m.Sum(nil), nil
	case k.p.sha2:
		return kdfHMACSHA2(k.p.newHash, k.key, []byte("prf"), data, k.p.newHash().Size()), nil
	default:
		// RFC 3962: SHA-1 truncated to the cipher block, then encrypted
		// with DK(key, "prf"). Every implementation truncates to 16 bytes.
		h := sha1.Sum(data)
		out := make([]byte, aes.BlockSize)
		k.prfBlock().Encrypt(out, h[:aes.BlockSize])
		return out, nil
	}
}

// foldedPRF is n-fold("prf", 128), the DR constant of the RFC 3962 PRF
// key, computed once (folding it per call was most of a FAST armor key's
// cost).
var foldedPRF = sync.OnceValue(func() [aes.BlockSize]byte {
	return [aes.BlockSize]byte(nfold([]byte("prf"), aes.BlockSize*8))
})

// prfBlock returns the AES schedule of DK(key, "prf") (RFC 3962 PRF).
func (k *Key) prfBlock() cipher.Block {
	k.baseOnce.Do(func() { k.base, _ = aes.NewCipher(k.key) })
	f := foldedPRF()
	block, _ := aes.NewCipher(drBlock(k.base, f[:], k.p.keyLen))
	return block
}

// prfPlus is RFC 6113 PRF+: PRF(K, 1|s) | PRF(K, 2|s) | ... truncated to
// n. For the RFC 3962 enctypes the PRF key is derived once for all
// blocks.
func (k *Key) prfPlus(pepper string, n int) ([]byte, error) {
	var block cipher.Block
	if k.p != nil && !k.p.sha2 {
		block = k.prfBlock()
	}
	in := make([]byte, 1+len(pepper))
	copy(in[1:], pepper)
	out := make([]byte, 0, n+sha1.Size)
	for i := 1; len(out) < n; i++ {
		in[0] = byte(i)
		if block != nil {
			h := sha1.Sum(in)
			var o [aes.BlockSize]byte
			block.Encrypt(o[:], h[:aes.BlockSize])
			out = append(out, o[:]...)
			continue
		}
		p, err := k.PRF(in)
		if err != nil {
			return nil, err
		}
		out = append(out, p...)
	}
	return out[:n], nil
}

// PRFPlus is RFC 6113 PRF+ of k with pepper, n bytes long. A CF2 whose
// second key is long-lived (a KDC's view of a client's long-term key)
// can keep that key's PRF+ output instead of recomputing it per request:
// CF2(k1, k2) is PRF+(k1, p1) XOR PRF+(k2, p2), and a shorter PRF+ is a
// prefix of a longer one.
func (k *Key) PRFPlus(pepper string, n int) ([]byte, error) { return k.prfPlus(pepper, n) }

// CF2 is KRB-FX-CF2 (RFC 6113 5.1): combines two keys into one of k1's
// enctype. It underlies the FAST armor, challenge and reply keys.
func CF2(k1, k2 *Key, pepper1, pepper2 string) (*Key, error) {
	n := KeySize(k1.etype)
	a, err := k1.prfPlus(pepper1, n)
	if err != nil {
		return nil, err
	}
	b, err := k2.prfPlus(pepper2, n)
	if err != nil {
		return nil, err
	}
	for i := range a {
		a[i] ^= b[i]
	}
	return &Key{etype: k1.etype, key: a, p: k1.p}, nil
}

// RandomKey makes a fresh key of enctype e from rand.
func RandomKey(e krb5.EncType, rand io.Reader, opt Options) (*Key, error) {
	if err := checkEType(e, opt); err != nil {
		return nil, err
	}
	b := make([]byte, KeySize(e))
	if _, err := io.ReadFull(rand, b); err != nil {
		return nil, fmt.Errorf("kcrypto: reading random key: %w", err)
	}
	return &Key{etype: e, key: b, p: profiles[e]}, nil
}

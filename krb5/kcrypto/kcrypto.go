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
	"slices"
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
	scratch   *scratchPool // HMAC states over newHash, CTS buffers
	defaultIt uint32
}

var profiles = map[krb5.EncType]*profile{
	krb5.ETypeAES128CTSHMACSHA196: {etype: 17, cksum: krb5.CksumHMACSHA196AES128, keyLen: 16, macLen: 12, kcLen: 16, kiLen: 16, newHash: sha1.New, scratch: sha1Scratch, defaultIt: 4096},
	krb5.ETypeAES256CTSHMACSHA196: {etype: 18, cksum: krb5.CksumHMACSHA196AES256, keyLen: 32, macLen: 12, kcLen: 32, kiLen: 32, newHash: sha1.New, scratch: sha1Scratch, defaultIt: 4096},
	krb5.ETypeAES128CTSHMACSHA256: {etype: 19, cksum: krb5.CksumHMACSHA256128AES128, keyLen: 16, macLen: 16, kcLen: 16, kiLen: 16, sha2: true, newHash: sha256.New, scratch: newScratchPool(sha256.New), defaultIt: 32768},
	krb5.ETypeAES256CTSHMACSHA384: {etype: 20, cksum: krb5.CksumHMACSHA384192AES256, keyLen: 32, macLen: 24, kcLen: 24, kiLen: 24, sha2: true, newHash: sha512.New384, scratch: newScratchPool(sha512.New384), defaultIt: 32768},
}

var sha1Scratch = newScratchPool(sha1.New)

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
	ke cipher.Block // nil for RC4
	ki keyBytes     // Ki; for RC4 K1 = HMAC-MD5(K, T(usage))
}

// maxKeyLen is the longest key or derived key of any supported enctype.
const maxKeyLen = 32

// keyBytes is key material held by value, so that a key and what is
// derived from it are not separate heap objects: a KDC keeps one Key per
// cached principal, and the garbage collector visits every object of
// them on each cycle.
type keyBytes struct {
	b [maxKeyLen]byte
	n uint8
}

func newKeyBytes(b []byte) keyBytes {
	var k keyBytes
	k.n = uint8(copy(k.b[:], b))
	return k
}

func (k *keyBytes) bytes() []byte { return k.b[:k.n] }

// Key is a Kerberos key with its cached per-usage derivations. Encryption
// keys (Ke, Ki) and checksum keys (Kc) are derived separately and only
// when used, since a fresh session key typically needs only a few.
type Key struct {
	etype krb5.EncType
	key   keyBytes
	p     *profile // nil for RC4
	// Ke, Ki per usage and Kc per usage, the first few inside the Key.
	enc usageCache[derived]
	cks usageCache[keyBytes]

	// base is the AES schedule of key for RFC 3961 DR. It serves the
	// derivations of a key's first usages and is then dropped (see
	// derive): a KDC caches one Key per principal it has seen, and a
	// schedule nobody uses again would be half a kilobyte and one more
	// object per principal for the garbage collector.
	baseMu      sync.Mutex
	base        cipher.Block
	baseDropped bool // base was dropped: later derivations make their own
}

// baseBlock returns the AES schedule of the key, made when not kept.
// Derivation is rare (once per usage of a key), so a mutex is enough; a
// schedule is safe for concurrent use after it is dropped.
func (k *Key) baseBlock() cipher.Block {
	k.baseMu.Lock()
	defer k.baseMu.Unlock()
	if k.base != nil {
		return k.base
	}
	b, _ := aes.NewCipher(k.key.bytes())
	if !k.baseDropped {
		k.base = b
	}
	return b
}

func newKey(e krb5.EncType, key []byte) *Key {
	return &Key{etype: e, key: newKeyBytes(key), p: profiles[e]}
}

// NewKey wraps k. The key bytes are copied.
func NewKey(k krb5.EncryptionKey, opt Options) (*Key, error) {
	kk := new(Key)
	if err := InitKey(kk, k, opt); err != nil {
		return nil, err
	}
	return kk, nil
}

// InitKey makes dst, a zero Key, the key k, as NewKey does, for a caller
// that keeps many long-lived keys in one allocation of its own (the KDC's
// principal cache: one object per key would be one more object per
// account for the garbage collector to visit). dst must not be shared
// before InitKey returns, and is not changed when it fails.
func InitKey(dst *Key, k krb5.EncryptionKey, opt Options) error {
	if err := checkEType(k.KeyType, opt); err != nil {
		return err
	}
	want := KeySize(k.KeyType)
	if len(k.KeyValue) != want {
		return &krb5.Error{Code: krb5.KRBAPErrBadIntegrity,
			Reason: fmt.Sprintf("%v key must be %d bytes, got %d", k.KeyType, want, len(k.KeyValue))}
	}
	if dst.etype != 0 || dst.key.n != 0 {
		panic("kcrypto: InitKey on a Key in use")
	}
	dst.etype, dst.key, dst.p = k.KeyType, newKeyBytes(k.KeyValue), profiles[k.KeyType]
	return nil
}

// EType returns the key's enctype.
func (k *Key) EType() krb5.EncType { return k.etype }

// Bytes returns a copy of the key bytes.
func (k *Key) Bytes() []byte { return append([]byte(nil), k.key.bytes()...) }

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
		d.ki = newKeyBytes(rc4UsageKey(k.key.bytes(), u))
	} else {
		ke := k.dk(u, 0xAA, k.p.keyLen)
		d.ke, _ = aes.NewCipher(ke)
		d.ki = newKeyBytes(k.dk(u, 0x55, k.p.kiLen))
	}
	got := k.enc.put(u, d)
	if k.p != nil && k.enc.n.Load() == inlineUsages {
		// The usages a key serves are all known by now (see
		// inlineUsages); a later one makes the schedule again.
		k.baseMu.Lock()
		k.base, k.baseDropped = nil, true
		k.baseMu.Unlock()
	}
	return got
}

// checksumKey returns Kc for usage u.
func (k *Key) checksumKey(u Usage) []byte {
	if kc := k.cks.get(u); kc != nil {
		return kc.bytes()
	}
	return k.cks.put(u, newKeyBytes(k.dk(u, 0x99, k.p.kcLen))).bytes()
}

// inlineUsages is how many usages a usageCache holds inside its Key: a
// long-lived key is used for one or two (a client's key in the AS
// exchange: the timestamp and the reply; a service key: tickets, PAC
// checksums), and more spill into a separate slice.
const inlineUsages = 2

// usageCache maps the few usages a key is used for to what was derived
// for them. Reads are lock-free: an entry is written once, before the
// count (or the spill slice, copied on write) that publishes it.
type usageCache[V any] struct {
	n      atomic.Uint32 // entries of inline in use
	inline [inlineUsages]usageEntry[V]
	mu     sync.Mutex
	spill  atomic.Pointer[[]usageEntry[V]]
}

type usageEntry[V any] struct {
	u Usage
	v V
}

// get returns the stored value for u, or nil. The pointer is to an
// entry that is never written again, so it stays valid.
func (c *usageCache[V]) get(u Usage) *V {
	n := c.n.Load()
	for i := range n {
		if c.inline[i].u == u {
			return &c.inline[i].v
		}
	}
	if n < inlineUsages {
		return nil
	}
	if s := c.spill.Load(); s != nil {
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
	if got := c.get(u); got != nil {
		return got
	}
	if n := c.n.Load(); n < inlineUsages {
		c.inline[n] = usageEntry[V]{u, v}
		c.n.Store(n + 1)
		return &c.inline[n].v
	}
	var old []usageEntry[V]
	if s := c.spill.Load(); s != nil {
		old = *s
	}
	n := make([]usageEntry[V], len(old), len(old)+1)
	copy(n, old)
	n = append(n, usageEntry[V]{u, v})
	c.spill.Store(&n)
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
		return kdfHMACSHA2(k.p.newHash, k.key.bytes(), c[:], nil, n)
	}
	f := foldedUsage(u, suffix)
	return drBlock(k.baseBlock(), f[:], n)
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

func foldedUsage(u Usage, suffix byte) [aes.BlockSize]byte {
	var c [5]byte
	binary.BigEndian.PutUint32(c[:4], uint32(u))
	c[4] = suffix
	if f, ok := foldedUsages()[c]; ok {
		return f
	}
	return [aes.BlockSize]byte(nfold(c[:], aes.BlockSize*8))
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
	return k.AppendEncrypt(nil, rand, u, plaintext)
}

// AppendEncrypt appends the encryption of plaintext for usage u, with a
// random confounder, to dst. plaintext may lie in dst[:len(dst)] but not
// in its spare capacity. With room in dst it allocates nothing, which is
// how the KDC encrypts into a reused buffer.
func (k *Key) AppendEncrypt(dst []byte, rand io.Reader, u Usage, plaintext []byte) ([]byte, error) {
	if k.p == nil {
		conf := make([]byte, 8)
		if _, err := io.ReadFull(rand, conf); err != nil {
			return nil, fmt.Errorf("kcrypto: reading confounder: %w", err)
		}
		return append(dst, rc4Encrypt(k.derive(u).ki.bytes(), conf, plaintext)...), nil
	}
	st := k.p.scratch.get()
	defer k.p.scratch.put(st)
	if _, err := io.ReadFull(rand, st.conf[:]); err != nil {
		return nil, fmt.Errorf("kcrypto: reading confounder: %w", err)
	}
	return k.appendEncrypt(st, dst, u, plaintext, st.conf[:]), nil
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
	if k.p == nil {
		return rc4Encrypt(k.derive(u).ki.bytes(), conf, plaintext), nil
	}
	st := k.p.scratch.get()
	defer k.p.scratch.put(st)
	return k.appendEncrypt(st, nil, u, plaintext, conf), nil
}

// appendEncrypt is the AES encryption: confounder and plaintext are
// encrypted in place at the end of dst, then the MAC appended (over the
// plaintext for RFC 3962, over IV and ciphertext for RFC 8009).
func (k *Key) appendEncrypt(st *scratch, dst []byte, u Usage, plaintext, conf []byte) []byte {
	d := k.derive(u)
	n := len(conf) + len(plaintext)
	// Room for the whole digest, which is appended before truncation:
	// out must stay where it is.
	dst = slices.Grow(dst, n+k.p.scratch.size)
	start := len(dst)
	out := dst[start : start+n]
	copy(out[copy(out, conf):], plaintext)
	dst = dst[:start+n]
	if !k.p.sha2 {
		dst = st.hmac(d.ki.bytes(), dst, out, nil)
	}
	ctsEncrypt(d.ke, out, out, &st.cts)
	if k.p.sha2 {
		dst = st.hmac(d.ki.bytes(), dst, zeroIV[:], out)
	}
	return dst[:start+n+k.p.macLen]
}

// zeroIV is the all-zero cipher state RFC 8009 includes in its MAC.
var zeroIV [aes.BlockSize]byte

// Decrypt decrypts and verifies ciphertext for usage u, returning the
// plaintext without the confounder.
func (k *Key) Decrypt(u Usage, ciphertext []byte) ([]byte, error) {
	if k.p == nil {
		return k.decryptRC4(u, ciphertext)
	}
	if len(ciphertext) < aes.BlockSize+k.p.macLen {
		return nil, integrityError(k.etype, u, "ciphertext too short")
	}
	plain := make([]byte, len(ciphertext)-k.p.macLen)
	if err := k.decryptAES(u, plain, ciphertext); err != nil {
		return nil, err
	}
	return plain[aes.BlockSize:], nil
}

// AppendDecrypt is Decrypt appending the plaintext to dst: a caller
// with room there (a buffer on its stack, a pooled one) allocates
// nothing. On failure dst is returned unchanged in length, and nothing
// decrypted is left in its spare capacity.
func (k *Key) AppendDecrypt(dst []byte, u Usage, ciphertext []byte) ([]byte, error) {
	if k.p == nil {
		pt, err := k.decryptRC4(u, ciphertext)
		if err != nil {
			return dst, err
		}
		return append(dst, pt...), nil
	}
	if len(ciphertext) < aes.BlockSize+k.p.macLen {
		return dst, integrityError(k.etype, u, "ciphertext too short")
	}
	n, m := len(dst), len(ciphertext)-k.p.macLen
	dst = slices.Grow(dst, m)[:n+m]
	if err := k.decryptAES(u, dst[n:], ciphertext); err != nil {
		clear(dst[n:])
		return dst[:n], err
	}
	// Drop the confounder.
	copy(dst[n:], dst[n+aes.BlockSize:])
	clear(dst[n+m-aes.BlockSize:])
	return dst[:n+m-aes.BlockSize], nil
}

func (k *Key) decryptRC4(u Usage, ciphertext []byte) ([]byte, error) {
	if len(ciphertext) < 16+8 {
		return nil, integrityError(k.etype, u, "ciphertext too short")
	}
	pt, ok := rc4Decrypt(k.derive(u).ki.bytes(), ciphertext)
	if !ok {
		return nil, integrityError(k.etype, u, "checksum mismatch")
	}
	return pt, nil
}

// decryptAES decrypts ciphertext (at least a block and a MAC long) into
// plain, which is len(ciphertext) less the MAC long, confounder first,
// and checks the MAC.
func (k *Key) decryptAES(u Usage, plain, ciphertext []byte) error {
	d := k.derive(u)
	body, mac := ciphertext[:len(ciphertext)-k.p.macLen], ciphertext[len(ciphertext)-k.p.macLen:]
	st := k.p.scratch.get()
	defer k.p.scratch.put(st)
	var sum [64]byte
	if k.p.sha2 {
		if !hmac.Equal(st.hmac(d.ki.bytes(), sum[:0], zeroIV[:], body)[:k.p.macLen], mac) {
			return integrityError(k.etype, u, "checksum mismatch")
		}
	}
	ctsDecrypt(d.ke, plain, body, &st.cts)
	if !k.p.sha2 {
		if !hmac.Equal(st.hmac(d.ki.bytes(), sum[:0], plain, nil)[:k.p.macLen], mac) {
			return integrityError(k.etype, u, "checksum mismatch")
		}
	}
	return nil
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
	t := krb5.CksumHMACMD5
	if k.p != nil {
		t = k.p.cksum
	}
	return krb5.Checksum{CksumType: t, Checksum: k.AppendChecksum(nil, u, data)}, nil
}

// AppendChecksum is Checksum appending the checksum bytes to dst; their
// type is the one ChecksumTypeFor gives for the key's enctype.
func (k *Key) AppendChecksum(dst []byte, u Usage, data []byte) []byte {
	if k.p == nil {
		if dst == nil {
			return rc4Checksum(k.key.bytes(), u, data)
		}
		return append(dst, rc4Checksum(k.key.bytes(), u, data)...)
	}
	st := k.p.scratch.get()
	defer k.p.scratch.put(st)
	var sum [64]byte
	mac := st.hmac(k.checksumKey(u), sum[:0], data, nil)
	return append(dst, mac[:k.p.macLen]...)
}

// scratchPool holds, per hash, the working state of one MAC or CTS pass:
// a hash for HMAC (RFC 2104) with room for its pads and digests, the
// confounder and the CTS blocks. The HMAC is what crypto/hmac computes,
// with one hash state reused for the inner and outer pass; pooling it
// and the buffers makes an encryption or checksum allocate nothing
// beyond its output, where it used to cost two hashes, two pad buffers
// and a handful of escaped blocks per message: on the KDC's hot path
// (five or more MACs per exchange) those were a large share of the
// garbage collector's work.
type scratchPool struct {
	states sync.Pool
	size   int // digest size
}

type scratch struct {
	h    hash.Hash
	buf  []byte // two pads, then room for two digests
	conf [aes.BlockSize]byte
	cts  ctsScratch
}

func newScratchPool(newHash func() hash.Hash) *scratchPool {
	p := &scratchPool{size: newHash().Size()}
	p.states.New = func() any {
		h := newHash()
		return &scratch{h: h, buf: make([]byte, 2*h.BlockSize()+2*h.Size())}
	}
	return p
}

func (p *scratchPool) get() *scratch { return p.states.Get().(*scratch) }

// put returns st, first wiping what could reveal a key or plaintext.
func (p *scratchPool) put(st *scratch) {
	clear(st.buf)
	st.cts = ctsScratch{}
	st.h.Reset()
	p.states.Put(st)
}

// hmac appends HMAC(key, a || b) to dst.
func (st *scratch) hmac(key, dst, a, b []byte) []byte {
	h := st.h
	h.Reset()
	bs, size := h.BlockSize(), h.Size()
	buf := st.buf
	ipad, opad := buf[:bs], buf[bs:2*bs]
	if len(key) > bs {
		h.Write(key)
		key = h.Sum(buf[2*bs : 2*bs])
		h.Reset()
	}
	copy(ipad, key)
	copy(opad, key)
	clear(ipad[len(key):])
	clear(opad[len(key):])
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
	return append(dst, h.Sum(buf[2*bs+size:2*bs+size])...)
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
		m := hmac.New(sha1.New, k.key.bytes())
		m.Write(data)
		return m.Sum(nil), nil
	case k.p.sha2:
		return kdfHMACSHA2(k.p.newHash, k.key.bytes(), []byte("prf"), data, k.p.newHash().Size()), nil
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
	f := foldedPRF()
	block, _ := aes.NewCipher(drBlock(k.baseBlock(), f[:], k.p.keyLen))
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
	return newKey(k1.etype, a), nil
}

// RandomEncryptionKey makes the wire form of a fresh key of enctype e
// from rand: what a KDC puts in a ticket as the session key, without the
// Key (and its derivation caches) it never uses.
func RandomEncryptionKey(e krb5.EncType, rand io.Reader, opt Options) (krb5.EncryptionKey, error) {
	return RandomEncryptionKeyIn(nil, e, rand, opt)
}

// RandomEncryptionKeyIn is RandomEncryptionKey with the key's bytes in
// buf's memory when its capacity holds them (a KDC keeps a ticket's
// session key in the exchange's pooled memory, wiped when it ends), else
// in memory of their own.
func RandomEncryptionKeyIn(buf []byte, e krb5.EncType, rand io.Reader, opt Options) (krb5.EncryptionKey, error) {
	if err := checkEType(e, opt); err != nil {
		return krb5.EncryptionKey{}, err
	}
	n := KeySize(e)
	b := buf[:0]
	if cap(b) < n {
		b = make([]byte, n)
	}
	b = b[:n]
	if _, err := io.ReadFull(rand, b); err != nil {
		return krb5.EncryptionKey{}, fmt.Errorf("kcrypto: reading random key: %w", err)
	}
	return krb5.EncryptionKey{KeyType: e, KeyValue: b}, nil
}

// RandomKey makes a fresh key of enctype e from rand.
func RandomKey(e krb5.EncType, rand io.Reader, opt Options) (*Key, error) {
	ek, err := RandomEncryptionKey(e, rand, opt)
	if err != nil {
		return nil, err
	}
	return newKey(e, ek.KeyValue), nil
}

// Prefetch has the CPU load the cached schedules that decrypting with
// usage dec and encrypting with usage enc read, and does nothing else:
// a usage not derived yet is skipped, not derived. A KDC with many
// accounts finds a client's key in main memory; asking for its pieces
// together lets their memory latencies overlap, where the exchange would
// otherwise wait for each in turn, with work in between.
//
// scratch, at least aes.BlockSize bytes, is overwritten (a buffer of the
// caller's, so that the call allocates nothing).
func (k *Key) Prefetch(scratch []byte, dec, enc Usage) {
	if k.p == nil || len(scratch) < aes.BlockSize {
		return
	}
	b := scratch[:aes.BlockSize]
	if d := k.enc.get(dec); d != nil {
		d.ke.Decrypt(b, b)
	}
	if d := k.enc.get(enc); d != nil {
		d.ke.Encrypt(b, b)
	}
	clear(b)
}

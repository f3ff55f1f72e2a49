package digest

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"hash"
	"io"
	"sync"
	"time"
)

// Nonces are stateless (RFC 7616 5.4 suggests this shape): the server
// checks its own nonces without keeping a list of those it issued.
//
//	nonce = base64url( issued (8 bytes, Unix ns) | random (8) | MAC (16) )
//	MAC   = HMAC-SHA256(key, label | realm | 0x00 | issued | random)[:16]
//
// The issue time gives expiry (stale=true), the random half makes every
// nonce distinct for the nonce-count tracker, and the MAC, bound to the
// realm, makes nonces unforgeable. Servers sharing the key (several
// proxies behind one name) accept each other's nonces.

const (
	nonceIDLen  = 16
	nonceMACLen = 16
	nonceLen    = nonceIDLen + nonceMACLen
	// NonceKeySize is the size of the key nonces are authenticated with.
	NonceKeySize = 32
	nonceLabel   = "warden digest nonce v1\x00"
)

// nonceID is the authenticated part of a nonce: issue time and random.
type nonceID [nonceIDLen]byte

func (id nonceID) issued() int64 { return int64(binary.BigEndian.Uint64(id[:8])) }

type nonceMaker struct {
	realm string
	macs  sync.Pool // of hash.Hash (HMAC under the key)
}

func newNonceMaker(key []byte, realm string) *nonceMaker {
	k := append([]byte(nil), key...)
	m := &nonceMaker{realm: realm}
	m.macs.New = func() any { return hmac.New(sha256.New, k) }
	return m
}

func (m *nonceMaker) mac(id nonceID, out []byte) []byte {
	h := m.macs.Get().(hash.Hash)
	h.Reset()
	io.WriteString(h, nonceLabel)
	io.WriteString(h, m.realm)
	h.Write([]byte{0})
	h.Write(id[:])
	out = h.Sum(out)
	m.macs.Put(h)
	return out
}

// issue makes a nonce at now.
func (m *nonceMaker) issue(now time.Time, rnd io.Reader) (string, error) {
	var id nonceID
	binary.BigEndian.PutUint64(id[:8], uint64(now.UnixNano()))
	if _, err := io.ReadFull(rnd, id[8:]); err != nil {
		return "", err
	}
	var raw [nonceIDLen + sha256.Size]byte
	copy(raw[:], id[:])
	m.mac(id, raw[nonceIDLen:nonceIDLen])
	return base64.RawURLEncoding.EncodeToString(raw[:nonceLen]), nil
}

// open checks that s is a nonce this maker issued and returns its id.
func (m *nonceMaker) open(s string) (nonceID, bool) {
	var id nonceID
	if len(s) != base64.RawURLEncoding.EncodedLen(nonceLen) {
		return id, false
	}
	var raw [nonceLen]byte
	// Strict: one encoding per nonce, so no two strings share a count.
	if n, err := base64.RawURLEncoding.Strict().Decode(raw[:], []byte(s)); err != nil || n != nonceLen {
		return id, false
	}
	copy(id[:], raw[:nonceIDLen])
	var sum [sha256.Size]byte
	want := m.mac(id, sum[:0])[:nonceMACLen]
	return id, hmac.Equal(want, raw[nonceIDLen:])
}

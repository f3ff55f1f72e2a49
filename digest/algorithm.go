package digest

import (
	"crypto/md5"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"hash"
	"io"
	"strings"
)

// Algorithm is an RFC 7616 algorithm (3.3 "algorithm").
type Algorithm uint8

// Algorithms. The zero value is "none" (an unknown name).
const (
	MD5 Algorithm = iota + 1
	MD5Sess
	SHA256
	SHA256Sess
	SHA512_256
	SHA512_256Sess
)

var algNames = [...]string{
	MD5:            "MD5",
	MD5Sess:        "MD5-sess",
	SHA256:         "SHA-256",
	SHA256Sess:     "SHA-256-sess",
	SHA512_256:     "SHA-512-256",
	SHA512_256Sess: "SHA-512-256-sess",
}

// String is the RFC spelling ("SHA-256-sess").
func (a Algorithm) String() string {
	if a >= MD5 && int(a) < len(algNames) {
		return algNames[a]
	}
	return "unknown"
}

// ParseAlgorithm reads an algorithm token, case-insensitively.
func ParseAlgorithm(s string) (Algorithm, bool) {
	for a := MD5; int(a) < len(algNames); a++ {
		if strings.EqualFold(s, algNames[a]) {
			return a, true
		}
	}
	return 0, false
}

// Valid reports whether a is one of the six algorithms.
func (a Algorithm) Valid() bool { return a >= MD5 && a <= SHA512_256Sess }

// Sess reports a "-sess" variant, whose A1 mixes the nonce and cnonce
// into the hashed credentials.
func (a Algorithm) Sess() bool { return a == MD5Sess || a == SHA256Sess || a == SHA512_256Sess }

// Base is the algorithm without "-sess": the one an H(A1) is stored for.
func (a Algorithm) Base() Algorithm {
	if a.Sess() {
		return a - 1
	}
	return a
}

// IsMD5 reports MD5 or MD5-sess, which servers refuse unless allowed.
func (a Algorithm) IsMD5() bool { return a.Base() == MD5 }

// Size is the length of the hash in bytes (its hex form is twice that).
func (a Algorithm) Size() int {
	if a.IsMD5() {
		return md5.Size
	}
	return 32
}

// New returns the hash function. SHA-512-256 is SHA-512/256 of FIPS 180-4
// (its own initial values), not SHA-512 truncated: RFC 7616 mandates it,
// although the userhash example of its section 3.9.2 was computed with
// truncation.
func (a Algorithm) New() hash.Hash {
	switch a.Base() {
	case MD5:
		return md5.New()
	case SHA512_256:
		return sha512.New512_256()
	}
	return sha256.New()
}

// H is the lowercase hex hash of the parts joined with ":".
func (a Algorithm) H(parts ...string) string {
	h := a.New()
	for i, p := range parts {
		if i > 0 {
			io.WriteString(h, ":")
		}
		io.WriteString(h, p)
	}
	var sum [64]byte
	return hex.EncodeToString(h.Sum(sum[:0]))
}

// HashBody is H(entity-body) for qop=auth-int, lowercase hex.
func (a Algorithm) HashBody(body []byte) string {
	h := a.New()
	h.Write(body)
	var sum [64]byte
	return hex.EncodeToString(h.Sum(sum[:0]))
}

// HA1 is H(username ":" realm ":" password) in lowercase hex: the
// non-sess H(A1), which is what the AA stores (as bytes) per algorithm
// and realm. The -sess variants start from the same value.
func HA1(a Algorithm, username, realm, password string) string {
	return a.H(username, realm, password)
}

// UserHash is H(username ":" realm), what a client sends as the user name
// when the challenge asks for userhash (RFC 7616 3.4.4).
func UserHash(a Algorithm, username, realm string) string {
	return a.H(username, realm)
}

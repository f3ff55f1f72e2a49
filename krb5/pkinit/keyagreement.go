package pkinit

import (
	"crypto/ecdh"
	"fmt"
	"io"
	"math/big"

	"github.com/warden-auth/warden/internal/cms"
	"github.com/warden-auth/warden/internal/der"
	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// Group is a key-agreement group of the PKINIT Diffie-Hellman exchange.
type Group int

// The groups Warden speaks: ECDH on the NIST curves (RFC 5349) and the
// MODP groups 2 and 14 (RFC 2409, RFC 3526) that older clients send.
const (
	ECDHP256 Group = iota + 1
	ECDHP384
	ECDHP521
	MODP2  // 1024-bit Oakley group 2; accepted only if Config allows it
	MODP14 // 2048-bit, MIT's default
)

func (g Group) String() string {
	switch g {
	case ECDHP256:
		return "ECDH P-256"
	case ECDHP384:
		return "ECDH P-384"
	case ECDHP521:
		return "ECDH P-521"
	case MODP2:
		return "DH modp group 2 (1024-bit)"
	case MODP14:
		return "DH modp group 14 (2048-bit)"
	}
	return fmt.Sprintf("group(%d)", int(g))
}

// Key-agreement OIDs.
var (
	OIDDHPublicNumber = der.OID{1, 2, 840, 10046, 2, 1} // dhpublicnumber (X9.42)
	OIDP256           = der.OID{1, 2, 840, 10045, 3, 1, 7}
	OIDP384           = der.OID{1, 3, 132, 0, 34}
	OIDP521           = der.OID{1, 3, 132, 0, 35}
)

// The MODP primes; both groups use generator 2 and q = (p-1)/2.
var (
	modp2Prime  = mustHex("ffffffffffffffffc90fdaa22168c234c4c6628b80dc1cd129024e088a67cc74020bbea63b139b22514a08798e3404ddef9519b3cd3a431b302b0a6df25f14374fe1356d6d51c245e485b576625e7ec6f44c42e9a637ed6b0bff5cb6f406b7edee386bfb5a899fa5ae9f24117c4b1fe649286651ece65381ffffffffffffffff")
	modp14Prime = mustHex("ffffffffffffffffc90fdaa22168c234c4c6628b80dc1cd129024e088a67cc74020bbea63b139b22514a08798e3404ddef9519b3cd3a431b302b0a6df25f14374fe1356d6d51c245e485b576625e7ec6f44c42e9a637ed6b0bff5cb6f406b7edee386bfb5a899fa5ae9f24117c4b1fe649286651ece45b3dc2007cb8a163bf0598da48361c55d39a69163fa8fd24cf5f83655d23dca3ad961c62f356208552bb9ed529077096966d670c354e4abc9804f1746c08ca18217c32905e462e36ce3be39e772c180e86039b2783a2ec07a28fb5c55df06f4c52c9de2bcbf6955817183995497cea956ae515d2261898fa051015728e5a8aacaa68ffffffffffffffff")
	two         = big.NewInt(2)
)

func mustHex(s string) *big.Int {
	v, ok := new(big.Int).SetString(s, 16)
	if !ok {
		panic("pkinit: bad prime constant")
	}
	return v
}

func (g Group) prime() *big.Int {
	switch g {
	case MODP2:
		return modp2Prime
	case MODP14:
		return modp14Prime
	}
	return nil
}

func (g Group) curve() ecdh.Curve {
	switch g {
	case ECDHP256:
		return ecdh.P256()
	case ECDHP384:
		return ecdh.P384()
	case ECDHP521:
		return ecdh.P521()
	}
	return nil
}

func (g Group) curveOID() der.OID {
	switch g {
	case ECDHP256:
		return OIDP256
	case ECDHP384:
		return OIDP384
	case ECDHP521:
		return OIDP521
	}
	return nil
}

// IsEC reports whether g is an elliptic-curve group.
func (g Group) IsEC() bool { return g.curve() != nil }

// PrivateKey is one side's ephemeral key-agreement key.
type PrivateKey struct {
	group Group
	ec    *ecdh.PrivateKey
	x, y  *big.Int // MODP private exponent and public value
}

// modpExponentBits is the private exponent length: twice the groups'
// security strength (RFC 3526 table: 2048-bit ~ 110 bits) with margin,
// so that a 2048-bit exponentiation is not paid for a 2048-bit exponent.
const modpExponentBits = 512

// GenerateKey makes an ephemeral key in group g.
func GenerateKey(rand io.Reader, g Group) (*PrivateKey, error) {
	if c := g.curve(); c != nil {
		k, err := c.GenerateKey(rand)
		if err != nil {
			return nil, err
		}
		return &PrivateKey{group: g, ec: k}, nil
	}
	p := g.prime()
	if p == nil {
		return nil, fmt.Errorf("pkinit: unknown key-agreement group %v", g)
	}
	buf := make([]byte, modpExponentBits/8)
	if _, err := io.ReadFull(rand, buf); err != nil {
		return nil, err
	}
	buf[0] |= 0x80
	x := new(big.Int).SetBytes(buf)
	return &PrivateKey{group: g, x: x, y: new(big.Int).Exp(two, x, p)}, nil
}

// Group returns the key's group.
func (k *PrivateKey) Group() Group { return k.group }

// PublicValue is the content of the subjectPublicKey BIT STRING: an
// uncompressed EC point (RFC 5349) or the DER INTEGER y (RFC 4556
// 3.2.3.1, RFC 3279).
func (k *PrivateKey) PublicValue() []byte {
	if k.ec != nil {
		return k.ec.PublicKey().Bytes()
	}
	var b cryptobyte.Builder
	b.AddASN1BigInt(k.y)
	return b.BytesOrPanic()
}

// SubjectPublicKeyInfo is the DER clientPublicValue of an AuthPack.
func (k *PrivateKey) SubjectPublicKeyInfo() []byte {
	var alg cms.AlgorithmIdentifier
	if k.ec != nil {
		var b cryptobyte.Builder
		der.AddOID(&b, k.group.curveOID())
		alg = cms.AlgorithmIdentifier{Algorithm: cms.OIDECPublicKey, Parameters: b.BytesOrPanic()}
	} else {
		alg = cms.AlgorithmIdentifier{Algorithm: OIDDHPublicNumber, Parameters: DomainParameters(k.group)}
	}
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		alg.Add(b)
		b.AddASN1BitString(k.PublicValue())
	})
	return b.BytesOrPanic()
}

// DomainParameters is the X9.42 DomainParameters SEQUENCE {p, g, q} of
// a MODP group (the parameters of dhpublicnumber and of
// TD-DH-PARAMETERS entries).
func DomainParameters(g Group) []byte {
	p := g.prime()
	q := new(big.Int).Rsh(p, 1)
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1BigInt(p)
		b.AddASN1BigInt(two)
		b.AddASN1BigInt(q)
	})
	return b.BytesOrPanic()
}

// SharedSecret computes Z with the peer's public value (the
// subjectPublicKey bits): the x-coordinate for ECDH, g^xy mod p
// left-padded to the modulus length for MODP (RFC 4556 3.2.3.1).
func (k *PrivateKey) SharedSecret(peer []byte) ([]byte, error) {
	if k.ec != nil {
		pub, err := k.ec.Curve().NewPublicKey(peer)
		if err != nil {
			return nil, &KeyError{Msg: "the peer's " + k.group.String() + " public key is not a point on the curve", Err: err}
		}
		return k.ec.ECDH(pub)
	}
	p := k.group.prime()
	y, err := parseDHPublic(peer, p)
	if err != nil {
		return nil, err
	}
	z := new(big.Int).Exp(y, k.x, p)
	return z.FillBytes(make([]byte, (p.BitLen()+7)/8)), nil
}

func parseDHPublic(b []byte, p *big.Int) (*big.Int, error) {
	s := cryptobyte.String(b)
	y := new(big.Int)
	if !s.ReadASN1Integer(y) || !s.Empty() {
		return nil, &KeyError{Msg: "the DH public value is not a DER INTEGER"}
	}
	// 1 < y < p-1: rejects the degenerate values that force Z.
	if y.Cmp(big.NewInt(1)) <= 0 || y.Cmp(new(big.Int).Sub(p, big.NewInt(1))) >= 0 {
		return nil, &KeyError{Msg: "the DH public value is out of range"}
	}
	return y, nil
}

// KeyError is a refused key-agreement input (the KDC answers it with
// KDC_ERR_DH_KEY_PARAMETERS_NOT_ACCEPTED and TD-DH-PARAMETERS).
type KeyError struct {
	Msg string
	Err error
}

func (e *KeyError) Error() string {
	if e.Err != nil {
		return "pkinit: " + e.Msg + ": " + e.Err.Error()
	}
	return "pkinit: " + e.Msg
}

// Unwrap returns the cause.
func (e *KeyError) Unwrap() error { return e.Err }

// ParsePublicKeyInfo reads a clientPublicValue: its group and public
// value bits. Unknown curves and non-standard MODP parameters are a
// *KeyError.
func ParsePublicKeyInfo(spki []byte) (Group, []byte, error) {
	s := cryptobyte.String(spki)
	var seq cryptobyte.String
	var alg cms.AlgorithmIdentifier
	var bits cryptobyte.String
	if !s.ReadASN1(&seq, cbasn1.SEQUENCE) || !s.Empty() || !cms.ParseAlgorithmIdentifier(&seq, &alg) ||
		!seq.ReadASN1(&bits, cbasn1.BIT_STRING) || !seq.Empty() || len(bits) < 2 || bits[0] != 0 {
		return 0, nil, &KeyError{Msg: "malformed clientPublicValue"}
	}
	pub := []byte(bits[1:])
	switch {
	case alg.Algorithm.Equal(cms.OIDECPublicKey):
		ps := cryptobyte.String(alg.Parameters)
		var oid der.OID
		if !der.ReadOID(&ps, &oid) || !ps.Empty() {
			return 0, nil, &KeyError{Msg: "EC clientPublicValue without a named curve"}
		}
		for _, g := range []Group{ECDHP256, ECDHP384, ECDHP521} {
			if oid.Equal(g.curveOID()) {
				return g, pub, nil
			}
		}
		return 0, nil, &KeyError{Msg: fmt.Sprintf("elliptic curve %s is not supported (P-256, P-384, P-521 are)", oid)}
	case alg.Algorithm.Equal(OIDDHPublicNumber):
		ps := cryptobyte.String(alg.Parameters)
		var dp cryptobyte.String
		p, g := new(big.Int), new(big.Int)
		if !ps.ReadASN1(&dp, cbasn1.SEQUENCE) || !dp.ReadASN1Integer(p) || !dp.ReadASN1Integer(g) {
			return 0, nil, &KeyError{Msg: "malformed DH domain parameters"}
		}
		if g.Cmp(two) != 0 {
			return 0, nil, &KeyError{Msg: "DH generator is not 2"}
		}
		for _, grp := range []Group{MODP14, MODP2} {
			if p.Cmp(grp.prime()) == 0 {
				return grp, pub, nil
			}
		}
		return 0, nil, &KeyError{Msg: fmt.Sprintf("the %d-bit DH modulus is not one of the well-known groups 2 or 14", p.BitLen())}
	}
	return 0, nil, &KeyError{Msg: fmt.Sprintf("key-agreement algorithm %s is not supported (dhpublicnumber and id-ecPublicKey are)", alg.Algorithm)}
}

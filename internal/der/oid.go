package der

import (
	"slices"
	"strconv"
	"strings"

	"golang.org/x/crypto/cryptobyte"
)

// OID is an OBJECT IDENTIFIER as its arcs. It has the same underlying
// type as encoding/asn1.ObjectIdentifier, so the OIDs crypto/x509 reports
// (UnknownExtKeyUsage, extension IDs) compare with Equal without the
// Kerberos codecs importing the reflection-based package.
type OID []int

// maxOIDArcs bounds a decoded OID; real ones have a dozen arcs at most.
const maxOIDArcs = 64

// Equal reports whether o and p name the same OID.
func (o OID) Equal(p []int) bool { return slices.Equal([]int(o), p) }

// String returns the dotted form, "1.3.6.1.5.2.3.4".
func (o OID) String() string {
	var b strings.Builder
	for i, a := range o {
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(strconv.Itoa(a))
	}
	return b.String()
}

// ReadOID reads an OBJECT IDENTIFIER (X.690 8.19). Arcs must be minimally
// encoded and fit in 31 bits, as encoding/asn1 requires too.
func ReadOID(s *cryptobyte.String, out *OID) bool {
	var c cryptobyte.String
	if !s.ReadASN1(&c, TagOID) || len(c) == 0 {
		return false
	}
	var arcs OID
	for first := true; len(c) > 0; first = false {
		v, ok := readBase128(&c)
		if !ok || len(arcs) >= maxOIDArcs {
			return false
		}
		if first {
			// The first subidentifier holds the first two arcs.
			switch {
			case v < 40:
				arcs = append(arcs, 0, v)
			case v < 80:
				arcs = append(arcs, 1, v-40)
			default:
				arcs = append(arcs, 2, v-80)
			}
			continue
		}
		arcs = append(arcs, v)
	}
	*out = arcs
	return true
}

// readBase128 reads one subidentifier.
func readBase128(c *cryptobyte.String) (int, bool) {
	v := 0
	for i := 0; len(*c) > 0; i++ {
		b := (*c)[0]
		*c = (*c)[1:]
		if i == 0 && b == 0x80 { // not minimal
			return 0, false
		}
		if v > maxArc>>7 {
			return 0, false
		}
		v = v<<7 | int(b&0x7f)
		if b&0x80 == 0 {
			return v, true
		}
	}
	return 0, false // truncated
}

// AddOID appends o as an OBJECT IDENTIFIER. An OID with fewer than two
// arcs, a first arc above 2, or an arc that is negative or above 2^31-1
// (what ReadOID accepts) is a programming error and makes the builder
// fail rather than panic.
func AddOID(b *cryptobyte.Builder, o OID) {
	if len(o) < 2 || o[0] < 0 || o[0] > 2 || (o[0] < 2 && o[1] >= 40) || !arcsInRange(o[1:]) ||
		o[0]*40+o[1] > maxArc {
		b.SetError(errBadOID)
		return
	}
	b.AddASN1(TagOID, func(b *cryptobyte.Builder) {
		addBase128(b, o[0]*40+o[1])
		for _, a := range o[2:] {
			addBase128(b, a)
		}
	})
}

// maxArc is the largest arc (and first subidentifier) either direction
// accepts; addBase128's 5-byte buffer holds 35 bits.
const maxArc = 1<<31 - 1

func arcsInRange(arcs []int) bool {
	for _, a := range arcs {
		if a < 0 || a > maxArc {
			return false
		}
	}
	return true
}

func addBase128(b *cryptobyte.Builder, v int) {
	var tmp [5]byte
	n := len(tmp)
	for {
		n--
		tmp[n] = byte(v & 0x7f)
		if n < len(tmp)-1 {
			tmp[n] |= 0x80
		}
		v >>= 7
		if v == 0 {
			break
		}
	}
	b.AddBytes(tmp[n:])
}

type oidError struct{}

func (oidError) Error() string { return "der: invalid OBJECT IDENTIFIER" }

var errBadOID = oidError{}

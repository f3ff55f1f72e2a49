// Package der is the small DER toolkit under Warden's hand-written ASN.1
// codecs (Kerberos, SPNEGO, PKINIT). Decoding reads through
// golang.org/x/crypto/cryptobyte, which never allocates and bounds every
// read by the input length; encoding appends to one byte slice and patches
// lengths in place, so building a message costs one growing buffer and no
// closures or reflection.
//
// Only low tag numbers (< 31) are supported: every tag the Kerberos family
// of protocols uses fits.
package der

import (
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// Universal tags used by the Kerberos ASN.1 modules.
const (
	TagBoolean         = cbasn1.BOOLEAN
	TagInteger         = cbasn1.INTEGER
	TagBitString       = cbasn1.BIT_STRING
	TagOctetString     = cbasn1.OCTET_STRING
	TagOID             = cbasn1.OBJECT_IDENTIFIER
	TagEnum            = cbasn1.ENUM
	TagUTF8String      = cbasn1.UTF8String
	TagSequence        = cbasn1.SEQUENCE
	TagGeneralizedTime = cbasn1.GeneralizedTime
	TagGeneralString   = cbasn1.Tag(27)
)

// Context returns the constructed context-specific tag [n], the form every
// EXPLICIT field tag in RFC 4120 takes.
func Context(n int) cbasn1.Tag { return cbasn1.Tag(n).Constructed().ContextSpecific() }

// ContextPrimitive returns the primitive context-specific tag [n], used by
// IMPLICIT OCTET STRING fields (PKINIT, SPNEGO).
func ContextPrimitive(n int) cbasn1.Tag { return cbasn1.Tag(n).ContextSpecific() }

// Application returns the constructed application tag [APPLICATION n] that
// wraps each Kerberos message.
func Application(n int) cbasn1.Tag { return cbasn1.Tag(0x40 | n).Constructed() }

// Encoder appends DER to a byte slice. The zero value is ready to use.
// Open writes a tag and a one-byte length placeholder; Close fixes the
// length, moving the content right when the long form is needed.
type Encoder struct {
	buf []byte
}

// NewEncoder returns an encoder that appends to buf (usually buf[:0] of a
// reused or pre-sized slice).
func NewEncoder(buf []byte) *Encoder { return &Encoder{buf: buf} }

// Reset makes the encoder append to buf, forgetting earlier content.
func (e *Encoder) Reset(buf []byte) { e.buf = buf }

// Bytes returns the encoded bytes. They alias the encoder's buffer.
func (e *Encoder) Bytes() []byte { return e.buf }

// Len is the number of bytes written so far.
func (e *Encoder) Len() int { return len(e.buf) }

// Open starts a constructed or primitive element with tag t and returns
// the position to hand to Close.
func (e *Encoder) Open(t cbasn1.Tag) int {
	e.buf = append(e.buf, byte(t), 0)
	return len(e.buf) - 1
}

// Close ends the element whose length byte is at pos.
func (e *Encoder) Close(pos int) {
	n := len(e.buf) - pos - 1
	if n < 0x80 {
		e.buf[pos] = byte(n)
		return
	}
	var w int
	switch {
	case n <= 0xff:
		w = 1
	case n <= 0xffff:
		w = 2
	case n <= 0xffffff:
		w = 3
	default:
		w = 4
	}
	old := len(e.buf)
	for i := 0; i < w; i++ {
		e.buf = append(e.buf, 0)
	}
	copy(e.buf[pos+1+w:], e.buf[pos+1:old])
	e.buf[pos] = 0x80 | byte(w)
	for i := w; i >= 1; i-- {
		e.buf[pos+i] = byte(n)
		n >>= 8
	}
}

// Raw appends already-encoded DER.
func (e *Encoder) Raw(b []byte) { e.buf = append(e.buf, b...) }

func (e *Encoder) header(t cbasn1.Tag, n int) {
	e.buf = append(e.buf, byte(t))
	switch {
	case n < 0x80:
		e.buf = append(e.buf, byte(n))
	case n <= 0xff:
		e.buf = append(e.buf, 0x81, byte(n))
	case n <= 0xffff:
		e.buf = append(e.buf, 0x82, byte(n>>8), byte(n))
	case n <= 0xffffff:
		e.buf = append(e.buf, 0x83, byte(n>>16), byte(n>>8), byte(n))
	default:
		e.buf = append(e.buf, 0x84, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
}

// Int appends an INTEGER in minimal two's-complement form.
func (e *Encoder) Int(v int64) { e.IntTag(TagInteger, v) }

// IntTag appends an integer with tag t (ENUMERATED, implicit tags).
func (e *Encoder) IntTag(t cbasn1.Tag, v int64) {
	n := 1
	for x := v; x > 127 || x < -128; x >>= 8 {
		n++
	}
	e.header(t, n)
	for i := n - 1; i >= 0; i-- {
		e.buf = append(e.buf, byte(v>>(8*uint(i))))
	}
}

// Bool appends a BOOLEAN (DER: 0xff for true).
func (e *Encoder) Bool(v bool) {
	b := byte(0)
	if v {
		b = 0xff
	}
	e.buf = append(e.buf, byte(TagBoolean), 1, b)
}

// OctetString appends an OCTET STRING.
func (e *Encoder) OctetString(b []byte) { e.Primitive(TagOctetString, b) }

// Primitive appends a primitive element with tag t and content b.
func (e *Encoder) Primitive(t cbasn1.Tag, b []byte) {
	e.header(t, len(b))
	e.buf = append(e.buf, b...)
}

// String appends a primitive string element with tag t.
func (e *Encoder) String(t cbasn1.Tag, s string) {
	e.header(t, len(s))
	e.buf = append(e.buf, s...)
}

// GeneralString appends a GeneralString (KerberosString, Realm).
func (e *Encoder) GeneralString(s string) { e.String(TagGeneralString, s) }

// BitString32 appends a 32-bit BIT STRING with no unused bits, the form
// every Kerberos implementation uses for KerberosFlags even though strict
// DER would trim trailing zero bits.
func (e *Encoder) BitString32(v uint32) {
	e.buf = append(e.buf, byte(TagBitString), 5, 0, byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
}

// KerberosTime appends a GeneralizedTime of the form YYYYMMDDHHMMSSZ.
// Fractions are dropped; years outside 0..9999 are clamped.
func (e *Encoder) KerberosTime(t time.Time) {
	t = t.UTC()
	y, mo, d := t.Date()
	h, mi, s := t.Clock()
	if y < 0 {
		y, mo, d, h, mi, s = 0, 1, 1, 0, 0, 0
	} else if y > 9999 {
		y, mo, d, h, mi, s = 9999, 12, 31, 23, 59, 59
	}
	e.buf = append(e.buf, byte(TagGeneralizedTime), 15,
		byte('0'+y/1000), byte('0'+y/100%10), byte('0'+y/10%10), byte('0'+y%10),
		byte('0'+int(mo)/10), byte('0'+int(mo)%10),
		byte('0'+d/10), byte('0'+d%10),
		byte('0'+h/10), byte('0'+h%10),
		byte('0'+mi/10), byte('0'+mi%10),
		byte('0'+s/10), byte('0'+s%10), 'Z')
}

// --- decoding ---

// ReadExplicit reads the explicit context tag [n] and returns its content.
func ReadExplicit(s *cryptobyte.String, n int, out *cryptobyte.String) bool {
	return s.ReadASN1(out, Context(n))
}

// ReadOptionalExplicit reads [n] if it is next; present reports whether it was.
func ReadOptionalExplicit(s *cryptobyte.String, n int, out *cryptobyte.String, present *bool) bool {
	return s.ReadOptionalASN1(out, present, Context(n))
}

// Peek reports whether the next element has tag t.
func Peek(s cryptobyte.String, t cbasn1.Tag) bool { return s.PeekASN1Tag(t) }

// ReadInt64 reads a DER INTEGER that fits in 64 bits. Non-minimal
// encodings are refused, as DER requires.
func ReadInt64(s *cryptobyte.String, out *int64) bool {
	return readIntTag(s, TagInteger, out)
}

func readIntTag(s *cryptobyte.String, t cbasn1.Tag, out *int64) bool {
	var c cryptobyte.String
	if !s.ReadASN1(&c, t) || len(c) == 0 || len(c) > 8 {
		return false
	}
	if len(c) > 1 && ((c[0] == 0 && c[1]&0x80 == 0) || (c[0] == 0xff && c[1]&0x80 != 0)) {
		return false
	}
	v := int64(int8(c[0]))
	for _, b := range c[1:] {
		v = v<<8 | int64(b)
	}
	*out = v
	return true
}

// ReadIntTag reads an integer with tag t (ENUMERATED or an implicit tag).
func ReadIntTag(s *cryptobyte.String, t cbasn1.Tag, out *int64) bool {
	return readIntTag(s, t, out)
}

// ReadInt32 reads an INTEGER in the Int32 range.
func ReadInt32(s *cryptobyte.String, out *int32) bool {
	var v int64
	if !ReadInt64(s, &v) || v < -1<<31 || v > 1<<31-1 {
		return false
	}
	*out = int32(v)
	return true
}

// ReadUInt32 reads an INTEGER in the UInt32 range. A negative value that
// fits in Int32 is taken as its two's-complement bit pattern, because some
// implementations encode nonces and sequence numbers as signed 32-bit.
func ReadUInt32(s *cryptobyte.String, out *uint32) bool {
	var v int64
	if !ReadInt64(s, &v) || v < -1<<31 || v > 1<<32-1 {
		return false
	}
	*out = uint32(v)
	return true
}

// ReadBool reads a BOOLEAN. Any non-zero octet is true (BER senders exist).
func ReadBool(s *cryptobyte.String, out *bool) bool {
	var c cryptobyte.String
	if !s.ReadASN1(&c, TagBoolean) || len(c) != 1 {
		return false
	}
	*out = c[0] != 0
	return true
}

// ReadOctetString reads an OCTET STRING. The result aliases the input.
func ReadOctetString(s *cryptobyte.String, out *[]byte) bool {
	var c cryptobyte.String
	if !s.ReadASN1(&c, TagOctetString) {
		return false
	}
	*out = c
	return true
}

// ReadGeneralString reads a KerberosString. Some peers send UTF8String
// where GeneralString is specified; both are accepted.
func ReadGeneralString(s *cryptobyte.String, out *string) bool {
	return ReadGeneralStringKnown(s, out, nil)
}

// ReadGeneralStringKnown is ReadGeneralString, except that a string equal
// to one of known is that string, not a copy: a KDC decodes its realm's
// name and "krbtgt" in nearly every request, and a copy is an allocation.
func ReadGeneralStringKnown(s *cryptobyte.String, out *string, known []string) bool {
	var c cryptobyte.String
	switch {
	case s.PeekASN1Tag(TagGeneralString):
		if !s.ReadASN1(&c, TagGeneralString) {
			return false
		}
	case s.PeekASN1Tag(TagUTF8String):
		if !s.ReadASN1(&c, TagUTF8String) {
			return false
		}
	default:
		return false
	}
	for _, k := range known {
		if string(c) == k {
			*out = k
			return true
		}
	}
	*out = string(c)
	return true
}

// ReadBitString32 reads a BIT STRING into the leading 32 bits of a word
// (bit 0 = most significant). Shorter strings are zero-extended and longer
// ones keep their first 32 bits, as RFC 4120 asks of receivers.
func ReadBitString32(s *cryptobyte.String, out *uint32) bool {
	var c cryptobyte.String
	if !s.ReadASN1(&c, TagBitString) || len(c) == 0 || c[0] > 7 || (len(c) == 1 && c[0] != 0) {
		return false
	}
	var v uint32
	for i := 0; i < 4; i++ {
		v <<= 8
		if 1+i < len(c) {
			v |= uint32(c[1+i])
		}
	}
	*out = v
	return true
}

// ReadKerberosTime reads a GeneralizedTime of the form YYYYMMDDHHMMSSZ.
// Fractional seconds (sent by a few old peers) are accepted and dropped.
func ReadKerberosTime(s *cryptobyte.String, out *time.Time) bool {
	var c cryptobyte.String
	if !s.ReadASN1(&c, TagGeneralizedTime) || len(c) < 15 || c[len(c)-1] != 'Z' {
		return false
	}
	num := func(i, n int) (int, bool) {
		v := 0
		for _, b := range c[i : i+n] {
			if b < '0' || b > '9' {
				return 0, false
			}
			v = v*10 + int(b-'0')
		}
		return v, true
	}
	y, ok1 := num(0, 4)
	mo, ok2 := num(4, 2)
	d, ok3 := num(6, 2)
	h, ok4 := num(8, 2)
	mi, ok5 := num(10, 2)
	sec, ok6 := num(12, 2)
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60 {
		return false
	}
	if len(c) > 15 {
		frac := c[14 : len(c)-1]
		if frac[0] != '.' || len(frac) < 2 {
			return false
		}
		for _, b := range frac[1:] {
			if b < '0' || b > '9' {
				return false
			}
		}
	}
	*out = time.Date(y, time.Month(mo), d, h, mi, sec, 0, time.UTC)
	return true
}

// SequenceOf calls each for every element of a SEQUENCE OF whose elements
// are read by each itself; it stops at the first false.
func SequenceOf(s *cryptobyte.String, each func(el *cryptobyte.String) bool) bool {
	var seq cryptobyte.String
	if !s.ReadASN1(&seq, TagSequence) {
		return false
	}
	for !seq.Empty() {
		if !each(&seq) {
			return false
		}
	}
	return true
}

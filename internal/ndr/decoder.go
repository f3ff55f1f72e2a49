package ndr

import (
	"encoding/binary"
	"fmt"
	"unicode/utf16"
)

// Decoder reads NDR20 little-endian data from one serialization stream.
// Offsets (for alignment and in errors) count from the first header byte.
type Decoder struct {
	b        []byte // the stream up to the end of the object buffer
	off      int
	field    string           // construct being decoded, for errors
	deferred []func(*Decoder) // pointees of the construct being read
	err      error
}

// Unmarshal decodes one type-serialization-v1 stream whose top-level value
// top reads (usually a single Pointer call, as PAC buffers serialize a
// pointer to their structure). It checks the headers, confines reading to
// the object buffer they declare, reads the deferred pointees, and
// accepts at most the 7 bytes of alignment padding after the value, plus
// at most 7 zero bytes after the object buffer (padding some writers add
// to the enclosing PAC buffer). what names the top-level type in errors.
func Unmarshal(b []byte, what string, top func(d *Decoder)) error {
	d := &Decoder{b: b, field: what}
	if len(b) < HeaderLen {
		return d.errorf("serialization header is %d bytes, need %d", len(b), HeaderLen)
	}
	switch {
	case b[0] != 1:
		return d.errorf("type serialization version %d, want 1", b[0])
	case b[1] == 0x00:
		return d.errorf("big-endian NDR is not supported")
	case b[1] != 0x10:
		return d.errorf("data representation 0x%02x, want 0x10 (little-endian)", b[1])
	case binary.LittleEndian.Uint16(b[2:]) != 8:
		d.off = 2
		return d.errorf("common header length %d, want 8", binary.LittleEndian.Uint16(b[2:]))
	}
	n := binary.LittleEndian.Uint32(b[8:])
	if uint64(n) > uint64(len(b)-HeaderLen) {
		d.off = 8
		return d.errorf("object buffer length %d exceeds the %d bytes present", n, len(b)-HeaderLen)
	}
	end := HeaderLen + int(n)
	d.b = b[:end]
	d.off = HeaderLen
	top(d)
	d.flush()
	if d.err != nil {
		return d.err
	}
	d.field = what
	if rest := end - d.off; rest >= 8 {
		return d.errorf("%d unused bytes at the end of the object buffer", rest)
	}
	if trail := b[end:]; len(trail) >= 8 || !allZero(trail) {
		d.off = end
		return d.errorf("%d bytes after the object buffer", len(trail))
	}
	return nil
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// flush reads the queued pointees depth first; see the package comment.
func (d *Decoder) flush() {
	pending := d.deferred
	d.deferred = nil
	for _, f := range pending {
		if d.err != nil {
			return
		}
		f(d)
		d.flush()
	}
}

func (d *Decoder) errorf(format string, args ...any) error {
	return &Error{Offset: d.off, Field: d.field, Reason: fmt.Sprintf(format, args...)}
}

// Fail records a semantic error (for example a count that disagrees with
// the array it sizes) at the current offset, unless an error is already
// recorded.
func (d *Decoder) Fail(field, format string, args ...any) {
	if d.err == nil {
		d.field = field
		d.err = d.errorf(format, args...)
	}
}

// Err returns the first error, or nil.
func (d *Decoder) Err() error { return d.err }

// Field sets the name that errors report for the reads that follow.
func (d *Decoder) Field(name string) { d.field = name }

// Offset returns the current offset from the start of the stream.
func (d *Decoder) Offset() int { return d.off }

// Remaining returns the bytes left in the object buffer.
func (d *Decoder) Remaining() int { return len(d.b) - d.off }

// take returns the next n bytes, or nil (recording an error) when fewer
// remain or an error is already recorded.
func (d *Decoder) take(n int) []byte {
	if d.err != nil {
		return nil
	}
	if n < 0 || n > len(d.b)-d.off {
		d.err = d.errorf("truncated: need %d bytes, %d remain", n, len(d.b)-d.off)
		return nil
	}
	p := d.b[d.off : d.off+n]
	d.off += n
	return p
}

// Align skips padding up to a multiple of n. The padding's value is not
// checked: NDR leaves it unspecified.
func (d *Decoder) Align(n int) {
	if r := d.off % n; r != 0 {
		d.take(n - r)
	}
}

// Uint8 reads a small or byte.
func (d *Decoder) Uint8() uint8 {
	if p := d.take(1); p != nil {
		return p[0]
	}
	return 0
}

// Uint16 reads a 2-byte aligned short (or 16-bit enum).
func (d *Decoder) Uint16() uint16 {
	d.Align(2)
	if p := d.take(2); p != nil {
		return binary.LittleEndian.Uint16(p)
	}
	return 0
}

// Uint32 reads a 4-byte aligned long.
func (d *Decoder) Uint32() uint32 {
	d.Align(4)
	if p := d.take(4); p != nil {
		return binary.LittleEndian.Uint32(p)
	}
	return 0
}

// Uint64 reads an 8-byte aligned hyper.
func (d *Decoder) Uint64() uint64 {
	d.Align(8)
	if p := d.take(8); p != nil {
		return binary.LittleEndian.Uint64(p)
	}
	return 0
}

// FileTime reads a FILETIME (two 4-byte aligned longs, low first).
func (d *Decoder) FileTime() uint64 {
	lo := d.Uint32()
	hi := d.Uint32()
	return uint64(hi)<<32 | uint64(lo)
}

// Raw copies len(dst) unaligned bytes into dst (fixed byte arrays).
func (d *Decoder) Raw(dst []byte) {
	if p := d.take(len(dst)); p != nil {
		copy(dst, p)
	}
}

// Bytes returns a copy of the next n unaligned bytes; n is bounded by the
// remaining input before anything is allocated.
func (d *Decoder) Bytes(n int) []byte {
	p := d.take(n)
	if p == nil {
		return nil
	}
	return append([]byte(nil), p...)
}

// Pointer reads a unique pointer's referent ID. When it is not NULL, f
// (which reads the pointee) is queued to run after the enclosing
// construct, and Pointer reports true. The ID's value is not interpreted:
// any non-zero value is legal, and PAC writers never alias full pointers,
// so every non-NULL referent is followed by its own pointee (as Samba
// reads them too).
func (d *Decoder) Pointer(field string, f func(d *Decoder)) bool {
	d.field = field
	if d.Uint32() == 0 || d.err != nil {
		return false
	}
	d.deferred = append(d.deferred, f)
	return true
}

// Conformance reads the maximum count of a conformant array whose
// elements take at least minElem bytes each, and fails unless the rest of
// the object buffer could hold that many, so that callers may allocate
// the count without trusting it further.
func (d *Decoder) Conformance(field string, minElem int) int {
	d.field = field
	n := d.Uint32()
	if d.err != nil {
		return 0
	}
	if minElem < 1 {
		minElem = 1
	}
	if need, rest := uint64(n)*uint64(minElem), d.Remaining(); need > uint64(rest) {
		d.off -= 4
		d.err = d.errorf("count %d needs at least %d bytes, %d remain", n, need, rest)
		return 0
	}
	return int(n)
}

// GetArray reads a count field and the unique pointer after it to a
// conformant array (a "ULONG Count; [size_is(Count)] T* Array" pair) into
// *dst. The pointee, read once the enclosing construct is complete, must
// have a maximum count equal to the count; get then fills the elements of
// a slice of that length, each at least minElem bytes on the wire (see
// Conformance). A NULL pointer is accepted for a count of 0 only, and
// leaves *dst alone. As with PutArray, pass a get that captures nothing.
func GetArray[T any](d *Decoder, field string, minElem int, dst *[]T, get func(d *Decoder, s []T)) {
	d.field = field
	n := d.Uint32()
	nonNull := d.Pointer(field, func(d *Decoder) {
		m := d.Conformance(field, minElem)
		if d.err != nil {
			return
		}
		if uint64(m) != uint64(n) {
			d.Fail(field, "array of %d elements for a count of %d", m, n)
			return
		}
		s := make([]T, m)
		get(d, s)
		*dst = s
	})
	if !nonNull && n != 0 {
		d.Fail(field, "count %d but the array pointer is NULL", n)
	}
}

// Variance reads the offset and actual count of a conformant varying
// array whose maximum count is max. The offset must be 0 (no PAC writer
// uses another) and the actual count at most max.
func (d *Decoder) Variance(field string, max, elemSize int) int {
	d.field = field
	start := d.off
	off := d.Uint32()
	n := d.Uint32()
	switch {
	case d.err != nil:
		return 0
	case off != 0:
		d.off = start
		d.err = d.errorf("varying array offset %d, want 0", off)
		return 0
	case uint64(n) > uint64(max):
		d.off = start + 4
		d.err = d.errorf("actual count %d exceeds maximum count %d", n, max)
		return 0
	case uint64(n)*uint64(elemSize) > uint64(d.Remaining()):
		d.off = start + 4
		d.err = d.errorf("actual count %d needs %d bytes, %d remain", n, uint64(n)*uint64(elemSize), d.Remaining())
		return 0
	}
	return int(n)
}

// units reads n 2-byte aligned UTF-16 code units.
func (d *Decoder) units(n int) []uint16 {
	d.Align(2)
	p := d.take(2 * n)
	if p == nil {
		return nil
	}
	u := make([]uint16, n)
	for i := range u {
		u[i] = binary.LittleEndian.Uint16(p[2*i:])
	}
	return u
}

// UnicodeString reads an RPC_UNICODE_STRING into *dst: the flat part now
// and the characters when the deferred pointee is read. Length and
// MaximumLength are byte counts that must agree with the pointee's
// counts; a NULL buffer is accepted for an empty string (Windows sends a
// non-NULL pointer to an empty array, other writers NULL).
func (d *Decoder) UnicodeString(field string, dst *string) {
	d.field = field
	d.Align(4)
	start := d.off
	length := d.Uint16()
	maxLen := d.Uint16()
	if d.err != nil {
		return
	}
	if length > maxLen || length%2 != 0 || maxLen%2 != 0 {
		d.off = start
		d.err = d.errorf("Length %d, MaximumLength %d: lengths must be even with Length <= MaximumLength", length, maxLen)
		return
	}
	*dst = ""
	nonNull := d.Pointer(field, func(d *Decoder) {
		at := d.off
		if max := d.Conformance(field, 0); d.err == nil && max != int(maxLen/2) {
			d.off = at
			d.Fail(field, "maximum count %d disagrees with MaximumLength %d", max, maxLen)
			return
		}
		at = d.off
		n := d.Variance(field, int(maxLen/2), 2)
		if d.err == nil && n != int(length/2) {
			d.off = at + 4 // the actual count
			d.Fail(field, "actual count %d disagrees with Length %d", n, length)
			return
		}
		if u := d.units(n); d.err == nil {
			*dst = string(utf16.Decode(u))
		}
	})
	if !nonNull && d.err == nil && length != 0 {
		d.off = start
		d.err = d.errorf("Length %d but the buffer pointer is NULL", length)
	}
}

// WideStringZ reads the pointee of a [string] wchar_t*: a conformant
// varying array that ends with a NUL, counted in both counts. The NUL is
// dropped; a missing or embedded NUL is an error.
func (d *Decoder) WideStringZ(field string) string {
	max := d.Conformance(field, 2)
	n := d.Variance(field, max, 2)
	u := d.units(n)
	if d.err != nil {
		return ""
	}
	if n == 0 || u[n-1] != 0 {
		d.Fail(field, "string has no terminating NUL")
		return ""
	}
	for _, c := range u[:n-1] {
		if c == 0 {
			d.Fail(field, "NUL inside the string")
			return ""
		}
	}
	return string(utf16.Decode(u[:n-1]))
}

// SID reads an RPC_SID (the pointee of a PISID): the hoisted conformance,
// Revision, SubAuthorityCount, the 6-byte authority and the
// sub-authorities. Revision must be 1 and the count at most 15 (MS-DTYP
// 2.4.2), agreeing with the conformance.
func (d *Decoder) SID(field string) SID {
	d.field = field
	start := d.off
	max := d.Conformance(field, 4)
	rev := d.Uint8()
	cnt := d.Uint8()
	var s SID
	d.Raw(s.IdentifierAuthority[:])
	switch {
	case d.err != nil:
		return SID{}
	case rev != 1:
		d.off = start + 4
		d.err = d.errorf("SID revision %d, want 1", rev)
		return SID{}
	case int(cnt) != max:
		d.off = start + 5
		d.err = d.errorf("SubAuthorityCount %d disagrees with the conformance %d", cnt, max)
		return SID{}
	case cnt > MaxSubAuthorities:
		d.off = start + 5
		d.err = d.errorf("SubAuthorityCount %d exceeds %d", cnt, MaxSubAuthorities)
		return SID{}
	}
	s.Revision = rev
	s.SubAuthority = make([]uint32, cnt)
	for i := range s.SubAuthority {
		s.SubAuthority[i] = d.Uint32()
	}
	if d.err != nil {
		return SID{}
	}
	return s
}

package ndr

import (
	"encoding/binary"
	"fmt"
	"math"
	"unicode/utf16"
)

// Encoder appends NDR20 little-endian data to one growing buffer. The
// buffer starts with room for the serialization headers, so alignment,
// which NDR measures from the start of the stream, is simply the buffer
// length modulo the alignment (the 16 header bytes are a multiple of 8).
//
// Errors (a string or count too large for its wire field) are sticky:
// later writes are ignored and Marshal returns the first error.
type Encoder struct {
	buf      []byte
	next     uint32           // next referent ID
	deferred []func(*Encoder) // pointees of the construct being written
	err      error
}

// Marshal returns one type-serialization-v1 stream whose top-level value
// top writes. PAC buffers hold a pointer to a structure as the top-level
// value, so top usually makes a single Pointer call. sizeHint is the
// expected body length, to size the buffer once.
func Marshal(sizeHint int, top func(e *Encoder)) ([]byte, error) {
	if sizeHint < 0 {
		sizeHint = 0
	}
	e := &Encoder{buf: make([]byte, HeaderLen, HeaderLen+sizeHint+8), next: FirstReferentID}
	top(e)
	e.flush()
	e.Align(8) // the object buffer is padded to 8 bytes (MS-RPCE 2.2.6.2)
	if e.err != nil {
		return nil, e.err
	}
	body := len(e.buf) - HeaderLen
	if body > math.MaxUint32 {
		return nil, &Error{Offset: -1, Reason: "object buffer exceeds 4 GiB"}
	}
	b := e.buf
	b[0] = 1    // version
	b[1] = 0x10 // little-endian, ASCII, IEEE floats
	binary.LittleEndian.PutUint16(b[2:], 8)
	binary.LittleEndian.PutUint32(b[4:], commonHeaderFiller)
	binary.LittleEndian.PutUint32(b[8:], uint32(body))
	binary.LittleEndian.PutUint32(b[12:], 0)
	return b, nil
}

// flush writes the queued pointees: each one completely (its flat part,
// then recursively its own pointees) before the next, as NDR requires.
func (e *Encoder) flush() {
	pending := e.deferred
	e.deferred = nil
	for _, f := range pending {
		f(e)
		e.flush()
	}
}

func (e *Encoder) fail(field, reason string) {
	if e.err == nil {
		e.err = &Error{Offset: -1, Field: field, Reason: reason}
	}
}

// Align pads with zero bytes to a multiple of n (1, 2, 4 or 8).
func (e *Encoder) Align(n int) {
	for len(e.buf)%n != 0 {
		e.buf = append(e.buf, 0)
	}
}

// Uint8 writes a small or byte.
func (e *Encoder) Uint8(v uint8) { e.buf = append(e.buf, v) }

// Uint16 writes a short (and an enum, which MIDL marshals as 16 bits).
func (e *Encoder) Uint16(v uint16) {
	e.Align(2)
	e.buf = binary.LittleEndian.AppendUint16(e.buf, v)
}

// Uint32 writes a long.
func (e *Encoder) Uint32(v uint32) {
	e.Align(4)
	e.buf = binary.LittleEndian.AppendUint32(e.buf, v)
}

// Uint64 writes a hyper, 8-byte aligned.
func (e *Encoder) Uint64(v uint64) {
	e.Align(8)
	e.buf = binary.LittleEndian.AppendUint64(e.buf, v)
}

// FileTime writes a FILETIME: a structure of two longs (low, high), so it
// is 4-byte aligned, unlike a hyper.
func (e *Encoder) FileTime(v uint64) {
	e.Uint32(uint32(v))
	e.Uint32(uint32(v >> 32))
}

// Raw appends bytes without alignment (fixed byte arrays).
func (e *Encoder) Raw(b []byte) { e.buf = append(e.buf, b...) }

// Pointer writes a unique (or full) pointer. A nil f is the NULL pointer;
// otherwise a fresh referent ID is written and f, which writes the
// pointee, runs once the enclosing construct is complete. Referent IDs are
// never reused, which is also a valid encoding of full pointers.
func (e *Encoder) Pointer(f func(e *Encoder)) {
	if f == nil {
		e.Uint32(0)
		return
	}
	e.Uint32(e.next)
	e.next += 4
	e.deferred = append(e.deferred, f)
}

// Conformance writes the maximum count of a conformant array. For a
// conformant structure (one ending in a conformant array) the caller
// writes it before the structure's first field: NDR hoists it there.
func (e *Encoder) Conformance(field string, n int) {
	if n < 0 || uint64(n) > math.MaxUint32 {
		e.fail(field, fmt.Sprintf("count %d does not fit in 32 bits", n))
		return
	}
	e.Uint32(uint32(n))
}

// PutArray writes a count field and the unique pointer after it to a
// conformant array of the elements of s (a "ULONG Count; [size_is(Count)]
// T* Array" pair): NULL when s is empty, otherwise a pointee that is the
// maximum count followed by the elements, which put writes. Pass a put
// that captures nothing (a function or method expression): then the
// pointee is the only allocation, and an empty array costs none.
func PutArray[T any](e *Encoder, field string, s []T, put func(e *Encoder, s []T)) {
	e.Conformance(field, len(s))
	if len(s) == 0 {
		e.Pointer(nil)
		return
	}
	e.Pointer(func(e *Encoder) {
		e.Conformance(field, len(s))
		put(e, s)
	})
}

// Variance writes the offset and actual count of a varying array.
func (e *Encoder) Variance(field string, offset, actual int) {
	e.Conformance(field, offset)
	e.Conformance(field, actual)
}

// UnicodeString writes an RPC_UNICODE_STRING: Length and MaximumLength in
// bytes and a pointer to a conformant varying array of UTF-16 code units
// without a terminating NUL. Like Windows, it writes an empty string as
// a non-NULL pointer to an empty array.
func (e *Encoder) UnicodeString(field, s string) { e.unicodeString(field, s, 0) }

// UnicodeStringRoomForNUL is UnicodeString with MaximumLength (and the
// maximum count) one character larger than Length, room for a NUL that
// is not sent. Windows and Samba write the LogonServer and
// LogonDomainName of KERB_VALIDATION_INFO this way (Samba's
// lsa_StringLarge); matching it keeps the encoding byte-identical.
func (e *Encoder) UnicodeStringRoomForNUL(field, s string) { e.unicodeString(field, s, 1) }

func (e *Encoder) unicodeString(field, s string, extra int) {
	u := utf16.Encode([]rune(s))
	if 2*(len(u)+extra) > math.MaxUint16 {
		e.fail(field, fmt.Sprintf("string of %d UTF-16 code units is too long for an RPC_UNICODE_STRING", len(u)))
		return
	}
	e.Align(4) // the structure holds a pointer
	e.Uint16(uint16(2 * len(u)))
	e.Uint16(uint16(2 * (len(u) + extra)))
	e.Pointer(func(e *Encoder) {
		e.Conformance(field, len(u)+extra)
		e.Variance(field, 0, len(u))
		e.utf16(u)
	})
}

func (e *Encoder) utf16(u []uint16) {
	e.Align(2)
	for _, c := range u {
		e.buf = binary.LittleEndian.AppendUint16(e.buf, c)
	}
}

// WideStringZ writes the pointee of a [string] wchar_t* : a conformant
// varying array whose counts include the terminating NUL (claim IDs and
// claim string values).
func (e *Encoder) WideStringZ(field, s string) {
	u := append(utf16.Encode([]rune(s)), 0)
	e.Conformance(field, len(u))
	e.Variance(field, 0, len(u))
	e.utf16(u)
}

// SID writes an RPC_SID, the pointee of a PISID. It is a conformant
// structure, so the SubAuthority count comes first.
func (e *Encoder) SID(field string, s SID) {
	if len(s.SubAuthority) > MaxSubAuthorities {
		e.fail(field, fmt.Sprintf("SID has %d sub-authorities, more than %d", len(s.SubAuthority), MaxSubAuthorities))
		return
	}
	e.Conformance(field, len(s.SubAuthority))
	e.Uint8(s.Revision)
	e.Uint8(uint8(len(s.SubAuthority)))
	e.Raw(s.IdentifierAuthority[:])
	for _, v := range s.SubAuthority {
		e.Uint32(v)
	}
}

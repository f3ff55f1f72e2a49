// Package ndr is the NDR20 marshalling that the MS-PAC buffers need
// (MS-RPCE 2.2.6 type serialization version 1 over C706 chapter 14 NDR),
// written by hand for exactly those constructs: little-endian primitives at
// their natural alignment, unique pointers with deferred referents,
// conformant and conformant-varying arrays, RPC_UNICODE_STRING and RPC_SID.
//
// It is not a general IDL compiler. The PAC codecs in krb5/pac call the
// Encoder and Decoder methods in the order of the IDL fields, so the code
// reads like the IDL and needs no reflection.
//
// Deferred referents. NDR writes the pointee of an embedded pointer after
// the whole construct that holds the pointer, and a pointee's own pointees
// right after that pointee, before its next sibling (depth first). Both the
// Encoder and the Decoder model this with a queue of closures: Pointer
// queues the pointee's writer (or reader) and, once the enclosing construct
// is complete, the queue is drained one entry at a time, each entry
// draining the entries it queued before the next one runs. The queue depth
// follows the static nesting of the IDL types, never the input.
//
// Hostile input. The Decoder never allocates for a count before checking
// that the remaining bytes can hold that many elements, never reads past
// the object buffer the serialization header declares, and reports the
// first problem as a *Error carrying the field and the byte offset. After
// the first error every read returns zero values, so callers check Err once
// at the end instead of after each field.
package ndr

import (
	"errors"
	"fmt"
)

// Type serialization version 1 (MS-RPCE 2.2.6): an 8-byte common header
// and an 8-byte private header precede the NDR body.
const (
	// HeaderLen is the length of the two serialization headers.
	HeaderLen = 16
	// FirstReferentID is the referent ID Windows gives the first pointer
	// of a stream; later pointers count up in steps of 4.
	FirstReferentID = 0x00020000
	// MaxSubAuthorities is the largest SubAuthorityCount MS-DTYP 2.4.2
	// allows in a SID.
	MaxSubAuthorities = 15
	// commonHeaderFiller is the filler Windows and Samba write in the
	// common header; readers ignore it.
	commonHeaderFiller = 0xcccccccc
)

// ErrMalformed is matched (errors.Is) by every decoding error.
var ErrMalformed = errors.New("malformed NDR data")

// Error says what could not be decoded or encoded and where.
type Error struct {
	// Offset is the byte offset from the start of the serialization
	// stream (the first header byte) where the problem was found; -1 for
	// encoding errors.
	Offset int
	// Field names the construct being decoded, e.g. "GroupIds" or
	// "EffectiveName.Buffer".
	Field string
	// Reason says what was wrong with it.
	Reason string
}

func (e *Error) Error() string {
	s := "ndr: "
	if e.Field != "" {
		s += e.Field + ": "
	}
	s += e.Reason
	if e.Offset >= 0 {
		s += fmt.Sprintf(" (at offset %d)", e.Offset)
	}
	return s
}

// Is makes errors.Is(err, ErrMalformed) true for decoding errors (not
// for encoding errors, whose Offset is -1: those mean a value too large
// for its wire field, not malformed input).
func (e *Error) Is(target error) bool { return target == ErrMalformed && e.Offset >= 0 }

// SID is the wire form of RPC_SID (MS-DTYP 2.4.2.3). The package keeps its
// own small type so that it does not depend on the PAC package's SID.
type SID struct {
	Revision            uint8
	IdentifierAuthority [6]byte // big-endian 48-bit value
	SubAuthority        []uint32
}

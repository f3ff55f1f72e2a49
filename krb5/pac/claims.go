package pac

import (
	"fmt"

	"github.com/warden-auth/warden/internal/ndr"
)

// Claims (MS-ADTS 2.2.18; pac.md §7). The client and device claims
// buffers (13, 15) hold an NDR stream of CLAIMS_SET_METADATA, whose
// ClaimsSet bytes are themselves an NDR stream of CLAIMS_SET, possibly
// compressed. This file decodes and encodes uncompressed sets; the PAC
// keeps the buffers as bytes either way, so compressed claims still
// round-trip unchanged.

// ClaimsSourceType says where claims came from.
type ClaimsSourceType uint16

// Claims sources.
const (
	ClaimsSourceAD          ClaimsSourceType = 1
	ClaimsSourceCertificate ClaimsSourceType = 2
)

// ClaimType is the type of a claim's values.
type ClaimType uint16

// Claim types.
const (
	ClaimTypeInt64   ClaimType = 1
	ClaimTypeUint64  ClaimType = 2
	ClaimTypeString  ClaimType = 3
	ClaimTypeBoolean ClaimType = 6
)

// CompressionFormat is CLAIMS_COMPRESSION_FORMAT.
type CompressionFormat uint16

// Compression formats.
const (
	CompressionNone       CompressionFormat = 0
	CompressionLZNT1      CompressionFormat = 2
	CompressionXpress     CompressionFormat = 3
	CompressionXpressHuff CompressionFormat = 4
)

// ClaimEntry is one claim: an ID and values of one type. Int64 claims
// use Int64s, UINT64 and BOOLEAN (0 or 1) claims Uint64s, STRING claims
// Strings.
type ClaimEntry struct {
	ID      string
	Type    ClaimType
	Int64s  []int64
	Uint64s []uint64
	Strings []string
}

// ClaimsArray is the claims from one source.
type ClaimsArray struct {
	Source ClaimsSourceType
	Claims []ClaimEntry
}

// ClaimsSet is a decoded CLAIMS_SET.
type ClaimsSet struct {
	Arrays        []ClaimsArray
	ReservedType  uint16
	ReservedField []byte
}

// DecodeClaims decodes a client or device claims buffer. An empty
// buffer (what Windows sends for an account without claims) gives an
// empty set. Compressed sets are reported as ErrUnsupported.
func DecodeClaims(b []byte) (*ClaimsSet, error) {
	if len(b) == 0 {
		return &ClaimsSet{}, nil
	}
	var (
		setBytes     []byte
		format       CompressionFormat
		uncompressed uint32
	)
	err := ndr.Unmarshal(b, "CLAIMS_SET_METADATA", func(d *ndr.Decoder) {
		topLevel(d, "CLAIMS_SET_METADATA", func(d *ndr.Decoder) {
			getByteArray(d, "ClaimsSet", &setBytes)
			d.Field("usCompressionFormat")
			format = CompressionFormat(d.Uint16())
			uncompressed = d.Uint32()
			d.Uint16() // usReservedType
			var reserved []byte
			getByteArray(d, "ReservedField", &reserved)
		})
	})
	if err != nil {
		return nil, ndrError(TypeClientClaims, "CLAIMS_SET_METADATA", err)
	}
	if format != CompressionNone {
		return nil, &Error{Kind: KindUnsupported, Buffer: TypeClientClaims, Offset: -1,
			Reason: fmt.Sprintf("claims set is compressed (format %d, %d bytes uncompressed); only uncompressed claims are decoded", format, uncompressed)}
	}
	cs := &ClaimsSet{}
	if setBytes == nil {
		return cs, nil
	}
	err = ndr.Unmarshal(setBytes, "CLAIMS_SET", func(d *ndr.Decoder) {
		topLevel(d, "CLAIMS_SET", func(d *ndr.Decoder) { cs.decode(d) })
	})
	if err != nil {
		return nil, ndrError(TypeClientClaims, "CLAIMS_SET", err)
	}
	return cs, nil
}

// getByteArray reads a size and a pointer to BYTE[size] (a conformant
// byte array).
func getByteArray(d *ndr.Decoder, field string, dst *[]byte) {
	d.CountedArray(field, 1, func(d *ndr.Decoder, n int) { *dst = d.Bytes(n) })
}

func putByteArray(e *ndr.Encoder, field string, b []byte) {
	e.CountedArray(field, len(b), func(e *ndr.Encoder) { e.Raw(b) })
}

func (cs *ClaimsSet) decode(d *ndr.Decoder) {
	d.CountedArray("ClaimsArrays", 12, func(d *ndr.Decoder, n int) {
		arrays := make([]ClaimsArray, n)
		for i := range arrays {
			a := &arrays[i]
			d.Field("usClaimsSourceType")
			a.Source = ClaimsSourceType(d.Uint16())
			d.CountedArray("ClaimEntries", 16, func(d *ndr.Decoder, n int) { a.Claims = decodeEntries(d, n) })
		}
		cs.Arrays = arrays
	})
	d.Field("usReservedType")
	cs.ReservedType = d.Uint16()
	getByteArray(d, "ReservedField", &cs.ReservedField)
}

// decodeEntries reads the n CLAIM_ENTRY elements of a ClaimEntries array.
func decodeEntries(d *ndr.Decoder, n int) []ClaimEntry {
	entries := make([]ClaimEntry, n)
	for i := range entries {
		c := &entries[i]
		if !d.Pointer("Id", func(d *ndr.Decoder) { c.ID = d.WideStringZ("Id") }) {
			d.Fail("Id", "claim ID is NULL")
			return nil
		}
		d.Field("Type")
		c.Type = ClaimType(d.Uint16())
		if disc := ClaimType(d.Uint16()); d.Err() == nil && disc != c.Type {
			d.Fail("Type", "union discriminant %d differs from the claim type %d", disc, c.Type)
			return nil
		}
		switch c.Type {
		case ClaimTypeInt64, ClaimTypeUint64, ClaimTypeBoolean, ClaimTypeString:
		default:
			if d.Err() == nil {
				d.Fail("Type", "unknown claim type %d", c.Type)
			}
			return nil
		}
		elem := 8
		if c.Type == ClaimTypeString {
			elem = 4 // a pointer per string
		}
		d.CountedArray("Values", elem, c.decodeValues)
	}
	return entries
}

// decodeValues reads the n elements of the claim's Values array.
func (c *ClaimEntry) decodeValues(d *ndr.Decoder, n int) {
	switch c.Type {
	case ClaimTypeInt64:
		c.Int64s = make([]int64, n)
		for i := range c.Int64s {
			c.Int64s[i] = int64(d.Uint64())
		}
	case ClaimTypeUint64, ClaimTypeBoolean:
		c.Uint64s = make([]uint64, n)
		for i := range c.Uint64s {
			c.Uint64s[i] = d.Uint64()
		}
	case ClaimTypeString:
		c.Strings = make([]string, n)
		for i := range c.Strings {
			if !d.Pointer("Values", func(d *ndr.Decoder) { c.Strings[i] = d.WideStringZ("Values") }) {
				d.Fail("Values", "string value is NULL")
				return
			}
		}
	}
}

// EncodeClaims returns a claims buffer (for ClientClaims or
// DeviceClaims) holding cs uncompressed, which every reader accepts and
// is what Windows itself sends for small sets.
func EncodeClaims(cs *ClaimsSet) ([]byte, error) {
	for _, a := range cs.Arrays {
		for _, c := range a.Claims {
			if err := c.check(); err != nil {
				return nil, &Error{Kind: KindUnsupported, Buffer: TypeClientClaims, Offset: -1, Reason: "cannot encode CLAIMS_SET", Err: err}
			}
		}
	}
	inner, err := ndr.Marshal(256, func(e *ndr.Encoder) {
		e.Pointer(func(e *ndr.Encoder) { cs.encode(e) })
	})
	if err != nil {
		return nil, &Error{Kind: KindUnsupported, Buffer: TypeClientClaims, Offset: -1, Reason: "cannot encode CLAIMS_SET", Err: err}
	}
	b, err := ndr.Marshal(len(inner)+64, func(e *ndr.Encoder) {
		e.Pointer(func(e *ndr.Encoder) {
			putByteArray(e, "ClaimsSet", inner)
			e.Uint16(uint16(CompressionNone))
			e.Uint32(uint32(len(inner)))
			e.Uint16(0)
			putByteArray(e, "ReservedField", nil)
		})
	})
	if err != nil {
		return nil, &Error{Kind: KindUnsupported, Buffer: TypeClientClaims, Offset: -1, Reason: "cannot encode CLAIMS_SET_METADATA", Err: err}
	}
	return b, nil
}

func (c *ClaimEntry) check() error {
	switch c.Type {
	case ClaimTypeInt64, ClaimTypeUint64, ClaimTypeBoolean, ClaimTypeString:
		return nil
	}
	return fmt.Errorf("claim %q has unknown type %d", c.ID, c.Type)
}

func (c *ClaimEntry) values() int {
	switch c.Type {
	case ClaimTypeInt64:
		return len(c.Int64s)
	case ClaimTypeString:
		return len(c.Strings)
	}
	return len(c.Uint64s)
}

func (cs *ClaimsSet) encode(e *ndr.Encoder) {
	e.CountedArray("ClaimsArrays", len(cs.Arrays), func(e *ndr.Encoder) {
		for _, a := range cs.Arrays {
			e.Uint16(uint16(a.Source))
			e.CountedArray("ClaimEntries", len(a.Claims), func(e *ndr.Encoder) {
				for _, c := range a.Claims {
					e.Pointer(func(e *ndr.Encoder) { e.WideStringZ("Id", c.ID) })
					e.Uint16(uint16(c.Type))
					e.Uint16(uint16(c.Type)) // the union discriminant, repeated
					e.CountedArray("Values", c.values(), c.encodeValues)
				}
			})
		}
	})
	e.Uint16(cs.ReservedType)
	putByteArray(e, "ReservedField", cs.ReservedField)
}

// encodeValues writes the elements of the claim's Values array.
func (c *ClaimEntry) encodeValues(e *ndr.Encoder) {
	switch c.Type {
	case ClaimTypeInt64:
		for _, v := range c.Int64s {
			e.Uint64(uint64(v))
		}
	case ClaimTypeString:
		for _, s := range c.Strings {
			e.Pointer(func(e *ndr.Encoder) { e.WideStringZ("Values", s) })
		}
	default:
		for _, v := range c.Uint64s {
			e.Uint64(v)
		}
	}
}

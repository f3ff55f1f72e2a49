package pac

import (
	"fmt"
	"strconv"

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

// Values returns the entry's values as text: integers in decimal,
// booleans as true/false, strings as they are.
func (e ClaimEntry) Values() []string {
	out := make([]string, 0, len(e.Int64s)+len(e.Uint64s)+len(e.Strings))
	for _, v := range e.Int64s {
		out = append(out, strconv.FormatInt(v, 10))
	}
	for _, v := range e.Uint64s {
		if e.Type == ClaimTypeBoolean {
			out = append(out, strconv.FormatBool(v != 0))
		} else {
			out = append(out, strconv.FormatUint(v, 10))
		}
	}
	return append(out, e.Strings...)
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
	if len(setBytes) == 0 {
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
	ndr.GetArray(d, field, 1, dst, (*ndr.Decoder).Raw)
}

func putByteArray(e *ndr.Encoder, field string, b []byte) {
	ndr.PutArray(e, field, b, (*ndr.Encoder).Raw)
}

func (cs *ClaimsSet) decode(d *ndr.Decoder) {
	ndr.GetArray(d, "ClaimsArrays", 12, &cs.Arrays, func(d *ndr.Decoder, arrays []ClaimsArray) {
		for i := range arrays {
			a := &arrays[i]
			d.Field("usClaimsSourceType")
			a.Source = ClaimsSourceType(d.Uint16())
			ndr.GetArray(d, "ClaimEntries", 16, &a.Claims, decodeEntries)
		}
	})
	d.Field("usReservedType")
	cs.ReservedType = d.Uint16()
	getByteArray(d, "ReservedField", &cs.ReservedField)
}

// decodeEntries reads the CLAIM_ENTRY elements of a ClaimEntries array.
func decodeEntries(d *ndr.Decoder, entries []ClaimEntry) {
	for i := range entries {
		c := &entries[i]
		if !d.Pointer("Id", func(d *ndr.Decoder) { c.ID = d.WideStringZ("Id") }) {
			d.Fail("Id", "claim ID is NULL")
			return
		}
		d.Field("Type")
		c.Type = ClaimType(d.Uint16())
		if disc := ClaimType(d.Uint16()); d.Err() == nil && disc != c.Type {
			d.Fail("Type", "union discriminant %d differs from the claim type %d", disc, c.Type)
			return
		}
		switch c.Type {
		case ClaimTypeInt64:
			ndr.GetArray(d, "Values", 8, &c.Int64s, func(d *ndr.Decoder, v []int64) {
				for i := range v {
					v[i] = int64(d.Uint64())
				}
			})
		case ClaimTypeUint64, ClaimTypeBoolean:
			ndr.GetArray(d, "Values", 8, &c.Uint64s, func(d *ndr.Decoder, v []uint64) {
				for i := range v {
					v[i] = d.Uint64()
				}
			})
		case ClaimTypeString:
			ndr.GetArray(d, "Values", 4, &c.Strings, func(d *ndr.Decoder, v []string) {
				for i := range v {
					if !d.Pointer("Values", func(d *ndr.Decoder) { v[i] = d.WideStringZ("Values") }) {
						d.Fail("Values", "string value is NULL")
						return
					}
				}
			})
		default:
			if d.Err() == nil {
				d.Fail("Type", "unknown claim type %d", c.Type)
			}
			return
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

func (cs *ClaimsSet) encode(e *ndr.Encoder) {
	ndr.PutArray(e, "ClaimsArrays", cs.Arrays, func(e *ndr.Encoder, arrays []ClaimsArray) {
		for _, a := range arrays {
			e.Uint16(uint16(a.Source))
			ndr.PutArray(e, "ClaimEntries", a.Claims, encodeEntries)
		}
	})
	e.Uint16(cs.ReservedType)
	putByteArray(e, "ReservedField", cs.ReservedField)
}

// encodeEntries writes the CLAIM_ENTRY elements of a ClaimEntries array.
func encodeEntries(e *ndr.Encoder, entries []ClaimEntry) {
	for _, c := range entries {
		e.Pointer(func(e *ndr.Encoder) { e.WideStringZ("Id", c.ID) })
		e.Uint16(uint16(c.Type))
		e.Uint16(uint16(c.Type)) // the union discriminant, repeated
		switch c.Type {
		case ClaimTypeInt64:
			ndr.PutArray(e, "Values", c.Int64s, func(e *ndr.Encoder, v []int64) {
				for _, x := range v {
					e.Uint64(uint64(x))
				}
			})
		case ClaimTypeString:
			ndr.PutArray(e, "Values", c.Strings, func(e *ndr.Encoder, v []string) {
				for _, s := range v {
					e.Pointer(func(e *ndr.Encoder) { e.WideStringZ("Values", s) })
				}
			})
		default:
			ndr.PutArray(e, "Values", c.Uint64s, func(e *ndr.Encoder, v []uint64) {
				for _, x := range v {
					e.Uint64(x)
				}
			})
		}
	}
}

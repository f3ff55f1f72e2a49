package ndr

import (
	"bytes"
	"encoding/hex"
	"errors"
	"reflect"
	"strings"
	"testing"
)

// sample is a test type that uses every Encoder/Decoder construct:
//
//	struct { u8 A; u16 B; u32 C; hyper D; FILETIME E; RPC_UNICODE_STRING S;
//	         PRPC_SID Sid; u32 N; [size_is(N)] wchar_t** Names; [size_is(N)] hyper* Vals }
type sample struct {
	A     uint8
	B     uint16
	C     uint32
	D     uint64
	E     uint64
	S     string
	SID   *SID
	Names []string
	Vals  []uint64
}

func (v *sample) encode(e *Encoder) {
	e.Pointer(func(e *Encoder) {
		e.Uint8(v.A)
		e.Uint16(v.B)
		e.Uint32(v.C)
		e.Uint64(v.D)
		e.FileTime(v.E)
		e.UnicodeString("S", v.S)
		if v.SID == nil {
			e.Pointer(nil)
		} else {
			e.Pointer(func(e *Encoder) { e.SID("Sid", *v.SID) })
		}
		e.Uint32(uint32(len(v.Names)))
		e.Pointer(func(e *Encoder) {
			e.Conformance("Names", len(v.Names))
			for _, n := range v.Names {
				e.Pointer(func(e *Encoder) { e.WideStringZ("Names", n) })
			}
		})
		e.Pointer(func(e *Encoder) {
			e.Conformance("Vals", len(v.Vals))
			for _, x := range v.Vals {
				e.Uint64(x)
			}
		})
	})
}

func (v *sample) decode(d *Decoder) {
	if !d.Pointer("sample", func(d *Decoder) {
		v.A = d.Uint8()
		v.B = d.Uint16()
		v.C = d.Uint32()
		v.D = d.Uint64()
		v.E = d.FileTime()
		d.UnicodeString("S", &v.S)
		d.Pointer("Sid", func(d *Decoder) {
			s := d.SID("Sid")
			v.SID = &s
		})
		n := d.Uint32()
		d.Pointer("Names", func(d *Decoder) {
			m := d.Conformance("Names", 4)
			if d.Err() == nil && m != int(n) {
				d.Fail("Names", "count %d, array %d", n, m)
				return
			}
			v.Names = make([]string, m)
			for i := range v.Names {
				d.Pointer("Names", func(d *Decoder) { v.Names[i] = d.WideStringZ("Names") })
			}
		})
		d.Pointer("Vals", func(d *Decoder) {
			m := d.Conformance("Vals", 8)
			v.Vals = make([]uint64, m)
			for i := range v.Vals {
				v.Vals[i] = d.Uint64()
			}
		})
	}) {
		d.Fail("sample", "NULL")
	}
}

func marshalSample(t testing.TB, v *sample) []byte {
	b, err := Marshal(64, v.encode)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestMarshalLayout(t *testing.T) {
	sid := SID{Revision: 1, IdentifierAuthority: [6]byte{0, 0, 0, 0, 0, 5}, SubAuthority: []uint32{21, 7}}
	v := &sample{A: 0xa1, B: 0xb2b2, C: 0xc3c3c3c3, D: 0x0102030405060708, E: 0x7fffffffffffffff, S: "hé",
		SID: &sid, Names: []string{"x", ""}, Vals: []uint64{9}}
	got := marshalSample(t, v)
	want := strings.Join([]string{
		"01100800cccccccc", "98000000", "00000000", // headers; object buffer length 0x98
		"00000200",                     // top-level referent
		"a1", "00", "b2b2", "c3c3c3c3", // u8, pad, u16, u32
		"0807060504030201",         // hyper at offset 28? no: aligned to 8 → offset 32
		"ffffffffffffff7f",         // FILETIME low, high
		"0400", "0400", "04000200", // RPC_UNICODE_STRING: Length 4, Max 4, referent
		"08000200",                         // Sid referent
		"02000000", "0c000200", "10000200", // N, Names referent, Vals referent
		// Deferred, depth first: S's characters, the SID, Names array then each name, Vals.
		"02000000", "00000000", "02000000", "6800e900",
		"02000000", "01", "02", "000000000005", "15000000", "07000000",
		"02000000", "14000200", "18000200",
		"02000000", "00000000", "02000000", "78000000", // "x\0"
		"01000000", "00000000", "01000000", "0000", "0000", // "\0", then pad to 4
		"01000000", "00000000", "0900000000000000", // Vals: MaxCount, pad to 8, hyper
	}, "")
	// The hyper at stream offset 28 is aligned to 32: insert the pad.
	want = strings.Replace(want, "c3c3c3c30807", "c3c3c3c3000000000807", 1)
	if h := hex.EncodeToString(got); h != want {
		t.Fatalf("encoding\n got %s\nwant %s", h, want)
	}
	var back sample
	if err := Unmarshal(got, "sample", back.decode); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(&back, v) {
		t.Errorf("decoded %+v, want %+v", back, v)
	}
}

func TestEncodeErrors(t *testing.T) {
	for name, f := range map[string]func(e *Encoder){
		"long string": func(e *Encoder) { e.UnicodeString("S", strings.Repeat("a", 32768)) },
		"big SID":     func(e *Encoder) { e.SID("Sid", SID{Revision: 1, SubAuthority: make([]uint32, 16)}) },
		"negative":    func(e *Encoder) { e.Conformance("N", -1) },
	} {
		_, err := Marshal(0, f)
		var ne *Error
		if !errors.As(err, &ne) || ne.Offset != -1 || errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := Marshal(0, func(e *Encoder) { e.UnicodeString("S", strings.Repeat("a", 32767)) }); err != nil {
		t.Errorf("longest string: %v", err)
	}
}

// Every malformation the decoder reports, with the field and the offset.
func TestDecodeErrors(t *testing.T) {
	sid := SID{Revision: 1, IdentifierAuthority: [6]byte{0, 0, 0, 0, 0, 5}, SubAuthority: []uint32{21}}
	good := marshalSample(t, &sample{S: "ab", SID: &sid, Names: []string{"n"}, Vals: []uint64{1}})
	// Offsets in good: flat part 20..72 (S at 48, Sid pointer 56, N 60);
	// then S's characters at 72 (max, offset, actual, chars at 84), the
	// SID at 88, the Names array at 104, the name at 112, Vals at 128.
	patch := func(at int, b ...byte) []byte {
		c := append([]byte(nil), good...)
		copy(c[at:], b)
		return c
	}
	cases := []struct {
		name   string
		in     []byte
		field  string
		offset int
		reason string
	}{
		{"short header", good[:10], "sample", 0, "serialization header is 10 bytes"},
		{"version", patch(0, 2), "sample", 0, "type serialization version 2"},
		{"big endian", patch(1, 0), "sample", 0, "big-endian NDR is not supported"},
		{"drep", patch(1, 0x11), "sample", 0, "data representation 0x11"},
		{"header length", patch(2, 9), "sample", 2, "common header length 9"},
		{"object length", patch(8, 0xff, 0xff), "sample", 8, "exceeds the"},
		{"trailing", append(append([]byte(nil), good...), 1), "sample", len(good), "1 bytes after the object buffer"},
		{"unused", func() []byte {
			c := append([]byte(nil), good...)
			c = append(c, make([]byte, 8)...)
			c[8] += 8
			return c
		}(), "sample", len(good), "8 unused bytes"},
		{"truncated", func() []byte { c := append([]byte(nil), good[:40]...); c[8] = 24; return c }(), "", 40, "truncated: need 4 bytes, 0 remain"},
		{"top NULL", patch(16, 0, 0, 0, 0), "sample", 20, "NULL"},
		{"string odd", patch(48, 3), "S", 48, "Length 3, MaximumLength 4"},
		{"string length > max", patch(48, 6), "S", 48, "Length 6, MaximumLength 4"},
		{"string NULL with length", patch(52, 0, 0, 0, 0), "S", 48, "Length 4 but the buffer pointer is NULL"},
		{"string max count", patch(72, 3), "S", 72, "maximum count 3 disagrees with MaximumLength 4"},
		{"string offset", patch(76, 1), "S", 76, "varying array offset 1"},
		{"string actual > max", patch(80, 5), "S", 80, "actual count 5 exceeds maximum count 2"},
		{"string actual", patch(80, 1), "S", 80, "actual count 1 disagrees with Length 4"},
		{"SID revision", patch(92, 2), "Sid", 92, "SID revision 2"},
		{"SID count", patch(93, 2), "Sid", 93, "SubAuthorityCount 2 disagrees with the conformance 1"},
		{"SID conformance huge", patch(88, 0xff, 0xff, 0xff, 0x0f), "Sid", 88, "count 268435455 needs at least 1073741820 bytes"},
		{"array conformance", patch(104, 10), "Names", 104, "count 10 needs at least 40 bytes, 36 remain"},
		{"count mismatch", patch(60, 2), "Names", 108, "count 2, array 1"},
		{"no NUL", patch(126, 'y'), "Names", 128, "no terminating NUL"},
		{"embedded NUL", patch(124, 0), "Names", 128, "NUL inside the string"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var v sample
			err := Unmarshal(tc.in, "sample", v.decode)
			var ne *Error
			if !errors.As(err, &ne) || !errors.Is(err, ErrMalformed) {
				t.Fatalf("got %v, want an *ndr.Error", err)
			}
			if (tc.field != "" && ne.Field != tc.field) || ne.Offset != tc.offset || !strings.Contains(ne.Reason, tc.reason) {
				t.Errorf("got field %q offset %d reason %q\nwant field %q offset %d reason containing %q", ne.Field, ne.Offset, ne.Reason, tc.field, tc.offset, tc.reason)
			}
		})
	}
}

// NULL string buffers, empty strings and Windows' 8-byte trailing pad
// after the object buffer are accepted.
func TestDecodeTolerates(t *testing.T) {
	good := marshalSample(t, &sample{})
	var v sample
	if err := Unmarshal(append(append([]byte(nil), good...), 0, 0, 0, 0), "sample", v.decode); err != nil {
		t.Errorf("zero padding after the object buffer: %v", err)
	}
	// A NULL pointer for an empty RPC_UNICODE_STRING.
	b, err := Marshal(0, func(e *Encoder) {
		e.Pointer(func(e *Encoder) {
			e.Uint8(0)
			e.Uint16(0)
			e.Uint32(0)
			e.Uint64(0)
			e.FileTime(0)
			e.Uint16(0)
			e.Uint16(0)
			e.Pointer(nil)
			e.Pointer(nil)
			e.Uint32(0)
			e.Pointer(nil)
			e.Pointer(nil)
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	v = sample{S: "x"}
	if err := Unmarshal(b, "sample", v.decode); err != nil || v.S != "" {
		t.Errorf("NULL string buffer: %v %q", err, v.S)
	}
}

// FuzzUnmarshal checks that decoding never panics, fails only with
// *Error, and that what decodes re-encodes stably.
func FuzzUnmarshal(f *testing.F) {
	sid := SID{Revision: 1, IdentifierAuthority: [6]byte{0, 0, 0, 0, 0, 5}, SubAuthority: []uint32{21, 1, 2, 3}}
	f.Add(marshalSample(f, &sample{}))
	f.Add(marshalSample(f, &sample{A: 1, B: 2, C: 3, D: 4, E: 5, S: "hello", SID: &sid, Names: []string{"a", "bc", ""}, Vals: []uint64{1, 2, 3}}))
	f.Fuzz(func(t *testing.T, b []byte) {
		var v sample
		err := Unmarshal(b, "sample", v.decode)
		if err != nil {
			var ne *Error
			if !errors.As(err, &ne) || ne.Offset < 0 || ne.Offset > len(b) {
				t.Fatalf("error %v (%T) is not a decoding *Error with an offset in the input", err, err)
			}
			return
		}
		b1, err := Marshal(0, v.encode)
		if err != nil {
			t.Fatal(err)
		}
		var w sample
		if err := Unmarshal(b1, "sample", w.decode); err != nil {
			t.Fatalf("re-encoding does not decode: %v", err)
		}
		if b2, _ := Marshal(0, w.encode); !bytes.Equal(b1, b2) {
			t.Fatal("re-encoding is not stable")
		}
	})
}

// PutArray and GetArray: a count, a pointer (NULL for none) and the
// conformant array, whose maximum count must equal the count.
func TestArray(t *testing.T) {
	enc := func(vals []uint32) []byte {
		t.Helper()
		b, err := Marshal(0, func(e *Encoder) {
			e.Pointer(func(e *Encoder) {
				PutArray(e, "Vals", vals, func(e *Encoder, v []uint32) {
					for _, x := range v {
						e.Uint32(x)
					}
				})
			})
		})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	dec := func(b []byte) ([]uint32, error) {
		var out []uint32
		err := Unmarshal(b, "top", func(d *Decoder) {
			d.Pointer("top", func(d *Decoder) {
				GetArray(d, "Vals", 4, &out, func(d *Decoder, v []uint32) {
					for i := range v {
						v[i] = d.Uint32()
					}
				})
			})
		})
		return out, err
	}
	// Stream: headers 0..16, top referent 16, count 20, pointer 24,
	// maximum count 28, elements from 32.
	if h := hex.EncodeToString(enc([]uint32{7, 8})[16:]); h != "00000200"+"02000000"+"04000200"+"02000000"+"07000000"+"08000000" {
		t.Errorf("encoding %s", h)
	}
	if h := hex.EncodeToString(enc(nil)[16:]); h != "00000200"+"00000000"+"00000000"+"00000000" {
		t.Errorf("empty: NULL pointer expected, got %s", h)
	}
	if got, err := dec(enc([]uint32{7, 8})); err != nil || !reflect.DeepEqual(got, []uint32{7, 8}) {
		t.Errorf("round trip: %v %v", got, err)
	}
	if got, err := dec(enc(nil)); err != nil || got != nil {
		t.Errorf("empty round trip: %v %v", got, err)
	}
	for _, tc := range []struct {
		name   string
		in     []byte
		offset int
		reason string
	}{
		{"count disagrees", func() []byte { b := enc([]uint32{7, 8}); b[20] = 3; return b }(), 32, "array of 2 elements for a count of 3"},
		{"NULL with a count", func() []byte { b := enc(nil); b[20] = 1; return b }(), 28, "count 1 but the array pointer is NULL"},
	} {
		_, err := dec(tc.in)
		var ne *Error
		if !errors.As(err, &ne) || ne.Field != "Vals" || ne.Offset != tc.offset || !strings.Contains(ne.Reason, tc.reason) {
			t.Errorf("%s: got %v (%+v), want Vals at %d: %s", tc.name, err, ne, tc.offset, tc.reason)
		}
	}
}

package der

import (
	"bytes"
	"testing"
	"time"

	"golang.org/x/crypto/cryptobyte"
)

// TestCloseLengthForms checks the in-place length patching at every
// boundary between DER length forms, against the expected header bytes.
func TestCloseLengthForms(t *testing.T) {
	tests := []struct {
		n      int
		header []byte
	}{
		{0, []byte{0x04, 0x00}},
		{127, []byte{0x04, 0x7f}},
		{128, []byte{0x04, 0x81, 0x80}},
		{255, []byte{0x04, 0x81, 0xff}},
		{256, []byte{0x04, 0x82, 0x01, 0x00}},
		{65535, []byte{0x04, 0x82, 0xff, 0xff}},
		{65536, []byte{0x04, 0x83, 0x01, 0x00, 0x00}},
	}
	for _, tc := range tests {
		content := bytes.Repeat([]byte{0xab}, tc.n)
		var e Encoder
		e.Raw([]byte{0x30}) // something before, to check offsets
		p := e.Open(TagOctetString)
		e.Raw(content)
		e.Close(p)
		got := e.Bytes()[1:]
		if !bytes.Equal(got[:len(tc.header)], tc.header) || !bytes.Equal(got[len(tc.header):], content) {
			t.Errorf("n=%d: header % x", tc.n, got[:len(tc.header)])
		}
		// The one-shot encoder must agree with Open/Close.
		var o Encoder
		o.OctetString(content)
		if !bytes.Equal(o.Bytes(), got) {
			t.Errorf("n=%d: OctetString and Open/Close disagree", tc.n)
		}
	}
}

func TestIntegers(t *testing.T) {
	tests := []struct {
		v    int64
		want []byte
	}{
		{0, []byte{2, 1, 0}},
		{127, []byte{2, 1, 0x7f}},
		{128, []byte{2, 2, 0, 0x80}},
		{-1, []byte{2, 1, 0xff}},
		{-129, []byte{2, 2, 0xff, 0x7f}},
		{0xffffffff, []byte{2, 5, 0, 0xff, 0xff, 0xff, 0xff}},
	}
	for _, tc := range tests {
		var e Encoder
		e.Int(tc.v)
		if !bytes.Equal(e.Bytes(), tc.want) {
			t.Errorf("Int(%d) = % x, want % x", tc.v, e.Bytes(), tc.want)
		}
		s := cryptobyte.String(tc.want)
		var got int64
		if !ReadInt64(&s, &got) || got != tc.v {
			t.Errorf("ReadInt64(% x) = %d", tc.want, got)
		}
	}
	// Non-minimal encodings are not DER.
	for _, b := range [][]byte{{2, 2, 0, 1}, {2, 2, 0xff, 0x80}, {2, 0}} {
		s := cryptobyte.String(b)
		var v int64
		if ReadInt64(&s, &v) {
			t.Errorf("ReadInt64(% x) accepted", b)
		}
	}
	// UInt32 fields accept the signed form some peers send.
	s := cryptobyte.String([]byte{2, 1, 0xff})
	var u uint32
	if !ReadUInt32(&s, &u) || u != 0xffffffff {
		t.Errorf("ReadUInt32(-1) = %#x", u)
	}
}

func TestKerberosTime(t *testing.T) {
	when := time.Date(1994, 6, 10, 6, 3, 17, 999, time.UTC)
	var e Encoder
	e.KerberosTime(when)
	if string(e.Bytes()[2:]) != "19940610060317Z" {
		t.Fatalf("got %q", e.Bytes())
	}
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{"19940610060317Z", true},
		{"19940610060317.5Z", true}, // fraction accepted and dropped
		{"19941310060317Z", false},  // month 13
		{"1994061006031Z", false},   // short
		{"19940610060317", false},   // no Z
		{"1994061006031xZ", false},
		{"19940610060317.Z", false},
	} {
		b := append([]byte{byte(TagGeneralizedTime), byte(len(tc.in))}, tc.in...)
		s := cryptobyte.String(b)
		var got time.Time
		ok := ReadKerberosTime(&s, &got)
		if ok != tc.ok || ok && !got.Equal(when.Truncate(time.Second)) {
			t.Errorf("%q: ok=%v got %v", tc.in, ok, got)
		}
	}
}

func TestBitString32(t *testing.T) {
	var e Encoder
	e.BitString32(0x40810010)
	if !bytes.Equal(e.Bytes(), []byte{3, 5, 0, 0x40, 0x81, 0x00, 0x10}) {
		t.Fatalf("got % x", e.Bytes())
	}
	for _, tc := range []struct {
		in   []byte
		want uint32
		ok   bool
	}{
		{[]byte{3, 5, 0, 0x40, 0x81, 0, 0x10}, 0x40810010, true},
		{[]byte{3, 2, 0, 0x80}, 0x80000000, true},          // short: zero-extended
		{[]byte{3, 6, 0, 1, 2, 3, 4, 5}, 0x01020304, true}, // long: first 32 bits
		{[]byte{3, 1, 1}, 0, false},                        // unused bits without content
		{[]byte{3, 2, 8, 0}, 0, false},                     // more than 7 unused bits
	} {
		s := cryptobyte.String(tc.in)
		var got uint32
		if ok := ReadBitString32(&s, &got); ok != tc.ok || got != tc.want {
			t.Errorf("% x: ok=%v got %#x", tc.in, ok, got)
		}
	}
}

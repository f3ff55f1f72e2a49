package der

import (
	"encoding/asn1"
	"testing"

	"golang.org/x/crypto/cryptobyte"
)

// OIDs encode and decode as encoding/asn1 does them (the reference here).
func TestOIDMatchesEncodingASN1(t *testing.T) {
	for _, o := range []OID{
		{1, 3, 6, 1, 5, 2, 3, 4}, {1, 2, 840, 113549, 1, 7, 2}, {2, 5, 29, 17},
		{1, 3, 6, 1, 4, 1, 311, 20, 2, 2}, {0, 9, 2342, 19200300, 100, 1, 1}, {2, 999, 3}, {1, 39, 1 << 30},
	} {
		want, err := asn1.Marshal(asn1.ObjectIdentifier(o))
		if err != nil {
			t.Fatal(err)
		}
		var b cryptobyte.Builder
		AddOID(&b, o)
		got, err := b.Bytes()
		if err != nil || string(got) != string(want) {
			t.Fatalf("AddOID(%v) = %x %v, want %x", o, got, err, want)
		}
		var back OID
		s := cryptobyte.String(want)
		if !ReadOID(&s, &back) || !back.Equal(o) || !s.Empty() {
			t.Fatalf("ReadOID(%x) = %v", want, back)
		}
		if back.String() != asn1.ObjectIdentifier(o).String() {
			t.Errorf("String %q", back.String())
		}
	}
	for _, bad := range [][]byte{{0x06, 0x00}, {0x06, 0x02, 0x2b, 0x80}, {0x06, 0x02, 0x80, 0x01}, {0x06, 0x06, 0x2b, 0xff, 0xff, 0xff, 0xff, 0x7f}} {
		var o OID
		s := cryptobyte.String(bad)
		if ReadOID(&s, &o) {
			t.Errorf("ReadOID(%x) accepted: %v", bad, o)
		}
	}
	for _, bad := range []OID{{3, 1}, {1}, {-1, 2}, {1, 2, -5}, {1, 2, 1 << 40}, {2, 1<<31 - 1}} {
		var b cryptobyte.Builder
		AddOID(&b, bad) // must not panic
		if _, err := b.Bytes(); err == nil {
			t.Errorf("AddOID accepted %v", []int(bad))
		}
	}
}

// FuzzReadOID: never panics, and what it accepts encoding/asn1 reads the
// same way.
func FuzzReadOID(f *testing.F) {
	f.Add([]byte{0x06, 0x08, 0x2b, 0x06, 0x01, 0x05, 0x02, 0x03, 0x04})
	f.Add([]byte{0x06, 0x03, 0x55, 0x1d, 0x11})
	f.Fuzz(func(t *testing.T, b []byte) {
		var o OID
		s := cryptobyte.String(b)
		if !ReadOID(&s, &o) {
			return
		}
		var ref asn1.ObjectIdentifier
		if rest, err := asn1.Unmarshal(b[:len(b)-len(s)], &ref); err == nil && len(rest) == 0 && !o.Equal(ref) {
			t.Fatalf("ReadOID %v, encoding/asn1 %v", o, ref)
		}
	})
}

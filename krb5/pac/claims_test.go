package pac

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"
)

// The Windows Server 2022 client claims buffer of pac.md §7.3.
func TestDecodeClaimsWindows(t *testing.T) {
	raw := vectors(t)["win2022_client_claims"]
	cs, err := DecodeClaims(raw)
	if err != nil {
		t.Fatal(err)
	}
	want := &ClaimsSet{Arrays: []ClaimsArray{{Source: ClaimsSourceAD, Claims: []ClaimEntry{
		{ID: "720fd3c3_9", Type: ClaimTypeBoolean, Uint64s: []uint64{1}},
		{ID: "720fd3c3_7", Type: ClaimTypeString, Strings: []string{"foo", "bar", "baz"}},
		{ID: "720fd3c3_8", Type: ClaimTypeUint64, Uint64s: []uint64{655369, 65543, 65542, 65536}},
	}}}}
	if !reflect.DeepEqual(cs, want) {
		t.Fatalf("got %+v\nwant %+v", cs, want)
	}
	// Our encoding of the same set is Windows' byte for byte, except for
	// referent ID values: Windows numbers the pointers of an array of
	// structures in another order (entry 1's string pointers before
	// entry 2's Id), and NDR leaves the values to the writer.
	b, err := EncodeClaims(cs)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) != len(raw) {
		t.Fatalf("re-encoding is %d bytes, Windows' %d", len(b), len(raw))
	}
	isRef := func(p []byte, i int) bool { return p[i+2] == 0x02 && p[i+3] == 0 && p[i]&3 == 0 }
	for i := 0; i+4 <= len(b); i += 4 {
		if !bytes.Equal(b[i:i+4], raw[i:i+4]) && !(isRef(b, i) && isRef(raw, i)) {
			t.Fatalf("re-encoding differs from Windows at offset %d:\n%x\n%x", i, b, raw)
		}
	}
}

func TestClaimsRoundTrip(t *testing.T) {
	cs := &ClaimsSet{Arrays: []ClaimsArray{
		{Source: ClaimsSourceAD, Claims: []ClaimEntry{
			{ID: "a claim", Type: ClaimTypeInt64, Int64s: []int64{3, 42, -999, 1000, 20000}},
			{ID: "ad://ext/department", Type: ClaimTypeString, Strings: []string{"Ingénierie"}},
			{ID: "empty", Type: ClaimTypeBoolean},
		}},
		{Source: ClaimsSourceCertificate},
	}}
	b, err := EncodeClaims(cs)
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeClaims(b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, cs) {
		t.Errorf("got %+v\nwant %+v", got, cs)
	}
	if e, err := DecodeClaims(nil); err != nil || len(e.Arrays) != 0 {
		t.Errorf("empty buffer: %v %v", e, err)
	}
	if _, err := EncodeClaims(&ClaimsSet{Arrays: []ClaimsArray{{Claims: []ClaimEntry{{ID: "x", Type: 9}}}}}); !errors.Is(err, ErrUnsupported) {
		t.Errorf("unknown type: %v", err)
	}
	// A compressed set is reported, not misread.
	comp := append([]byte(nil), b...)
	comp[0x1c] = byte(CompressionXpressHuff)
	if _, err := DecodeClaims(comp); !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), "compressed (format 4") {
		t.Errorf("compressed: %v", err)
	}
	// Malformed: a union discriminant that differs from the type.
	bad := append([]byte(nil), vectors(t)["win2022_client_claims"]...)
	i := bytes.Index(bad, []byte{0x06, 0x00, 0x06, 0x00}) // entry 0: BOOLEAN, BOOLEAN
	bad[i+2] = 3
	if _, err := DecodeClaims(bad); !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "union discriminant 3 differs from the claim type 6") {
		t.Errorf("discriminant: %v", err)
	}
}

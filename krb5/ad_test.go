package krb5

import (
	"bytes"
	"errors"
	"testing"
)

func TestADVectors(t *testing.T) {
	vecs := extVectors(t, "ad_vectors.txt")
	tests := []struct {
		name string
		newV func() extWire
	}{
		{"encode_krb5_authorization_data", func() extWire { return new(AuthorizationData) }},
		{"warden_ad_if_relevant", func() extWire { return new(AuthorizationData) }},
		{"encode_krb5_ad_kdcissued", func() extWire { return new(KDCIssuedAD) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, ok := vecs[tt.name]
			if !ok {
				t.Fatal("missing vector")
			}
			extCheckWire(t, b, tt.newV)
		})
	}
}

func TestADIfRelevantWrap(t *testing.T) {
	vecs := extVectors(t, "ad_vectors.txt")
	var inner AuthorizationData
	if err := inner.Unmarshal(vecs["encode_krb5_authorization_data"]); err != nil {
		t.Fatal(err)
	}
	outer := AuthorizationData{WrapADIfRelevant(inner)}
	if got, _ := outer.Marshal(); !bytes.Equal(got, vecs["warden_ad_if_relevant"]) {
		t.Fatalf("wrapped = %x", got)
	}
	got, err := UnwrapADIfRelevant(outer[0])
	if err != nil || len(got) != 2 || got[0].Type != 1 || string(got[0].Data) != "foobar" {
		t.Fatalf("Unwrap = %+v %v", got, err)
	}
	if _, err := UnwrapADIfRelevant(ADEntry{Type: ADWin2KPAC, Data: outer[0].Data}); !errors.Is(err, ErrMalformed) {
		t.Fatalf("unwrap of wrong type: %v", err)
	}
	if _, err := UnwrapADIfRelevant(ADEntry{Type: ADIfRelevant, Data: []byte{0x30}}); !errors.Is(err, ErrMalformed) {
		t.Fatalf("unwrap of garbage: %v", err)
	}
}

// nestIfRelevant wraps ad in n AD-IF-RELEVANT layers.
func nestIfRelevant(ad AuthorizationData, n int) AuthorizationData {
	for i := 0; i < n; i++ {
		ad = AuthorizationData{WrapADIfRelevant(ad)}
	}
	return ad
}

func TestADFind(t *testing.T) {
	pac := ADEntry{Type: ADWin2KPAC, Data: []byte("pac")}
	opts := ADEntry{Type: ADAPOptions, Data: EncodeADAPOptions(KerbAPOptionsCBT)}
	windows := AuthorizationData{WrapADIfRelevant(AuthorizationData{pac}), WrapADIfRelevant(AuthorizationData{opts})}
	tests := []struct {
		name      string
		ad        AuthorizationData
		typ       ADType
		wantN     int
		malformed bool
	}{
		{"top level", AuthorizationData{pac}, ADWin2KPAC, 1, false},
		{"inside AD-IF-RELEVANT (Windows layout)", windows, ADWin2KPAC, 1, false},
		{"second container", windows, ADAPOptions, 1, false},
		{"absent", windows, ADFXFastArmor, 0, false},
		{"containers themselves", windows, ADIfRelevant, 2, false},
		{"top and nested", append(AuthorizationData{pac}, windows...), ADWin2KPAC, 2, false},
		{"depth at the limit", nestIfRelevant(AuthorizationData{pac}, ADMaxDepth), ADWin2KPAC, 1, false},
		{"depth past the limit", nestIfRelevant(AuthorizationData{pac}, ADMaxDepth+1), ADWin2KPAC, 0, true},
		{"malformed container", AuthorizationData{{Type: ADIfRelevant, Data: []byte{0x30, 0x05}}}, ADWin2KPAC, 0, true},
		{"AD-KDC-ISSUED not searched", AuthorizationData{{Type: ADKDCIssued, Data: []byte("opaque")}}, ADWin2KPAC, 0, false},
		{"empty", nil, ADWin2KPAC, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := FindAD(tt.ad, tt.typ)
			if tt.malformed {
				var pe *ParseError
				if !errors.As(err, &pe) || !errors.Is(err, ErrMalformed) {
					t.Fatalf("err = %v, want *ParseError", err)
				}
				return
			}
			if err != nil || len(got) != tt.wantN {
				t.Fatalf("FindAD = %d entries, %v; want %d", len(got), err, tt.wantN)
			}
			for _, e := range got {
				if e.Type != tt.typ {
					t.Fatalf("entry of type %v", e.Type)
				}
			}
		})
	}
	e, ok, err := FindFirstAD(windows, ADAPOptions)
	if err != nil || !ok || !bytes.Equal(e.Data, opts.Data) {
		t.Fatalf("FindFirstAD = %+v %v %v", e, ok, err)
	}
	if _, ok, err := FindFirstAD(windows, ADFXFastUsed); ok || err != nil {
		t.Fatalf("FindFirstAD absent = %v %v", ok, err)
	}
}

func TestADKDCIssued(t *testing.T) {
	vecs := extVectors(t, "ad_vectors.txt")
	b := vecs["encode_krb5_ad_kdcissued"]
	var k KDCIssuedAD
	if err := k.Unmarshal(b); err != nil {
		t.Fatal(err)
	}
	if k.ADChecksum.CksumType != 1 || k.IRealm != extMITRealm || k.ISName == nil || !k.ISName.Equal(extMITName) ||
		len(k.Elements) != 2 || !bytes.Equal(k.ElementsRaw, vecs["encode_krb5_authorization_data"]) {
		t.Fatalf("%+v", k)
	}
	built := KDCIssuedAD{ADChecksum: extMITCksum, IRealm: extMITRealm, ISName: &extMITName, Elements: k.Elements}
	if got, _ := built.Marshal(); !bytes.Equal(got, b) {
		t.Fatalf("built %x", got)
	}
	minimal := KDCIssuedAD{ADChecksum: extMITCksum, Elements: AuthorizationData{}}
	mb, _ := minimal.Marshal()
	if !bytes.Equal(mb, extHex(t, "30 15 A0 0F 30 0D A0 03 02 01 01 A1 06 04 04 31 32 33 34 A3 02 30 00")) {
		t.Fatalf("minimal %x", mb)
	}
	extCheckWire(t, mb, func() extWire { return new(KDCIssuedAD) })
	for _, bad := range [][]byte{
		extReplace(t, b, "A3 24 30 22", "A4 24 30 22"), // elements at [4]
		extReplace(t, b, "A1 10 1B 0E", "A1 10 04 0E"), // i-realm as OCTET STRING
		extHex(t, "30 04 A3 02 30 00"),                 // ad-checksum missing
	} {
		extWantMalformed(t, bad, func() extWire { return new(KDCIssuedAD) })
	}
	emptyRealm := extHex(t, "30 19 A0 0F 30 0D A0 03 02 01 01 A1 06 04 04 31 32 33 34 A1 02 1B 00 A3 02 30 00")
	extWantField(t, emptyRealm, func() extWire { return new(KDCIssuedAD) }, "i-realm")
}

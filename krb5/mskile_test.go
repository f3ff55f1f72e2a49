package krb5

import (
	"bytes"
	"errors"
	"testing"
)

func TestKILEVectors(t *testing.T) {
	vecs := extVectors(t, "mskile_vectors.txt")
	tests := []struct {
		name string
		newV func() extWire
	}{
		{"pa_pac_options(claims)", func() extWire { return new(PACOptions) }},
		{"pa_pac_options(claims+rbcd)", func() extWire { return new(PACOptions) }},
		{"ad_restriction(bare)", func() extWire { return new(KerbADRestrictionEntry) }},
		{"kerb_error_data(extended)", func() extWire { return new(KerbErrorData) }},
		{"kerb_error_data(skew)", func() extWire { return new(KerbErrorData) }},
		{"change_passwd_data", func() extWire { return new(ChangePasswdData) }},
		{"change_passwd_data(minimal)", func() extWire { return new(ChangePasswdData) }},
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

func TestKILEPACOptions(t *testing.T) {
	want := extHex(t, "30 09 a0 07 03 05 00 80 00 00 00")
	p := PACOptions{Flags: PACOptClaims}
	if got, _ := p.Marshal(); !bytes.Equal(got, want) {
		t.Fatalf("claims = %x", got)
	}
	pa := p.PAData()
	if pa.Type != PAPACOptions || !bytes.Equal(pa.Value, want) {
		t.Fatalf("PAData = %+v", pa)
	}
	var d PACOptions
	// Shorter BIT STRINGs are accepted (RFC 4120 asks receivers to).
	if err := d.Unmarshal(extHex(t, "30 06 a0 04 03 02 07 80")); err != nil || d.Flags != PACOptClaims {
		t.Fatalf("short bit string: %v %#x", err, d.Flags)
	}
	if err := d.Unmarshal(extHex(t, "30 05 a0 03 03 01 00")); err != nil {
		t.Fatalf("1-byte bit string: %v", err)
	}
	if err := d.Unmarshal(extHex(t, "30 05 a0 03 03 01 80")); !errors.Is(err, ErrMalformed) || d.Flags != 0 {
		// 03 01 80: unused-bits octet 0x80 > 7, invalid.
		t.Fatalf("bad unused bits: %v", err)
	}
	for _, bad := range []string{
		"03 05 00 80 00 00 00",             // bare BIT STRING, no [0]
		"30 09 a1 07 03 05 00 80 00 00 00", // wrong tag
		"30 07 a0 05 03 05 00 80 00 00 00", // inner length inconsistent
		"30 0b a0 07 03 05 00 80 00 00 00 05 00",
	} {
		extWantMalformed(t, extHex(t, bad), func() extWire { return new(PACOptions) })
	}
}

func TestKILESupportedEnctypes(t *testing.T) {
	want := extVector(t, "mskile_vectors.txt", "supported_enctypes_raw")
	v := SETDESCBCCRC | SETDESCBCMD5 | SETRC4HMAC | SETAES128 | SETAES256 | SETFASTSupported
	if got := EncodeSupportedEnctypes(v); !bytes.Equal(got, want) || !bytes.Equal(got, extHex(t, "1f 00 01 00")) {
		t.Fatalf("Encode = %x", got)
	}
	got, err := DecodeSupportedEnctypes(want)
	if err != nil || got != v {
		t.Fatalf("Decode = %#x %v", got, err)
	}
	for _, n := range []int{0, 1, 3, 5, 8} {
		if _, err := DecodeSupportedEnctypes(make([]byte, n)); !errors.Is(err, ErrMalformed) {
			t.Errorf("length %d: %v", n, err)
		}
	}
	// A DER INTEGER (what a confused peer might send) is not 4 bytes.
	if _, err := DecodeSupportedEnctypes(extHex(t, "02 03 01 00 1f")); !errors.Is(err, ErrMalformed) {
		t.Fatalf("DER INTEGER accepted: %v", err)
	}
}

func TestKILEADRestriction(t *testing.T) {
	vecs := extVectors(t, "mskile_vectors.txt")
	bare, wrapped := vecs["ad_restriction(bare)"], vecs["ad_restriction(wrapped)"]
	var mid [32]byte
	for i := range mid {
		mid[i] = byte(i + 1)
	}
	tii := TokenInfoIntegrity{Flags: TokenInfoFullToken, TokenIL: TokenILMedium, MachineID: mid}
	entry := KerbADRestrictionEntry{RestrictionType: RestrictionTokenInfoIntegrity, Restriction: tii.Marshal()}
	if got, _ := entry.Marshal(); !bytes.Equal(got, bare) {
		t.Fatalf("bare = %x", got)
	}
	if got := entry.MarshalADData(); !bytes.Equal(got, wrapped) {
		t.Fatalf("wrapped = %x", got)
	}
	ad := TokenRestrictionsAD(tii)
	if ad.Type != ADTokenRestrictions || !bytes.Equal(ad.Data, wrapped) {
		t.Fatalf("TokenRestrictionsAD = %+v", ad)
	}
	for name, b := range map[string][]byte{"bare": bare, "wrapped": wrapped} {
		var e KerbADRestrictionEntry
		if err := e.Unmarshal(b); err != nil || e.RestrictionType != 0 || !bytes.Equal(e.Restriction, entry.Restriction) {
			t.Fatalf("%s: %+v %v", name, e, err)
		}
		got, ok, err := DecodeTokenRestrictions(b)
		if err != nil || !ok || got != tii {
			t.Fatalf("%s: DecodeTokenRestrictions = %+v %v %v", name, got, ok, err)
		}
		for i := 0; i < len(b); i++ {
			if _, err := DecodeADRestrictions(b[:i]); !errors.Is(err, ErrMalformed) {
				t.Fatalf("%s prefix %d: %v", name, i, err)
			}
			if err := new(KerbADRestrictionEntry).Unmarshal(b[:i]); !errors.Is(err, ErrMalformed) {
				t.Fatalf("%s prefix %d: %v", name, i, err)
			}
		}
		if _, err := DecodeADRestrictions(append(append([]byte(nil), b...), 0)); !errors.Is(err, ErrMalformed) {
			t.Fatalf("%s trailing: %v", name, err)
		}
	}
	// A list of two: DecodeADRestrictions returns both; Unmarshal refuses.
	other := KerbADRestrictionEntry{RestrictionType: 7, Restriction: []byte("x")}
	e := []byte{0x30, 0}
	e1, _ := other.Marshal()
	list := append(append(e, e1...), bare...)
	list[1] = byte(len(list) - 2)
	got, err := DecodeADRestrictions(list)
	if err != nil || len(got) != 2 || got[0].RestrictionType != 7 {
		t.Fatalf("list: %+v %v", got, err)
	}
	if err := new(KerbADRestrictionEntry).Unmarshal(list); !errors.Is(err, ErrMalformed) {
		t.Fatalf("Unmarshal(list of 2): %v", err)
	}
	// The unknown type is skipped; the integrity entry is found.
	if tok, ok, err := DecodeTokenRestrictions(list); err != nil || !ok || tok != tii {
		t.Fatalf("DecodeTokenRestrictions(list) = %v %v", ok, err)
	}
	if _, ok, err := DecodeTokenRestrictions(e1); ok || err != nil {
		t.Fatalf("no integrity entry: %v %v", ok, err)
	}
	// Empty SEQUENCE OF: zero entries.
	if got, err := DecodeADRestrictions([]byte{0x30, 0}); err != nil || len(got) != 0 {
		t.Fatalf("empty list: %v %v", got, err)
	}
	// A restriction of the wrong length.
	short := KerbADRestrictionEntry{Restriction: make([]byte, 39)}.MarshalADData()
	if _, _, err := DecodeTokenRestrictions(short); !errors.Is(err, ErrMalformed) {
		t.Fatalf("39-byte LSAP_TOKEN_INFO_INTEGRITY: %v", err)
	}
}

func TestKILETokenInfoIntegrity(t *testing.T) {
	b := extVector(t, "mskile_vectors.txt", "ad_restriction(bare)")[11:]
	var tii TokenInfoIntegrity
	if err := tii.Unmarshal(b); err != nil || tii.Flags != 0 || tii.TokenIL != 0x2000 || tii.MachineID[31] != 0x20 {
		t.Fatalf("%+v %v", tii, err)
	}
	if !bytes.Equal(tii.Marshal(), b) {
		t.Fatal("re-marshal differs")
	}
	tii.Flags = TokenInfoUACRestricted
	if got := tii.Marshal(); !bytes.Equal(got[:4], []byte{1, 0, 0, 0}) {
		t.Fatalf("flags LE: %x", got[:4])
	}
	for _, n := range []int{0, 8, 39, 41} {
		if err := new(TokenInfoIntegrity).Unmarshal(make([]byte, n)); !errors.Is(err, ErrMalformed) {
			t.Errorf("length %d: %v", n, err)
		}
	}
}

func TestKILEErrorData(t *testing.T) {
	vecs := extVectors(t, "mskile_vectors.txt")
	ext := vecs["kerb_error_data(extended)"]
	if got := ExtendedErrorData(StatusLogonFailure); !bytes.Equal(got, ext) {
		t.Fatalf("ExtendedErrorData = %x", got)
	}
	var d KerbErrorData
	if err := d.Unmarshal(ext); err != nil || d.DataType != KerbErrTypeExtended {
		t.Fatalf("%+v %v", d, err)
	}
	var x KerbExtError
	if err := x.Unmarshal(d.DataValue); err != nil || x.Status != StatusLogonFailure || x.Reserved != 0 || x.Flags != 1 {
		t.Fatalf("KerbExtError %+v %v", x, err)
	}
	skew := KerbErrorData{DataType: KerbAPErrTypeSkewRecovery}
	if got, _ := skew.Marshal(); !bytes.Equal(got, vecs["kerb_error_data(skew)"]) {
		t.Fatalf("skew = %x", got)
	}
	if err := d.Unmarshal(vecs["kerb_error_data(skew)"]); err != nil || d.DataValue != nil {
		t.Fatalf("skew decode: %+v %v", d, err)
	}
	// Present but empty value round-trips as present.
	empty := extHex(t, "30 09 A1 03 02 01 03 A2 02 04 00")
	v := extCheckWire(t, empty, func() extWire { return new(KerbErrorData) }).(*KerbErrorData)
	if v.DataValue == nil || len(v.DataValue) != 0 {
		t.Fatalf("empty value: %#v", v.DataValue)
	}
	for _, bad := range []string{
		"30 05 A0 03 02 01 03",             // tags start at [1]
		"30 00",                            // data-type missing
		"30 09 A1 03 02 01 03 A2 02 02 00", // value not OCTET STRING
	} {
		extWantMalformed(t, extHex(t, bad), func() extWire { return new(KerbErrorData) })
	}

	raw := vecs["kerb_ext_error_raw"]
	if got := NewKerbExtError(StatusAccountLockedOut).Marshal(); !bytes.Equal(got, raw) {
		t.Fatalf("KerbExtError.Marshal = %x", got)
	}
	for _, n := range []int{0, 4, 11, 13} {
		if err := new(KerbExtError).Unmarshal(make([]byte, n)); !errors.Is(err, ErrMalformed) {
			t.Errorf("length %d: %v", n, err)
		}
	}
	if StatusAccountLockedOut.String() != "STATUS_ACCOUNT_LOCKED_OUT" || NTStatus(0xC0000001).String() != "0xc0000001" {
		t.Fatalf("NTStatus.String: %s %s", StatusAccountLockedOut, NTStatus(0xC0000001))
	}
}

func TestKILEADAPOptions(t *testing.T) {
	raw := extVector(t, "mskile_vectors.txt", "ad_ap_options_raw")
	if got := EncodeADAPOptions(KerbAPOptionsCBT); !bytes.Equal(got, raw) {
		t.Fatalf("Encode = %x", got)
	}
	if v, err := DecodeADAPOptions(raw); err != nil || v != KerbAPOptionsCBT {
		t.Fatalf("Decode = %#x %v", v, err)
	}
	if v, _ := DecodeADAPOptions(EncodeADAPOptions(KerbAPOptionsCBT | KerbAPOptionsUnverifiedTargetName)); v != 0xC000 {
		t.Fatalf("both bits = %#x", v)
	}
	for _, n := range []int{0, 2, 5} {
		if _, err := DecodeADAPOptions(make([]byte, n)); !errors.Is(err, ErrMalformed) {
			t.Errorf("length %d: %v", n, err)
		}
	}
}

func TestKILEChangePasswdData(t *testing.T) {
	vecs := extVectors(t, "mskile_vectors.txt")
	full := ChangePasswdData{NewPasswd: []byte("krb5data"), TargName: &extMITName, TargRealm: extMITRealm}
	if got, _ := full.Marshal(); !bytes.Equal(got, vecs["change_passwd_data"]) {
		t.Fatalf("full = %x", got)
	}
	var d ChangePasswdData
	if err := d.Unmarshal(vecs["change_passwd_data(minimal)"]); err != nil || d.TargName != nil || d.TargRealm != "" ||
		string(d.NewPasswd) != "krb5data" {
		t.Fatalf("minimal: %+v %v", d, err)
	}
	extWantField(t, extHex(t, "30 10 A0 0A 04 08 6B 72 62 35 64 61 74 61 A2 02 1B 00"),
		func() extWire { return new(ChangePasswdData) }, "targrealm")
	for _, bad := range []string{
		"30 0C A1 0A 04 08 6B 72 62 35 64 61 74 61", // newpasswd missing
		"30 0C A0 0A 1B 08 6B 72 62 35 64 61 74 61", // GeneralString password
	} {
		extWantMalformed(t, extHex(t, bad), func() extWire { return new(ChangePasswdData) })
	}
}

package krb5

import (
	"bytes"
	"errors"
	"testing"
)

func TestFastVectors(t *testing.T) {
	vecs := extVectors(t, "fast_vectors.txt")
	tests := []struct {
		name string
		newV func() extWire
	}{
		{"encode_krb5_fast_response", func() extWire { return new(KrbFastResponse) }},
		{"encode_krb5_pa_fx_fast_reply", func() extWire { return new(FastArmoredRep) }},
		{"mit_fast_finished", func() extWire { return new(KrbFastFinished) }},
		{"warden_fast_armor", func() extWire { return new(KrbFastArmor) }},
		{"warden_pa_fx_fast_request", func() extWire { return new(FastArmoredReq) }},
		{"warden_pa_fx_fast_request(no armor)", func() extWire { return new(FastArmoredReq) }},
		{"warden_fast_req", func() extWire { return new(KrbFastReq) }},
		{"warden_fast_req(empty padata)", func() extWire { return new(KrbFastReq) }},
		{"warden_fast_response(minimal)", func() extWire { return new(KrbFastResponse) }},
		{"warden_fast_response(high nonce)", func() extWire { return new(KrbFastResponse) }},
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

func TestFastResponseMITFields(t *testing.T) {
	vecs := extVectors(t, "fast_vectors.txt")
	var r KrbFastResponse
	if err := r.Unmarshal(vecs["encode_krb5_fast_response"]); err != nil {
		t.Fatal(err)
	}
	if len(r.PAData) != 2 || r.PAData[0].Type != 13 || string(r.PAData[0].Value) != "pa-data" {
		t.Fatalf("padata %+v", r.PAData)
	}
	if r.StrengthenKey == nil || r.StrengthenKey.KeyType != 1 || string(r.StrengthenKey.KeyValue) != "12345678" {
		t.Fatalf("strengthen-key %+v", r.StrengthenKey)
	}
	f := r.Finished
	if f == nil || !f.Timestamp.Equal(extMITTime) || f.Usec != 123456 || f.CRealm != extMITRealm ||
		!f.CName.Equal(extMITName) || f.TicketChecksum.CksumType != 1 || string(f.TicketChecksum.Checksum) != "1234" {
		t.Fatalf("finished %+v", f)
	}
	if r.Nonce != 42 {
		t.Fatalf("nonce %d", r.Nonce)
	}
	// Built from fields, the response is MIT's bytes.
	built := KrbFastResponse{
		PAData:        MethodData{{Type: 13, Value: []byte("pa-data")}, {Type: 13, Value: []byte("pa-data")}},
		StrengthenKey: &EncryptionKey{KeyType: 1, KeyValue: []byte("12345678")},
		Finished: &KrbFastFinished{Timestamp: extMITTime, Usec: 123456, CRealm: extMITRealm, CName: extMITName,
			TicketChecksum: extMITCksum},
		Nonce: 42,
	}
	if got, _ := built.Marshal(); !bytes.Equal(got, vecs["encode_krb5_fast_response"]) {
		t.Fatalf("built\n got %x\nwant %x", got, vecs["encode_krb5_fast_response"])
	}
	var hi KrbFastResponse
	if err := hi.Unmarshal(vecs["warden_fast_response(high nonce)"]); err != nil || hi.Nonce != 0x80000001 {
		t.Fatalf("high nonce: %v %#x", err, hi.Nonce)
	}
}

func TestFastArmoredRepPAData(t *testing.T) {
	b := extVector(t, "fast_vectors.txt", "encode_krb5_pa_fx_fast_reply")
	rep := FastArmoredRep{EncFastRep: extMITEnc}
	pa, err := rep.PAData()
	if err != nil || pa.Type != PAFXFast || !bytes.Equal(pa.Value, b) {
		t.Fatalf("PAData = %v %x, %v", pa.Type, pa.Value, err)
	}
}

func TestFastArmoredReqBuild(t *testing.T) {
	vecs := extVectors(t, "fast_vectors.txt")
	req := FastArmoredReq{
		Armor:       &KrbFastArmor{ArmorType: ArmorAPRequest, ArmorValue: []byte("krb5data")},
		ReqChecksum: extMITCksum,
		EncFastReq:  extMITEnc,
	}
	pa, err := req.PAData()
	if err != nil || pa.Type != PAFXFast || !bytes.Equal(pa.Value, vecs["warden_pa_fx_fast_request"]) {
		t.Fatalf("PAData = %x, %v", pa.Value, err)
	}
	req.Armor = nil
	if got, _ := req.Marshal(); !bytes.Equal(got, vecs["warden_pa_fx_fast_request(no armor)"]) {
		t.Fatalf("no armor %x", got)
	}
	var dec FastArmoredReq
	if err := dec.Unmarshal(vecs["warden_pa_fx_fast_request"]); err != nil {
		t.Fatal(err)
	}
	if dec.Armor == nil || dec.Armor.ArmorType != ArmorAPRequest || string(dec.Armor.ArmorValue) != "krb5data" ||
		string(dec.EncFastReq.Cipher) != "krbASN.1 test message" || !dec.EncFastReq.HasKVNO || dec.EncFastReq.KVNO != 5 {
		t.Fatalf("decoded %+v", dec)
	}
}

func TestFastReqFields(t *testing.T) {
	vecs := extVectors(t, "fast_vectors.txt")
	var r KrbFastReq
	if err := r.Unmarshal(vecs["warden_fast_req"]); err != nil {
		t.Fatal(err)
	}
	if r.FastOptions != FastOptHideClientNames || len(r.PAData) != 2 || r.ReqBody.Realm != extMITRealm ||
		r.ReqBody.Nonce != 42 {
		t.Fatalf("%+v", r)
	}
	// Raw of the inner body is the exact bytes after A2 5B.
	b := vecs["warden_fast_req"]
	i := bytes.Index(b, extHex(t, "A2 5B 30 59"))
	if !bytes.Equal(r.ReqBody.Raw, b[i+2:]) {
		t.Fatalf("ReqBody.Raw = %x", r.ReqBody.Raw)
	}
	if r.UnknownCriticalOptions() != 0 {
		t.Fatalf("hide-client-names reported unknown")
	}
	tests := []struct {
		opts, want Flags
	}{
		{0, 0},
		{FastOptHideClientNames | FastOptKDCFollowReferrals, 0},
		{Bit(0), Bit(0)},
		{Bit(15) | FastOptHideClientNames, Bit(15)},
		{Bit(16) | Bit(31), 0},
	}
	for _, tt := range tests {
		r := KrbFastReq{FastOptions: tt.opts}
		if got := r.UnknownCriticalOptions(); got != tt.want {
			t.Errorf("UnknownCriticalOptions(%#x) = %#x, want %#x", tt.opts, got, tt.want)
		}
	}
}

func TestFastRejects(t *testing.T) {
	vecs := extVectors(t, "fast_vectors.txt")
	areq := vecs["warden_pa_fx_fast_request"]
	tests := []struct {
		name string
		b    []byte
		newV func() extWire
	}{
		{"request CHOICE [1]", extReplace(t, areq, "A0 4F 30 4D", "A1 4F 30 4D"), func() extWire { return new(FastArmoredReq) }},
		{"request bare SEQUENCE", areq[2:], func() extWire { return new(FastArmoredReq) }},
		{"request armor tag", extReplace(t, areq, "A0 13 30 11", "A3 13 30 11"), func() extWire { return new(FastArmoredReq) }},
		{"request without checksum", extHex(t, "A0 29 30 27 A2 25 "+"30 23 A0 03 02 01 00 A1 03 02 01 05 A2 17 04 15 6B 72 62 41 53 4E 2E 31 20 74 65 73 74 20 6D 65 73 73 61 67 65"), func() extWire { return new(FastArmoredReq) }},
		{"reply as request", vecs["encode_krb5_pa_fx_fast_reply"], func() extWire { return new(FastArmoredReq) }},
		{"reply CHOICE [1]", extReplace(t, vecs["encode_krb5_pa_fx_fast_reply"], "A0 29", "A1 29"), func() extWire { return new(FastArmoredRep) }},
		{"response nonce too big", extHex(t, "30 0D A0 02 30 00 A3 07 02 05 01 00 00 00 00"), func() extWire { return new(KrbFastResponse) }},
		{"response no nonce", extHex(t, "30 04 A0 02 30 00"), func() extWire { return new(KrbFastResponse) }},
		{"finished usec out of range", extReplace(t, vecs["mit_fast_finished"], "A1 05 02 03 01 E2 40", "A1 05 02 03 0F 42 40"), func() extWire { return new(KrbFastFinished) }},
		{"fast-req options not a BIT STRING", extReplace(t, vecs["warden_fast_req"], "A0 07 03 05", "A0 07 04 05"), func() extWire { return new(KrbFastReq) }},
		{"armor value INTEGER", extHex(t, "30 0A A0 03 02 01 01 A1 03 02 01 05"), func() extWire { return new(KrbFastArmor) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { extWantMalformed(t, tt.b, tt.newV) })
	}
}

func TestFastPAHelpers(t *testing.T) {
	// PA-ENCRYPTED-CHALLENGE is the bare EncryptedData.
	pa := EncryptedChallengePAData(extMITEnc)
	want, _ := extMITEnc.Marshal()
	if pa.Type != PAEncryptedChallenge || !bytes.Equal(pa.Value, want) {
		t.Fatalf("EncryptedChallengePAData = %+v", pa)
	}
	ed, err := DecodeEncryptedChallenge(pa.Value)
	if err != nil || ed.EType != extMITEnc.EType || !bytes.Equal(ed.Cipher, extMITEnc.Cipher) {
		t.Fatalf("DecodeEncryptedChallenge: %+v %v", ed, err)
	}
	if _, err := DecodeEncryptedChallenge(nil); !errors.Is(err, ErrMalformed) {
		t.Fatalf("empty challenge: %v", err)
	}

	// PA-FX-COOKIE is opaque and copied.
	cookie := []byte{1, 2, 3}
	c := FXCookiePAData(cookie)
	cookie[0] = 9
	if c.Type != PAFXCookie || !bytes.Equal(c.Value, []byte{1, 2, 3}) {
		t.Fatalf("FXCookiePAData = %+v", c)
	}

	// PA-FX-ERROR carries a KRB-ERROR DER; MIT's encode_krb5_error(optionals NULL).
	krbErr := extHex(t, "7E 60 30 5E A0 03 02 01 05 A1 03 02 01 1E A3 05 02 03 01 E2 40 A4 11 18 0F 31 39 39 34 30 36 31 30 30 36 30 33 31 37 5A A5 05 02 03 01 E2 40 A6 03 02 01 3C A9 10 1B 0E 41 54 48 45 4E 41 2E 4D 49 54 2E 45 44 55 AA 1A 30 18 A0 03 02 01 01 A1 11 30 0F 1B 06 68 66 74 73 61 69 1B 05 65 78 74 72 61")
	m := MethodData{FXCookiePAData([]byte("c")), FXErrorPAData(krbErr)}
	v, ok, err := FXErrorValue(m)
	if err != nil || !ok || !bytes.Equal(v, krbErr) {
		t.Fatalf("FXErrorValue = %x %v %v", v, ok, err)
	}
	if _, ok, err := FXErrorValue(MethodData{}); ok || err != nil {
		t.Fatalf("FXErrorValue(empty) = %v %v", ok, err)
	}
	for _, bad := range [][]byte{nil, krbErr[:10], append(append([]byte(nil), krbErr...), 0), extHex(t, "30 00")} {
		if _, ok, err := FXErrorValue(MethodData{FXErrorPAData(bad)}); !ok || !errors.Is(err, ErrMalformed) {
			t.Fatalf("FXErrorValue(%x) = %v %v", bad, ok, err)
		}
	}
}

package krb5

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

const kdcVectors = "kdcmsg_vectors.txt"

// TestMITReferenceEncodings decodes every MIT reference encoding of the
// core RFC 4120 types and checks the wire contract on it: byte-identical
// re-marshal, no strict prefix parses, trailing bytes rejected.
func TestMITReferenceEncodings(t *testing.T) {
	newFor := map[string]func() extWire{
		"encode_krb5_authenticator":                                func() extWire { return new(Authenticator) },
		"encode_krb5_authenticator(optionals NULL)":                func() extWire { return new(Authenticator) },
		"encode_krb5_ticket":                                       func() extWire { return new(Ticket) },
		"encode_krb5_keyblock":                                     func() extWire { return new(EncryptionKey) },
		"encode_krb5_enc_tkt_part":                                 func() extWire { return new(EncTicketPart) },
		"encode_krb5_enc_tkt_part(optionals NULL)":                 func() extWire { return new(EncTicketPart) },
		"encode_krb5_enc_kdc_rep_part":                             func() extWire { return new(EncKDCRepPart) },
		"encode_krb5_enc_kdc_rep_part(optionals NULL)":             func() extWire { return new(EncKDCRepPart) },
		"encode_krb5_as_rep":                                       func() extWire { return new(KDCRep) },
		"encode_krb5_as_rep(optionals NULL)":                       func() extWire { return new(KDCRep) },
		"encode_krb5_tgs_rep":                                      func() extWire { return new(KDCRep) },
		"encode_krb5_ap_req":                                       func() extWire { return new(APReq) },
		"encode_krb5_ap_rep":                                       func() extWire { return new(APRep) },
		"encode_krb5_ap_rep_enc_part":                              func() extWire { return new(EncAPRepPart) },
		"encode_krb5_ap_rep_enc_part(optionals NULL)":              func() extWire { return new(EncAPRepPart) },
		"encode_krb5_as_req":                                       func() extWire { return new(KDCReq) },
		"encode_krb5_as_req(optionals NULL except server)":         func() extWire { return new(KDCReq) },
		"encode_krb5_tgs_req(optionals NULL except second_ticket)": func() extWire { return new(KDCReq) },
		"encode_krb5_kdc_req_body(optionals NULL except server)":   func() extWire { return new(KDCReqBody) },
		"encode_krb5_error":                                        func() extWire { return new(KRBError) },
		"encode_krb5_error(optionals NULL)":                        func() extWire { return new(KRBError) },
		"encode_krb5_padata_sequence":                              func() extWire { return new(MethodData) },
		"encode_krb5_padata_sequence(empty)":                       func() extWire { return new(MethodData) },
		"encode_krb5_etype_info":                                   func() extWire { return new(ETypeInfo) },
		"encode_krb5_etype_info2":                                  func() extWire { return new(ETypeInfo2) },
		"encode_krb5_pa_enc_ts":                                    func() extWire { return new(PAEncTSEnc) },
		"encode_krb5_pa_enc_ts (no usec)":                          func() extWire { return new(PAEncTSEnc) },
		"encode_krb5_enc_data":                                     func() extWire { return new(EncryptedData) },
		"encode_krb5_enc_data(MSB-set kvno)":                       func() extWire { return new(EncryptedData) },
		"encode_krb5_enc_data(kvno=-1)":                            func() extWire { return new(EncryptedData) },
		"warden_pac_request(true)":                                 func() extWire { return new(PACRequest) },
		"warden_pac_request(false)":                                func() extWire { return new(PACRequest) },
	}
	vectors := extVectors(t, kdcVectors)
	for name, b := range vectors {
		newV, ok := newFor[name]
		if !ok {
			t.Errorf("vector %s has no type in this test", name)
			continue
		}
		t.Run(name, func(t *testing.T) { extCheckWire(t, b, newV) })
	}
}

// TestMITReferenceFields checks that the MIT encodings decode to the
// values MIT's test encoded (realm ATHENA.MIT.EDU, hftsai/extra,
// 19940610060317Z, usec 123456, nonce 42).
func TestMITReferenceFields(t *testing.T) {
	v := extVectors(t, kdcVectors)
	when := time.Date(1994, 6, 10, 6, 3, 17, 0, time.UTC)
	hftsai := PrincipalName{NameType: NameTypePrincipal, NameString: []string{"hftsai", "extra"}}

	var req KDCReq
	if err := req.Unmarshal(v["encode_krb5_as_req"]); err != nil {
		t.Fatal(err)
	}
	b := req.ReqBody
	if req.MsgType != MsgASReq || len(req.PAData) != 2 || req.PAData[0].Type != 13 || string(req.PAData[0].Value) != "pa-data" ||
		b.KDCOptions != 0xFEDCBA90 || !b.CName.Equal(hftsai) || b.Realm != "ATHENA.MIT.EDU" || !b.From.Equal(when) ||
		b.Nonce != 42 || !reflect.DeepEqual(b.EType, []EncType{0, 1}) || len(b.Addresses) != 2 ||
		b.EncAuthorizationData == nil || len(b.AdditionalTickets) != 2 || b.AdditionalTickets[0].Realm != "ATHENA.MIT.EDU" {
		t.Errorf("AS-REQ decoded wrong: %+v", req)
	}
	if string(req.Raw) != string(v["encode_krb5_as_req"]) || len(b.Raw) == 0 || b.Raw[0] != 0x30 {
		t.Error("AS-REQ Raw / req-body Raw not kept")
	}

	var ke KRBError
	if err := ke.Unmarshal(v["encode_krb5_error"]); err != nil {
		t.Fatal(err)
	}
	if ke.ErrorCode != KRBErrGeneric || ke.EText != "krb5data" || !ke.HasCUSec || ke.CUSec != 123456 ||
		!ke.CTime.Equal(when) || ke.CRealm != "ATHENA.MIT.EDU" || string(ke.EData) != "krb5data" {
		t.Errorf("KRB-ERROR decoded wrong: %+v", ke)
	}
	if e := ke.Err(); e.Code != KRBErrGeneric || e.Reason != "krb5data" {
		t.Errorf("Err() = %v", e)
	}

	var part EncKDCRepPart
	if err := part.Unmarshal(v["encode_krb5_enc_kdc_rep_part"]); err != nil {
		t.Fatal(err)
	}
	if part.Tag != MsgEncTGSRepPart || part.Nonce != 42 || len(part.LastReq) != 2 || part.LastReq[0].Type != -5 ||
		part.Flags != 0xFEDCBA98 || !part.KeyExpiration.Equal(when) || part.SRealm != "ATHENA.MIT.EDU" || len(part.CAddr) != 2 {
		t.Errorf("EncKDCRepPart decoded wrong: %+v", part)
	}

	var ed EncryptedData
	if err := ed.Unmarshal(v["encode_krb5_enc_data(kvno=-1)"]); err != nil || !ed.HasKVNO || ed.KVNO != 0xffffffff {
		t.Errorf("kvno -1: %+v %v", ed, err)
	}
	if err := ed.Unmarshal(v["encode_krb5_enc_data(MSB-set kvno)"]); err != nil || ed.KVNO != 0xff000000 {
		t.Errorf("MSB-set kvno: %+v %v", ed, err)
	}

	var info ETypeInfo2
	if err := info.Unmarshal(v["encode_krb5_etype_info2"]); err != nil {
		t.Fatal(err)
	}
	if len(info) != 3 || info[0].Salt != "Morton's #0" || !info[0].HasSalt || string(info[0].S2KParams) != "s2k: 0" || info[1].HasSalt {
		t.Errorf("ETYPE-INFO2 decoded wrong: %+v", info)
	}
	var ts PAEncTSEnc
	if err := ts.Unmarshal(v["encode_krb5_pa_enc_ts"]); err != nil || !ts.Time().Equal(when.Add(123456*time.Microsecond)) {
		t.Errorf("PA-ENC-TS-ENC: %+v %v", ts, err)
	}
}

// sampleASReq is a request as MIT kinit sends it with preauth.
func sampleASReq() KDCReq {
	cname := PrincipalName{NameType: NameTypePrincipal, NameString: []string{"alice"}}
	sname := PrincipalName{NameType: NameTypeSrvInst, NameString: []string{"krbtgt", "EXAMPLE.TEST"}}
	return KDCReq{
		MsgType: MsgASReq,
		PAData: MethodData{
			{Type: PAEncTimestamp, Value: make([]byte, 60)},
			PACRequest{IncludePAC: true}.PAData(),
		},
		ReqBody: KDCReqBody{
			KDCOptions: KDCOptForwardable | KDCOptRenewable | KDCOptCanonicalize | KDCOptRenewableOK,
			CName:      &cname,
			Realm:      "EXAMPLE.TEST",
			SName:      &sname,
			Till:       time.Date(2026, 11, 24, 3, 0, 0, 0, time.UTC),
			RTime:      time.Date(2026, 11, 30, 3, 0, 0, 0, time.UTC),
			Nonce:      0x7a3c9e01,
			EType:      []EncType{20, 19, 18, 17},
		},
	}
}

func sampleTicket() Ticket {
	return Ticket{TktVNO: 5, Realm: "EXAMPLE.TEST",
		SName:   PrincipalName{NameType: NameTypeSrvInst, NameString: []string{"krbtgt", "EXAMPLE.TEST"}},
		EncPart: EncryptedData{EType: 18, KVNO: 2, HasKVNO: true, Cipher: make([]byte, 1024)}}
}

func sampleEncTicketPart() EncTicketPart {
	return EncTicketPart{
		Flags:             TktFlagForwardable | TktFlagRenewable | TktFlagInitial | TktFlagPreAuthent,
		Key:               EncryptionKey{KeyType: 18, KeyValue: make([]byte, 32)},
		CRealm:            "EXAMPLE.TEST",
		CName:             PrincipalName{NameType: NameTypePrincipal, NameString: []string{"alice"}},
		Transited:         TransitedEncoding{TRType: 1, Contents: []byte{}},
		AuthTime:          time.Date(2026, 11, 23, 3, 0, 0, 0, time.UTC),
		EndTime:           time.Date(2026, 11, 23, 13, 0, 0, 0, time.UTC),
		RenewTill:         time.Date(2026, 11, 30, 3, 0, 0, 0, time.UTC),
		AuthorizationData: AuthorizationData{{Type: ADIfRelevant, Data: make([]byte, 600)}},
	}
}

// TestBuiltValuesRoundTrip builds typical values, encodes them, and
// checks the wire contract and that decoding gives the same fields.
func TestBuiltValuesRoundTrip(t *testing.T) {
	asreq := sampleASReq()
	tgsreq := sampleASReq()
	tgsreq.MsgType = MsgTGSReq
	tgsreq.PAData = MethodData{{Type: PATGSReq, Value: []byte{1, 2, 3}}}
	tgsreq.ReqBody.CName = nil
	tgsreq.ReqBody.AdditionalTickets = []Ticket{sampleTicket()}
	tgsreq.ReqBody.EncAuthorizationData = &EncryptedData{EType: 18, Cipher: []byte("x")}
	tgsreq.ReqBody.Addresses = HostAddresses{{AddrType: AddrIPv4, Address: []byte{127, 0, 0, 1}}}
	cname := PrincipalName{NameType: NameTypePrincipal, NameString: []string{"alice"}}
	subkey := EncryptionKey{KeyType: 18, KeyValue: make([]byte, 32)}
	tests := []struct {
		name string
		v    extWire
		newV func() extWire
	}{
		{"AS-REQ", &asreq, func() extWire { return new(KDCReq) }},
		{"TGS-REQ", &tgsreq, func() extWire { return new(KDCReq) }},
		{"AS-REP", &KDCRep{MsgType: MsgASRep, PAData: MethodData{ETypeInfo2{{EType: 18, Salt: "EXAMPLE.TESTalice", HasSalt: true}}.PAData()},
			CRealm: "EXAMPLE.TEST", CName: cname, Ticket: sampleTicket(), EncPart: EncryptedData{EType: 18, Cipher: make([]byte, 300)}},
			func() extWire { return new(KDCRep) }},
		{"EncASRepPart", &EncKDCRepPart{Tag: MsgEncASRepPart, Key: subkey, LastReq: []LastReqEntry{{0, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}},
			Nonce: 0xfffffff0, Flags: TktFlagInitial, AuthTime: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
			EndTime: time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC), SRealm: "EXAMPLE.TEST", SName: cname,
			EncryptedPAData: MethodData{{Type: PASupportedEnctypes, Value: EncodeSupportedEnctypes(0x1f | SETFASTSupported)}}},
			func() extWire { return new(EncKDCRepPart) }},
		{"EncTicketPart", func() *EncTicketPart { e := sampleEncTicketPart(); return &e }(), func() extWire { return new(EncTicketPart) }},
		{"AP-REQ", &APReq{APOptions: APOptMutualRequired, Ticket: sampleTicket(), Authenticator: EncryptedData{EType: 18, Cipher: make([]byte, 100)}},
			func() extWire { return new(APReq) }},
		{"Authenticator", &Authenticator{CRealm: "EXAMPLE.TEST", CName: cname, Cksum: &Checksum{CksumType: CksumGSSAPI, Checksum: make([]byte, 24)},
			CUSec: 999999, CTime: time.Date(2026, 11, 23, 3, 0, 0, 0, time.UTC), Subkey: &subkey, SeqNumber: 0x80000001, HasSeqNumber: true,
			AuthorizationData: AuthorizationData{{Type: ADIfRelevant, Data: []byte{0x30, 0}}}},
			func() extWire { return new(Authenticator) }},
		{"AP-REP", &APRep{EncPart: EncryptedData{EType: 18, Cipher: make([]byte, 80)}}, func() extWire { return new(APRep) }},
		{"EncAPRepPart", &EncAPRepPart{CTime: time.Date(2026, 11, 23, 3, 0, 0, 0, time.UTC), CUSec: 5, Subkey: &subkey, SeqNumber: 7, HasSeqNumber: true},
			func() extWire { return new(EncAPRepPart) }},
		{"KRB-ERROR", NewKRBError(NewError(KDCErrPreauthRequired, "pre-authentication required"), time.Date(2026, 11, 23, 3, 0, 0, 5000, time.UTC),
			"EXAMPLE.TEST", PrincipalName{NameType: NameTypeSrvInst, NameString: []string{"krbtgt", "EXAMPLE.TEST"}}),
			func() extWire { return new(KRBError) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := tc.v.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			got := extCheckWire(t, b, tc.newV)
			clearRaw(got)
			clearRaw(tc.v)
			if !reflect.DeepEqual(got, tc.v) {
				t.Fatalf("decoded value differs:\n got %+v\nwant %+v", got, tc.v)
			}
		})
	}
}

func clearRaw(v extWire) {
	switch x := v.(type) {
	case *KDCReq:
		x.Raw, x.ReqBody.Raw = nil, nil
		for i := range x.ReqBody.AdditionalTickets {
			x.ReqBody.AdditionalTickets[i].Raw = nil
		}
	case *KDCRep:
		x.Ticket.Raw = nil
	case *APReq:
		x.Raw, x.Ticket.Raw = nil, nil
	case *EncTicketPart:
		x.Raw = nil
	}
}

func TestHandCheckedEncodings(t *testing.T) {
	req := sampleASReq()
	b, _ := req.ReqBody.Marshal()
	// kdc-options [0] BIT STRING, 32 bits, forwardable|renewable|canonicalize|renewable-ok
	if !strings.HasPrefix(string(b[2:]), "\xa0\x07\x03\x05\x00\x40\x81\x00\x10") && !strings.HasPrefix(string(b[3:]), "\xa0\x07\x03\x05\x00\x40\x81\x00\x10") {
		t.Errorf("KDCOptions not encoded as 03 05 00 40 81 00 10: % x", b[:12])
	}
	if got := (PACRequest{IncludePAC: true}).PAData().Value; string(got) != "\x30\x05\xa0\x03\x01\x01\xff" {
		t.Errorf("PACRequest TRUE = % x", got)
	}
}

func TestDecodeRejects(t *testing.T) {
	v := extVectors(t, kdcVectors)
	asreq := v["encode_krb5_as_req(optionals NULL except server)"]
	tests := []struct {
		name  string
		b     []byte
		newV  func() extWire
		field string
	}{
		// msg-type 12 inside an [APPLICATION 10] wrapper.
		{"msg-type vs tag", extReplace(t, asreq, "A2 03 02 01 0A", "A2 03 02 01 0C"), func() extWire { return new(KDCReq) }, "msg-type"},
		{"pvno 4", extReplace(t, asreq, "A1 03 02 01 05", "A1 03 02 01 04"), func() extWire { return new(KDCReq) }, "pvno"},
		{"AS-REP tag for KDC-REQ", extReplace(t, asreq, "6A 69", "6B 69"), func() extWire { return new(KDCReq) }, "application tag"},
		{"usec out of range", extReplace(t, v["encode_krb5_ap_rep_enc_part(optionals NULL)"], "A1 05 02 03 01 E2 40", "A1 05 02 03 0F 42 40"),
			func() extWire { return new(EncAPRepPart) }, "cusec"},
		{"authenticator-vno 4", extReplace(t, v["encode_krb5_authenticator(optionals NULL)"], "A0 03 02 01 05", "A0 03 02 01 04"),
			func() extWire { return new(Authenticator) }, "authenticator-vno"},
		{"bad time", extReplace(t, v["encode_krb5_pa_enc_ts (no usec)"], "31 39 39 34 30 36 31 30", "31 39 39 34 31 33 31 30"),
			func() extWire { return new(PAEncTSEnc) }, "patimestamp"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { extWantField(t, tc.b, tc.newV, tc.field) })
	}
}

func TestMessageType(t *testing.T) {
	v := extVectors(t, kdcVectors)
	for name, want := range map[string]MsgType{"encode_krb5_as_req": MsgASReq, "encode_krb5_tgs_rep": MsgTGSRep,
		"encode_krb5_error": MsgKRBError, "encode_krb5_ap_req": MsgAPReq} {
		if got, ok := MessageType(v[name]); !ok || got != want {
			t.Errorf("%s: MessageType = %v, %v", name, got, ok)
		}
	}
	for _, b := range [][]byte{nil, {0x30, 0}, {0x7f, 0x81}} {
		if _, ok := MessageType(b); ok {
			t.Errorf("MessageType(% x) accepted", b)
		}
	}
}

// TestKRBErrorDisclosure: only the Reason reaches the wire.
func TestKRBErrorDisclosure(t *testing.T) {
	err := &Error{Code: KDCErrPreauthFailed, Reason: "pre-authentication failed",
		Hint: "user alice typed the password hunter2", Err: errors.New("secret key 0xdeadbeef")}
	k := NewKRBError(err, time.Now(), "EXAMPLE.TEST", PrincipalName{NameType: NameTypeSrvInst, NameString: []string{"krbtgt", "EXAMPLE.TEST"}})
	b, _ := k.Marshal()
	for _, secret := range []string{"hunter2", "deadbeef", "alice"} {
		if strings.Contains(string(b), secret) {
			t.Errorf("KRB-ERROR on the wire contains %q", secret)
		}
	}
	if k.ErrorCode != KDCErrPreauthFailed || k.EText != "pre-authentication failed" {
		t.Errorf("got %v %q", k.ErrorCode, k.EText)
	}
	if g := NewKRBError(errors.New("db down: password=x"), time.Now(), "R", PrincipalName{}); g.ErrorCode != KRBErrGeneric || g.HasEText {
		t.Errorf("non-*Error: got %v %q", g.ErrorCode, g.EText)
	}
	md := MethodData{{Type: PAETypeInfo2, Value: []byte{0x30, 0}}}
	k.EData, _ = md.Marshal()
	if got, err := k.MethodData(); err != nil || len(got) != 1 || got[0].Type != PAETypeInfo2 {
		t.Errorf("MethodData() = %v, %v", got, err)
	}
	k.EData = ExtendedErrorData(StatusAccountLockedOut)
	if st, ok := k.ExtendedError(); !ok || st != StatusAccountLockedOut {
		t.Errorf("ExtendedError() = %v, %v", st, ok)
	}
}

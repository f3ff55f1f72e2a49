package krb5

import (
	"reflect"
	"strings"
	"testing"
	"time"
	"unsafe"
)

// Fuzz targets for the core RFC 4120 decoders, seeded from the MIT
// reference encodings (testdata/kdcmsg_vectors.txt) and the corpus in
// testdata/fuzz/<target>/. Each asserts: no panic, only ErrMalformed
// errors, and a stable re-marshal of whatever decodes.

func kdcSeeds(f *testing.F, prefixes ...string) {
	for name, b := range extVectors(f, kdcVectors) {
		for _, p := range prefixes {
			if len(name) >= len(p) && name[:len(p)] == p {
				f.Add(b)
			}
		}
	}
}

func FuzzKDCReq(f *testing.F) {
	kdcSeeds(f, "encode_krb5_as_req", "encode_krb5_tgs_req")
	f.Fuzz(func(t *testing.T, b []byte) { extFuzzWire(t, b, func() extWire { return new(KDCReq) }) })
}

// FuzzKDCReqMem asserts that decoding in place into a ReqMem, one used
// before as a KDC's is and with Known strings (the MIT vectors' realm and
// a name of theirs), gives what Unmarshal gives, or the same refusal.
func FuzzKDCReqMem(f *testing.F) {
	kdcSeeds(f, "encode_krb5_as_req", "encode_krb5_tgs_req")
	mem := ReqMem{Known: []string{"ATHENA.MIT.EDU", "krbtgt", "hftsai"}}
	var prev []byte
	f.Fuzz(func(t *testing.T, b []byte) {
		if prev != nil {
			var r KDCReq
			_ = r.UnmarshalMem(prev, &mem) // leave mem as another request did
		}
		prev = append([]byte(nil), b...)
		var want, got KDCReq
		werr := want.Unmarshal(b)
		gerr := got.UnmarshalMem(b, &mem)
		if (werr == nil) != (gerr == nil) {
			t.Fatalf("Unmarshal: %v; UnmarshalMem: %v", werr, gerr)
		}
		if werr == nil && !reflect.DeepEqual(want, got) {
			t.Fatalf("UnmarshalMem decoded\n%+v\nUnmarshal\n%+v", got, want)
		}
	})
}

func FuzzKDCReqBody(f *testing.F) {
	kdcSeeds(f, "encode_krb5_kdc_req_body")
	f.Fuzz(func(t *testing.T, b []byte) { extFuzzWire(t, b, func() extWire { return new(KDCReqBody) }) })
}

func FuzzKDCRep(f *testing.F) {
	kdcSeeds(f, "encode_krb5_as_rep", "encode_krb5_tgs_rep")
	f.Fuzz(func(t *testing.T, b []byte) { extFuzzWire(t, b, func() extWire { return new(KDCRep) }) })
}

func FuzzEncKDCRepPart(f *testing.F) {
	kdcSeeds(f, "encode_krb5_enc_kdc_rep_part")
	f.Fuzz(func(t *testing.T, b []byte) { extFuzzWire(t, b, func() extWire { return new(EncKDCRepPart) }) })
}

func FuzzTicket(f *testing.F) {
	kdcSeeds(f, "encode_krb5_ticket")
	f.Fuzz(func(t *testing.T, b []byte) { extFuzzWire(t, b, func() extWire { return new(Ticket) }) })
}

func FuzzEncTicketPart(f *testing.F) {
	kdcSeeds(f, "encode_krb5_enc_tkt_part")
	f.Fuzz(func(t *testing.T, b []byte) { extFuzzWire(t, b, func() extWire { return new(EncTicketPart) }) })
}

func FuzzAPReq(f *testing.F) {
	kdcSeeds(f, "encode_krb5_ap_req")
	f.Fuzz(func(t *testing.T, b []byte) { extFuzzWire(t, b, func() extWire { return new(APReq) }) })
}

func FuzzAuthenticator(f *testing.F) {
	kdcSeeds(f, "encode_krb5_authenticator")
	f.Fuzz(func(t *testing.T, b []byte) { extFuzzWire(t, b, func() extWire { return new(Authenticator) }) })
}

func FuzzAPRep(f *testing.F) {
	kdcSeeds(f, "encode_krb5_ap_rep")
	f.Fuzz(func(t *testing.T, b []byte) {
		extFuzzWire(t, b, func() extWire { return new(APRep) })
		extFuzzWire(t, b, func() extWire { return new(EncAPRepPart) })
	})
}

func FuzzKRBError(f *testing.F) {
	kdcSeeds(f, "encode_krb5_error")
	f.Fuzz(func(t *testing.T, b []byte) {
		extFuzzWire(t, b, func() extWire { return new(KRBError) })
		var k KRBError
		if k.Unmarshal(b) == nil {
			_, _ = k.MethodData()
			_, _ = k.ExtendedError()
		}
	})
}

func FuzzMethodData(f *testing.F) {
	kdcSeeds(f, "encode_krb5_padata_sequence")
	f.Fuzz(func(t *testing.T, b []byte) { extFuzzWire(t, b, func() extWire { return new(MethodData) }) })
}

func FuzzPreauth(f *testing.F) {
	kdcSeeds(f, "encode_krb5_etype_info", "encode_krb5_pa_enc_ts", "warden_pac_request")
	f.Fuzz(func(t *testing.T, b []byte) {
		extFuzzWire(t, b, func() extWire { return new(ETypeInfo2) })
		extFuzzWire(t, b, func() extWire { return new(ETypeInfo) })
		extFuzzWire(t, b, func() extWire { return new(PAEncTSEnc) })
		extFuzzWire(t, b, func() extWire { return new(PACRequest) })
	})
}

func FuzzCoreTypes(f *testing.F) {
	kdcSeeds(f, "encode_krb5_keyblock", "encode_krb5_enc_data")
	f.Fuzz(func(t *testing.T, b []byte) {
		extFuzzWire(t, b, func() extWire { return new(EncryptionKey) })
		extFuzzWire(t, b, func() extWire { return new(EncryptedData) })
		extFuzzWire(t, b, func() extWire { return new(PrincipalName) })
		extFuzzWire(t, b, func() extWire { return new(Checksum) })
		extFuzzWire(t, b, func() extWire { return new(AuthorizationData) })
	})
}

// A realm or name component equal to a Known string is that string, not
// a copy; others are copies, never views of the request.
func TestReqMemKnown(t *testing.T) {
	body := KDCReqBody{
		CName: &PrincipalName{NameType: NameTypePrincipal, NameString: []string{"alice"}},
		Realm: "EXAMPLE.TEST",
		SName: &PrincipalName{NameType: NameTypeSrvInst, NameString: []string{"krbtgt", "EXAMPLE.TEST"}},
		Till:  time.Date(2037, 1, 1, 0, 0, 0, 0, time.UTC), Nonce: 7, EType: []EncType{ETypeAES256CTSHMACSHA196},
	}
	b, err := (&KDCReq{MsgType: MsgASReq, ReqBody: body}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	realm, tgs := strings.Clone("EXAMPLE.TEST"), strings.Clone("krbtgt")
	mem := ReqMem{Known: []string{realm, tgs}}
	var r KDCReq
	if err := r.UnmarshalMem(b, &mem); err != nil {
		t.Fatal(err)
	}
	same := func(a, b string) bool { return unsafe.StringData(a) == unsafe.StringData(b) }
	if !same(r.ReqBody.Realm, realm) || !same(r.ReqBody.SName.NameString[0], tgs) || !same(r.ReqBody.SName.NameString[1], realm) {
		t.Errorf("known strings decoded as copies: %q %v", r.ReqBody.Realm, r.ReqBody.SName.NameString)
	}
	alice := r.ReqBody.CName.NameString[0]
	if alice != "alice" || same(alice, realm) || same(alice, tgs) {
		t.Errorf("cname = %q", alice)
	}
	clear(b)
	if alice != "alice" {
		t.Error("an unknown name is a view of the request")
	}
}

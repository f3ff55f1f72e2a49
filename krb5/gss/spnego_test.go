package gss

import (
	"bytes"
	"encoding/hex"
	"reflect"
	"strings"
	"testing"

	"github.com/warden-auth/warden/krb5"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// mitNegTokenInit is a negTokenInit as MIT krb5's SPNEGO sends it, from
// gokrb5's tests (github.com/jcmturner/gokrb5 v8/spnego,
// negotiationToken_test.go), which store it without the InitialContextToken
// framing. mechTypes: krb5, the old pre-RFC krb5 OID 1.3.5.1.5.2, ms-krb5,
// IAKERB 1.3.6.1.5.2.5 (MIT's list); mechToken: a framed krb5 AP-REQ.
const mitNegTokenInitBare = "a08202aa308202a6a027302506092a864886f71201020206052b0501050206092a864882f71201020206062b0601050205a2820279048202756082027106092a864886f71201020201006e8202603082025ca003020105a10302010ea20703050000000000a38201706182016c30820168a003020105a10d1b0b544553542e474f4b524235a2233021a003020103a11a30181b04485454501b10686f73742e746573742e676f6b726235a382012b30820127a003020112a103020102a282011904820115d4bd890abc456f44e2e7a2e8111bd6767abf03266dfcda97c629af2ece450a5ae1f145e4a4d1bc2c848e66a6c6b31d9740b26b03cdbd2570bfcf126e90adf5f5ebce9e283ff5086da47b129b14fc0aabd4d1df9c1f3c72b80cc614dfc28783450b2c7b7749651f432b47aaa2ff158c0066b757f3fb00dd7b4f63d68276c76373ecdd3f19c66ebc43a81e577f3c263b878356f57e8d6c4eccd587b81538e70392cf7e73fc12a6f7c537a894a7bb5566c83ac4d69757aa320a51d8d690017aebf952add1889adfc3307b0e6cd8c9b57cf8589fbe52800acb6461c25473d49faa1bdceb8bce3f61db23f9cd6a09d5adceb411e1c4546b30b33331e570fd6bc50aa403557e75f488e759750ea038aab6454667d9b64f41a481d23081cfa003020112a281c70481c4d67ba2ae4cf5d917caab1d863605249320e90482563662ed92408a543b6ad5edeb8f9375e9060a205491df082fd2a5fec93dfb76f41012bb60cae20f07adbb77a1aa56f0521f36e1ea10dc9fb762902b254dd7664d0bcc6f751f2003e41990af1b4330d10477bfad638b9f0b704ac80cc47731f8ec8d801762bad8884b8de90adb1dbe7fc7b0ffafd38fb5eb8b6547cee30d89873281ce63ad70042a13478b1a7c2bdde0f223ace62dbb84e2d06f1070f4265f66e0544449335e2fcc4d0aee5bf81c5999"

// mitNegTokenInit frames it: 60 82 02b6 (8 + 4 + 0x2aa) | SPNEGO OID.
func mitNegTokenInit(t testing.TB) []byte {
	return unhex(t, "608202b6 06062b0601050502"+mitNegTokenInitBare)
}

// From the same gokrb5 test file: accept-completed, supportedMech krb5.
const gokrb5NegTokenResp = "a1143012a0030a0100a10b06092a864886f712010202"

// windowsNegTokenInit2 is built by hand from MS-SPNG 2.2.1 / 3.2.5.2: what
// a Windows server sends to start the negotiation. mechTypes = [ms-krb5,
// krb5, negoex, ntlmssp], negHints.hintName = NegHintName.
const windowsNegTokenInit2 = `
60 6a 06 06 2b 06 01 05 05 02
a0 60 30 5e
  a0 30 30 2e
    06 09 2a 86 48 82 f7 12 01 02 02
    06 09 2a 86 48 86 f7 12 01 02 02
    06 0a 2b 06 01 04 01 82 37 02 02 1e
    06 0a 2b 06 01 04 01 82 37 02 02 0a
  a3 2a 30 28 a0 26 1b 24
    6e 6f 74 5f 64 65 66 69 6e 65 64 5f 69 6e 5f 52 46 43 34 31 37 38 40
    70 6c 65 61 73 65 5f 69 67 6e 6f 72 65`

// MIT's reference AP-REP (krb5/testdata/gss_vectors.txt, encode_krb5_ap_rep).
const mitAPRep = "6F 33 30 31 A0 03 02 01 05 A1 03 02 01 0F A2 25 30 23 A0 03 02 01 00 A1 03 02 01 05 A2 17 04 15 6B 72 62 41 53 4E 2E 31 20 74 65 73 74 20 6D 65 73 73 61 67 65"

// windowsKerberosReply is the acceptor's final token of gss-spnego.md 3.4
// (accept-completed, supportedMech = ms-krb5 as the client listed it,
// responseToken = framed AP-REP, mechListMIC = an RFC 4121 MIC token), by
// hand: [0] 5 + [1] 13 + [2] 72 + [3] 32 = 122 = 0x7a bytes of SEQUENCE.
const windowsKerberosReply = `
a1 7c 30 7a
  a0 03 0a 01 00
  a1 0b 06 09 2a 86 48 82 f7 12 01 02 02
  a2 46 04 44
    60 42 06 09 2a 86 48 86 f7 12 01 02 02 02 00 ` + mitAPRep + `
  a3 1e 04 1c
    04 04 05 ff ff ff ff ff 00 00 00 00 00 00 00 01
    11 11 11 11 11 11 11 11 11 11 11 11`

// ntlmAuthenticateLeg is the client's third NTLM leg of gss-spnego.md 3.4:
// no negState, responseToken = AUTHENTICATE (abridged), mechListMIC =
// a 16-byte NTLMSSP_MESSAGE_SIGNATURE.
const ntlmAuthenticateLeg = `
a1 22 30 20
  a2 0a 04 08 4e 54 4c 4d 53 53 50 00
  a3 12 04 10 01 00 00 00 aa aa aa aa aa aa aa aa 00 00 00 00`

func TestMITNegTokenInit(t *testing.T) {
	b := mitNegTokenInit(t)
	tok, err := ParseNegTokenInit(b, 0)
	if err != nil {
		t.Fatal(err)
	}
	wantMechs := []string{"krb5", "1.3.5.1.5.2", "ms-krb5", "1.3.6.1.5.2.5"}
	var got []string
	for _, m := range tok.MechTypes {
		got = append(got, MechName(m))
	}
	if !reflect.DeepEqual(got, wantMechs) {
		t.Fatalf("mechTypes %v, want %v", got, wantMechs)
	}
	if want := unhex(t, mitNegTokenInitBare)[10 : 10+0x27]; !bytes.Equal(tok.RawMechTypes, want) {
		t.Fatalf("RawMechTypes %x, want %x", tok.RawMechTypes, want)
	}
	if tok.ReqFlags != nil || tok.MechListMIC != nil || tok.NegHints != nil || tok.Init2 {
		t.Fatalf("unexpected fields: %+v", tok)
	}
	apreq, err := krb5.UnwrapKRB5Token(tok.MechToken, krb5.TokIDAPReq, 0)
	if err != nil {
		t.Fatalf("mechToken is not a framed AP-REQ: %v", err)
	}
	if apreq[0] != 0x6e {
		t.Fatalf("AP-REQ starts with %02x", apreq[0])
	}
	out, err := tok.Marshal()
	if err != nil || !bytes.Equal(out, b) {
		t.Fatalf("re-marshal differs: %v\n got %x\nwant %x", err, out, b)
	}
	if enc, _ := EncodeMechTypeList(tok.MechTypes); !bytes.Equal(enc, tok.RawMechTypes) {
		t.Fatal("EncodeMechTypeList differs from the received MechTypeList")
	}
	// Through the generic entry point.
	ini, resp, err := ParseNegotiationToken(b, 0)
	if err != nil || resp != nil || !reflect.DeepEqual(ini, tok) {
		t.Fatalf("ParseNegotiationToken: %v %v %v", ini, resp, err)
	}
}

func TestGoldenTokens(t *testing.T) {
	apRep := krb5.WrapKRB5Token(krb5.TokIDAPRep, unhex(t, mitAPRep))
	for _, tc := range []struct {
		name string
		hex  string
		init *NegTokenInit
		resp *NegTokenResp
	}{
		{name: "windows NegTokenInit2", hex: windowsNegTokenInit2, init: &NegTokenInit{
			MechTypes: [][]byte{[]byte(krb5.OIDMSKRB5), []byte(krb5.OIDKRB5), []byte(krb5.OIDNegoEx), []byte(krb5.OIDNTLMSSP)},
			NegHints:  &NegHints{HintName: NegHintName},
		}},
		{name: "gokrb5 NegTokenResp", hex: gokrb5NegTokenResp, resp: &NegTokenResp{
			NegState: AcceptCompleted, SupportedMech: []byte(krb5.OIDKRB5)}},
		{name: "windows kerberos reply", hex: windowsKerberosReply, resp: &NegTokenResp{
			NegState: AcceptCompleted, SupportedMech: []byte(krb5.OIDMSKRB5), ResponseToken: apRep,
			MechListMIC: unhex(t, "040405ffffffffff0000000000000001111111111111111111111111")}},
		{name: "ntlm authenticate leg", hex: ntlmAuthenticateLeg, resp: &NegTokenResp{
			ResponseToken: []byte("NTLMSSP\x00"),
			MechListMIC:   unhex(t, "01000000aaaaaaaaaaaaaaaa00000000")}},
		{name: "ntlm challenge leg", hex: "a1 1e 30 1c a0 03 0a 01 01 a1 0c 06 0a 2b 06 01 04 01 82 37 02 02 0a a2 07 04 05 4e 54 4c 4d 00", resp: &NegTokenResp{
			NegState: AcceptIncomplete, SupportedMech: []byte(krb5.OIDNTLMSSP), ResponseToken: []byte("NTLM\x00")}},
		{name: "reject", hex: "a1 07 30 05 a0 03 0a 01 02", resp: &NegTokenResp{NegState: Reject}},
		{name: "request-mic, no token", hex: "a1 19 30 17 a0 03 0a 01 03 a1 0c 06 0a 2b 06 01 04 01 82 37 02 02 0a a2 02 04 00", resp: &NegTokenResp{
			NegState: RequestMIC, SupportedMech: []byte(krb5.OIDNTLMSSP), ResponseToken: []byte{}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := unhex(t, tc.hex)
			// Encoding the value gives exactly the golden bytes.
			var enc []byte
			var err error
			if tc.init != nil {
				enc, err = tc.init.Marshal()
			} else {
				enc, err = tc.resp.Marshal()
			}
			if err != nil || !bytes.Equal(enc, b) {
				t.Fatalf("Marshal: %v\n got %x\nwant %x", err, enc, b)
			}
			// Decoding the golden bytes gives the value.
			ini, resp, err := ParseNegotiationToken(b, 0)
			if err != nil {
				t.Fatal(err)
			}
			if tc.init != nil {
				want := *tc.init
				want.RawMechTypes, _ = EncodeMechTypeList(want.MechTypes)
				want.Init2 = true
				if !reflect.DeepEqual(ini, &want) {
					t.Fatalf("decoded %+v, want %+v", ini, &want)
				}
			} else if !reflect.DeepEqual(resp, tc.resp) {
				t.Fatalf("decoded %+v, want %+v", resp, tc.resp)
			}
			// No strict prefix parses.
			for i := range b {
				if _, _, err := ParseNegotiationToken(b[:i], 0); err == nil {
					t.Fatalf("prefix of %d bytes parsed", i)
				}
			}
		})
	}
}

func TestRoundTripSPNEGO(t *testing.T) {
	oddOID := unhex(t, "06 03 88 37 01") // 2.999.1, unknown to everyone
	longOID := unhex(t, "06 0c 2b 06 01 04 01 83 b8 7b 81 80 80 01")
	for _, tc := range []struct {
		name string
		init NegTokenInit
	}{
		{"minimal", NegTokenInit{MechTypes: [][]byte{[]byte(krb5.OIDKRB5)}}},
		{"empty mech list", NegTokenInit{MechTypes: [][]byte{}}},
		{"unknown mechs kept in order", NegTokenInit{MechTypes: [][]byte{oddOID, []byte(krb5.OIDMSKRB5), longOID, []byte(krb5.OIDKRB5U2U)},
			MechToken: []byte("optimistic")}},
		{"all RFC 4178 fields", NegTokenInit{MechTypes: [][]byte{[]byte(krb5.OIDNTLMSSP)},
			ReqFlags: unhex(t, "03 02 01 76"), MechToken: []byte{1, 2, 3}, MechListMIC: []byte{4, 5, 6}}},
		{"empty but present fields", NegTokenInit{MechTypes: [][]byte{[]byte(krb5.OIDKRB5)}, MechToken: []byte{}, MechListMIC: []byte{}}},
		{"init2 without mechTypes", NegTokenInit{NegHints: &NegHints{HintName: NegHintName}, Init2: true}},
		{"init2 MIC at [4], no hints", NegTokenInit{MechTypes: [][]byte{[]byte(krb5.OIDKRB5)}, Init2: true, MechListMIC: []byte("mic")}},
		{"init2 everything", NegTokenInit{MechTypes: [][]byte{[]byte(krb5.OIDKRB5)}, ReqFlags: unhex(t, "03 01 00"),
			MechToken: []byte("tok"), NegHints: &NegHints{HintName: "x", HintAddress: []byte{}}, Init2: true, MechListMIC: []byte("m")}},
		{"large token", NegTokenInit{MechTypes: [][]byte{[]byte(krb5.OIDKRB5)}, MechToken: bytes.Repeat([]byte{0xab}, 70000)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := tc.init.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			got, err := ParseNegTokenInit(b, 1<<20)
			if err != nil {
				t.Fatal(err)
			}
			want := tc.init
			if want.MechTypes != nil {
				want.RawMechTypes, _ = EncodeMechTypeList(want.MechTypes)
			}
			if !reflect.DeepEqual(got, &want) {
				t.Fatalf("decoded %+v\nwant %+v", got, &want)
			}
			again, _ := got.Marshal()
			if !bytes.Equal(again, b) {
				t.Fatal("re-marshal differs")
			}
			// The decoded token does not alias the input.
			clear(b)
			if !reflect.DeepEqual(got, &want) {
				t.Fatal("decoded token aliases its input")
			}
		})
	}
	for _, r := range []NegTokenResp{
		{},
		{NegState: AcceptIncomplete},
		{SupportedMech: longOID, ResponseToken: []byte{}, MechListMIC: []byte{}},
		{NegState: AcceptCompleted, ResponseToken: bytes.Repeat([]byte{1}, 300), MechListMIC: []byte{9}},
	} {
		b, err := r.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		got, err := ParseNegTokenResp(b, 0)
		if err != nil || !reflect.DeepEqual(got, &r) {
			t.Fatalf("%+v: decoded %+v, %v", r, got, err)
		}
	}
	if b, _ := (&NegTokenResp{}).Marshal(); !bytes.Equal(b, []byte{0xa1, 0x02, 0x30, 0x00}) {
		t.Errorf("empty NegTokenResp = %x", b)
	}
}

func TestMalformedSPNEGO(t *testing.T) {
	mit := mitNegTokenInit(t)
	krb5Framed := krb5.WrapKRB5Token(krb5.TokIDAPReq, []byte{0x6e, 0x00})
	mechs := func(n int) string {
		return strings.Repeat("06 03 2a 03 04 ", n)
	}
	// initWith frames a NegTokenInit SEQUENCE body (hex) correctly.
	initWith := func(body string) []byte {
		b := unhex(t, body)
		seq := append([]byte{0x30}, derLen(len(b))...)
		seq = append(seq, b...)
		choice := append([]byte{0xa0}, derLen(len(seq))...)
		choice = append(choice, seq...)
		inner := append([]byte(krb5.OIDSPNEGO), choice...)
		out := append([]byte{0x60}, derLen(len(inner))...)
		return append(out, inner...)
	}
	respWith := func(body string) []byte {
		b := unhex(t, body)
		seq := append([]byte{0x30}, derLen(len(b))...)
		seq = append(seq, b...)
		out := append([]byte{0xa1}, derLen(len(seq))...)
		return append(out, seq...)
	}
	many := func(n int) []byte {
		list := unhex(t, mechs(n))
		l := append([]byte{0x30}, derLen(len(list))...)
		l = append(l, list...)
		f := append([]byte{0xa0}, derLen(len(l))...)
		return initWith(hex.EncodeToString(append(f, l...)))
	}
	if _, err := ParseNegTokenInit(many(MaxMechTypes), 0); err != nil {
		t.Fatalf("%d mechTypes: %v", MaxMechTypes, err)
	}
	// Extensions after the known fields are skipped.
	for _, b := range [][]byte{
		respWith("a0 03 0a 01 01 a4 02 05 00"),
		respWith("a3 02 04 00 a7 00"),
		initWith("a0 02 30 00 a3 02 04 00 a4 02 04 00"), // RFC form: [4] after a MIC at [3] is an extension
		initWith("a0 02 30 00 a3 02 30 00 a4 02 04 00 a5 00"),
	} {
		if _, _, err := ParseNegotiationToken(b, 0); err != nil {
			t.Errorf("%x: %v", b, err)
		}
	}

	for _, tc := range []struct {
		name    string
		b       []byte
		max     int
		want    Code
		because string
	}{
		{"empty", nil, 0, DefectiveToken, "empty"},
		{"unknown first byte", []byte{0x30, 0x00}, 0, DefectiveToken, "starts with 30"},
		{"bare negTokenInit", unhex(t, mitNegTokenInitBare), 0, DefectiveToken, "starts with a0"},
		{"too large", mit, 100, DefectiveToken, "exceeds the limit of 100"},
		{"too large resp", unhex(t, gokrb5NegTokenResp), 10, DefectiveToken, "exceeds"},
		{"too large other", make([]byte, 20), 10, DefectiveToken, "exceeds"},
		{"trailing byte", append(bytes.Clone(mit), 0), 0, DefectiveToken, "spanning"},
		{"trailing byte resp", append(unhex(t, gokrb5NegTokenResp), 0), 0, DefectiveToken, "spanning"},
		{"krb5 not spnego", krb5Framed, 0, BadMech, "mechanism krb5, not SPNEGO"},
		{"bad this-mech", unhex(t, "60 06 06 02 2b 80 a0 00"), 0, DefectiveToken, "thisMech"},
		{"non-minimal length", append([]byte{0x60, 0x81, 0x6a}, unhex(t, windowsNegTokenInit2)[2:]...), 0, DefectiveToken, "InitialContextToken"},
		{"indefinite length", unhex(t, "a1 80 30 00 00 00"), 0, DefectiveToken, "negTokenResp"},
		{"resp inside framing", append(unhex(t, "60 0c 06 06 2b 06 01 05 05 02"), unhex(t, "a1 02 30 00")...), 0, DefectiveToken, "negTokenInit [0]"},
		{"init not a sequence", unhex(t, "60 0c 06 06 2b 06 01 05 05 02 a0 02 04 00"), 0, DefectiveToken, "not a SEQUENCE"},
		{"mechTypes not a sequence", initWith("a0 02 04 00"), 0, DefectiveToken, "mechTypes"},
		{"mechTypes trailing", initWith("a0 04 30 00 05 00"), 0, DefectiveToken, "mechTypes"},
		{"mechType not an OID", initWith("a0 04 30 02 04 00"), 0, DefectiveToken, "mechTypes[0]"},
		{"mechType empty OID", initWith("a0 04 30 02 06 00"), 0, DefectiveToken, "mechTypes[0]"},
		{"mechType non-minimal OID", initWith("a0 06 30 04 06 02 80 01"), 0, DefectiveToken, "mechTypes[0]"},
		{"mechType unterminated OID", initWith("a0 05 30 03 06 01 81"), 0, DefectiveToken, "mechTypes[0]"},
		{"too many mechTypes", many(MaxMechTypes + 1), 0, DefectiveToken, "more than 64"},
		{"reqFlags not a bit string", initWith("a0 02 30 00 a1 03 02 01 00"), 0, DefectiveToken, "reqFlags"},
		{"reqFlags bad unused bits", initWith("a0 02 30 00 a1 04 03 02 08 00"), 0, DefectiveToken, "reqFlags"},
		{"mechToken not octets", initWith("a0 02 30 00 a2 02 05 00"), 0, DefectiveToken, "mechToken"},
		{"mechToken trailing", initWith("a0 02 30 00 a2 04 04 00 05 00"), 0, DefectiveToken, "mechToken"},
		{"field [3] neither", initWith("a0 02 30 00 a3 02 05 00"), 0, DefectiveToken, "mechListMIC"},
		{"negHints bad name", initWith("a0 02 30 00 a3 06 30 04 a0 02 04 00"), 0, DefectiveToken, "hintName"},
		{"negHints bad address", initWith("a0 02 30 00 a3 06 30 04 a1 02 1b 00"), 0, DefectiveToken, "hintAddress"},
		{"negHints universal extra", initWith("a0 02 30 00 a3 04 30 02 05 00"), 0, DefectiveToken, "negHints"},
		{"mechListMIC [4] not octets", initWith("a0 02 30 00 a4 02 05 00"), 0, DefectiveToken, "mechListMIC [4]"},
		{"fields out of order", initWith("a2 02 04 00 a0 02 30 00"), 0, DefectiveToken, "out of order"},
		{"duplicate field", initWith("a0 02 30 00 a0 02 30 00"), 0, DefectiveToken, "out of order"},
		{"universal element", initWith("a0 02 30 00 04 00"), 0, DefectiveToken, "tag 04"},
		{"resp not a sequence", unhex(t, "a1 02 04 00"), 0, DefectiveToken, "SEQUENCE"},
		{"negState integer", respWith("a0 03 02 01 00"), 0, DefectiveToken, "ENUMERATED"},
		{"negState non-minimal", respWith("a0 04 0a 02 00 01"), 0, DefectiveToken, "ENUMERATED"},
		{"negState undefined", respWith("a0 03 0a 01 04"), 0, DefectiveToken, "negState 4"},
		{"negState negative", respWith("a0 03 0a 01 ff"), 0, DefectiveToken, "negState -1"},
		{"supportedMech not an OID", respWith("a1 02 04 00"), 0, DefectiveToken, "supportedMech"},
		{"supportedMech two OIDs", respWith("a1 06 06 01 2a 06 01 2a"), 0, DefectiveToken, "supportedMech"},
		{"responseToken not octets", respWith("a2 02 05 00"), 0, DefectiveToken, "responseToken"},
		{"resp mechListMIC not octets", respWith("a3 02 05 00"), 0, DefectiveToken, "mechListMIC"},
		{"resp out of order", respWith("a1 03 06 01 2a a0 03 0a 01 00"), 0, DefectiveToken, "out of order"},
		{"resp garbage tail", respWith("a0 03 0a 01 00 ff"), 0, DefectiveToken, "not a DER element"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ini, resp, err := ParseNegotiationToken(tc.b, tc.max)
			if ini != nil || resp != nil {
				t.Fatalf("parsed: %+v %+v", ini, resp)
			}
			wantCode(t, err, tc.want)
			if !strings.Contains(err.Error(), tc.because) {
				t.Errorf("reason %q lacks %q", err, tc.because)
			}
		})
	}
}

// derLen is a DER length for tests.
func derLen(n int) []byte {
	switch {
	case n < 0x80:
		return []byte{byte(n)}
	case n <= 0xff:
		return []byte{0x81, byte(n)}
	}
	return []byte{0x82, byte(n >> 8), byte(n)}
}

func TestMarshalErrors(t *testing.T) {
	_, err := (&NegTokenInit{MechTypes: [][]byte{{0x06, 0x00}}}).Marshal()
	wantCode(t, err, BadMech)
	_, err = EncodeMechTypeList([][]byte{[]byte(krb5.OIDKRB5), []byte("x")})
	wantCode(t, err, BadMech)
	_, err = (&NegTokenInit{ReqFlags: []byte{0x04, 0x00}}).Marshal()
	wantCode(t, err, Failure)
	_, err = (&NegTokenResp{SupportedMech: []byte(krb5.OIDKRB5)[:5]}).Marshal()
	wantCode(t, err, BadMech)
	_, err = (&NegTokenResp{NegState: RequestMIC + 1}).Marshal()
	wantCode(t, err, Failure)
}

func TestMICInputMatchesMarshal(t *testing.T) {
	// The initiator MICs EncodeMechTypeList(MechTypes); the acceptor MICs
	// RawMechTypes of what it received. They must be the same bytes.
	tok := &NegTokenInit{MechTypes: [][]byte{[]byte(krb5.OIDMSKRB5), []byte(krb5.OIDKRB5), []byte(krb5.OIDNTLMSSP)}, MechToken: []byte("x")}
	b, _ := tok.Marshal()
	got, err := ParseNegTokenInit(b, 0)
	if err != nil {
		t.Fatal(err)
	}
	sent, _ := EncodeMechTypeList(tok.MechTypes)
	if !bytes.Equal(sent, got.RawMechTypes) || sent[0] != 0x30 {
		t.Fatalf("sent %x, received %x", sent, got.RawMechTypes)
	}
	if !bytes.Contains(b, sent) {
		t.Fatal("the token does not contain the MIC input")
	}
	// And a MIC over it verifies on the other side.
	k := testKey(t, krb5.ETypeAES256CTSHMACSHA196, 1)
	ini, acc := testPair(t, k, true)
	mic, _ := acc.MakeMIC(got.RawMechTypes)
	if err := ini.VerifyMIC(sent, mic); err != nil {
		t.Fatal(err)
	}
}

func TestNamesAndStrings(t *testing.T) {
	for _, tc := range []struct {
		oid        []byte
		name, dots string
	}{
		{[]byte(krb5.OIDKRB5), "krb5", "1.2.840.113554.1.2.2"},
		{[]byte(krb5.OIDMSKRB5), "ms-krb5", "1.2.840.48018.1.2.2"},
		{[]byte(krb5.OIDKRB5U2U), "krb5-u2u", "1.2.840.113554.1.2.2.3"},
		{[]byte(krb5.OIDNTLMSSP), "ntlmssp", "1.3.6.1.4.1.311.2.2.10"},
		{[]byte(krb5.OIDNegoEx), "negoex", "1.3.6.1.4.1.311.2.2.30"},
		{[]byte(krb5.OIDSPNEGO), "spnego", "1.3.6.1.5.5.2"},
		{unhex(t, "06 03 88 37 01"), "2.999.1", "2.999.1"},
		{unhex(t, "06 01 00"), "0.0", "0.0"},
		{unhex(t, "06 01 4f"), "1.39", "1.39"},
		{unhex(t, "06 0c 2b 06 01 04 01 83 b8 7b 81 80 80 01"), "1.3.6.1.4.1.56443.2097153", "1.3.6.1.4.1.56443.2097153"},
		{unhex(t, "06 02 80 01"), "invalid-oid:06028001", "invalid-oid:06028001"},
		{unhex(t, "06 0b 2a ff ff ff ff ff ff ff ff ff 7f"), "invalid-oid:060b2affffffffffffffffff7f", "invalid-oid:060b2affffffffffffffffff7f"},
		{nil, "invalid-oid:", "invalid-oid:"},
	} {
		if got := MechName(tc.oid); got != tc.name {
			t.Errorf("MechName(%x) = %q, want %q", tc.oid, got, tc.name)
		}
		if got := OIDString(tc.oid); got != tc.dots {
			t.Errorf("OIDString(%x) = %q, want %q", tc.oid, got, tc.dots)
		}
	}
	for s, want := range map[NegState]string{NegStateAbsent: "absent", AcceptCompleted: "accept-completed",
		AcceptIncomplete: "accept-incomplete", Reject: "reject", RequestMIC: "request-mic", 9: "negState(8)"} {
		if s.String() != want {
			t.Errorf("%d: %q, want %q", s, s.String(), want)
		}
	}
}

package gss

import (
	"bytes"
	"errors"
	"testing"

	"github.com/warden-auth/warden/krb5"
	"github.com/warden-auth/warden/krb5/kcrypto"
)

// Native fuzz targets for the SPNEGO decoders and the per-message token
// checks. Each asserts that hostile input never panics and that every
// failure is a *Error with a code the function documents. The SPNEGO
// targets also check that re-marshalling is stable: once a token has been
// decoded and encoded, decoding and encoding that output reproduces it
// byte for byte (the first cycle may drop ignored extension fields), and
// that the MechTypeList re-encodes to exactly the bytes received, which
// the mechListMIC depends on. Seeds are the test vectors and tokens built
// like the tests build them.

func spnegoSeeds(f *testing.F) {
	for _, h := range []string{windowsNegTokenInit2, gokrb5NegTokenResp, windowsKerberosReply, ntlmAuthenticateLeg,
		"a1 07 30 05 a0 03 0a 01 02", "a1 02 30 00", "a1 0b 30 09 a0 03 0a 01 01 a4 02 05 00"} {
		f.Add(unhex(f, h))
	}
	f.Add(mitNegTokenInit(f))
	for _, t := range []NegTokenInit{
		{MechTypes: [][]byte{[]byte(krb5.OIDKRB5)}, ReqFlags: []byte{0x03, 0x02, 0x01, 0x76}, MechToken: []byte{1}, MechListMIC: []byte{2}},
		{MechTypes: [][]byte{[]byte(krb5.OIDKRB5)}, Init2: true, MechListMIC: []byte("mic")},
		{NegHints: &NegHints{HintName: "x", HintAddress: []byte{}}},
	} {
		b, err := t.Marshal()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}

func checkGSSError(t *testing.T, err error, allowed ...Code) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not a *gss.Error", err, err)
	}
	for _, c := range allowed {
		if e.Code == c {
			return
		}
	}
	t.Fatalf("unexpected code %v: %v", e.Code, err)
}

func FuzzNegTokenInit(f *testing.F) {
	spnegoSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		tok, err := ParseNegTokenInit(data, 0)
		if err != nil {
			checkGSSError(t, err, DefectiveToken, BadMech)
			return
		}
		if tok.MechTypes != nil {
			enc, err := EncodeMechTypeList(tok.MechTypes)
			if err != nil || !bytes.Equal(enc, tok.RawMechTypes) {
				t.Fatalf("MechTypeList re-encodes to %x (%v), received %x", enc, err, tok.RawMechTypes)
			}
		}
		b1, err := tok.Marshal()
		if err != nil {
			t.Fatalf("decoded token does not marshal: %v", err)
		}
		tok2, err := ParseNegTokenInit(b1, len(b1))
		if err != nil {
			t.Fatalf("re-marshalled token does not parse: %v\n%x", err, b1)
		}
		b2, err := tok2.Marshal()
		if err != nil || !bytes.Equal(b1, b2) {
			t.Fatalf("unstable re-marshal: %v\n%x\n%x", err, b1, b2)
		}
	})
}

func FuzzNegTokenResp(f *testing.F) {
	spnegoSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		ini, resp, err := ParseNegotiationToken(data, 0)
		if err != nil {
			if ini != nil || resp != nil {
				t.Fatal("a token returned with an error")
			}
			checkGSSError(t, err, DefectiveToken, BadMech)
			return
		}
		if resp == nil {
			return // a NegTokenInit: FuzzNegTokenInit's business
		}
		b1, err := resp.Marshal()
		if err != nil {
			t.Fatalf("decoded token does not marshal: %v", err)
		}
		resp2, err := ParseNegTokenResp(b1, len(b1))
		if err != nil {
			t.Fatalf("re-marshalled token does not parse: %v\n%x", err, b1)
		}
		b2, err := resp2.Marshal()
		if err != nil || !bytes.Equal(b1, b2) {
			t.Fatalf("unstable re-marshal: %v\n%x\n%x", err, b1, b2)
		}
	})
}

// fuzzContexts returns receiving contexts for the fuzz targets: an
// initiator with a fixed aes256-sha1 acceptor subkey, one with the
// aes128-sha256 key, and one with the session key of the published
// vectors (acceptor tokens, no subkey).
func fuzzContexts(t testing.TB, keys []*kcrypto.Key) []*PerMessage {
	var out []*PerMessage
	for i, k := range keys {
		p, err := NewPerMessage(PerMessageConfig{Key: k, Initiator: true, AcceptorSubkey: i < 2,
			RecvSeq: 5000, ReplayDetection: true, Sequencing: true, DCEStyle: i == 1})
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, p)
	}
	return out
}

func fuzzKeys(t testing.TB) []*kcrypto.Key {
	vec, err := kcrypto.NewKey(krb5.EncryptionKey{KeyType: krb5.ETypeAES128CTSHMACSHA196,
		KeyValue: unhex(t, "14f9bde6b50ec508201a97f74c4e5bd3")}, kcrypto.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return []*kcrypto.Key{
		testKey(t, krb5.ETypeAES256CTSHMACSHA196, 1),
		testKey(t, krb5.ETypeAES128CTSHMACSHA256, 2),
		vec,
	}
}

func FuzzUnwrapToken(f *testing.F) {
	keys := fuzzKeys(f)
	for _, k := range keys[:2] {
		_, acc := testPair(f, k, true)
		for _, msg := range [][]byte{nil, []byte("hello"), bytes.Repeat([]byte{7}, 40)} {
			sealed, _ := acc.Wrap(msg, true)
			signed, _ := acc.Wrap(msg, false)
			f.Add(sealed)
			f.Add(signed)
			f.Add(withRRC(sealed, 28))
			f.Add(withRRC(signed, 12))
		}
	}
	f.Add(unhex(f, "050401ff000c000000000000575e85d601010000853b728d5268525a1386c19f"))
	f.Add(unhex(f, "050406ff0010001c0000000000001389"))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, p := range fuzzContexts(t, keys) {
			msg, conf, err := p.Unwrap(data)
			if err != nil {
				checkGSSError(t, err, DefectiveToken, BadMIC, DuplicateToken, OldToken, UnseqToken, GapToken)
				if msg != nil && !IsOutOfSequence(err) {
					t.Fatalf("message returned with %v", err)
				}
				continue
			}
			if conf != (data[2]&flagSealed != 0) {
				t.Fatal("confidentiality does not match the Sealed flag")
			}
			if len(msg) > len(data) {
				t.Fatal("message longer than the token")
			}
		}
	})
}

func FuzzVerifyMIC(f *testing.F) {
	keys := fuzzKeys(f)
	for _, k := range keys[:2] {
		_, acc := testPair(f, k, true)
		for _, msg := range [][]byte{nil, []byte("hello"), []byte(krb5.OIDKRB5)} {
			mic, _ := acc.MakeMIC(msg)
			f.Add(msg, mic)
		}
	}
	f.Add(unhex(f, "deadbeef"), unhex(f, "040401ffffffffff00000000575e85d6c34d12ba3e5b1b1310cd9cb3"))
	f.Fuzz(func(t *testing.T, msg, token []byte) {
		for _, p := range fuzzContexts(t, keys) {
			if err := p.VerifyMIC(msg, token); err != nil {
				checkGSSError(t, err, DefectiveToken, BadMIC, DuplicateToken, OldToken, UnseqToken, GapToken)
			}
		}
	})
}

// FuzzAcceptKerberos feeds arbitrary initial tokens to an acceptor:
// it must refuse them with a *Error and never panic. Seeds are a genuine
// AP-REQ token and pieces of one.
func FuzzAcceptKerberos(f *testing.F) {
	t := &testing.T{}
	s := newKDCSim(t)
	_, tok := initiatorAt(t, s.cred(), tNow, InitiatorConfig{})
	f.Add(tok)
	f.Add(tok[:len(tok)/2])
	f.Add(krb5.WrapKRB5Token(krb5.TokIDAPReq, []byte{0x6e, 0x00}))
	a := s.acceptor()
	f.Fuzz(func(t *testing.T, b []byte) {
		ctx, _, err := a.AcceptKerberos(b, AcceptOptions{})
		if err == nil {
			if ctx == nil {
				t.Fatal("no context and no error")
			}
			return
		}
		var ge *Error
		if !errors.As(err, &ge) {
			t.Fatalf("error %T is not a *gss.Error: %v", err, err)
		}
	})
}

// FuzzAuthChecksum decodes arbitrary 0x8003 checksum values.
func FuzzAuthChecksum(f *testing.F) {
	c := authChecksum{flags: DefaultFlags | FlagDeleg, deleg: []byte("KRB-CRED")}
	f.Add(c.marshal())
	c.deleg = nil
	f.Add(c.marshal())
	f.Add([]byte{16, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := parseAuthChecksum(b)
		if err != nil {
			return
		}
		if len(got.deleg) > len(b) {
			t.Fatal("delegation longer than the checksum")
		}
		again, err := parseAuthChecksum(got.marshal())
		if err != nil || again.bnd != got.bnd || again.flags != got.flags || !bytes.Equal(again.deleg, got.deleg) {
			t.Fatalf("re-encoding changed the checksum: %+v vs %+v (%v)", again, got, err)
		}
	})
}

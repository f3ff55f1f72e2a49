package krb5

import (
	"bytes"
	"errors"
	"testing"
)

// gssTok adapts the framing functions to extWire for the generic checks.
type gssTok struct {
	mech []byte
	id   TokID
	msg  []byte
}

func (g *gssTok) Marshal() ([]byte, error) { return WrapGSSToken(g.mech, g.id, g.msg) }

func (g *gssTok) Unmarshal(b []byte) (err error) {
	g.mech, g.id, g.msg, err = UnwrapGSSToken(b, 0)
	return err
}

func TestGSSVectors(t *testing.T) {
	vecs := extVectors(t, "gss_vectors.txt")
	tests := []struct {
		name string
		mech string
		id   TokID
		msg  string
	}{
		{"gss_krb5_ap_req", OIDKRB5, TokIDAPReq, "encode_krb5_ap_req"},
		{"gss_krb5_ap_rep", OIDKRB5, TokIDAPRep, "encode_krb5_ap_rep"},
		{"gss_mskrb5_ap_rep", OIDMSKRB5, TokIDAPRep, "encode_krb5_ap_rep"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := vecs[tt.name]
			g := extCheckWire(t, b, func() extWire { return new(gssTok) }).(*gssTok)
			if string(g.mech) != tt.mech || g.id != tt.id || !bytes.Equal(g.msg, vecs[tt.msg]) {
				t.Fatalf("unwrapped %x %v %x", g.mech, g.id, g.msg)
			}
			w, err := WrapGSSToken([]byte(tt.mech), tt.id, vecs[tt.msg])
			if err != nil || !bytes.Equal(w, b) {
				t.Fatalf("WrapGSSToken = %x, %v", w, err)
			}
			msg, err := UnwrapKRB5Token(b, tt.id, 0)
			if err != nil || !bytes.Equal(msg, vecs[tt.msg]) {
				t.Fatalf("UnwrapKRB5Token: %v", err)
			}
		})
	}
	if got := WrapKRB5Token(TokIDAPReq, vecs["encode_krb5_ap_req"]); !bytes.Equal(got, vecs["gss_krb5_ap_req"]) {
		t.Fatalf("WrapKRB5Token = %x", got)
	}
}

func TestGSSOIDs(t *testing.T) {
	tests := []struct {
		name, oid, hex string
		krb            bool
	}{
		{"krb5", OIDKRB5, "06 09 2a 86 48 86 f7 12 01 02 02", true},
		{"ms-krb5", OIDMSKRB5, "06 09 2a 86 48 82 f7 12 01 02 02", true},
		{"krb5 u2u", OIDKRB5U2U, "06 0a 2a 86 48 86 f7 12 01 02 02 03", false},
		{"spnego", OIDSPNEGO, "06 06 2b 06 01 05 05 02", false},
		{"ntlmssp", OIDNTLMSSP, "06 0a 2b 06 01 04 01 82 37 02 02 0a", false},
		{"negoex", OIDNegoEx, "06 0a 2b 06 01 04 01 82 37 02 02 1e", false},
	}
	for _, tt := range tests {
		if !bytes.Equal([]byte(tt.oid), extHex(t, tt.hex)) {
			t.Errorf("%s = %x", tt.name, tt.oid)
		}
		if !ValidOID([]byte(tt.oid)) {
			t.Errorf("%s not valid", tt.name)
		}
		if IsKerberosMech([]byte(tt.oid)) != tt.krb {
			t.Errorf("IsKerberosMech(%s) = %v", tt.name, !tt.krb)
		}
	}
	if TokIDKRBError.String() != "KRB-ERROR" || TokID(0x0500).String() != "0x500" {
		t.Errorf("TokID.String: %s %s", TokIDKRBError, TokID(0x0500))
	}
}

func TestGSSUnwrapRejects(t *testing.T) {
	vecs := extVectors(t, "gss_vectors.txt")
	rep := vecs["gss_krb5_ap_rep"]
	oid := "06 09 2a 86 48 86 f7 12 01 02 02"
	tests := []struct {
		name string
		b    []byte
	}{
		{"empty", nil},
		{"wrong outer tag", extReplace(t, rep, "60 42", "30 42")},
		{"primitive application tag", extReplace(t, rep, "60 42", "40 42")},
		{"length too long", extReplace(t, rep, "60 42", "60 43")},
		{"length too short", extReplace(t, rep, "60 42", "60 41")},
		{"non-minimal length", extReplace(t, rep, "60 42", "60 81 42")},
		{"indefinite length", extReplace(t, rep, "60 42", "60 80")},
		{"no OID", extHex(t, "60 04 02 00 6f 00")},
		{"OID tag wrong", extReplace(t, rep, "06 09 2a", "04 09 2a")},
		{"empty OID", extHex(t, "60 05 06 00 02 00 6f")},
		{"OID non-minimal subidentifier", extHex(t, "60 07 06 02 80 01 02 00 6f")},
		{"OID unterminated", extHex(t, "60 07 06 02 2a 86 02 00 6f")},
		{"OID length past end", extHex(t, "60 04 06 09 2a 86")},
		{"TOK_ID truncated", extHex(t, "60 0c "+oid+" 02")},
		{"no message", extHex(t, "60 0d "+oid+" 02 00")},
		{"trailing byte", append(append([]byte(nil), rep...), 0)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, _, err := UnwrapGSSToken(tt.b, 0)
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("got %v, want *ParseError", err)
			}
		})
	}
}

func TestGSSSizeLimits(t *testing.T) {
	for _, n := range []int{0x7f - 13, 0x80 - 13, 200, 300, 0x10000, 0x1000000} {
		msg := bytes.Repeat([]byte{0xab}, n)
		b, err := WrapGSSToken([]byte(OIDKRB5), TokIDAPReq, msg)
		if err != nil {
			t.Fatal(err)
		}
		_, id, got, err := UnwrapGSSToken(b, len(b))
		if err != nil || id != TokIDAPReq || !bytes.Equal(got, msg) {
			t.Fatalf("n=%d: %v", n, err)
		}
		_, _, _, err = UnwrapGSSToken(b, len(b)-1)
		if !errors.Is(err, ErrMalformed) {
			t.Fatalf("n=%d: limit not enforced: %v", n, err)
		}
		if len(b) > DefaultMaxGSSTokenSize {
			if _, _, _, err := UnwrapGSSToken(b, 0); !errors.Is(err, ErrMalformed) {
				t.Fatalf("n=%d: default limit not enforced: %v", n, err)
			}
		}
	}
	if _, err := WrapGSSToken([]byte{0x06, 0x00}, TokIDAPReq, []byte{1}); !errors.Is(err, ErrMalformed) {
		t.Fatalf("empty OID accepted: %v", err)
	}
	if _, err := WrapGSSToken(nil, TokIDAPReq, []byte{1}); !errors.Is(err, ErrMalformed) {
		t.Fatalf("nil OID accepted: %v", err)
	}
}

func TestGSSUnwrapKRB5Mismatch(t *testing.T) {
	vecs := extVectors(t, "gss_vectors.txt")
	if _, err := UnwrapKRB5Token(vecs["gss_krb5_ap_rep"], TokIDAPReq, 0); !errors.Is(err, ErrMalformed) {
		t.Fatalf("TOK_ID mismatch: %v", err)
	}
	ntlm, _ := WrapGSSToken([]byte(OIDNTLMSSP), TokIDAPReq, []byte{1})
	if _, err := UnwrapKRB5Token(ntlm, TokIDAPReq, 0); !errors.Is(err, ErrMalformed) {
		t.Fatalf("NTLM mech accepted: %v", err)
	}
	if _, err := UnwrapKRB5Token([]byte{0x60}, TokIDAPReq, 0); !errors.Is(err, ErrMalformed) {
		t.Fatalf("garbage accepted: %v", err)
	}
	// Results never alias the input.
	b := append([]byte(nil), vecs["gss_krb5_ap_rep"]...)
	mech, _, msg, _ := UnwrapGSSToken(b, 0)
	for i := range b {
		b[i] = 0
	}
	if string(mech) != OIDKRB5 || msg[0] != 0x6f {
		t.Fatal("result aliases the input")
	}
}

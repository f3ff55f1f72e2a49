package krb5

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// --- helpers shared by the tests of fast.go, mskile.go, krbmsg.go, ad.go
// and gssframe.go (prefixed ext to stay clear of the core messages' test
// helpers in the same package) ---

// extVectors loads testdata/<file>: "name: hex bytes" lines, '#' comments.
func extVectors(tb testing.TB, file string) map[string][]byte {
	tb.Helper()
	f, err := os.Open(filepath.Join("testdata", file))
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	out := map[string][]byte{}
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, hx, ok := strings.Cut(line, ": ")
		if !ok {
			tb.Fatalf("%s: bad line %q", file, line)
		}
		b, err := hex.DecodeString(strings.ReplaceAll(hx, " ", ""))
		if err != nil {
			tb.Fatalf("%s: %s: %v", file, name, err)
		}
		if _, dup := out[name]; dup {
			tb.Fatalf("%s: duplicate vector %s", file, name)
		}
		out[name] = b
	}
	if err := sc.Err(); err != nil {
		tb.Fatal(err)
	}
	return out
}

// extVector returns one vector or fails.
func extVector(tb testing.TB, file, name string) []byte {
	tb.Helper()
	b, ok := extVectors(tb, file)[name]
	if !ok {
		tb.Fatalf("%s: no vector %q", file, name)
	}
	return b
}

// extWire is what every DER type here offers (through its pointer).
type extWire interface {
	Marshal() ([]byte, error)
	Unmarshal([]byte) error
}

// extCheckWire runs the wire-type contract on a canonical encoding b:
// it decodes, re-marshals byte for byte, every strict prefix fails with
// ErrMalformed, and trailing bytes are rejected. It returns the decoded
// value.
func extCheckWire(t *testing.T, b []byte, newV func() extWire) extWire {
	t.Helper()
	v := newV()
	if err := v.Unmarshal(b); err != nil {
		t.Fatalf("Unmarshal: %v", err)
	}
	m, err := v.Marshal()
	if err != nil {
		t.Fatalf("Marshal: %v", err)
	}
	if !bytes.Equal(m, b) {
		t.Fatalf("re-marshal differs\n got %x\nwant %x", m, b)
	}
	for i := 0; i < len(b); i++ {
		err := newV().Unmarshal(b[:i])
		if err == nil {
			t.Fatalf("prefix of %d/%d bytes decoded", i, len(b))
		}
		if !errors.Is(err, ErrMalformed) {
			t.Fatalf("prefix %d: error %v is not ErrMalformed", i, err)
		}
	}
	for _, tail := range [][]byte{{0}, {0, 0}, {0x30, 0}} {
		err := newV().Unmarshal(append(append([]byte(nil), b...), tail...))
		if !errors.Is(err, ErrMalformed) {
			t.Fatalf("trailing %x: got %v, want ErrMalformed", tail, err)
		}
	}
	// The decoded value must not alias the caller's buffer.
	c := append([]byte(nil), b...)
	w := newV()
	if err := w.Unmarshal(c); err != nil {
		t.Fatal(err)
	}
	for i := range c {
		c[i] ^= 0xff
	}
	if m2, _ := w.Marshal(); !bytes.Equal(m2, b) {
		t.Fatalf("decoded value aliases the input buffer")
	}
	return v
}

// extWantMalformed asserts that decoding b into newV() fails with a
// *ParseError (matched through ErrMalformed).
func extWantMalformed(t *testing.T, b []byte, newV func() extWire) {
	t.Helper()
	err := newV().Unmarshal(b)
	var pe *ParseError
	if !errors.Is(err, ErrMalformed) || !errors.As(err, &pe) {
		t.Fatalf("decode %x: got %v, want *ParseError", b, err)
	}
}

// extWantField asserts that decoding b fails with a *ParseError naming
// field, so that a negative test fails for the reason it claims.
func extWantField(t *testing.T, b []byte, newV func() extWire, field string) {
	t.Helper()
	err := newV().Unmarshal(b)
	var pe *ParseError
	if !errors.As(err, &pe) || pe.Field != field {
		t.Fatalf("decode %x: got %v, want a *ParseError for field %q", b, err, field)
	}
}

// extHex decodes spaced hex in test tables.
func extHex(tb testing.TB, s string) []byte {
	tb.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// extReplace returns b with the first occurrence of old replaced by new;
// it fails if old does not occur.
func extReplace(tb testing.TB, b []byte, old, new string) []byte {
	tb.Helper()
	o, n := extHex(tb, old), extHex(tb, new)
	if !bytes.Contains(b, o) {
		tb.Fatalf("%x not found in %x", o, b)
	}
	return bytes.Replace(b, o, n, 1)
}

// MIT's sample values (krb5 src/tests/asn.1/ktest.c), used by many vectors.
var (
	extMITTime  = time.Date(1994, 6, 10, 6, 3, 17, 0, time.UTC)
	extMITAddr  = HostAddress{AddrType: AddrIPv4, Address: []byte{0x12, 0xd0, 0x00, 0x23}}
	extMITCksum = Checksum{CksumType: 1, Checksum: []byte("1234")}
	extMITEnc   = EncryptedData{EType: 0, KVNO: 5, HasKVNO: true, Cipher: []byte("krbASN.1 test message")}
	extMITName  = PrincipalName{NameType: NameTypePrincipal, NameString: []string{"hftsai", "extra"}}
	extMITRealm = "ATHENA.MIT.EDU"
)

// --- KRB-SAFE / KRB-PRIV / KRB-CRED ---

func TestKrbMsgVectorsCred(t *testing.T) {
	vecs := extVectors(t, "krbmsg_vectors.txt")
	tests := []struct {
		name string
		newV func() extWire
	}{
		{"encode_krb5_safe", func() extWire { return new(KRBSafe) }},
		{"encode_krb5_safe(optionals NULL)", func() extWire { return new(KRBSafe) }},
		{"encode_krb5_priv", func() extWire { return new(KRBPriv) }},
		{"encode_krb5_enc_priv_part", func() extWire { return new(EncKrbPrivPart) }},
		{"encode_krb5_enc_priv_part(optionals NULL)", func() extWire { return new(EncKrbPrivPart) }},
		{"warden_enc_priv_part(kpasswd)", func() extWire { return new(EncKrbPrivPart) }},
		{"encode_krb5_cred", func() extWire { return new(KRBCred) }},
		{"encode_krb5_enc_cred_part", func() extWire { return new(EncKrbCredPart) }},
		{"encode_krb5_enc_cred_part(optionals NULL)", func() extWire { return new(EncKrbCredPart) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, ok := vecs[tt.name]
			if !ok {
				t.Fatalf("missing vector")
			}
			extCheckWire(t, b, tt.newV)
		})
	}
}

func TestKRBSafeMITFieldsSafe(t *testing.T) {
	b := extVector(t, "krbmsg_vectors.txt", "encode_krb5_safe")
	var m KRBSafe
	if err := m.Unmarshal(b); err != nil {
		t.Fatal(err)
	}
	sb := m.SafeBody
	if string(sb.UserData) != "krb5data" || !sb.Timestamp.Equal(extMITTime) || !sb.HasUsec || sb.Usec != 123456 ||
		!sb.HasSeqNumber || sb.SeqNumber != 17 || sb.SAddress.AddrType != AddrIPv4 ||
		!bytes.Equal(sb.SAddress.Address, extMITAddr.Address) || sb.RAddress == nil {
		t.Fatalf("safe-body = %+v", sb)
	}
	if m.Cksum.CksumType != 1 || string(m.Cksum.Checksum) != "1234" {
		t.Fatalf("cksum = %+v", m.Cksum)
	}
	// Raw is exactly the safe-body element: 30 4D ... (after A2 4F).
	i := bytes.Index(b, extHex(t, "A2 4F 30 4D"))
	if want := b[i+2 : i+2+0x4f]; !bytes.Equal(sb.Raw, want) {
		t.Fatalf("Raw = %x, want %x", sb.Raw, want)
	}
	// Building the same message from fields gives MIT's bytes.
	built := KRBSafe{
		SafeBody: KRBSafeBody{UserData: []byte("krb5data"), Timestamp: extMITTime, Usec: 123456, HasUsec: true,
			SeqNumber: 17, HasSeqNumber: true, SAddress: extMITAddr, RAddress: &extMITAddr},
		Cksum: extMITCksum,
	}
	if got, _ := built.Marshal(); !bytes.Equal(got, b) {
		t.Fatalf("built\n got %x\nwant %x", got, b)
	}
	body, _ := built.SafeBody.Marshal()
	if !bytes.Equal(body, sb.Raw) {
		t.Fatalf("KRBSafeBody.Marshal = %x, want %x", body, sb.Raw)
	}
	var sb2 KRBSafeBody
	extCheckWire(t, body, func() extWire { return new(KRBSafeBody) })
	if err := sb2.Unmarshal(body); err != nil || !bytes.Equal(sb2.Raw, body) {
		t.Fatalf("KRBSafeBody.Unmarshal: %v, Raw %x", err, sb2.Raw)
	}
}

func TestEncKrbPrivPartFieldsPriv(t *testing.T) {
	vecs := extVectors(t, "krbmsg_vectors.txt")
	built := EncKrbPrivPart{UserData: []byte("krb5data"), SAddress: &extMITAddr}
	if got, _ := built.Marshal(); !bytes.Equal(got, vecs["encode_krb5_enc_priv_part(optionals NULL)"]) {
		t.Fatalf("built %x", got)
	}
	full := built
	full.Timestamp, full.Usec, full.HasUsec, full.SeqNumber, full.HasSeqNumber, full.RAddress =
		extMITTime, 123456, true, 17, true, &extMITAddr
	if got, _ := full.Marshal(); !bytes.Equal(got, vecs["encode_krb5_enc_priv_part"]) {
		t.Fatalf("built full %x", got)
	}
	priv := KRBPriv{EncPart: extMITEnc}
	if got, _ := priv.Marshal(); !bytes.Equal(got, vecs["encode_krb5_priv"]) {
		t.Fatalf("built KRB-PRIV %x", got)
	}
}

// Heimdal omits s-address; decoding accepts it, encoding insists on it.
func TestEncKrbPrivPartNoSAddressPriv(t *testing.T) {
	b := extVector(t, "krbmsg_vectors.txt", "warden_enc_priv_part(no s-address)")
	var p EncKrbPrivPart
	if err := p.Unmarshal(b); err != nil {
		t.Fatal(err)
	}
	if p.SAddress != nil || string(p.UserData) != "passwd" {
		t.Fatalf("%+v", p)
	}
	_, err := p.Marshal()
	if err == nil || errors.Is(err, ErrMalformed) || CodeOf(err) != KRBErrGeneric {
		t.Fatalf("Marshal without s-address: %v", err)
	}
	for i := 0; i < len(b); i++ {
		if err := new(EncKrbPrivPart).Unmarshal(b[:i]); !errors.Is(err, ErrMalformed) {
			t.Fatalf("prefix %d: %v", i, err)
		}
	}
	p.SAddress = &HostAddress{AddrType: AddrIPv4, Address: []byte{127, 0, 0, 1}}
	if _, err := p.Marshal(); err != nil {
		t.Fatal(err)
	}
}

func TestKRBCredFieldsCred(t *testing.T) {
	vecs := extVectors(t, "krbmsg_vectors.txt")
	var c KRBCred
	if err := c.Unmarshal(vecs["encode_krb5_cred"]); err != nil {
		t.Fatal(err)
	}
	if len(c.Tickets) != 2 || c.Tickets[0].Realm != extMITRealm || len(c.Tickets[0].Raw) != 0x5e {
		t.Fatalf("tickets %+v", c.Tickets)
	}
	var p EncKrbCredPart
	if err := p.Unmarshal(vecs["encode_krb5_enc_cred_part"]); err != nil {
		t.Fatal(err)
	}
	if len(p.TicketInfo) != 2 || !p.HasNonce || p.Nonce != 42 || !p.Timestamp.Equal(extMITTime) ||
		!p.HasUsec || p.Usec != 123456 || p.SAddress == nil || p.RAddress == nil {
		t.Fatalf("enc-cred-part %+v", p)
	}
	ci := p.TicketInfo[0]
	if ci.PRealm != extMITRealm || ci.PName == nil || !ci.PName.Equal(extMITName) || !ci.HasFlags ||
		ci.Flags != 0xFEDCBA98 || !ci.EndTime.Equal(extMITTime) || ci.SRealm != extMITRealm ||
		len(ci.CAddr) != 2 || string(ci.Key.KeyValue) != "12345678" {
		t.Fatalf("KrbCredInfo %+v", ci)
	}
	// Build the optionals-NULL form from fields.
	full := ci
	minimal := KrbCredInfo{Key: ci.Key}
	built := EncKrbCredPart{TicketInfo: []KrbCredInfo{minimal, full}}
	if got, _ := built.Marshal(); !bytes.Equal(got, vecs["encode_krb5_enc_cred_part(optionals NULL)"]) {
		t.Fatalf("built\n got %x\nwant %x", got, vecs["encode_krb5_enc_cred_part(optionals NULL)"])
	}
	ciDER, _ := full.Marshal()
	extCheckWire(t, ciDER, func() extWire { return new(KrbCredInfo) })
	// A KRB-CRED re-encodes the forwarded tickets byte for byte via Raw.
	cb, _ := c.Marshal()
	if !bytes.Equal(cb, vecs["encode_krb5_cred"]) {
		t.Fatal("KRB-CRED did not re-encode identically")
	}
}

func TestKrbMsgRejectsCred(t *testing.T) {
	vecs := extVectors(t, "krbmsg_vectors.txt")
	safe, priv, cred := vecs["encode_krb5_safe"], vecs["encode_krb5_priv"], vecs["encode_krb5_cred"]
	encPriv := vecs["encode_krb5_enc_priv_part"]
	tests := []struct {
		name string
		b    []byte
		newV func() extWire
	}{
		{"safe pvno 4", extReplace(t, safe, "A0 03 02 01 05 A1 03 02 01 14", "A0 03 02 01 04 A1 03 02 01 14"), func() extWire { return new(KRBSafe) }},
		{"safe msg-type 21", extReplace(t, safe, "A1 03 02 01 14", "A1 03 02 01 15"), func() extWire { return new(KRBSafe) }},
		{"safe usec 1000000", extReplace(t, safe, "A2 05 02 03 01 E2 40", "A2 05 02 03 0F 42 40"), func() extWire { return new(KRBSafe) }},
		{"safe usec negative", extReplace(t, safe, "A2 05 02 03 01 E2 40", "A2 05 02 03 FF E2 40"), func() extWire { return new(KRBSafe) }},
		{"safe app tag 21", extReplace(t, safe, "74 6E", "75 6E"), func() extWire { return new(KRBSafe) }},
		{"safe cksum missing", extReplace(t, vecs["encode_krb5_safe(optionals NULL)"], "74 3E 30 3C", "74 2D 30 2B")[:0x2f], func() extWire { return new(KRBSafe) }},
		{"priv as safe", priv, func() extWire { return new(KRBSafe) }},
		{"priv enc-part at [2]", extReplace(t, priv, "A3 25 30 23", "A2 25 30 23"), func() extWire { return new(KRBPriv) }},
		{"priv msg-type 20", extReplace(t, priv, "A1 03 02 01 15", "A1 03 02 01 14"), func() extWire { return new(KRBPriv) }},
		{"enc-priv app 27", extReplace(t, encPriv, "7C 4F", "7B 4F"), func() extWire { return new(EncKrbPrivPart) }},
		{"enc-priv fields out of order", extReplace(t, encPriv, "A2 05 02 03 01 E2 40 A3 03 02 01 11", "A3 03 02 01 11 A2 05 02 03 01 E2 40"), func() extWire { return new(EncKrbPrivPart) }},
		{"cred msg-type 21", extReplace(t, cred, "A1 03 02 01 16", "A1 03 02 01 15"), func() extWire { return new(KRBCred) }},
		{"cred ticket tag", extReplace(t, cred, "61 5C 30 5A", "62 5C 30 5A"), func() extWire { return new(KRBCred) }},
		{"enc-cred-part flags tag", extReplace(t, vecs["encode_krb5_enc_cred_part"], "A3 07 03 05", "A3 07 04 05"), func() extWire { return new(EncKrbCredPart) }},
		{"empty", nil, func() extWire { return new(KRBCred) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { extWantMalformed(t, tt.b, tt.newV) })
	}
	// KRB-SAFE-BODY requires s-address on decode too (RFC 4120; only
	// EncKrbPrivPart is tolerant).
	body := extHex(t, "30 0C A0 0A 04 08 6B 72 62 35 64 61 74 61")
	extWantField(t, body, func() extWire { return new(KRBSafeBody) }, "s-address")
	// Present but empty realm in KrbCredInfo is refused (it would not round-trip).
	ci := extHex(t, "30 19 A0 13 30 11 A0 03 02 01 01 A1 0A 04 08 31 32 33 34 35 36 37 38 A1 02 1B 00")
	extWantField(t, ci, func() extWire { return new(KrbCredInfo) }, "prealm")
}

package pac

import (
	"bytes"
	"encoding/binary"
	"errors"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/warden-auth/warden/krb5"
	"github.com/warden-auth/warden/krb5/kcrypto"
)

type marshaler interface {
	Marshal() ([]byte, error)
	Unmarshal([]byte) error
}

// Every buffer type: decode(encode(v)) == v and encoding the decoded
// value reproduces the bytes.
func TestBufferRoundTrip(t *testing.T) {
	p := samplePAC(3)
	empty := &LogonInfo{}
	cases := []struct {
		name string
		v    marshaler
		new  func() marshaler
	}{
		{"logon info", p.LogonInfo, func() marshaler { return new(LogonInfo) }},
		{"logon info (empty)", empty, func() marshaler { return new(LogonInfo) }},
		{"client info", p.ClientInfo, func() marshaler { return new(ClientInfo) }},
		{"client info (empty name)", &ClientInfo{ClientID: 1}, func() marshaler { return new(ClientInfo) }},
		{"UPN DNS info (extended)", p.UPNDNSInfo, func() marshaler { return new(UPNDNSInfo) }},
		{"UPN DNS info (constructed, plain)", &UPNDNSInfo{UPN: "bob@warden.test", DNSDomainName: "WARDEN.TEST", Flags: UPNConstructed}, func() marshaler { return new(UPNDNSInfo) }},
		{"device info", p.DeviceInfo, func() marshaler { return new(DeviceInfo) }},
		{"device info (empty)", &DeviceInfo{}, func() marshaler { return new(DeviceInfo) }},
		{"attributes", p.Attributes, func() marshaler { return new(AttributesInfo) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b, err := tc.v.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			got := tc.new()
			if err := got.Unmarshal(b); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(normalize(got), normalize(tc.v)) {
				t.Errorf("round trip\n got %+v\nwant %+v", got, tc.v)
			}
			b2, _ := got.Marshal()
			if !bytes.Equal(b, b2) {
				t.Errorf("re-encoding differs:\n%x\n%x", b, b2)
			}
			// No strict prefix decodes.
			for n := range len(b) {
				if err := tc.new().Unmarshal(b[:n]); err == nil && !prefixOK(tc.v) {
					t.Fatalf("prefix of %d/%d bytes decoded", n, len(b))
				}
			}
		})
	}
	for _, s := range []*SignatureData{
		{Type: krb5.CksumHMACSHA196AES256, Signature: make([]byte, 12)},
		{Type: krb5.CksumHMACMD5, Signature: bytes.Repeat([]byte{1}, 16), RODCIdentifier: 0x1234, HasRODCIdentifier: true},
		{Type: krb5.CksumHMACSHA384192AES256, Signature: bytes.Repeat([]byte{2}, 24)},
		{Type: 77, Signature: []byte{1, 2, 3}},
	} {
		b, _ := s.Marshal()
		got, err := unmarshalSignature(TypeServerChecksum, b)
		if err != nil || !got.Equal(s) {
			t.Errorf("signature %+v: got %+v, %v", s, got, err)
		}
	}
}

// prefixOK: buffers whose decoders deliberately ignore trailing bytes
// (offset-addressed or length-prefixed raw buffers) accept some prefixes.
func prefixOK(v marshaler) bool {
	switch v.(type) {
	case *ClientInfo, *UPNDNSInfo:
		return true
	}
	return false
}

// normalize makes Marshal's flag adjustments comparable.
func normalize(v marshaler) marshaler {
	switch x := v.(type) {
	case *LogonInfo:
		c := *x
		if len(c.ExtraSIDs) > 0 {
			c.UserFlags |= UserFlagExtraSIDs
		}
		if len(c.ResourceGroupIDs) > 0 {
			c.UserFlags |= UserFlagResourceGroups
		}
		return &c
	case *UPNDNSInfo:
		c := *x
		if c.SamName != "" || !c.SID.IsZero() {
			c.Flags |= UPNExtended
		}
		return &c
	}
	return v
}

// A whole PAC: encode, decode, compare, re-encode byte for byte; unknown
// buffers come back unchanged.
func TestPACRoundTrip(t *testing.T) {
	p := samplePAC(5)
	b, err := p.Encode()
	if err != nil {
		t.Fatal(err)
	}
	got, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Raw, b) || len(got.Layout) != 10 {
		t.Fatalf("Raw/Layout not kept: %d buffers", len(got.Layout))
	}
	for _, bi := range got.Layout {
		if bi.Offset%8 != 0 {
			t.Errorf("%v at unaligned offset %d", bi.Type, bi.Offset)
		}
	}
	if len(b)%8 != 0 {
		t.Errorf("PAC length %d not padded to 8", len(b))
	}
	got.Raw, got.Layout = nil, nil
	want := *p
	want.LogonInfo = normalize(p.LogonInfo).(*LogonInfo)
	want.UPNDNSInfo = normalize(p.UPNDNSInfo).(*UPNDNSInfo)
	if !reflect.DeepEqual(got, &want) {
		t.Errorf("round trip\n got %+v\nwant %+v", got, &want)
	}
	if !reflect.DeepEqual(got.Other, p.Other) {
		t.Errorf("unknown buffers: %+v", got.Other)
	}
	b2, _ := got.Encode()
	if !bytes.Equal(b, b2) {
		t.Error("re-encoding differs")
	}
}

// Signing then verifying, with every enctype Warden signs with.
func TestSignVerify(t *testing.T) {
	for _, e := range []krb5.EncType{krb5.ETypeAES256CTSHMACSHA196, krb5.ETypeAES128CTSHMACSHA196,
		krb5.ETypeAES128CTSHMACSHA256, krb5.ETypeAES256CTSHMACSHA384, krb5.ETypeRC4HMAC} {
		t.Run(e.String(), func(t *testing.T) {
			svc, tgt := testKey(t, e, 1), testKey(t, krb5.ETypeAES256CTSHMACSHA196, 2)
			raw, etp := signedServicePAC(t, 3, svc, tgt)
			p, err := FromTicket(etp)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(p.Raw, raw) {
				t.Fatal("FromTicket returned other bytes")
			}
			want, _ := kcrypto.ChecksumTypeFor(e)
			if p.ServerSignature.Type != want || p.KDCSignature.Type != krb5.CksumHMACSHA196AES256 ||
				p.TicketSignature.Type != krb5.CksumHMACSHA196AES256 || p.FullSignature.Type != krb5.CksumHMACSHA196AES256 {
				t.Errorf("signature types %v %v %v %v", p.ServerSignature.Type, p.KDCSignature.Type, p.TicketSignature.Type, p.FullSignature.Type)
			}
			sk, kk := SigningKey{Key: svc, KVNO: 3}, SigningKey{Key: tgt, KVNO: 1}
			for name, err := range map[string]error{
				"server": p.VerifyServerSignature(sk), "kdc": p.VerifyKDCSignature(kk),
				"ticket": p.VerifyTicketSignature(etp, kk), "full": p.VerifyFullSignature(kk),
				"client info": p.VerifyClientInfo(etp.AuthTime, etp.CName),
			} {
				if err != nil {
					t.Errorf("%s: %v", name, err)
				}
			}
		})
	}
}

// A TGT PAC (no Ticket option) has only server and KDC signatures, and
// re-signing drops stale ticket/full signatures.
func TestSignTGT(t *testing.T) {
	tgt := testKey(t, krb5.ETypeAES256CTSHMACSHA196, 2)
	_, etp := signedServicePAC(t, 1, testKey(t, krb5.ETypeAES128CTSHMACSHA196, 1), tgt)
	p, err := FromTicket(etp)
	if err != nil {
		t.Fatal(err)
	}
	b, err := p.Sign(SignOptions{ServerKey: SigningKey{Key: tgt}, KDCKey: SigningKey{Key: tgt}, RODCIdentifier: 7, HasRODCIdentifier: true})
	if err != nil {
		t.Fatal(err)
	}
	q, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if q.TicketSignature != nil || q.FullSignature != nil {
		t.Error("TGT PAC kept ticket/full signatures")
	}
	if q.KDCSignature.RODCIdentifier != 7 || !q.KDCSignature.HasRODCIdentifier || q.ServerSignature.HasRODCIdentifier {
		t.Errorf("RODC identifier: server %+v KDC %+v", q.ServerSignature, q.KDCSignature)
	}
	if err := q.VerifyServerSignature(SigningKey{Key: tgt}); err != nil {
		t.Error(err)
	}
	if err := q.VerifyKDCSignature(SigningKey{Key: tgt}); err != nil {
		t.Error(err)
	}
	if err := q.VerifyTicketSignature(etp, SigningKey{Key: tgt}); !errors.Is(err, ErrMissing) {
		t.Errorf("ticket signature on a TGT PAC: %v", err)
	}
}

// Flipping any single byte of a signed PAC is caught: either Decode
// rejects it or the verify functions whose input covers that byte fail.
func TestByteFlipsInPAC(t *testing.T) {
	svc, tgt := testKey(t, krb5.ETypeAES256CTSHMACSHA196, 1), testKey(t, krb5.ETypeAES256CTSHMACSHA196, 2)
	raw, etp := signedServicePAC(t, 4, svc, tgt)
	orig, err := Decode(raw)
	if err != nil {
		t.Fatal(err)
	}
	sk, kk := SigningKey{Key: svc, KVNO: 3}, SigningKey{Key: tgt, KVNO: 1}
	sigRange := func(bt BufferType) (int, int) {
		s, bi, _ := orig.rawSignature(bt)
		return bi.Offset + 4, bi.Offset + 4 + len(s.Signature)
	}
	in := func(i int, bt BufferType) bool { lo, hi := sigRange(bt); return i >= lo && i < hi }
	rejectedByDecode := 0
	for i := range raw {
		b := append([]byte(nil), raw...)
		b[i] ^= 0x01
		p, err := Decode(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("byte %d: decode error %v is not ErrMalformed", i, err)
			}
			rejectedByDecode++
			continue
		}
		// Which verifications cover byte i.
		must := map[string]error{}
		switch {
		case in(i, TypeKDCChecksum):
			must["kdc"] = p.VerifyKDCSignature(kk)
		case in(i, TypeServerChecksum):
			must["server"] = p.VerifyServerSignature(sk)
			must["kdc"] = p.VerifyKDCSignature(kk)
		case in(i, TypeFullChecksum):
			must["full"] = p.VerifyFullSignature(kk)
			must["server"] = p.VerifyServerSignature(sk)
		case in(i, TypeTicketChecksum):
			must["ticket"] = p.VerifyTicketSignature(etp, kk)
			must["full"] = p.VerifyFullSignature(kk)
			must["server"] = p.VerifyServerSignature(sk)
		default:
			must["server"] = p.VerifyServerSignature(sk)
			must["full"] = p.VerifyFullSignature(kk)
		}
		for name, err := range must {
			// A flipped type can also turn a signature buffer into
			// an unknown one: the signature is then missing.
			var pe *Error
			if !errors.As(err, &pe) || (pe.Kind != KindSignature && pe.Kind != KindMissing) {
				t.Errorf("byte %d flipped: %s verification gave %v, want a signature error", i, name, err)
			}
		}
	}
	t.Logf("%d of %d flips rejected by Decode, the rest by the signatures", rejectedByDecode, len(raw))
}

// Flipping any byte of the EncTicketPart (outside the PAC, which the
// ticket signature leaves out but the PAC's own signatures cover) is
// caught by the ticket signature.
func TestByteFlipsInTicket(t *testing.T) {
	svc, tgt := testKey(t, krb5.ETypeAES256CTSHMACSHA196, 1), testKey(t, krb5.ETypeAES256CTSHMACSHA196, 2)
	_, etp := signedServicePAC(t, 2, svc, tgt)
	der, _ := etp.Marshal()
	sk, kk := SigningKey{Key: svc}, SigningKey{Key: tgt}
	checked := 0
	for i := range der {
		b := append([]byte(nil), der...)
		b[i] ^= 0x01
		var e krb5.EncTicketPart
		if e.Unmarshal(b) != nil {
			continue // the ticket no longer parses: rejected
		}
		if m, _ := e.Marshal(); bytes.Equal(m, der) {
			continue // a tolerated non-canonical form of the same value
		}
		p, err := FromTicket(&e)
		if err != nil || p == nil {
			continue // rejected: no PAC, or a malformed one
		}
		checked++
		if p.VerifyTicketSignature(&e, kk) == nil && p.VerifyServerSignature(sk) == nil &&
			p.VerifyFullSignature(kk) == nil && p.VerifyKDCSignature(kk) == nil {
			t.Errorf("byte %d of the EncTicketPart flipped: every signature still verifies", i)
		}
	}
	t.Logf("%d of %d ticket flips decoded and were caught by a signature", checked, len(der))
}

// The verify functions' failures: each a *Error of the right kind and a
// reason with the observed values.
func TestVerifyErrors(t *testing.T) {
	svc, tgt := testKey(t, krb5.ETypeAES256CTSHMACSHA196, 1), testKey(t, krb5.ETypeAES256CTSHMACSHA196, 2)
	raw, etp := signedServicePAC(t, 1, svc, tgt)
	p, _ := Decode(raw)
	other := testKey(t, krb5.ETypeAES256CTSHMACSHA196, 9)
	rc4 := testKey(t, krb5.ETypeRC4HMAC, 9)
	bare, _ := samplePAC(1).Encode()
	unsigned, _ := Decode(bare)
	etp2 := *etp
	etp2.CName = krb5.PrincipalName{NameType: 1, NameString: []string{"mallory"}}
	cases := []struct {
		name       string
		err        error
		wantKind   Kind
		wantReason string
	}{
		{"wrong service key", p.VerifyServerSignature(SigningKey{Key: other, KVNO: 3}), KindSignature,
			"PAC server signature does not verify with the service key (kvno 3, aes256-cts-hmac-sha1-96)"},
		{"service key of another enctype", p.VerifyServerSignature(SigningKey{Key: rc4, KVNO: 4}), KindSignature,
			"PAC server signature is of type hmac-sha1-96-aes256 but the service key (kvno 4, arcfour-hmac) takes hmac-md5-arcfour"},
		{"wrong krbtgt key (server signature of a TGT)", p.VerifyServerSignature(SigningKey{Key: other, KVNO: 2, Role: "krbtgt"}), KindSignature,
			"PAC server signature does not verify with the krbtgt key (kvno 2, aes256-cts-hmac-sha1-96)"},
		{"wrong krbtgt key", p.VerifyKDCSignature(SigningKey{Key: other, KVNO: 2}), KindSignature,
			"PAC KDC signature does not verify with the krbtgt key (kvno 2, aes256-cts-hmac-sha1-96)"},
		{"wrong krbtgt key (full)", p.VerifyFullSignature(SigningKey{Key: other, KVNO: 2}), KindSignature,
			"PAC full PAC signature does not verify with the krbtgt key (kvno 2, aes256-cts-hmac-sha1-96)"},
		{"ticket altered", p.VerifyTicketSignature(&etp2, SigningKey{Key: tgt, KVNO: 2}), KindSignature,
			"PAC ticket signature does not verify with the krbtgt key (kvno 2, aes256-cts-hmac-sha1-96)"},
		{"no server signature", unsigned.VerifyServerSignature(SigningKey{Key: svc}), KindMissing, "PAC has no server signature (buffer type 6)"},
		{"no KDC signature", unsigned.VerifyKDCSignature(SigningKey{Key: tgt}), KindMissing, "PAC has no KDC signature (buffer type 7)"},
		{"no ticket signature", unsigned.VerifyTicketSignature(etp, SigningKey{Key: tgt}), KindMissing, "PAC has no ticket signature (buffer type 16)"},
		{"no full signature", unsigned.VerifyFullSignature(SigningKey{Key: tgt}), KindMissing, "PAC has no full PAC signature (buffer type 19)"},
		{"never encoded", samplePAC(1).VerifyServerSignature(SigningKey{Key: svc}), KindMissing, "the PAC was neither decoded nor signed"},
		{"no key", p.VerifyServerSignature(SigningKey{}), KindUnsupported, "no service key to verify the PAC server signature"},
		{"client name", p.VerifyClientInfo(etp.AuthTime, etp2.CName), KindMismatch, `PAC_CLIENT_INFO name "alice" does not match the ticket's client "mallory"`},
		{"no client info", (&PAC{}).VerifyClientInfo(etp.AuthTime, etp.CName), KindMissing, "PAC has no PAC_CLIENT_INFO"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var pe *Error
			if !errors.As(tc.err, &pe) {
				t.Fatalf("error %v is not a *pac.Error", tc.err)
			}
			if pe.Kind != tc.wantKind || !strings.Contains(pe.Reason, tc.wantReason) {
				t.Errorf("got kind %d reason %q, want kind %d reason containing %q", pe.Kind, pe.Reason, tc.wantKind, tc.wantReason)
			}
			if !errors.Is(tc.err, tc.wantKind.sentinel()) {
				t.Error("errors.Is with the kind's sentinel fails")
			}
			if pe.Code() != krb5.KRBAPErrModified && tc.wantKind != KindUnsupported {
				t.Errorf("code %v", pe.Code())
			}
		})
	}
}

// Sign refuses what it cannot do.
func TestSignErrors(t *testing.T) {
	tgt := testKey(t, krb5.ETypeAES256CTSHMACSHA196, 2)
	etp := sampleTicket(t)
	etp.AuthorizationData = nil
	cases := []struct {
		name   string
		p      *PAC
		opt    SignOptions
		reason string
	}{
		{"no server key", samplePAC(1), SignOptions{KDCKey: SigningKey{Key: tgt}}, "needs both the server key and the KDC key"},
		{"ticket without PAC element", samplePAC(1), SignOptions{ServerKey: SigningKey{Key: tgt}, KDCKey: SigningKey{Key: tgt}, Ticket: etp},
			"ticket has no PAC element"},
		{"string too long", &PAC{LogonInfo: &LogonInfo{EffectiveName: strings.Repeat("x", 40000)}},
			SignOptions{ServerKey: SigningKey{Key: tgt}, KDCKey: SigningKey{Key: tgt}}, "cannot encode KERB_VALIDATION_INFO"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.p.Sign(tc.opt)
			var pe *Error
			if !errors.As(err, &pe) || !strings.Contains(pe.Reason, tc.reason) {
				t.Fatalf("got %v, want reason containing %q", err, tc.reason)
			}
		})
	}
	if _, err := (&PAC{ClientClaims: []byte{}}).Encode(); err == nil || !strings.Contains(err.Error(), "end with an empty") {
		t.Errorf("trailing empty buffer: %v", err)
	}
	if _, err := (&PAC{}).Encode(); !errors.Is(err, ErrUnsupported) {
		t.Errorf("empty PAC: %v", err)
	}
}

// hdr builds a PACTYPE header with the given buffer descriptors.
func hdr(total int, infos ...BufferInfo) []byte {
	b := make([]byte, total)
	binary.LittleEndian.PutUint32(b, uint32(len(infos)))
	for i, bi := range infos {
		at := 8 + 16*i
		binary.LittleEndian.PutUint32(b[at:], uint32(bi.Type))
		binary.LittleEndian.PutUint32(b[at+4:], uint32(bi.Size))
		binary.LittleEndian.PutUint64(b[at+8:], uint64(bi.Offset))
	}
	return b
}

// Malformed containers and buffers: every check Decode makes, with the
// buffer and offset it reports.
func TestDecodeErrors(t *testing.T) {
	good, _ := samplePAC(2).Encode()
	gp, _ := Decode(good)
	patch := func(f func(b []byte)) []byte {
		b := append([]byte(nil), good...)
		f(b)
		return b
	}
	at := func(t BufferType) BufferInfo { bi, _ := gp.find(t); return bi }
	sig := func(st krb5.ChecksumType, n int) []byte {
		b := binary.LittleEndian.AppendUint32(nil, uint32(st))
		return append(b, make([]byte, n)...)
	}
	withBuf := func(t BufferType, data []byte) []byte {
		b := hdr(24+len(data)+8, BufferInfo{Type: t, Offset: 24, Size: len(data)})
		copy(b[24:], data)
		return b
	}
	cases := []struct {
		name       string
		in         []byte
		wantBuf    BufferType
		wantOff    int
		wantReason string
	}{
		{"empty", nil, 0, 0, "PAC is 0 bytes"},
		{"version", patch(func(b []byte) { b[4] = 1 }), 0, 4, "PAC version 1, want 0"},
		{"no buffers", hdr(8), 0, 0, "PAC has no buffers"},
		{"too many buffers", patch(func(b []byte) { binary.LittleEndian.PutUint32(b, 1000) }), 0, 0, "PAC claims 1000 buffers"},
		{"misaligned", hdr(64, BufferInfo{TypeClientInfo, 28, 10}), TypeClientInfo, 16, "offset 28 is not a multiple of 8"},
		{"inside table", hdr(64, BufferInfo{TypeClientInfo, 16, 10}), TypeClientInfo, 16, "lies inside the 24-byte buffer table"},
		{"past end", hdr(64, BufferInfo{TypeClientInfo, 56, 10}), TypeClientInfo, 12, "extends past the end of the 64-byte PAC"},
		{"huge offset", hdr(64, BufferInfo{TypeClientInfo, 1 << 62, 10}), TypeClientInfo, 12, "extends past the end"},
		{"overlap", hdr(96, BufferInfo{TypeClientInfo, 40, 24}, BufferInfo{TypeAttributesInfo, 56, 8}), TypeAttributesInfo, 56, "overlaps"},
		{"duplicate", patch(func(b []byte) {
			// Make the client info descriptor a second logon info.
			for i := 0; i < int(binary.LittleEndian.Uint32(b)); i++ {
				if binary.LittleEndian.Uint32(b[8+16*i:]) == uint32(TypeClientInfo) {
					binary.LittleEndian.PutUint32(b[8+16*i:], uint32(TypeLogonInfo))
				}
			}
		}), TypeLogonInfo, at(TypeClientInfo).Offset, "more than one PAC_LOGON_INFO"},
		{"logon info truncated NDR", patch(func(b []byte) { binary.LittleEndian.PutUint32(b[at(TypeLogonInfo).Offset+8:], 0x10000) }),
			TypeLogonInfo, at(TypeLogonInfo).Offset + 8, "object buffer length 65536 exceeds"},
		{"logon info bad group count", patch(func(b []byte) {
			binary.LittleEndian.PutUint32(b[at(TypeLogonInfo).Offset+20+108:], 3) // GroupCount
		}), TypeLogonInfo, -2, "array of 2 elements for a count of 3"},
		{"client info name length", withBuf(TypeClientInfo, []byte{0, 0, 0, 0, 0, 0, 0, 0, 9, 0}), TypeClientInfo, 24 + 8, "NameLength 9"},
		{"client info short", withBuf(TypeClientInfo, []byte{1}), TypeClientInfo, 24, "PAC_CLIENT_INFO is 1 bytes"},
		{"UPN out of range", withBuf(TypeUPNDNSInfo, []byte{4, 0, 200, 0, 0, 0, 0, 0, 0, 0, 0, 0}), TypeUPNDNSInfo, 24, "Upn (offset 200, length 4) extends past"},
		{"UPN odd length", withBuf(TypeUPNDNSInfo, []byte{0, 0, 0, 0, 3, 0, 12, 0, 0, 0, 0, 0, 1, 2, 3, 4}), TypeUPNDNSInfo, 28, "DnsDomainName has odd length 3"},
		{"UPN extended too short", withBuf(TypeUPNDNSInfo, []byte{0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0}), TypeUPNDNSInfo, 32, "extended flag but is 12 bytes"},
		{"UPN bad SID", withBuf(TypeUPNDNSInfo, []byte{0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 4, 0, 20, 0, 1, 2, 3, 4}), TypeUPNDNSInfo, 44, "Sid is malformed"},
		{"attributes size", withBuf(TypeAttributesInfo, []byte{33, 0, 0, 0, 1, 0, 0, 0}), TypeAttributesInfo, 24, "FlagsLength 33 needs 12 bytes"},
		{"requestor", withBuf(TypeRequestor, []byte{1, 1, 0, 0, 0, 0, 0, 5}), TypeRequestor, 24, "PAC_REQUESTOR is not a SID"},
		{"signature length", withBuf(TypeServerChecksum, sig(krb5.CksumHMACSHA196AES256, 13)), TypeServerChecksum, 28, "holds 13 bytes, want 12 (or 14 with an RODC identifier)"},
		{"signature short", withBuf(TypeKDCChecksum, []byte{1, 2}), TypeKDCChecksum, 24, "PAC_PRIVSVR_CHECKSUM is 2 bytes"},
		{"device info NULL", withBuf(TypeDeviceInfo, mustHex(t, "01100800cccccccc08000000000000000000000000000000")), TypeDeviceInfo, 24 + 20, "top-level pointer is NULL"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Decode(tc.in)
			var pe *Error
			if !errors.As(err, &pe) {
				t.Fatalf("got %v, want a *pac.Error", err)
			}
			if !errors.Is(err, ErrMalformed) || pe.Buffer != tc.wantBuf || !strings.Contains(pe.Reason, tc.wantReason) ||
				(tc.wantOff != -2 && pe.Offset != tc.wantOff) {
				t.Errorf("got kind %d buffer %v offset %d reason %q\nwant buffer %v offset %d reason containing %q",
					pe.Kind, pe.Buffer, pe.Offset, pe.Reason, tc.wantBuf, tc.wantOff, tc.wantReason)
			}
		})
	}
}

// Windows' empty claims buffer, zero-length buffers anywhere, buffers in
// any order, trailing padding: all accepted.
func TestDecodeTolerates(t *testing.T) {
	ci, _ := (&ClientInfo{ClientID: 5, Name: "bob"}).Marshal()
	b := hdr(88, BufferInfo{TypeClientClaims, 88, 0}, BufferInfo{TypeClientInfo, 56, len(ci)})
	copy(b[56:], ci)
	p, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if p.ClientClaims == nil || len(p.ClientClaims) != 0 || p.ClientInfo.Name != "bob" {
		t.Errorf("got %+v", p)
	}
}

// The helpers that place and find a PAC in authorization data.
func TestAuthorizationDataHelpers(t *testing.T) {
	pacA, pacB := []byte("pac A"), []byte("pac B")
	opts := krb5.WrapADIfRelevant(krb5.AuthorizationData{{Type: krb5.ADAPOptions, Data: []byte{1}}})
	mixed := krb5.WrapADIfRelevant(krb5.AuthorizationData{{Type: krb5.ADWin2KPAC, Data: pacA}, {Type: krb5.ADAPOptions, Data: []byte{2}}})

	ad, err := WithPAC(krb5.AuthorizationData{opts}, pacA)
	if err != nil || len(ad) != 2 || ad[0].Type != krb5.ADIfRelevant || !reflect.DeepEqual(ad[1], opts) {
		t.Fatalf("WithPAC: %v %v", ad, err)
	}
	if b, ok, err := FromAuthorizationData(ad); !ok || err != nil || !bytes.Equal(b, pacA) {
		t.Errorf("FromAuthorizationData = %q %v %v", b, ok, err)
	}
	// Replacing keeps one PAC, first, and keeps the other elements of a
	// shared container.
	ad2, err := WithPAC(krb5.AuthorizationData{mixed, opts}, pacB)
	if err != nil || len(ad2) != 3 {
		t.Fatalf("WithPAC over a shared container: %v %v", ad2, err)
	}
	if b, _, _ := FromAuthorizationData(ad2); !bytes.Equal(b, pacB) {
		t.Errorf("replaced PAC = %q", b)
	}
	inner, _ := krb5.UnwrapADIfRelevant(ad2[1])
	if len(inner) != 1 || inner[0].Type != krb5.ADAPOptions {
		t.Errorf("shared container after WithPAC: %v", inner)
	}
	if _, ok, err := FromAuthorizationData(krb5.AuthorizationData{opts}); ok || err != nil {
		t.Errorf("no PAC: %v %v", ok, err)
	}
	// WithoutPAC drops the PAC the same way, and gives nil for nothing.
	if rest, err := WithoutPAC(ad2); err != nil || !reflect.DeepEqual(rest, ad2[1:]) {
		t.Errorf("WithoutPAC = %v %v, want %v", rest, err, ad2[1:])
	}
	if rest, err := WithoutPAC(krb5.AuthorizationData{ADEntry(pacA), {Type: krb5.ADWin2KPAC, Data: pacB}}); rest != nil || err != nil {
		t.Errorf("WithoutPAC of PACs only = %v %v", rest, err)
	}
	for name, bad := range map[string]krb5.AuthorizationData{
		"two PACs":  {ADEntry(pacA), ADEntry(pacB)},
		"bare PAC":  {{Type: krb5.ADWin2KPAC, Data: pacA}},
		"malformed": {{Type: krb5.ADIfRelevant, Data: []byte{0x30}}},
	} {
		if _, _, err := FromAuthorizationData(bad); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v", name, err)
		}
		etp := sampleTicket(t)
		etp.AuthorizationData = bad
		if _, err := TicketSignatureInput(etp); !errors.Is(err, ErrMalformed) {
			t.Errorf("TicketSignatureInput, %s: %v", name, err)
		}
	}

	// The ticket signature input has a 0x00 PAC placeholder in place of
	// the PAC and leaves the ticket alone.
	etp := sampleTicket(t)
	etp.AuthorizationData, _ = WithPAC(etp.AuthorizationData, pacA)
	before := append(krb5.AuthorizationData(nil), etp.AuthorizationData...)
	in, err := TicketSignatureInput(etp)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(etp.AuthorizationData, before) {
		t.Error("TicketSignatureInput changed the ticket")
	}
	var dec krb5.EncTicketPart
	if err := dec.Unmarshal(in); err != nil {
		t.Fatal(err)
	}
	if b, _, _ := FromAuthorizationData(dec.AuthorizationData); !bytes.Equal(b, []byte{0}) {
		t.Errorf("placeholder = %x", b)
	}
	etp.AuthorizationData, _ = WithPAC(etp.AuthorizationData, pacB)
	in2, _ := TicketSignatureInput(etp)
	if !bytes.Equal(in, in2) {
		t.Error("the input depends on the PAC's content")
	}
}

// A PAC with 1,000 groups builds, signs, decodes and verifies.
func TestThousandGroups(t *testing.T) {
	svc, tgt := testKey(t, krb5.ETypeAES256CTSHMACSHA196, 1), testKey(t, krb5.ETypeAES256CTSHMACSHA196, 2)
	raw, etp := signedServicePAC(t, 1000, svc, tgt)
	p, err := FromTicket(etp)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.LogonInfo.GroupIDs) != 1000 || p.LogonInfo.GroupIDs[999].RID != 2199 {
		t.Fatalf("groups: %d", len(p.LogonInfo.GroupIDs))
	}
	if err := p.VerifyServerSignature(SigningKey{Key: svc}); err != nil {
		t.Fatal(err)
	}
	li, _ := p.LogonInfo.Marshal()
	t.Logf("PAC with 1000 groups: %d bytes (logon info buffer %d bytes)", len(raw), len(li))
}

func BenchmarkSign(b *testing.B) {
	svc, tgt := testKey(b, krb5.ETypeAES256CTSHMACSHA196, 1), testKey(b, krb5.ETypeAES256CTSHMACSHA196, 2)
	for _, n := range []int{10, 1000} {
		b.Run("groups="+strconv.Itoa(n), func(b *testing.B) {
			etp := sampleTicket(b)
			b.ReportAllocs()
			for b.Loop() {
				p := samplePAC(n)
				raw, err := p.Sign(SignOptions{ServerKey: SigningKey{Key: svc}, KDCKey: SigningKey{Key: tgt}, Ticket: etp})
				if err != nil {
					b.Fatal(err)
				}
				b.SetBytes(int64(len(raw)))
			}
		})
	}
}

func BenchmarkDecodeVerify(b *testing.B) {
	svc, tgt := testKey(b, krb5.ETypeAES256CTSHMACSHA196, 1), testKey(b, krb5.ETypeAES256CTSHMACSHA196, 2)
	raw, _ := signedServicePAC(b, 1000, svc, tgt)
	b.ReportAllocs()
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		p, err := Decode(raw)
		if err != nil || p.VerifyServerSignature(SigningKey{Key: svc}) != nil {
			b.Fatal(err)
		}
	}
}

// Raw and Layout are exported; verification must survive a caller
// changing them or the typed fields (no panic, a clean error).
func TestVerifyAfterMutation(t *testing.T) {
	svc, tgt := testKey(t, krb5.ETypeAES256CTSHMACSHA196, 1), testKey(t, krb5.ETypeAES256CTSHMACSHA196, 2)
	raw, _ := signedServicePAC(t, 1, svc, tgt)
	p, _ := Decode(raw)
	p.ServerSignature.Signature = make([]byte, 4096) // typed field: ignored
	if err := p.VerifyServerSignature(SigningKey{Key: svc}); err != nil {
		t.Errorf("typed field changed: %v", err)
	}
	for i := range p.Layout {
		p.Layout[i].Offset = 1 << 40
	}
	if err := p.VerifyServerSignature(SigningKey{Key: svc}); !errors.Is(err, ErrMissing) {
		t.Errorf("layout out of range: %v", err)
	}
	if _, err := (&PAC{Other: []Buffer{{Type: TypeServerChecksum, Data: []byte{1}}}}).Encode(); !errors.Is(err, ErrUnsupported) {
		t.Errorf("interpreted type in Other: %v", err)
	}
}

func TestLogonInfoSIDs(t *testing.T) {
	li := samplePAC(2).LogonInfo
	if got := li.UserSID().String(); got != testDomain.String()+"-1104" {
		t.Errorf("UserSID = %s", got)
	}
	var got []string
	for _, g := range li.GroupSIDs() {
		got = append(got, g.SID.String())
	}
	d := testDomain.String()
	want := []string{d + "-513", d + "-1200", d + "-1201", "S-1-18-1", "S-1-5-21-111-222-333-1601",
		"S-1-5-21-111-222-333-2001", "S-1-5-21-111-222-333-2002"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("GroupSIDs = %v\nwant %v", got, want)
	}
	// Without the flags, ExtraSids and resource groups do not count; with
	// UserId 0 the first extra SID is the user.
	li.UserFlags = 0
	li.UserID = 0
	if n := len(li.GroupSIDs()); n != 3 {
		t.Errorf("GroupSIDs without flags: %d", n)
	}
	if li.UserSID() != SIDAuthenticationAuthorityAsserted {
		t.Errorf("UserSID with UserId 0 = %v", li.UserSID())
	}
	if (&LogonInfo{UserID: 5}).UserSID() != (SID{}) {
		t.Error("UserSID without a domain SID")
	}
}

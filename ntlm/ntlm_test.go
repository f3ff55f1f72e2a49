package ntlm

import (
	"bytes"
	"crypto/rc4"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestSpecVectors checks the MS-NLMP 4.2.4 NTLMv2 vectors (spec digest
// ntlm.md §5).
func TestSpecVectors(t *testing.T) {
	nt := NTHash("Password")
	if got := hex.EncodeToString(nt[:]); got != "a4f49c406510bdcab6824ee7c30fd852" {
		t.Fatalf("NTOWFv1 %s", got)
	}
	key := ntowfv2(nt, "User", "Domain")
	if got := hex.EncodeToString(key); got != "0c868a403bfd7a93a3001ef22ef02e3f" {
		t.Fatalf("NTOWFv2 %s", got)
	}
	av := AVPairs{{AvNbDomainName, toUTF16("Domain")}, {AvNbComputerName, toUTF16("Server")}}
	var cc [8]byte
	copy(cc[:], bytes.Repeat([]byte{0xaa}, 8))
	temp := makeTemp(0, cc, av)
	want := unhex(t, "0101000000000000 0000000000000000 aaaaaaaaaaaaaaaa 00000000 02000c00 44006f006d00610069006e00 01000c00 53006500720076006500720000000000 00000000")
	if !bytes.Equal(temp, want) {
		t.Fatalf("temp\n%x\n%x", temp, want)
	}
	sc := unhex(t, "0123456789abcdef")
	proof := hmacMD5(key, sc, temp)
	if got := hex.EncodeToString(proof); got != "68cd0ab851e51c96aabc927bebef6a1c" {
		t.Fatalf("NTProofStr %s", got)
	}
	if got := hex.EncodeToString(hmacMD5(key, sc, cc[:])); got != "86c35097ac9cec102554764a57cccc19" {
		t.Fatalf("LMv2 %s", got)
	}
	sbk := hmacMD5(key, proof)
	if got := hex.EncodeToString(sbk); got != "8de40ccadbc14a82f15cb0ad0de95ca3" {
		t.Fatalf("SessionBaseKey %s", got)
	}
	// The server side reaches the same key from the response alone.
	v := &Validation{User: "User", Domain: "Domain", NTResponse: append(proof, temp...)}
	copy(v.ServerChallenge[:], sc)
	got, err := VerifyResponse(v, nt, fromFiletime(0), time.Hour)
	if err != nil || !bytes.Equal(got.SessionBaseKey[:], sbk) {
		t.Fatalf("VerifyResponse: %v %+v", err, got)
	}
	exported := [16]byte(bytes.Repeat([]byte{0x55}, 16))
	r, _ := rc4.NewCipher(sbk)
	enc := make([]byte, 16)
	r.XORKeyStream(enc, exported[:])
	if got := hex.EncodeToString(enc); got != "c5dad2544fc9799094ce1ce90bc9d03e" {
		t.Fatalf("EncryptedRandomSessionKey %s", got)
	}
	s := newSession(exported, Flags(0xE28A8233), true)
	if got := hex.EncodeToString(s.sendSign); got != "4788dc861b4782f35d43fd98fe1a2d39" {
		t.Fatalf("client signing key %s", got)
	}
	if got := hex.EncodeToString(md5Of(exported[:], []byte(clientSealMagic))); got != "59f600973cc4960a25480a7c196e4c58" {
		t.Fatalf("client sealing key %s", got)
	}
	sealed, sig := s.Seal(toUTF16("Plaintext"))
	if got := hex.EncodeToString(sealed); got != "54e50165bf1936dc996020c1811b0f06fb5f" {
		t.Fatalf("sealed %s", got)
	}
	if got := hex.EncodeToString(sig); got != "010000007fb38ec5c55d497600000000" {
		t.Fatalf("signature %s", got)
	}
}

var tNow = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

func serverCfg() ServerConfig {
	return ServerConfig{NetBIOSDomain: "WARDEN", NetBIOSComputer: "WEB01", DNSDomain: "warden.test",
		DNSComputer: "web01.warden.test", Time: func() time.Time { return tNow }}
}

// handshake runs client → server up to the AA's validation.
func handshake(t *testing.T, c *Client) (*ServerContext, *Validation, []byte) {
	t.Helper()
	sctx, ch, err := NewChallenge(serverCfg(), c.Negotiate())
	if err != nil {
		t.Fatal(err)
	}
	am, _, err := c.Authenticate(ch)
	if err != nil {
		t.Fatal(err)
	}
	v, err := sctx.Authenticate(am)
	if err != nil {
		t.Fatal(err)
	}
	return sctx, v, am
}

func TestRoundTrip(t *testing.T) {
	c := &Client{User: "alice", Password: "correct horse", TargetSPN: "HTTP/web01.warden.test", Time: func() time.Time { return tNow }}
	sctx, ch, err := NewChallenge(serverCfg(), c.Negotiate())
	if err != nil {
		t.Fatal(err)
	}
	am, cs, err := c.Authenticate(ch)
	if err != nil {
		t.Fatal(err)
	}
	v, err := sctx.Authenticate(am)
	if err != nil {
		t.Fatal(err)
	}
	if v.Domain != "WARDEN" || v.User != "alice" {
		t.Fatalf("validation %+v", v)
	}
	ver, err := VerifyResponse(v, NTHash("correct horse"), tNow, 0)
	if err != nil {
		t.Fatal(err)
	}
	if ver.AVPairs.String(AvNbComputerName) != "WEB01" || ver.AVPairs.String(AvTargetName) != "HTTP/web01.warden.test" {
		t.Fatalf("AV pairs echoed: %v", ver.AVPairs)
	}
	if spn, untrusted := sctx.TargetSPN(); spn != "HTTP/web01.warden.test" || untrusted {
		t.Fatalf("target %q %v", spn, untrusted)
	}
	ss, err := sctx.Finish(ver.SessionBaseKey, nil, false)
	if err != nil || ss.SessionKey() != cs.SessionKey() {
		t.Fatalf("session keys differ: %v", err)
	}
	for i := range 3 {
		sealed, sig := cs.Seal([]byte("to server"))
		if m, err := ss.Unseal(sealed, sig); err != nil || string(m) != "to server" {
			t.Fatalf("message %d: %q %v", i, m, err)
		}
		sig = ss.Sign([]byte("to client"))
		if err := cs.Verify([]byte("to client"), sig); err != nil {
			t.Fatal(err)
		}
	}
	// A mechListMIC leaves the RC4 streams where they were.
	mic, _ := cs.MakeMIC([]byte("mechs"))
	if err := ss.VerifyMIC([]byte("mechs"), mic); err != nil {
		t.Fatal(err)
	}
	sealed, sig := cs.Seal([]byte("after MIC"))
	if _, err := ss.Unseal(sealed, sig); err != nil {
		t.Fatal(err)
	}
	// A replayed signature is out of sequence.
	sig = cs.Sign([]byte("once"))
	if err := ss.Verify([]byte("once"), sig); err != nil {
		t.Fatal(err)
	}
	if err := ss.Verify([]byte("once"), sig); !errors.Is(err, &Error{Status: StatusOutOfSequence}) {
		t.Fatalf("replayed signature: %v", err)
	}
}

func TestRefusals(t *testing.T) {
	newClient := func() *Client {
		return &Client{User: "alice", Password: "pw", Time: func() time.Time { return tNow }}
	}
	t.Run("wrong password", func(t *testing.T) {
		_, v, _ := handshake(t, newClient())
		_, err := VerifyResponse(v, NTHash("other"), tNow, 0)
		if !errors.Is(err, &Error{Status: StatusWrongPassword}) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("NTLMv1", func(t *testing.T) {
		sctx, _, _ := NewChallenge(serverCfg(), newClient().Negotiate())
		am := (&Authenticate{Flags: FlagUnicode | FlagNTLM, NTResponse: make([]byte, 24), User: "alice"}).Marshal()
		_, err := sctx.Authenticate(am)
		if !errors.Is(err, &Error{Status: StatusNTLMBlocked}) || !strings.Contains(err.Error(), "NTLMv1") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("stale timestamp", func(t *testing.T) {
		_, v, _ := handshake(t, newClient())
		_, err := VerifyResponse(v, NTHash("pw"), tNow.Add(48*time.Hour), 0)
		if !errors.Is(err, &Error{Status: StatusTimeDifference}) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("replayed challenge", func(t *testing.T) {
		sctx, _, am := handshake(t, newClient())
		if _, err := sctx.Authenticate(am); err == nil || !strings.Contains(err.Error(), "already answered") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("MIC dropped", func(t *testing.T) {
		c := newClient()
		sctx, ch, _ := NewChallenge(serverCfg(), c.Negotiate())
		am, _, _ := c.Authenticate(ch)
		clear(am[micOffset : micOffset+16]) // a relay that cannot recompute it zeroes it
		v, _ := sctx.Authenticate(am)
		ver, err := VerifyResponse(v, NTHash("pw"), tNow, 0)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := sctx.Finish(ver.SessionBaseKey, nil, false); !errors.Is(err, &Error{Status: StatusMessageAltered}) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("negotiate altered", func(t *testing.T) {
		c := newClient()
		neg := c.Negotiate()
		tampered := append([]byte(nil), neg...)
		tampered[12] &^= byte(FlagSeal) // a man in the middle downgrades the flags
		sctx, ch, _ := NewChallenge(serverCfg(), tampered)
		am, _, _ := c.Authenticate(ch)
		v, _ := sctx.Authenticate(am)
		ver, _ := VerifyResponse(v, NTHash("pw"), tNow, 0)
		if _, err := sctx.Finish(ver.SessionBaseKey, nil, false); err == nil || !strings.Contains(err.Error(), "MIC does not verify") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("channel bindings", func(t *testing.T) {
		c := newClient()
		c.ChannelBindings = &[16]byte{1}
		sctx, v, _ := handshake(t, c)
		ver, _ := VerifyResponse(v, NTHash("pw"), tNow, 0)
		if _, err := sctx.Finish(ver.SessionBaseKey, &[16]byte{2}, false); !errors.Is(err, &Error{Status: StatusBadBindings}) {
			t.Fatalf("mismatch: %v", err)
		}
		sctx, v, _ = handshake(t, newClient())
		ver, _ = VerifyResponse(v, NTHash("pw"), tNow, 0)
		if _, err := sctx.Finish(ver.SessionBaseKey, &[16]byte{2}, true); !errors.Is(err, &Error{Status: StatusBadBindings}) {
			t.Fatalf("required: %v", err)
		}
	})
	t.Run("empty domain retry", func(t *testing.T) {
		// A client that computed NTOWFv2 with an empty domain but sent one.
		c := newClient()
		sctx, ch, _ := NewChallenge(serverCfg(), c.Negotiate())
		c.Domain = ""
		am, _, _ := c.Authenticate(ch)
		v, _ := sctx.Authenticate(am)
		// Re-verify as if it had computed with "" (the vector path).
		nt := NTHash("pw")
		temp := v.NTResponse[16:]
		key := ntowfv2(nt, "alice", "")
		v.NTResponse = append(hmacMD5(key, v.ServerChallenge[:], temp), temp...)
		ver, err := VerifyResponse(v, nt, tNow, 0)
		if err != nil || !ver.EmptyDomain {
			t.Fatalf("ver %+v err %v", ver, err)
		}
	})
}

func TestParseBounds(t *testing.T) {
	for _, b := range [][]byte{
		nil,
		[]byte("NTLMSSP\x00"),
		append([]byte("NTLMSSP\x00\x03\x00\x00\x00"), make([]byte, 10)...),
		append([]byte("NTLMSSP\x00\x02\x00\x00\x00"), bytes.Repeat([]byte{0xff}, 60)...),
		append([]byte("NTLMSSP\x00\x03\x00\x00\x00"), bytes.Repeat([]byte{0xff}, 80)...),
	} {
		if _, err := ParseAuthenticate(b); err == nil {
			t.Errorf("ParseAuthenticate(%x) accepted", b)
		}
		if _, err := ParseChallenge(b); err == nil {
			t.Errorf("ParseChallenge(%x) accepted", b)
		}
	}
	if _, err := ParseAVPairs([]byte{1, 0, 0xff, 0xff}); err == nil {
		t.Error("AV pair overrunning the list accepted")
	}
}

func FuzzParseAuthenticate(f *testing.F) {
	c := &Client{User: "alice", Password: "pw"}
	_, ch, _ := NewChallenge(serverCfg(), c.Negotiate())
	am, _, _ := c.Authenticate(ch)
	f.Add(am)
	f.Fuzz(func(t *testing.T, b []byte) {
		a, err := ParseAuthenticate(b)
		if err == nil && len(a.NTResponse) > 24 {
			parseBlob(a.NTResponse[16:])
		}
	})
}

func FuzzParseChallenge(f *testing.F) {
	_, ch, _ := NewChallenge(serverCfg(), (&Client{}).Negotiate())
	f.Add(ch)
	f.Fuzz(func(t *testing.T, b []byte) { ParseChallenge(b) })
}

func FuzzParseNegotiate(f *testing.F) {
	f.Add((&Client{}).Negotiate())
	f.Fuzz(func(t *testing.T, b []byte) { ParseNegotiate(b) })
}

func FuzzAVPairs(f *testing.F) {
	f.Add(AVPairs{{AvNbDomainName, toUTF16("D")}, {AvTimestamp, make([]byte, 8)}}.Marshal())
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := ParseAVPairs(b)
		if err != nil {
			return
		}
		q, err := ParseAVPairs(p.Marshal())
		if err != nil || len(q) != len(p) {
			t.Fatalf("re-encoding changed the list: %v", err)
		}
	})
}

// curl offers only OEM strings in NEGOTIATE and follows the server's
// choice: the challenge selects Unicode.
func TestOEMOnlyNegotiate(t *testing.T) {
	neg := (&Negotiate{Flags: FlagOEM | FlagNTLM | FlagExtendedSessionSecurity | FlagAlwaysSign}).Marshal()
	_, ch, err := NewChallenge(serverCfg(), neg)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := ParseChallenge(ch)
	if !c.Flags.Has(FlagUnicode) {
		t.Fatalf("challenge flags %#x lack Unicode", c.Flags)
	}
}

package gss

import (
	"bytes"
	"crypto/rand"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/warden-auth/warden/krb5"
	"github.com/warden-auth/warden/krb5/ccache"
	"github.com/warden-auth/warden/krb5/kcrypto"
	"github.com/warden-auth/warden/krb5/keytab"
)

const (
	testRealm = "TEST.WARDEN"
	testSPN   = "HTTP/web.test.warden"
)

var tNow = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

// kdcSim issues service tickets the way a KDC would, from a service key
// it shares with a keytab, so each acceptor check can be driven with
// precisely the ticket it is about.
type kdcSim struct {
	t    *testing.T
	key  *kcrypto.Key
	kvno uint32
	kt   *keytab.Keytab
}

func newKDCSim(t *testing.T) *kdcSim {
	k, err := kcrypto.RandomKey(krb5.ETypeAES256CTSHMACSHA196, rand.Reader, kcrypto.Options{})
	if err != nil {
		t.Fatal(err)
	}
	kt := &keytab.Keytab{}
	kt.Add(keytab.Entry{Principal: krb5.NewPrincipalName(krb5.NameTypeSrvInst, testSPN), Realm: testRealm, KVNO: 2, Key: k.EncryptionKey()})
	return &kdcSim{t: t, key: k, kvno: 2, kt: kt}
}

type tktOpt func(*krb5.EncTicketPart, *krb5.Ticket)

func (s *kdcSim) cred(opts ...tktOpt) *Credential {
	s.t.Helper()
	sess, _ := kcrypto.RandomKey(krb5.ETypeAES256CTSHMACSHA196, rand.Reader, kcrypto.Options{})
	cname := krb5.NewPrincipalName(krb5.NameTypePrincipal, "alice")
	etp := krb5.EncTicketPart{Key: sess.EncryptionKey(), CRealm: testRealm, CName: cname,
		AuthTime: tNow.Add(-time.Hour), EndTime: tNow.Add(9 * time.Hour), Flags: krb5.TktFlagPreAuthent}
	tkt := krb5.Ticket{TktVNO: 5, Realm: testRealm, SName: krb5.NewPrincipalName(krb5.NameTypeSrvInst, testSPN)}
	for _, o := range opts {
		o(&etp, &tkt)
	}
	pb, _ := etp.Marshal()
	ed, err := s.key.EncryptData(rand.Reader, kcrypto.UsageTicket, pb, s.kvno, true)
	if err != nil {
		s.t.Fatal(err)
	}
	if tkt.EncPart.Cipher == nil {
		tkt.EncPart = ed
	}
	return &Credential{Client: ccache.Principal{Realm: testRealm, Name: cname},
		Server: ccache.Principal{Realm: tkt.Realm, Name: tkt.SName}, Key: sess.EncryptionKey(), Ticket: tkt,
		AuthTime: etp.AuthTime, EndTime: etp.EndTime}
}

func (s *kdcSim) acceptor(mod ...func(*AcceptorConfig)) *Acceptor {
	s.t.Helper()
	cfg := AcceptorConfig{Keytab: s.kt, Time: func() time.Time { return tNow }}
	for _, m := range mod {
		m(&cfg)
	}
	a, err := NewAcceptor(cfg)
	if err != nil {
		s.t.Fatal(err)
	}
	return a
}

func initiatorAt(t *testing.T, c *Credential, at time.Time, cfg InitiatorConfig) (*Initiator, []byte) {
	t.Helper()
	cfg.Time = func() time.Time { return at }
	i, tok, err := NewInitiator(c, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return i, tok
}

func TestMutualAuthAndMessages(t *testing.T) {
	s := newKDCSim(t)
	a := s.acceptor()
	ini, tok := initiatorAt(t, s.cred(), tNow, InitiatorConfig{})
	actx, rep, err := a.AcceptKerberos(tok, AcceptOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if rep == nil || !actx.Mutual || !actx.Flags.Has(DefaultFlags) {
		t.Fatalf("mutual auth not done: rep=%d bytes, mutual=%v, flags=%#x", len(rep), actx.Mutual, actx.Flags)
	}
	if got := actx.ClientPrincipal(); got != "alice@"+testRealm {
		t.Fatalf("client = %q", got)
	}
	ictx, err := ini.Step(rep)
	if err != nil {
		t.Fatal(err)
	}
	if !ictx.Mutual || !bytes.Equal(ictx.SessionKey.Bytes(), actx.SessionKey.Bytes()) {
		t.Fatal("the two sides do not share the acceptor subkey")
	}
	for _, conf := range []bool{true, false} {
		w, err := ictx.Wrap([]byte("hello from the client"), conf)
		if err != nil {
			t.Fatal(err)
		}
		msg, gotConf, err := actx.Unwrap(w)
		if err != nil || string(msg) != "hello from the client" || gotConf != conf {
			t.Fatalf("acceptor unwrap: %q %v %v", msg, gotConf, err)
		}
		w, _ = actx.Wrap([]byte("hello from the server"), conf)
		if msg, _, err := ictx.Unwrap(w); err != nil || string(msg) != "hello from the server" {
			t.Fatalf("initiator unwrap: %q %v", msg, err)
		}
	}
	mic, _ := actx.MakeMIC([]byte("signed"))
	if err := ictx.VerifyMIC([]byte("signed"), mic); err != nil {
		t.Fatal(err)
	}
	if id := actx.Identity(); id.Principal() != "alice@"+testRealm || !id.Mutual {
		t.Fatalf("identity %+v", id)
	}
}

func TestNoMutual(t *testing.T) {
	s := newKDCSim(t)
	ini, tok := initiatorAt(t, s.cred(), tNow, InitiatorConfig{Flags: FlagInteg | FlagConf})
	if !ini.Established() {
		t.Fatal("without mutual auth the initiator is established at once")
	}
	actx, rep, err := s.acceptor().AcceptKerberos(tok, AcceptOptions{})
	if err != nil || rep != nil || actx.Mutual {
		t.Fatalf("rep=%v mutual=%v err=%v", rep, actx.Mutual, err)
	}
	w, _ := ini.Context().Wrap([]byte("x"), true)
	if _, _, err := actx.Unwrap(w); err != nil {
		t.Fatal(err)
	}
}

// TestAcceptorFailures checks that every refusal says why, with the GSS
// code, the Kerberos code sent back in a KRB-ERROR token, and a reason.
func TestAcceptorFailures(t *testing.T) {
	type tc struct {
		name       string
		token      func(s *kdcSim) []byte
		acceptor   func(*AcceptorConfig)
		opts       AcceptOptions
		wantCode   Code
		wantKRB    krb5.ErrorCode
		wantReason string
	}
	tok := func(c *Credential, at time.Time, cfg InitiatorConfig) []byte {
		cfg.Time = func() time.Time { return at }
		_, b, err := NewInitiator(c, cfg)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	tests := []tc{
		{name: "clock skew", token: func(s *kdcSim) []byte {
			return tok(s.cred(), tNow.Add(-(7*time.Minute + 3*time.Second)), InitiatorConfig{})
		},
			wantCode: ClockSkew, wantKRB: krb5.KRBAPErrSkew, wantReason: "clock skew 7m3s: the client's clock is 7m3s behind this server's (allowed 5m0s)"},
		{name: "wrong kvno", token: func(s *kdcSim) []byte {
			s.kvno = 3
			return tok(s.cred(), tNow, InitiatorConfig{})
		}, wantCode: KeyNotFound, wantKRB: krb5.KRBAPErrBadKeyVer,
			wantReason: "ticket for HTTP/web.test.warden@TEST.WARDEN was encrypted with kvno 3 but the keytab holds kvno 2 — re-export the keytab"},
		{name: "wrong service", token: func(s *kdcSim) []byte {
			return tok(s.cred(func(_ *krb5.EncTicketPart, t *krb5.Ticket) {
				t.SName = krb5.NewPrincipalName(krb5.NameTypeSrvInst, "HTTP/other.test.warden")
			}), tNow, InitiatorConfig{})
		}, wantCode: WrongService, wantKRB: krb5.KRBAPErrNotUs,
			wantReason: "wrong service: ticket is for HTTP/other.test.warden@TEST.WARDEN, keytab holds HTTP/web.test.warden@TEST.WARDEN"},
		{name: "configured principal", token: func(s *kdcSim) []byte { return tok(s.cred(), tNow, InitiatorConfig{}) },
			acceptor: func(c *AcceptorConfig) {
				c.Keytab.Add(keytab.Entry{Principal: krb5.NewPrincipalName(krb5.NameTypeSrvInst, "HTTP/b.test.warden"), Realm: testRealm, KVNO: 1, Key: c.Keytab.Entries[0].Key})
				c.Principal = "HTTP/b.test.warden"
			},
			wantCode: WrongService, wantKRB: krb5.KRBAPErrNotUs,
			wantReason: "wrong service: ticket is for HTTP/web.test.warden@TEST.WARDEN, this server is HTTP/b.test.warden"},
		{name: "expired ticket", token: func(s *kdcSim) []byte {
			c := s.cred(func(e *krb5.EncTicketPart, _ *krb5.Ticket) { e.EndTime = tNow.Add(-time.Hour) })
			c.EndTime = time.Time{} // a client with a wrong idea of the end time
			return tok(c, tNow, InitiatorConfig{})
		}, wantCode: CredentialsExpired, wantKRB: krb5.KRBAPErrTktExpired,
			wantReason: "the ticket of alice@TEST.WARDEN for HTTP/web.test.warden@TEST.WARDEN expired at 2026-11-23T11:00:00Z (1h0m0s ago)"},
		{name: "not yet valid", token: func(s *kdcSim) []byte {
			return tok(s.cred(func(e *krb5.EncTicketPart, _ *krb5.Ticket) { e.StartTime = tNow.Add(time.Hour) }), tNow, InitiatorConfig{})
		}, wantCode: DefectiveCredential, wantKRB: krb5.KRBAPErrTktNYV, wantReason: "is not yet valid (starts 2026-11-23T13:00:00Z)"},
		{name: "tampered authenticator", token: func(s *kdcSim) []byte {
			b := tok(s.cred(), tNow, InitiatorConfig{})
			b[len(b)-5] ^= 1 // inside the authenticator ciphertext, which ends the token
			return b
		}, wantCode: DefectiveToken, wantKRB: krb5.KRBAPErrBadIntegrity, wantReason: "the authenticator does not decrypt with the ticket's session key"},
		{name: "tampered ticket", token: func(s *kdcSim) []byte {
			c := s.cred()
			c.Ticket.EncPart.Cipher[10] ^= 1
			c.Ticket.Raw = nil
			return tok(c, tNow, InitiatorConfig{})
		}, wantCode: DefectiveCredential, wantKRB: krb5.KRBAPErrBadIntegrity, wantReason: "does not decrypt with the keytab's kvno 2"},
		{name: "channel bindings mismatch", token: func(s *kdcSim) []byte {
			return tok(s.cred(), tNow, InitiatorConfig{ChannelBindings: &ChannelBindings{ApplicationData: []byte("tls-server-end-point:A")}})
		}, opts: AcceptOptions{ChannelBindings: &ChannelBindings{ApplicationData: []byte("tls-server-end-point:B")}},
			wantCode: BadBindings, wantKRB: krb5.KRBAPErrModified, wantReason: "channel bindings do not match"},
		{name: "channel bindings required", token: func(s *kdcSim) []byte { return tok(s.cred(), tNow, InitiatorConfig{}) },
			opts:     AcceptOptions{ChannelBindings: &ChannelBindings{ApplicationData: []byte("x")}, RequireChannelBindings: true},
			wantCode: BadBindings, wantKRB: krb5.KRBAPErrModified, wantReason: "channel bindings are required but the client sent none"},
		{name: "PAC required", token: func(s *kdcSim) []byte { return tok(s.cred(), tNow, InitiatorConfig{}) },
			acceptor: func(c *AcceptorConfig) { c.RequirePAC = true },
			wantCode: DefectiveCredential, wantKRB: krb5.KRBAPErrModified, wantReason: "has no PAC, and this server requires one"},
		{name: "not an AP-REQ", token: func(s *kdcSim) []byte { return krb5.WrapKRB5Token(krb5.TokIDAPRep, []byte{0x30, 0}) },
			wantCode: DefectiveToken, wantKRB: krb5.KRBAPErrMsgType, wantReason: "not a Kerberos AP-REQ"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newKDCSim(t)
			token := tt.token(s)
			var mods []func(*AcceptorConfig)
			if tt.acceptor != nil {
				mods = append(mods, tt.acceptor)
			}
			_, out, err := s.acceptor(mods...).AcceptKerberos(token, tt.opts)
			var ge *Error
			if !errors.As(err, &ge) || ge.Code != tt.wantCode || !strings.Contains(ge.Reason, tt.wantReason) {
				t.Fatalf("err = %v; want %v containing %q", err, tt.wantCode, tt.wantReason)
			}
			if out == nil {
				t.Fatal("no KRB-ERROR token for the client")
			}
			msg, err := krb5.UnwrapKRB5Token(out, krb5.TokIDKRBError, 0)
			if err != nil {
				t.Fatal(err)
			}
			var ke krb5.KRBError
			if err := ke.Unmarshal(msg); err != nil || ke.ErrorCode != tt.wantKRB || ke.EText != ge.Reason {
				t.Fatalf("KRB-ERROR %v %q (%v); want %v %q", ke.ErrorCode, ke.EText, err, tt.wantKRB, ge.Reason)
			}
		})
	}
}

func TestReplay(t *testing.T) {
	s := newKDCSim(t)
	a := s.acceptor()
	c := s.cred()
	_, tok := initiatorAt(t, c, tNow, InitiatorConfig{})
	if _, _, err := a.AcceptKerberos(tok, AcceptOptions{}); err != nil {
		t.Fatal(err)
	}
	_, _, err := a.AcceptKerberos(tok, AcceptOptions{})
	if CodeOf(err) != Replay || !strings.Contains(err.Error(), "request is a replay") {
		t.Fatalf("replayed token: %v", err)
	}
	if ge := (*Error)(nil); !errors.As(err, &ge) || ge.Principal != "alice@"+testRealm {
		t.Fatalf("the refusal does not name the client for the log: %+v", ge)
	}
	// A second, legitimately made token in the same microsecond from the
	// same client is not a replay.
	_, tok2 := initiatorAt(t, c, tNow, InitiatorConfig{})
	if _, _, err := a.AcceptKerberos(tok2, AcceptOptions{}); err != nil {
		t.Fatalf("fresh authenticator at the same time refused: %v", err)
	}
}

func TestReplayCacheExpiresAndBounds(t *testing.T) {
	r := NewReplayCache(10*time.Minute, 3)
	for i := range 4 {
		if _, replay := r.check([]byte{byte(i)}, tNow); replay {
			t.Fatal("fresh entry reported as replay")
		}
	}
	if r.Len() != 3 {
		t.Fatalf("len %d, want the bound 3", r.Len())
	}
	if _, replay := r.check([]byte{3}, tNow.Add(time.Minute)); !replay {
		t.Fatal("replay within the window not caught")
	}
	if _, replay := r.check([]byte{3}, tNow.Add(11*time.Minute)); replay {
		t.Fatal("entry outlived its window")
	}
}

func TestMissingMutualToken(t *testing.T) {
	s := newKDCSim(t)
	si, _, err := NewSPNEGOInitiator(s.cred(), InitiatorConfig{Time: func() time.Time { return tNow }})
	if err != nil {
		t.Fatal(err)
	}
	// An impostor that does not hold the key just says "completed".
	fake, _ := (&NegTokenResp{NegState: AcceptCompleted, SupportedMech: []byte(krb5.OIDKRB5)}).Marshal()
	_, _, err = si.Step(fake)
	if CodeOf(err) != MutualFailed || !strings.Contains(err.Error(), "missing mutual token") {
		t.Fatalf("err = %v", err)
	}
	// And an AP-REP made with another key is refused too.
	other := newKDCSim(t)
	ini, _ := initiatorAt(t, s.cred(), tNow, InitiatorConfig{})
	_, tok2 := initiatorAt(t, other.cred(), tNow, InitiatorConfig{})
	_, rep, err := other.acceptor().AcceptKerberos(tok2, AcceptOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ini.Step(rep); CodeOf(err) != MutualFailed {
		t.Fatalf("foreign AP-REP: %v", err)
	}
}

func TestSPNEGOKerberosFirst(t *testing.T) {
	s := newKDCSim(t)
	si, tok, err := NewSPNEGOInitiator(s.cred(), InitiatorConfig{Time: func() time.Time { return tNow }})
	if err != nil {
		t.Fatal(err)
	}
	sa := s.acceptor().NewSPNEGO(AcceptOptions{})
	out, done, err := sa.Step(tok)
	if err != nil || !done || !sa.Kerberos() {
		t.Fatalf("acceptor: done=%v err=%v", done, err)
	}
	resp, err := ParseNegTokenResp(out, 0)
	if err != nil || resp.NegState != AcceptCompleted || !bytes.Equal(resp.SupportedMech, []byte(krb5.OIDKRB5)) || resp.ResponseToken == nil {
		t.Fatalf("reply %+v %v", resp, err)
	}
	if back, done, err := si.Step(out); err != nil || !done || back != nil {
		t.Fatalf("initiator: %v %v %v", back, done, err)
	}
	if !si.Context().Mutual || sa.Context().Identity().User != "alice" {
		t.Fatal("contexts disagree")
	}
}

// TestSPNEGOMSOIDEchoed checks MS-SPNG 3.2.5: a client listing the
// Microsoft Kerberos OID first gets that OID back.
func TestSPNEGOMSOIDEchoed(t *testing.T) {
	s := newKDCSim(t)
	_, krbTok := initiatorAt(t, s.cred(), tNow, InitiatorConfig{})
	init, _ := (&NegTokenInit{MechTypes: [][]byte{[]byte(krb5.OIDMSKRB5), []byte(krb5.OIDKRB5)}, MechToken: krbTok}).Marshal()
	out, done, err := s.acceptor().NewSPNEGO(AcceptOptions{}).Step(init)
	if err != nil || !done {
		t.Fatal(err)
	}
	resp, _ := ParseNegTokenResp(out, 0)
	if !bytes.Equal(resp.SupportedMech, []byte(krb5.OIDMSKRB5)) {
		t.Fatalf("supportedMech %x", resp.SupportedMech)
	}
}

// TestSPNEGOKerberosNotFirst drives the downgrade-protection path: the
// client preferred NTLM, the server picks Kerberos, and both sides must
// exchange and verify mechListMICs.
func TestSPNEGOKerberosNotFirst(t *testing.T) {
	s := newKDCSim(t)
	ini, krbTok := initiatorAt(t, s.cred(), tNow, InitiatorConfig{})
	mechs := [][]byte{[]byte(krb5.OIDNTLMSSP), []byte(krb5.OIDKRB5)}
	raw, _ := EncodeMechTypeList(mechs)
	init, _ := (&NegTokenInit{MechTypes: mechs, MechToken: []byte("NTLMSSP\x00...")}).Marshal()
	sa := s.acceptor().NewSPNEGO(AcceptOptions{})
	out, done, err := sa.Step(init)
	if err != nil || done {
		t.Fatalf("first leg: done=%v err=%v", done, err)
	}
	resp, _ := ParseNegTokenResp(out, 0)
	if resp.NegState != AcceptIncomplete || !bytes.Equal(resp.SupportedMech, []byte(krb5.OIDKRB5)) {
		t.Fatalf("first reply %+v", resp)
	}
	leg2, _ := (&NegTokenResp{ResponseToken: krbTok}).Marshal()
	out, done, err = sa.Step(leg2)
	if err != nil || done {
		t.Fatalf("second leg: done=%v err=%v", done, err)
	}
	resp, _ = ParseNegTokenResp(out, 0)
	if resp.NegState != AcceptIncomplete || resp.MechListMIC == nil {
		t.Fatalf("second reply must carry the acceptor MIC and wait for the client's: %+v", resp)
	}
	ictx, err := ini.Step(resp.ResponseToken)
	if err != nil {
		t.Fatal(err)
	}
	if err := ictx.VerifyMIC(raw, resp.MechListMIC); err != nil {
		t.Fatal(err)
	}
	// A client MIC over another list (an attacker stripped Kerberos from
	// the list the server saw) is refused.
	mic, _ := ictx.MakeMIC(raw)
	badRaw, _ := EncodeMechTypeList(mechs[:1])
	badMIC, _ := ictx.MakeMIC(badRaw)
	bad, _ := (&NegTokenResp{MechListMIC: badMIC}).Marshal()
	sa2 := *sa
	if _, _, err := sa2.Step(bad); err == nil || !strings.Contains(err.Error(), "mechListMIC does not verify") {
		t.Fatalf("bad MIC: %v", err)
	}
	leg3, _ := (&NegTokenResp{MechListMIC: mic}).Marshal()
	if _, done, err := sa.Step(leg3); err != nil || !done {
		t.Fatalf("third leg: done=%v err=%v", done, err)
	}
}

func TestSPNEGONoCommonMech(t *testing.T) {
	s := newKDCSim(t)
	init, _ := (&NegTokenInit{MechTypes: [][]byte{[]byte(krb5.OIDNTLMSSP)}, MechToken: []byte("x")}).Marshal()
	out, _, err := s.acceptor().NewSPNEGO(AcceptOptions{}).Step(init)
	if CodeOf(err) != BadMech || !strings.Contains(err.Error(), "the client offered ntlmssp") {
		t.Fatalf("err = %v", err)
	}
	if resp, _ := ParseNegTokenResp(out, 0); resp == nil || resp.NegState != Reject {
		t.Fatal("no reject token")
	}
}

func TestInitiatorExpiredCredential(t *testing.T) {
	s := newKDCSim(t)
	c := s.cred()
	_, _, err := NewInitiator(c, InitiatorConfig{Time: func() time.Time { return c.EndTime.Add(time.Second) }})
	if CodeOf(err) != CredentialsExpired {
		t.Fatalf("err = %v", err)
	}
}

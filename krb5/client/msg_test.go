package client

import (
	"bytes"
	"crypto/rand"
	"strings"
	"testing"
	"time"

	"github.com/warden-auth/warden/krb5"
	"github.com/warden-auth/warden/krb5/ccache"
	"github.com/warden-auth/warden/krb5/kcrypto"
)

func mustClient(t *testing.T, cfg Config) *Client {
	t.Helper()
	if cfg.Realm == "" {
		cfg.Realm = testRealm
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestNewASReq(t *testing.T) {
	now := time.Date(2026, 3, 4, 5, 6, 7, 890123456, time.UTC)
	tests := []struct {
		name      string
		cfg       Config
		opts      ASOptions
		flags     krb5.Flags
		life      time.Duration
		renew     time.Duration // 0: no rtime
		sname     string
		etypes    []krb5.EncType
		notFlags  krb5.Flags
		wantRealm string
	}{
		{name: "defaults", life: 24 * time.Hour, sname: "krbtgt/TEST.REALM", etypes: DefaultETypes, notFlags: krb5.KDCOptRenewable | krb5.KDCOptForwardable | krb5.KDCOptCanonicalize},
		{name: "options", opts: ASOptions{Lifetime: time.Hour, RenewLifetime: 7 * 24 * time.Hour, Forwardable: true, Proxiable: true, Canonicalize: true},
			flags: krb5.KDCOptForwardable | krb5.KDCOptProxiable | krb5.KDCOptRenewable | krb5.KDCOptCanonicalize,
			life:  time.Hour, renew: 7 * 24 * time.Hour, sname: "krbtgt/TEST.REALM", etypes: DefaultETypes},
		{name: "config defaults", cfg: Config{TicketLifetime: 10 * time.Hour, RenewLifetime: time.Hour, Forwardable: true, ETypes: []krb5.EncType{20, 23, 17}},
			flags: krb5.KDCOptForwardable | krb5.KDCOptRenewable, life: 10 * time.Hour, renew: time.Hour, sname: "krbtgt/TEST.REALM",
			etypes: []krb5.EncType{20, 17}}, // rc4 dropped: not allowed
		{name: "rc4 allowed", cfg: Config{ETypes: []krb5.EncType{23}, Options: kcrypto.Options{AllowRC4: true}}, life: 24 * time.Hour,
			sname: "krbtgt/TEST.REALM", etypes: []krb5.EncType{23}},
		{name: "service ticket", opts: ASOptions{Service: krb5.NewPrincipalName(krb5.NameTypeSrvInst, "kadmin/changepw"), Realm: "OTHER"},
			life: 24 * time.Hour, sname: "kadmin/changepw", etypes: DefaultETypes, wantRealm: "OTHER"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := mustClient(t, tc.cfg)
			realm := tc.opts.Realm
			if realm == "" {
				realm = testRealm
			}
			req := c.newASReq(alice, realm, c.etypes, tc.opts, now, 0x1234)
			b, _ := req.Marshal()
			var got krb5.KDCReq
			if err := got.Unmarshal(b); err != nil {
				t.Fatal(err)
			}
			body := got.ReqBody
			if got.MsgType != krb5.MsgASReq || body.Nonce != 0x1234 || body.CName == nil || body.CName.String() != testUser {
				t.Errorf("header: %v nonce %#x cname %v", got.MsgType, body.Nonce, body.CName)
			}
			if !body.KDCOptions.Has(tc.flags) || body.KDCOptions&tc.notFlags != 0 {
				t.Errorf("options %#x, want %#x without %#x", body.KDCOptions, tc.flags, tc.notFlags)
			}
			if want := now.Add(tc.life).Truncate(time.Second); !body.Till.Equal(want) {
				t.Errorf("till %v, want %v", body.Till, want)
			}
			if tc.renew == 0 && !body.RTime.IsZero() || tc.renew != 0 && !body.RTime.Equal(now.Add(tc.renew).Truncate(time.Second)) {
				t.Errorf("rtime %v, want now+%v", body.RTime, tc.renew)
			}
			if body.SName.String() != tc.sname || body.Realm != realm {
				t.Errorf("sname %v realm %s", body.SName, body.Realm)
			}
			if len(body.EType) != len(tc.etypes) {
				t.Fatalf("etypes %v, want %v", body.EType, tc.etypes)
			}
			for i := range body.EType {
				if body.EType[i] != tc.etypes[i] {
					t.Errorf("etypes %v, want %v", body.EType, tc.etypes)
				}
			}
			pa, ok := got.PAData.Find(krb5.PAPACRequest)
			var pr krb5.PACRequest
			if !ok || pr.Unmarshal(pa.Value) != nil || !pr.IncludePAC || len(got.PAData) != 1 {
				t.Errorf("padata %+v", got.PAData)
			}
		})
	}
}

func TestEncTimestamp(t *testing.T) {
	k, _ := kcrypto.StringToKey(krb5.ETypeAES128CTSHMACSHA256, "pw", "SALT", nil, kcrypto.Options{})
	now := time.Date(2026, 1, 2, 3, 4, 5, 678901234, time.UTC)
	pa, err := encTimestamp(k, now, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	var ed krb5.EncryptedData
	if pa.Type != krb5.PAEncTimestamp || ed.Unmarshal(pa.Value) != nil || ed.HasKVNO {
		t.Fatalf("padata %+v", pa)
	}
	if _, err := k.DecryptData(kcrypto.UsageASRepEncPart, ed); err == nil {
		t.Error("timestamp decrypts with usage 3; must be usage 1 only")
	}
	plain, err := k.DecryptData(kcrypto.UsageASReqPAEncTimestamp, ed)
	if err != nil {
		t.Fatal(err)
	}
	var ts krb5.PAEncTSEnc
	if err := ts.Unmarshal(plain); err != nil || !ts.HasUSec || ts.PAUSec != 678901 || !ts.Time().Equal(now.Truncate(time.Microsecond)) {
		t.Errorf("timestamp %+v %v", ts, err)
	}
}

func TestNewTGSReq(t *testing.T) {
	now := time.Date(2026, 3, 4, 5, 6, 7, 123456000, time.UTC)
	for _, et := range []krb5.EncType{17, 18, 19, 20} {
		for _, withSubkey := range []bool{false, true} {
			c := mustClient(t, Config{})
			sess, _ := kcrypto.RandomKey(et, rand.Reader, kcrypto.Options{})
			tgt := &Credentials{
				Client: ccache.Principal{Realm: testRealm, Name: alice},
				Server: ccache.Principal{Realm: testRealm, Name: TGTName(testRealm)},
				Key:    sess.EncryptionKey(),
				Ticket: krb5.Ticket{TktVNO: 5, Realm: testRealm, SName: TGTName(testRealm), EncPart: krb5.EncryptedData{EType: 18, Cipher: []byte("opaque")}},
			}
			tgtBytes, _ := tgt.Ticket.Marshal()
			tgt.Ticket.Raw = tgtBytes
			req, _, subkey, err := c.newTGSReq(tgt, testRealm, svcName(), krb5.KDCOptForwardable, now.Add(time.Hour), time.Time{}, 77, now, withSubkey)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := req.Marshal()
			var got krb5.KDCReq
			if err := got.Unmarshal(b); err != nil {
				t.Fatal(err)
			}
			pa, ok := got.PAData.Find(krb5.PATGSReq)
			var ap krb5.APReq
			if !ok || ap.Unmarshal(pa.Value) != nil {
				t.Fatalf("%v: no AP-REQ in PA-TGS-REQ", et)
			}
			if !bytes.Equal(ap.Ticket.Raw, tgtBytes) {
				t.Errorf("%v: the TGT is not forwarded byte for byte", et)
			}
			plain, err := sess.DecryptData(kcrypto.UsageTGSReqAuthenticator, ap.Authenticator)
			if err != nil {
				t.Fatalf("%v: authenticator (usage 7): %v", et, err)
			}
			var auth krb5.Authenticator
			if err := auth.Unmarshal(plain); err != nil {
				t.Fatal(err)
			}
			// The checksum must verify over the body exactly as the KDC
			// receives it.
			if auth.Cksum == nil {
				t.Fatal("no checksum in the authenticator")
			}
			if err := sess.VerifyChecksum(kcrypto.UsageTGSReqAuthCksum, got.ReqBody.Raw, *auth.Cksum); err != nil {
				t.Errorf("%v: body checksum (usage 6): %v", et, err)
			}
			want, _ := kcrypto.ChecksumTypeFor(et)
			if auth.Cksum.CksumType != want {
				t.Errorf("%v: checksum type %v, want %v", et, auth.Cksum.CksumType, want)
			}
			if auth.CUSec != 123456 || !auth.CTime.Equal(now.Truncate(time.Second)) || auth.CName.String() != testUser || auth.CRealm != testRealm {
				t.Errorf("authenticator %+v", auth)
			}
			if (auth.Subkey != nil) != withSubkey || (subkey != nil) != withSubkey {
				t.Errorf("subkey in authenticator %v / returned %v, want %v", auth.Subkey != nil, subkey != nil, withSubkey)
			}
			if withSubkey && (auth.Subkey.KeyType != et || !bytes.Equal(auth.Subkey.KeyValue, subkey.Bytes())) {
				t.Errorf("subkey %v does not match", auth.Subkey.KeyType)
			}
			body := got.ReqBody
			if body.CName != nil || body.Nonce != 77 || body.Realm != testRealm || body.SName.String() != testService || !body.RTime.IsZero() {
				t.Errorf("body %+v", body)
			}
		}
	}
}

func TestChooseS2K(t *testing.T) {
	info := func(es ...krb5.ETypeInfo2Entry) krb5.PAData { return krb5.ETypeInfo2(es).PAData() }
	legacy := func(es ...krb5.ETypeInfoEntry) krb5.PAData {
		i := krb5.ETypeInfo(es)
		b, _ := i.Marshal()
		return krb5.PAData{Type: krb5.PAETypeInfo, Value: b}
	}
	offered := []krb5.EncType{18, 17}
	tests := []struct {
		name    string
		md      krb5.MethodData
		want    s2kInput
		wantErr krb5.ErrorCode
	}{
		{"etype-info2 first offered", krb5.MethodData{info(
			krb5.ETypeInfo2Entry{EType: 20, Salt: "x", HasSalt: true},
			krb5.ETypeInfo2Entry{EType: 17, Salt: "S17", HasSalt: true, S2KParams: []byte{0, 0, 0x20, 0}},
			krb5.ETypeInfo2Entry{EType: 18, Salt: "S18", HasSalt: true})},
			s2kInput{etype: 17, salt: "S17", params: []byte{0, 0, 0x20, 0}}, 0},
		{"etype-info2 without salt", krb5.MethodData{info(krb5.ETypeInfo2Entry{EType: 18})},
			s2kInput{etype: 18, salt: "TEST.REALMalice"}, 0},
		{"etype-info2 empty salt", krb5.MethodData{info(krb5.ETypeInfo2Entry{EType: 18, HasSalt: true})},
			s2kInput{etype: 18, salt: ""}, 0},
		{"etype-info2 nothing in common", krb5.MethodData{info(krb5.ETypeInfo2Entry{EType: 23})}, s2kInput{}, krb5.KDCErrETypeNoSupp},
		{"legacy etype-info", krb5.MethodData{legacy(krb5.ETypeInfoEntry{EType: 17, Salt: []byte("OLD")})},
			s2kInput{etype: 17, salt: "OLD"}, 0},
		{"legacy etype-info no salt", krb5.MethodData{legacy(krb5.ETypeInfoEntry{EType: 18})},
			s2kInput{etype: 18, salt: "TEST.REALMalice"}, 0},
		{"legacy nothing in common", krb5.MethodData{legacy(krb5.ETypeInfoEntry{EType: 3})}, s2kInput{}, krb5.KDCErrETypeNoSupp},
		{"pw-salt", krb5.MethodData{{Type: krb5.PAPwSalt, Value: []byte("PW")}}, s2kInput{etype: 18, salt: "PW"}, 0},
		{"nothing: default salt", krb5.MethodData{{Type: krb5.PAEncTimestamp}}, s2kInput{etype: 18, salt: "TEST.REALMalice"}, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := chooseS2K(tc.md, offered, alice, testRealm)
			if tc.wantErr != 0 {
				if krb5.CodeOf(err) != tc.wantErr {
					t.Errorf("got %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil || !got.same(tc.want) {
				t.Errorf("got %+v %v, want %+v", got, err, tc.want)
			}
		})
	}
	if _, err := chooseS2K(krb5.MethodData{{Type: krb5.PAETypeInfo2, Value: []byte{1, 2}}}, offered, alice, testRealm); err == nil {
		t.Error("garbage ETYPE-INFO2 accepted")
	}
}

func TestCheckReplyPure(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	base := func() (*krb5.KDCReq, *krb5.KDCRep, *krb5.EncKDCRepPart) {
		sn := TGTName(testRealm)
		cn := alice
		req := &krb5.KDCReq{MsgType: krb5.MsgASReq, ReqBody: krb5.KDCReqBody{CName: &cn, Realm: testRealm, SName: &sn,
			Till: now.Add(10 * time.Hour), Nonce: 42, EType: []krb5.EncType{18, 17}}}
		rep := &krb5.KDCRep{MsgType: krb5.MsgASRep, CRealm: testRealm, CName: alice,
			Ticket: krb5.Ticket{TktVNO: 5, Realm: testRealm, SName: sn}}
		part := &krb5.EncKDCRepPart{Key: krb5.EncryptionKey{KeyType: 18}, Nonce: 42, AuthTime: now, EndTime: now.Add(10 * time.Hour),
			SRealm: testRealm, SName: sn}
		return req, rep, part
	}
	x := expectation{cname: alice, crealm: testRealm, sname: TGTName(testRealm), srealm: testRealm, asReq: true, now: now, skew: 5 * time.Minute}
	tests := []struct {
		name  string
		mod   func(*krb5.KDCReq, *krb5.KDCRep, *krb5.EncKDCRepPart, *expectation)
		code  krb5.ErrorCode
		field string
	}{
		{"ok", func(*krb5.KDCReq, *krb5.KDCRep, *krb5.EncKDCRepPart, *expectation) {}, 0, ""},
		{"nonce", func(_ *krb5.KDCReq, _ *krb5.KDCRep, p *krb5.EncKDCRepPart, _ *expectation) { p.Nonce = 43 }, krb5.KRBAPErrModified, "nonce"},
		{"client realm", func(_ *krb5.KDCReq, r *krb5.KDCRep, _ *krb5.EncKDCRepPart, _ *expectation) { r.CRealm = "X" }, krb5.KRBAPErrModified, "client"},
		{"client changed in TGS even when canonicalizing", func(_ *krb5.KDCReq, r *krb5.KDCRep, _ *krb5.EncKDCRepPart, x *expectation) {
			x.asReq, x.canonicalize = false, true
			r.CName = krb5.NewPrincipalName(1, "bob")
		}, krb5.KRBAPErrModified, "client"},
		{"server realm", func(_ *krb5.KDCReq, r *krb5.KDCRep, p *krb5.EncKDCRepPart, _ *expectation) {
			p.SRealm, r.Ticket.Realm = "X", "X"
		}, krb5.KRBAPErrModified, "server"},
		{"server canonicalized", func(_ *krb5.KDCReq, r *krb5.KDCRep, p *krb5.EncKDCRepPart, x *expectation) {
			x.canonicalize = true
			p.SName = krb5.NewPrincipalName(2, "krbtgt/test.realm")
			r.Ticket.SName = p.SName
		}, 0, ""},
		{"ticket realm", func(_ *krb5.KDCReq, r *krb5.KDCRep, _ *krb5.EncKDCRepPart, _ *expectation) { r.Ticket.Realm = "X" }, krb5.KRBAPErrModified, "ticket server"},
		{"session enctype", func(_ *krb5.KDCReq, _ *krb5.KDCRep, p *krb5.EncKDCRepPart, _ *expectation) { p.Key.KeyType = 20 }, krb5.KRBAPErrModified, "session key enctype"},
		{"endtime", func(_ *krb5.KDCReq, _ *krb5.KDCRep, p *krb5.EncKDCRepPart, _ *expectation) {
			p.EndTime = p.EndTime.Add(time.Second)
		}, krb5.KRBAPErrModified, "endtime"},
		{"renew-till", func(q *krb5.KDCReq, _ *krb5.KDCRep, p *krb5.EncKDCRepPart, _ *expectation) {
			q.ReqBody.KDCOptions |= krb5.KDCOptRenewable
			q.ReqBody.RTime = now.Add(time.Hour)
			p.RenewTill = now.Add(2 * time.Hour)
		}, krb5.KRBAPErrModified, "renew-till"},
		{"renew-till not asked is fine", func(_ *krb5.KDCReq, _ *krb5.KDCRep, p *krb5.EncKDCRepPart, _ *expectation) {
			p.RenewTill = now.Add(2 * time.Hour)
		}, 0, ""},
		{"starttime within skew", func(_ *krb5.KDCReq, _ *krb5.KDCRep, p *krb5.EncKDCRepPart, _ *expectation) {
			p.StartTime = now.Add(4 * time.Minute)
		}, 0, ""},
		{"starttime beyond skew", func(_ *krb5.KDCReq, _ *krb5.KDCRep, p *krb5.EncKDCRepPart, _ *expectation) {
			p.StartTime = now.Add(6 * time.Minute)
		}, krb5.KRBAPErrSkew, ""},
		{"authtime beyond skew without starttime", func(_ *krb5.KDCReq, _ *krb5.KDCRep, p *krb5.EncKDCRepPart, _ *expectation) {
			p.AuthTime = now.Add(-time.Hour)
		}, krb5.KRBAPErrSkew, ""},
		{"postdated request skips the skew check", func(q *krb5.KDCReq, _ *krb5.KDCRep, p *krb5.EncKDCRepPart, _ *expectation) {
			q.ReqBody.From = now.Add(time.Hour)
			p.StartTime = now.Add(time.Hour)
		}, 0, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, rep, part := base()
			xx := x
			tc.mod(req, rep, part, &xx)
			err := checkReply(req, rep, part, xx)
			if krb5.CodeOf(err) != tc.code && !(tc.code == 0 && err == nil) {
				t.Fatalf("got %v, want %v", err, tc.code)
			}
			if tc.field != "" && !strings.Contains(err.Error(), "reply "+tc.field+" is") {
				t.Errorf("error %q does not name %s", err, tc.field)
			}
		})
	}
}

func TestKDCErrorHints(t *testing.T) {
	stime := time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC)
	ec := errContext{client: "alice@R", service: "host/x@R", realm: "R", offered: []krb5.EncType{18}, now: stime.Add(7 * time.Minute)}
	tests := []struct {
		code krb5.ErrorCode
		ec   errContext
		hint string
	}{
		{krb5.KRBAPErrSkew, ec, "sync the clock (NTP); the KDC's time is 2026-05-06T07:08:09Z, this host's is 2026-05-06T07:15:09Z (7m0s ahead)"},
		{krb5.KDCErrCPrincipalUnknown, ec, "check the user name and realm: the KDC of R does not know alice@R"},
		{krb5.KDCErrSPrincipalUnknown, ec, "host/x@R is not registered"},
		{krb5.KDCErrPreauthFailed, ec, "password incorrect"},
		{krb5.KDCErrPreauthFailed, errContext{client: "alice@R", keytab: true}, "keytab's key for alice@R"},
		{krb5.KDCErrETypeNoSupp, ec, "offered aes256-cts-hmac-sha1-96 (18)"},
		{krb5.KDCErrClientRevoked, ec, "disabled or locked"},
		{krb5.KDCErrKeyExpired, ec, "password has expired"},
		{krb5.KRBAPErrTktExpired, ec, "run kinit again"},
		{krb5.KDCErrWrongRealm, ec, "[realms]"},
		{krb5.KDCErrBadOption, ec, "renewable"},
		{krb5.KRBErrGeneric, ec, ""},
	}
	for _, tc := range tests {
		ke := &krb5.KRBError{ErrorCode: tc.code, STime: stime, EText: " the KDC says \n", HasEText: true}
		e := kdcError(ke, tc.ec)
		if e.Code != tc.code || e.Reason != "the KDC says" {
			t.Errorf("%v: %+v", tc.code, e)
		}
		if tc.hint == "" && e.Hint != "" || !strings.Contains(e.Hint, tc.hint) {
			t.Errorf("%v: hint %q, want it to contain %q", tc.code, e.Hint, tc.hint)
		}
	}
}

func TestParsePrincipal(t *testing.T) {
	tests := []struct {
		in, def    string
		comps      []string
		realm      string
		nt         krb5.NameType
		wantErrSub string
	}{
		{in: "alice", def: "R", comps: []string{"alice"}, realm: "R", nt: krb5.NameTypePrincipal},
		{in: "alice@EXAMPLE.COM", def: "R", comps: []string{"alice"}, realm: "EXAMPLE.COM", nt: krb5.NameTypePrincipal},
		{in: "host/web.example.com@EXAMPLE.COM", comps: []string{"host", "web.example.com"}, realm: "EXAMPLE.COM", nt: krb5.NameTypePrincipal},
		{in: "krbtgt/R@R", comps: []string{"krbtgt", "R"}, realm: "R", nt: krb5.NameTypeSrvInst},
		{in: `a\/b\@c@R`, comps: []string{"a/b@c"}, realm: "R", nt: krb5.NameTypePrincipal},
		{in: `a\nb\\c@R`, comps: []string{"a\nb\\c"}, realm: "R", nt: krb5.NameTypePrincipal},
		{in: "alice", wantErrSub: "no default realm"},
		{in: "alice@", def: "R", wantErrSub: "empty realm"},
		{in: "a@b@c", wantErrSub: "more than one"},
		{in: "/x@R", wantErrSub: "empty component"},
		{in: "", def: "R", wantErrSub: "empty component"},
		{in: `x\`, def: "R", wantErrSub: "backslash"},
	}
	for _, tc := range tests {
		name, realm, err := ParsePrincipal(tc.in, tc.def)
		if tc.wantErrSub != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErrSub) {
				t.Errorf("%q: got %v, want error containing %q", tc.in, err, tc.wantErrSub)
			}
			continue
		}
		if err != nil || realm != tc.realm || name.NameType != tc.nt || strings.Join(name.NameString, "|") != strings.Join(tc.comps, "|") {
			t.Errorf("%q: got %v %q %v, want %q %q", tc.in, name, realm, err, tc.comps, tc.realm)
		}
	}
}

func TestCredentialsCCacheRoundTrip(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tkt := krb5.Ticket{TktVNO: 5, Realm: testRealm, SName: svcName(), EncPart: krb5.EncryptedData{EType: 18, KVNO: 3, HasKVNO: true, Cipher: []byte("c")}}
	raw, _ := tkt.Marshal()
	tkt.Raw = raw
	cr := &Credentials{
		Client: ccache.Principal{Realm: testRealm, Name: alice}, Server: ccache.Principal{Realm: testRealm, Name: svcName()},
		Key: krb5.EncryptionKey{KeyType: 18, KeyValue: bytes.Repeat([]byte{7}, 32)}, AuthTime: now, StartTime: now.Add(time.Minute),
		EndTime: now.Add(time.Hour), RenewTill: now.Add(2 * time.Hour), Flags: krb5.TktFlagForwardable | krb5.TktFlagRenewable,
		Addresses: krb5.HostAddresses{{AddrType: krb5.AddrIPv4, Address: []byte{127, 0, 0, 1}}}, Ticket: tkt,
	}
	cc := cr.CCache()
	if !bytes.Equal(cc.Ticket, raw) || cc.TicketFlags != cr.Flags || !cc.StartTime.Equal(cr.StartTime) || cc.IsSKey {
		t.Errorf("to ccache: %+v", cc)
	}
	// Through the file format and back.
	cache := &ccache.Cache{Version: 0x0504, DefaultPrincipal: cr.Client, Credentials: []ccache.Credential{cc}}
	b, err := cache.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := ccache.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	back, err := FromCCache(parsed.Credentials[0])
	if err != nil {
		t.Fatal(err)
	}
	if back.Client.String() != cr.Client.String() || back.Server.String() != cr.Server.String() || !bytes.Equal(back.Key.KeyValue, cr.Key.KeyValue) ||
		!back.EndTime.Equal(cr.EndTime) || !back.RenewTill.Equal(cr.RenewTill) || back.Flags != cr.Flags || back.Ticket.EncPart.KVNO != 3 ||
		!bytes.Equal(back.Ticket.Raw, raw) || len(back.Addresses) != 1 {
		t.Errorf("round trip: %+v", back)
	}
	if back.IsTGT() || back.Expired(now.Add(30*time.Minute)) || !back.Expired(now.Add(time.Hour)) || !back.Renewable(now) {
		t.Error("IsTGT/Expired/Renewable")
	}
	cc.StartTime = time.Time{}
	if back, _ := FromCCache(cc); !back.StartTime.Equal(now) {
		t.Errorf("absent starttime should default to authtime: %v", back.StartTime)
	}
	if _, err := FromCCache(ccache.Credential{Server: ccache.Principal{Realm: ccache.ConfigRealm}}); err == nil {
		t.Error("config entry accepted as a ticket")
	}
	if _, err := FromCCache(ccache.Credential{Ticket: []byte{1, 2, 3}}); err == nil {
		t.Error("garbage ticket accepted")
	}
}

func TestNewConfigChecks(t *testing.T) {
	if _, err := New(Config{ETypes: []krb5.EncType{1, 3, 23}}); krb5.CodeOf(err) != krb5.KDCErrETypeNoSupp {
		t.Errorf("only DES/RC4: %v", err)
	}
	if _, err := New(Config{KDCs: map[string][]string{"R": {"host:notaport"}}}); err == nil {
		t.Error("bad KDC address accepted")
	}
	c, err := New(Config{KDCs: map[string][]string{"R": {"kdc1", "[::1]:750", "https://proxy/KdcProxy", "10.0.0.1:88"}}})
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(c.Config().KDCs["R"], " ")
	if got != "kdc1:88 [::1]:750 10.0.0.1:88" {
		t.Errorf("normalized KDCs: %s", got)
	}
	if cfg := c.Config(); cfg.Timeout != DefaultTimeout || cfg.UDPPreferenceLimit != DefaultUDPPreferenceLimit || cfg.MaxSkew != DefaultMaxSkew ||
		cfg.TicketLifetime != DefaultTicketLifetime || len(cfg.ETypes) != 4 {
		t.Errorf("defaults: %+v", cfg)
	}
}

package kdc_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/warden-auth/warden/admin"
	"github.com/warden-auth/warden/internal/testkit"
	"github.com/warden-auth/warden/krb5"
	"github.com/warden-auth/warden/krb5/kcrypto"
	"github.com/warden-auth/warden/krb5/kdc"
	"github.com/warden-auth/warden/store"
)

const (
	realm    = "TEST.WARDEN"
	alicePW  = "alice's password"
	service  = "HTTP/web.test.warden"
	aes256   = krb5.ETypeAES256CTSHMACSHA196
	aes128s2 = krb5.ETypeAES128CTSHMACSHA256
)

// clock is a settable time source for the KDC under test.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

type env struct {
	t     testing.TB
	r     *testkit.Realm
	k     *kdc.KDC
	clock *clock
	// loginKey is the TGT session key of the test's login.
	loginKey *kcrypto.Key
	// armorA is the FAST armor of a test's first conversation.
	armorA fastArmor
}

var t0 = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

func newEnv(t *testing.T) *env {
	t.Helper()
	r := testkit.NewRealm(t, realm)
	r.AddUser(t, "alice", alicePW, admin.UserOptions{})
	r.AddService(t, service, admin.ServiceOptions{})
	c := &clock{t: t0}
	k, err := kdc.New(kdc.Config{Store: r.Store, Time: c.Now, PollInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { k.Close() })
	return &env{t: t, r: r, k: k, clock: c}
}

func (e *env) refresh() { e.k.Refresh(context.Background()) }

func pn(s string) *krb5.PrincipalName {
	parts := strings.Split(s, "/")
	t := krb5.NameTypePrincipal
	if len(parts) > 1 {
		t = krb5.NameTypeSrvInst
	}
	return &krb5.PrincipalName{NameType: t, NameString: parts}
}

// asReq is an AS-REQ under construction.
type asReq struct {
	cname, sname string
	realm        string
	etypes       []krb5.EncType
	opts         krb5.Flags
	till         time.Time
	from         time.Time
	padata       krb5.MethodData
	nonce        uint32
}

func (e *env) asReq(cname string) *asReq {
	return &asReq{cname: cname, sname: "krbtgt/" + realm, realm: realm, etypes: []krb5.EncType{aes256, aes128s2},
		till: e.clock.Now().Add(8 * time.Hour), nonce: 12345}
}

func (r *asReq) bytes() []byte {
	req := krb5.KDCReq{MsgType: krb5.MsgASReq, PAData: r.padata, ReqBody: krb5.KDCReqBody{
		KDCOptions: r.opts, CName: pn(r.cname), Realm: r.realm, SName: pn(r.sname),
		From: r.from, Till: r.till, Nonce: r.nonce, EType: r.etypes,
	}}
	b, _ := req.Marshal()
	return b
}

// withTimestamp adds PA-ENC-TIMESTAMP made with the user's password key.
func (r *asReq) withTimestamp(t testing.TB, pw string, at time.Time) *asReq {
	t.Helper()
	key, err := kcrypto.StringToKey(aes256, pw, realm+r.cname, nil, kcrypto.Options{})
	if err != nil {
		t.Fatal(err)
	}
	pa, err := encTimestamp(key, at)
	if err != nil {
		t.Fatal(err)
	}
	r.padata = append(r.padata, pa)
	return r
}

// encTimestamp is PA-ENC-TIMESTAMP for time at under key.
func encTimestamp(key *kcrypto.Key, at time.Time) (krb5.PAData, error) {
	ts := krb5.PAEncTSEnc{PATimestamp: at.Truncate(time.Second), PAUSec: int32(at.Nanosecond() / 1000), HasUSec: true}
	plain, _ := ts.Marshal()
	ed, err := key.EncryptData(rand.Reader, kcrypto.UsageASReqPAEncTimestamp, plain, 0, false)
	if err != nil {
		return krb5.PAData{}, err
	}
	v, _ := ed.Marshal()
	return krb5.PAData{Type: krb5.PAEncTimestamp, Value: v}, nil
}

// handle sends a request and decodes the KRB-ERROR, or returns nil for a
// KDC-REP (returned as rep).
//
// The KDC decodes a request in place and must keep nothing of it once
// it has answered (AppendHandle): here it gets a copy that is scribbled
// over right after, as a server's reused buffer would be, so that any
// test whose later requests use what an earlier one left behind (PAC
// templates, verified PACs, certificate and replay caches, FAST state)
// sees garbage if some of it pointed into a request.
func (e *env) handle(req []byte) (*krb5.KRBError, []byte, kdc.Result) {
	in := bytes.Clone(req)
	rep, res := e.k.Handle(context.Background(), in)
	for i := range in {
		in[i] = 0xA5
	}
	if rep == nil {
		return nil, nil, res
	}
	if t, _ := krb5.MessageType(rep); t == krb5.MsgKRBError {
		var ke krb5.KRBError
		if err := ke.Unmarshal(rep); err != nil {
			e.t.Fatalf("KRB-ERROR does not decode: %v", err)
		}
		return &ke, nil, res
	}
	return nil, rep, res
}

// tgt is a TGT obtained by login, with its session key.
type tgt struct {
	ticket krb5.Ticket
	key    *kcrypto.Key
	part   krb5.EncKDCRepPart
}

func (e *env) login(name, pw string) tgt {
	e.t.Helper()
	ke, rep, res := e.handle(e.asReq(name).withTimestamp(e.t, pw, e.clock.Now()).bytes())
	if ke != nil {
		e.t.Fatalf("login %s: %v %s (%s)", name, ke.ErrorCode, ke.EText, res.Detail)
	}
	return e.decodeAS(rep, name, pw)
}

func (e *env) decodeAS(rep []byte, name, pw string) tgt {
	e.t.Helper()
	var kr krb5.KDCRep
	if err := kr.Unmarshal(rep); err != nil {
		e.t.Fatal(err)
	}
	key, _ := kcrypto.StringToKey(kr.EncPart.EType, pw, realm+name, nil, kcrypto.Options{})
	plain, err := key.DecryptData(kcrypto.UsageASRepEncPart, kr.EncPart)
	if err != nil {
		e.t.Fatalf("AS-REP enc-part: %v", err)
	}
	var part krb5.EncKDCRepPart
	if err := part.Unmarshal(plain); err != nil {
		e.t.Fatal(err)
	}
	sk, _ := kcrypto.NewKey(part.Key, kcrypto.Options{})
	return tgt{ticket: kr.Ticket, key: sk, part: part}
}

// tgsReq builds a TGS-REQ presenting tg; mutate can change the parts
// before they are encoded.
type tgsParts struct {
	body    krb5.KDCReqBody
	auth    krb5.Authenticator
	ticket  krb5.Ticket
	badCsum bool
	noCsum  bool
	noPA    bool
	// paValue, when set, replaces the encoded AP-REQ in PA-TGS-REQ.
	paValue []byte
	// extraPA follows PA-TGS-REQ.
	extraPA krb5.MethodData
}

func (e *env) tgsReq(tg tgt, sname string, mutate func(*tgsParts)) []byte {
	e.t.Helper()
	now := e.clock.Now()
	p := &tgsParts{
		body: krb5.KDCReqBody{Realm: realm, SName: pn(sname), Till: now.Add(4 * time.Hour), Nonce: 777,
			EType: []krb5.EncType{aes256, aes128s2}},
		auth:   krb5.Authenticator{CRealm: realm, CName: *pn("alice"), CTime: now.Truncate(time.Second)},
		ticket: tg.ticket,
	}
	// Re-encode the ticket from its fields so that mutations take effect.
	p.ticket.Raw = nil
	p.ticket.EncPart.Cipher = append([]byte(nil), p.ticket.EncPart.Cipher...)
	if mutate != nil {
		mutate(p)
	}
	bodyBytes, _ := p.body.Marshal()
	ck, _ := tg.key.Checksum(kcrypto.UsageTGSReqAuthCksum, bodyBytes)
	if p.badCsum {
		ck.Checksum[0] ^= 1
	}
	p.auth.Cksum = &ck
	if p.noCsum {
		p.auth.Cksum = nil
	}
	ab, _ := p.auth.Marshal()
	encAuth, _ := tg.key.EncryptData(rand.Reader, kcrypto.UsageTGSReqAuthenticator, ab, 0, false)
	ap := krb5.APReq{Ticket: p.ticket, Authenticator: encAuth}
	apb, _ := ap.Marshal()
	if p.paValue != nil {
		apb = p.paValue
	}
	req := krb5.KDCReq{MsgType: krb5.MsgTGSReq, ReqBody: p.body}
	if !p.noPA {
		req.PAData = krb5.MethodData{{Type: krb5.PATGSReq, Value: apb}}
	}
	req.PAData = append(req.PAData, p.extraPA...)
	b, _ := req.Marshal()
	return b
}

func TestASAndTGS(t *testing.T) {
	e := newEnv(t)
	tg := e.login("alice", alicePW)
	if !tg.part.Flags.Has(krb5.TktFlagInitial | krb5.TktFlagPreAuthent) {
		t.Errorf("TGT flags %v lack initial|pre-authent", tg.part.Flags)
	}
	if got := tg.part.EndTime.Sub(t0); got != 8*time.Hour {
		t.Errorf("TGT lifetime %v, want the requested 8h", got)
	}
	ke, rep, res := e.handle(e.tgsReq(tg, service, nil))
	if ke != nil {
		t.Fatalf("TGS: %v %s", ke.ErrorCode, ke.EText)
	}
	if !res.OK() || res.Client != "alice@"+realm {
		t.Errorf("result %+v", res)
	}
	var kr krb5.KDCRep
	if err := kr.Unmarshal(rep); err != nil {
		t.Fatal(err)
	}
	plain, err := tg.key.DecryptData(kcrypto.UsageTGSRepEncPartSessionKey, kr.EncPart)
	if err != nil {
		t.Fatal(err)
	}
	var part krb5.EncKDCRepPart
	if err := part.Unmarshal(plain); err != nil {
		t.Fatal(err)
	}
	if part.Nonce != 777 || part.SName.String() != service {
		t.Errorf("TGS reply part %+v", part)
	}
	// The service's keytab decrypts the ticket, which names alice.
	kt, _, err := e.r.Admin.Keytab(context.Background(), service, false)
	if err != nil {
		t.Fatal(err)
	}
	entry, err := kt.Find(kr.Ticket.SName, realm, kr.Ticket.EncPart.KVNO, kr.Ticket.EncPart.EType)
	if err != nil {
		t.Fatal(err)
	}
	sk, _ := kcrypto.NewKey(entry.Key, kcrypto.Options{})
	tp, err := sk.DecryptData(kcrypto.UsageTicket, kr.Ticket.EncPart)
	if err != nil {
		t.Fatal(err)
	}
	var etp krb5.EncTicketPart
	if err := etp.Unmarshal(tp); err != nil {
		t.Fatal(err)
	}
	if etp.CName.String() != "alice" || !bytes.Equal(etp.Key.KeyValue, part.Key.KeyValue) {
		t.Errorf("service ticket names %v", etp.CName)
	}
}

func TestPreauthRequiredTellsSalt(t *testing.T) {
	e := newEnv(t)
	ke, _, _ := e.handle(e.asReq("alice").bytes())
	if ke == nil || ke.ErrorCode != krb5.KDCErrPreauthRequired {
		t.Fatalf("got %+v", ke)
	}
	md, err := ke.MethodData()
	if err != nil {
		t.Fatal(err)
	}
	pa, ok := md.Find(krb5.PAETypeInfo2)
	if !ok {
		t.Fatal("no ETYPE-INFO2")
	}
	var info krb5.ETypeInfo2
	if err := info.Unmarshal(pa.Value); err != nil {
		t.Fatal(err)
	}
	if len(info) != 2 || info[0].EType != aes256 || info[0].Salt != realm+"alice" {
		t.Errorf("ETYPE-INFO2 %+v", info)
	}
	if _, ok := md.Find(krb5.PAEncTimestamp); !ok {
		t.Error("PA-ENC-TIMESTAMP not advertised")
	}
}

// Every refusal of the AS exchange: code and reason.
func TestASRefusals(t *testing.T) {
	cases := []struct {
		name       string
		setup      func(e *env)
		req        func(e *env) []byte
		wantCode   krb5.ErrorCode
		wantReason string
	}{
		{"malformed", nil, func(e *env) []byte { return []byte{0x6a, 0x03, 0x30, 0x01, 0x00} },
			krb5.KRBErrGeneric, "malformed request"},
		{"wrong realm", nil, func(e *env) []byte { r := e.asReq("alice"); r.realm = "OTHER.TEST"; return r.bytes() },
			krb5.KDCErrWrongRealm, "this KDC serves realm TEST.WARDEN, not OTHER.TEST"},
		{"unknown client", nil, func(e *env) []byte { return e.asReq("nobody").bytes() },
			krb5.KDCErrCPrincipalUnknown, "client nobody@TEST.WARDEN not found"},
		{"unknown service", nil, func(e *env) []byte { r := e.asReq("alice"); r.sname = "HTTP/nope"; return r.bytes() },
			krb5.KDCErrSPrincipalUnknown, "service HTTP/nope@TEST.WARDEN not found"},
		{"cross realm", nil, func(e *env) []byte { r := e.asReq("alice"); r.sname = "krbtgt/OTHER.TEST"; return r.bytes() },
			krb5.KDCErrSPrincipalUnknown, "no trust with realm OTHER.TEST: this KDC serves TEST.WARDEN only"},
		{"wrong password", nil, func(e *env) []byte { return e.asReq("alice").withTimestamp(e.t, "nope", e.clock.Now()).bytes() },
			krb5.KDCErrPreauthFailed, "password incorrect for alice@TEST.WARDEN"},
		{"clock skew", nil, func(e *env) []byte {
			return e.asReq("alice").withTimestamp(e.t, alicePW, e.clock.Now().Add(7*time.Minute+3*time.Second)).bytes()
		}, krb5.KRBAPErrSkew, "client clock is 7m3s ahead of the KDC (client 2026-11-23T12:07:03Z, KDC 2026-11-23T12:00:00Z, allowed 5m0s)"},
		{"no common enctype", nil, func(e *env) []byte {
			r := e.asReq("alice")
			r.etypes = []krb5.EncType{krb5.ETypeDESCBCMD5, krb5.ETypeRC4HMAC}
			return r.bytes()
		}, krb5.KDCErrETypeNoSupp, "no common enctype: client offered [3 (des-cbc-md5), 23 (arcfour-hmac)], account alice has [18 (aes256-cts-hmac-sha1-96), 20 (aes256-cts-hmac-sha384-192), 19 (aes128-cts-hmac-sha256-128), 17 (aes128-cts-hmac-sha1-96)]"},
		{"disabled", func(e *env) { e.setFlags("alice", store.FlagDisabled) }, func(e *env) []byte { return e.asReq("alice").bytes() },
			krb5.KDCErrClientRevoked, "account alice@TEST.WARDEN is disabled"},
		{"account expired", func(e *env) {
			e.edit("alice", func(a *store.Account) { a.AccountExpires = t0.Add(-time.Hour) })
		}, func(e *env) []byte { return e.asReq("alice").bytes() },
			krb5.KDCErrNameExp, "account alice@TEST.WARDEN expired on 2026-11-23T11:00:00Z"},
		{"password expired", func(e *env) {
			e.edit("alice", func(a *store.Account) { a.PasswordExpires = t0.Add(-time.Minute) })
		}, func(e *env) []byte { return e.asReq("alice").withTimestamp(e.t, alicePW, e.clock.Now()).bytes() },
			krb5.KDCErrKeyExpired, "password of alice@TEST.WARDEN expired on 2026-11-23T11:59:00Z"},
		{"postdated", nil, func(e *env) []byte {
			r := e.asReq("alice").withTimestamp(e.t, alicePW, e.clock.Now())
			r.opts = krb5.KDCOptPostdated
			return r.bytes()
		}, krb5.KDCErrCannotPostdate, "postdated tickets are not supported"},
		{"end time in the past", nil, func(e *env) []byte {
			r := e.asReq("alice").withTimestamp(e.t, alicePW, e.clock.Now())
			r.till = t0.Add(-time.Hour)
			return r.bytes()
		}, krb5.KDCErrNeverValid, "requested end time 2026-11-23T11:00:00Z is not after the start time 2026-11-23T12:00:00Z"},
		{"anonymous", nil, func(e *env) []byte {
			r := e.asReq("alice")
			r.opts = krb5.KDCOptRequestAnonymous
			return r.bytes()
		}, krb5.KDCErrPolicy, "anonymous tickets are not enabled in this realm"},
		{"service disabled", func(e *env) { e.setFlags("HTTP-web", store.FlagDisabled) }, func(e *env) []byte {
			r := e.asReq("alice").withTimestamp(e.t, alicePW, e.clock.Now())
			r.sname = service
			return r.bytes()
		}, krb5.KDCErrServiceRevoked, "service HTTP/web.test.warden is disabled"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			if tc.setup != nil {
				tc.setup(e)
				e.refresh()
			}
			ke, _, res := e.handle(tc.req(e))
			if ke == nil {
				t.Fatalf("request succeeded (%+v)", res)
			}
			if ke.ErrorCode != tc.wantCode || ke.EText != tc.wantReason {
				t.Errorf("got %v %q\nwant %v %q", ke.ErrorCode, ke.EText, tc.wantCode, tc.wantReason)
			}
			if res.Code != tc.wantCode {
				t.Errorf("Result.Code %v", res.Code)
			}
		})
	}
}

func (e *env) edit(name string, f func(*store.Account)) {
	e.t.Helper()
	a, err := e.r.Store.Account(context.Background(), name)
	if err != nil {
		e.t.Fatal(err)
	}
	f(a)
	if err := e.r.Store.UpdateAccount(context.Background(), a); err != nil {
		e.t.Fatal(err)
	}
}

// reseal decrypts a TGT with the realm's krbtgt key, lets f change its
// encrypted part and encrypts it again: a ticket only the KDC could make.
func (e *env) reseal(tk *krb5.Ticket, f func(*krb5.EncTicketPart)) {
	e.t.Helper()
	kt, _, err := e.r.Admin.Keytab(context.Background(), "krbtgt", false)
	if err != nil {
		e.t.Fatal(err)
	}
	var key *kcrypto.Key
	for _, en := range kt.Entries {
		if en.Key.KeyType == tk.EncPart.EType {
			key, _ = kcrypto.NewKey(en.Key, kcrypto.Options{})
		}
	}
	if key == nil {
		e.t.Fatalf("no krbtgt key of enctype %v", tk.EncPart.EType)
	}
	plain, err := key.DecryptData(kcrypto.UsageTicket, tk.EncPart)
	if err != nil {
		e.t.Fatal(err)
	}
	var part krb5.EncTicketPart
	if err := part.Unmarshal(plain); err != nil {
		e.t.Fatal(err)
	}
	f(&part)
	part.Raw = nil
	b, _ := part.Marshal()
	ed, err := key.EncryptData(rand.Reader, kcrypto.UsageTicket, b, tk.EncPart.KVNO, true)
	if err != nil {
		e.t.Fatal(err)
	}
	tk.EncPart = ed
}

func (e *env) setFlags(name string, f store.Flags) {
	e.t.Helper()
	if _, err := e.r.Admin.SetFlags(context.Background(), name, f, 0); err != nil {
		e.t.Fatal(err)
	}
}

// Wrong passwords lock the account at the policy's threshold; the lock
// says until when, and a later success is refused while locked.
func TestLockout(t *testing.T) {
	e := newEnv(t)
	thr := store.DefaultPolicy.LockoutThreshold
	for i := 0; i < thr; i++ {
		r := e.asReq("alice").withTimestamp(t, "wrong", e.clock.Now())
		r.nonce = uint32(i)
		ke, _, _ := e.handle(r.bytes())
		if ke == nil || ke.ErrorCode != krb5.KDCErrPreauthFailed {
			t.Fatalf("attempt %d: %+v", i, ke)
		}
	}
	ke, _, _ := e.handle(e.asReq("alice").withTimestamp(t, alicePW, e.clock.Now()).bytes())
	want := "account alice@TEST.WARDEN is locked out after too many wrong passwords until 2026-11-23T12:30:00Z"
	if ke == nil || ke.ErrorCode != krb5.KDCErrClientRevoked || ke.EText != want {
		t.Fatalf("got %+v", ke)
	}
	a, _ := e.r.Store.Account(context.Background(), "alice")
	if a.Lockout.BadCount != thr {
		t.Errorf("stored bad count %d", a.Lockout.BadCount)
	}
	// After the lockout, a success resets the count.
	e.clock.Set(t0.Add(31 * time.Minute))
	e.login("alice", alicePW)
	a, _ = e.r.Store.Account(context.Background(), "alice")
	if a.Lockout.BadCount != 0 {
		t.Errorf("bad count after success %d", a.Lockout.BadCount)
	}
}

// Every refusal of the TGS exchange: code and reason.
func TestTGSRefusals(t *testing.T) {
	cases := []struct {
		name       string
		setup      func(e *env)
		sname      string
		mutate     func(e *env, p *tgsParts)
		at         time.Duration // clock advance after login
		wantCode   krb5.ErrorCode
		wantReason string
	}{
		{name: "unknown service", sname: "HTTP/nope", wantCode: krb5.KDCErrSPrincipalUnknown,
			wantReason: "service HTTP/nope@TEST.WARDEN not found"},
		{name: "no PA-TGS-REQ", mutate: func(e *env, p *tgsParts) { p.noPA = true },
			wantCode: krb5.KDCErrPADataTypeNoSupp, wantReason: "TGS-REQ carries no PA-TGS-REQ (no TGT)"},
		{name: "modified body", mutate: func(e *env, p *tgsParts) { p.badCsum = true },
			wantCode: krb5.KRBAPErrModified, wantReason: "hmac-sha1-96-aes256 checksum (key usage 6) does not match: the data was altered or the key is wrong"},
		{name: "authenticator for someone else", mutate: func(e *env, p *tgsParts) { p.auth.CName = *pn("mallory") },
			wantCode: krb5.KRBAPErrBadMatch, wantReason: "authenticator names mallory@TEST.WARDEN but the TGT is for alice@TEST.WARDEN"},
		{name: "authenticator skew", mutate: func(e *env, p *tgsParts) { p.auth.CTime = t0.Add(-10 * time.Minute) },
			wantCode: krb5.KRBAPErrSkew, wantReason: "client clock is 10m0s behind the KDC (client 2026-11-23T11:50:00Z, KDC 2026-11-23T12:00:00Z, allowed 5m0s)"},
		{name: "expired TGT", at: 9 * time.Hour, wantCode: krb5.KRBAPErrTktExpired,
			wantReason: "TGT expired at 2026-11-23T20:00:00Z"},
		{name: "ticket is not a TGT", mutate: func(e *env, p *tgsParts) { p.ticket.SName = *pn(service) },
			wantCode: krb5.KRBAPErrNotUs, wantReason: "PA-TGS-REQ ticket is for HTTP/web.test.warden@TEST.WARDEN, not krbtgt/TEST.WARDEN"},
		{name: "unknown kvno", mutate: func(e *env, p *tgsParts) { p.ticket.EncPart.KVNO = 9 },
			wantCode: krb5.KRBAPErrBadKeyVer, wantReason: "TGT is encrypted with aes256-cts-hmac-sha1-96 kvno 9, which this KDC does not hold (current kvno 1)"},
		{name: "forged TGT", mutate: func(e *env, p *tgsParts) { p.ticket.EncPart.Cipher[20] ^= 1 },
			wantCode: krb5.KRBAPErrBadIntegrity, wantReason: "TGT does not decrypt with the realm's krbtgt key (forged, or from another KDC)"},
		{name: "renew a non-renewable TGT", sname: "krbtgt/" + realm, mutate: func(e *env, p *tgsParts) { p.body.KDCOptions = krb5.KDCOptRenew },
			wantCode: krb5.KDCErrBadOption, wantReason: "the TGT is not renewable; get a renewable one with kinit -r"},
		{name: "user to user", mutate: func(e *env, p *tgsParts) { p.body.KDCOptions = krb5.KDCOptEncTktInSkey },
			wantCode: krb5.KDCErrBadOption, wantReason: "user-to-user tickets (enc-tkt-in-skey) are not supported"},
		{name: "client disabled since", setup: func(e *env) { e.setFlags("alice", store.FlagDisabled) },
			wantCode: krb5.KDCErrClientRevoked, wantReason: "account alice@TEST.WARDEN is disabled"},
		{name: "client deleted since", setup: func(e *env) { _ = e.r.Admin.Delete(context.Background(), "alice") },
			wantCode: krb5.KDCErrTGTRevoked, wantReason: "the account of alice@TEST.WARDEN no longer exists"},
		{name: "service disabled", setup: func(e *env) { e.setFlags("HTTP-web", store.FlagDisabled) },
			wantCode: krb5.KDCErrServiceRevoked, wantReason: "service HTTP/web.test.warden is disabled"},
		{name: "no common enctype", mutate: func(e *env, p *tgsParts) { p.body.EType = []krb5.EncType{krb5.ETypeRC4HMAC} },
			wantCode: krb5.KDCErrETypeNoSupp, wantReason: "no common enctype: client offered [23 (arcfour-hmac)], service HTTP/web.test.warden has [18 (aes256-cts-hmac-sha1-96), 20 (aes256-cts-hmac-sha384-192), 19 (aes128-cts-hmac-sha256-128), 17 (aes128-cts-hmac-sha1-96)]"},
		{name: "client-made PAC", mutate: func(e *env, p *tgsParts) {
			ad := krb5.AuthorizationData{{Type: krb5.ADWin2KPAC, Data: []byte{1, 2, 3}}}
			ab, _ := ad.Marshal()
			ed, _ := e.loginKey.EncryptData(rand.Reader, kcrypto.UsageTGSReqAuthDataSessionKey, ab, 0, false)
			p.body.EncAuthorizationData = &ed
		}, wantCode: krb5.KDCErrPolicy, wantReason: "authorization data of type AD-WIN2K-PAC may only come from the KDC"},
		{name: "PA-TGS-REQ is not an AP-REQ", mutate: func(e *env, p *tgsParts) { p.paValue = []byte{0x30, 0x03, 0x02, 0x01, 0x05} },
			wantCode: krb5.KRBAPErrMsgType, wantReason: "PA-TGS-REQ is not a valid AP-REQ"},
		{name: "authenticator without checksum", mutate: func(e *env, p *tgsParts) { p.noCsum = true },
			wantCode: krb5.KRBAPErrInappCksum, wantReason: "authenticator carries no checksum over the request body"},
		{name: "TGT not yet valid", mutate: func(e *env, p *tgsParts) {
			e.reseal(&p.ticket, func(tp *krb5.EncTicketPart) { tp.StartTime = t0.Add(time.Hour) })
		}, wantCode: krb5.KRBAPErrTktNYV, wantReason: "TGT is not valid until 2026-11-23T13:00:00Z"},
		{name: "TGT marked invalid", mutate: func(e *env, p *tgsParts) {
			e.reseal(&p.ticket, func(tp *krb5.EncTicketPart) { tp.Flags |= krb5.TktFlagInvalid })
		}, wantCode: krb5.KRBAPErrTktNYV, wantReason: "TGT is marked invalid"},
		{name: "validate", mutate: func(e *env, p *tgsParts) { p.body.KDCOptions = krb5.KDCOptValidate },
			wantCode: krb5.KDCErrBadOption, wantReason: "ticket validation is not supported: Warden issues no postdated tickets"},
		{name: "postdated", mutate: func(e *env, p *tgsParts) {
			p.body.KDCOptions = krb5.KDCOptPostdated
			p.body.From = t0.Add(time.Hour)
		}, wantCode: krb5.KDCErrCannotPostdate, wantReason: "postdated tickets are not supported"},
		{name: "service without keys", setup: func(e *env) {
			e.edit("HTTP-web", func(a *store.Account) { a.Secrets.Keys = nil })
		}, wantCode: krb5.KDCErrNullKey, wantReason: "service HTTP/web.test.warden has no keys"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			tg := e.login("alice", alicePW)
			e.loginKey = tg.key
			if tc.setup != nil {
				tc.setup(e)
				e.refresh()
			}
			e.clock.Set(t0.Add(tc.at))
			sname := tc.sname
			if sname == "" {
				sname = service
			}
			var mut func(*tgsParts)
			if tc.mutate != nil {
				mut = func(p *tgsParts) { tc.mutate(e, p) }
			}
			ke, _, res := e.handle(e.tgsReq(tg, sname, mut))
			if ke == nil {
				t.Fatalf("request succeeded (%+v)", res)
			}
			if ke.ErrorCode != tc.wantCode || ke.EText != tc.wantReason {
				t.Errorf("got %v %q\nwant %v %q", ke.ErrorCode, ke.EText, tc.wantCode, tc.wantReason)
			}
		})
	}
}

func TestRenew(t *testing.T) {
	e := newEnv(t)
	r := e.asReq("alice").withTimestamp(t, alicePW, t0)
	r.opts = krb5.KDCOptRenewable
	ke, rep, _ := e.handle(r.bytes())
	if ke != nil {
		t.Fatal(ke.EText)
	}
	tg := e.decodeAS(rep, "alice", alicePW)
	if !tg.part.Flags.Has(krb5.TktFlagRenewable) || tg.part.RenewTill.Sub(t0) != kdc.DefaultMaxRenew {
		t.Fatalf("flags %v renew-till %v", tg.part.Flags, tg.part.RenewTill)
	}
	e.clock.Set(t0.Add(7 * time.Hour))
	ke, rep, _ = e.handle(e.tgsReq(tg, "krbtgt/"+realm, func(p *tgsParts) { p.body.KDCOptions = krb5.KDCOptRenew }))
	if ke != nil {
		t.Fatalf("renew: %v %s", ke.ErrorCode, ke.EText)
	}
	var kr krb5.KDCRep
	_ = kr.Unmarshal(rep)
	plain, err := tg.key.DecryptData(kcrypto.UsageTGSRepEncPartSessionKey, kr.EncPart)
	if err != nil {
		t.Fatal(err)
	}
	var part krb5.EncKDCRepPart
	_ = part.Unmarshal(plain)
	if want := t0.Add(15 * time.Hour); !part.EndTime.Equal(want) {
		t.Errorf("renewed end %v, want %v", part.EndTime, want)
	}
	if bytes.Equal(part.Key.KeyValue, tg.part.Key.KeyValue) {
		t.Error("renewal kept the session key")
	}

	// Past renew-till the TGT cannot be renewed, and the reason says when
	// its renewable life ended.
	e.clock.Set(tg.part.RenewTill.Add(time.Minute))
	ke, _, _ = e.handle(e.tgsReq(tg, "krbtgt/"+realm, func(p *tgsParts) { p.body.KDCOptions = krb5.KDCOptRenew }))
	want := "renewable lifetime of the TGT ended at " + tg.part.RenewTill.UTC().Format(time.RFC3339)
	if ke == nil || ke.ErrorCode != krb5.KRBAPErrTktExpired || ke.EText != want {
		t.Errorf("renew after renew-till: %+v, want %v %q", ke, krb5.KRBAPErrTktExpired, want)
	}
}

// Realm names are matched case-insensitively; with canonicalize the reply
// carries the canonical realm and, for an enterprise (UPN) name, the
// account's canonical name.
func TestCanonicalization(t *testing.T) {
	e := newEnv(t)
	r := e.asReq("alice").withTimestamp(t, alicePW, t0)
	r.realm = "test.warden"
	ke, rep, _ := e.handle(r.bytes())
	if ke != nil {
		t.Fatalf("lower-case realm: %v %s", ke.ErrorCode, ke.EText)
	}
	var kr krb5.KDCRep
	_ = kr.Unmarshal(rep)
	if kr.CRealm != "test.warden" {
		t.Errorf("without canonicalize the realm is echoed: got %q", kr.CRealm)
	}

	// Enterprise name: alice's UPN, canonicalized.
	upn := krb5.PrincipalName{NameType: krb5.NameTypeEnterprise, NameString: []string{"alice@test.warden"}}
	key, _ := kcrypto.StringToKey(aes256, alicePW, realm+"alice", nil, kcrypto.Options{})
	ts := krb5.PAEncTSEnc{PATimestamp: t0}
	plain, _ := ts.Marshal()
	ed, _ := key.EncryptData(rand.Reader, kcrypto.UsageASReqPAEncTimestamp, plain, 0, false)
	v, _ := ed.Marshal()
	req := krb5.KDCReq{MsgType: krb5.MsgASReq, PAData: krb5.MethodData{{Type: krb5.PAEncTimestamp, Value: v}}, ReqBody: krb5.KDCReqBody{
		KDCOptions: krb5.KDCOptCanonicalize, CName: &upn, Realm: "test.warden", SName: pn("krbtgt/" + realm),
		Till: t0.Add(time.Hour), Nonce: 5, EType: []krb5.EncType{aes256}}}
	b, _ := req.Marshal()
	ke, rep, _ = e.handle(b)
	if ke != nil {
		t.Fatalf("enterprise name: %v %s", ke.ErrorCode, ke.EText)
	}
	_ = kr.Unmarshal(rep)
	if kr.CRealm != realm || kr.CName.String() != "alice" || kr.CName.NameType != krb5.NameTypePrincipal {
		t.Errorf("canonical reply names %v@%s", kr.CName, kr.CRealm)
	}
}

// Concurrent exchanges share the pooled request and reply memory only one
// at a time: each client gets its own name, nonce and session key back,
// encrypted under its own key.
func TestConcurrentExchangesKeepTheirOwnMemory(t *testing.T) {
	e := newEnv(t)
	users := []string{"alice", "bob", "carol", "dave"}
	keys := map[string]*kcrypto.Key{}
	for _, u := range users {
		if u != "alice" {
			e.r.AddUser(t, u, alicePW, admin.UserOptions{})
		}
		keys[u], _ = kcrypto.StringToKey(aes256, alicePW, realm+u, nil, kcrypto.Options{})
	}
	e.refresh()
	// login runs one AS exchange for u and checks that the reply is u's.
	login := func(u string, nonce uint32) error {
		pa, err := encTimestamp(keys[u], e.clock.Now())
		if err != nil {
			return err
		}
		r := e.asReq(u)
		r.padata, r.nonce, r.etypes = krb5.MethodData{pa}, nonce, []krb5.EncType{aes256}
		rep, res := e.k.Handle(context.Background(), r.bytes())
		if !res.OK() {
			return fmt.Errorf("%s: %v", u, res)
		}
		var kr krb5.KDCRep
		if err := kr.Unmarshal(rep); err != nil {
			return err
		}
		plain, err := keys[u].DecryptData(kcrypto.UsageASRepEncPart, kr.EncPart)
		if err != nil {
			return fmt.Errorf("%s: enc-part not under its key: %v", u, err)
		}
		var part krb5.EncKDCRepPart
		if err := part.Unmarshal(plain); err != nil {
			return err
		}
		if kr.CName.String() != u || part.Nonce != nonce {
			return fmt.Errorf("%s nonce %d got a reply for %s nonce %d", u, nonce, kr.CName.String(), part.Nonce)
		}
		return nil
	}
	errs := make(chan error, 8)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 40 {
				if err := login(users[g%len(users)], uint32(g<<16|i)); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

package client

import (
	"context"
	"crypto/rand"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/warden-auth/warden/krb5"
	"github.com/warden-auth/warden/krb5/ccache"
	"github.com/warden-auth/warden/krb5/kcrypto"
)

var computer = krb5.PrincipalName{NameType: krb5.NameTypePrincipal, NameString: []string{"WS01$"}}

// fastKDC is a fake FAST KDC that knows alice and the computer WS01$,
// and a client of it holding the computer's TGT (the armor).
func fastKDC(t *testing.T) (*fakeKDC, *Client, *Credentials) {
	t.Helper()
	f := newFakeKDC(t)
	f.fast = true
	f.cookie = []byte("cookie-1")
	f.users["WS01$"] = true
	c := f.client(t, nil)
	machine, err := c.ASExchange(context.Background(), computer, Password(testPassword), ASOptions{})
	if err != nil {
		t.Fatalf("computer TGT: %v", err)
	}
	if machine.FAST || !machine.FASTOffered {
		t.Errorf("unarmored TGT: FAST %v, FASTOffered %v (the KDC listed PA-FX-FAST)", machine.FAST, machine.FASTOffered)
	}
	return f, c, machine
}

func armoredKinit(c *Client, armor *Credentials, pw string) (*Credentials, error) {
	return c.ASExchange(context.Background(), alice, Password(pw), ASOptions{Armor: armor})
}

func TestArmoredAS(t *testing.T) {
	f, c, machine := fastKDC(t)
	n := len(f.requests())
	cr, err := armoredKinit(c, machine, testPassword)
	if err != nil {
		t.Fatal(err)
	}
	if !cr.FAST || cr.Client.String() != testUser+"@"+testRealm || !cr.IsTGT() {
		t.Errorf("credentials: FAST %v, %s -> %s", cr.FAST, cr.Client, cr.Server)
	}
	reqs := f.requests()[n:]
	if len(reqs) != 2 {
		t.Fatalf("%d armored requests, want 2 (PREAUTH_REQUIRED, then the encrypted challenge)", len(reqs))
	}
	for i, r := range reqs {
		// The real padata travel inside the armor only.
		if len(r.req.PAData) != 1 || r.req.PAData[0].Type != krb5.PAFXFast {
			t.Errorf("request %d: outer padata %s, want PA-FX-FAST only", i, paTypeWords(r.req.PAData))
		}
	}
	if reqs[0].req.ReqBody.Nonce == reqs[1].req.ReqBody.Nonce {
		t.Error("both armored requests used the same nonce")
	}
	f.mu.Lock()
	fc, ts := f.lastFAST, f.lastTS
	f.mu.Unlock()
	if !fc.explicit || !fc.armorCN.Equal(computer) {
		t.Errorf("armor: explicit %v, armor ticket client %v", fc.explicit, fc.armorCN)
	}
	for _, want := range []krb5.PAType{krb5.PAEncryptedChallenge, krb5.PAPACRequest, krb5.PAFXCookie} {
		if _, ok := fc.inner.Find(want); !ok {
			t.Errorf("inner padata %s lacks %v", paTypeWords(fc.inner), want)
		}
	}
	if _, ok := fc.inner.Find(krb5.PAEncTimestamp); ok {
		t.Error("armored request carries PA-ENC-TIMESTAMP")
	}
	if ts == nil || !ts.HasUSec || time.Since(ts.Time()) > time.Minute {
		t.Errorf("encrypted challenge timestamp %+v", ts)
	}
}

// A KDC that does not ask for pre-authentication answers the first
// armored request; the reply is still strengthened and finished.
func TestArmoredASWithoutPreauth(t *testing.T) {
	f, c, machine := fastKDC(t)
	f.set(func(f *fakeKDC) { f.requirePreauth = false })
	n := len(f.requests())
	cr, err := armoredKinit(c, machine, testPassword)
	if err != nil || !cr.FAST {
		t.Fatalf("%v (FAST %v)", err, cr != nil && cr.FAST)
	}
	if len(f.requests())-n != 1 {
		t.Errorf("%d requests, want 1", len(f.requests())-n)
	}
	// A wrong password shows only as a reply that does not decrypt, and
	// is reported as one, armor or not.
	_, err = armoredKinit(c, machine, "wrong")
	if krb5.CodeOf(err) != krb5.KRBAPErrBadIntegrity || !strings.Contains(err.Error(), "password incorrect for alice@TEST.REALM") {
		t.Errorf("wrong password without preauth: %v", err)
	}
}

func TestArmoredASRefusals(t *testing.T) {
	f, c, machine := fastKDC(t)
	var ke *krb5.Error

	// The KDC's refusal comes inside the armor and maps as without it.
	_, err := armoredKinit(c, machine, "wrong password")
	if krb5.CodeOf(err) != krb5.KDCErrPreauthFailed || !strings.Contains(err.Error(), "password incorrect for alice@TEST.REALM") ||
		!errors.As(err, &ke) || ke.Reason != "Preauthentication failed" || !strings.Contains(ke.Hint, "password incorrect") {
		t.Errorf("wrong password: %v", err)
	}
	if errors.Is(err, ErrFASTDowngrade) {
		t.Error("a protected refusal reported as a downgrade")
	}
	_, err = c.ASExchange(context.Background(), krb5.NewPrincipalName(1, "bob"), Password("x"), ASOptions{Armor: machine})
	if krb5.CodeOf(err) != krb5.KDCErrCPrincipalUnknown || !errors.As(err, &ke) || !strings.Contains(ke.Hint, "check the user name") {
		t.Errorf("unknown user: %v", err)
	}
	// An armor ticket the KDC cannot open: its refusal cannot be
	// protected, and is reported as unverified.
	bad := *machine
	bad.Ticket.Raw = nil
	bad.Ticket.EncPart.Cipher = append([]byte(nil), machine.Ticket.EncPart.Cipher...)
	bad.Ticket.EncPart.Cipher[0] ^= 1
	_, err = armoredKinit(c, &bad, testPassword)
	if !errors.Is(err, ErrFASTDowngrade) || !errors.As(err, &ke) || !strings.Contains(ke.Reason, "unprotected KRB_AP_ERR_BAD_INTEGRITY") ||
		!strings.Contains(ke.Hint, "could not use the armor") {
		t.Errorf("bad armor ticket: %v", err)
	}

	f.set(func(f *fakeKDC) { f.now = func() time.Time { return time.Now().Add(10 * time.Minute) } })
	_, err = armoredKinit(c, machine, testPassword)
	if krb5.CodeOf(err) != krb5.KRBAPErrSkew || !errors.As(err, &ke) || !strings.Contains(ke.Hint, "the KDC's time is") {
		t.Errorf("skew: %v", err)
	}
}

// Every way an armored answer can fail its FAST checks is refused; none
// is taken at face value.
func TestArmoredASTampering(t *testing.T) {
	wrongKey, _ := kcrypto.RandomKey(krb5.ETypeAES256CTSHMACSHA196, rand.Reader, kcrypto.Options{})
	tests := []struct {
		name      string
		set       func(f *fakeKDC)
		code      krb5.ErrorCode
		downgrade bool
		field     string // ReplyError field
		reason    string // in the error text
	}{
		{name: "error without FAST", set: func(f *fakeKDC) { f.stripFAST = true }, code: krb5.KRBAPErrModified, downgrade: true,
			reason: "unprotected KDC_ERR_PREAUTH_REQUIRED"},
		{name: "reply without FAST", set: func(f *fakeKDC) { f.stripFASTReply = true }, code: krb5.KRBAPErrModified, downgrade: true,
			reason: "without FAST protection"},
		{name: "unprotected error with garbage e-data", set: func(f *fakeKDC) {
			f.errHook = func(*krb5.KDCReq) *krb5.KRBError {
				return &krb5.KRBError{STime: time.Now().UTC().Truncate(time.Second), ErrorCode: krb5.KDCErrPreauthFailed, Realm: testRealm,
					SName: TGTName(testRealm), EText: "Preauthentication failed", HasEText: true, EData: []byte{1, 2, 3}}
			}
		}, code: krb5.KRBAPErrModified, downgrade: true, reason: "not verified"},
		{name: "no finished", set: func(f *fakeKDC) {
			f.fastHook = func(r *krb5.KrbFastResponse, _ *krb5.KDCRep) { r.Finished = nil }
		}, code: krb5.KRBAPErrModified, reason: "no finished part"},
		{name: "ticket checksum", set: func(f *fakeKDC) {
			f.fastHook = func(r *krb5.KrbFastResponse, _ *krb5.KDCRep) { r.Finished.TicketChecksum.Checksum[0] ^= 1 }
		}, code: krb5.KRBAPErrModified, reason: "finished checksum"},
		{name: "ticket swapped after finished", set: func(f *fakeKDC) {
			f.fastHook = func(_ *krb5.KrbFastResponse, rep *krb5.KDCRep) { rep.Ticket.EncPart.Cipher[0] ^= 1 }
		}, code: krb5.KRBAPErrModified, reason: "finished checksum"},
		{name: "reply nonce", set: func(f *fakeKDC) {
			f.fastHook = func(r *krb5.KrbFastResponse, _ *krb5.KDCRep) { r.Nonce++ }
		}, code: krb5.KRBAPErrModified, field: "FAST response nonce"},
		{name: "error nonce", set: func(f *fakeKDC) {
			f.fastErrHook = func(r *krb5.KrbFastResponse) { r.Nonce++ }
		}, code: krb5.KRBAPErrModified, field: "FAST response nonce"},
		{name: "error without PA-FX-ERROR", set: func(f *fakeKDC) {
			f.fastErrHook = func(r *krb5.KrbFastResponse) { r.PAData = r.PAData[1:] }
		}, code: krb5.KRBAPErrModified, reason: "no PA-FX-ERROR"},
		{name: "no KDC challenge", set: func(f *fakeKDC) { f.noKDCChallenge = true }, code: krb5.KRBAPErrModified,
			reason: "sent none of its own"},
		{name: "KDC challenge in a wrong key", set: func(f *fakeKDC) {
			f.fastHook = func(r *krb5.KrbFastResponse, _ *krb5.KDCRep) {
				ed, _ := wrongKey.EncryptData(rand.Reader, kcrypto.UsageEncChallengeKDC, []byte{0x30, 0}, 0, false)
				for i := range r.PAData {
					if r.PAData[i].Type == krb5.PAEncryptedChallenge {
						r.PAData[i] = krb5.EncryptedChallengePAData(ed)
					}
				}
			}
		}, code: krb5.KRBAPErrModified, reason: "does not decrypt with the client's key"},
		{name: "strengthen key withheld", set: func(f *fakeKDC) {
			f.fastHook = func(r *krb5.KrbFastResponse, _ *krb5.KDCRep) { r.StrengthenKey = nil }
		}, code: krb5.KRBAPErrModified, reason: "strengthened reply key"},
		{name: "protected client name differs", set: func(f *fakeKDC) {
			f.fastHook = func(r *krb5.KrbFastResponse, _ *krb5.KDCRep) { r.Finished.CName = krb5.NewPrincipalName(1, "mallory") }
		}, code: krb5.KRBAPErrModified, field: "client"},
		{name: "outer client name altered is ignored", set: func(f *fakeKDC) {
			f.fastHook = func(_ *krb5.KrbFastResponse, rep *krb5.KDCRep) { rep.CName = krb5.NewPrincipalName(1, "mallory") }
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, c, machine := fastKDC(t)
			f.set(tc.set)
			cr, err := armoredKinit(c, machine, testPassword)
			if tc.code == 0 {
				if err != nil || cr.Client.Name.String() != testUser {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if krb5.CodeOf(err) != tc.code {
				t.Fatalf("got %v, want code %v", err, tc.code)
			}
			if errors.Is(err, ErrFASTDowngrade) != tc.downgrade {
				t.Errorf("downgrade %v, want %v: %v", errors.Is(err, ErrFASTDowngrade), tc.downgrade, err)
			}
			var re *ReplyError
			if tc.field != "" && (!errors.As(err, &re) || re.Field != tc.field) {
				t.Errorf("got %v, want a ReplyError on %s", err, tc.field)
			}
			if !strings.Contains(err.Error(), tc.reason) {
				t.Errorf("error %q does not say %q", err, tc.reason)
			}
		})
	}
}

// A stale cookie (KDC_ERR_PREAUTH_EXPIRED) restarts the conversation
// once; the new cookie is echoed.
func TestArmoredASCookieRestart(t *testing.T) {
	f, c, machine := fastKDC(t)
	changed := false
	f.set(func(f *fakeKDC) {
		f.fastErrHook = func(*krb5.KrbFastResponse) {
			if !changed {
				changed = true
				f.set(func(f *fakeKDC) { f.cookie = []byte("cookie-2") })
			}
		}
	})
	n := len(f.requests())
	if _, err := armoredKinit(c, machine, testPassword); err != nil {
		t.Fatal(err)
	}
	if got := len(f.requests()) - n; got != 4 {
		t.Errorf("%d requests, want 4 (required, expired, required, success)", got)
	}
	// A KDC that never takes the cookie is refused after one restart.
	f.set(func(f *fakeKDC) {
		f.fastErrHook = func(r *krb5.KrbFastResponse) {
			for i := range r.PAData {
				if r.PAData[i].Type == krb5.PAFXCookie {
					r.PAData[i].Value = []byte("never valid")
				}
			}
		}
	})
	n = len(f.requests())
	_, err := armoredKinit(c, machine, testPassword)
	if krb5.CodeOf(err) != krb5.KDCErrPreauthExpired || len(f.requests())-n != 4 {
		t.Errorf("never-valid cookie: %v after %d requests", err, len(f.requests())-n)
	}
}

func TestFASTRequiredWithoutArmor(t *testing.T) {
	f := newFakeKDC(t)
	f.fast, f.requireFAST = true, true
	c := f.client(t, nil)
	_, err := c.ASExchange(context.Background(), alice, Password(testPassword), ASOptions{})
	var ke *krb5.Error
	if !errors.Is(err, ErrFASTRequired) || !errors.As(err, &ke) || ke.Code != krb5.KDCErrPreauthRequired ||
		!strings.Contains(ke.Hint, "--armor-keytab") || !strings.Contains(ke.Reason, "only inside FAST") {
		t.Errorf("got %v", err)
	}
}

func TestArmorChecks(t *testing.T) {
	f, c, machine := fastKDC(t)
	svc, err := c.TGSExchange(context.Background(), machine, svcName(), TGSOptions{})
	if err != nil {
		t.Fatal(err)
	}
	expired := *machine
	expired.EndTime = time.Now().Add(-time.Minute)
	other := *machine
	other.Server = ccache.Principal{Realm: "OTHER.REALM", Name: TGTName("OTHER.REALM")}
	n := len(f.requests())
	for _, tc := range []struct {
		name  string
		armor *Credentials
		code  krb5.ErrorCode
	}{
		{"service ticket as armor", svc, krb5.KDCErrBadOption},
		{"armor from another realm", &other, krb5.KDCErrBadOption},
		{"expired armor", &expired, krb5.KRBAPErrTktExpired},
	} {
		if _, err := armoredKinit(c, tc.armor, testPassword); krb5.CodeOf(err) != tc.code {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
	if len(f.requests()) != n {
		t.Error("an unusable armor ticket was sent to the KDC")
	}
}

func TestArmoredTGS(t *testing.T) {
	f, c, machine := fastKDC(t)
	ctx := context.Background()
	user, err := armoredKinit(c, machine, testPassword)
	if err != nil {
		t.Fatal(err)
	}
	lastArmor := func() *fastCtx {
		f.mu.Lock()
		defer f.mu.Unlock()
		fc := f.lastFAST
		f.lastFAST = nil
		return fc
	}
	lastArmor()

	// A TGT from an armored exchange armors its TGS requests (implicit
	// armor: no armor field, the key from the TGS subkey).
	cr, err := c.TGSExchange(ctx, user, svcName(), TGSOptions{})
	if err != nil {
		t.Fatal(err)
	}
	fc := lastArmor()
	if fc == nil || fc.explicit || !cr.FAST {
		t.Fatalf("implicit armor: %+v, FAST %v", fc, cr.FAST)
	}
	if len(fc.outer) != 2 || fc.outer[0].Type != krb5.PATGSReq || fc.outer[1].Type != krb5.PAFXFast {
		t.Errorf("outer padata %s, want PA-TGS-REQ, PA-FX-FAST", paTypeWords(fc.outer))
	}
	if cr.Server.String() != testService+"@"+testRealm || cr.Client.String() != user.Client.String() {
		t.Errorf("names %s -> %s", cr.Client, cr.Server)
	}

	// FASTOff: plain; FASTOn with a TGT not obtained with FAST: armored.
	if _, err := c.TGSExchange(ctx, user, svcName(), TGSOptions{FAST: FASTOff}); err != nil || lastArmor() != nil {
		t.Errorf("FASTOff: %v", err)
	}
	if cr, err := c.TGSExchange(ctx, machine, svcName(), TGSOptions{FAST: FASTOn}); err != nil || lastArmor() == nil || !cr.FAST {
		t.Errorf("FASTOn: %v", err)
	}
	if _, err := c.TGSExchange(ctx, machine, svcName(), TGSOptions{}); err != nil || lastArmor() != nil {
		t.Errorf("FASTAuto with an unarmored TGT is armored: %v", err)
	}

	// Explicit armor (compound identity): the user's TGT in PA-TGS-REQ,
	// the computer's in the armor field.
	cr, err = c.TGSExchange(ctx, user, svcName(), TGSOptions{Armor: machine})
	if err != nil {
		t.Fatal(err)
	}
	if fc := lastArmor(); fc == nil || !fc.explicit || !fc.armorCN.Equal(computer) || !cr.Client.Name.Equal(alice) {
		t.Errorf("explicit armor: %+v, client %s", fc, cr.Client)
	}
	if _, err := c.TGSExchange(ctx, user, svcName(), TGSOptions{Armor: machine, FAST: FASTOff}); err == nil {
		t.Error("Armor with FASTOff accepted")
	}

	// Renewing a FAST TGT is armored too.
	f.set(func(f *fakeKDC) { f.requirePreauth = true })
	renewable, err := c.ASExchange(ctx, alice, Password(testPassword), ASOptions{Armor: machine, RenewLifetime: 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	lastArmor()
	r, err := c.Renew(ctx, renewable)
	if err != nil || lastArmor() == nil || !r.FAST {
		t.Errorf("renew: %v", err)
	}

	// Refusals come back from inside the armor.
	_, err = c.TGSExchange(ctx, user, krb5.NewPrincipalName(3, "host/unknown"), TGSOptions{})
	var ke *krb5.Error
	if krb5.CodeOf(err) != krb5.KDCErrSPrincipalUnknown || !errors.As(err, &ke) || !strings.Contains(ke.Hint, "host/unknown@TEST.REALM") {
		t.Errorf("unknown service: %v", err)
	}
	for _, tc := range []struct {
		name string
		set  func(f *fakeKDC)
		want string
	}{
		{"reply without FAST", func(f *fakeKDC) { f.stripFASTReply = true }, "without FAST protection"},
		{"error without FAST", func(f *fakeKDC) { f.stripFAST = true }, "unprotected KDC_ERR_S_PRINCIPAL_UNKNOWN"},
		{"ticket checksum", func(f *fakeKDC) {
			f.fastHook = func(r *krb5.KrbFastResponse, _ *krb5.KDCRep) { r.Finished.TicketChecksum.Checksum[3] ^= 1 }
		}, "finished checksum"},
		{"strengthen key withheld", func(f *fakeKDC) {
			f.fastHook = func(r *krb5.KrbFastResponse, _ *krb5.KDCRep) { r.StrengthenKey = nil }
		}, "integrity"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f.set(tc.set)
			defer f.set(func(f *fakeKDC) { f.stripFAST, f.stripFASTReply, f.fastHook = false, false, nil })
			svc := svcName()
			if strings.Contains(tc.want, "PRINCIPAL_UNKNOWN") {
				svc = krb5.NewPrincipalName(3, "host/unknown")
			}
			_, err := c.TGSExchange(ctx, user, svc, TGSOptions{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want %q", err, tc.want)
			}
		})
	}
}

func TestFASTCacheConfig(t *testing.T) {
	_, c, machine := fastKDC(t)
	user, err := armoredKinit(c, machine, testPassword)
	if err != nil {
		t.Fatal(err)
	}
	cache := &ccache.Cache{Version: 0x0504, DefaultPrincipal: user.Client, Credentials: []ccache.Credential{user.CCache()}}
	RecordKDCFeatures(cache, user)
	b, err := cache.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	back, err := ccache.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := back.Config(FASTAvailKey, "krbtgt/"+testRealm+"@"+testRealm); !ok || string(v) != "yes" {
		t.Errorf("fast_avail = %q, %v", v, ok)
	}
	tgt, err := TGTFromCache(back, testRealm)
	if err != nil || !tgt.FAST {
		t.Errorf("TGTFromCache: %v (FAST %v)", err, tgt != nil && tgt.FAST)
	}
	// Unverified hints are not recorded.
	plain := &ccache.Cache{Version: 0x0504, DefaultPrincipal: machine.Client, Credentials: []ccache.Credential{machine.CCache()}}
	RecordKDCFeatures(plain, machine)
	if _, ok := plain.Config(FASTAvailKey, "krbtgt/"+testRealm+"@"+testRealm); ok {
		t.Error("fast_avail recorded for an unarmored TGT")
	}
	if tgt, err := TGTFromCache(plain, testRealm); err != nil || tgt.FAST {
		t.Errorf("TGTFromCache of a plain cache: %v", err)
	}
}

// RFC 6806 FAST negotiation: a KDC that confirms the request under the
// reply key and lists PA-FX-FAST there makes the TGT FAST (its TGS
// requests are armored); a confirmation that does not match is refused.
func TestFASTNegotiation(t *testing.T) {
	ctx := context.Background()
	f := newFakeKDC(t)
	f.fast, f.encPARep = true, true
	c := f.client(t, nil)
	cr := kinit(t, c, ASOptions{})
	if !cr.FAST || !cr.FASTOffered {
		t.Fatalf("negotiated: FAST %v, offered %v", cr.FAST, cr.FASTOffered)
	}
	for _, r := range f.requests() {
		if _, ok := r.req.PAData.Find(krb5.PAReqEncPARep); !ok {
			t.Errorf("AS-REQ without PA-REQ-ENC-PA-REP: %s", paTypeWords(r.req.PAData))
		}
	}
	if st, err := c.TGSExchange(ctx, cr, svcName(), TGSOptions{}); err != nil || !st.FAST {
		t.Errorf("TGS with a negotiated TGT: %v", err)
	}
	f.mu.Lock()
	armored := f.lastFAST != nil
	f.mu.Unlock()
	if !armored {
		t.Error("TGS with a negotiated TGT was not armored")
	}

	// A KDC without FAST confirms the request but lists no PA-FX-FAST.
	f.set(func(f *fakeKDC) { f.fast = false })
	if cr := kinit(t, c, ASOptions{}); cr.FAST || cr.FASTOffered {
		t.Errorf("KDC without FAST: FAST %v, offered %v", cr.FAST, cr.FASTOffered)
	}
	f.set(func(f *fakeKDC) { f.fast = true })

	for _, tc := range []struct {
		name  string
		hook  func(p *krb5.EncKDCRepPart)
		field string
	}{
		{"checksum of another request", func(p *krb5.EncKDCRepPart) {
			var sum krb5.Checksum
			sum.Unmarshal(p.EncryptedPAData[0].Value)
			sum.Checksum[0] ^= 1
			p.EncryptedPAData[0].Value, _ = sum.Marshal()
		}, ""},
		{"flag without checksum", func(p *krb5.EncKDCRepPart) { p.EncryptedPAData = p.EncryptedPAData[1:] }, "PA-REQ-ENC-PA-REP"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f.set(func(f *fakeKDC) { f.encPARepHook = tc.hook })
			_, err := c.ASExchange(ctx, alice, Password(testPassword), ASOptions{})
			var re *ReplyError
			if krb5.CodeOf(err) != krb5.KRBAPErrModified || tc.field != "" && (!errors.As(err, &re) || re.Field != tc.field) {
				t.Errorf("got %v", err)
			}
		})
	}
}

package client

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/warden-auth/warden/krb5"
	"github.com/warden-auth/warden/krb5/ccache"
	"github.com/warden-auth/warden/krb5/kcrypto"
	"github.com/warden-auth/warden/krb5/keytab"
)

var alice = krb5.PrincipalName{NameType: krb5.NameTypePrincipal, NameString: []string{testUser}}

func svcName() krb5.PrincipalName { return krb5.NewPrincipalName(krb5.NameTypeSrvHst, testService) }

func kinit(t *testing.T, c *Client, opts ASOptions) *Credentials {
	t.Helper()
	cr, err := c.ASExchange(context.Background(), alice, Password(testPassword), opts)
	if err != nil {
		t.Fatalf("ASExchange: %v", err)
	}
	return cr
}

func TestASExchangeWithPreauth(t *testing.T) {
	f := newFakeKDC(t)
	c := f.client(t, nil)
	cr := kinit(t, c, ASOptions{Forwardable: true, RenewLifetime: 48 * time.Hour, Lifetime: 2 * time.Hour})

	reqs := f.requests()
	if len(reqs) != 2 {
		t.Fatalf("%d requests, want 2 (without, then with pre-authentication)", len(reqs))
	}
	if _, ok := reqs[0].req.PAData.Find(krb5.PAEncTimestamp); ok {
		t.Error("first AS-REQ already carries PA-ENC-TIMESTAMP")
	}
	if _, ok := reqs[1].req.PAData.Find(krb5.PAEncTimestamp); !ok {
		t.Error("second AS-REQ carries no PA-ENC-TIMESTAMP")
	}
	for _, r := range reqs {
		if r.proto != "udp" {
			t.Errorf("small request went over %s, want udp", r.proto)
		}
	}
	f.mu.Lock()
	ts := f.lastTS
	f.mu.Unlock()
	if ts == nil || !ts.HasUSec {
		t.Errorf("PA-ENC-TS-ENC without pausec: %+v", ts)
	}
	if cr.Client.String() != testUser+"@"+testRealm || cr.Server.String() != "krbtgt/"+testRealm+"@"+testRealm {
		t.Errorf("names: %s -> %s", cr.Client, cr.Server)
	}
	if !cr.IsTGT() || !cr.Flags.Has(krb5.TktFlagForwardable|krb5.TktFlagRenewable|krb5.TktFlagInitial) {
		t.Errorf("flags %#x", cr.Flags)
	}
	if cr.Key.KeyType != krb5.ETypeAES256CTSHMACSHA196 || len(cr.Key.KeyValue) != 32 {
		t.Errorf("session key %v", cr.Key.KeyType)
	}
	if d := cr.EndTime.Sub(cr.StartTime); d > 2*time.Hour || d < 2*time.Hour-2*time.Second {
		t.Errorf("lifetime %v, asked 2h", d)
	}
	if cr.RenewTill.IsZero() || cr.Ticket.Raw == nil {
		t.Errorf("renew-till %v, ticket raw %d bytes", cr.RenewTill, len(cr.Ticket.Raw))
	}
}

func TestASExchangeSHA2AndNoPreauth(t *testing.T) {
	f := newFakeKDC(t)
	f.requirePreauth = false
	c := f.client(t, func(cfg *Config) { cfg.ETypes = []krb5.EncType{krb5.ETypeAES256CTSHMACSHA384} })
	cr := kinit(t, c, ASOptions{})
	if len(f.requests()) != 1 {
		t.Errorf("%d requests for an account without pre-authentication, want 1", len(f.requests()))
	}
	if cr.Key.KeyType != krb5.ETypeAES256CTSHMACSHA384 {
		t.Errorf("session key %v", cr.Key.KeyType)
	}
	// Without pre-authentication a wrong password shows when the reply
	// does not decrypt.
	_, err := c.ASExchange(context.Background(), alice, Password("wrong"), ASOptions{})
	if err == nil || !strings.Contains(err.Error(), "password incorrect for alice@TEST.REALM") || krb5.CodeOf(err) != krb5.KRBAPErrBadIntegrity {
		t.Errorf("wrong password without preauth: %v", err)
	}
}

func TestASExchangeRefusals(t *testing.T) {
	f := newFakeKDC(t)
	c := f.client(t, nil)
	ctx := context.Background()

	_, err := c.ASExchange(ctx, alice, Password("wrong password"), ASOptions{})
	if krb5.CodeOf(err) != krb5.KDCErrPreauthFailed || !strings.Contains(err.Error(), "password incorrect for alice@TEST.REALM") {
		t.Errorf("wrong password: %v", err)
	}
	var ke *krb5.Error
	if !errors.As(err, &ke) || ke.Reason != "Preauthentication failed" || !strings.Contains(ke.Hint, "password incorrect") {
		t.Errorf("wrong password error: %#v", ke)
	}

	_, err = c.ASExchange(ctx, krb5.PrincipalName{NameString: []string{"bob"}}, Password("x"), ASOptions{})
	if krb5.CodeOf(err) != krb5.KDCErrCPrincipalUnknown || !errors.As(err, &ke) ||
		!strings.Contains(ke.Hint, "check the user name and realm") || ke.Reason != "Client not found in Kerberos database" {
		t.Errorf("unknown user: %v (%#v)", err, ke)
	}

	_, err = c.ASExchange(ctx, alice, Password(testPassword), ASOptions{Service: krb5.NewPrincipalName(krb5.NameTypeSrvHst, "host/nope")})
	if krb5.CodeOf(err) != krb5.KDCErrSPrincipalUnknown {
		t.Errorf("unknown service: %v", err)
	}

	// The KDC's clock is 10 minutes ahead: the hint gives its time.
	f.set(func(f *fakeKDC) { f.now = func() time.Time { return time.Now().Add(10 * time.Minute) } })
	_, err = c.ASExchange(ctx, alice, Password(testPassword), ASOptions{})
	if krb5.CodeOf(err) != krb5.KRBAPErrSkew || !errors.As(err, &ke) || !strings.HasPrefix(ke.Hint, "sync the clock (NTP); the KDC's time is 20") ||
		!strings.Contains(ke.Hint, "behind") {
		t.Errorf("skew: %v (hint %q)", err, ke.Hint)
	}
}

func TestASExchangeKeytab(t *testing.T) {
	f := newFakeKDC(t)
	c := f.client(t, nil)
	kt := &keytab.Keytab{}
	for _, e := range []krb5.EncType{krb5.ETypeAES128CTSHMACSHA196, krb5.ETypeAES256CTSHMACSHA384} {
		kt.Add(keytab.Entry{Principal: alice, Realm: testRealm, KVNO: 1, Key: f.userKey(testUser, e).EncryptionKey()})
	}
	cr, err := c.ASExchange(context.Background(), alice, Keytab(kt), ASOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// Only the keytab's enctypes are offered, in the client's order.
	got := f.requests()[0].req.ReqBody.EType
	if len(got) != 2 || got[0] != krb5.ETypeAES128CTSHMACSHA196 || got[1] != krb5.ETypeAES256CTSHMACSHA384 {
		t.Errorf("offered %v", got)
	}
	if cr.Key.KeyType != krb5.ETypeAES128CTSHMACSHA196 {
		t.Errorf("session key %v", cr.Key.KeyType)
	}

	// A keytab without the principal says what it holds.
	other := &keytab.Keytab{}
	other.Add(keytab.Entry{Principal: krb5.NewPrincipalName(1, "carol"), Realm: testRealm, KVNO: 1, Key: f.userKey("carol", 18).EncryptionKey()})
	_, err = c.ASExchange(context.Background(), alice, Keytab(other), ASOptions{})
	if !errors.Is(err, keytab.ErrNotFound) || !strings.Contains(err.Error(), "carol@TEST.REALM") {
		t.Errorf("keytab without alice: %v", err)
	}

	// A stale key: PREAUTH_FAILED, and the hint is about the keytab.
	stale := &keytab.Keytab{}
	k, _ := kcrypto.StringToKey(18, "old password", testRealm+testUser, nil, kcrypto.Options{})
	stale.Add(keytab.Entry{Principal: alice, Realm: testRealm, KVNO: 1, Key: k.EncryptionKey()})
	_, err = c.ASExchange(context.Background(), alice, Keytab(stale), ASOptions{})
	var ke *krb5.Error
	if krb5.CodeOf(err) != krb5.KDCErrPreauthFailed || !errors.As(err, &ke) || !strings.Contains(ke.Hint, "keytab") {
		t.Errorf("stale keytab: %v", err)
	}
}

// TestASReplyChecks: replies that decrypt but do not answer the request
// are refused.
func TestASReplyChecks(t *testing.T) {
	tests := []struct {
		name  string
		opts  ASOptions
		hook  func(rep *krb5.KDCRep, part *krb5.EncKDCRepPart)
		code  krb5.ErrorCode // 0: accepted
		field string
	}{
		{"accepted", ASOptions{}, nil, 0, ""},
		{"EncTGSRepPart tag accepted", ASOptions{}, func(_ *krb5.KDCRep, p *krb5.EncKDCRepPart) { p.Tag = krb5.MsgEncTGSRepPart }, 0, ""},
		{"nonce mismatch", ASOptions{}, func(_ *krb5.KDCRep, p *krb5.EncKDCRepPart) { p.Nonce++ }, krb5.KRBAPErrModified, "nonce"},
		{"other client", ASOptions{}, func(r *krb5.KDCRep, _ *krb5.EncKDCRepPart) { r.CName = krb5.NewPrincipalName(1, "mallory") }, krb5.KRBAPErrModified, "client"},
		{"other client realm", ASOptions{}, func(r *krb5.KDCRep, _ *krb5.EncKDCRepPart) { r.CRealm = "EVIL" }, krb5.KRBAPErrModified, "client"},
		{"canonical client name allowed", ASOptions{Canonicalize: true}, func(r *krb5.KDCRep, _ *krb5.EncKDCRepPart) { r.CName = krb5.NewPrincipalName(1, "Alice") }, 0, ""},
		{"other server", ASOptions{}, func(_ *krb5.KDCRep, p *krb5.EncKDCRepPart) {
			p.SName = krb5.NewPrincipalName(2, "krbtgt/EVIL")
		}, krb5.KRBAPErrModified, "server"},
		{"ticket for another server", ASOptions{}, func(r *krb5.KDCRep, _ *krb5.EncKDCRepPart) {
			r.Ticket.SName = krb5.NewPrincipalName(2, "host/evil")
		}, krb5.KRBAPErrModified, "ticket server"},
		{"endtime beyond till", ASOptions{Lifetime: time.Hour}, func(_ *krb5.KDCRep, p *krb5.EncKDCRepPart) {
			p.EndTime = p.EndTime.Add(time.Hour)
		}, krb5.KRBAPErrModified, "endtime"},
		{"renew-till beyond rtime", ASOptions{RenewLifetime: time.Hour}, func(_ *krb5.KDCRep, p *krb5.EncKDCRepPart) {
			p.RenewTill = p.RenewTill.Add(time.Hour)
		}, krb5.KRBAPErrModified, "renew-till"},
		{"session key of an enctype not offered", ASOptions{}, func(_ *krb5.KDCRep, p *krb5.EncKDCRepPart) {
			p.Key = krb5.EncryptionKey{KeyType: krb5.ETypeRC4HMAC, KeyValue: make([]byte, 16)}
		}, krb5.KRBAPErrModified, "session key enctype"},
		{"ticket already expired", ASOptions{}, func(_ *krb5.KDCRep, p *krb5.EncKDCRepPart) {
			p.EndTime = p.AuthTime.Add(-time.Second)
		}, krb5.KRBAPErrModified, "endtime"},
		{"start far from local clock", ASOptions{}, func(_ *krb5.KDCRep, p *krb5.EncKDCRepPart) {
			p.StartTime = p.StartTime.Add(-time.Hour)
		}, krb5.KRBAPErrSkew, ""},
	}
	f := newFakeKDC(t)
	c := f.client(t, nil)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f.set(func(f *fakeKDC) { f.asHook = tc.hook })
			cr, err := c.ASExchange(context.Background(), alice, Password(testPassword), tc.opts)
			if tc.code == 0 {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				if tc.opts.Canonicalize && cr.Client.Name.String() != "Alice" {
					t.Errorf("canonical name not taken: %s", cr.Client)
				}
				return
			}
			if krb5.CodeOf(err) != tc.code {
				t.Fatalf("got %v, want code %v", err, tc.code)
			}
			var re *ReplyError
			if tc.field != "" && (!errors.As(err, &re) || re.Field != tc.field) {
				t.Errorf("got %v, want a ReplyError on %s", err, tc.field)
			}
		})
	}
}

func TestTGSExchange(t *testing.T) {
	f := newFakeKDC(t)
	c := f.client(t, nil)
	tgt := kinit(t, c, ASOptions{Forwardable: true})
	for _, subkey := range []bool{false, true} {
		cr, err := c.TGSExchange(context.Background(), tgt, svcName(), TGSOptions{Subkey: subkey})
		if err != nil {
			t.Fatalf("subkey %v: %v", subkey, err)
		}
		f.mu.Lock()
		auth := f.lastAuth
		f.mu.Unlock()
		if (auth.Subkey != nil) != subkey {
			t.Errorf("subkey in authenticator: %v, want %v", auth.Subkey != nil, subkey)
		}
		if auth.Cksum.CksumType != krb5.CksumHMACSHA196AES256 {
			t.Errorf("checksum type %v for an aes256-sha1 session key", auth.Cksum.CksumType)
		}
		if cr.Server.String() != testService+"@"+testRealm || cr.Client.String() != tgt.Client.String() {
			t.Errorf("names %s -> %s", cr.Client, cr.Server)
		}
		if !cr.Flags.Has(krb5.TktFlagForwardable) || cr.Ticket.EncPart.KVNO != 2 {
			t.Errorf("flags %#x kvno %d", cr.Flags, cr.Ticket.EncPart.KVNO)
		}
		last := f.requests()[len(f.requests())-1].req.ReqBody
		if !last.KDCOptions.Has(krb5.KDCOptForwardable) || last.KDCOptions.Has(krb5.KDCOptRenewable) || last.CName != nil {
			t.Errorf("TGS-REQ options %#x cname %v", last.KDCOptions, last.CName)
		}
	}

	tests := []struct {
		name  string
		opts  TGSOptions
		hook  func(rep *krb5.KDCRep, part *krb5.EncKDCRepPart)
		code  krb5.ErrorCode
		field string
	}{
		{"nonce mismatch", TGSOptions{Subkey: true}, func(_ *krb5.KDCRep, p *krb5.EncKDCRepPart) { p.Nonce ^= 1 }, krb5.KRBAPErrModified, "nonce"},
		{"other client", TGSOptions{}, func(r *krb5.KDCRep, _ *krb5.EncKDCRepPart) { r.CName = krb5.NewPrincipalName(1, "mallory") }, krb5.KRBAPErrModified, "client"},
		{"other service", TGSOptions{}, func(_ *krb5.KDCRep, p *krb5.EncKDCRepPart) { p.SName = krb5.NewPrincipalName(3, "host/evil") }, krb5.KRBAPErrModified, "server"},
		{"referral refused", TGSOptions{Canonicalize: true}, func(r *krb5.KDCRep, p *krb5.EncKDCRepPart) {
			p.SName = TGTName("OTHER.REALM")
			r.Ticket.SName = p.SName
		}, krb5.KDCErrWrongRealm, ""},
		{"endtime beyond the TGT", TGSOptions{}, func(_ *krb5.KDCRep, p *krb5.EncKDCRepPart) { p.EndTime = p.EndTime.Add(time.Hour) }, krb5.KRBAPErrModified, "endtime"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f.set(func(f *fakeKDC) { f.tgsHook = tc.hook })
			defer f.set(func(f *fakeKDC) { f.tgsHook = nil })
			_, err := c.TGSExchange(context.Background(), tgt, svcName(), tc.opts)
			if krb5.CodeOf(err) != tc.code {
				t.Fatalf("got %v, want %v", err, tc.code)
			}
			var re *ReplyError
			if tc.field != "" && (!errors.As(err, &re) || re.Field != tc.field) {
				t.Errorf("got %v, want a ReplyError on %s", err, tc.field)
			}
		})
	}

	_, err := c.TGSExchange(context.Background(), tgt, krb5.NewPrincipalName(3, "host/unknown"), TGSOptions{})
	var ke *krb5.Error
	if krb5.CodeOf(err) != krb5.KDCErrSPrincipalUnknown || !errors.As(err, &ke) || !strings.Contains(ke.Hint, "host/unknown@TEST.REALM") ||
		!strings.HasPrefix(err.Error(), "getting a ticket for host/unknown@TEST.REALM: ") {
		t.Errorf("unknown service: %v", err)
	}

	expired := *tgt
	expired.EndTime = time.Now().Add(-time.Minute)
	n := len(f.requests())
	if _, err := c.TGSExchange(context.Background(), &expired, svcName(), TGSOptions{}); krb5.CodeOf(err) != krb5.KRBAPErrTktExpired {
		t.Errorf("expired TGT: %v", err)
	}
	if len(f.requests()) != n {
		t.Error("an expired TGT was sent to the KDC")
	}
	if _, err := c.TGSExchange(context.Background(), &Credentials{Server: ccache.Principal{Realm: testRealm, Name: svcName()}}, svcName(), TGSOptions{}); err == nil {
		t.Error("a service ticket was accepted as a TGT")
	}
}

func TestRenew(t *testing.T) {
	f := newFakeKDC(t)
	c := f.client(t, nil)
	tgt := kinit(t, c, ASOptions{RenewLifetime: 24 * time.Hour, Lifetime: time.Hour})
	r, err := c.Renew(context.Background(), tgt)
	if err != nil {
		t.Fatal(err)
	}
	last := f.requests()[len(f.requests())-1].req.ReqBody
	if !last.KDCOptions.Has(krb5.KDCOptRenew|krb5.KDCOptRenewable) || !last.SName.Equal(tgt.Server.Name) || !last.Till.Equal(tgt.RenewTill) ||
		!last.RTime.Equal(tgt.RenewTill) {
		t.Errorf("renew request: options %#x sname %v till %v rtime %v", last.KDCOptions, last.SName, last.Till, last.RTime)
	}
	if !r.Flags.Has(krb5.TktFlagRenewable) {
		t.Errorf("renewed ticket is not renewable: %#x", r.Flags)
	}
	if r.Server.String() != tgt.Server.String() || !r.RenewTill.Equal(tgt.RenewTill) || string(r.Key.KeyValue) == string(tgt.Key.KeyValue) {
		t.Errorf("renewed: %+v", r)
	}
	if r.Flags.Has(krb5.TktFlagInitial) {
		t.Error("renewed ticket still initial")
	}

	plain := kinit(t, c, ASOptions{})
	var ke *krb5.Error
	if _, err := c.Renew(context.Background(), plain); !errors.As(err, &ke) || ke.Code != krb5.KDCErrBadOption || !strings.Contains(ke.Hint, "kinit -r") {
		t.Errorf("renewing a non-renewable ticket: %v", err)
	}
	over := *tgt
	over.RenewTill = time.Now().Add(-time.Second)
	if _, err := c.Renew(context.Background(), &over); krb5.CodeOf(err) != krb5.KRBAPErrTktExpired {
		t.Errorf("renewing past renew-till: %v", err)
	}
}

func TestContextCancel(t *testing.T) {
	f := newFakeKDC(t)
	f.dropUDP = true
	c := f.client(t, func(cfg *Config) { cfg.Timeout = time.Minute })
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.ASExchange(ctx, alice, Password(testPassword), ASOptions{})
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 5*time.Second {
		t.Errorf("after %v: %v", time.Since(start), err)
	}
}

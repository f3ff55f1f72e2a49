package interop

import (
	"net/netip"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/warden-auth/warden/admin"
	"github.com/warden-auth/warden/internal/testkit"
	"github.com/warden-auth/warden/krb5"
	"github.com/warden-auth/warden/krb5/ccache"
	"github.com/warden-auth/warden/krb5/kdc"
	"github.com/warden-auth/warden/store"
)

// Warden's FAST KDC (RFC 6113, krb5/kdc) against MIT's kinit and kvno,
// FAST clients we did not write: MIT's KRB5_TRACE says what MIT did
// (armor, encrypted challenge, FAST reply key), and the KDC's Result for
// every request says what Warden saw.

const (
	fastUser     = "alice"
	fastPassword = "correct horse battery"
	fastBob      = "bob" // fast-required
	fastBobPW    = "bob's password 1"
)

// kdcResults collects the KDC's Result of every request.
type kdcResults struct {
	mu  sync.Mutex
	all []kdc.Result
}

func (r *kdcResults) add(_ netip.AddrPort, _ string, res kdc.Result, _ time.Duration) {
	r.mu.Lock()
	r.all = append(r.all, res)
	r.mu.Unlock()
}

// take returns the results so far and forgets them.
func (r *kdcResults) take() []kdc.Result {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.all
	r.all = nil
	return out
}

// wardenFAST is a Warden realm with alice, bob (fast-required), a web
// service and the computer WS01$, served on 127.0.0.1, and an MIT client
// environment (TCP) whose armor cache holds WS01$'s TGT from MIT kinit -k.
type wardenFAST struct {
	r       *testkit.Realm
	k       *testkit.KDC
	c       *testkit.Client
	armor   string // FILE: ccache with WS01$'s TGT
	results *kdcResults
}

func newWardenFAST(t *testing.T, kdcAddr func(wardenAddr string) string) *wardenFAST {
	t.Helper()
	testkit.RequirePeer(t, "kinit", "klist", "kvno")
	r := testkit.NewRealm(t, wardenRealm)
	r.AddUser(t, fastUser, fastPassword, admin.UserOptions{})
	r.AddUser(t, fastBob, fastBobPW, admin.UserOptions{})
	ctx := t.Context()
	if _, err := r.Admin.SetFlags(ctx, fastBob, store.FlagFASTRequired, 0); err != nil {
		t.Fatal(err)
	}
	r.AddService(t, "HTTP/web.warden.test", admin.ServiceOptions{})
	if _, err := r.Admin.AddComputer(ctx, "ws01", admin.KeyOptions{}); err != nil {
		t.Fatal(err)
	}
	kt, _, err := r.Admin.Keytab(ctx, "WS01$", false)
	if err != nil {
		t.Fatal(err)
	}
	ktPath := filepath.Join(t.TempDir(), "ws01.keytab")
	if err := kt.WriteFile(ktPath); err != nil {
		t.Fatal(err)
	}
	res := &kdcResults{}
	k := testkit.StartKDC(t, r, kdc.Config{}, kdc.ServeConfig{OnResult: res.add})
	addr := k.Addr
	if kdcAddr != nil {
		addr = kdcAddr(k.Addr)
	}
	c := testkit.NewClient(t, wardenRealm, addr, true)
	armor := "FILE:" + filepath.Join(c.Dir, "armor.ccache")
	// The computer's own login needs no armor: its key is random.
	if out, err := c.Run(t, "", "kinit", "-k", "-t", ktPath, "-c", armor, "WS01$@"+wardenRealm); err != nil {
		t.Fatalf("kinit -k WS01$: %v\n%s", err, out)
	}
	res.take()
	return &wardenFAST{r: r, k: k, c: c, armor: armor, results: res}
}

// mustTrace fails unless every pattern occurs in MIT's trace.
func mustTrace(t *testing.T, trace string, patterns ...string) {
	t.Helper()
	for _, p := range patterns {
		if !regexp.MustCompile(p).MatchString(trace) {
			t.Errorf("MIT trace lacks %q:\n%s", p, trace)
		}
	}
}

// MIT kinit -T against Warden. The computer cache from MIT kinit -k
// already says "fast_avail" (Warden answered MIT's PA-REQ-ENC-PA-REP with
// PA-FX-FAST in the encrypted padata, RFC 6806), so MIT armors its very
// first request; it proves the password by encrypted challenge, checks
// the KDC's challenge and decrypts the reply with the FAST reply key.
// Then MIT kvno armors its TGS-REQ with the TGT (implicit armor) and
// Warden answers inside FAST.
func TestMITKinitArmoredAgainstWarden(t *testing.T) {
	f := newWardenFAST(t, nil)
	out, err := f.c.Run(t, "", "klist", "-C", "-c", f.armor)
	if err != nil || !strings.Contains(out, "fast_avail") {
		t.Errorf("MIT did not record FAST negotiation in the computer's cache: %v\n%s", err, out)
	}

	trace, err := f.c.RunTraced(t, fastPassword+"\n", "kinit", "-T", f.armor, fastUser+"@"+wardenRealm)
	if err != nil {
		t.Fatalf("kinit -T: %v\n%s", err, trace)
	}
	mustTrace(t, trace,
		`Using FAST due to armor ccache negotiation result`,
		`FAST armor key: aes256-cts`,
		`Encoding request body and padata into FAST request`,
		`Received error from KDC: .*/Additional pre-authentication required`,
		`Processing preauth types: PA-FX-ERROR \(137\), PA-ETYPE-INFO2 \(19\), PA-ENCRYPTED-CHALLENGE \(138\), PA-FX-COOKIE \(133\)`,
		`Produced preauth for next request: PA-FX-COOKIE \(133\), PA-ENCRYPTED-CHALLENGE \(138\)`,
		// The second encrypted_challenge run verifies the KDC's challenge.
		`(?s)Processing preauth types: PA-ETYPE-INFO2 \(19\), PA-ENCRYPTED-CHALLENGE \(138\).*Preauth module encrypted_challenge \(138\) \(real\) returned: 0/Success`,
		`FAST reply key: aes256-cts`,
		`Decrypted AS reply`,
		`FAST negotiation: available`,
	)
	if strings.Contains(trace, "PA-ENC-TIMESTAMP") {
		t.Error("MIT used encrypted timestamp")
	}
	res := f.results.take()
	if len(res) != 2 {
		t.Fatalf("KDC saw %d requests, want the two armored rounds: %+v", len(res), res)
	}
	for i, r := range res {
		if !r.FAST || r.ArmorClient != "WS01$@"+wardenRealm || r.Client != fastUser+"@"+wardenRealm {
			t.Errorf("request %d: %+v", i, r)
		}
	}
	if res[0].Code != krb5.KDCErrPreauthRequired || !res[1].OK() {
		t.Errorf("rounds: %v then %v", res[0].Code, res[1].Code)
	}
	if out, err := f.c.Run(t, "", "klist"); err != nil || !strings.Contains(out, "krbtgt/"+wardenRealm+"@"+wardenRealm) {
		t.Fatalf("klist: %v\n%s", err, out)
	}

	trace, err = f.c.RunTraced(t, "", "kvno", "HTTP/web.warden.test")
	if err != nil {
		t.Fatalf("kvno: %v\n%s", err, trace)
	}
	mustTrace(t, trace, `Encoding request body and padata into FAST request`, `Decoding FAST response`,
		`FAST reply key: aes256-cts`, `TGS request result: 0/Success`)
	res = f.results.take()
	if len(res) != 1 || res[0].Op != "TGS" || !res[0].OK() || !res[0].FAST || res[0].ArmorClient != "" {
		t.Fatalf("TGS results %+v", res)
	}
}

// An armor cache without the "fast_avail" entry (a client that did not
// learn FAST from the computer's login): MIT's first request is
// unarmored, Warden's PREAUTH_REQUIRED lists PA-FX-FAST, and MIT upgrades
// to FAST (RFC 6113 5.4.2's way for a KDC to offer FAST).
func TestMITKinitUpgradesToFAST(t *testing.T) {
	f := newWardenFAST(t, nil)
	path := strings.TrimPrefix(f.armor, "FILE:")
	cc, err := ccache.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	var kept []ccache.Credential
	for _, cr := range cc.Credentials {
		if !cr.IsConfig() {
			kept = append(kept, cr)
		}
	}
	cc.Credentials = kept
	if err := cc.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	trace, err := f.c.RunTraced(t, fastPassword+"\n", "kinit", "-T", f.armor, fastUser+"@"+wardenRealm)
	if err != nil {
		t.Fatalf("kinit -T: %v\n%s", err, trace)
	}
	mustTrace(t, trace, `Upgrading to FAST due to presence of PA_FX_FAST in reply`,
		`Preauth module encrypted_challenge \(138\) \(real\) returned: 0/Success`, `FAST reply key`)
	res := f.results.take()
	if len(res) != 3 || res[0].FAST || !res[1].FAST || !res[2].OK() || !res[2].FAST {
		t.Fatalf("results %+v", res)
	}
}

// A wrong password inside FAST: Warden's PREAUTH_FAILED travels in
// PA-FX-ERROR, MIT opens it and reports "Password incorrect", and the
// KDC's log line says it was the encrypted challenge that failed.
func TestMITKinitArmoredWrongPassword(t *testing.T) {
	f := newWardenFAST(t, nil)
	trace, err := f.c.RunTraced(t, "not the password\n", "kinit", "-T", f.armor, fastUser+"@"+wardenRealm)
	if err == nil {
		t.Fatalf("kinit succeeded:\n%s", trace)
	}
	mustTrace(t, trace, `Received error from KDC: .*/Preauthentication failed\n.*Decoding FAST response`,
		`kinit: Password incorrect while getting initial credentials`)
	var failed bool
	for _, r := range f.results.take() {
		if r.Code == krb5.KDCErrPreauthFailed {
			failed = true
			if !r.FAST || r.Detail != "wrong password (encrypted challenge)" || r.Reason != "password incorrect for alice@"+wardenRealm {
				t.Errorf("result %+v", r)
			}
		}
	}
	if !failed {
		t.Error("the KDC recorded no PREAUTH_FAILED")
	}
	acct, err := f.r.Store.Account(t.Context(), fastUser)
	if err != nil || acct.Lockout.BadCount != 1 {
		t.Errorf("lockout count %d (%v)", acct.Lockout.BadCount, err)
	}
}

// bob's account is fast-required. MIT kinit without armor is refused
// before any key is used: the KRB-ERROR on the wire (recorded between MIT
// and Warden) is PREAUTH_REQUIRED whose only method is PA-FX-FAST and
// whose e-text says what to do. MIT kinit does not print e-text; it says
// it could not pre-authenticate. With -T the same kinit succeeds, armored.
func TestMITKinitFASTRequired(t *testing.T) {
	var rec *kdcRecorder
	f := newWardenFAST(t, func(addr string) string {
		rec = startRecorder(t, addr)
		return rec.Addr()
	})
	rec.Reset()
	out, err := f.c.Run(t, fastBobPW+"\n", "kinit", fastBob+"@"+wardenRealm)
	if err == nil {
		t.Fatalf("unarmored kinit of a fast-required account succeeded:\n%s", out)
	}
	t.Logf("MIT kinit without armor: %s", strings.TrimSpace(out))
	var saw bool
	for _, ex := range rec.Exchanges() {
		var ke krb5.KRBError
		if ke.Unmarshal(ex.Reply) != nil {
			continue
		}
		saw = true
		want := "FAST armor is required for this account; armor the request with a computer's TGT (MIT: kinit -T <computer ccache>; warden kinit --armor-keytab or --armor-ccache)"
		if ke.ErrorCode != krb5.KDCErrPreauthRequired || ke.EText != want {
			t.Errorf("refusal on the wire: %v %q", ke.ErrorCode, ke.EText)
		}
		md, err := ke.MethodData()
		if err != nil || len(md) != 1 || md[0].Type != krb5.PAFXFast {
			t.Errorf("refusal e-data %v (%v), want PA-FX-FAST only", md, err)
		}
	}
	if !saw {
		t.Fatal("recorded no KRB-ERROR")
	}
	for _, r := range f.results.take() {
		if r.FAST || r.Detail != "unarmored AS-REQ for a FAST-required account; told the client to armor it" {
			t.Errorf("result %+v", r)
		}
	}
	if out, err := f.c.Run(t, fastBobPW+"\n", "kinit", "-T", f.armor, fastBob+"@"+wardenRealm); err != nil {
		t.Fatalf("armored kinit: %v\n%s", err, out)
	}
	if out, err := f.c.Run(t, "", "kvno", "HTTP/web.warden.test"); err != nil {
		t.Fatalf("kvno (armored TGS of a fast-required account): %v\n%s", err, out)
	}
	res := f.results.take()
	for _, r := range res {
		if !r.FAST || (!r.OK() && r.Code != krb5.KDCErrPreauthRequired) {
			t.Errorf("armored result %+v", r)
		}
	}
	if len(res) != 3 || !res[1].OK() || res[2].Op != "TGS" || !res[2].OK() {
		t.Errorf("armored AS (two rounds) and TGS: %+v", res)
	}
}

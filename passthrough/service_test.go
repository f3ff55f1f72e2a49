package passthrough

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/warden-auth/warden/admin"
	"github.com/warden-auth/warden/internal/testkit"
	"github.com/warden-auth/warden/ntlm"
	"github.com/warden-auth/warden/store"
)

const realmName = "TEST.WARDEN"

type env struct {
	r     *testkit.Realm
	svc   *Service
	realm store.Realm
	now   time.Time
}

func newEnv(t *testing.T) *env {
	t.Helper()
	r := testkit.NewRealm(t, realmName)
	ctx := context.Background()
	if _, err := r.Admin.AddGroup(ctx, "web-admins", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Admin.AddGroup(ctx, "staff", ""); err != nil {
		t.Fatal(err)
	}
	if err := r.Admin.AddMembers(ctx, "staff", "web-admins"); err != nil {
		t.Fatal(err)
	}
	r.AddUser(t, "alice", "alice password", admin.UserOptions{Groups: []string{"web-admins"}})
	if _, err := r.Admin.AddComputer(ctx, "WEB01", admin.KeyOptions{}); err != nil {
		t.Fatal(err)
	}
	realm, _ := r.Store.Realm(ctx)
	now := time.Now()
	svc, err := New(Config{Store: r.Store, Time: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	return &env{r: r, svc: svc, realm: realm, now: now}
}

// answer runs an NTLM client against a server named computer and
// returns what that server forwards to the AA.
func (e *env) answer(t *testing.T, user, password, computer string) (*ntlm.ServerContext, *ntlm.Validation) {
	t.Helper()
	c := &ntlm.Client{User: user, Password: password, Time: func() time.Time { return e.now }}
	sctx, ch, err := ntlm.NewChallenge(ntlm.ServerConfig{NetBIOSDomain: e.realm.NetBIOS, NetBIOSComputer: computer,
		Time: func() time.Time { return e.now }}, c.Negotiate())
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
	return sctx, v
}

func TestValidateNTLM(t *testing.T) {
	e := newEnv(t)
	sctx, v := e.answer(t, "alice", "alice password", "WEB01")
	res, err := e.svc.ValidateNTLM(context.Background(), "WEB01$", v)
	if err != nil {
		t.Fatal(err)
	}
	id := res.Identity
	if id.Principal() != "alice@"+realmName || !strings.HasPrefix(id.SID, e.realm.DomainSID+"-") {
		t.Fatalf("identity %+v", id)
	}
	for _, g := range []string{"web-admins", "staff", "Domain Users"} {
		if !id.InGroup(g) {
			t.Errorf("not in %s (nested groups expanded?): %+v", g, id.Groups)
		}
	}
	// The server finishes the context with the key the AA returned.
	if _, err := sctx.Finish(res.SessionBaseKey, nil, false); err != nil {
		t.Fatal(err)
	}
}

func TestValidateNTLMRefusals(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name       string
		setup      func(t *testing.T, e *env)
		user, pw   string
		computer   string // the server the client answered
		caller     string // the server asking the AA
		wantStatus ntlm.Status
		wantReason string
	}{
		{name: "wrong password", user: "alice", pw: "nope", wantStatus: ntlm.StatusWrongPassword, wantReason: "does not match the password"},
		{name: "unknown user", user: "mallory", pw: "x", wantStatus: ntlm.StatusNoSuchUser, wantReason: `no account "mallory"`},
		{name: "disabled", setup: func(t *testing.T, e *env) {
			e.r.Admin.SetFlags(ctx, "alice", store.FlagDisabled, 0)
		}, user: "alice", pw: "alice password", wantStatus: ntlm.StatusAccountDisabled, wantReason: "is disabled"},
		{name: "relay to another server", user: "alice", pw: "alice password", computer: "EVIL",
			wantStatus: ntlm.StatusLogonFailure, wantReason: `relay refused: the client answered a challenge from server "EVIL", but WEB01$ asked`},
		{name: "caller not a computer", user: "alice", pw: "alice password", caller: "alice",
			wantStatus: ntlm.StatusAccountRestriction, wantReason: "only enabled computer accounts"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			if tt.setup != nil {
				tt.setup(t, e)
			}
			computer, caller := tt.computer, tt.caller
			if computer == "" {
				computer = "WEB01"
			}
			if caller == "" {
				caller = "WEB01$"
			}
			_, v := e.answer(t, tt.user, tt.pw, computer)
			_, err := e.svc.ValidateNTLM(ctx, caller, v)
			var ne *ntlm.Error
			if !errors.As(err, &ne) || ne.Status != tt.wantStatus || !strings.Contains(ne.Reason, tt.wantReason) {
				t.Fatalf("err = %v; want %v with %q", err, tt.wantStatus, tt.wantReason)
			}
		})
	}
}

// TestLockoutCountsExactly sends N wrong answers at once: the account
// records exactly N failures and locks at the threshold.
func TestLockoutCountsExactly(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	const n = 6
	vs := make([]*ntlm.Validation, n)
	for i := range vs {
		_, vs[i] = e.answer(t, "alice", "wrong", "WEB01")
	}
	var wg sync.WaitGroup
	for _, v := range vs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e.svc.ValidateNTLM(ctx, "WEB01$", v)
		}()
	}
	wg.Wait()
	a, err := e.r.Store.Account(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if a.Lockout.BadCount != n {
		t.Fatalf("bad count %d after %d failures", a.Lockout.BadCount, n)
	}
	// Up to the threshold (10 by default), then locked: even the right
	// password is refused with the reason.
	for i := n; i < e.realm.Policy.LockoutThreshold; i++ {
		_, v := e.answer(t, "alice", "wrong", "WEB01")
		e.svc.ValidateNTLM(ctx, "WEB01$", v)
	}
	_, v := e.answer(t, "alice", "alice password", "WEB01")
	_, err = e.svc.ValidateNTLM(ctx, "WEB01$", v)
	if !errors.Is(err, &ntlm.Error{Status: ntlm.StatusAccountLockedOut}) {
		t.Fatalf("after %d failures: %v", e.realm.Policy.LockoutThreshold, err)
	}
}

// TestCacheSeesChanges: validations are served from a cache checked
// against the store's generation, so an admin change is seen after the
// poll interval, and a failure this service records at once.
func TestCacheSeesChanges(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	clock := e.now
	svc, err := New(Config{Store: e.r.Store, Time: func() time.Time { return clock }, PollInterval: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	validate := func(pw string) error {
		_, v := e.answer(t, "alice", pw, "WEB01")
		_, err := svc.ValidateNTLM(ctx, "WEB01$", v)
		return err
	}
	if err := validate("alice password"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.r.Admin.AddGroup(ctx, "auditors", ""); err != nil {
		t.Fatal(err)
	}
	if err := e.r.Admin.AddMembers(ctx, "auditors", "alice"); err != nil {
		t.Fatal(err)
	}
	e.r.Admin.SetFlags(ctx, "alice", store.FlagDisabled, 0)
	if err := validate("alice password"); err != nil {
		t.Fatalf("within the poll interval the cached state applies: %v", err)
	}
	clock = clock.Add(time.Minute)
	e.now = clock
	var ne *ntlm.Error
	if err := validate("alice password"); !errors.As(err, &ne) || ne.Status != ntlm.StatusAccountDisabled {
		t.Fatalf("after the poll interval: %v, want disabled", err)
	}
	e.r.Admin.SetFlags(ctx, "alice", 0, store.FlagDisabled)
	clock = clock.Add(time.Minute)
	e.now = clock
	_, v := e.answer(t, "alice", "alice password", "WEB01")
	res, err := svc.ValidateNTLM(ctx, "WEB01$", v)
	if err != nil || !res.Identity.InGroup("auditors") {
		t.Fatalf("re-enabled: %v, groups %v", err, res)
	}
	// A wrong password is counted and seen by the next validation at once.
	for i := 0; i < e.realm.Policy.LockoutThreshold; i++ {
		validate("nope")
	}
	if err := validate("alice password"); !errors.As(err, &ne) || ne.Status != ntlm.StatusAccountLockedOut {
		t.Fatalf("after %d failures: %v, want locked", e.realm.Policy.LockoutThreshold, err)
	}
}

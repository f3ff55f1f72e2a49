// Package storetest is the conformance suite of the account DB contract
// (store.Store). Every backend's tests call Run; a backend that passes it
// can replace another without the KDC or admin code noticing.
//
// The suite checks behaviour the contract states (sentinel errors,
// uniqueness, cascades, optimistic concurrency, transitive groups,
// lockout, the generation counter) and the choices store/sqlite made
// where the contract is silent, which are called out in the test names
// and comments so a second backend can follow them.
//
// Times the suite writes are UTC and whole microseconds, so a backend
// with microsecond timestamps passes; times are compared with Equal.
package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/warden-auth/warden/store"
)

// Run runs the conformance suite. open must return a new, empty store
// for one subtest and arrange for it to be closed (t.Cleanup); subtests
// run in parallel.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		f    func(t *testing.T, s store.Store)
	}{
		{"Realm", testRealm},
		{"AccountCreateGet", testAccountCreateGet},
		{"AccountExplicitRID", testAccountExplicitRID},
		{"AccountByPrincipal", testAccountByPrincipal},
		{"AccountByPrincipalOrder", testAccountByPrincipalOrder},
		{"Accounts", testAccounts},
		{"AccountUpdate", testAccountUpdate},
		{"AccountUpdateConflicts", testAccountUpdateConflicts},
		{"AccountUpdateKeepsLockout", testAccountUpdateKeepsLockout},
		{"AccountDeleteCascades", testAccountDeleteCascades},
		{"Uniqueness", testUniqueness},
		{"SecretsRoundTrip", testSecretsRoundTrip},
		{"Groups", testGroups},
		{"GroupCycles", testGroupCycles},
		{"GroupMembershipErrors", testGroupMembershipErrors},
		{"Claims", testClaims},
		{"Lockout", testLockout},
		{"LockoutDisabled", testLockoutDisabled},
		{"Generation", testGeneration},
		{"ConcurrentCreates", testConcurrentCreates},
		{"ConcurrentUpdates", testConcurrentUpdates},
		{"CA", testCA},
		{"Certs", testCerts},
		{"CertRevoke", testCertRevoke},
		{"CertBindings", testCertBindings},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.f(t, open(t))
		})
	}
}

// t0 is a fixed instant for times the suite stores.
var t0 = time.Date(2030, 1, 2, 3, 4, 5, 678_901_000, time.UTC)

func realmRecord() store.Realm {
	return store.Realm{
		Name:      "EXAMPLE.TEST",
		DomainSID: "S-1-5-21-1111-2222-3333",
		NetBIOS:   "EXAMPLE",
		Policy:    store.DefaultPolicy,
		MaxLife:   10 * time.Hour,
		MaxRenew:  7 * 24 * time.Hour,
		Created:   t0,
	}
}

// Secrets covers every field: AES keys with salt and s2kparams, an RC4
// key without salt, two kvnos, the NT hash and HA1s of two algorithms.
func Secrets(kvno uint32) store.Secrets {
	fill := func(b byte, n int) []byte { return bytes.Repeat([]byte{b + byte(kvno)}, n) }
	return store.Secrets{
		Keys: []store.Key{
			{EType: 18, KVNO: kvno, Salt: "EXAMPLE.TESTalice", S2KParams: []byte{0, 0, 0x10, 0}, Value: fill(0x10, 32)},
			{EType: 17, KVNO: kvno, Salt: "EXAMPLE.TESTalice", Value: fill(0x20, 16)},
			{EType: 23, KVNO: kvno, Value: fill(0x30, 16)},
			{EType: 18, KVNO: kvno - 1, Salt: "EXAMPLE.TESTalice", Value: fill(0x40, 32)},
		},
		NTHash: fill(0x50, 16),
		HA1s: []store.HA1{
			{Algorithm: "SHA-256", Realm: "example.test", Value: fill(0x60, 32)},
			{Algorithm: "MD5", Realm: "example.test", Value: fill(0x70, 16)},
		},
	}
}

func user(name string) *store.Account {
	return &store.Account{
		Kind:            store.KindUser,
		Name:            name,
		DisplayName:     "User " + name,
		Flags:           store.FlagPreauthRequired,
		PasswordLastSet: t0,
		Secrets:         Secrets(2),
	}
}

func computer(name string, spns ...string) *store.Account {
	return &store.Account{
		Kind:    store.KindComputer,
		Name:    name,
		SPNs:    spns,
		Flags:   store.FlagPreauthRequired,
		Secrets: Secrets(1),
	}
}

func create(t *testing.T, s store.Store, a *store.Account) *store.Account {
	t.Helper()
	if err := s.CreateAccount(t.Context(), a); err != nil {
		t.Fatalf("CreateAccount(%s): %v", a.Name, err)
	}
	return a
}

func createGroup(t *testing.T, s store.Store, name string) *store.Group {
	t.Helper()
	g := &store.Group{Name: name, Description: "the " + name + " group"}
	if err := s.CreateGroup(t.Context(), g); err != nil {
		t.Fatalf("CreateGroup(%s): %v", name, err)
	}
	return g
}

func ok(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s: got error %v, want %v", what, err, want)
	}
}

// norm returns a copy of a with every time in UTC, so reflect.DeepEqual
// compares instants, not locations.
func norm(a *store.Account) store.Account {
	c := *a
	for _, p := range []*time.Time{&c.PasswordLastSet, &c.PasswordExpires, &c.AccountExpires,
		&c.Created, &c.Modified, &c.Lockout.LastFailure, &c.Lockout.LockedUntil} {
		*p = p.UTC()
	}
	return c
}

func sameAccount(t *testing.T, what string, got, want *store.Account) {
	t.Helper()
	if g, w := norm(got), norm(want); !reflect.DeepEqual(g, w) {
		t.Fatalf("%s:\n got %+v\nwant %+v", what, g, w)
	}
}

func groupNames(gs []*store.Group) []string {
	var names []string
	for _, g := range gs {
		names = append(names, g.Name)
	}
	return names
}

func testRealm(t *testing.T, s store.Store) {
	ctx := t.Context()
	_, err := s.Realm(ctx)
	wantErr(t, "Realm before InitRealm", err, store.ErrNoRealm)
	wantErr(t, "UpdateRealm before InitRealm", s.UpdateRealm(ctx, realmRecord()), store.ErrNoRealm)

	r := realmRecord()
	ok(t, s.InitRealm(ctx, r))
	got, err := s.Realm(ctx)
	ok(t, err)
	if !got.Created.Equal(r.Created) {
		t.Fatalf("Created = %v, want %v", got.Created, r.Created)
	}
	got.Created = r.Created
	if !reflect.DeepEqual(got, r) {
		t.Fatalf("Realm:\n got %+v\nwant %+v", got, r)
	}

	wantErr(t, "second InitRealm", s.InitRealm(ctx, r), store.ErrExists)

	r.Policy.LockoutThreshold = 3
	r.Policy.MaxAge = 90 * 24 * time.Hour
	r.MaxLife = time.Hour
	r.FASTRequired = true
	ok(t, s.UpdateRealm(ctx, r))
	got, err = s.Realm(ctx)
	ok(t, err)
	got.Created = r.Created
	if !reflect.DeepEqual(got, r) {
		t.Fatalf("Realm after update:\n got %+v\nwant %+v", got, r)
	}
}

func testAccountCreateGet(t *testing.T, s store.Store) {
	ctx := t.Context()
	a := user("alice")
	a.UPN = "alice@example.test"
	a.SPNs = []string{"HTTP/alice.example.test", "cifs/alice"}
	a.SupportedEnctypes = []int32{18, 17}
	a.PasswordExpires = t0.Add(90 * 24 * time.Hour)
	a.AccountExpires = t0.Add(365 * 24 * time.Hour)
	a.Flags |= store.FlagOKAsDelegate | store.FlagNoPAC
	before := time.Now()
	create(t, s, a)

	if a.RID < store.FirstRID {
		t.Errorf("assigned RID %d, want >= %d", a.RID, store.FirstRID)
	}
	if a.Version == 0 {
		t.Error("Version not set by CreateAccount")
	}
	if a.Created.IsZero() || a.Created.Before(before.Add(-time.Second)) || !a.Modified.Equal(a.Created) {
		t.Errorf("Created %v Modified %v, want now and equal", a.Created, a.Modified)
	}

	for _, name := range []string{"alice", "ALICE", "Alice"} {
		got, err := s.Account(ctx, name)
		ok(t, err)
		sameAccount(t, "Account("+name+")", got, a)
	}
	got, err := s.AccountByRID(ctx, a.RID)
	ok(t, err)
	sameAccount(t, "AccountByRID", got, a)

	// nil SupportedEnctypes ("those of the keys") stays nil.
	b := create(t, s, user("bob"))
	got, err = s.Account(ctx, "bob")
	ok(t, err)
	sameAccount(t, "Account(bob)", got, b)
	if got.SupportedEnctypes != nil || got.SPNs != nil || got.UPN != "" {
		t.Errorf("bob: enctypes %v SPNs %v UPN %q, want unset", got.SupportedEnctypes, got.SPNs, got.UPN)
	}
	if b.RID == a.RID {
		t.Errorf("two accounts got RID %d", a.RID)
	}

	_, err = s.Account(ctx, "nobody")
	wantErr(t, "Account(nobody)", err, store.ErrNotFound)
	_, err = s.AccountByRID(ctx, 999_999)
	wantErr(t, "AccountByRID(999999)", err, store.ErrNotFound)
	wantErr(t, "DeleteAccount(nobody)", s.DeleteAccount(ctx, "nobody"), store.ErrNotFound)
}

func testAccountExplicitRID(t *testing.T, s store.Store) {
	ctx := t.Context()
	k := &store.Account{Kind: store.KindService, Name: "krbtgt", SPNs: []string{"krbtgt/EXAMPLE.TEST"},
		RID: store.RIDKrbtgt, Secrets: Secrets(1)}
	create(t, s, k)
	if k.RID != store.RIDKrbtgt {
		t.Fatalf("RID = %d, want %d", k.RID, store.RIDKrbtgt)
	}
	got, err := s.AccountByRID(ctx, store.RIDKrbtgt)
	ok(t, err)
	sameAccount(t, "krbtgt", got, k)

	g := &store.Group{Name: "Domain Users", RID: store.RIDDomainUsers}
	ok(t, s.CreateGroup(ctx, g))
	if g.RID != store.RIDDomainUsers {
		t.Fatalf("group RID = %d, want %d", g.RID, store.RIDDomainUsers)
	}

	// Allocated RIDs are shared by accounts and groups, and skip one
	// taken explicitly.
	taken := &store.Account{Kind: store.KindUser, Name: "squatter", RID: store.FirstRID + 1, Secrets: Secrets(1)}
	create(t, s, taken)
	seen := map[uint32]bool{store.RIDKrbtgt: true, store.RIDDomainUsers: true, taken.RID: true}
	for i := range 3 {
		a := create(t, s, user(fmt.Sprintf("u%d", i)))
		g := createGroup(t, s, fmt.Sprintf("g%d", i))
		for _, rid := range []uint32{a.RID, g.RID} {
			if rid < store.FirstRID || seen[rid] {
				t.Fatalf("allocated RID %d: below FirstRID or already used", rid)
			}
			seen[rid] = true
		}
	}
}

func testAccountByPrincipal(t *testing.T, s store.Store) {
	ctx := t.Context()
	ok(t, s.InitRealm(ctx, realmRecord()))
	alice := user("alice")
	alice.UPN = "alice@example.test"
	create(t, s, alice)
	web := create(t, s, computer("WEB01$", "host/web01", "host/web01.example.test", "HTTP/web.example.test"))

	tests := []struct {
		principal string
		want      string // account name; "" for ErrNotFound
	}{
		{"HTTP/web.example.test", "WEB01$"},
		{"http/WEB.EXAMPLE.TEST", "WEB01$"},
		{"host/web01", "WEB01$"},
		{"HOST/Web01.Example.Test", "WEB01$"},
		{"WEB01$", "WEB01$"},
		{"web01$", "WEB01$"},
		{"alice", "alice"},
		{"ALICE", "alice"},
		{"alice@example.test", "alice"},
		{"ALICE@EXAMPLE.TEST", "alice"},
		// An enterprise name with the realm appended: the realm is
		// stripped for the UPN lookup only.
		{"alice@example.test@EXAMPLE.TEST", "alice"},
		{"alice@example.test@OTHER.TEST", ""},
		{"alice@EXAMPLE.TEST", "alice"}, // it is her UPN, case-insensitively
		// A trailing "$" is never implied, nor a "host/" SPN from a name.
		{"web01", ""},
		{"alice$", ""},
		{"host/alice", ""},
		{"HTTP/web.example.test@EXAMPLE.TEST", ""},
		{"nobody", ""},
		{"", ""},
	}
	for _, tt := range tests {
		got, err := s.AccountByPrincipal(ctx, tt.principal)
		if tt.want == "" {
			wantErr(t, fmt.Sprintf("AccountByPrincipal(%q)", tt.principal), err, store.ErrNotFound)
			continue
		}
		if err != nil {
			t.Errorf("AccountByPrincipal(%q): %v", tt.principal, err)
			continue
		}
		if got.Name != tt.want {
			t.Errorf("AccountByPrincipal(%q) = %s, want %s", tt.principal, got.Name, tt.want)
		}
		if got.Name == web.Name {
			sameAccount(t, "AccountByPrincipal record", got, web)
		}
	}
}

// An SPN wins over a name, and a name over a UPN.
func testAccountByPrincipalOrder(t *testing.T, s store.Store) {
	ctx := t.Context()
	svc := &store.Account{Kind: store.KindService, Name: "svc", SPNs: []string{"carol"}, Secrets: Secrets(1)}
	create(t, s, svc)
	create(t, s, user("carol"))
	frank := user("frank")
	create(t, s, frank)
	other := user("other")
	other.UPN = "frank"
	create(t, s, other)

	for principal, want := range map[string]string{"carol": "svc", "frank": "frank"} {
		got, err := s.AccountByPrincipal(ctx, principal)
		ok(t, err)
		if got.Name != want {
			t.Errorf("AccountByPrincipal(%q) = %s, want %s", principal, got.Name, want)
		}
	}
}

func testAccounts(t *testing.T, s store.Store) {
	ctx := t.Context()
	create(t, s, user("zed"))
	create(t, s, computer("WS1$", "host/ws1"))
	create(t, s, user("amy"))
	create(t, s, &store.Account{Kind: store.KindService, Name: "http-web", SPNs: []string{"HTTP/web", "HTTP/web.example.test"}, Secrets: Secrets(1)})

	names := func(kind store.Kind) []string {
		list, err := s.Accounts(ctx, kind)
		ok(t, err)
		var n []string
		for _, a := range list {
			n = append(n, a.Name)
			byName, err := s.Account(ctx, a.Name)
			ok(t, err)
			sameAccount(t, "Accounts entry "+a.Name, a, byName)
		}
		return n
	}
	for kind, want := range map[store.Kind][]string{
		"":                  {"amy", "http-web", "WS1$", "zed"},
		store.KindUser:      {"amy", "zed"},
		store.KindComputer:  {"WS1$"},
		store.KindService:   {"http-web"},
		store.Kind("other"): nil,
	} {
		if got := names(kind); !slices.Equal(got, want) {
			t.Errorf("Accounts(%q) = %v, want %v", kind, got, want)
		}
	}
}

func testAccountUpdate(t *testing.T, s store.Store) {
	ctx := t.Context()
	a := create(t, s, computer("WEB01$", "host/web01", "HTTP/old.example.test"))
	created, v0 := a.Created, a.Version

	a.DisplayName = "the web server"
	a.Flags |= store.FlagOKAsDelegate
	a.UPN = "web01@example.test"
	a.SPNs = []string{"HTTP/new.example.test", "host/web01"}
	a.SupportedEnctypes = []int32{18}
	a.Secrets = Secrets(5)
	a.PasswordLastSet = t0.Add(time.Hour)
	a.AccountExpires = t0.Add(48 * time.Hour)
	time.Sleep(2 * time.Millisecond) // so Modified can move on a coarse clock
	ok(t, s.UpdateAccount(ctx, a))
	if a.Version <= v0 {
		t.Errorf("Version %d after update, was %d", a.Version, v0)
	}
	if !a.Modified.After(created) || !a.Created.Equal(created) {
		t.Errorf("Created %v Modified %v after update; created at %v", a.Created, a.Modified, created)
	}
	got, err := s.Account(ctx, "web01$")
	ok(t, err)
	sameAccount(t, "after update", got, a)
	if got.KVNO() != 5 {
		t.Errorf("KVNO %d, want 5", got.KVNO())
	}

	// SPNs are replaced, not merged.
	_, err = s.AccountByPrincipal(ctx, "HTTP/old.example.test")
	wantErr(t, "old SPN", err, store.ErrNotFound)
	got, err = s.AccountByPrincipal(ctx, "http/new.example.test")
	ok(t, err)
	if got.RID != a.RID {
		t.Errorf("new SPN resolves to %s", got.Name)
	}

	// Renaming, including a change of case only.
	a.Name = "web02$"
	ok(t, s.UpdateAccount(ctx, a))
	a.Name = "WEB02$"
	ok(t, s.UpdateAccount(ctx, a))
	_, err = s.Account(ctx, "web01$")
	wantErr(t, "old name", err, store.ErrNotFound)
	got, err = s.Account(ctx, "web02$")
	ok(t, err)
	sameAccount(t, "after rename", got, a)

	// Clearing the UPN and SPNs.
	a.UPN, a.SPNs, a.SupportedEnctypes = "", nil, nil
	ok(t, s.UpdateAccount(ctx, a))
	got, err = s.AccountByRID(ctx, a.RID)
	ok(t, err)
	sameAccount(t, "after clearing", got, a)
	_, err = s.AccountByPrincipal(ctx, "host/web01")
	wantErr(t, "cleared SPN", err, store.ErrNotFound)
}

func testAccountUpdateConflicts(t *testing.T, s store.Store) {
	ctx := t.Context()
	alice := user("alice")
	alice.UPN = "alice@example.test"
	create(t, s, alice)
	create(t, s, computer("WEB01$", "HTTP/web.example.test"))
	createGroup(t, s, "Sales")

	// Two admins read the same record; the second write loses.
	first, err := s.Account(ctx, "alice")
	ok(t, err)
	second, err := s.Account(ctx, "alice")
	ok(t, err)
	first.DisplayName = "first"
	ok(t, s.UpdateAccount(ctx, first))
	second.DisplayName = "second"
	wantErr(t, "stale update", s.UpdateAccount(ctx, second), store.ErrConflict)
	got, err := s.Account(ctx, "alice")
	ok(t, err)
	if got.DisplayName != "first" {
		t.Fatalf("stale update changed the record: %q", got.DisplayName)
	}

	ghost := user("ghost")
	ghost.RID, ghost.Version = 999_999, 1
	wantErr(t, "update of unknown RID", s.UpdateAccount(ctx, ghost), store.ErrNotFound)

	bob := create(t, s, user("bob"))
	for _, tt := range []struct {
		name string
		edit func(a *store.Account)
	}{
		{"name of an account", func(a *store.Account) { a.Name = "ALICE" }},
		{"name of a group", func(a *store.Account) { a.Name = "sales" }},
		{"UPN", func(a *store.Account) { a.UPN = "Alice@Example.Test" }},
		{"SPN", func(a *store.Account) { a.SPNs = []string{"http/web.example.test"} }},
		{"SPN twice", func(a *store.Account) { a.SPNs = []string{"HTTP/x", "http/X"} }},
	} {
		b := *bob
		tt.edit(&b)
		wantErr(t, "update taking the "+tt.name, s.UpdateAccount(ctx, &b), store.ErrExists)
	}
	got, err = s.Account(ctx, "bob")
	ok(t, err)
	sameAccount(t, "bob after refused updates", got, bob)
}

// Lockout changes are not admin edits: they bump neither Version nor
// Modified, and an update from a record read before them keeps them.
func testAccountUpdateKeepsLockout(t *testing.T, s store.Store) {
	ctx := t.Context()
	a := create(t, s, user("alice"))
	p := store.PasswordPolicy{LockoutThreshold: 2, LockoutWindow: time.Hour, LockoutDuration: time.Hour}
	lo, err := s.RecordLogonFailure(ctx, "alice", t0, p)
	ok(t, err)
	_, err = s.RecordLogonFailure(ctx, "alice", t0.Add(time.Minute), p)
	ok(t, err)
	got, err := s.Account(ctx, "alice")
	ok(t, err)
	if got.Version != a.Version || !got.Modified.Equal(a.Modified) {
		t.Fatalf("lockout moved Version %d→%d or Modified", a.Version, got.Version)
	}
	if lo.BadCount != 1 || got.Lockout.BadCount != 2 || !got.Lockout.Locked(t0.Add(2*time.Minute)) {
		t.Fatalf("lockout state %+v after two failures", got.Lockout)
	}

	a.DisplayName = "edited" // a still carries the empty lockout state
	ok(t, s.UpdateAccount(ctx, a))
	got, err = s.Account(ctx, "alice")
	ok(t, err)
	if got.Lockout.BadCount != 2 || !got.Lockout.Locked(t0.Add(2*time.Minute)) {
		t.Fatalf("UpdateAccount overwrote the lockout state: %+v", got.Lockout)
	}
	if a.Lockout.BadCount != 2 {
		t.Errorf("UpdateAccount wrote back lockout %+v, want the stored state", a.Lockout)
	}
}

func testAccountDeleteCascades(t *testing.T, s store.Store) {
	ctx := t.Context()
	web := create(t, s, computer("WEB01$", "HTTP/web.example.test"))
	create(t, s, user("alice"))
	createGroup(t, s, "Servers")
	ok(t, s.AddMember(ctx, "Servers", store.Member{Name: "WEB01$"}))
	ok(t, s.AddMember(ctx, "Servers", store.Member{Name: "alice"}))
	ok(t, s.DefineClaimType(ctx, store.ClaimType{ID: "ad://ext/site", ValueType: store.ClaimString, AppliesTo: []store.Kind{store.KindComputer}}))
	ok(t, s.SetClaim(ctx, "WEB01$", store.Claim{ID: "ad://ext/site", Values: []string{"Paris"}}))

	ok(t, s.DeleteAccount(ctx, "web01$"))
	_, err := s.Account(ctx, "WEB01$")
	wantErr(t, "deleted account", err, store.ErrNotFound)
	_, err = s.AccountByRID(ctx, web.RID)
	wantErr(t, "deleted account by RID", err, store.ErrNotFound)
	_, err = s.AccountByPrincipal(ctx, "HTTP/web.example.test")
	wantErr(t, "deleted account's SPN", err, store.ErrNotFound)
	_, err = s.Claims(ctx, "WEB01$")
	wantErr(t, "deleted account's claims", err, store.ErrNotFound)
	g, err := s.Group(ctx, "Servers")
	ok(t, err)
	if want := []store.Member{{Name: "alice"}}; !reflect.DeepEqual(g.Members, want) {
		t.Fatalf("Servers members after delete = %+v, want %+v", g.Members, want)
	}
	wantErr(t, "second delete", s.DeleteAccount(ctx, "WEB01$"), store.ErrNotFound)

	// The name and SPN are free again, and nothing carries over.
	again := create(t, s, computer("WEB01$", "HTTP/web.example.test"))
	cl, err := s.Claims(ctx, "WEB01$")
	ok(t, err)
	groups, err := s.MemberOf(ctx, "WEB01$")
	ok(t, err)
	if len(cl) != 0 || len(groups) != 0 {
		t.Fatalf("recreated account inherited claims %v / groups %v", cl, groupNames(groups))
	}
	if again.RID == web.RID {
		t.Errorf("recreated account reused RID %d (a SID must never name two principals)", web.RID)
	}
}

func testUniqueness(t *testing.T, s store.Store) {
	ctx := t.Context()
	alice := user("alice")
	alice.UPN = "alice@example.test"
	alice.SPNs = []string{"HTTP/web.example.test"}
	create(t, s, alice)
	sales := createGroup(t, s, "Sales")

	withUPN := func(name, upn string) *store.Account { a := user(name); a.UPN = upn; return a }
	withSPN := func(name string, spns ...string) *store.Account { a := user(name); a.SPNs = spns; return a }
	withRID := func(name string, rid uint32) *store.Account { a := user(name); a.RID = rid; return a }

	accounts := []struct {
		name string
		a    *store.Account
		msg  []string // the error names what is taken, and by whom
	}{
		{"account name", user("ALICE"), []string{"alice"}},
		{"group name", user("sales"), []string{"Sales"}},
		{"UPN", withUPN("alice2", "Alice@Example.Test"), []string{"UPN", "alice"}},
		{"SPN", withSPN("alice3", "host/x", "http/WEB.example.test"), []string{"SPN", "http/WEB.example.test", "alice"}},
		{"SPN twice", withSPN("alice4", "host/y", "HOST/Y"), []string{"SPN"}},
		{"RID of an account", withRID("alice5", alice.RID), []string{"RID"}},
		{"RID of a group", withRID("alice6", sales.RID), []string{"RID"}},
	}
	for _, tt := range accounts {
		err := s.CreateAccount(ctx, tt.a)
		wantErr(t, "CreateAccount taking the "+tt.name, err, store.ErrExists)
		for _, m := range tt.msg {
			if !strings.Contains(err.Error(), m) {
				t.Errorf("CreateAccount taking the %s: error %q does not mention %q", tt.name, err, m)
			}
		}
		if tt.a.Name != "ALICE" && tt.a.Name != "sales" {
			_, err := s.Account(ctx, tt.a.Name)
			wantErr(t, "refused account "+tt.a.Name, err, store.ErrNotFound)
		}
	}
	// A refused create leaves no SPN behind.
	_, err := s.AccountByPrincipal(ctx, "host/x")
	wantErr(t, "SPN of a refused account", err, store.ErrNotFound)

	groups := []struct {
		name string
		g    *store.Group
	}{
		{"account name", &store.Group{Name: "Alice"}},
		{"group name", &store.Group{Name: "SALES"}},
		{"RID of an account", &store.Group{Name: "g1", RID: alice.RID}},
		{"RID of a group", &store.Group{Name: "g2", RID: sales.RID}},
	}
	for _, tt := range groups {
		wantErr(t, "CreateGroup taking the "+tt.name, s.CreateGroup(ctx, tt.g), store.ErrExists)
	}
	list, err := s.Groups(ctx)
	ok(t, err)
	if names := groupNames(list); !slices.Equal(names, []string{"Sales"}) {
		t.Fatalf("groups after refused creates: %v", names)
	}
}

func testSecretsRoundTrip(t *testing.T, s store.Store) {
	ctx := t.Context()
	tests := []struct {
		name    string
		secrets store.Secrets
	}{
		{"full", Secrets(7)},
		{"none", store.Secrets{}},
		{"keys only", store.Secrets{Keys: []store.Key{{EType: 18, KVNO: 1, Value: bytes.Repeat([]byte{0}, 32)}}}},
		{"NT hash only", store.Secrets{NTHash: []byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}}},
		{"HA1s only", store.Secrets{HA1s: []store.HA1{{Algorithm: "SHA-512-256", Realm: "r", Value: []byte{0xff}}}}},
	}
	for i, tt := range tests {
		a := user(fmt.Sprintf("s%d", i))
		a.Secrets = tt.secrets
		create(t, s, a)
		got, err := s.Account(ctx, a.Name)
		ok(t, err)
		if !reflect.DeepEqual(got.Secrets, tt.secrets) {
			t.Errorf("%s: secrets\n got %+v\nwant %+v", tt.name, got.Secrets, tt.secrets)
		}
		// And again through an update, under the next kvno.
		tt.secrets.Keys = append(tt.secrets.Keys, store.Key{EType: 17, KVNO: 9, Salt: "s", S2KParams: []byte{1}, Value: []byte{1, 2}})
		got.Secrets = tt.secrets
		ok(t, s.UpdateAccount(ctx, got))
		again, err := s.AccountByRID(ctx, got.RID)
		ok(t, err)
		if !reflect.DeepEqual(again.Secrets, tt.secrets) {
			t.Errorf("%s after update: secrets\n got %+v\nwant %+v", tt.name, again.Secrets, tt.secrets)
		}
	}
}

func testGroups(t *testing.T, s store.Store) {
	ctx := t.Context()
	create(t, s, user("alice"))
	create(t, s, user("bob"))
	create(t, s, computer("WS1$"))
	staff := createGroup(t, s, "Staff")
	createGroup(t, s, "Engineering")
	createGroup(t, s, "Backend")
	createGroup(t, s, "Empty")
	if staff.RID < store.FirstRID {
		t.Errorf("group RID %d below FirstRID", staff.RID)
	}

	// alice ∈ Backend ⊂ Engineering ⊂ Staff, and ∈ Staff directly too.
	for _, m := range []struct {
		group string
		m     store.Member
	}{
		{"Backend", store.Member{Name: "alice"}},
		{"Engineering", store.Member{Name: "Backend", IsGroup: true}},
		{"Engineering", store.Member{Name: "bob"}},
		{"staff", store.Member{Name: "engineering", IsGroup: true}},
		{"Staff", store.Member{Name: "ALICE"}},
	} {
		ok(t, s.AddMember(ctx, m.group, m.m))
	}

	g, err := s.Group(ctx, "ENGINEERING")
	ok(t, err)
	if g.Name != "Engineering" || g.Description != "the Engineering group" {
		t.Errorf("Group = %+v", g)
	}
	if want := []store.Member{{Name: "Backend", IsGroup: true}, {Name: "bob"}}; !reflect.DeepEqual(g.Members, want) {
		t.Errorf("Engineering members = %+v, want %+v", g.Members, want)
	}

	memberOf := func(account string) []string {
		t.Helper()
		gs, err := s.MemberOf(ctx, account)
		ok(t, err)
		return groupNames(gs)
	}
	if got, want := memberOf("alice"), []string{"Backend", "Engineering", "Staff"}; !slices.Equal(got, want) {
		t.Errorf("MemberOf(alice) = %v, want %v", got, want)
	}
	if got, want := memberOf("bob"), []string{"Engineering", "Staff"}; !slices.Equal(got, want) {
		t.Errorf("MemberOf(bob) = %v, want %v", got, want)
	}
	if got := memberOf("WS1$"); len(got) != 0 {
		t.Errorf("MemberOf(WS1$) = %v, want none", got)
	}
	gs, err := s.MemberOf(ctx, "alice")
	ok(t, err)
	for _, g := range gs {
		if g.RID < store.FirstRID {
			t.Errorf("MemberOf group %s without its RID", g.Name)
		}
	}

	all, err := s.Groups(ctx)
	ok(t, err)
	if got, want := groupNames(all), []string{"Backend", "Empty", "Engineering", "Staff"}; !slices.Equal(got, want) {
		t.Errorf("Groups = %v, want %v", got, want)
	}
	for _, g := range all {
		one, err := s.Group(ctx, g.Name)
		ok(t, err)
		if !reflect.DeepEqual(one, g) {
			t.Errorf("Groups entry %+v != Group %+v", g, one)
		}
	}

	ok(t, s.RemoveMember(ctx, "Staff", store.Member{Name: "alice"}))
	if got, want := memberOf("alice"), []string{"Backend", "Engineering", "Staff"}; !slices.Equal(got, want) {
		t.Errorf("MemberOf(alice) after removing the direct membership = %v, want %v", got, want)
	}
	ok(t, s.DeleteGroup(ctx, "Engineering"))
	if got, want := memberOf("alice"), []string{"Backend"}; !slices.Equal(got, want) {
		t.Errorf("MemberOf(alice) after deleting Engineering = %v, want %v", got, want)
	}
	g, err = s.Group(ctx, "Staff")
	ok(t, err)
	if len(g.Members) != 0 {
		t.Errorf("Staff members after deleting Engineering: %+v", g.Members)
	}
	_, err = s.Group(ctx, "Engineering")
	wantErr(t, "deleted group", err, store.ErrNotFound)
	wantErr(t, "second DeleteGroup", s.DeleteGroup(ctx, "Engineering"), store.ErrNotFound)
	_, err = s.MemberOf(ctx, "nobody")
	wantErr(t, "MemberOf(nobody)", err, store.ErrNotFound)
}

func testGroupCycles(t *testing.T, s store.Store) {
	ctx := t.Context()
	for _, n := range []string{"A", "B", "C"} {
		createGroup(t, s, n)
	}
	ok(t, s.AddMember(ctx, "A", store.Member{Name: "B", IsGroup: true})) // B ⊂ A
	ok(t, s.AddMember(ctx, "B", store.Member{Name: "C", IsGroup: true})) // C ⊂ B
	for _, tt := range []struct{ group, member string }{
		{"A", "A"}, {"B", "A"}, {"C", "A"}, {"C", "B"},
	} {
		err := s.AddMember(ctx, tt.group, store.Member{Name: tt.member, IsGroup: true})
		wantErr(t, fmt.Sprintf("AddMember(%s ∋ %s)", tt.group, tt.member), err, store.ErrConflict)
	}
	// A diamond is not a cycle.
	ok(t, s.AddMember(ctx, "A", store.Member{Name: "C", IsGroup: true}))
	create(t, s, user("u"))
	ok(t, s.AddMember(ctx, "C", store.Member{Name: "u"}))
	gs, err := s.MemberOf(ctx, "u")
	ok(t, err)
	if got, want := groupNames(gs), []string{"A", "B", "C"}; !slices.Equal(got, want) {
		t.Fatalf("MemberOf(u) = %v, want %v", got, want)
	}
}

func testGroupMembershipErrors(t *testing.T, s store.Store) {
	ctx := t.Context()
	create(t, s, user("alice"))
	createGroup(t, s, "G")
	ok(t, s.AddMember(ctx, "G", store.Member{Name: "alice"}))
	for _, tt := range []struct {
		name  string
		group string
		m     store.Member
		want  error
	}{
		{"unknown group", "nope", store.Member{Name: "alice"}, store.ErrNotFound},
		{"unknown account", "G", store.Member{Name: "nobody"}, store.ErrNotFound},
		{"unknown member group", "G", store.Member{Name: "nope", IsGroup: true}, store.ErrNotFound},
		{"account named as a group", "G", store.Member{Name: "alice", IsGroup: true}, store.ErrNotFound},
		{"already a member", "G", store.Member{Name: "ALICE"}, store.ErrExists},
	} {
		wantErr(t, "AddMember: "+tt.name, s.AddMember(ctx, tt.group, tt.m), tt.want)
	}
	for _, tt := range []struct {
		name  string
		group string
		m     store.Member
	}{
		{"unknown group", "nope", store.Member{Name: "alice"}},
		{"unknown account", "G", store.Member{Name: "nobody"}},
		{"not a member", "G", store.Member{Name: "G", IsGroup: true}},
	} {
		wantErr(t, "RemoveMember: "+tt.name, s.RemoveMember(ctx, tt.group, tt.m), store.ErrNotFound)
	}
	ok(t, s.RemoveMember(ctx, "G", store.Member{Name: "alice"}))
	wantErr(t, "second RemoveMember", s.RemoveMember(ctx, "G", store.Member{Name: "alice"}), store.ErrNotFound)

	// Members given to CreateGroup are added with it.
	g := &store.Group{Name: "H", Members: []store.Member{{Name: "alice"}, {Name: "G", IsGroup: true}}}
	ok(t, s.CreateGroup(ctx, g))
	got, err := s.Group(ctx, "H")
	ok(t, err)
	if want := []store.Member{{Name: "alice"}, {Name: "G", IsGroup: true}}; !reflect.DeepEqual(got.Members, want) {
		t.Fatalf("H members = %+v, want %+v", got.Members, want)
	}
	bad := &store.Group{Name: "I", Members: []store.Member{{Name: "nobody"}}}
	wantErr(t, "CreateGroup with an unknown member", s.CreateGroup(ctx, bad), store.ErrNotFound)
	_, err = s.Group(ctx, "I")
	wantErr(t, "group refused for its members", err, store.ErrNotFound)
}

func testClaims(t *testing.T, s store.Store) {
	ctx := t.Context()
	create(t, s, user("alice"))
	dept := store.ClaimType{ID: "ad://ext/department", ValueType: store.ClaimString,
		AppliesTo: []store.Kind{store.KindUser}, Description: "department"}
	level := store.ClaimType{ID: "ad://ext/clearance", ValueType: store.ClaimInt64,
		AppliesTo: []store.Kind{store.KindUser, store.KindComputer}, AutoDefined: true}
	ok(t, s.DefineClaimType(ctx, dept))
	ok(t, s.DefineClaimType(ctx, level))
	types, err := s.ClaimTypes(ctx)
	ok(t, err)
	if want := []store.ClaimType{level, dept}; !reflect.DeepEqual(types, want) {
		t.Fatalf("ClaimTypes =\n %+v\nwant\n %+v", types, want)
	}

	wantErr(t, "SetClaim of an undefined type", s.SetClaim(ctx, "alice", store.Claim{ID: "ad://ext/nope", Values: []string{"x"}}), store.ErrNotFound)
	wantErr(t, "SetClaim on an unknown account", s.SetClaim(ctx, "nobody", store.Claim{ID: dept.ID, Values: []string{"x"}}), store.ErrNotFound)

	ok(t, s.SetClaim(ctx, "ALICE", store.Claim{ID: dept.ID, Values: []string{"Sales", "Support"}}))
	ok(t, s.SetClaim(ctx, "alice", store.Claim{ID: level.ID, Values: []string{"3"}}))
	ok(t, s.SetClaim(ctx, "alice", store.Claim{ID: dept.ID, Values: []string{"Engineering"}}))
	claims, err := s.Claims(ctx, "alice")
	ok(t, err)
	want := []store.Claim{{ID: level.ID, Values: []string{"3"}}, {ID: dept.ID, Values: []string{"Engineering"}}}
	if !reflect.DeepEqual(claims, want) {
		t.Fatalf("Claims = %+v, want %+v", claims, want)
	}

	// Redefining a type replaces it and keeps the values set for it.
	dept.Description = "the department"
	dept.AppliesTo = []store.Kind{store.KindUser, store.KindComputer}
	ok(t, s.DefineClaimType(ctx, dept))
	types, err = s.ClaimTypes(ctx)
	ok(t, err)
	if want := []store.ClaimType{level, dept}; !reflect.DeepEqual(types, want) {
		t.Fatalf("ClaimTypes after redefinition =\n %+v\nwant\n %+v", types, want)
	}
	claims, err = s.Claims(ctx, "alice")
	ok(t, err)
	if !reflect.DeepEqual(claims, want) {
		t.Fatalf("Claims after redefinition = %+v, want %+v", claims, want)
	}

	ok(t, s.UnsetClaim(ctx, "alice", level.ID))
	wantErr(t, "second UnsetClaim", s.UnsetClaim(ctx, "alice", level.ID), store.ErrNotFound)
	wantErr(t, "UnsetClaim on an unknown account", s.UnsetClaim(ctx, "nobody", dept.ID), store.ErrNotFound)
	claims, err = s.Claims(ctx, "alice")
	ok(t, err)
	if want := want[1:]; !reflect.DeepEqual(claims, want) {
		t.Fatalf("Claims after unset = %+v, want %+v", claims, want)
	}
	_, err = s.Claims(ctx, "nobody")
	wantErr(t, "Claims(nobody)", err, store.ErrNotFound)
}

func testLockout(t *testing.T, s store.Store) {
	ctx := t.Context()
	create(t, s, user("alice"))
	p := store.PasswordPolicy{LockoutThreshold: 3, LockoutWindow: 10 * time.Minute, LockoutDuration: 30 * time.Minute}
	fail := func(at time.Duration) store.Lockout {
		t.Helper()
		lo, err := s.RecordLogonFailure(ctx, "alice", t0.Add(at), p)
		ok(t, err)
		if !lo.LastFailure.Equal(t0.Add(at)) {
			t.Fatalf("LastFailure = %v, want %v", lo.LastFailure, t0.Add(at))
		}
		return lo
	}
	steps := []struct {
		at        time.Duration
		count     int
		lockedFor time.Duration // 0: not locked
	}{
		{0, 1, 0},
		{time.Minute, 2, 0},
		// More than the window after the last failure: counting restarts.
		{20 * time.Minute, 1, 0},
		{21 * time.Minute, 2, 0},
		{22 * time.Minute, 3, 30 * time.Minute},
	}
	for _, st := range steps {
		lo := fail(st.at)
		if lo.BadCount != st.count {
			t.Fatalf("failure at +%v: count %d, want %d", st.at, lo.BadCount, st.count)
		}
		at := t0.Add(st.at)
		if st.lockedFor == 0 {
			if lo.Locked(at) {
				t.Fatalf("failure at +%v: locked until %v", st.at, lo.LockedUntil)
			}
			continue
		}
		if !lo.LockedUntil.Equal(at.Add(st.lockedFor)) {
			t.Fatalf("failure at +%v: locked until %v, want %v", st.at, lo.LockedUntil, at.Add(st.lockedFor))
		}
	}

	// The state is on the account, and survives a re-read.
	a, err := s.Account(ctx, "alice")
	ok(t, err)
	if a.Lockout.BadCount != 3 || !a.Lockout.Locked(t0.Add(40*time.Minute)) || a.Lockout.Locked(t0.Add(53*time.Minute)) {
		t.Fatalf("stored lockout %+v", a.Lockout)
	}

	ok(t, s.ResetLockout(ctx, "ALICE"))
	a, err = s.Account(ctx, "alice")
	ok(t, err)
	if a.Lockout != (store.Lockout{}) {
		t.Fatalf("lockout after reset: %+v", a.Lockout)
	}
	ok(t, s.ResetLockout(ctx, "alice")) // resetting a clear state is fine

	_, err = s.RecordLogonFailure(ctx, "nobody", t0, p)
	wantErr(t, "RecordLogonFailure(nobody)", err, store.ErrNotFound)
	wantErr(t, "ResetLockout(nobody)", s.ResetLockout(ctx, "nobody"), store.ErrNotFound)
}

func testLockoutDisabled(t *testing.T, s store.Store) {
	ctx := t.Context()
	create(t, s, user("alice"))
	p := store.PasswordPolicy{LockoutThreshold: 0, LockoutWindow: time.Hour, LockoutDuration: time.Hour}
	var lo store.Lockout
	for i := range 20 {
		var err error
		lo, err = s.RecordLogonFailure(ctx, "alice", t0.Add(time.Duration(i)*time.Second), p)
		ok(t, err)
	}
	if lo.BadCount != 20 || !lo.LockedUntil.IsZero() {
		t.Fatalf("threshold 0: lockout %+v, want 20 failures and no lock", lo)
	}
}

func testGeneration(t *testing.T, s store.Store) {
	ctx := t.Context()
	r := realmRecord()
	alice := user("alice")
	policy := store.PasswordPolicy{LockoutThreshold: 5, LockoutWindow: time.Hour, LockoutDuration: time.Hour}
	steps := []struct {
		name string
		f    func() error
	}{
		{"InitRealm", func() error { return s.InitRealm(ctx, r) }},
		{"UpdateRealm", func() error { r.MaxLife = time.Hour; return s.UpdateRealm(ctx, r) }},
		{"CreateAccount", func() error { return s.CreateAccount(ctx, alice) }},
		{"UpdateAccount", func() error { alice.DisplayName = "A"; return s.UpdateAccount(ctx, alice) }},
		{"RecordLogonFailure", func() error { _, err := s.RecordLogonFailure(ctx, "alice", t0, policy); return err }},
		{"ResetLockout", func() error { return s.ResetLockout(ctx, "alice") }},
		{"CreateGroup", func() error { return s.CreateGroup(ctx, &store.Group{Name: "G"}) }},
		{"AddMember", func() error { return s.AddMember(ctx, "G", store.Member{Name: "alice"}) }},
		{"RemoveMember", func() error { return s.RemoveMember(ctx, "G", store.Member{Name: "alice"}) }},
		{"DefineClaimType", func() error {
			return s.DefineClaimType(ctx, store.ClaimType{ID: "c", ValueType: store.ClaimString})
		}},
		{"SetClaim", func() error { return s.SetClaim(ctx, "alice", store.Claim{ID: "c", Values: []string{"v"}}) }},
		{"UnsetClaim", func() error { return s.UnsetClaim(ctx, "alice", "c") }},
		{"DeleteGroup", func() error { return s.DeleteGroup(ctx, "G") }},
		{"DeleteAccount", func() error { return s.DeleteAccount(ctx, "alice") }},
	}
	g, err := s.Generation(ctx)
	ok(t, err)
	for _, st := range steps {
		if err := st.f(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		next, err := s.Generation(ctx)
		ok(t, err)
		if next <= g {
			t.Errorf("generation %d after %s, was %d", next, st.name, g)
		}
		g = next
	}

	// A refused change is no change.
	wantErr(t, "DeleteAccount(nobody)", s.DeleteAccount(ctx, "nobody"), store.ErrNotFound)
	if next, _ := s.Generation(ctx); next != g {
		t.Errorf("generation moved %d→%d on a refused change", g, next)
	}
}

func testConcurrentCreates(t *testing.T, s store.Store) {
	ctx := t.Context()
	const writers, each = 8, 10
	var wg sync.WaitGroup
	errs := make(chan error, writers*each)
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				a := user(fmt.Sprintf("w%d-u%d", w, i))
				a.SPNs = []string{fmt.Sprintf("HTTP/w%d-u%d", w, i)}
				if err := s.CreateAccount(ctx, a); err != nil {
					errs <- err
				}
				// Readers run alongside the writers.
				if _, err := s.Account(ctx, a.Name); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	list, err := s.Accounts(ctx, "")
	ok(t, err)
	if len(list) != writers*each {
		t.Fatalf("%d accounts, want %d", len(list), writers*each)
	}
	rids := map[uint32]bool{}
	for _, a := range list {
		if rids[a.RID] {
			t.Fatalf("RID %d given twice", a.RID)
		}
		rids[a.RID] = true
	}
}

// Read-modify-write loops that retry on ErrConflict lose no update.
func testConcurrentUpdates(t *testing.T, s store.Store) {
	ctx := t.Context()
	create(t, s, user("counter"))
	const writers, each = 8, 5
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for range writers {
		wg.Go(func() {
			for range each {
				for {
					a, err := s.Account(ctx, "counter")
					if err != nil {
						errs <- err
						return
					}
					a.Flags++ // a counter the store keeps verbatim
					err = s.UpdateAccount(ctx, a)
					if errors.Is(err, store.ErrConflict) {
						continue
					}
					if err != nil {
						errs <- err
						return
					}
					break
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	a, err := s.Account(ctx, "counter")
	ok(t, err)
	if want := store.FlagPreauthRequired + writers*each; a.Flags != want {
		t.Fatalf("counter = %d after %d increments, want %d (lost updates)", a.Flags, writers*each, want)
	}
}

package passthrough

import (
	"context"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/warden-auth/warden/store"
)

// The AA names the SIDs of its domain (accounts, groups, the primary
// groups) and the well-known SIDs of its PACs, for enabled computer
// accounts only, over HTTPS with the caller's certificate; the cache
// asks once per SID within its TTL.
func TestNames(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	dom := e.realm.DomainSID
	rid := func(name string) string {
		if a, err := e.r.Store.Account(ctx, name); err == nil {
			return store.SID(dom, a.RID)
		}
		g, err := e.r.Store.Group(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		return store.SID(dom, g.RID)
	}
	sids := []string{rid("alice"), rid("WEB01$"), rid("web-admins"), store.SID(dom, 513), store.SID(dom, 515),
		"S-1-18-1", "S-1-5-21-0-0-0-496", store.SID(dom, 99999), "S-1-5-21-9-9-9-1104", "not a SID"}
	want := map[string]string{rid("alice"): "alice", rid("WEB01$"): "WEB01$", rid("web-admins"): "web-admins",
		store.SID(dom, 513): "Domain Users", store.SID(dom, 515): "Domain Computers",
		"S-1-18-1": "Authentication authority asserted identity", "S-1-5-21-0-0-0-496": "Compounded Authentication"}

	srv, a := aaServer(t, e)
	got, err := clientAs(t, srv, a, "WEB01$").Names(ctx, sids)
	if err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(got, want) {
		t.Fatalf("names %v\nwant %v", got, want)
	}
	// A user's certificate may not ask.
	if _, err := clientAs(t, srv, a, "alice").Names(ctx, sids); err == nil || !strings.Contains(err.Error(), "HTTP 403") || !strings.Contains(err.Error(), "warden cert issue --account") {
		t.Errorf("a user asked for names: %v", err)
	}
	if _, err := e.svc.Names(ctx, "WEB01$", make([]string, MaxNames+1)); err == nil {
		t.Error("more than MaxNames SIDs accepted")
	}

	// The cache: a second lookup within the TTL asks nothing (the AA is
	// gone), after it asks again.
	now := time.Now()
	nc := &NameCache{Client: clientAs(t, srv, a, "WEB01$"), TTL: time.Minute, Time: func() time.Time { return now }}
	if got, err := nc.Names(ctx, sids); err != nil || !maps.Equal(got, want) {
		t.Fatalf("cache miss: %v %v", got, err)
	}
	srv.Close()
	if got, err := nc.Names(ctx, sids); err != nil || !maps.Equal(got, want) {
		t.Fatalf("cache hit: %v %v", got, err)
	}
	now = now.Add(2 * time.Minute)
	if _, err := nc.Names(ctx, sids[:1]); err == nil {
		t.Error("an expired entry was not asked again")
	}
}

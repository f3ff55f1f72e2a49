package passthrough

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/warden-auth/warden/auth"
	"github.com/warden-auth/warden/store"
)

// maxCached bounds the cache; past it the cache starts over.
const maxCached = 100_000

// cache keeps the realm record, accounts and their group/claim
// identities between validations. Like the KDC's principal cache it is
// checked against the store's generation, which every committed change
// (admin edits, lockout counts, from any process) bumps, at most
// PollInterval apart: an admin change is seen within that time, and a
// failure this service records is seen at once.
type cache struct {
	st       store.Store
	interval time.Duration

	mu       sync.Mutex
	gen      int64
	polled   time.Time
	realm    *store.Realm
	accounts map[string]*cached
	groups   map[uint32]string // RID → group name; nil until asked
}

type cached struct {
	acct *store.Account
	id   *auth.Identity // groups and claims; nil until asked
}

// fresh drops everything when the store changed since the last poll.
func (c *cache) fresh(ctx context.Context, now time.Time) error {
	c.mu.Lock()
	due := c.accounts == nil || now.Sub(c.polled) >= c.interval || now.Before(c.polled)
	c.mu.Unlock()
	if !due {
		return nil
	}
	g, err := c.st.Generation(ctx)
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.accounts == nil || g != c.gen {
		c.accounts, c.realm, c.groups, c.gen = map[string]*cached{}, nil, nil, g
	}
	c.polled = now
	return nil
}

func (c *cache) getRealm(ctx context.Context, now time.Time) (store.Realm, error) {
	if err := c.fresh(ctx, now); err != nil {
		return store.Realm{}, err
	}
	c.mu.Lock()
	r := c.realm
	c.mu.Unlock()
	if r != nil {
		return *r, nil
	}
	realm, err := c.st.Realm(ctx)
	if err != nil {
		return realm, err
	}
	c.mu.Lock()
	c.realm = &realm
	c.mu.Unlock()
	return realm, nil
}

func (c *cache) account(ctx context.Context, name string, now time.Time) (*store.Account, error) {
	if err := c.fresh(ctx, now); err != nil {
		return nil, err
	}
	key := strings.ToLower(name)
	c.mu.Lock()
	e := c.accounts[key]
	c.mu.Unlock()
	if e != nil {
		return e.acct, nil
	}
	a, err := c.st.Account(ctx, name)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if len(c.accounts) >= maxCached {
		c.accounts = map[string]*cached{}
	}
	c.accounts[key] = &cached{acct: a}
	c.mu.Unlock()
	return a, nil
}

// groupNames returns the names of the realm's groups by RID; the map is
// shared and must not be changed.
func (c *cache) groupNames(ctx context.Context, now time.Time) (map[uint32]string, error) {
	if err := c.fresh(ctx, now); err != nil {
		return nil, err
	}
	c.mu.Lock()
	m := c.groups
	c.mu.Unlock()
	if m != nil {
		return m, nil
	}
	gs, err := c.st.Groups(ctx)
	if err != nil {
		return nil, err
	}
	m = make(map[uint32]string, len(gs))
	for _, g := range gs {
		m[g.RID] = g.Name
	}
	c.mu.Lock()
	c.groups = m
	c.mu.Unlock()
	return m, nil
}

// identity returns the cached identity of an account, or builds it.
func (c *cache) identity(name string, build func() (*auth.Identity, error)) (*auth.Identity, error) {
	key := strings.ToLower(name)
	c.mu.Lock()
	e := c.accounts[key]
	var id *auth.Identity
	if e != nil {
		id = e.id
	}
	c.mu.Unlock()
	if id != nil {
		return id, nil
	}
	id, err := build()
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if e := c.accounts[key]; e != nil {
		e.id = id
	}
	c.mu.Unlock()
	return id, nil
}

// forget drops an account after this service changed it (lockout).
func (c *cache) forget(name string) {
	c.mu.Lock()
	delete(c.accounts, strings.ToLower(name))
	c.mu.Unlock()
}

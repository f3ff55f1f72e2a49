package kdc

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/warden-auth/warden/krb5"
	"github.com/warden-auth/warden/krb5/kcrypto"
	"github.com/warden-auth/warden/store"
)

// principal is an account as the hot path needs it: the record plus its
// long-term keys turned into kcrypto keys once, so that derived keys and
// AES schedules are cached across requests.
type principal struct {
	acct *store.Account
	keys []principalKey // in keyPreference order
	// etypes the account accepts for session keys and tickets
	etypes []krb5.EncType
	kvno   uint32 // newest key version
	// lockout is updated in place by the KDC after a failure or success,
	// so this node sees it before the next poll.
	lockout atomic.Pointer[store.Lockout]
}

type principalKey struct {
	key       *kcrypto.Key
	kvno      uint32
	salt      string
	s2kparams []byte
}

// keyPreference orders the keys the KDC encrypts tickets with: the widely
// deployed aes256-sha1 first, then the RFC 8009 families.
var keyPreference = []krb5.EncType{
	krb5.ETypeAES256CTSHMACSHA196,
	krb5.ETypeAES256CTSHMACSHA384,
	krb5.ETypeAES128CTSHMACSHA256,
	krb5.ETypeAES128CTSHMACSHA196,
	krb5.ETypeRC4HMAC,
}

func rank(e krb5.EncType) int {
	if i := slices.Index(keyPreference, e); i >= 0 {
		return i
	}
	return len(keyPreference)
}

// key returns the newest key of etype e, or of kvno when kvno != 0.
func (p *principal) key(e krb5.EncType, kvno uint32) (principalKey, bool) {
	var best principalKey
	found := false
	for _, k := range p.keys {
		if k.key.EType() != e || (kvno != 0 && k.kvno != kvno) {
			continue
		}
		if !found || k.kvno > best.kvno {
			best, found = k, true
		}
	}
	return best, found
}

// ticketKey is the key a ticket for this principal is encrypted with:
// the newest kvno, preferred enctype.
func (p *principal) ticketKey() (principalKey, bool) {
	if len(p.keys) == 0 {
		return principalKey{}, false
	}
	top := p.kvno
	for _, k := range p.keys {
		if k.kvno == top {
			return k, true
		}
	}
	return p.keys[0], true
}

func (p *principal) keyETypes() []krb5.EncType {
	var out []krb5.EncType
	for _, k := range p.keys {
		if !slices.Contains(out, k.key.EType()) {
			out = append(out, k.key.EType())
		}
	}
	return out
}

func newPrincipal(a *store.Account, opt kcrypto.Options) (*principal, error) {
	p := &principal{acct: a}
	lo := a.Lockout
	p.lockout.Store(&lo)
	for _, k := range a.Secrets.Keys {
		e := krb5.EncType(k.EType)
		if !kcrypto.Supported(e) || (e == krb5.ETypeRC4HMAC && !opt.AllowRC4) {
			continue
		}
		kk, err := kcrypto.NewKey(krb5.EncryptionKey{KeyType: e, KeyValue: k.Value}, opt)
		if err != nil {
			return nil, fmt.Errorf("account %s: key %v kvno %d: %w", a.Name, e, k.KVNO, err)
		}
		p.keys = append(p.keys, principalKey{key: kk, kvno: k.KVNO, salt: k.Salt, s2kparams: k.S2KParams})
	}
	slices.SortStableFunc(p.keys, func(x, y principalKey) int {
		if x.kvno != y.kvno {
			return int(y.kvno) - int(x.kvno)
		}
		return rank(x.key.EType()) - rank(y.key.EType())
	})
	if len(a.SupportedEnctypes) > 0 {
		for _, e := range a.SupportedEnctypes {
			if kcrypto.Supported(krb5.EncType(e)) && (krb5.EncType(e) != krb5.ETypeRC4HMAC || opt.AllowRC4) {
				p.etypes = append(p.etypes, krb5.EncType(e))
			}
		}
	} else {
		p.etypes = p.keyETypes()
	}
	p.kvno = a.KVNO()
	// The secrets now live in the kcrypto keys; drop the clear copies
	// from the cached record.
	a.Secrets = store.Secrets{}
	return p, nil
}

// directory is a read-through cache of principals over the store. It
// polls the store's generation counter and drops everything when another
// process (the admin CLI, another AA node) changed the DB, so the hot path
// never waits on SQL for a known principal.
type directory struct {
	st    store.Store
	opt   kcrypto.Options
	gen   atomic.Int64
	mu    sync.RWMutex
	byKey map[string]*principal
	realm atomic.Pointer[store.Realm]

	stop chan struct{}
	done chan struct{}
}

// maxCached bounds the cache; when full it is cleared rather than
// evicting piecemeal (a cheap, rare event that the next requests refill).
const maxCached = 1 << 20

func newDirectory(ctx context.Context, st store.Store, opt kcrypto.Options, poll time.Duration) (*directory, error) {
	d := &directory{st: st, opt: opt, byKey: map[string]*principal{}, stop: make(chan struct{}), done: make(chan struct{})}
	g, err := st.Generation(ctx)
	if err != nil {
		return nil, err
	}
	d.gen.Store(g)
	r, err := st.Realm(ctx)
	if err != nil {
		return nil, err
	}
	d.realm.Store(&r)
	go d.poll(poll)
	return d, nil
}

func (d *directory) poll(every time.Duration) {
	defer close(d.done)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-d.stop:
			return
		case <-t.C:
			d.refresh(context.Background())
		}
	}
}

// refresh drops the cache if the store changed since the last look.
func (d *directory) refresh(ctx context.Context) {
	g, err := d.st.Generation(ctx)
	if err != nil || g == d.gen.Load() {
		return
	}
	if r, err := d.st.Realm(ctx); err == nil {
		d.realm.Store(&r)
	}
	d.mu.Lock()
	d.byKey = map[string]*principal{}
	d.gen.Store(g)
	d.mu.Unlock()
}

func (d *directory) close() {
	close(d.stop)
	<-d.done
}

// lookup finds the principal a name denotes: "alice", "HTTP/web.example.test",
// "krbtgt/EXAMPLE.TEST" or, for enterprise names, a UPN.
func (d *directory) lookup(ctx context.Context, name string) (*principal, error) {
	key := strings.ToLower(name)
	d.mu.RLock()
	p, ok := d.byKey[key]
	d.mu.RUnlock()
	if ok {
		return p, nil
	}
	gen := d.gen.Load()
	a, err := d.st.AccountByPrincipal(ctx, name)
	if err != nil {
		return nil, err
	}
	p, err = newPrincipal(a, d.opt)
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	// A refresh in between means a may already be stale: serve it for
	// this request but do not cache it.
	if d.gen.Load() == gen {
		if len(d.byKey) >= maxCached {
			d.byKey = map[string]*principal{}
		}
		d.byKey[key] = p
	}
	d.mu.Unlock()
	return p, nil
}

func isNotFound(err error) bool { return errors.Is(err, store.ErrNotFound) }

package passthrough

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/warden-auth/warden/digest"
	"github.com/warden-auth/warden/store"
)

// userhashRebuild is the least time between two rebuilds of the userhash
// index, which reads every user: misses (unknown hashes, new users) cost
// at most one rebuild per second whatever the request rate.
const userhashRebuild = time.Second

// userhashIndex maps H(name ":" realm) to account names, per algorithm
// (RFC 7616 3.4.4: with userhash the client hides the name, so the AA
// must find the account from the hash). The index holds names only, no
// secrets. It is rebuilt on a miss when the store's generation moved; a
// hit is confirmed against the account as loaded now, so a renamed or
// deleted account is never matched by a stale entry.
type userhashIndex struct {
	mu     sync.Mutex
	gen    int64
	built  time.Time
	realm  string
	byHash map[string]string // algorithm name + ":" + hex → account name
}

var userhashAlgorithms = []digest.Algorithm{digest.SHA256, digest.SHA512_256, digest.MD5}

func (s *Service) accountByUserHash(ctx context.Context, alg digest.Algorithm, realm, hash string, now time.Time) (*store.Account, error) {
	hash = strings.ToLower(hash)
	key := alg.Base().String() + ":" + hash
	for attempt := 0; ; attempt++ {
		x := &s.userhash
		x.mu.Lock()
		name, ok := x.byHash[key]
		if x.realm != realm {
			ok = false
		}
		x.mu.Unlock()
		if ok {
			a, err := s.cache.account(ctx, name, now)
			if err == nil && digest.UserHash(alg, a.Name, realm) == hash {
				return a, nil
			}
		}
		if attempt == 1 {
			return nil, store.ErrNotFound
		}
		if err := s.rebuildUserHash(ctx, realm, now); err != nil {
			return nil, err
		}
	}
}

// rebuildUserHash indexes every user when the store changed since the
// last build, at most once per userhashRebuild.
func (s *Service) rebuildUserHash(ctx context.Context, realm string, now time.Time) error {
	x := &s.userhash
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.byHash != nil && x.realm == realm && now.Sub(x.built) < userhashRebuild && !now.Before(x.built) {
		return nil
	}
	gen, err := s.cfg.Store.Generation(ctx)
	if err != nil {
		return err
	}
	if x.byHash != nil && x.realm == realm && gen == x.gen {
		x.built = now
		return nil
	}
	users, err := s.cfg.Store.Accounts(ctx, store.KindUser)
	if err != nil {
		return err
	}
	m := make(map[string]string, len(users)*len(userhashAlgorithms))
	for _, u := range users {
		for _, alg := range userhashAlgorithms {
			m[alg.String()+":"+digest.UserHash(alg, u.Name, realm)] = u.Name
		}
	}
	x.byHash, x.gen, x.built, x.realm = m, gen, now, realm
	return nil
}

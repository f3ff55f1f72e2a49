package gss

import (
	"crypto/sha256"
	"sync"
	"time"
)

// ReplayCache remembers the authenticators an acceptor has accepted, for
// as long as they could pass the clock-skew check, so a captured AP-REQ
// cannot be played again (RFC 4120 3.2.3).
//
// It is keyed by a hash of the authenticator ciphertext, as MIT has done
// since 1.14, not by (client, ctime, cusec): every authenticator carries a
// fresh random confounder, so two legitimate requests from one client in
// the same microsecond (parallel HTTP requests) never collide, while a
// byte-identical re-send is always caught.
type ReplayCache struct {
	mu     sync.Mutex
	seen   map[[32]byte]time.Time // key -> expiry
	fifo   []replayEntry          // insertion order = expiry order
	max    int
	window time.Duration
}

type replayEntry struct {
	key [32]byte
	exp time.Time
}

// DefaultReplayEntries bounds a ReplayCache when NewReplayCache gets 0:
// about 100 MB, which holds ten minutes of 1,500 authentications per
// second.
const DefaultReplayEntries = 1 << 20

// NewReplayCache returns a cache that keeps entries for window (which
// should be twice the allowed clock skew: an authenticator is acceptable
// from ctime-skew to ctime+skew) and at most max of them (0 means
// DefaultReplayEntries). When full the oldest entry is dropped; that
// only weakens protection for an authenticator older than every other
// one in the cache.
func NewReplayCache(window time.Duration, max int) *ReplayCache {
	if max <= 0 {
		max = DefaultReplayEntries
	}
	return &ReplayCache{seen: make(map[[32]byte]time.Time), max: max, window: window}
}

// check records the authenticator ciphertext and reports when it was
// first seen if it is a replay.
func (r *ReplayCache) check(authenticator []byte, now time.Time) (first time.Time, replay bool) {
	key := sha256.Sum256(authenticator)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.expire(now)
	if exp, ok := r.seen[key]; ok {
		return exp.Add(-r.window), true
	}
	if len(r.fifo) >= r.max {
		delete(r.seen, r.fifo[0].key)
		r.fifo = r.fifo[1:]
	}
	exp := now.Add(r.window)
	r.seen[key] = exp
	r.fifo = append(r.fifo, replayEntry{key, exp})
	return time.Time{}, false
}

func (r *ReplayCache) expire(now time.Time) {
	i := 0
	for i < len(r.fifo) && !now.Before(r.fifo[i].exp) {
		delete(r.seen, r.fifo[i].key)
		i++
	}
	if i > 0 {
		// Reslice, and copy down now and then so the backing array does
		// not grow without bound.
		r.fifo = r.fifo[i:]
		if cap(r.fifo) > 2*len(r.fifo)+1024 {
			r.fifo = append([]replayEntry(nil), r.fifo...)
		}
	}
}

// Len returns the number of authenticators remembered.
func (r *ReplayCache) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.seen)
}

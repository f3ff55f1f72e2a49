package kdc

import (
	"sync"
	"time"
)

// replayCache remembers the signed AuthPacks of recent PKINIT requests
// (keyed by their SHA-256) for the clock-skew window, in which a
// PKAuthenticator's ctime is acceptable: a replayed PA-PK-AS-REQ is
// refused (RFC 4556 3.2.2). The cache is per KDC process; several AA
// nodes behind one name would each accept a replay once, which the DH
// exchange makes useless to an eavesdropper (it lacks the private key).
type replayCache struct {
	mu      sync.Mutex
	seen    map[[32]byte]time.Time // digest → expiry
	nextGC  time.Time
	maxSize int
}

func newReplayCache() *replayCache {
	return &replayCache{seen: make(map[[32]byte]time.Time), maxSize: 1 << 20}
}

// Outcomes of replayCache.add.
const (
	replayNew  = iota // recorded
	replaySeen        // a replay
	replayFull        // not recorded: the cache is full of live entries
)

// add records d until expires and says whether it was new.
func (c *replayCache) add(d [32]byte, now, expires time.Time) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if exp, ok := c.seen[d]; ok && now.Before(exp) {
		return replaySeen
	}
	if now.After(c.nextGC) || len(c.seen) >= c.maxSize {
		for k, exp := range c.seen {
			if !now.Before(exp) {
				delete(c.seen, k)
			}
		}
		c.nextGC = now.Add(time.Minute)
		if len(c.seen) >= c.maxSize {
			// Full of live entries: refuse rather than forget, so a
			// flood cannot make room for a replay.
			return replayFull
		}
	}
	c.seen[d] = expires
	return replayNew
}

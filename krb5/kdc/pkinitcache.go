package kdc

import (
	"crypto/sha256"
	"crypto/x509"
	"sync"
	"time"
)

// certCacheTTL is how long an accepted client certificate (chain,
// revocation and mapping checked) is remembered, so that repeated
// certificate logons do not each pay the path building, the revocation
// lookup and the mapping's SQL queries. An entry is also dropped as soon
// as the account DB changes (the principal cache's generation, polled
// every Config.PollInterval): a revocation by the realm CA is a DB
// write, so it takes effect at the next poll, not after the TTL. The
// TTL bounds the delay for revocation data from elsewhere (OCSP, CRL).
// The account's own state (disabled, locked, expired) is checked on
// every request from the principal cache.
const certCacheTTL = 30 * time.Second

// certCacheMax bounds the cache; when full, expired entries go and, if
// none has, the cache starts over.
const certCacheMax = 1 << 16

type certEntry struct {
	account string // the account the certificate maps to
	detail  string // how (for the log line)
	until   time.Time
	gen     int64 // the account DB generation it was checked at
}

type certCache struct {
	mu sync.Mutex
	m  map[[sha256.Size]byte]certEntry
}

func newCertCache() *certCache { return &certCache{m: make(map[[sha256.Size]byte]certEntry)} }

func (c *certCache) get(leaf *x509.Certificate, now time.Time, gen int64) (certEntry, bool) {
	d := sha256.Sum256(leaf.Raw)
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[d]
	if !ok || !now.Before(e.until) || e.gen != gen {
		return certEntry{}, false
	}
	return e, true
}

func (c *certCache) put(leaf *x509.Certificate, e certEntry, now time.Time) {
	// Never past the certificate's own end.
	e.until = now.Add(certCacheTTL)
	if leaf.NotAfter.Before(e.until) {
		e.until = leaf.NotAfter
	}
	d := sha256.Sum256(leaf.Raw)
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= certCacheMax {
		for k, v := range c.m {
			if !now.Before(v.until) {
				delete(c.m, k)
			}
		}
		if len(c.m) >= certCacheMax {
			clear(c.m)
		}
	}
	c.m[d] = e
}

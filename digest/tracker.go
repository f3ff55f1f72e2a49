package digest

import (
	"slices"
	"sync"
)

// ncTracker accepts each (nonce, nc) once (RFC 7616 3.4: the nonce count
// lets the server detect replays). Per nonce it keeps the highest count
// accepted and a 64-bit window below it, as IPsec does for sequence
// numbers: clients that send requests on several connections at once
// may deliver counts out of order, and each count still passes once.
// A count more than 64 below the highest is refused.
//
// Memory is bounded: a nonce is only tracked while it is alive (an
// expired nonce is answered with stale=true whatever its count), and
// when max nonces are tracked the older half is forgotten — those nonces
// are then treated as expired (issued at or before floor), never as new,
// so forgetting cannot re-open a count.
type ncTracker struct {
	mu       sync.Mutex
	max      int
	lifetime int64 // ns
	m        map[nonceID]ncWindow
	floor    int64 // nonces issued at or before floor (Unix ns) are stale
}

type ncWindow struct {
	top  uint32 // highest count accepted
	seen uint64 // bit i: count top-i accepted
}

const ncWindowSize = 64

type useResult uint8

const (
	useOK useResult = iota
	useReplay
	useForgotten
)

func newNCTracker(max int, lifetime int64) *ncTracker {
	return &ncTracker{max: max, lifetime: lifetime, m: make(map[nonceID]ncWindow)}
}

func (w ncWindow) has(nc uint32) (seen bool) {
	if nc > w.top {
		return false
	}
	d := w.top - nc
	return d >= ncWindowSize || w.seen&(1<<d) != 0
}

// check tells, without recording, what use would say.
func (t *ncTracker) check(id nonceID, nc uint32) useResult {
	t.mu.Lock()
	defer t.mu.Unlock()
	if id.issued() <= t.floor {
		return useForgotten
	}
	if w, ok := t.m[id]; ok && w.has(nc) {
		return useReplay
	}
	return useOK
}

// use records nc for id at now (Unix ns) unless it was recorded before.
func (t *ncTracker) use(id nonceID, nc uint32, now int64) useResult {
	t.mu.Lock()
	defer t.mu.Unlock()
	if id.issued() <= t.floor {
		return useForgotten
	}
	w, ok := t.m[id]
	if !ok && len(t.m) >= t.max {
		t.evict(now)
		if id.issued() <= t.floor {
			return useForgotten
		}
	}
	if ok && w.has(nc) {
		return useReplay
	}
	switch {
	case !ok:
		w = ncWindow{top: nc, seen: 1}
	case nc > w.top:
		shift := nc - w.top
		if shift >= ncWindowSize {
			w.seen = 0
		} else {
			w.seen <<= shift
		}
		w.top, w.seen = nc, w.seen|1
	default:
		w.seen |= 1 << (w.top - nc)
	}
	t.m[id] = w
	return useOK
}

// evict drops expired nonces, then, if still full, the older half.
func (t *ncTracker) evict(now int64) {
	for id := range t.m {
		if id.issued()+t.lifetime < now {
			delete(t.m, id)
		}
	}
	if len(t.m) < t.max {
		return
	}
	issued := make([]int64, 0, len(t.m))
	for id := range t.m {
		issued = append(issued, id.issued())
	}
	slices.Sort(issued)
	cut := issued[len(issued)/2]
	for id := range t.m {
		if id.issued() <= cut {
			delete(t.m, id)
		}
	}
	t.floor = max(t.floor, cut)
}

// len is the number of nonces tracked (tests).
func (t *ncTracker) len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.m)
}

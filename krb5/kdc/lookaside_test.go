package kdc

import (
	"bytes"
	"fmt"
	"testing"
	"time"
)

// The lookaside ring: a reply comes back until it expires or the ring has
// written over it, and one too big for the ring is not kept.
func TestLookasideRing(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	reply := func(i, n int) []byte { return bytes.Repeat([]byte{byte(i)}, n) }
	get := func(l *lookaside, req string, at time.Time) ([]byte, bool) {
		return l.get([]byte("prefix"), l.key([]byte(req)), at)
	}

	l := newLookaside(4, time.Minute) // a ring of 8 KiB
	l.put(l.key([]byte("a")), reply(1, 1000), now)
	if got, ok := get(l, "a", now.Add(time.Second)); !ok || !bytes.Equal(got, append([]byte("prefix"), reply(1, 1000)...)) {
		t.Fatalf("retransmit: %v %d bytes", ok, len(got))
	}
	if got, ok := get(l, "b", now); ok || string(got) != "prefix" {
		t.Errorf("unknown request: %v %q", ok, got)
	}
	if _, ok := get(l, "a", now.Add(time.Minute+time.Second)); ok {
		t.Error("expired reply served")
	}

	// Replies of 1000 bytes: the ninth written is where the first was.
	l = newLookaside(100, time.Minute)
	l.size = 8 << 10
	for i := range 9 {
		l.put(l.key([]byte(fmt.Sprint(i))), reply(i, 1000), now)
	}
	if _, ok := get(l, "0", now); ok {
		t.Error("a reply the ring wrote over was served")
	}
	for i := 1; i < 9; i++ {
		if got, ok := get(l, fmt.Sprint(i), now); !ok || !bytes.Equal(got[len("prefix"):], reply(i, 1000)) {
			t.Errorf("reply %d: %v", i, ok)
		}
	}

	// Too big for the ring: not kept, and nothing else lost.
	l.put(l.key([]byte("big")), reply(9, l.size/8+1), now)
	if _, ok := get(l, "big", now); ok {
		t.Error("a reply of an eighth of the ring was kept")
	}
	if _, ok := get(l, "8", now); !ok {
		t.Error("a big reply pushed out another")
	}

	// Full: expired entries are swept first.
	l = newLookaside(2, time.Minute)
	l.put(l.key([]byte("old")), reply(1, 10), now)
	l.put(l.key([]byte("new")), reply(2, 10), now.Add(50*time.Second))
	later := now.Add(90 * time.Second)
	l.put(l.key([]byte("newest")), reply(3, 10), later)
	if len(l.entries) != 2 {
		t.Errorf("%d entries after the sweep, want 2", len(l.entries))
	}
	for _, req := range []string{"new", "newest"} {
		if _, ok := get(l, req, later); !ok {
			t.Errorf("%s lost in the sweep", req)
		}
	}
}

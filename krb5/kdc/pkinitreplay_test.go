package kdc

import (
	"testing"
	"time"
)

// The replay cache tells a replay from a full cache, and a full cache
// refuses rather than forgets a live entry.
func TestReplayCacheOutcomes(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	c := newReplayCache()
	c.maxSize = 2
	live := now.Add(10 * time.Minute)
	steps := []struct {
		name string
		d    byte
		now  time.Time
		want int
	}{
		{"first", 1, now, replayNew},
		{"again", 1, now, replaySeen},
		{"second", 2, now, replayNew},
		{"full of live entries", 3, now, replayFull},
		{"still a replay", 2, now, replaySeen},
		{"after expiry there is room", 3, live, replayNew},
		{"expired entry is not a replay", 1, live.Add(time.Second), replayNew},
	}
	for _, s := range steps {
		if got := c.add([32]byte{s.d}, s.now, live); got != s.want {
			t.Fatalf("%s: add = %d, want %d", s.name, got, s.want)
		}
	}
}

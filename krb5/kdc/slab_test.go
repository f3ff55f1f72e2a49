package kdc

import "testing"

func TestSlab(t *testing.T) {
	type big [slabChunkBytes + 1]byte
	t.Run("small values share chunks", func(t *testing.T) {
		var s slab[[4]uint64]
		per := slabChunkBytes / 32
		seen := map[*[4]uint64]bool{}
		for i := range 3*per + 1 {
			p := s.alloc()
			if seen[p] {
				t.Fatalf("alloc %d returned a pointer it returned before", i)
			}
			seen[p] = true
			if *p != [4]uint64{} {
				t.Fatalf("alloc %d is not zero: %v", i, *p)
			}
			*p = [4]uint64{uint64(i), uint64(i), uint64(i), uint64(i)}
		}
		for p := range seen {
			if p[0] != p[3] {
				t.Fatalf("a value was overwritten: %v", *p)
			}
		}
		// 3 chunks used up and one value taken from a fourth.
		if len(s.free) != per-1 {
			t.Errorf("%d values left in the current chunk, want %d", len(s.free), per-1)
		}
	})
	t.Run("a value larger than a chunk gets one of its own", func(t *testing.T) {
		var s slab[big]
		a, b := s.alloc(), s.alloc()
		if a == b || len(s.free) != 0 {
			t.Errorf("alloc: %p %p, %d left", a, b, len(s.free))
		}
	})
}

func TestSlabConcurrent(t *testing.T) {
	var s slab[[8]byte]
	const workers, each = 8, 2000
	got := make(chan *[8]byte, workers*each)
	done := make(chan struct{})
	for w := range workers {
		go func() {
			defer func() { done <- struct{}{} }()
			for range each {
				p := s.alloc()
				p[0] = byte(w)
				got <- p
			}
		}()
	}
	for range workers {
		<-done
	}
	close(got)
	seen := map[*[8]byte]bool{}
	for p := range got {
		if seen[p] {
			t.Fatal("two allocs returned the same slot")
		}
		seen[p] = true
	}
}

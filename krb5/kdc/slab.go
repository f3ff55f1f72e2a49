package kdc

import (
	"sync"
	"unsafe"
)

// slab hands out zeroed values of T carved from chunks of about 32 KiB.
//
// The KDC keeps a principal record, its key's kcrypto form and its TGT
// PAC template for every account it has seen. As separate allocations,
// 100,000 accounts are hundreds of thousands of small objects scattered
// over the heap, and the garbage collector visits each of them on every
// cycle, a cache miss or more apiece: with that many accounts it cost
// more CPU than the logons. Carved from chunks, they are a few thousand
// large objects that the collector marks once and scans front to back.
//
// A chunk is freed when nothing points into it any more, so slabs suit
// values that are dropped together (the principal cache is dropped as a
// whole when the account DB changes) and that are not replaced one by
// one: a value that is replaced should come from the heap, or every
// replacement would keep a slot of a chunk.
type slab[T any] struct {
	mu   sync.Mutex
	free []T
}

// slabChunkBytes is the size of a chunk: large enough that its entries'
// neighbours share it, small enough that a realm of a few accounts does
// not hold much more than it uses.
const slabChunkBytes = 32 << 10

// alloc returns a pointer to a zero T that nothing else uses.
func (s *slab[T]) alloc() *T {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.free) == 0 {
		var zero T
		s.free = make([]T, max(1, slabChunkBytes/int(unsafe.Sizeof(zero))))
	}
	p := &s.free[0]
	s.free = s.free[1:]
	return p
}

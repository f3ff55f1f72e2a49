package kdc

import (
	"testing"
	"unsafe"
)

// shareOneString keeps every string's content and puts them all in one
// backing array; equal neighbours share one copy.
func TestShareOneString(t *testing.T) {
	for _, in := range [][]string{
		{"alice", "alice@EXAMPLE.TEST", "", "EXAMPLE.TESTalice", "EXAMPLE.TESTalice"},
		{"HTTP-web", "", "Web", "HTTP/web.example.test", "host/web", "salt1", "salt2", "salt1"},
		{""},
		{"a", "a", "a"},
	} {
		strs := make([]*string, len(in))
		for i := range in {
			s := string([]byte(in[i])) // its own allocation
			strs[i] = &s
		}
		shareOneString(strs)
		var base, end uintptr
		for i, s := range strs {
			if *s != in[i] {
				t.Fatalf("%q: string %d became %q", in, i, *s)
			}
			if len(*s) == 0 {
				continue
			}
			p := uintptr(unsafe.Pointer(unsafe.StringData(*s)))
			if base == 0 {
				base, end = p, p
			}
			if p < base || p > end {
				t.Errorf("%q: string %d is not in the shared array", in, i)
			}
			end = max(end, p+uintptr(len(*s)))
		}
	}
}

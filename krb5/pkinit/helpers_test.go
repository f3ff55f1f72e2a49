package pkinit

import "crypto/sha1"

func sha1sum(b []byte) []byte { s := sha1.Sum(b); return s[:] }

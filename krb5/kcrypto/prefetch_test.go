package kcrypto

import (
	"bytes"
	"crypto/rand"
	"testing"
)

// Prefetch changes nothing a caller can see: it derives no usage,
// allocates nothing, leaves its scratch zero, tolerates a short scratch
// and RC4 keys, and the key encrypts and decrypts as before.
func TestPrefetch(t *testing.T) {
	eachRandomKey(t, func(t *testing.T, key *Key) {
		scratch := make([]byte, 32)
		key.Prefetch(scratch, UsageASReqPAEncTimestamp, UsageASRepEncPart)
		if key.enc.get(UsageASReqPAEncTimestamp) != nil || key.enc.get(UsageASRepEncPart) != nil {
			t.Fatal("Prefetch derived a usage")
		}
		ct, err := key.Encrypt(rand.Reader, UsageASReqPAEncTimestamp, []byte("timestamp"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := key.Encrypt(rand.Reader, UsageASRepEncPart, []byte("reply")); err != nil {
			t.Fatal(err)
		}
		if a := testing.AllocsPerRun(100, func() {
			key.Prefetch(scratch, UsageASReqPAEncTimestamp, UsageASRepEncPart)
		}); a != 0 {
			t.Errorf("Prefetch allocates %v objects", a)
		}
		if !bytes.Equal(scratch, make([]byte, 32)) {
			t.Errorf("scratch left as %x", scratch)
		}
		key.Prefetch(scratch[:3], UsageASReqPAEncTimestamp, UsageASRepEncPart)
		if pt, err := key.Decrypt(UsageASReqPAEncTimestamp, ct); err != nil || string(pt) != "timestamp" {
			t.Fatalf("Decrypt after Prefetch = %q, %v", pt, err)
		}
	})
}

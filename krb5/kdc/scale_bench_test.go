package kdc_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"sync/atomic"
	"testing"
	"time"

	"github.com/warden-auth/warden/admin"
	"github.com/warden-auth/warden/krb5"
	"github.com/warden-auth/warden/krb5/kcrypto"
	"github.com/warden-auth/warden/krb5/kdc"
	"github.com/warden-auth/warden/store"
	"github.com/warden-auth/warden/store/sqlite"
)

// BenchmarkASPrincipals measures AS exchanges spread evenly over a
// realm of 1,000 and of 100,000 users, so that the cost of a large
// principal cache (memory footprint, GC marking, CPU cache misses) shows
// as the ratio of the two. Accounts get random keys rather than
// password-derived ones to keep set-up short.
func BenchmarkASPrincipals(b *testing.B) {
	for _, n := range []int{1_000, 100_000} {
		b.Run(fmt.Sprintf("principals=%d", n), func(b *testing.B) {
			k, reqs := scaleRealm(b, n)
			// Warm the principal cache, as a long-running KDC would be,
			// and report what each cached principal costs in heap.
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			for _, r := range reqs {
				k.Handle(context.Background(), r)
			}
			runtime.GC()
			runtime.ReadMemStats(&after)
			b.ReportAllocs()
			runtime.GC()
			gc0 := gcCPU()
			b.ResetTimer()
			var next atomic.Uint64
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					r := reqs[next.Add(1)%uint64(len(reqs))]
					if rep, res := k.Handle(context.Background(), r); !res.OK() || rep == nil {
						b.Error(res)
						return
					}
				}
			})
			b.ReportMetric((gcCPU()-gc0)*1e9/float64(b.N), "gc-cpu-ns/op")
			// (after ResetTimer, which clears reported metrics)
			b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/float64(n), "heap-B/principal")
			b.ReportMetric(float64(after.HeapObjects-before.HeapObjects)/float64(n), "objects/principal")
		})
	}
}

// gcCPU is the CPU time the garbage collector has used so far, in seconds.
func gcCPU() float64 {
	s := []metrics.Sample{{Name: "/cpu/classes/gc/total:cpu-seconds"}}
	metrics.Read(s)
	return s[0].Value.Float64()
}

// scaleRealm builds a realm of n users in a store on tmpfs when there is
// one (100,000 synchronous commits on a disk would take minutes) and one
// PA-ENC-TIMESTAMP AS-REQ per user, in a shuffled order.
func scaleRealm(b *testing.B, n int) (*kdc.KDC, [][]byte) {
	b.Helper()
	dir := b.TempDir()
	if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
		d, err := os.MkdirTemp("/dev/shm", "warden-bench-")
		if err == nil {
			dir = d
			b.Cleanup(func() { os.RemoveAll(d) })
		}
	}
	mk := make([]byte, store.MasterKeySize)
	rand.Read(mk)
	sealer, err := store.NewSealer(mk)
	if err != nil {
		b.Fatal(err)
	}
	st, err := sqlite.Open(filepath.Join(dir, "accounts.db"), sealer)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	ctx := context.Background()
	now := time.Now()
	if _, err := admin.InitRealm(ctx, st, realm, rand.Reader, now); err != nil {
		b.Fatal(err)
	}
	reqs := make([][]byte, n)
	for i := range n {
		name := fmt.Sprintf("user%06d", i)
		sec, err := admin.RandomSecrets(rand.Reader, 1, admin.KeyOptions{})
		if err != nil {
			b.Fatal(err)
		}
		var key *kcrypto.Key
		for _, k := range sec.Keys {
			if krb5.EncType(k.EType) == aes256 {
				key, _ = kcrypto.NewKey(krb5.EncryptionKey{KeyType: aes256, KeyValue: k.Value}, kcrypto.Options{})
			}
		}
		a := &store.Account{Kind: store.KindUser, Name: name, UPN: name + "@test.warden",
			Flags: store.FlagPreauthRequired, Secrets: sec}
		if err := st.CreateAccount(ctx, a); err != nil {
			b.Fatal(err)
		}
		ts := krb5.PAEncTSEnc{PATimestamp: now.Truncate(time.Second), PAUSec: 1, HasUSec: true}
		plain, _ := ts.Marshal()
		ed, err := key.EncryptData(rand.Reader, kcrypto.UsageASReqPAEncTimestamp, plain, 0, false)
		if err != nil {
			b.Fatal(err)
		}
		v, _ := ed.Marshal()
		req := krb5.KDCReq{MsgType: krb5.MsgASReq, PAData: []krb5.PAData{{Type: krb5.PAEncTimestamp, Value: v}},
			ReqBody: krb5.KDCReqBody{CName: pn(name), Realm: realm, SName: pn("krbtgt/" + realm),
				Till: now.Add(8 * time.Hour), Nonce: uint32(i), EType: []krb5.EncType{aes256}}}
		reqs[i], _ = req.Marshal()
	}
	// Visit users in a random order so consecutive requests do not touch
	// neighbouring cache entries.
	perm := make([]byte, 8*n)
	rand.Read(perm)
	for i := n - 1; i > 0; i-- {
		j := int(uint64(perm[8*i])|uint64(perm[8*i+1])<<8|uint64(perm[8*i+2])<<16|uint64(perm[8*i+3])<<24) % (i + 1)
		reqs[i], reqs[j] = reqs[j], reqs[i]
	}
	k, err := kdc.New(kdc.Config{Store: st, Time: func() time.Time { return now }, PollInterval: time.Hour})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { k.Close() })
	return k, reqs
}

package kdc_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	mathrand "math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"sync/atomic"
	"testing"
	"time"

	"github.com/warden-auth/warden/admin"
	"github.com/warden-auth/warden/internal/testkit"
	"github.com/warden-auth/warden/krb5"
	"github.com/warden-auth/warden/krb5/kcrypto"
	"github.com/warden-auth/warden/krb5/kdc"
	"github.com/warden-auth/warden/store"
)

// BenchmarkASPrincipals measures AS exchanges spread evenly over a
// realm of 1,000 and of 100,000 users, so that the cost of a large
// principal cache (memory footprint, GC marking, CPU cache misses) shows
// as the ratio of the two. Accounts get random keys rather than
// password-derived ones to keep set-up short.
func BenchmarkASPrincipals(b *testing.B) {
	// A sub-benchmark's function runs once per round (b.N = 1, 100, ...);
	// the realm and its warm principal cache are made on the first and
	// kept, on the parent, for the rest.
	type fixture struct {
		k           *kdc.KDC
		reqs        [][]byte
		heapB, objs float64
	}
	fixtures := map[int]*fixture{}
	parent := b
	for _, n := range []int{1_000, 100_000} {
		b.Run(fmt.Sprintf("principals=%d", n), func(b *testing.B) {
			f := fixtures[n]
			if f == nil {
				k, reqs := scaleRealm(parent, n)
				// Warm the principal cache, as a long-running KDC would
				// be, and measure what each cached principal costs in heap.
				// The warm-up goes through the users in another order
				// than the run: clients do not log on again in the order
				// the KDC first loaded them, and the same order would
				// find each next principal beside the last in memory.
				var before, after runtime.MemStats
				runtime.GC()
				runtime.ReadMemStats(&before)
				for _, i := range mathrand.Perm(len(reqs)) {
					k.Handle(context.Background(), reqs[i])
				}
				runtime.GC()
				runtime.ReadMemStats(&after)
				f = &fixture{k: k, reqs: reqs,
					heapB: float64(after.HeapAlloc-before.HeapAlloc) / float64(n),
					objs:  float64(after.HeapObjects-before.HeapObjects) / float64(n)}
				fixtures[n] = f
			}
			k, reqs := f.k, f.reqs
			b.ReportAllocs()
			runtime.GC()
			gc0 := gcCPU()
			b.ResetTimer()
			var next atomic.Uint64
			b.RunParallel(func(pb *testing.PB) {
				// Each worker reuses its reply buffer, as the server's
				// UDP readers and TCP connections do.
				var out []byte
				for pb.Next() {
					r := reqs[next.Add(1)%uint64(len(reqs))]
					var res kdc.Result
					if out, res = k.AppendHandle(context.Background(), out[:0], r); !res.OK() || len(out) == 0 {
						b.Error(res)
						return
					}
				}
			})
			b.ReportMetric((gcCPU()-gc0)*1e9/float64(b.N), "gc-cpu-ns/op")
			// (after ResetTimer, which clears reported metrics)
			b.ReportMetric(f.heapB, "heap-B/principal")
			b.ReportMetric(f.objs, "objects/principal")
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
//
// With WARDEN_BENCH_REALMS=DIR the realm, its master key and the requests
// are kept in DIR/N and reused by later runs (their clock is the one the
// realm was built at), which turns minutes of set-up into seconds when
// iterating on the hot path.
func scaleRealm(b *testing.B, n int) (*kdc.KDC, [][]byte) {
	b.Helper()
	if keep := os.Getenv("WARDEN_BENCH_REALMS"); keep != "" {
		return keptRealm(b, filepath.Join(keep, fmt.Sprint(n)), n)
	}
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
	st, reqs, now := buildScaleRealm(b, dir, mk, n)
	return scaleKDC(b, st, now), reqs
}

// keptRealm opens the realm kept in dir, building it there first when
// it is not complete.
func keptRealm(b *testing.B, dir string, n int) (*kdc.KDC, [][]byte) {
	b.Helper()
	type kept struct {
		Master []byte
		Now    time.Time
		Reqs   [][]byte
	}
	meta := filepath.Join(dir, "realm.json")
	if raw, err := os.ReadFile(meta); err == nil {
		var k kept
		if err := json.Unmarshal(raw, &k); err != nil {
			b.Fatal(err)
		}
		return scaleKDC(b, testkit.OpenStore(b, dir, k.Master), k.Now), k.Reqs
	}
	os.RemoveAll(dir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		b.Fatal(err)
	}
	mk := make([]byte, store.MasterKeySize)
	rand.Read(mk)
	st, reqs, now := buildScaleRealm(b, dir, mk, n)
	raw, err := json.Marshal(kept{Master: mk, Now: now, Reqs: reqs})
	if err != nil {
		b.Fatal(err)
	}
	// Written last: a realm without it is rebuilt.
	if err := os.WriteFile(meta, raw, 0o600); err != nil {
		b.Fatal(err)
	}
	return scaleKDC(b, st, now), reqs
}

func scaleKDC(b *testing.B, st store.Store, now time.Time) *kdc.KDC {
	b.Helper()
	k, err := kdc.New(kdc.Config{Store: st, Time: func() time.Time { return now }, PollInterval: time.Hour})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { k.Close() })
	return k
}

// buildScaleRealm creates the realm's store in dir and one request per
// user, in a shuffled order.
func buildScaleRealm(b *testing.B, dir string, mk []byte, n int) (store.Store, [][]byte, time.Time) {
	b.Helper()
	st := testkit.OpenStore(b, dir, mk)
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
	return st, reqs, now
}

package kdc_test

import (
	"context"
	"testing"
	"time"

	"github.com/warden-auth/warden/admin"
	"github.com/warden-auth/warden/internal/testkit"
	"github.com/warden-auth/warden/krb5/kdc"
)

func benchEnv(b *testing.B) *env {
	r := testkit.NewRealm(b, realm)
	r.AddUser(b, "alice", alicePW, admin.UserOptions{})
	r.AddService(b, service, admin.ServiceOptions{})
	c := &clock{t: time.Now()}
	k, err := kdc.New(kdc.Config{Store: r.Store, Time: c.Now, PollInterval: time.Hour})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { k.Close() })
	return &env{r: r, k: k, clock: c}
}

// BenchmarkHandleAS is one AS exchange with PA-ENC-TIMESTAMP through the
// engine (no network): parse, verify, issue, encode.
func BenchmarkHandleAS(b *testing.B) {
	e := benchEnv(b)
	req := e.asReq("alice").withTimestamp(b, alicePW, e.clock.Now()).bytes()
	b.ReportAllocs()
	for b.Loop() {
		if rep, res := e.k.Handle(context.Background(), req); !res.OK() || rep == nil {
			b.Fatal(res)
		}
	}
}

// BenchmarkHandleTGS is one TGS exchange for a service ticket.
func BenchmarkHandleTGS(b *testing.B) {
	e := benchEnv(b)
	e.t = &testing.T{}
	tg := e.login("alice", alicePW)
	req := e.tgsReq(tg, service, nil)
	b.ReportAllocs()
	for b.Loop() {
		if rep, res := e.k.Handle(context.Background(), req); !res.OK() || rep == nil {
			b.Fatal(res)
		}
	}
}

package kdc_test

import (
	"context"
	"testing"
	"time"

	"github.com/warden-auth/warden/admin"
	"github.com/warden-auth/warden/internal/testkit"
	"github.com/warden-auth/warden/krb5"
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
//
// The PAC's cost is tgt against service,include-pac=false: the same
// exchange, the same ticket size apart from the PAC, and the only one
// that issues no PAC at all (a TGT always carries one; include-pac=false
// only marks it "not requested", MS-KILE 3.3.5.3). A service ticket with
// a PAC costs more: four signatures, one over the whole ticket.
func BenchmarkHandleAS(b *testing.B) {
	for _, bc := range []struct {
		name, sname string
		pacReq      *bool
	}{
		{"tgt", "krbtgt/" + realm, nil},
		{"tgt,include-pac=false", "krbtgt/" + realm, new(bool)},
		{"service", service, nil},
		{"service,include-pac=false", service, new(bool)},
	} {
		b.Run(bc.name, func(b *testing.B) {
			e := benchEnv(b)
			r := e.asReq("alice").withTimestamp(b, alicePW, e.clock.Now())
			r.sname = bc.sname
			if bc.pacReq != nil {
				r.padata = append(r.padata, krb5.PACRequest{IncludePAC: *bc.pacReq}.PAData())
			}
			req := r.bytes()
			b.ReportAllocs()
			for b.Loop() {
				if rep, res := e.k.Handle(context.Background(), req); !res.OK() || rep == nil {
					b.Fatal(res)
				}
			}
		})
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

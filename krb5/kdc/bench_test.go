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

// BenchmarkHandleASFAST is one armored AS conversation through the
// engine: the armored request without pre-authentication answered with
// PREAUTH_REQUIRED inside the tunnel (hints and a sealed cookie), then
// the armored request with the cookie and the encrypted challenge
// answered with the armored AS-REP (KDC challenge, strengthen key,
// ticket checksum). Both requests open the armor (krbtgt decryption,
// authenticator, two KRB-FX-CF2) as every real client's do.
func BenchmarkHandleASFAST(b *testing.B) {
	e := benchEnv(b)
	e.t = b
	a := e.newArmor(e.computerTGT(), nil)
	round1 := e.armorAS(e.asReq("alice"), a, fastReq{})
	cookie := e.cookieRound1(a, "alice")
	lt := userKey(b, "alice", alicePW, aes256)
	round2 := e.armorAS(e.asReq("alice"), a, fastReq{innerPA: krb5.MethodData{cookie, encChallenge(b, a.key, lt, e.clock.Now())}})
	b.ReportAllocs()
	for b.Loop() {
		if _, res := e.k.Handle(context.Background(), round1); res.Code != krb5.KDCErrPreauthRequired {
			b.Fatal(res)
		}
		if rep, res := e.k.Handle(context.Background(), round2); !res.OK() || rep == nil {
			b.Fatal(res)
		}
	}
}

// BenchmarkHandleTGSFAST is one TGS exchange with implicit FAST armor, as
// MIT clients send every TGS-REQ.
func BenchmarkHandleTGSFAST(b *testing.B) {
	e := benchEnv(b)
	e.t = b
	req, _, _ := e.armorTGS(e.login("alice", alicePW), service, nil)
	b.ReportAllocs()
	for b.Loop() {
		if rep, res := e.k.Handle(context.Background(), req); !res.OK() || rep == nil {
			b.Fatal(res)
		}
	}
}

package interop

import (
	"fmt"
	"testing"
	"time"

	"github.com/warden-auth/warden/admin"
	"github.com/warden-auth/warden/bench"
	"github.com/warden-auth/warden/internal/testkit"
	"github.com/warden-auth/warden/krb5/kdc"
)

// The load generator works against MIT krb5kdc and against warden: every
// reply decrypts and carries the request's nonce.
func TestBenchAgainstMITAndWarden(t *testing.T) {
	testkit.RequirePeer(t, "krb5kdc", "kadmin.local", "kdb5_util")
	const pw = "bench password 1"
	mit := testkit.StartMITKDC(t, "BENCH.TEST")
	r := testkit.NewRealm(t, "BENCH.TEST")
	var users []string
	for i := range 4 {
		u := fmt.Sprintf("bench%d", i)
		users = append(users, u)
		mit.AddPrincipal(t, u, pw)
		r.AddUser(t, u, pw, admin.UserOptions{})
	}
	mit.AddRandKey(t, "HTTP/bench.test")
	r.AddService(t, "HTTP/bench.test", admin.ServiceOptions{})
	w := testkit.StartKDC(t, r, kdc.Config{}, kdc.ServeConfig{})
	for name, addr := range map[string]string{"mit": mit.Addr(), "warden": w.Addr} {
		for _, op := range []string{"as", "tgs"} {
			t.Run(name+"/"+op, func(t *testing.T) {
				rep, err := bench.Run(t.Context(), op, bench.Config{KDC: addr, Realm: "BENCH.TEST", Users: users, Password: pw,
					Service: "HTTP/bench.test", Workers: 2, Duration: 300 * time.Millisecond, Warmup: 50 * time.Millisecond})
				if err != nil {
					t.Fatal(err)
				}
				if rep.Errors != 0 || rep.Requests == 0 {
					t.Fatalf("%v", rep)
				}
			})
		}
	}
}

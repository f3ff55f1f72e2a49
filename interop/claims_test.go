package interop

import (
	"context"
	"strings"
	"testing"

	"github.com/warden-auth/warden/admin"
	"github.com/warden-auth/warden/internal/testkit"
	"github.com/warden-auth/warden/krb5/kdc"
	"github.com/warden-auth/warden/krb5/pac"
)

// MIT kinit and kvno get a ticket from Warden for a service flagged
// claims-supported; MIT's acceptor verifies the PAC and exposes its
// client claims buffer (PAC buffer 13) as authenticated, and
// the buffer decodes to alice's claims with their types. A service not
// flagged gets a ticket without the buffer.
func TestMITAcceptsWardenClaims(t *testing.T) {
	testkit.RequirePeer(t, "kinit", "kvno")
	r := testkit.NewRealm(t, wardenRealm)
	ctx := context.Background()
	r.AddUser(t, "alice", pacUserPW, admin.UserOptions{})
	claimsKT := r.AddService(t, "HTTP/claims.warden.test", admin.ServiceOptions{Claims: true})
	plainKT := r.AddService(t, pacService, admin.ServiceOptions{})
	for _, a := range []string{"ad://ext/department=Sales,Support", "ad://ext/costCenter=4711"} {
		if _, err := r.Admin.SetClaim(ctx, "alice", a); err != nil {
			t.Fatal(err)
		}
	}
	k := testkit.StartKDC(t, r, kdc.Config{}, kdc.ServeConfig{})
	c := testkit.NewClient(t, wardenRealm, k.Addr, false)
	if out, err := c.Run(t, pacUserPW+"\n", "kinit", "alice@"+wardenRealm); err != nil {
		t.Fatalf("kinit: %v\n%s", err, out)
	}
	for svc, kt := range map[string]string{"HTTP/claims.warden.test": claimsKT, pacService: plainKT} {
		if out, err := c.Run(t, "", "kvno", "-k", kt, svc); err != nil || !strings.Contains(out, "keytab entry valid") {
			t.Fatalf("kvno %s: %v\n%s", svc, err, out)
		}
	}

	res := acceptWithMIT(t, c, claimsKT, "HTTP/claims.warden.test@"+wardenRealm)
	if !res.Complete || res.Initiator != "alice@"+wardenRealm {
		t.Fatalf("MIT acceptor: %+v", res)
	}
	if _, authenticated := logonInfoFromMIT(t, res); !authenticated {
		t.Fatal("MIT did not verify the PAC")
	}
	b := mitPACBuffer(t, res, "client-claims", 13)
	cs, err := pac.DecodeClaims(b)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][]string{}
	for _, arr := range cs.Arrays {
		for _, e := range arr.Claims {
			if e.Type != pac.ClaimTypeString {
				t.Errorf("%s has type %d", e.ID, e.Type)
			}
			got[e.ID] = e.Strings
		}
	}
	if strings.Join(got["ad://ext/department"], ",") != "Sales,Support" || strings.Join(got["ad://ext/costCenter"], ",") != "4711" {
		t.Fatalf("claims through MIT: %v", got)
	}

	res = acceptWithMIT(t, c, plainKT, pacService+"@"+wardenRealm)
	_, named := res.Attrs["urn:mspac:client-claims"]
	if _, numbered := res.Attrs["urn:mspac:13"]; named || numbered || !res.Complete {
		t.Fatalf("a service not flagged for claims got them: %+v", res.Attrs)
	}
}

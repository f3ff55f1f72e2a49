package interop

import (
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/warden-auth/warden/admin"
	"github.com/warden-auth/warden/internal/testkit"
	"github.com/warden-auth/warden/krb5/kdc"
	"github.com/warden-auth/warden/store"
)

const wardenRealm = "WARDEN.TEST"

// wardenRealmWithKDC is a Warden realm with alice and HTTP/web.warden.test,
// served on 127.0.0.1.
func wardenRealmWithKDC(t *testing.T) (*testkit.Realm, *testkit.KDC, string) {
	t.Helper()
	r := testkit.NewRealm(t, wardenRealm)
	r.AddUser(t, "alice", "correct horse battery", admin.UserOptions{})
	kt := r.AddService(t, "HTTP/web.warden.test", admin.ServiceOptions{})
	k := testkit.StartKDC(t, r, kdc.Config{}, kdc.ServeConfig{})
	return r, k, kt
}

// MIT kinit, klist and kvno against warden, over UDP and over TCP: a TGT
// from a password, a service ticket that the service's keytab decrypts.
func TestMITClientsAgainstWarden(t *testing.T) {
	testkit.RequirePeer(t, "kinit", "klist", "kvno")
	_, k, kt := wardenRealmWithKDC(t)
	for _, tcp := range []bool{false, true} {
		name := "udp"
		if tcp {
			name = "tcp"
		}
		t.Run(name, func(t *testing.T) {
			c := testkit.NewClient(t, wardenRealm, k.Addr, tcp)
			if out, err := c.Run(t, "correct horse battery\n", "kinit", "alice@"+wardenRealm); err != nil {
				t.Fatalf("kinit: %v\n%s", err, out)
			}
			out, err := c.Run(t, "", "klist")
			if err != nil || !strings.Contains(out, "krbtgt/"+wardenRealm+"@"+wardenRealm) || !strings.Contains(out, "alice@"+wardenRealm) {
				t.Fatalf("klist: %v\n%s", err, out)
			}
			// kvno -k decrypts the service ticket with the exported keytab.
			out, err = c.Run(t, "", "kvno", "-k", kt, "HTTP/web.warden.test")
			if err != nil || !strings.Contains(out, "kvno = 1, keytab entry valid") {
				t.Fatalf("kvno: %v\n%s", err, out)
			}
			out, _ = c.Run(t, "", "klist", "-e")
			if !strings.Contains(out, "HTTP/web.warden.test@"+wardenRealm) || !strings.Contains(out, "aes256-cts-hmac-sha1-96") {
				t.Fatalf("klist -e after kvno:\n%s", out)
			}
		})
	}
}

// A keytab exported by warden logs in with MIT kinit -k -t, and a
// renewable TGT renews with kinit -R.
func TestMITKeytabLoginAndRenew(t *testing.T) {
	testkit.RequirePeer(t, "kinit", "klist")
	r, k, _ := wardenRealmWithKDC(t)
	ctx := t.Context()
	if _, err := r.Admin.AddComputer(ctx, "ws01", admin.KeyOptions{}); err != nil {
		t.Fatal(err)
	}
	kt, _, err := r.Admin.Keytab(ctx, "WS01$", false)
	if err != nil {
		t.Fatal(err)
	}
	ktPath := filepath.Join(t.TempDir(), "ws01.keytab")
	if err := kt.WriteFile(ktPath); err != nil {
		t.Fatal(err)
	}
	c := testkit.NewClient(t, wardenRealm, k.Addr, false)
	if out, err := c.Run(t, "", "kinit", "-k", "-t", ktPath, "-r", "2d", "WS01$@"+wardenRealm); err != nil {
		t.Fatalf("kinit -k: %v\n%s", err, out)
	}
	before, _ := c.Run(t, "", "klist")
	if !strings.Contains(before, "renew until") {
		t.Fatalf("TGT is not renewable:\n%s", before)
	}
	if out, err := c.Run(t, "", "kinit", "-R"); err != nil {
		t.Fatalf("kinit -R: %v\n%s", err, out)
	}
	after, _ := c.Run(t, "", "klist")
	if !strings.Contains(after, "krbtgt/"+wardenRealm) {
		t.Fatalf("klist after renew:\n%s", after)
	}
	// host/ SPNs of the computer are services too.
	if out, err := c.Run(t, "", "kvno", "host/ws01."+strings.ToLower(wardenRealm)); err != nil {
		t.Fatalf("kvno host/: %v\n%s", err, out)
	}
}

// What MIT kinit prints for warden's refusals: the reason reaches the user.
func TestMITKinitRefusals(t *testing.T) {
	testkit.RequirePeer(t, "kinit")
	r, k, _ := wardenRealmWithKDC(t)
	r.AddUser(t, "bob", "bob's password 1", admin.UserOptions{})
	if _, err := r.Admin.SetFlags(t.Context(), "bob", store.FlagDisabled, 0); err != nil {
		t.Fatal(err)
	}
	k.Refresh(t.Context())
	c := testkit.NewClient(t, wardenRealm, k.Addr, false)
	cases := []struct {
		name, principal, password string
		want                      *regexp.Regexp
	}{
		{"wrong password", "alice", "wrong password!", regexp.MustCompile(`Password incorrect`)},
		{"unknown user", "nobody", "whatever123", regexp.MustCompile(`not found in Kerberos database`)},
		{"disabled", "bob", "bob's password 1", regexp.MustCompile(`(?i)revoked|disabled`)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, err := c.Run(t, tc.password+"\n", "kinit", tc.principal+"@"+wardenRealm)
			if err == nil {
				t.Fatalf("kinit succeeded:\n%s", out)
			}
			if !tc.want.MatchString(out) {
				t.Fatalf("kinit output does not match %v:\n%s", tc.want, out)
			}
		})
	}
}

// Heimdal's kinit and klist against warden.
func TestHeimdalClientsAgainstWarden(t *testing.T) {
	testkit.RequirePeer(t, "kinit.heimdal", "heimtools", "kgetcred")
	_, k, _ := wardenRealmWithKDC(t)
	for _, tcp := range []bool{false, true} {
		c := testkit.NewClient(t, wardenRealm, k.Addr, tcp)
		out, err := c.Run(t, "correct horse battery\n", "kinit.heimdal", "--password-file=STDIN", "alice@"+wardenRealm)
		if err != nil {
			t.Fatalf("heimdal kinit (tcp=%v): %v\n%s", tcp, err, out)
		}
		if out, err := c.Run(t, "", "kgetcred", "HTTP/web.warden.test@"+wardenRealm); err != nil {
			t.Fatalf("heimdal kgetcred: %v\n%s", err, out)
		}
		out, err = c.Run(t, "", "heimtools", "klist")
		if err != nil || !strings.Contains(out, "krbtgt/"+wardenRealm+"@"+wardenRealm) || !strings.Contains(out, "HTTP/web.warden.test@"+wardenRealm) {
			t.Fatalf("heimdal klist: %v\n%s", err, out)
		}
		out, err = c.Run(t, "wrong\n", "kinit.heimdal", "--password-file=STDIN", "alice@"+wardenRealm)
		if err == nil || !strings.Contains(strings.ToLower(out), "password incorrect") {
			t.Fatalf("heimdal kinit with a wrong password: %v\n%s", err, out)
		}
	}
}

// MIT kinit -C -E logs in with the user principal name (an enterprise
// name); asked to canonicalize (RFC 6806), warden answers with the
// account's name, which MIT stores as the cache's principal.
func TestMITEnterpriseName(t *testing.T) {
	testkit.RequirePeer(t, "kinit", "klist")
	_, k, _ := wardenRealmWithKDC(t)
	c := testkit.NewClient(t, wardenRealm, k.Addr, false)
	if out, err := c.Run(t, "correct horse battery\n", "kinit", "-C", "-E", "alice@warden.test"); err != nil {
		t.Fatalf("kinit -E: %v\n%s", err, out)
	}
	out, _ := c.Run(t, "", "klist")
	if !strings.Contains(out, "Default principal: alice@"+wardenRealm) {
		t.Fatalf("klist:\n%s", out)
	}
}

package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/warden-auth/warden/admin"
	"github.com/warden-auth/warden/krb5/ccache"
	"github.com/warden-auth/warden/krb5/client"
	"github.com/warden-auth/warden/store"
)

// fastEnv adds to the client environment the computer WS01$ (its keytab
// in dir/ws01.keytab) and bob, whose account requires FAST: the KDC
// refuses bob's unarmored AS and TGS requests, so that everything bob
// gets proves the client armored it.
func fastEnv(t *testing.T) (e *clientEnv, compKT, bobPW string) {
	t.Helper()
	e = newClientEnv(t)
	ctx := t.Context()
	e.realm.AddUser(t, "bob", "bob's password 1", admin.UserOptions{})
	if _, err := e.realm.Admin.SetFlags(ctx, "bob", store.FlagFASTRequired, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := e.realm.Admin.AddComputer(ctx, "ws01", admin.KeyOptions{}); err != nil {
		t.Fatal(err)
	}
	kt, _, err := e.realm.Admin.Keytab(ctx, "WS01$", false)
	if err != nil {
		t.Fatal(err)
	}
	compKT = filepath.Join(e.dir, "ws01.keytab")
	if err := kt.WriteFile(compKT); err != nil {
		t.Fatal(err)
	}
	bobPW = filepath.Join(e.dir, "bobpw")
	if err := os.WriteFile(bobPW, []byte("bob's password 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	e.kdc.Refresh(ctx)
	return e, compKT, bobPW
}

func fastAvail(t *testing.T, path string) bool {
	t.Helper()
	v, ok := loadTestCache(t, path).Config("fast_avail", "krbtgt/"+cliRealm+"@"+cliRealm)
	return ok && string(v) == "yes"
}

func TestKinitArmored(t *testing.T) {
	e, compKT, bobPW := fastEnv(t)

	// bob without armor: refused, and told how to armor.
	code, _, errOut := clientRun(t, "kinit", "--password-file", bobPW, "bob")
	if code != 1 || !strings.Contains(errOut, "FAST armor is required") || !strings.Contains(errOut, "warden: hint: armor the request with a computer's TGT: warden kinit --armor-keytab") {
		t.Fatalf("unarmored kinit of a fast-required user: %d\n%s", code, errOut)
	}

	// --armor-keytab: the computer's TGT is got, kept in CACHE.armor,
	// and armors bob's login; the cache is marked fast_avail.
	if out := clientMustRun(t, "kinit", "--armor-keytab", compKT, "--password-file", bobPW, "-r", "1d", "bob"); out != "" {
		t.Errorf("kinit printed %q", out)
	}
	c := loadTestCache(t, e.cache)
	if c.DefaultPrincipal.String() != "bob@"+cliRealm || !fastAvail(t, e.cache) {
		t.Fatalf("cache after armored kinit: %s, fast_avail %v", c.DefaultPrincipal, fastAvail(t, e.cache))
	}
	armor := e.cache + client.DeviceCacheSuffix
	// (The keytab's first principal is the computer's: WS01$ or host/ws01.)
	// The computer's own login was not armored, but the KDC said under
	// the reply key that it does FAST (RFC 6806): fast_avail, which MIT's
	// kinit -T reads to armor from the first request.
	if ac := loadTestCache(t, armor); !strings.Contains(strings.ToLower(ac.DefaultPrincipal.String()), "ws01") ||
		!strings.HasPrefix(ac.Credentials[0].Server.String(), "krbtgt/") || !fastAvail(t, armor) {
		t.Errorf("armor cache: %s, fast_avail %v", ac.DefaultPrincipal, fastAvail(t, armor))
	}
	// klist ignores the configuration entry.
	if out := clientMustRun(t, "klist"); strings.Contains(out, "fast_avail") || strings.Contains(out, "X-CACHECONF") {
		t.Errorf("klist shows the configuration entry:\n%s", out)
	}

	// kvno and kinit -R with the FAST TGT are armored (the KDC refuses
	// bob's unarmored TGS requests).
	if out := clientMustRun(t, "kvno", cliService); out != cliService+"@"+cliRealm+": kvno = 1\n" {
		t.Errorf("kvno printed %q", out)
	}
	clientMustRun(t, "kinit", "-R")
	if !fastAvail(t, e.cache) {
		t.Error("kinit -R dropped fast_avail")
	}

	// --armor-ccache (-T) with the computer's cache, as MIT kinit -T.
	clientMustRun(t, "kinit", "-T", "FILE:"+armor, "--password-file", bobPW, "bob")
	if !fastAvail(t, e.cache) {
		t.Error("kinit -T: no fast_avail")
	}
	clientMustRun(t, "kvno", cliService)

	// kdestroy removes the armor side cache with the cache.
	clientMustRun(t, "kdestroy")
	for _, p := range []string{e.cache, armor} {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s still there after kdestroy: %v", p, err)
		}
	}
}

// A user without fast-required logs in without armor and hears that the
// KDC supports FAST; with armor, no note.
func TestKinitFASTNote(t *testing.T) {
	e, compKT, _ := fastEnv(t)
	_, _, errOut := clientRun(t, "kinit", "--password-file", e.pwFile, "alice")
	if !strings.Contains(errOut, "warden: note: the KDC of "+cliRealm+" supports FAST; armor the login") {
		t.Errorf("unarmored kinit: %q", errOut)
	}
	if _, _, errOut = clientRun(t, "kinit", "--armor-keytab", compKT, "--password-file", e.pwFile, "alice"); errOut != "" {
		t.Errorf("armored kinit printed %q", errOut)
	}
	// A keytab login has no password to protect: no note.
	other := filepath.Join(e.dir, "svc.ccache")
	if _, _, errOut = clientRun(t, "kinit", "-k", e.svcKeytab, "-c", "FILE:"+other); errOut != "" {
		t.Errorf("keytab kinit printed %q", errOut)
	}
}

func TestKinitArmorRefusals(t *testing.T) {
	e, compKT, bobPW := fastEnv(t)
	userCache := filepath.Join(e.dir, "user.ccache")
	clientMustRun(t, "kinit", "--password-file", e.pwFile, "-c", userCache, "alice")
	svcCache := filepath.Join(e.dir, "svc.ccache")
	clientMustRun(t, "kinit", "-k", e.svcKeytab, "-c", svcCache)
	// A cache with only a service ticket (no TGT) cannot armor.
	c := loadTestCache(t, svcCache)
	c.Credentials = c.Credentials[:0]
	c.Store(ccache.Credential{Client: c.DefaultPrincipal, Server: ccache.Principal{Realm: cliRealm, Name: c.DefaultPrincipal.Name}})
	noTGT := filepath.Join(e.dir, "notgt.ccache")
	if err := c.WriteFile(noTGT); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"two armors", []string{"kinit", "--armor-keytab", compKT, "-T", userCache, "bob"}, []string{"--armor-keytab and --armor-ccache both name an armor"}},
		{"armor principal without keytab", []string{"kinit", "--armor-principal", "WS01$", "bob"}, []string{"--armor-principal names a principal of --armor-keytab"}},
		{"renew with armor", []string{"kinit", "-R", "-T", userCache}, []string{"-R takes no armor", "renewed armored by itself"}},
		{"missing armor cache", []string{"kinit", "-T", filepath.Join(e.dir, "none"), "--password-file", bobPW, "bob"}, []string{"no credentials cache found"}},
		{"armor cache without a TGT", []string{"kinit", "-T", noTGT, "--password-file", bobPW, "bob"},
			[]string{"armor cache " + noTGT, "warden: hint: the armor cache needs a TGT of " + cliRealm}},
		{"armor principal not in the keytab", []string{"kinit", "--armor-keytab", compKT, "--armor-principal", "ws02$", "--password-file", bobPW, "bob"},
			[]string{"getting the armor TGT for ws02$@" + cliRealm}},
		{"armor principal of another realm", []string{"kinit", "--armor-keytab", compKT, "--armor-principal", "WS01$@OTHER", "--password-file", bobPW, "bob"},
			[]string{"not in the realm " + cliRealm}},
		{"wrong password, armored", []string{"kinit", "-T", userCache, "--password-file", e.pwFile, "bob"},
			[]string{"warden: error: password incorrect for bob@" + cliRealm + ": KDC_ERR_PREAUTH_FAILED"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, _, errOut := clientRun(t, tc.args...)
			if code != 1 {
				t.Errorf("exit %d", code)
			}
			for _, w := range tc.want {
				if !strings.Contains(errOut, w) {
					t.Errorf("stderr lacks %q:\n%s", w, errOut)
				}
			}
		})
	}
}

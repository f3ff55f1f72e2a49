package cli

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/warden-auth/warden/admin"
	"github.com/warden-auth/warden/internal/testkit"
	"github.com/warden-auth/warden/krb5"
	"github.com/warden-auth/warden/krb5/ccache"
	"github.com/warden-auth/warden/krb5/kdc"
)

const (
	cliRealm    = "CLI.TEST"
	cliPassword = "correct horse battery"
	cliService  = "host/svc.cli.test"
)

// clientEnv is a Warden realm served on 127.0.0.1 with alice and a
// service, a krb5.conf naming it ($KRB5_CONFIG) and a cache path
// ($KRB5CCNAME).
type clientEnv struct {
	dir, cache, pwFile, svcKeytab string
	realm                         *testkit.Realm
	kdc                           *testkit.KDC
}

func newClientEnv(t *testing.T) *clientEnv {
	t.Helper()
	r := testkit.NewRealm(t, cliRealm)
	r.AddUser(t, "alice", cliPassword, admin.UserOptions{})
	kt := r.AddService(t, cliService, admin.ServiceOptions{})
	k := testkit.StartKDC(t, r, kdc.Config{}, kdc.ServeConfig{})
	e := &clientEnv{dir: t.TempDir(), svcKeytab: kt, realm: r, kdc: k}
	conf := filepath.Join(e.dir, "krb5.conf")
	body := fmt.Sprintf("[libdefaults]\n default_realm = %s\n[realms]\n %s = {\n  kdc = %s\n }\n", cliRealm, cliRealm, k.Addr)
	if err := os.WriteFile(conf, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	e.cache = filepath.Join(e.dir, "ccache")
	e.pwFile = filepath.Join(e.dir, "pw")
	if err := os.WriteFile(e.pwFile, []byte(cliPassword+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("KRB5_CONFIG", conf)
	t.Setenv("KRB5CCNAME", "FILE:"+e.cache)
	return e
}

func clientRun(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var o, e bytes.Buffer
	code = Execute("test", args, &o, &e)
	return code, o.String(), e.String()
}

func clientMustRun(t *testing.T, args ...string) string {
	t.Helper()
	code, out, errOut := clientRun(t, args...)
	if code != 0 {
		t.Fatalf("warden %s: exit %d\n%s%s", strings.Join(args, " "), code, out, errOut)
	}
	return out
}

// tickets are the cache's credentials without configuration entries
// (fast_avail).
func tickets(c *ccache.Cache) []ccache.Credential {
	var out []ccache.Credential
	for _, cr := range c.Credentials {
		if !cr.IsConfig() {
			out = append(out, cr)
		}
	}
	return out
}

func loadTestCache(t *testing.T, path string) *ccache.Cache {
	t.Helper()
	c, err := ccache.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestClientCommandsAgainstWarden(t *testing.T) {
	e := newClientEnv(t)
	tgtName := "krbtgt/" + cliRealm + "@" + cliRealm

	if out := clientMustRun(t, "kinit", "--password-file", e.pwFile, "-r", "1d", "-l", "2h", "alice"); out != "" {
		t.Errorf("kinit printed %q; MIT's prints nothing", out)
	}
	c := loadTestCache(t, e.cache)
	if c.DefaultPrincipal.String() != "alice@"+cliRealm || len(tickets(c)) != 1 || c.Credentials[0].Server.String() != tgtName {
		t.Fatalf("cache after kinit: %+v", c)
	}
	tgt := c.Credentials[0]
	if !tgt.TicketFlags.Has(krb5.TktFlagRenewable) || tgt.EndTime.Sub(tgt.StartTime) > 2*time.Hour {
		t.Errorf("TGT flags %#x life %v", tgt.TicketFlags, tgt.EndTime.Sub(tgt.StartTime))
	}

	out := clientMustRun(t, "klist")
	for _, want := range []string{
		"Ticket cache: FILE:" + e.cache + "\n",
		"Default principal: alice@" + cliRealm + "\n\n",
		"Valid starting     Expires            Service principal\n",
		"  " + tgtName + "\n\trenew until ",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("klist output lacks %q:\n%s", want, out)
		}
	}

	out = clientMustRun(t, "kvno", cliService)
	if out != cliService+"@"+cliRealm+": kvno = 1\n" {
		t.Errorf("kvno printed %q", out)
	}
	c = loadTestCache(t, e.cache)
	svc, err := c.Find(ccache.Principal{Realm: cliRealm, Name: krb5.NewPrincipalName(krb5.NameTypePrincipal, cliService)})
	if err != nil {
		t.Fatal(err)
	}
	// A second kvno uses the cached ticket, as MIT's does.
	clientMustRun(t, "kvno", cliService)
	again, _ := loadTestCache(t, e.cache).Find(svc.Server)
	if !bytes.Equal(again.Ticket, svc.Ticket) || len(tickets(loadTestCache(t, e.cache))) != 2 {
		t.Error("second kvno did not reuse the cached ticket")
	}
	if out := clientMustRun(t, "klist", "-e"); !strings.Contains(out, cliService+"@"+cliRealm+"\n") || !strings.Contains(out, "Etype (skey, tkt): aes256-cts-hmac-sha1-96, ") {
		t.Errorf("klist -e after kvno:\n%s", out)
	}

	// kvno: one unknown service fails, the other still succeeds.
	code, out, errOut := clientRun(t, "kvno", "host/nope.cli.test", cliService)
	if code != 1 || !strings.Contains(out, cliService+"@"+cliRealm+": kvno = 1") ||
		!strings.Contains(errOut, "KDC_ERR_S_PRINCIPAL_UNKNOWN") || !strings.Contains(errOut, "warden: hint: check the service name") {
		t.Errorf("kvno with an unknown service: %d\n%s%s", code, out, errOut)
	}

	// kinit -R replaces the cache with the renewed TGT.
	clientMustRun(t, "kinit", "-R")
	c = loadTestCache(t, e.cache)
	if len(tickets(c)) != 1 || c.Credentials[0].Server.String() != tgtName || bytes.Equal(c.Credentials[0].Key.KeyValue, tgt.Key.KeyValue) ||
		c.Credentials[0].TicketFlags.Has(krb5.TktFlagInitial) {
		t.Errorf("after kinit -R: %+v", c.Credentials)
	}

	// Keytab: the service logs in with its exported keytab (the keytab's
	// principal is the default).
	other := filepath.Join(e.dir, "svc.ccache")
	clientMustRun(t, "kinit", "-k", e.svcKeytab, "-c", "FILE:"+other)
	if c := loadTestCache(t, other); c.DefaultPrincipal.String() != cliService+"@"+cliRealm {
		t.Errorf("keytab kinit principal %s", c.DefaultPrincipal)
	}

	clientMustRun(t, "kdestroy")
	if _, err := os.Stat(e.cache); !os.IsNotExist(err) {
		t.Errorf("cache still there after kdestroy: %v", err)
	}
	code, _, errOut = clientRun(t, "klist")
	if code != 1 || !strings.Contains(errOut, "warden: error: no credentials cache found (filename: "+e.cache+")") || !strings.Contains(errOut, "warden: hint: get a ticket first") {
		t.Errorf("klist without a cache: %d %s", code, errOut)
	}
	if code, _, errOut = clientRun(t, "kdestroy"); code != 1 || !strings.Contains(errOut, "no credentials cache found") {
		t.Errorf("kdestroy without a cache: %d %s", code, errOut)
	}
	if code, _, errOut = clientRun(t, "kvno", cliService); code != 1 || !strings.Contains(errOut, "warden: hint: get a ticket first") {
		t.Errorf("kvno without a cache: %d %s", code, errOut)
	}
}

func TestKinitRefusals(t *testing.T) {
	e := newClientEnv(t)
	bad := filepath.Join(e.dir, "bad")
	os.WriteFile(bad, []byte("wrong password\n"), 0o600)
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"wrong password", []string{"kinit", "--password-file", bad, "alice"},
			[]string{"warden: error: password incorrect for alice@CLI.TEST: KDC_ERR_PREAUTH_FAILED", "warden: hint: password incorrect"}},
		{"unknown user", []string{"kinit", "--password-file", bad, "nobody"},
			[]string{"KDC_ERR_C_PRINCIPAL_UNKNOWN", "warden: hint: check the user name and realm"}},
		{"unknown realm", []string{"kinit", "--password-file", bad, "alice@NOWHERE"},
			[]string{"no KDC is known for realm NOWHERE", "warden: hint: add the realm to krb5.conf"}},
		{"empty password file", []string{"kinit", "--password-file", os.DevNull, "alice"},
			[]string{"no password given"}},
		{"bad lifetime", []string{"kinit", "-l", "forever", "alice"}, []string{"-l: \"forever\" is not a duration"}},
		{"missing keytab", []string{"kinit", "-k", filepath.Join(e.dir, "none.keytab")}, []string{"none.keytab"}},
		{"keytab without the principal", []string{"kinit", "-k", e.svcKeytab, "alice"}, []string{"keytab has no entry for alice@CLI.TEST"}},
		{"renew without a cache", []string{"kinit", "-R"}, []string{"no credentials cache found"}},
		{"unsupported cache type", []string{"klist", "-c", "KEYRING:persistent:1000"}, []string{`type "KEYRING" is not supported`}},
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

	// A TGT that is not renewable.
	clientMustRun(t, "kinit", "--password-file", e.pwFile, "alice")
	if code, _, errOut := clientRun(t, "kinit", "-R"); code != 1 || !strings.Contains(errOut, "not renewable") || !strings.Contains(errOut, "hint: get a renewable ticket first") {
		t.Errorf("renewing a non-renewable TGT: %s", errOut)
	}
	if code, _, errOut := clientRun(t, "kinit", "-R", "bob"); code != 1 || !strings.Contains(errOut, "holds tickets of alice@CLI.TEST, not bob@CLI.TEST") {
		t.Errorf("renewing another principal's cache: %s", errOut)
	}

	t.Setenv("KRB5_CONFIG", filepath.Join(e.dir, "missing.conf"))
	if code, _, errOut := clientRun(t, "kinit", "--password-file", e.pwFile, "alice"); code != 1 || !strings.Contains(errOut, "warden: hint: point KRB5_CONFIG at a krb5.conf") {
		t.Errorf("no krb5.conf: %s", errOut)
	}
}

func TestReadPassword(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "pw")
	os.WriteFile(file, []byte("from file\r\nsecond line\n"), 0o600)
	tests := []struct {
		name, file, stdin, want string
		wantErr                 bool
	}{
		{name: "file, first line, CRLF", file: file, want: "from file"},
		{name: "file - reads stdin", file: "-", stdin: "piped\n", want: "piped"},
		{name: "stdin when not a terminal", stdin: "typed\nmore", want: "typed"},
		{name: "stdin without newline", stdin: "typed", want: "typed"},
		{name: "nothing", stdin: "", wantErr: true},
		{name: "missing file", file: filepath.Join(dir, "none"), wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cmd := &cobra.Command{}
			cmd.SetIn(strings.NewReader(tc.stdin))
			var errOut bytes.Buffer
			cmd.SetErr(&errOut)
			got, err := readPassword(cmd, tc.file, "Password: ")
			if (err != nil) != tc.wantErr || got != tc.want {
				t.Errorf("got %q, %v", got, err)
			}
			if errOut.Len() != 0 {
				t.Errorf("prompted without a terminal: %q", errOut.String())
			}
		})
	}
}

func TestResolveCCache(t *testing.T) {
	t.Setenv("KRB5CCNAME", "FILE:/tmp/from-env")
	tests := []struct{ flag, want, err string }{
		{"", "/tmp/from-env", ""},
		{"/tmp/x", "/tmp/x", ""},
		{"FILE:/tmp/y", "/tmp/y", ""},
		{"relative/cache", "relative/cache", ""},
		{"MEMORY:foo", "", "not supported"},
	}
	for _, tc := range tests {
		got, err := resolveCCache(tc.flag)
		if got != tc.want || (err == nil) != (tc.err == "") || err != nil && !strings.Contains(err.Error(), tc.err) {
			t.Errorf("%q: %q %v", tc.flag, got, err)
		}
	}
	t.Setenv("KRB5CCNAME", "KEYRING:persistent:1")
	if _, err := resolveCCache(""); err == nil {
		t.Error("KEYRING: from the environment accepted")
	}
}

func TestPrintCacheLayout(t *testing.T) {
	at := func(h int) time.Time { return time.Date(2026, 2, 3, h, 4, 5, 0, time.UTC) }
	alice := ccache.Principal{Realm: "R", Name: krb5.NewPrincipalName(1, "alice")}
	tgt := ccache.Principal{Realm: "R", Name: krb5.NewPrincipalName(2, "krbtgt/R")}
	svc := ccache.Principal{Realm: "R", Name: krb5.NewPrincipalName(1, "host/x")}
	tkt := krb5.Ticket{TktVNO: 5, Realm: "R", SName: svc.Name, EncPart: krb5.EncryptedData{EType: 20, Cipher: []byte{1}}}
	raw, _ := tkt.Marshal()
	c := &ccache.Cache{DefaultPrincipal: alice}
	c.Credentials = []ccache.Credential{
		{Client: alice, Server: tgt, AuthTime: at(1), StartTime: at(1), EndTime: at(11), RenewTill: at(23), TicketFlags: krb5.TktFlagRenewable,
			Key: krb5.EncryptionKey{KeyType: 18}, Ticket: raw},
		{Client: alice, Server: svc, AuthTime: at(1), EndTime: at(11), Key: krb5.EncryptionKey{KeyType: 17}, Ticket: raw},
		{Client: ccache.Principal{Realm: "R", Name: krb5.NewPrincipalName(1, "bob")}, Server: svc, AuthTime: at(1), StartTime: at(2), EndTime: at(3),
			RenewTill: at(4), TicketFlags: krb5.TktFlagRenewable, Key: krb5.EncryptionKey{KeyType: 18}, Ticket: raw},
	}
	c.SetConfig("pa_type", "krbtgt/R@R", []byte("2"))
	var b bytes.Buffer
	printCache(&b, "/tmp/cc", c, false, time.UTC)
	want := `Ticket cache: FILE:/tmp/cc
Default principal: alice@R

Valid starting     Expires            Service principal
02/03/26 01:04:05  02/03/26 11:04:05  krbtgt/R@R
	renew until 02/03/26 23:04:05
02/03/26 01:04:05  02/03/26 11:04:05  host/x@R
02/03/26 02:04:05  02/03/26 03:04:05  host/x@R
	for client bob@R, renew until 02/03/26 04:04:05
`
	if b.String() != want {
		t.Errorf("klist layout:\n%s\nwant:\n%s", b.String(), want)
	}
	b.Reset()
	printCache(&b, "/tmp/cc", c, true, time.UTC)
	wantE := `Ticket cache: FILE:/tmp/cc
Default principal: alice@R

Valid starting     Expires            Service principal
02/03/26 01:04:05  02/03/26 11:04:05  krbtgt/R@R
	renew until 02/03/26 23:04:05, Etype (skey, tkt): aes256-cts-hmac-sha1-96, aes256-cts-hmac-sha384-192 
02/03/26 01:04:05  02/03/26 11:04:05  host/x@R
	Etype (skey, tkt): aes128-cts-hmac-sha1-96, aes256-cts-hmac-sha384-192 
02/03/26 02:04:05  02/03/26 03:04:05  host/x@R
	for client bob@R, renew until 02/03/26 04:04:05
	Etype (skey, tkt): aes256-cts-hmac-sha1-96, aes256-cts-hmac-sha384-192 
`
	if b.String() != wantE {
		t.Errorf("klist -e layout:\n%s\nwant:\n%s", b.String(), wantE)
	}
}

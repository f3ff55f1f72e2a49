package cli

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/warden-auth/warden/admin"
	"github.com/warden-auth/warden/config"
	"github.com/warden-auth/warden/internal/testkit"
	"github.com/warden-auth/warden/krb5"
	"github.com/warden-auth/warden/krb5/ccache"
	"github.com/warden-auth/warden/krb5/kcrypto"
	"github.com/warden-auth/warden/krb5/kdc"
	"github.com/warden-auth/warden/krb5/keytab"
	"github.com/warden-auth/warden/krb5/pac"
	"github.com/warden-auth/warden/server"
)

// pacRealm is a data directory made with the CLI (alice in devs, devs in
// staff, a service and a no-pac service), served by a KDC on 127.0.0.1,
// with krb5.conf and the cache in the environment.
type pacRealm struct {
	d                     string // --data=DIR
	dir, cache, domainSID string
	svcKeytab, noPACKT    string
}

func newPACRealm(t *testing.T) *pacRealm {
	dir := filepath.Join(t.TempDir(), "data")
	e := &pacRealm{dir: dir, d: "--data=" + dir}
	tmp := t.TempDir()
	pw := filepath.Join(tmp, "pw")
	if err := os.WriteFile(pw, []byte(cliPassword+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	e.svcKeytab, e.noPACKT = filepath.Join(tmp, "svc.keytab"), filepath.Join(tmp, "nopac.keytab")
	for _, args := range [][]string{
		{"init", "--realm", cliRealm},
		{"user", "add", "alice", "--password-file", pw},
		{"group", "add", "devs"}, {"group", "add", "staff"},
		{"group", "add-member", "devs", "alice"}, {"group", "add-member", "staff", "devs"},
		{"service", "add", cliService, "--keytab", e.svcKeytab},
		{"service", "add", "HTTP/nopac.cli.test", "--no-pac", "--keytab", e.noPACKT},
	} {
		mustRun(t, "", append(args, e.d)...)
	}
	cfg, err := config.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	st, err := server.OpenStore(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	a, err := admin.New(context.Background(), admin.Config{Store: st})
	if err != nil {
		t.Fatal(err)
	}
	e.domainSID = a.Realm().DomainSID
	k := testkit.StartKDC(t, &testkit.Realm{Name: cliRealm, Dir: dir, Store: st, Admin: a}, kdc.Config{}, kdc.ServeConfig{})
	conf := filepath.Join(tmp, "krb5.conf")
	body := fmt.Sprintf("[libdefaults]\n default_realm = %s\n[realms]\n %s = {\n  kdc = %s\n }\n", cliRealm, cliRealm, k.Addr)
	if err := os.WriteFile(conf, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	e.cache = filepath.Join(tmp, "ccache")
	t.Setenv("KRB5_CONFIG", conf)
	t.Setenv("KRB5CCNAME", "FILE:"+e.cache)
	clientMustRun(t, "kinit", "alice", "--password-file", pw)
	clientMustRun(t, "kvno", cliService)
	clientMustRun(t, "kvno", "HTTP/nopac.cli.test")
	return e
}

func (e *pacRealm) sid(t *testing.T, name string) string {
	t.Helper()
	out := mustRun(t, "", "user", "show", name, e.d)
	m := regexp.MustCompile(`(?m)^SID:\s+(\S+)$`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("user show %s has no SID line:\n%s", name, out)
	}
	return m[1]
}

func groupSID(t *testing.T, d, name string) string {
	t.Helper()
	out := mustRun(t, "", "group", "show", name, d)
	m := regexp.MustCompile(`(?m)^SID: (\S+)$`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("group show %s has no SID:\n%s", name, out)
	}
	return m[1]
}

// user show and group show print the SIDs a PAC carries.
func TestShowPrintsSIDs(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	d := "--data=" + dir
	mustRun(t, "", "init", "--realm", cliRealm, d)
	mustRun(t, "", "user", "add", "alice", "--random", d)
	mustRun(t, "", "group", "add", "devs", d)
	mustRun(t, "", "group", "add", "staff", d)
	mustRun(t, "", "group", "add-member", "devs", "alice", d)
	mustRun(t, "", "group", "add-member", "staff", "devs", d)
	devs, staff := groupSID(t, d, "devs"), groupSID(t, d, "staff")
	out := mustRun(t, "", "user", "show", "alice", d)
	alice := regexp.MustCompile(`(?m)^SID:\s+(S-1-5-21-\d+-\d+-\d+)-(\d+)$`).FindStringSubmatch(out)
	if alice == nil {
		t.Fatalf("user show:\n%s", out)
	}
	for _, want := range []string{
		"Primary group:  Domain Users (" + alice[1] + "-513)",
		"devs (" + devs + ")", "staff (" + staff + ")", // staff through devs
	} {
		if !strings.Contains(out, want) {
			t.Errorf("user show lacks %q:\n%s", want, out)
		}
	}
	out = mustRun(t, "", "group", "show", "staff", d)
	if want := "Member: devs (group, " + devs + ")"; !strings.Contains(out, want) {
		t.Errorf("group show lacks %q:\n%s", want, out)
	}
	out = mustRun(t, "", "group", "show", "devs", d)
	if want := "Member: alice (account, " + alice[1] + "-" + alice[2] + ")"; !strings.Contains(out, want) {
		t.Errorf("group show lacks %q:\n%s", want, out)
	}
	if out = mustRun(t, "", "group", "list", d); !strings.Contains(out, staff) {
		t.Errorf("group list lacks the SIDs:\n%s", out)
	}
}

// warden pac dump decodes a cached service ticket's PAC with the
// service's keytab, and with the realm's keys checks every signature.
func TestPACDump(t *testing.T) {
	e := newPACRealm(t)
	alice, devs, staff := e.sid(t, "alice"), groupSID(t, e.d, "devs"), groupSID(t, e.d, "staff")

	out := clientMustRun(t, "pac", "dump", "--service", cliService, "--keytab", e.svcKeytab)
	for _, want := range []string{
		"client:", "alice@" + cliRealm,
		"PAC_LOGON_INFO (1)", "user:", "alice  " + alice,
		"primary group:", e.domainSID + "-513 (RID 513)",
		devs, staff, "0x7 mandatory,enabled-by-default,enabled",
		"S-1-18-1 (authentication authority asserted identity)",
		"account control:", "USER_NORMAL_ACCOUNT",
		"PAC_CLIENT_INFO (10)", "UPN_DNS_INFO (12)", "alice@cli.test",
		"server signature (hmac-sha1-96-aes256):", "ok",
		"KDC signature (hmac-sha1-96-aes256):", "not checked: needs the krbtgt key",
		"client info matches the ticket:",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("pac dump lacks %q", want)
		}
	}
	if strings.Contains(out, "FAILED") || strings.Contains(out, "PAC_REQUESTOR") {
		t.Errorf("service ticket dump has a failure or a requestor")
	}
	if t.Failed() {
		t.Logf("output:\n%s", out)
	}

	// On the AA every signature is checked, of the TGT too.
	out = clientMustRun(t, "pac", "dump", "--service", cliService, "--realm-keys", e.d)
	for _, want := range []string{"KDC signature (hmac-sha1-96-aes256):", "ticket signature (hmac-sha1-96-aes256):", "full PAC signature (hmac-sha1-96-aes256):"} {
		if !regexp.MustCompile(regexp.QuoteMeta(want) + `\s+ok\n`).MatchString(out) {
			t.Errorf("--realm-keys: %q not ok:\n%s", want, out)
		}
	}
	out = clientMustRun(t, "pac", "dump", "--service", "krbtgt/"+cliRealm, "--realm-keys", e.d)
	for _, want := range []string{"PAC_ATTRIBUTES_INFO (17)", "PAC_WAS_REQUESTED", // warden kinit sends PA-PAC-REQUEST "PAC_REQUESTOR (18)", "SID: " + alice,
		"ticket signature:", "absent (as in every TGT)"} {
		if !strings.Contains(out, want) {
			t.Errorf("TGT dump lacks %q:\n%s", want, out)
		}
	}
	if !regexp.MustCompile(`KDC signature \(hmac-sha1-96-aes256\):\s+ok\n`).MatchString(out) {
		t.Errorf("TGT KDC signature not ok:\n%s", out)
	}

	// The same ticket from a file: DER, and base64 with a Negotiate-style
	// prefix.
	c, err := ccache.Load(e.cache)
	if err != nil {
		t.Fatal(err)
	}
	var der []byte
	for _, cr := range c.Credentials {
		if cr.Server.Name.String() == cliService {
			der = cr.Ticket
		}
	}
	tmp := t.TempDir()
	for name, body := range map[string][]byte{
		"ticket.der": der,
		"ticket.b64": []byte("Kerberos " + base64.StdEncoding.EncodeToString(der) + "\n"),
		"apreq.gss":  gssAPReq(t, der),
	} {
		f := filepath.Join(tmp, name)
		if err := os.WriteFile(f, body, 0o600); err != nil {
			t.Fatal(err)
		}
		if out := clientMustRun(t, "pac", "dump", "--ticket", f, "--keytab", e.svcKeytab); !strings.Contains(out, "alice  "+alice) {
			t.Errorf("%s: %s", name, out)
		}
	}
}

// gssAPReq wraps a ticket in an AP-REQ in a GSS-API token, as an
// application receives it (the authenticator does not matter here).
func gssAPReq(t *testing.T, ticket []byte) []byte {
	var tk krb5.Ticket
	if err := tk.Unmarshal(ticket); err != nil {
		t.Fatal(err)
	}
	ap := krb5.APReq{Ticket: tk, Authenticator: krb5.EncryptedData{EType: krb5.ETypeAES256CTSHMACSHA196, Cipher: []byte{1, 2, 3}}}
	b, err := ap.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return krb5.WrapKRB5Token(krb5.TokIDAPReq, b)
}

// Refusals of warden pac dump: reason and hint.
func TestPACDumpRefusals(t *testing.T) {
	e := newPACRealm(t)
	tmp := t.TempDir()
	// A PAC altered by someone holding the service key: the server
	// signature no longer verifies.
	kt, err := keytab.Load(e.svcKeytab)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := ccache.Load(e.cache)
	var tk krb5.Ticket
	for _, cr := range c.Credentials {
		if cr.Server.Name.String() == cliService {
			_ = tk.Unmarshal(cr.Ticket)
		}
	}
	en, err := kt.Find(tk.SName, tk.Realm, tk.EncPart.KVNO, tk.EncPart.EType)
	if err != nil {
		t.Fatal(err)
	}
	key, _ := kcrypto.NewKey(en.Key, kcrypto.Options{})
	plain, err := key.DecryptData(kcrypto.UsageTicket, tk.EncPart)
	if err != nil {
		t.Fatal(err)
	}
	var etp krb5.EncTicketPart
	_ = etp.Unmarshal(plain)
	raw, _, _ := pac.FromAuthorizationData(etp.AuthorizationData)
	p, _ := pac.Decode(raw)
	altered := append([]byte(nil), raw...)
	li := p.Layout[0] // logon info: change a group RID
	altered[li.Offset+li.Size-8] ^= 0x01
	etp.AuthorizationData, _ = pac.WithPAC(etp.AuthorizationData, altered)
	etp.Raw = nil
	b, _ := etp.Marshal()
	tk.EncPart, _ = key.EncryptData(rand.Reader, kcrypto.UsageTicket, b, en.KVNO, true)
	tk.Raw = nil
	der, _ := tk.Marshal()
	alteredFile := filepath.Join(tmp, "altered.der")
	os.WriteFile(alteredFile, der, 0o600)

	cases := []struct {
		name              string
		args              []string
		wantErr, wantHint string
		wantOut           string
	}{
		{"altered PAC", []string{"--ticket", alteredFile, "--keytab", e.svcKeytab},
			"PAC verification failed: server signature (hmac-sha1-96-aes256): PAC server signature does not verify with the service key (kvno 1, aes256-cts-hmac-sha1-96)",
			"the PAC was altered or the key is not the one the KDC used", "FAILED: PAC server signature does not verify"},
		{"wrong keytab", []string{"--service", cliService, "--keytab", e.noPACKT},
			"no key to decrypt the ticket for host/svc.cli.test@CLI.TEST (aes256-cts-hmac-sha1-96, kvno 1) in keytab " + e.noPACKT,
			"use the keytab of that service (warden keytab export host/svc.cli.test -o FILE), or --realm-keys on the AA", ""},
		{"no PAC", []string{"--service", "HTTP/nopac.cli.test", "--keytab", e.noPACKT},
			"the ticket for HTTP/nopac.cli.test carries no PAC", "the service may be flagged no-pac", ""},
		{"not in the cache", []string{"--service", "HTTP/other.cli.test", "--keytab", e.svcKeytab},
			"credential cache " + e.cache + " holds no ticket for HTTP/other.cli.test@CLI.TEST (it holds: krbtgt/CLI.TEST@CLI.TEST, host/svc.cli.test@CLI.TEST, HTTP/nopac.cli.test@CLI.TEST)",
			"get one with kvno HTTP/other.cli.test", ""},
		{"no keys", []string{"--service", cliService}, "no keys to decrypt the ticket with", "pass --keytab FILE", ""},
		{"no ticket named", []string{"--keytab", e.svcKeytab}, "say which ticket to dump", "pass --service SPN", ""},
		{"not a ticket", []string{"--ticket", e.svcKeytab, "--keytab", e.svcKeytab}, "the file holds no Ticket, AP-REQ or GSS-API Kerberos token", "give the DER", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := clientRun(t, append([]string{"pac", "dump"}, tc.args...)...)
			if code == 0 {
				t.Fatalf("exit 0:\n%s", out)
			}
			if !strings.Contains(errOut, "warden: error: "+tc.wantErr) || !regexp.MustCompile(`warden: hint: .*`+regexp.QuoteMeta(tc.wantHint)).MatchString(errOut) {
				t.Errorf("stderr:\n%s\nwant error %q and hint %q", errOut, tc.wantErr, tc.wantHint)
			}
			if tc.wantOut != "" && !strings.Contains(out, tc.wantOut) {
				t.Errorf("stdout lacks %q:\n%s", tc.wantOut, out)
			}
		})
	}

	// service set --no-pac flips the flag.
	out := mustRun(t, "", "service", "set", cliService, "--no-pac", e.d)
	if !strings.Contains(out, "flags no-pac") || !strings.Contains(mustRun(t, "", "user", "show", "host-svc", e.d), "no-pac") {
		t.Errorf("service set: %s", out)
	}
	out = mustRun(t, "", "service", "set", cliService, "--no-pac=false", "--claims", e.d)
	if !strings.Contains(out, "flags claims-supported") {
		t.Errorf("service set --no-pac=false --claims: %s", out)
	}
	if out := mustRun(t, "", "user", "set", "alice", "--fast-required", e.d); !strings.Contains(out, "fast-required") {
		t.Errorf("user set --fast-required: %s", out)
	}
	if _, errOut, code := run(t, "", "user", "set", "alice", e.d); code == 0 || !strings.Contains(errOut, "nothing to change") {
		t.Errorf("user set without flags: %d %s", code, errOut)
	}
}

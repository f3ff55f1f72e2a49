package interop

import (
	"bytes"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/warden-auth/warden/internal/testkit"
	"github.com/warden-auth/warden/krb5"
	"github.com/warden-auth/warden/krb5/ccache"
	"github.com/warden-auth/warden/krb5/kcrypto"
	"github.com/warden-auth/warden/krb5/keytab"
)

// TestKeytabOursListedByMIT: MIT klist lists every entry of a keytab
// Warden wrote, with the right kvno, enctype and key bytes.
func TestKeytabOursListedByMIT(t *testing.T) {
	testkit.RequirePeer(t, "klist")
	kt := &keytab.Keytab{}
	web := krb5.PrincipalName{NameType: krb5.NameTypeSrvHst, NameString: []string{"HTTP", "web.example.test"}}
	for i, et := range []krb5.EncType{17, 18, 19, 20} {
		k, err := kcrypto.StringToKey(et, "pw", "EXAMPLE.TESTHTTPweb.example.test", nil, kcrypto.Options{})
		if err != nil {
			t.Fatal(err)
		}
		kt.Add(keytab.Entry{Principal: web, Realm: "EXAMPLE.TEST", Timestamp: time.Now(), KVNO: uint32(i + 1), Key: k.EncryptionKey()})
	}
	kt.Add(keytab.Entry{Principal: krb5.PrincipalName{NameType: krb5.NameTypePrincipal, NameString: []string{"svc"}},
		Realm: "EXAMPLE.TEST", Timestamp: time.Now(), KVNO: 258, Key: krb5.EncryptionKey{KeyType: 18, KeyValue: bytes.Repeat([]byte{0xab}, 32)}})
	path := filepath.Join(t.TempDir(), "ours.keytab")
	if err := kt.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	out := runMIT(t, nil, "klist", "-k", "-e", "-K", path)
	for _, e := range kt.Entries {
		want := []string{
			e.PrincipalString(),
			"(" + e.Key.KeyType.String() + ")",
			"(0x" + hex.EncodeToString(e.Key.KeyValue) + ")",
		}
		found := false
		for _, line := range strings.Split(out, "\n") {
			f := strings.Fields(line)
			if len(f) > 0 && f[0] == itoa(e.KVNO) && containsAll(line, want) {
				found = true
			}
		}
		if !found {
			t.Errorf("klist -k does not list kvno %d %v:\n%s", e.KVNO, want, out)
		}
	}
}

// TestKeytabFromMIT: keytabs written by MIT ktutil (from a password) and
// kadmin.local are read by Warden, and ktutil's keys equal Warden's
// string-to-key for the same password and the MIT default salt.
func TestKeytabFromMIT(t *testing.T) {
	testkit.RequirePeer(t, "ktutil")
	dir := t.TempDir()
	path := filepath.Join(dir, "ktutil.keytab")
	script := ""
	for _, et := range []string{"aes256-cts-hmac-sha1-96", "aes128-cts-hmac-sha1-96", "aes256-cts-hmac-sha384-192", "aes128-cts-hmac-sha256-128"} {
		script += "addent -password -p HTTP/web.mit.test@MIT.TEST -k 3 -e " + et + "\nsecret\n"
	}
	script += "wkt " + path + "\nquit\n"
	runMITStdin(t, script, "ktutil")
	kt, err := keytab.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(kt.Entries) != 4 {
		t.Fatalf("read %d entries from ktutil's keytab, want 4", len(kt.Entries))
	}
	for _, e := range kt.Entries {
		if e.PrincipalString() != "HTTP/web.mit.test@MIT.TEST" || e.KVNO != 3 {
			t.Errorf("entry %s kvno %d", e.PrincipalString(), e.KVNO)
		}
		k, err := kcrypto.StringToKey(e.Key.KeyType, "secret", "MIT.TESTHTTPweb.mit.test", nil, kcrypto.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(k.Bytes(), e.Key.KeyValue) {
			t.Errorf("%v: Warden's string-to-key differs from MIT ktutil's key", e.Key.KeyType)
		}
	}

	kdc := testkit.StartMITKDC(t, mitRealm)
	kdc.AddRandKey(t, mitService)
	adm := filepath.Join(dir, "kadmin.keytab")
	kdc.ExportKeytab(t, adm, mitService)
	kt, err = keytab.Load(adm)
	if err != nil {
		t.Fatal(err)
	}
	svc := krb5.NewPrincipalName(krb5.NameTypeSrvHst, mitService)
	for _, et := range []krb5.EncType{17, 18, 19, 20} {
		if _, err := kt.Find(svc, mitRealm, 0, et); err != nil {
			t.Errorf("kadmin.local keytab: %v", err)
		}
	}
}

// TestCCacheWithMIT: Warden reads the ccache MIT kinit writes (and
// re-encodes it byte for byte); MIT klist lists a ccache Warden wrote, and
// MIT kvno uses Warden's ccache to get a service ticket.
func TestCCacheWithMIT(t *testing.T) {
	testkit.RequirePeer(t, "kinit", "klist", "kvno")
	kdc := testkit.StartMITKDC(t, mitRealm)
	kdc.AddPrincipal(t, mitUser, mitPassword)
	kdc.AddRandKey(t, mitService)
	kdc.Kinit(t, nil, mitUser, mitPassword)
	mitPath := filepath.Join(kdc.Dir(), "ccache")
	raw, err := os.ReadFile(mitPath)
	if err != nil {
		t.Fatal(err)
	}
	if os.Getenv("WARDEN_WRITE_GOLDEN") == "1" {
		if err := os.WriteFile("../krb5/ccache/testdata/mit-kinit.ccache", raw, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	c, err := ccache.Parse(raw)
	if err != nil {
		t.Fatalf("reading MIT's ccache: %v", err)
	}
	again, _ := c.Marshal()
	if !bytes.Equal(again, raw) {
		t.Fatal("MIT's ccache re-encodes differently")
	}
	tgtName := ccache.Principal{Realm: mitRealm, Name: krb5.NewPrincipalName(krb5.NameTypeSrvInst, "krbtgt/"+mitRealm)}
	cred, err := c.Find(tgtName)
	if err != nil {
		t.Fatal(err)
	}
	if c.DefaultPrincipal.String() != mitUser+"@"+mitRealm || !cred.TicketFlags.Has(krb5.TktFlagInitial) ||
		kcrypto.KeySize(cred.Key.KeyType) != len(cred.Key.KeyValue) {
		t.Errorf("MIT TGT read wrong: %+v", cred)
	}
	var tkt krb5.Ticket
	if err := tkt.Unmarshal(cred.Ticket); err != nil || tkt.SName.String() != "krbtgt/"+mitRealm {
		t.Errorf("MIT ticket: %v %v", tkt.SName, err)
	}
	hasConfig := false
	for _, cr := range c.Credentials {
		hasConfig = hasConfig || cr.IsConfig()
	}
	t.Logf("MIT ccache: %d entries, config entries present: %v", len(c.Credentials), hasConfig)

	// Rebuild the cache from fields (nothing copied as bytes but the
	// ticket), add a config entry, and hand it to MIT.
	ours := &ccache.Cache{Version: 0x0504, DefaultPrincipal: c.DefaultPrincipal}
	ours.Credentials = append(ours.Credentials, *cred)
	ours.SetConfig("warden_test", "", []byte("yes"))
	oursPath := filepath.Join(t.TempDir(), "ours.ccache")
	if err := ours.WriteFile(oursPath); err != nil {
		t.Fatal(err)
	}
	env := append(kdc.Env(), "KRB5CCNAME=FILE:"+oursPath)
	out := runMIT(t, env, "klist", "-e")
	if !containsAll(out, []string{"Default principal: " + mitUser + "@" + mitRealm, "krbtgt/" + mitRealm + "@" + mitRealm, cred.Key.KeyType.String()}) {
		t.Errorf("klist of Warden's ccache:\n%s", out)
	}
	runMIT(t, env, "kvno", mitService)
	after, err := ccache.Load(oursPath)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := after.Find(ccache.Principal{Realm: mitRealm, Name: krb5.NewPrincipalName(krb5.NameTypeSrvHst, mitService)}); err != nil {
		t.Errorf("MIT kvno did not store its ticket in Warden's ccache: %v", err)
	}
	if v, ok := after.Config("warden_test", ""); !ok || string(v) != "yes" {
		t.Errorf("config entry lost after MIT rewrote the cache: %q %v", v, ok)
	}
}

func runMIT(t *testing.T, env []string, name string, args ...string) string {
	t.Helper()
	p, err := testkit.LookPath(name)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(p, args...)
	if env != nil {
		cmd.Env = env
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
	return string(out)
}

func runMITStdin(t *testing.T, stdin, name string, args ...string) string {
	t.Helper()
	p, err := testkit.LookPath(name)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(p, args...)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", name, err, out)
	}
	return string(out)
}

func containsAll(s string, subs []string) bool {
	for _, x := range subs {
		if !strings.Contains(s, x) {
			return false
		}
	}
	return true
}

func itoa(v uint32) string { return strconv.FormatUint(uint64(v), 10) }

package cli

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/warden-auth/warden/internal/testkit"
	"github.com/warden-auth/warden/krb5/keytab"
)

// run executes the CLI with args and stdin, and returns stdout, stderr
// and the exit code.
func run(t *testing.T, stdin string, args ...string) (string, string, int) {
	t.Helper()
	var out, errOut bytes.Buffer
	root := newRoot("test")
	root.SetArgs(args)
	root.SetIn(strings.NewReader(stdin))
	root.SetOut(&out)
	root.SetErr(&errOut)
	code := 0
	if err := root.Execute(); err != nil {
		printError(&errOut, err)
		code = 1
	}
	return out.String(), errOut.String(), code
}

func mustRun(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	out, errOut, code := run(t, stdin, args...)
	if code != 0 {
		t.Fatalf("warden %s: exit %d\n%s%s", strings.Join(args, " "), code, out, errOut)
	}
	return out
}

// The administrator's tour: init, users, groups, claims, services,
// keytabs, and the refusals with their hints.
func TestAdminCommands(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	d := "--data=" + dir
	mustRun(t, "", "init", "--realm", "example.test", d)
	if st, err := os.Stat(filepath.Join(dir, "master.key")); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("master key stash: %v %v", err, st)
	}
	_, errOut, code := run(t, "", "init", "--realm", "EXAMPLE.TEST", d)
	if code == 0 || !strings.Contains(errOut, "already holds a realm") {
		t.Errorf("second init: %d %s", code, errOut)
	}

	pwFile := filepath.Join(t.TempDir(), "pw")
	os.WriteFile(pwFile, []byte("a good password\n"), 0o600)
	out := mustRun(t, "", "user", "add", "alice", "--password-file", pwFile, d)
	if !regexp.MustCompile(`user alice created \(alice@example\.test, SID S-1-5-21-\d+-\d+-\d+-1000\)`).MatchString(out) {
		t.Errorf("user add: %s", out)
	}
	out = mustRun(t, "", "user", "add", "bob", "--random", d)
	if !regexp.MustCompile(`password: \S{20}`).MatchString(out) {
		t.Errorf("user add --random: %s", out)
	}
	_, errOut, code = run(t, "short\n", "user", "add", "carol", "--password-file", "-", d)
	if code == 0 || !strings.Contains(errOut, "password is 5 characters; the realm requires at least 8") || !strings.Contains(errOut, "hint: choose a longer password") {
		t.Errorf("short password: %s", errOut)
	}
	mustRun(t, "long enough pw\n", "user", "add", "carol", "--password-file", "-", "--group", "Domain Admins", d)
	_, errOut, code = run(t, "", "user", "add", "alice", "--password-file", pwFile, d)
	if code == 0 || !strings.Contains(errOut, "already") || !strings.Contains(errOut, "warden: hint:") {
		t.Errorf("duplicate user: %s", errOut)
	}

	mustRun(t, "", "group", "add", "devs", d)
	mustRun(t, "", "group", "add", "staff", d)
	mustRun(t, "", "group", "add-member", "staff", "devs", d)
	mustRun(t, "", "group", "add-member", "devs", "alice", d)
	_, errOut, code = run(t, "", "group", "add-member", "devs", "staff", d)
	if code == 0 {
		t.Errorf("cyclic membership accepted: %s", errOut)
	}
	out = mustRun(t, "", "claim", "set", "alice", "ad://ext/department=Sales", d)
	if !strings.Contains(out, "defined it as a string claim") {
		t.Errorf("claim set: %s", out)
	}
	mustRun(t, "", "claim", "define", "ad://ext/clearance", "--type", "int64", "--applies-to", "user", d)
	if _, errOut, code := run(t, "", "claim", "set", "alice", "ad://ext/clearance=top", d); code == 0 || !strings.Contains(errOut, "is of type int64") {
		t.Errorf("a non-integer int64 claim: %d %s", code, errOut)
	}
	mustRun(t, "", "claim", "set", "alice", "ad://ext/clearance=3", d)
	out = mustRun(t, "", "claim", "types", d)
	for _, want := range []string{"ad://ext/clearance", "int64", "ad://ext/department", "(defined by its first value)"} {
		if !strings.Contains(out, want) {
			t.Errorf("claim types lacks %q:\n%s", want, out)
		}
	}
	out = mustRun(t, "", "user", "show", "alice", d)
	for _, want := range []string{"UPN:", "alice@example.test", "devs", "staff", "ad://ext/department = Sales", "aes256-cts-hmac-sha1-96 (kvno 1)", "aes128-cts-hmac-sha256-128 (kvno 1)"} {
		if !strings.Contains(out, want) {
			t.Errorf("user show lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "arcfour") {
		t.Errorf("RC4 key made without --rc4:\n%s", out)
	}
	mustRun(t, "", "user", "passwd", "alice", "--random", d)
	if out = mustRun(t, "", "user", "show", "alice", d); !strings.Contains(out, "kvno 2") {
		t.Errorf("passwd did not bump the kvno:\n%s", out)
	}
	mustRun(t, "", "user", "disable", "alice", d)
	if out = mustRun(t, "", "user", "show", "alice", d); !strings.Contains(out, "disabled") {
		t.Errorf("disable:\n%s", out)
	}
	mustRun(t, "", "user", "enable", "alice", d)
	mustRun(t, "", "user", "unlock", "alice", d)

	kt := filepath.Join(t.TempDir(), "web.keytab")
	mustRun(t, "", "service", "add", "HTTP/web.example.test", "--keytab", kt, "--compound-identity", d)
	k, err := keytab.Load(kt)
	if err != nil || len(k.Entries) != 4 {
		t.Fatalf("service keytab: %v %+v", err, k)
	}
	ckt := filepath.Join(t.TempDir(), "ws.keytab")
	out = mustRun(t, "", "computer", "add", "ws01", "--keytab", ckt, d)
	if !strings.Contains(out, "WS01$") || !strings.Contains(out, "host/ws01.example.test") {
		t.Errorf("computer add: %s", out)
	}
	k, err = keytab.Load(ckt)
	if err != nil || len(k.Entries) != 12 { // 4 keys × (2 SPNs + WS01$)
		t.Fatalf("computer keytab: %v %d", err, len(k.Entries))
	}
	ekt := filepath.Join(t.TempDir(), "export.keytab")
	mustRun(t, "", "keytab", "export", "HTTP/web.example.test", "-o", ekt, d)
	if k, err = keytab.Load(ekt); err != nil || len(k.Entries) != 4 {
		t.Fatalf("exported keytab: %v", err)
	}
	out = mustRun(t, "", "user", "list", "--kind", "", d)
	for _, want := range []string{"alice", "bob", "krbtgt", "HTTP-web", "WS01$"} {
		if !strings.Contains(out, want) {
			t.Errorf("user list lacks %s:\n%s", want, out)
		}
	}
	if out = mustRun(t, "", "krb5conf", "--kdc", "kdc.example.test:88", d); !strings.Contains(out, "default_realm = EXAMPLE.TEST") || !strings.Contains(out, "kdc = kdc.example.test:88") {
		t.Errorf("krb5conf:\n%s", out)
	}
	mustRun(t, "", "user", "del", "bob", d)
	_, errOut, code = run(t, "", "user", "show", "bob", d)
	if code == 0 || !strings.Contains(errOut, "not found") {
		t.Errorf("deleted user still shown: %s", errOut)
	}
	_, errOut, _ = run(t, "", "user", "del", "krbtgt", d)
	if !strings.Contains(errOut, "cannot be deleted") {
		t.Errorf("krbtgt delete: %s", errOut)
	}
}

func TestNoRealmHint(t *testing.T) {
	_, errOut, code := run(t, "", "user", "list", "--data", filepath.Join(t.TempDir(), "none"))
	if code == 0 || !strings.Contains(errOut, "warden: hint: create one with: warden init --realm") {
		t.Errorf("got %d %s", code, errOut)
	}
}

func TestUserImport(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	d := "--data=" + dir
	mustRun(t, "", "init", "--realm", "EXAMPLE.TEST", d)
	mustRun(t, "", "group", "add", "sales", d)
	csv := "name,password,groups,claims\n" +
		"u1,password one,sales,ad://ext/department=Sales\n" +
		"u2,password two,,\n" +
		"u3,short,,\n" + // refused by the password policy
		"u1,password again,,\n" // duplicate
	f := filepath.Join(t.TempDir(), "users.csv")
	os.WriteFile(f, []byte(csv), 0o600)
	out, errOut, code := run(t, "", "user", "import", f, "--workers", "1", d) // in file order: the first u1 wins
	if code == 0 || !strings.Contains(out, "created 2 users, refused 2") || !strings.Contains(out, "line 4 (u3): password is 5 characters") {
		t.Errorf("import: %d\n%s%s", code, out, errOut)
	}
	out = mustRun(t, "", "user", "show", "u1", d)
	if !strings.Contains(out, "sales") || !strings.Contains(out, "Sales") {
		t.Errorf("imported user:\n%s", out)
	}
	jl := `{"name":"j1","password":"json password","groups":["sales"]}` + "\n"
	f = filepath.Join(t.TempDir(), "users.jsonl")
	os.WriteFile(f, []byte(jl), 0o600)
	if out = mustRun(t, "", "user", "import", f, d); !strings.Contains(out, "created 1 users, refused 0") {
		t.Errorf("json import: %s", out)
	}
}

// warden demo runs every scenario against a temporary realm and they all
// pass; refusals show their reasons.
func TestDemo(t *testing.T) {
	out := mustRun(t, "", "demo")
	if regexp.MustCompile(`\sFAILED\s`).MatchString(out) || len(regexp.MustCompile(`\sok\s`).FindAllString(out, -1)) < 4 {
		t.Errorf("demo:\n%s", out)
	}
	for _, want := range []string{"alice@WARDEN.TEST", "KDC_ERR_PREAUTH_FAILED: password incorrect", "KRB_AP_ERR_SKEW: client clock is 7m3s ahead"} {
		if !strings.Contains(out, want) {
			t.Errorf("demo output lacks %q:\n%s", want, out)
		}
	}
}

// The README's first command: serve --dev on an empty data directory
// creates a demo realm, prints its krb5.conf and credentials, and serves
// them; the printed password works with warden kinit.
func TestServeDev(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	addr := fmt.Sprintf("127.0.0.1:%d", testkit.FreePort(t))
	var out, errOut syncBuf
	root := newRoot("test")
	root.SetArgs([]string{"serve", "--dev", "--data", dir, "--kdc-addr", addr})
	root.SetOut(&out)
	root.SetErr(&errOut)
	c, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- root.ExecuteContext(c) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	}()
	var pw string
	re := regexp.MustCompile(`alice@WARDEN\.TEST  password: (\S+)`)
	for deadline := time.Now().Add(20 * time.Second); pw == ""; time.Sleep(50 * time.Millisecond) {
		if m := re.FindStringSubmatch(out.String()); m != nil && strings.Contains(errOut.String(), "warden serving") {
			pw = m[1]
		}
		if time.Now().After(deadline) {
			t.Fatalf("no credentials printed:\n%s\n%s", out.String(), errOut.String())
		}
	}
	t.Setenv("KRB5_CONFIG", filepath.Join(dir, "krb5.conf"))
	cc := filepath.Join(t.TempDir(), "cc")
	mustRun(t, pw+"\n", "kinit", "alice", "--password-file", "-", "-c", cc)
	if o := mustRun(t, "", "kvno", "HTTP/localhost", "-c", cc); !strings.Contains(o, "kvno = 1") {
		t.Errorf("kvno: %s", o)
	}
}

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) { s.mu.Lock(); defer s.mu.Unlock(); return s.b.Write(p) }
func (s *syncBuf) String() string              { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

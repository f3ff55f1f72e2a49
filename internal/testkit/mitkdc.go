// Package testkit is test support only (never imported by non-test code):
// it finds real third-party peers on the machine and runs them on
// 127.0.0.1 for interop tests, such as an MIT krb5 KDC in a temporary
// directory.
package testkit

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// /opt/heimdal/usr/bin holds the Heimdal clients scripts/install-deps.sh
// unpacks beside MIT krb5 (their Debian package conflicts with krb5-user).
var sbinDirs = []string{"/usr/sbin", "/sbin", "/usr/local/sbin", "/opt/heimdal/usr/bin"}

// LookPath finds a peer binary in PATH or the sbin directories, where
// Debian puts krb5kdc and kadmin.local.
func LookPath(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	for _, d := range sbinDirs {
		p := filepath.Join(d, name)
		if st, err := os.Stat(p); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s not found in PATH or %v", name, sbinDirs)
}

// RequirePeer skips the test when a peer binary is missing, except in CI
// (CI=true), where a missing peer is a failure: CI installs every peer.
func RequirePeer(t testing.TB, bins ...string) {
	t.Helper()
	for _, b := range bins {
		if _, err := LookPath(b); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("interop peer missing in CI: %v (make test installs it)", err)
			}
			t.Skipf("interop peer missing: %v (run make deps)", err)
		}
	}
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// MITKDC is an MIT krb5kdc serving one realm from a temporary directory.
type MITKDC struct {
	realm   string
	dir     string
	port    int
	conf    string // client krb5.conf pointing at the KDC
	kdcConf string
}

// StartMITKDC creates a realm database and starts krb5kdc on 127.0.0.1.
// It is stopped when the test ends.
func StartMITKDC(t testing.TB, realm string) *MITKDC {
	t.Helper()
	return StartMITKDCWith(t, realm, MITKDCOptions{})
}

// MITKDCOptions adjust the kdc.conf of StartMITKDCWith.
type MITKDCOptions struct {
	// RealmLines are added to the realm's section of kdc.conf, e.g.
	// "disable_encrypted_timestamp = true" (pre-authentication by
	// password only inside FAST) or "encrypted_challenge_indicator = X".
	RealmLines []string
}

// StartMITKDCWith is StartMITKDC with extra kdc.conf settings.
func StartMITKDCWith(t testing.TB, realm string, o MITKDCOptions) *MITKDC {
	t.Helper()
	RequirePeer(t, "krb5kdc", "kdb5_util", "kadmin.local")
	k := &MITKDC{realm: realm, dir: t.TempDir(), port: FreePort(t)}
	k.kdcConf = filepath.Join(k.dir, "kdc.conf")
	enctypes := "aes256-cts-hmac-sha1-96:normal aes128-cts-hmac-sha1-96:normal aes256-cts-hmac-sha384-192:normal aes128-cts-hmac-sha256-128:normal"
	kdcConf := fmt.Sprintf(`[kdcdefaults]
 kdc_listen = 127.0.0.1:%[2]d
 kdc_tcp_listen = 127.0.0.1:%[2]d
[realms]
 %[1]s = {
  database_name = %[3]s/principal
  key_stash_file = %[3]s/stash
  acl_file = %[3]s/kadm5.acl
  master_key_type = aes256-cts-hmac-sha1-96
  supported_enctypes = %[4]s
  max_life = 10h
  max_renewable_life = 7d
%[5]s }
[logging]
 kdc = FILE:%[3]s/kdc.log
`, realm, k.port, k.dir, enctypes, realmLines(o.RealmLines))
	if err := os.WriteFile(k.kdcConf, []byte(kdcConf), 0o600); err != nil {
		t.Fatal(err)
	}
	k.conf = k.WriteClientConf(fmt.Sprintf("127.0.0.1:%d", k.port))
	if out, err := k.command("kdb5_util", nil, "create", "-s", "-P", "masterpw", "-r", realm).CombinedOutput(); err != nil {
		t.Fatalf("kdb5_util create: %v\n%s", err, out)
	}
	cmd := k.command("krb5kdc", nil, "-n", "-r", realm)
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("krb5kdc: %v", err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", k.Addr(), 200*time.Millisecond)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(k.dir, "kdc.log"))
			t.Fatalf("krb5kdc did not listen on %s: %v\n%s\n%s", k.Addr(), err, stderr.String(), log)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return k
}

func realmLines(lines []string) string {
	var b strings.Builder
	for _, l := range lines {
		b.WriteString("  " + l + "\n")
	}
	return b.String()
}

// Realm is the KDC's realm.
func (k *MITKDC) Realm() string { return k.realm }

// Addr is the KDC's host:port (UDP and TCP).
func (k *MITKDC) Addr() string { return fmt.Sprintf("127.0.0.1:%d", k.port) }

// Dir is the KDC's working directory.
func (k *MITKDC) Dir() string { return k.dir }

// WriteClientConf writes a krb5.conf whose realm's KDC is kdcAddr (for
// example a recording relay in front of this KDC) and returns its path.
// udp_preference_limit = 1 makes clients use TCP first, so a TCP relay
// sees every message.
func (k *MITKDC) WriteClientConf(kdcAddr string) string {
	f, err := os.CreateTemp(k.dir, "krb5-*.conf")
	if err != nil {
		panic(err)
	}
	defer f.Close()
	fmt.Fprintf(f, `[libdefaults]
 default_realm = %[1]s
 dns_lookup_kdc = false
 dns_lookup_realm = false
 rdns = false
 udp_preference_limit = 1
 permitted_enctypes = aes256-cts-hmac-sha1-96 aes128-cts-hmac-sha1-96 aes256-cts-hmac-sha384-192 aes128-cts-hmac-sha256-128
[realms]
 %[1]s = {
  kdc = %[2]s
 }
`, k.realm, kdcAddr)
	return f.Name()
}

// Env returns the environment for MIT tools: this KDC's profile and a
// credential cache inside the KDC's directory.
func (k *MITKDC) Env() []string {
	env := []string{}
	for _, e := range os.Environ() {
		if strings.HasPrefix(e, "KRB5") {
			continue
		}
		env = append(env, e)
	}
	return append(env,
		"KRB5_CONFIG="+k.conf,
		"KRB5_KDC_PROFILE="+k.kdcConf,
		"KRB5CCNAME=FILE:"+filepath.Join(k.dir, "ccache"),
	)
}

func (k *MITKDC) command(name string, env []string, args ...string) *exec.Cmd {
	p, err := LookPath(name)
	if err != nil {
		p = name
	}
	cmd := exec.Command(p, args...)
	if env == nil {
		env = k.Env()
	}
	cmd.Env = env
	cmd.Dir = k.dir
	return cmd
}

// Run runs an MIT tool with env (nil: Env()) and returns its output.
func (k *MITKDC) Run(t testing.TB, env []string, name string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var o, e bytes.Buffer
	cmd := k.command(name, env, args...)
	cmd.Stdout, cmd.Stderr = &o, &e
	err = cmd.Run()
	return o.String(), e.String(), err
}

func (k *MITKDC) kadmin(t testing.TB, query string) {
	t.Helper()
	if out, errOut, err := k.Run(t, nil, "kadmin.local", "-r", k.realm, "-q", query); err != nil || strings.Contains(errOut, "rror") {
		t.Fatalf("kadmin.local %q: %v\n%s%s", query, err, out, errOut)
	}
}

// AddPrincipal creates a principal with a password that must use
// pre-authentication, like every Warden user.
func (k *MITKDC) AddPrincipal(t testing.TB, name, password string) {
	t.Helper()
	k.kadmin(t, fmt.Sprintf("addprinc +requires_preauth -pw %q %s", password, name))
}

// AddRandKey creates a principal with random keys (a service).
func (k *MITKDC) AddRandKey(t testing.TB, name string) {
	t.Helper()
	k.kadmin(t, "addprinc -randkey "+name)
}

// ExportKeytab writes the current keys of the principals to path without
// changing them.
func (k *MITKDC) ExportKeytab(t testing.TB, path string, principals ...string) {
	t.Helper()
	k.kadmin(t, fmt.Sprintf("ktadd -k %s -norandkey %s", path, strings.Join(principals, " ")))
}

// Kinit runs MIT kinit for principal with the password on standard input.
func (k *MITKDC) Kinit(t testing.TB, env []string, principal, password string) {
	t.Helper()
	cmd := k.command("kinit", env, principal)
	cmd.Stdin = strings.NewReader(password + "\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("kinit %s: %v\n%s", principal, err, out)
	}
}

// SetString sets a principal's string attribute (kadmin set_string), e.g.
// require_auth to make the KDC issue tickets for a service only to
// clients whose TGT carries an authentication indicator.
func (k *MITKDC) SetString(t testing.TB, principal, key, value string) {
	t.Helper()
	k.kadmin(t, fmt.Sprintf("set_string %s %s %s", principal, key, value))
}

// Log returns the KDC's log so far (kdc.log).
func (k *MITKDC) Log(t testing.TB) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(k.dir, "kdc.log"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

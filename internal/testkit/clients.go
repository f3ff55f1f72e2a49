package testkit

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Client is an environment for third-party Kerberos client tools (MIT or
// Heimdal kinit, klist, kvno) pointed at one KDC: its own krb5.conf and
// credential cache in a temporary directory.
type Client struct {
	Dir    string
	Conf   string
	CCache string
	Realm  string
}

// NewClient writes a krb5.conf for realm with kdcAddr. tcp makes clients
// use TCP (udp_preference_limit = 1); otherwise they start with UDP.
func NewClient(t testing.TB, realm, kdcAddr string, tcp bool) *Client {
	t.Helper()
	dir := t.TempDir()
	limit := 1465
	if tcp {
		limit = 1
	}
	conf := filepath.Join(dir, "krb5.conf")
	body := fmt.Sprintf(`[libdefaults]
 default_realm = %[1]s
 dns_lookup_kdc = false
 dns_lookup_realm = false
 rdns = false
 dns_canonicalize_hostname = false
 udp_preference_limit = %[3]d
[realms]
 %[1]s = {
  kdc = %[2]s
 }
`, realm, kdcAddr, limit)
	if err := os.WriteFile(conf, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return &Client{Dir: dir, Conf: conf, CCache: filepath.Join(dir, "ccache"), Realm: realm}
}

// Env is the process environment for the tools: no inherited KRB5*
// variables, this client's profile and cache.
func (c *Client) Env() []string {
	var env []string
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, "KRB5") {
			env = append(env, e)
		}
	}
	return append(env, "KRB5_CONFIG="+c.Conf, "KRB5CCNAME=FILE:"+c.CCache)
}

// Run runs a tool (found with LookPath, or an absolute path) with stdin
// and returns its combined output.
func (c *Client) Run(t testing.TB, stdin, name string, args ...string) (string, error) {
	t.Helper()
	p := name
	if !filepath.IsAbs(name) {
		if lp, err := LookPath(name); err == nil {
			p = lp
		}
	}
	cmd := exec.Command(p, args...)
	cmd.Env = c.Env()
	cmd.Dir = c.Dir
	cmd.Stdin = strings.NewReader(stdin)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

// RunTraced is Run with KRB5_TRACE on standard output, so that the
// output says what an MIT tool did.
func (c *Client) RunTraced(t testing.TB, stdin, name string, args ...string) (string, error) {
	t.Helper()
	return c.Run(t, stdin, "env", append([]string{"KRB5_TRACE=/dev/stdout", name}, args...)...)
}

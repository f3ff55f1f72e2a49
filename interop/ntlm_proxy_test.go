package interop

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf16"

	ntlmssp "github.com/Azure/go-ntlmssp"

	"github.com/warden-auth/warden/internal/testkit"
	"github.com/warden-auth/warden/ntlm"
	"github.com/warden-auth/warden/server"
)

const ntlmAlicePW = "alice password 1" // set by pkiRealm

// ntlmProxy is warden serve as the AA, the computer account WEB01$ with
// its certificate, alice in Engineers with a department claim, and the
// arguments that run warden proxy as WEB01 with NTLM validated by the AA.
type ntlmProxy struct {
	dir, out string
	srv      *server.Server
	app      *httpApp
	args     []string
}

func newNTLMProxy(t *testing.T) *ntlmProxy {
	t.Helper()
	dir, srv := pkiRealm(t)
	p := &ntlmProxy{dir: dir, srv: srv, out: t.TempDir(), app: newHTTPApp(t)}
	d := "--data=" + dir
	mustWardenCLI(t, "computer", "add", "WEB01", d)
	mustWardenCLI(t, "service", "add", "HTTP/localhost", "--keytab", p.file("http.keytab"), d)
	mustWardenCLI(t, "cert", "ca", "-o", p.file("ca.crt"), d)
	mustWardenCLI(t, "cert", "issue", "--account", "WEB01$", "--out", p.file("web01"), d)
	mustWardenCLI(t, "group", "add", "Engineers", d)
	mustWardenCLI(t, "group", "add-member", "Engineers", "alice", d)
	mustWardenCLI(t, "claim", "set", "alice", "ad://ext/department=Sales", d)
	port := srv.HTTPSAddr()[strings.LastIndex(srv.HTTPSAddr(), ":")+1:]
	p.args = []string{"--upstream", p.app.URL, "--auth", "negotiate,ntlm", "--keytab", p.file("http.keytab"),
		"--aa", "https://127.0.0.1:" + port, "--aa-cert", p.file("web01.crt"), "--aa-key", p.file("web01.key"), "--ca", p.file("ca.crt")}
	return p
}

func (p *ntlmProxy) file(name string) string { return filepath.Join(p.out, name) }

// checkUpstream asserts what the application saw of alice.
func (p *ntlmProxy) checkUpstream(t *testing.T) {
	t.Helper()
	user, h := p.app.seen()
	if user != "alice@PKI.TEST" || h.Get("X-Warden-Auth-Method") != "ntlm" || h.Get("X-Warden-Mutual") != "false" {
		t.Fatalf("upstream saw %q %v", user, h)
	}
	if g := h.Get("X-Forwarded-Groups"); !strings.Contains(g, "Engineers") || !strings.Contains(g, "Domain Users") {
		t.Fatalf("groups %q", g)
	}
	if c := h.Get("X-Warden-Claims"); c != "ad://ext/department=Sales" {
		t.Fatalf("claims %q", c)
	}
	if !strings.HasPrefix(h.Get("X-Warden-User-SID"), "S-1-5-21-") {
		t.Fatalf("SID %q", h.Get("X-Warden-User-SID"))
	}
}

// TestNTLMThroughWardenProxy: curl --ntlm, python requests-ntlm,
// go-ntlmssp and warden get --auth ntlm reach the application through
// warden proxy, which has the AA validate every answer; the application
// sees alice's SID, groups and claims. A wrong password gets 401.
func TestNTLMThroughWardenProxy(t *testing.T) {
	testkit.RequirePeer(t, "curl")
	p := newNTLMProxy(t)
	port, logs := startWardenProxy(t, p.args...)
	url := fmt.Sprintf("http://127.0.0.1:%d/app", port)

	t.Run("curl", func(t *testing.T) {
		code, body, err := curlStatus(t, "--ntlm", "-u", "alice:"+ntlmAlicePW, url)
		if err != nil || code != "200" || body != "hello alice@PKI.TEST" {
			t.Fatalf("%s %q %v\n%s", code, body, err, logs)
		}
		p.checkUpstream(t)
		code, body, _ = curlStatus(t, "--ntlm", "-u", "alice:wrong password", url)
		if code != "401" || !strings.Contains(body, "STATUS_LOGON_FAILURE") {
			t.Fatalf("wrong password: %s %q", code, body)
		}
		code, body, _ = curlStatus(t, "--ntlm", "-u", "mallory:"+ntlmAlicePW, url)
		if code != "401" || !strings.Contains(body, "STATUS_LOGON_FAILURE: the AA refused the logon: unknown user or wrong password") {
			t.Fatalf("unknown user: %s %q", code, body)
		}
	})
	t.Run("python requests-ntlm", func(t *testing.T) {
		py := testkit.PythonWith(t, "requests_ntlm")
		// Debian's OpenSSL 3 has no MD4: ntlm-auth takes the NT hash as "LM:NT".
		nt := ntlm.NTHash(ntlmAlicePW)
		out, err := exec.Command(py, "-c", `
import sys, requests
from requests_ntlm import HttpNtlmAuth
r = requests.get(sys.argv[1], auth=HttpNtlmAuth(sys.argv[2], sys.argv[3]))
print(r.status_code, r.text)
`, url, `PKI\alice`, strings.Repeat("0", 32)+":"+hex.EncodeToString(nt[:])).CombinedOutput()
		if err != nil || strings.TrimSpace(string(out)) != "200 hello alice@PKI.TEST" {
			t.Fatalf("%s %v", out, err)
		}
		p.checkUpstream(t)
	})
	t.Run("go-ntlmssp", func(t *testing.T) {
		// go-ntlmssp answers the Negotiate challenge with raw NTLM.
		c := &http.Client{Transport: ntlmssp.Negotiator{RoundTripper: &http.Transport{}}}
		req, _ := http.NewRequest("GET", url, nil)
		req.SetBasicAuth(`PKI\alice`, ntlmAlicePW)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		b.ReadFrom(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || b.String() != "hello alice@PKI.TEST" {
			t.Fatalf("%d %q\n%s", resp.StatusCode, b.String(), logs)
		}
		p.checkUpstream(t)
	})
	t.Run("warden get", func(t *testing.T) {
		pw := p.file("alice.pw")
		os.WriteFile(pw, []byte(ntlmAlicePW+"\n"), 0o600)
		code, out, errOut := wardenCLI(t, "get", "--auth", "ntlm", "--user", `PKI\alice`, "--password-file", pw, url)
		if code != 0 || out != "hello alice@PKI.TEST" {
			t.Fatalf("%d %q %s", code, out, errOut)
		}
		p.checkUpstream(t)
		os.WriteFile(pw, []byte("nope\n"), 0o600)
		code, _, errOut = wardenCLI(t, "get", "--auth", "ntlm", "--user", "alice@PKI.TEST", "--password-file", pw, url)
		if code == 0 || !strings.Contains(errOut, "HTTP 401 Unauthorized: STATUS_LOGON_FAILURE") || !strings.Contains(errOut, "check the user name and password") {
			t.Fatalf("wrong password: %d %s", code, errOut)
		}
	})
}

// TestCurlNegotiateFallsBackToNTLM: curl --negotiate with no Kerberos
// ticket, through MIT's GSS-API with the gss-ntlmssp mechanism, gets
// NTLM inside SPNEGO (with its mechListMIC) from warden proxy.
func TestCurlNegotiateFallsBackToNTLM(t *testing.T) {
	testkit.RequirePeer(t, "curl")
	const plugin = "/usr/lib/x86_64-linux-gnu/gssntlmssp/gssntlmssp.so"
	if _, err := os.Stat(plugin); err != nil {
		testkit.RequirePeer(t, plugin) // reports the missing package
	}
	p := newNTLMProxy(t)
	port, logs := startWardenProxy(t, append(p.args, "--log-level", "debug")...)
	mech := p.file("mech")
	os.WriteFile(mech, []byte("gssntlmssp_v1 1.3.6.1.4.1.311.2.2.10 "+plugin+"\n"), 0o644)
	users := p.file("ntlm-users")
	os.WriteFile(users, []byte("PKI:alice:"+ntlmAlicePW+"\n"), 0o600)
	cmd := exec.Command("curl", "-sS", "-o", "-", "-w", "\n%{http_code}", "--negotiate", "-u", ":", fmt.Sprintf("http://localhost:%d/app", port))
	cmd.Env = append(os.Environ(), "GSS_MECH_CONFIG="+mech, "NTLM_USER_FILE="+users, "NTLMUSER=alice",
		"KRB5CCNAME=FILE:"+p.file("no-such-cache"), "KRB5_CONFIG="+p.file("no-krb5.conf"))
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.HasSuffix(string(out), "hello alice@PKI.TEST\n200") {
		t.Fatalf("%s %v\n%s", out, err, logs)
	}
	p.checkUpstream(t)
	// NTLM inside SPNEGO, not raw NTLM under "Negotiate".
	if !strings.Contains(logs.String(), "op=httpauth.negotiate principal=alice@PKI.TEST method=ntlm") {
		t.Fatalf("the proxy did not log an NTLM logon through Negotiate:\n%s", logs)
	}
}

// TestNTLMProxyHoldsNoSecret runs warden proxy as its own process,
// lets curl authenticate through it, and searches the proxy's whole
// memory and its configuration for alice's NT hash and password: the
// AA validated the answer, so neither ever reached the proxy.
func TestNTLMProxyHoldsNoSecret(t *testing.T) {
	testkit.RequirePeer(t, "curl")
	p := newNTLMProxy(t)
	bin := filepath.Join(t.TempDir(), "warden")
	if out, err := exec.Command("go", "build", "-o", bin, "../cmd/warden").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	port := testkit.FreePort(t)
	var logs lockedBuf
	cmd := exec.Command(bin, append([]string{"proxy", "--listen", fmt.Sprintf("127.0.0.1:%d", port)}, p.args...)...)
	cmd.Stderr = &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	for i := 0; !strings.Contains(logs.String(), "proxy listening"); i++ {
		if i > 300 {
			t.Fatalf("warden proxy did not start:\n%s", logs.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	for i := 0; i < 3; i++ {
		if code, body, err := curlStatus(t, "--ntlm", "-u", "alice:"+ntlmAlicePW, fmt.Sprintf("http://127.0.0.1:%d/", port)); code != "200" {
			t.Fatalf("%s %q %v\n%s", code, body, err, logs.String())
		}
	}
	nt := ntlm.NTHash(ntlmAlicePW)
	secrets := map[string][]byte{"NT hash": nt[:], "password": []byte(ntlmAlicePW), "UTF-16 password": utf16le(ntlmAlicePW)}
	mem := readProcessMemory(t, cmd.Process.Pid)
	// The search works: the proxy does hold what it may (the user's SID
	// from the AA's answer, the upstream URL).
	_, h := p.app.seen()
	if len(mem) < 1<<20 || !bytes.Contains(mem, []byte(h.Get("X-Warden-User-SID"))) || !bytes.Contains(mem, []byte(p.app.URL)) {
		t.Fatalf("read %d bytes of the proxy's memory, without the SID %s or the upstream URL", len(mem), h.Get("X-Warden-User-SID"))
	}
	for name, s := range secrets {
		if bytes.Contains(mem, s) {
			t.Errorf("the proxy's memory holds alice's %s", name)
		}
		for _, f := range []string{"web01.crt", "web01.key", "ca.crt", "http.keytab"} {
			if b, _ := os.ReadFile(p.file(f)); bytes.Contains(b, s) {
				t.Errorf("the proxy's %s holds alice's %s", f, name)
			}
		}
	}
}

func utf16le(s string) []byte {
	var b []byte
	for _, r := range utf16.Encode([]rune(s)) {
		b = append(b, byte(r), byte(r>>8))
	}
	return b
}

// readProcessMemory reads every readable mapping of process pid.
func readProcessMemory(t *testing.T, pid int) []byte {
	t.Helper()
	maps, err := os.ReadFile(fmt.Sprintf("/proc/%d/maps", pid))
	if err != nil {
		t.Skipf("cannot read the process map: %v", err)
	}
	f, err := os.Open(fmt.Sprintf("/proc/%d/mem", pid))
	if err != nil {
		t.Skipf("cannot read process memory (needs ptrace rights): %v", err)
	}
	defer f.Close()
	var all []byte
	for _, line := range strings.Split(string(maps), "\n") {
		var start, end uint64
		var perms string
		if _, err := fmt.Sscanf(line, "%x-%x %s", &start, &end, &perms); err != nil || perms[0] != 'r' || end-start > 1<<30 {
			continue
		}
		if strings.HasSuffix(line, "[vvar]") || strings.HasSuffix(line, "[vsyscall]") {
			continue
		}
		buf := make([]byte, end-start)
		n, _ := f.ReadAt(buf, int64(start))
		all = append(all, buf[:n]...)
	}
	return all
}

// TestKerberosGroupNamesFromAA: with --aa, warden proxy has the AA name
// the group SIDs of a Kerberos ticket, so a rule may name the group and
// the application sees names. curl --negotiate with an MIT kinit ticket
// gets through a rule naming Engineers; the group rule fails for a user
// outside it, with the group's name in the reason.
func TestKerberosGroupNamesFromAA(t *testing.T) {
	testkit.RequirePeer(t, "curl", "kinit")
	p := newNTLMProxy(t)
	d := "--data=" + p.dir
	pw := p.file("bob.pw")
	os.WriteFile(pw, []byte("bob password 1\n"), 0o600)
	mustWardenCLI(t, "user", "add", "bob", "--password-file", pw, d)
	p.srv.KDC().Refresh(t.Context())
	port, logs := startWardenProxy(t, append(p.args, "--require-group", "/app=Engineers")...)
	c := testkit.NewClient(t, "PKI.TEST", p.srv.KDCAddr(), false)
	curl := func(user, password string) string {
		t.Helper()
		if out, err := c.Run(t, password+"\n", "kinit", user+"@PKI.TEST"); err != nil {
			t.Fatalf("kinit %s: %v\n%s", user, err, out)
		}
		out, _ := c.Run(t, "", "curl", "-sS", "--negotiate", "-u", ":", "-w", "\n%{http_code}", fmt.Sprintf("http://localhost:%d/app", port))
		return out
	}
	if out := curl("alice", "alice password 1"); out != "hello alice@PKI.TEST\n200" {
		t.Fatalf("alice: %q\n%s", out, logs)
	}
	_, h := p.app.seen()
	if g := h.Get("X-Forwarded-Groups"); !strings.Contains(g, "Engineers") || !strings.Contains(g, "Domain Users") {
		t.Errorf("X-Forwarded-Groups %q: want names from the AA", g)
	}
	if out := curl("bob", "bob password 1"); !strings.HasSuffix(out, "\n403") || !strings.Contains(out, "bob@PKI.TEST is not a member of Engineers") {
		t.Errorf("bob: %q", out)
	}
}

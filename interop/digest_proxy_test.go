package interop

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/warden-auth/warden/internal/testkit"
)

// TestDigestThroughWardenProxy: curl --digest and warden get --auth
// digest reach the application through warden proxy --auth digest,
// which has warden serve validate every response; the application sees
// alice's groups and claims, the client gets rspauth, and a wrong
// password gets the same 401 as an unknown user.
func TestDigestThroughWardenProxy(t *testing.T) {
	testkit.RequirePeer(t, "curl")
	p := newNTLMProxy(t)
	args := append([]string(nil), p.args...)
	for i, a := range args {
		if a == "negotiate,ntlm" {
			args[i] = "digest"
		}
	}
	port, logs := startWardenProxy(t, args...)
	url := fmt.Sprintf("http://127.0.0.1:%d/app", port)

	outb, err := exec.Command("curl", "-sS", "-i", "--digest", "-u", "alice:"+ntlmAlicePW, url).CombinedOutput()
	out := string(outb)
	if err != nil || !strings.Contains(out, "200 OK") || !strings.Contains(out, "hello alice@PKI.TEST") || !strings.Contains(out, "Authentication-Info: qop=auth, rspauth=") {
		t.Fatalf("%s %v\n%s", out, err, logs)
	}
	_, h := p.app.seen()
	if h.Get("X-Warden-Auth-Method") != "digest" || !strings.Contains(h.Get("X-Forwarded-Groups"), "Engineers") || h.Get("X-Warden-Claims") != "ad://ext/department=Sales" {
		t.Fatalf("upstream saw %v", h)
	}
	_, wrong, _ := curlStatus(t, "--digest", "-u", "alice:wrong", url)
	_, unknown, _ := curlStatus(t, "--digest", "-u", "mallory:wrong", url)
	if wrong != unknown || !strings.Contains(wrong, "401") {
		t.Fatalf("wrong password %q, unknown user %q", wrong, unknown)
	}

	pw := p.file("alice.pw")
	os.WriteFile(pw, []byte(ntlmAlicePW+"\n"), 0o600)
	code, body, errOut := wardenCLI(t, "get", "-v", "--auth", "digest", "--user", "alice", "--password-file", pw, url)
	if code != 0 || body != "hello alice@PKI.TEST" || !strings.Contains(errOut, "rspauth proved") {
		t.Fatalf("warden get: %d %q %s", code, body, errOut)
	}
}

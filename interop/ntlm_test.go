package interop

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"sync"
	"testing"

	"github.com/warden-auth/warden/admin"
	"github.com/warden-auth/warden/internal/testkit"
	"github.com/warden-auth/warden/ntlm"
	"github.com/warden-auth/warden/passthrough"
	"github.com/warden-auth/warden/store"
)

// ntlmRealm is a Warden realm with alice and the computer account WEB01$
// of the application server, and the AA's validation service.
func ntlmRealm(t *testing.T) (*passthrough.Service, store.Realm) {
	t.Helper()
	r := testkit.NewRealm(t, wardenRealm)
	ctx := context.Background()
	r.AddUser(t, "alice", "correct horse battery", admin.UserOptions{})
	if _, err := r.Admin.AddComputer(ctx, "WEB01", admin.KeyOptions{}); err != nil {
		t.Fatal(err)
	}
	svc, err := passthrough.New(passthrough.Config{Store: r.Store})
	if err != nil {
		t.Fatal(err)
	}
	realm, err := r.Store.Realm(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return svc, realm
}

// ntlmServer is the application server's half: challenge, then the AA
// validates and the context is finished with the key it returns.
func ntlmServer(realm store.Realm) ntlm.ServerConfig {
	return ntlm.ServerConfig{NetBIOSDomain: realm.NetBIOS, NetBIOSComputer: "WEB01",
		DNSDomain: strings.ToLower(realm.Name), DNSComputer: "web01." + strings.ToLower(realm.Name)}
}

// TestNTLMAuthPythonClient runs python's ntlm-auth (NTLMv2 with a MIC)
// against our server half and the AA's validation, then exchanges a
// sealed message each way.
func TestNTLMAuthPythonClient(t *testing.T) {
	py := testkit.PythonWith(t, "ntlm_auth")
	svc, realm := ntlmRealm(t)
	const script = `
import sys, base64
from ntlm_auth.ntlm import NtlmContext
c = NtlmContext(sys.argv[1], sys.argv[2], domain=sys.argv[3], workstation="CLIENT1", ntlm_compatibility=5)
def out(b): print(base64.b64encode(b).decode(), flush=True)
def inp(): return base64.b64decode(sys.stdin.readline().strip())
out(c.step())
out(c.step(inp()))
print(c.unwrap(inp()).decode(), flush=True)
out(c.wrap(b"pong from python"))
`
	for _, tc := range []struct{ name, password, want string }{
		{"right password", "correct horse battery", ""},
		{"wrong password", "Tr0ub4dor&3", "STATUS_WRONG_PASSWORD"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Debian's OpenSSL 3 has no MD4, so ntlm-auth gets the NT hash
			// in its "LM:NT" form instead of the password.
			nt := ntlm.NTHash(tc.password)
			cmd := exec.Command(py, "-c", script, "alice", strings.Repeat("0", 32)+":"+hex.EncodeToString(nt[:]), realm.NetBIOS)
			stdin, _ := cmd.StdinPipe()
			stdout, _ := cmd.StdoutPipe()
			var stderr strings.Builder
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer cmd.Process.Kill()
			rd := bufio.NewReader(stdout)
			line := func() []byte {
				t.Helper()
				s, err := rd.ReadString('\n')
				if err != nil {
					t.Fatalf("ntlm-auth: %v\n%s", err, stderr.String())
				}
				b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(s))
				if err != nil {
					t.Fatalf("ntlm-auth printed %q", s)
				}
				return b
			}
			sctx, ch, err := ntlm.NewChallenge(ntlmServer(realm), line())
			if err != nil {
				t.Fatal(err)
			}
			fmt.Fprintln(stdin, base64.StdEncoding.EncodeToString(ch))
			v, err := sctx.Authenticate(line())
			if err != nil {
				t.Fatal(err)
			}
			res, err := svc.ValidateNTLM(context.Background(), "WEB01$", v)
			if tc.want != "" {
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("err = %v, want %s", err, tc.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if res.Identity.Principal() != "alice@"+wardenRealm {
				t.Fatalf("identity %+v", res.Identity)
			}
			// ntlm-auth sends a MIC; Finish checks it with the AA's key.
			sess, err := sctx.Finish(res.SessionBaseKey, nil, false)
			if err != nil {
				t.Fatal(err)
			}
			sealed, sig := sess.Seal([]byte("ping from warden"))
			fmt.Fprintln(stdin, base64.StdEncoding.EncodeToString(append(sig, sealed...)))
			if got, _ := rd.ReadString('\n'); strings.TrimSpace(got) != "ping from warden" {
				t.Fatalf("python unwrapped %q\n%s", got, stderr.String())
			}
			w := line()
			msg, err := sess.Unseal(w[16:], w[:16])
			if err != nil || string(msg) != "pong from python" {
				t.Fatalf("unseal: %q %v", msg, err)
			}
		})
	}
}

// TestNTLMCurl runs curl --ntlm against an HTTP server using our server
// half and the AA's validation: the raw NTLM scheme, two legs on one
// keep-alive connection.
func TestNTLMCurl(t *testing.T) {
	testkit.RequirePeer(t, "curl")
	svc, realm := ntlmRealm(t)
	var mu sync.Mutex
	pending := map[string]*ntlm.ServerContext{} // by client connection
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := r.Header.Get("Authorization")
		tok, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(h, "NTLM "))
		if !strings.HasPrefix(h, "NTLM ") || err != nil {
			w.Header().Set("WWW-Authenticate", "NTLM")
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		mu.Lock()
		sctx := pending[r.RemoteAddr]
		delete(pending, r.RemoteAddr)
		mu.Unlock()
		if sctx == nil {
			sctx, ch, err := ntlm.NewChallenge(ntlmServer(realm), tok)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			mu.Lock()
			pending[r.RemoteAddr] = sctx
			mu.Unlock()
			w.Header().Set("WWW-Authenticate", "NTLM "+base64.StdEncoding.EncodeToString(ch))
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		v, err := sctx.Authenticate(tok)
		if err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		res, err := svc.ValidateNTLM(r.Context(), "WEB01$", v)
		if err != nil {
			http.Error(w, "logon failure: "+err.Error(), http.StatusUnauthorized)
			return
		}
		if _, err := sctx.Finish(res.SessionBaseKey, nil, false); err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		fmt.Fprintf(w, "hello %s", res.Identity.Principal())
	}))
	defer srv.Close()
	curl, _ := testkit.LookPath("curl")
	run := func(user string) (string, string) {
		out, err := exec.Command(curl, "-s", "--ntlm", "-u", user, "-w", "\n%{http_code}", srv.URL).CombinedOutput()
		if err != nil {
			t.Fatalf("curl: %v\n%s", err, out)
		}
		i := strings.LastIndex(string(out), "\n")
		return string(out[:i]), string(out[i+1:])
	}
	if body, code := run(realm.NetBIOS + `\alice:correct horse battery`); code != "200" || body != "hello alice@"+wardenRealm {
		t.Fatalf("curl got %s %q", code, body)
	}
	if body, code := run(realm.NetBIOS + `\alice:wrong`); code != "401" || !strings.Contains(body, "STATUS_WRONG_PASSWORD") {
		t.Fatalf("wrong password: curl got %s %q", code, body)
	}
}

package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"

	"github.com/warden-auth/warden/httpauth"
	"github.com/warden-auth/warden/pki"
)

// startAAProxy runs warden proxy --auth method (ntlm or digest) as the
// computer account WEB01$: its certificate from the realm CA
// authenticates it to the AA, which validates every answer.
func (d *demoRealm) startAAProxy(c context.Context, method string) (*demoHTTP, error) {
	a := d.srv.PKI()
	if a == nil {
		return nil, errors.New("the demo AA runs no CA")
	}
	web01, err := a.IssueAccount(c, "WEB01$", pki.IssueRequest{})
	if err != nil {
		return nil, err
	}
	files := &issueOpts{out: filepath.Join(d.dir, "web01"), force: true}
	if err := files.write(io.Discard, a, web01); err != nil {
		return nil, err
	}
	caFile, err := d.writeCA()
	if err != nil {
		return nil, err
	}
	return startProxy(c, proxyOptions{auth: method, aaURL: "https://" + d.srv.HTTPSAddr(),
		aaCert: files.out + ".crt", aaKey: files.out + ".key", caFile: caFile})
}

// ntlmGet fetches the application through the proxy with NTLM as alice.
func (h *demoHTTP) ntlmGet(c context.Context, password string) (int, string, error) {
	base := &http.Transport{DialContext: h.dial}
	return demoFetch(c, base, &httpauth.NTLMTransport{Base: base, User: "alice", Password: password}, demoURL)
}

// digestGet fetches the application with Digest as alice, requiring the
// AA's rspauth.
func (h *demoHTTP) digestGet(c context.Context, password string) (int, string, error) {
	base := &http.Transport{DialContext: h.dial}
	return demoFetch(c, base, &httpauth.DigestTransport{Base: base, User: "alice", Password: password, RequireMutual: true}, demoURL)
}

// passwordLogin starts the proxy for method, fetches the application as
// alice with password through get, and returns the X-Forwarded-User the
// application saw and its group count; anything but 200 is an error
// with the proxy's reason.
func (d *demoRealm) passwordLogin(c context.Context, method string, get func(*demoHTTP, context.Context, string) (int, string, error), password string) (string, int, error) {
	h, err := d.startAAProxy(c, method)
	if err != nil {
		return "", 0, err
	}
	defer h.stop()
	status, body, err := get(h, c, password)
	if err != nil {
		return "", 0, err
	}
	if status != http.StatusOK {
		return "", 0, fmt.Errorf("HTTP %d: %s", status, strings.TrimPrefix(body, "401 Unauthorized: "))
	}
	user, n := h.seen()
	if want := "alice@" + d.realm; user != want {
		return "", 0, fmt.Errorf("the application saw X-Forwarded-User %q, want %q", user, want)
	}
	return user, n, nil
}

// ntlm is the NTLM alternative of MS-AUTHSOD 2.5.4.1.1: the proxy
// challenges, the client answers from alice's password, the AA checks
// the answer against the NT hash only it holds and returns her groups.
func (d *demoRealm) ntlm(c context.Context) (string, error) {
	user, n, err := d.passwordLogin(c, "ntlm", (*demoHTTP).ntlmGet, demoPassword)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("app saw X-Forwarded-User: %s (%d groups); the AA validated the answer for WEB01$, which never held alice's secret", user, n), nil
}

// ntlmWrongPassword answers the challenge with a wrong password: 401,
// and the AA counts a failure towards lockout.
func (d *demoRealm) ntlmWrongPassword(c context.Context) (string, error) {
	_, _, err := d.passwordLogin(c, "ntlm", (*demoHTTP).ntlmGet, "not the password")
	return "", err
}

// digest is the Digest alternative: the proxy challenges (SHA-256), the
// client answers, the AA checks the response against the H(A1) only it
// holds and returns groups and rspauth.
func (d *demoRealm) digest(c context.Context) (string, error) {
	user, n, err := d.passwordLogin(c, "digest", (*demoHTTP).digestGet, demoPassword)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("app saw X-Forwarded-User: %s (%d groups); the client checked the AA's rspauth", user, n), nil
}

// digestWrongPassword: 401, the same answer as for an unknown user.
func (d *demoRealm) digestWrongPassword(c context.Context) (string, error) {
	_, _, err := d.passwordLogin(c, "digest", (*demoHTTP).digestGet, "not the password")
	return "", err
}

package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/warden-auth/warden/httpauth"
	"github.com/warden-auth/warden/pki"
)

// startNTLM runs warden proxy --auth ntlm as the computer account WEB01$:
// its certificate from the realm CA authenticates it to the AA, which
// validates every NTLM answer.
func (d *demoRealm) startNTLM(c context.Context) (*demoHTTP, error) {
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
	caFile := filepath.Join(d.dir, "ca.crt")
	if err := os.WriteFile(caFile, pemCert(a.CA().Raw), 0o644); err != nil {
		return nil, err
	}
	return startProxy(c, proxyOptions{auth: "ntlm", aaURL: "https://" + d.srv.HTTPSAddr(),
		aaCert: files.out + ".crt", aaKey: files.out + ".key", caFile: caFile})
}

// ntlmGet fetches the application through the proxy with NTLM as alice.
func (h *demoHTTP) ntlmGet(c context.Context, password string) (int, string, error) {
	tr := &httpauth.NTLMTransport{Base: &http.Transport{DialContext: h.dial}, User: "alice", Password: password}
	defer tr.Base.(*http.Transport).CloseIdleConnections()
	req, _ := http.NewRequestWithContext(c, "GET", "http://web.warden.test/", nil)
	resp, err := (&http.Client{Transport: tr, Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	return resp.StatusCode, strings.TrimSpace(string(body)), nil
}

// ntlm is the NTLM alternative of MS-AUTHSOD 2.5.4.1.1: the proxy
// challenges, the client answers from alice's password, the AA checks
// the answer against the NT hash only it holds and returns her groups.
func (d *demoRealm) ntlm(c context.Context) (string, error) {
	h, err := d.startNTLM(c)
	if err != nil {
		return "", err
	}
	defer h.stop()
	status, body, err := h.ntlmGet(c, demoPassword)
	if err != nil {
		return "", err
	}
	if status != http.StatusOK {
		return "", fmt.Errorf("HTTP %d: %s", status, body)
	}
	user, n := h.seen()
	if want := "alice@" + d.realm; user != want {
		return "", fmt.Errorf("the application saw X-Forwarded-User %q, want %q", user, want)
	}
	return fmt.Sprintf("app saw X-Forwarded-User: %s (%d groups); the AA validated the answer for WEB01$, which never held alice's secret", user, n), nil
}

// ntlmWrongPassword answers the challenge with a wrong password: 401,
// and the AA counts a failure towards lockout.
func (d *demoRealm) ntlmWrongPassword(c context.Context) (string, error) {
	h, err := d.startNTLM(c)
	if err != nil {
		return "", err
	}
	defer h.stop()
	status, body, err := h.ntlmGet(c, "not the password")
	if err != nil {
		return "", err
	}
	if status == http.StatusOK {
		return "accepted", nil
	}
	return "", fmt.Errorf("HTTP %d: %s", status, strings.TrimPrefix(body, "401 Unauthorized: "))
}

// startDigest runs warden proxy --auth digest as WEB01$, the AA
// validating every response.
func (d *demoRealm) startDigest(c context.Context) (*demoHTTP, error) {
	h, err := d.startNTLM(c) // writes WEB01$'s certificate and the CA
	if err != nil {
		return nil, err
	}
	h.stop()
	return startProxy(c, proxyOptions{auth: "digest", aaURL: "https://" + d.srv.HTTPSAddr(),
		aaCert: filepath.Join(d.dir, "web01.crt"), aaKey: filepath.Join(d.dir, "web01.key"), caFile: filepath.Join(d.dir, "ca.crt")})
}

// digestGet fetches the application with Digest as alice, requiring the
// AA's rspauth.
func (h *demoHTTP) digestGet(c context.Context, password string) (int, string, error) {
	tr := &httpauth.DigestTransport{Base: &http.Transport{DialContext: h.dial}, User: "alice", Password: password, RequireMutual: true}
	defer tr.Base.(*http.Transport).CloseIdleConnections()
	req, _ := http.NewRequestWithContext(c, "GET", "http://web.warden.test/", nil)
	resp, err := (&http.Client{Transport: tr, Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	return resp.StatusCode, strings.TrimSpace(string(body)), nil
}

// digest is the Digest alternative: the proxy challenges (SHA-256), the
// client answers, the AA checks the response against the H(A1) only it
// holds and returns groups and rspauth.
func (d *demoRealm) digest(c context.Context) (string, error) {
	h, err := d.startDigest(c)
	if err != nil {
		return "", err
	}
	defer h.stop()
	status, body, err := h.digestGet(c, demoPassword)
	if err != nil {
		return "", err
	}
	if status != http.StatusOK {
		return "", fmt.Errorf("HTTP %d: %s", status, body)
	}
	user, n := h.seen()
	return fmt.Sprintf("app saw X-Forwarded-User: %s (%d groups); the client checked the AA's rspauth", user, n), nil
}

// digestWrongPassword: 401, the same answer as for an unknown user.
func (d *demoRealm) digestWrongPassword(c context.Context) (string, error) {
	h, err := d.startDigest(c)
	if err != nil {
		return "", err
	}
	defer h.stop()
	status, body, err := h.digestGet(c, "not the password")
	if err != nil {
		return "", err
	}
	if status == http.StatusOK {
		return "accepted", nil
	}
	return "", fmt.Errorf("HTTP %d: %s", status, strings.TrimPrefix(body, "401 Unauthorized: "))
}

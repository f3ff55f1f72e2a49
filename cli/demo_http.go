package cli

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/warden-auth/warden/httpauth"
	"github.com/warden-auth/warden/krb5/gss"
)

// demoHTTP is warden proxy (run as the CLI runs it) in front of a small
// application that records the identity headers it receives, and a
// credential cache holding alice's TGT.
type demoHTTP struct {
	stopped   chan error // runProxy's result, once c ends
	proxyAddr string
	ccache    string
	mu        sync.Mutex
	seenUser  string
	seenGrps  string
}

func (h *demoHTTP) seen() (string, string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.seenUser, h.seenGrps
}

// startHTTP starts the application and the proxy; they stop when c ends
// (wait for that with stop).
func (d *demoRealm) startHTTP(c context.Context) (*demoHTTP, error) {
	h := &demoHTTP{ccache: filepath.Join(d.dir, "demo.ccache"), stopped: make(chan error, 1)}
	tgt, err := d.login(c, d.client, demoPassword)
	if err != nil {
		return nil, err
	}
	if err := writeNewCache(h.ccache, tgt); err != nil {
		return nil, err
	}
	ktPath := filepath.Join(d.dir, "http.keytab")
	if err := d.svcKT.WriteFile(ktPath); err != nil {
		return nil, err
	}
	appLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	app := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.mu.Lock()
		h.seenUser, h.seenGrps = r.Header.Get("X-Forwarded-User"), r.Header.Get("X-Forwarded-Groups")
		h.mu.Unlock()
		fmt.Fprintf(w, "hello %s\n", r.Header.Get("X-Forwarded-User"))
	})}
	go func() { _ = app.Serve(appLn) }()
	go func() { <-c.Done(); app.Close() }()

	ready := make(chan string, 1)
	go func() {
		h.stopped <- runProxy(c, io.Discard, proxyOptions{listen: "127.0.0.1:0", upstream: "http://" + appLn.Addr().String(),
			keytab: ktPath, auth: "negotiate", keytabPoll: time.Second, logLevel: "error", logFormat: "text",
			maxHeaderLen: httpauth.DefaultMaxHeaderBytes}, func(addr string) { ready <- addr })
	}()
	select {
	case h.proxyAddr = <-ready:
		return h, nil
	case err := <-h.stopped:
		if err == nil {
			err = errors.New("the proxy stopped at once")
		}
		return nil, err
	}
}

// stop ends the proxy and waits for it.
func (h *demoHTTP) stop(cancel context.CancelFunc) {
	cancel()
	<-h.stopped
}

// client is an HTTP client that reaches the proxy for web.warden.test.
func (h *demoHTTP) client(tr *httpauth.Transport) *http.Client {
	base := &http.Transport{DialContext: func(c context.Context, network, _ string) (net.Conn, error) {
		var dl net.Dialer
		return dl.DialContext(c, network, h.proxyAddr)
	}}
	if tr == nil {
		return &http.Client{Transport: base, Timeout: 10 * time.Second}
	}
	tr.Base = base
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

const demoURL = "http://web.warden.test/"

// httpNegotiate is MS-AUTHSOD 2.5.4.1.1 steps 5–6 over HTTP: the client
// gets HTTP/web.warden.test with its TGT, the proxy verifies it and
// proves itself back, and the application learns who the user is.
func (d *demoRealm) httpNegotiate(c context.Context) (string, error) {
	c, cancel := context.WithCancel(c)
	defer cancel()
	h, err := d.startHTTP(c)
	if err != nil {
		return "", err
	}
	defer h.stop(cancel)
	var res httpauth.Result
	req, _ := http.NewRequestWithContext(httpauth.WithResult(c, &res), "GET", demoURL, nil)
	resp, err := h.client(&httpauth.Transport{Credentials: &httpauth.CCache{Path: h.ccache, Client: d.client}}).Do(req)
	if err != nil {
		return "", err
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("HTTP %s: %s", resp.Status, strings.TrimSpace(string(body)))
	}
	user, groups := h.seen()
	want := "alice@" + d.realm
	if user != want {
		return "", fmt.Errorf("the application saw X-Forwarded-User %q, want %q", user, want)
	}
	if !res.Mutual {
		return "", errors.New("the client did not verify the proxy's mutual-authentication token")
	}
	n := 0
	if groups != "" {
		n = strings.Count(groups, ",") + 1
	}
	return fmt.Sprintf("app saw X-Forwarded-User: %s (%d groups); client verified the proxy's AP-REP", user, n), nil
}

// httpReplay sends a captured Negotiate header a second time.
func (d *demoRealm) httpReplay(c context.Context) (string, error) {
	c, cancel := context.WithCancel(c)
	defer cancel()
	h, err := d.startHTTP(c)
	if err != nil {
		return "", err
	}
	defer h.stop(cancel)
	cred, err := (&httpauth.CCache{Path: h.ccache, Client: d.client}).Credential(c, demoService, false)
	if err != nil {
		return "", err
	}
	_, tok, err := gss.NewSPNEGOInitiator(cred, gss.InitiatorConfig{})
	if err != nil {
		return "", err
	}
	cl := h.client(nil)
	var last *http.Response
	var body []byte
	for range 2 {
		req, _ := http.NewRequestWithContext(c, "GET", demoURL, nil)
		req.Header.Set("Authorization", "Negotiate "+base64.StdEncoding.EncodeToString(tok))
		if last, err = cl.Do(req); err != nil {
			return "", err
		}
		body, _ = io.ReadAll(io.LimitReader(last.Body, 4096))
		last.Body.Close()
	}
	if last.StatusCode == http.StatusOK {
		return "accepted twice", nil
	}
	return "", fmt.Errorf("%d: %s", last.StatusCode, strings.TrimPrefix(strings.TrimSpace(string(body)), last.Status+": "))
}

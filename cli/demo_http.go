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
// application that records the identity headers it receives, and (for
// Negotiate) a credential cache holding alice's TGT.
type demoHTTP struct {
	cancel    context.CancelFunc // ends the application and the proxy
	stopped   chan error         // runProxy's result, once cancelled
	proxyAddr string
	ccache    string
	mu        sync.Mutex
	seenUser  string
	seenGrps  int
}

// seen is the X-Forwarded-User the application last received, and how
// many groups X-Forwarded-Groups listed.
func (h *demoHTTP) seen() (string, int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.seenUser, h.seenGrps
}

// startProxy starts the application and warden proxy in front of it, run
// with o (its address, upstream and logging filled in here), until stop.
func startProxy(c context.Context, o proxyOptions) (*demoHTTP, error) {
	c, cancel := context.WithCancel(c)
	h := &demoHTTP{cancel: cancel, stopped: make(chan error, 1)}
	appLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		cancel()
		return nil, err
	}
	app := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, groups := r.Header.Get("X-Forwarded-User"), r.Header.Get("X-Forwarded-Groups")
		h.mu.Lock()
		h.seenUser, h.seenGrps = user, 0
		if groups != "" {
			h.seenGrps = strings.Count(groups, ",") + 1
		}
		h.mu.Unlock()
		fmt.Fprintf(w, "hello %s\n", user)
	})}
	go func() { _ = app.Serve(appLn) }()
	go func() { <-c.Done(); app.Close() }()

	o.listen, o.upstream = "127.0.0.1:0", "http://"+appLn.Addr().String()
	o.logLevel, o.logFormat = "error", "text"
	ready := make(chan string, 1)
	go func() { h.stopped <- runProxy(c, io.Discard, o, func(addr string) { ready <- addr }) }()
	select {
	case h.proxyAddr = <-ready:
		return h, nil
	case err := <-h.stopped:
		cancel()
		if err == nil {
			err = errors.New("the proxy stopped at once")
		}
		return nil, err
	}
}

// startHTTP starts the application and the proxy doing Negotiate with
// the demo service's keytab, after storing alice's TGT in h.ccache.
func (d *demoRealm) startHTTP(c context.Context) (*demoHTTP, error) {
	ccache := filepath.Join(d.dir, "demo.ccache")
	tgt, err := d.login(c, d.client, demoPassword)
	if err != nil {
		return nil, err
	}
	if err := writeNewCache(ccache, tgt); err != nil {
		return nil, err
	}
	ktPath := filepath.Join(d.dir, "http.keytab")
	if err := d.svcKT.WriteFile(ktPath); err != nil {
		return nil, err
	}
	h, err := startProxy(c, proxyOptions{keytab: ktPath, auth: "negotiate", keytabPoll: time.Second,
		maxHeaderLen: httpauth.DefaultMaxHeaderBytes})
	if err != nil {
		return nil, err
	}
	h.ccache = ccache
	return h, nil
}

// stop ends the application and the proxy, and waits for the proxy.
func (h *demoHTTP) stop() {
	h.cancel()
	<-h.stopped
}

// dial reaches the proxy whatever the address asked (web.warden.test).
func (h *demoHTTP) dial(c context.Context, network, _ string) (net.Conn, error) {
	var dl net.Dialer
	return dl.DialContext(c, network, h.proxyAddr)
}

// client is an HTTP client that reaches the proxy for web.warden.test.
func (h *demoHTTP) client(tr *httpauth.Transport) *http.Client {
	base := &http.Transport{DialContext: h.dial}
	if tr == nil {
		return &http.Client{Transport: base, Timeout: 10 * time.Second}
	}
	tr.Base = base
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

const demoURL = "http://web.warden.test/"

// demoFetch GETs url through rt (nil: base alone), base being the transport
// that reaches the proxy, and returns the status and the start of the
// body.
func demoFetch(c context.Context, base *http.Transport, rt http.RoundTripper, url string) (int, string, error) {
	defer base.CloseIdleConnections()
	if rt == nil {
		rt = base
	}
	req, _ := http.NewRequestWithContext(c, "GET", url, nil)
	resp, err := (&http.Client{Transport: rt, Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	return resp.StatusCode, strings.TrimSpace(string(body)), nil
}

// httpNegotiate is MS-AUTHSOD 2.5.4.1.1 steps 5–6 over HTTP: the client
// gets HTTP/web.warden.test with its TGT, the proxy verifies it and
// proves itself back, and the application learns who the user is.
func (d *demoRealm) httpNegotiate(c context.Context) (string, error) {
	h, err := d.startHTTP(c)
	if err != nil {
		return "", err
	}
	defer h.stop()
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
	user, n := h.seen()
	want := "alice@" + d.realm
	if user != want {
		return "", fmt.Errorf("the application saw X-Forwarded-User %q, want %q", user, want)
	}
	if !res.Mutual {
		return "", errors.New("the client did not verify the proxy's mutual-authentication token")
	}
	return fmt.Sprintf("app saw X-Forwarded-User: %s (%d groups); client verified the proxy's AP-REP", user, n), nil
}

// httpReplay sends a captured Negotiate header a second time.
func (d *demoRealm) httpReplay(c context.Context) (string, error) {
	h, err := d.startHTTP(c)
	if err != nil {
		return "", err
	}
	defer h.stop()
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

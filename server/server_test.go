package server

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/warden-auth/warden/admin"
	"github.com/warden-auth/warden/config"
	"github.com/warden-auth/warden/krb5"
	"github.com/warden-auth/warden/store"
)

// syncBuffer is a log sink safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func newRealmDir(t *testing.T) *config.Config {
	t.Helper()
	dir := t.TempDir()
	cfg := config.Default("EXAMPLE.TEST")
	cfg.Dir = dir
	cfg.KDC.Addr = "127.0.0.1:0"
	cfg.HTTPS.Addr = "127.0.0.1:0"
	if _, err := store.CreateMasterKey(cfg.Path(cfg.MasterKeyFile)); err != nil {
		t.Fatal(err)
	}
	st, err := OpenStore(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	if _, err := admin.InitRealm(ctx, st, cfg.Realm, nil, time.Now()); err != nil {
		t.Fatal(err)
	}
	a, _ := admin.New(ctx, admin.Config{Store: st})
	if _, err := a.AddUser(ctx, "alice", "alice password", admin.UserOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := cfg.Save(dir); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// The daemon answers Kerberos on UDP and TCP, logs one line per request
// with the reason, serves health and metrics over HTTPS, and stops
// cleanly when its context ends (SIGTERM in the CLI).
func TestServe(t *testing.T) {
	cfg := newRealmDir(t)
	var logBuf syncBuffer
	s, err := New(cfg, slog.New(slog.NewTextHandler(&logBuf, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Listen(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx) }()

	// An AS-REQ without pre-authentication: PREAUTH_REQUIRED, logged.
	req := krb5.KDCReq{MsgType: krb5.MsgASReq, ReqBody: krb5.KDCReqBody{
		CName: &krb5.PrincipalName{NameType: 1, NameString: []string{"alice"}}, Realm: "EXAMPLE.TEST",
		SName: &krb5.PrincipalName{NameType: 2, NameString: []string{"krbtgt", "EXAMPLE.TEST"}},
		Till:  time.Now().Add(time.Hour), Nonce: 1, EType: []krb5.EncType{krb5.ETypeAES256CTSHMACSHA196}}}
	b, _ := req.Marshal()
	c, err := net.Dial("udp", s.KDCAddr())
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(3 * time.Second))
	c.Write(b)
	buf := make([]byte, 4096)
	n, err := c.Read(buf)
	c.Close()
	if err != nil {
		t.Fatal(err)
	}
	var ke krb5.KRBError
	if err := ke.Unmarshal(buf[:n]); err != nil || ke.ErrorCode != krb5.KDCErrPreauthRequired {
		t.Fatalf("reply: %v %+v", err, ke)
	}

	// HTTPS: the listener's certificate chains to the realm CA.
	pool := x509.NewCertPool()
	pool.AddCert(s.PKI().CA())
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}, Timeout: 5 * time.Second}
	get := func(path string) string {
		t.Helper()
		resp, err := hc.Get("https://" + strings.Replace(s.HTTPSAddr(), "127.0.0.1", "localhost", 1) + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			t.Fatalf("GET %s: %d %s", path, resp.StatusCode, body)
		}
		return string(body)
	}
	if h := get("/healthz"); h != "ok EXAMPLE.TEST\n" {
		t.Errorf("healthz: %q", h)
	}
	if m := get("/metrics"); !strings.Contains(m, `warden_kdc_requests_total{code="KDC_ERR_PREAUTH_REQUIRED",op="AS"} 1`) {
		t.Errorf("metrics lack the request:\n%s", m)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Serve: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not stop")
	}
	log := logBuf.String()
	for _, want := range []string{`msg="kdc request refused" op=AS principal=alice@EXAMPLE.TEST`, "code=KDC_ERR_PREAUTH_REQUIRED", `reason="pre-authentication required"`, "proto=udp", `msg="warden stopped"`} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
	if strings.Contains(log, "alice password") {
		t.Error("a password reached the log")
	}
}

func TestConfigRefusesUnknownKeys(t *testing.T) {
	cfg := newRealmDir(t)
	raw, _ := os.ReadFile(cfg.Path(config.FileName))
	os.WriteFile(cfg.Path(config.FileName), bytes.Replace(raw, []byte(`"realm"`), []byte(`"relam": "X", "realm"`), 1), 0o600)
	_, err := config.Load(cfg.Dir)
	if err == nil || !strings.Contains(err.Error(), `unknown field "relam"`) {
		t.Errorf("got %v", err)
	}
}

// Without the HTTPS listener the daemon neither opens nor creates the
// realm CA: nothing would serve it.
func TestServeWithoutHTTPSLeavesTheCA(t *testing.T) {
	cfg := newRealmDir(t)
	cfg.HTTPS.Addr = ""
	s, err := New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Store().Close()
	if s.PKI() != nil {
		t.Error("PKI opened without HTTPS")
	}
	if _, err := s.Store().CA(context.Background()); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("CA after New without HTTPS: %v, want ErrNotFound", err)
	}
}

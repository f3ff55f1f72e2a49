package httpauth_test

import (
	"context"
	"encoding/base64"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/warden-auth/warden/auth"
	"github.com/warden-auth/warden/httpauth"
	"github.com/warden-auth/warden/krb5"
	"github.com/warden-auth/warden/krb5/gss"
	"github.com/warden-auth/warden/ntlm"
	"github.com/warden-auth/warden/passthrough"
)

// aaDouble validates NTLM answers as the AA does, from NT hashes it
// holds; the interop tests use the real AA.
type aaDouble struct {
	hashes map[string][16]byte
	calls  atomic.Int32
}

func (a *aaDouble) ValidateNTLM(_ context.Context, v *ntlm.Validation) (*passthrough.Result, error) {
	a.calls.Add(1)
	h, ok := a.hashes[strings.ToLower(v.User)]
	if !ok {
		return nil, &ntlm.Error{Status: ntlm.StatusLogonFailure, Reason: "unknown user or wrong password"}
	}
	ver, err := ntlm.VerifyResponse(v, h, time.Now(), 5*time.Minute)
	if err != nil {
		return nil, &ntlm.Error{Status: ntlm.StatusLogonFailure, Reason: "unknown user or wrong password"}
	}
	return &passthrough.Result{Identity: auth.Identity{User: v.User, Realm: testRealm, SID: "S-1-5-21-1-2-3-1104",
		Groups: []auth.Group{{SID: "S-1-5-21-1-2-3-513", Name: "Domain Users"}}}, SessionBaseKey: ver.SessionBaseKey}, nil
}

var ntlmNames = ntlm.ServerConfig{NetBIOSDomain: "WARDEN", NetBIOSComputer: "WEB01", DNSDomain: "warden.test", DNSComputer: "web01.warden.test"}

type ntlmEnv struct {
	srv *httptest.Server
	aa  *aaDouble
	log *logBuffer
}

// newNTLMEnv serves whoami behind NTLM, with Kerberos too when krb.
func newNTLMEnv(t *testing.T, krb bool) *ntlmEnv {
	t.Helper()
	e := &ntlmEnv{aa: &aaDouble{hashes: map[string][16]byte{"alice": ntlm.NTHash("correct horse")}}, log: &logBuffer{}}
	cfg := httpauth.Config{NTLM: &httpauth.NTLMConfig{Server: ntlmNames, Validator: e.aa},
		Logger: slog.New(slog.NewJSONHandler(e.log, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	if krb {
		cfg.Acceptor = kerberosAcceptor(t)
	}
	a, err := httpauth.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	e.srv = httptest.NewUnstartedServer(a.Middleware(whoami))
	e.srv.Config.ConnContext = a.ConnContext
	e.srv.Start()
	t.Cleanup(e.srv.Close)
	return e
}

func kerberosAcceptor(t *testing.T) *gss.Acceptor {
	e := newEnv(t, envOptions{})
	return e.acc
}

func (e *ntlmEnv) do(t *testing.T, tr *httpauth.NTLMTransport) (*http.Response, string, *httpauth.Result) {
	t.Helper()
	tr.Base = e.srv.Client().Transport
	var res httpauth.Result
	req, _ := http.NewRequestWithContext(httpauth.WithResult(context.Background(), &res), "GET", e.srv.URL+"/x", nil)
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(b), &res
}

func TestNTLMTransport(t *testing.T) {
	e := newNTLMEnv(t, false)
	resp, body, res := e.do(t, &httpauth.NTLMTransport{User: "alice", Domain: "WARDEN", Password: "correct horse"})
	if resp.StatusCode != 200 || !strings.HasPrefix(body, "alice@WARDEN.TEST method=ntlm mutual=false") || !strings.Contains(body, "S-1-5-21-1-2-3-513") {
		t.Fatalf("%d %q", resp.StatusCode, body)
	}
	if !res.Authenticated || res.Attempts != 1 || res.Service != "HTTP/127.0.0.1" {
		t.Fatalf("result %+v", res)
	}
	resp, body, res = e.do(t, &httpauth.NTLMTransport{User: "alice", Domain: "WARDEN", Password: "wrong"})
	if resp.StatusCode != 401 || !strings.Contains(body, "STATUS_LOGON_FAILURE") || res.Authenticated {
		t.Fatalf("wrong password: %d %q %+v", resp.StatusCode, body, res)
	}
	if got := resp.Header.Values("WWW-Authenticate"); len(got) != 1 || got[0] != "NTLM" {
		t.Fatalf("challenges after a refusal: %q", got)
	}
}

// ntlmLeg sends one Authorization value on client c (one connection).
func ntlmLeg(t *testing.T, c *http.Client, url, value string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	if value != "" {
		req.Header.Set("Authorization", value)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(b)
}

func challengeOf(t *testing.T, resp *http.Response, scheme string) []byte {
	t.Helper()
	_, tok, err := httpauth.TokenChallenge(resp.Header, scheme)
	if err != nil || tok == nil {
		t.Fatalf("no %s token in %q (%v)", scheme, resp.Header.Values("WWW-Authenticate"), err)
	}
	return tok
}

func TestNTLMServerRefusals(t *testing.T) {
	e := newNTLMEnv(t, false)
	b64 := base64.StdEncoding.EncodeToString
	newClient := func() *ntlm.Client {
		return &ntlm.Client{User: "alice", Domain: "WARDEN", Password: "correct horse", TargetSPN: "HTTP/web01.warden.test"}
	}
	t.Run("answer without a challenge", func(t *testing.T) {
		c := newClient()
		c.Negotiate()
		// A challenge from another connection is not this one's.
		other := e.srv.Client()
		r1, _ := ntlmLeg(t, other, e.srv.URL, "NTLM "+b64(c.Negotiate()))
		answer, _, err := c.Authenticate(challengeOf(t, r1, "NTLM"))
		if err != nil {
			t.Fatal(err)
		}
		fresh := &http.Client{Transport: &http.Transport{}}
		resp, body := ntlmLeg(t, fresh, e.srv.URL, "NTLM "+b64(answer))
		if resp.StatusCode != 401 || !strings.Contains(body, "no challenge outstanding") {
			t.Fatalf("%d %q", resp.StatusCode, body)
		}
	})
	t.Run("replayed answer", func(t *testing.T) {
		hc := &http.Client{Transport: &http.Transport{}}
		c := newClient()
		r1, _ := ntlmLeg(t, hc, e.srv.URL, "NTLM "+b64(c.Negotiate()))
		answer, _, err := c.Authenticate(challengeOf(t, r1, "NTLM"))
		if err != nil {
			t.Fatal(err)
		}
		if resp, body := ntlmLeg(t, hc, e.srv.URL, "NTLM "+b64(answer)); resp.StatusCode != 200 {
			t.Fatalf("first answer: %d %q", resp.StatusCode, body)
		}
		before := e.aa.calls.Load()
		resp, body := ntlmLeg(t, hc, e.srv.URL, "NTLM "+b64(answer))
		if resp.StatusCode != 401 || !strings.Contains(body, "no challenge outstanding") || e.aa.calls.Load() != before {
			t.Fatalf("replay: %d %q (AA asked %d times more)", resp.StatusCode, body, e.aa.calls.Load()-before)
		}
	})
	t.Run("NTLMv1 refused", func(t *testing.T) {
		hc := &http.Client{Transport: &http.Transport{}}
		r1, _ := ntlmLeg(t, hc, e.srv.URL, "NTLM "+b64(newClient().Negotiate()))
		ch, err := ntlm.ParseChallenge(challengeOf(t, r1, "NTLM"))
		if err != nil {
			t.Fatal(err)
		}
		v1 := &ntlm.Authenticate{Flags: ch.Flags, User: "alice", Domain: "WARDEN", NTResponse: make([]byte, 24), LMResponse: make([]byte, 24)}
		resp, body := ntlmLeg(t, hc, e.srv.URL, "NTLM "+b64(v1.Marshal()))
		if resp.StatusCode != 401 || !strings.Contains(body, "NTLMv1") {
			t.Fatalf("%d %q", resp.StatusCode, body)
		}
	})
	t.Run("not an NTLM message", func(t *testing.T) {
		resp, body := ntlmLeg(t, e.srv.Client(), e.srv.URL, "NTLM "+b64([]byte("hello, world")))
		if resp.StatusCode != 401 || !strings.Contains(body, "not an NTLM message") {
			t.Fatalf("%d %q", resp.StatusCode, body)
		}
	})
	t.Run("Kerberos not offered", func(t *testing.T) {
		resp, body := ntlmLeg(t, e.srv.Client(), e.srv.URL, "Negotiate "+b64([]byte{0x60, 1, 2}))
		if resp.StatusCode != 401 || !strings.Contains(body, "accepts NTLM, not \"Negotiate\"") {
			t.Fatalf("%d %q", resp.StatusCode, body)
		}
	})
}

// TestNTLMInSPNEGO negotiates NTLM through SPNEGO (HTTP Negotiate) with
// the mechListMIC both ways, as MS-SPNG requires when NTLM is chosen,
// and a raw NTLM message sent under "Negotiate".
func TestNTLMInSPNEGO(t *testing.T) {
	e := newNTLMEnv(t, true)
	b64 := base64.StdEncoding.EncodeToString
	if resp, _ := ntlmLeg(t, e.srv.Client(), e.srv.URL, ""); strings.Join(resp.Header.Values("WWW-Authenticate"), "|") != "Negotiate|NTLM" {
		t.Fatalf("challenges %q", resp.Header.Values("WWW-Authenticate"))
	}
	mechs := [][]byte{[]byte(krb5.OIDNTLMSSP)}
	rawMechs, err := gss.EncodeMechTypeList(mechs)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		tamper  bool
		wantErr string
	}{
		{"with MIC", false, ""},
		{"altered mechanism list", true, "mechListMIC does not verify"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hc := &http.Client{Transport: &http.Transport{}}
			c := &ntlm.Client{User: "alice", Domain: "WARDEN", Password: "correct horse", TargetSPN: "HTTP/web01.warden.test"}
			init, _ := (&gss.NegTokenInit{MechTypes: mechs, MechToken: c.Negotiate()}).Marshal()
			r1, _ := ntlmLeg(t, hc, e.srv.URL, "Negotiate "+b64(init))
			resp1, err := gss.ParseNegTokenResp(challengeOf(t, r1, "Negotiate"), 0)
			if err != nil || resp1.NegState != gss.AcceptIncomplete || string(resp1.SupportedMech) != krb5.OIDNTLMSSP {
				t.Fatalf("first reply %+v %v", resp1, err)
			}
			answer, sess, err := c.Authenticate(resp1.ResponseToken)
			if err != nil {
				t.Fatal(err)
			}
			signed := rawMechs
			if tc.tamper {
				signed, _ = gss.EncodeMechTypeList([][]byte{[]byte(krb5.OIDNTLMSSP), []byte(krb5.OIDKRB5)})
			}
			mic, err := sess.MakeMIC(signed)
			if err != nil {
				t.Fatal(err)
			}
			leg2, _ := (&gss.NegTokenResp{ResponseToken: answer, MechListMIC: mic}).Marshal()
			r2, body := ntlmLeg(t, hc, e.srv.URL, "Negotiate "+b64(leg2))
			if tc.wantErr != "" {
				if r2.StatusCode != 401 || !strings.Contains(body, tc.wantErr) {
					t.Fatalf("%d %q", r2.StatusCode, body)
				}
				return
			}
			if r2.StatusCode != 200 || !strings.HasPrefix(body, "alice@WARDEN.TEST method=ntlm") {
				t.Fatalf("%d %q", r2.StatusCode, body)
			}
			final, err := gss.ParseNegTokenResp(challengeOf(t, r2, "Negotiate"), 0)
			if err != nil || final.NegState != gss.AcceptCompleted || final.MechListMIC == nil {
				t.Fatalf("final %+v %v", final, err)
			}
			if err := sess.VerifyMIC(rawMechs, final.MechListMIC); err != nil {
				t.Fatalf("server's mechListMIC: %v", err)
			}
		})
	}
	t.Run("raw NTLM under Negotiate", func(t *testing.T) {
		hc := &http.Client{Transport: &http.Transport{}}
		c := &ntlm.Client{User: "alice", Domain: "WARDEN", Password: "correct horse"}
		r1, _ := ntlmLeg(t, hc, e.srv.URL, "Negotiate "+b64(c.Negotiate()))
		answer, _, err := c.Authenticate(challengeOf(t, r1, "Negotiate"))
		if err != nil {
			t.Fatal(err)
		}
		if r2, body := ntlmLeg(t, hc, e.srv.URL, "Negotiate "+b64(answer)); r2.StatusCode != 200 || !strings.Contains(body, "method=ntlm") {
			t.Fatalf("%d %q", r2.StatusCode, body)
		}
	})
}

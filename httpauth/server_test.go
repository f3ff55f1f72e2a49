package httpauth_test

import (
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/warden-auth/warden/httpauth"
	"github.com/warden-auth/warden/internal/testkit"
	"github.com/warden-auth/warden/krb5"
	"github.com/warden-auth/warden/krb5/gss"
)

func negotiate(tok []byte) string { return "Negotiate " + base64.StdEncoding.EncodeToString(tok) }

// The whole exchange with Warden's own client: 401 challenge, token,
// identity in the handler's context, mutual token verified by the client.
func TestNegotiateMutual(t *testing.T) {
	e := newEnv(t, envOptions{})
	src, calls := e.source(t, testkit.MintOptions{PAC: true, GroupRIDs: []uint32{1105}})
	var res httpauth.Result
	req, _ := http.NewRequestWithContext(httpauth.WithResult(t.Context(), &res), "GET", e.srv.URL+"/", nil)
	resp, err := e.client(&httpauth.Transport{Credentials: src}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	want := "alice@WARDEN.TEST method=kerberos mutual=true sid=S-1-5-21-1111-2222-3333-1104 groups=S-1-5-21-1111-2222-3333-513,S-1-5-21-1111-2222-3333-1105"
	if string(body) != want {
		t.Errorf("handler saw\n %s\nwant\n %s", body, want)
	}
	if ok, tok, err := httpauth.NegotiateChallenge(resp.Header); !ok || tok == nil || err != nil {
		t.Errorf("the 200 carries no mutual token: %v %v", ok, err)
	}
	if !res.Authenticated || !res.Mutual || res.Attempts != 1 || res.Service != testSPN+"@"+testRealm || res.Client != "alice@"+testRealm {
		t.Errorf("result %+v", res)
	}
	if len(*calls) != 1 || (*calls)[0] {
		t.Errorf("credential calls %v, want one cached", *calls)
	}
	if f := e.log.failures(t); len(f) != 0 {
		t.Errorf("a success logged failures: %v", f)
	}
}

// No token: 401 with a bare Negotiate challenge and a body telling what
// to do; not logged as a failure (it is the first leg of every exchange).
func TestNoCredentialsChallenge(t *testing.T) {
	e := newEnv(t, envOptions{})
	resp, body := e.get(t)
	if resp.StatusCode != 401 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if got := resp.Header.Values("WWW-Authenticate"); len(got) != 1 || got[0] != "Negotiate" {
		t.Errorf("WWW-Authenticate %q, want [Negotiate]", got)
	}
	if !strings.Contains(body, "authentication required") || resp.Header.Get("Content-Type") != "text/plain; charset=utf-8" {
		t.Errorf("body %q (%s)", body, resp.Header.Get("Content-Type"))
	}
	if f := e.log.failures(t); len(f) != 0 {
		t.Errorf("the challenge was logged as a failure: %v", f)
	}
}

// Every refusal: 401, a Negotiate challenge, the reason in the body, and
// exactly one log line with the code and reason and no token.
func TestRefusals(t *testing.T) {
	e := newEnv(t, envOptions{})
	other := testkit.NewTicketMint(t, testRealm, "HTTP/other.warden.test")
	stale := testkit.NewTicketMint(t, testRealm, testSPN) // same name, other keys
	mk := func(m *testkit.TicketMint, o testkit.MintOptions) string {
		cred := m.Credential(t, "alice", o)
		// The client believes the ticket valid, whatever the acceptor
		// finds inside.
		cred.EndTime = time.Now().Add(time.Hour)
		_, tok, err := gss.NewSPNEGOInitiator(cred, gss.InitiatorConfig{})
		if err != nil {
			t.Fatal(err)
		}
		return negotiate(tok)
	}
	replayed := mk(e.mint, testkit.MintOptions{})
	if resp, body := e.get(t, replayed); resp.StatusCode != 200 {
		t.Fatalf("first use of the token: %d %s", resp.StatusCode, body)
	}
	expiredAt := time.Now().Add(-3 * time.Hour)
	// A valid AP-REQ whose authenticator time is far in the past.
	skewed := func() string {
		_, tok, err := gss.NewSPNEGOInitiator(e.mint.Credential(t, "alice", testkit.MintOptions{}),
			gss.InitiatorConfig{Time: func() time.Time { return time.Now().Add(-7*time.Minute - 3*time.Second) }})
		if err != nil {
			t.Fatal(err)
		}
		return negotiate(tok)
	}()
	for _, tc := range []struct {
		name       string
		authz      []string
		wantCode   string
		wantReason string
		wantToken  bool // the challenge carries the acceptor's reject token
	}{
		{name: "other scheme", authz: []string{"Basic YWxpY2U6cHc="}, wantCode: "UNSUPPORTED_SCHEME", wantReason: `accepts Negotiate (Kerberos), not "Basic"`},
		{name: "no token", authz: []string{"Negotiate"}, wantCode: "BAD_HEADER", wantReason: "carries no token"},
		{name: "bad base64", authz: []string{"Negotiate YII*AA=="}, wantCode: "BAD_HEADER", wantReason: "is not base64: character '*'"},
		{name: "line break", authz: []string{"Negotiate YIIB\nAA=="}, wantCode: "BAD_HEADER", wantReason: "is not base64"},
		{name: "two headers", authz: []string{replayed, replayed}, wantCode: "BAD_HEADER", wantReason: "several Authorization headers"},
		{name: "too large", authz: []string{"Negotiate " + strings.Repeat("A", httpauth.DefaultMaxHeaderBytes)}, wantCode: "TOKEN_TOO_LARGE", wantReason: "more than the 65536"},
		{name: "not spnego", authz: []string{negotiate([]byte("hello, not a token"))}, wantCode: "GSS_S_DEFECTIVE_TOKEN", wantReason: ""},
		{name: "replay", authz: []string{replayed}, wantCode: "KRB_AP_ERR_REPEAT", wantReason: "request is a replay", wantToken: true},
		{name: "wrong service", authz: []string{mk(other, testkit.MintOptions{})}, wantCode: "KRB_AP_ERR_NOT_US", wantReason: "wrong service: ticket is for HTTP/other.warden.test@WARDEN.TEST", wantToken: true},
		{name: "stale keytab", authz: []string{mk(stale, testkit.MintOptions{})}, wantCode: "DEFECTIVE_CREDENTIAL", wantReason: "does not decrypt with the keytab's kvno 2", wantToken: true},
		{name: "expired ticket", authz: []string{mk(e.mint, testkit.MintOptions{AuthTime: expiredAt, Lifetime: time.Hour})}, wantCode: "GSS_S_CREDENTIALS_EXPIRED", wantReason: "expired at", wantToken: true},
		{name: "clock skew", authz: []string{skewed}, wantCode: "KRB_AP_ERR_SKEW", wantReason: "clock skew 7m3s", wantToken: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := len(e.log.failures(t))
			req, _ := http.NewRequest("GET", e.srv.URL+"/x", nil)
			req.Header["Authorization"] = append(req.Header["Authorization"], tc.authz...)
			resp, err := e.srv.Client().Do(req)
			if err != nil {
				if tc.name == "line break" {
					return // net/http refuses to send it: nothing to test on the server
				}
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			body := string(b)
			if resp.StatusCode != 401 {
				t.Fatalf("status %d, body %q", resp.StatusCode, body)
			}
			ok, tok, err := httpauth.NegotiateChallenge(resp.Header)
			if !ok || err != nil || (tok != nil) != tc.wantToken {
				t.Errorf("challenge %q: present %v, token %v, err %v; want token %v", resp.Header.Values("WWW-Authenticate"), ok, tok != nil, err, tc.wantToken)
			}
			if !strings.HasPrefix(body, "401 Unauthorized: ") || !strings.Contains(body, tc.wantReason) {
				t.Errorf("body %q, want reason %q", body, tc.wantReason)
			}
			f := e.log.failures(t)
			if len(f) != before+1 {
				t.Fatalf("%d failure lines logged, want 1:\n%s", len(f)-before, e.log.String())
			}
			line := f[len(f)-1]
			for _, k := range []string{"op", "code", "reason", "principal", "remote"} {
				if _, ok := line[k]; !ok {
					t.Errorf("log line lacks %q: %v", k, line)
				}
			}
			if !strings.Contains(line["code"].(string), tc.wantCode) || !strings.Contains(line["reason"].(string), tc.wantReason) {
				t.Errorf("logged code %v reason %v; want %s, %q", line["code"], line["reason"], tc.wantCode, tc.wantReason)
			}
			for _, v := range tc.authz {
				if tokPart := strings.TrimPrefix(v, "Negotiate "); len(tokPart) > 16 && strings.Contains(e.log.String(), tokPart[:16]) {
					t.Errorf("the log holds the token")
				}
			}
		})
	}
}

// Schemes are case-insensitive and any amount of space may follow them.
func TestSchemeCaseInsensitive(t *testing.T) {
	e := newEnv(t, envOptions{})
	for _, scheme := range []string{"negotiate ", "NEGOTIATE  ", "NeGoTiAtE\t"} {
		v := scheme + base64.StdEncoding.EncodeToString(e.token(t, gss.InitiatorConfig{}))
		if resp, body := e.get(t, v); resp.StatusCode != 200 {
			t.Errorf("%q: %d %s", scheme, resp.StatusCode, body)
		}
	}
}

// Over TLS the token is bound to the server's certificate; a token bound
// to another channel is refused, and RequireChannelBindings refuses
// clients that bind to nothing.
func TestChannelBindings(t *testing.T) {
	e := newEnv(t, envOptions{tls: true})
	src, _ := e.source(t, testkit.MintOptions{})
	var res httpauth.Result
	req, _ := http.NewRequestWithContext(httpauth.WithResult(t.Context(), &res), "GET", e.srv.URL+"/", nil)
	resp, err := e.client(&httpauth.Transport{Credentials: src}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || !res.ChannelBound || !res.Mutual {
		t.Fatalf("status %d, result %+v", resp.StatusCode, res)
	}

	wrong := &gss.ChannelBindings{ApplicationData: []byte("tls-server-end-point:another certificate")}
	resp, body := e.get(t, negotiate(e.token(t, gss.InitiatorConfig{ChannelBindings: wrong})))
	if resp.StatusCode != 401 || !strings.Contains(body, "channel bindings do not match") {
		t.Errorf("mismatched bindings: %d %q", resp.StatusCode, body)
	}
	// Unbound tokens pass unless bindings are required.
	if resp, body := e.get(t, negotiate(e.token(t, gss.InitiatorConfig{}))); resp.StatusCode != 200 {
		t.Errorf("unbound token: %d %q", resp.StatusCode, body)
	}

	strict := newEnv(t, envOptions{tls: true, requireCB: true})
	resp, body = strict.get(t, negotiate(strict.token(t, gss.InitiatorConfig{})))
	if resp.StatusCode != 401 || !strings.Contains(body, "channel bindings are required but the client sent none") {
		t.Errorf("required bindings, none sent: %d %q", resp.StatusCode, body)
	}
	src, _ = strict.source(t, testkit.MintOptions{})
	resp, err = strict.client(&httpauth.Transport{Credentials: src}).Get(strict.srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("required bindings, Transport: %d", resp.StatusCode)
	}
	if _, err := httpauth.New(httpauth.Config{Acceptor: e.acc, RequireChannelBindings: true}); err == nil {
		t.Error("RequireChannelBindings without ServerCertificate was accepted")
	}
	if _, err := httpauth.New(httpauth.Config{}); err == nil {
		t.Error("no acceptor was accepted")
	}
}

// A negotiation of several legs: the client prefers NTLM and lists
// Kerberos second, so the acceptor picks Kerberos, asks for its token in a
// second leg and, as the choice was not the client's first, for the
// client's mechListMIC in a third. The state lives on the connection.
func TestMultiLeg(t *testing.T) {
	e := newEnv(t, envOptions{})
	cl := e.srv.Client()
	cl.Transport.(*http.Transport).MaxConnsPerHost = 1
	send := func(c *http.Client, tok []byte) (*http.Response, []byte, string) {
		t.Helper()
		req, _ := http.NewRequest("GET", e.srv.URL+"/", nil)
		req.Header.Set("Authorization", negotiate(tok))
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		_, out, err := httpauth.NegotiateChallenge(resp.Header)
		if err != nil {
			t.Fatal(err)
		}
		return resp, out, string(b)
	}
	mechs := [][]byte{[]byte(krb5.OIDNTLMSSP), []byte(krb5.OIDKRB5)}
	first, _ := (&gss.NegTokenInit{MechTypes: mechs}).Marshal()
	raw, _ := gss.EncodeMechTypeList(mechs)

	resp, out, body := send(cl, first)
	if resp.StatusCode != 401 || out == nil {
		t.Fatalf("leg 1: %d %q", resp.StatusCode, body)
	}
	r1, err := gss.ParseNegTokenResp(out, 0)
	if err != nil || r1.NegState != gss.AcceptIncomplete || string(r1.SupportedMech) != krb5.OIDKRB5 {
		t.Fatalf("leg 1 reply %+v %v", r1, err)
	}
	if f := e.log.failures(t); len(f) != 0 {
		t.Errorf("a continuation was logged as a failure: %v", f)
	}

	ini, apreq, err := gss.NewInitiator(e.mint.Credential(t, "alice", testkit.MintOptions{}), gss.InitiatorConfig{})
	if err != nil {
		t.Fatal(err)
	}
	second, _ := (&gss.NegTokenResp{ResponseToken: apreq}).Marshal()

	// The second leg on another connection finds no negotiation there.
	other := &http.Client{Transport: &http.Transport{}}
	defer other.CloseIdleConnections()
	if resp, _, body := send(other, second); resp.StatusCode != 401 || !strings.Contains(body, "no negotiation is in progress on this connection") {
		t.Errorf("leg 2 elsewhere: %d %q", resp.StatusCode, body)
	}

	resp, out, body = send(cl, second)
	if resp.StatusCode != 401 || out == nil {
		t.Fatalf("leg 2: %d %q", resp.StatusCode, body)
	}
	r2, err := gss.ParseNegTokenResp(out, 0)
	if err != nil || r2.NegState != gss.AcceptIncomplete || r2.ResponseToken == nil || r2.MechListMIC == nil {
		t.Fatalf("leg 2 reply %+v %v", r2, err)
	}
	ctx, err := ini.Step(r2.ResponseToken)
	if err != nil {
		t.Fatal(err)
	}
	if err := ctx.VerifyMIC(raw, r2.MechListMIC); err != nil {
		t.Fatalf("server mechListMIC: %v", err)
	}
	mic, _ := ctx.MakeMIC(raw)
	third, _ := (&gss.NegTokenResp{MechListMIC: mic}).Marshal()
	resp, _, body = send(cl, third)
	if resp.StatusCode != 200 || !strings.HasPrefix(body, "alice@WARDEN.TEST method=kerberos mutual=true") {
		t.Fatalf("leg 3: %d %q", resp.StatusCode, body)
	}
}

// Without ConnContext a negotiation that needs a second leg is refused
// with a reason saying so, instead of failing obscurely on the next leg.
func TestMultiLegWithoutConnState(t *testing.T) {
	e := newEnv(t, envOptions{noConnState: true})
	first, _ := (&gss.NegTokenInit{MechTypes: [][]byte{[]byte(krb5.OIDNTLMSSP), []byte(krb5.OIDKRB5)}}).Marshal()
	resp, body := e.get(t, negotiate(first))
	if resp.StatusCode != 401 || !strings.Contains(body, "needs another leg, and this server keeps no per-connection state") {
		t.Fatalf("%d %q", resp.StatusCode, body)
	}
	f := e.log.failures(t)
	if len(f) != 1 || f[0]["code"] != "CONNECTION_STATE_REQUIRED" || !strings.Contains(f[0]["hint"].(string), "ConnContext") {
		t.Errorf("log %v", f)
	}
	// Kerberos first still works in one leg.
	if resp, body := e.get(t, negotiate(e.token(t, gss.InitiatorConfig{}))); resp.StatusCode != 200 {
		t.Errorf("one-leg Kerberos: %d %q", resp.StatusCode, body)
	}
}

// The error type carries code, reason and hint, and matches with
// errors.Is/As.
func TestErrorType(t *testing.T) {
	_, err := httpauth.ParseNegotiate("Basic abc", 0)
	var e *httpauth.Error
	if !errors.As(err, &e) || e.Code != httpauth.UnsupportedScheme || e.ErrorHint() == "" {
		t.Fatalf("%#v", err)
	}
	if !errors.Is(err, &httpauth.Error{Code: httpauth.UnsupportedScheme}) || errors.Is(err, &httpauth.Error{Code: httpauth.BadHeader}) {
		t.Error("errors.Is does not match by code")
	}
	if c, ok := httpauth.CodeOf(err); !ok || c.String() != "UNSUPPORTED_SCHEME" {
		t.Errorf("CodeOf %v %v", c, ok)
	}
	ge := &gss.Error{Code: gss.Replay, Reason: "request is a replay", Hint: "send a new token"}
	rej := &httpauth.Error{Code: httpauth.Rejected, Reason: ge.Reason, Err: ge}
	if rej.Error() != "KRB_AP_ERR_REPEAT: request is a replay" || rej.ErrorHint() != "send a new token" {
		t.Errorf("%q / %q", rej.Error(), rej.ErrorHint())
	}
}

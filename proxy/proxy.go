// Package proxy is the authenticating reverse proxy behind `warden
// proxy`: it puts any HTTP application behind Kerberos single sign-on
// (HTTP Negotiate, through httpauth), NTLM validated by the AA, or TLS
// client certificates
// (httpauth.TLSAuthenticator) and passes the verified identity upstream
// in headers, as Apache's mod_auth_gssapi or IIS do for the applications
// behind them.
//
// Upstream receives, for every request that authenticated:
//
//	X-Forwarded-User      alice@EXAMPLE.TEST
//	X-Forwarded-Groups    the user's groups, comma-separated (names when
//	                      known, else SIDs)
//	X-Warden-User         alice
//	X-Warden-Realm        EXAMPLE.TEST
//	X-Warden-User-SID     S-1-5-21-…-1104 (when the ticket has a PAC)
//	X-Warden-Group-SIDs   the group SIDs, comma-separated
//	X-Warden-Claims       the user's claims, ID=VALUE comma-separated (one
//	                      entry per value), when the method carries them
//	X-Warden-Device-SID, X-Warden-Device-Group-SIDs, X-Warden-Device-Claims
//	                      the computer the user signed in from, when the
//	                      ticket carries it (Kerberos compound identity);
//	X-Warden-Device       its name, when the AA resolved it
//	X-Warden-Auth-Method  kerberos, ntlm or tls
//	X-Warden-Mutual       true when the client was sent the AP-REP (always
//	                      for tls)
//	X-Warden-Expires      when the user's ticket (or certificate) expires
//	                      (RFC 3339)
//
// plus X-Forwarded-For/-Host/-Proto. Any header the client sent that
// upstream could mistake for these — X-Forwarded-User, X-Forwarded-Groups
// and every X-Warden-* header, in any letter case and with '_' for '-' —
// is removed first, and so is the client's Authorization header (the
// Kerberos token is spent here). Values are percent-encoded where they
// hold control characters, '%' or ','.
//
// Rules require, for a path prefix, user groups, device groups (compound
// identity) and claim values (rules.go); a request that does not meet
// them gets 403 with the reason. The service keytab is re-read when the file
// changes (KeytabWatcher), so re-exporting the keys needs no restart.
package proxy

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/warden-auth/warden/auth"
	"github.com/warden-auth/warden/httpauth"
)

// Error is a configuration error of the proxy (or of its keytab), with a
// hint and the cause.
type Error struct {
	Reason string
	Hint   string
	Err    error
}

func (e *Error) Error() string { return e.Reason }

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// ErrorHint returns the advice for the operator: the Hint, else that of
// the cause.
func (e *Error) ErrorHint() string {
	if e.Hint != "" {
		return e.Hint
	}
	return hintOf(e.Err)
}

// Authenticator authenticates requests for the proxy:
// *httpauth.Authenticator (Negotiate) or *httpauth.TLSAuthenticator
// (client certificates, optionally falling back to Negotiate).
type Authenticator interface {
	// Middleware runs next with the identity in the request context, or
	// answers the refusal itself.
	Middleware(next http.Handler) http.Handler
	// ConnContext sets up per-connection state (http.Server.ConnContext).
	ConnContext(ctx context.Context, c net.Conn) context.Context
}

var (
	_ Authenticator = (*httpauth.Authenticator)(nil)
	_ Authenticator = (*httpauth.TLSAuthenticator)(nil)
)

// Config configures a Proxy.
type Config struct {
	// Upstream is the application's base URL (http or https). Required.
	Upstream *url.URL
	// Auth authenticates requests. Required.
	Auth Authenticator
	// Rules require groups for path prefixes; the longest matching
	// prefix decides, and any of its groups suffices. Prefixes match
	// whole path segments, ignoring letter case, after the path is
	// normalized ("..", "//", "\", ";params"), so that an upstream that
	// normalizes differently cannot be reached around a rule.
	Rules []Rule
	// Transport reaches the upstream; nil means a clone of
	// http.DefaultTransport.
	Transport http.RoundTripper
	// Logger gets a line per refusal and upstream failure (keys op, code,
	// reason, principal, remote); nil means slog.Default().
	Logger *slog.Logger
}

// Proxy is an authenticating reverse proxy. It is an http.Handler; Serve
// runs it on a listener with the per-connection state Negotiate needs.
type Proxy struct {
	auth    Authenticator
	rules   []ruleSet
	rp      *httputil.ReverseProxy
	handler http.Handler
	log     *slog.Logger
}

// New checks cfg and returns a Proxy.
func New(cfg Config) (*Proxy, error) {
	if cfg.Upstream == nil || (cfg.Upstream.Scheme != "http" && cfg.Upstream.Scheme != "https") || cfg.Upstream.Host == "" {
		return nil, &Error{Reason: "the upstream must be an http:// or https:// URL with a host", Hint: "e.g. --upstream http://127.0.0.1:8080"}
	}
	if cfg.Auth == nil {
		return nil, errors.New("proxy: Config.Auth is required")
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	p := &Proxy{auth: cfg.Auth, log: log}
	rules, err := compileRules(cfg.Rules)
	if err != nil {
		return nil, err
	}
	p.rules = rules

	tr := cfg.Transport
	if tr == nil {
		tr = http.DefaultTransport.(*http.Transport).Clone()
	}
	up := cfg.Upstream
	p.rp = &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(up)
			pr.SetXForwarded()
			setIdentityHeaders(pr.Out.Header, auth.FromContext(pr.In.Context()))
		},
		Transport:      tr,
		ModifyResponse: stripUpstreamNegotiate,
		ErrorHandler:   p.upstreamError,
	}
	p.handler = cfg.Auth.Middleware(http.HandlerFunc(p.authorized))
	return p, nil
}

// ServeHTTP authenticates, applies the rules and forwards.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) { p.handler.ServeHTTP(w, r) }

// authorized runs after authentication.
func (p *Proxy) authorized(w http.ResponseWriter, r *http.Request) {
	id := auth.FromContext(r.Context())
	if rs := p.match(r.URL.Path); rs != nil {
		if reason := rs.refusal(id); reason != "" {
			p.log.Warn("request refused", "op", "proxy.authorize", "code", "FORBIDDEN", "reason", reason,
				"principal", id.Principal(), "remote", r.RemoteAddr)
			h := w.Header()
			h.Set("Content-Type", "text/plain; charset=utf-8")
			h.Set("X-Content-Type-Options", "nosniff")
			w.WriteHeader(http.StatusForbidden)
			_, _ = fmt.Fprintf(w, "403 Forbidden: %s\n", reason)
			return
		}
	}
	p.rp.ServeHTTP(w, r)
}

// match returns the rule set of the longest prefix covering urlPath.
func (p *Proxy) match(urlPath string) *ruleSet {
	n := normPath(urlPath)
	for i := range p.rules {
		rs := &p.rules[i]
		if rs.prefix == "/" || n == rs.prefix || strings.HasPrefix(n, rs.prefix+"/") {
			return rs
		}
	}
	return nil
}

// normPath is the form rules compare: backslashes as slashes (IIS),
// ";params" dropped from each segment (Tomcat, Jetty), dot segments and
// repeated slashes resolved, lower case (case-insensitive file systems),
// no trailing slash.
func normPath(p string) string {
	p = strings.ReplaceAll(p, "\\", "/")
	if strings.IndexByte(p, ';') >= 0 {
		segs := strings.Split(p, "/")
		for i, s := range segs {
			segs[i], _, _ = strings.Cut(s, ";")
		}
		p = strings.Join(segs, "/")
	}
	return strings.ToLower(path.Clean("/" + p))
}

// identityHeader reports whether a header name could be taken by
// upstream for one of the identity headers: compared without letter case
// and with '_' as '-' (CGI, WSGI and PHP map both to the same variable).
func identityHeader(name string) bool {
	n := strings.ToLower(strings.ReplaceAll(name, "_", "-"))
	return n == "x-forwarded-user" || n == "x-forwarded-groups" || strings.HasPrefix(n, "x-warden-")
}

// setIdentityHeaders removes what the client may have forged and sets the
// verified identity.
func setIdentityHeaders(h http.Header, id *auth.Identity) {
	for k := range h {
		if identityHeader(k) {
			delete(h, k)
		}
	}
	h.Del("Authorization")
	if id == nil {
		return // not reached: the middleware runs first
	}
	var names, sids []string
	seen := map[string]bool{}
	for _, g := range id.Groups {
		if seen[g.SID+"\x00"+g.Name] {
			continue
		}
		seen[g.SID+"\x00"+g.Name] = true
		if g.Name != "" {
			names = append(names, escape(g.Name))
		} else {
			names = append(names, escape(g.SID))
		}
		if g.SID != "" {
			sids = append(sids, escape(g.SID))
		}
	}
	h.Set("X-Forwarded-User", escape(id.Principal()))
	h.Set("X-Forwarded-Groups", strings.Join(names, ","))
	h.Set("X-Warden-User", escape(id.User))
	h.Set("X-Warden-Realm", escape(id.Realm))
	if id.SID != "" {
		h.Set("X-Warden-User-SID", escape(id.SID))
	}
	h.Set("X-Warden-Group-SIDs", strings.Join(sids, ","))
	if len(id.Claims) > 0 {
		h.Set("X-Warden-Claims", claimsHeader(id.Claims))
	}
	if d := id.Device; d != nil {
		if d.Name != "" {
			h.Set("X-Warden-Device", escape(d.Name))
		}
		h.Set("X-Warden-Device-SID", escape(d.SID))
		var sids []string
		for _, g := range d.Groups {
			sids = append(sids, escape(g.SID))
		}
		h.Set("X-Warden-Device-Group-SIDs", strings.Join(sids, ","))
		if len(d.Claims) > 0 {
			h.Set("X-Warden-Device-Claims", claimsHeader(d.Claims))
		}
	}
	h.Set("X-Warden-Auth-Method", string(id.Method))
	h.Set("X-Warden-Mutual", fmt.Sprint(id.Mutual))
	if !id.Expires.IsZero() {
		h.Set("X-Warden-Expires", id.Expires.UTC().Format(time.RFC3339))
	}
}

// claimsHeader lists claims as ID=VALUE, one entry per value.
func claimsHeader(cs []auth.Claim) string {
	var out []string
	for _, c := range cs {
		for _, v := range c.Values {
			out = append(out, escape(c.ID)+"="+escape(v))
		}
	}
	return strings.Join(out, ",")
}

// escape percent-encodes control characters, '%' and ',' so a value can
// neither break the header nor a comma-separated list.
func escape(s string) string {
	clean := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == 0x7f || c == '%' || c == ',' {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == 0x7f || c == '%' || c == ',' {
			fmt.Fprintf(&b, "%%%02X", c)
		} else {
			b.WriteByte(c)
		}
	}
	return b.String()
}

// stripUpstreamNegotiate drops Negotiate challenges the application sent
// itself, so that the client sees only the proxy's mutual token and is
// not asked to authenticate again.
func stripUpstreamNegotiate(resp *http.Response) error {
	vals := resp.Header.Values("WWW-Authenticate")
	if len(vals) == 0 {
		return nil
	}
	var keep []string
	for _, v := range vals {
		if f := strings.Fields(v); len(f) > 0 && strings.EqualFold(f[0], "Negotiate") {
			continue
		}
		keep = append(keep, v)
	}
	resp.Header.Del("WWW-Authenticate")
	for _, v := range keep {
		resp.Header.Add("WWW-Authenticate", v)
	}
	return nil
}

func (p *Proxy) upstreamError(w http.ResponseWriter, r *http.Request, err error) {
	principal := ""
	if id := auth.FromContext(r.Context()); id != nil {
		principal = id.Principal()
	}
	if errors.Is(err, context.Canceled) {
		return // the client went away
	}
	p.log.Error("upstream failed", "op", "proxy.upstream", "code", "BAD_GATEWAY", "reason", err.Error(),
		"principal", principal, "remote", r.RemoteAddr)
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusBadGateway)
	_, _ = fmt.Fprintln(w, "502 Bad Gateway: the application behind this proxy did not answer")
}

// Serve runs the proxy on ln until ctx ends, then shuts down gracefully
// (in-flight requests get 10 seconds). With tlsConfig set it serves
// HTTPS. The server keeps per-connection negotiation state
// (Authenticator.ConnContext) and the usual timeouts.
func (p *Proxy) Serve(ctx context.Context, ln net.Listener, tlsConfig *tls.Config) error {
	srv := &http.Server{
		Handler:           p,
		ConnContext:       p.auth.ConnContext,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    256 << 10,
		ErrorLog:          slog.NewLogLogger(p.log.Handler(), slog.LevelWarn),
		TLSConfig:         tlsConfig,
	}
	ctx, stop := context.WithCancel(ctx)
	defer stop()
	done := make(chan struct{})
	go func() {
		defer close(done)
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	var err error
	if tlsConfig != nil {
		err = srv.ServeTLS(ln, "", "")
	} else {
		err = srv.Serve(ln)
	}
	if errors.Is(err, http.ErrServerClosed) {
		<-done
		return nil
	}
	return err
}

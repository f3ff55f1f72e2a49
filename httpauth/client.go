package httpauth

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/warden-auth/warden/krb5/ccache"
	"github.com/warden-auth/warden/krb5/client"
	"github.com/warden-auth/warden/krb5/gss"
)

// CredentialSource supplies the service tickets a Transport presents.
type CredentialSource interface {
	// Credential returns a ticket for spn ("HTTP/web.example.test").
	// fresh asks for a new ticket from the KDC instead of a cached one:
	// the server refused the cached one (its keys may have changed).
	Credential(ctx context.Context, spn string, fresh bool) (*gss.Credential, error)
}

// CredentialFunc adapts a function to CredentialSource.
type CredentialFunc func(ctx context.Context, spn string, fresh bool) (*gss.Credential, error)

// Credential calls f.
func (f CredentialFunc) Credential(ctx context.Context, spn string, fresh bool) (*gss.Credential, error) {
	return f(ctx, spn, fresh)
}

// CCache is a CredentialSource over an MIT FILE credential cache, as
// kinit (MIT's or warden's) leaves it: a service ticket found there is
// used while valid; otherwise one is obtained with the cache's TGT and
// stored in the cache, as MIT's libraries do.
type CCache struct {
	// Path of the cache; "" means ccache.DefaultPath() ($KRB5CCNAME, else
	// /tmp/krb5cc_<uid>).
	Path string
	// Client reaches the KDC for tickets that are not cached; nil means
	// cached tickets only.
	Client *client.Client
	// Time is the clock for expiry checks; nil means time.Now.
	Time func() time.Time

	mu sync.Mutex
}

// Credential implements CredentialSource.
func (c *CCache) Credential(ctx context.Context, spn string, fresh bool) (*gss.Credential, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	path := c.Path
	if path == "" {
		p, err := ccache.DefaultPath()
		if err != nil {
			return nil, &Error{Code: NoTicket, Reason: err.Error(), Hint: "set KRB5CCNAME to a FILE: cache"}
		}
		path = p
	}
	cache, err := ccache.Load(path)
	if err != nil {
		return nil, &Error{Code: NoTicket, Reason: "no usable credential cache", Err: err, Hint: "get a ticket first: kinit (or warden kinit)"}
	}
	realm := cache.DefaultPrincipal.Realm
	name, srealm, err := client.ParsePrincipal(spn, realm)
	if err != nil {
		return nil, &Error{Code: NoTicket, Reason: "bad service principal " + printable(spn, 256), Err: err}
	}
	svc := ccache.Principal{Realm: srealm, Name: name}
	now := time.Now()
	if c.Time != nil {
		now = c.Time()
	}
	if !fresh {
		if e, err := cache.Find(svc); err == nil && e.Client.Equal(cache.DefaultPrincipal) && now.Before(e.EndTime) {
			return gss.CredentialFromCCache(e)
		}
	}
	if srealm != realm {
		return nil, &Error{Code: NoTicket, Reason: fmt.Sprintf("%s is in another realm than the cache's TGT (%s)", svc, realm),
			Hint: "cross-realm tickets are not supported; name the service in the TGT's realm"}
	}
	if _, err := cache.Find(ccache.Principal{Realm: realm, Name: client.TGTName(realm)}); err != nil {
		return nil, &Error{Code: NoTicket, Reason: "no ticket-granting ticket in " + path, Err: err, Hint: "get one: kinit (or warden kinit)"}
	}
	if c.Client == nil {
		return nil, &Error{Code: NoTicket, Reason: "no ticket for " + svc.String() + " in " + path + ", and no KDC is configured to get one",
			Hint: "point KRB5_CONFIG at a krb5.conf naming the realm's KDC, or get the ticket first (kvno " + spn + ")"}
	}
	// TGTFromCache marks a TGT the cache records as FAST-obtained
	// (fast_avail), so that the TGS request is armored.
	tgt, err := client.TGTFromCache(cache, realm)
	if err != nil {
		return nil, &Error{Code: NoTicket, Reason: "the cached TGT is unusable", Err: err, Hint: "get a new one: kinit"}
	}
	// The computer's TGT kept by warden kinit --armor-keytab makes the
	// request compound (device groups and claims), when the KDC does
	// compound identity; an unusable one is left out.
	opts := client.TGSOptions{Subkey: true}
	opts.Armor, _ = client.CompoundArmor(path, tgt, now)
	creds, err := c.Client.TGSExchange(ctx, tgt, name, opts)
	if err != nil {
		return nil, &Error{Code: NoTicket, Reason: err.Error(), Err: err}
	}
	cc := creds.CCache()
	cache.Store(cc)
	if err := cache.WriteFile(path); err != nil {
		return nil, &Error{Code: NoTicket, Reason: "cannot store the new ticket in " + path, Err: err,
			Hint: "the credential cache must be writable by this user"}
	}
	return gss.CredentialFromCCache(&cc)
}

// Result describes what a Transport did for one request; get it with
// WithResult.
type Result struct {
	// Service is the principal the client authenticated to
	// ("HTTP/web.example.test@REALM"), Client the one it authenticated as.
	Service, Client string
	// Authenticated reports that a Negotiate token was sent and the server
	// accepted it: a non-401 answer, or a 401 whose Negotiate token
	// completed the context (the application behind refused on its own).
	Authenticated bool
	// Mutual reports that the server proved its identity: its AP-REP
	// verified.
	Mutual bool
	// ChannelBound reports that the token was bound to the TLS channel.
	ChannelBound bool
	// Attempts counts the tokens sent (a second one after a refusal, with
	// a fresh ticket).
	Attempts int
	// Refusal is the server's reason when it refused the token and said
	// why in its Negotiate reply (a KRB-ERROR).
	Refusal error
}

type resultKey struct{}

// WithResult returns a context that makes a Transport record what it did
// in res.
func WithResult(ctx context.Context, res *Result) context.Context {
	return context.WithValue(ctx, resultKey{}, res)
}

// resultOf is the Result a request's context asks a transport to fill
// in, or a throwaway one.
func resultOf(req *http.Request) *Result {
	if res, _ := req.Context().Value(resultKey{}).(*Result); res != nil {
		return res
	}
	return new(Result)
}

// canReplay reports whether req can be sent again with credentials.
func canReplay(req *http.Request) bool {
	return req.Body == nil || req.Body == http.NoBody || req.GetBody != nil
}

// Transport is an http.RoundTripper doing HTTP Negotiate with Kerberos
// (RFC 4559). It sends each request as is; when the answer is 401 with a
// Negotiate challenge it resends it with a token for HTTP/<host> and,
// before returning the response, verifies the server's mutual
// authentication token (an error when mutual authentication was requested
// and the response does not prove the server). When the server refuses
// the token, it tries once more with a fresh ticket.
//
// Requests whose body cannot be replayed (no GetBody) are sent with the
// token at once. Over HTTPS the token is bound to the server's
// certificate seen on the first answer (tls-server-end-point).
type Transport struct {
	// Base sends the requests; nil means http.DefaultTransport.
	Base http.RoundTripper
	// Credentials supplies tickets (required), e.g. &CCache{}.
	Credentials CredentialSource
	// ServicePrincipal maps the URL's host name to the service principal;
	// nil means "HTTP/" + the lower-cased host (no port), as MIT and
	// browsers do without DNS canonicalization.
	ServicePrincipal func(host string) string
	// Flags are the GSS flags requested; zero means gss.DefaultFlags,
	// which include mutual authentication. Without gss.FlagMutual the
	// server's identity is not verified.
	Flags gss.Flags
	// Preemptive sends the token with the first request instead of
	// waiting for the 401 (saves a round trip; no channel bindings on a
	// connection not seen yet).
	Preemptive bool
	// NoChannelBindings leaves TLS channel bindings out of the token.
	NoChannelBindings bool
}

// maxLegs bounds the legs of one negotiation; Kerberos needs one or two.
const maxLegs = 4

// maxDrain is how much of a discarded response body is read so that the
// connection can be reused.
const maxDrain = 64 << 10

// RoundTrip implements http.RoundTripper.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if t.Credentials == nil {
		return nil, errors.New("httpauth: Transport.Credentials is not set")
	}
	res := resultOf(req)
	replayable := canReplay(req)
	var peer *x509.Certificate
	if !t.Preemptive && replayable {
		resp, err := orDefault(t.Base).RoundTrip(req)
		if err != nil {
			return nil, err
		}
		if !challenged(resp, &peer) {
			return resp, nil
		}
	}
	for attempt := 0; ; attempt++ {
		resp, err := t.negotiate(req, attempt > 0, replayable, peer, res)
		if err != nil {
			return nil, err
		}
		if attempt == 1 || !replayable || res.Authenticated || !challenged(resp, &peer) {
			return resp, nil
		}
	}
}

// challenged reports whether resp is a 401 asking for Negotiate. If so,
// the caller answers it with a token: resp is drained, and the server's
// certificate, when it shows one, is noted in peer for the channel
// bindings.
func challenged(resp *http.Response, peer **x509.Certificate) bool {
	if resp.StatusCode != http.StatusUnauthorized {
		return false
	}
	if ok, _, _ := NegotiateChallenge(resp.Header); !ok {
		return false
	}
	if resp.TLS != nil && len(resp.TLS.PeerCertificates) > 0 {
		*peer = resp.TLS.PeerCertificates[0]
	}
	drain(resp)
	return true
}

// orDefault is the RoundTripper a transport sends through: its Base, or
// http.DefaultTransport when that is nil.
func orDefault(base http.RoundTripper) http.RoundTripper {
	if base != nil {
		return base
	}
	return http.DefaultTransport
}

func (t *Transport) spn(req *http.Request) string {
	host := req.URL.Hostname()
	if t.ServicePrincipal != nil {
		return t.ServicePrincipal(host)
	}
	return "HTTP/" + strings.ToLower(host)
}

// negotiate sends req with a new token and runs the negotiation to its
// final response.
func (t *Transport) negotiate(req *http.Request, fresh, replayable bool, peer *x509.Certificate, res *Result) (*http.Response, error) {
	ctx := req.Context()
	spn := t.spn(req)
	cred, err := t.Credentials.Credential(ctx, spn, fresh)
	if err != nil {
		var e *Error
		if errors.As(err, &e) {
			return nil, err
		}
		return nil, &Error{Code: NoTicket, Reason: "no ticket for " + spn, Err: err}
	}
	cfg := gss.InitiatorConfig{Flags: t.Flags}
	if cfg.Flags == 0 {
		cfg.Flags = gss.DefaultFlags
	}
	bound := peer != nil && !t.NoChannelBindings && req.URL.Scheme == "https"
	if bound {
		cfg.ChannelBindings = gss.TLSServerEndPoint(peer)
	}
	ini, tok, err := gss.NewSPNEGOInitiator(cred, cfg)
	if err != nil {
		return nil, &Error{Code: NoTicket, Reason: "cannot use the ticket for " + cred.Server.String(), Err: err}
	}
	res.Service, res.Client, res.ChannelBound = cred.Server.String(), cred.Client.String(), bound
	res.Attempts++
	res.Authenticated, res.Mutual, res.Refusal = false, false, nil
	for leg := 1; ; leg++ {
		r2, err := withBody(req)
		if err != nil {
			return nil, err
		}
		r2.Header.Set("Authorization", schemeNegotiate+" "+base64.StdEncoding.EncodeToString(tok))
		resp, err := orDefault(t.Base).RoundTrip(r2)
		if err != nil {
			return nil, err
		}
		present, srv, perr := NegotiateChallenge(resp.Header)
		if resp.StatusCode == http.StatusUnauthorized {
			if perr != nil || srv == nil {
				return resp, nil // refused; the body says why
			}
			out, done, err := ini.Step(srv)
			if err != nil {
				res.Refusal = err
				return resp, nil
			}
			if done {
				// The server accepted us and proved itself, then its
				// application answered 401 on its own account: a
				// fresh ticket would not change that.
				res.Authenticated = true
				res.Mutual = ini.Context() != nil && ini.Context().Mutual
				return resp, nil
			}
			if out == nil || !replayable {
				return resp, nil
			}
			if leg == maxLegs {
				drain(resp)
				return nil, &Error{Code: BadHeader, Reason: fmt.Sprintf("the server asked for more than %d legs", maxLegs)}
			}
			drain(resp)
			tok = out
			continue
		}
		// The final answer: before anyone reads it, check that it comes
		// from the server we authenticated to.
		res.Authenticated = true
		if perr != nil {
			drain(resp)
			return nil, &Error{Code: MutualFailed, Reason: "cannot verify the server: " + perr.Error(), Err: perr,
				Hint: "the response may not come from " + spn + "; do not trust it"}
		}
		if present && srv != nil && !ini.Established() {
			if _, _, err := ini.Step(srv); err != nil {
				drain(resp)
				return nil, &Error{Code: MutualFailed, Reason: "the server's mutual-authentication token does not verify: " + gssReason(err), Err: err,
					Hint: "the response may not come from " + spn + "; do not trust it"}
			}
		}
		mutual := ini.Established() && ini.Context() != nil && ini.Context().Mutual
		if cfg.Flags.Has(gss.FlagMutual) && !mutual {
			drain(resp)
			return nil, &Error{Code: MutualFailed,
				Reason: fmt.Sprintf("missing mutual token: the server answered %d without proving it is %s", resp.StatusCode, spn),
				Hint:   "the server (or a proxy in between) did not return the Negotiate token; do not trust this response"}
		}
		res.Mutual = mutual
		return resp, nil
	}
}

// withBody clones req for another send, with a fresh body.
func withBody(req *http.Request) (*http.Request, error) {
	r2 := req.Clone(req.Context())
	if req.Body != nil && req.Body != http.NoBody {
		if req.GetBody == nil {
			return r2, nil // sent once: the first send consumes it
		}
		b, err := req.GetBody()
		if err != nil {
			return nil, err
		}
		r2.Body = b
	}
	return r2, nil
}

func drain(resp *http.Response) {
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxDrain))
	resp.Body.Close()
}

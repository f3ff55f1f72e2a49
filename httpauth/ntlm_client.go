package httpauth

import (
	"crypto/x509"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/warden-auth/warden/krb5/gss"
	"github.com/warden-auth/warden/ntlm"
)

// NTLMTransport is an http.RoundTripper doing the plain NTLM scheme
// (NTLMv2): on a 401 offering NTLM it sends NEGOTIATE, answers the
// server's CHALLENGE from the password, on the same keep-alive
// connection. NTLM does not prove the server to the client; prefer
// Kerberos (Transport) where there is a ticket. Requests whose body
// cannot be replayed are not authenticated.
type NTLMTransport struct {
	// Base sends the requests; nil means http.DefaultTransport. NTLM's
	// two legs must share a connection: with an *http.Transport each
	// handshake runs on a connection of its own (a clone limited to one
	// connection), so concurrent requests cannot mix their legs; any
	// other RoundTripper must keep that guarantee itself.
	Base http.RoundTripper
	// User, Domain (NetBIOS or DNS name of the realm; "" takes the
	// server's) and Password or NTHash.
	User, Domain, Password string
	NTHash                 *[16]byte
	// Workstation is this machine's name (optional).
	Workstation string
	// ServicePrincipal maps the host to the SPN named in the answer
	// (MsvAvTargetName); nil means "HTTP/" + the lower-cased host.
	ServicePrincipal func(host string) string
	// NoChannelBindings leaves the TLS channel bindings out.
	NoChannelBindings bool
}

// RoundTrip implements http.RoundTripper.
func (t *NTLMTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	res := resultOf(req)
	base := orDefault(t.Base)
	resp, err := base.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusUnauthorized || !canReplay(req) {
		return resp, nil
	}
	if ok, _, _ := TokenChallenge(resp.Header, schemeNTLM); !ok {
		return resp, nil
	}
	var peer *x509.Certificate
	if resp.TLS != nil && len(resp.TLS.PeerCertificates) > 0 {
		peer = resp.TLS.PeerCertificates[0]
	}
	drain(resp)

	host := req.URL.Hostname()
	spn := "HTTP/" + strings.ToLower(host)
	if t.ServicePrincipal != nil {
		spn = t.ServicePrincipal(host)
	}
	c := &ntlm.Client{User: t.User, Domain: t.Domain, Password: t.Password, NTHash: t.NTHash,
		Workstation: t.Workstation, TargetSPN: spn}
	bound := peer != nil && !t.NoChannelBindings && req.URL.Scheme == "https"
	if bound {
		h := gss.TLSServerEndPoint(peer).Hash()
		c.ChannelBindings = &h
	}
	res.Service, res.Client, res.ChannelBound = spn, t.User, bound
	res.Attempts++

	var pinned *http.Transport
	if ht, ok := base.(*http.Transport); ok {
		pinned = ht.Clone()
		pinned.MaxConnsPerHost, pinned.MaxIdleConnsPerHost = 1, 1
		base = pinned
	}
	resp, err = t.handshake(base, req, c, res)
	if pinned != nil {
		if err != nil {
			pinned.CloseIdleConnections()
		} else {
			resp.Body = &closeAfter{ReadCloser: resp.Body, done: pinned.CloseIdleConnections}
		}
	}
	return resp, err
}

// closeAfter runs done once the body is closed (the handshake's own
// connection goes away with it).
type closeAfter struct {
	io.ReadCloser
	done func()
}

func (c *closeAfter) Close() error {
	err := c.ReadCloser.Close()
	c.done()
	return err
}

// handshake sends NEGOTIATE and the answer to the CHALLENGE through
// base, and returns the final response, recording in res whether it
// authenticated.
func (t *NTLMTransport) handshake(base http.RoundTripper, req *http.Request, c *ntlm.Client, res *Result) (*http.Response, error) {
	r2, err := withBody(req)
	if err != nil {
		return nil, err
	}
	r2.Header.Set("Authorization", schemeNTLM+" "+base64.StdEncoding.EncodeToString(c.Negotiate()))
	resp, err := base.RoundTrip(r2)
	if err != nil {
		return nil, err
	}
	_, challenge, perr := TokenChallenge(resp.Header, schemeNTLM)
	if resp.StatusCode != http.StatusUnauthorized || perr != nil || challenge == nil {
		return resp, nil // no challenge: the body says why
	}
	drain(resp)
	answer, _, err := c.Authenticate(challenge)
	if err != nil {
		var ne *ntlm.Error
		if errors.As(err, &ne) {
			return nil, &Error{Code: Rejected, Reason: "cannot answer the server's NTLM challenge: " + ne.Reason, Err: err}
		}
		return nil, &Error{Code: BadHeader, Reason: "the server's NTLM challenge is malformed", Err: err}
	}
	r3, err := withBody(req)
	if err != nil {
		return nil, err
	}
	r3.Header.Set("Authorization", schemeNTLM+" "+base64.StdEncoding.EncodeToString(answer))
	resp, err = base.RoundTrip(r3)
	if err != nil {
		return nil, err
	}
	res.Authenticated = resp.StatusCode != http.StatusUnauthorized
	return resp, nil
}

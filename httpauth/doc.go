// Package httpauth puts HTTP Negotiate (RFC 4559: Kerberos through
// SPNEGO) and TLS client certificates in front of net/http handlers, and
// Negotiate behind net/http clients.
//
// Server side: an Authenticator's Middleware verifies the
// "Authorization: Negotiate <base64>" header of every request with a
// gss.Acceptor, returns the acceptor's final token (the AP-REP that proves
// the server to the client) in "WWW-Authenticate: Negotiate <base64>", and
// hands the next handler the verified *auth.Identity through the request
// context (auth.FromContext). Requests without credentials, or whose
// credentials fail, get 401 with a Negotiate challenge and a one-line body
// stating the reason; each failure is logged once with slog. Over TLS the
// acceptor checks the client's channel bindings against the server
// certificate (tls-server-end-point).
//
// Kerberos needs one leg per request. Negotiations that need more legs
// (SPNEGO when the client did not propose Kerberos first, or NTLM later)
// keep their state on the TCP connection; that needs the Authenticator's
// ConnContext installed in http.Server.ConnContext, and is refused with a
// clear reason otherwise.
//
// Client side: Transport is an http.RoundTripper that answers a Negotiate
// challenge with a service ticket for HTTP/<host> (from a credential cache,
// fetched from the KDC with the cache's TGT when not cached), verifies the
// server's mutual-authentication token before returning the response, and
// retries once with a fresh ticket when the server refuses the first.
//
// Client certificates: a TLSAuthenticator checks the certificate of each
// request's TLS connection against the realm CA (chain, validity,
// clientAuth, revocation with hard fail, through a pki.Verifier) and maps
// it to an account (pki.Mapper: strong mapping, disabled and locked
// accounts refused, groups from the account DB), giving an identity with
// Method auth.MethodTLS. ServerTLSConfig builds the server's tls.Config
// (TLS 1.2/1.3, certificate required in the handshake). Refusals are
// answered in HTTP, so the client reads the reason: 401 when the
// certificate fails, 403 when its account is refused; verifying in the
// handshake instead is an option, at the cost of a reasonless TLS alert.
//
// Failures are *Error values with a Code, a Reason safe to show the peer
// and a Hint for the operator; GSS refusals wrap the *gss.Error that says
// why.
package httpauth

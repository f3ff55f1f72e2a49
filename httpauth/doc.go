// Package httpauth puts HTTP Negotiate (RFC 4559: Kerberos through
// SPNEGO) in front of net/http handlers and behind net/http clients.
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
// Failures are *Error values with a Code, a Reason safe to show the peer
// and a Hint for the operator; GSS refusals wrap the *gss.Error that says
// why.
package httpauth

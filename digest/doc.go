// Package digest is HTTP Digest access authentication (RFC 7616) split
// the way validation by the AA needs it (MS-APDS 3.3, "Digest Protocol
// Extensions"): the application server issues challenges and checks
// everything it can check without a secret (realm, request-target,
// algorithm, qop, its own nonces and their counts), then hands a
// Validation — every input of the client's response, no secret — to a
// Validator (the AA, through passthrough.Client), which recomputes the
// response from the H(A1) it keeps and answers with the identity and the
// rspauth for the Authentication-Info header. A plain H(A1) is a password
// equivalent for the realm and never leaves the AA.
//
// What is here:
//   - header parsers and writers for WWW-Authenticate (challenges),
//     Authorization (credentials) and Authentication-Info, with
//     quoted or bare values, case-insensitive names, duplicates refused,
//     RFC 8187 username* and sizes capped;
//   - the computations of RFC 7616 3.4 for MD5, SHA-256 and SHA-512/256
//     (the FIPS 180-4 variant, not truncated SHA-512), their -sess
//     variants, qop auth and auth-int, and userhash;
//   - Server: challenges (SHA-256 first), stateless nonces (a MAC over
//     their issue time, so a restarted or second server with the same
//     key can check them), stale=true for an expired nonce whose response
//     was right, and a bounded nonce-count tracker that accepts each
//     (nonce, nc) once;
//   - Client and Session: the client half, which answers the first
//     challenge it supports, reuses a nonce with increasing counts and
//     checks the server's rspauth.
//
// Failures are *Error values with a Code (which also gives the HTTP
// status), a Reason safe to send to the peer and a Hint for the operator.
package digest

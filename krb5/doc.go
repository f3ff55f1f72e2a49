// Package krb5 holds the Kerberos V5 wire types (RFC 4120, RFC 6113 FAST,
// MS-KILE extensions) with a hand-written DER codec, typed protocol
// constants whose String methods give the specifications' spelling, and
// *Error, the error every Kerberos component returns.
//
// Every type has Marshal and Unmarshal. Decoding copies its input once and
// never panics, recurses without bound, or allocates beyond the input's
// size; any malformed input yields a *ParseError (errors.Is ErrMalformed).
// Types covered by a checksum keep the bytes they were decoded from in Raw.
package krb5

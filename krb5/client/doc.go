// Package client is Warden's Kerberos client: the AS exchange with
// encrypted-timestamp pre-authentication (from a password or a keytab),
// the TGS exchange and ticket renewal, over UDP and TCP to the KDCs of a
// realm, configured from a krb5.conf like MIT's tools.
//
// The library never logs and never prompts. Every refusal by a KDC comes
// back as a *krb5.Error whose Reason is the KDC's e-text and whose Hint
// tells the user what to do; every reply that does not answer the request
// that was sent (wrong nonce, wrong names, times beyond what was asked) is
// refused, because a reply is only as trustworthy as these checks.
//
// Credentials convert to and from ccache.Credential, so tickets obtained
// here are usable by MIT tools and tickets from MIT kinit are usable here.
//
// Not implemented: FAST armoring, PKINIT, cross-realm referrals, DNS SRV
// lookup of KDCs and the MS-KKDCP (HTTPS) transport.
package client

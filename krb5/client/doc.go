// Package client is Warden's Kerberos client: the AS exchange with
// encrypted-timestamp pre-authentication (from a password or a keytab),
// the TGS exchange and ticket renewal, over UDP and TCP to the KDCs of a
// realm, configured from a krb5.conf like MIT's tools.
//
// FAST (RFC 6113): with ASOptions.Armor (a TGT, normally the computer's)
// the AS exchange is armored and the password proven by encrypted
// challenge inside the armor; TGS requests made with a TGT obtained that
// way are armored too (implicit armor), and TGSOptions.Armor gives
// explicit armor from another TGT (MS-KILE compound identity). An armored
// request whose answer lacks valid FAST protection fails with
// ErrFASTDowngrade.
//
// PKINIT (RFC 4556): with ASOptions.Certificate (a certificate chain and
// its private key, LoadCertificate) the identity is proven by signature
// and the reply key comes from an (EC)DH exchange the KDC signs with a
// certificate that must chain to Config.PKINIT's anchors (pkinit_anchors)
// and name the realm's KDC. ASOptions.Anonymous gets an anonymous TGT
// (RFC 8062), which ASOptions.Armor accepts as FAST armor; a certificate
// login may itself be armored.
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
// Not implemented: RSA key transport (PKINIT without DH), hide-client-names,
// cross-realm referrals, DNS SRV lookup of KDCs and the MS-KKDCP (HTTPS)
// transport.
package client

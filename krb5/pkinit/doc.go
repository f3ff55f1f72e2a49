// Package pkinit holds the messages and key agreement of PKINIT
// (RFC 4556), its elliptic-curve profile (RFC 5349), the algorithm-agile
// KDFs (RFC 8636) and anonymous PKINIT (RFC 6112, RFC 8062), for both the
// KDC (krb5/kdc) and clients (krb5/client). Signatures are CMS through
// internal/cms; certificate path checks belong to the caller (pki).
//
// Messages (Marshal and Unmarshal each): PAPKASReq, AuthPack,
// PKAuthenticator (with PAChecksum2 and the RFC 8070 freshness token),
// KDCDHKeyInfo, PAPKASRep with DHRepInfo, ReplyKeyPack, TDDHParameters,
// KRB5PrincipalName.
//
// Key agreement: Group (ECDHP256, ECDHP384, ECDHP521, MODP2, MODP14),
// GenerateKey, (*PrivateKey).SubjectPublicKeyInfo / PublicValue /
// SharedSecret, ParsePublicKeyInfo, DHParameters.
//
// Reply key: OctetString2Key (RFC 4556 3.2.3.1), KDF (RFC 8636 with
// SHA-1/256/384/512), ChooseKDF; NewKX / ParseKX (PA_PKINIT_KX, RFC 6112 7).
//
// KDC side:
//
//	req, err := pkinit.ParseASReq(paValue)        // decode, no checks
//	certs, err := req.Signed.Verify()             // unless req.Anonymous
//	err = req.CheckChecksum(reqBodyDER)           // paChecksum(2)
//	rep, replyKey, err := req.BuildReply(pkinit.ReplyParams{...})
//
// Client side:
//
//	pa, st, err := pkinit.NewClientRequest(pkinit.ClientRequestOptions{Signer: s, Nonce: n, ReqBody: bodyDER, Time: now})
//	key, kdcCerts, err := st.ParseReply(paPKASRepValue, pkinit.ReplyKeyInput{EType: e, Client: c, Server: s, ASReq: asReqDER})
//	// then check kdcCerts[0] chains to the anchors, HasEKU(OIDKPKdc),
//	// and PrincipalSANs contains krbtgt/REALM@REALM.
package pkinit

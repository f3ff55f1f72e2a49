package kdc

import (
	"fmt"
	"strings"

	"github.com/warden-auth/warden/krb5"
	"github.com/warden-auth/warden/krb5/kcrypto"
	"github.com/warden-auth/warden/krb5/pkinit"
)

// Anonymous PKINIT (RFC 6112, RFC 8062): a client with no account gets
// a TGT for WELLKNOWN/ANONYMOUS@WELLKNOWN:ANONYMOUS through an unsigned
// AuthPack and a DH/ECDH exchange with the KDC's signed key. Warden's
// policy makes such a TGT good for one thing, FAST armor (so FAST works
// on hosts without a computer account): the TGS refuses it for any
// service ticket (RefuseAnonymousTGT).

// anonymousAS answers an AS-REQ with the request-anonymous option; as
// has checked its service name and realm.
func (x *exchange) anonymousAS() ([]byte, error) {
	k, body := x.k, &x.req.ReqBody
	if k.pkinit == nil || !k.pkinit.cfg.Anonymous {
		return nil, errPolicy("anonymous tickets are not enabled in this realm",
			"anonymous PKINIT needs the KDC certificate (warden serve with HTTPS on issues it) and kdc.anonymous enabled")
	}
	if body.CName == nil || !isAnonymousName(*body.CName) {
		return nil, errBadOption("request-anonymous needs the client name WELLKNOWN/ANONYMOUS (partly anonymous tickets are not issued)")
	}
	server, err := x.lookupServer(body.SName)
	if err != nil {
		return nil, err
	}
	if !isKrbtgt(server) {
		return nil, errPolicy(fmt.Sprintf("anonymous tickets are issued only for krbtgt/%s (to armor FAST), not for %s", k.realm, body.SName),
			"get an anonymous TGT (kinit -n) and use it as FAST armor")
	}
	// The client from here on, for the log and for the freshness token
	// (pkinitfresh.go), which is issued to and checked against it.
	x.res.Client = anonymousName.String() + "@" + anonymousRealm
	pa, ok := x.req.PAData.Find(krb5.PAPKASReq)
	if !ok {
		x.hints = x.withPKINITHint(nil)
		x.res.Detail = "anonymous AS-REQ without PA-PK-AS-REQ; told the client to use anonymous PKINIT"
		return nil, &krb5.Error{Code: krb5.KDCErrPreauthRequired, Reason: "anonymous tickets need anonymous PKINIT (PA-PK-AS-REQ)"}
	}
	req, err := parsePKINIT(pa.Value)
	if err != nil {
		return nil, err
	}
	if !req.Anonymous {
		return nil, errBadOption("anonymous PKINIT takes an unsigned AuthPack; a signed one is a certificate logon (drop request-anonymous)")
	}
	// The KDF binds the anonymous principal WELLKNOWN/ANONYMOUS@
	// WELLKNOWN:ANONYMOUS, the client of the reply (as MIT's KDC and
	// client do), not the request's realm.
	pk, err := x.answerPKINIT(req, server.etypes(), pkinit.KRB5PrincipalName{Realm: anonymousRealm, Name: anonymousName})
	if err != nil {
		return nil, err
	}
	// RFC 6112 7 / RFC 8062 4: the session key is KRB-FX-CF2 of a KDC
	// contribution key (sent in PA-PKINIT-KX) and the reply key, so the
	// client knows the reply came from the KDC that made the DH key.
	kx, sess, err := pkinit.NewKX(k.cfg.Rand, pk.key, k.cfg.Crypto)
	if err != nil {
		return nil, err
	}
	// An anonymous ticket is neither forwardable nor proxiable: there is
	// no account whose flags could allow it.
	body.KDCOptions &^= krb5.KDCOptForwardable | krb5.KDCOptProxiable
	t, err := x.newTicket(ticketSpec{
		server: server, cname: anonymousName, sname: *body.SName, crealm: anonymousRealm,
		sessEType: pk.key.EType(), preauth: true, authTime: x.now, initial: true,
	})
	if err != nil {
		return nil, err
	}
	t.enc.Key = sess.EncryptionKey()
	t.enc.Flags |= krb5.TktFlagAnonymous
	t.crealm = anonymousRealm
	x.cname = &anonymousName
	x.res.EType = sess.EType()
	return x.reply(krb5.MsgASRep, t, pk.key, kcrypto.UsageASRepEncPart, append(pk.padata, krb5.PAData{Type: krb5.PAPKINITKX, Value: kx}))
}

func isAnonymousName(n krb5.PrincipalName) bool { return n.Equal(anonymousName) }

// RefuseAnonymousTGT is the TGS policy for anonymous TGTs: they are
// FAST armor only, so a TGS-REQ presenting one (for a service ticket,
// renewal or anything else) is refused with KDC_ERR_POLICY. FAST armor
// never reaches the TGS as PA-TGS-REQ, so armoring is unaffected.
func RefuseAnonymousTGT(tgt *krb5.EncTicketPart) error {
	if !tgt.Flags.Has(krb5.TktFlagAnonymous) && !strings.EqualFold(tgt.CRealm, anonymousRealm) && !isAnonymousName(tgt.CName) {
		return nil
	}
	return errPolicy("an anonymous TGT may only be used as FAST armor, not to get service tickets: log in as a user (kinit -T <anonymous ccache> user) and use that TGT",
		"anonymous PKINIT tickets are armor-only by policy")
}

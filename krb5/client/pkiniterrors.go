package client

import (
	"errors"
	"fmt"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"github.com/warden-auth/warden/internal/der"
	"github.com/warden-auth/warden/krb5"
)

// pkinitRefused maps the KDC's refusal of a PKINIT request: the KDC's
// code and e-text, and a hint saying what to change on this side. The
// KDC's e-text (MIT's and Warden's) says which check failed; the hint
// says who can fix it.
func (c *Client) pkinitRefused(ke *krb5.KRBError, st *pkinitState) error {
	e := kdcError(ke, errContext{client: st.who, realm: st.realm, service: principalString(st.sname, st.realm), offered: c.etypes, now: c.now()})
	subject := "your certificate"
	if c := st.opts.Certificate; c != nil && len(c.Chain) > 0 {
		subject = fmt.Sprintf("your certificate %q (issued by %q)", c.Chain[0].Subject, c.Chain[0].Issuer)
	}
	switch ke.ErrorCode {
	case krb5.KDCErrClientNotTrusted, krb5.KDCErrCantVerifyCertificate:
		e.Hint = fmt.Sprintf("the KDC does not trust %s: it does not chain to the KDC's trust anchors (pkinit_anchors); use a certificate from the realm's CA or ask the KDC's administrator to trust its issuer", subject)
	case krb5.KDCErrInvalidCertificate:
		e.Hint = fmt.Sprintf("the KDC finds %s invalid: expired, not yet valid, or malformed; renew it", subject)
	case krb5.KDCErrRevokedCertificate:
		e.Hint = fmt.Sprintf("%s has been revoked; get a new one from the realm's CA", subject)
	case krb5.KDCErrRevocationStatusUnknown, krb5.KDCErrRevocationStatusUnavailable:
		e.Hint = "the KDC cannot tell whether your certificate is revoked (CRL or OCSP unavailable); retry later or ask the KDC's administrator"
	case krb5.KDCErrClientNameMismatch, krb5.KDCErrCertificateMismatch:
		e.Hint = fmt.Sprintf("%s does not map to %s: log in as the principal the certificate names, or ask an administrator to map it to this account", subject, st.who)
	case krb5.KDCErrInconsistentKeyPurpose:
		e.Hint = fmt.Sprintf("%s lacks a key usage the KDC requires for logon (id-pkinit-KPClientAuth or Smart Card Logon); get a logon certificate", subject)
	case krb5.KDCErrInvalidSig:
		e.Hint = "the KDC could not verify the request's signature: the key may not match the certificate, or the KDC does not accept its algorithm"
	case krb5.KDCErrDHKeyParametersNotAccepted:
		e.Hint = "the KDC accepts none of the key-agreement groups this client offers (ECDH P-256/P-384/P-521, DH group 14)"
	case krb5.KDCErrPADataTypeNoSupp:
		e.Hint = "the KDC does not do PKINIT; log in with a password or keytab"
	case krb5.KDCErrPreauthFailed:
		e.Hint = fmt.Sprintf("the KDC refused the certificate login of %s; its log has the reason", st.who)
	case krb5.KDCErrCPrincipalUnknown:
		if st.anon {
			e.Hint = fmt.Sprintf("the KDC of %s has no anonymous principal (MIT: kadmin addprinc -randkey WELLKNOWN/ANONYMOUS)", st.realm)
		}
	case krb5.KDCErrBadOption, krb5.KDCErrPolicy:
		if st.anon {
			e.Hint = fmt.Sprintf("the KDC of %s does not allow anonymous tickets for this request", st.realm)
		}
	}
	what := "certificate login of " + st.who
	if st.anon {
		what = "anonymous login to " + st.realm
	}
	return fmt.Errorf("%s: %w", what, e)
}

// typedData is one TYPED-DATA element (RFC 4120 5.9.1): the e-data of
// some KDC errors, e.g. TD-DH-PARAMETERS.
type typedData struct {
	Type  int32
	Value []byte
}

// maxTypedData caps the elements read from one e-data.
const maxTypedData = 16

// parseTypedData decodes TYPED-DATA ::= SEQUENCE SIZE (1..MAX) OF
// SEQUENCE { data-type [0] Int32, data-value [1] OCTET STRING OPTIONAL }.
func parseTypedData(b []byte) ([]typedData, error) {
	if len(b) > 64<<10 {
		return nil, errors.New("TYPED-DATA too large")
	}
	s := cryptobyte.String(b)
	var seq cryptobyte.String
	if !s.ReadASN1(&seq, cbasn1.SEQUENCE) || !s.Empty() {
		return nil, errors.New("malformed TYPED-DATA")
	}
	var out []typedData
	for !seq.Empty() {
		if len(out) == maxTypedData {
			return nil, fmt.Errorf("more than %d TYPED-DATA elements", maxTypedData)
		}
		var el, f cryptobyte.String
		var d typedData
		if !seq.ReadASN1(&el, cbasn1.SEQUENCE) || !der.ReadExplicit(&el, 0, &f) ||
			!der.ReadInt32(&f, &d.Type) || !f.Empty() {
			return nil, errors.New("malformed TYPED-DATA data-type")
		}
		var present bool
		if !der.ReadOptionalExplicit(&el, 1, &f, &present) ||
			present && (!der.ReadOctetString(&f, &d.Value) || !f.Empty()) {
			return nil, errors.New("malformed TYPED-DATA data-value")
		}
		if !el.Empty() {
			return nil, errors.New("malformed TYPED-DATA element")
		}
		out = append(out, d)
	}
	return out, nil
}

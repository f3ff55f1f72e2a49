package krb5

import (
	"strconv"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"github.com/warden-auth/warden/internal/der"
)

// GSS-API token framing (RFC 2743 3.1, RFC 4121 4.1). Every context token
// of the Kerberos mechanism is
//
//	60 <DER length> 06 <len> <mech OID> <TOK_ID, 2 bytes BE> <Kerberos message>
//
// i.e. InitialContextToken ::= [APPLICATION 0] IMPLICIT SEQUENCE {
// thisMech MechType, innerToken ANY }, where the krb5 inner token is the
// TOK_ID followed by the DER of an AP-REQ, AP-REP or KRB-ERROR. The
// per-message tokens of RFC 4121 4.2 are not framed this way and are
// handled by krb5/gss.

// Mechanism OIDs in DER form (tag 06, length, value), as they appear in a
// framed token or a SPNEGO mechType list. They are string constants so no
// caller can modify a shared table; convert with []byte(OIDKRB5).
const (
	// OIDKRB5 is Kerberos V5, 1.2.840.113554.1.2.2.
	OIDKRB5 = "\x06\x09\x2a\x86\x48\x86\xf7\x12\x01\x02\x02"
	// OIDMSKRB5 is the truncated OID 1.2.840.48018.1.2.2 that Windows
	// 2000 sent by mistake and Windows still offers first in SPNEGO.
	OIDMSKRB5 = "\x06\x09\x2a\x86\x48\x82\xf7\x12\x01\x02\x02"
	// OIDKRB5U2U is Kerberos user-to-user, 1.2.840.113554.1.2.2.3.
	OIDKRB5U2U = "\x06\x0a\x2a\x86\x48\x86\xf7\x12\x01\x02\x02\x03"
	// OIDSPNEGO is SPNEGO, 1.3.6.1.5.5.2.
	OIDSPNEGO = "\x06\x06\x2b\x06\x01\x05\x05\x02"
	// OIDNTLMSSP is NTLMSSP, 1.3.6.1.4.1.311.2.2.10.
	OIDNTLMSSP = "\x06\x0a\x2b\x06\x01\x04\x01\x82\x37\x02\x02\x0a"
	// OIDNegoEx is NEGOEX, 1.3.6.1.4.1.311.2.2.30.
	OIDNegoEx = "\x06\x0a\x2b\x06\x01\x04\x01\x82\x37\x02\x02\x1e"
)

// IsKerberosMech reports whether mech (DER) is the standard or the
// Microsoft Kerberos OID, which name one mechanism (gss-spnego.md 1).
func IsKerberosMech(mech []byte) bool {
	m := string(mech)
	return m == OIDKRB5 || m == OIDMSKRB5
}

// TokID is the two-byte TOK_ID of a Kerberos GSS token (RFC 4121 4.1,
// RFC 4121 4.2.6 for per-message tokens).
type TokID uint16

// Context-establishment TOK_ID values.
const (
	TokIDAPReq    TokID = 0x0100
	TokIDAPRep    TokID = 0x0200
	TokIDKRBError TokID = 0x0300
	TokIDTGTReq   TokID = 0x0400 // user-to-user (draft-ietf-cat-user2user)
)

// String returns the message the TOK_ID announces, e.g. "AP-REQ".
func (t TokID) String() string {
	switch t {
	case TokIDAPReq:
		return "AP-REQ"
	case TokIDAPRep:
		return "AP-REP"
	case TokIDKRBError:
		return "KRB-ERROR"
	case TokIDTGTReq:
		return "TGT-REQ"
	}
	return "0x" + strconv.FormatUint(uint64(t), 16)
}

// DefaultMaxGSSTokenSize bounds a framed token when the caller passes no
// limit. A Kerberos AP-REQ with a large PAC stays well below it (Windows
// caps HTTP Negotiate headers at 48 KiB by default).
const DefaultMaxGSSTokenSize = 64 << 10

// ValidOID reports whether b is exactly one well-formed DER OBJECT
// IDENTIFIER: tag 06, minimal length, non-empty content, each
// sub-identifier minimally encoded and terminated.
func ValidOID(b []byte) bool {
	s := cryptobyte.String(b)
	var c cryptobyte.String
	if !s.ReadASN1(&c, cbasn1.OBJECT_IDENTIFIER) || !s.Empty() || len(c) == 0 {
		return false
	}
	start := true
	for _, x := range c {
		if start && x == 0x80 {
			return false // leading 0x80 is a non-minimal sub-identifier
		}
		start = x&0x80 == 0
	}
	return start
}

// WrapGSSToken frames msg as an InitialContextToken for mechanism mech
// (DER OID, e.g. []byte(OIDKRB5)) with the given TOK_ID. RFC 4121 says the
// OID inside a krb5 token is the standard krb5 OID even when SPNEGO
// negotiated the Microsoft one. It fails only for a malformed mech.
func WrapGSSToken(mech []byte, id TokID, msg []byte) ([]byte, error) {
	if !ValidOID(mech) {
		return nil, malformed("InitialContextToken", "thisMech")
	}
	n := len(mech) + 2 + len(msg)
	out := make([]byte, 0, n+6)
	out = append(out, 0x60)
	switch {
	case n < 0x80:
		out = append(out, byte(n))
	case n <= 0xff:
		out = append(out, 0x81, byte(n))
	case n <= 0xffff:
		out = append(out, 0x82, byte(n>>8), byte(n))
	case n <= 0xffffff:
		out = append(out, 0x83, byte(n>>16), byte(n>>8), byte(n))
	default:
		out = append(out, 0x84, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
	out = append(out, mech...)
	out = append(out, byte(id>>8), byte(id))
	return append(out, msg...), nil
}

// UnwrapGSSToken parses a framed token. maxSize bounds len(b); zero or
// negative means DefaultMaxGSSTokenSize. It checks the [APPLICATION 0]
// tag, a minimal DER length that spans b exactly, a well-formed mech OID,
// and that a TOK_ID and a non-empty message follow. mech and msg are
// copies, never aliases of b. The caller checks mech (IsKerberosMech) and
// id against what it expects.
func UnwrapGSSToken(b []byte, maxSize int) (mech []byte, id TokID, msg []byte, err error) {
	const typ = "InitialContextToken"
	if maxSize <= 0 {
		maxSize = DefaultMaxGSSTokenSize
	}
	if len(b) > maxSize {
		return nil, 0, nil, malformed(typ, "token of "+strconv.Itoa(len(b))+" bytes exceeds the limit of "+strconv.Itoa(maxSize))
	}
	s := cryptobyte.String(b)
	var body cryptobyte.String
	if !s.ReadASN1(&body, der.Application(0)) || !s.Empty() {
		return nil, 0, nil, malformed(typ, "")
	}
	var oid cryptobyte.String
	start := body
	if !body.ReadASN1(&oid, cbasn1.OBJECT_IDENTIFIER) {
		return nil, 0, nil, malformed(typ, "thisMech")
	}
	mechDER := start[:len(start)-len(body)]
	if !ValidOID(mechDER) {
		return nil, 0, nil, malformed(typ, "thisMech")
	}
	var tok uint16
	if !body.ReadUint16(&tok) {
		return nil, 0, nil, malformed(typ, "TOK_ID")
	}
	if body.Empty() {
		return nil, 0, nil, malformed(typ, "innerToken")
	}
	return append([]byte(nil), mechDER...), TokID(tok), append([]byte(nil), body...), nil
}

// WrapKRB5Token frames a Kerberos message with the standard krb5 OID.
func WrapKRB5Token(id TokID, msg []byte) []byte {
	b, _ := WrapGSSToken([]byte(OIDKRB5), id, msg)
	return b
}

// UnwrapKRB5Token parses a framed token whose mech must be a Kerberos OID
// (standard or Microsoft) and whose TOK_ID must be want. A token with
// another TOK_ID yields a *ParseError naming it; an acceptor answers that
// with KRB_AP_ERR_MSG_TYPE (gss-spnego.md 2.1).
func UnwrapKRB5Token(b []byte, want TokID, maxSize int) ([]byte, error) {
	mech, id, msg, err := UnwrapGSSToken(b, maxSize)
	if err != nil {
		return nil, err
	}
	if !IsKerberosMech(mech) {
		return nil, malformed("InitialContextToken", "thisMech is not Kerberos")
	}
	if id != want {
		return nil, malformed("InitialContextToken", "TOK_ID "+id.String()+", want "+want.String())
	}
	return msg, nil
}

package httpauth

import (
	"errors"
	"strconv"
	"strings"

	"github.com/warden-auth/warden/krb5/gss"
	"github.com/warden-auth/warden/ntlm"
	"github.com/warden-auth/warden/pki"
)

// Code classifies an httpauth failure. New codes may be added at the end.
type Code uint8

// Codes. String gives the spelling used in logs.
const (
	// NoCredentials: the request carried no Authorization header (the
	// first leg of Negotiate: the client is told to authenticate).
	NoCredentials Code = iota
	// UnsupportedScheme: the Authorization header uses another scheme
	// than Negotiate (Basic, raw NTLM, ...).
	UnsupportedScheme
	// BadHeader: an Authorization or WWW-Authenticate header is
	// malformed (several of them, no token, bad base64, ...).
	BadHeader
	// TokenTooLarge: the header is longer than the configured limit.
	TokenTooLarge
	// Rejected: the GSS layer refused the token; Err is the *gss.Error
	// that says why (replay, clock skew, wrong service, stale keytab, ...).
	Rejected
	// ConnectionStateRequired: the negotiation needs another leg, which
	// needs per-connection state that the server does not keep (no
	// ConnContext, or HTTP/2), or a continuation token arrived on a
	// connection with no negotiation in progress.
	ConnectionStateRequired
	// MutualFailed: client side; the server's response lacks the token
	// that proves its identity, or the token does not verify.
	MutualFailed
	// NoTicket: client side; no service ticket could be had for the
	// server (no TGT, KDC refusal, ...).
	NoTicket
	// NoClientCertificate: client-certificate authentication, and the
	// request came without TLS or without a client certificate.
	NoClientCertificate
	// CertificateRejected: the client certificate was refused; Err is
	// the *pki.Error that says why (expired, revoked, unknown issuer,
	// unmapped, disabled account, ...).
	CertificateRejected
)

var codeNames = [...]string{
	NoCredentials:           "NO_CREDENTIALS",
	UnsupportedScheme:       "UNSUPPORTED_SCHEME",
	BadHeader:               "BAD_HEADER",
	TokenTooLarge:           "TOKEN_TOO_LARGE",
	Rejected:                "REJECTED",
	ConnectionStateRequired: "CONNECTION_STATE_REQUIRED",
	MutualFailed:            "MUTUAL_FAILED",
	NoTicket:                "NO_TICKET",
	NoClientCertificate:     "NO_CLIENT_CERTIFICATE",
	CertificateRejected:     "CERTIFICATE_REJECTED",
}

func (c Code) String() string {
	if int(c) < len(codeNames) {
		return codeNames[c]
	}
	return "HTTPAUTH_CODE_" + strconv.Itoa(int(c))
}

// Error is an HTTP authentication failure: a Code, a Reason that is safe
// to send to the peer (it never holds tokens or keys), a Hint for the
// operator or user, and the internal cause (a *gss.Error for Rejected).
type Error struct {
	Code   Code
	Reason string
	Hint   string
	Err    error
}

// Error renders "CODE: reason" (for Rejected, the GSS code: "KRB_AP_ERR_REPEAT:
// request is a replay ..."; for CertificateRejected, the PKI code:
// "CERT_REVOKED: ..."), with the cause appended when it is neither and
// adds something.
func (e *Error) Error() string {
	var b strings.Builder
	var ge *gss.Error
	var pe *pki.Error
	isGSS := errors.As(e.Err, &ge)
	isPKI := !isGSS && errors.As(e.Err, &pe)
	switch {
	case e.Code == Rejected && isGSS:
		b.WriteString(ge.Code.String())
	case e.Code == CertificateRejected && isPKI:
		b.WriteString(pe.Code.String())
	default:
		b.WriteString(e.Code.String())
	}
	if e.Reason != "" {
		b.WriteString(": ")
		b.WriteString(e.Reason)
	}
	if e.Err != nil && !isGSS && !isPKI {
		if s := e.Err.Error(); !strings.Contains(e.Reason, s) {
			b.WriteString(": ")
			b.WriteString(s)
		}
	}
	return b.String()
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Is matches an *Error with the same Code, so
// errors.Is(err, &httpauth.Error{Code: httpauth.MutualFailed}) works.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code
}

// ErrorHint returns the advice for the operator or user: the Hint, else
// that of the cause.
func (e *Error) ErrorHint() string {
	if e.Hint != "" {
		return e.Hint
	}
	var h interface{ ErrorHint() string }
	if errors.As(e.Err, &h) {
		return h.ErrorHint()
	}
	return ""
}

// logCode is the code a log line names: the GSS code for a GSS refusal
// (KRB_AP_ERR_REPEAT, ...), the PKI code for a certificate refusal
// (CERT_REVOKED, ...), the NTSTATUS of an NTLM refusal, else the httpauth
// code.
func (e *Error) logCode() string {
	var ge *gss.Error
	if errors.As(e.Err, &ge) {
		return ge.Code.String()
	}
	var pe *pki.Error
	if errors.As(e.Err, &pe) {
		return pe.Code.String()
	}
	var ne *ntlm.Error
	if errors.As(e.Err, &ne) {
		return ne.Status.String()
	}
	return e.Code.String()
}

// CodeOf returns the Code of err when it is (or wraps) an *Error.
func CodeOf(err error) (Code, bool) {
	var e *Error
	if errors.As(err, &e) {
		return e.Code, true
	}
	return 0, false
}

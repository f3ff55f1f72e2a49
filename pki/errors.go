package pki

import (
	"errors"
	"strings"
)

// Code classifies a PKI failure.
type Code int

// Failure codes. Each has a test that triggers it.
const (
	CodeNoCA              Code = iota + 1 // the realm has no CA yet
	CodeExpired                           // a certificate in the chain has expired
	CodeNotYetValid                       // a certificate is not valid yet
	CodeRevoked                           // the certificate was revoked
	CodeRevocationUnknown                 // revocation status could not be determined
	CodeUnknownIssuer                     // the chain does not lead to the realm CA
	CodeWrongUsage                        // the certificate is not for this use (EKU)
	CodeNameMismatch                      // no DNS/IP name matches the name asked for
	CodeUnmapped                          // no account is mapped to the certificate
	CodeWeakMapping                       // only a weak (UPN) mapping, which the realm does not allow
	CodeMappingMismatch                   // the certificate's SID and another mapping name different accounts
	CodeAccountDisabled                   // the mapped account is disabled or expired
	CodeAccountLocked                     // the mapped account is locked out
	CodeBadCSR                            // a certificate signing request was refused
	CodeBadRequest                        // a malformed or oversized request (OCSP, CRL fetch)
	CodeNotFound                          // no such certificate or account
	CodeAlreadyRevoked                    // revoking a revoked certificate
	CodeBadCertificate                    // a certificate that cannot be parsed or is otherwise invalid
)

var codeNames = map[Code]string{
	CodeNoCA:              "PKI_NO_CA",
	CodeExpired:           "CERT_EXPIRED",
	CodeNotYetValid:       "CERT_NOT_YET_VALID",
	CodeRevoked:           "CERT_REVOKED",
	CodeRevocationUnknown: "CERT_REVOCATION_UNKNOWN",
	CodeUnknownIssuer:     "CERT_UNKNOWN_ISSUER",
	CodeWrongUsage:        "CERT_WRONG_USAGE",
	CodeNameMismatch:      "CERT_NAME_MISMATCH",
	CodeUnmapped:          "CERT_UNMAPPED",
	CodeWeakMapping:       "CERT_WEAK_MAPPING",
	CodeMappingMismatch:   "CERT_MAPPING_MISMATCH",
	CodeAccountDisabled:   "ACCOUNT_DISABLED",
	CodeAccountLocked:     "ACCOUNT_LOCKED",
	CodeBadCSR:            "CSR_REFUSED",
	CodeBadRequest:        "BAD_REQUEST",
	CodeNotFound:          "NOT_FOUND",
	CodeAlreadyRevoked:    "ALREADY_REVOKED",
	CodeBadCertificate:    "CERT_INVALID",
}

// String returns the code's name, e.g. "CERT_REVOKED".
func (c Code) String() string {
	if n, ok := codeNames[c]; ok {
		return n
	}
	return "PKI_ERROR"
}

// Error is a PKI failure: a Code, a Reason that is safe to show the peer
// (observed values: dates, names, serials; never keys), a Hint for the
// operator, and the internal cause.
type Error struct {
	Code   Code
	Reason string
	Hint   string
	Err    error
}

// Error renders "CODE: reason", with the cause when it adds something.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Code.String())
	if e.Reason != "" {
		b.WriteString(": ")
		b.WriteString(e.Reason)
	}
	if e.Err != nil {
		if s := e.Err.Error(); !strings.Contains(e.Reason, s) {
			b.WriteString(": ")
			b.WriteString(s)
		}
	}
	return b.String()
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Is matches an *Error with the same Code, so that
// errors.Is(err, &pki.Error{Code: pki.CodeRevoked}) works.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code
}

// ErrorHint returns the advice for the operator.
func (e *Error) ErrorHint() string { return e.Hint }

func newErr(code Code, reason, hint string, cause error) *Error {
	return &Error{Code: code, Reason: reason, Hint: hint, Err: cause}
}

// CodeOf returns the Code of a *Error in err's chain, or 0.
func CodeOf(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return 0
}

package krb5

import (
	"errors"
	"strconv"
	"strings"
)

// ErrorCode is a KRB-ERROR error-code (RFC 4120 7.5.9, RFC 4556, RFC 6113).
type ErrorCode int32

// Error codes.
const (
	KDCErrNone                            ErrorCode = 0
	KDCErrNameExp                         ErrorCode = 1
	KDCErrServiceExp                      ErrorCode = 2
	KDCErrBadPvno                         ErrorCode = 3
	KDCErrCOldMastKvno                    ErrorCode = 4
	KDCErrSOldMastKvno                    ErrorCode = 5
	KDCErrCPrincipalUnknown               ErrorCode = 6
	KDCErrSPrincipalUnknown               ErrorCode = 7
	KDCErrPrincipalNotUnique              ErrorCode = 8
	KDCErrNullKey                         ErrorCode = 9
	KDCErrCannotPostdate                  ErrorCode = 10
	KDCErrNeverValid                      ErrorCode = 11
	KDCErrPolicy                          ErrorCode = 12
	KDCErrBadOption                       ErrorCode = 13
	KDCErrETypeNoSupp                     ErrorCode = 14
	KDCErrSumTypeNoSupp                   ErrorCode = 15
	KDCErrPADataTypeNoSupp                ErrorCode = 16
	KDCErrTrTypeNoSupp                    ErrorCode = 17
	KDCErrClientRevoked                   ErrorCode = 18
	KDCErrServiceRevoked                  ErrorCode = 19
	KDCErrTGTRevoked                      ErrorCode = 20
	KDCErrClientNotYet                    ErrorCode = 21
	KDCErrServiceNotYet                   ErrorCode = 22
	KDCErrKeyExpired                      ErrorCode = 23
	KDCErrPreauthFailed                   ErrorCode = 24
	KDCErrPreauthRequired                 ErrorCode = 25
	KDCErrServerNoMatch                   ErrorCode = 26
	KDCErrMustUseUser2User                ErrorCode = 27
	KDCErrPathNotAccepted                 ErrorCode = 28
	KDCErrSvcUnavailable                  ErrorCode = 29
	KRBAPErrBadIntegrity                  ErrorCode = 31
	KRBAPErrTktExpired                    ErrorCode = 32
	KRBAPErrTktNYV                        ErrorCode = 33
	KRBAPErrRepeat                        ErrorCode = 34
	KRBAPErrNotUs                         ErrorCode = 35
	KRBAPErrBadMatch                      ErrorCode = 36
	KRBAPErrSkew                          ErrorCode = 37
	KRBAPErrBadAddr                       ErrorCode = 38
	KRBAPErrBadVersion                    ErrorCode = 39
	KRBAPErrMsgType                       ErrorCode = 40
	KRBAPErrModified                      ErrorCode = 41
	KRBAPErrBadOrder                      ErrorCode = 42
	KRBAPErrBadKeyVer                     ErrorCode = 44
	KRBAPErrNoKey                         ErrorCode = 45
	KRBAPErrMutFail                       ErrorCode = 46
	KRBAPErrBadDirection                  ErrorCode = 47
	KRBAPErrMethod                        ErrorCode = 48
	KRBAPErrBadSeq                        ErrorCode = 49
	KRBAPErrInappCksum                    ErrorCode = 50
	KRBAPPathNotAccepted                  ErrorCode = 51
	KRBErrResponseTooBig                  ErrorCode = 52
	KRBErrGeneric                         ErrorCode = 60
	KRBErrFieldTooLong                    ErrorCode = 61
	KDCErrClientNotTrusted                ErrorCode = 62
	KDCErrKDCNotTrusted                   ErrorCode = 63
	KDCErrInvalidSig                      ErrorCode = 64
	KDCErrDHKeyParametersNotAccepted      ErrorCode = 65
	KDCErrCertificateMismatch             ErrorCode = 66
	KRBAPErrNoTGT                         ErrorCode = 67
	KDCErrWrongRealm                      ErrorCode = 68
	KRBAPErrUserToUserRequired            ErrorCode = 69
	KDCErrCantVerifyCertificate           ErrorCode = 70
	KDCErrInvalidCertificate              ErrorCode = 71
	KDCErrRevokedCertificate              ErrorCode = 72
	KDCErrRevocationStatusUnknown         ErrorCode = 73
	KDCErrRevocationStatusUnavailable     ErrorCode = 74
	KDCErrClientNameMismatch              ErrorCode = 75
	KDCErrKDCNameMismatch                 ErrorCode = 76
	KDCErrInconsistentKeyPurpose          ErrorCode = 77
	KDCErrDigestInCertNotAccepted         ErrorCode = 78
	KDCErrPAChecksumMustBeIncluded        ErrorCode = 79
	KDCErrDigestInSignedDataNotAccepted   ErrorCode = 80
	KDCErrPublicKeyEncryptionNotSupported ErrorCode = 81
	KDCErrPreauthExpired                  ErrorCode = 90
	KDCErrMorePreauthDataRequired         ErrorCode = 91
	KDCErrPreauthBadAuthenticationSet     ErrorCode = 92
	KDCErrUnknownCriticalFastOptions      ErrorCode = 93
)

var errorCodeNames = map[ErrorCode]string{
	KDCErrNone: "KDC_ERR_NONE", KDCErrNameExp: "KDC_ERR_NAME_EXP", KDCErrServiceExp: "KDC_ERR_SERVICE_EXP",
	KDCErrBadPvno: "KDC_ERR_BAD_PVNO", KDCErrCOldMastKvno: "KDC_ERR_C_OLD_MAST_KVNO",
	KDCErrSOldMastKvno: "KDC_ERR_S_OLD_MAST_KVNO", KDCErrCPrincipalUnknown: "KDC_ERR_C_PRINCIPAL_UNKNOWN",
	KDCErrSPrincipalUnknown: "KDC_ERR_S_PRINCIPAL_UNKNOWN", KDCErrPrincipalNotUnique: "KDC_ERR_PRINCIPAL_NOT_UNIQUE",
	KDCErrNullKey: "KDC_ERR_NULL_KEY", KDCErrCannotPostdate: "KDC_ERR_CANNOT_POSTDATE",
	KDCErrNeverValid: "KDC_ERR_NEVER_VALID", KDCErrPolicy: "KDC_ERR_POLICY", KDCErrBadOption: "KDC_ERR_BADOPTION",
	KDCErrETypeNoSupp: "KDC_ERR_ETYPE_NOSUPP", KDCErrSumTypeNoSupp: "KDC_ERR_SUMTYPE_NOSUPP",
	KDCErrPADataTypeNoSupp: "KDC_ERR_PADATA_TYPE_NOSUPP", KDCErrTrTypeNoSupp: "KDC_ERR_TRTYPE_NOSUPP",
	KDCErrClientRevoked: "KDC_ERR_CLIENT_REVOKED", KDCErrServiceRevoked: "KDC_ERR_SERVICE_REVOKED",
	KDCErrTGTRevoked: "KDC_ERR_TGT_REVOKED", KDCErrClientNotYet: "KDC_ERR_CLIENT_NOTYET",
	KDCErrServiceNotYet: "KDC_ERR_SERVICE_NOTYET", KDCErrKeyExpired: "KDC_ERR_KEY_EXPIRED",
	KDCErrPreauthFailed: "KDC_ERR_PREAUTH_FAILED", KDCErrPreauthRequired: "KDC_ERR_PREAUTH_REQUIRED",
	KDCErrServerNoMatch: "KDC_ERR_SERVER_NOMATCH", KDCErrMustUseUser2User: "KDC_ERR_MUST_USE_USER2USER",
	KDCErrPathNotAccepted: "KDC_ERR_PATH_NOT_ACCEPTED", KDCErrSvcUnavailable: "KDC_ERR_SVC_UNAVAILABLE",
	KRBAPErrBadIntegrity: "KRB_AP_ERR_BAD_INTEGRITY", KRBAPErrTktExpired: "KRB_AP_ERR_TKT_EXPIRED",
	KRBAPErrTktNYV: "KRB_AP_ERR_TKT_NYV", KRBAPErrRepeat: "KRB_AP_ERR_REPEAT", KRBAPErrNotUs: "KRB_AP_ERR_NOT_US",
	KRBAPErrBadMatch: "KRB_AP_ERR_BADMATCH", KRBAPErrSkew: "KRB_AP_ERR_SKEW", KRBAPErrBadAddr: "KRB_AP_ERR_BADADDR",
	KRBAPErrBadVersion: "KRB_AP_ERR_BADVERSION", KRBAPErrMsgType: "KRB_AP_ERR_MSG_TYPE",
	KRBAPErrModified: "KRB_AP_ERR_MODIFIED", KRBAPErrBadOrder: "KRB_AP_ERR_BADORDER",
	KRBAPErrBadKeyVer: "KRB_AP_ERR_BADKEYVER", KRBAPErrNoKey: "KRB_AP_ERR_NOKEY",
	KRBAPErrMutFail: "KRB_AP_ERR_MUT_FAIL", KRBAPErrBadDirection: "KRB_AP_ERR_BADDIRECTION",
	KRBAPErrMethod: "KRB_AP_ERR_METHOD", KRBAPErrBadSeq: "KRB_AP_ERR_BADSEQ",
	KRBAPErrInappCksum: "KRB_AP_ERR_INAPP_CKSUM", KRBAPPathNotAccepted: "KRB_AP_PATH_NOT_ACCEPTED",
	KRBErrResponseTooBig: "KRB_ERR_RESPONSE_TOO_BIG", KRBErrGeneric: "KRB_ERR_GENERIC",
	KRBErrFieldTooLong: "KRB_ERR_FIELD_TOOLONG", KDCErrClientNotTrusted: "KDC_ERR_CLIENT_NOT_TRUSTED",
	KDCErrKDCNotTrusted: "KDC_ERR_KDC_NOT_TRUSTED", KDCErrInvalidSig: "KDC_ERR_INVALID_SIG",
	KDCErrDHKeyParametersNotAccepted: "KDC_ERR_DH_KEY_PARAMETERS_NOT_ACCEPTED",
	KDCErrCertificateMismatch:        "KDC_ERR_CERTIFICATE_MISMATCH", KRBAPErrNoTGT: "KRB_AP_ERR_NO_TGT",
	KDCErrWrongRealm: "KDC_ERR_WRONG_REALM", KRBAPErrUserToUserRequired: "KRB_AP_ERR_USER_TO_USER_REQUIRED",
	KDCErrCantVerifyCertificate: "KDC_ERR_CANT_VERIFY_CERTIFICATE",
	KDCErrInvalidCertificate:    "KDC_ERR_INVALID_CERTIFICATE", KDCErrRevokedCertificate: "KDC_ERR_REVOKED_CERTIFICATE",
	KDCErrRevocationStatusUnknown:     "KDC_ERR_REVOCATION_STATUS_UNKNOWN",
	KDCErrRevocationStatusUnavailable: "KDC_ERR_REVOCATION_STATUS_UNAVAILABLE",
	KDCErrClientNameMismatch:          "KDC_ERR_CLIENT_NAME_MISMATCH", KDCErrKDCNameMismatch: "KDC_ERR_KDC_NAME_MISMATCH",
	KDCErrInconsistentKeyPurpose:          "KDC_ERR_INCONSISTENT_KEY_PURPOSE",
	KDCErrDigestInCertNotAccepted:         "KDC_ERR_DIGEST_IN_CERT_NOT_ACCEPTED",
	KDCErrPAChecksumMustBeIncluded:        "KDC_ERR_PA_CHECKSUM_MUST_BE_INCLUDED",
	KDCErrDigestInSignedDataNotAccepted:   "KDC_ERR_DIGEST_IN_SIGNED_DATA_NOT_ACCEPTED",
	KDCErrPublicKeyEncryptionNotSupported: "KDC_ERR_PUBLIC_KEY_ENCRYPTION_NOT_SUPPORTED",
	KDCErrPreauthExpired:                  "KDC_ERR_PREAUTH_EXPIRED", KDCErrMorePreauthDataRequired: "KDC_ERR_MORE_PREAUTH_DATA_REQUIRED",
	KDCErrPreauthBadAuthenticationSet: "KDC_ERR_PREAUTH_BAD_AUTHENTICATION_SET",
	KDCErrUnknownCriticalFastOptions:  "KDC_ERR_UNKNOWN_CRITICAL_FAST_OPTIONS",
}

// String returns the RFC spelling, e.g. "KDC_ERR_PREAUTH_FAILED".
func (c ErrorCode) String() string {
	if s, ok := errorCodeNames[c]; ok {
		return s
	}
	return "KRB_ERR_" + strconv.Itoa(int(c))
}

// Error is a Kerberos failure with the protocol code the peer will see,
// a Reason that is safe to send as e-text, a Hint that tells an operator
// or user what to do, and the internal cause.
//
// Reason must never carry secrets or reveal more about account existence
// than Code already does; Err and Hint are for logs and the local user.
type Error struct {
	Code   ErrorCode
	Reason string
	Hint   string
	Err    error
}

// Error renders "CODE: reason (hint): cause", leaving out empty parts.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Code.String())
	if e.Reason != "" {
		b.WriteString(": ")
		b.WriteString(e.Reason)
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap returns the internal cause.
func (e *Error) Unwrap() error { return e.Err }

// Is matches another *Error with the same Code, so that
// errors.Is(err, &krb5.Error{Code: krb5.KRBAPErrSkew}) works.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code && (t.Reason == "" || t.Reason == e.Reason)
}

// NewError is shorthand for a *Error with a code and a reason.
func NewError(code ErrorCode, reason string) *Error { return &Error{Code: code, Reason: reason} }

// CodeOf returns the Kerberos error code carried by err, or
// KRB_ERR_GENERIC when err is not a *Error (or wraps none).
func CodeOf(err error) ErrorCode {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return KRBErrGeneric
}

// ErrMalformed is matched (errors.Is) by every decoding failure.
var ErrMalformed = errors.New("malformed Kerberos message")

// ParseError says which message and field could not be decoded. Decoders
// return it for truncated, over-long, mis-tagged or out-of-range input.
type ParseError struct {
	Type  string // ASN.1 type being decoded, e.g. "AS-REQ"
	Field string // field path within it, e.g. "req-body.till"; empty for the whole
}

func (e *ParseError) Error() string {
	if e.Field == "" {
		return "malformed " + e.Type
	}
	return "malformed " + e.Type + ": field " + e.Field
}

// Is makes errors.Is(err, ErrMalformed) true.
func (e *ParseError) Is(target error) bool { return target == ErrMalformed }

func malformed(typ, field string) error { return &ParseError{Type: typ, Field: field} }

// ErrorHint returns the advice for the local user or operator; the CLI
// prints it as "warden: hint: ...".
func (e *Error) ErrorHint() string { return e.Hint }

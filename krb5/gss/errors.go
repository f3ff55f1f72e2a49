package gss

import (
	"errors"
	"strconv"
	"strings"
)

// Code classifies a GSS failure. Most codes are the GSS-API major status
// codes of RFC 2743 1.2.1 (routine errors and supplementary information);
// the Kerberos-specific ones near the end are what GSS implementations
// report as GSS_S_FAILURE with a krb5 minor status, kept apart here because
// an operator needs to know which of them happened. The zero value is
// Failure. New codes may be added at the end.
type Code uint8

// Codes. String gives the specification's spelling.
const (
	// Failure is an unspecified failure (GSS_S_FAILURE), e.g. no
	// randomness for a confounder.
	Failure Code = iota
	// BadMech: the mechanism is not supported or not the one expected
	// (GSS_S_BAD_MECH).
	BadMech
	// BadName: a principal name is malformed or of the wrong type
	// (GSS_S_BAD_NAME).
	BadName
	// BadBindings: the channel bindings do not match (GSS_S_BAD_BINDINGS).
	BadBindings
	// BadMIC: a MIC, a Wrap token's checksum or its encryption failed to
	// verify, or a token came back in the wrong direction (GSS_S_BAD_MIC,
	// formerly GSS_S_BAD_SIG).
	BadMIC
	// NoCred: no usable credential, e.g. no keytab (GSS_S_NO_CRED).
	NoCred
	// NoContext: the operation needs an established security context
	// (GSS_S_NO_CONTEXT).
	NoContext
	// DefectiveToken: a token failed consistency checks or could not be
	// decoded (GSS_S_DEFECTIVE_TOKEN).
	DefectiveToken
	// DefectiveCredential: the credential (ticket, keytab entry) is
	// unusable (GSS_S_DEFECTIVE_CREDENTIAL).
	DefectiveCredential
	// CredentialsExpired: the ticket has expired (GSS_S_CREDENTIALS_EXPIRED).
	CredentialsExpired
	// ContextExpired: the security context has expired
	// (GSS_S_CONTEXT_EXPIRED).
	ContextExpired
	// Unavailable: the operation is not supported for this context, e.g.
	// per-message tokens with an RC4 session key (GSS_S_UNAVAILABLE).
	Unavailable
	// DuplicateToken: a per-message token's sequence number was already
	// seen: a replay (GSS_S_DUPLICATE_TOKEN). Always refused.
	DuplicateToken
	// OldToken: a per-message token is too old to be checked for
	// duplication (GSS_S_OLD_TOKEN). Refused, since it may be a replay.
	OldToken
	// UnseqToken: a valid per-message token arrived after a later one
	// (GSS_S_UNSEQ_TOKEN). Reported only when sequencing was negotiated;
	// the message is still returned and the caller decides.
	UnseqToken
	// GapToken: a valid per-message token arrived after tokens that were
	// never received (GSS_S_GAP_TOKEN). Reported only when sequencing was
	// negotiated; the message is still returned and the caller decides.
	GapToken
	// ClockSkew: the authenticator's time is outside the allowed skew
	// (KRB_AP_ERR_SKEW).
	ClockSkew
	// Replay: the AP-REQ authenticator was seen before, per the replay
	// cache (KRB_AP_ERR_REPEAT).
	Replay
	// WrongService: the ticket is for another service principal
	// (KRB_AP_ERR_NOT_US).
	WrongService
	// KeyNotFound: the acceptor holds no key for the ticket's kvno or
	// enctype (KRB_AP_ERR_BADKEYVER / KRB_AP_ERR_NOKEY).
	KeyNotFound
	// MutualFailed: the AP-REP did not prove the acceptor's identity
	// (KRB_AP_ERR_MUT_FAIL).
	MutualFailed
)

var codeNames = [...]string{
	Failure:             "GSS_S_FAILURE",
	BadMech:             "GSS_S_BAD_MECH",
	BadName:             "GSS_S_BAD_NAME",
	BadBindings:         "GSS_S_BAD_BINDINGS",
	BadMIC:              "GSS_S_BAD_MIC",
	NoCred:              "GSS_S_NO_CRED",
	NoContext:           "GSS_S_NO_CONTEXT",
	DefectiveToken:      "GSS_S_DEFECTIVE_TOKEN",
	DefectiveCredential: "GSS_S_DEFECTIVE_CREDENTIAL",
	CredentialsExpired:  "GSS_S_CREDENTIALS_EXPIRED",
	ContextExpired:      "GSS_S_CONTEXT_EXPIRED",
	Unavailable:         "GSS_S_UNAVAILABLE",
	DuplicateToken:      "GSS_S_DUPLICATE_TOKEN",
	OldToken:            "GSS_S_OLD_TOKEN",
	UnseqToken:          "GSS_S_UNSEQ_TOKEN",
	GapToken:            "GSS_S_GAP_TOKEN",
	ClockSkew:           "KRB_AP_ERR_SKEW",
	Replay:              "KRB_AP_ERR_REPEAT",
	WrongService:        "KRB_AP_ERR_NOT_US",
	KeyNotFound:         "KRB_AP_ERR_BADKEYVER",
	MutualFailed:        "KRB_AP_ERR_MUT_FAIL",
}

// String returns the GSS-API spelling ("GSS_S_BAD_MIC"), or the Kerberos
// one for the Kerberos-specific codes ("KRB_AP_ERR_SKEW").
func (c Code) String() string {
	if int(c) < len(codeNames) {
		return codeNames[c]
	}
	return "GSS_CODE_" + strconv.Itoa(int(c))
}

// Major returns the GSS-API major status value (RFC 2744 3.9.1) that a C
// implementation would report for c: routine errors in bits 16-23,
// supplementary information in bits 0-15. The Kerberos-specific codes map
// to GSS_S_FAILURE, as MIT and Heimdal report them.
func (c Code) Major() uint32 {
	const routine = 16
	switch c {
	case BadMech:
		return 1 << routine
	case BadName:
		return 2 << routine
	case BadBindings:
		return 4 << routine
	case BadMIC:
		return 6 << routine
	case NoCred:
		return 7 << routine
	case NoContext:
		return 8 << routine
	case DefectiveToken:
		return 9 << routine
	case DefectiveCredential:
		return 10 << routine
	case CredentialsExpired:
		return 11 << routine
	case ContextExpired:
		return 12 << routine
	case Unavailable:
		return 16 << routine
	case DuplicateToken:
		return 1 << 1
	case OldToken:
		return 1 << 2
	case UnseqToken:
		return 1 << 3
	case GapToken:
		return 1 << 4
	}
	return 13 << routine // GSS_S_FAILURE
}

// Error is a GSS failure: the Code, a Reason that is safe to show the peer
// (it carries observed values, never key material), a Hint for the
// operator, and the internal cause.
type Error struct {
	Code   Code
	Reason string
	Hint   string
	Err    error
	// Principal is the client ("alice@REALM") when the acceptor got far
	// enough to know it (the ticket decrypted), for the server's log.
	Principal string
}

// Error renders "CODE: reason: cause", leaving out empty parts. The hint
// is for the operator and is available through ErrorHint.
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

// Is matches another *Error with the same Code (and Reason, when the
// target has one), so errors.Is(err, &gss.Error{Code: gss.BadMIC}) works.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code && (t.Reason == "" || t.Reason == e.Reason)
}

// ErrorHint returns the advice for the operator or local user.
func (e *Error) ErrorHint() string { return e.Hint }

// CodeOf returns the Code carried by err, or Failure when err is not (and
// does not wrap) a *Error.
func CodeOf(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return Failure
}

// IsOutOfSequence reports whether err only says that an authentic token
// arrived out of sequence (UnseqToken or GapToken). Unwrap and VerifyMIC
// return such errors together with a verified result; a caller that
// negotiated sequencing but tolerates reordering may carry on.
func IsOutOfSequence(err error) bool {
	c := CodeOf(err)
	return err != nil && (c == UnseqToken || c == GapToken)
}

func newError(c Code, reason string) *Error { return &Error{Code: c, Reason: reason} }

package digest

import (
	"fmt"
	"net/http"
	"strconv"
)

// Code classifies a Digest failure. New codes may be added at the end.
type Code uint8

// Codes. String gives the spelling used in logs and on the AA's wire.
const (
	// NoCredentials: the request has no Authorization header.
	NoCredentials Code = iota + 1
	// BadHeader: a Digest header is malformed (syntax, missing or
	// duplicate parameters, oversized values).
	BadHeader
	// UnsupportedScheme: the Authorization header is not Digest.
	UnsupportedScheme
	// UnsupportedAlgorithm: the algorithm is unknown or was not offered
	// (MD5 unless allowed).
	UnsupportedAlgorithm
	// UnsupportedQOP: the qop is missing or was not offered.
	UnsupportedQOP
	// WrongRealm: the credentials name another realm than the challenge.
	WrongRealm
	// URIMismatch: the uri parameter is not the request-target.
	URIMismatch
	// BadNonce: the nonce was not issued by this server (or its key).
	BadNonce
	// StaleNonce: the nonce has expired but the response was right; the
	// client retries with a new nonce (stale=true) without asking the
	// user again.
	StaleNonce
	// Replay: this (nonce, nc) was accepted before.
	Replay
	// LogonFailure: unknown user or wrong password — what the AA tells
	// the server and the server tells the client for both.
	LogonFailure
	// NoSuchUser: no account by that name (the AA's log only).
	NoSuchUser
	// WrongPassword: the response does not match (the AA's log only).
	WrongPassword
	// AccountDisabled, AccountLockedOut, AccountExpired, PasswordExpired:
	// the account may not log on now.
	AccountDisabled
	AccountLockedOut
	AccountExpired
	PasswordExpired
	// AccountRestriction: the account has no Digest secret for the
	// algorithm and realm, or the calling server may not ask the AA.
	AccountRestriction
	// Unavailable: the AA could not be asked or could not answer.
	Unavailable
	// BodyTooLarge: qop=auth-int over a body larger than the server
	// hashes.
	BodyTooLarge
	// NoChallenge: client side; the server offered no Digest challenge
	// this client supports.
	NoChallenge
	// MutualFailed: client side; the server's rspauth does not match, so
	// the answer does not come from a server the AA vouched for.
	MutualFailed
)

var codeNames = [...]string{
	NoCredentials:        "NO_CREDENTIALS",
	BadHeader:            "BAD_HEADER",
	UnsupportedScheme:    "UNSUPPORTED_SCHEME",
	UnsupportedAlgorithm: "UNSUPPORTED_ALGORITHM",
	UnsupportedQOP:       "UNSUPPORTED_QOP",
	WrongRealm:           "WRONG_REALM",
	URIMismatch:          "URI_MISMATCH",
	BadNonce:             "BAD_NONCE",
	StaleNonce:           "STALE_NONCE",
	Replay:               "REPLAY",
	LogonFailure:         "LOGON_FAILURE",
	NoSuchUser:           "NO_SUCH_USER",
	WrongPassword:        "WRONG_PASSWORD",
	AccountDisabled:      "ACCOUNT_DISABLED",
	AccountLockedOut:     "ACCOUNT_LOCKED_OUT",
	AccountExpired:       "ACCOUNT_EXPIRED",
	PasswordExpired:      "PASSWORD_EXPIRED",
	AccountRestriction:   "ACCOUNT_RESTRICTION",
	Unavailable:          "UNAVAILABLE",
	BodyTooLarge:         "BODY_TOO_LARGE",
	NoChallenge:          "NO_CHALLENGE",
	MutualFailed:         "MUTUAL_FAILED",
}

func (c Code) String() string {
	if int(c) < len(codeNames) && codeNames[c] != "" {
		return codeNames[c]
	}
	return "DIGEST_CODE_" + strconv.Itoa(int(c))
}

// ParseCode is the inverse of String; ok is false for an unknown name.
func ParseCode(s string) (Code, bool) {
	for c, n := range codeNames {
		if n != "" && n == s {
			return Code(c), true
		}
	}
	return 0, false
}

// HTTPStatus is the status a server answers with: 400 for requests that
// are malformed or aimed at another URI (RFC 7616 3.4.6), 413 for an
// auth-int body too large to hash, 503 when the AA cannot be asked, and
// 401 (with a new challenge) for everything else.
func (c Code) HTTPStatus() int {
	switch c {
	case BadHeader, URIMismatch:
		return http.StatusBadRequest
	case BodyTooLarge:
		return http.StatusRequestEntityTooLarge
	case Unavailable:
		return http.StatusServiceUnavailable
	}
	return http.StatusUnauthorized
}

// Error is a Digest failure: a Code, a Reason that is safe to show the
// peer (never a secret or hash of one), a Hint for the operator or user,
// and the internal cause.
type Error struct {
	Code   Code
	Reason string
	Hint   string
	Err    error
	// User is the user name the credentials carried (or their userhash),
	// for the log; "" before they parsed. Never sent to the peer.
	User string
}

func (e *Error) Error() string {
	s := e.Code.String()
	if e.Reason != "" {
		s += ": " + e.Reason
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// ErrorHint returns the advice for the operator or user.
func (e *Error) ErrorHint() string { return e.Hint }

// Is matches an *Error with the same Code, so
// errors.Is(err, &digest.Error{Code: digest.Replay}) works.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code
}

func errorf(c Code, format string, args ...any) *Error {
	return &Error{Code: c, Reason: fmt.Sprintf(format, args...)}
}

func badHeader(format string, args ...any) *Error { return errorf(BadHeader, format, args...) }

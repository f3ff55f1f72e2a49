package ntlm

import "fmt"

// Status is an NTSTATUS-style result code (MS-ERREF 2.3), as Windows
// reports NTLM failures.
type Status uint32

// Status codes NTLM validation can end with.
const (
	StatusSuccess            Status = 0x00000000
	StatusLogonFailure       Status = 0xC000006D
	StatusWrongPassword      Status = 0xC000006A
	StatusNoSuchUser         Status = 0xC0000064
	StatusAccountDisabled    Status = 0xC0000072
	StatusAccountLockedOut   Status = 0xC0000234
	StatusAccountExpired     Status = 0xC0000193
	StatusPasswordExpired    Status = 0xC0000071
	StatusAccountRestriction Status = 0xC000006E
	StatusNTLMBlocked        Status = 0xC0000418
	StatusTimeDifference     Status = 0xC0000133
	StatusInvalidToken       Status = 0x80090308 // SEC_E_INVALID_TOKEN
	StatusBadBindings        Status = 0x80090346 // SEC_E_BAD_BINDINGS
	StatusMessageAltered     Status = 0x8009030F // SEC_E_MESSAGE_ALTERED
	StatusOutOfSequence      Status = 0x80090310 // SEC_E_OUT_OF_SEQUENCE
)

var statusNames = map[Status]string{
	StatusSuccess:            "STATUS_SUCCESS",
	StatusLogonFailure:       "STATUS_LOGON_FAILURE",
	StatusWrongPassword:      "STATUS_WRONG_PASSWORD",
	StatusNoSuchUser:         "STATUS_NO_SUCH_USER",
	StatusAccountDisabled:    "STATUS_ACCOUNT_DISABLED",
	StatusAccountLockedOut:   "STATUS_ACCOUNT_LOCKED_OUT",
	StatusAccountExpired:     "STATUS_ACCOUNT_EXPIRED",
	StatusPasswordExpired:    "STATUS_PASSWORD_EXPIRED",
	StatusAccountRestriction: "STATUS_ACCOUNT_RESTRICTION",
	StatusNTLMBlocked:        "STATUS_NTLM_BLOCKED",
	StatusTimeDifference:     "STATUS_TIME_DIFFERENCE_AT_DC",
	StatusInvalidToken:       "SEC_E_INVALID_TOKEN",
	StatusBadBindings:        "SEC_E_BAD_BINDINGS",
	StatusMessageAltered:     "SEC_E_MESSAGE_ALTERED",
	StatusOutOfSequence:      "SEC_E_OUT_OF_SEQUENCE",
}

// String returns the MS-ERREF name.
func (s Status) String() string {
	if n, ok := statusNames[s]; ok {
		return n
	}
	return fmt.Sprintf("0x%08X", uint32(s))
}

// Error is an NTLM failure: the status, a reason that says what was
// wrong (safe to log; the wire only ever carries the status), a hint for
// the operator, and the internal cause.
type Error struct {
	Status Status
	Reason string
	Hint   string
	Err    error
}

func (e *Error) Error() string {
	s := e.Status.String()
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

// ErrorHint returns the advice for the operator.
func (e *Error) ErrorHint() string { return e.Hint }

// Is matches an *Error with the same Status.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Status == e.Status
}

func errorf(s Status, format string, args ...any) *Error {
	return &Error{Status: s, Reason: fmt.Sprintf(format, args...)}
}

func invalid(format string, args ...any) *Error { return errorf(StatusInvalidToken, format, args...) }

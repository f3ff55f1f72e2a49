package pac

import (
	"errors"
	"strings"

	"github.com/warden-auth/warden/krb5"
)

// Kind classifies a PAC failure; each kind has a sentinel for errors.Is.
type Kind uint8

// Kinds of failure.
const (
	// KindMalformed: the bytes do not parse (a PAC that cannot be trusted
	// to mean anything).
	KindMalformed Kind = iota + 1
	// KindMissing: a buffer the operation needs is absent.
	KindMissing
	// KindSignature: a signature does not verify, or is of the wrong
	// type for the key.
	KindSignature
	// KindUnsupported: the PAC is well formed but uses something this
	// package cannot process (an unknown checksum type, compressed
	// claims) or the caller asked for something impossible.
	KindUnsupported
	// KindMismatch: the PAC is sound but does not belong to the ticket
	// it came in (PAC_CLIENT_INFO disagrees with the ticket).
	KindMismatch
)

// Sentinels matched by errors.Is against any *Error of that Kind.
var (
	ErrMalformed   = errors.New("malformed PAC")
	ErrMissing     = errors.New("PAC buffer missing")
	ErrSignature   = errors.New("PAC signature invalid")
	ErrUnsupported = errors.New("PAC feature not supported")
	ErrMismatch    = errors.New("PAC does not match its ticket")
)

func (k Kind) sentinel() error {
	switch k {
	case KindMalformed:
		return ErrMalformed
	case KindMissing:
		return ErrMissing
	case KindSignature:
		return ErrSignature
	case KindUnsupported:
		return ErrUnsupported
	case KindMismatch:
		return ErrMismatch
	}
	return nil
}

// Error is every failure this package returns. Reason carries the
// observed values and is safe to show a peer (it never holds key
// material); Hint is advice for an operator; Err is the internal cause
// (an *ndr.Error, a *krb5.Error from kcrypto, ...).
type Error struct {
	Kind Kind
	// Buffer is the buffer concerned, 0 for the PACTYPE container.
	Buffer BufferType
	// Offset is the byte offset of a decoding problem from the start of
	// the input of the function that failed (the PAC for Decode, the
	// buffer for the per-buffer decoders); -1 when it does not apply.
	Offset int
	Reason string
	Hint   string
	Err    error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("pac: ")
	b.WriteString(e.Reason)
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap returns the internal cause.
func (e *Error) Unwrap() error { return e.Err }

// Is matches the sentinel of e's Kind (ErrMalformed, ErrSignature, ...).
func (e *Error) Is(target error) bool { return target != nil && target == e.Kind.sentinel() }

// Code is the Kerberos error a peer should see: a PAC that is malformed
// or fails verification means the ticket was modified
// (KRB_AP_ERR_MODIFIED, MS-KILE 3.4.5.3); an unsupported checksum type is
// KDC_ERR_SUMTYPE_NOSUPP.
func (e *Error) Code() krb5.ErrorCode {
	if e.Kind == KindUnsupported {
		return krb5.KDCErrSumTypeNoSupp
	}
	return krb5.KRBAPErrModified
}

// ErrorHint returns the advice for an operator (the CLI prints it as
// "warden: hint: ...").
func (e *Error) ErrorHint() string { return e.Hint }

func malformedf(buf BufferType, off int, reason string, err error) *Error {
	return &Error{Kind: KindMalformed, Buffer: buf, Offset: off, Reason: reason, Err: err}
}

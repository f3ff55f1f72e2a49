package client

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/warden-auth/warden/krb5"
)

// errContext is what the client knows when a KDC refuses, so that hints
// can name the principal, realm and enctypes involved.
type errContext struct {
	client  string // "alice@R"
	service string // "host/x@R"
	realm   string
	offered []krb5.EncType
	keytab  bool // the client key came from a keytab, not a password
	now     time.Time
}

// kdcError turns a KRB-ERROR received from a KDC into a *krb5.Error: the
// KDC's code, its e-text as the Reason (what the KDC chose to say), and a
// Hint for the user. The hints are written for the person at the
// terminal: the code alone ("KDC_ERR_C_PRINCIPAL_UNKNOWN") rarely tells
// them what to change.
func kdcError(ke *krb5.KRBError, x errContext) *krb5.Error {
	e := &krb5.Error{Code: ke.ErrorCode, Reason: strings.TrimSpace(ke.EText)}
	switch ke.ErrorCode {
	case krb5.KRBAPErrSkew:
		stime := ke.STime.Add(time.Duration(ke.SUSec) * time.Microsecond).UTC()
		e.Hint = fmt.Sprintf("sync the clock (NTP); the KDC's time is %s", stime.Format(time.RFC3339))
		if !x.now.IsZero() {
			e.Hint += fmt.Sprintf(", this host's is %s (%s)", x.now.UTC().Format(time.RFC3339), skewWords(x.now.Sub(stime)))
		}
	case krb5.KDCErrCPrincipalUnknown:
		e.Hint = fmt.Sprintf("check the user name and realm: the KDC of %s does not know %s", x.realm, x.client)
	case krb5.KDCErrSPrincipalUnknown:
		e.Hint = fmt.Sprintf("check the service name and realm: %s is not registered (services are named like host/fqdn or HTTP/fqdn)", x.service)
	case krb5.KDCErrPreauthFailed:
		if x.keytab {
			e.Hint = fmt.Sprintf("the keytab's key for %s does not match the KDC's: the password or keys changed since the keytab was exported; export it again", x.client)
		} else {
			e.Hint = "password incorrect; check the password (and Caps Lock) or ask an administrator to reset it"
		}
	case krb5.KDCErrPreauthRequired, krb5.KDCErrMorePreauthDataRequired:
		e.Hint = "the KDC requires a pre-authentication method this client did not complete (it does encrypted timestamp, and encrypted challenge inside FAST armor); if the account requires FAST, armor the request: warden kinit --armor-keytab KEYTAB"
	case krb5.KDCErrPreauthExpired:
		e.Hint = "the KDC's FAST cookie expired during the exchange; retry"
	case krb5.KDCErrUnknownCriticalFastOptions:
		e.Hint = "the KDC does not understand a critical FAST option this client set"
	case krb5.KDCErrETypeNoSupp:
		e.Hint = fmt.Sprintf("no encryption type in common: this client offered %s; check the account's keys and the ETypes (default_tkt_enctypes) setting", etypeWords(x.offered))
	case krb5.KDCErrClientRevoked:
		e.Hint = "the account is disabled or locked out; ask an administrator"
	case krb5.KDCErrKeyExpired:
		e.Hint = "the password has expired; set a new one"
	case krb5.KDCErrNameExp, krb5.KDCErrServiceExp:
		e.Hint = "the principal's account has expired; ask an administrator"
	case krb5.KDCErrClientNotYet, krb5.KDCErrServiceNotYet:
		e.Hint = "the principal is not valid yet; check the clock and the account's start date"
	case krb5.KDCErrTGTRevoked:
		e.Hint = "the ticket-granting ticket was revoked; run kinit again"
	case krb5.KDCErrServiceRevoked:
		e.Hint = "the service's account is disabled; ask its administrator"
	case krb5.KDCErrCannotPostdate, krb5.KDCErrNeverValid:
		e.Hint = "the requested ticket times are not valid; check the lifetime options and the clock"
	case krb5.KDCErrBadOption:
		e.Hint = "the KDC refused a requested option (renewable, forwardable, proxiable or renew); the account or realm policy may not allow it"
	case krb5.KDCErrPolicy:
		e.Hint = "the KDC's policy refused the request"
	case krb5.KRBAPErrTktExpired:
		e.Hint = "the ticket-granting ticket has expired; run kinit again"
	case krb5.KRBAPErrTktNYV:
		e.Hint = "the ticket is not valid yet; check the clock"
	case krb5.KRBAPErrBadIntegrity, krb5.KRBAPErrModified:
		e.Hint = "the KDC could not verify the request; the ticket-granting ticket may be stale (the realm's keys changed): run kinit again"
	case krb5.KRBAPErrRepeat:
		e.Hint = "the KDC saw this request twice (a replay); retry"
	case krb5.KDCErrWrongRealm:
		e.Hint = "the KDC serves a different realm: check the realm name and the [realms] section of krb5.conf"
	case krb5.KDCErrSvcUnavailable:
		e.Hint = "the KDC is temporarily unavailable; retry or use another KDC of the realm"
	case krb5.KDCErrMustUseUser2User:
		e.Hint = "the service requires user-to-user authentication, which this client does not do"
	case krb5.KDCErrPADataTypeNoSupp:
		e.Hint = "the KDC does not support the pre-authentication method offered"
	case krb5.KDCErrSumTypeNoSupp:
		e.Hint = "the KDC does not accept the checksum type of the session key's enctype"
	}
	return e
}

// checkSkew refuses a time the KDC vouched for (kdcTime, described by
// what: "ticket starts at", "encrypted challenge says") that is more than
// skew away from this host's clock, naming both clocks.
func checkSkew(what string, kdcTime, now time.Time, skew time.Duration) error {
	if d := kdcTime.Sub(now); d <= skew && -d <= skew {
		return nil
	}
	return &krb5.Error{Code: krb5.KRBAPErrSkew,
		Reason: fmt.Sprintf("the KDC's %s %s but this host's clock says %s (%s, allowed %v)",
			what, kdcTime.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339), skewWords(now.Sub(kdcTime)), skew),
		Hint: fmt.Sprintf("sync the clock (NTP); the KDC's time is %s", kdcTime.UTC().Format(time.RFC3339))}
}

func skewWords(d time.Duration) string {
	d = d.Round(time.Second)
	if d < 0 {
		return (-d).String() + " behind"
	}
	return d.String() + " ahead"
}

func etypeWords(ets []krb5.EncType) string {
	if len(ets) == 0 {
		return "none"
	}
	s := make([]string, len(ets))
	for i, e := range ets {
		s[i] = fmt.Sprintf("%v (%d)", e, int32(e))
	}
	return strings.Join(s, ", ")
}

// ReplyError is a KDC reply that decrypted correctly but does not answer
// the request that was sent: a reply for another request, a replay, or a
// KDC granting what nobody asked for. It is always wrapped in a *krb5.Error
// with code KRB_AP_ERR_MODIFIED.
type ReplyError struct {
	Field     string // "nonce", "cname", "sname", "endtime", ...
	Got, Want string
}

func (e *ReplyError) Error() string {
	return fmt.Sprintf("KDC reply %s is %s, expected %s", e.Field, e.Got, e.Want)
}

func replyMismatch(field, got, want string) *krb5.Error {
	return &krb5.Error{
		Code:   krb5.KRBAPErrModified,
		Reason: "the KDC reply does not match the request",
		Hint:   "the reply was altered, replayed or sent by something that is not the realm's KDC; check the KDC addresses in krb5.conf",
		Err:    &ReplyError{Field: field, Got: got, Want: want},
	}
}

// UnreachableError means no KDC of a realm answered.
type UnreachableError struct {
	Realm string
	KDCs  []string
	Errs  []error // one per attempt
}

func (e *UnreachableError) Error() string {
	if len(e.KDCs) == 0 {
		return fmt.Sprintf("no KDC is known for realm %s", e.Realm)
	}
	return fmt.Sprintf("cannot reach any KDC of realm %s (%s): %v", e.Realm, strings.Join(e.KDCs, ", "), errors.Join(e.Errs...))
}

// Unwrap returns the individual attempts' errors.
func (e *UnreachableError) Unwrap() []error { return e.Errs }

// ErrorHint tells the user where to look.
func (e *UnreachableError) ErrorHint() string {
	if len(e.KDCs) == 0 {
		return fmt.Sprintf("add the realm to krb5.conf: [realms] %s = { kdc = host:88 } (or set default_realm to a configured realm)", e.Realm)
	}
	return "check that the KDC is running and that UDP and TCP port 88 (or the configured port) are reachable"
}

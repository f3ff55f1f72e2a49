package kdc

import (
	"fmt"
	"strings"
	"time"

	"github.com/warden-auth/warden/krb5"
)

// The refusals the KDC can send. Reason is what the client sees in e-text;
// Hint advises whoever reads the log or a local error. Reasons say what
// was observed ("7m3s ahead") and never carry secrets.

// checkSkew refuses a client timestamp t further than MaxSkew from the
// KDC's clock (KRB_AP_ERR_SKEW); what, when not empty, names the message
// the timestamp came from ("FAST armor", "PKINIT") in the reason.
func (x *exchange) checkSkew(t time.Time, what string) error {
	if d := t.Sub(x.now); d <= x.k.cfg.MaxSkew && -d <= x.k.cfg.MaxSkew {
		return nil
	}
	e := errSkew(t, x.now, x.k.cfg.MaxSkew)
	if what != "" {
		e.Reason = what + ": " + e.Reason
	}
	return e
}

func errSkew(client, kdc time.Time, allowed time.Duration) *krb5.Error {
	d := client.Sub(kdc)
	dir := "ahead of"
	if d < 0 {
		d, dir = -d, "behind"
	}
	return &krb5.Error{
		Code: krb5.KRBAPErrSkew,
		Reason: fmt.Sprintf("client clock is %s %s the KDC (client %s, KDC %s, allowed %s)",
			d.Round(time.Second), dir, client.UTC().Format(time.RFC3339), kdc.UTC().Format(time.RFC3339), allowed),
		Hint: "sync the clock (NTP)",
	}
}

func errClientUnknown(name string) *krb5.Error {
	return &krb5.Error{Code: krb5.KDCErrCPrincipalUnknown,
		Reason: fmt.Sprintf("client %s not found", name),
		Hint:   "check the user name and realm; an administrator can list accounts with warden user list"}
}

func errServerUnknown(name string) *krb5.Error {
	return &krb5.Error{Code: krb5.KDCErrSPrincipalUnknown,
		Reason: fmt.Sprintf("service %s not found", name),
		Hint:   "check the service name; register it with warden service add"}
}

func errPreauthFailed(name string) *krb5.Error {
	return &krb5.Error{Code: krb5.KDCErrPreauthFailed,
		Reason: "password incorrect for " + name,
		Hint:   "check the password (or the keytab's key version)"}
}

func errDisabled(name string) *krb5.Error {
	return &krb5.Error{Code: krb5.KDCErrClientRevoked,
		Reason: "account " + name + " is disabled",
		Hint:   "an administrator can enable it with warden user enable"}
}

func errServiceDisabled(name string) *krb5.Error {
	return &krb5.Error{Code: krb5.KDCErrServiceRevoked,
		Reason: "service " + name + " is disabled",
		Hint:   "an administrator can enable the service account"}
}

func errLocked(name string, until time.Time) *krb5.Error {
	return &krb5.Error{Code: krb5.KDCErrClientRevoked,
		Reason: fmt.Sprintf("account %s is locked out after too many wrong passwords until %s", name, until.UTC().Format(time.RFC3339)),
		Hint:   "wait, or have an administrator run warden user unlock"}
}

func errAccountExpired(name string, at time.Time) *krb5.Error {
	return &krb5.Error{Code: krb5.KDCErrNameExp,
		Reason: fmt.Sprintf("account %s expired on %s", name, at.UTC().Format(time.RFC3339)),
		Hint:   "an administrator must extend the account"}
}

func errPasswordExpired(name string, at time.Time) *krb5.Error {
	return &krb5.Error{Code: krb5.KDCErrKeyExpired,
		Reason: fmt.Sprintf("password of %s expired on %s", name, at.UTC().Format(time.RFC3339)),
		Hint:   "change the password (kpasswd) or have an administrator set one with warden user passwd"}
}

func errNoCommonEType(offered []krb5.EncType, who string, has []krb5.EncType) *krb5.Error {
	return &krb5.Error{Code: krb5.KDCErrETypeNoSupp,
		Reason: fmt.Sprintf("no common enctype: client offered %s, %s has %s", etypeList(offered), who, etypeList(has)),
		Hint:   "enable a shared enctype in krb5.conf (permitted_enctypes) or give the account keys of the client's enctypes"}
}

func errWrongRealm(got, want string) *krb5.Error {
	return &krb5.Error{Code: krb5.KDCErrWrongRealm,
		Reason: fmt.Sprintf("this KDC serves realm %s, not %s", want, got),
		Hint:   "check default_realm and [realms] in krb5.conf"}
}

// errNoKrbtgtKey is the refusal when the TGS principal has no usable key
// to sign or check a PAC with.
func errNoKrbtgtKey() *krb5.Error {
	return &krb5.Error{Code: krb5.KDCErrNullKey, Reason: "the realm's krbtgt account has no keys",
		Hint: "the krbtgt account has no key of an enabled enctype: check its keys in the account DB (RC4-only keys need RC4 enabled)"}
}

func errBadOption(what string) *krb5.Error {
	return &krb5.Error{Code: krb5.KDCErrBadOption, Reason: what}
}

func errPolicy(what, hint string) *krb5.Error {
	return &krb5.Error{Code: krb5.KDCErrPolicy, Reason: what, Hint: hint}
}

func etypeList(es []krb5.EncType) string {
	parts := make([]string, len(es))
	for i, e := range es {
		parts[i] = fmt.Sprintf("%d (%s)", int32(e), e)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// errFASTRequired refuses an unarmored AS-REQ of an account that must use
// FAST. The code is PREAUTH_REQUIRED with PA-FX-FAST as the only method,
// which FAST clients answer by armoring; the reason tells a person what
// to do.
func errFASTRequired() *krb5.Error {
	return &krb5.Error{Code: krb5.KDCErrPreauthRequired,
		Reason: "FAST armor is required for this account; armor the request with a computer's TGT (MIT: kinit -T <computer ccache>; warden kinit --armor-keytab or --armor-ccache)",
		Hint:   "the account or the realm requires FAST (fast-required): get a computer TGT with kinit -k first, then use it as armor"}
}

// errFASTRequiredTGS refuses an unarmored TGS-REQ of such an account.
func errFASTRequiredTGS() *krb5.Error {
	return errPolicy("FAST armor is required for this account: the TGS-REQ must be FAST-armored (MIT clients armor TGS requests themselves; use a FAST-capable client)",
		"the account or the realm requires FAST (fast-required)")
}

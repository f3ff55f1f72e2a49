package passthrough

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/warden-auth/warden/auth"
	"github.com/warden-auth/warden/digest"
	"github.com/warden-auth/warden/ntlm"
	"github.com/warden-auth/warden/store"
)

// Digest validation at the AA (MS-APDS 3.3 with the RFC 7616 extensions
// of the Digest spec digest, 5.4): the server forwards every input of the
// client's response; the AA recomputes it from the H(A1) that admin
// derived when the password was set (store.HA1: one per algorithm for
// the Digest realm, which is the Kerberos realm name, and the account
// name as stored), and answers with the identity and rspauth. A plain
// H(A1) is a password equivalent for the realm and never leaves the AA;
// nor does a -sess session key, so servers ask for every request.

// ValidateDigest checks a Digest response that the server caller (a
// computer account such as "WEB01$") received. Every refusal is a
// *digest.Error whose Code is the true reason, for the AA's log; servers
// get LogonFailure for both unknown user and wrong password (the HTTP
// handler masks them).
func (s *Service) ValidateDigest(ctx context.Context, caller string, v *digest.Validation) (*digest.Verdict, error) {
	now := s.cfg.Time()
	if err := v.Check(); err != nil {
		return nil, err
	}
	realm, err := s.cache.getRealm(ctx, now)
	if err != nil {
		return nil, err
	}
	if _, err := s.checkCaller(ctx, caller, now); err != nil {
		return nil, digestError(err)
	}
	if v.Realm != realm.Name {
		return nil, &digest.Error{Code: digest.WrongRealm,
			Reason: fmt.Sprintf("Digest realm %q is not the realm the AA keeps H(A1)s for (%s)", v.Realm, realm.Name),
			Hint:   "configure the server's Digest realm as " + realm.Name}
	}
	acct, err := s.digestAccount(ctx, v, realm.Name, now)
	if errors.Is(err, store.ErrNotFound) || err == nil && acct.Kind != store.KindUser {
		// Same work as a wrong password, so timing does not tell.
		v.Verify(s.dummyHA1(v.Algorithm))
		return nil, &digest.Error{Code: digest.NoSuchUser, Reason: fmt.Sprintf("no user %s", describeUser(v))}
	}
	if err != nil {
		return nil, err
	}
	if err := accountState(acct, now); err != nil {
		v.Verify(s.dummyHA1(v.Algorithm))
		return nil, digestError(err)
	}
	ha1 := storedHA1(acct, v.Algorithm.Base(), realm.Name)
	if ha1 == nil {
		return nil, &digest.Error{Code: digest.AccountRestriction,
			Reason: fmt.Sprintf("account %s has no %s H(A1) for realm %s (password set before Digest secrets were kept, or the algorithm is not kept)", acct.Name, v.Algorithm.Base(), realm.Name),
			Hint:   "set the password again (warden user passwd) so its Digest secrets are derived"}
	}
	rsp, err := v.Verify(ha1)
	if err != nil {
		var de *digest.Error
		if errors.As(err, &de) && de.Code == digest.WrongPassword {
			if !v.UserHash && v.Username != acct.Name {
				de.Reason += fmt.Sprintf(" (the client spelled the name %q; Digest hashes it as stored, %q)", v.Username, acct.Name)
			}
			de.Reason += s.logonFailed(ctx, acct, realm, now)
		}
		return nil, err
	}
	id, err := s.loggedOn(ctx, acct, realm, auth.MethodDigest)
	if err != nil {
		return nil, err
	}
	return &digest.Verdict{Identity: *id, RspAuth: rsp}, nil
}

// digestAccount finds the account a response names: by its userhash, or
// by name (case-insensitively; a name in another case then fails the
// hash, and the log says why).
func (s *Service) digestAccount(ctx context.Context, v *digest.Validation, realm string, now time.Time) (*store.Account, error) {
	if v.UserHash {
		return s.accountByUserHash(ctx, v.Algorithm, realm, v.Username, now)
	}
	return s.cache.account(ctx, v.Username, now)
}

// storedHA1 returns the account's H(A1) for an algorithm and Digest realm.
func storedHA1(a *store.Account, alg digest.Algorithm, realm string) []byte {
	for _, h := range a.Secrets.HA1s {
		if strings.EqualFold(h.Algorithm, alg.String()) && h.Realm == realm && len(h.Value) == alg.Size() {
			return h.Value
		}
	}
	return nil
}

// dummyHA1 is a random H(A1) of the algorithm's size, verified against
// for users that do not exist.
func (s *Service) dummyHA1(alg digest.Algorithm) []byte {
	if alg.Size() == len(s.dummy) {
		return s.dummy[:]
	}
	h := sha256.Sum256(s.dummy[:])
	return h[:]
}

func describeUser(v *digest.Validation) string {
	if v.UserHash {
		return "with userhash " + v.Username
	}
	return fmt.Sprintf("%q", v.Username)
}

// digestError turns the account-state and caller refusals shared with
// NTLM into Digest codes.
func digestError(err error) error {
	var ne *ntlm.Error
	if !errors.As(err, &ne) {
		return err
	}
	code := digest.AccountRestriction
	switch ne.Status {
	case ntlm.StatusAccountDisabled:
		code = digest.AccountDisabled
	case ntlm.StatusAccountLockedOut:
		code = digest.AccountLockedOut
	case ntlm.StatusAccountExpired:
		code = digest.AccountExpired
	case ntlm.StatusPasswordExpired:
		code = digest.PasswordExpired
	}
	return &digest.Error{Code: code, Reason: ne.Reason, Hint: ne.Hint}
}

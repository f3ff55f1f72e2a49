// Package passthrough is the AA's validation service for NTLM (MS-APDS
// pass-through) and Digest (digest.go): an application server forwards what
// the client answered, and the AA checks it against the secrets in the
// account DB, applies account state and lockout, and returns the
// identity, groups and session key. The application server never holds a
// user's secret.
package passthrough

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/warden-auth/warden/auth"
	"github.com/warden-auth/warden/ntlm"
	"github.com/warden-auth/warden/store"
)

// Config configures a Service. Zero values are the documented defaults.
type Config struct {
	Store store.Store
	// MaxClockSkew bounds the NTLMv2 timestamp; default
	// ntlm.DefaultMaxClockSkew.
	MaxClockSkew time.Duration
	// PollInterval is how often the cached accounts are checked against
	// the store's generation (admin changes are seen within it); 0 means
	// one second, as for the KDC.
	PollInterval time.Duration
	Time         func() time.Time
}

// Service validates answers on behalf of application servers.
type Service struct {
	cfg Config
	// dummy is verified against when the user does not exist, so that an
	// unknown user costs the same as a wrong password.
	dummy [16]byte
	cache *cache
	// userhash finds Digest accounts by H(name ":" realm) (digest_userhash.go).
	userhash userhashIndex
}

// New returns a Service.
func New(cfg Config) (*Service, error) {
	if cfg.Store == nil {
		return nil, errors.New("passthrough: no store")
	}
	if cfg.Time == nil {
		cfg.Time = time.Now
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = time.Second
	}
	s := &Service{cfg: cfg, cache: &cache{st: cfg.Store, interval: cfg.PollInterval}}
	rand.Read(s.dummy[:])
	return s, nil
}

// Result is a successful validation.
type Result struct {
	Identity auth.Identity
	// SessionBaseKey (NTLM) lets the calling server check the MIC and
	// derive session keys. It is returned only to the server whose name
	// the client's answer carries.
	SessionBaseKey [16]byte
}

// ValidateNTLM checks an NTLMv2 answer that the server caller (an
// account name such as "WEB01$") received. Every refusal is an
// *ntlm.Error whose Status is the true reason, for the AA's log; callers
// tell clients only "logon failure".
func (s *Service) ValidateNTLM(ctx context.Context, caller string, v *ntlm.Validation) (*Result, error) {
	now := s.cfg.Time()
	realm, err := s.cache.getRealm(ctx, now)
	if err != nil {
		return nil, err
	}
	callerAcct, err := s.checkCaller(ctx, caller, now)
	if err != nil {
		return nil, err
	}
	server := strings.TrimSuffix(callerAcct.Name, "$")
	if v.Domain != "" && !strings.EqualFold(v.Domain, realm.NetBIOS) && !strings.EqualFold(v.Domain, realm.Name) {
		return nil, &ntlm.Error{Status: ntlm.StatusNoSuchUser, Reason: fmt.Sprintf("domain %q is not this realm (%s or %s)", v.Domain, realm.NetBIOS, realm.Name)}
	}
	acct, err := s.cache.account(ctx, v.User, now)
	if errors.Is(err, store.ErrNotFound) || err == nil && acct.Kind != store.KindUser && acct.Kind != store.KindComputer {
		// Same work as a wrong password, so timing does not tell.
		ntlm.VerifyResponse(v, s.dummy, now, s.cfg.MaxClockSkew)
		return nil, &ntlm.Error{Status: ntlm.StatusNoSuchUser, Reason: fmt.Sprintf("no account %q", v.User)}
	}
	if err != nil {
		return nil, err
	}
	if err := accountState(acct, now); err != nil {
		ntlm.VerifyResponse(v, s.dummy, now, s.cfg.MaxClockSkew)
		return nil, err
	}
	if len(acct.Secrets.NTHash) != 16 {
		return nil, &ntlm.Error{Status: ntlm.StatusAccountRestriction, Reason: fmt.Sprintf("account %s has no NT hash (no password set, or NTLM secrets not kept)", acct.Name),
			Hint: "set the password again (warden user passwd) so its NT hash is derived"}
	}
	ver, err := ntlm.VerifyResponse(v, [16]byte(acct.Secrets.NTHash), now, s.cfg.MaxClockSkew)
	if err != nil {
		var ne *ntlm.Error
		if errors.As(err, &ne) && ne.Status == ntlm.StatusWrongPassword {
			ne.Reason += s.logonFailed(ctx, acct, realm, now)
		}
		return nil, err
	}
	// Anti-relay (MS-APDS 3.1.5.2 step 5): the client answered a
	// challenge naming a server and a domain, signed into NTProofStr.
	if got := ver.AVPairs.String(ntlm.AvNbDomainName); !strings.EqualFold(got, realm.NetBIOS) {
		return nil, &ntlm.Error{Status: ntlm.StatusLogonFailure, Reason: fmt.Sprintf("relay refused: the client answered a challenge for domain %q, not %s", got, realm.NetBIOS)}
	}
	if got := ver.AVPairs.String(ntlm.AvNbComputerName); !strings.EqualFold(got, server) {
		return nil, &ntlm.Error{Status: ntlm.StatusLogonFailure, Reason: fmt.Sprintf("relay refused: the client answered a challenge from server %q, but %s asked for validation", got, caller)}
	}
	id, err := s.loggedOn(ctx, acct, realm, auth.MethodNTLM)
	if err != nil {
		return nil, err
	}
	return &Result{Identity: *id, SessionBaseKey: ver.SessionBaseKey}, nil
}

// logonFailed counts a wrong password towards lockout, in the store so
// that the count holds across restarts and AA nodes, and returns what to
// add to the refusal's reason (for the AA's log; servers are told only
// "logon failure").
func (s *Service) logonFailed(ctx context.Context, acct *store.Account, realm store.Realm, now time.Time) string {
	lo, err := s.cfg.Store.RecordLogonFailure(ctx, acct.Name, now, realm.Policy)
	s.cache.forget(acct.Name)
	switch {
	case err != nil:
		return "; the failure could not be counted towards lockout: " + err.Error()
	case lo.Locked(now):
		return fmt.Sprintf("; the account is now locked until %s", lo.LockedUntil.UTC().Format(time.RFC3339))
	}
	return ""
}

// loggedOn clears the failure count of an account that has just proved
// its password and returns its identity, authenticated by method.
func (s *Service) loggedOn(ctx context.Context, acct *store.Account, realm store.Realm, method auth.Method) (*auth.Identity, error) {
	if acct.Lockout.BadCount > 0 {
		// Best effort: a count left behind only brings a lockout nearer,
		// and the logon itself was right.
		_ = s.cfg.Store.ResetLockout(ctx, acct.Name)
		s.cache.forget(acct.Name)
	}
	id, err := s.identity(ctx, acct, realm)
	if err != nil {
		return nil, err
	}
	id.Method = method
	return id, nil
}

// checkCaller returns the account of a server allowed to ask the AA: an
// enabled computer account of the realm, the equivalent of a domain
// member's Netlogon secure channel. A refusal is an *ntlm.Error; a store
// that cannot answer is its own error, not a refusal of the caller.
func (s *Service) checkCaller(ctx context.Context, caller string, now time.Time) (*store.Account, error) {
	a, err := s.cache.account(ctx, caller, now)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("cannot look up the calling server %q: %w", caller, err)
	}
	if err != nil || a.Kind != store.KindComputer || a.Flags&store.FlagDisabled != 0 {
		return nil, &ntlm.Error{Status: ntlm.StatusAccountRestriction,
			Reason: fmt.Sprintf("%q may not ask for validation: only enabled computer accounts of the realm may", caller),
			Hint:   "run the server with a computer account's keytab (warden computer add NAME --keytab F)"}
	}
	return a, nil
}

// accountState refuses disabled, locked and expired accounts.
func accountState(a *store.Account, now time.Time) error {
	switch {
	case a.Flags&store.FlagDisabled != 0:
		return &ntlm.Error{Status: ntlm.StatusAccountDisabled, Reason: "account " + a.Name + " is disabled"}
	case a.Lockout.Locked(now):
		return &ntlm.Error{Status: ntlm.StatusAccountLockedOut, Reason: "account " + a.Name + " is locked until " + a.Lockout.LockedUntil.UTC().Format(time.RFC3339)}
	case !a.AccountExpires.IsZero() && !now.Before(a.AccountExpires):
		return &ntlm.Error{Status: ntlm.StatusAccountExpired, Reason: "account " + a.Name + " expired at " + a.AccountExpires.UTC().Format(time.RFC3339)}
	case !a.PasswordExpires.IsZero() && !now.Before(a.PasswordExpires) && a.Flags&store.FlagPasswordNeverExpires == 0:
		return &ntlm.Error{Status: ntlm.StatusPasswordExpired, Reason: "the password of " + a.Name + " expired at " + a.PasswordExpires.UTC().Format(time.RFC3339)}
	}
	return nil
}

// identity builds the identity with the account's groups, nested
// memberships expanded, and its claims; cached with the account. The
// caller gets its own copy.
func (s *Service) identity(ctx context.Context, a *store.Account, realm store.Realm) (*auth.Identity, error) {
	id, err := s.cache.identity(a.Name, func() (*auth.Identity, error) { return s.buildIdentity(ctx, a, realm) })
	if err != nil {
		return nil, err
	}
	cp := *id
	cp.Groups = append([]auth.Group(nil), id.Groups...)
	cp.Claims = make([]auth.Claim, len(id.Claims))
	for i, c := range id.Claims {
		cp.Claims[i] = auth.Claim{ID: c.ID, Values: append([]string(nil), c.Values...)}
	}
	return &cp, nil
}

func (s *Service) buildIdentity(ctx context.Context, a *store.Account, realm store.Realm) (*auth.Identity, error) {
	id := &auth.Identity{User: a.Name, Realm: realm.Name, SID: store.SID(realm.DomainSID, a.RID)}
	groups, err := s.cfg.Store.MemberOf(ctx, a.Name)
	if err != nil {
		return nil, err
	}
	// The implicit primary group first, as in the PAC.
	rid, name := store.PrimaryGroup(a.Kind)
	id.Groups = append(id.Groups, auth.Group{SID: store.SID(realm.DomainSID, rid), Name: name})
	for _, g := range groups {
		if g.RID == rid {
			continue
		}
		id.Groups = append(id.Groups, auth.Group{SID: store.SID(realm.DomainSID, g.RID), Name: g.Name})
	}
	claims, err := s.cfg.Store.Claims(ctx, a.Name)
	if err != nil {
		return nil, err
	}
	for _, c := range claims {
		id.Claims = append(id.Claims, auth.Claim{ID: c.ID, Values: c.Values})
	}
	return id, nil
}

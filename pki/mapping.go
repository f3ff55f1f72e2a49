package pki

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/warden-auth/warden/store"
)

// Method is how a certificate was mapped to an account.
type Method string

// Mapping methods. SID and issuer+serial are strong; the UPN alone is weak.
const (
	MethodSID     Method = "sid"           // the SID extension (or SAN URL) names the account
	MethodBinding Method = "issuer-serial" // an explicit binding of this issuer and serial
	MethodUPN     Method = "upn"           // the SAN UPN only (weak)
)

// MapperConfig configures a Mapper.
type MapperConfig struct {
	Store store.Store // required: the account DB
	// AllowUPN lets a certificate that carries only a UPN map to the
	// account with that UPN (a weak mapping, off by default as in AD's
	// full enforcement mode).
	AllowUPN bool
	Time     func() time.Time
}

// Mapper maps verified client certificates to accounts (MS-PKCA
// 3.1.5.2.1 with KB5014754 full enforcement). Safe for concurrent use.
type Mapper struct {
	cfg   MapperConfig
	realm store.Realm
}

// Mapping is the account a certificate maps to and how.
type Mapping struct {
	Account *store.Account
	SID     string
	Method  Method
	Strong  bool
	Groups  []*store.Group // every group of the account, nested ones included
}

// NewMapper returns a Mapper for the realm in the store.
func NewMapper(ctx context.Context, cfg MapperConfig) (*Mapper, error) {
	if cfg.Store == nil {
		return nil, errors.New("pki: MapperConfig.Store is required")
	}
	r, err := cfg.Store.Realm(ctx)
	if err != nil {
		return nil, err
	}
	return &Mapper{cfg: cfg, realm: r}, nil
}

const mapHint = "issue the certificate with warden cert issue --account NAME (it carries the SID), or bind this one with warden cert bind"

// Map finds the account of a client certificate that VerifyClient
// accepted. In order: an explicit issuer+serial binding; the SID
// extension; the UPN (only with AllowUPN). A SID that disagrees with the
// other mapping is refused (CodeMappingMismatch), as is a disabled,
// expired or locked-out account.
func (m *Mapper) Map(ctx context.Context, cert *x509.Certificate) (*Mapping, error) {
	who := fmt.Sprintf("certificate %s (serial %s, issuer %s)", cert.Subject, SerialString(cert.SerialNumber), cert.Issuer)
	sid, err := CertSID(cert)
	if err != nil {
		return nil, newErr(CodeBadCertificate, who+": "+err.Error(), "", err)
	}
	upns, err := CertUPNs(cert)
	if err != nil {
		return nil, newErr(CodeBadCertificate, who+": "+err.Error(), "", err)
	}
	st := m.cfg.Store
	var mp Mapping

	b, err := st.CertBinding(ctx, cert.Issuer.String(), SerialString(cert.SerialNumber))
	switch {
	case err == nil:
		acct, err := st.Account(ctx, b.Account)
		if err != nil {
			return nil, m.lookupErr(who, "its binding names account "+b.Account, err)
		}
		mp = Mapping{Account: acct, Method: MethodBinding, Strong: true}
	case !errors.Is(err, store.ErrNotFound):
		return nil, err
	case sid != "":
		rid, ok := m.ridOf(sid)
		if !ok {
			return nil, newErr(CodeUnmapped, fmt.Sprintf("%s carries SID %s, which is not in realm %s (domain %s)", who, sid, m.realm.Name, m.realm.DomainSID), mapHint, nil)
		}
		acct, err := st.AccountByRID(ctx, rid)
		if err != nil {
			return nil, m.lookupErr(who, "its SID "+sid+" names no account (deleted?)", err)
		}
		mp = Mapping{Account: acct, Method: MethodSID, Strong: true}
	case len(upns) > 0:
		acct, err := m.byUPN(ctx, upns[0])
		if err != nil {
			return nil, m.lookupErr(who, "its UPN "+upns[0]+" names no account", err)
		}
		if !m.cfg.AllowUPN {
			return nil, newErr(CodeWeakMapping, fmt.Sprintf("%s maps to %s only by its UPN %s, a weak mapping; the realm requires a strong one (SID extension or explicit binding)",
				who, acct.Name, upns[0]), mapHint+"; or allow UPN mapping (pki.allow_upn_mapping)", nil)
		}
		// The compatibility-mode guard of KB5014754: a certificate older
		// than the account was made for someone else with that name.
		if cert.NotBefore.Add(backdate + time.Minute).Before(acct.Created) {
			return nil, newErr(CodeMappingMismatch, fmt.Sprintf("%s was issued at %s, before account %s was created at %s",
				who, fmtTime(cert.NotBefore), acct.Name, fmtTime(acct.Created)), "issue a new certificate for the new account", nil)
		}
		mp = Mapping{Account: acct, Method: MethodUPN}
	default:
		return nil, newErr(CodeUnmapped, who+" carries no SID extension or UPN and has no binding", mapHint, nil)
	}

	acct := mp.Account
	mp.SID = store.SID(m.realm.DomainSID, acct.RID)
	if sid != "" && sid != mp.SID {
		return nil, newErr(CodeMappingMismatch, fmt.Sprintf("%s carries SID %s but maps by %s to %s (SID %s)", who, sid, mp.Method, acct.Name, mp.SID),
			"the certificate was issued to another account; issue a new one", nil)
	}
	if mp.Method == MethodSID && len(upns) > 0 && !m.upnMatches(acct, upns[0]) {
		return nil, newErr(CodeMappingMismatch, fmt.Sprintf("%s carries UPN %s but its SID names %s (UPN %s)", who, upns[0], acct.Name, AccountUPN(acct, m.realm.Name)),
			"the account's UPN changed after issuance; issue a new certificate", nil)
	}
	if err := m.usable(acct); err != nil {
		return nil, err
	}
	groups, err := st.MemberOf(ctx, acct.Name)
	if err != nil {
		return nil, err
	}
	mp.Groups = groups
	return &mp, nil
}

func (m *Mapper) lookupErr(who, what string, err error) error {
	if errors.Is(err, store.ErrNotFound) {
		return newErr(CodeUnmapped, who+": "+what, mapHint, err)
	}
	return err
}

// ridOf returns the RID of a SID in the realm's domain.
func (m *Mapper) ridOf(sid string) (uint32, bool) {
	rest, ok := strings.CutPrefix(sid, m.realm.DomainSID+"-")
	if !ok {
		return 0, false
	}
	rid, err := strconv.ParseUint(rest, 10, 32)
	return uint32(rid), err == nil
}

func (m *Mapper) upnMatches(acct *store.Account, upn string) bool {
	return strings.EqualFold(AccountUPN(acct, m.realm.Name), upn)
}

// byUPN finds the account whose UPN (or NAME@REALM for an account
// without one) is upn.
func (m *Mapper) byUPN(ctx context.Context, upn string) (*store.Account, error) {
	acct, err := m.cfg.Store.AccountByPrincipal(ctx, upn)
	if err == nil && m.upnMatches(acct, upn) {
		return acct, nil
	}
	if name, realm, ok := strings.Cut(upn, "@"); ok && strings.EqualFold(realm, m.realm.Name) {
		if a, err := m.cfg.Store.Account(ctx, name); err == nil && a.UPN == "" {
			return a, nil
		}
	}
	if err == nil {
		err = store.ErrNotFound
	}
	return nil, err
}

func (m *Mapper) usable(a *store.Account) error {
	now := nowFrom(m.cfg.Time)
	switch {
	case a.Flags&store.FlagDisabled != 0:
		return newErr(CodeAccountDisabled, "account "+a.Name+" is disabled", "an administrator can enable it: warden user enable "+a.Name, nil)
	case !a.AccountExpires.IsZero() && !now.Before(a.AccountExpires):
		return newErr(CodeAccountDisabled, fmt.Sprintf("account %s expired at %s", a.Name, fmtTime(a.AccountExpires)), "", nil)
	case a.Lockout.Locked(now):
		return newErr(CodeAccountLocked, fmt.Sprintf("account %s is locked out until %s", a.Name, fmtTime(a.Lockout.LockedUntil)), "wait, or: warden user unlock "+a.Name, nil)
	}
	return nil
}

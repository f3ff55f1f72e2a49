// Package admin holds the account operations shared by the CLI and the
// AA's API: creating a realm, users, computers and services, setting
// passwords (which derives every secret at once), groups, claims and
// keytab export. It enforces the realm's rules (name forms, password
// policy) on top of the store, which only keeps records.
package admin

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/warden-auth/warden/krb5"
	"github.com/warden-auth/warden/krb5/keytab"
	"github.com/warden-auth/warden/store"
)

// Admin performs account operations on one realm's store.
type Admin struct {
	st    store.Store
	realm store.Realm
	now   func() time.Time
	rand  io.Reader
}

// Config configures an Admin; zero Time and Rand mean time.Now and
// crypto/rand.
type Config struct {
	Store store.Store
	Time  func() time.Time
	Rand  io.Reader
}

// New returns an Admin over an initialised store.
func New(ctx context.Context, cfg Config) (*Admin, error) {
	if cfg.Time == nil {
		cfg.Time = time.Now
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Reader
	}
	r, err := cfg.Store.Realm(ctx)
	if err != nil {
		return nil, err
	}
	return &Admin{st: cfg.Store, realm: r, now: cfg.Time, rand: cfg.Rand}, nil
}

// Realm returns the realm record.
func (a *Admin) Realm() store.Realm { return a.realm }

// Store returns the underlying store.
func (a *Admin) Store() store.Store { return a.st }

// Error is a refusal by the realm's rules, with advice.
type Error struct {
	Reason string
	Hint   string
	Err    error // a store sentinel when one applies
}

func (e *Error) Error() string { return e.Reason }

// Unwrap returns the store sentinel, if any.
func (e *Error) Unwrap() error { return e.Err }

// ErrorHint implements the CLI's hint interface.
func (e *Error) ErrorHint() string { return e.Hint }

// InitRealm creates the realm record, its krbtgt account and the
// well-known groups in an empty store.
func InitRealm(ctx context.Context, st store.Store, name string, rnd io.Reader, now time.Time) (store.Realm, error) {
	if rnd == nil {
		rnd = rand.Reader
	}
	name = strings.ToUpper(strings.TrimSpace(name))
	if err := ValidRealm(name); err != nil {
		return store.Realm{}, err
	}
	var sub [12]byte
	if _, err := io.ReadFull(rnd, sub[:]); err != nil {
		return store.Realm{}, err
	}
	sid := fmt.Sprintf("S-1-5-21-%d-%d-%d", binary.LittleEndian.Uint32(sub[0:]), binary.LittleEndian.Uint32(sub[4:]), binary.LittleEndian.Uint32(sub[8:]))
	netbios := strings.SplitN(name, ".", 2)[0]
	if len(netbios) > 15 {
		netbios = netbios[:15]
	}
	r := store.Realm{Name: name, DomainSID: sid, NetBIOS: netbios, Policy: store.DefaultPolicy, Created: now.UTC()}
	if err := st.InitRealm(ctx, r); err != nil {
		return r, err
	}
	secrets, err := RandomSecrets(rnd, 1, KeyOptions{})
	if err != nil {
		return r, err
	}
	tgs := &store.Account{Kind: store.KindService, Name: "krbtgt", SPNs: []string{"krbtgt/" + name},
		RID: store.RIDKrbtgt, DisplayName: "Key Distribution Center service", Secrets: secrets, PasswordLastSet: now.UTC()}
	if err := st.CreateAccount(ctx, tgs); err != nil {
		return r, err
	}
	for _, g := range []store.Group{
		{Name: "Domain Admins", RID: 512, Description: "administrators of the realm"},
		{Name: "Domain Users", RID: store.RIDDomainUsers, Description: "every user (primary group)"},
		{Name: "Domain Computers", RID: store.RIDDomainComputers, Description: "every computer (primary group)"},
	} {
		if err := st.CreateGroup(ctx, &g); err != nil {
			return r, err
		}
	}
	return r, nil
}

// ValidRealm checks a realm name: DNS-like, upper case by convention.
func ValidRealm(name string) error {
	if name == "" || len(name) > 255 || strings.ContainsAny(name, "/@: \t") {
		return &Error{Reason: fmt.Sprintf("invalid realm name %q", name), Hint: "use the DNS domain in upper case, e.g. EXAMPLE.TEST"}
	}
	return nil
}

// validName checks an sAMAccountName (MS-ADTS limits, plus no Kerberos
// separators).
func validName(name string) error {
	if name == "" || utf8.RuneCountInString(name) > 64 || strings.ContainsAny(name, "/@\\\"[]:;|=+*?<>,\t\n\r") {
		return &Error{Reason: fmt.Sprintf("invalid account name %q", name),
			Hint: "use up to 64 characters without / @ \\ \" [ ] : ; | = + * ? < > ,"}
	}
	return nil
}

// UserOptions are the optional attributes of a new user.
type UserOptions struct {
	UPN         string
	DisplayName string
	Keys        KeyOptions
	Groups      []string
	// NoPreauth turns off the pre-authentication requirement (not
	// recommended: it exposes the password to offline guessing).
	NoPreauth bool
}

// CheckPassword applies the realm's password policy.
func (a *Admin) CheckPassword(pw string) error {
	if n := utf8.RuneCountInString(pw); n < a.realm.Policy.MinLength {
		return &Error{Reason: fmt.Sprintf("password is %d characters; the realm requires at least %d", n, a.realm.Policy.MinLength),
			Hint: "choose a longer password or use --random"}
	}
	return nil
}

// AddUser creates a user with a password.
func (a *Admin) AddUser(ctx context.Context, name, password string, o UserOptions) (*store.Account, error) {
	if err := validName(name); err != nil {
		return nil, err
	}
	if strings.HasSuffix(name, "$") {
		return nil, &Error{Reason: "user names may not end in $ (that form is for computers)", Hint: "use warden computer add"}
	}
	if err := a.CheckPassword(password); err != nil {
		return nil, err
	}
	upn := o.UPN
	if upn == "" {
		upn = name + "@" + strings.ToLower(a.realm.Name)
	}
	flags := store.FlagPreauthRequired
	if o.NoPreauth {
		flags = 0
	}
	acct := &store.Account{Kind: store.KindUser, Name: name, UPN: upn, DisplayName: o.DisplayName, Flags: flags}
	if err := a.setPassword(acct, password, 1, o.Keys); err != nil {
		return nil, err
	}
	if err := a.st.CreateAccount(ctx, acct); err != nil {
		return nil, err
	}
	for _, g := range o.Groups {
		if err := a.st.AddMember(ctx, g, store.Member{Name: name}); err != nil {
			return acct, fmt.Errorf("user %s created, but adding it to group %s failed: %w", name, g, err)
		}
	}
	return acct, nil
}

func (a *Admin) setPassword(acct *store.Account, password string, kvno uint32, o KeyOptions) error {
	s, err := PasswordSecrets(a.realm.Name, acct, password, kvno, o)
	if err != nil {
		return err
	}
	now := a.now().UTC()
	acct.Secrets = s
	acct.PasswordLastSet = now
	acct.PasswordExpires = time.Time{}
	if a.realm.Policy.MaxAge > 0 {
		acct.PasswordExpires = now.Add(a.realm.Policy.MaxAge)
	}
	return nil
}

// update applies f to the account and stores it, retrying when another
// writer got there first.
func (a *Admin) update(ctx context.Context, name string, f func(*store.Account) error) (*store.Account, error) {
	for range 5 {
		acct, err := a.st.Account(ctx, name)
		if err != nil {
			return nil, err
		}
		if err := f(acct); err != nil {
			return nil, err
		}
		err = a.st.UpdateAccount(ctx, acct)
		if errors.Is(err, store.ErrConflict) {
			continue
		}
		return acct, err
	}
	return nil, fmt.Errorf("account %s: %w", name, store.ErrConflict)
}

// SetPassword gives an account a new password (new kvno for every key).
func (a *Admin) SetPassword(ctx context.Context, name, password string, o KeyOptions) (*store.Account, error) {
	if err := a.CheckPassword(password); err != nil {
		return nil, err
	}
	return a.update(ctx, name, func(acct *store.Account) error {
		return a.setPassword(acct, password, acct.KVNO()+1, o)
	})
}

// SetFlags sets and clears account flags.
func (a *Admin) SetFlags(ctx context.Context, name string, set, clearFlags store.Flags) (*store.Account, error) {
	return a.update(ctx, name, func(acct *store.Account) error {
		acct.Flags = acct.Flags&^clearFlags | set
		return nil
	})
}

// Unlock clears the bad-password lockout.
func (a *Admin) Unlock(ctx context.Context, name string) error {
	if _, err := a.st.Account(ctx, name); err != nil {
		return err
	}
	return a.st.ResetLockout(ctx, name)
}

// Delete removes an account; krbtgt cannot be deleted.
func (a *Admin) Delete(ctx context.Context, name string) error {
	if strings.EqualFold(name, "krbtgt") {
		return &Error{Reason: "the krbtgt account cannot be deleted: every ticket depends on it"}
	}
	return a.st.DeleteAccount(ctx, name)
}

// ComputerName normalises a computer name to its account form "NAME$".
func ComputerName(name string) string {
	name = strings.TrimSuffix(name, "$")
	if i := strings.IndexByte(name, '.'); i > 0 {
		name = name[:i]
	}
	return strings.ToUpper(name) + "$"
}

// AddComputer creates a computer account NAME$ with random keys and the
// SPNs host/name and host/name.domain (the domain being the realm in lower
// case unless the name was given fully qualified).
func (a *Admin) AddComputer(ctx context.Context, name string, o KeyOptions) (*store.Account, error) {
	sam := ComputerName(name)
	if err := validName(sam); err != nil {
		return nil, err
	}
	short := strings.ToLower(strings.TrimSuffix(sam, "$"))
	fqdn := strings.ToLower(strings.TrimSuffix(name, "$"))
	if !strings.Contains(fqdn, ".") {
		fqdn = short + "." + strings.ToLower(a.realm.Name)
	}
	s, err := RandomSecrets(a.rand, 1, o)
	if err != nil {
		return nil, err
	}
	acct := &store.Account{Kind: store.KindComputer, Name: sam, SPNs: []string{"host/" + short, "host/" + fqdn},
		Flags: store.FlagPreauthRequired, Secrets: s, PasswordLastSet: a.now().UTC()}
	if err := a.st.CreateAccount(ctx, acct); err != nil {
		return nil, err
	}
	if err := a.st.AddMember(ctx, "Domain Computers", store.Member{Name: sam}); err != nil && !errors.Is(err, store.ErrNotFound) {
		return acct, err
	}
	return acct, nil
}

// ServiceOptions are the optional attributes of a new service.
type ServiceOptions struct {
	Keys             KeyOptions
	CompoundIdentity bool
	Claims           bool
	// Name is the sAMAccountName; default derived from the SPN.
	Name string
	// ExtraSPNs are further SPNs of the same account.
	ExtraSPNs []string
	// NoPAC: tickets for the service carry no PAC.
	NoPAC bool
}

// ValidSPN checks "service/host[:port]" form.
func ValidSPN(spn string) error {
	parts := strings.Split(spn, "/")
	if len(parts) < 2 || parts[0] == "" || parts[1] == "" || strings.ContainsAny(spn, "@ \t") {
		return &Error{Reason: fmt.Sprintf("invalid SPN %q", spn), Hint: "use service/host, e.g. HTTP/web.example.test"}
	}
	return nil
}

// AddService creates a service account with random keys for an SPN.
func (a *Admin) AddService(ctx context.Context, spn string, o ServiceOptions) (*store.Account, error) {
	spns := append([]string{spn}, o.ExtraSPNs...)
	for _, s := range spns {
		if err := ValidSPN(s); err != nil {
			return nil, err
		}
	}
	name := o.Name
	if name == "" {
		name = serviceName(spn)
	}
	if err := validName(name); err != nil {
		return nil, err
	}
	s, err := RandomSecrets(a.rand, 1, o.Keys)
	if err != nil {
		return nil, err
	}
	var flags store.Flags
	if o.CompoundIdentity {
		flags |= store.FlagCompoundIdentity | store.FlagClaimsSupported
	}
	if o.Claims {
		flags |= store.FlagClaimsSupported
	}
	if o.NoPAC {
		flags |= store.FlagNoPAC
	}
	acct := &store.Account{Kind: store.KindService, Name: name, SPNs: spns, Flags: flags, Secrets: s, PasswordLastSet: a.now().UTC()}
	if err := a.st.CreateAccount(ctx, acct); err != nil {
		return nil, err
	}
	return acct, nil
}

// serviceName derives an account name from an SPN: "HTTP/web.example.test"
// → "HTTP-web".
func serviceName(spn string) string {
	parts := strings.SplitN(spn, "/", 3)
	host := parts[1]
	if i := strings.IndexAny(host, ".:"); i > 0 {
		host = host[:i]
	}
	n := parts[0] + "-" + host
	if len(n) > 64 {
		n = n[:64]
	}
	return n
}

// Rekey gives a service, computer or krbtgt account new random keys with
// the next kvno, keeping the previous kvno's keys so tickets issued
// before keep working until they expire.
func (a *Admin) Rekey(ctx context.Context, name string, o KeyOptions) (*store.Account, error) {
	return a.update(ctx, name, func(acct *store.Account) error {
		if acct.Kind == store.KindUser {
			return &Error{Reason: "users get new keys from a new password", Hint: "use warden user passwd"}
		}
		cur := acct.KVNO()
		s, err := RandomSecrets(a.rand, cur+1, o)
		if err != nil {
			return err
		}
		for _, k := range acct.Secrets.Keys {
			if k.KVNO == cur {
				s.Keys = append(s.Keys, k)
			}
		}
		acct.Secrets.Keys = s.Keys
		acct.PasswordLastSet = a.now().UTC()
		return nil
	})
}

// Keytab builds keytab entries for every principal name of the account
// (its SPNs, and its account name for computers and users) with its keys
// of the newest kvno, or of all kvnos when all is set.
func (a *Admin) Keytab(ctx context.Context, name string, all bool) (*keytab.Keytab, *store.Account, error) {
	acct, err := a.st.AccountByPrincipal(ctx, name)
	if err != nil {
		return nil, nil, err
	}
	var names []krb5.PrincipalName
	for _, s := range acct.SPNs {
		names = append(names, krb5.PrincipalName{NameType: krb5.NameTypeSrvHst, NameString: strings.Split(s, "/")})
	}
	if acct.Kind != store.KindService {
		names = append(names, krb5.NewPrincipalName(krb5.NameTypePrincipal, acct.Name))
	}
	if strings.EqualFold(acct.Name, "krbtgt") {
		names = names[:1]
	}
	kt := &keytab.Keytab{}
	top := acct.KVNO()
	ts := a.now().UTC().Truncate(time.Second)
	for _, n := range names {
		for _, k := range acct.Secrets.Keys {
			if !all && k.KVNO != top {
				continue
			}
			kt.Add(keytab.Entry{Principal: n, Realm: a.realm.Name, Timestamp: ts, KVNO: k.KVNO,
				Key: krb5.EncryptionKey{KeyType: krb5.EncType(k.EType), KeyValue: k.Value}})
		}
	}
	if len(kt.Entries) == 0 {
		return nil, acct, &Error{Reason: "account " + acct.Name + " has no keys to export"}
	}
	return kt, acct, nil
}

// AddGroup creates a group.
func (a *Admin) AddGroup(ctx context.Context, name, description string) (*store.Group, error) {
	if err := validName(name); err != nil {
		return nil, err
	}
	g := &store.Group{Name: name, Description: description}
	return g, a.st.CreateGroup(ctx, g)
}

// AddMembers adds accounts or groups (found by name) to a group.
func (a *Admin) AddMembers(ctx context.Context, group string, members ...string) error {
	for _, m := range members {
		mem, err := a.member(ctx, m)
		if err != nil {
			return err
		}
		if err := a.st.AddMember(ctx, group, mem); err != nil {
			return err
		}
	}
	return nil
}

// RemoveMembers removes direct memberships.
func (a *Admin) RemoveMembers(ctx context.Context, group string, members ...string) error {
	for _, m := range members {
		mem, err := a.member(ctx, m)
		if err != nil {
			return err
		}
		if err := a.st.RemoveMember(ctx, group, mem); err != nil {
			return err
		}
	}
	return nil
}

func (a *Admin) member(ctx context.Context, name string) (store.Member, error) {
	if _, err := a.st.Group(ctx, name); err == nil {
		return store.Member{Name: name, IsGroup: true}, nil
	}
	acct, err := a.st.Account(ctx, name)
	if err != nil {
		return store.Member{}, fmt.Errorf("no account or group named %q: %w", name, store.ErrNotFound)
	}
	return store.Member{Name: acct.Name}, nil
}

// SetClaim sets an account's claim from "ID=VALUE[,VALUE...]". An ID not
// yet defined becomes a string claim type; defined reports that it did.
func (a *Admin) SetClaim(ctx context.Context, account, assignment string) (defined bool, err error) {
	id, val, ok := strings.Cut(assignment, "=")
	if !ok || id == "" {
		return false, &Error{Reason: fmt.Sprintf("claim %q is not ID=VALUE", assignment), Hint: "e.g. ad://ext/department=Sales"}
	}
	acct, err := a.st.Account(ctx, account)
	if err != nil {
		return false, err
	}
	types, err := a.st.ClaimTypes(ctx)
	if err != nil {
		return false, err
	}
	i := slices.IndexFunc(types, func(t store.ClaimType) bool { return t.ID == id })
	var ct store.ClaimType
	if i < 0 {
		ct = store.ClaimType{ID: id, ValueType: store.ClaimString, AppliesTo: []store.Kind{store.KindUser, store.KindComputer}, AutoDefined: true}
		if err := a.st.DefineClaimType(ctx, ct); err != nil {
			return false, err
		}
		defined = true
	} else {
		ct = types[i]
	}
	values := strings.Split(val, ",")
	for _, v := range values {
		if err := checkClaimValue(ct.ValueType, v); err != nil {
			return defined, &Error{Reason: fmt.Sprintf("claim %s is of type %s: %v", id, ct.ValueType, err)}
		}
	}
	if len(ct.AppliesTo) > 0 && !slices.Contains(ct.AppliesTo, acct.Kind) {
		return defined, &Error{Reason: fmt.Sprintf("claim %s does not apply to %s accounts", id, acct.Kind)}
	}
	return defined, a.st.SetClaim(ctx, acct.Name, store.Claim{ID: id, Values: values})
}

func checkClaimValue(t store.ClaimValueType, v string) error {
	var err error
	switch t {
	case store.ClaimInt64:
		_, err = strconv.ParseInt(v, 10, 64)
	case store.ClaimUint64:
		_, err = strconv.ParseUint(v, 10, 64)
	case store.ClaimBoolean:
		_, err = strconv.ParseBool(v)
	}
	return err
}

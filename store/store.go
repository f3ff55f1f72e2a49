// Package store is the account DB contract: the records the AA keeps
// (realm, accounts with their sealed secrets, groups, claims), the Store
// interface every backend implements, and the sentinel errors. It holds no
// SQL; backends live in store/sqlite and store/postgres and must pass the
// store/storetest conformance suite.
//
// Secrets (Kerberos keys, NT hash, Digest HA1s) travel through the
// interface in clear and are sealed by the backend with a Sealer (AES-GCM
// under the realm master key) before they reach disk.
package store

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"
)

// Sentinel errors, wrapped with context by backends. Match with errors.Is.
var (
	ErrNotFound = errors.New("not found")
	ErrExists   = errors.New("already exists")
	ErrConflict = errors.New("changed concurrently; retry")
	ErrNoRealm  = errors.New("realm not initialised")
)

// Kind is the kind of an account.
type Kind string

// Account kinds. A computer's name ends in "$"; the realm's krbtgt account
// is a service.
const (
	KindUser     Kind = "user"
	KindComputer Kind = "computer"
	KindService  Kind = "service"
)

// Flags are account flags, stored as a bit mask.
type Flags uint32

// Account flags.
const (
	FlagDisabled             Flags = 1 << iota // refused everywhere
	FlagPreauthRequired                        // AS needs PA-ENC-TIMESTAMP (default on)
	FlagNoPAC                                  // tickets carry no PAC
	FlagFASTRequired                           // AS/TGS must be FAST-armored
	FlagCompoundIdentity                       // service wants device data (MS-KILE)
	FlagClaimsSupported                        // service wants claims
	FlagPasswordNeverExpires                   // ignore the policy max age
	FlagOKAsDelegate                           // tickets carry ok-as-delegate
	FlagNoForward                              // tickets are never forwardable
)

var flagNames = []struct {
	f    Flags
	name string
}{
	{FlagDisabled, "disabled"},
	{FlagPreauthRequired, "preauth-required"},
	{FlagNoPAC, "no-pac"},
	{FlagFASTRequired, "fast-required"},
	{FlagCompoundIdentity, "compound-identity"},
	{FlagClaimsSupported, "claims-supported"},
	{FlagPasswordNeverExpires, "password-never-expires"},
	{FlagOKAsDelegate, "ok-as-delegate"},
	{FlagNoForward, "no-forward"},
}

// String lists the set flags by name, comma separated.
func (f Flags) String() string {
	var parts []string
	for _, n := range flagNames {
		if f&n.f != 0 {
			parts = append(parts, n.name)
		}
	}
	return strings.Join(parts, ",")
}

// Key is one long-term Kerberos key of an account.
type Key struct {
	EType     int32  // krb5.EncType
	KVNO      uint32 // key version number
	Salt      string // the salt the key was derived with ("" for random keys)
	S2KParams []byte // string-to-key parameters, nil for the default
	Value     []byte // the key bytes (clear in memory, sealed at rest)
}

// HA1 is a Digest H(A1) = H(username:realm:password) for one algorithm
// and Digest realm (RFC 7616 3.4.2). The userhash variant needs no extra
// secret: it hashes the user name, not the password.
type HA1 struct {
	Algorithm string // "SHA-256", "SHA-512-256", "MD5"
	Realm     string
	Value     []byte
}

// Secrets are the sealed part of an account.
type Secrets struct {
	Keys   []Key
	NTHash []byte // MD4(UTF-16LE(password)); nil when not kept
	HA1s   []HA1
}

// Lockout is the bad-password state of an account.
type Lockout struct {
	BadCount    int       // failures since the last success or reset
	LastFailure time.Time // zero when none
	LockedUntil time.Time // zero or past when not locked
}

// Locked reports whether the account is locked out at now.
func (l Lockout) Locked(now time.Time) bool {
	return !l.LockedUntil.IsZero() && now.Before(l.LockedUntil)
}

// Account is a security principal of the realm.
type Account struct {
	Kind              Kind
	Name              string   // sAMAccountName: "alice", "WEB01$", "HTTP-web"; unique, case-insensitive
	UPN               string   // user principal name "alice@EXAMPLE.TEST"; unique when set
	SPNs              []string // "HTTP/web.example.test"; unique across the realm, case-insensitive
	RID               uint32   // relative ID; SID = realm DomainSID + "-" + RID
	DisplayName       string
	Flags             Flags
	SupportedEnctypes []int32   // enctypes the account accepts for tickets; nil = those of its keys
	PasswordLastSet   time.Time // zero when never set
	PasswordExpires   time.Time // zero when it never expires
	AccountExpires    time.Time // zero when the account never expires
	Secrets           Secrets
	Lockout           Lockout
	Created           time.Time
	Modified          time.Time

	// Version is bumped by every update; UpdateAccount refuses a record
	// whose Version is not the stored one (ErrConflict).
	Version int64
}

// KVNO returns the highest key version number of the account's keys.
func (a *Account) KVNO() uint32 {
	var v uint32
	for _, k := range a.Secrets.Keys {
		if k.KVNO > v {
			v = k.KVNO
		}
	}
	return v
}

// Group is a security group; members are accounts or other groups
// (nested), named by their Name.
type Group struct {
	Name        string // unique, case-insensitive, shares no name with an account
	RID         uint32
	Description string
	Members     []Member
}

// Member names a member of a group.
type Member struct {
	Name    string
	IsGroup bool
}

// ClaimValueType is the value type of a claim (MS-ADTS claim types).
type ClaimValueType string

// Claim value types.
const (
	ClaimString  ClaimValueType = "string"
	ClaimInt64   ClaimValueType = "int64"
	ClaimUint64  ClaimValueType = "uint64"
	ClaimBoolean ClaimValueType = "boolean"
)

// ClaimType defines a claim of the realm.
type ClaimType struct {
	ID          string // "ad://ext/department"
	ValueType   ClaimValueType
	AppliesTo   []Kind // user and/or computer
	Description string
	AutoDefined bool // created implicitly by the first value set
}

// Claim is the value(s) an account holds for a claim type.
type Claim struct {
	ID     string
	Values []string // textual form, validated against the type's ValueType
}

// PasswordPolicy is the realm's password policy.
type PasswordPolicy struct {
	MinLength int
	MaxAge    time.Duration // 0 = passwords never expire
	// LockoutThreshold failures within LockoutWindow lock the account for
	// LockoutDuration; threshold 0 disables lockout.
	LockoutThreshold int
	LockoutWindow    time.Duration
	LockoutDuration  time.Duration
}

// DefaultPolicy is the policy a new realm gets.
var DefaultPolicy = PasswordPolicy{
	MinLength:        8,
	MaxAge:           0,
	LockoutThreshold: 10,
	LockoutWindow:    30 * time.Minute,
	LockoutDuration:  30 * time.Minute,
}

// Realm is the realm-wide record.
type Realm struct {
	Name         string // "EXAMPLE.TEST"
	DomainSID    string // "S-1-5-21-a-b-c"
	NetBIOS      string // "EXAMPLE"
	Policy       PasswordPolicy
	MaxLife      time.Duration // ticket lifetime cap
	MaxRenew     time.Duration // renewable lifetime cap
	FASTRequired bool
	Created      time.Time
}

// Store is the account DB. Every method is safe for concurrent use. A
// method that returns nil has made its change durable: it survives a
// crash of the process or the machine right after.
type Store interface {
	// InitRealm creates the realm record; ErrExists if there is one.
	InitRealm(ctx context.Context, r Realm) error
	// Realm returns the realm record; ErrNoRealm before InitRealm.
	Realm(ctx context.Context) (Realm, error)
	// UpdateRealm replaces the realm record (policy, lifetimes).
	UpdateRealm(ctx context.Context, r Realm) error

	// CreateAccount stores a new account. It assigns the RID when zero,
	// sets Created/Modified/Version and writes them back into a.
	// ErrExists if the name, UPN or an SPN is taken (by an account or,
	// for the name, a group).
	CreateAccount(ctx context.Context, a *Account) error
	// UpdateAccount replaces an account found by its RID, if a.Version
	// is current (else ErrConflict); it bumps a.Version and Modified.
	UpdateAccount(ctx context.Context, a *Account) error
	// DeleteAccount removes an account, its memberships and claims.
	DeleteAccount(ctx context.Context, name string) error
	// Account returns the account with this sAMAccountName.
	Account(ctx context.Context, name string) (*Account, error)
	// AccountByRID returns the account with this RID.
	AccountByRID(ctx context.Context, rid uint32) (*Account, error)
	// AccountByPrincipal finds the account a Kerberos principal name
	// ("alice", "HTTP/web.example.test", "WEB01$", "host/web01") or UPN
	// ("alice@example.test") denotes: an SPN, then the name, then the UPN;
	// all case-insensitive.
	AccountByPrincipal(ctx context.Context, principal string) (*Account, error)
	// Accounts lists accounts, of one kind or all ("" kind), by name.
	Accounts(ctx context.Context, kind Kind) ([]*Account, error)

	// RecordLogonFailure counts a bad password at now under the policy
	// and returns the new lockout state; the count is kept even if the
	// process dies afterwards.
	RecordLogonFailure(ctx context.Context, name string, now time.Time, p PasswordPolicy) (Lockout, error)
	// ResetLockout clears the bad-password state (a success or unlock).
	ResetLockout(ctx context.Context, name string) error

	// CreateGroup stores a new group, assigning the RID when zero.
	CreateGroup(ctx context.Context, g *Group) error
	// DeleteGroup removes a group and every membership in or of it.
	DeleteGroup(ctx context.Context, name string) error
	// Group returns a group with its direct members.
	Group(ctx context.Context, name string) (*Group, error)
	// Groups lists every group with its direct members.
	Groups(ctx context.Context) ([]*Group, error)
	// AddMember adds an account or group to a group; a membership that
	// would make a cycle is refused with ErrConflict.
	AddMember(ctx context.Context, group string, m Member) error
	// RemoveMember removes a direct membership; ErrNotFound if absent.
	RemoveMember(ctx context.Context, group string, m Member) error
	// MemberOf returns every group the account is in, directly or
	// through nested groups, each once, by name.
	MemberOf(ctx context.Context, account string) ([]*Group, error)

	// DefineClaimType creates or replaces a claim type.
	DefineClaimType(ctx context.Context, t ClaimType) error
	// ClaimTypes lists the claim types by ID.
	ClaimTypes(ctx context.Context) ([]ClaimType, error)
	// SetClaim sets an account's values for a claim type (which must exist).
	SetClaim(ctx context.Context, account string, c Claim) error
	// UnsetClaim removes an account's claim; ErrNotFound if unset.
	UnsetClaim(ctx context.Context, account, id string) error
	// Claims returns the account's claims by ID.
	Claims(ctx context.Context, account string) ([]Claim, error)

	// Generation returns a counter that grows with every committed change
	// to accounts, groups, claims, the realm or its PKI (by any process using the
	// same database), so caches can tell cheaply that they are stale.
	Generation(ctx context.Context) (int64, error)

	// CertStore holds the realm CA, issued certificates and bindings.
	CertStore

	Close() error
}

// SID returns the textual SID of a RID in the domain.
func SID(domainSID string, rid uint32) string {
	return domainSID + "-" + strconv.FormatUint(uint64(rid), 10)
}

// Well-known RIDs (MS-ADTS / MS-PAC). New accounts and groups get RIDs
// from FirstRID upward.
const (
	RIDKrbtgt          uint32 = 502
	RIDDomainUsers     uint32 = 513
	RIDDomainComputers uint32 = 515
	FirstRID           uint32 = 1000
)

// PrimaryGroup is the group every account of a kind belongs to
// implicitly (its PAC primary group): Domain Computers for computers,
// Domain Users for everyone else. MemberOf does not list it.
func PrimaryGroup(k Kind) (rid uint32, name string) {
	if k == KindComputer {
		return RIDDomainComputers, "Domain Computers"
	}
	return RIDDomainUsers, "Domain Users"
}

package kdc

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/warden-auth/warden/krb5"
	"github.com/warden-auth/warden/krb5/kcrypto"
	"github.com/warden-auth/warden/store"
)

// principal is an account as the hot path needs it: the record plus its
// long-term keys, whose kcrypto form (with derived keys and AES schedules)
// is made on first use and then kept across requests.
//
// A KDC with 100,000 principals holds 100,000 of these, and the garbage
// collector marks every pointer in them on each cycle, which at that
// scale cost more than the requests themselves. So a principal is one
// value of about 600 bytes, carved from a slab (slab.go) with its
// neighbours, holding the record and up to inlineKeys keys; its strings
// (name, UPN, display name, salts, s2kparams) are slices of one text, so
// that it has few pointers for the collector to follow; the lockout
// pointer is shared while the account has no failures; and only the keys
// actually used get a kcrypto.Key, also from a slab.
type principal struct {
	// The fields an AS exchange reads come first, so that they share as
	// few cache lines as they can: with many accounts, the principal a
	// request names is seldom in the CPU caches.

	// tgtPAC is the account's TGT PAC encoding, made at its first logon
	// (pactemplate.go).
	tgtPAC atomic.Pointer[pacTemplate]
	// lockout is updated in place by the KDC after a failure or success,
	// so this node sees it before the next poll.
	lockout atomic.Pointer[store.Lockout]
	// text holds the account's name, UPN, display name and its keys'
	// salts and s2kparams, one after the other; acct.Name is its start.
	// It lies in textBuf when it fits, as it does for most accounts: the
	// cache's map key is the name, so a lookup then reads the key from
	// the principal it finds, and the text is not one more object for
	// the garbage collector.
	text string
	// moreKeys holds the keys when there are more than inlineKeys.
	moreKeys []principalKey
	nKeys    uint8
	// etypes the account accepts for session keys and tickets (etypes()).
	nETypes      uint8
	upnLen       uint16          // the UPN follows the name in text
	displayLen   uint16          // the display name follows the UPN
	kvno         uint32          // newest key version
	inlineETypes [5]krb5.EncType // keyPreference lists 5
	textBuf      [inlineText]byte
	acct         accountInfo
	inline       [inlineKeys]principalKey

	// tgtPACSeen is the last TGT PAC of this account the TGS verified.
	tgtPACSeen atomic.Pointer[verifiedPAC]
	// groups are the RIDs of every group the account is in, directly or
	// through nested groups, ascending: what its PAC lists. Loaded with
	// the account, so that issuing a PAC costs no SQL; a membership
	// change bumps the store generation, which drops the cache.
	groups []uint32
	// claims is the account's PAC_CLIENT_CLAIMS_INFO buffer, encoded
	// when the account is loaded; nil without claims.
	claims []byte
}

// accountInfo is what the KDC reads of a store.Account: not its secrets
// (they are in the keys), SPNs or record timestamps, and no pointers but
// the name and kind. Times are Unix nanoseconds, 0 for none.
type accountInfo struct {
	Name                                             string
	Kind                                             store.Kind
	Flags                                            store.Flags
	RID                                              uint32
	passwordLastSet, passwordExpires, accountExpires int64
}

func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromUnixNano(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

// PasswordLastSet, PasswordExpires and AccountExpires are as in store.Account.
func (a *accountInfo) PasswordLastSet() time.Time { return fromUnixNano(a.passwordLastSet) }
func (a *accountInfo) PasswordExpires() time.Time { return fromUnixNano(a.passwordExpires) }
func (a *accountInfo) AccountExpires() time.Time  { return fromUnixNano(a.accountExpires) }

// kinds are the account kinds as constants, so that a cached principal
// does not keep the string read from the store.
var kinds = []store.Kind{store.KindUser, store.KindComputer, store.KindService}

// inlineKeys covers the four AES keys of one kvno, the usual case.
const inlineKeys = 4

// inlineText is room for a name, UPN, display name and salt of usual
// lengths ("alice.smith", "alice.smith@corp.example.com", "Alice Smith",
// "CORP.EXAMPLE.COMalice.smith").
const inlineText = 96

// maxKeyLen is the longest key of a supported enctype (AES-256).
const maxKeyLen = 32

// noLockout is the lockout state of every account without failures; it is
// never modified (updates store a new pointer).
var noLockout = &store.Lockout{}

type principalKey struct {
	kk atomic.Pointer[kcrypto.Key]
	// fx holds the key's PRF+ outputs for FAST (fastchallenge.go), made
	// on the key's first armored logon.
	fx    atomic.Pointer[fxHalves]
	etype krb5.EncType
	kvno  uint32
	// value is the key, sealed at rest, here in clear for the key's
	// lifetime; held by value so that it is not an object of its own.
	value    [maxKeyLen]byte
	valueLen uint8
	keyText
}

// keyText is where a key's salt and s2kparams are in its principal's text.
type keyText struct {
	saltAt, saltLen, s2kAt, s2kLen uint16
}

// key returns the kcrypto form, making it on first use. The value was
// checked when the principal was loaded, so InitKey cannot fail here.
func (k *principalKey) key() *kcrypto.Key {
	if kk := k.kk.Load(); kk != nil {
		return kk
	}
	// From a slab: made once per key and kept as long as the principal.
	// Two requests racing here each take a slot; one is wasted.
	kk := cachedKeys.alloc()
	if err := kcrypto.InitKey(kk, krb5.EncryptionKey{KeyType: k.etype, KeyValue: k.value[:k.valueLen]}, kcrypto.Options{AllowRC4: true}); err != nil {
		panic("kdc: cached key became invalid: " + err.Error())
	}
	if k.kk.CompareAndSwap(nil, kk) {
		return kk
	}
	return k.kk.Load()
}

// The principal cache's long-lived values come from slabs (slab.go):
// every cached principal, the kcrypto form of each key it has used and
// its first TGT PAC template.
var (
	cachedPrincipals   slab[principal]
	cachedKeys         slab[kcrypto.Key]
	cachedPACTemplates slab[pacTemplate]
)

// keyPreference orders the keys the KDC encrypts tickets with: the widely
// deployed aes256-sha1 first, then the RFC 8009 families.
var keyPreference = []krb5.EncType{
	krb5.ETypeAES256CTSHMACSHA196,
	krb5.ETypeAES256CTSHMACSHA384,
	krb5.ETypeAES128CTSHMACSHA256,
	krb5.ETypeAES128CTSHMACSHA196,
	krb5.ETypeRC4HMAC,
}

func rank(e krb5.EncType) int {
	if i := slices.Index(keyPreference, e); i >= 0 {
		return i
	}
	return len(keyPreference)
}

// keys returns the principal's keys in keyPreference order, newest kvno
// first.
func (p *principal) keys() []principalKey {
	if p.moreKeys != nil {
		return p.moreKeys
	}
	return p.inline[:p.nKeys]
}

// etypes returns the enctypes the account accepts for session keys and
// tickets.
func (p *principal) etypes() []krb5.EncType { return p.inlineETypes[:p.nETypes] }

// upn and displayName are the account's, "" when unset.
func (p *principal) upn() string {
	at := len(p.acct.Name)
	return p.text[at : at+int(p.upnLen)]
}

func (p *principal) displayName() string {
	at := len(p.acct.Name) + int(p.upnLen)
	return p.text[at : at+int(p.displayLen)]
}

// etypeInfo is how a client derives key k from its password.
func (p *principal) etypeInfo(k *principalKey) krb5.ETypeInfo2Entry {
	e := krb5.ETypeInfo2Entry{EType: k.etype, Salt: p.text[k.saltAt : k.saltAt+k.saltLen], HasSalt: k.saltLen > 0}
	if k.s2kLen > 0 {
		e.S2KParams = []byte(p.text[k.s2kAt : k.s2kAt+k.s2kLen])
	}
	return e
}

// key returns the newest key of etype e, or of kvno when kvno != 0.
func (p *principal) key(e krb5.EncType, kvno uint32) (*principalKey, bool) {
	var best *principalKey
	keys := p.keys()
	for i := range keys {
		k := &keys[i]
		if k.etype != e || (kvno != 0 && k.kvno != kvno) {
			continue
		}
		if best == nil || k.kvno > best.kvno {
			best = k
		}
	}
	return best, best != nil
}

// ticketKey is the key a ticket for this principal is encrypted with:
// the newest kvno, preferred enctype.
func (p *principal) ticketKey() (*principalKey, bool) {
	keys := p.keys()
	if len(keys) == 0 {
		return nil, false
	}
	top := p.kvno
	for i := range keys {
		if keys[i].kvno == top {
			return &keys[i], true
		}
	}
	return &keys[0], true
}

// keyETypes lists the enctypes the account has keys of, each once.
func (p *principal) keyETypes() []krb5.EncType {
	var out []krb5.EncType
	keys := p.keys()
	for i := range keys {
		if e := keys[i].etype; !slices.Contains(out, e) {
			out = append(out, e)
		}
	}
	return out
}

func newPrincipal(a *store.Account, groups []uint32, opt kcrypto.Options) (*principal, error) {
	// Everything that can fail comes before the principal takes its slab
	// slot: an account that cannot be loaded is tried again on each
	// request for it, and must not leave a slot behind each time.
	//
	// Sort the usable keys before placing them: principalKey holds an
	// atomic and must not be copied once in place.
	var usable []store.Key
	for _, k := range a.Secrets.Keys {
		e := krb5.EncType(k.EType)
		if !kcrypto.Supported(e) || (e == krb5.ETypeRC4HMAC && !opt.AllowRC4) {
			continue
		}
		if len(k.Value) != kcrypto.KeySize(e) || len(k.Value) > maxKeyLen {
			return nil, fmt.Errorf("account %s: its stored %v key (kvno %d) is %d bytes, not %d; give the account new keys (warden user passwd %s)",
				a.Name, e, k.KVNO, len(k.Value), kcrypto.KeySize(e), a.Name)
		}
		usable = append(usable, k)
	}
	slices.SortStableFunc(usable, func(x, y store.Key) int {
		if x.KVNO != y.KVNO {
			return int(y.KVNO) - int(x.KVNO)
		}
		return rank(krb5.EncType(x.EType)) - rank(krb5.EncType(y.EType))
	})
	// The text: name, UPN, display name, then each distinct salt and
	// s2kparams once (every key of a password shares its salt).
	if len(a.UPN) > math.MaxUint16 || len(a.DisplayName) > math.MaxUint16 {
		return nil, fmt.Errorf("account %s: its UPN (%d bytes) or display name (%d bytes) is longer than the KDC holds (%d); recreate the account with a shorter --upn or --display-name",
			a.Name, len(a.UPN), len(a.DisplayName), math.MaxUint16)
	}
	var text strings.Builder
	text.WriteString(a.Name)
	text.WriteString(a.UPN)
	text.WriteString(a.DisplayName)
	place := func(v string) (at, n uint16, err error) {
		if v == "" {
			return 0, 0, nil
		}
		if i := strings.Index(text.String(), v); i >= 0 && i+len(v) <= math.MaxUint16 {
			return uint16(i), uint16(len(v)), nil
		}
		if text.Len()+len(v) > math.MaxUint16 {
			return 0, 0, fmt.Errorf("account %s: its names, salts and s2kparams together are longer than the KDC holds (%d bytes); set its password again (warden user passwd %s), which gives every key the default salt",
				a.Name, math.MaxUint16, a.Name)
		}
		at = uint16(text.Len())
		text.WriteString(v)
		return at, uint16(len(v)), nil
	}
	texts := make([]keyText, len(usable))
	for i, k := range usable {
		t := &texts[i]
		var err error
		if t.saltAt, t.saltLen, err = place(k.Salt); err != nil {
			return nil, err
		}
		if t.s2kAt, t.s2kLen, err = place(string(k.S2KParams)); err != nil {
			return nil, err
		}
	}

	p := cachedPrincipals.alloc()
	p.groups = groups
	if a.Lockout == (store.Lockout{}) {
		p.lockout.Store(noLockout)
	} else {
		lo := a.Lockout
		p.lockout.Store(&lo)
	}
	kind := a.Kind
	if i := slices.Index(kinds, kind); i >= 0 {
		kind = kinds[i]
	}
	p.acct = accountInfo{Kind: kind, Flags: a.Flags, RID: a.RID,
		passwordLastSet: unixNano(a.PasswordLastSet), passwordExpires: unixNano(a.PasswordExpires),
		accountExpires: unixNano(a.AccountExpires)}
	if len(usable) > inlineKeys {
		p.moreKeys = make([]principalKey, len(usable))
	}
	p.nKeys = uint8(min(len(usable), inlineKeys))
	keys := p.keys()
	for i, k := range usable {
		pk := &keys[i]
		pk.etype, pk.kvno, pk.keyText = krb5.EncType(k.EType), k.KVNO, texts[i]
		pk.valueLen = uint8(copy(pk.value[:], k.Value))
	}
	p.upnLen, p.displayLen = uint16(len(a.UPN)), uint16(len(a.DisplayName))
	if text.Len() <= len(p.textBuf) {
		// The principal is never copied or moved (it comes from a slab
		// and holds atomics), and textBuf is not written again: a string
		// over it is as immutable as any other.
		n := copy(p.textBuf[:], text.String())
		p.text = unsafe.String(&p.textBuf[0], n)
	} else {
		p.text = text.String()
	}
	p.acct.Name = p.text[:len(a.Name)]
	var ets []krb5.EncType
	if len(a.SupportedEnctypes) > 0 {
		for _, e := range a.SupportedEnctypes {
			e := krb5.EncType(e)
			if kcrypto.Supported(e) && (e != krb5.ETypeRC4HMAC || opt.AllowRC4) && !slices.Contains(ets, e) {
				ets = append(ets, e)
			}
		}
	} else {
		ets = p.keyETypes()
	}
	// Each supported enctype at most once: they fit.
	p.nETypes = uint8(copy(p.inlineETypes[:], ets))
	p.kvno = a.KVNO()
	return p, nil
}

// directory is a read-through cache of principals over the store. It
// polls the store's generation counter and drops everything when another
// process (the admin CLI, another AA node) changed the DB, so the hot path
// never waits on SQL for a known principal.
type directory struct {
	st    store.Store
	opt   kcrypto.Options
	gen   atomic.Int64
	mu    sync.RWMutex
	byKey map[string]*principal
	realm atomic.Pointer[store.Realm]
	// domain is what PACs say about the realm, parsed once per change.
	domain atomic.Pointer[pacDomain]

	stop chan struct{}
	done chan struct{}
}

// maxCached bounds the cache; when full it is cleared rather than
// evicting piecemeal (a cheap, rare event that the next requests refill).
const maxCached = 1 << 20

func newDirectory(ctx context.Context, st store.Store, opt kcrypto.Options, poll time.Duration) (*directory, error) {
	d := &directory{st: st, opt: opt, byKey: map[string]*principal{}, stop: make(chan struct{}), done: make(chan struct{})}
	g, err := st.Generation(ctx)
	if err != nil {
		return nil, err
	}
	d.gen.Store(g)
	r, err := st.Realm(ctx)
	if err != nil {
		return nil, err
	}
	if err := d.setRealm(&r); err != nil {
		return nil, err
	}
	go d.poll(poll)
	return d, nil
}

// setRealm installs a realm record and the PAC's view of it.
func (d *directory) setRealm(r *store.Realm) error {
	dom, err := newPACDomain(r)
	d.realm.Store(r)
	if err != nil {
		return err
	}
	d.domain.Store(dom)
	return nil
}

func (d *directory) poll(every time.Duration) {
	defer close(d.done)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-d.stop:
			return
		case <-t.C:
			d.refresh(context.Background())
		}
	}
}

// refresh drops the cache if the store changed since the last look.
func (d *directory) refresh(ctx context.Context) {
	g, err := d.st.Generation(ctx)
	if err != nil || g == d.gen.Load() {
		return
	}
	if r, err := d.st.Realm(ctx); err == nil {
		// A realm record with an unusable domain SID keeps the last good
		// one for PACs (New refuses such a realm outright).
		_ = d.setRealm(&r)
	}
	d.mu.Lock()
	d.byKey = map[string]*principal{}
	d.gen.Store(g)
	d.mu.Unlock()
}

func (d *directory) close() {
	close(d.stop)
	<-d.done
}

// lookup finds the principal a name denotes: "alice", "HTTP/web.example.test",
// "krbtgt/EXAMPLE.TEST" or, for enterprise names, a UPN.
func (d *directory) lookup(ctx context.Context, name string) (*principal, error) {
	return d.lookupLowered(ctx, strings.ToLower(name), name)
}

// lookupLowered is lookup with the cache key, strings.ToLower(name),
// given: the KDC keeps the TGS principal's, which every request needs.
func (d *directory) lookupLowered(ctx context.Context, key, name string) (*principal, error) {
	d.mu.RLock()
	p, ok := d.byKey[key]
	d.mu.RUnlock()
	if ok {
		return p, nil
	}
	gen := d.gen.Load()
	a, err := d.st.AccountByPrincipal(ctx, name)
	if err != nil {
		return nil, err
	}
	groups, err := d.groupRIDs(ctx, a.Name)
	if err != nil {
		return nil, err
	}
	claims, err := d.claimsBuffer(ctx, a.Name)
	if err != nil {
		return nil, err
	}
	if p, err = newPrincipal(a, groups, d.opt); err != nil {
		return nil, err
	}
	p.claims = claims
	if key == p.acct.Name {
		key = p.acct.Name // one string object for both
	}
	d.mu.Lock()
	// A refresh in between means a may already be stale: serve it for
	// this request but do not cache it.
	if d.gen.Load() == gen {
		if len(d.byKey) >= maxCached {
			d.byKey = map[string]*principal{}
		}
		d.byKey[key] = p
	}
	d.mu.Unlock()
	return p, nil
}

// groupRIDs returns the RIDs of the groups the account is in, directly
// or through nesting, ascending and each once.
func (d *directory) groupRIDs(ctx context.Context, account string) ([]uint32, error) {
	gs, err := d.st.MemberOf(ctx, account)
	if err != nil {
		return nil, fmt.Errorf("groups of %s: %w", account, err)
	}
	if len(gs) == 0 {
		return nil, nil
	}
	rids := make([]uint32, len(gs))
	for i, g := range gs {
		rids[i] = g.RID
	}
	slices.Sort(rids)
	return slices.Compact(rids), nil
}

func isNotFound(err error) bool { return errors.Is(err, store.ErrNotFound) }

package kdc

import (
	"bytes"
	"slices"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/warden-auth/warden/krb5"
	"github.com/warden-auth/warden/krb5/kcrypto"
	"github.com/warden-auth/warden/store"
)

// A cached principal must stay compact (a request for a principal not in
// the CPU caches reads fewer lines of memory) and give back what the
// store said.
func TestPrincipalCompact(t *testing.T) {
	if n := unsafe.Sizeof(principal{}); n > 640 {
		t.Errorf("principal is %d bytes, over 640", n)
	}
	key := func(e krb5.EncType, kvno uint32, salt string, s2k []byte) store.Key {
		return store.Key{EType: int32(e), KVNO: kvno, Value: bytes.Repeat([]byte{byte(kvno)}, kcrypto.KeySize(e)), Salt: salt, S2KParams: s2k}
	}
	expires := time.Date(2031, 2, 3, 4, 5, 6, 7, time.FixedZone("X", 3600))
	for _, tc := range []struct {
		name string
		a    store.Account
		want []krb5.EncType // key order
	}{
		{"user", store.Account{Kind: store.Kind(string([]byte("user"))), Name: "alice", UPN: "alice@EXAMPLE.TEST", DisplayName: "Alice A.",
			PasswordExpires: expires, Secrets: store.Secrets{Keys: []store.Key{
				key(krb5.ETypeAES128CTSHMACSHA196, 2, "EXAMPLE.TESTalice", nil),
				key(krb5.ETypeAES256CTSHMACSHA196, 2, "EXAMPLE.TESTalice", nil),
				key(krb5.ETypeAES256CTSHMACSHA384, 2, "EXAMPLE.TESTalice", []byte{0, 0, 0x80, 0}),
			}}},
			[]krb5.EncType{krb5.ETypeAES256CTSHMACSHA196, krb5.ETypeAES256CTSHMACSHA384, krb5.ETypeAES128CTSHMACSHA196}},
		{"six keys over two kvnos", store.Account{Kind: store.KindService, Name: "HTTP-web", SupportedEnctypes: []int32{18, 18, 17},
			Secrets: store.Secrets{Keys: []store.Key{
				key(krb5.ETypeAES256CTSHMACSHA196, 1, "old", nil), key(krb5.ETypeAES128CTSHMACSHA196, 1, "old", nil),
				key(krb5.ETypeAES128CTSHMACSHA196, 2, "new", nil), key(krb5.ETypeAES256CTSHMACSHA196, 2, "new", nil),
				key(krb5.ETypeAES256CTSHMACSHA384, 2, "new", nil), key(krb5.ETypeAES128CTSHMACSHA256, 2, "new", nil),
			}}},
			[]krb5.EncType{18, 20, 19, 17, 18, 17}},
		{"no keys", store.Account{Kind: store.KindUser, Name: "nokeys"}, nil},
		{"text longer than the principal holds", store.Account{Kind: store.KindUser, Name: "bob", UPN: "bob@" + strings.Repeat("sub.", 30) + "example.test",
			DisplayName: "Bob B.", Secrets: store.Secrets{Keys: []store.Key{key(krb5.ETypeAES256CTSHMACSHA196, 1, "EXAMPLE.TESTbob", nil)}}},
			[]krb5.EncType{krb5.ETypeAES256CTSHMACSHA196}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := newPrincipal(&tc.a, nil, kcrypto.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if p.acct.Name != tc.a.Name || p.upn() != tc.a.UPN || p.displayName() != tc.a.DisplayName || p.acct.Kind != tc.a.Kind {
				t.Errorf("name %q upn %q display %q kind %q", p.acct.Name, p.upn(), p.displayName(), p.acct.Kind)
			}
			inBuf := unsafe.StringData(p.text) == &p.textBuf[0]
			if fits := len(p.text) <= inlineText; inBuf != fits {
				t.Errorf("text of %d bytes: in the principal %v, want %v", len(p.text), inBuf, fits)
			}
			if p.acct.Kind == store.KindUser && unsafe.StringData(string(p.acct.Kind)) != unsafe.StringData(string(store.KindUser)) {
				t.Error("the kind is not the package constant")
			}
			if !p.acct.PasswordExpires().Equal(tc.a.PasswordExpires) || !p.acct.AccountExpires().IsZero() || !p.acct.PasswordLastSet().IsZero() {
				t.Errorf("times %v %v %v", p.acct.PasswordExpires(), p.acct.AccountExpires(), p.acct.PasswordLastSet())
			}
			var got []krb5.EncType
			for i := range p.keys() {
				k := &p.keys()[i]
				got = append(got, k.etype)
				src := slices.IndexFunc(tc.a.Secrets.Keys, func(s store.Key) bool { return krb5.EncType(s.EType) == k.etype && s.KVNO == k.kvno })
				s := tc.a.Secrets.Keys[src]
				info := p.etypeInfo(k)
				if info.Salt != s.Salt || !bytes.Equal(info.S2KParams, s.S2KParams) || !bytes.Equal(k.value[:k.valueLen], s.Value) {
					t.Errorf("key %v kvno %d: salt %q s2k %x", k.etype, k.kvno, info.Salt, info.S2KParams)
				}
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("keys %v, want %v", got, tc.want)
			}
			wantETypes := tc.a.SupportedEnctypes
			if wantETypes == nil {
				for _, e := range p.keyETypes() {
					wantETypes = append(wantETypes, int32(e))
				}
			}
			wantETypes = slices.Compact(wantETypes)
			if len(p.etypes()) != len(wantETypes) {
				t.Errorf("etypes %v, want %v", p.etypes(), wantETypes)
			}
		})
	}
}

// An account the KDC cannot hold is refused with what to do about it, and
// takes no slab slot: it is tried again on every request for it.
func TestPrincipalRefused(t *testing.T) {
	long := strings.Repeat("x", 1<<16)
	for _, tc := range []struct {
		name string
		a    store.Account
		want string
	}{
		{"damaged key", store.Account{Kind: store.KindUser, Name: "alice", Secrets: store.Secrets{Keys: []store.Key{
			{EType: int32(krb5.ETypeAES256CTSHMACSHA196), KVNO: 3, Value: make([]byte, 16)}}}},
			"its stored aes256-cts-hmac-sha1-96 key (kvno 3) is 16 bytes, not 32; give the account new keys (warden user passwd alice)"},
		{"UPN too long", store.Account{Kind: store.KindUser, Name: "bob", UPN: long},
			"recreate the account with a shorter --upn or --display-name"},
		{"salt too long", store.Account{Kind: store.KindUser, Name: "carol", Secrets: store.Secrets{Keys: []store.Key{
			{EType: int32(krb5.ETypeAES256CTSHMACSHA196), KVNO: 1, Value: make([]byte, 32), Salt: long}}}},
			"set its password again (warden user passwd carol)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cachedPrincipals.mu.Lock()
			before := len(cachedPrincipals.free)
			cachedPrincipals.mu.Unlock()
			_, err := newPrincipal(&tc.a, nil, kcrypto.Options{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to say %q", err, tc.want)
			}
			cachedPrincipals.mu.Lock()
			after := len(cachedPrincipals.free)
			cachedPrincipals.mu.Unlock()
			if after != before {
				t.Errorf("a refused account took a slab slot (%d free before, %d after)", before, after)
			}
		})
	}
}

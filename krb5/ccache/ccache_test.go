package ccache

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/warden-auth/warden/krb5"
)

func principal(realm string, parts ...string) Principal {
	t := krb5.NameTypePrincipal
	if len(parts) > 1 {
		t = krb5.NameTypeSrvInst
	}
	return Principal{Realm: realm, Name: krb5.PrincipalName{NameType: t, NameString: parts}}
}

func sample() *Cache {
	alice := principal("EXAMPLE.TEST", "alice")
	now := time.Date(2026, 11, 23, 3, 0, 0, 0, time.UTC)
	c := &Cache{Version: 0x0504, KDCOffset: -3*time.Second - 5*time.Microsecond, HasKDCOffset: true, DefaultPrincipal: alice}
	c.Credentials = append(c.Credentials, Credential{
		Client: alice, Server: principal("EXAMPLE.TEST", "krbtgt", "EXAMPLE.TEST"),
		Key:      krb5.EncryptionKey{KeyType: 18, KeyValue: bytes.Repeat([]byte{7}, 32)},
		AuthTime: now, StartTime: now, EndTime: now.Add(10 * time.Hour), RenewTill: now.Add(7 * 24 * time.Hour),
		TicketFlags: krb5.TktFlagForwardable | krb5.TktFlagInitial | krb5.TktFlagPreAuthent,
		Addresses:   []krb5.HostAddress{{AddrType: krb5.AddrIPv4, Address: []byte{127, 0, 0, 1}}},
		AuthData:    []krb5.ADEntry{{Type: krb5.ADIfRelevant, Data: []byte{0x30, 0}}},
		Ticket:      []byte{0x61, 0x03, 0x30, 0x01, 0x00}, SecondTicket: []byte{},
	})
	c.SetConfig("fast_avail", "krbtgt/EXAMPLE.TEST@EXAMPLE.TEST", []byte("yes"))
	return c
}

func TestRoundTrip(t *testing.T) {
	for _, v := range []uint16{0x0504, 0x0503} {
		c := sample()
		c.Version = v
		if v == 0x0503 {
			c.HasKDCOffset, c.KDCOffset = false, 0
		}
		b, err := c.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		got, err := Parse(b)
		if err != nil {
			t.Fatalf("v%x: %v", v, err)
		}
		if !reflect.DeepEqual(normalize(got), normalize(c)) {
			t.Fatalf("v%x round trip:\n got %+v\nwant %+v", v, got, c)
		}
		again, _ := got.Marshal()
		if !bytes.Equal(again, b) {
			t.Fatalf("v%x re-marshal differs", v)
		}
		// A prefix is valid only where a credential ends.
		ends := map[int]bool{}
		for n := 0; n <= len(got.Credentials); n++ {
			cc := *got
			cc.Credentials = got.Credentials[:n]
			m, _ := cc.Marshal()
			ends[len(m)] = true
		}
		for i := 0; i < len(b); i++ {
			if _, err := Parse(b[:i]); (err == nil) != ends[i] {
				t.Fatalf("v%x prefix %d: %v", v, i, err)
			}
		}
	}
}

// normalize maps empty slices to nil: on disk an empty list and an
// absent one are the same bytes.
func normalize(c *Cache) *Cache {
	n := *c
	n.Credentials = nil
	if len(n.OtherTags) == 0 {
		n.OtherTags = nil
	}
	nil0 := func(b []byte) []byte {
		if len(b) == 0 {
			return nil
		}
		return b
	}
	for _, cr := range c.Credentials {
		cr.Key.KeyValue = nil0(cr.Key.KeyValue)
		cr.Ticket, cr.SecondTicket = nil0(cr.Ticket), nil0(cr.SecondTicket)
		if len(cr.Addresses) == 0 {
			cr.Addresses = nil
		}
		if len(cr.AuthData) == 0 {
			cr.AuthData = nil
		}
		n.Credentials = append(n.Credentials, cr)
	}
	return &n
}

func TestConfigAndFind(t *testing.T) {
	c := sample()
	if v, ok := c.Config("fast_avail", "krbtgt/EXAMPLE.TEST@EXAMPLE.TEST"); !ok || string(v) != "yes" {
		t.Errorf("Config = %q, %v", v, ok)
	}
	c.SetConfig("fast_avail", "krbtgt/EXAMPLE.TEST@EXAMPLE.TEST", []byte("no"))
	if v, _ := c.Config("fast_avail", "krbtgt/EXAMPLE.TEST@EXAMPLE.TEST"); string(v) != "no" || len(c.Credentials) != 2 {
		t.Errorf("SetConfig did not replace: %q, %d entries", v, len(c.Credentials))
	}
	if cr, err := c.Find(principal("EXAMPLE.TEST", "krbtgt", "EXAMPLE.TEST")); err != nil || cr.IsConfig() {
		t.Errorf("Find TGT: %v", err)
	}
	_, err := c.Find(principal("EXAMPLE.TEST", "HTTP", "web"))
	if err == nil || !strings.Contains(err.Error(), "no ticket for HTTP/web@EXAMPLE.TEST (it holds: krbtgt/EXAMPLE.TEST@EXAMPLE.TEST)") {
		t.Errorf("Find missing: %v", err)
	}
}

func TestParseRejects(t *testing.T) {
	tests := []struct {
		name string
		b    []byte
		want string
	}{
		{"empty", nil, "empty or truncated"},
		{"v1", []byte{5, 1}, "0x0501"},
		{"not a ccache", []byte{1, 2, 3}, "not an MIT credential cache"},
		{"header overrun", []byte{5, 4, 0, 10, 0}, "truncated"},
		{"huge component count", []byte{5, 4, 0, 0, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0}, "truncated"},
		{"huge data", []byte{5, 4, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0x7f, 0xff, 0xff, 0xff}, "truncated"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Parse(tc.b); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
		})
	}
}

func TestDefaultPath(t *testing.T) {
	for _, tc := range []struct{ env, want, err string }{
		{"FILE:/tmp/x", "/tmp/x", ""},
		{"/tmp/y", "/tmp/y", ""},
		{"KEYRING:persistent:0", "", "type \"KEYRING\" is not supported"},
	} {
		t.Setenv("KRB5CCNAME", tc.env)
		got, err := DefaultPath()
		if got != tc.want || (tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err))) {
			t.Errorf("%s: got %q, %v", tc.env, got, err)
		}
	}
}

func TestWriteLoadAndMITGolden(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cc")
	if err := sample().WriteFile(path); err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o600 {
		t.Errorf("mode %v", st.Mode().Perm())
	}
	if _, err := Load(path); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(filepath.Join(t.TempDir(), "none")); err == nil || !strings.Contains(err.Error(), "run kinit first") {
		t.Errorf("missing cache: %v", err)
	}
	// Written by MIT kinit 1.20 against an MIT KDC (alice@MIT.TEST); see
	// interop/keytab_ccache_test.go, which regenerates and checks it live.
	b, err := os.ReadFile("testdata/mit-kinit.ccache")
	if err != nil {
		t.Fatal(err)
	}
	c, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if c.DefaultPrincipal.String() != "alice@MIT.TEST" || len(c.Credentials) == 0 {
		t.Fatalf("MIT ccache decoded wrong: %+v", c)
	}
	again, _ := c.Marshal()
	if !bytes.Equal(again, b) {
		t.Fatal("MIT ccache re-marshals differently")
	}
}

func FuzzCCacheParse(f *testing.F) {
	b, _ := sample().Marshal()
	f.Add(b)
	if g, err := os.ReadFile("testdata/mit-kinit.ccache"); err == nil {
		f.Add(g)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := Parse(b)
		if err != nil {
			return
		}
		m, err := c.Marshal()
		if err != nil {
			return
		}
		if _, err := Parse(m); err != nil {
			t.Fatalf("re-parse of own encoding failed: %v", err)
		}
	})
}

func TestStoreReplacesOrAppends(t *testing.T) {
	alice := Principal{Realm: "R", Name: krb5.NewPrincipalName(krb5.NameTypePrincipal, "alice")}
	web := Principal{Realm: "R", Name: krb5.NewPrincipalName(krb5.NameTypeSrvHst, "HTTP/web")}
	db := Principal{Realm: "R", Name: krb5.NewPrincipalName(krb5.NameTypeSrvHst, "postgres/db")}
	c := &Cache{DefaultPrincipal: alice}
	c.Store(Credential{Client: alice, Server: web, Ticket: []byte{1}})
	c.Store(Credential{Client: alice, Server: db, Ticket: []byte{2}})
	c.Store(Credential{Client: alice, Server: web, Ticket: []byte{3}})
	if len(c.Credentials) != 2 {
		t.Fatalf("%d entries, want 2", len(c.Credentials))
	}
	if got, _ := c.Find(web); got.Ticket[0] != 3 {
		t.Fatalf("ticket for web not replaced: %v", got.Ticket)
	}
}

package client

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/warden-auth/warden/krb5"
)

// mitStyleConf is the shape of a Debian /etc/krb5.conf plus what the
// interop tests' KDC writes: relations Warden ignores must not matter.
const mitStyleConf = `# comment
; another comment
[libdefaults]
	default_realm = EXAMPLE.COM
	dns_lookup_kdc = false
	udp_preference_limit = 1
	ticket_lifetime = 10h
	renew_lifetime = 7d
	forwardable = true
	clockskew = 120
	permitted_enctypes = aes256-cts-hmac-sha1-96 aes128-cts-hmac-sha1-96 aes256-cts-hmac-sha384-192 aes128-cts-hmac-sha256-128
	default_ccache_name = KEYRING:persistent:%{uid}

[realms]
	EXAMPLE.COM = {
		kdc = kdc1.example.com
		kdc = kdc2.example.com:8888
		admin_server = kdc1.example.com
		auth_to_local = RULE:[1:$1@$0](.*@EXAMPLE\.COM)s/@.*//
		v4_instance_convert = {
			mit = mit.edu
		}
	}
	OTHER.ORG = {
		kdc = [2001:db8::1]:88
		kdc = https://kdcproxy.other.org/KdcProxy
	}

[domain_realm]
	.example.com = EXAMPLE.COM

[appdefaults]
	pam = {
		debug = false
	}
[plugins]*
include /etc/krb5.conf.d/extra.conf
includedir /etc/krb5.conf.d/
`

func TestParseKrb5Conf(t *testing.T) {
	c, err := ParseKrb5Conf([]byte(mitStyleConf))
	if err != nil {
		t.Fatal(err)
	}
	if c.Realm != "EXAMPLE.COM" || c.UDPPreferenceLimit != 1 || c.TicketLifetime != 10*time.Hour ||
		c.RenewLifetime != 7*24*time.Hour || !c.Forwardable || c.Proxiable || c.MaxSkew != 2*time.Minute {
		t.Errorf("libdefaults: %+v", c)
	}
	if got := strings.Join(c.KDCs["EXAMPLE.COM"], " "); got != "kdc1.example.com:88 kdc2.example.com:8888" {
		t.Errorf("EXAMPLE.COM kdcs: %s", got)
	}
	if got := strings.Join(c.KDCs["OTHER.ORG"], " "); got != "[2001:db8::1]:88" {
		t.Errorf("OTHER.ORG kdcs: %s", got)
	}
	if len(c.ETypes) != 4 || c.ETypes[0] != krb5.ETypeAES256CTSHMACSHA196 || c.ETypes[3] != krb5.ETypeAES128CTSHMACSHA256 {
		t.Errorf("etypes %v", c.ETypes)
	}
	if _, err := New(c); err != nil {
		t.Errorf("a parsed Config is not accepted by New: %v", err)
	}
}

func TestParseKrb5ConfCases(t *testing.T) {
	tests := []struct {
		name    string
		conf    string
		check   func(Config) bool
		wantErr string
	}{
		{"empty", "", func(c Config) bool { return c.Realm == "" && c.KDCs == nil }, ""},
		{"CRLF and quoted value", "[libdefaults]\r\n default_realm = \"A \\\"B\\\"\"\r\n", func(c Config) bool { return c.Realm == `A "B"` }, ""},
		{"first value wins", "[libdefaults]\ndefault_realm = A\ndefault_realm = B\n", func(c Config) bool { return c.Realm == "A" }, ""},
		{"tag with final marker", "[libdefaults]\ndefault_realm* = A\n", func(c Config) bool { return c.Realm == "A" }, ""},
		{"kdc in a realm subsection only", "[libdefaults]\n R = {\n kdc = x\n }\n", func(c Config) bool { return c.KDCs == nil }, ""},
		{"enctype families and removal", "[libdefaults]\ndefault_tkt_enctypes = aes -aes128-cts des3-cbc-sha1 camellia128-cts rc4\npermitted_enctypes = aes128-sha1\n",
			func(c Config) bool {
				return len(c.ETypes) == 4 && c.ETypes[0] == 18 && c.ETypes[1] == 20 && c.ETypes[2] == 19 && c.ETypes[3] == 23
			}, ""},
		{"DEFAULT", "[libdefaults]\ndefault_tkt_enctypes = DEFAULT,-aes256-sha2\n", func(c Config) bool { return len(c.ETypes) == 3 }, ""},
		{"udp limit clamped", "[libdefaults]\nudp_preference_limit = 99999\n", func(c Config) bool { return c.UDPPreferenceLimit == 32700 }, ""},
		{"no supported enctype", "[libdefaults]\ndefault_tkt_enctypes = des-cbc-crc\n", nil, "no enctype Warden supports"},
		{"bad boolean", "[libdefaults]\nforwardable = perhaps\n", nil, "not a boolean"},
		{"bad lifetime", "[libdefaults]\nticket_lifetime = forever\n", nil, "ticket_lifetime"},
		{"bad udp limit", "[libdefaults]\nudp_preference_limit = big\n", nil, "udp_preference_limit"},
		{"bad kdc port", "[realms]\nR = {\nkdc = host:http\n}\n", nil, "bad port"},
		{"relation before section", "default_realm = A\n", nil, "krb5.conf:1: relation before the first [section]"},
		{"missing =", "[libdefaults]\ndefault_realm A\n", nil, ":2: expected 'tag = value'"},
		{"unclosed section header", "[libdefaults\n", nil, "without ']'"},
		{"extra brace", "[realms]\n}\n", nil, ":2: '}' without an open subsection"},
		{"unclosed subsection", "[realms]\nR = {\nkdc = a\n", nil, `"R" is never closed`},
		{"section inside subsection", "[realms]\nR = {\n[libdefaults]\n", nil, "inside an unclosed"},
		{"unterminated quote", "[libdefaults]\ndefault_realm = \"abc\n", nil, "quoted"},
		{"too deep", "[a]\n" + strings.Repeat("x = {\n", maxConfDepth+1), nil, "too deeply"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := ParseKrb5Conf([]byte(tc.conf))
			if tc.wantErr != "" {
				var ce *ConfError
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !errors.As(err, &ce) {
					t.Errorf("got %v, want a ConfError containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || !tc.check(c) {
				t.Errorf("got %+v, %v", c, err)
			}
		})
	}
}

func TestLoadKrb5Conf(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join(dir, "a.conf")
	b := filepath.Join(dir, "b.conf")
	os.WriteFile(a, []byte("[libdefaults]\ndefault_realm = A\n[realms]\nA = {\nkdc = a1\n}\n"), 0o644)
	os.WriteFile(b, []byte("[libdefaults]\ndefault_realm = B\nforwardable = yes\n[realms]\nA = {\nkdc = a2\n}\nB = {\nkdc = b1\n}\n"), 0o644)

	t.Setenv("KRB5_CONFIG", a+":"+filepath.Join(dir, "missing.conf")+":"+b)
	c, err := LoadKrb5Conf("")
	if err != nil {
		t.Fatal(err)
	}
	if c.Realm != "A" || !c.Forwardable || strings.Join(c.KDCs["A"], " ") != "a1:88 a2:88" || len(c.KDCs["B"]) != 1 {
		t.Errorf("merged: %+v", c)
	}
	if c, err := LoadKrb5Conf(b); err != nil || c.Realm != "B" {
		t.Errorf("explicit path: %+v %v", c, err)
	}
	if _, err := LoadKrb5Conf(filepath.Join(dir, "missing.conf")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	bad := filepath.Join(dir, "bad.conf")
	os.WriteFile(bad, []byte("[libdefaults]\n\nnonsense\n"), 0o644)
	var ce *ConfError
	if _, err := LoadKrb5Conf(bad); !errors.As(err, &ce) || ce.File != bad || ce.Line != 3 || !strings.HasPrefix(err.Error(), bad+":3: ") {
		t.Errorf("syntax error: %v", err)
	}
}

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"10h", 10 * time.Hour, true},
		{"1d", 24 * time.Hour, true},
		{"1h30m", 90 * time.Minute, true},
		{"1d 2h 3m 4s", 26*time.Hour + 3*time.Minute + 4*time.Second, true},
		{"90s", 90 * time.Second, true},
		{"3600", time.Hour, true},
		{"0", 0, true},
		{"1:30", 90 * time.Minute, true},
		{"10:00:01", 10*time.Hour + time.Second, true},
		{" 7d ", 7 * 24 * time.Hour, true},
		{"", 0, false},
		{"h", 0, false},
		{"10x", 0, false},
		{"10", 10 * time.Second, true},
		{"1h1h", 0, false},
		{"-5", 0, false},
		{"1:60", 0, false},
		{"1:2:3:4", 0, false},
		{"99999999999d", 0, false},
		{"2147483648", 0, false},
		{"24856d", 0, false},
		{"forever", 0, false},
	}
	for _, tc := range tests {
		got, err := ParseDuration(tc.in)
		if (err == nil) != tc.ok || tc.ok && got != tc.want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

// FuzzParseKrb5Conf: the parser never panics, and whatever it accepts
// New accepts or refuses with an error (never a panic).
func FuzzParseKrb5Conf(f *testing.F) {
	f.Add(mitStyleConf)
	f.Add("[libdefaults]\n default_realm = \"quoted \\\\ \\n\"\n")
	f.Add("[realms]\nR = {\nkdc = [::1]:88\nkdc = h\n}\n")
	f.Add("[libdefaults]\nticket_lifetime = 1d 2h\nclockskew = 1:00\ndefault_tkt_enctypes = aes -aes128-sha2 +rc4\n")
	f.Add("[a]*\nx = {\ny = {\n}*\n}\n")
	f.Add("}\n")
	f.Add("[x\n")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseKrb5Conf([]byte(s))
		if err != nil {
			return
		}
		New(c)
	})
}

func FuzzParseDuration(f *testing.F) {
	for _, s := range []string{"10h", "1d 2h", "3600", "1:30:00", "99999999999d", "1h1h"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDuration(s)
		if err == nil && (d < 0 || d > (1<<31-1)*time.Second) {
			t.Fatalf("%q -> %v out of range", s, d)
		}
	})
}

func FuzzParsePrincipal(f *testing.F) {
	for _, s := range []string{"alice", "host/x@R", `a\/b\@c@R`, "a@b@c", `x\`, "/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		name, realm, err := ParsePrincipal(s, "DEF")
		if err != nil {
			return
		}
		if realm == "" || len(name.NameString) == 0 {
			t.Fatalf("%q accepted as %v@%q", s, name, realm)
		}
		for _, c := range name.NameString {
			if c == "" {
				t.Fatalf("%q: empty component", s)
			}
		}
	})
}

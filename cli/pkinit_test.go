package cli

import (
	"strings"
	"testing"

	"github.com/warden-auth/warden/internal/testkit"
	"github.com/warden-auth/warden/krb5/client"
)

func TestCheckPKINITFlags(t *testing.T) {
	tests := []struct {
		name    string
		o       kinitOptions
		wantErr string
	}{
		{"certificate", kinitOptions{pk: pkinitFlags{cert: "c", key: "k"}}, ""},
		{"anonymous", kinitOptions{pk: pkinitFlags{anonymous: true}}, ""},
		{"anonymous armor", kinitOptions{pk: pkinitFlags{armor: "anonymous"}, passwordFile: "pw"}, ""},
		{"cert without key", kinitOptions{pk: pkinitFlags{cert: "c"}}, "--cert and --key go together"},
		{"key without cert", kinitOptions{pk: pkinitFlags{key: "k"}}, "--cert and --key go together"},
		{"anonymous with a certificate", kinitOptions{pk: pkinitFlags{cert: "c", key: "k", anonymous: true}}, "takes no certificate"},
		{"certificate and password", kinitOptions{pk: pkinitFlags{cert: "c", key: "k"}, passwordFile: "pw"}, "no password or keytab"},
		{"anonymous and keytab", kinitOptions{pk: pkinitFlags{anonymous: true}, keytab: "kt"}, "no password or keytab"},
		{"renew", kinitOptions{pk: pkinitFlags{anonymous: true}, renew: true}, "-R renews"},
		{"renew with armor", kinitOptions{pk: pkinitFlags{armor: "anonymous"}, renew: true}, "-R renews"},
		{"unknown armor", kinitOptions{pk: pkinitFlags{armor: "computer"}}, `only --armor anonymous`},
		{"two armors", kinitOptions{pk: pkinitFlags{armor: "anonymous"}, armorCCache: "c"}, "both name an armor"},
		{"armored certificate", kinitOptions{pk: pkinitFlags{armor: "anonymous", cert: "c", key: "k"}}, ""},
		{"armored anonymous", kinitOptions{pk: pkinitFlags{anonymous: true}, armorKeytab: "kt"}, "anonymous login takes no armor"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checkPKINITFlags(tt.o)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			h, ok := err.(Hinter)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !ok || h.ErrorHint() == "" {
				t.Fatalf("got %v, want %q with a hint", err, tt.wantErr)
			}
		})
	}
}

func TestAnonymousRealm(t *testing.T) {
	tests := []struct {
		args    []string
		def     string
		want    string
		wantErr bool
	}{
		{nil, "DEF.TEST", "DEF.TEST", false},
		{nil, "", "", true},
		{[]string{"@R.TEST"}, "DEF.TEST", "R.TEST", false},
		{[]string{"R.TEST"}, "DEF.TEST", "R.TEST", false},
		{[]string{"WELLKNOWN/ANONYMOUS@R.TEST"}, "DEF.TEST", "R.TEST", false},
		{[]string{"WELLKNOWN/ANONYMOUS"}, "DEF.TEST", "DEF.TEST", false},
		{[]string{"alice@R.TEST"}, "DEF.TEST", "", true},
		{[]string{"host/x"}, "DEF.TEST", "", true},
	}
	for _, tt := range tests {
		got, err := anonymousRealm(tt.args, tt.def)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("anonymousRealm(%q, %q) = %q, %v; want %q (error %v)", tt.args, tt.def, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestCertPrincipal(t *testing.T) {
	ca := testkit.NewPKICA(t, "cli CA")
	load := func(ic *testkit.IssuedCert) *client.Certificate {
		c, err := client.LoadCertificate(ic.CertFile, ic.KeyFile)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	if got := certPrincipal(load(ca.IssueClient(t, "host/ws01.r.test", "R.TEST", testkit.CertOptions{})), "R.TEST"); got != "host/ws01.r.test@R.TEST" {
		t.Errorf("id-pkinit-san: %q", got)
	}
	if got := certPrincipal(load(ca.IssueClient(t, "alice", "R.TEST", testkit.CertOptions{NoSAN: true})), "R.TEST"); got != "" {
		t.Errorf("no SAN: %q", got)
	}
}

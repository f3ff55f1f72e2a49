package warden_test

import (
	"os/exec"
	"strings"
	"testing"
)

// The layer rules of docs/architecture.md §2, checked on the real import
// graph so that a shortcut fails the build instead of eroding the design.
//
// Rules are "packages under prefix P must not import anything under Q".
// Test files are not part of the graph (go list .Imports), so testkit and
// peers may be used from tests freely.
func TestDependencyDirection(t *testing.T) {
	const mod = "github.com/warden-auth/warden/"
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}}{{range .Imports}} {{.}}{{end}}`, "./...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	imports := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		imports[strings.TrimPrefix(f[0], mod)] = f[1:]
	}

	// wire codecs and crypto import nothing of ours but internal helpers
	// and what is strictly lower.
	lowerThan := map[string][]string{
		"internal/der":        {},
		"internal/ndr":        {},
		"internal/atomicfile": {},
		"krb5":                {"internal/der"},
		"krb5/kcrypto":        {"krb5", "internal/der"},
		"krb5/keytab":         {"krb5", "internal/atomicfile"},
		"krb5/ccache":         {"krb5", "internal/atomicfile"},
		"auth":                {},
		"store":               {"internal/atomicfile"},
		"config":              {"internal/atomicfile"},
		"server":              {"config", "store", "store/sqlite", "krb5", "krb5/kdc", "internal/atomicfile", "pki", "passthrough"},
		"admin":               {"krb5", "krb5/kcrypto", "krb5/keytab", "store"},
		"krb5/kdc":            {"krb5", "krb5/kcrypto", "krb5/pac", "store", "internal/der", "internal/cms", "krb5/pkinit"},
		"internal/cms":        {"internal/der"},
		"krb5/pkinit":         {"krb5", "krb5/kcrypto", "internal/der", "internal/cms"},
		"bench":               {"krb5", "krb5/kcrypto"},
		"pki":                 {"store", "auth"},
		"ntlm":                {},
		"digest":              {"auth"},
		"passthrough":         {"auth", "ntlm", "digest", "pki", "store"},
		"httpauth":            {"auth", "krb5", "krb5/ccache", "krb5/client", "krb5/gss", "pki", "ntlm", "digest", "passthrough"},
		"proxy":               {"auth", "httpauth", "krb5", "krb5/gss", "krb5/keytab"},
	}
	for pkg, allowed := range lowerThan {
		deps, ok := imports[pkg]
		if !ok {
			continue
		}
		for _, d := range deps {
			if !strings.HasPrefix(d, mod) {
				continue
			}
			d = strings.TrimPrefix(d, mod)
			if !contains(allowed, d) {
				t.Errorf("%s imports %s; it may only import %v of this module", pkg, d, allowed)
			}
		}
	}

	// The Kerberos family's wire codecs (krb5/..., CMS, DER, NDR) are
	// hand-written over cryptobyte: no reflection-based encoding/asn1,
	// not even for its ObjectIdentifier type (internal/der has OID).
	for pkg, deps := range imports {
		if !hasAnyPrefix(pkg, []string{"krb5", "internal/cms", "internal/der", "internal/ndr"}) {
			continue
		}
		if contains(deps, "encoding/asn1") {
			t.Errorf("%s imports encoding/asn1; use internal/der and cryptobyte", pkg)
		}
	}

	// Only the wiring layers may use the heavy infrastructure libraries.
	wiring := []string{"cli", "server", "cmd/", "store/sqlite", "store/postgres", "bench"}
	infra := []string{"github.com/spf13/cobra", "modernc.org/sqlite", "github.com/jackc/pgx", "github.com/prometheus/"}
	for pkg, deps := range imports {
		if hasAnyPrefix(pkg, wiring) || strings.HasPrefix(pkg, "interop") {
			continue
		}
		for _, d := range deps {
			if hasAnyPrefix(d, infra) {
				t.Errorf("%s imports %s; only %v may", pkg, d, wiring)
			}
			if d == mod+"cli" || strings.HasPrefix(d, mod+"server") {
				t.Errorf("%s imports %s: libraries never depend on the CLI or the daemon", pkg, d)
			}
			if strings.HasPrefix(d, mod+"internal/testkit") {
				t.Errorf("%s imports internal/testkit outside tests", pkg)
			}
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func hasAnyPrefix(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

package client

import (
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// PKINITConfig is what the client trusts to sign a KDC's PKINIT reply.
// A KDC certificate must chain to one of the anchors of the realm asked.
type PKINITConfig struct {
	// Anchors are MIT pkinit_anchors values by realm: "FILE:path" (PEM
	// certificates) or "DIR:path" (every PEM file in a directory); a bare
	// path is a FILE. The "" entry ([libdefaults]) applies to every realm,
	// in addition to the realm's own ([realms] REALM = {...}). They are
	// read at each PKINIT exchange, so a changed file takes effect at once.
	Anchors map[string][]string
	// Roots, when set, are trusted for every realm as well (programs that
	// hold the realm CA in memory).
	Roots *x509.CertPool
}

// maxAnchors caps the certificates read from one anchors location.
const maxAnchors = 256

// pkinitFromProfile collects pkinit_anchors from [libdefaults] and
// [realms]. Values are only recorded here: a krb5.conf naming anchors
// this client cannot read (PKCS11:, ENV:) still loads for password
// logins, and PKINIT says what is wrong when it needs them.
func pkinitFromProfile(p profile) PKINITConfig {
	var c PKINITConfig
	for _, r := range p {
		var realm string
		switch {
		case len(r.path) == 2 && r.path[0] == "libdefaults" && r.path[1] == "pkinit_anchors":
		case len(r.path) == 3 && r.path[0] == "realms" && r.path[2] == "pkinit_anchors":
			realm = r.path[1]
		default:
			continue
		}
		if c.Anchors == nil {
			c.Anchors = map[string][]string{}
		}
		c.Anchors[realm] = append(c.Anchors[realm], strings.TrimSpace(r.value))
	}
	return c
}

// pool returns the anchors for realm, and the locations they came from
// for error messages. No anchor at all is an error that says how to
// configure one: without it no KDC reply can be trusted.
func (c PKINITConfig) pool(realm string) (*x509.CertPool, []string, error) {
	pool := x509.NewCertPool()
	n := 0
	if c.Roots != nil {
		pool = c.Roots.Clone()
		n = 1 // the program's own roots: taken as configured
	}
	var where []string
	for _, loc := range append(append([]string(nil), c.Anchors[""]...), c.Anchors[realm]...) {
		certs, err := readAnchors(loc)
		if err != nil {
			return nil, nil, fmt.Errorf("pkinit_anchors %s: %w", loc, err)
		}
		for _, cert := range certs {
			pool.AddCert(cert)
		}
		n += len(certs)
		where = append(where, loc)
	}
	if n == 0 {
		return nil, nil, &pkinitAnchorError{realm: realm}
	}
	return pool, where, nil
}

// pkinitAnchorError says that no trust anchor for KDC certificates is
// configured.
type pkinitAnchorError struct{ realm string }

func (e *pkinitAnchorError) Error() string {
	return fmt.Sprintf("no PKINIT trust anchor for the KDC certificates of %s is configured", e.realm)
}

// ErrorHint tells how to configure one.
func (e *pkinitAnchorError) ErrorHint() string {
	return fmt.Sprintf("set pkinit_anchors = FILE:/path/realm-ca.pem in krb5.conf ([libdefaults] or [realms] %s), or pass --pkinit-anchor FILE (warden cert ca -o FILE exports a Warden realm's CA)", e.realm)
}

// readAnchors reads the certificates of one pkinit_anchors value.
func readAnchors(loc string) ([]*x509.Certificate, error) {
	kind, path, ok := strings.Cut(loc, ":")
	if !ok || strings.HasPrefix(loc, "/") {
		kind, path = "FILE", loc
	}
	switch kind {
	case "FILE":
		// MIT allows FILE:cert,key for identities; anchors are one file.
		b, err := readIdentityFile(path)
		if err != nil {
			return nil, err
		}
		return parsePEMCerts(b, path)
	case "DIR":
		ents, err := os.ReadDir(path)
		if err != nil {
			return nil, err
		}
		var out []*x509.Certificate
		for _, e := range ents {
			if e.IsDir() || strings.HasPrefix(e.Name(), ".") {
				continue
			}
			p := filepath.Join(path, e.Name())
			b, err := readIdentityFile(p)
			if err != nil {
				return nil, err
			}
			certs, err := parsePEMCerts(b, p)
			if err != nil {
				continue // MIT's DIR: holds CRLs and other files too
			}
			out = append(out, certs...)
			if len(out) > maxAnchors {
				return nil, fmt.Errorf("more than %d certificates", maxAnchors)
			}
		}
		if len(out) == 0 {
			return nil, errors.New("no PEM certificate in the directory")
		}
		return out, nil
	}
	return nil, fmt.Errorf("anchor type %q is not supported by this client (use FILE: or DIR:)", kind)
}

func parsePEMCerts(b []byte, path string) ([]*x509.Certificate, error) {
	certs, err := pemCertificates(b, maxAnchors)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return certs, nil
}

package cli

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/warden-auth/warden/krb5"
	"github.com/warden-auth/warden/krb5/client"
	"github.com/warden-auth/warden/pki"
)

// Certificate logon (PKINIT, RFC 4556) and anonymous PKINIT (RFC 8062)
// for warden kinit: --cert/--key instead of a password, --anonymous for
// a TGT without an account, and --armor anonymous to armor a password
// login with FAST on a host that has no computer account.

// pkinitFlags are kinit's PKINIT options.
type pkinitFlags struct {
	cert, key string
	anonymous bool
	armor     string   // "anonymous", or "" (no anonymous armor)
	anchors   []string // --pkinit-anchor, added to krb5.conf's pkinit_anchors
}

const armorAnonymous = "anonymous"

func addPKINITFlags(f *pflag.FlagSet, p *pkinitFlags) {
	f.StringVar(&p.cert, "cert", "", "log in with this certificate (PEM, intermediates may follow) instead of a password: PKINIT, with --key")
	f.StringVar(&p.key, "key", "", "the private key of --cert (PEM, unencrypted PKCS#8, EC or RSA)")
	f.BoolVarP(&p.anonymous, "anonymous", "n", false, "get an anonymous TGT (anonymous PKINIT): no account needed; good as FAST armor")
	f.StringVar(&p.armor, "armor", "", "armor the login with FAST using a TGT got now: only 'anonymous' (anonymous PKINIT, for hosts without a computer account)")
	f.StringArrayVar(&p.anchors, "pkinit-anchor", nil, "trust this CA (PEM file) for the KDC's certificate, besides krb5.conf's pkinit_anchors")
}

// pkinitHelp is appended to kinit's long help.
const pkinitHelp = `

With --cert F --key F the login is proven with a certificate (PKINIT, as a
smart card does) instead of a password; PRINCIPAL defaults to the name in
the certificate (id-pkinit-san, or a UPN name@REALM). --anonymous (-n)
gets an anonymous TGT (WELLKNOWN/ANONYMOUS@WELLKNOWN:ANONYMOUS) for the
default realm or @REALM.
--armor anonymous armors a password login with such a TGT, got on the fly,
so that FAST works on hosts without a computer account; a certificate
login takes any of the armors too. The KDC's certificate must chain to
pkinit_anchors (krb5.conf) or --pkinit-anchor.`

// used reports whether kinit is a PKINIT login rather than a password or
// keytab one.
func (p pkinitFlags) used() bool { return p.cert != "" || p.key != "" || p.anonymous }

func checkPKINITFlags(o kinitOptions) error {
	p := o.pk
	switch {
	case (p.cert == "") != (p.key == ""):
		return withHint(errors.New("--cert and --key go together"), "give the certificate file and its private key file")
	case p.cert != "" && p.anonymous:
		return withHint(errors.New("--anonymous takes no certificate"), "drop --cert/--key, or drop --anonymous to log in as the certificate's owner")
	case p.used() && (o.keytab != "" || o.passwordFile != ""):
		return withHint(errors.New("a certificate or anonymous login takes no password or keytab"), "drop --password-file/--keytab")
	case p.used() && o.renew, p.armor != "" && o.renew:
		return withHint(errors.New("-R renews the cache's TGT and takes no login options"), "drop --cert/--key/--anonymous/--armor")
	case p.armor != "" && p.armor != armorAnonymous:
		return withHint(fmt.Errorf("--armor %q: only --armor anonymous is known", p.armor), "for a computer's TGT use --armor-keytab KEYTAB or --armor-ccache CACHE")
	case p.armor != "" && (o.armorKeytab != "" || o.armorCCache != ""):
		return withHint(errors.New("--armor and --armor-keytab/--armor-ccache both name an armor"), "use one of them")
	case p.anonymous && (p.armor != "" || o.armorKeytab != "" || o.armorCCache != ""):
		return withHint(errors.New("an anonymous login takes no armor"),
			"the anonymous TGT is itself the armor for hosts without an account; drop the armor flags")
	}
	return nil
}

// pkinitClient returns c, or a client that also trusts --pkinit-anchor.
// runKinit calls it once; kinitPKINIT and anonymousArmor take its result.
func pkinitClient(c *client.Client, p pkinitFlags) (*client.Client, error) {
	if len(p.anchors) == 0 {
		return c, nil
	}
	cfg := c.Config()
	anchors := map[string][]string{}
	for r, l := range cfg.PKINIT.Anchors {
		anchors[r] = append([]string(nil), l...)
	}
	for _, a := range p.anchors {
		anchors[""] = append(anchors[""], "FILE:"+a)
	}
	cfg.PKINIT.Anchors = anchors
	return client.New(cfg)
}

// kinitPKINIT gets a TGT with a certificate or anonymously and writes it
// to the cache at path. c already trusts --pkinit-anchor (pkinitClient).
func kinitPKINIT(cmd *cobra.Command, c *client.Client, cfg client.Config, o kinitOptions, opts client.ASOptions, path string, args []string) error {
	var name krb5.PrincipalName
	if o.pk.anonymous {
		realm, err := anonymousRealm(args, cfg.Realm)
		if err != nil {
			return err
		}
		opts.Realm, opts.Anonymous = realm, true
	} else {
		cert, err := client.LoadCertificate(o.pk.cert, o.pk.key)
		if err != nil {
			return err
		}
		princ := ""
		if len(args) == 1 {
			princ = args[0]
		} else if princ = certPrincipal(cert, cfg.Realm); princ == "" {
			return withHint(fmt.Errorf("the certificate %q names no Kerberos principal of %s (id-pkinit-san, or a UPN name@%s)", cert.Chain[0].Subject, cfg.Realm, cfg.Realm),
				"name the principal: warden kinit --cert F --key F PRINCIPAL")
		}
		var realm string
		if name, realm, err = client.ParsePrincipal(princ, cfg.Realm); err != nil {
			return err
		}
		opts.Realm, opts.Certificate = realm, cert
		// A certificate login may be armored too (RFC 6113 with RFC
		// 4556), e.g. to meet a KDC's FAST requirement.
		if opts.Armor, err = kinitArmor(cmd, c, o, realm, path); err != nil {
			return err
		}
	}
	creds, err := c.ASExchange(cmd.Context(), name, nil, opts)
	if err != nil {
		return err
	}
	if !opts.Anonymous {
		return writeNewCache(path, creds)
	}
	// An anonymous cache's principal is in WELLKNOWN:ANONYMOUS; MIT's
	// start_realm entry names the TGT's realm (warden kvno and MIT's
	// tools read it).
	cache := newCache(creds)
	cache.SetConfig(client.StartRealmKey, "", []byte(opts.Realm))
	return cache.WriteFile(path)
}

// anonymousRealm is the realm of kinit -n [@REALM] (MIT's form; a bare
// REALM is accepted too).
func anonymousRealm(args []string, def string) (string, error) {
	if len(args) == 0 {
		if def == "" {
			return "", withHint(errors.New("no realm for the anonymous ticket"), "name it: warden kinit --anonymous @REALM, or set default_realm in krb5.conf")
		}
		return def, nil
	}
	a := args[0]
	if name, realm, err := client.ParsePrincipal(a, def); err == nil && len(name.NameString) == 2 && name.NameString[0] == "WELLKNOWN" && name.NameString[1] == "ANONYMOUS" {
		return realm, nil
	}
	if len(a) > 1 && a[0] == '@' {
		return a[1:], nil
	}
	for _, ch := range a {
		if ch == '@' || ch == '/' {
			return "", withHint(fmt.Errorf("--anonymous takes a realm, not the principal %q", a), "use warden kinit --anonymous @REALM")
		}
	}
	return a, nil
}

// anonymousArmor gets an anonymous TGT of realm to armor a password login
// (kinit --armor anonymous). It is not cached: one is cheap to get, and
// RFC 8062 anonymous TGTs are for armor only. c already trusts
// --pkinit-anchor (pkinitClient).
func anonymousArmor(cmd *cobra.Command, c *client.Client, realm string) (*client.Credentials, error) {
	tgt, err := c.ASExchange(cmd.Context(), krb5.PrincipalName{}, nil, client.ASOptions{Realm: realm, Anonymous: true})
	if err != nil {
		return nil, fmt.Errorf("getting an anonymous TGT of %s for armor: %w", realm, err)
	}
	return tgt, nil
}

// certPrincipal is the principal a certificate names: its first
// id-pkinit-san, else a UPN of the form name@REALM for the default realm
// (what Warden's CA writes into account certificates). Other UPNs map
// to accounts only through the KDC, so they are not guessed here.
func certPrincipal(cert *client.Certificate, realm string) string {
	if names := cert.Principals(); len(names) > 0 {
		return names[0]
	}
	upns, err := pki.CertUPNs(cert.Chain[0])
	if err != nil || realm == "" {
		return ""
	}
	for _, u := range upns {
		if name, dom, ok := strings.Cut(u, "@"); ok && name != "" && strings.EqualFold(dom, realm) && !strings.ContainsAny(name, "/@") {
			return name + "@" + realm
		}
	}
	return ""
}

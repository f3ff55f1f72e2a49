package cli

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/user"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/warden-auth/warden/krb5"
	"github.com/warden-auth/warden/krb5/ccache"
	"github.com/warden-auth/warden/krb5/client"
	"github.com/warden-auth/warden/krb5/keytab"
)

// newClientCommands returns the MIT-compatible client tools: kinit,
// klist, kvno and kdestroy. They read krb5.conf ($KRB5_CONFIG) and use
// FILE credential caches ($KRB5CCNAME), so they mix freely with MIT's.
func newClientCommands() []*cobra.Command {
	return []*cobra.Command{newKinitCmd(), newKlistCmd(), newKvnoCmd(), newKdestroyCmd()}
}

// resolveCCache returns the cache file path: -c (a path or FILE:path),
// else $KRB5CCNAME, else /tmp/krb5cc_<uid>, as MIT does.
func resolveCCache(flag string) (string, error) {
	if flag == "" {
		p, err := ccache.DefaultPath()
		if err != nil {
			return "", withHint(err, "set KRB5CCNAME=FILE:/tmp/krb5cc_"+fmt.Sprint(os.Getuid())+" or pass -c FILE")
		}
		return p, nil
	}
	if rest, ok := strings.CutPrefix(flag, "FILE:"); ok {
		return rest, nil
	}
	if i := strings.IndexByte(flag, ':'); i > 0 && !strings.HasPrefix(flag, "/") {
		return "", withHint(fmt.Errorf("credential cache %s: type %q is not supported", flag, flag[:i]), "use a FILE: cache")
	}
	return flag, nil
}

// loadCache reads the cache at path, saying how to get one when there is
// none.
func loadCache(path string) (*ccache.Cache, error) {
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return nil, withHint(fmt.Errorf("no credentials cache found (filename: %s)", path), "get a ticket first: warden kinit [PRINCIPAL]")
	}
	return ccache.Load(path)
}

// newKrbClient loads krb5.conf and builds a client from it.
func newKrbClient() (*client.Client, client.Config, error) {
	cfg, err := client.LoadKrb5Conf("")
	if errors.Is(err, fs.ErrNotExist) {
		return nil, cfg, withHint(err, "point KRB5_CONFIG at a krb5.conf that names the realm's KDC (warden krb5conf prints one)")
	}
	if err != nil {
		return nil, cfg, err
	}
	c, err := client.New(cfg)
	if err != nil {
		return nil, cfg, err
	}
	return c, c.Config(), nil
}

type kinitOptions struct {
	pk           pkinitFlags // --cert/--key, --anonymous, --armor anonymous (pkinit.go)
	passwordFile string
	keytab       string
	ccache       string
	lifetime     string
	renewLife    string
	renew        bool
	forwardable  bool
	proxiable    bool
	canonicalize bool
	// FAST armor (RFC 6113): a TGT from this keytab, or from this cache.
	armorKeytab    string
	armorPrincipal string
	armorCCache    string
}

func newKinitCmd() *cobra.Command {
	var o kinitOptions
	cmd := &cobra.Command{
		Use:   "kinit [PRINCIPAL]",
		Short: "Get a ticket-granting ticket and store it in the credential cache",
		Long: `kinit gets a ticket-granting ticket for PRINCIPAL (default: the cache's
principal, else your user name; with --keytab, the keytab's first principal)
with a password (prompted, or --password-file) or a keytab, and writes it to
the credential cache, replacing what was there. -R renews the cache's TGT.

With --armor-keytab (the computer's keytab) or --armor-ccache (-T, a cache
holding a TGT of the realm, as MIT kinit -T) the login is armored with FAST
(RFC 6113): the password is proven by encrypted challenge inside a tunnel
keyed by the computer's TGT, so it cannot be guessed offline from the
exchange, and the KDC's errors arrive protected. A FAST-obtained TGT is
marked in the cache (fast_avail, as MIT does) and later TGS requests made
with it (warden kvno) are armored too. --armor-keytab keeps the computer's
TGT in CACHE.armor: when the KDC does compound identity, later TGS requests
(warden kvno, warden get) carry it as the device, so that services flagged
compound-identity see the computer's groups and claims.` + pkinitHelp,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return runKinit(cmd, args, o) },
	}
	f := cmd.Flags()
	f.StringVar(&o.passwordFile, "password-file", "", "read the password from the first line of this file (- for stdin)")
	f.StringVarP(&o.keytab, "keytab", "k", "", "use the key from this keytab instead of a password")
	f.StringVarP(&o.ccache, "cache", "c", "", "credential cache (default $KRB5CCNAME or /tmp/krb5cc_<uid>)")
	f.StringVarP(&o.lifetime, "lifetime", "l", "", "requested ticket lifetime (10h, 1d, 3600, ...)")
	f.StringVarP(&o.renewLife, "renewable", "r", "", "requested renewable lifetime (7d, ...)")
	f.BoolVarP(&o.renew, "renew", "R", false, "renew the TGT in the cache")
	f.BoolVarP(&o.forwardable, "forwardable", "f", false, "request a forwardable ticket")
	f.BoolVarP(&o.proxiable, "proxiable", "p", false, "request a proxiable ticket")
	f.BoolVarP(&o.canonicalize, "canonicalize", "C", false, "let the KDC canonicalize the principal name")
	f.StringVar(&o.armorKeytab, "armor-keytab", "", "armor the login with FAST, with a TGT got from this keytab (the computer's)")
	f.StringVar(&o.armorPrincipal, "armor-principal", "", "the principal of --armor-keytab to use (default: its first)")
	f.StringVarP(&o.armorCCache, "armor-ccache", "T", "", "armor the login with FAST, with the realm's TGT in this cache (as MIT kinit -T)")
	addPKINITFlags(f, &o.pk)
	return cmd
}

func runKinit(cmd *cobra.Command, args []string, o kinitOptions) error {
	path, err := resolveCCache(o.ccache)
	if err != nil {
		return err
	}
	c, cfg, err := newKrbClient()
	if err != nil {
		return err
	}
	if err := checkArmorFlags(o); err != nil {
		return err
	}
	if err := checkPKINITFlags(o); err != nil {
		return err
	}
	if o.renew {
		return kinitRenew(cmd, c, path, args)
	}
	// Once for the login and its armor: both may be PKINIT exchanges.
	if c, err = pkinitClient(c, o.pk); err != nil {
		return err
	}
	var opts client.ASOptions
	if o.lifetime != "" {
		if opts.Lifetime, err = client.ParseDuration(o.lifetime); err != nil {
			return fmt.Errorf("-l: %w", err)
		}
	}
	if o.renewLife != "" {
		if opts.RenewLifetime, err = client.ParseDuration(o.renewLife); err != nil {
			return fmt.Errorf("-r: %w", err)
		}
	}
	opts.Forwardable, opts.Proxiable, opts.Canonicalize = o.forwardable, o.proxiable, o.canonicalize
	if o.pk.used() {
		return kinitPKINIT(cmd, c, cfg, o, opts, path, args)
	}

	var kt *keytab.Keytab
	if o.keytab != "" {
		if kt, err = keytab.Load(o.keytab); err != nil {
			return err
		}
	}
	princ, err := kinitPrincipal(args, path, kt)
	if err != nil {
		return err
	}
	name, realm, err := client.ParsePrincipal(princ, cfg.Realm)
	if err != nil {
		return err
	}
	opts.Realm = realm
	if opts.Armor, err = kinitArmor(cmd, c, o, realm, path); err != nil {
		return err
	}
	var keys client.KeySource
	if kt != nil {
		keys = client.Keytab(kt)
	} else {
		pw, err := readPassword(cmd, o.passwordFile, "Password for "+principalText(name, realm)+": ")
		if err != nil {
			return err
		}
		keys = client.Password(pw)
	}
	creds, err := c.ASExchange(cmd.Context(), name, keys, opts)
	if err != nil {
		return err
	}
	if opts.Armor == nil && kt == nil && creds.FASTOffered {
		fmt.Fprintf(cmd.ErrOrStderr(), "warden: note: the KDC of %s supports FAST; armor the login (--armor-keytab KEYTAB or --armor-ccache CACHE) so that the password exchange cannot be attacked offline\n", realm)
	}
	return writeNewCache(path, creds)
}

func checkArmorFlags(o kinitOptions) error {
	switch {
	case o.armorKeytab != "" && o.armorCCache != "":
		return withHint(errors.New("--armor-keytab and --armor-ccache both name an armor"), "use one of them")
	case o.armorPrincipal != "" && o.armorKeytab == "":
		return withHint(errors.New("--armor-principal names a principal of --armor-keytab, which is not given"), "add --armor-keytab KEYTAB")
	case o.renew && (o.armorKeytab != "" || o.armorCCache != ""):
		return withHint(errors.New("-R takes no armor"), "a TGT obtained with FAST is renewed armored by itself (implicit armor); drop --armor-keytab/--armor-ccache")
	}
	return nil
}

// kinitArmor returns the FAST armor TGT for realm named by the flags, or
// nil: the TGT in --armor-ccache, or one got now with --armor-keytab
// (and kept in the side cache next to cachePath). The computer's key is
// random, so its own login needs no armor.
func kinitArmor(cmd *cobra.Command, c *client.Client, o kinitOptions, realm, cachePath string) (*client.Credentials, error) {
	switch {
	case o.pk.armor == armorAnonymous:
		return anonymousArmor(cmd, c, realm)
	case o.armorCCache != "":
		p, err := resolveCCache(o.armorCCache)
		if err != nil {
			return nil, err
		}
		cache, err := loadCache(p)
		if err != nil {
			return nil, err
		}
		tgt, err := client.TGTFromCache(cache, realm)
		if err != nil {
			return nil, withHint(fmt.Errorf("armor cache %s: %w", p, err), "the armor cache needs a TGT of "+realm+", e.g. the computer's: warden kinit -k KEYTAB -c "+p)
		}
		if tgt.Expired(time.Now()) {
			return nil, withHint(fmt.Errorf("the armor TGT in %s (%s) expired at %s", p, tgt.Client, tgt.EndTime.Local().Format(klistTime)), "renew it: warden kinit -k KEYTAB -c "+p)
		}
		return tgt, nil
	case o.armorKeytab != "":
		kt, err := keytab.Load(o.armorKeytab)
		if err != nil {
			return nil, err
		}
		princ := o.armorPrincipal
		if princ == "" {
			if len(kt.Entries) == 0 {
				return nil, withHint(fmt.Errorf("the armor keytab %s is empty", o.armorKeytab), "write the computer's keys into it: warden keytab export NAME$ -o "+o.armorKeytab)
			}
			princ = kt.Entries[0].PrincipalString()
		}
		name, prealm, err := client.ParsePrincipal(princ, realm)
		if err != nil {
			return nil, err
		}
		if prealm != realm {
			return nil, withHint(fmt.Errorf("the armor principal %s is not in the realm %s", principalText(name, prealm), realm), "name a principal of "+realm+" with --armor-principal")
		}
		tgt, err := c.ASExchange(cmd.Context(), name, client.Keytab(kt), client.ASOptions{Realm: realm})
		if err != nil {
			return nil, fmt.Errorf("getting the armor TGT for %s: %w", principalText(name, realm), err)
		}
		if err := writeNewCache(cachePath+client.DeviceCacheSuffix, tgt); err != nil {
			return nil, err
		}
		return tgt, nil
	}
	return nil, nil
}

// kinitPrincipal picks the principal as MIT kinit does: the argument,
// else (with a keytab) the keytab's first principal, else the cache's
// default principal, else the login name.
func kinitPrincipal(args []string, cachePath string, kt *keytab.Keytab) (string, error) {
	if len(args) == 1 {
		return args[0], nil
	}
	if kt != nil {
		if len(kt.Entries) == 0 {
			return "", errors.New("the keytab is empty")
		}
		return kt.Entries[0].PrincipalString(), nil
	}
	if c, err := ccache.Load(cachePath); err == nil && len(c.DefaultPrincipal.Name.NameString) > 0 {
		return c.DefaultPrincipal.String(), nil
	}
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username, nil
	}
	if u := os.Getenv("USER"); u != "" {
		return u, nil
	}
	return "", errors.New("no principal given and the login name is unknown")
}

// kinitRenew replaces the cache's contents with its renewed TGT, as
// MIT's kinit -R does.
func kinitRenew(cmd *cobra.Command, c *client.Client, path string, args []string) error {
	cache, err := loadCache(path)
	if err != nil {
		return err
	}
	owner := cache.DefaultPrincipal
	if len(args) == 1 {
		name, realm, err := client.ParsePrincipal(args[0], owner.Realm)
		if err != nil {
			return err
		}
		if want := (ccache.Principal{Realm: realm, Name: name}); !want.Equal(owner) {
			return withHint(fmt.Errorf("the cache %s holds tickets of %s, not %s", path, owner, want), "renew without a principal, or use -c to name another cache")
		}
	}
	// A TGT the cache marks as FAST-obtained is renewed armored.
	tgt, err := client.TGTFromCache(cache, owner.Realm)
	if err != nil {
		return withHint(err, "get a new ticket: warden kinit -r 7d")
	}
	renewed, err := c.Renew(cmd.Context(), tgt)
	if err != nil {
		return err
	}
	return writeNewCache(path, renewed)
}

// writeNewCache replaces the cache at path with creds (newCache).
func writeNewCache(path string, creds *client.Credentials) error {
	return newCache(creds).WriteFile(path)
}

// newCache is a cache holding only creds, marked fast_avail when creds
// came from a verified FAST exchange (and compound_avail likewise).
func newCache(creds *client.Credentials) *ccache.Cache {
	cache := &ccache.Cache{Version: 0x0504, DefaultPrincipal: creds.Client, Credentials: []ccache.Credential{creds.CCache()}}
	client.RecordKDCFeatures(cache, creds)
	return cache
}

// readPassword reads the password from --password-file, else from the
// terminal without echo, else a line from standard input (so that
// "echo pw | warden kinit" works as with MIT kinit).
func readPassword(cmd *cobra.Command, file, prompt string) (string, error) {
	var r io.Reader
	switch {
	case file == "-":
		r = cmd.InOrStdin()
	case file != "":
		f, err := os.Open(file)
		if err != nil {
			return "", err
		}
		defer f.Close()
		r = f
	default:
		in := cmd.InOrStdin()
		if f, ok := in.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
			fmt.Fprint(cmd.ErrOrStderr(), prompt)
			pw, err := term.ReadPassword(int(f.Fd()))
			fmt.Fprintln(cmd.ErrOrStderr())
			if err != nil {
				return "", err
			}
			if len(pw) == 0 {
				return "", errors.New("empty password")
			}
			return string(pw), nil
		}
		r = in
	}
	line, err := bufio.NewReader(io.LimitReader(r, 4096)).ReadString('\n')
	if err != nil && err != io.EOF {
		return "", err
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", withHint(errors.New("no password given"), "type it at the prompt, or use --password-file F or --keytab F")
	}
	return line, nil
}

func principalText(name krb5.PrincipalName, realm string) string {
	return ccache.Principal{Realm: realm, Name: name}.String()
}

func newKlistCmd() *cobra.Command {
	var cachePath string
	var etypes bool
	cmd := &cobra.Command{
		Use:   "klist",
		Short: "List the tickets in the credential cache",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			path, err := resolveCCache(cachePath)
			if err != nil {
				return err
			}
			cache, err := loadCache(path)
			if err != nil {
				return err
			}
			printCache(cmd.OutOrStdout(), path, cache, etypes, time.Local)
			return nil
		},
	}
	cmd.Flags().StringVarP(&cachePath, "cache", "c", "", "credential cache (default $KRB5CCNAME or /tmp/krb5cc_<uid>)")
	cmd.Flags().BoolVarP(&etypes, "enctypes", "e", false, "show the session key and ticket enctypes")
	return cmd
}

// klistTime is MIT klist's timestamp in the C locale ("%x %X").
const klistTime = "01/02/06 15:04:05"

// printCache writes the listing in MIT klist's layout (C locale), so
// that scripts and eyes used to klist read it the same way. The extra
// line under a ticket follows MIT's show_credential: fields joined by
// ", " and broken where MIT breaks them.
func printCache(w io.Writer, path string, c *ccache.Cache, etypes bool, loc *time.Location) {
	fmt.Fprintf(w, "Ticket cache: FILE:%s\nDefault principal: %s\n\n", path, c.DefaultPrincipal)
	col := len(klistTime) + 2
	fmt.Fprintf(w, "%-*s%-*s%s\n", col, "Valid starting", col, "Expires", "Service principal")
	for _, cr := range c.Credentials {
		if cr.IsConfig() {
			continue
		}
		start := cr.StartTime
		if start.IsZero() {
			start = cr.AuthTime
		}
		fmt.Fprintf(w, "%s  %s  %s\n", start.In(loc).Format(klistTime), cr.EndTime.In(loc).Format(klistTime), cr.Server)
		extra := 0
		field := func(format string, a ...any) {
			if extra == 0 {
				fmt.Fprint(w, "\t")
			} else {
				fmt.Fprint(w, ", ")
			}
			fmt.Fprintf(w, format, a...)
		}
		if !cr.Client.Equal(c.DefaultPrincipal) {
			field("for client %s", cr.Client)
			extra++
		}
		if cr.TicketFlags.Has(krb5.TktFlagRenewable) {
			field("renew until %s", cr.RenewTill.In(loc).Format(klistTime))
			extra += 2
		}
		if extra > 2 {
			fmt.Fprintln(w)
			extra = 0
		}
		if etypes {
			tkt := "?"
			var t krb5.Ticket
			if t.Unmarshal(cr.Ticket) == nil {
				tkt = t.EncPart.EType.String()
			}
			field("Etype (skey, tkt): %v, %s ", cr.Key.KeyType, tkt)
			extra++
		}
		if extra > 0 {
			fmt.Fprintln(w)
		}
	}
}

func newKvnoCmd() *cobra.Command {
	var cachePath string
	cmd := &cobra.Command{
		Use:   "kvno SERVICE...",
		Short: "Get service tickets with the cache's TGT and print their key version numbers",
		Long: `kvno gets a ticket for each SERVICE (e.g. host/server.example.com) with the
TGT in the credential cache, stores it there, and prints "SERVICE@REALM: kvno
= N". A ticket already in the cache and not expired is used as it is.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			path, err := resolveCCache(cachePath)
			if err != nil {
				return err
			}
			return runKvno(cmd, path, args)
		},
	}
	cmd.Flags().StringVarP(&cachePath, "cache", "c", "", "credential cache (default $KRB5CCNAME or /tmp/krb5cc_<uid>)")
	return cmd
}

func runKvno(cmd *cobra.Command, path string, services []string) error {
	cache, err := loadCache(path)
	if err != nil {
		return err
	}
	c, _, err := newKrbClient()
	if err != nil {
		return err
	}
	realm := client.CacheRealm(cache) // start_realm for anonymous caches
	// With a TGT the cache marks as FAST-obtained (fast_avail) the TGS
	// requests are armored (implicit armor).
	tgt, err := client.TGTFromCache(cache, realm)
	if err != nil {
		return withHint(err, "get a ticket-granting ticket first: warden kinit")
	}
	// With the computer's TGT kept by kinit --armor-keytab, and a KDC
	// that does compound identity, the requests carry the device too.
	opts := client.TGSOptions{Subkey: true}
	var armorNote error
	opts.Armor, armorNote = client.CompoundArmor(path, tgt, time.Now())
	var errs []error
	changed := false
	for _, s := range services {
		name, srealm, err := client.ParsePrincipal(s, realm)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		svc := ccache.Principal{Realm: srealm, Name: name}
		creds, cached := cachedTicket(cache, svc, time.Now())
		if !cached {
			if srealm != realm {
				errs = append(errs, withHint(fmt.Errorf("%s is in another realm than the TGT (%s)", svc, realm),
					"cross-realm tickets are not supported by warden kvno"))
				continue
			}
			if armorNote != nil {
				fmt.Fprintf(cmd.ErrOrStderr(), "warden: note: %v; asking without the device's identity (renew it: warden kinit --armor-keytab KEYTAB)\n", armorNote)
				armorNote = nil
			}
			creds, err = c.TGSExchange(cmd.Context(), tgt, name, opts)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			cache.Store(creds.CCache())
			changed = true
		}
		fmt.Fprintf(cmd.OutOrStdout(), "%s: kvno = %d\n", svc, creds.Ticket.EncPart.KVNO)
	}
	if changed {
		if err := cache.WriteFile(path); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// cachedTicket returns the cache's ticket for svc if it is still valid,
// as MIT's krb5_get_credentials does before asking the KDC.
func cachedTicket(cache *ccache.Cache, svc ccache.Principal, now time.Time) (*client.Credentials, bool) {
	e, err := cache.Find(svc)
	if err != nil {
		return nil, false
	}
	creds, err := client.FromCCache(*e)
	if err != nil || creds.Expired(now) || !creds.Client.Equal(cache.DefaultPrincipal) {
		return nil, false
	}
	return creds, true
}

func newKdestroyCmd() *cobra.Command {
	var cachePath string
	cmd := &cobra.Command{
		Use:   "kdestroy",
		Short: "Destroy the credential cache",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			path, err := resolveCCache(cachePath)
			if err != nil {
				return err
			}
			// Removing the file is enough: overwriting it first, as old MIT
			// releases did, does not reliably reach the disk blocks on
			// journaling or copy-on-write file systems.
			err = os.Remove(path)
			if errors.Is(err, fs.ErrNotExist) {
				return withHint(fmt.Errorf("no credentials cache found (filename: %s)", path), "there is nothing to destroy")
			}
			// The armor side cache of kinit --armor-keytab goes with it.
			if aerr := os.Remove(path + client.DeviceCacheSuffix); aerr != nil && !errors.Is(aerr, fs.ErrNotExist) && err == nil {
				err = aerr
			}
			return err
		},
	}
	cmd.Flags().StringVarP(&cachePath, "cache", "c", "", "credential cache (default $KRB5CCNAME or /tmp/krb5cc_<uid>)")
	return cmd
}

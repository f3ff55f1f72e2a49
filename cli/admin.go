package cli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/warden-auth/warden/admin"
	"github.com/warden-auth/warden/config"
	"github.com/warden-auth/warden/krb5"
	"github.com/warden-auth/warden/krb5/keytab"
	"github.com/warden-auth/warden/server"
	"github.com/warden-auth/warden/store"
)

func addAdminCommands(root *cobra.Command) {
	root.AddCommand(newInitCmd(), newUserCmd(), newComputerCmd(), newServiceCmd(),
		newGroupCmd(), newClaimCmd(), newKeytabCmd(), newKrb5confCmd())
}

// initRealm creates a data directory with config, master key, DB and realm.
func initRealm(dir, realm, kdcAddr string) (*config.Config, error) {
	if _, err := os.Stat(filepath.Join(dir, config.FileName)); err == nil {
		return nil, withHint(fmt.Errorf("%s already holds a realm", dir), "use another --data directory, or remove this one to start over")
	}
	if err := admin.ValidRealm(strings.ToUpper(realm)); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	cfg := config.Default(strings.ToUpper(realm))
	if kdcAddr != "" {
		cfg.KDC.Addr = kdcAddr
	}
	cfg.Dir = dir
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if _, err := store.CreateMasterKey(cfg.Path(cfg.MasterKeyFile)); err != nil {
		return nil, err
	}
	st, err := server.OpenStore(cfg)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	if _, err := admin.InitRealm(bgctx(), st, cfg.Realm, nil, time.Now()); err != nil {
		return nil, err
	}
	if _, err := createRealmCA(bgctx(), st, cfg); err != nil {
		return nil, fmt.Errorf("realm CA: %w", err)
	}
	// The config is written last: its presence means "a complete realm".
	if err := cfg.Save(dir); err != nil {
		return nil, err
	}
	return cfg, nil
}

func newInitCmd() *cobra.Command {
	var realm, kdcAddr string
	cmd := &cobra.Command{
		Use:   "init --realm REALM",
		Short: "Create a realm: master key, account DB, krbtgt and configuration",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if realm == "" {
				return withHint(fmt.Errorf("--realm is required"), "e.g. warden init --realm EXAMPLE.TEST")
			}
			dir := dataDir(cmd)
			cfg, err := initRealm(dir, realm, kdcAddr)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "Realm %s created in %s\n", cfg.Realm, dir)
			fmt.Fprintf(out, "  master key: %s (keep it safe and private; without it the secrets are lost)\n", cfg.Path(cfg.MasterKeyFile))
			fmt.Fprintf(out, "Next: warden user add alice --data %s; warden serve --data %s\n", dir, dir)
			return nil
		},
	}
	cmd.Flags().StringVar(&realm, "realm", "", "realm name, e.g. EXAMPLE.TEST")
	cmd.Flags().StringVar(&kdcAddr, "kdc-addr", "", "KDC address to configure (default :88)")
	return cmd
}

func newUserCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "user", Short: "Manage users"}

	var pw passwordSource
	var uo admin.UserOptions
	add := &cobra.Command{
		Use:   "add NAME",
		Short: "Create a user with a password",
		Args:  cobra.ExactArgs(1),
		RunE: withAdmin(func(cmd *cobra.Command, args []string, a *admin.Admin) error {
			p, generated, err := pw.get(cmd, "Password for "+args[0]+": ")
			if err != nil {
				return err
			}
			acct, err := a.AddUser(ctx(cmd), args[0], p, uo)
			if err != nil {
				return storeError(err, "user")
			}
			fmt.Fprintf(cmd.OutOrStdout(), "user %s created (%s, SID %s)\n", acct.Name, acct.UPN, store.SID(a.Realm().DomainSID, acct.RID))
			if generated {
				fmt.Fprintf(cmd.OutOrStdout(), "password: %s\n", p)
			}
			return nil
		}),
	}
	pw.flags(add)
	add.Flags().StringVar(&uo.UPN, "upn", "", "user principal name (default NAME@realm in lower case)")
	add.Flags().StringVar(&uo.DisplayName, "display-name", "", "display name")
	add.Flags().StringSliceVar(&uo.Groups, "group", nil, "add to these groups")
	add.Flags().BoolVar(&uo.Keys.RC4, "rc4", false, "also keep an arcfour-hmac key (legacy peers only)")
	add.Flags().BoolVar(&uo.NoPreauth, "no-preauth", false, "do not require pre-authentication (not recommended)")

	var pw2 passwordSource
	var rc4 bool
	passwd := &cobra.Command{
		Use:   "passwd NAME",
		Short: "Set a user's password (new keys, NT hash and Digest secrets)",
		Args:  cobra.ExactArgs(1),
		RunE: withAdmin(func(cmd *cobra.Command, args []string, a *admin.Admin) error {
			p, generated, err := pw2.get(cmd, "New password for "+args[0]+": ")
			if err != nil {
				return err
			}
			acct, err := a.SetPassword(ctx(cmd), args[0], p, admin.KeyOptions{RC4: rc4})
			if err != nil {
				return storeError(err, "user")
			}
			fmt.Fprintf(cmd.OutOrStdout(), "password of %s changed (kvno %d)\n", acct.Name, acct.KVNO())
			if generated {
				fmt.Fprintf(cmd.OutOrStdout(), "password: %s\n", p)
			}
			return nil
		}),
	}
	pw2.flags(passwd)
	passwd.Flags().BoolVar(&rc4, "rc4", false, "also keep an arcfour-hmac key (legacy peers only)")

	show := &cobra.Command{
		Use:   "show NAME",
		Short: "Show an account (never its secrets)",
		Args:  cobra.ExactArgs(1),
		RunE: withAdmin(func(cmd *cobra.Command, args []string, a *admin.Admin) error {
			return showAccount(cmd, a, args[0])
		}),
	}
	var kind string
	list := &cobra.Command{
		Use:   "list",
		Short: "List accounts",
		Args:  cobra.NoArgs,
		RunE: withAdmin(func(cmd *cobra.Command, _ []string, a *admin.Admin) error {
			accts, err := a.Store().Accounts(ctx(cmd), store.Kind(kind))
			if err != nil {
				return err
			}
			w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "NAME\tKIND\tUPN/SPN\tFLAGS")
			for _, ac := range accts {
				id := ac.UPN
				if id == "" && len(ac.SPNs) > 0 {
					id = ac.SPNs[0]
				}
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", ac.Name, ac.Kind, id, ac.Flags)
			}
			return w.Flush()
		}),
	}
	list.Flags().StringVar(&kind, "kind", "user", "user, computer, service, or empty for all")

	flagCmd := func(use, short string, set, clr store.Flags, done string) *cobra.Command {
		return &cobra.Command{
			Use: use + " NAME", Short: short, Args: cobra.ExactArgs(1),
			RunE: withAdmin(func(cmd *cobra.Command, args []string, a *admin.Admin) error {
				if _, err := a.SetFlags(ctx(cmd), args[0], set, clr); err != nil {
					return storeError(err, "user")
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s %s\n", args[0], done)
				return nil
			}),
		}
	}
	unlock := &cobra.Command{
		Use: "unlock NAME", Short: "Clear a bad-password lockout", Args: cobra.ExactArgs(1),
		RunE: withAdmin(func(cmd *cobra.Command, args []string, a *admin.Admin) error {
			if err := a.Unlock(ctx(cmd), args[0]); err != nil {
				return storeError(err, "user")
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s unlocked\n", args[0])
			return nil
		}),
	}
	del := &cobra.Command{
		Use: "del NAME", Short: "Delete an account", Args: cobra.ExactArgs(1),
		RunE: withAdmin(func(cmd *cobra.Command, args []string, a *admin.Admin) error {
			if err := a.Delete(ctx(cmd), args[0]); err != nil {
				return storeError(err, "user")
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s deleted\n", args[0])
			return nil
		}),
	}
	cmd.AddCommand(add, passwd, show, list,
		flagCmd("disable", "Disable an account", store.FlagDisabled, 0, "disabled"),
		flagCmd("enable", "Enable an account", 0, store.FlagDisabled, "enabled"),
		unlock, del, newImportCmd(),
		newSetFlagsCmd("set NAME [--fast-required] [--password-never-expires] [--no-forward] (each =false to clear)", "Change an account's settings", false, []accountFlag{
			{"fast-required", store.FlagFASTRequired, "logons must be armored with FAST (kinit -T); unarmored ones are refused"},
			{"password-never-expires", store.FlagPasswordNeverExpires, "the password policy's maximum age does not apply"},
			{"no-forward", store.FlagNoForward, "tickets are never forwardable"},
		}))
	return cmd
}

func showAccount(cmd *cobra.Command, a *admin.Admin, name string) error {
	acct, err := a.Store().AccountByPrincipal(ctx(cmd), name)
	if err != nil {
		return storeError(err, "user")
	}
	groups, err := a.Store().MemberOf(ctx(cmd), acct.Name)
	if err != nil {
		return err
	}
	claims, err := a.Store().Claims(ctx(cmd), acct.Name)
	if err != nil {
		return err
	}
	w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
	fmt.Fprintf(w, "Name:\t%s\n", acct.Name)
	fmt.Fprintf(w, "Kind:\t%s\n", acct.Kind)
	if acct.UPN != "" {
		fmt.Fprintf(w, "UPN:\t%s\n", acct.UPN)
	}
	fmt.Fprintf(w, "SID:\t%s\n", store.SID(a.Realm().DomainSID, acct.RID))
	if len(acct.SPNs) > 0 {
		fmt.Fprintf(w, "SPNs:\t%s\n", strings.Join(acct.SPNs, ", "))
	}
	fmt.Fprintf(w, "Flags:\t%s\n", acct.Flags)
	var keys []string
	for _, k := range acct.Secrets.Keys {
		keys = append(keys, fmt.Sprintf("%s (kvno %d)", etypeName(k.EType), k.KVNO))
	}
	fmt.Fprintf(w, "Keys:\t%s\n", strings.Join(keys, ", "))
	if !acct.PasswordLastSet.IsZero() {
		fmt.Fprintf(w, "Password set:\t%s\n", acct.PasswordLastSet.Format(time.RFC3339))
	}
	if !acct.PasswordExpires.IsZero() {
		fmt.Fprintf(w, "Password expires:\t%s\n", acct.PasswordExpires.Format(time.RFC3339))
	}
	if acct.Lockout.BadCount > 0 || acct.Lockout.Locked(time.Now()) {
		fmt.Fprintf(w, "Bad passwords:\t%d", acct.Lockout.BadCount)
		if acct.Lockout.Locked(time.Now()) {
			fmt.Fprintf(w, " (locked until %s)", acct.Lockout.LockedUntil.Format(time.RFC3339))
		}
		fmt.Fprintln(w)
	}
	// What the account's PAC says: its primary group and every group
	// it is in, nested memberships expanded.
	dom := a.Realm().DomainSID
	primary, primaryName := store.PrimaryGroup(acct.Kind)
	fmt.Fprintf(w, "Primary group:\t%s (%s)\n", primaryName, store.SID(dom, primary))
	var gn []string
	for _, g := range groups {
		gn = append(gn, fmt.Sprintf("%s (%s)", g.Name, store.SID(dom, g.RID)))
	}
	fmt.Fprintf(w, "Groups:\t%s\n", strings.Join(gn, ", "))
	for _, c := range claims {
		fmt.Fprintf(w, "Claim:\t%s = %s\n", c.ID, strings.Join(c.Values, ","))
	}
	return w.Flush()
}

func newComputerCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "computer", Short: "Manage computer accounts"}
	var kt string
	add := &cobra.Command{
		Use:   "add NAME",
		Short: "Create computer account NAME$ with host/ SPNs and random keys",
		Args:  cobra.ExactArgs(1),
		RunE: withAdmin(func(cmd *cobra.Command, args []string, a *admin.Admin) error {
			acct, err := a.AddComputer(ctx(cmd), args[0], admin.KeyOptions{})
			if err != nil {
				return storeError(err, "user")
			}
			fmt.Fprintf(cmd.OutOrStdout(), "computer %s created (SPNs %s)\n", acct.Name, strings.Join(acct.SPNs, ", "))
			return writeKeytab(cmd, a, acct.Name, kt)
		}),
	}
	add.Flags().StringVar(&kt, "keytab", "", "write the computer's keys to this keytab")
	cmd.AddCommand(add, newSetFlagsCmd("set NAME$ [--fast-required] (=false to clear)", "Change a computer account's settings", false, []accountFlag{
		{"fast-required", store.FlagFASTRequired, "the computer's own logons must be armored with FAST"},
	}))
	return cmd
}

func newServiceCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "service", Short: "Manage service principals"}
	var kt string
	var so admin.ServiceOptions
	add := &cobra.Command{
		Use:   "add SPN",
		Short: "Create a service account for an SPN (e.g. HTTP/web.example.test) with random keys",
		Args:  cobra.ExactArgs(1),
		RunE: withAdmin(func(cmd *cobra.Command, args []string, a *admin.Admin) error {
			acct, err := a.AddService(ctx(cmd), args[0], so)
			if err != nil {
				return storeError(err, "user")
			}
			fmt.Fprintf(cmd.OutOrStdout(), "service %s created (account %s)\n", args[0], acct.Name)
			return writeKeytab(cmd, a, args[0], kt)
		}),
	}
	add.Flags().StringVar(&kt, "keytab", "", "write the service's keys to this keytab")
	add.Flags().BoolVar(&so.CompoundIdentity, "compound-identity", false, "the service wants device groups and claims (MS-KILE compound identity)")
	add.Flags().BoolVar(&so.Claims, "claims", false, "the service wants claims in its tickets")
	add.Flags().StringVar(&so.Name, "name", "", "account name (default derived from the SPN)")
	add.Flags().StringSliceVar(&so.ExtraSPNs, "spn", nil, "further SPNs of the same account")
	add.Flags().BoolVar(&so.Keys.RC4, "rc4", false, "also make an arcfour-hmac key (legacy peers only)")
	add.Flags().BoolVar(&so.NoPAC, "no-pac", false, "tickets for this service carry no PAC (for servers that cannot take one)")
	set := newSetFlagsCmd("set SPN [--no-pac] [--claims] [--compound-identity] [--fast-required] (each =false to clear)",
		"Change a service's settings", true, []accountFlag{
			{"no-pac", store.FlagNoPAC, "tickets for this service carry no PAC"},
			{"claims", store.FlagClaimsSupported, "tickets for this service carry the client's claims"},
			{"compound-identity", store.FlagCompoundIdentity, "the service wants device groups and claims (MS-KILE compound identity)"},
			{"fast-required", store.FlagFASTRequired, "the service account's own logons must be FAST-armored"},
		})
	cmd.AddCommand(add, set)
	return cmd
}

// accountFlag is an account flag that "set" commands turn on or off.
type accountFlag struct {
	name  string
	flag  store.Flags
	usage string
}

// newSetFlagsCmd returns a "set NAME --flag[=false]..." command; byPrincipal
// looks NAME up as a principal (an SPN) rather than an account name.
func newSetFlagsCmd(use, short string, byPrincipal bool, flags []accountFlag) *cobra.Command {
	values := make([]bool, len(flags))
	cmd := &cobra.Command{
		Use: use, Short: short, Args: cobra.ExactArgs(1),
		RunE: withAdmin(func(cmd *cobra.Command, args []string, a *admin.Admin) error {
			var set, clr store.Flags
			for i, f := range flags {
				switch {
				case !cmd.Flags().Changed(f.name):
				case values[i]:
					set |= f.flag
				default:
					clr |= f.flag
				}
			}
			if set|clr == 0 {
				return withHint(fmt.Errorf("nothing to change"), "e.g. warden "+cmd.Parent().Name()+" set "+args[0]+" --"+flags[0].name)
			}
			name := args[0]
			if byPrincipal {
				acct, err := a.Store().AccountByPrincipal(ctx(cmd), args[0])
				if err != nil {
					return storeError(err, "user")
				}
				name = acct.Name
			}
			acct, err := a.SetFlags(ctx(cmd), name, set, clr)
			if err != nil {
				return storeError(err, "user")
			}
			fl := acct.Flags.String()
			if fl == "" {
				fl = "none"
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s (account %s): flags %s\n", args[0], acct.Name, fl)
			return nil
		}),
	}
	for i, f := range flags {
		cmd.Flags().BoolVar(&values[i], f.name, false, f.usage+" (--"+f.name+"=false clears it)")
	}
	return cmd
}

func writeKeytab(cmd *cobra.Command, a *admin.Admin, principal, path string) error {
	if path == "" {
		return nil
	}
	kt, _, err := a.Keytab(ctx(cmd), principal, false)
	if err != nil {
		return err
	}
	if err := mergeKeytab(path, kt); err != nil {
		return err
	}
	fmt.Fprintf(cmd.OutOrStdout(), "keytab %s: %d keys written\n", path, len(kt.Entries))
	return nil
}

// mergeKeytab adds entries to a keytab file (creating it), as ktadd does.
func mergeKeytab(path string, kt *keytab.Keytab) error {
	cur, err := keytab.Load(path)
	if err != nil {
		if !os.IsNotExist(err) {
			return err
		}
		cur = &keytab.Keytab{}
	}
	for _, e := range kt.Entries {
		cur.Entries = slices.DeleteFunc(cur.Entries, func(x keytab.Entry) bool {
			return x.Principal.Equal(e.Principal) && x.Realm == e.Realm && x.KVNO == e.KVNO && x.Key.KeyType == e.Key.KeyType
		})
		cur.Add(e)
	}
	return cur.WriteFile(path)
}

func newKeytabCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "keytab", Short: "Export keys to keytab files"}
	var out string
	var all bool
	export := &cobra.Command{
		Use:   "export PRINCIPAL -o FILE",
		Short: "Write an account's current keys to a keytab (without changing them)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" {
				return withHint(fmt.Errorf("-o FILE is required"), "e.g. warden keytab export HTTP/web.example.test -o web.keytab")
			}
			a, done, err := openAdmin(cmd)
			if err != nil {
				return err
			}
			defer done()
			kt, _, err := a.Keytab(ctx(cmd), args[0], all)
			if err != nil {
				return storeError(err, "user")
			}
			if err := mergeKeytab(out, kt); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "keytab %s: %d keys written\n", out, len(kt.Entries))
			return nil
		},
	}
	export.Flags().StringVarP(&out, "output", "o", "", "keytab file to write (entries are added)")
	export.Flags().BoolVar(&all, "all-kvnos", false, "also export the previous key version")
	cmd.AddCommand(export)
	return cmd
}

func newGroupCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "group", Short: "Manage groups (nested membership)"}
	var desc string
	add := &cobra.Command{
		Use: "add NAME", Short: "Create a group", Args: cobra.ExactArgs(1),
		RunE: withAdmin(func(cmd *cobra.Command, args []string, a *admin.Admin) error {
			g, err := a.AddGroup(ctx(cmd), args[0], desc)
			if err != nil {
				return storeError(err, "group")
			}
			fmt.Fprintf(cmd.OutOrStdout(), "group %s created (SID %s)\n", g.Name, store.SID(a.Realm().DomainSID, g.RID))
			return nil
		}),
	}
	add.Flags().StringVar(&desc, "description", "", "what the group is for")
	addMember := &cobra.Command{
		Use: "add-member GROUP MEMBER...", Short: "Add accounts or groups to a group", Args: cobra.MinimumNArgs(2),
		RunE: withAdmin(func(cmd *cobra.Command, args []string, a *admin.Admin) error {
			if err := a.AddMembers(ctx(cmd), args[0], args[1:]...); err != nil {
				return storeError(err, "group")
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: added %s\n", args[0], strings.Join(args[1:], ", "))
			return nil
		}),
	}
	removeMember := &cobra.Command{
		Use: "remove-member GROUP MEMBER...", Short: "Remove members from a group", Args: cobra.MinimumNArgs(2),
		RunE: withAdmin(func(cmd *cobra.Command, args []string, a *admin.Admin) error {
			if err := a.RemoveMembers(ctx(cmd), args[0], args[1:]...); err != nil {
				return storeError(err, "group")
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: removed %s\n", args[0], strings.Join(args[1:], ", "))
			return nil
		}),
	}
	show := &cobra.Command{
		Use: "show GROUP", Short: "Show a group's members", Args: cobra.ExactArgs(1),
		RunE: withAdmin(func(cmd *cobra.Command, args []string, a *admin.Admin) error {
			g, err := a.Store().Group(ctx(cmd), args[0])
			if err != nil {
				return storeError(err, "group")
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Name: %s\nSID: %s\n", g.Name, store.SID(a.Realm().DomainSID, g.RID))
			if g.Description != "" {
				fmt.Fprintf(cmd.OutOrStdout(), "Description: %s\n", g.Description)
			}
			for _, m := range g.Members {
				kind, rid := "account", uint32(0)
				if m.IsGroup {
					kind = "group"
					if mg, err := a.Store().Group(ctx(cmd), m.Name); err == nil {
						rid = mg.RID
					}
				} else if ma, err := a.Store().Account(ctx(cmd), m.Name); err == nil {
					rid = ma.RID
				}
				sid := "SID unknown"
				if rid != 0 {
					sid = store.SID(a.Realm().DomainSID, rid)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "Member: %s (%s, %s)\n", m.Name, kind, sid)
			}
			return nil
		}),
	}
	list := &cobra.Command{
		Use: "list", Short: "List groups", Args: cobra.NoArgs,
		RunE: withAdmin(func(cmd *cobra.Command, _ []string, a *admin.Admin) error {
			gs, err := a.Store().Groups(ctx(cmd))
			if err != nil {
				return err
			}
			w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "NAME\tRID\tSID\tMEMBERS")
			for _, g := range gs {
				fmt.Fprintf(w, "%s\t%d\t%s\t%d\n", g.Name, g.RID, store.SID(a.Realm().DomainSID, g.RID), len(g.Members))
			}
			return w.Flush()
		}),
	}
	cmd.AddCommand(add, addMember, removeMember, show, list)
	return cmd
}

func newClaimCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "claim", Short: "Set claims on users and computers"}
	set := &cobra.Command{
		Use: "set ACCOUNT ID=VALUE[,VALUE...]", Short: "Set a claim (e.g. ad://ext/department=Sales)", Args: cobra.ExactArgs(2),
		RunE: withAdmin(func(cmd *cobra.Command, args []string, a *admin.Admin) error {
			defined, err := a.SetClaim(ctx(cmd), args[0], args[1])
			if defined {
				id, _, _ := strings.Cut(args[1], "=")
				fmt.Fprintf(cmd.OutOrStdout(), "claim type %s was not defined; defined it as a string claim\n", id)
			}
			if err != nil {
				return storeError(err, "user")
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: %s\n", args[0], args[1])
			return nil
		}),
	}
	unset := &cobra.Command{
		Use: "unset ACCOUNT ID", Short: "Remove a claim", Args: cobra.ExactArgs(2),
		RunE: withAdmin(func(cmd *cobra.Command, args []string, a *admin.Admin) error {
			if err := a.Store().UnsetClaim(ctx(cmd), args[0], args[1]); err != nil {
				return storeError(err, "user")
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: %s removed\n", args[0], args[1])
			return nil
		}),
	}
	var vt, applies, desc string
	define := &cobra.Command{
		Use: "define ID --type string|int64|uint64|boolean [--applies-to user,computer]", Short: "Define (or redefine) a claim type of the realm",
		Args: cobra.ExactArgs(1),
		RunE: withAdmin(func(cmd *cobra.Command, args []string, a *admin.Admin) error {
			ct := store.ClaimType{ID: args[0], ValueType: store.ClaimValueType(strings.ToLower(vt)), Description: desc}
			switch ct.ValueType {
			case store.ClaimString, store.ClaimInt64, store.ClaimUint64, store.ClaimBoolean:
			default:
				return withHint(fmt.Errorf("--type %q", vt), "use string, int64, uint64 or boolean")
			}
			for _, k := range strings.Split(applies, ",") {
				switch kind := store.Kind(strings.TrimSpace(strings.ToLower(k))); kind {
				case store.KindUser, store.KindComputer:
					ct.AppliesTo = append(ct.AppliesTo, kind)
				default:
					return withHint(fmt.Errorf("--applies-to %q", applies), "use user, computer or user,computer")
				}
			}
			if err := a.Store().DefineClaimType(ctx(cmd), ct); err != nil {
				return storeError(err, "claim type")
			}
			fmt.Fprintf(cmd.OutOrStdout(), "claim type %s: %s, for %s\n", ct.ID, ct.ValueType, applies)
			return nil
		}),
	}
	define.Flags().StringVar(&vt, "type", "string", "value type: string, int64, uint64 or boolean")
	define.Flags().StringVar(&applies, "applies-to", "user,computer", "account kinds that may hold it")
	define.Flags().StringVar(&desc, "description", "", "what the claim means")
	types := &cobra.Command{
		Use: "types", Short: "List the realm's claim types", Args: cobra.NoArgs,
		RunE: withAdmin(func(cmd *cobra.Command, _ []string, a *admin.Admin) error {
			list, err := a.Store().ClaimTypes(ctx(cmd))
			if err != nil {
				return err
			}
			w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "ID\tTYPE\tAPPLIES TO\tDESCRIPTION")
			for _, t := range list {
				kinds := make([]string, len(t.AppliesTo))
				for i, k := range t.AppliesTo {
					kinds[i] = string(k)
				}
				d := t.Description
				if t.AutoDefined && d == "" {
					d = "(defined by its first value)"
				}
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", t.ID, t.ValueType, strings.Join(kinds, ","), d)
			}
			return w.Flush()
		}),
	}
	cmd.AddCommand(set, unset, define, types)
	return cmd
}

func newKrb5confCmd() *cobra.Command {
	var kdc string
	cmd := &cobra.Command{
		Use:   "krb5conf",
		Short: "Print a krb5.conf for clients of this realm",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(cmd)
			if err != nil {
				return err
			}
			if kdc == "" {
				kdc = cfg.KDC.Addr
				if strings.HasPrefix(kdc, ":") {
					host, _ := os.Hostname()
					kdc = host + kdc
				}
			}
			fmt.Fprint(cmd.OutOrStdout(), Krb5Conf(cfg.Realm, kdc))
			return nil
		},
	}
	cmd.Flags().StringVar(&kdc, "kdc", "", "KDC host:port clients should use (default from the configuration)")
	return cmd
}

// Krb5Conf renders a client krb5.conf for a realm and KDC address.
func Krb5Conf(realm, kdc string) string {
	domain := strings.ToLower(realm)
	return fmt.Sprintf(`[libdefaults]
    default_realm = %[1]s
    dns_lookup_kdc = false
    dns_lookup_realm = false
    rdns = false
    udp_preference_limit = 1465

[realms]
    %[1]s = {
        kdc = %[2]s
    }

[domain_realm]
    .%[3]s = %[1]s
    %[3]s = %[1]s
`, realm, kdc, domain)
}

func etypeName(e int32) string { return krb5.EncType(e).String() }

func bgctx() context.Context { return context.Background() }

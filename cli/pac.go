package cli

import (
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/warden-auth/warden/krb5"
	"github.com/warden-auth/warden/krb5/ccache"
	"github.com/warden-auth/warden/krb5/client"
	"github.com/warden-auth/warden/krb5/kcrypto"
	"github.com/warden-auth/warden/krb5/keytab"
	"github.com/warden-auth/warden/krb5/pac"
)

func newPACCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "pac", Short: "Inspect the PAC (groups and SIDs) in Kerberos tickets"}
	var o pacDumpOptions
	dump := &cobra.Command{
		Use:   "dump [--ccache FILE] --service SPN | --ticket FILE",
		Short: "Decrypt a ticket with a keytab and print its PAC and signature checks",
		Long: `Decrypt a service ticket (or a TGT) with the service's keys and print every
buffer of its PAC in readable form — the user's SID, primary group, every
group SID with its attributes, logon times, UPN, attributes, requestor —
followed by the verification status of each signature.

Where the ticket comes from:
  --ccache FILE --service SPN   the ticket for SPN in an MIT credential cache
                                (default cache: $KRB5CCNAME, /tmp/krb5cc_<uid>),
                                e.g. after 'kinit alice' and 'kvno HTTP/web.example.test'
  --ticket FILE                 a file holding a Ticket, an AP-REQ, or a GSS-API
                                Kerberos token (what an application received), as
                                DER bytes or base64 text; a leading "Negotiate " or
                                "Kerberos " is ignored, but a SPNEGO-wrapped token is
                                not understood: extract the Kerberos token first.

Where the keys come from:
  --keytab FILE          the service's keytab (warden keytab export SPN -o FILE, or
                         the server's own keytab): decrypts the ticket and checks
                         the server signature
  --krbtgt-keytab FILE   a keytab with the realm's krbtgt keys: also checks the KDC,
                         ticket and full-PAC signatures
  --realm-keys           on the AA: take the service's and the krbtgt's keys from
                         the realm's account DB (--data), every key version

Without krbtgt keys the KDC-keyed signatures are shown as not checked. The
command exits non-zero when a signature it could check does not verify or the
PAC does not belong to its ticket.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runPACDump(cmd, o) },
	}
	f := dump.Flags()
	f.StringVar(&o.ccache, "ccache", "", "credential cache holding the ticket (default $KRB5CCNAME or /tmp/krb5cc_<uid>)")
	f.StringVar(&o.service, "service", "", "the service principal whose ticket to dump (with --ccache), e.g. HTTP/web.example.test")
	f.StringVar(&o.ticket, "ticket", "", "file holding a Ticket, AP-REQ or GSS-API Kerberos token (DER or base64)")
	f.StringVar(&o.keytab, "keytab", "", "keytab with the service's keys")
	f.StringVar(&o.krbtgtKeytab, "krbtgt-keytab", "", "keytab with the realm's krbtgt keys, to check the KDC signatures")
	f.BoolVar(&o.realmKeys, "realm-keys", false, "take the keys from the realm's account DB in --data (on the AA)")
	cmd.AddCommand(dump)
	return cmd
}

type pacDumpOptions struct {
	ccache, service, ticket string
	keytab, krbtgtKeytab    string
	realmKeys               bool
}

// pacDumpError is a failure of warden pac dump: what went wrong and what
// to do about it.
type pacDumpError struct {
	reason, hint string
	err          error
}

func (e *pacDumpError) Error() string {
	if e.err != nil {
		return e.reason + ": " + e.err.Error()
	}
	return e.reason
}
func (e *pacDumpError) Unwrap() error     { return e.err }
func (e *pacDumpError) ErrorHint() string { return e.hint }

func runPACDump(cmd *cobra.Command, o pacDumpOptions) error {
	tk, where, err := loadTicket(o)
	if err != nil {
		return err
	}
	keys := &keytab.Keytab{}
	var sources []string
	for _, path := range []string{o.keytab, o.krbtgtKeytab} {
		if path == "" {
			continue
		}
		kt, err := keytab.Load(path)
		if err != nil {
			return &pacDumpError{reason: "cannot read keytab " + path, err: err, hint: "export one with warden keytab export PRINCIPAL -o FILE"}
		}
		keys.Entries = append(keys.Entries, kt.Entries...)
		sources = append(sources, "keytab "+path)
	}
	if o.realmKeys {
		a, done, err := openAdmin(cmd)
		if err != nil {
			return err
		}
		defer done()
		for _, name := range []krb5.PrincipalName{tk.SName, client.TGTName(a.Realm().Name)} {
			kt, _, err := a.Keytab(ctx(cmd), name.String(), true)
			if err != nil {
				return storeError(err, "user")
			}
			for _, en := range kt.Entries {
				// Under the name the ticket uses (an SPN alias, a
				// realm in another case).
				en.Principal, en.Realm = name, tk.Realm
				keys.Entries = append(keys.Entries, en)
			}
		}
		sources = append(sources, "the account DB of realm "+a.Realm().Name)
	}
	if len(sources) == 0 {
		return &pacDumpError{reason: "no keys to decrypt the ticket with",
			hint: "pass --keytab FILE (the service's keytab), or --realm-keys on the AA"}
	}
	d := &pacDump{w: cmd.OutOrStdout(), keys: keys, sources: strings.Join(sources, " and ")}
	return d.run(tk, where)
}

// loadTicket reads the ticket from the cache or file the options name.
func loadTicket(o pacDumpOptions) (*krb5.Ticket, string, error) {
	if o.ticket != "" {
		if o.ccache != "" || o.service != "" {
			return nil, "", &pacDumpError{reason: "--ticket cannot be combined with --ccache or --service", hint: "dump either a ticket file or a cached ticket"}
		}
		b, err := os.ReadFile(o.ticket)
		if err != nil {
			return nil, "", &pacDumpError{reason: "cannot read the ticket file", err: err, hint: "check the path given to --ticket"}
		}
		tk, kind, err := parseTicketInput(b)
		if err != nil {
			return nil, "", err
		}
		return tk, kind + " in " + o.ticket, nil
	}
	if o.service == "" {
		return nil, "", &pacDumpError{reason: "say which ticket to dump",
			hint: "pass --service SPN (a ticket in the credential cache, e.g. after kvno SPN) or --ticket FILE"}
	}
	path, err := resolveCCache(o.ccache)
	if err != nil {
		return nil, "", err
	}
	cache, err := loadCache(path)
	if err != nil {
		return nil, "", err
	}
	name, realm, err := client.ParsePrincipal(o.service, cache.DefaultPrincipal.Realm)
	if err != nil {
		return nil, "", &pacDumpError{reason: "invalid --service", err: err, hint: "e.g. HTTP/web.example.test or krbtgt/EXAMPLE.TEST"}
	}
	want := ccache.Principal{Realm: realm, Name: name}
	for _, c := range cache.Credentials {
		if c.IsConfig() || !c.Server.Equal(want) {
			continue
		}
		var tk krb5.Ticket
		if err := tk.Unmarshal(c.Ticket); err != nil {
			return nil, "", &pacDumpError{reason: "the cached ticket for " + want.String() + " does not decode", err: err}
		}
		return &tk, "credential cache " + path, nil
	}
	var have []string
	for _, c := range cache.Credentials {
		if !c.IsConfig() {
			have = append(have, c.Server.String())
		}
	}
	return nil, "", &pacDumpError{reason: fmt.Sprintf("credential cache %s holds no ticket for %s (it holds: %s)", path, want, strings.Join(have, ", ")),
		hint: "get one with kvno " + o.service + " (or warden kvno), or name one of the services the cache holds"}
}

// parseTicketInput accepts DER or base64 of a Ticket, an AP-REQ or a
// GSS-API Kerberos initial context token.
func parseTicketInput(b []byte) (*krb5.Ticket, string, error) {
	if txt := strings.TrimSpace(string(b)); txt != "" && isBase64Text(txt) {
		for _, p := range []string{"Negotiate ", "Kerberos "} {
			txt = strings.TrimPrefix(txt, p)
		}
		txt = strings.Join(strings.Fields(txt), "")
		if dec, err := base64.StdEncoding.DecodeString(txt); err == nil {
			b = dec
		}
	}
	if len(b) > 0 && b[0] == 0x60 { // [APPLICATION 0]: a GSS-API token
		msg, err := krb5.UnwrapKRB5Token(b, krb5.TokIDAPReq, len(b))
		if err != nil {
			return nil, "", &pacDumpError{reason: "the file holds a GSS-API token that is not a Kerberos AP-REQ", err: err,
				hint: "a SPNEGO (Negotiate) token must be unwrapped to its Kerberos mechToken first"}
		}
		tk, _, err := parseTicketInput(msg)
		return tk, "AP-REQ (GSS-API token)", err
	}
	switch mt, _ := krb5.MessageType(b); mt {
	case krb5.MsgAPReq:
		var ap krb5.APReq
		if err := ap.Unmarshal(b); err != nil {
			return nil, "", &pacDumpError{reason: "the AP-REQ does not decode", err: err}
		}
		return &ap.Ticket, "AP-REQ", nil
	}
	var tk krb5.Ticket
	if err := tk.Unmarshal(b); err != nil {
		return nil, "", &pacDumpError{reason: "the file holds no Ticket, AP-REQ or GSS-API Kerberos token", err: err,
			hint: "give the DER (or base64) of a ticket; for a cached ticket use --ccache and --service"}
	}
	return &tk, "Ticket", nil
}

func isBase64Text(s string) bool {
	for _, r := range s {
		if !(r == '+' || r == '/' || r == '=' || r == ' ' || r == '\n' || r == '\r' || r == '\t' ||
			(r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9')) {
			return false
		}
	}
	return true
}

// pacDump prints one ticket's PAC.
type pacDump struct {
	w       io.Writer
	keys    *keytab.Keytab
	sources string
	failed  []string // checks that did not pass
}

// key finds the key of principal name@realm for the ticket's kvno and
// enctype, or any kvno of that enctype when kvno is 0.
func (d *pacDump) key(name krb5.PrincipalName, realm string, kvno uint32, et krb5.EncType) (*kcrypto.Key, uint32, error) {
	e, err := d.keys.Find(name, realm, kvno, et)
	if err != nil {
		return nil, 0, err
	}
	k, err := kcrypto.NewKey(e.Key, kcrypto.Options{AllowRC4: true})
	return k, e.KVNO, err
}

// krbtgtKeys returns the krbtgt keys of the realm, newest first.
func (d *pacDump) krbtgtKeys(realm string) []pac.SigningKey {
	tgs := client.TGTName(realm)
	var out []pac.SigningKey
	for _, e := range d.keys.Entries {
		if !strings.EqualFold(e.Realm, realm) || len(e.Principal.NameString) != 2 ||
			!strings.EqualFold(e.Principal.NameString[0], tgs.NameString[0]) || !strings.EqualFold(e.Principal.NameString[1], tgs.NameString[1]) {
			continue
		}
		if k, err := kcrypto.NewKey(e.Key, kcrypto.Options{AllowRC4: true}); err == nil {
			out = append(out, pac.SigningKey{Key: k, KVNO: e.KVNO})
		}
	}
	return out
}

func (d *pacDump) run(tk *krb5.Ticket, where string) error {
	w := d.w
	ed := tk.EncPart
	key, kvno, err := d.key(tk.SName, tk.Realm, ed.KVNO, ed.EType)
	if err != nil {
		return &pacDumpError{reason: fmt.Sprintf("no key to decrypt the ticket for %s@%s (%v, kvno %d) in %s", tk.SName, tk.Realm, ed.EType, ed.KVNO, d.sources),
			err: err, hint: "use the keytab of that service (warden keytab export " + tk.SName.String() + " -o FILE), or --realm-keys on the AA"}
	}
	plain, err := key.DecryptData(kcrypto.UsageTicket, ed)
	if err != nil {
		return &pacDumpError{reason: fmt.Sprintf("the ticket does not decrypt with the %v key (kvno %d) of %s", ed.EType, kvno, tk.SName),
			err: err, hint: "the keytab is stale (the service was re-keyed) or belongs to another realm: export a current one"}
	}
	var etp krb5.EncTicketPart
	if err := etp.Unmarshal(plain); err != nil {
		return &pacDumpError{reason: "the decrypted ticket does not decode", err: err, hint: "the ticket is corrupt"}
	}
	fmt.Fprintf(w, "Ticket (%s)\n", where)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "  service:\t%s@%s (%v, kvno %d), decrypted with %s\n", tk.SName, tk.Realm, ed.EType, kvno, d.sources)
	fmt.Fprintf(tw, "  client:\t%s@%s\n", etp.CName, etp.CRealm)
	fmt.Fprintf(tw, "  auth time:\t%s\n", fmtTime(etp.AuthTime))
	fmt.Fprintf(tw, "  valid:\t%s to %s\n", fmtTime(etp.StartTime), fmtTime(etp.EndTime))
	fmt.Fprintf(tw, "  flags:\t%s\n", ticketFlags(etp.Flags))
	tw.Flush()

	p, err := pac.FromTicket(&etp)
	if err != nil {
		return &pacDumpError{reason: "the ticket's PAC does not decode", err: err,
			hint: "the PAC is malformed: the KDC that issued the ticket, or whoever altered it, is at fault"}
	}
	if p == nil {
		return &pacDumpError{reason: fmt.Sprintf("the ticket for %s carries no PAC", tk.SName),
			hint: "the service may be flagged no-pac, the client may have declined the PAC (PA-PAC-REQUEST false), or the KDC issues none"}
	}
	d.printPAC(p)
	d.printSignatures(p, &etp, key, kvno, tk)
	if len(d.failed) > 0 {
		return &pacDumpError{reason: "PAC verification failed: " + strings.Join(d.failed, "; "),
			hint: "a signature that does not verify means the PAC was altered or the key is not the one the KDC used (stale keytab, another realm)"}
	}
	return nil
}

func (d *pacDump) printPAC(p *pac.PAC) {
	w := d.w
	fmt.Fprintf(w, "\nPAC: %d buffers, %d bytes\n", len(p.Layout), len(p.Raw))
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  TYPE\tOFFSET\tSIZE")
	for _, bi := range p.Layout {
		fmt.Fprintf(tw, "  %v (%d)\t%d\t%d\n", bi.Type, uint32(bi.Type), bi.Offset, bi.Size)
	}
	tw.Flush()
	if li := p.LogonInfo; li != nil {
		d.printLogonInfo(li)
	}
	if ci := p.ClientInfo; ci != nil {
		fmt.Fprintf(w, "\n%v (%d)\n", pac.TypeClientInfo, uint32(pac.TypeClientInfo))
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintf(tw, "  client id:\t%s\n", fmtFileTime(ci.ClientID))
		fmt.Fprintf(tw, "  name:\t%s\n", ci.Name)
		tw.Flush()
	}
	if u := p.UPNDNSInfo; u != nil {
		fmt.Fprintf(w, "\n%v (%d)\n", pac.TypeUPNDNSInfo, uint32(pac.TypeUPNDNSInfo))
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		upn := u.UPN
		if u.Flags&pac.UPNConstructed != 0 {
			upn += " (constructed: the account has no UPN)"
		}
		fmt.Fprintf(tw, "  UPN:\t%s\n", upn)
		fmt.Fprintf(tw, "  DNS domain:\t%s\n", u.DNSDomainName)
		if u.Flags&pac.UPNExtended != 0 {
			fmt.Fprintf(tw, "  SAM name:\t%s\n", u.SamName)
			fmt.Fprintf(tw, "  SID:\t%v\n", u.SID)
		}
		fmt.Fprintf(tw, "  flags:\t%#x\n", uint32(u.Flags))
		tw.Flush()
	}
	if p.ClientClaims != nil {
		d.printClaims(pac.TypeClientClaims, p.ClientClaims)
	}
	if di := p.DeviceInfo; di != nil {
		fmt.Fprintf(w, "\n%v (%d)\n", pac.TypeDeviceInfo, uint32(pac.TypeDeviceInfo))
		dev, _ := di.AccountDomainID.AppendRID(di.UserID)
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintf(tw, "  device:\t%v (RID %d)\n", dev, di.UserID)
		fmt.Fprintf(tw, "  primary group:\t%s\n", ridSID(di.AccountDomainID, di.PrimaryGroupID))
		tw.Flush()
		printGroups(w, "account groups", di.AccountDomainID, di.AccountGroupIDs)
		printSIDs(w, "extra SIDs", di.ExtraSIDs)
		for _, dg := range di.DomainGroups {
			printGroups(w, "groups of domain "+dg.DomainID.String(), dg.DomainID, dg.GroupIDs)
		}
	}
	if p.DeviceClaims != nil {
		d.printClaims(pac.TypeDeviceClaims, p.DeviceClaims)
	}
	if a := p.Attributes; a != nil {
		var names []string
		if a.Flags&pac.AttributePACWasRequested != 0 {
			names = append(names, "PAC_WAS_REQUESTED")
		}
		if a.Flags&pac.AttributePACWasGivenImplicitly != 0 {
			names = append(names, "PAC_WAS_GIVEN_IMPLICITLY")
		}
		if len(names) == 0 {
			names = append(names, "the client declined the PAC (PA-PAC-REQUEST false): services get none")
		}
		fmt.Fprintf(w, "\n%v (%d)\n  flags: %#x (%s), %d bits\n", pac.TypeAttributesInfo, uint32(pac.TypeAttributesInfo), a.Flags, strings.Join(names, ", "), a.FlagsLength)
	}
	if r := p.Requestor; r != nil {
		fmt.Fprintf(w, "\n%v (%d)\n  SID: %v\n", pac.TypeRequestor, uint32(pac.TypeRequestor), *r)
	}
	for _, o := range p.Other {
		fmt.Fprintf(w, "\n%v (%d), not interpreted\n  %d bytes: %s\n", o.Type, uint32(o.Type), len(o.Data), hexPreview(o.Data))
	}
}

func (d *pacDump) printLogonInfo(li *pac.LogonInfo) {
	w := d.w
	fmt.Fprintf(w, "\n%v (%d)\n", pac.TypeLogonInfo, uint32(pac.TypeLogonInfo))
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "  user:\t%s  %v (RID %d)\n", li.EffectiveName, li.UserSID(), li.UserID)
	if li.FullName != "" {
		fmt.Fprintf(tw, "  full name:\t%s\n", li.FullName)
	}
	fmt.Fprintf(tw, "  logon domain:\t%s  %v\n", li.LogonDomainName, li.LogonDomainID)
	fmt.Fprintf(tw, "  logon server:\t%s\n", li.LogonServer)
	fmt.Fprintf(tw, "  primary group:\t%s\n", ridSID(li.LogonDomainID, li.PrimaryGroupID))
	fmt.Fprintf(tw, "  user flags:\t%s\n", userFlags(li.UserFlags))
	fmt.Fprintf(tw, "  account control:\t%s\n", accountControl(li.UserAccountControl))
	for _, t := range []struct {
		name string
		v    pac.FileTime
	}{
		{"logon time", li.LogonTime}, {"logoff time", li.LogoffTime}, {"kick-off time", li.KickOffTime},
		{"password last set", li.PasswordLastSet}, {"password can change", li.PasswordCanChange},
		{"password must change", li.PasswordMustChange},
	} {
		fmt.Fprintf(tw, "  %s:\t%s\n", t.name, fmtFileTime(t.v))
	}
	fmt.Fprintf(tw, "  logon count:\t%d (bad passwords %d)\n", li.LogonCount, li.BadPasswordCount)
	for _, s := range []struct{ name, v string }{
		{"logon script", li.LogonScript}, {"profile path", li.ProfilePath},
		{"home directory", li.HomeDirectory}, {"home drive", li.HomeDirectoryDrive},
	} {
		if s.v != "" {
			fmt.Fprintf(tw, "  %s:\t%s\n", s.name, s.v)
		}
	}
	tw.Flush()
	printGroups(w, "groups", li.LogonDomainID, li.GroupIDs)
	printSIDs(w, "extra SIDs", li.ExtraSIDs)
	if len(li.ResourceGroupIDs) > 0 || !li.ResourceGroupDomainSID.IsZero() {
		printGroups(w, "resource groups of "+li.ResourceGroupDomainSID.String(), li.ResourceGroupDomainSID, li.ResourceGroupIDs)
	}
	fmt.Fprintf(w, "  every group SID the PAC grants: %d\n", len(li.GroupSIDs()))
}

func (d *pacDump) printClaims(t pac.BufferType, b []byte) {
	fmt.Fprintf(d.w, "\n%v (%d)\n", t, uint32(t))
	cs, err := pac.DecodeClaims(b)
	if err != nil {
		fmt.Fprintf(d.w, "  cannot decode (%v); %d bytes: %s\n", err, len(b), hexPreview(b))
		return
	}
	if len(cs.Arrays) == 0 {
		fmt.Fprintln(d.w, "  no claims")
	}
	for _, a := range cs.Arrays {
		for _, c := range a.Claims {
			fmt.Fprintf(d.w, "  %s (type %d, source %d) = %s\n", c.ID, c.Type, a.Source, strings.Join(c.Values(), ", "))
		}
	}
}

// printSignatures verifies what the keys at hand allow and prints the
// outcome of each check.
func (d *pacDump) printSignatures(p *pac.PAC, etp *krb5.EncTicketPart, key *kcrypto.Key, kvno uint32, tk *krb5.Ticket) {
	w := d.w
	fmt.Fprintln(w, "\nChecks")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	defer tw.Flush()
	report := func(what string, err error) {
		if err == nil {
			fmt.Fprintf(tw, "  %s:\tok\n", what)
			return
		}
		reason := err.Error()
		var pe *pac.Error
		if errors.As(err, &pe) {
			reason = pe.Reason
		}
		fmt.Fprintf(tw, "  %s:\tFAILED: %s\n", what, reason)
		d.failed = append(d.failed, what+": "+reason)
	}
	sigName := func(what string, s *pac.SignatureData) string {
		if s == nil {
			return what
		}
		n := fmt.Sprintf("%s (%v)", what, s.Type)
		if s.HasRODCIdentifier {
			n += fmt.Sprintf(" [RODC %d]", s.RODCIdentifier)
		}
		return n
	}
	isTGT := len(tk.SName.NameString) == 2 && strings.EqualFold(tk.SName.NameString[0], "krbtgt")
	server := pac.SigningKey{Key: key, KVNO: kvno}
	if isTGT {
		server.Role = "krbtgt" // a TGT's server signature is made with the krbtgt key
	}
	report(sigName("server signature", p.ServerSignature), p.VerifyServerSignature(server))
	kdcKeys := d.krbtgtKeys(tk.Realm)
	if isTGT && len(kdcKeys) == 0 {
		kdcKeys = []pac.SigningKey{{Key: key, KVNO: kvno}}
	}
	for _, c := range []struct {
		name   string
		sig    *pac.SignatureData
		verify func(pac.SigningKey) error
	}{
		{"KDC signature", p.KDCSignature, p.VerifyKDCSignature},
		{"ticket signature", p.TicketSignature, func(k pac.SigningKey) error { return p.VerifyTicketSignature(etp, k) }},
		{"full PAC signature", p.FullSignature, p.VerifyFullSignature},
	} {
		name := sigName(c.name, c.sig)
		switch {
		case c.sig == nil && c.name == "KDC signature":
			report(name, errors.New("missing"))
		case c.sig == nil:
			why := "absent (a KDC puts it in service tickets only, and only since 2021-2022)"
			if isTGT {
				why = "absent (as in every TGT)"
			}
			fmt.Fprintf(tw, "  %s:\t%s\n", name, why)
		case len(kdcKeys) == 0:
			fmt.Fprintf(tw, "  %s:\tnot checked: needs the krbtgt key (--krbtgt-keytab FILE, or --realm-keys on the AA)\n", name)
		default:
			report(name, verifyAny(kdcKeys, c.sig, c.verify))
		}
	}
	if p.ClientInfo != nil {
		report("client info matches the ticket", p.VerifyClientInfo(etp.AuthTime, etp.CName))
	} else {
		report("client info", errors.New("missing: the PAC is not bound to its ticket"))
	}
}

// verifyAny tries each key whose checksum type is the signature's.
func verifyAny(keys []pac.SigningKey, sig *pac.SignatureData, verify func(pac.SigningKey) error) error {
	var first error
	for _, k := range keys {
		if ct, ok := kcrypto.ChecksumTypeFor(k.Key.EType()); !ok || ct != sig.Type {
			continue
		}
		err := verify(k)
		if err == nil {
			return nil
		}
		if first == nil {
			first = err
		}
	}
	if first == nil {
		return verify(keys[0]) // explains the type mismatch
	}
	return first
}

func ridSID(dom pac.SID, rid uint32) string {
	s, err := dom.AppendRID(rid)
	if err != nil {
		return fmt.Sprintf("RID %d", rid)
	}
	return fmt.Sprintf("%v (RID %d)", s, rid)
}

func printGroups(w io.Writer, title string, dom pac.SID, gs []pac.GroupMembership) {
	fmt.Fprintf(w, "  %s (%d):\n", title, len(gs))
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, g := range gs {
		fmt.Fprintf(tw, "    %s\t%s\n", ridSID(dom, g.RID), groupAttrs(g.Attributes))
	}
	tw.Flush()
}

func printSIDs(w io.Writer, title string, ss []pac.SIDAndAttributes) {
	if len(ss) == 0 {
		return
	}
	fmt.Fprintf(w, "  %s (%d):\n", title, len(ss))
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, s := range ss {
		name := ""
		switch s.SID {
		case pac.SIDAuthenticationAuthorityAsserted:
			name = " (authentication authority asserted identity)"
		case pac.SIDServiceAsserted:
			name = " (service asserted identity)"
		case pac.SIDClaimsValid:
			name = " (claims valid)"
		case pac.SIDCompoundedAuthentication:
			name = " (compounded authentication)"
		}
		fmt.Fprintf(tw, "    %v%s\t%s\n", s.SID, name, groupAttrs(s.Attributes))
	}
	tw.Flush()
}

func groupAttrs(a uint32) string {
	var names []string
	for _, n := range []struct {
		bit  uint32
		name string
	}{
		{pac.GroupMandatory, "mandatory"}, {pac.GroupEnabledByDefault, "enabled-by-default"},
		{pac.GroupEnabled, "enabled"}, {pac.GroupOwner, "owner"}, {pac.GroupResource, "resource"},
	} {
		if a&n.bit != 0 {
			names = append(names, n.name)
		}
	}
	return fmt.Sprintf("%#x %s", a, strings.Join(names, ","))
}

func userFlags(f pac.UserFlags) string {
	var names []string
	for _, n := range []struct {
		bit  pac.UserFlags
		name string
	}{
		{pac.UserFlagGuest, "GUEST"}, {pac.UserFlagExtraSIDs, "EXTRA_SIDS"}, {pac.UserFlagResourceGroups, "RESOURCE_GROUPS"},
		{pac.UserFlagMachineAccount, "MACHINE_ACCOUNT"}, {pac.UserFlagProfilePath, "PROFILE_PATH_RETURNED"},
	} {
		if f&n.bit != 0 {
			names = append(names, n.name)
		}
	}
	return fmt.Sprintf("%#x %s", uint32(f), strings.Join(names, ","))
}

var uacNames = []struct {
	bit  pac.UserAccountControl
	name string
}{
	{pac.UserAccountDisabled, "ACCOUNT_DISABLED"}, {pac.UserHomeDirectoryRequired, "HOME_DIRECTORY_REQUIRED"},
	{pac.UserPasswordNotRequired, "PASSWORD_NOT_REQUIRED"}, {pac.UserTempDuplicateAccount, "TEMP_DUPLICATE_ACCOUNT"},
	{pac.UserNormalAccount, "NORMAL_ACCOUNT"}, {pac.UserMNSLogonAccount, "MNS_LOGON_ACCOUNT"},
	{pac.UserInterdomainTrustAccount, "INTERDOMAIN_TRUST_ACCOUNT"}, {pac.UserWorkstationTrustAccount, "WORKSTATION_TRUST_ACCOUNT"},
	{pac.UserServerTrustAccount, "SERVER_TRUST_ACCOUNT"}, {pac.UserDontExpirePassword, "DONT_EXPIRE_PASSWORD"},
	{pac.UserAccountAutoLocked, "ACCOUNT_AUTO_LOCKED"}, {pac.UserEncryptedTextPasswordAllowed, "ENCRYPTED_TEXT_PASSWORD_ALLOWED"},
	{pac.UserSmartcardRequired, "SMARTCARD_REQUIRED"}, {pac.UserTrustedForDelegation, "TRUSTED_FOR_DELEGATION"},
	{pac.UserNotDelegated, "NOT_DELEGATED"}, {pac.UserUseDESKeyOnly, "USE_DES_KEY_ONLY"},
	{pac.UserDontRequirePreauth, "DONT_REQUIRE_PREAUTH"}, {pac.UserPasswordExpired, "PASSWORD_EXPIRED"},
	{pac.UserTrustedToAuthenticateForDeleg, "TRUSTED_TO_AUTHENTICATE_FOR_DELEGATION"}, {pac.UserNoAuthDataRequired, "NO_AUTH_DATA_REQUIRED"},
	{pac.UserPartialSecretsAccount, "PARTIAL_SECRETS_ACCOUNT"}, {pac.UserUseAESKeys, "USE_AES_KEYS"},
}

func accountControl(u pac.UserAccountControl) string {
	var names []string
	for _, n := range uacNames {
		if u&n.bit != 0 {
			names = append(names, "USER_"+n.name)
		}
	}
	return fmt.Sprintf("%#x %s", uint32(u), strings.Join(names, ","))
}

var ticketFlagNames = []struct {
	f    krb5.Flags
	name string
}{
	{krb5.TktFlagForwardable, "forwardable"}, {krb5.TktFlagForwarded, "forwarded"}, {krb5.TktFlagProxiable, "proxiable"},
	{krb5.TktFlagProxy, "proxy"}, {krb5.TktFlagMayPostdate, "may-postdate"}, {krb5.TktFlagPostdated, "postdated"},
	{krb5.TktFlagInvalid, "invalid"}, {krb5.TktFlagRenewable, "renewable"}, {krb5.TktFlagInitial, "initial"},
	{krb5.TktFlagPreAuthent, "pre-authent"}, {krb5.TktFlagHWAuthent, "hw-authent"},
	{krb5.TktFlagTransitedPolicyChecked, "transited-policy-checked"}, {krb5.TktFlagOKAsDelegate, "ok-as-delegate"},
	{krb5.TktFlagEncPARep, "enc-pa-rep"}, {krb5.TktFlagAnonymous, "anonymous"},
}

func ticketFlags(f krb5.Flags) string {
	var names []string
	for _, n := range ticketFlagNames {
		if f.Has(n.f) {
			names = append(names, n.name)
		}
	}
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

func fmtFileTime(f pac.FileTime) string {
	switch {
	case f == 0:
		return "not set"
	case f.IsNever():
		return "never"
	}
	return f.Time().Format(time.RFC3339)
}

func hexPreview(b []byte) string {
	const n = 32
	if len(b) <= n {
		return hex.EncodeToString(b)
	}
	return hex.EncodeToString(b[:n]) + "..."
}

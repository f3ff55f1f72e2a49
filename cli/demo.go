package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/warden-auth/warden/admin"
	"github.com/warden-auth/warden/krb5"
	"github.com/warden-auth/warden/krb5/client"
	"github.com/warden-auth/warden/krb5/keytab"
	"github.com/warden-auth/warden/server"
)

func newDemoCmd() *cobra.Command {
	var keep bool
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run every scenario end to end against a temporary realm and print a table",
		Long: `Start an AA on a temporary realm (127.0.0.1, random port), run each
scenario built so far end to end with Warden's client and server sides, and
print what the server saw and how long it took. Failure scenarios show the
reason each side is told.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			dir, err := os.MkdirTemp("", "warden-demo-")
			if err != nil {
				return err
			}
			if keep {
				fmt.Fprintf(cmd.ErrOrStderr(), "demo realm kept in %s\n", dir)
			} else {
				defer os.RemoveAll(dir)
			}
			return runDemo(ctx(cmd), cmd.OutOrStdout(), dir)
		},
	}
	cmd.Flags().BoolVar(&keep, "keep", false, "keep the temporary realm's data directory")
	return cmd
}

type demoRow struct {
	scenario string
	ok       bool
	seen     string
	took     time.Duration
}

// demoRealm is the running demo AA with its accounts.
type demoRealm struct {
	dir    string
	realm  string
	client *client.Client
	svcKT  *keytab.Keytab
	srv    *server.Server
	admin  *admin.Admin
}

const (
	demoPassword = "demo password 1"
	demoService  = "HTTP/web.warden.test"
)

func runDemo(c context.Context, out io.Writer, dir string) error {
	cfg, err := initRealm(dir, DevRealm, "127.0.0.1:0")
	if err != nil {
		return err
	}
	cfg.HTTPS.Addr = "127.0.0.1:0" // OCSP and CRL for the mutual TLS scenarios
	srv, err := server.New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		return err
	}
	if err := srv.Listen(); err != nil {
		return err
	}
	c, cancel := context.WithCancel(c)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(c) }()
	defer func() { cancel(); <-done }()

	a, err := admin.New(c, admin.Config{Store: srv.Store()})
	if err != nil {
		return err
	}
	if _, err := a.AddGroup(c, "developers", "demo"); err != nil {
		return err
	}
	if _, err := a.AddUser(c, "alice", demoPassword, admin.UserOptions{Groups: []string{"developers"}}); err != nil {
		return err
	}
	if _, err := a.AddService(c, demoService, admin.ServiceOptions{Claims: true}); err != nil {
		return err
	}
	for _, name := range []string{"WEB01", demoComputer} {
		if _, err := a.AddComputer(c, name, admin.KeyOptions{}); err != nil {
			return err
		}
	}
	if _, err := a.SetClaim(c, "alice", "ad://ext/department=Engineering"); err != nil {
		return err
	}
	if err := setupCompound(c, a); err != nil {
		return err
	}
	kt, _, err := a.Keytab(c, demoService, false)
	if err != nil {
		return err
	}
	srv.KDC().Refresh(c)
	cl, err := client.New(client.Config{Realm: cfg.Realm, KDCs: map[string][]string{cfg.Realm: {srv.KDCAddr()}}})
	if err != nil {
		return err
	}
	d := &demoRealm{dir: dir, realm: cfg.Realm, client: cl, svcKT: kt, srv: srv, admin: a}

	var rows []demoRow
	for _, s := range []struct {
		name string
		run  func(context.Context) (string, error)
		// wantErr: a refusal scenario, which passes when refused.
		wantErr bool
	}{
		{"Kerberos: password → TGT → service ticket → server reads identity", d.kerberos, false},
		{"Kerberos: wrong password (refused, reason told)", d.wrongPassword, true},
		{"Kerberos: clock skew (refused, reason told)", d.skew, true},
		{"Kerberos: unknown service (refused, reason told)", d.unknownService, true},
		{"Kerberos with FAST: computer TGT armors alice's AS and TGS → groups and claims", d.fast, false},
		{"Kerberos with FAST: wrong password (refused inside the armor)", d.fastWrongPassword, true},
		{"Kerberos with compound identity: device TGT armors the TGS → user and device groups and claims", d.compound, false},
		{"Kerberos with compound identity: a user's TGT as the device (refused, reason told)", d.compoundUserArmor, true},
		{"Certificate logon (PKINIT): certificate + key → TGT → service ticket → server reads identity", d.smartCard, false},
		{"Certificate logon (PKINIT): revoked certificate (refused, reason told)", d.smartCardRevoked, true},
		{"Anonymous PKINIT: anonymous TGT armors alice's password logon (FAST, no computer account)", d.anonymousArmor, false},
		{"Anonymous PKINIT: anonymous TGT asks for a service ticket (refused, reason told)", d.anonymousForService, true},
		{"Kerberos (HTTP Negotiate, mutual): client → warden proxy → app", d.httpNegotiate, false},
		{"Kerberos (HTTP Negotiate): replayed token (refused, reason told)", d.httpReplay, true},
		{"Mutual TLS: client certificate → warden proxy (OCSP, mapping) → app", d.mutualTLS, false},
		{"Mutual TLS: revoked client certificate (refused, reason told)", d.mutualTLSRevoked, true},
		{"NTLM: client → warden proxy → AA validates → app", d.ntlm, false},
		{"NTLM: wrong password (refused, reason told)", d.ntlmWrongPassword, true},
		{"Digest: client → warden proxy → AA validates → app (rspauth)", d.digest, false},
		{"Digest: wrong password (refused, reason told)", d.digestWrongPassword, true},
	} {
		start := time.Now()
		seen, err := s.run(c)
		row := demoRow{scenario: s.name, took: time.Since(start)}
		switch {
		case s.wantErr && err != nil:
			row.ok, row.seen = true, err.Error()
		case s.wantErr:
			row.seen = "was not refused"
		case err != nil:
			row.seen = err.Error()
		default:
			row.ok, row.seen = true, seen
		}
		rows = append(rows, row)
	}
	fmt.Fprintf(out, "Demo realm %s, KDC %s\n\n", cfg.Realm, srv.KDCAddr())
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "SCENARIO\tRESULT\tSEEN BY THE SERVER / REASON\tTIME")
	failed := 0
	for _, r := range rows {
		res := "ok"
		if !r.ok {
			res, failed = "FAILED", failed+1
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", r.scenario, res, r.seen, r.took.Round(10*time.Microsecond))
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if failed > 0 {
		return fmt.Errorf("%d scenario(s) failed", failed)
	}
	return nil
}

func (d *demoRealm) login(c context.Context, cl *client.Client, pw string) (*client.Credentials, error) {
	return cl.ASExchange(c, krb5.NewPrincipalName(krb5.NameTypePrincipal, "alice"), client.Password(pw), client.ASOptions{})
}

// kerberos is MS-AUTHSOD 2.5.4.1.1 steps 2–4 and the server's reading of
// the ticket: the server decrypts the service ticket with its keytab.
func (d *demoRealm) kerberos(c context.Context) (string, error) {
	tgt, err := d.login(c, d.client, demoPassword)
	if err != nil {
		return "", err
	}
	st, err := d.client.TGSExchange(c, tgt, krb5.NewPrincipalName(krb5.NameTypeSrvHst, demoService), client.TGSOptions{})
	if err != nil {
		return "", err
	}
	etp, err := d.openServiceTicket(st)
	if err != nil {
		return "", err
	}
	ed := st.Ticket.EncPart
	return fmt.Sprintf("%s@%s (ticket %v, valid until %s)", etp.CName, etp.CRealm, ed.EType, etp.EndTime.Local().Format("15:04")), nil
}

func (d *demoRealm) wrongPassword(c context.Context) (string, error) {
	_, err := d.login(c, d.client, "not the password")
	return "", reasonOf(err)
}

func (d *demoRealm) skew(c context.Context) (string, error) {
	cfg := d.client.Config()
	cfg.Time = func() time.Time { return time.Now().Add(7*time.Minute + 3*time.Second) }
	cl, err := client.New(cfg)
	if err != nil {
		return "", err
	}
	_, err = d.login(c, cl, demoPassword)
	return "", reasonOf(err)
}

func (d *demoRealm) unknownService(c context.Context) (string, error) {
	tgt, err := d.login(c, d.client, demoPassword)
	if err != nil {
		return "", err
	}
	_, err = d.client.TGSExchange(c, tgt, krb5.PrincipalName{NameType: krb5.NameTypeSrvHst, NameString: []string{"HTTP", "nowhere"}}, client.TGSOptions{})
	return "", reasonOf(err)
}

// reasonOf shortens a Kerberos error to "CODE: reason" for the table.
func reasonOf(err error) error {
	var ke *krb5.Error
	if errors.As(err, &ke) {
		return fmt.Errorf("%v: %s", ke.Code, ke.Reason)
	}
	return err
}

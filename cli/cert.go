package cli

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/warden-auth/warden/config"
	"github.com/warden-auth/warden/internal/atomicfile"
	"github.com/warden-auth/warden/pki"
	"github.com/warden-auth/warden/server"
	"github.com/warden-auth/warden/store"
)

// createRealmCA makes the CA of a new realm (warden init).
func createRealmCA(ctx context.Context, st store.Store, cfg *config.Config) (*x509.Certificate, error) {
	kt, err := pki.ParseKeyType(cfg.PKI.KeyType)
	if err != nil {
		return nil, err
	}
	return pki.CreateCA(ctx, st, pki.CAOptions{Realm: cfg.Realm, KeyType: kt})
}

// withStore opens the realm's configuration and account DB for one
// command and closes the DB when the command returns.
func withStore(run func(cmd *cobra.Command, args []string, cfg *config.Config, st store.Store) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		cfg, err := loadConfig(cmd)
		if err != nil {
			return err
		}
		st, err := server.OpenStore(cfg)
		if err != nil {
			return err
		}
		defer st.Close()
		return run(cmd, args, cfg, st)
	}
}

// withPKI opens the realm CA for one command. Without a CA it fails with
// the command to run (warden cert ca creates it).
func withPKI(run func(cmd *cobra.Command, args []string, a *pki.Authority) error) func(*cobra.Command, []string) error {
	return withStore(func(cmd *cobra.Command, args []string, cfg *config.Config, st store.Store) error {
		a, err := pki.New(ctx(cmd), server.PKIConfig(cfg, st))
		if err != nil {
			var pe *pki.Error
			if errors.As(err, &pe) && pe.Code == pki.CodeNoCA {
				pe.Hint = "create it with: warden cert ca -o ca.crt --data " + dataDir(cmd)
			}
			return err
		}
		return run(cmd, args, a)
	})
}

func pemCert(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

func newCertCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "cert", Short: "The realm CA: export it, issue, list, revoke and bind certificates"}

	var caOut, caKeyType string
	caCmd := &cobra.Command{
		Use:   "ca [-o FILE]",
		Short: "Export the realm CA certificate (PEM), creating the CA if the realm has none",
		Args:  cobra.NoArgs,
		RunE: withStore(func(cmd *cobra.Command, _ []string, cfg *config.Config, st store.Store) error {
			if caKeyType != "" {
				cfg.PKI.KeyType = caKeyType
			}
			a, created, err := server.OpenPKI(ctx(cmd), cfg, st)
			if err != nil {
				return err
			}
			ca := a.CA()
			if created {
				fmt.Fprintf(cmd.ErrOrStderr(), "created the realm CA %s (%s, valid until %s)\n", ca.Subject, keyName(ca), ca.NotAfter.UTC().Format(time.DateOnly))
			} else if caKeyType != "" {
				fmt.Fprintf(cmd.ErrOrStderr(), "warden: note: the realm CA exists already (%s); --key-type applies only when it is created\n", keyName(ca))
			}
			if caOut == "" || caOut == "-" {
				_, err := cmd.OutOrStdout().Write(pemCert(ca.Raw))
				return err
			}
			if err := atomicfile.Write(caOut, pemCert(ca.Raw), 0o644); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %s: %s, serial %s, valid until %s\n", caOut, ca.Subject, pki.SerialString(ca.SerialNumber), ca.NotAfter.UTC().Format(time.DateOnly))
			return nil
		}),
	}
	caCmd.Flags().StringVarP(&caOut, "out", "o", "", "write the CA certificate here (default stdout)")
	caCmd.Flags().StringVar(&caKeyType, "key-type", "", "key of a CA created now: ecdsa-p256 (default) or rsa-3072")

	var iopt issueOpts
	issue := &cobra.Command{
		Use:   "issue (--account NAME | --dns NAME...) --out PREFIX [--csr FILE] [--days N]",
		Short: "Issue a certificate to a user or computer (client) or to DNS names (server)",
		Long: `Issue a certificate from the realm CA and write PREFIX.crt (PEM, the
certificate then the CA) and PREFIX.key (PEM PKCS#8, mode 0600). With --csr the
key stays with the requester and only PREFIX.crt is written; the request's
names are ignored.

--account: clientAuth, subject CN=NAME, SAN UPN, the AD SID extension (strong
mapping), and for a computer its DNS names. --dns: serverAuth with these DNS
names (or IP addresses).`,
		Args: cobra.NoArgs,
		RunE: withPKI(func(cmd *cobra.Command, _ []string, a *pki.Authority) error {
			if (iopt.account == "") == (len(iopt.dns) == 0) {
				return withHint(errors.New("give either --account NAME or --dns NAME"), "e.g. warden cert issue --account alice --out alice")
			}
			req, err := iopt.request()
			if err != nil {
				return err
			}
			if err := iopt.checkOut(); err != nil {
				return err
			}
			var iss *pki.Issued
			if iopt.account != "" {
				iss, err = a.IssueAccount(ctx(cmd), iopt.account, req)
			} else {
				iss, err = a.IssueServer(ctx(cmd), iopt.dns, req)
			}
			if err != nil {
				return err
			}
			return iopt.write(cmd.OutOrStdout(), a, iss)
		}),
	}
	iopt.flags(issue)
	issue.Flags().StringVar(&iopt.account, "account", "", "user or computer account (client certificate)")
	issue.Flags().StringSliceVar(&iopt.dns, "dns", nil, "DNS names or IP addresses (server certificate); repeat or comma-separate")

	var ro issueOpts
	renew := &cobra.Command{
		Use:   "renew SERIAL --out PREFIX [--csr FILE] [--days N]",
		Short: "Issue the successor of a certificate (same account or names, new key and validity)",
		Args:  cobra.ExactArgs(1),
		RunE: withPKI(func(cmd *cobra.Command, args []string, a *pki.Authority) error {
			req, err := ro.request()
			if err != nil {
				return err
			}
			if err := ro.checkOut(); err != nil {
				return err
			}
			iss, err := a.Renew(ctx(cmd), args[0], req)
			if err != nil {
				return err
			}
			if err := ro.write(cmd.OutOrStdout(), a, iss); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "the old certificate stays valid until it expires; to stop it now: warden cert revoke %s --reason superseded\n", args[0])
			return nil
		}),
	}
	ro.flags(renew)

	var listAccount string
	var listRevoked bool
	list := &cobra.Command{
		Use:   "list [--account NAME] [--revoked]",
		Short: "List the certificates the realm CA issued",
		Args:  cobra.NoArgs,
		RunE: withPKI(func(cmd *cobra.Command, _ []string, a *pki.Authority) error {
			certs, err := a.Certs(ctx(cmd), store.CertFilter{Account: listAccount, RevokedOnly: listRevoked})
			if err != nil {
				return err
			}
			w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "SERIAL\tKIND\tFOR\tNOT AFTER\tSTATUS")
			now := time.Now()
			for _, c := range certs {
				who := c.Account
				if who == "" {
					who = strings.Join(c.DNSNames, ",")
				}
				if who == "" {
					who = c.Subject
				}
				status := "valid"
				switch {
				case c.IsRevoked():
					status = fmt.Sprintf("revoked %s (%s)", c.Revoked.UTC().Format(time.RFC3339), pki.Reason(c.Reason))
				case now.After(c.NotAfter):
					status = "expired"
				}
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", c.Serial, c.Kind, who, c.NotAfter.UTC().Format(time.RFC3339), status)
			}
			return w.Flush()
		}),
	}
	list.Flags().StringVar(&listAccount, "account", "", "only this account's certificates")
	list.Flags().BoolVar(&listRevoked, "revoked", false, "only revoked certificates")

	var revAccount, revReason string
	revoke := &cobra.Command{
		Use:   "revoke (SERIAL | --account NAME) [--reason R]",
		Short: "Revoke a certificate, or every current certificate of an account",
		Long: `Revoke now; the CRL and OCSP answers of warden serve change at once.
Reasons (RFC 5280): unspecified (default), keyCompromise, cACompromise,
affiliationChanged, superseded, cessationOfOperation, privilegeWithdrawn.`,
		Args: cobra.MaximumNArgs(1),
		RunE: withPKI(func(cmd *cobra.Command, args []string, a *pki.Authority) error {
			if (revAccount == "") == (len(args) == 0) {
				return withHint(errors.New("give either a SERIAL or --account NAME"), "serials are listed by warden cert list")
			}
			reason, err := pki.ParseReason(revReason)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if revAccount != "" {
				certs, err := a.RevokeAccount(ctx(cmd), revAccount, reason)
				if err != nil {
					return err
				}
				if len(certs) == 0 {
					fmt.Fprintf(out, "%s has no current certificates\n", revAccount)
				}
				for _, c := range certs {
					fmt.Fprintf(out, "revoked %s (%s) at %s: %s\n", c.Serial, c.Account, c.Revoked.UTC().Format(time.RFC3339), reason)
				}
				return nil
			}
			c, err := a.Revoke(ctx(cmd), args[0], reason)
			if err != nil {
				return err
			}
			fmt.Fprintf(out, "revoked %s (%s) at %s: %s\n", c.Serial, c.Subject, c.Revoked.UTC().Format(time.RFC3339), reason)
			return nil
		}),
	}
	revoke.Flags().StringVar(&revAccount, "account", "", "revoke every current certificate of this account")
	revoke.Flags().StringVar(&revReason, "reason", "", "revocation reason (default unspecified)")

	var bindAccount string
	bind := &cobra.Command{
		Use:   "bind --account NAME CERTFILE",
		Short: "Map a certificate (of any issuer) to an account by issuer and serial (strong mapping)",
		Args:  cobra.ExactArgs(1),
		RunE: withPKI(func(cmd *cobra.Command, args []string, a *pki.Authority) error {
			if bindAccount == "" {
				return withHint(errors.New("--account is required"), "e.g. warden cert bind --account alice alice.crt")
			}
			c, err := readCert(args[0])
			if err != nil {
				return err
			}
			if err := a.Bind(ctx(cmd), c, bindAccount); err != nil {
				return storeError(err, "cert")
			}
			fmt.Fprintf(cmd.OutOrStdout(), "bound %s serial %s to %s\n", c.Issuer, pki.SerialString(c.SerialNumber), bindAccount)
			return nil
		}),
	}
	bind.Flags().StringVar(&bindAccount, "account", "", "the account")

	cmd.AddCommand(caCmd, issue, renew, list, revoke, bind)
	return cmd
}

func keyName(c *x509.Certificate) string {
	if c.PublicKeyAlgorithm == x509.RSA {
		return "RSA"
	}
	return c.PublicKeyAlgorithm.String()
}

func readCert(path string) (*x509.Certificate, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if blk, _ := pem.Decode(b); blk != nil {
		b = blk.Bytes
	}
	c, err := x509.ParseCertificate(b)
	if err != nil {
		return nil, withHint(fmt.Errorf("%s: not a certificate: %w", path, err), "give a PEM or DER certificate file")
	}
	return c, nil
}

// issueOpts are the flags shared by issue and renew.
type issueOpts struct {
	account string
	dns     []string
	out     string
	csr     string
	days    int
	keyType string
	force   bool
}

func (o *issueOpts) flags(c *cobra.Command) {
	c.Flags().StringVar(&o.out, "out", "", "write PREFIX.crt and PREFIX.key")
	c.Flags().StringVar(&o.csr, "csr", "", "certify the key of this PKCS#10 request (PEM or DER) instead of generating one")
	c.Flags().IntVar(&o.days, "days", 0, "lifetime in days (default pki.leaf_lifetime, 365)")
	c.Flags().StringVar(&o.keyType, "key-type", "", "generated key: ecdsa-p256 (default) or rsa-3072")
	c.Flags().BoolVar(&o.force, "force", false, "overwrite existing PREFIX.crt / PREFIX.key")
}

func (o *issueOpts) request() (pki.IssueRequest, error) {
	var r pki.IssueRequest
	if o.out == "" {
		return r, withHint(errors.New("--out PREFIX is required"), "e.g. --out alice writes alice.crt and alice.key")
	}
	if o.days < 0 {
		return r, errors.New("--days must be positive")
	}
	r.Lifetime = time.Duration(o.days) * 24 * time.Hour
	kt, err := pki.ParseKeyType(o.keyType)
	if err != nil {
		return r, err
	}
	r.KeyType = kt
	if o.csr != "" {
		if o.keyType != "" {
			return r, errors.New("--key-type and --csr exclude each other: the request holds the key")
		}
		f, err := os.Open(o.csr)
		if err != nil {
			return r, err
		}
		defer f.Close()
		if r.CSR, err = io.ReadAll(io.LimitReader(f, pki.MaxCSRSize+1)); err != nil {
			return r, err
		}
	}
	return r, nil
}

func (o *issueOpts) checkOut() error {
	if o.force {
		return nil
	}
	for _, p := range []string{o.out + ".crt", o.out + ".key"} {
		if _, err := os.Stat(p); err == nil {
			return withHint(fmt.Errorf("%s exists", p), "choose another --out PREFIX, or add --force to replace it")
		}
	}
	return nil
}

func (o *issueOpts) write(w io.Writer, a *pki.Authority, iss *pki.Issued) error {
	if iss.Key != nil {
		kb, err := x509.MarshalPKCS8PrivateKey(iss.Key)
		if err != nil {
			return err
		}
		keyPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kb})
		clear(kb)
		err = atomicfile.Write(o.out+".key", keyPEM, 0o600)
		clear(keyPEM)
		if err != nil {
			return err
		}
	}
	if err := atomicfile.Write(o.out+".crt", append(pemCert(iss.Cert.Raw), pemCert(a.CA().Raw)...), 0o644); err != nil {
		return err
	}
	c := iss.Cert
	fmt.Fprintf(w, "issued %s certificate %s for %s, valid until %s\n", iss.Record.Kind, iss.Record.Serial, certFor(iss.Record), c.NotAfter.UTC().Format(time.RFC3339))
	fmt.Fprintf(w, "  certificate: %s.crt\n", o.out)
	if iss.Key != nil {
		fmt.Fprintf(w, "  key:         %s.key (0600)\n", o.out)
	}
	return nil
}

func certFor(c *store.Cert) string {
	if c.Account != "" {
		return c.Account
	}
	return strings.Join(c.DNSNames, ", ")
}

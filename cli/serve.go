package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/warden-auth/warden/admin"
	"github.com/warden-auth/warden/config"
	"github.com/warden-auth/warden/server"
)

// DevRealm and DevKDCAddr are what `warden serve --dev` creates.
const (
	DevRealm   = "WARDEN.TEST"
	DevKDCAddr = "127.0.0.1:8888"
)

func newServeCmd() *cobra.Command {
	var kdcAddr, httpsAddr string
	var dev bool
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the authentication authority (KDC)",
		Long: `Run the AA for the realm in the data directory. It stops gracefully on
SIGTERM or SIGINT. With --dev and no realm yet, it first creates a demo realm
(` + DevRealm + `, KDC on ` + DevKDCAddr + `) with a user and a service, and prints a
krb5.conf and the demo credentials.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			dir := dataDir(cmd)
			if dev {
				if _, err := os.Stat(filepath.Join(dir, config.FileName)); errors.Is(err, fs.ErrNotExist) {
					addr := DevKDCAddr
					if kdcAddr != "" {
						addr = kdcAddr
					}
					if err := createDevRealm(cmd, dir, addr); err != nil {
						return err
					}
				}
			}
			cfg, err := loadConfig(cmd)
			if err != nil {
				return err
			}
			if kdcAddr != "" {
				cfg.KDC.Addr = kdcAddr
			}
			if httpsAddr != "" {
				cfg.HTTPS.Addr = httpsAddr
			}
			if err := cfg.Validate(); err != nil {
				return err
			}
			log := server.NewLogger(cmd.ErrOrStderr(), cfg.Log)
			srv, err := server.New(cfg, log)
			if err != nil {
				return err
			}
			if err := srv.Listen(); err != nil {
				srv.Store().Close()
				return withHint(err, "ports below 1024 need root (or CAP_NET_BIND_SERVICE); choose another with --kdc-addr")
			}
			c, stop := signal.NotifyContext(ctx(cmd), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			return srv.Serve(c)
		},
	}
	cmd.Flags().StringVar(&kdcAddr, "kdc-addr", "", "KDC address (UDP and TCP), overriding the configuration")
	cmd.Flags().StringVar(&httpsAddr, "https-addr", "", "HTTPS address, overriding the configuration")
	cmd.Flags().BoolVar(&dev, "dev", false, "create a demo realm in the data directory if there is none")
	return cmd
}

// createDevRealm makes the demo realm: user alice (random password),
// service HTTP/localhost with a keytab, and a krb5.conf in the data dir.
func createDevRealm(cmd *cobra.Command, dir, kdcAddr string) error {
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs // the printed paths must work from anywhere
	}
	cfg, err := initRealm(dir, DevRealm, kdcAddr)
	if err != nil {
		return err
	}
	st, err := server.OpenStore(cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	c := context.Background()
	a, err := admin.New(c, admin.Config{Store: st})
	if err != nil {
		return err
	}
	pw, err := randomPassword(16)
	if err != nil {
		return err
	}
	if _, err := a.AddGroup(c, "developers", "demo group"); err != nil {
		return err
	}
	if _, err := a.AddUser(c, "alice", pw, admin.UserOptions{Groups: []string{"developers"}}); err != nil {
		return err
	}
	if _, err := a.AddService(c, "HTTP/localhost", admin.ServiceOptions{}); err != nil {
		return err
	}
	kt, _, err := a.Keytab(c, "HTTP/localhost", false)
	if err != nil {
		return err
	}
	ktPath := filepath.Join(dir, "http.keytab")
	if err := kt.WriteFile(ktPath); err != nil {
		return err
	}
	confPath := filepath.Join(dir, "krb5.conf")
	if err := os.WriteFile(confPath, []byte(Krb5Conf(cfg.Realm, kdcAddr)), 0o644); err != nil {
		return err
	}
	out := cmd.OutOrStdout()
	fmt.Fprintf(out, "Created demo realm %s in %s\n\n", cfg.Realm, dir)
	fmt.Fprintf(out, "krb5.conf for clients (%s):\n\n%s\n", confPath, Krb5Conf(cfg.Realm, kdcAddr))
	fmt.Fprintf(out, "Demo user:    alice@%s  password: %s\n", cfg.Realm, pw)
	fmt.Fprintf(out, "Demo service: HTTP/localhost@%s  keytab: %s\n\n", cfg.Realm, ktPath)
	fmt.Fprintf(out, "Try:  KRB5_CONFIG=%s kinit alice && KRB5_CONFIG=%s kvno HTTP/localhost\n\n", confPath, confPath)
	return nil
}

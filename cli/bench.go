package cli

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/warden-auth/warden/bench"
)

func newBenchCmd() *cobra.Command {
	var cfg bench.Config
	var prefix string
	var users int
	var pw passwordSource
	cmd := &cobra.Command{
		Use:   "bench as|tgs",
		Short: "Load-test a KDC (Warden's or any other) with fresh, verified requests",
		Long: `Send fresh AS requests (password pre-authentication) or TGS requests to a
KDC from many concurrent clients, decrypt and check every reply, and print the
rate, the error count and the p50/p99 latency. Users are PREFIX0..PREFIX(N-1),
all with the same password (create them with warden user import).`,
		Args:      cobra.ExactArgs(1),
		ValidArgs: []string{"as", "tgs"},
		RunE: func(cmd *cobra.Command, args []string) error {
			op := args[0]
			if op != "as" && op != "tgs" {
				return withHint(fmt.Errorf("unknown load %q", op), "use warden bench as or warden bench tgs")
			}
			if cfg.KDC == "" || cfg.Realm == "" {
				c, err := loadConfig(cmd)
				if err != nil {
					return withHint(err, "or give --kdc and --realm")
				}
				if cfg.Realm == "" {
					cfg.Realm = c.Realm
				}
				if cfg.KDC == "" {
					cfg.KDC = c.KDC.Addr
					if cfg.KDC[0] == ':' {
						cfg.KDC = "127.0.0.1" + cfg.KDC
					}
				}
			}
			p, _, err := pw.get(cmd, "Password of the bench users: ")
			if err != nil {
				return err
			}
			cfg.Password = p
			for i := range users {
				cfg.Users = append(cfg.Users, fmt.Sprintf("%s%d", prefix, i))
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "deriving keys of %d users, then %s of %s load on %s over %s with %d clients...\n",
				users, cfg.Duration, op, cfg.KDC, cfg.Proto, cfg.Workers)
			rep, err := bench.Run(ctx(cmd), op, cfg)
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), rep)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.KDC, "kdc", "", "KDC host:port (default: this data directory's KDC)")
	f.StringVar(&cfg.Realm, "realm", "", "realm (default: this data directory's realm)")
	f.StringVar(&cfg.Proto, "proto", "udp", "udp or tcp")
	f.StringVar(&prefix, "user-prefix", "bench", "users are PREFIX0, PREFIX1, ...")
	f.IntVar(&users, "users", 1000, "number of distinct users")
	f.StringVar(&cfg.Service, "service", "", "service principal for tgs (e.g. HTTP/web.example.test)")
	f.IntVar(&cfg.Workers, "workers", 32, "concurrent clients")
	f.DurationVar(&cfg.Duration, "duration", 10*time.Second, "measured duration")
	f.DurationVar(&cfg.Warmup, "warmup", time.Second, "warm-up before measuring")
	f.IntVar(&cfg.Rate, "rate", 0, "cap on requests per second (0: unlimited), for latency at a given load")
	f.StringVar(&cfg.ASService, "as-service", "", "as: ask for a ticket to this service instead of a TGT")
	f.BoolVar(&cfg.NoPAC, "no-pac", false, "as: ask for no PAC (PA-PAC-REQUEST false); with --as-service the ticket has none")
	f.StringVar(&pw.file, "password-file", "", "file holding the users' password (default: prompt)")
	return cmd
}

// Package cli is the warden command tree. It turns flags into
// configuration, calls the packages that do the work, and prints results;
// failures are printed once as "warden: error: ..." followed by
// "warden: hint: ..." when the error carries advice.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"

	"github.com/spf13/cobra"
)

// Hinter is implemented by errors that carry advice for the user (for
// example *krb5.Error through its Hint field).
type Hinter interface{ ErrorHint() string }

// Execute runs the command line args and returns the process exit code.
func Execute(version string, args []string, stdout, stderr io.Writer) int {
	return ExecuteContext(context.Background(), version, args, stdout, stderr)
}

// ExecuteContext is Execute with a context: long-running commands (serve,
// proxy) stop when it ends, as on SIGTERM.
func ExecuteContext(c context.Context, version string, args []string, stdout, stderr io.Writer) int {
	root := newRoot(version)
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	if err := root.ExecuteContext(c); err != nil {
		printError(stderr, err)
		return 1
	}
	return 0
}

func printError(w io.Writer, err error) {
	fmt.Fprintf(w, "warden: error: %v\n", err)
	var h Hinter
	if errors.As(err, &h) && h.ErrorHint() != "" {
		fmt.Fprintf(w, "warden: hint: %s\n", h.ErrorHint())
	}
}

func newRoot(version string) *cobra.Command {
	root := &cobra.Command{
		Use:   "warden",
		Short: "Warden: the authentication authority of a realm",
		Long: `Warden is a realm's authentication authority: a Kerberos KDC with PAC,
FAST and compound identity, NTLM and Digest validation for servers, and the
realm's certificate authority, plus the client and server tools around them.`,
		Version:       version,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetVersionTemplate("warden {{.Version}}\n")
	root.PersistentFlags().String("data", "./warden-data", "data directory of the realm (env WARDEN_DATA)")
	addAdminCommands(root)
	root.AddCommand(newCertCmd())
	root.AddCommand(newServeCmd(), newBenchCmd(), newDemoCmd(), newPACCmd())
	root.AddCommand(newClientCommands()...)
	root.AddCommand(newProxyCmd(), newGetCmd())
	root.AddCommand(&cobra.Command{
		Use:   "version",
		Short: "Print the version of warden",
		Args:  cobra.NoArgs,
		Run: func(cmd *cobra.Command, _ []string) {
			fmt.Fprintf(cmd.OutOrStdout(), "warden %s (%s, %s/%s)\n", version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
		},
	})
	return root
}

package cli

import (
	"bufio"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/big"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/warden-auth/warden/admin"
	"github.com/warden-auth/warden/config"
	"github.com/warden-auth/warden/server"
	"github.com/warden-auth/warden/store"
)

// dataDir resolves --data, then WARDEN_DATA, then ./warden-data.
func dataDir(cmd *cobra.Command) string {
	if f := cmd.Flags().Lookup("data"); f != nil && f.Changed {
		return f.Value.String()
	}
	if d := os.Getenv("WARDEN_DATA"); d != "" {
		return d
	}
	return "./warden-data"
}

// hinted is an error with advice for the user.
type hinted struct {
	err  error
	hint string
}

func (h *hinted) Error() string     { return h.err.Error() }
func (h *hinted) Unwrap() error     { return h.err }
func (h *hinted) ErrorHint() string { return h.hint }

func withHint(err error, hint string) error { return &hinted{err: err, hint: hint} }

// loadConfig reads the data directory's configuration.
func loadConfig(cmd *cobra.Command) (*config.Config, error) {
	dir := dataDir(cmd)
	cfg, err := config.Load(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, withHint(fmt.Errorf("no realm in %s: %w", dir, config.ErrNoConfig),
			"create one with: warden init --realm EXAMPLE.TEST --data "+dir+" (or set --data / WARDEN_DATA)")
	}
	return cfg, err
}

// openAdmin opens the data directory's store for an admin command.
func openAdmin(cmd *cobra.Command) (*admin.Admin, func(), error) {
	cfg, err := loadConfig(cmd)
	if err != nil {
		return nil, nil, err
	}
	st, err := server.OpenStore(cfg)
	if err != nil {
		return nil, nil, err
	}
	a, err := admin.New(ctx(cmd), admin.Config{Store: st})
	if err != nil {
		st.Close()
		return nil, nil, err
	}
	return a, func() { st.Close() }, nil
}

// withAdmin opens the realm's account DB for one command and closes it
// when the command returns.
func withAdmin(run func(cmd *cobra.Command, args []string, a *admin.Admin) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		a, done, err := openAdmin(cmd)
		if err != nil {
			return err
		}
		defer done()
		return run(cmd, args, a)
	}
}

// storeError adds advice to store sentinels.
func storeError(err error, what string) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, store.ErrNotFound):
		return withHint(err, "list what exists with warden "+what+" list")
	case errors.Is(err, store.ErrExists):
		return withHint(err, "choose another name, or change the existing "+what)
	}
	return err
}

// passwordSource is the --password-file / --random / prompt choice.
type passwordSource struct {
	file   string
	random bool
}

func (p *passwordSource) flags(cmd *cobra.Command) {
	cmd.Flags().StringVar(&p.file, "password-file", "", "read the password from the first line of this file (- for stdin)")
	cmd.Flags().BoolVar(&p.random, "random", false, "generate a random password and print it once")
}

// get returns the password and whether it was generated (and so must be
// shown to the operator).
func (p *passwordSource) get(cmd *cobra.Command, prompt string) (string, bool, error) {
	switch {
	case p.random:
		pw, err := randomPassword(20)
		return pw, true, err
	case p.file != "":
		var r io.Reader
		if p.file == "-" {
			r = cmd.InOrStdin()
		} else {
			f, err := os.Open(p.file)
			if err != nil {
				return "", false, err
			}
			defer f.Close()
			r = f
		}
		line, err := bufio.NewReader(io.LimitReader(r, 4096)).ReadString('\n')
		if err != nil && err != io.EOF {
			return "", false, err
		}
		line = strings.TrimRight(line, "\r\n")
		if line == "" {
			return "", false, fmt.Errorf("password file %s is empty", p.file)
		}
		return line, false, nil
	}
	return promptPassword(cmd, prompt, true)
}

// promptPassword reads a password from the terminal without echo (twice
// when confirm), or a line from stdin when it is not a terminal.
func promptPassword(cmd *cobra.Command, prompt string, confirm bool) (string, bool, error) {
	in := cmd.InOrStdin()
	if f, ok := in.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(cmd.ErrOrStderr(), prompt)
		a, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(cmd.ErrOrStderr())
		if err != nil {
			return "", false, err
		}
		if confirm {
			fmt.Fprint(cmd.ErrOrStderr(), "Again: ")
			b, err := term.ReadPassword(int(f.Fd()))
			fmt.Fprintln(cmd.ErrOrStderr())
			if err != nil {
				return "", false, err
			}
			if string(a) != string(b) {
				return "", false, errors.New("the two passwords differ")
			}
		}
		return string(a), false, nil
	}
	line, err := bufio.NewReader(io.LimitReader(in, 4096)).ReadString('\n')
	if err != nil && err != io.EOF {
		return "", false, err
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", false, withHint(errors.New("no password given"), "use --password-file F, --random, or type it at the prompt")
	}
	return line, false, nil
}

const passwordAlphabet = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789-_.!"

func randomPassword(n int) (string, error) {
	b := make([]byte, n)
	max := big.NewInt(int64(len(passwordAlphabet)))
	for i := range b {
		v, err := rand.Int(rand.Reader, max)
		if err != nil {
			return "", err
		}
		b[i] = passwordAlphabet[v.Int64()]
	}
	return string(b), nil
}

// ctx returns the command's context, never nil.
func ctx(cmd *cobra.Command) context.Context {
	if c := cmd.Context(); c != nil {
		return c
	}
	return context.Background()
}

package proxy

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/warden-auth/warden/krb5/gss"
	"github.com/warden-auth/warden/krb5/keytab"
)

// KeytabWatcher re-reads a keytab file when its contents change and
// gives the new keys to an acceptor (gss.Acceptor.SetKeytab keeps the
// replay cache), so that `warden keytab export` after a key rotation
// takes effect without a restart. A file that does not load (half
// written, no keys for the service) is reported and the old keys stay in
// use until the file changes again.
type KeytabWatcher struct {
	Path     string
	Acceptor *gss.Acceptor
	// Interval between checks; 0 means 2 seconds.
	Interval time.Duration
	// Logger gets a line per reload or failed reload (op
	// "proxy.keytab"); nil means slog.Default().
	Logger *slog.Logger

	sum    [sha256.Size]byte
	loaded *keytab.Keytab
}

// NewKeytabWatcher loads the keytab at path, builds the acceptor from it
// with cfg (whose Keytab is ignored) and returns both, ready to Run.
func NewKeytabWatcher(path string, cfg gss.AcceptorConfig) (*KeytabWatcher, error) {
	b, err := readKeytab(path)
	if err != nil {
		return nil, err
	}
	kt, err := keytab.Parse(b)
	if err != nil {
		return nil, &Error{Reason: fmt.Sprintf("keytab %s: %v", path, err), Hint: "export it again: warden keytab export SPN -o FILE"}
	}
	cfg.Keytab = kt
	a, err := gss.NewAcceptor(cfg)
	if err != nil {
		return nil, fmt.Errorf("keytab %s: %w", path, err)
	}
	return &KeytabWatcher{Path: path, Acceptor: a, sum: sha256.Sum256(b), loaded: kt}, nil
}

func readKeytab(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, &Error{Reason: fmt.Sprintf("cannot read the keytab: %v", err), Hint: "export it: warden service add SPN --keytab FILE, or warden keytab export SPN -o FILE"}
	}
	defer f.Close()
	// Keytabs are a few KiB; 16 MiB is far beyond any real one.
	b, err := io.ReadAll(io.LimitReader(f, 16<<20))
	if err != nil {
		return nil, &Error{Reason: fmt.Sprintf("cannot read the keytab: %v", err)}
	}
	return b, nil
}

// Check reads the file once and, if its contents changed since the last
// load, installs the new keys. It reports whether it did. Check, Keys and
// Run are not for concurrent use with each other (the acceptor is).
func (w *KeytabWatcher) Check() (bool, error) {
	b, err := readKeytab(w.Path)
	if err != nil {
		return false, err
	}
	sum := sha256.Sum256(b)
	if bytes.Equal(sum[:], w.sum[:]) {
		return false, nil
	}
	w.sum = sum // a bad file is reported once, not at every check
	kt, err := keytab.Parse(b)
	if err != nil {
		return false, &Error{Reason: fmt.Sprintf("keytab %s changed but does not parse (the old keys stay in use): %v", w.Path, err), Err: err,
			Hint: "if it was being written, it is read again when it changes; else export it again: warden keytab export SPN -o FILE"}
	}
	if err := w.Acceptor.SetKeytab(kt); err != nil {
		return false, &Error{Reason: fmt.Sprintf("keytab %s changed but is unusable (the old keys stay in use): %v", w.Path, err), Err: err}
	}
	w.loaded = kt
	return true, nil
}

// Run checks the file every Interval until ctx ends.
func (w *KeytabWatcher) Run(ctx context.Context) {
	every := w.Interval
	if every <= 0 {
		every = 2 * time.Second
	}
	log := w.Logger
	if log == nil {
		log = slog.Default()
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		changed, err := w.Check()
		switch {
		case err != nil:
			log.Error("keytab reload failed", "op", "proxy.keytab", "code", "KEYTAB_RELOAD", "reason", err.Error(), "hint", hintOf(err), "path", w.Path)
		case changed:
			log.Info("keytab reloaded", "op", "proxy.keytab", "path", w.Path, "keys", w.Keys())
		}
	}
}

// hintOf is the advice an error carries, or "".
func hintOf(err error) string {
	var h interface{ ErrorHint() string }
	if errors.As(err, &h) {
		return h.ErrorHint()
	}
	return ""
}

// Keys lists the loaded keys as "principal kvno N", once per principal
// and kvno.
func (w *KeytabWatcher) Keys() string {
	var out []string
	for _, e := range w.loaded.Entries {
		s := fmt.Sprintf("%s kvno %d", e.PrincipalString(), e.KVNO)
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	sort.Strings(out)
	return strings.Join(out, ", ")
}

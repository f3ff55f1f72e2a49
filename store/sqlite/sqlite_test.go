package sqlite

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/warden-auth/warden/store"
	"github.com/warden-auth/warden/store/storetest"
)

func testSealer(t testing.TB, fill byte) *store.Sealer {
	t.Helper()
	s, err := store.NewSealer(bytes.Repeat([]byte{fill}, store.MasterKeySize))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func openAt(t *testing.T, path string, fill byte) *DB {
	t.Helper()
	db, err := Open(path, testSealer(t, fill))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		return openAt(t, filepath.Join(t.TempDir(), "accounts.db"), 1)
	})
}

// Reopening keeps everything, applies no migration twice, and the pragmas
// hold on every pooled connection, not just the first.
func TestReopenAndSettings(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "accounts.db")
	db := openAt(t, path, 1)
	a := &store.Account{Kind: store.KindUser, Name: "alice", Secrets: storetest.Secrets(3)}
	if err := db.CreateAccount(ctx, a); err != nil {
		t.Fatal(err)
	}
	gen, _ := db.Generation(ctx)
	db.Close()

	db = openAt(t, path, 1)
	got, err := db.Account(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, a) {
		t.Fatalf("after reopen:\n got %+v\nwant %+v", got, a)
	}
	if g, _ := db.Generation(ctx); g != gen {
		t.Fatalf("generation %d after reopen, was %d", g, gen)
	}
	var versions int
	if err := db.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_version`).Scan(&versions); err != nil {
		t.Fatal(err)
	}
	entries, _ := migrationFS.ReadDir("migrations")
	if versions != len(entries) {
		t.Fatalf("schema_version has %d rows, want %d", versions, len(entries))
	}

	var conns []interface{ Close() error }
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for i := range 3 {
		c, err := db.db.Conn(ctx) // held, so each is a distinct connection
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
		var mode string
		var sync, fk int
		c.QueryRowContext(ctx, `PRAGMA journal_mode`).Scan(&mode)
		c.QueryRowContext(ctx, `PRAGMA synchronous`).Scan(&sync)
		c.QueryRowContext(ctx, `PRAGMA foreign_keys`).Scan(&fk)
		if mode != "wal" || sync != 2 || fk != 1 {
			t.Fatalf("connection %d: journal_mode=%s synchronous=%d foreign_keys=%d", i, mode, sync, fk)
		}
	}

	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("database file mode %v, want 0600", st.Mode().Perm())
	}
}

func TestNewerSchemaRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "accounts.db")
	db := openAt(t, path, 1)
	if _, err := db.db.Exec(`INSERT INTO schema_version (version, applied) VALUES (999, 0)`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if db, err := Open(path, testSealer(t, 1)); err == nil {
		db.Close()
		t.Fatal("Open accepted a database from a newer schema")
	}
}

func TestOpenRefusals(t *testing.T) {
	if _, err := Open(filepath.Join(t.TempDir(), "a.db"), nil); err == nil {
		t.Error("Open without a sealer succeeded")
	}
	for _, p := range []string{"", ":memory:", "file:x.db"} {
		if db, err := Open(p, testSealer(t, 1)); err == nil {
			db.Close()
			t.Errorf("Open(%q) succeeded", p)
		}
	}
}

// A path with URI metacharacters is a file name, not a query.
func TestPathEscaping(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a?b#c%d")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "x.db")
	db := openAt(t, path, 1)
	if err := db.InitRealm(t.Context(), store.Realm{Name: "EXAMPLE.TEST"}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("database not at %s: %v", path, err)
	}
}

// Opening with another master key works (the realm, groups, the
// generation are not secret), but no account's secrets open.
func TestWrongMasterKey(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "accounts.db")
	db := openAt(t, path, 1)
	if err := db.InitRealm(ctx, store.Realm{Name: "EXAMPLE.TEST"}); err != nil {
		t.Fatal(err)
	}
	a := &store.Account{Kind: store.KindUser, Name: "alice", SPNs: []string{"HTTP/a"}, Secrets: storetest.Secrets(2)}
	if err := db.CreateAccount(ctx, a); err != nil {
		t.Fatal(err)
	}
	if err := db.CreateGroup(ctx, &store.Group{Name: "G"}); err != nil {
		t.Fatal(err)
	}
	if err := db.InitCA(ctx, store.CA{CertDER: []byte("ca cert"), KeyDER: []byte("ca key")}); err != nil {
		t.Fatal(err)
	}
	db.Close()

	other := openAt(t, path, 2)
	if _, err := other.Realm(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := other.Groups(ctx); err != nil {
		t.Fatal(err)
	}
	checks := map[string]func() error{
		"Account":            func() error { _, err := other.Account(ctx, "alice"); return err },
		"AccountByRID":       func() error { _, err := other.AccountByRID(ctx, a.RID); return err },
		"AccountByPrincipal": func() error { _, err := other.AccountByPrincipal(ctx, "HTTP/a"); return err },
		"Accounts":           func() error { _, err := other.Accounts(ctx, ""); return err },
	}
	if _, err := other.CA(ctx); !errors.Is(err, store.ErrSealed) {
		t.Errorf("CA with the wrong key: %v, want ErrSealed", err)
	}
	for name, f := range checks {
		err := f()
		if !errors.Is(err, store.ErrSealed) {
			t.Errorf("%s with the wrong key: %v, want ErrSealed", name, err)
		}
		if err != nil && !strings.Contains(err.Error(), "alice") {
			t.Errorf("%s: error %q does not name the account", name, err)
		}
	}
}

// A sealed blob is bound to its row: swapping two accounts' secrets, or
// emptying one, is detected.
func TestTamperedSecrets(t *testing.T) {
	ctx := t.Context()
	db := openAt(t, filepath.Join(t.TempDir(), "accounts.db"), 1)
	for _, n := range []string{"alice", "bob", "carol"} {
		if err := db.CreateAccount(ctx, &store.Account{Kind: store.KindUser, Name: n, Secrets: storetest.Secrets(1)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.db.Exec(`UPDATE accounts SET secrets = (SELECT secrets FROM accounts WHERE name = 'bob') WHERE name = 'alice'`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.db.Exec(`UPDATE accounts SET secrets = x'' WHERE name = 'carol'`); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"alice", "carol"} {
		if _, err := db.Account(ctx, n); !errors.Is(err, store.ErrSealed) {
			t.Errorf("%s with tampered secrets: %v, want ErrSealed", n, err)
		}
	}
	if _, err := db.Account(ctx, "bob"); err != nil {
		t.Errorf("bob: %v", err)
	}
}

// The CA key is bound to its certificate: a key blob next to another
// certificate does not open.
func TestTamperedCAKey(t *testing.T) {
	ctx := t.Context()
	db := openAt(t, filepath.Join(t.TempDir(), "accounts.db"), 1)
	if err := db.InitCA(ctx, store.CA{CertDER: []byte("ca cert"), KeyDER: []byte("ca key")}); err != nil {
		t.Fatal(err)
	}
	var blob []byte
	if err := db.db.QueryRow(`SELECT key FROM pki_ca`).Scan(&blob); err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(blob, []byte("ca key")) {
		t.Fatal("CA key stored in clear")
	}
	if _, err := db.db.Exec(`UPDATE pki_ca SET cert = x'00'`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.CA(ctx); !errors.Is(err, store.ErrSealed) {
		t.Fatalf("CA with a swapped certificate: %v, want ErrSealed", err)
	}
}

// Times the int64 nanosecond columns cannot hold are refused, not wrapped.
func TestTimeRange(t *testing.T) {
	ctx := t.Context()
	db := openAt(t, filepath.Join(t.TempDir(), "accounts.db"), 1)
	a := &store.Account{Kind: store.KindUser, Name: "alice", AccountExpires: time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)}
	if err := db.CreateAccount(ctx, a); err == nil {
		t.Fatal("CreateAccount stored an expiry in year 9999")
	}
	if _, err := db.Account(ctx, "alice"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("refused account exists: %v", err)
	}
}

// A cancelled context stops a writer waiting for the write lock.
func TestWriteHonoursContext(t *testing.T) {
	db := openAt(t, filepath.Join(t.TempDir(), "accounts.db"), 1)
	db.wsem <- struct{}{} // another writer holds the lock
	defer func() { <-db.wsem }()
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	err := db.CreateAccount(ctx, &store.Account{Kind: store.KindUser, Name: "alice"})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("CreateAccount while blocked: %v, want DeadlineExceeded", err)
	}
}

// helperEnv names the database the kill -9 child writes to.
const helperEnv = "WARDEN_SQLITE_KILL_HELPER"

// TestHelperProcess is the child of TestKill9: it creates accounts one by
// one and prints each name once CreateAccount has returned nil, until it
// is killed. It does nothing in a normal test run.
func TestHelperProcess(t *testing.T) {
	spec := os.Getenv(helperEnv)
	if spec == "" {
		t.Skip("helper process for TestKill9")
	}
	path, prefix, _ := strings.Cut(spec, "|")
	db, err := Open(path, testSealer(t, 7))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	ctx := context.Background()
	for i := 0; i < 1_000_000; i++ {
		a := killAccount(fmt.Sprintf("%s-%06d", prefix, i))
		if err := db.CreateAccount(ctx, a); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		if err := db.AddCert(ctx, killCert(a.Name)); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		// os.Stdout is unbuffered: the line leaves the process before the
		// next account is started, so a printed name is an acknowledged one.
		fmt.Println(a.Name)
	}
	os.Exit(0)
}

// killAccount is the account the helper creates for a name, with secrets
// derived from the name so the parent can check them byte for byte.
func killAccount(name string) *store.Account {
	s := storetest.Secrets(3)
	s.NTHash = append([]byte(name), s.NTHash...)
	return &store.Account{Kind: store.KindUser, Name: name, UPN: name + "@example.test",
		SPNs: []string{"HTTP/" + name}, Secrets: s}
}

// killCert is the certificate record the helper adds for each account.
func killCert(name string) *store.Cert {
	return storetest.Cert(hex.EncodeToString([]byte(name)), name, store.CertUser, time.Unix(1_900_000_000, 0).UTC())
}

// TestKill9 kills a writer with SIGKILL mid-stream and checks that every
// account it was told had been stored is there, intact, after reopening.
// Several rounds append to the same file, each recovering the previous
// round's crash. (A process kill leaves the OS page cache intact; power
// loss is covered by synchronous=FULL, which this cannot observe.)
func TestKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns processes")
	}
	path := filepath.Join(t.TempDir(), "accounts.db")
	var acked []string
	for round, after := range []int{1, 25, 60} {
		prefix := fmt.Sprintf("r%d", round)
		cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$", "-test.count=1")
		cmd.Env = append(os.Environ(), helperEnv+"="+path+"|"+prefix)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		r := bufio.NewReader(out)
		var lines int
		for lines < after {
			line, err := r.ReadString('\n')
			if err != nil {
				cmd.Process.Kill()
				cmd.Wait()
				t.Fatalf("round %d: child stopped after %d lines: %v\n%s", round, lines, err, stderr.String())
			}
			acked = append(acked, strings.TrimSuffix(line, "\n"))
			lines++
		}
		if err := cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		// Lines the child wrote before dying were acknowledged too; a
		// torn last line (no newline) was not.
		rest, _ := io.ReadAll(r)
		for line := range strings.Lines(string(rest)) {
			if strings.HasSuffix(line, "\n") {
				acked = append(acked, strings.TrimSuffix(line, "\n"))
			}
		}
		cmd.Wait()

		db, err := Open(path, testSealer(t, 7))
		if err != nil {
			t.Fatalf("round %d: reopening after kill: %v", round, err)
		}
		var check string
		if err := db.db.QueryRow(`PRAGMA integrity_check`).Scan(&check); err != nil || check != "ok" {
			t.Fatalf("round %d: integrity_check = %q, %v", round, check, err)
		}
		for _, name := range acked {
			want := killAccount(name)
			got, err := db.AccountByPrincipal(t.Context(), "HTTP/"+name)
			if err != nil {
				t.Fatalf("round %d: acknowledged account %s lost: %v", round, name, err)
			}
			if got.Name != name || got.UPN != want.UPN || !reflect.DeepEqual(got.Secrets, want.Secrets) {
				t.Fatalf("round %d: account %s damaged: %+v", round, name, got)
			}
			wc := killCert(name)
			c, err := db.Cert(t.Context(), wc.Serial)
			if err != nil {
				t.Fatalf("round %d: acknowledged certificate of %s lost: %v", round, name, err)
			}
			if c.Account != name || !bytes.Equal(c.DER, wc.DER) || !c.NotAfter.Equal(wc.NotAfter) {
				t.Fatalf("round %d: certificate of %s damaged: %+v", round, name, c)
			}
		}
		db.Close()
		t.Logf("round %d: %d acknowledged accounts survive SIGKILL", round, len(acked))
	}
}

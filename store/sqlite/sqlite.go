// Package sqlite is the SQLite backend of the account DB: a store.Store
// over one database file, through the pure-Go modernc.org/sqlite driver
// (no cgo, so the AA stays a single static binary).
//
// Durability: the file runs in WAL mode with synchronous=FULL, so every
// commit is fsynced before the method that made it returns nil. Secrets
// are sealed with the store.Sealer before they reach the file, bound to
// the account's RID.
//
// Concurrency: any number of readers run in parallel; writes are
// serialised, in this process by a semaphore and across processes by
// SQLite's write lock (BEGIN IMMEDIATE, waiting up to busy_timeout).
//
// Case-insensitive names use COLLATE NOCASE, which folds ASCII letters
// only: "ALICE" and "alice" are one name, "ÉMILE" and "émile" are two.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/warden-auth/warden/store"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// DB is an account DB in one SQLite file. It implements store.Store.
type DB struct {
	db     *sql.DB
	sealer *store.Sealer

	// wsem (capacity 1) serialises this process's write transactions.
	// SQLite admits one writer at a time anyway; queueing here instead of
	// in SQLite's busy handler (which sleeps and polls) keeps in-process
	// writers prompt and cancellable, and leaves busy_timeout for writers
	// in other processes.
	wsem chan struct{}
}

var _ store.Store = (*DB)(nil)

//go:embed migrations/*.sql
var migrationFS embed.FS

// Open opens (creating if needed) the account DB at path, brings its
// schema up to date and returns it. Secrets are sealed and opened with
// sealer; opening with another master key succeeds, but reading any
// account's secrets then fails with an error wrapping store.ErrSealed.
func Open(path string, sealer *store.Sealer) (*DB, error) {
	if sealer == nil {
		return nil, errors.New("sqlite: a sealer is required")
	}
	if path == "" || strings.HasPrefix(path, ":memory:") || strings.HasPrefix(path, "file:") {
		// Every pooled connection must see the same database, and the
		// pragmas are added to the DSN here: a plain file path only.
		return nil, fmt.Errorf("sqlite: %q is not a database file path", path)
	}
	if err := createPrivate(path); err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	db, err := sql.Open("sqlite", dsn(path))
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	d := &DB{db: db, sealer: sealer, wsem: make(chan struct{}, 1)}
	ctx := context.Background()
	if err := d.checkPragmas(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlite: %s: %w", path, err)
	}
	if err := migrate(ctx, db); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlite: %s: %w", path, err)
	}
	return d, nil
}

// dsn builds the driver's connection string. The pragmas ride in the DSN
// because database/sql opens connections on demand: a pragma executed
// once would hold on one pooled connection only. The driver runs
// busy_timeout first whatever the order here, so switching to WAL also
// waits for another process's lock. _txlock=immediate makes every
// read-write transaction take the write lock at BEGIN, so two writers
// never both read and then fail to upgrade (SQLITE_BUSY_SNAPSHOT).
func dsn(path string) string {
	// In a file: URI, '?' and '#' end the path and '%' escapes.
	esc := strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(path)
	return "file:" + esc +
		"?_pragma=journal_mode(WAL)" +
		"&_pragma=synchronous(FULL)" +
		"&_pragma=busy_timeout(5000)" +
		"&_pragma=foreign_keys(1)" +
		"&_txlock=immediate"
}

// createPrivate creates an empty database file readable by its owner
// only, unless it exists. SQLite gives the -wal and -shm files the mode of
// the main file, so the account data is never world-readable, sealed
// secrets or not.
func createPrivate(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	// Make the new directory entry durable too.
	if dir, err := os.Open(filepath.Dir(path)); err == nil {
		dir.Sync()
		dir.Close()
	}
	return nil
}

// checkPragmas verifies that the DSN pragmas took effect: a driver that
// silently ignored them would turn "nil means durable" into a lie.
func (d *DB) checkPragmas(ctx context.Context) error {
	conn, err := d.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	var mode string
	var sync, fk, busy int
	if err := conn.QueryRowContext(ctx, `PRAGMA journal_mode`).Scan(&mode); err != nil {
		return err
	}
	if err := conn.QueryRowContext(ctx, `PRAGMA synchronous`).Scan(&sync); err != nil {
		return err
	}
	if err := conn.QueryRowContext(ctx, `PRAGMA foreign_keys`).Scan(&fk); err != nil {
		return err
	}
	if err := conn.QueryRowContext(ctx, `PRAGMA busy_timeout`).Scan(&busy); err != nil {
		return err
	}
	if !strings.EqualFold(mode, "wal") || sync != 2 || fk != 1 || busy != 5000 {
		return fmt.Errorf("connection settings not applied (journal_mode=%s synchronous=%d foreign_keys=%d busy_timeout=%d)", mode, sync, fk, busy)
	}
	return nil
}

// migrate applies the embedded migrations newer than the database's
// schema version, in order, in one transaction: a crash leaves the old
// schema or the new, and two processes opening a fresh file at once
// serialise on the write lock, the second finding nothing to do.
func migrate(ctx context.Context, db *sql.DB) error {
	entries, err := fs.ReadDir(migrationFS, "migrations")
	if err != nil {
		return err
	}
	type migration struct {
		version int
		name    string
	}
	var ms []migration
	for i, e := range entries { // ReadDir sorts by name
		prefix, _, _ := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(prefix)
		if err != nil || v != i+1 {
			return fmt.Errorf("migration %s: want a name starting %04d_", e.Name(), i+1)
		}
		ms = append(ms, migration{v, e.Name()})
	}

	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_version (
		version INTEGER PRIMARY KEY,
		applied INTEGER NOT NULL)`); err != nil {
		return err
	}
	var cur int
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_version`).Scan(&cur); err != nil {
		return err
	}
	if cur > len(ms) {
		return fmt.Errorf("database schema version %d is newer than this build knows (%d); use a newer warden", cur, len(ms))
	}
	for _, m := range ms[cur:] {
		body, err := migrationFS.ReadFile("migrations/" + m.name)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, string(body)); err != nil {
			return fmt.Errorf("migration %s: %w", m.name, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO schema_version (version, applied) VALUES (?, ?)`,
			m.version, time.Now().UnixNano()); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// Close closes the database.
func (d *DB) Close() error { return d.db.Close() }

// errUnchanged, returned by a write function, rolls the transaction back
// and makes write return nil: nothing changed, so the generation must not
// move (every move empties the KDC's caches).
var errUnchanged = errors.New("unchanged")

// write runs f in a read-write transaction and commits it with the
// generation bumped, so every committed change is visible to caches.
func (d *DB) write(ctx context.Context, f func(tx *sql.Tx) error) error {
	select {
	case d.wsem <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-d.wsem }()

	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback() // no-op after Commit
	if err := f(tx); err != nil {
		if errors.Is(err, errUnchanged) {
			return nil
		}
		return err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE generation SET value = value + 1 WHERE id = 1`); err != nil {
		return err
	}
	return tx.Commit()
}

// read runs f in a read transaction, so multi-query reads (an account and
// its SPNs) see one snapshot.
func (d *DB) read(ctx context.Context, f func(tx *sql.Tx) error) error {
	tx, err := d.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return err
	}
	defer tx.Rollback()
	return f(tx)
}

// Generation returns the change counter.
func (d *DB) Generation(ctx context.Context) (int64, error) {
	var g int64
	err := d.db.QueryRowContext(ctx, `SELECT value FROM generation WHERE id = 1`).Scan(&g)
	return g, err
}

// InitRealm creates the realm record; ErrExists if there is one.
func (d *DB) InitRealm(ctx context.Context, r store.Realm) error {
	if r.Name == "" {
		return errors.New("realm: empty name")
	}
	data, err := json.Marshal(r)
	if err != nil {
		return err
	}
	return d.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE realm SET data = ? WHERE id = 1 AND data IS NULL`, string(data))
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			old, err := realmIn(ctx, tx)
			if err != nil {
				return err
			}
			return fmt.Errorf("realm %s: %w", old.Name, store.ErrExists)
		}
		return nil
	})
}

// Realm returns the realm record; ErrNoRealm before InitRealm.
func (d *DB) Realm(ctx context.Context) (store.Realm, error) {
	var r store.Realm
	err := d.read(ctx, func(tx *sql.Tx) error {
		var err error
		r, err = realmIn(ctx, tx)
		return err
	})
	return r, err
}

func realmIn(ctx context.Context, tx *sql.Tx) (store.Realm, error) {
	var r store.Realm
	var data sql.NullString
	if err := tx.QueryRowContext(ctx, `SELECT data FROM realm WHERE id = 1`).Scan(&data); err != nil {
		return r, err
	}
	if !data.Valid {
		return r, store.ErrNoRealm
	}
	if err := json.Unmarshal([]byte(data.String), &r); err != nil {
		return r, fmt.Errorf("realm record: %w", err)
	}
	return r, nil
}

// UpdateRealm replaces the realm record's policy and lifetimes. The name
// and domain SID cannot change (every salt and SID derives from them), and
// Created keeps its stored value.
func (d *DB) UpdateRealm(ctx context.Context, r store.Realm) error {
	return d.write(ctx, func(tx *sql.Tx) error {
		old, err := realmIn(ctx, tx)
		if err != nil {
			return err
		}
		if r.Name != old.Name || r.DomainSID != old.DomainSID {
			return fmt.Errorf("realm %s: the realm name and domain SID cannot change (to %s, %s)", old.Name, r.Name, r.DomainSID)
		}
		r.Created = old.Created
		data, err := json.Marshal(r)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE realm SET data = ? WHERE id = 1`, string(data))
		return err
	})
}

// allocRID hands out the next free RID from the counter shared by
// accounts and groups, skipping any taken by an explicit RID.
func allocRID(ctx context.Context, tx *sql.Tx) (uint32, error) {
	var next int64
	if err := tx.QueryRowContext(ctx, `SELECT next_rid FROM realm WHERE id = 1`).Scan(&next); err != nil {
		return 0, err
	}
	for ; next <= 0xFFFFFFFF; next++ {
		kind, _, err := ridOwner(ctx, tx, uint32(next))
		if err != nil {
			return 0, err
		}
		if kind == "" {
			_, err := tx.ExecContext(ctx, `UPDATE realm SET next_rid = ? WHERE id = 1`, next+1)
			return uint32(next), err
		}
	}
	return 0, errors.New("no RIDs left")
}

// ridOwner reports what holds a RID: "account" or "group" and its name,
// or "" when free.
func ridOwner(ctx context.Context, tx *sql.Tx, rid uint32) (kind, name string, err error) {
	err = tx.QueryRowContext(ctx, `
		SELECT 'account', name FROM accounts WHERE rid = ?
		UNION ALL
		SELECT 'group', name FROM groups WHERE rid = ?`, rid, rid).Scan(&kind, &name)
	if errors.Is(err, sql.ErrNoRows) {
		return "", "", nil
	}
	return kind, name, err
}

// claimRID checks an explicit RID is free or allocates one when zero.
func claimRID(ctx context.Context, tx *sql.Tx, rid uint32) (uint32, error) {
	if rid == 0 {
		return allocRID(ctx, tx)
	}
	kind, name, err := ridOwner(ctx, tx, rid)
	if err != nil {
		return 0, err
	}
	if kind != "" {
		return 0, fmt.Errorf("RID %d is already used by %s %s: %w", rid, kind, name, store.ErrExists)
	}
	return rid, nil
}

// nameFree checks that no account or group other than the one with RID
// except holds name.
func nameFree(ctx context.Context, tx *sql.Tx, name string, except uint32) error {
	var kind, owner string
	err := tx.QueryRowContext(ctx, `
		SELECT 'account', name FROM accounts WHERE name = ? AND rid <> ?
		UNION ALL
		SELECT 'group', name FROM groups WHERE name = ? AND rid <> ?`,
		name, except, name, except).Scan(&kind, &owner)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return err
	}
	return fmt.Errorf("name %s is already used by %s %s: %w", name, kind, owner, store.ErrExists)
}

// Times are stored as Unix nanoseconds with 0 for the zero time; a time
// outside what int64 nanoseconds can hold (before 1678, after 2262) is
// refused rather than silently wrapped.
func nanos(what string, t time.Time) (int64, error) {
	if t.IsZero() {
		return 0, nil
	}
	n := t.UnixNano()
	if !time.Unix(0, n).Equal(t) {
		return 0, fmt.Errorf("%s %v is outside the storable range (years 1678 to 2262)", what, t)
	}
	return n, nil
}

func fromNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

// foldASCII lower-cases ASCII letters only, as COLLATE NOCASE does, so
// checks in Go agree with the database's idea of "the same name".
func foldASCII(s string) string {
	return strings.Map(func(r rune) rune {
		if 'A' <= r && r <= 'Z' {
			return r + ('a' - 'A')
		}
		return r
	}, s)
}

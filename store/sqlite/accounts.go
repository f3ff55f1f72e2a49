package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/warden-auth/warden/store"
)

const accountCols = `rid, kind, name, upn, display_name, flags, enctypes,
	password_last_set, password_expires, account_expires, secrets,
	bad_count, last_failure, locked_until, created, modified, version`

// row is what scanAccount needs of *sql.Row and *sql.Rows.
type row interface{ Scan(dest ...any) error }

// scanAccount reads one accounts row (accountCols) and opens its secrets.
// SPNs are filled in by the caller.
func (d *DB) scanAccount(r row) (*store.Account, error) {
	var (
		a                                  store.Account
		kind                               string
		upn, enctypes                      sql.NullString
		pwdSet, pwdExp, acctExp            int64
		blob                               []byte
		lastFail, lockedUntil, created, md int64
	)
	err := r.Scan(&a.RID, &kind, &a.Name, &upn, &a.DisplayName, &a.Flags, &enctypes,
		&pwdSet, &pwdExp, &acctExp, &blob,
		&a.Lockout.BadCount, &lastFail, &lockedUntil, &created, &md, &a.Version)
	if err != nil {
		return nil, err
	}
	a.Kind = store.Kind(kind)
	a.UPN = upn.String
	if enctypes.Valid {
		if err := json.Unmarshal([]byte(enctypes.String), &a.SupportedEnctypes); err != nil {
			return nil, fmt.Errorf("account %q: enctypes: %v", a.Name, err)
		}
	}
	a.PasswordLastSet = fromNanos(pwdSet)
	a.PasswordExpires = fromNanos(pwdExp)
	a.AccountExpires = fromNanos(acctExp)
	a.Lockout.LastFailure = fromNanos(lastFail)
	a.Lockout.LockedUntil = fromNanos(lockedUntil)
	a.Created = fromNanos(created)
	a.Modified = fromNanos(md)
	// Every row is written with a sealed blob, even for no secrets; an
	// empty one was not written by this backend, so it is refused rather
	// than read as "no keys".
	if len(blob) == 0 {
		return nil, fmt.Errorf("account %q: no sealed secrets: %w", a.Name, store.ErrSealed)
	}
	if a.Secrets, err = d.sealer.Open(a.RID, blob); err != nil {
		return nil, fmt.Errorf("account %q: %w", a.Name, err)
	}
	return &a, nil
}

// accountWhere loads the one account matching cond (a constant SQL
// condition with one parameter) with its SPNs; nil, nil if none.
func (d *DB) accountWhere(ctx context.Context, tx *sql.Tx, cond string, arg any) (*store.Account, error) {
	a, err := d.scanAccount(tx.QueryRowContext(ctx, `SELECT `+accountCols+` FROM accounts WHERE `+cond, arg))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	rows, err := tx.QueryContext(ctx, `SELECT spn FROM spns WHERE rid = ? ORDER BY pos`, a.RID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var spn string
		if err := rows.Scan(&spn); err != nil {
			return nil, err
		}
		a.SPNs = append(a.SPNs, spn)
	}
	return a, rows.Err()
}

// accountRID returns the RID of the account with this name.
func accountRID(ctx context.Context, tx *sql.Tx, name string) (uint32, error) {
	var rid uint32
	err := tx.QueryRowContext(ctx, `SELECT rid FROM accounts WHERE name = ?`, name).Scan(&rid)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("account %q: %w", name, store.ErrNotFound)
	}
	return rid, err
}

// accountRow is an account's columns as stored, minus the lockout state.
type accountRow struct {
	upn                     any // nil for no UPN
	enctypes                any // nil for "those of the keys"
	pwdSet, pwdExp, acctExp int64
	secrets                 []byte
}

// encodeAccount validates a and converts it to stored form, sealing its
// secrets for rid.
func (d *DB) encodeAccount(a *store.Account, rid uint32) (accountRow, error) {
	var r accountRow
	switch a.Kind {
	case store.KindUser, store.KindComputer, store.KindService:
	default:
		return r, fmt.Errorf("account %q: unknown kind %q", a.Name, a.Kind)
	}
	if a.Name == "" {
		return r, errors.New("account: empty name")
	}
	if a.UPN != "" {
		r.upn = a.UPN
	}
	if a.SupportedEnctypes != nil {
		b, err := json.Marshal(a.SupportedEnctypes)
		if err != nil {
			return r, err
		}
		r.enctypes = string(b)
	}
	var err error
	if r.pwdSet, err = nanos("PasswordLastSet", a.PasswordLastSet); err != nil {
		return r, fmt.Errorf("account %q: %w", a.Name, err)
	}
	if r.pwdExp, err = nanos("PasswordExpires", a.PasswordExpires); err != nil {
		return r, fmt.Errorf("account %q: %w", a.Name, err)
	}
	if r.acctExp, err = nanos("AccountExpires", a.AccountExpires); err != nil {
		return r, fmt.Errorf("account %q: %w", a.Name, err)
	}
	if r.secrets, err = d.sealer.Seal(rid, a.Secrets); err != nil {
		return r, fmt.Errorf("account %q: sealing secrets: %w", a.Name, err)
	}
	return r, nil
}

// checkUnique checks that a's name, UPN and SPNs are free, ignoring the
// account's own row (rid).
func checkUnique(ctx context.Context, tx *sql.Tx, a *store.Account, rid uint32) error {
	if err := nameFree(ctx, tx, a.Name, rid); err != nil {
		return err
	}
	if a.UPN != "" {
		var owner string
		err := tx.QueryRowContext(ctx, `SELECT name FROM accounts WHERE upn = ? AND rid <> ?`, a.UPN, rid).Scan(&owner)
		if err == nil {
			return fmt.Errorf("UPN %s is already used by account %s: %w", a.UPN, owner, store.ErrExists)
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
	}
	seen := map[string]bool{}
	for _, spn := range a.SPNs {
		if spn == "" {
			return fmt.Errorf("account %q: empty SPN", a.Name)
		}
		if seen[foldASCII(spn)] {
			return fmt.Errorf("account %q: SPN %s is listed twice: %w", a.Name, spn, store.ErrExists)
		}
		seen[foldASCII(spn)] = true
		var owner string
		err := tx.QueryRowContext(ctx, `
			SELECT a.name FROM spns s JOIN accounts a ON a.rid = s.rid
			WHERE s.spn = ? AND s.rid <> ?`, spn, rid).Scan(&owner)
		if err == nil {
			return fmt.Errorf("SPN %s is already used by account %s: %w", spn, owner, store.ErrExists)
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
	}
	return nil
}

func insertSPNs(ctx context.Context, tx *sql.Tx, rid uint32, spns []string) error {
	for i, spn := range spns {
		if _, err := tx.ExecContext(ctx, `INSERT INTO spns (spn, rid, pos) VALUES (?, ?, ?)`, spn, rid, i); err != nil {
			return err
		}
	}
	return nil
}

// nowUTC is the timestamp of a change, without a monotonic reading, so
// what is written back into a record equals what a later read returns.
func nowUTC() time.Time { return time.Now().UTC() }

// CreateAccount stores a new account; see store.Store. The lockout state
// in a is stored as given (an import may carry one).
func (d *DB) CreateAccount(ctx context.Context, a *store.Account) error {
	t := nowUTC()
	tn, _ := nanos("now", t)
	var lo [2]int64
	var err error
	if lo[0], err = nanos("LastFailure", a.Lockout.LastFailure); err != nil {
		return fmt.Errorf("account %q: %w", a.Name, err)
	}
	if lo[1], err = nanos("LockedUntil", a.Lockout.LockedUntil); err != nil {
		return fmt.Errorf("account %q: %w", a.Name, err)
	}
	var rid uint32
	err = d.write(ctx, func(tx *sql.Tx) error {
		var err error
		if rid, err = claimRID(ctx, tx, a.RID); err != nil {
			return fmt.Errorf("account %q: %w", a.Name, err)
		}
		r, err := d.encodeAccount(a, rid)
		if err != nil {
			return err
		}
		if err := checkUnique(ctx, tx, a, 0); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO accounts (`+accountCols+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)`,
			rid, string(a.Kind), a.Name, r.upn, a.DisplayName, a.Flags, r.enctypes,
			r.pwdSet, r.pwdExp, r.acctExp, r.secrets,
			a.Lockout.BadCount, lo[0], lo[1], tn, tn)
		if err != nil {
			return err
		}
		return insertSPNs(ctx, tx, rid, a.SPNs)
	})
	if err != nil {
		return err
	}
	a.RID, a.Created, a.Modified, a.Version = rid, t, t, 1
	return nil
}

// UpdateAccount replaces the account with a.RID if a.Version is current;
// see store.Store. The lockout state is not an admin edit and is left as
// stored (a stale record must not undo failures counted meanwhile); the
// stored state is written back into a, with Created, Modified and Version.
func (d *DB) UpdateAccount(ctx context.Context, a *store.Account) error {
	t := nowUTC()
	tn, _ := nanos("now", t)
	var created int64
	var lockout store.Lockout
	err := d.write(ctx, func(tx *sql.Tx) error {
		var version, lastFail, lockedUntil int64
		err := tx.QueryRowContext(ctx, `
			SELECT version, created, bad_count, last_failure, locked_until
			FROM accounts WHERE rid = ?`, a.RID).
			Scan(&version, &created, &lockout.BadCount, &lastFail, &lockedUntil)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("account %q (RID %d): %w", a.Name, a.RID, store.ErrNotFound)
		}
		if err != nil {
			return err
		}
		if version != a.Version {
			return fmt.Errorf("account %q: version %d, stored %d: %w", a.Name, a.Version, version, store.ErrConflict)
		}
		lockout.LastFailure, lockout.LockedUntil = fromNanos(lastFail), fromNanos(lockedUntil)
		r, err := d.encodeAccount(a, a.RID)
		if err != nil {
			return err
		}
		if err := checkUnique(ctx, tx, a, a.RID); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE accounts SET
			kind = ?, name = ?, upn = ?, display_name = ?, flags = ?, enctypes = ?,
			password_last_set = ?, password_expires = ?, account_expires = ?, secrets = ?,
			modified = ?, version = version + 1
			WHERE rid = ? AND version = ?`,
			string(a.Kind), a.Name, r.upn, a.DisplayName, a.Flags, r.enctypes,
			r.pwdSet, r.pwdExp, r.acctExp, r.secrets,
			tn, a.RID, a.Version)
		if err != nil {
			return err
		}
		// Unreachable while writes hold the write lock from BEGIN; kept so
		// the optimistic check never rests on that alone.
		if n, _ := res.RowsAffected(); n != 1 {
			return fmt.Errorf("account %q: %w", a.Name, store.ErrConflict)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM spns WHERE rid = ?`, a.RID); err != nil {
			return err
		}
		return insertSPNs(ctx, tx, a.RID, a.SPNs)
	})
	if err != nil {
		return err
	}
	a.Version++
	a.Created, a.Modified, a.Lockout = fromNanos(created), t, lockout
	return nil
}

// DeleteAccount removes an account; its SPNs, claims (foreign keys) and
// memberships (trigger) go with it.
func (d *DB) DeleteAccount(ctx context.Context, name string) error {
	return d.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM accounts WHERE name = ?`, name)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("account %q: %w", name, store.ErrNotFound)
		}
		return nil
	})
}

// Account returns the account with this sAMAccountName.
func (d *DB) Account(ctx context.Context, name string) (*store.Account, error) {
	var a *store.Account
	err := d.read(ctx, func(tx *sql.Tx) error {
		var err error
		a, err = d.accountWhere(ctx, tx, `name = ?`, name)
		return err
	})
	if err == nil && a == nil {
		err = fmt.Errorf("account %q: %w", name, store.ErrNotFound)
	}
	return a, err
}

// AccountByRID returns the account with this RID.
func (d *DB) AccountByRID(ctx context.Context, rid uint32) (*store.Account, error) {
	var a *store.Account
	err := d.read(ctx, func(tx *sql.Tx) error {
		var err error
		a, err = d.accountWhere(ctx, tx, `rid = ?`, rid)
		return err
	})
	if err == nil && a == nil {
		err = fmt.Errorf("account with RID %d: %w", rid, store.ErrNotFound)
	}
	return a, err
}

// AccountByPrincipal finds the account a principal name denotes, trying
// in order: an SPN ("HTTP/web.example.test", "host/web01"), the
// sAMAccountName ("alice", "WEB01$"; a trailing "$" is never implied),
// then the UPN ("alice@example.test"). For the UPN alone, an enterprise
// name with this realm appended ("alice@example.test@EXAMPLE.TEST") is
// also tried without it. All comparisons are case-insensitive.
func (d *DB) AccountByPrincipal(ctx context.Context, principal string) (*store.Account, error) {
	var a *store.Account
	err := d.read(ctx, func(tx *sql.Tx) error {
		var err error
		if a, err = d.accountWhere(ctx, tx, `rid = (SELECT rid FROM spns WHERE spn = ?)`, principal); a != nil || err != nil {
			return err
		}
		if a, err = d.accountWhere(ctx, tx, `name = ?`, principal); a != nil || err != nil {
			return err
		}
		if a, err = d.accountWhere(ctx, tx, `upn = ?`, principal); a != nil || err != nil {
			return err
		}
		if i := strings.LastIndexByte(principal, '@'); i > 0 && strings.Contains(principal[:i], "@") {
			r, err := realmIn(ctx, tx)
			if errors.Is(err, store.ErrNoRealm) {
				return nil
			}
			if err != nil {
				return err
			}
			if foldASCII(principal[i+1:]) == foldASCII(r.Name) {
				a, err = d.accountWhere(ctx, tx, `upn = ?`, principal[:i])
				return err
			}
		}
		return nil
	})
	if err == nil && a == nil {
		err = fmt.Errorf("principal %q: %w", principal, store.ErrNotFound)
	}
	return a, err
}

// Accounts lists accounts of one kind, or all for "", by name.
func (d *DB) Accounts(ctx context.Context, kind store.Kind) ([]*store.Account, error) {
	var list []*store.Account
	err := d.read(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT `+accountCols+` FROM accounts
			WHERE ? = '' OR kind = ? ORDER BY name`, string(kind), string(kind))
		if err != nil {
			return err
		}
		defer rows.Close()
		byRID := map[uint32]*store.Account{}
		for rows.Next() {
			a, err := d.scanAccount(rows)
			if err != nil {
				return err
			}
			list = append(list, a)
			byRID[a.RID] = a
		}
		if err := rows.Err(); err != nil {
			return err
		}
		// One pass over all SPNs rather than a query per account.
		spns, err := tx.QueryContext(ctx, `SELECT rid, spn FROM spns ORDER BY rid, pos`)
		if err != nil {
			return err
		}
		defer spns.Close()
		for spns.Next() {
			var rid uint32
			var spn string
			if err := spns.Scan(&rid, &spn); err != nil {
				return err
			}
			if a := byRID[rid]; a != nil {
				a.SPNs = append(a.SPNs, spn)
			}
		}
		return spns.Err()
	})
	return list, err
}

// RecordLogonFailure counts a bad password at now: a count whose last
// failure is older than the window starts again (a window of 0 never
// expires), and reaching the threshold locks the account until
// now+LockoutDuration. The change does not bump Version (it is not an
// admin edit, and must not make an admin's update fail) but does bump the
// generation, so caches see the new state.
func (d *DB) RecordLogonFailure(ctx context.Context, name string, now time.Time, p store.PasswordPolicy) (store.Lockout, error) {
	var lo store.Lockout
	nowN, err := nanos("failure time", now)
	if err != nil {
		return lo, fmt.Errorf("account %q: %w", name, err)
	}
	err = d.write(ctx, func(tx *sql.Tx) error {
		var rid uint32
		var lastFail, lockedUntil int64
		err := tx.QueryRowContext(ctx, `SELECT rid, bad_count, last_failure, locked_until FROM accounts WHERE name = ?`, name).
			Scan(&rid, &lo.BadCount, &lastFail, &lockedUntil)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("account %q: %w", name, store.ErrNotFound)
		}
		if err != nil {
			return err
		}
		lo.LastFailure, lo.LockedUntil = fromNanos(lastFail), fromNanos(lockedUntil)
		if p.LockoutWindow > 0 && !lo.LastFailure.IsZero() && now.Sub(lo.LastFailure) > p.LockoutWindow {
			lo.BadCount = 0
		}
		lo.BadCount++
		lo.LastFailure = now.UTC()
		if p.LockoutThreshold > 0 && lo.BadCount >= p.LockoutThreshold {
			lo.LockedUntil = now.Add(p.LockoutDuration).UTC()
		}
		until, err := nanos("LockedUntil", lo.LockedUntil)
		if err != nil {
			return fmt.Errorf("account %q: %w", name, err)
		}
		_, err = tx.ExecContext(ctx, `UPDATE accounts SET bad_count = ?, last_failure = ?, locked_until = ? WHERE rid = ?`,
			lo.BadCount, nowN, until, rid)
		return err
	})
	if err != nil {
		return store.Lockout{}, err
	}
	return lo, nil
}

// ResetLockout clears the bad-password state. Clearing a clear state
// writes nothing, so the common case (a successful logon) leaves the
// generation, and the KDC's caches, alone.
func (d *DB) ResetLockout(ctx context.Context, name string) error {
	return d.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE accounts SET bad_count = 0, last_failure = 0, locked_until = 0
			WHERE name = ? AND (bad_count <> 0 OR last_failure <> 0 OR locked_until <> 0)`, name)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n > 0 {
			return nil
		}
		if _, err := accountRID(ctx, tx, name); err != nil {
			return err
		}
		return errUnchanged
	})
}

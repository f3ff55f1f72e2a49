package sqlite

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/warden-auth/warden/store"
)

// caKeyLabel binds the sealed CA key to its certificate.
func caKeyLabel(certDER []byte) string {
	h := sha256.Sum256(certDER)
	return "ca-key:" + hex.EncodeToString(h[:])
}

// InitCA stores the realm CA with its key sealed; ErrExists if there is one.
func (d *DB) InitCA(ctx context.Context, ca store.CA) error {
	if len(ca.CertDER) == 0 || len(ca.KeyDER) == 0 {
		return errors.New("CA: certificate and key are required")
	}
	blob, err := d.sealer.SealBlob(caKeyLabel(ca.CertDER), ca.KeyDER)
	if err != nil {
		return err
	}
	created, err := nanos("CA created", ca.Created)
	if err != nil {
		return err
	}
	return d.write(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM pki_ca`).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return fmt.Errorf("realm CA: %w", store.ErrExists)
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO pki_ca (id, cert, key, created) VALUES (1, ?, ?, ?)`,
			ca.CertDER, blob, created)
		return err
	})
}

// CA returns the realm CA with its key opened; ErrNotFound before InitCA.
func (d *DB) CA(ctx context.Context) (store.CA, error) {
	var ca store.CA
	var blob []byte
	var created int64
	err := d.db.QueryRowContext(ctx, `SELECT cert, key, created FROM pki_ca WHERE id = 1`).Scan(&ca.CertDER, &blob, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return ca, fmt.Errorf("realm CA: %w", store.ErrNotFound)
	}
	if err != nil {
		return ca, err
	}
	ca.Created = fromNanos(created)
	if ca.KeyDER, err = d.sealer.OpenBlob(caKeyLabel(ca.CertDER), blob); err != nil {
		return store.CA{}, fmt.Errorf("realm CA key: %w", err)
	}
	return ca, nil
}

func normSerial(s string) string {
	return strings.ToLower(strings.TrimLeft(s, "0"))
}

// AddCert records an issued certificate.
func (d *DB) AddCert(ctx context.Context, c *store.Cert) error {
	serial := normSerial(c.Serial)
	if serial == "" || len(c.DER) == 0 {
		return errors.New("certificate: serial and DER are required")
	}
	names, err := json.Marshal(c.DNSNames)
	if err != nil {
		return err
	}
	nb, err := nanos("not before", c.NotBefore)
	if err != nil {
		return err
	}
	na, err := nanos("not after", c.NotAfter)
	if err != nil {
		return err
	}
	if c.Created.IsZero() {
		c.Created = nowUTC()
	}
	created, err := nanos("created", c.Created)
	if err != nil {
		return err
	}
	rev, err := nanos("revoked", c.Revoked)
	if err != nil {
		return err
	}
	var account any
	if c.Account != "" {
		account = c.Account
	}
	return d.write(ctx, func(tx *sql.Tx) error {
		if c.Account != "" {
			if _, err := accountRID(ctx, tx, c.Account); err != nil {
				return err
			}
		}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM pki_certs WHERE serial = ?`, serial).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return fmt.Errorf("certificate serial %s: %w", serial, store.ErrExists)
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO pki_certs
			(serial, kind, account, subject, dns_names, not_before, not_after, revoked, reason, der, created)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			serial, string(c.Kind), account, c.Subject, string(names), nb, na, rev, c.Reason, c.DER, created)
		return err
	})
}

const certCols = `serial, kind, account, subject, dns_names, not_before, not_after, revoked, reason, der, created`

func scanCert(r row) (*store.Cert, error) {
	var c store.Cert
	var kind, names string
	var account sql.NullString
	var nb, na, rev, created int64
	if err := r.Scan(&c.Serial, &kind, &account, &c.Subject, &names, &nb, &na, &rev, &c.Reason, &c.DER, &created); err != nil {
		return nil, err
	}
	c.Kind = store.CertKind(kind)
	c.Account = account.String
	if err := json.Unmarshal([]byte(names), &c.DNSNames); err != nil {
		return nil, fmt.Errorf("certificate %s: dns_names: %v", c.Serial, err)
	}
	c.NotBefore, c.NotAfter, c.Revoked, c.Created = fromNanos(nb), fromNanos(na), fromNanos(rev), fromNanos(created)
	return &c, nil
}

// Cert returns the certificate with this serial.
func (d *DB) Cert(ctx context.Context, serial string) (*store.Cert, error) {
	c, err := scanCert(d.db.QueryRowContext(ctx, `SELECT `+certCols+` FROM pki_certs WHERE serial = ?`, normSerial(serial)))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("certificate serial %s: %w", serial, store.ErrNotFound)
	}
	return c, err
}

// Certs lists certificates by NotBefore, then serial.
func (d *DB) Certs(ctx context.Context, f store.CertFilter) ([]*store.Cert, error) {
	q := `SELECT ` + certCols + ` FROM pki_certs WHERE 1 = 1`
	var args []any
	if f.Account != "" {
		q += ` AND account = ?`
		args = append(args, f.Account)
	}
	if f.Kind != "" {
		q += ` AND kind = ?`
		args = append(args, string(f.Kind))
	}
	if f.RevokedOnly {
		q += ` AND revoked <> 0`
	}
	return queryAll(ctx, d.db, scanCert, q+` ORDER BY not_before, serial`, args...)
}

// queryAll runs a query and scans every row with scan.
func queryAll[T any](ctx context.Context, db *sql.DB, scan func(row) (T, error), q string, args ...any) ([]T, error) {
	rows, err := db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// RevokeCert marks a certificate revoked.
func (d *DB) RevokeCert(ctx context.Context, serial string, at time.Time, reason int) error {
	if at.IsZero() {
		return errors.New("revocation time is required")
	}
	n, err := nanos("revocation time", at)
	if err != nil {
		return err
	}
	serial = normSerial(serial)
	return d.write(ctx, func(tx *sql.Tx) error {
		var rev int64
		err := tx.QueryRowContext(ctx, `SELECT revoked FROM pki_certs WHERE serial = ?`, serial).Scan(&rev)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("certificate serial %s: %w", serial, store.ErrNotFound)
		}
		if err != nil {
			return err
		}
		if rev != 0 {
			return fmt.Errorf("certificate serial %s was revoked at %s: %w", serial,
				fromNanos(rev).Format(time.RFC3339), store.ErrExists)
		}
		_, err = tx.ExecContext(ctx, `UPDATE pki_certs SET revoked = ?, reason = ? WHERE serial = ?`, n, reason, serial)
		return err
	})
}

// BindCert adds an explicit certificate binding.
func (d *DB) BindCert(ctx context.Context, b store.CertBinding) error {
	serial := normSerial(b.Serial)
	if b.Issuer == "" || serial == "" {
		return errors.New("binding: issuer and serial are required")
	}
	if b.Created.IsZero() {
		b.Created = nowUTC()
	}
	created, err := nanos("created", b.Created)
	if err != nil {
		return err
	}
	return d.write(ctx, func(tx *sql.Tx) error {
		rid, err := accountRID(ctx, tx, b.Account)
		if err != nil {
			return err
		}
		var owner string
		err = tx.QueryRowContext(ctx, `SELECT a.name FROM pki_bindings b JOIN accounts a ON a.rid = b.rid
			WHERE b.issuer = ? AND b.serial = ?`, b.Issuer, serial).Scan(&owner)
		if err == nil {
			return fmt.Errorf("certificate %s serial %s is already bound to %s: %w", b.Issuer, serial, owner, store.ErrExists)
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO pki_bindings (issuer, serial, rid, created) VALUES (?, ?, ?, ?)`,
			b.Issuer, serial, rid, created)
		return err
	})
}

// UnbindCert removes a binding.
func (d *DB) UnbindCert(ctx context.Context, issuer, serial string) error {
	serial = normSerial(serial)
	return d.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM pki_bindings WHERE issuer = ? AND serial = ?`, issuer, serial)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("binding of %s serial %s: %w", issuer, serial, store.ErrNotFound)
		}
		return nil
	})
}

const bindingQuery = `SELECT b.issuer, b.serial, a.name, b.created FROM pki_bindings b JOIN accounts a ON a.rid = b.rid`

func scanBinding(r row) (store.CertBinding, error) {
	var b store.CertBinding
	var created int64
	err := r.Scan(&b.Issuer, &b.Serial, &b.Account, &created)
	b.Created = fromNanos(created)
	return b, err
}

// CertBinding returns the binding of an issuer and serial.
func (d *DB) CertBinding(ctx context.Context, issuer, serial string) (store.CertBinding, error) {
	serial = normSerial(serial)
	b, err := scanBinding(d.db.QueryRowContext(ctx, bindingQuery+` WHERE b.issuer = ? AND b.serial = ?`, issuer, serial))
	if errors.Is(err, sql.ErrNoRows) {
		return b, fmt.Errorf("binding of %s serial %s: %w", issuer, serial, store.ErrNotFound)
	}
	return b, err
}

// CertBindings lists an account's bindings ("" for all).
func (d *DB) CertBindings(ctx context.Context, account string) ([]store.CertBinding, error) {
	q := bindingQuery
	var args []any
	if account != "" {
		q += ` WHERE a.name = ?`
		args = append(args, account)
	}
	return queryAll(ctx, d.db, scanBinding, q+` ORDER BY b.issuer, b.serial`, args...)
}

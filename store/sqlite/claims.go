package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/warden-auth/warden/store"
)

// DefineClaimType creates or replaces a claim type. Replacing updates the
// row in place: values already set for the type are kept (an INSERT OR
// REPLACE would delete the row first and cascade them away).
func (d *DB) DefineClaimType(ctx context.Context, t store.ClaimType) error {
	if t.ID == "" {
		return errors.New("claim type: empty ID")
	}
	switch t.ValueType {
	case store.ClaimString, store.ClaimInt64, store.ClaimUint64, store.ClaimBoolean:
	default:
		return fmt.Errorf("claim type %q: unknown value type %q", t.ID, t.ValueType)
	}
	applies, err := json.Marshal(t.AppliesTo)
	if err != nil {
		return err
	}
	return d.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `
			INSERT INTO claim_types (id, value_type, applies_to, description, auto_defined)
			VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (id) DO UPDATE SET
				value_type = excluded.value_type, applies_to = excluded.applies_to,
				description = excluded.description, auto_defined = excluded.auto_defined`,
			t.ID, string(t.ValueType), string(applies), t.Description, boolInt(t.AutoDefined))
		return err
	})
}

// ClaimTypes lists the claim types by ID.
func (d *DB) ClaimTypes(ctx context.Context) ([]store.ClaimType, error) {
	rows, err := d.db.QueryContext(ctx, `
		SELECT id, value_type, applies_to, description, auto_defined FROM claim_types ORDER BY id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var list []store.ClaimType
	for rows.Next() {
		var t store.ClaimType
		var vt, applies string
		if err := rows.Scan(&t.ID, &vt, &applies, &t.Description, &t.AutoDefined); err != nil {
			return nil, err
		}
		t.ValueType = store.ClaimValueType(vt)
		if err := json.Unmarshal([]byte(applies), &t.AppliesTo); err != nil {
			return nil, fmt.Errorf("claim type %q: applies_to: %v", t.ID, err)
		}
		list = append(list, t)
	}
	return list, rows.Err()
}

// SetClaim sets an account's values for a claim type, which must exist
// (ErrNotFound otherwise). Values are stored as given: checking them
// against the type's ValueType and AppliesTo is the caller's business.
func (d *DB) SetClaim(ctx context.Context, account string, c store.Claim) error {
	vals, err := json.Marshal(c.Values)
	if err != nil {
		return err
	}
	return d.write(ctx, func(tx *sql.Tx) error {
		rid, err := accountRID(ctx, tx, account)
		if err != nil {
			return err
		}
		var exists bool
		if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM claim_types WHERE id = ?)`, c.ID).Scan(&exists); err != nil {
			return err
		}
		if !exists {
			return fmt.Errorf("claim type %q: %w", c.ID, store.ErrNotFound)
		}
		_, err = tx.ExecContext(ctx, `
			INSERT INTO claims (rid, id, claim_values) VALUES (?, ?, ?)
			ON CONFLICT (rid, id) DO UPDATE SET claim_values = excluded.claim_values`,
			rid, c.ID, string(vals))
		return err
	})
}

// UnsetClaim removes an account's claim; ErrNotFound if unset.
func (d *DB) UnsetClaim(ctx context.Context, account, id string) error {
	return d.write(ctx, func(tx *sql.Tx) error {
		rid, err := accountRID(ctx, tx, account)
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM claims WHERE rid = ? AND id = ?`, rid, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("account %q has no claim %q: %w", account, id, store.ErrNotFound)
		}
		return nil
	})
}

// Claims returns the account's claims by ID.
func (d *DB) Claims(ctx context.Context, account string) ([]store.Claim, error) {
	var list []store.Claim
	err := d.read(ctx, func(tx *sql.Tx) error {
		rid, err := accountRID(ctx, tx, account)
		if err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx, `SELECT id, claim_values FROM claims WHERE rid = ? ORDER BY id`, rid)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var c store.Claim
			var vals string
			if err := rows.Scan(&c.ID, &vals); err != nil {
				return err
			}
			if err := json.Unmarshal([]byte(vals), &c.Values); err != nil {
				return fmt.Errorf("account %q: claim %q: %v", account, c.ID, err)
			}
			list = append(list, c)
		}
		return rows.Err()
	})
	return list, err
}

package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/warden-auth/warden/store"
)

// groupRID returns the RID of the group with this name.
func groupRID(ctx context.Context, tx *sql.Tx, name string) (uint32, error) {
	var rid uint32
	err := tx.QueryRowContext(ctx, `SELECT rid FROM groups WHERE name = ?`, name).Scan(&rid)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("group %q: %w", name, store.ErrNotFound)
	}
	return rid, err
}

// memberRID resolves a member to its RID.
func memberRID(ctx context.Context, tx *sql.Tx, m store.Member) (uint32, error) {
	if m.IsGroup {
		return groupRID(ctx, tx, m.Name)
	}
	return accountRID(ctx, tx, m.Name)
}

func describe(m store.Member) string {
	if m.IsGroup {
		return "group " + m.Name
	}
	return "account " + m.Name
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// addMember adds m to the group with RID grid (named group) inside tx.
func addMember(ctx context.Context, tx *sql.Tx, grid uint32, group string, m store.Member) error {
	mrid, err := memberRID(ctx, tx, m)
	if err != nil {
		return err
	}
	if m.IsGroup {
		// m in group closes a cycle if group is m or already sits, at
		// any depth, inside m: walk up from group and look for m.
		var cycle bool
		err := tx.QueryRowContext(ctx, `
			WITH RECURSIVE up(rid) AS (
				SELECT ?
				UNION
				SELECT m.group_rid FROM members m JOIN up ON m.member_rid = up.rid AND m.is_group = 1
			)
			SELECT EXISTS (SELECT 1 FROM up WHERE rid = ?)`, grid, mrid).Scan(&cycle)
		if err != nil {
			return err
		}
		if cycle {
			return fmt.Errorf("adding group %s to group %s would make a cycle: %w", m.Name, group, store.ErrConflict)
		}
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO members (group_rid, member_rid, is_group) VALUES (?, ?, ?)
		ON CONFLICT DO NOTHING`, grid, mrid, boolInt(m.IsGroup))
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("%s is already a member of group %s: %w", describe(m), group, store.ErrExists)
	}
	return nil
}

// CreateGroup stores a new group, assigning the RID when zero (written
// back into g). Members listed in g are added in the same transaction.
func (d *DB) CreateGroup(ctx context.Context, g *store.Group) error {
	if g.Name == "" {
		return errors.New("group: empty name")
	}
	var rid uint32
	err := d.write(ctx, func(tx *sql.Tx) error {
		var err error
		if rid, err = claimRID(ctx, tx, g.RID); err != nil {
			return fmt.Errorf("group %q: %w", g.Name, err)
		}
		if err := nameFree(ctx, tx, g.Name, 0); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO groups (rid, name, description) VALUES (?, ?, ?)`,
			rid, g.Name, g.Description); err != nil {
			return err
		}
		for _, m := range g.Members {
			if err := addMember(ctx, tx, rid, g.Name, m); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	g.RID = rid
	return nil
}

// DeleteGroup removes a group, its memberships (foreign key) and its
// membership in other groups (trigger).
func (d *DB) DeleteGroup(ctx context.Context, name string) error {
	return d.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM groups WHERE name = ?`, name)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("group %q: %w", name, store.ErrNotFound)
		}
		return nil
	})
}

// groupsWhere loads the groups matching cond (a constant SQL condition)
// by name, with their direct members by name.
func groupsWhere(ctx context.Context, tx *sql.Tx, cond string, args ...any) ([]*store.Group, error) {
	rows, err := tx.QueryContext(ctx, `SELECT rid, name, description FROM groups WHERE `+cond+` ORDER BY name`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var list []*store.Group
	byRID := map[uint32]*store.Group{}
	for rows.Next() {
		g := &store.Group{}
		if err := rows.Scan(&g.RID, &g.Name, &g.Description); err != nil {
			return nil, err
		}
		list = append(list, g)
		byRID[g.RID] = g
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(list) == 0 {
		return nil, nil
	}
	mrows, err := tx.QueryContext(ctx, `
		SELECT m.group_rid, COALESCE(a.name, g.name), m.is_group
		FROM members m
		LEFT JOIN accounts a ON m.is_group = 0 AND a.rid = m.member_rid
		LEFT JOIN groups g ON m.is_group = 1 AND g.rid = m.member_rid
		WHERE m.group_rid IN (SELECT rid FROM groups WHERE `+cond+`)
		ORDER BY 2 COLLATE NOCASE`, args...)
	if err != nil {
		return nil, err
	}
	defer mrows.Close()
	for mrows.Next() {
		var grid uint32
		var m store.Member
		if err := mrows.Scan(&grid, &m.Name, &m.IsGroup); err != nil {
			return nil, err
		}
		if g := byRID[grid]; g != nil {
			g.Members = append(g.Members, m)
		}
	}
	return list, mrows.Err()
}

// Group returns a group with its direct members, by name.
func (d *DB) Group(ctx context.Context, name string) (*store.Group, error) {
	var list []*store.Group
	err := d.read(ctx, func(tx *sql.Tx) error {
		var err error
		list, err = groupsWhere(ctx, tx, `name = ?`, name)
		return err
	})
	if err != nil {
		return nil, err
	}
	if len(list) == 0 {
		return nil, fmt.Errorf("group %q: %w", name, store.ErrNotFound)
	}
	return list[0], nil
}

// Groups lists every group with its direct members, by name.
func (d *DB) Groups(ctx context.Context) ([]*store.Group, error) {
	var list []*store.Group
	err := d.read(ctx, func(tx *sql.Tx) error {
		var err error
		list, err = groupsWhere(ctx, tx, `1 = 1`)
		return err
	})
	return list, err
}

// AddMember adds an account or group to a group. ErrNotFound if either is
// unknown, ErrExists if it is already a direct member, ErrConflict if it
// would make a cycle of nested groups.
func (d *DB) AddMember(ctx context.Context, group string, m store.Member) error {
	return d.write(ctx, func(tx *sql.Tx) error {
		grid, err := groupRID(ctx, tx, group)
		if err != nil {
			return err
		}
		return addMember(ctx, tx, grid, group, m)
	})
}

// RemoveMember removes a direct membership; ErrNotFound if absent.
func (d *DB) RemoveMember(ctx context.Context, group string, m store.Member) error {
	return d.write(ctx, func(tx *sql.Tx) error {
		grid, err := groupRID(ctx, tx, group)
		if err != nil {
			return err
		}
		mrid, err := memberRID(ctx, tx, m)
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM members WHERE group_rid = ? AND member_rid = ? AND is_group = ?`,
			grid, mrid, boolInt(m.IsGroup))
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("%s is not a member of group %s: %w", describe(m), group, store.ErrNotFound)
		}
		return nil
	})
}

// MemberOf returns every group the account is in, directly or through
// nested groups, each once, by name. The groups come without their
// Members: callers want the SIDs for a PAC, not the member lists, and
// loading them would cost a query over every membership.
func (d *DB) MemberOf(ctx context.Context, account string) ([]*store.Group, error) {
	var list []*store.Group
	err := d.read(ctx, func(tx *sql.Tx) error {
		rid, err := accountRID(ctx, tx, account)
		if err != nil {
			return err
		}
		// UNION (not UNION ALL) drops groups already reached, so the walk
		// ends even if a cycle were ever stored.
		rows, err := tx.QueryContext(ctx, `
			WITH RECURSIVE up(rid) AS (
				SELECT group_rid FROM members WHERE member_rid = ? AND is_group = 0
				UNION
				SELECT m.group_rid FROM members m JOIN up ON m.member_rid = up.rid AND m.is_group = 1
			)
			SELECT g.rid, g.name, g.description FROM groups g JOIN up ON g.rid = up.rid
			ORDER BY g.name`, rid)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			g := &store.Group{}
			if err := rows.Scan(&g.RID, &g.Name, &g.Description); err != nil {
				return err
			}
			list = append(list, g)
		}
		return rows.Err()
	})
	return list, err
}

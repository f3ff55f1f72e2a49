-- 0001: the initial account DB schema.
--
-- Names, UPNs and SPNs compare case-insensitively through COLLATE NOCASE,
-- which folds ASCII letters only. Times are Unix nanoseconds, 0 for the
-- zero time.

-- The realm record is one row that exists from the start, so the RID
-- counter lives next to it; data stays NULL until InitRealm.
CREATE TABLE realm (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    data     TEXT,              -- JSON of store.Realm
    next_rid INTEGER NOT NULL   -- next RID for an account or group
);
INSERT INTO realm (id, data, next_rid) VALUES (1, NULL, 1000);

-- Bumped in the same transaction as every change, so that caches in any
-- process using this file can tell cheaply that they are stale.
CREATE TABLE generation (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    value INTEGER NOT NULL
);
INSERT INTO generation (id, value) VALUES (1, 0);

CREATE TABLE accounts (
    rid               INTEGER PRIMARY KEY CHECK (rid BETWEEN 1 AND 4294967295),
    kind              TEXT    NOT NULL,
    name              TEXT    NOT NULL COLLATE NOCASE UNIQUE,
    upn               TEXT    COLLATE NOCASE UNIQUE,  -- NULL when unset
    display_name      TEXT    NOT NULL,
    flags             INTEGER NOT NULL,
    enctypes          TEXT,                            -- JSON array; NULL = those of the keys
    password_last_set INTEGER NOT NULL,
    password_expires  INTEGER NOT NULL,
    account_expires   INTEGER NOT NULL,
    secrets           BLOB    NOT NULL,                -- store.Sealer blob bound to rid
    bad_count         INTEGER NOT NULL,
    last_failure      INTEGER NOT NULL,
    locked_until      INTEGER NOT NULL,
    created           INTEGER NOT NULL,
    modified          INTEGER NOT NULL,
    version           INTEGER NOT NULL
);

CREATE TABLE spns (
    spn TEXT    PRIMARY KEY COLLATE NOCASE,
    rid INTEGER NOT NULL REFERENCES accounts (rid) ON DELETE CASCADE,
    pos INTEGER NOT NULL  -- keeps the account's SPNs in the order given
);
CREATE INDEX spns_rid ON spns (rid, pos);

CREATE TABLE groups (
    rid         INTEGER PRIMARY KEY CHECK (rid BETWEEN 1 AND 4294967295),
    name        TEXT    NOT NULL COLLATE NOCASE UNIQUE,
    description TEXT    NOT NULL
);

-- member_rid names an account (is_group = 0) or a group (is_group = 1);
-- SQLite has no foreign key to "one of two tables", so the triggers below
-- keep it pointing at a row.
CREATE TABLE members (
    group_rid  INTEGER NOT NULL REFERENCES groups (rid) ON DELETE CASCADE,
    member_rid INTEGER NOT NULL,
    is_group   INTEGER NOT NULL CHECK (is_group IN (0, 1)),
    PRIMARY KEY (group_rid, member_rid, is_group)
) WITHOUT ROWID;
CREATE INDEX members_member ON members (member_rid, is_group);

CREATE TRIGGER accounts_delete_memberships AFTER DELETE ON accounts
BEGIN
    DELETE FROM members WHERE member_rid = OLD.rid AND is_group = 0;
END;

CREATE TRIGGER groups_delete_memberships AFTER DELETE ON groups
BEGIN
    DELETE FROM members WHERE member_rid = OLD.rid AND is_group = 1;
END;

CREATE TRIGGER members_member_exists BEFORE INSERT ON members
WHEN (NEW.is_group = 0 AND NOT EXISTS (SELECT 1 FROM accounts WHERE rid = NEW.member_rid))
  OR (NEW.is_group = 1 AND NOT EXISTS (SELECT 1 FROM groups WHERE rid = NEW.member_rid))
BEGIN
    SELECT RAISE(ABORT, 'member does not exist');
END;

-- Accounts and groups share one namespace of names and of RIDs (a SID
-- names either). The Go code checks first to give a precise error; these
-- triggers are the backstop.
CREATE TRIGGER accounts_insert_shared BEFORE INSERT ON accounts
WHEN EXISTS (SELECT 1 FROM groups WHERE name = NEW.name OR rid = NEW.rid)
BEGIN
    SELECT RAISE(ABORT, 'name or RID already used by a group');
END;

CREATE TRIGGER accounts_update_shared BEFORE UPDATE OF name, rid ON accounts
WHEN EXISTS (SELECT 1 FROM groups WHERE name = NEW.name OR rid = NEW.rid)
BEGIN
    SELECT RAISE(ABORT, 'name or RID already used by a group');
END;

CREATE TRIGGER groups_insert_shared BEFORE INSERT ON groups
WHEN EXISTS (SELECT 1 FROM accounts WHERE name = NEW.name OR rid = NEW.rid)
BEGIN
    SELECT RAISE(ABORT, 'name or RID already used by an account');
END;

CREATE TABLE claim_types (
    id           TEXT    PRIMARY KEY,  -- exact match: "ad://ext/department"
    value_type   TEXT    NOT NULL,
    applies_to   TEXT    NOT NULL,     -- JSON array of kinds
    description  TEXT    NOT NULL,
    auto_defined INTEGER NOT NULL
);

CREATE TABLE claims (
    rid          INTEGER NOT NULL REFERENCES accounts (rid) ON DELETE CASCADE,
    id           TEXT    NOT NULL REFERENCES claim_types (id) ON DELETE CASCADE,
    claim_values TEXT    NOT NULL,     -- JSON array of strings
    PRIMARY KEY (rid, id)
) WITHOUT ROWID;

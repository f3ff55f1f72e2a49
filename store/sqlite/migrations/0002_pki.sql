-- 0002: the realm PKI: the CA, the certificates it issued, and explicit
-- certificate-to-account bindings. Times are Unix nanoseconds, 0 for the
-- zero time.

-- One CA per realm; its key is a store.Sealer blob bound to the
-- certificate's SHA-256 (SealBlob label "ca-key:<hex>").
CREATE TABLE pki_ca (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    cert     BLOB    NOT NULL,
    key      BLOB    NOT NULL,
    created  INTEGER NOT NULL
);

-- account is NULL for server and responder certificates. The rows stay
-- when the account is deleted (the CRL must still list revocations), so
-- account is a name, not a foreign key.
CREATE TABLE pki_certs (
    serial     TEXT    PRIMARY KEY,           -- lower-case hex
    kind       TEXT    NOT NULL,
    account    TEXT    COLLATE NOCASE,
    subject    TEXT    NOT NULL,
    dns_names  TEXT    NOT NULL,              -- JSON array
    not_before INTEGER NOT NULL,
    not_after  INTEGER NOT NULL,
    revoked    INTEGER NOT NULL,              -- 0 while valid
    reason     INTEGER NOT NULL,
    der        BLOB    NOT NULL,
    created    INTEGER NOT NULL
);
CREATE INDEX pki_certs_account ON pki_certs (account, not_before);
CREATE INDEX pki_certs_revoked ON pki_certs (revoked) WHERE revoked <> 0;

CREATE TABLE pki_bindings (
    issuer  TEXT    NOT NULL,
    serial  TEXT    NOT NULL,
    rid     INTEGER NOT NULL REFERENCES accounts (rid) ON DELETE CASCADE,
    created INTEGER NOT NULL,
    PRIMARY KEY (issuer, serial)
) WITHOUT ROWID;
CREATE INDEX pki_bindings_rid ON pki_bindings (rid);

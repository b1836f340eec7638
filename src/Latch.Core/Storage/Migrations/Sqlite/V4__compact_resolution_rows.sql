-- Latch schema 4 (SQLite only): the secret.resolved events of one resolution share one row. See
-- docs/DECISIONS.md ("Performance") and Storage/CompactResolutions.cs.
--
-- A compact row leaves secret_key, version and path empty and holds its events' own facts in refs, a JSON array of
-- [id, secret, version, path], and their number in ref_count. Its seq is its first event's sequence number; the next
-- row starts after its last (seq + ref_count - 1). prev_hash is the chain's hash before its first event, hash after
-- its last. Rows written before this schema are plain rows (refs and ref_count NULL) and stay as they are.
ALTER TABLE audit_events ADD COLUMN refs TEXT NULL;
ALTER TABLE audit_events ADD COLUMN ref_count INTEGER NULL CHECK (ref_count IS NULL OR ref_count >= 2);

-- Which secrets a compact row resolved, and how many times: the secret filter of GET /v1/audit and a secret's recent
-- uses read this instead of scanning refs. Plain rows are found by ix_audit_secret as before.
CREATE TABLE audit_secret_uses (
    workspace_id TEXT    NOT NULL,
    secret_key   TEXT    NOT NULL,
    seq          INTEGER NOT NULL, -- audit_events.seq of the compact row (written in its transaction)
    uses         INTEGER NOT NULL CHECK (uses >= 1),
    PRIMARY KEY (workspace_id, secret_key, seq)
) WITHOUT ROWID;

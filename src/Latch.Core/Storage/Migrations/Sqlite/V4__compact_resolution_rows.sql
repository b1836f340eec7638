-- Latch schema 4 (SQLite only): the secret.resolved events of one resolution share one row. See
-- docs/DECISIONS.md ("Performance") and Storage/CompactResolutions.cs.
--
-- A compact row leaves secret_key, version and path empty and holds its events' own facts in refs, a JSON array of
-- [id, secret, version, path], and their number in ref_count. Its seq is its first event's sequence number; the next
-- row starts after its last (seq + ref_count - 1). prev_hash is the chain's hash before its first event, hash after
-- its last. Rows written before this schema are plain rows (refs and ref_count NULL) and stay as they are.
ALTER TABLE audit_events ADD COLUMN refs TEXT NULL;
ALTER TABLE audit_events ADD COLUMN ref_count INTEGER NULL CHECK (ref_count IS NULL OR ref_count >= 2);

-- Where a secret's compact rows are, for the secret filter of GET /v1/audit and a secret's recent uses: per audit
-- commit (a group commit holds many resolutions) and secret, the first and last seq of the compact rows that name it.
-- Rows in between may not name it; readers check refs. One row per secret per commit, not per resolution: a per-row
-- index cost more than the rows themselves.
CREATE TABLE audit_secret_ranges (
    workspace_id TEXT    NOT NULL,
    secret_key   TEXT    NOT NULL,
    last_seq     INTEGER NOT NULL,
    first_seq    INTEGER NOT NULL CHECK (first_seq <= last_seq),
    PRIMARY KEY (workspace_id, secret_key, last_seq)
) WITHOUT ROWID;

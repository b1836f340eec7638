-- Latch schema 4 (SQLite only): the secret.resolved events of one resolution share one row. See
-- docs/DECISIONS.md ("Performance") and Storage/CompactResolutions.cs.
--
-- A compact row leaves secret_key, version and path empty and holds its events' own facts in refs, a JSON array of
-- [id, secret, version, path], and their number in ref_count. Its seq is its first event's sequence number; the next
-- row starts after its last (seq + ref_count - 1). prev_hash is the chain's hash before its first event, hash after
-- its last. Rows written before this schema are plain rows (refs and ref_count NULL) and stay as they are.
ALTER TABLE audit_events ADD COLUMN refs TEXT NULL;
ALTER TABLE audit_events ADD COLUMN ref_count INTEGER NULL CHECK (ref_count IS NULL OR ref_count >= 2);

-- Where a secret's compact rows are: per audit commit (a group commit holds many resolutions) and secret, the first
-- and last seq of the compact rows that name it. Rows in between may not name it; readers check refs. One row per
-- secret per commit, not per resolution: a per-row index cost more than the rows themselves.
CREATE TABLE audit_secret_ranges (
    workspace_id TEXT    NOT NULL,
    secret_key   TEXT    NOT NULL,
    last_seq     INTEGER NOT NULL,
    first_seq    INTEGER NOT NULL CHECK (first_seq <= last_seq),
    PRIMARY KEY (workspace_id, secret_key, last_seq)
) WITHOUT ROWID;

-- A secret's recent uses (GET /v1/secrets/{key}/usage, the Workbench): resolution events counted per product, app,
-- environment and context as they are written, instead of counting the log on every read. '' stands for none (tags
-- and contexts are never empty).
CREATE TABLE audit_secret_usage (
    workspace_id TEXT    NOT NULL,
    secret_key   TEXT    NOT NULL,
    product      TEXT    NOT NULL,
    app          TEXT    NOT NULL,
    env          TEXT    NOT NULL,
    context      TEXT    NOT NULL,
    uses         INTEGER NOT NULL CHECK (uses >= 1),
    last_at      TEXT    NOT NULL,
    PRIMARY KEY (workspace_id, secret_key, product, app, env, context)
) WITHOUT ROWID;

INSERT INTO audit_secret_usage(workspace_id, secret_key, product, app, env, context, uses, last_at)
SELECT workspace_id, secret_key, coalesce(product, ''), coalesce(app, ''), coalesce(env, ''), coalesce(context, ''), count(*), max(at)
FROM audit_events WHERE action = 'secret.resolved' AND secret_key IS NOT NULL
GROUP BY workspace_id, secret_key, coalesce(product, ''), coalesce(app, ''), coalesce(env, ''), coalesce(context, '');

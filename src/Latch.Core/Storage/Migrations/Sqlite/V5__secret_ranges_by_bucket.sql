-- Latch schema 5 (SQLite only): audit_secret_ranges is kept per bucket of 4,096 sequence numbers instead of per commit.
-- See docs/DECISIONS.md ("Performance") and SqliteStore.AppendAsync.
--
-- Schema 4 keyed ranges by (workspace, secret, last_seq): each group commit appended one row per secret it resolved at the
-- end of that secret's run of rows, so a commit resolving 20 secrets dirtied ~20 scattered pages — most of the pages,
-- and of the write-ahead-log writes, of a 20-reference resolution. Now the key leads with the bucket (seq / 4096): the
-- rows of one bucket lie together, a commit updates last_seq of its secrets' rows there (a page or two), and the index by
-- secret, which holds no seq, changes only when a secret first appears in a bucket. It is UNIQUE (it is the primary key
-- reordered) so that SQLite knows one bucket is one row and reads a secret's ranges, and the rows in them, without sorting.
--
-- A row still says: the compact rows naming this secret lie between first_seq and last_seq (inclusive); rows in between
-- may not name it (readers check refs). A secret's rows stay disjoint and in bucket order: the writer assigns a compact
-- row to the bucket of its own seq, and the rows carried over from schema 4 are grouped by the bucket of their first
-- seq — consecutive disjoint ranges, so their hulls are disjoint too, and every later row lies after all of them.
CREATE TABLE audit_secret_ranges_v5 (
    workspace_id TEXT    NOT NULL,
    bucket       INTEGER NOT NULL,
    secret_key   TEXT    NOT NULL,
    first_seq    INTEGER NOT NULL,
    last_seq     INTEGER NOT NULL CHECK (first_seq <= last_seq),
    PRIMARY KEY (workspace_id, bucket, secret_key)
) WITHOUT ROWID;

INSERT INTO audit_secret_ranges_v5(workspace_id, bucket, secret_key, first_seq, last_seq)
SELECT workspace_id, first_seq / 4096, secret_key, min(first_seq), max(last_seq)
FROM audit_secret_ranges
GROUP BY workspace_id, first_seq / 4096, secret_key;

DROP TABLE audit_secret_ranges;
ALTER TABLE audit_secret_ranges_v5 RENAME TO audit_secret_ranges;
CREATE UNIQUE INDEX ix_audit_secret_ranges_secret ON audit_secret_ranges(workspace_id, secret_key, bucket);

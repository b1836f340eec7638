-- Latch schema 5 (SQLite only): audit_secret_ranges grouped by bucket of 4,096 sequence numbers instead of per commit.
-- See docs/DECISIONS.md ("Performance") and SqliteStore.AppendAsync. 4096 is SqliteStore.RangeBucketSize: the two must
-- agree, and changing it would need a migration that rebuilds this table.
--
-- Schema 4 keyed ranges by (workspace, secret, last_seq): each group commit appended one row per secret it resolved at the
-- end of that secret's run of rows, so a commit resolving 20 secrets dirtied ~20 scattered pages — most of the pages,
-- and of the write-ahead-log writes, of a 20-reference resolution. Now the key leads with the bucket (seq / 4096): the
-- rows of one bucket lie together, and a commit mostly extends (last_seq) its secrets' latest ranges there — a page or
-- two. The index by secret, which holds no last_seq, changes only when a range starts. It is UNIQUE (it is the primary
-- key reordered) so that SQLite knows a secret's ranges are in (bucket, first_seq) order and reads them, and the rows in
-- them, without sorting.
--
-- A row says: the compact rows naming this secret within this bucket lie between first_seq and last_seq (inclusive),
-- both in the bucket; rows in between may not name it (readers check refs). The writer starts a new range when the gap
-- since the secret's last use exceeds SqliteStore.RangeGap, so a reader checks few rows that do not name the secret.
-- A secret's ranges are disjoint and in (bucket, first_seq) order, and each lies inside its bucket, so readers can bound
-- the bucket from a cursor.
--
-- The ranges are rebuilt from the compact rows themselves (one per secret and bucket), which makes every range lie inside
-- its bucket — schema 4's per-commit ranges could cross a bucket's end. A row whose refs are not valid JSON (damaged) is
-- not indexed; it is still read in full listings and reported by verification.
CREATE TABLE audit_secret_ranges_v5 (
    workspace_id TEXT    NOT NULL,
    bucket       INTEGER NOT NULL,
    secret_key   TEXT    NOT NULL,
    first_seq    INTEGER NOT NULL,
    last_seq     INTEGER NOT NULL CHECK (first_seq <= last_seq),
    PRIMARY KEY (workspace_id, bucket, secret_key, first_seq)
) WITHOUT ROWID;

INSERT INTO audit_secret_ranges_v5(workspace_id, bucket, secret_key, first_seq, last_seq)
SELECT a.workspace_id, a.seq / 4096, json_extract(r.value, '$[1]'), min(a.seq), max(a.seq)
FROM audit_events a, json_each(CASE WHEN json_valid(a.refs) THEN a.refs ELSE '[]' END) r
WHERE a.ref_count IS NOT NULL AND json_type(r.value, '$[1]') = 'text'
GROUP BY a.workspace_id, a.seq / 4096, json_extract(r.value, '$[1]');

DROP TABLE audit_secret_ranges;
ALTER TABLE audit_secret_ranges_v5 RENAME TO audit_secret_ranges;
CREATE UNIQUE INDEX ix_audit_secret_ranges_secret ON audit_secret_ranges(workspace_id, secret_key, bucket, first_seq);

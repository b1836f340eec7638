-- Latch schema 3: data-key generations (a data key is retired before 2^32 AES-GCM encryptions, NIST SP 800-38D
-- §8.3 for random 96-bit nonces) and webhook replay protection by delivery id. See docs/DECISIONS.md.

-- Every data key of a workspace. The newest generation whose retired_at is null seals new values; every
-- generation keeps opening the values it sealed. encryptions_reserved counts encryptions handed out in blocks
-- (a server reserves a block here, then counts in memory), so it only ever over-estimates real usage.
CREATE TABLE data_keys (
    workspace_id         TEXT    NOT NULL REFERENCES workspaces(id),
    generation           INTEGER NOT NULL CHECK (generation >= 1),
    wrapped_key          BLOB    NOT NULL,
    encryptions_reserved INTEGER NOT NULL DEFAULT 0 CHECK (encryptions_reserved >= 0),
    created_at           TEXT    NOT NULL,
    retired_at           TEXT    NULL,
    PRIMARY KEY (workspace_id, generation)
) WITHOUT ROWID;

-- The existing key of each workspace becomes its generation 1. How many encryptions it made is not known (failed
-- attempts were never recorded), so it is retired now, with the best lower estimate kept for information: every
-- stored version plus every audited change that may have sealed a value. The first value sealed after this
-- migration creates generation 2; generation 1 keeps opening every existing value.
INSERT INTO data_keys(workspace_id, generation, wrapped_key, encryptions_reserved, created_at, retired_at)
SELECT w.id, 1, w.wrapped_key,
       (SELECT count(*) FROM secret_versions v WHERE v.workspace_id = w.id)
     + (SELECT count(*) FROM audit_events a WHERE a.workspace_id = w.id
          AND a.action IN ('secret.created', 'secret.updated', 'secret.rolled_back')),
       w.created_at, strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
FROM workspaces w;

-- No stale copy of a wrapped key may stay behind (a master-key rotation re-wraps data_keys only).
ALTER TABLE workspaces DROP COLUMN wrapped_key;

-- The generation whose key sealed each version (every existing value was sealed by generation 1).
ALTER TABLE secret_versions ADD COLUMN key_generation INTEGER NOT NULL DEFAULT 1;

-- Delivery ids of accepted webhook deliveries, kept for a bounded retention (WebhookService.ReplayRetention),
-- pruned as deliveries arrive. delivery_key is the hex SHA-256 of "<kind>:<id>" (fixed size whatever the sender
-- sends). The primary key is the replay guard: a second delivery with a recorded key is refused.
CREATE TABLE webhook_delivery_ids (
    workspace_id TEXT NOT NULL,
    product      TEXT NOT NULL,
    webhook      TEXT NOT NULL,
    delivery_key TEXT NOT NULL,
    received_at  TEXT NOT NULL,
    PRIMARY KEY (workspace_id, product, webhook, delivery_key)
) WITHOUT ROWID;
CREATE INDEX ix_webhook_delivery_ids_age ON webhook_delivery_ids(workspace_id, product, webhook, received_at);

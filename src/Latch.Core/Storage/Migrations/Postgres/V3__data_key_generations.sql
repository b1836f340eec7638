-- Latch schema 3 (PostgreSQL): data-key generations and webhook replay protection by delivery id.
-- Same meaning as Migrations/Sqlite/V3__data_key_generations.sql (read it for the why); conventions as in V1
-- (times are bigint ticks: 100 ns since 1970-01-01 UTC).
CREATE TABLE data_keys (
    workspace_id         text COLLATE "C" NOT NULL REFERENCES workspaces(id),
    generation           integer NOT NULL CHECK (generation >= 1),
    wrapped_key          bytea   NOT NULL,
    encryptions_reserved bigint  NOT NULL DEFAULT 0 CHECK (encryptions_reserved >= 0),
    created_at           bigint  NOT NULL,
    retired_at           bigint  NULL,
    PRIMARY KEY (workspace_id, generation)
);

-- The existing key of each workspace becomes its generation 1, retired now (see the SQLite migration).
INSERT INTO data_keys(workspace_id, generation, wrapped_key, encryptions_reserved, created_at, retired_at)
SELECT w.id, 1, w.wrapped_key,
       (SELECT count(*) FROM secret_versions v WHERE v.workspace_id = w.id)
     + (SELECT count(*) FROM audit_events a WHERE a.workspace_id = w.id
          AND a.action IN ('secret.created', 'secret.updated', 'secret.rolled_back')),
       w.created_at, (extract(epoch FROM clock_timestamp()) * 10000000)::bigint
FROM workspaces w;

-- No stale copy of a wrapped key may stay behind (a master-key rotation re-wraps data_keys only).
ALTER TABLE workspaces DROP COLUMN wrapped_key;

-- The generation whose key sealed each version (every existing value was sealed by generation 1).
ALTER TABLE secret_versions ADD COLUMN key_generation integer NOT NULL DEFAULT 1;

-- Delivery ids of accepted webhook deliveries, kept for a bounded retention; the primary key is the replay guard.
CREATE TABLE webhook_delivery_ids (
    workspace_id text COLLATE "C" NOT NULL,
    product      text COLLATE "C" NOT NULL,
    webhook      text COLLATE "C" NOT NULL,
    delivery_key text COLLATE "C" NOT NULL,
    received_at  bigint NOT NULL,
    PRIMARY KEY (workspace_id, product, webhook, delivery_key)
);
CREATE INDEX ix_webhook_delivery_ids_age ON webhook_delivery_ids(workspace_id, product, webhook, received_at);

-- Latch schema 2 (PostgreSQL): runtime configuration (apps, products, product apps, webhooks) and webhook
-- deliveries. Same meaning as Migrations/Sqlite/V2__runtime.sql; conventions as in V1 (times are bigint ticks).
-- Bodies and headers stay text (not jsonb) so they come back byte for byte as stored.
CREATE TABLE configs (
    workspace_id text COLLATE "C" NOT NULL REFERENCES workspaces(id),
    kind         text COLLATE "C" NOT NULL,             -- app | product | product_app | webhook
    parent       text COLLATE "C" NOT NULL DEFAULT '',  -- product tag for product_app and webhook, '' otherwise
    name         text COLLATE "C" NOT NULL,             -- access tag, product tag or webhook tag
    body         text NOT NULL,
    created_at   bigint NOT NULL,
    updated_at   bigint NOT NULL,
    PRIMARY KEY (workspace_id, kind, parent, name)
);

CREATE TABLE webhook_deliveries (
    seq          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id           text COLLATE "C" NOT NULL UNIQUE,
    workspace_id text COLLATE "C" NOT NULL,
    product      text COLLATE "C" NOT NULL,
    webhook      text COLLATE "C" NOT NULL,
    env          text NOT NULL,
    received_at  bigint NOT NULL,
    headers      text NOT NULL,
    body         bytea NOT NULL
);
CREATE INDEX ix_deliveries ON webhook_deliveries(workspace_id, product, webhook, seq);

CREATE TABLE webhook_rejections (
    workspace_id text COLLATE "C" NOT NULL,
    product      text COLLATE "C" NOT NULL,
    webhook      text COLLATE "C" NOT NULL,
    count        bigint NOT NULL,
    last_at      bigint NOT NULL,
    last_reason  text NOT NULL,
    PRIMARY KEY (workspace_id, product, webhook)
);

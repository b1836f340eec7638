-- Latch schema 2: runtime configuration (apps, products, product apps, webhooks) and webhook deliveries.
-- Configurations are validated JSON documents; references inside them stay unresolved ($Token{KEY}),
-- so a rotation takes effect at the next use.
CREATE TABLE configs (
    workspace_id TEXT NOT NULL REFERENCES workspaces(id),
    kind         TEXT NOT NULL,            -- app | product | product_app | webhook
    parent       TEXT NOT NULL DEFAULT '', -- product tag for product_app and webhook, '' otherwise
    name         TEXT NOT NULL,            -- access tag, product tag or webhook tag
    body         TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    PRIMARY KEY (workspace_id, kind, parent, name)
) WITHOUT ROWID;

CREATE TABLE webhook_deliveries (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    id           TEXT NOT NULL UNIQUE,
    workspace_id TEXT NOT NULL,
    product      TEXT NOT NULL,
    webhook      TEXT NOT NULL,
    env          TEXT NOT NULL,
    received_at  TEXT NOT NULL,
    headers      TEXT NOT NULL,
    body         BLOB NOT NULL
);
CREATE INDEX ix_deliveries ON webhook_deliveries(workspace_id, product, webhook, seq);

CREATE TABLE webhook_rejections (
    workspace_id TEXT NOT NULL,
    product      TEXT NOT NULL,
    webhook      TEXT NOT NULL,
    count        INTEGER NOT NULL,
    last_at      TEXT NOT NULL,
    last_reason  TEXT NOT NULL,
    PRIMARY KEY (workspace_id, product, webhook)
) WITHOUT ROWID;

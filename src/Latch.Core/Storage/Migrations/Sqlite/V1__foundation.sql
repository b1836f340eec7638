-- Latch schema 1: workspaces, data keys, API keys, secrets with versions, audit log.
CREATE TABLE store_meta (
    name  TEXT PRIMARY KEY,
    value BLOB NOT NULL
);

CREATE TABLE workspaces (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    wrapped_key BLOB NOT NULL,
    created_at  TEXT NOT NULL
);

CREATE TABLE api_keys (
    id           TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id),
    name         TEXT NOT NULL,
    role         TEXT NOT NULL,
    apps         TEXT NOT NULL,
    envs         TEXT NOT NULL,
    expires_at   INTEGER NULL,
    key_hash     BLOB NOT NULL UNIQUE,
    is_bootstrap INTEGER NOT NULL DEFAULT 0,
    created_at   TEXT NOT NULL,
    revoked_at   TEXT NULL
);
CREATE INDEX ix_api_keys_workspace ON api_keys(workspace_id);

CREATE TABLE secrets (
    workspace_id    TEXT NOT NULL REFERENCES workspaces(id),
    secret_key      TEXT NOT NULL,
    description     TEXT NULL,
    token_type      TEXT NULL,
    scope           TEXT NOT NULL,
    envs            TEXT NOT NULL,
    expires_at      INTEGER NULL,
    revoked         INTEGER NOT NULL DEFAULT 0,
    current_version INTEGER NOT NULL,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    last_used_at    TEXT NULL,
    PRIMARY KEY (workspace_id, secret_key)
) WITHOUT ROWID;
CREATE INDEX ix_secrets_expiry ON secrets(workspace_id, expires_at);

CREATE TABLE secret_versions (
    workspace_id TEXT NOT NULL,
    secret_key   TEXT NOT NULL,
    version      INTEGER NOT NULL,
    sealed_value BLOB NOT NULL,
    created_at   TEXT NOT NULL,
    created_by   TEXT NULL,
    PRIMARY KEY (workspace_id, secret_key, version),
    FOREIGN KEY (workspace_id, secret_key) REFERENCES secrets(workspace_id, secret_key) ON DELETE CASCADE
) WITHOUT ROWID;

CREATE TABLE audit_events (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    id           TEXT NOT NULL UNIQUE,
    workspace_id TEXT NOT NULL,
    at           TEXT NOT NULL,
    action       TEXT NOT NULL,
    actor_key_id TEXT NULL,
    actor_name   TEXT NULL,
    request_id   TEXT NULL,
    client       TEXT NULL,
    secret_key   TEXT NULL,
    version      INTEGER NULL,
    product      TEXT NULL,
    app          TEXT NULL,
    env          TEXT NULL,
    context      TEXT NULL,
    path         TEXT NULL,
    code         TEXT NULL,
    detail       TEXT NULL,
    prev_hash    TEXT NOT NULL,
    hash         TEXT NOT NULL
);
CREATE INDEX ix_audit_workspace ON audit_events(workspace_id, seq);
CREATE INDEX ix_audit_secret ON audit_events(workspace_id, secret_key, seq);

-- Latch schema 1 (PostgreSQL): workspaces, data keys, API keys, secrets with versions, audit log.
-- Same numbering and meaning as Migrations/Sqlite/V1__foundation.sql. Column conventions:
--   * times are bigint: 100-nanosecond ticks since 1970-01-01 UTC (read as a timestamp with
--     to_timestamp(col / 1e7)). timestamptz keeps microseconds only, and the audit chain hashes the
--     full .NET precision, so a rounded time would break the chain; both stores return identical models.
--   * identifiers, keys and names use COLLATE "C": ordering and cursors compare code points (SQLite's
--     binary order), and lower() folds ASCII only, as SQLite's does.
--   * lists (scope, envs, apps) are text[]; blobs are bytea; flags are boolean.
CREATE TABLE store_meta (
    name  text COLLATE "C" PRIMARY KEY,
    value bytea NOT NULL
);

CREATE TABLE workspaces (
    id          text COLLATE "C" PRIMARY KEY,
    name        text COLLATE "C" NOT NULL UNIQUE,
    wrapped_key bytea NOT NULL,
    created_at  bigint NOT NULL
);

CREATE TABLE api_keys (
    id           text COLLATE "C" PRIMARY KEY,
    workspace_id text COLLATE "C" NOT NULL REFERENCES workspaces(id),
    name         text NOT NULL,
    role         text NOT NULL,
    apps         text[] NOT NULL,
    envs         text[] NOT NULL,
    expires_at   bigint NULL,
    key_hash     bytea NOT NULL UNIQUE,
    is_bootstrap boolean NOT NULL DEFAULT false,
    created_at   bigint NOT NULL,
    revoked_at   bigint NULL
);
CREATE INDEX ix_api_keys_workspace ON api_keys(workspace_id);

CREATE TABLE secrets (
    workspace_id    text COLLATE "C" NOT NULL REFERENCES workspaces(id),
    secret_key      text COLLATE "C" NOT NULL,
    description     text COLLATE "C" NULL,
    token_type      text NULL,
    scope           text[] NOT NULL,
    envs            text[] NOT NULL,
    expires_at      bigint NULL,
    revoked         boolean NOT NULL DEFAULT false,
    current_version integer NOT NULL,
    created_at      bigint NOT NULL,
    updated_at      bigint NOT NULL,
    last_used_at    bigint NULL,
    PRIMARY KEY (workspace_id, secret_key)
);
CREATE INDEX ix_secrets_expiry ON secrets(workspace_id, expires_at);

CREATE TABLE secret_versions (
    workspace_id text COLLATE "C" NOT NULL,
    secret_key   text COLLATE "C" NOT NULL,
    version      integer NOT NULL,
    sealed_value bytea NOT NULL,
    created_at   bigint NOT NULL,
    created_by   text NULL,
    PRIMARY KEY (workspace_id, secret_key, version),
    FOREIGN KEY (workspace_id, secret_key) REFERENCES secrets(workspace_id, secret_key) ON DELETE CASCADE
);

-- seq is commit order within a workspace: appends to one workspace's chain are serialised (an advisory lock per
-- workspace, see PostgresStore), and each takes its seq values while holding that lock.
CREATE TABLE audit_events (
    seq          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id           text COLLATE "C" NOT NULL UNIQUE,
    workspace_id text COLLATE "C" NOT NULL,
    at           bigint NOT NULL,
    action       text COLLATE "C" NOT NULL,
    actor_key_id text NULL,
    actor_name   text NULL,
    request_id   text NULL,
    client       text NULL,
    secret_key   text COLLATE "C" NULL,
    version      integer NULL,
    product      text COLLATE "C" NULL,
    app          text COLLATE "C" NULL,
    env          text COLLATE "C" NULL,
    context      text COLLATE "C" NULL,
    path         text NULL,
    code         text NULL,
    detail       text NULL,
    prev_hash    text NOT NULL,
    hash         text NOT NULL
);
CREATE INDEX ix_audit_workspace ON audit_events(workspace_id, seq);
CREATE INDEX ix_audit_secret ON audit_events(workspace_id, secret_key, seq);

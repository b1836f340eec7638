using System.Data;
using System.Data.Common;
using System.Globalization;
using System.Reflection;
using System.Text.Json;
using Dapper;
using Microsoft.Data.Sqlite;

namespace Latch.Core.Storage.Sqlite;

/// <summary>
/// The embedded store: one SQLite file in WAL mode with <c>synchronous=FULL</c>, so a transaction is on
/// disk before its call returns (and so before the API acknowledges it). Writes are serialised in-process;
/// reads run concurrently on pooled connections.
/// </summary>
public sealed class SqliteStore : ILatchStore
{
    /// <summary>File name of the database inside the data directory.</summary>
    public const string FileName = "latch.db";

    private readonly string _connectionString;
    private readonly SemaphoreSlim _writeLock = new(1, 1);

    private readonly bool _readOnly;
    private readonly string? _temporaryCopy;

    /// <summary>SQLite's own default: a committing connection checkpoints once the log holds this many pages.</summary>
    private const int DefaultAutoCheckpointPages = 1000;

    /// <summary>
    /// With background checkpoints running, a committing connection checkpoints only past this many pages (64 MiB
    /// at 4 KiB pages): a safety net for when the background checkpointer cannot keep up.
    /// </summary>
    private const int SafetyNetAutoCheckpointPages = 16_384;

    /// <summary>After a checkpoint, the write-ahead log file is truncated back to at most this many bytes.</summary>
    private const long JournalSizeLimitBytes = 64L * 1024 * 1024;

    private int _autoCheckpointPages = DefaultAutoCheckpointPages;
    private CancellationTokenSource? _checkpointStop;
    private Task? _checkpointLoop;
    private long _backgroundCheckpoints;

    /// <summary>The audit writer's connection between group commits (guarded by the write lock).</summary>
    private AuditSession? _auditSession;

    private SqliteStore(string connectionString, bool readOnly, string? temporaryCopy)
    {
        _connectionString = connectionString;
        _readOnly = readOnly;
        _temporaryCopy = temporaryCopy;
    }

    /// <summary>Path of the database file for a data directory.</summary>
    public static string DatabasePath(string dataDirectory) => Path.Combine(dataDirectory, FileName);

    /// <summary>Opens the store without touching its schema (use <see cref="MigrateAsync"/> after any checks).</summary>
    public static SqliteStore Open(string dataDirectory)
    {
        Directory.CreateDirectory(dataDirectory);
        return new SqliteStore(ConnectionString(DatabasePath(dataDirectory), SqliteOpenMode.ReadWriteCreate), readOnly: false, null);
    }

    /// <summary>
    /// Opens an existing store for start-up checks without changing a byte of its files: the database is read as
    /// immutable (no locks, no -wal/-shm created); when a write-ahead log is pending (after a crash, or while another
    /// process runs), both files are copied to a private temporary directory and read there, so the check sees every
    /// committed transaction and the originals are untouched. The copy is deleted on dispose.
    /// </summary>
    public static SqliteStore OpenForInspection(string dataDirectory)
    {
        var database = DatabasePath(dataDirectory);
        var wal = database + "-wal";
        if (!File.Exists(wal) || new FileInfo(wal).Length == 0)
        {
            var uri = "file:" + Uri.EscapeDataString(database).Replace("%2F", "/", StringComparison.Ordinal) + "?immutable=1";
            return new SqliteStore(ConnectionString(uri, SqliteOpenMode.ReadOnly), readOnly: true, null);
        }

        var copy = Path.Combine(Path.GetTempPath(), "latch-inspect-" + Guid.NewGuid().ToString("N"));
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(copy);
        }
        else
        {
            Directory.CreateDirectory(copy, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }

        File.Copy(database, Path.Combine(copy, FileName));
        File.Copy(wal, Path.Combine(copy, FileName + "-wal"));
        return new SqliteStore(ConnectionString(Path.Combine(copy, FileName), SqliteOpenMode.ReadWrite), readOnly: true, copy);
    }

    private static string ConnectionString(string dataSource, SqliteOpenMode mode) => new SqliteConnectionStringBuilder
    {
        DataSource = dataSource,
        Mode = mode,
        Cache = SqliteCacheMode.Private,
        Pooling = true,
        DefaultTimeout = 30,
    }.ToString();

    /// <summary>Whether the schema has been created (a store exists in this file).</summary>
    public async Task<bool> HasSchemaAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken);
        var count = await connection.ExecuteScalarAsync<long>(new CommandDefinition(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'store_meta'", cancellationToken: cancellationToken));
        return count > 0;
    }

    /// <summary>Applies the numbered migrations (Storage/Migrations/Sqlite/V{n}__*.sql).</summary>
    public async Task MigrateAsync(Action<string>? log, CancellationToken cancellationToken)
    {
        await _writeLock.WaitAsync(cancellationToken);
        try
        {
            ForgetLastUseStamps();
            await using var connection = await OpenConnectionAsync(cancellationToken);
            var evolve = new EvolveDb.Evolve(connection, msg => log?.Invoke(msg))
            {
                EmbeddedResourceAssemblies = [typeof(SqliteStore).Assembly],
                EmbeddedResourceFilters = ["Latch.Core.Storage.Migrations.Sqlite."],
                IsEraseDisabled = true,
                MetadataTableName = "schema_migrations",
                EnableClusterMode = false,
            };
            evolve.Migrate();
        }
        finally
        {
            _writeLock.Release();
        }
    }

    private async Task<SqliteConnection> OpenConnectionAsync(CancellationToken cancellationToken, bool forWrite = true, bool pooled = true)
    {
        // The audit session's connection is not pooled: it lives as long as the session, and when a failure drops the
        // session its handle is closed rather than handed to the next caller in whatever state the failure left.
        var connection = new SqliteConnection(pooled ? _connectionString : new SqliteConnectionStringBuilder(_connectionString) { Pooling = false }.ToString());
        await connection.OpenAsync(cancellationToken);
        if (_readOnly)
        {
            await connection.ExecuteAsync(new CommandDefinition("PRAGMA query_only=ON; PRAGMA busy_timeout=30000;", cancellationToken: cancellationToken));
        }
        else if (forWrite)
        {
            // WAL is persistent in the file; synchronous and foreign keys are per connection and matter for writes only.
            // Reads skip the PRAGMAs: they are on every hot path (authentication, policies, values), and
            // Microsoft.Data.Sqlite already retries a busy database up to the command timeout.
            await connection.ExecuteAsync(new CommandDefinition(
                string.Create(CultureInfo.InvariantCulture,
                    $"PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; PRAGMA busy_timeout=30000; PRAGMA wal_autocheckpoint={Volatile.Read(ref _autoCheckpointPages)}; PRAGMA journal_size_limit={JournalSizeLimitBytes};"),
                cancellationToken: cancellationToken));
        }

        return connection;
    }

    /// <summary>
    /// Moves write-ahead-log checkpoints off the commit path (for a serving process): a background task runs a
    /// <c>PASSIVE</c> checkpoint every <paramref name="interval"/> (it never blocks a writer or a reader), and committing
    /// connections checkpoint themselves only past <see cref="SafetyNetAutoCheckpointPages"/> pages instead of SQLite's
    /// default 1,000. Without it, every ~1,000 pages one commit — usually the audit writer's group commit, which
    /// resolutions wait for — also copied 4 MB into the database and fsynced it. Durability is unchanged: every
    /// commit still fsyncs the log (<c>synchronous=FULL</c>), and the checkpoint fsyncs the database before the log
    /// is reused. Stopped by <see cref="DisposeAsync"/>. Do not call on a store opened for master-key rotation (that
    /// needs every connection of the store closed).
    /// </summary>
    public void StartBackgroundCheckpoints(TimeSpan interval)
    {
        if (_readOnly)
        {
            throw new InvalidOperationException("This store was opened for inspection only.");
        }

        if (_checkpointLoop is not null)
        {
            return;
        }

        Volatile.Write(ref _autoCheckpointPages, SafetyNetAutoCheckpointPages);
        _checkpointStop = new CancellationTokenSource();
        var stop = _checkpointStop.Token;
        _checkpointLoop = Task.Run(() => CheckpointLoopAsync(interval, stop), CancellationToken.None);
    }

    /// <summary>How many background checkpoints have run (for tests and diagnostics).</summary>
    public long BackgroundCheckpoints => Interlocked.Read(ref _backgroundCheckpoints);

    private async Task CheckpointLoopAsync(TimeSpan interval, CancellationToken stop)
    {
        try
        {
            await using var connection = await OpenConnectionAsync(stop);
            using var timer = new PeriodicTimer(interval);
            while (await timer.WaitForNextTickAsync(stop))
            {
                try
                {
                    // PASSIVE: copies what no reader still needs, never waits for locks; the result row is
                    // (busy, pages in the log, pages checkpointed) and a busy or partial checkpoint simply resumes
                    // on the next tick.
                    await connection.ExecuteAsync(new CommandDefinition("PRAGMA wal_checkpoint(PASSIVE)", cancellationToken: stop));
                    Interlocked.Increment(ref _backgroundCheckpoints);
                }
                catch (SqliteException)
                {
                    // Best effort: a failed background checkpoint leaves the log to the committing connections'
                    // safety net (and to the next tick); it never affects a write's durability.
                }
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
        catch (SqliteException)
        {
            // The checkpoint connection could not be opened: the committing connections' safety net remains.
        }
    }

    private async Task<T> WriteAsync<T>(Func<SqliteConnection, DbTransaction, Task<T>> work, CancellationToken cancellationToken)
    {
        await _writeLock.WaitAsync(cancellationToken);
        try
        {
            ForgetLastUseStamps();
            await using var connection = await OpenConnectionAsync(cancellationToken);
            await using var transaction = await connection.BeginTransactionAsync(IsolationLevel.Serializable, cancellationToken);
            var result = await work(connection, transaction);
            await transaction.CommitAsync(CancellationToken.None);
            return result;
        }
        finally
        {
            _writeLock.Release();
        }
    }

    private async Task<T> ReadAsync<T>(Func<SqliteConnection, Task<T>> work, CancellationToken cancellationToken)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken, forWrite: false);
        return await work(connection);
    }

    /// <inheritdoc />
    public Task<byte[]?> GetMetaAsync(string name, CancellationToken cancellationToken) =>
        ReadAsync(c => c.QuerySingleOrDefaultAsync<byte[]?>(new CommandDefinition(
            "SELECT value FROM store_meta WHERE name = @name", new { name }, cancellationToken: cancellationToken)), cancellationToken);

    /// <inheritdoc />
    public Task SetMetaIfAbsentAsync(string name, byte[] value, CancellationToken cancellationToken) =>
        WriteAsync((c, t) => c.ExecuteAsync(new CommandDefinition(
            "INSERT INTO store_meta(name, value) VALUES (@name, @value) ON CONFLICT(name) DO NOTHING",
            new { name, value }, t, cancellationToken: cancellationToken)), cancellationToken);

    /// <inheritdoc />
    public Task<long> CountApiKeysAsync(CancellationToken cancellationToken) =>
        ReadAsync(c => c.ExecuteScalarAsync<long>(new CommandDefinition(
            "SELECT count(*) FROM api_keys", cancellationToken: cancellationToken)), cancellationToken);

    /// <inheritdoc />
    public Task CreateWorkspaceAsync(Workspace workspace, byte[] wrappedKey, ApiKeyRecord ownerKey, byte[] ownerKeyHash, IReadOnlyList<AuditEvent> audit, CancellationToken cancellationToken) =>
        WriteAsync(async (c, t) =>
        {
            await c.ExecuteAsync(new CommandDefinition(
                """
                INSERT INTO workspaces(id, name, created_at) VALUES (@Id, @Name, @createdAt);
                INSERT INTO data_keys(workspace_id, generation, wrapped_key, encryptions_reserved, created_at) VALUES (@Id, 1, @wrappedKey, 0, @createdAt);
                """,
                new { workspace.Id, workspace.Name, wrappedKey, createdAt = Time(workspace.CreatedAt) }, t, cancellationToken: cancellationToken));
            await InsertApiKeyAsync(c, t, ownerKey, ownerKeyHash, cancellationToken);
            await AppendAsync(c, t, audit, cancellationToken);
            return 0;
        }, cancellationToken);

    /// <inheritdoc />
    public Task<Workspace?> GetWorkspaceAsync(string id, CancellationToken cancellationToken) =>
        ReadAsync(async c => ToWorkspace(await c.QuerySingleOrDefaultAsync<WorkspaceRow>(new CommandDefinition(
            "SELECT id, name, created_at AS CreatedAt FROM workspaces WHERE id = @id", new { id }, cancellationToken: cancellationToken))), cancellationToken);

    /// <inheritdoc />
    public Task<Workspace?> GetWorkspaceByNameAsync(string name, CancellationToken cancellationToken) =>
        ReadAsync(async c => ToWorkspace(await c.QuerySingleOrDefaultAsync<WorkspaceRow>(new CommandDefinition(
            "SELECT id, name, created_at AS CreatedAt FROM workspaces WHERE name = @name", new { name }, cancellationToken: cancellationToken))), cancellationToken);

    /// <summary>Whether the schema has data-key generations (schema 3); set once seen, never cleared.</summary>
    private volatile bool _hasDataKeys;

    /// <summary>
    /// Whether the store has schema 5 (compact resolution rows, schema 4, and their ranges by bucket), which this build's
    /// audit writes need.
    /// </summary>
    public Task<bool> HasCompactAuditRowsAsync(CancellationToken cancellationToken) =>
        ReadAsync(async c => await c.ExecuteScalarAsync<long>(new CommandDefinition(
            "SELECT count(*) FROM sqlite_master m, pragma_table_info(m.name) p WHERE m.type = 'table' AND m.name = 'audit_secret_ranges' AND p.name = 'bucket'",
            cancellationToken: cancellationToken)) > 0, cancellationToken);

    /// <summary>
    /// Whether the store has data-key generations (schema 3). A store of an earlier schema still answers
    /// <see cref="ListDataKeysAsync"/> (each workspace's one key as generation 1) so the start-up check — which runs
    /// before migrations — works on it, but it cannot be written to until it is migrated.
    /// </summary>
    public async Task<bool> HasDataKeyGenerationsAsync(CancellationToken cancellationToken)
    {
        if (!_hasDataKeys)
        {
            _hasDataKeys = await ReadAsync(c => c.ExecuteScalarAsync<long>(new CommandDefinition(
                "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'data_keys'", cancellationToken: cancellationToken)), cancellationToken) > 0;
        }

        return _hasDataKeys;
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<DataKeyRecord>> ListDataKeysAsync(string? workspaceId, CancellationToken cancellationToken)
    {
        // Before schema 3 (start-up check of a store about to be upgraded): the workspace's one key, as V3 will migrate it.
        var sql = await HasDataKeyGenerationsAsync(cancellationToken)
            ? """
              SELECT workspace_id AS WorkspaceId, generation, wrapped_key AS WrappedKey, encryptions_reserved AS EncryptionsReserved,
                     created_at AS CreatedAt, retired_at AS RetiredAt
              FROM data_keys WHERE @workspaceId IS NULL OR workspace_id = @workspaceId ORDER BY workspace_id, generation
              """
            : """
              SELECT id AS WorkspaceId, 1 AS Generation, wrapped_key AS WrappedKey, 0 AS EncryptionsReserved, created_at AS CreatedAt, NULL AS RetiredAt
              FROM workspaces WHERE @workspaceId IS NULL OR id = @workspaceId ORDER BY id
              """;
        return await ReadAsync(async c =>
        {
            var rows = await c.QueryAsync<DataKeyRow>(new CommandDefinition(sql, new { workspaceId }, cancellationToken: cancellationToken));
            return (IReadOnlyList<DataKeyRecord>)rows.Select(r => r.ToRecord()).ToList();
        }, cancellationToken);
    }

    /// <inheritdoc />
    /// <remarks>
    /// One write transaction (SQLite serialises writers): read the generation's count, grant
    /// <c>min(count, limit - reserved)</c>, add it. PostgreSQL can do the same in one statement:
    /// <c>UPDATE data_keys SET encryptions_reserved = LEAST(encryptions_reserved + @count, @limit) WHERE … AND retired_at IS NULL
    /// AND encryptions_reserved &lt; @limit RETURNING encryptions_reserved</c> with the old value read <c>FOR UPDATE</c> in a CTE.
    /// </remarks>
    public Task<long> ReserveEncryptionsAsync(string workspaceId, int generation, long count, long limit, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        return WriteAsync(async (c, t) =>
        {
            var reserved = await c.QuerySingleOrDefaultAsync<long?>(new CommandDefinition(
                "SELECT encryptions_reserved FROM data_keys WHERE workspace_id = @workspaceId AND generation = @generation AND retired_at IS NULL",
                new { workspaceId, generation }, t, cancellationToken: cancellationToken));
            if (reserved is not { } used || used >= limit)
            {
                return 0L;
            }

            var granted = Math.Min(count, limit - used);
            await c.ExecuteAsync(new CommandDefinition(
                "UPDATE data_keys SET encryptions_reserved = encryptions_reserved + @granted WHERE workspace_id = @workspaceId AND generation = @generation",
                new { workspaceId, generation, granted }, t, cancellationToken: cancellationToken));
            return granted;
        }, cancellationToken);
    }

    /// <inheritdoc />
    public Task<bool> AddDataKeyAsync(string workspaceId, int generation, byte[] wrappedKey, DateTimeOffset at, AuditEvent audit, CancellationToken cancellationToken) =>
        WriteAsync(async (c, t) =>
        {
            var newest = await c.ExecuteScalarAsync<long?>(new CommandDefinition(
                "SELECT max(generation) FROM data_keys WHERE workspace_id = @workspaceId", new { workspaceId }, t, cancellationToken: cancellationToken));
            if (newest is null || newest.Value + 1 != generation)
            {
                return false;
            }

            await c.ExecuteAsync(new CommandDefinition(
                """
                UPDATE data_keys SET retired_at = @at WHERE workspace_id = @workspaceId AND retired_at IS NULL;
                INSERT INTO data_keys(workspace_id, generation, wrapped_key, encryptions_reserved, created_at) VALUES (@workspaceId, @generation, @wrappedKey, 0, @at);
                """,
                new { workspaceId, generation, wrappedKey, at = Time(at) }, t, cancellationToken: cancellationToken));
            await AppendAsync(c, t, [audit], cancellationToken);
            return true;
        }, cancellationToken);

    /// <inheritdoc />
    public Task CreateApiKeyAsync(ApiKeyRecord key, byte[] keyHash, AuditEvent audit, CancellationToken cancellationToken) =>
        WriteAsync(async (c, t) =>
        {
            await InsertApiKeyAsync(c, t, key, keyHash, cancellationToken);
            await AppendAsync(c, t, [audit], cancellationToken);
            return 0;
        }, cancellationToken);

    private static Task InsertApiKeyAsync(SqliteConnection c, DbTransaction t, ApiKeyRecord key, byte[] keyHash, CancellationToken cancellationToken) =>
        c.ExecuteAsync(new CommandDefinition(
            """
            INSERT INTO api_keys(id, workspace_id, name, role, apps, envs, expires_at, key_hash, is_bootstrap, created_at)
            VALUES (@Id, @WorkspaceId, @Name, @Role, @apps, @envs, @ExpiresAt, @keyHash, @IsBootstrap, @createdAt)
            """,
            new
            {
                key.Id, key.WorkspaceId, key.Name, key.Role, apps = Json(key.Apps), envs = Json(key.Envs), key.ExpiresAt,
                keyHash, key.IsBootstrap, createdAt = Time(key.CreatedAt),
            }, t, cancellationToken: cancellationToken));

    /// <inheritdoc />
    public Task<(ApiKeyRecord Key, byte[] Hash)?> FindApiKeyAsync(byte[] keyHash, CancellationToken cancellationToken) =>
        ReadAsync(async c =>
        {
            var row = await c.QuerySingleOrDefaultAsync<ApiKeyRow>(new CommandDefinition(
                ApiKeySelect + " WHERE key_hash = @keyHash AND revoked_at IS NULL", new { keyHash }, cancellationToken: cancellationToken));
            return row is null ? ((ApiKeyRecord, byte[])?)null : (row.ToRecord(), row.KeyHash);
        }, cancellationToken);

    /// <inheritdoc />
    public Task<IReadOnlyList<ApiKeyRecord>> ListApiKeysAsync(string workspaceId, CancellationToken cancellationToken) =>
        ReadAsync(async c =>
        {
            var rows = await c.QueryAsync<ApiKeyRow>(new CommandDefinition(
                ApiKeySelect + " WHERE workspace_id = @workspaceId AND revoked_at IS NULL ORDER BY created_at, id",
                new { workspaceId }, cancellationToken: cancellationToken));
            return (IReadOnlyList<ApiKeyRecord>)rows.Select(r => r.ToRecord()).ToList();
        }, cancellationToken);

    /// <inheritdoc />
    public Task<bool> RevokeApiKeyAsync(string workspaceId, string keyId, DateTimeOffset at, AuditEvent audit, CancellationToken cancellationToken) =>
        WriteAsync(async (c, t) =>
        {
            var changed = await c.ExecuteAsync(new CommandDefinition(
                "UPDATE api_keys SET revoked_at = @at WHERE workspace_id = @workspaceId AND id = @keyId AND revoked_at IS NULL",
                new { workspaceId, keyId, at = Time(at) }, t, cancellationToken: cancellationToken));
            if (changed == 0)
            {
                return false;
            }

            await AppendAsync(c, t, [audit], cancellationToken);
            return true;
        }, cancellationToken);

    /// <inheritdoc />
    public Task<bool> CreateSecretAsync(string workspaceId, SecretRecord secret, SealedValue sealedValue, string? createdBy, AuditEvent audit, CancellationToken cancellationToken) =>
        WriteAsync(async (c, t) =>
        {
            var inserted = await c.ExecuteAsync(new CommandDefinition(
                """
                INSERT INTO secrets(workspace_id, secret_key, description, token_type, scope, envs, expires_at, revoked, current_version, created_at, updated_at)
                VALUES (@workspaceId, @Key, @Description, @TokenType, @scope, @envs, @ExpiresAt, @Revoked, @Version, @createdAt, @updatedAt)
                ON CONFLICT(workspace_id, secret_key) DO NOTHING
                """,
                new
                {
                    workspaceId, secret.Key, secret.Description, secret.TokenType, scope = Json(secret.Scope), envs = Json(secret.Envs),
                    secret.ExpiresAt, secret.Revoked, secret.Version, createdAt = Time(secret.CreatedAt), updatedAt = Time(secret.UpdatedAt),
                }, t, cancellationToken: cancellationToken));
            if (inserted == 0)
            {
                return false;
            }

            await InsertVersionAsync(c, t, workspaceId, secret.Key, secret.Version, sealedValue, secret.UpdatedAt, createdBy, cancellationToken);
            await AppendAsync(c, t, [audit], cancellationToken);
            return true;
        }, cancellationToken);

    private static Task InsertVersionAsync(SqliteConnection c, DbTransaction t, string workspaceId, string key, int version, SealedValue sealedValue, DateTimeOffset at, string? createdBy, CancellationToken cancellationToken) =>
        c.ExecuteAsync(new CommandDefinition(
            """
            INSERT INTO secret_versions(workspace_id, secret_key, version, sealed_value, key_generation, created_at, created_by)
            VALUES (@workspaceId, @key, @version, @sealed, @generation, @at, @createdBy)
            """,
            new { workspaceId, key, version, @sealed = sealedValue.Bytes, generation = sealedValue.KeyGeneration, at = Time(at), createdBy }, t, cancellationToken: cancellationToken));

    /// <inheritdoc />
    public Task<SecretRecord?> GetSecretAsync(string workspaceId, string key, CancellationToken cancellationToken) =>
        ReadAsync(async c => (await c.QuerySingleOrDefaultAsync<SecretRow>(new CommandDefinition(
            SecretSelect + " WHERE workspace_id = @workspaceId AND secret_key = @key", new { workspaceId, key }, cancellationToken: cancellationToken)))?.ToRecord(), cancellationToken);

    /// <inheritdoc />
    public Task<IReadOnlyList<SecretRecord>> GetSecretsAsync(string workspaceId, IReadOnlyCollection<string> keys, CancellationToken cancellationToken) =>
        ReadAsync(async c =>
        {
            if (keys.Count == 0)
            {
                return (IReadOnlyList<SecretRecord>)[];
            }

            // json_each keeps one statement for any number of keys (no parameter-count limit).
            var rows = await c.QueryAsync<SecretRow>(new CommandDefinition(
                SecretSelect + " WHERE workspace_id = @workspaceId AND secret_key IN (SELECT value FROM json_each(@keys))",
                new { workspaceId, keys = Json(keys) }, cancellationToken: cancellationToken));
            return (IReadOnlyList<SecretRecord>)rows.Select(r => r.ToRecord()).ToList();
        }, cancellationToken);

    /// <inheritdoc />
    public Task<IReadOnlyList<SecretRecord>> ListSecretsAsync(string workspaceId, SecretQuery query, DateTimeOffset now, CancellationToken cancellationToken) =>
        ReadAsync(async c =>
        {
            var sql = new System.Text.StringBuilder(SecretSelect).Append(" WHERE workspace_id = @workspaceId");
            var nowSeconds = now.ToUnixTimeSeconds();
            if (query.AfterKey is not null)
            {
                sql.Append(" AND secret_key > @AfterKey");
            }

            if (query.App is not null)
            {
                sql.Append(" AND (scope = '[]' OR EXISTS (SELECT 1 FROM json_each(secrets.scope) s WHERE s.value = @App OR (length(s.value) > length(@App) + 1 AND substr(s.value, -length(@App) - 1) = ':' || @App)))");
            }

            if (query.Env is not null)
            {
                sql.Append(" AND (envs = '[]' OR EXISTS (SELECT 1 FROM json_each(secrets.envs) e WHERE e.value = @Env))");
            }

            switch (query.Status)
            {
                case SecretStatus.Revoked:
                    sql.Append(" AND revoked = 1");
                    break;
                case SecretStatus.Expired:
                    sql.Append(" AND revoked = 0 AND expires_at IS NOT NULL AND expires_at <= @nowSeconds");
                    break;
                case SecretStatus.Active:
                    sql.Append(" AND revoked = 0 AND (expires_at IS NULL OR expires_at > @nowSeconds)");
                    break;
                default:
                    break;
            }

            if (query.ExpiringWithinSeconds is not null)
            {
                sql.Append(" AND revoked = 0 AND expires_at IS NOT NULL AND expires_at > @nowSeconds AND expires_at <= @horizon");
            }

            if (query.Search is not null)
            {
                sql.Append(" AND (instr(lower(secret_key), lower(@Search)) > 0 OR instr(lower(coalesce(description, '')), lower(@Search)) > 0)");
            }

            sql.Append(" ORDER BY secret_key LIMIT @Limit");
            var rows = await c.QueryAsync<SecretRow>(new CommandDefinition(sql.ToString(), new
            {
                workspaceId,
                query.AfterKey,
                App = query.App is null ? null : query.App,
                query.Env,
                nowSeconds,
                horizon = query.ExpiringWithinSeconds is null ? 0 : nowSeconds + query.ExpiringWithinSeconds.Value,
                query.Search,
                query.Limit,
            }, cancellationToken: cancellationToken));
            return (IReadOnlyList<SecretRecord>)rows.Select(r => r.ToRecord()).ToList();
        }, cancellationToken);

    /// <inheritdoc />
    public Task<SealedValue?> GetSealedValueAsync(string workspaceId, string key, int version, CancellationToken cancellationToken) =>
        ReadAsync(async c => await c.QuerySingleOrDefaultAsync<(byte[] Sealed, long Generation)?>(new CommandDefinition(
            "SELECT sealed_value, key_generation FROM secret_versions WHERE workspace_id = @workspaceId AND secret_key = @key AND version = @version",
            new { workspaceId, key, version }, cancellationToken: cancellationToken)) is { } row
            ? new SealedValue((int)row.Generation, row.Sealed)
            : null, cancellationToken);

    /// <inheritdoc />
    public Task<IReadOnlyDictionary<string, SealedValue>> GetSealedValuesAsync(string workspaceId, IReadOnlyCollection<(string Key, int Version)> versions, CancellationToken cancellationToken) =>
        ReadAsync(async c =>
        {
            if (versions.Count == 0)
            {
                return (IReadOnlyDictionary<string, SealedValue>)new Dictionary<string, SealedValue>(StringComparer.Ordinal);
            }

            // One statement for every (key, version) pair: the pairs travel as one JSON parameter.
            var pairs = JsonSerializer.Serialize(versions.Select(v => new object[] { v.Key, v.Version }));
            var rows = await c.QueryAsync<(string Key, byte[] Sealed, long Generation)>(new CommandDefinition(
                """
                SELECT secret_key, sealed_value, key_generation FROM secret_versions
                WHERE workspace_id = @workspaceId
                  AND (secret_key, version) IN (SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each(@pairs))
                """,
                new { workspaceId, pairs }, cancellationToken: cancellationToken));
            return (IReadOnlyDictionary<string, SealedValue>)rows.ToDictionary(r => r.Key, r => new SealedValue((int)r.Generation, r.Sealed), StringComparer.Ordinal);
        }, cancellationToken);

    /// <inheritdoc />
    public Task<IReadOnlyList<SecretVersionInfo>> ListVersionsAsync(string workspaceId, string key, CancellationToken cancellationToken) =>
        ReadAsync(async c =>
        {
            var rows = await c.QueryAsync<VersionRow>(new CommandDefinition(
                "SELECT version, created_at AS CreatedAt, created_by AS CreatedBy FROM secret_versions WHERE workspace_id = @workspaceId AND secret_key = @key ORDER BY version DESC",
                new { workspaceId, key }, cancellationToken: cancellationToken));
            return (IReadOnlyList<SecretVersionInfo>)rows.Select(r => new SecretVersionInfo((int)r.Version, ParseTime(r.CreatedAt), r.CreatedBy)).ToList();
        }, cancellationToken);

    /// <inheritdoc />
    public Task<UpdateResult> UpdateSecretAsync(string workspaceId, SecretRecord updated, int expectedVersion, SealedValue? newSealedValue, string? createdBy, AuditEvent audit, CancellationToken cancellationToken, DateTimeOffset? expectedUpdatedAt = null) =>
        WriteAsync(async (c, t) =>
        {
            var changed = await c.ExecuteAsync(new CommandDefinition(
                """
                UPDATE secrets SET description = @Description, token_type = @TokenType, scope = @scope, envs = @envs,
                    expires_at = @ExpiresAt, revoked = @Revoked, current_version = @Version, updated_at = @updatedAt
                WHERE workspace_id = @workspaceId AND secret_key = @Key AND current_version = @expectedVersion
                  AND (@expectedUpdatedAt IS NULL OR updated_at = @expectedUpdatedAt)
                """,
                new
                {
                    workspaceId, updated.Key, updated.Description, updated.TokenType, scope = Json(updated.Scope), envs = Json(updated.Envs),
                    updated.ExpiresAt, updated.Revoked, updated.Version, updatedAt = Time(updated.UpdatedAt), expectedVersion,
                    expectedUpdatedAt = expectedUpdatedAt is { } e ? Time(e) : null,
                }, t, cancellationToken: cancellationToken));
            if (changed == 0)
            {
                var exists = await c.ExecuteScalarAsync<long>(new CommandDefinition(
                    "SELECT count(*) FROM secrets WHERE workspace_id = @workspaceId AND secret_key = @Key",
                    new { workspaceId, updated.Key }, t, cancellationToken: cancellationToken));
                return exists == 0 ? UpdateResult.NotFound : UpdateResult.VersionConflict;
            }

            if (newSealedValue is not null)
            {
                await InsertVersionAsync(c, t, workspaceId, updated.Key, updated.Version, newSealedValue, updated.UpdatedAt, createdBy, cancellationToken);
            }

            await AppendAsync(c, t, [audit], cancellationToken);
            return UpdateResult.Updated;
        }, cancellationToken);

    /// <inheritdoc />
    public Task<bool> DeleteSecretAsync(string workspaceId, string key, AuditEvent audit, CancellationToken cancellationToken) =>
        WriteAsync(async (c, t) =>
        {
            var deleted = await c.ExecuteAsync(new CommandDefinition(
                "DELETE FROM secrets WHERE workspace_id = @workspaceId AND secret_key = @key",
                new { workspaceId, key }, t, cancellationToken: cancellationToken));
            if (deleted == 0)
            {
                return false;
            }

            await AppendAsync(c, t, [audit], cancellationToken);
            return true;
        }, cancellationToken);

    /// <inheritdoc />
    public Task<bool> PutConfigAsync(string workspaceId, ConfigDocument document, PutMode mode, AuditEvent audit, CancellationToken cancellationToken) =>
        WriteAsync(async (c, t) =>
        {
            var sql = mode == PutMode.Create
                ? """
                  INSERT INTO configs(workspace_id, kind, parent, name, body, created_at, updated_at)
                  VALUES (@workspaceId, @Kind, @Parent, @Name, @Body, @createdAt, @updatedAt)
                  ON CONFLICT(workspace_id, kind, parent, name) DO NOTHING
                  """
                : """
                  UPDATE configs SET body = @Body, updated_at = @updatedAt
                  WHERE workspace_id = @workspaceId AND kind = @Kind AND parent = @Parent AND name = @Name
                  """;
            var changed = await c.ExecuteAsync(new CommandDefinition(sql, new
            {
                workspaceId, document.Kind, document.Parent, document.Name, document.Body,
                createdAt = Time(document.CreatedAt), updatedAt = Time(document.UpdatedAt),
            }, t, cancellationToken: cancellationToken));
            if (changed == 0)
            {
                return false;
            }

            await AppendAsync(c, t, [audit], cancellationToken);
            return true;
        }, cancellationToken);

    /// <inheritdoc />
    public Task<ConfigDocument?> GetConfigAsync(string workspaceId, string kind, string parent, string name, CancellationToken cancellationToken) =>
        ReadAsync(async c => (await c.QuerySingleOrDefaultAsync<ConfigRow>(new CommandDefinition(
            ConfigSelect + " WHERE workspace_id = @workspaceId AND kind = @kind AND parent = @parent AND name = @name",
            new { workspaceId, kind, parent, name }, cancellationToken: cancellationToken)))?.ToDocument(), cancellationToken);

    /// <inheritdoc />
    public Task<IReadOnlyList<ConfigDocument>> ListConfigsAsync(string workspaceId, string kind, string? parent, CancellationToken cancellationToken) =>
        ReadAsync(async c =>
        {
            var rows = await c.QueryAsync<ConfigRow>(new CommandDefinition(
                ConfigSelect + " WHERE workspace_id = @workspaceId AND kind = @kind AND (@parent IS NULL OR parent = @parent) ORDER BY parent, name",
                new { workspaceId, kind, parent }, cancellationToken: cancellationToken));
            return (IReadOnlyList<ConfigDocument>)rows.Select(r => r.ToDocument()).ToList();
        }, cancellationToken);

    /// <inheritdoc />
    public Task<bool> DeleteConfigAsync(string workspaceId, string kind, string parent, string name, bool cascade, AuditEvent audit, CancellationToken cancellationToken) =>
        WriteAsync(async (c, t) =>
        {
            var deleted = await c.ExecuteAsync(new CommandDefinition(
                "DELETE FROM configs WHERE workspace_id = @workspaceId AND kind = @kind AND parent = @parent AND name = @name",
                new { workspaceId, kind, parent, name }, t, cancellationToken: cancellationToken));
            if (deleted == 0)
            {
                return false;
            }

            if (cascade)
            {
                await c.ExecuteAsync(new CommandDefinition(
                    """
                    DELETE FROM configs WHERE workspace_id = @workspaceId AND parent = @name;
                    DELETE FROM webhook_deliveries WHERE workspace_id = @workspaceId AND product = @name;
                    DELETE FROM webhook_rejections WHERE workspace_id = @workspaceId AND product = @name;
                    DELETE FROM webhook_delivery_ids WHERE workspace_id = @workspaceId AND product = @name;
                    """,
                    new { workspaceId, name }, t, cancellationToken: cancellationToken));
            }

            if (kind == ConfigKinds.Webhook)
            {
                await c.ExecuteAsync(new CommandDefinition(
                    """
                    DELETE FROM webhook_deliveries WHERE workspace_id = @workspaceId AND product = @parent AND webhook = @name;
                    DELETE FROM webhook_rejections WHERE workspace_id = @workspaceId AND product = @parent AND webhook = @name;
                    DELETE FROM webhook_delivery_ids WHERE workspace_id = @workspaceId AND product = @parent AND webhook = @name;
                    """,
                    new { workspaceId, parent, name }, t, cancellationToken: cancellationToken));
            }

            await AppendAsync(c, t, [audit], cancellationToken);
            return true;
        }, cancellationToken);

    /// <inheritdoc />
    /// <remarks>
    /// SQLite serialises writers, so the look-up of the replay keys and their insertion cannot interleave with another
    /// delivery's; the primary key of <c>webhook_delivery_ids</c> is the guard all the same (PostgreSQL:
    /// <c>INSERT … ON CONFLICT DO NOTHING</c>, and roll back when fewer rows than keys were inserted).
    /// </remarks>
    public Task<bool> AddDeliveryAsync(string workspaceId, WebhookDelivery delivery, IReadOnlyList<string> replayKeys, DateTimeOffset pruneBefore, AuditEvent audit, CancellationToken cancellationToken) =>
        WriteAsync(async (c, t) =>
        {
            ArgumentNullException.ThrowIfNull(replayKeys);
            // Retention: this webhook's keys older than the cut-off go first (an index range, so it stays cheap).
            await c.ExecuteAsync(new CommandDefinition(
                "DELETE FROM webhook_delivery_ids WHERE workspace_id = @workspaceId AND product = @Product AND webhook = @Webhook AND received_at < @cutoff",
                new { workspaceId, delivery.Product, delivery.Webhook, cutoff = Time(pruneBefore) }, t, cancellationToken: cancellationToken));
            if (replayKeys.Count > 0)
            {
                var seen = await c.ExecuteScalarAsync<long>(new CommandDefinition(
                    """
                    SELECT count(*) FROM webhook_delivery_ids
                    WHERE workspace_id = @workspaceId AND product = @Product AND webhook = @Webhook AND delivery_key IN (SELECT value FROM json_each(@keys))
                    """,
                    new { workspaceId, delivery.Product, delivery.Webhook, keys = Json(replayKeys) }, t, cancellationToken: cancellationToken));
                if (seen > 0)
                {
                    return false;
                }

                await c.ExecuteAsync(new CommandDefinition(
                    """
                    INSERT INTO webhook_delivery_ids(workspace_id, product, webhook, delivery_key, received_at)
                    SELECT DISTINCT @workspaceId, @Product, @Webhook, value, @receivedAt FROM json_each(@keys)
                    """,
                    new { workspaceId, delivery.Product, delivery.Webhook, keys = Json(replayKeys), receivedAt = Time(delivery.ReceivedAt) },
                    t, cancellationToken: cancellationToken));
            }

            await c.ExecuteAsync(new CommandDefinition(
                """
                INSERT INTO webhook_deliveries(id, workspace_id, product, webhook, env, received_at, headers, body)
                VALUES (@Id, @workspaceId, @Product, @Webhook, @Env, @receivedAt, @HeadersJson, @Body)
                """,
                new { delivery.Id, workspaceId, delivery.Product, delivery.Webhook, delivery.Env, receivedAt = Time(delivery.ReceivedAt), delivery.HeadersJson, delivery.Body },
                t, cancellationToken: cancellationToken));
            await AppendAsync(c, t, [audit], cancellationToken);
            return true;
        }, cancellationToken);

    /// <inheritdoc />
    public Task<IReadOnlyList<WebhookDelivery>> ListDeliveriesAsync(string workspaceId, string product, string webhook, long? beforeSequence, int limit, CancellationToken cancellationToken) =>
        ReadAsync(async c =>
        {
            var rows = await c.QueryAsync<DeliveryRow>(new CommandDefinition(
                """
                SELECT seq, id, product, webhook, env, received_at AS ReceivedAt, headers, body FROM webhook_deliveries
                WHERE workspace_id = @workspaceId AND product = @product AND webhook = @webhook AND (@beforeSequence IS NULL OR seq < @beforeSequence)
                ORDER BY seq DESC LIMIT @limit
                """,
                new { workspaceId, product, webhook, beforeSequence, limit }, cancellationToken: cancellationToken));
            return (IReadOnlyList<WebhookDelivery>)rows
                .Select(r => new WebhookDelivery(r.Seq, r.Id, r.Product, r.Webhook, r.Env, ParseTime(r.ReceivedAt), r.Headers, r.Body))
                .ToList();
        }, cancellationToken);

    /// <inheritdoc />
    public Task AddRejectionAsync(string workspaceId, string product, string webhook, string reason, DateTimeOffset at, AuditEvent audit, CancellationToken cancellationToken) =>
        WriteAsync(async (c, t) =>
        {
            await c.ExecuteAsync(new CommandDefinition(
                """
                INSERT INTO webhook_rejections(workspace_id, product, webhook, count, last_at, last_reason)
                VALUES (@workspaceId, @product, @webhook, 1, @at, @reason)
                ON CONFLICT(workspace_id, product, webhook) DO UPDATE SET count = count + 1, last_at = excluded.last_at, last_reason = excluded.last_reason
                """,
                new { workspaceId, product, webhook, at = Time(at), reason }, t, cancellationToken: cancellationToken));
            await AppendAsync(c, t, [audit], cancellationToken);
            return 0;
        }, cancellationToken);

    /// <inheritdoc />
    public Task<(long Count, DateTimeOffset? LastAt, string? LastReason)> GetRejectionsAsync(string workspaceId, string product, string webhook, CancellationToken cancellationToken) =>
        ReadAsync(async c =>
        {
            var row = await c.QuerySingleOrDefaultAsync<(long, string, string)?>(new CommandDefinition(
                "SELECT count, last_at, last_reason FROM webhook_rejections WHERE workspace_id = @workspaceId AND product = @product AND webhook = @webhook",
                new { workspaceId, product, webhook }, cancellationToken: cancellationToken));
            return row is { } r ? (r.Item1, (DateTimeOffset?)ParseTime(r.Item2), (string?)r.Item3) : (0L, null, null);
        }, cancellationToken);

    /// <inheritdoc />
    /// <remarks>
    /// Rows are read in order and expanded into events (a compact resolution row holds several, see
    /// <see cref="CompactResolutions"/>); the filters that concern single events — secret and the cursors — are applied
    /// again to the expanded events. A row can then yield no event (a cursor inside it, or its matching references on
    /// the far side of the cursor), so when a full page of rows gave too few events the next rows are read.
    /// </remarks>
    public Task<IReadOnlyList<AuditEvent>> QueryAuditAsync(string workspaceId, AuditQuery query, CancellationToken cancellationToken) =>
        ReadAsync(async c =>
        {
            ArgumentNullException.ThrowIfNull(query);
            var ascending = query.AfterSequence is not null;
            var result = new List<AuditEvent>(Math.Clamp(query.Limit, 0, 1000));
            if (query.Limit <= 0)
            {
                return (IReadOnlyList<AuditEvent>)result;
            }

            var expanded = new List<AuditEvent>();
            long? rowBound = null;
            while (true)
            {
                var rows = (await c.QueryAsync<AuditRow>(new CommandDefinition(AuditQuerySql(query, rowBound is not null), new
                {
                    workspaceId, query.Secret, query.App, query.Env, query.Action,
                    since = query.Since is { } s ? Time(s) : null, until = query.Until is { } u ? Time(u) : null,
                    query.AfterSequence, query.Limit,
                    upper = Math.Min(query.BeforeSequence ?? long.MaxValue, rowBound ?? long.MaxValue),
                    lower = Math.Max(query.AfterSequence is { } a ? a - CompactResolutions.MaxEventsPerRow : long.MinValue, rowBound ?? long.MinValue),
                    needle = query.Secret is null ? null : KeyInRefs(query.Secret),
                }, cancellationToken: cancellationToken))).AsList();
                foreach (var row in rows)
                {
                    expanded.Clear();
                    row.Expand(expanded);
                    if (!ascending)
                    {
                        expanded.Reverse();
                    }

                    foreach (var e in expanded)
                    {
                        if ((query.Secret is null || e.SecretKey == query.Secret)
                            && (query.BeforeSequence is null || e.Sequence < query.BeforeSequence)
                            && (query.AfterSequence is null || e.Sequence > query.AfterSequence))
                        {
                            result.Add(e);
                            if (result.Count == query.Limit)
                            {
                                return result;
                            }
                        }
                    }
                }

                if (rows.Count < query.Limit)
                {
                    return result;
                }

                rowBound = rows[^1].Seq;
            }
        }, cancellationToken);

    /// <summary>
    /// The text a compact row's <c>refs</c> holds when a reference names <paramref name="key"/>: the key as a JSON string
    /// (secret keys need no escaping). A pre-filter; the expanded events are checked exactly.
    /// </summary>
    private static string KeyInRefs(string key) => "\"" + key + "\"";

    /// <summary>
    /// The SQL of one page of rows for <see cref="QueryAuditAsync"/>. With a secret, the rows naming it (plain rows, by
    /// <c>ix_audit_secret</c>) and the compact rows holding it (through <c>audit_secret_ranges</c>, checked against <c>refs</c>) are read as two ordered,
    /// limited halves and merged.
    /// </summary>
    internal static string AuditQuerySql(AuditQuery query, bool continuing)
    {
        var ascending = query.AfterSequence is not null;
        var order = ascending ? "ASC" : "DESC";
        string Filters(string seq, string row)
        {
            var sql = new System.Text.StringBuilder();
            if (query.App is not null) sql.Append($" AND {row}app = @App");
            if (query.Env is not null) sql.Append($" AND {row}env = @Env");
            if (query.Action is not null) sql.Append($" AND {row}action = @Action");
            if (query.Since is not null) sql.Append($" AND {row}at >= @since");
            if (query.Until is not null) sql.Append($" AND {row}at < @until");

            // A row's first event is at seq, its last at seq + ref_count - 1. One bound per direction (the cursor and the
            // continuation folded into it): with two, SQLite's planner may prefer ix_audit_workspace to ix_audit_secret.
            if (!ascending && (query.BeforeSequence is not null || continuing)) sql.Append($" AND {seq} < @upper");
            if (ascending) sql.Append($" AND {seq} > @lower AND {seq} + coalesce({row}ref_count, 1) - 1 > @AfterSequence");
            return sql.ToString();
        }

        if (query.Secret is null)
        {
            return $"{AuditSelect} WHERE workspace_id = @workspaceId{Filters("seq", "")} ORDER BY seq {order} LIMIT @Limit";
        }

        // A secret's ranges are disjoint and in (bucket, first_seq) order, so that order and then seq is seq order. Each
        // range lies inside its bucket, so a cursor bounds the bucket too and the index skips ranges beyond it.
        string RangeFilters()
        {
            if (ascending)
            {
                return $" AND r.bucket >= @lower / {RangeBucketSize} AND r.last_seq > @lower";
            }

            return query.BeforeSequence is not null || continuing ? $" AND r.bucket <= (@upper - 1) / {RangeBucketSize} AND r.first_seq < @upper" : "";
        }

        return $"""
            SELECT * FROM ({AuditSelect} WHERE workspace_id = @workspaceId AND secret_key = @Secret AND ref_count IS NULL{Filters("seq", "")} ORDER BY seq {order} LIMIT @Limit)
            UNION ALL
            SELECT * FROM ({AuditSelectFrom("a.")} FROM audit_secret_ranges r CROSS JOIN audit_events a ON a.seq BETWEEN r.first_seq AND r.last_seq
                WHERE r.workspace_id = @workspaceId AND r.secret_key = @Secret{RangeFilters()}
                AND +a.workspace_id = @workspaceId AND a.ref_count IS NOT NULL AND instr(a.refs, @needle) > 0{Filters("a.seq", "a.")}
                ORDER BY r.bucket {order}, r.first_seq {order}, a.seq {order} LIMIT @Limit)
            ORDER BY Seq {order} LIMIT @Limit
            """;
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<AuditEvent> ReadAuditChainAsync(string workspaceId, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken);
        var rows = connection.QueryUnbufferedAsync<AuditRow>(AuditSelect + " WHERE workspace_id = @workspaceId ORDER BY seq", new { workspaceId });
        var expanded = new List<AuditEvent>();
        await foreach (var row in rows.WithCancellation(cancellationToken))
        {
            expanded.Clear();
            row.Expand(expanded);
            foreach (var e in expanded)
            {
                yield return e;
            }
        }
    }

    /// <inheritdoc />
    /// <remarks>
    /// Counts the secret's resolution events: plain rows by <c>ix_audit_secret</c>, compact rows through
    /// <c>audit_secret_ranges</c>, counting the references in each that name the secret. A read of the secret's history,
    /// like before schema 4; the hot path (the audit writer) is what was made cheaper, not this page.
    /// </remarks>
    public Task<IReadOnlyList<RecentUse>> GetRecentUsesAsync(string workspaceId, string key, CancellationToken cancellationToken) =>
        ReadAsync(async c =>
        {
            var rows = await c.QueryAsync<RecentRow>(new CommandDefinition(
                """
                SELECT product AS Product, app AS App, env AS Env, context AS Context, sum(uses) AS Count, max(at) AS LastAt FROM (
                    SELECT product, app, env, context, 1 AS uses, at FROM audit_events
                    WHERE workspace_id = @workspaceId AND secret_key = @key AND action = 'secret.resolved' AND ref_count IS NULL
                    UNION ALL
                    SELECT a.product, a.app, a.env, a.context,
                           CASE WHEN json_valid(a.refs) THEN (SELECT count(*) FROM json_each(a.refs) WHERE json_extract(value, '$[1]') = @key) ELSE 0 END AS uses, a.at
                    FROM audit_secret_ranges r CROSS JOIN audit_events a ON a.seq BETWEEN r.first_seq AND r.last_seq
                    WHERE r.workspace_id = @workspaceId AND r.secret_key = @key AND +a.workspace_id = @workspaceId
                      AND a.ref_count IS NOT NULL AND a.action = 'secret.resolved' AND instr(a.refs, @needle) > 0)
                WHERE uses > 0
                GROUP BY product, app, env, context ORDER BY LastAt DESC LIMIT 500
                """,
                new { workspaceId, key, needle = KeyInRefs(key) }, cancellationToken: cancellationToken));
            return (IReadOnlyList<RecentUse>)rows.Select(r => new RecentUse(r.Product, r.App, r.Env, r.Context, r.Count, ParseTime(r.LastAt))).ToList();
        }, cancellationToken);

    /// <inheritdoc />
    /// <remarks>
    /// The audit writer's group commits run on a connection of their own that stays open between commits, with its
    /// statements prepared once (<see cref="AuditSession"/>): per commit, opening a pooled connection, its PRAGMAs and
    /// re-preparing five statements cost more than the rows of a small batch. Everything else about the commit is
    /// as before — one transaction, <c>synchronous=FULL</c>, chain and sequence read from the database.
    /// </remarks>
    public async Task AppendAuditAsync(IReadOnlyList<AuditEvent> events, CancellationToken cancellationToken)
    {
        await _writeLock.WaitAsync(cancellationToken);
        try
        {
            var session = _auditSession ??= new AuditSession(await OpenConnectionAsync(cancellationToken, pooled: false));
            try
            {
                // Background checkpoints may have started after the session opened (the PRAGMA is per connection).
                var autoCheckpointPages = Volatile.Read(ref _autoCheckpointPages);
                if (session.AutoCheckpointPages != autoCheckpointPages)
                {
                    await session.Connection.ExecuteAsync(new CommandDefinition(
                        string.Create(CultureInfo.InvariantCulture, $"PRAGMA wal_autocheckpoint={autoCheckpointPages}"), cancellationToken: cancellationToken));
                    session.AutoCheckpointPages = autoCheckpointPages;
                }

                await using var transaction = (SqliteTransaction)await session.Connection.BeginTransactionAsync(IsolationLevel.Serializable, cancellationToken);
                await AppendAsync(session.Statements, transaction, events, cancellationToken);
                var stamps = await StampLastUseAsync(session, transaction, events, cancellationToken);
                await transaction.CommitAsync(CancellationToken.None);
                session.Remember(stamps);
            }
            catch
            {
                // Whatever state the connection is in, the next commit starts from a fresh one.
                _auditSession = null;
                await session.DisposeAsync();
                throw;
            }
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <summary>
    /// Stamps <c>last_used_at</c> of the secrets the events resolved, where it is absent or older than
    /// <see cref="ILatchStore.LastUseResolution"/> before the resolution. Secrets whose stamp this session has read or
    /// written and knows to be recent enough are skipped without a statement (the stamp never moves back, and any other
    /// write forgets what the session knows, so a deleted and re-created secret is stamped again). Returns the stamps
    /// as they stand after the update, to remember once the transaction has committed.
    /// </summary>
    private static async Task<List<KeyValuePair<(string Workspace, string Key), string?>>> StampLastUseAsync(
        AuditSession session, SqliteTransaction transaction, IReadOnlyList<AuditEvent> events, CancellationToken cancellationToken)
    {
        var latest = new Dictionary<(string Workspace, string Key), DateTimeOffset>();
        foreach (var e in events)
        {
            if (e.Action == "secret.resolved" && e.SecretKey is not null
                && (!latest.TryGetValue((e.WorkspaceId, e.SecretKey), out var at) || e.At > at))
            {
                latest[(e.WorkspaceId, e.SecretKey)] = e.At;
            }
        }

        var due = new List<object[]>();
        foreach (var ((workspace, key), at) in latest)
        {
            var stale = Time(at - ILatchStore.LastUseResolution);
            if (!session.KnowsStampAtLeast(workspace, key, stale))
            {
                due.Add([workspace, key, Time(at), stale]);
            }
        }

        var stamps = new List<KeyValuePair<(string Workspace, string Key), string?>>();
        if (due.Count == 0)
        {
            return stamps;
        }

        // One statement for every secret due; a row is rewritten only when its stamp is older than LastUseResolution
        // (see ILatchStore.AppendAuditAsync). Then the stamps as they now stand, for the session to remember.
        var uses = JsonSerializer.Serialize(due);
        var (update, read) = session.LastUseStatements(transaction);
        update.Parameters[0].Value = uses;
        await update.ExecuteNonQueryAsync(cancellationToken);
        read.Parameters[0].Value = uses;
        await using var reader = await read.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            stamps.Add(new((reader.GetString(0), reader.GetString(1)), reader.IsDBNull(2) ? null : reader.GetString(2)));
        }

        return stamps;
    }

    private static readonly string[] AuditColumns =
    [
        "seq", "id", "workspace_id", "at", "action", "actor_key_id", "actor_name", "request_id", "client", "secret_key", "version",
        "product", "app", "env", "context", "path", "code", "detail", "prev_hash", "hash", "refs", "ref_count",
    ];

    /// <summary>Appends events in the caller's transaction, with statements prepared for this one call.</summary>
    private static async Task AppendAsync(SqliteConnection c, DbTransaction t, IReadOnlyList<AuditEvent> events, CancellationToken cancellationToken)
    {
        if (events.Count > 0)
        {
            await using var statements = new AuditStatements(c);
            await AppendAsync(statements, (SqliteTransaction)t, events, cancellationToken);
        }
    }

    /// <summary>
    /// Appends events, linking each into its workspace's chain. Sequence numbers are assigned here, not by SQLite: a
    /// compact row (<see cref="CompactResolutions"/>) takes one per event it holds, so the next row starts after them.
    /// </summary>
    private static async Task AppendAsync(AuditStatements statements, SqliteTransaction transaction, IReadOnlyList<AuditEvent> events, CancellationToken cancellationToken)
    {
        if (events.Count == 0)
        {
            return;
        }

        statements.Enlist(transaction);

        // After the last event of the newest row, and never below what AUTOINCREMENT has handed out.
        var next = (long)(await statements.NextSeq.ExecuteScalarAsync(cancellationToken))!;
        var insert = statements.Insert;
        var parameters = statements.InsertParameters;

        var ranges = new Dictionary<(string Workspace, string Key, long Bucket), List<(long First, long Last)>>();
        var lastHashes = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < events.Count;)
        {
            var e = events[i];
            if (!lastHashes.TryGetValue(e.WorkspaceId, out var previous))
            {
                statements.LastHash.Parameters[0].Value = e.WorkspaceId;
                previous = await statements.LastHash.ExecuteScalarAsync(cancellationToken) as string ?? AuditChain.Genesis;
            }

            var count = CompactResolutions.RunLength(events, i);
            var hash = previous;
            for (var k = i; k < i + count; k++)
            {
                hash = AuditChain.Compute(events[k], hash);
            }

            var compact = count > 1;
            var refs = compact ? CompactResolutions.Write(events, i, count) : null;
            object?[] values =
            [
                next, e.Id, e.WorkspaceId, Time(e.At), e.Action, e.ActorKeyId, e.ActorName, e.RequestId, e.Client,
                compact ? null : e.SecretKey, compact ? null : e.Version, e.Product, e.App, e.Env, e.Context, compact ? null : e.Path, e.Code, e.Detail,
                previous, hash, refs, compact ? count : null,
            ];
            for (var p = 0; p < parameters.Length; p++)
            {
                parameters[p].Value = values[p] ?? DBNull.Value;
            }

            await insert.ExecuteNonQueryAsync(cancellationToken);
            if (compact)
            {
                var bucket = next / RangeBucketSize;
                foreach (var key in UsedKeys(events, i, count))
                {
                    if (!ranges.TryGetValue((e.WorkspaceId, key, bucket), out var list))
                    {
                        ranges[(e.WorkspaceId, key, bucket)] = list = [];
                    }

                    if (list.Count > 0 && list[^1].Last >= next - RangeGap)
                    {
                        list[^1] = (list[^1].First, next);
                    }
                    else
                    {
                        list.Add((next, next));
                    }
                }
            }

            lastHashes[e.WorkspaceId] = hash;
            next += count;
            i += count;
        }

        // Where each secret's compact rows are (audit_secret_ranges, for the secret filter and recent uses), per bucket of
        // RangeBucketSize sequence numbers (schema 5; V5__secret_ranges_by_bucket.sql): the commit's first range of a secret
        // in a bucket extends the secret's latest range there when it starts within RangeGap of its end; any other starts
        // a range of its own.
        foreach (var ((workspace, key, bucket), list) in ranges)
        {
            for (var r = 0; r < list.Count; r++)
            {
                statements.BindRange(workspace, key, bucket, list[r].First, list[r].Last);
                if (r > 0 || await statements.ExtendRange.ExecuteNonQueryAsync(cancellationToken) == 0)
                {
                    await statements.Range.ExecuteNonQueryAsync(cancellationToken);
                }
            }
        }
    }

    /// <summary>
    /// Sequence numbers per bucket of <c>audit_secret_ranges</c> (schema 5; the migration's SQL says 4096 too). Ranges are
    /// keyed by bucket first, so one bucket's ranges lie together and a group commit updates a page or two of them however
    /// many secrets it resolved (schema 4's per-commit rows, keyed by secret first, dirtied one page per secret).
    /// </summary>
    internal const long RangeBucketSize = 4096;

    /// <summary>
    /// Largest gap, in sequence numbers, between a secret's uses that one range spans: past it a new range starts, so a
    /// reader checks at most this many events' rows that do not name the secret per range (about a dozen 20-reference
    /// resolutions), while a secret resolved again and again keeps extending one range per bucket.
    /// </summary>
    internal const long RangeGap = 256;

    private static IEnumerable<string> UsedKeys(IReadOnlyList<AuditEvent> events, int start, int count)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var k = start; k < start + count; k++)
        {
            if (seen.Add(events[k].SecretKey!))
            {
                yield return events[k].SecretKey!;
            }
        }
    }

    /// <summary>
    /// The statements that append audit rows, on one connection. Microsoft.Data.Sqlite prepares a command's statement at
    /// its first execution and keeps it while the command lives, so a long-lived set (<see cref="AuditSession"/>) is
    /// prepared once; management writes make a set per transaction.
    /// </summary>
    private sealed class AuditStatements : IAsyncDisposable
    {
        public AuditStatements(SqliteConnection connection)
        {
            NextSeq = connection.CreateCommand();
            NextSeq.CommandText =
                """
                SELECT max(coalesce((SELECT seq + coalesce(ref_count, 1) FROM audit_events ORDER BY seq DESC LIMIT 1), 1),
                           coalesce((SELECT seq + 1 FROM sqlite_sequence WHERE name = 'audit_events'), 1))
                """;

            LastHash = connection.CreateCommand();
            LastHash.CommandText = "SELECT hash FROM audit_events WHERE workspace_id = $ws ORDER BY seq DESC LIMIT 1";
            LastHash.Parameters.Add("$ws", SqliteType.Text);

            Insert = connection.CreateCommand();
            Insert.CommandText = $"INSERT INTO audit_events({string.Join(", ", AuditColumns)}) VALUES ({string.Join(", ", AuditColumns.Select(n => "$" + n))})";
            InsertParameters = AuditColumns.Select(n => Insert.Parameters.Add("$" + n, SqliteType.Text)).ToArray();
            InsertParameters[0].SqliteType = SqliteType.Integer;
            InsertParameters[10].SqliteType = SqliteType.Integer;
            InsertParameters[21].SqliteType = SqliteType.Integer;

            Range = connection.CreateCommand();
            Range.CommandText = "INSERT INTO audit_secret_ranges(workspace_id, bucket, secret_key, first_seq, last_seq) VALUES ($ws, $bucket, $key, $first, $last)";
            ExtendRange = connection.CreateCommand();
            ExtendRange.CommandText =
                """
                UPDATE audit_secret_ranges SET last_seq = $last
                WHERE workspace_id = $ws AND bucket = $bucket AND secret_key = $key AND last_seq >= $first - $gap AND last_seq < $first
                  AND first_seq = (SELECT max(first_seq) FROM audit_secret_ranges WHERE workspace_id = $ws AND bucket = $bucket AND secret_key = $key)
                """;
            foreach (var command in new[] { Range, ExtendRange })
            {
                command.Parameters.Add("$ws", SqliteType.Text);
                command.Parameters.Add("$key", SqliteType.Text);
                command.Parameters.Add("$bucket", SqliteType.Integer);
                command.Parameters.Add("$first", SqliteType.Integer);
                command.Parameters.Add("$last", SqliteType.Integer);
            }

            ExtendRange.Parameters.Add("$gap", SqliteType.Integer).Value = RangeGap;
        }

        public SqliteCommand NextSeq { get; }

        public SqliteCommand LastHash { get; }

        public SqliteCommand Insert { get; }

        public SqliteParameter[] InsertParameters { get; }

        public SqliteCommand Range { get; }

        public SqliteCommand ExtendRange { get; }

        /// <summary>Sets the range both <see cref="Range"/> and <see cref="ExtendRange"/> write.</summary>
        public void BindRange(string workspace, string key, long bucket, long first, long last)
        {
            foreach (var command in new[] { Range, ExtendRange })
            {
                (command.Parameters[0].Value, command.Parameters[1].Value, command.Parameters[2].Value, command.Parameters[3].Value, command.Parameters[4].Value) =
                    (workspace, key, bucket, first, last);
            }
        }

        public void Enlist(SqliteTransaction transaction) =>
            NextSeq.Transaction = LastHash.Transaction = Insert.Transaction = Range.Transaction = ExtendRange.Transaction = transaction;

        public async ValueTask DisposeAsync()
        {
            await NextSeq.DisposeAsync();
            await LastHash.DisposeAsync();
            await Insert.DisposeAsync();
            await Range.DisposeAsync();
            await ExtendRange.DisposeAsync();
        }
    }

    /// <summary>
    /// The audit writer's connection, open between group commits, with its prepared statements and the
    /// <c>last_used_at</c> stamps it knows (as read or written by its own committed transactions). Guarded by the write
    /// lock; forgotten on any other write (<see cref="ForgetLastUseStamps"/>) and dropped, connection and all, after
    /// any failure.
    /// </summary>
    private sealed class AuditSession : IAsyncDisposable
    {
        /// <summary>Past this many remembered stamps the session starts over (a store may hold many secrets).</summary>
        private const int MaxStamps = 50_000;

        private readonly Dictionary<(string Workspace, string Key), string?> _stamps = [];
        private readonly SqliteCommand _stampUpdate;
        private readonly SqliteCommand _stampRead;

        public AuditSession(SqliteConnection connection)
        {
            Connection = connection;
            Statements = new AuditStatements(connection);
            _stampUpdate = connection.CreateCommand();
            _stampUpdate.CommandText =
                """
                UPDATE secrets SET last_used_at = u.at
                FROM (SELECT json_extract(value, '$[0]') AS ws, json_extract(value, '$[1]') AS k, json_extract(value, '$[2]') AS at,
                             json_extract(value, '$[3]') AS stale FROM json_each($uses)) AS u
                WHERE secrets.workspace_id = u.ws AND secrets.secret_key = u.k AND (secrets.last_used_at IS NULL OR secrets.last_used_at < u.stale)
                """;
            _stampUpdate.Parameters.Add("$uses", SqliteType.Text);
            _stampRead = connection.CreateCommand();
            _stampRead.CommandText =
                """
                SELECT s.workspace_id, s.secret_key, s.last_used_at
                FROM json_each($uses) AS u JOIN secrets AS s
                  ON s.workspace_id = json_extract(u.value, '$[0]') AND s.secret_key = json_extract(u.value, '$[1]')
                """;
            _stampRead.Parameters.Add("$uses", SqliteType.Text);
        }

        /// <summary>The <c>wal_autocheckpoint</c> the connection runs with (-1: as opened, not yet checked).</summary>
        public int AutoCheckpointPages { get; set; } = -1;

        public SqliteConnection Connection { get; }

        public AuditStatements Statements { get; }

        /// <summary>Whether the secret's stamp is known to be at least <paramref name="stale"/> (same text order as SQL).</summary>
        public bool KnowsStampAtLeast(string workspace, string key, string stale) =>
            _stamps.TryGetValue((workspace, key), out var stamp) && stamp is not null && string.CompareOrdinal(stamp, stale) >= 0;

        public void Remember(List<KeyValuePair<(string Workspace, string Key), string?>> stamps)
        {
            if (_stamps.Count + stamps.Count > MaxStamps)
            {
                _stamps.Clear();
            }

            foreach (var (key, stamp) in stamps)
            {
                _stamps[key] = stamp;
            }
        }

        public void Forget() => _stamps.Clear();

        /// <summary>The statement that stamps the secrets due and the one that reads their stamps back.</summary>
        public (SqliteCommand Update, SqliteCommand Read) LastUseStatements(SqliteTransaction transaction)
        {
            _stampUpdate.Transaction = _stampRead.Transaction = transaction;
            return (_stampUpdate, _stampRead);
        }

        public async ValueTask DisposeAsync()
        {
            await _stampUpdate.DisposeAsync();
            await _stampRead.DisposeAsync();
            await Statements.DisposeAsync();
            await Connection.DisposeAsync();
        }
    }

    /// <summary>Any write but the audit writer's may change what a secret's stamp is (a deleted, re-created secret).</summary>
    private void ForgetLastUseStamps() => _auditSession?.Forget();

    /// <summary>How long master-key rotation waits for the database before reporting it busy (a running server).</summary>
    private const int RewrapBusyTimeoutSeconds = 2;

    /// <inheritdoc />
    /// <remarks>
    /// Runs on a private, unpooled connection in <c>locking_mode=EXCLUSIVE</c>: its <c>BEGIN IMMEDIATE</c> takes an
    /// exclusive lock on the database file, which SQLite only grants when no other connection — of this process or of
    /// another one, such as a running <c>latch serve</c> — has the database open (so call it on a freshly opened store:
    /// this store's own pooled connections count too; see <c>MasterKeyRotation.RotateSqliteAsync</c>). It waits
    /// <see cref="RewrapBusyTimeoutSeconds"/> seconds at most, then throws <see cref="StoreBusyException"/>.
    /// </remarks>
    public async Task<RewrapOutcome> RewrapKeysAsync(IReadOnlyList<RewrappedKey> keys, byte[]? expectedCheck, byte[] newCheck, IReadOnlyList<AuditEvent> audit, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(keys);
        ArgumentNullException.ThrowIfNull(newCheck);
        ArgumentNullException.ThrowIfNull(audit);
        if (_readOnly)
        {
            throw new InvalidOperationException("This store was opened for inspection only.");
        }

        await _writeLock.WaitAsync(cancellationToken);
        try
        {
            ForgetLastUseStamps();
            var exclusive = new SqliteConnectionStringBuilder(_connectionString)
            {
                Pooling = false,
                DefaultTimeout = RewrapBusyTimeoutSeconds,
            }.ToString();
            await using var connection = new SqliteConnection(exclusive);
            DbTransaction transaction;
            try
            {
                await connection.OpenAsync(cancellationToken);
                await connection.ExecuteAsync(new CommandDefinition(
                    $"PRAGMA locking_mode=EXCLUSIVE; PRAGMA busy_timeout={RewrapBusyTimeoutSeconds * 1000}; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;",
                    cancellationToken: cancellationToken));
                transaction = await connection.BeginTransactionAsync(IsolationLevel.Serializable, cancellationToken);
                // Touch the database inside the transaction so the exclusive lock is certainly held before anything is compared.
                await connection.ExecuteScalarAsync<long>(new CommandDefinition(
                    "SELECT count(*) FROM store_meta", transaction: transaction, cancellationToken: cancellationToken));
            }
            catch (SqliteException e) when (e.SqliteErrorCode is 5 or 6)
            {
                throw new StoreBusyException(
                    "The database is in use by another process (is 'latch serve' running on this data directory?). Stop it and retry.", e);
            }

            await using (transaction)
            {
                // Every data key — every generation of every workspace — must be in the plan, each exactly once.
                var dataKeys = await connection.ExecuteScalarAsync<long>(new CommandDefinition(
                    "SELECT count(*) FROM data_keys", transaction: transaction, cancellationToken: cancellationToken));
                if (dataKeys != keys.Count || keys.Select(k => (k.WorkspaceId, k.Generation)).Distinct().Count() != keys.Count)
                {
                    return RewrapOutcome.StoreChanged;
                }

                foreach (var key in keys)
                {
                    var changed = await connection.ExecuteAsync(new CommandDefinition(
                        "UPDATE data_keys SET wrapped_key = @replacement WHERE workspace_id = @id AND generation = @generation AND wrapped_key = @expected",
                        new { replacement = key.Replacement, id = key.WorkspaceId, generation = key.Generation, expected = key.Expected }, transaction, cancellationToken: cancellationToken));
                    if (changed != 1)
                    {
                        return RewrapOutcome.StoreChanged;
                    }
                }

                var checkChanged = expectedCheck is null
                    ? await connection.ExecuteAsync(new CommandDefinition(
                        "INSERT INTO store_meta(name, value) VALUES ('master_key_check', @newCheck) ON CONFLICT(name) DO NOTHING",
                        new { newCheck }, transaction, cancellationToken: cancellationToken))
                    : await connection.ExecuteAsync(new CommandDefinition(
                        "UPDATE store_meta SET value = @newCheck WHERE name = 'master_key_check' AND value = @expectedCheck",
                        new { newCheck, expectedCheck }, transaction, cancellationToken: cancellationToken));
                if (checkChanged != 1)
                {
                    return RewrapOutcome.StoreChanged;
                }

                await AppendAsync(connection, transaction, audit, cancellationToken);
                await transaction.CommitAsync(CancellationToken.None);
                return RewrapOutcome.Rewrapped;
            }
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (_checkpointStop is not null)
        {
            await _checkpointStop.CancelAsync();
            await _checkpointLoop!;
            _checkpointStop.Dispose();
        }

        // Wait for a commit in progress, and keep the lock: nothing may open a new audit session after this one is closed.
        await _writeLock.WaitAsync();
        if (_auditSession is not null)
        {
            await _auditSession.DisposeAsync();
            _auditSession = null;
        }

        _writeLock.Dispose();
        // Close this store's pooled connections only (the last close checkpoints the WAL); other stores in the
        // process keep theirs.
        using (var connection = new SqliteConnection(_connectionString))
        {
            SqliteConnection.ClearPool(connection);
        }

        if (_temporaryCopy is not null)
        {
            Directory.Delete(_temporaryCopy, recursive: true);
        }
    }

    private const string SecretSelect =
        "SELECT secret_key AS SecretKey, description, token_type AS TokenType, scope, envs, expires_at AS ExpiresAt, revoked, current_version AS CurrentVersion, created_at AS CreatedAt, updated_at AS UpdatedAt, last_used_at AS LastUsedAt FROM secrets";

    private const string ConfigSelect =
        "SELECT kind, parent, name, body, created_at AS CreatedAt, updated_at AS UpdatedAt FROM configs";

    private static readonly string AuditSelect = AuditSelectFrom("") + " FROM audit_events";

    /// <summary>The audit row's columns, each qualified with <paramref name="table"/> (e.g. <c>a.</c>) for joins.</summary>
    private static string AuditSelectFrom(string table) =>
        $"SELECT {table}seq AS Seq, {table}id AS Id, {table}workspace_id AS WorkspaceId, {table}at AS At, {table}action AS Action, {table}actor_key_id AS ActorKeyId, "
        + $"{table}actor_name AS ActorName, {table}request_id AS RequestId, {table}client AS Client, {table}secret_key AS SecretKey, {table}version AS Version, "
        + $"{table}product AS Product, {table}app AS App, {table}env AS Env, {table}context AS Context, {table}path AS Path, {table}code AS Code, "
        + $"{table}detail AS Detail, {table}prev_hash AS PrevHash, {table}hash AS Hash, {table}refs AS Refs, {table}ref_count AS RefCount";

    private const string ApiKeySelect =
        "SELECT id, workspace_id AS WorkspaceId, name, role, apps, envs, expires_at AS ExpiresAt, is_bootstrap AS IsBootstrap, created_at AS CreatedAt, key_hash AS KeyHash FROM api_keys";

    internal static string Json(IEnumerable<string> values) => JsonSerializer.Serialize(values, StoreJson.Default.IEnumerableString);

    internal static IReadOnlyList<string> FromJson(string json) => JsonSerializer.Deserialize(json, StoreJson.Default.StringArray) ?? [];

    internal static string Time(DateTimeOffset value) => value.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture);

    internal static DateTimeOffset ParseTime(string value) => DateTimeOffset.Parse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal);

    private static Workspace? ToWorkspace(WorkspaceRow? row) => row is null ? null : new Workspace(row.Id, row.Name, ParseTime(row.CreatedAt));

#pragma warning disable CA1812 // Instantiated by Dapper.
    private sealed class WorkspaceRow
    {
        public string Id { get; set; } = "";
        public string Name { get; set; } = "";
        public string CreatedAt { get; set; } = "";
    }

    private sealed class DataKeyRow
    {
        public string WorkspaceId { get; set; } = "";
        public long Generation { get; set; }
        public byte[] WrappedKey { get; set; } = [];
        public long EncryptionsReserved { get; set; }
        public string CreatedAt { get; set; } = "";
        public string? RetiredAt { get; set; }

        public DataKeyRecord ToRecord() =>
            new(WorkspaceId, (int)Generation, WrappedKey, EncryptionsReserved, ParseTime(CreatedAt), RetiredAt is null ? null : ParseTime(RetiredAt));
    }

    private sealed class ConfigRow
    {
        public string Kind { get; set; } = "";
        public string Parent { get; set; } = "";
        public string Name { get; set; } = "";
        public string Body { get; set; } = "";
        public string CreatedAt { get; set; } = "";
        public string UpdatedAt { get; set; } = "";

        public ConfigDocument ToDocument() => new(Kind, Parent, Name, Body, ParseTime(CreatedAt), ParseTime(UpdatedAt));
    }

    private sealed class AuditRow
    {
        public long Seq { get; set; }
        public string Id { get; set; } = "";
        public string WorkspaceId { get; set; } = "";
        public string At { get; set; } = "";
        public string Action { get; set; } = "";
        public string? ActorKeyId { get; set; }
        public string? ActorName { get; set; }
        public string? RequestId { get; set; }
        public string? Client { get; set; }
        public string? SecretKey { get; set; }
        public long? Version { get; set; }
        public string? Product { get; set; }
        public string? App { get; set; }
        public string? Env { get; set; }
        public string? Context { get; set; }
        public string? Path { get; set; }
        public string? Code { get; set; }
        public string? Detail { get; set; }
        public string PrevHash { get; set; } = "";
        public string Hash { get; set; } = "";
        public string? Refs { get; set; }
        public long? RefCount { get; set; }

        public AuditEvent ToEvent() => new()
        {
            Sequence = Seq, Id = Id, WorkspaceId = WorkspaceId, At = ParseTime(At), Action = Action, ActorKeyId = ActorKeyId, ActorName = ActorName,
            RequestId = RequestId, Client = Client, SecretKey = SecretKey, Version = Version is null ? null : (int)Version, Product = Product, App = App,
            Env = Env, Context = Context, Path = Path, Code = Code, Detail = Detail, PrevHash = PrevHash, Hash = Hash,
        };

        /// <summary>This row's events, oldest first: itself, or the events of a compact resolution row.</summary>
        public void Expand(List<AuditEvent> into)
        {
            if (Refs is null)
            {
                into.Add(ToEvent());
            }
            else
            {
                CompactResolutions.Expand(ToEvent(), Refs, RefCount ?? 0, into);
            }
        }
    }

    private sealed class RecentRow
    {
        public string? Product { get; set; }
        public string? App { get; set; }
        public string? Env { get; set; }
        public string? Context { get; set; }
        public long Count { get; set; }
        public string LastAt { get; set; } = "";
    }

    private sealed class DeliveryRow
    {
        public long Seq { get; set; }
        public string Id { get; set; } = "";
        public string Product { get; set; } = "";
        public string Webhook { get; set; } = "";
        public string Env { get; set; } = "";
        public string ReceivedAt { get; set; } = "";
        public string Headers { get; set; } = "{}";
        public byte[] Body { get; set; } = [];
    }

    private sealed class VersionRow
    {
        public long Version { get; set; }
        public string CreatedAt { get; set; } = "";
        public string? CreatedBy { get; set; }
    }

    private sealed class ApiKeyRow
    {
        public string Id { get; set; } = "";
        public string WorkspaceId { get; set; } = "";
        public string Name { get; set; } = "";
        public string Role { get; set; } = "";
        public string Apps { get; set; } = "[]";
        public string Envs { get; set; } = "[]";
        public long? ExpiresAt { get; set; }
        public long IsBootstrap { get; set; }
        public string CreatedAt { get; set; } = "";
        public byte[] KeyHash { get; set; } = [];

        public ApiKeyRecord ToRecord() =>
            new(Id, WorkspaceId, Name, Role, FromJson(Apps), FromJson(Envs), ExpiresAt, IsBootstrap != 0, ParseTime(CreatedAt));
    }

    private sealed class SecretRow
    {
        public string SecretKey { get; set; } = "";
        public string? Description { get; set; }
        public string? TokenType { get; set; }
        public string Scope { get; set; } = "[]";
        public string Envs { get; set; } = "[]";
        public long? ExpiresAt { get; set; }
        public long Revoked { get; set; }
        public long CurrentVersion { get; set; }
        public string CreatedAt { get; set; } = "";
        public string UpdatedAt { get; set; } = "";
        public string? LastUsedAt { get; set; }

        public SecretRecord ToRecord() =>
            new(SecretKey, Description, TokenType, FromJson(Scope), FromJson(Envs), ExpiresAt, Revoked != 0, (int)CurrentVersion,
                ParseTime(CreatedAt), ParseTime(UpdatedAt), LastUsedAt is null ? null : ParseTime(LastUsedAt));
    }
#pragma warning restore CA1812
}

[System.Text.Json.Serialization.JsonSerializable(typeof(IEnumerable<string>))]
[System.Text.Json.Serialization.JsonSerializable(typeof(string[]))]
internal sealed partial class StoreJson : System.Text.Json.Serialization.JsonSerializerContext;

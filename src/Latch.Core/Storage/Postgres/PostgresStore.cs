using System.Buffers.Binary;
using System.Data;
using System.Security.Cryptography;
using System.Text;
using Dapper;
using Npgsql;
using NpgsqlTypes;

namespace Latch.Core.Storage.Postgres;

/// <summary>
/// The shared store: one PostgreSQL database used by one or several Latch instances. Same contract and same models
/// as <see cref="Sqlite.SqliteStore"/>; every mutating call is one transaction that also appends its audit events
/// and announces what changed on <see cref="NotifyChannel"/> (delivered at commit, so never for a rolled-back change).
/// </summary>
/// <remarks>
/// <para>
/// Audit chain with several writers: every transaction that appends audit events first takes a transaction-scoped
/// advisory lock per workspace it writes to (<c>pg_advisory_xact_lock</c>, in a fixed order so two transactions
/// never deadlock), and only then reads the workspace's last hash and inserts its events. The lock is released after
/// the commit is visible, so the next writer of that workspace links to it, and it takes its <c>seq</c> values after
/// the previous writer's: sequence order is chain order. The lock is taken before any row is touched, so management
/// changes and group-committed resolution batches serialise per workspace without lock-order deadlocks.
/// </para>
/// <para>
/// Durability: "acknowledged" means committed and flushed. <see cref="OpenAsync"/> refuses a server or database whose
/// <c>synchronous_commit</c> is <c>off</c> (a commit could then be acknowledged and lost in a crash) rather than
/// forcing it <c>on</c> for Latch's sessions, which would silently downgrade <c>remote_apply</c>/<c>remote_write</c>
/// set up for synchronous replication.
/// </para>
/// </remarks>
public sealed class PostgresStore : ILatchStore
{
    /// <summary>The <c>LISTEN</c>/<c>NOTIFY</c> channel on which committed changes are announced (payload: <see cref="StoreChange.ToPayload"/>).</summary>
    public const string NotifyChannel = "latch_changes";

    /// <summary>
    /// Prefix of the <c>application_name</c> of this store's sessions (<c>latch:</c> + an id per store instance), so
    /// master-key rotation can tell whether another Latch instance is connected. Inspection stores (read-only) use
    /// <c>latch-inspect:</c> instead and do not count.
    /// </summary>
    public const string ApplicationNamePrefix = "latch:";

    private const string InspectionApplicationNamePrefix = "latch-inspect:";

    /// <summary>How long master-key rotation waits for other Latch sessions to go (e.g. a server that just stopped) before reporting the store busy.</summary>
    private static readonly TimeSpan RewrapBusyTimeout = TimeSpan.FromSeconds(2);

    // Advisory-lock namespaces (the two-int4 key space, distinct from Evolve's single-bigint lock).
    private const int AuditChainLockClass = 0x4C41_5443; // "LATC"
    private const int MigrationLockClass = 0x4C41_544D; // "LATM"
    private const int MigrationLockKey = 1;

    private readonly bool _readOnly;
    private readonly string _applicationName;

    private PostgresStore(NpgsqlDataSource dataSource, bool readOnly, string applicationName)
    {
        DataSource = dataSource;
        _readOnly = readOnly;
        _applicationName = applicationName;
    }

    /// <summary>
    /// The pooled data source of this store (the change listener may open its own connection from it). Its sessions
    /// are named <see cref="ApplicationNamePrefix"/> + an id of this store instance.
    /// </summary>
    public NpgsqlDataSource DataSource { get; }

    /// <summary>
    /// Opens the store: checks that commits are durable (<c>synchronous_commit</c> is not <c>off</c>), applies the
    /// numbered migrations (Storage/Migrations/Postgres/V{n}__*.sql, recorded in <c>schema_migrations</c>) and returns
    /// the store. Several instances may start at once: migrations run under a session advisory lock, so the others
    /// wait for the first and then find nothing left to apply.
    /// </summary>
    /// <exception cref="InvalidOperationException">The server does not make commits durable.</exception>
    public static async Task<PostgresStore> OpenAsync(string connectionString, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(connectionString);
        var applicationName = NewApplicationName();
        var dataSource = BuildDataSource(connectionString, applicationName, readOnly: false);
        try
        {
            await using (var connection = await dataSource.OpenConnectionAsync(cancellationToken))
            {
                var synchronousCommit = await connection.ExecuteScalarAsync<string>(new CommandDefinition(
                    "SHOW synchronous_commit", cancellationToken: cancellationToken));
                if (string.Equals(synchronousCommit, "off", StringComparison.OrdinalIgnoreCase))
                {
                    throw new InvalidOperationException(
                        "PostgreSQL has synchronous_commit = off for this database and user: a change Latch acknowledges could be lost in a crash. " +
                        "Set it to on (e.g. ALTER DATABASE <name> SET synchronous_commit = on) and restart Latch.");
                }

                // Blocks (rather than Evolve's 3-second polling) while another instance migrates.
                await connection.ExecuteAsync(new CommandDefinition(
                    "SELECT pg_advisory_lock(@cls, @key)", new { cls = MigrationLockClass, key = MigrationLockKey }, cancellationToken: cancellationToken));
                try
                {
                    var evolve = new EvolveDb.Evolve(connection, _ => { })
                    {
                        EmbeddedResourceAssemblies = [typeof(PostgresStore).Assembly],
                        EmbeddedResourceFilters = ["Latch.Core.Storage.Migrations.Postgres."],
                        IsEraseDisabled = true,
                        MetadataTableName = "schema_migrations",
                        EnableClusterMode = true,
                    };
                    evolve.Migrate();
                }
                finally
                {
                    await connection.ExecuteAsync(new CommandDefinition(
                        "SELECT pg_advisory_unlock(@cls, @key)", new { cls = MigrationLockClass, key = MigrationLockKey }, cancellationToken: CancellationToken.None));
                }
            }

            return new PostgresStore(dataSource, readOnly: false, applicationName);
        }
        catch
        {
            await dataSource.DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// Opens the store for start-up checks (the master key must open the check value and every data key before
    /// anything is migrated or written): no migration runs, and every session is read-only
    /// (<c>default_transaction_read_only</c>), so nothing in the database changes. Returns null when the schema has not
    /// been created yet. Mutating calls on the returned store fail.
    /// </summary>
    public static async Task<PostgresStore?> OpenForInspectionAsync(string connectionString, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(connectionString);
        var applicationName = NewApplicationName(readOnly: true);
        var dataSource = BuildDataSource(connectionString, applicationName, readOnly: true);
        try
        {
            bool hasSchema;
            await using (var connection = await dataSource.OpenConnectionAsync(cancellationToken))
            {
                hasSchema = await connection.ExecuteScalarAsync<bool>(new CommandDefinition(
                    "SELECT to_regclass('store_meta') IS NOT NULL", cancellationToken: cancellationToken));
            }

            if (!hasSchema)
            {
                await dataSource.DisposeAsync();
                return null;
            }

            return new PostgresStore(dataSource, readOnly: true, applicationName);
        }
        catch
        {
            await dataSource.DisposeAsync();
            throw;
        }
    }

    private static string NewApplicationName(bool readOnly = false) =>
        (readOnly ? InspectionApplicationNamePrefix : ApplicationNamePrefix) + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));

    private static NpgsqlDataSource BuildDataSource(string connectionString, string applicationName, bool readOnly)
    {
        var builder = new NpgsqlDataSourceBuilder(connectionString);
        builder.ConnectionStringBuilder.ApplicationName = applicationName;
        if (readOnly)
        {
            builder.ConnectionStringBuilder.Options = ((builder.ConnectionStringBuilder.Options ?? "") + " -c default_transaction_read_only=on").Trim();
        }

        return builder.Build();
    }

    private void ThrowIfReadOnly()
    {
        if (_readOnly)
        {
            throw new InvalidOperationException("This store was opened for inspection only.");
        }
    }

    /// <summary>Runs <paramref name="work"/> in one READ COMMITTED transaction holding the audit-chain locks of <paramref name="workspaces"/>.</summary>
    private async Task<T> WriteAsync<T>(IEnumerable<string> workspaces, Func<NpgsqlConnection, NpgsqlTransaction, Task<T>> work, CancellationToken cancellationToken)
    {
        ThrowIfReadOnly();
        await using var connection = await DataSource.OpenConnectionAsync(cancellationToken);
        // READ COMMITTED on purpose: each statement sees what committed before it started, so the last hash read
        // after the chain lock is granted is the one the previous writer committed.
        await using var transaction = await connection.BeginTransactionAsync(IsolationLevel.ReadCommitted, cancellationToken);
        await LockChainsAsync(connection, transaction, workspaces, cancellationToken);
        var result = await work(connection, transaction);
        await transaction.CommitAsync(CancellationToken.None);
        return result;
    }

    private static IEnumerable<string> Chains(string workspaceId, IEnumerable<AuditEvent> audit) =>
        audit.Select(e => e.WorkspaceId).Append(workspaceId);

    private static async Task LockChainsAsync(NpgsqlConnection c, NpgsqlTransaction t, IEnumerable<string> workspaces, CancellationToken cancellationToken)
    {
        // A stable 32-bit key per workspace (string.GetHashCode differs per process); collisions only over-serialise.
        // Sorted, so transactions that lock several workspaces cannot deadlock each other.
        var keys = workspaces.Distinct(StringComparer.Ordinal)
            .Select(w => BinaryPrimitives.ReadInt32BigEndian(SHA256.HashData(Encoding.UTF8.GetBytes(w))))
            .Distinct()
            .Order()
            .ToList();
        foreach (var key in keys)
        {
            await c.ExecuteAsync(new CommandDefinition(
                "SELECT pg_advisory_xact_lock(@cls, @key)", new { cls = AuditChainLockClass, key }, t, cancellationToken: cancellationToken));
        }
    }

    /// <summary>Largest payload sent as is; PostgreSQL refuses payloads of 8000 bytes or more (which would fail the change).</summary>
    private const int MaxPayloadBytes = 7000;

    private static Task NotifyAsync(NpgsqlConnection c, NpgsqlTransaction t, IEnumerable<StoreChange> changes, CancellationToken cancellationToken) =>
        c.ExecuteAsync(new CommandDefinition(
            "SELECT pg_notify(@channel, p) FROM unnest(@payloads) AS p",
            new
            {
                channel = NotifyChannel,
                // An oversized name widens the change to its whole kind in the workspace (an extra invalidation is harmless).
                payloads = changes
                    .Select(x => Encoding.UTF8.GetByteCount(x.ToPayload()) <= MaxPayloadBytes ? x : x with { Name = null })
                    .Select(x => x.ToPayload())
                    .ToArray(),
            }, t, cancellationToken: cancellationToken));

    private static Task NotifyAsync(NpgsqlConnection c, NpgsqlTransaction t, StoreChange change, CancellationToken cancellationToken) =>
        NotifyAsync(c, t, [change], cancellationToken);

    private async Task<T> ReadAsync<T>(Func<NpgsqlConnection, Task<T>> work, CancellationToken cancellationToken)
    {
        await using var connection = await DataSource.OpenConnectionAsync(cancellationToken);
        return await work(connection);
    }

    /// <inheritdoc />
    public Task<byte[]?> GetMetaAsync(string name, CancellationToken cancellationToken) =>
        ReadAsync(c => c.QuerySingleOrDefaultAsync<byte[]?>(new CommandDefinition(
            "SELECT value FROM store_meta WHERE name = @name", new { name }, cancellationToken: cancellationToken)), cancellationToken);

    /// <inheritdoc />
    public Task SetMetaIfAbsentAsync(string name, byte[] value, CancellationToken cancellationToken) =>
        WriteAsync([], (c, t) => c.ExecuteAsync(new CommandDefinition(
            "INSERT INTO store_meta(name, value) VALUES (@name, @value) ON CONFLICT(name) DO NOTHING",
            new { name, value }, t, cancellationToken: cancellationToken)), cancellationToken);

    /// <inheritdoc />
    public Task<long> CountApiKeysAsync(CancellationToken cancellationToken) =>
        ReadAsync(c => c.ExecuteScalarAsync<long>(new CommandDefinition(
            "SELECT count(*) FROM api_keys", cancellationToken: cancellationToken)), cancellationToken);

    /// <inheritdoc />
    public Task CreateWorkspaceAsync(Workspace workspace, byte[] wrappedKey, ApiKeyRecord ownerKey, byte[] ownerKeyHash, IReadOnlyList<AuditEvent> audit, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(workspace);
        ArgumentNullException.ThrowIfNull(ownerKey);
        ArgumentNullException.ThrowIfNull(audit);
        return WriteAsync(Chains(workspace.Id, audit), async (c, t) =>
        {
            await c.ExecuteAsync(new CommandDefinition(
                """
                INSERT INTO workspaces(id, name, created_at) VALUES (@Id, @Name, @createdAt);
                INSERT INTO data_keys(workspace_id, generation, wrapped_key, encryptions_reserved, created_at) VALUES (@Id, 1, @wrappedKey, 0, @createdAt);
                """,
                new { workspace.Id, workspace.Name, wrappedKey, createdAt = Ticks(workspace.CreatedAt) }, t, cancellationToken: cancellationToken));
            await InsertApiKeyAsync(c, t, ownerKey, ownerKeyHash, cancellationToken);
            await AppendAsync(c, t, audit, cancellationToken);
            await NotifyAsync(c, t,
                [new StoreChange(workspace.Id, StoreChangeKind.Workspace, null), new StoreChange(workspace.Id, StoreChangeKind.ApiKey, ownerKey.Id)],
                cancellationToken);
            return 0;
        }, cancellationToken);
    }

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

    /// <inheritdoc />
    /// <remarks>
    /// As with SQLite, a store of an earlier schema (read by the start-up check, before migrations) answers each
    /// workspace's one key as generation 1, as migration 3 will store it.
    /// </remarks>
    public async Task<IReadOnlyList<DataKeyRecord>> ListDataKeysAsync(string? workspaceId, CancellationToken cancellationToken)
    {
        if (!_hasDataKeys)
        {
            _hasDataKeys = await ReadAsync(c => c.ExecuteScalarAsync<bool>(new CommandDefinition(
                "SELECT to_regclass('data_keys') IS NOT NULL", cancellationToken: cancellationToken)), cancellationToken);
        }

        var sql = _hasDataKeys
            ? """
              SELECT workspace_id AS WorkspaceId, generation, wrapped_key AS WrappedKey, encryptions_reserved AS EncryptionsReserved,
                     created_at AS CreatedAt, retired_at AS RetiredAt
              FROM data_keys WHERE CAST(@workspaceId AS text) IS NULL OR workspace_id = @workspaceId ORDER BY workspace_id, generation
              """
            : """
              SELECT id AS WorkspaceId, 1 AS Generation, wrapped_key AS WrappedKey, CAST(0 AS bigint) AS EncryptionsReserved, created_at AS CreatedAt,
                     CAST(NULL AS bigint) AS RetiredAt
              FROM workspaces WHERE CAST(@workspaceId AS text) IS NULL OR id = @workspaceId ORDER BY id
              """;
        return await ReadAsync(async c =>
        {
            var rows = await c.QueryAsync<DataKeyRow>(new CommandDefinition(sql, new { workspaceId }, cancellationToken: cancellationToken));
            return (IReadOnlyList<DataKeyRecord>)rows.Select(r => r.ToRecord()).ToList();
        }, cancellationToken);
    }

    /// <inheritdoc />
    /// <remarks>
    /// One short transaction: the generation's row is locked (<c>FOR UPDATE</c>, which re-reads it if another server
    /// changed it meanwhile), <c>min(count, limit - reserved)</c> is granted and added. Servers reserving at once queue
    /// on the row lock, so the grants never add up to more than <paramref name="limit"/>.
    /// </remarks>
    public Task<long> ReserveEncryptionsAsync(string workspaceId, int generation, long count, long limit, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        return WriteAsync([], async (c, t) =>
        {
            var reserved = await c.QuerySingleOrDefaultAsync<long?>(new CommandDefinition(
                "SELECT encryptions_reserved FROM data_keys WHERE workspace_id = @workspaceId AND generation = @generation AND retired_at IS NULL FOR UPDATE",
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
    /// <remarks>Serialised per workspace by the audit-chain lock, so of two servers adding the same generation one gets false.</remarks>
    public Task<bool> AddDataKeyAsync(string workspaceId, int generation, byte[] wrappedKey, DateTimeOffset at, AuditEvent audit, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(audit);
        return WriteAsync(Chains(workspaceId, [audit]), async (c, t) =>
        {
            var newest = await c.ExecuteScalarAsync<int?>(new CommandDefinition(
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
                new { workspaceId, generation, wrappedKey, at = Ticks(at) }, t, cancellationToken: cancellationToken));
            await AppendAsync(c, t, [audit], cancellationToken);
            await NotifyAsync(c, t, new StoreChange(workspaceId, StoreChangeKind.Workspace, null), cancellationToken);
            return true;
        }, cancellationToken);
    }

    /// <inheritdoc />
    public Task CreateApiKeyAsync(ApiKeyRecord key, byte[] keyHash, AuditEvent audit, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(audit);
        return WriteAsync(Chains(key.WorkspaceId, [audit]), async (c, t) =>
        {
            await InsertApiKeyAsync(c, t, key, keyHash, cancellationToken);
            await AppendAsync(c, t, [audit], cancellationToken);
            await NotifyAsync(c, t, new StoreChange(key.WorkspaceId, StoreChangeKind.ApiKey, key.Id), cancellationToken);
            return 0;
        }, cancellationToken);
    }

    private static Task InsertApiKeyAsync(NpgsqlConnection c, NpgsqlTransaction t, ApiKeyRecord key, byte[] keyHash, CancellationToken cancellationToken) =>
        c.ExecuteAsync(new CommandDefinition(
            """
            INSERT INTO api_keys(id, workspace_id, name, role, apps, envs, expires_at, key_hash, is_bootstrap, created_at)
            VALUES (@Id, @WorkspaceId, @Name, @Role, @apps, @envs, @ExpiresAt, @keyHash, @IsBootstrap, @createdAt)
            """,
            new
            {
                key.Id, key.WorkspaceId, key.Name, key.Role, apps = key.Apps.ToArray(), envs = key.Envs.ToArray(), key.ExpiresAt,
                keyHash, key.IsBootstrap, createdAt = Ticks(key.CreatedAt),
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
    public Task<bool> RevokeApiKeyAsync(string workspaceId, string keyId, DateTimeOffset at, AuditEvent audit, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(audit);
        return WriteAsync(Chains(workspaceId, [audit]), async (c, t) =>
        {
            var changed = await c.ExecuteAsync(new CommandDefinition(
                "UPDATE api_keys SET revoked_at = @at WHERE workspace_id = @workspaceId AND id = @keyId AND revoked_at IS NULL",
                new { workspaceId, keyId, at = Ticks(at) }, t, cancellationToken: cancellationToken));
            if (changed == 0)
            {
                return false;
            }

            await AppendAsync(c, t, [audit], cancellationToken);
            await NotifyAsync(c, t, new StoreChange(workspaceId, StoreChangeKind.ApiKey, keyId), cancellationToken);
            return true;
        }, cancellationToken);
    }

    /// <inheritdoc />
    public Task<bool> CreateSecretAsync(string workspaceId, SecretRecord secret, SealedValue sealedValue, string? createdBy, AuditEvent audit, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(secret);
        ArgumentNullException.ThrowIfNull(sealedValue);
        ArgumentNullException.ThrowIfNull(audit);
        return WriteAsync(Chains(workspaceId, [audit]), async (c, t) =>
        {
            var inserted = await c.ExecuteAsync(new CommandDefinition(
                """
                INSERT INTO secrets(workspace_id, secret_key, description, token_type, scope, envs, expires_at, revoked, current_version, created_at, updated_at)
                VALUES (@workspaceId, @Key, @Description, @TokenType, @scope, @envs, @ExpiresAt, @Revoked, @Version, @createdAt, @updatedAt)
                ON CONFLICT(workspace_id, secret_key) DO NOTHING
                """,
                new
                {
                    workspaceId, secret.Key, secret.Description, secret.TokenType, scope = secret.Scope.ToArray(), envs = secret.Envs.ToArray(),
                    secret.ExpiresAt, secret.Revoked, secret.Version, createdAt = Ticks(secret.CreatedAt), updatedAt = Ticks(secret.UpdatedAt),
                }, t, cancellationToken: cancellationToken));
            if (inserted == 0)
            {
                return false;
            }

            await InsertVersionAsync(c, t, workspaceId, secret.Key, secret.Version, sealedValue, secret.UpdatedAt, createdBy, cancellationToken);
            await AppendAsync(c, t, [audit], cancellationToken);
            await NotifyAsync(c, t, new StoreChange(workspaceId, StoreChangeKind.Secret, secret.Key), cancellationToken);
            return true;
        }, cancellationToken);
    }

    private static Task InsertVersionAsync(NpgsqlConnection c, NpgsqlTransaction t, string workspaceId, string key, int version, SealedValue sealedValue, DateTimeOffset at, string? createdBy, CancellationToken cancellationToken) =>
        c.ExecuteAsync(new CommandDefinition(
            """
            INSERT INTO secret_versions(workspace_id, secret_key, version, sealed_value, key_generation, created_at, created_by)
            VALUES (@workspaceId, @key, @version, @sealed, @generation, @at, @createdBy)
            """,
            new { workspaceId, key, version, @sealed = sealedValue.Bytes, generation = sealedValue.KeyGeneration, at = Ticks(at), createdBy }, t, cancellationToken: cancellationToken));

    /// <inheritdoc />
    public Task<SecretRecord?> GetSecretAsync(string workspaceId, string key, CancellationToken cancellationToken) =>
        ReadAsync(async c => (await c.QuerySingleOrDefaultAsync<SecretRow>(new CommandDefinition(
            SecretSelect + " WHERE workspace_id = @workspaceId AND secret_key = @key", new { workspaceId, key }, cancellationToken: cancellationToken)))?.ToRecord(), cancellationToken);

    /// <inheritdoc />
    public Task<IReadOnlyList<SecretRecord>> GetSecretsAsync(string workspaceId, IReadOnlyCollection<string> keys, CancellationToken cancellationToken) =>
        ReadAsync(async c =>
        {
            ArgumentNullException.ThrowIfNull(keys);
            if (keys.Count == 0)
            {
                return (IReadOnlyList<SecretRecord>)[];
            }

            // One array parameter for any number of keys.
            var rows = await c.QueryAsync<SecretRow>(new CommandDefinition(
                SecretSelect + " WHERE workspace_id = @workspaceId AND secret_key = ANY(@keys)",
                new { workspaceId, keys = keys.ToArray() }, cancellationToken: cancellationToken));
            return (IReadOnlyList<SecretRecord>)rows.Select(r => r.ToRecord()).ToList();
        }, cancellationToken);

    /// <inheritdoc />
    public Task<IReadOnlyList<SecretRecord>> ListSecretsAsync(string workspaceId, SecretQuery query, DateTimeOffset now, CancellationToken cancellationToken) =>
        ReadAsync(async c =>
        {
            ArgumentNullException.ThrowIfNull(query);
            var sql = new StringBuilder(SecretSelect).Append(" WHERE workspace_id = @workspaceId");
            var nowSeconds = now.ToUnixTimeSeconds();
            if (query.AfterKey is not null)
            {
                sql.Append(" AND secret_key > @AfterKey");
            }

            if (query.App is not null)
            {
                // Same rule as SQLite: an entry equal to the app, or ending in ':' + app (product-qualified).
                sql.Append(" AND (cardinality(scope) = 0 OR EXISTS (SELECT 1 FROM unnest(secrets.scope) AS s(value) WHERE s.value = @App OR (length(s.value) > length(@App) + 1 AND right(s.value, length(@App) + 1) = ':' || @App)))");
            }

            if (query.Env is not null)
            {
                sql.Append(" AND (cardinality(envs) = 0 OR @Env = ANY(envs))");
            }

            switch (query.Status)
            {
                case SecretStatus.Revoked:
                    sql.Append(" AND revoked");
                    break;
                case SecretStatus.Expired:
                    sql.Append(" AND NOT revoked AND expires_at IS NOT NULL AND expires_at <= @nowSeconds");
                    break;
                case SecretStatus.Active:
                    sql.Append(" AND NOT revoked AND (expires_at IS NULL OR expires_at > @nowSeconds)");
                    break;
                default:
                    break;
            }

            if (query.ExpiringWithinSeconds is not null)
            {
                sql.Append(" AND NOT revoked AND expires_at IS NOT NULL AND expires_at > @nowSeconds AND expires_at <= @horizon");
            }

            if (query.Search is not null)
            {
                // COLLATE "C": lower() folds ASCII only, like SQLite's.
                sql.Append(" AND (strpos(lower(secret_key), lower(CAST(@Search AS text) COLLATE \"C\")) > 0 OR strpos(lower(coalesce(description, '')), lower(CAST(@Search AS text) COLLATE \"C\")) > 0)");
            }

            sql.Append(" ORDER BY secret_key LIMIT @Limit");
            var rows = await c.QueryAsync<SecretRow>(new CommandDefinition(sql.ToString(), new
            {
                workspaceId,
                query.AfterKey,
                query.App,
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
        ReadAsync(async c => await c.QuerySingleOrDefaultAsync<(byte[] Sealed, int Generation)?>(new CommandDefinition(
            "SELECT sealed_value, key_generation FROM secret_versions WHERE workspace_id = @workspaceId AND secret_key = @key AND version = @version",
            new { workspaceId, key, version }, cancellationToken: cancellationToken)) is { } row
            ? new SealedValue(row.Generation, row.Sealed)
            : null, cancellationToken);

    /// <inheritdoc />
    public Task<IReadOnlyDictionary<string, SealedValue>> GetSealedValuesAsync(string workspaceId, IReadOnlyCollection<(string Key, int Version)> versions, CancellationToken cancellationToken) =>
        ReadAsync(async c =>
        {
            ArgumentNullException.ThrowIfNull(versions);
            if (versions.Count == 0)
            {
                return (IReadOnlyDictionary<string, SealedValue>)new Dictionary<string, SealedValue>(StringComparer.Ordinal);
            }

            // One statement for every (key, version) pair: the pairs travel as two parallel arrays.
            var rows = await c.QueryAsync<(string Key, byte[] Sealed, int Generation)>(new CommandDefinition(
                """
                SELECT secret_key, sealed_value, key_generation FROM secret_versions
                WHERE workspace_id = @workspaceId
                  AND (secret_key, version) IN (SELECT k, v FROM unnest(CAST(@keys AS text[]), CAST(@numbers AS integer[])) AS p(k, v))
                """,
                new { workspaceId, keys = versions.Select(v => v.Key).ToArray(), numbers = versions.Select(v => v.Version).ToArray() },
                cancellationToken: cancellationToken));
            return (IReadOnlyDictionary<string, SealedValue>)rows.ToDictionary(r => r.Key, r => new SealedValue(r.Generation, r.Sealed), StringComparer.Ordinal);
        }, cancellationToken);

    /// <inheritdoc />
    public Task<IReadOnlyList<SecretVersionInfo>> ListVersionsAsync(string workspaceId, string key, CancellationToken cancellationToken) =>
        ReadAsync(async c =>
        {
            var rows = await c.QueryAsync<VersionRow>(new CommandDefinition(
                "SELECT version, created_at AS CreatedAt, created_by AS CreatedBy FROM secret_versions WHERE workspace_id = @workspaceId AND secret_key = @key ORDER BY version DESC",
                new { workspaceId, key }, cancellationToken: cancellationToken));
            return (IReadOnlyList<SecretVersionInfo>)rows.Select(r => new SecretVersionInfo(r.Version, FromTicks(r.CreatedAt), r.CreatedBy)).ToList();
        }, cancellationToken);

    /// <inheritdoc />
    /// <remarks>
    /// Concurrent updates of one secret serialise on the workspace's chain lock (and the row lock); the loser's
    /// <c>current_version</c> check then fails, so exactly one wins and a version is never stored twice.
    /// </remarks>
    public Task<UpdateResult> UpdateSecretAsync(string workspaceId, SecretRecord updated, int expectedVersion, SealedValue? newSealedValue, string? createdBy, AuditEvent audit, CancellationToken cancellationToken, DateTimeOffset? expectedUpdatedAt = null)
    {
        ArgumentNullException.ThrowIfNull(updated);
        ArgumentNullException.ThrowIfNull(audit);
        return WriteAsync(Chains(workspaceId, [audit]), async (c, t) =>
        {
            var changed = await c.ExecuteAsync(new CommandDefinition(
                """
                UPDATE secrets SET description = @Description, token_type = @TokenType, scope = @scope, envs = @envs,
                    expires_at = @ExpiresAt, revoked = @Revoked, current_version = @Version, updated_at = @updatedAt
                WHERE workspace_id = @workspaceId AND secret_key = @Key AND current_version = @expectedVersion
                  AND (@checkUpdatedAt = FALSE OR updated_at = @expectedUpdatedAt)
                """,
                new
                {
                    workspaceId, updated.Key, updated.Description, updated.TokenType, scope = updated.Scope.ToArray(), envs = updated.Envs.ToArray(),
                    updated.ExpiresAt, updated.Revoked, updated.Version, updatedAt = Ticks(updated.UpdatedAt), expectedVersion,
                    checkUpdatedAt = expectedUpdatedAt is not null, expectedUpdatedAt = expectedUpdatedAt is { } e ? Ticks(e) : 0L,
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
            await NotifyAsync(c, t, new StoreChange(workspaceId, StoreChangeKind.Secret, updated.Key), cancellationToken);
            return UpdateResult.Updated;
        }, cancellationToken);
    }

    /// <inheritdoc />
    public Task<bool> DeleteSecretAsync(string workspaceId, string key, AuditEvent audit, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(audit);
        return WriteAsync(Chains(workspaceId, [audit]), async (c, t) =>
        {
            var deleted = await c.ExecuteAsync(new CommandDefinition(
                "DELETE FROM secrets WHERE workspace_id = @workspaceId AND secret_key = @key",
                new { workspaceId, key }, t, cancellationToken: cancellationToken));
            if (deleted == 0)
            {
                return false;
            }

            await AppendAsync(c, t, [audit], cancellationToken);
            await NotifyAsync(c, t, new StoreChange(workspaceId, StoreChangeKind.Secret, key), cancellationToken);
            return true;
        }, cancellationToken);
    }

    /// <inheritdoc />
    public Task<bool> PutConfigAsync(string workspaceId, ConfigDocument document, PutMode mode, AuditEvent audit, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(document);
        ArgumentNullException.ThrowIfNull(audit);
        return WriteAsync(Chains(workspaceId, [audit]), async (c, t) =>
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
                createdAt = Ticks(document.CreatedAt), updatedAt = Ticks(document.UpdatedAt),
            }, t, cancellationToken: cancellationToken));
            if (changed == 0)
            {
                return false;
            }

            await AppendAsync(c, t, [audit], cancellationToken);
            await NotifyAsync(c, t, ConfigChange(workspaceId, document.Kind, document.Parent, document.Name), cancellationToken);
            return true;
        }, cancellationToken);
    }

    private static StoreChange ConfigChange(string workspaceId, string kind, string parent, string name) =>
        new(workspaceId, StoreChangeKind.Config, $"{kind}/{parent}/{name}");

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
                ConfigSelect + " WHERE workspace_id = @workspaceId AND kind = @kind AND (CAST(@parent AS text) IS NULL OR parent = @parent) ORDER BY parent, name",
                new { workspaceId, kind, parent }, cancellationToken: cancellationToken));
            return (IReadOnlyList<ConfigDocument>)rows.Select(r => r.ToDocument()).ToList();
        }, cancellationToken);

    /// <inheritdoc />
    /// <remarks>A cascading delete announces every configuration of the workspace as changed (its children are of several kinds).</remarks>
    public Task<bool> DeleteConfigAsync(string workspaceId, string kind, string parent, string name, bool cascade, AuditEvent audit, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(audit);
        return WriteAsync(Chains(workspaceId, [audit]), async (c, t) =>
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
            await NotifyAsync(c, t,
                cascade ? new StoreChange(workspaceId, StoreChangeKind.Config, null) : ConfigChange(workspaceId, kind, parent, name),
                cancellationToken);
            return true;
        }, cancellationToken);
    }

    /// <inheritdoc />
    /// <remarks>
    /// The transaction holds the workspace's audit-chain lock from its start, so the look-up of the replay keys and their
    /// insertion cannot interleave with another delivery's (on any instance); the primary key of
    /// <c>webhook_delivery_ids</c> is the guard all the same. As in SQLite, the retention pruning commits even for a replay.
    /// </remarks>
    public Task<bool> AddDeliveryAsync(string workspaceId, WebhookDelivery delivery, IReadOnlyList<string> replayKeys, DateTimeOffset pruneBefore, AuditEvent audit, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(delivery);
        ArgumentNullException.ThrowIfNull(replayKeys);
        ArgumentNullException.ThrowIfNull(audit);
        return WriteAsync(Chains(workspaceId, [audit]), async (c, t) =>
        {
            await c.ExecuteAsync(new CommandDefinition(
                "DELETE FROM webhook_delivery_ids WHERE workspace_id = @workspaceId AND product = @Product AND webhook = @Webhook AND received_at < @cutoff",
                new { workspaceId, delivery.Product, delivery.Webhook, cutoff = Ticks(pruneBefore) }, t, cancellationToken: cancellationToken));
            if (replayKeys.Count > 0)
            {
                var keys = replayKeys.ToArray();
                var seen = await c.ExecuteScalarAsync<long>(new CommandDefinition(
                    """
                    SELECT count(*) FROM webhook_delivery_ids
                    WHERE workspace_id = @workspaceId AND product = @Product AND webhook = @Webhook AND delivery_key = ANY(@keys)
                    """,
                    new { workspaceId, delivery.Product, delivery.Webhook, keys }, t, cancellationToken: cancellationToken));
                if (seen > 0)
                {
                    return false;
                }

                await c.ExecuteAsync(new CommandDefinition(
                    """
                    INSERT INTO webhook_delivery_ids(workspace_id, product, webhook, delivery_key, received_at)
                    SELECT DISTINCT @workspaceId, @Product, @Webhook, k, CAST(@receivedAt AS bigint) FROM unnest(CAST(@keys AS text[])) AS k
                    """,
                    new { workspaceId, delivery.Product, delivery.Webhook, keys, receivedAt = Ticks(delivery.ReceivedAt) },
                    t, cancellationToken: cancellationToken));
            }

            await c.ExecuteAsync(new CommandDefinition(
                """
                INSERT INTO webhook_deliveries(id, workspace_id, product, webhook, env, received_at, headers, body)
                VALUES (@Id, @workspaceId, @Product, @Webhook, @Env, @receivedAt, @HeadersJson, @Body)
                """,
                new { delivery.Id, workspaceId, delivery.Product, delivery.Webhook, delivery.Env, receivedAt = Ticks(delivery.ReceivedAt), delivery.HeadersJson, delivery.Body },
                t, cancellationToken: cancellationToken));
            await AppendAsync(c, t, [audit], cancellationToken);
            return true;
        }, cancellationToken);
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<WebhookDelivery>> ListDeliveriesAsync(string workspaceId, string product, string webhook, long? beforeSequence, int limit, CancellationToken cancellationToken) =>
        ReadAsync(async c =>
        {
            var rows = await c.QueryAsync<DeliveryRow>(new CommandDefinition(
                """
                SELECT seq, id, product, webhook, env, received_at AS ReceivedAt, headers, body FROM webhook_deliveries
                WHERE workspace_id = @workspaceId AND product = @product AND webhook = @webhook AND (CAST(@beforeSequence AS bigint) IS NULL OR seq < @beforeSequence)
                ORDER BY seq DESC LIMIT @limit
                """,
                new { workspaceId, product, webhook, beforeSequence, limit }, cancellationToken: cancellationToken));
            return (IReadOnlyList<WebhookDelivery>)rows
                .Select(r => new WebhookDelivery(r.Seq, r.Id, r.Product, r.Webhook, r.Env, FromTicks(r.ReceivedAt), r.Headers, r.Body))
                .ToList();
        }, cancellationToken);

    /// <inheritdoc />
    public Task AddRejectionAsync(string workspaceId, string product, string webhook, string reason, DateTimeOffset at, AuditEvent audit, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(audit);
        return WriteAsync(Chains(workspaceId, [audit]), async (c, t) =>
        {
            await c.ExecuteAsync(new CommandDefinition(
                """
                INSERT INTO webhook_rejections(workspace_id, product, webhook, count, last_at, last_reason)
                VALUES (@workspaceId, @product, @webhook, 1, @at, @reason)
                ON CONFLICT(workspace_id, product, webhook) DO UPDATE
                SET count = webhook_rejections.count + 1, last_at = excluded.last_at, last_reason = excluded.last_reason
                """,
                new { workspaceId, product, webhook, at = Ticks(at), reason }, t, cancellationToken: cancellationToken));
            await AppendAsync(c, t, [audit], cancellationToken);
            return 0;
        }, cancellationToken);
    }

    /// <inheritdoc />
    public Task<(long Count, DateTimeOffset? LastAt, string? LastReason)> GetRejectionsAsync(string workspaceId, string product, string webhook, CancellationToken cancellationToken) =>
        ReadAsync(async c =>
        {
            var row = await c.QuerySingleOrDefaultAsync<(long, long, string)?>(new CommandDefinition(
                "SELECT count, last_at, last_reason FROM webhook_rejections WHERE workspace_id = @workspaceId AND product = @product AND webhook = @webhook",
                new { workspaceId, product, webhook }, cancellationToken: cancellationToken));
            return row is { } r ? (r.Item1, (DateTimeOffset?)FromTicks(r.Item2), (string?)r.Item3) : (0L, null, null);
        }, cancellationToken);

    /// <inheritdoc />
    public Task<IReadOnlyList<AuditEvent>> QueryAuditAsync(string workspaceId, AuditQuery query, CancellationToken cancellationToken) =>
        ReadAsync(async c =>
        {
            ArgumentNullException.ThrowIfNull(query);
            var sql = new StringBuilder(AuditSelect).Append(" WHERE workspace_id = @workspaceId");
            if (query.Secret is not null) sql.Append(" AND secret_key = @Secret");
            if (query.App is not null) sql.Append(" AND app = @App");
            if (query.Env is not null) sql.Append(" AND env = @Env");
            if (query.Action is not null) sql.Append(" AND action = @Action");
            if (query.Since is not null) sql.Append(" AND at >= @since");
            if (query.Until is not null) sql.Append(" AND at < @until");
            if (query.BeforeSequence is not null) sql.Append(" AND seq < @BeforeSequence");
            if (query.AfterSequence is not null) sql.Append(" AND seq > @AfterSequence");
            sql.Append(query.AfterSequence is null ? " ORDER BY seq DESC" : " ORDER BY seq ASC").Append(" LIMIT @Limit");
            var rows = await c.QueryAsync<AuditRow>(new CommandDefinition(sql.ToString(), new
            {
                workspaceId, query.Secret, query.App, query.Env, query.Action,
                since = query.Since is { } s ? Ticks(s) : (long?)null, until = query.Until is { } u ? Ticks(u) : (long?)null,
                query.BeforeSequence, query.AfterSequence, query.Limit,
            }, cancellationToken: cancellationToken));
            return (IReadOnlyList<AuditEvent>)rows.Select(r => r.ToEvent()).ToList();
        }, cancellationToken);

    /// <inheritdoc />
    public async IAsyncEnumerable<AuditEvent> ReadAuditChainAsync(string workspaceId, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await using var connection = await DataSource.OpenConnectionAsync(cancellationToken);
        var rows = connection.QueryUnbufferedAsync<AuditRow>(AuditSelect + " WHERE workspace_id = @workspaceId ORDER BY seq", new { workspaceId });
        await foreach (var row in rows.WithCancellation(cancellationToken))
        {
            yield return row.ToEvent();
        }
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<RecentUse>> GetRecentUsesAsync(string workspaceId, string key, CancellationToken cancellationToken) =>
        ReadAsync(async c =>
        {
            var rows = await c.QueryAsync<RecentRow>(new CommandDefinition(
                """
                SELECT product, app, env, context, count(*) AS Count, max(at) AS LastAt FROM audit_events
                WHERE workspace_id = @workspaceId AND secret_key = @key AND action = 'secret.resolved'
                GROUP BY product, app, env, context ORDER BY LastAt DESC LIMIT 500
                """,
                new { workspaceId, key }, cancellationToken: cancellationToken));
            return (IReadOnlyList<RecentUse>)rows.Select(r => new RecentUse(r.Product, r.App, r.Env, r.Context, r.Count, FromTicks(r.LastAt))).ToList();
        }, cancellationToken);

    /// <inheritdoc />
    /// <remarks>
    /// Stamping <c>last_used_at</c> is not announced on <see cref="NotifyChannel"/>: it changes on every resolution, and
    /// nothing that is cached depends on it.
    /// </remarks>
    public Task AppendAuditAsync(IReadOnlyList<AuditEvent> events, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(events);
        return WriteAsync(events.Select(e => e.WorkspaceId), async (c, t) =>
        {
            await AppendAsync(c, t, events, cancellationToken);
            var lastUses = events.Where(e => e.Action == "secret.resolved" && e.SecretKey is not null)
                .GroupBy(e => (e.WorkspaceId, SecretKey: e.SecretKey!))
                .Select(g => (g.Key.WorkspaceId, g.Key.SecretKey, At: Ticks(g.Max(e => e.At)), Stale: Ticks(g.Max(e => e.At) - ILatchStore.LastUseResolution)))
                .ToList();
            if (lastUses.Count > 0)
            {
                // One statement for every secret the batch resolved; a row is rewritten only when its stamp is older than
                // LastUseResolution (see ILatchStore).
                await c.ExecuteAsync(new CommandDefinition(
                    """
                    UPDATE secrets SET last_used_at = u.at
                    FROM unnest(CAST(@workspaces AS text[]), CAST(@keys AS text[]), CAST(@ats AS bigint[]), CAST(@stales AS bigint[])) AS u(ws, k, at, stale)
                    WHERE secrets.workspace_id = u.ws AND secrets.secret_key = u.k AND (secrets.last_used_at IS NULL OR secrets.last_used_at < u.stale)
                    """,
                    new
                    {
                        workspaces = lastUses.Select(u => u.WorkspaceId).ToArray(),
                        keys = lastUses.Select(u => u.SecretKey).ToArray(),
                        ats = lastUses.Select(u => u.At).ToArray(),
                        stales = lastUses.Select(u => u.Stale).ToArray(),
                    }, t, cancellationToken: cancellationToken));
            }

            return 0;
        }, cancellationToken);
    }

    private const string AuditInsert =
        """
        INSERT INTO audit_events(id, workspace_id, at, action, actor_key_id, actor_name, request_id, client, secret_key, version,
            product, app, env, context, path, code, detail, prev_hash, hash)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)
        """;

    /// <summary>Links and inserts events; the caller holds the chain locks of their workspaces (see <see cref="WriteAsync{T}"/>).</summary>
    private static async Task AppendAsync(NpgsqlConnection c, NpgsqlTransaction t, IReadOnlyList<AuditEvent> events, CancellationToken cancellationToken)
    {
        if (events.Count == 0)
        {
            return;
        }

        var lastHashes = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var workspaceId in events.Select(e => e.WorkspaceId).Distinct(StringComparer.Ordinal))
        {
            lastHashes[workspaceId] = await c.QuerySingleOrDefaultAsync<string?>(new CommandDefinition(
                "SELECT hash FROM audit_events WHERE workspace_id = @workspaceId ORDER BY seq DESC LIMIT 1",
                new { workspaceId }, t, cancellationToken: cancellationToken)) ?? AuditChain.Genesis;
        }

        // One round trip for the whole batch; the statements run in order, so seq follows the chain.
        await using var batch = new NpgsqlBatch(c, t);
        foreach (var e in events)
        {
            var linked = AuditChain.Link(e, lastHashes[e.WorkspaceId]);
            lastHashes[e.WorkspaceId] = linked.Hash;
            var command = new NpgsqlBatchCommand(AuditInsert);
            command.Parameters.Add(Text(linked.Id));
            command.Parameters.Add(Text(linked.WorkspaceId));
            command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = Ticks(linked.At) });
            command.Parameters.Add(Text(linked.Action));
            command.Parameters.Add(Text(linked.ActorKeyId));
            command.Parameters.Add(Text(linked.ActorName));
            command.Parameters.Add(Text(linked.RequestId));
            command.Parameters.Add(Text(linked.Client));
            command.Parameters.Add(Text(linked.SecretKey));
            command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Integer, Value = linked.Version is { } v ? v : DBNull.Value });
            command.Parameters.Add(Text(linked.Product));
            command.Parameters.Add(Text(linked.App));
            command.Parameters.Add(Text(linked.Env));
            command.Parameters.Add(Text(linked.Context));
            command.Parameters.Add(Text(linked.Path));
            command.Parameters.Add(Text(linked.Code));
            command.Parameters.Add(Text(linked.Detail));
            command.Parameters.Add(Text(linked.PrevHash));
            command.Parameters.Add(Text(linked.Hash));
            batch.BatchCommands.Add(command);
        }

        await batch.ExecuteNonQueryAsync(cancellationToken);
    }

    private static NpgsqlParameter Text(string? value) => new() { NpgsqlDbType = NpgsqlDbType.Text, Value = (object?)value ?? DBNull.Value };

    /// <inheritdoc />
    /// <remarks>
    /// <para>
    /// Compare-and-swap in one transaction: it takes the audit-chain locks of every workspace involved, then locks
    /// <c>workspaces</c>, <c>data_keys</c> and <c>store_meta</c> against concurrent writers (reads go on), so no
    /// workspace or data-key generation can be added or re-wrapped between the comparison and the commit.
    /// </para>
    /// <para>
    /// Busy: PostgreSQL has no single-writer lock to try, so the store looks for other Latch sessions on this database
    /// instead — sessions named <see cref="ApplicationNamePrefix"/>… (other than this store's own pool) or a change
    /// listener (<see cref="PostgresChangeListener.ApplicationName"/>); read-only inspection stores do not count. When
    /// one is still there after <see cref="RewrapBusyTimeout"/> (the sessions of a server that just stopped take a
    /// moment to end) it throws <see cref="StoreBusyException"/> and writes nothing. Why refuse rather than let running
    /// instances go on (they keep their unwrapped data keys in memory, and the rewrap changes no key material): a running
    /// instance still holds the old master key, so a data key it wraps afterwards (a new workspace, a new generation)
    /// would be unreadable with the new key, and its next start would refuse the new key. Rotation is for stopped
    /// servers, as with SQLite. Sessions that renamed themselves cannot be seen; the compare-and-swap still guarantees
    /// the store is never left half-rotated.
    /// </para>
    /// </remarks>
    public Task<RewrapOutcome> RewrapKeysAsync(IReadOnlyList<RewrappedKey> keys, byte[]? expectedCheck, byte[] newCheck, IReadOnlyList<AuditEvent> audit, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(keys);
        ArgumentNullException.ThrowIfNull(newCheck);
        ArgumentNullException.ThrowIfNull(audit);
        ThrowIfReadOnly();
        return RewrapCoreAsync(keys, expectedCheck, newCheck, audit, cancellationToken);
    }

    private async Task<RewrapOutcome> RewrapCoreAsync(IReadOnlyList<RewrappedKey> keys, byte[]? expectedCheck, byte[] newCheck, IReadOnlyList<AuditEvent> audit, CancellationToken cancellationToken)
    {
        await using var connection = await DataSource.OpenConnectionAsync(cancellationToken);
        var waited = System.Diagnostics.Stopwatch.StartNew();
        while (await connection.ExecuteScalarAsync<long>(new CommandDefinition(
            """
            SELECT count(*) FROM pg_stat_activity
            WHERE datname = current_database() AND pid <> pg_backend_pid()
              AND (application_name = @listener OR (starts_with(application_name, @prefix) AND application_name <> @mine))
            """,
            new { listener = PostgresChangeListener.ApplicationName, prefix = ApplicationNamePrefix, mine = _applicationName },
            cancellationToken: cancellationToken)) > 0)
        {
            if (waited.Elapsed >= RewrapBusyTimeout)
            {
                throw new StoreBusyException(
                    "Another Latch instance is connected to this database (is 'latch serve' running?). Stop every instance and retry.");
            }

            await Task.Delay(TimeSpan.FromMilliseconds(100), cancellationToken);
        }

        await using var transaction = await connection.BeginTransactionAsync(IsolationLevel.ReadCommitted, cancellationToken);
        await LockChainsAsync(connection, transaction, keys.Select(k => k.WorkspaceId).Concat(audit.Select(e => e.WorkspaceId)), cancellationToken);
        await connection.ExecuteAsync(new CommandDefinition(
            "LOCK TABLE workspaces, data_keys, store_meta IN EXCLUSIVE MODE", transaction: transaction, cancellationToken: cancellationToken));
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
        await NotifyAsync(connection, transaction,
            keys.Select(k => k.WorkspaceId).Distinct(StringComparer.Ordinal).Select(w => new StoreChange(w, StoreChangeKind.Workspace, null)), cancellationToken);
        await transaction.CommitAsync(CancellationToken.None);
        return RewrapOutcome.Rewrapped;
    }

    /// <inheritdoc />
    public ValueTask DisposeAsync() => DataSource.DisposeAsync();

    /// <summary>Times are stored as 100-ns ticks since the Unix epoch (UTC): the full .NET precision the audit chain hashes.</summary>
    internal static long Ticks(DateTimeOffset value) => value.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks;

    internal static DateTimeOffset FromTicks(long ticks) => new(ticks + DateTimeOffset.UnixEpoch.UtcTicks, TimeSpan.Zero);

    private const string SecretSelect =
        "SELECT secret_key AS SecretKey, description, token_type AS TokenType, scope, envs, expires_at AS ExpiresAt, revoked, current_version AS CurrentVersion, created_at AS CreatedAt, updated_at AS UpdatedAt, last_used_at AS LastUsedAt FROM secrets";

    private const string ConfigSelect =
        "SELECT kind, parent, name, body, created_at AS CreatedAt, updated_at AS UpdatedAt FROM configs";

    private const string AuditSelect =
        "SELECT seq, id, workspace_id AS WorkspaceId, at, action, actor_key_id AS ActorKeyId, actor_name AS ActorName, request_id AS RequestId, client, secret_key AS SecretKey, version, product, app, env, context, path, code, detail, prev_hash AS PrevHash, hash FROM audit_events";

    private const string ApiKeySelect =
        "SELECT id, workspace_id AS WorkspaceId, name, role, apps, envs, expires_at AS ExpiresAt, is_bootstrap AS IsBootstrap, created_at AS CreatedAt, key_hash AS KeyHash FROM api_keys";

    private static Workspace? ToWorkspace(WorkspaceRow? row) => row is null ? null : new Workspace(row.Id, row.Name, FromTicks(row.CreatedAt));

#pragma warning disable CA1812 // Instantiated by Dapper.
    private sealed class WorkspaceRow
    {
        public string Id { get; set; } = "";
        public string Name { get; set; } = "";
        public long CreatedAt { get; set; }
    }

    private sealed class DataKeyRow
    {
        public string WorkspaceId { get; set; } = "";
        public int Generation { get; set; }
        public byte[] WrappedKey { get; set; } = [];
        public long EncryptionsReserved { get; set; }
        public long CreatedAt { get; set; }
        public long? RetiredAt { get; set; }

        public DataKeyRecord ToRecord() =>
            new(WorkspaceId, Generation, WrappedKey, EncryptionsReserved, FromTicks(CreatedAt), RetiredAt is { } retired ? FromTicks(retired) : null);
    }

    private sealed class ConfigRow
    {
        public string Kind { get; set; } = "";
        public string Parent { get; set; } = "";
        public string Name { get; set; } = "";
        public string Body { get; set; } = "";
        public long CreatedAt { get; set; }
        public long UpdatedAt { get; set; }

        public ConfigDocument ToDocument() => new(Kind, Parent, Name, Body, FromTicks(CreatedAt), FromTicks(UpdatedAt));
    }

    private sealed class AuditRow
    {
        public long Seq { get; set; }
        public string Id { get; set; } = "";
        public string WorkspaceId { get; set; } = "";
        public long At { get; set; }
        public string Action { get; set; } = "";
        public string? ActorKeyId { get; set; }
        public string? ActorName { get; set; }
        public string? RequestId { get; set; }
        public string? Client { get; set; }
        public string? SecretKey { get; set; }
        public int? Version { get; set; }
        public string? Product { get; set; }
        public string? App { get; set; }
        public string? Env { get; set; }
        public string? Context { get; set; }
        public string? Path { get; set; }
        public string? Code { get; set; }
        public string? Detail { get; set; }
        public string PrevHash { get; set; } = "";
        public string Hash { get; set; } = "";

        public AuditEvent ToEvent() => new()
        {
            Sequence = Seq, Id = Id, WorkspaceId = WorkspaceId, At = FromTicks(At), Action = Action, ActorKeyId = ActorKeyId, ActorName = ActorName,
            RequestId = RequestId, Client = Client, SecretKey = SecretKey, Version = Version, Product = Product, App = App,
            Env = Env, Context = Context, Path = Path, Code = Code, Detail = Detail, PrevHash = PrevHash, Hash = Hash,
        };
    }

    private sealed class RecentRow
    {
        public string? Product { get; set; }
        public string? App { get; set; }
        public string? Env { get; set; }
        public string? Context { get; set; }
        public long Count { get; set; }
        public long LastAt { get; set; }
    }

    private sealed class DeliveryRow
    {
        public long Seq { get; set; }
        public string Id { get; set; } = "";
        public string Product { get; set; } = "";
        public string Webhook { get; set; } = "";
        public string Env { get; set; } = "";
        public long ReceivedAt { get; set; }
        public string Headers { get; set; } = "{}";
        public byte[] Body { get; set; } = [];
    }

    private sealed class VersionRow
    {
        public int Version { get; set; }
        public long CreatedAt { get; set; }
        public string? CreatedBy { get; set; }
    }

    private sealed class ApiKeyRow
    {
        public string Id { get; set; } = "";
        public string WorkspaceId { get; set; } = "";
        public string Name { get; set; } = "";
        public string Role { get; set; } = "";
        public string[] Apps { get; set; } = [];
        public string[] Envs { get; set; } = [];
        public long? ExpiresAt { get; set; }
        public bool IsBootstrap { get; set; }
        public long CreatedAt { get; set; }
        public byte[] KeyHash { get; set; } = [];

        public ApiKeyRecord ToRecord() => new(Id, WorkspaceId, Name, Role, Apps, Envs, ExpiresAt, IsBootstrap, FromTicks(CreatedAt));
    }

    private sealed class SecretRow
    {
        public string SecretKey { get; set; } = "";
        public string? Description { get; set; }
        public string? TokenType { get; set; }
        public string[] Scope { get; set; } = [];
        public string[] Envs { get; set; } = [];
        public long? ExpiresAt { get; set; }
        public bool Revoked { get; set; }
        public int CurrentVersion { get; set; }
        public long CreatedAt { get; set; }
        public long UpdatedAt { get; set; }
        public long? LastUsedAt { get; set; }

        public SecretRecord ToRecord() =>
            new(SecretKey, Description, TokenType, Scope, Envs, ExpiresAt, Revoked, CurrentVersion,
                FromTicks(CreatedAt), FromTicks(UpdatedAt), LastUsedAt is { } used ? FromTicks(used) : null);
    }
#pragma warning restore CA1812
}

using System.Collections.Concurrent;
using System.Diagnostics;
using Latch.Core.Storage;
using Latch.Core.Storage.Postgres;
using Npgsql;

namespace Latch.Storage.Tests;

/// <summary>
/// The storage contract against <see cref="PostgresStore"/> (a throw-away database on the server in
/// <c>LATCH_TEST_POSTGRES</c>; see tests/postgres.sh), plus what only PostgreSQL has: notifications, several
/// instances on one database, read-only inspection and the durability check.
/// </summary>
public sealed class PostgresStoreContractTests(PostgresStoreFixture fixture) : StoreContractTests(fixture), IClassFixture<PostgresStoreFixture>
{
    private static readonly CancellationToken None = CancellationToken.None;

    private PostgresStoreFixture Postgres => (PostgresStoreFixture)Fixture;

    private static async Task<object?> ScalarAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return await command.ExecuteScalarAsync();
    }

    private const string CountTables = "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public'";

    [Fact]
    public async Task A_committed_change_is_announced_and_a_failed_one_is_not()
    {
        var ws = await NewWorkspaceAsync(Store);
        await CreateSecretAsync(ws, Secret("TAKEN"));
        var taken = (await ChainAsync(Store, ws))[^1].Id;
        var heard = new ConcurrentQueue<string>();
        await using var listener = new NpgsqlConnection(Postgres.SharedConnectionString);
        listener.Notification += (_, e) =>
        {
            if (e.Channel == PostgresStore.NotifyChannel)
            {
                heard.Enqueue(e.Payload);
            }
        };
        await listener.OpenAsync();
        await using (var listen = new NpgsqlCommand($"LISTEN {PostgresStore.NotifyChannel}", listener))
        {
            await listen.ExecuteNonQueryAsync();
        }

        async Task<bool> HearAsync(StoreChange change)
        {
            var clock = Stopwatch.StartNew();
            while (!heard.Contains(change.ToPayload()) && clock.Elapsed < TimeSpan.FromSeconds(10))
            {
                await listener.WaitAsync(TimeSpan.FromMilliseconds(200));
            }

            return heard.Contains(change.ToPayload());
        }

        await Assert.ThrowsAnyAsync<NpgsqlException>(() =>
            Store.CreateSecretAsync(ws, Secret("FAILED"), Sealed(), null, Event(ws, "secret.created", "FAILED", id: taken), None));
        await CreateSecretAsync(ws, Secret("COMMITTED"));
        Assert.True(await HearAsync(new StoreChange(ws, StoreChangeKind.Secret, "COMMITTED")));
        // Notifications arrive in commit order: had the failed change been announced, it would be here already.
        Assert.DoesNotContain(new StoreChange(ws, StoreChangeKind.Secret, "FAILED").ToPayload(), heard);

        await Store.PutConfigAsync(ws, new ConfigDocument(ConfigKinds.Product, "", "shop", "{}", T0, T0), PutMode.Create, Event(ws, "product.changed"), None);
        Assert.True(await HearAsync(new StoreChange(ws, StoreChangeKind.Config, "product//shop")));
        await Store.DeleteConfigAsync(ws, ConfigKinds.Product, "", "shop", true, Event(ws, "product.changed"), None);
        Assert.True(await HearAsync(new StoreChange(ws, StoreChangeKind.Config, null)));
        var key = Key(ws, "ci", T0);
        await Store.CreateApiKeyAsync(key, Hash(key.Id), Event(ws, "key.created"), None);
        Assert.True(await HearAsync(new StoreChange(ws, StoreChangeKind.ApiKey, key.Id)));
        var other = await NewWorkspaceAsync(Store);
        Assert.True(await HearAsync(new StoreChange(other, StoreChangeKind.Workspace, null)));
        Assert.All(heard, payload => Assert.NotEqual(StoreChangeKind.Everything, StoreChange.FromPayload(payload).Kind));
    }

    [Fact]
    public async Task Two_instances_appending_to_one_workspace_keep_one_valid_chain()
    {
        await using var second = await PostgresStore.OpenAsync(Postgres.SharedConnectionString, None);
        var ws = await NewWorkspaceAsync(Store);
        await CreateSecretAsync(ws, Secret("K"));
        var stores = new ILatchStore[] { Store, second };
        await Task.WhenAll(Enumerable.Range(0, 8).Select(t => Task.Run(async () =>
        {
            var store = stores[t % 2];
            for (var i = 0; i < 10; i++)
            {
                await store.AppendAuditAsync([Event(ws, "secret.resolved", "K"), Event(ws, "secret.resolved", "K"), Event(ws, "secret.resolved", "K")], None);
                if (i % 3 == 0)
                {
                    await store.UpdateSecretAsync(ws, Secret("K", $"t{t}i{i}"), 1, null, null, Event(ws, "secret.updated", "K"), None);
                }
            }
        })));
        Assert.Equal(3 + (8 * 10 * 3) + (8 * 4), await AssertChainValidAsync(second, ws));
    }

    [Fact]
    public async Task Two_instances_starting_at_once_migrate_the_database_once()
    {
        var database = await Postgres.CreateDatabaseAsync();
        var stores = await Task.WhenAll(PostgresStore.OpenAsync(database, None), PostgresStore.OpenAsync(database, None));
        foreach (var store in stores)
        {
            Postgres.Track(store);
        }

        Assert.Equal(3L, await ScalarAsync(database, "SELECT count(*) FROM schema_migrations WHERE version IN ('1', '2', '3')"));
        Assert.Equal(0L, await stores[1].CountApiKeysAsync(None));
    }

    [Fact]
    public async Task Inspection_finds_no_store_in_an_empty_database_and_creates_nothing()
    {
        var database = await Postgres.CreateDatabaseAsync();
        Assert.Null(await PostgresStore.OpenForInspectionAsync(database, None));
        Assert.Equal(0L, await ScalarAsync(database, CountTables));
    }

    [Fact]
    public async Task Inspection_reads_an_existing_store_and_refuses_to_write()
    {
        var ws = await NewWorkspaceAsync(Store);
        var tables = await ScalarAsync(Postgres.SharedConnectionString, CountTables);
        await using var inspection = await PostgresStore.OpenForInspectionAsync(Postgres.SharedConnectionString, None);
        Assert.NotNull(inspection);
        Assert.NotNull(await inspection.GetWorkspaceAsync(ws, None));
        Assert.Single(await inspection.ListDataKeysAsync(ws, None));
        await Assert.ThrowsAsync<InvalidOperationException>(() => inspection.SetMetaIfAbsentAsync("x", [1], None));
        await Assert.ThrowsAsync<InvalidOperationException>(() => inspection.AppendAuditAsync([Event(ws, "secret.resolved")], None));
        // Even a write that slipped past the guard would fail: every session of the inspection store is read-only.
        await using (var connection = await inspection.DataSource.OpenConnectionAsync())
        await using (var command = new NpgsqlCommand("INSERT INTO store_meta(name, value) VALUES ('x', '\\x01')", connection))
        {
            var error = await Assert.ThrowsAsync<PostgresException>(() => command.ExecuteNonQueryAsync());
            Assert.Equal(PostgresErrorCodes.ReadOnlySqlTransaction, error.SqlState);
        }

        Assert.Equal(tables, await ScalarAsync(Postgres.SharedConnectionString, CountTables));
        Assert.Null(await Store.GetMetaAsync("x", None));
    }

    [Fact]
    public async Task Inspection_of_a_schema_2_store_reads_each_workspace_key_as_generation_1()
    {
        var database = await Postgres.CreateDatabaseAsync();
        var assembly = typeof(PostgresStore).Assembly;
        foreach (var script in new[] { "V1__foundation.sql", "V2__runtime.sql" })
        {
            await using var stream = assembly.GetManifestResourceStream("Latch.Core.Storage.Migrations.Postgres." + script)!;
            using var reader = new StreamReader(stream);
            await ScalarAsync(database, await reader.ReadToEndAsync());
        }

        await ScalarAsync(database, "INSERT INTO workspaces(id, name, wrapped_key, created_at) VALUES ('ws_old', 'old', '\\x0102', 42)");
        await using var inspection = await PostgresStore.OpenForInspectionAsync(database, None);
        Assert.NotNull(inspection);
        var key = Assert.Single(await inspection.ListDataKeysAsync(null, None));
        Assert.Equal(("ws_old", 1, 0L, (DateTimeOffset?)null), (key.WorkspaceId, key.Generation, key.EncryptionsReserved, key.RetiredAt));
        Assert.Equal([1, 2], key.WrappedKey);
        Assert.Equal(DateTimeOffset.UnixEpoch.AddTicks(42), key.CreatedAt);
    }

    [Fact]
    public async Task A_database_without_synchronous_commit_is_refused_before_anything_is_created()
    {
        var database = await Postgres.CreateDatabaseAsync();
        var name = new NpgsqlConnectionStringBuilder(database).Database;
        await PostgresStoreFixture.AdminAsync($"ALTER DATABASE {name} SET synchronous_commit = off");
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => PostgresStore.OpenAsync(database, None));
        Assert.Contains("synchronous_commit", error.Message, StringComparison.Ordinal);
        Assert.Equal(0L, await ScalarAsync(database, CountTables));
    }

    [Fact]
    public async Task Rewrapping_is_refused_while_another_instance_is_connected()
    {
        var database = await Postgres.CreateDatabaseAsync();
        var store = Postgres.Track(await PostgresStore.OpenAsync(database, None));
        var ws = await NewWorkspaceAsync(store);
        var plan = (await store.ListDataKeysAsync(null, None)).Select(k => new RewrappedKey(k.WorkspaceId, k.Generation, k.WrappedKey, [1])).ToList();
        await using (var running = await PostgresStore.OpenAsync(database, None))
        {
            await Assert.ThrowsAsync<StoreBusyException>(() => store.RewrapKeysAsync(plan, null, [2], [Event(ws, "master_key.rotated")], None));
        }

        Assert.Null(await store.GetMetaAsync("master_key_check", None));
        // The other instance's sessions end shortly after it closes them.
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                Assert.Equal(RewrapOutcome.Rewrapped, await store.RewrapKeysAsync(plan, null, [2], [Event(ws, "master_key.rotated")], None));
                break;
            }
            catch (StoreBusyException) when (attempt < 50)
            {
                await Task.Delay(100);
            }
        }
    }
}

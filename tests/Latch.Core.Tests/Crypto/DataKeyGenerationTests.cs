using System.Security.Cryptography;
using Latch.Core.Crypto;
using Latch.Core.References;
using Latch.Core.Secrets;
using Latch.Core.Storage;
using Latch.Core.Storage.Sqlite;
using Microsoft.Data.Sqlite;

namespace Latch.Core.Tests.Crypto;

/// <summary>
/// Data-key generations: a key is retired before it has made <see cref="KeyringOptions.MaxEncryptionsPerKey"/> AES-GCM
/// encryptions (2^32 by NIST SP 800-38D for random nonces; 5 here, reserved in blocks of 2), and every generation keeps
/// opening what it sealed.
/// </summary>
public sealed class DataKeyGenerationTests : IAsyncLifetime
{
    private static readonly KeyringOptions Small = new() { MaxEncryptionsPerKey = 5, ReservationBlockSize = 2 };
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "latch-core-keys-" + Guid.NewGuid().ToString("N"));
    private readonly LocalMasterKey _master = LocalMasterKey.FromBase64(LocalMasterKey.GenerateBase64(), "test");
    private SqliteStore _store = null!;
    private string _workspaceId = null!;

    public async Task InitializeAsync()
    {
        _store = SqliteStore.Open(_dir);
        await _store.MigrateAsync(null, CancellationToken.None);
        _workspaceId = await CreateWorkspaceAsync(_store, _master, "acme");
    }

    public async Task DisposeAsync()
    {
        await _store.DisposeAsync();
        _master.Dispose();
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    internal static async Task<string> CreateWorkspaceAsync(ILatchStore store, LocalMasterKey master, string name)
    {
        var id = Ids.New("ws_");
        var now = TimeProvider.System.GetUtcNow();
        using var keyring = new Keyring(master, store);
        var owner = new ApiKeyRecord(Ids.New("key_"), id, "owner", "owner", [], [], null, false, now);
        await store.CreateWorkspaceAsync(new Workspace(id, name, now), keyring.NewWrappedDataKey(id), owner, RandomNumberGenerator.GetBytes(32), [], CancellationToken.None);
        return id;
    }

    private static SecretValue Value(int i) => new($"value-{i}");

    [Fact]
    public async Task The_sixth_sealing_uses_generation_2_and_every_earlier_value_still_opens()
    {
        using var keyring = new Keyring(_master, _store, Small);
        var sealedValues = new List<SealedValue>();
        for (var i = 0; i < 7; i++)
        {
            sealedValues.Add(await keyring.SealAsync(_workspaceId, $"K{i}", 1, Value(i), CancellationToken.None));
        }

        Assert.Equal([1, 1, 1, 1, 1, 2, 2], sealedValues.Select(s => s.KeyGeneration));
        for (var i = 0; i < sealedValues.Count; i++)
        {
            Assert.Equal($"value-{i}", (await keyring.OpenAsync(_workspaceId, $"K{i}", 1, sealedValues[i], CancellationToken.None)).Reveal());
        }

        var keys = await _store.ListDataKeysAsync(_workspaceId, CancellationToken.None);
        Assert.Equal([1, 2], keys.Select(k => k.Generation));
        Assert.Equal(5, keys[0].EncryptionsReserved);
        Assert.NotNull(keys[0].RetiredAt);
        Assert.Null(keys[1].RetiredAt);
        Assert.False(CryptographicOperations.FixedTimeEquals(keys[0].WrappedKey, keys[1].WrappedKey), "a new generation is a new key");

        // A fresh keyring (another process) opens both generations, and the start-up check opens every generation.
        using var other = new Keyring(_master, _store, Small);
        Assert.Equal("value-0", (await other.OpenAsync(_workspaceId, "K0", 1, sealedValues[0], CancellationToken.None)).Reveal());
        Assert.Equal("value-6", (await other.OpenAsync(_workspaceId, "K6", 1, sealedValues[6], CancellationToken.None)).Reveal());
        await other.VerifyAsync(CancellationToken.None);

        // The rotation is audited (no key material in it).
        var audit = await _store.QueryAuditAsync(_workspaceId, new AuditQuery(Action: Keyring.RotatedAuditAction), CancellationToken.None);
        var rotated = Assert.Single(audit);
        Assert.Contains("generation 2 created", rotated.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_restart_continues_counting_from_the_store_and_never_exceeds_the_limit()
    {
        var generations = new List<int>();
        using (var first = new Keyring(_master, _store, Small))
        {
            for (var i = 0; i < 3; i++)
            {
                generations.Add((await first.SealAsync(_workspaceId, "K", i + 1, Value(i), CancellationToken.None)).KeyGeneration);
            }
        }

        // 3 used, 4 reserved: the 4th encryption reserved in the first process is lost with it (counts only over-estimate).
        Assert.Equal(4, (await _store.ListDataKeysAsync(_workspaceId, CancellationToken.None))[0].EncryptionsReserved);
        using (var second = new Keyring(_master, _store, Small))
        {
            for (var i = 3; i < 8; i++)
            {
                generations.Add((await second.SealAsync(_workspaceId, "K", i + 1, Value(i), CancellationToken.None)).KeyGeneration);
            }
        }

        // After the restart only one encryption of generation 1 was left (5 - 4): then generation 2.
        Assert.Equal([1, 1, 1, 1, 2, 2, 2, 2], generations);
        var keys = await _store.ListDataKeysAsync(_workspaceId, CancellationToken.None);
        Assert.All(keys, k => Assert.InRange(k.EncryptionsReserved, 0, Small.MaxEncryptionsPerKey));
        Assert.Equal(5, keys[0].EncryptionsReserved);
    }

    [Fact]
    public async Task Concurrent_sealing_by_two_servers_never_exceeds_the_limit_of_any_generation()
    {
        using var a = new Keyring(_master, _store, Small);
        using var b = new Keyring(_master, _store, Small);
        const int PerServer = 60;
        var work = Enumerable.Range(0, PerServer * 2).Select(i => Task.Run(async () =>
        {
            var keyring = i % 2 == 0 ? a : b;
            return (Index: i, Sealed: await keyring.SealAsync(_workspaceId, $"K{i}", 1, Value(i), CancellationToken.None));
        }));
        var results = await Task.WhenAll(work);

        foreach (var group in results.GroupBy(r => r.Sealed.KeyGeneration))
        {
            Assert.InRange(group.Count(), 1, (int)Small.MaxEncryptionsPerKey);
        }

        var keys = await _store.ListDataKeysAsync(_workspaceId, CancellationToken.None);
        Assert.All(keys, k => Assert.InRange(k.EncryptionsReserved, 0, Small.MaxEncryptionsPerKey));
        Assert.Single(keys, k => k.RetiredAt is null);
        Assert.Equal(Enumerable.Range(1, keys.Count), keys.Select(k => k.Generation));

        using var reader = new Keyring(_master, _store, Small);
        foreach (var (index, sealedValue) in results)
        {
            Assert.Equal($"value-{index}", (await reader.OpenAsync(_workspaceId, $"K{index}", 1, sealedValue, CancellationToken.None)).Reveal());
        }
    }

    [Fact]
    public async Task A_value_labelled_with_another_generation_fails_its_integrity_check()
    {
        using var keyring = new Keyring(_master, _store, Small);
        var sealedValues = new List<SealedValue>();
        for (var i = 0; i < 6; i++)
        {
            sealedValues.Add(await keyring.SealAsync(_workspaceId, "K", 1, Value(i), CancellationToken.None));
        }

        var first = sealedValues[0];
        var last = sealedValues[^1];
        Assert.Equal(2, last.KeyGeneration);
        await Assert.ThrowsAsync<SecretIntegrityException>(() => keyring.OpenAsync(_workspaceId, "K", 1, last with { KeyGeneration = 1 }, CancellationToken.None).AsTask());
        await Assert.ThrowsAsync<SecretIntegrityException>(() => keyring.OpenAsync(_workspaceId, "K", 1, first with { KeyGeneration = 2 }, CancellationToken.None).AsTask());
        await Assert.ThrowsAsync<SecretIntegrityException>(() => keyring.OpenAsync(_workspaceId, "K", 1, first with { KeyGeneration = 99 }, CancellationToken.None).AsTask());
    }

    [Fact]
    public void From_generation_2_the_generation_is_bound_into_the_associated_data()
    {
        var material = DataKey.NewKeyMaterial();
        using var two = new DataKey("ws_a", 2, (byte[])material.Clone());
        using var three = new DataKey("ws_a", 3, (byte[])material.Clone());
        using var one = new DataKey("ws_a", 1, material);
        var sealedValue = two.Seal("K", 1, new SecretValue("v"));

        Assert.Equal("v", two.Open("K", 1, sealedValue).Reveal());
        // Even under the very same key bytes, another generation's associated data does not open it.
        Assert.Throws<SecretIntegrityException>(() => three.Open("K", 1, sealedValue));
        Assert.Throws<SecretIntegrityException>(() => one.Open("K", 1, sealedValue));
        Assert.NotEqual(DataKey.WrapContext("ws_a", 2), DataKey.WrapContext("ws_a", 3));
        Assert.Equal(DataKey.WrapContext("ws_a"), DataKey.WrapContext("ws_a", 1));
    }

    [Fact]
    public async Task The_start_up_check_opens_every_generation_and_fails_on_a_damaged_one()
    {
        using (var keyring = new Keyring(_master, _store, Small))
        {
            for (var i = 0; i < 6; i++)
            {
                await keyring.SealAsync(_workspaceId, "K", 1, Value(i), CancellationToken.None);
            }

            await keyring.VerifyAsync(CancellationToken.None);
        }

        // Generation 1's wrapped key copied over generation 2's: it is bound to its generation, so it fails to unwrap.
        var keys = await _store.ListDataKeysAsync(_workspaceId, CancellationToken.None);
        Execute(_dir, "UPDATE data_keys SET wrapped_key = $k WHERE generation = 2", ("$k", keys[0].WrappedKey));
        using var check = new Keyring(_master, _store, Small);
        await Assert.ThrowsAsync<MasterKeyMismatchException>(() => check.VerifyAsync(CancellationToken.None));
    }

    [Fact]
    public async Task A_reservation_never_grants_past_the_limit_nor_from_a_retired_generation()
    {
        Assert.Equal(3, await _store.ReserveEncryptionsAsync(_workspaceId, 1, 3, 5, CancellationToken.None));
        Assert.Equal(2, await _store.ReserveEncryptionsAsync(_workspaceId, 1, 3, 5, CancellationToken.None));
        Assert.Equal(0, await _store.ReserveEncryptionsAsync(_workspaceId, 1, 3, 5, CancellationToken.None));
        Assert.Equal(0, await _store.ReserveEncryptionsAsync(_workspaceId, 7, 3, 5, CancellationToken.None));

        var audit = new AuditEvent { Id = Ids.New("evt_"), WorkspaceId = _workspaceId, At = TimeProvider.System.GetUtcNow(), Action = Keyring.RotatedAuditAction };
        Assert.False(await _store.AddDataKeyAsync(_workspaceId, 3, [1, 2, 3], audit.At, audit, CancellationToken.None)); // not the next one
        Assert.True(await _store.AddDataKeyAsync(_workspaceId, 2, [1, 2, 3], audit.At, audit with { Id = Ids.New("evt_") }, CancellationToken.None));
        Assert.False(await _store.AddDataKeyAsync(_workspaceId, 2, [4, 5, 6], audit.At, audit with { Id = Ids.New("evt_") }, CancellationToken.None)); // already there
        Assert.Equal(0, await _store.ReserveEncryptionsAsync(_workspaceId, 1, 1, 100, CancellationToken.None)); // retired
        Assert.Equal(1, await _store.ReserveEncryptionsAsync(_workspaceId, 2, 1, 100, CancellationToken.None));
    }

    [Fact]
    public async Task Upgrading_a_version_2_store_keeps_every_value_and_retires_the_original_key()
    {
        var dir = Path.Combine(Path.GetTempPath(), "latch-core-upgrade-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        var material = DataKey.NewKeyMaterial();
        var workspaceId = Ids.New("ws_");
        var wrapped = _master.Wrap(material, DataKey.WrapContext(workspaceId));
        byte[] sealedBytes;
        using (var original = new DataKey(workspaceId, material))
        {
            sealedBytes = original.Seal("OLD", 1, new SecretValue("old-value"));
        }

        // A store as schema 2 left it: one wrapped key per workspace, no generations.
        using (var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = SqliteStore.DatabasePath(dir), Pooling = false }.ToString()))
        {
            connection.Open();
            new EvolveDb.Evolve(connection, _ => { })
            {
                EmbeddedResourceAssemblies = [typeof(SqliteStore).Assembly],
                EmbeddedResourceFilters = ["Latch.Core.Storage.Migrations.Sqlite."],
                IsEraseDisabled = true,
                MetadataTableName = "schema_migrations",
                EnableClusterMode = false,
                TargetVersion = new EvolveDb.Migration.MigrationVersion("2"),
            }.Migrate();
            using var insert = connection.CreateCommand();
            insert.CommandText = """
                INSERT INTO workspaces(id, name, wrapped_key, created_at) VALUES ($ws, 'old', $wrapped, '2026-01-01T00:00:00.0000000Z');
                INSERT INTO secrets(workspace_id, secret_key, scope, envs, current_version, created_at, updated_at)
                VALUES ($ws, 'OLD', '[]', '[]', 1, '2026-01-01T00:00:00.0000000Z', '2026-01-01T00:00:00.0000000Z');
                INSERT INTO secret_versions(workspace_id, secret_key, version, sealed_value, created_at) VALUES ($ws, 'OLD', 1, $sealed, '2026-01-01T00:00:00.0000000Z');
                """;
            insert.Parameters.AddWithValue("$ws", workspaceId);
            insert.Parameters.AddWithValue("$wrapped", wrapped);
            insert.Parameters.AddWithValue("$sealed", sealedBytes);
            insert.ExecuteNonQuery();
        }

        try
        {
            // The start-up check runs before migrations: it must work on the old schema too, and refuse a wrong key.
            await using (var inspection = SqliteStore.OpenForInspection(dir))
            {
                Assert.False(await inspection.HasDataKeyGenerationsAsync(CancellationToken.None));
                using var before = new Keyring(_master, inspection);
                await before.VerifyAsync(CancellationToken.None);
                using var wrong = LocalMasterKey.FromBase64(LocalMasterKey.GenerateBase64(), "wrong");
                using var refused = new Keyring(wrong, inspection);
                await Assert.ThrowsAsync<MasterKeyMismatchException>(() => refused.VerifyAsync(CancellationToken.None));

                // Master-key rotation asks for the upgrade first (it writes data_keys).
                await Assert.ThrowsAsync<MasterKeyRotationException>(() =>
                    MasterKeyRotation.RotateSqliteAsync(dir, _master, wrong, TimeProvider.System, "tests", CancellationToken.None));
            }

            await using var store = SqliteStore.Open(dir);
            await store.MigrateAsync(null, CancellationToken.None);
            var keys = await store.ListDataKeysAsync(workspaceId, CancellationToken.None);
            var first = Assert.Single(keys);
            Assert.Equal(1, first.Generation);
            Assert.True(CryptographicOperations.FixedTimeEquals(wrapped, first.WrappedKey));
            Assert.NotNull(first.RetiredAt); // its past use is unknown: it only opens from now on
            Assert.Equal(1, first.EncryptionsReserved);

            using var keyring = new Keyring(_master, store, Small);
            await keyring.VerifyAsync(CancellationToken.None);
            var old = await store.GetSealedValueAsync(workspaceId, "OLD", 1, CancellationToken.None);
            Assert.Equal(1, old!.KeyGeneration);
            Assert.Equal("old-value", (await keyring.OpenAsync(workspaceId, "OLD", 1, old, CancellationToken.None)).Reveal());
            var fresh = await keyring.SealAsync(workspaceId, "NEW", 1, new SecretValue("new-value"), CancellationToken.None);
            Assert.Equal(2, fresh.KeyGeneration);
            Assert.Equal("new-value", (await keyring.OpenAsync(workspaceId, "NEW", 1, fresh, CancellationToken.None)).Reveal());

            // No stale copy of the wrapped key is left in workspaces.
            using var check = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = SqliteStore.DatabasePath(dir), Pooling = false }.ToString());
            check.Open();
            using var columns = check.CreateCommand();
            columns.CommandText = "SELECT count(*) FROM pragma_table_info('workspaces') WHERE name = 'wrapped_key'";
            Assert.Equal(0L, (long)columns.ExecuteScalar()!);
        }
        finally
        {
            try
            {
                Directory.Delete(dir, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    internal static void Execute(string dir, string sql, params (string Name, object Value)[] parameters)
    {
        using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = SqliteStore.DatabasePath(dir), Pooling = false }.ToString());
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value);
        }

        command.ExecuteNonQuery();
    }
}

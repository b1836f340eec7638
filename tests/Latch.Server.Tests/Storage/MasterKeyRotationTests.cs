using System.Net.Http.Json;
using Latch.Core.Crypto;
using Latch.Core.Storage;
using Latch.Core.Storage.Sqlite;
using Latch.Server.Tests.Infrastructure;

namespace Latch.Server.Tests.Storage;

/// <summary>SPEC §6: the master key can be rotated without re-encrypting values; issue 4 item 7.</summary>
public sealed class MasterKeyRotationTests
{
    private const string Actor = "tests";

    /// <summary>Two workspaces, three secrets with several versions; returns each secret's value per version.</summary>
    private static async Task<Dictionary<(string Owner, string Key), string[]>> SeedAsync(TestServer server, HttpClient other)
    {
        var values = new Dictionary<(string, string), string[]>();
        foreach (var (name, client, key, versions) in new[]
                 {
                     ("default", server.Owner, "STRIPE_KEY", 3),
                     ("default", server.Owner, "DB_PASSWORD", 1),
                     ("acme", other, "STRIPE_KEY", 2),
                 })
        {
            var list = new string[versions];
            for (var v = 0; v < versions; v++)
            {
                list[v] = SecretCalls.DistinctValue($"{name}-{key}-v{v + 1}");
                if (v == 0)
                {
                    await client.CreateSecretAsync(new { key, value = list[v] });
                }
                else
                {
                    var response = await client.PatchJsonAsync($"/v1/secrets/{key}", new { value = list[v] });
                    Assert.Equal(200, (int)response.StatusCode);
                }
            }

            values[(name, key)] = list;
        }

        return values;
    }

    private static async Task<HttpClient> CreateWorkspaceAsync(TestServer server, string name)
    {
        var response = await server.Owner.PostAsJsonAsync("/v1/workspaces", new { name });
        var body = await response.ReadJsonAsync();
        Assert.Equal(201, (int)response.StatusCode);
        return server.Client(body["owner_key"]!.GetValue<string>());
    }

    private static async Task<int> ServeExitCodeAsync(string dir, string masterKey)
    {
        using var output = new StringWriter();
        using var patience = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        return await LatchServer.RunAsync(new ServeOptions
        {
            DataDirectory = dir,
            MasterKey = masterKey,
            Urls = "http://127.0.0.1:0",
            BootstrapKey = TestServer.BootstrapKey,
        }, output, patience.Token);
    }

    private static Task<MasterKeyRotationResult> RotateAsync(string dir, string oldKey, string newKey)
    {
        using var oldMaster = LocalMasterKey.FromBase64(oldKey, "old");
        using var newMaster = LocalMasterKey.FromBase64(newKey, "new");
        return MasterKeyRotation.RotateSqliteAsync(dir, oldMaster, newMaster, TimeProvider.System, Actor, CancellationToken.None);
    }

    private static Dictionary<string, string> SealedValues(string dir)
    {
        using var connection = DataFiles.Open(dir);
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT workspace_id, secret_key, version, hex(sealed_value) FROM secret_versions";
        using var reader = command.ExecuteReader();
        var rows = new Dictionary<string, string>(StringComparer.Ordinal);
        while (reader.Read())
        {
            rows[$"{reader.GetString(0)}/{reader.GetString(1)}/{reader.GetInt64(2)}"] = reader.GetString(3);
        }

        return rows;
    }

    [Fact]
    public async Task After_rotation_the_old_key_is_refused_and_the_new_key_opens_every_value_of_every_workspace_and_version_unchanged()
    {
        var dir = TestServer.NewDataDirectory();
        string oldKey;
        Dictionary<(string Owner, string Key), string[]> values;
        string acmeKey;
        await using (var server = await TestServer.StartAsync(dir))
        {
            oldKey = server.MasterKey;
            using var acme = await CreateWorkspaceAsync(server, "acme");
            acmeKey = acme.DefaultRequestHeaders.Authorization!.Parameter!;
            values = await SeedAsync(server, acme);
        }

        DataFiles.SettleAfterStop(dir);
        var sealedBefore = SealedValues(dir);
        Assert.Equal(6, sealedBefore.Count);

        var newKey = SecretCalls.NewMasterKey();
        var result = await RotateAsync(dir, oldKey, newKey);
        Assert.Equal(2, result.WorkspaceCount);
        Assert.Equal(2, result.DataKeyCount);

        // Values were not re-encrypted: every sealed version is byte-for-byte what it was.
        Assert.Equal(sealedBefore, SealedValues(dir));
        Assert.Equal(LatchServer.MasterKeyExitCode, await ServeExitCodeAsync(dir, oldKey));

        await using (var server = await TestServer.StartAsync(dir, newKey))
        {
            using var acme = server.Client(acmeKey);
            foreach (var ((owner, key), versions) in values)
            {
                var client = owner == "acme" ? acme : server.Owner;
                Assert.Equal(versions[^1], await client.RevealValueAsync(key));
                Assert.Equal(versions[^1], await client.ResolveValueAsync(key));
                // Older versions open too: roll back to each and read it.
                for (var v = 1; v < versions.Length; v++)
                {
                    var response = await client.PostAsJsonAsync($"/v1/secrets/{key}/rollback", new { version = v });
                    Assert.Equal(200, (int)response.StatusCode);
                    Assert.Equal(versions[v - 1], await client.RevealValueAsync(key));
                }
            }
        }

        DataFiles.SettleAfterStop(dir);
        using var connection = DataFiles.Open(dir);
        Assert.Equal(2L, DataFiles.Scalar(connection, "SELECT count(*) FROM audit_events WHERE action = $a", ("$a", MasterKeyRotation.AuditAction)));
    }

    [Fact]
    public async Task A_rotated_store_passes_the_start_up_check_with_the_new_key_only()
    {
        var dir = TestServer.NewDataDirectory();
        string oldKey;
        await using (var server = await TestServer.StartAsync(dir))
        {
            oldKey = server.MasterKey;
            await server.Owner.CreateSecretAsync(new { key = "K", value = "value-1234" });
        }

        DataFiles.SettleAfterStop(dir);
        var newKey = SecretCalls.NewMasterKey();
        await RotateAsync(dir, oldKey, newKey);

        await using var store = SqliteStore.OpenForInspection(dir);
        using (var master = LocalMasterKey.FromBase64(newKey, "new"))
        using (var keyring = new Keyring(master, store))
        {
            await keyring.VerifyAsync(CancellationToken.None);
        }

        using (var master = LocalMasterKey.FromBase64(oldKey, "old"))
        using (var keyring = new Keyring(master, store))
        {
            await Assert.ThrowsAsync<MasterKeyMismatchException>(() => keyring.VerifyAsync(CancellationToken.None));
        }
    }

    [Fact]
    public async Task A_wrong_old_key_is_refused_and_changes_nothing()
    {
        var dir = TestServer.NewDataDirectory();
        string oldKey;
        await using (var server = await TestServer.StartAsync(dir))
        {
            oldKey = server.MasterKey;
            await server.Owner.CreateSecretAsync(new { key = "K", value = "value-1234" });
        }

        DataFiles.SettleAfterStop(dir);
        var before = DataFiles.Hashes(dir);

        var error = await Assert.ThrowsAsync<MasterKeyMismatchException>(() => RotateAsync(dir, SecretCalls.NewMasterKey(), SecretCalls.NewMasterKey()));
        Assert.Contains("Nothing was changed", error.Message, StringComparison.Ordinal);
        Assert.Equal(before, DataFiles.Hashes(dir));

        await using var again = await TestServer.StartAsync(dir, oldKey);
        Assert.Equal("value-1234", await again.Owner.RevealValueAsync("K"));
    }

    [Fact]
    public async Task A_new_key_equal_to_the_old_one_is_refused_and_changes_nothing()
    {
        var dir = TestServer.NewDataDirectory();
        string oldKey;
        await using (var server = await TestServer.StartAsync(dir))
        {
            oldKey = server.MasterKey;
        }

        DataFiles.SettleAfterStop(dir);
        var before = DataFiles.Hashes(dir);
        var error = await Assert.ThrowsAsync<MasterKeyRotationException>(() => RotateAsync(dir, oldKey, oldKey));
        Assert.Contains("same as the old one", error.Message, StringComparison.Ordinal);
        Assert.Equal(before, DataFiles.Hashes(dir));
    }

    [Fact]
    public async Task A_damaged_workspace_key_makes_rotation_refuse_so_no_store_is_left_half_rotated()
    {
        var dir = TestServer.NewDataDirectory();
        string oldKey;
        await using (var server = await TestServer.StartAsync(dir))
        {
            oldKey = server.MasterKey;
            using var acme = await CreateWorkspaceAsync(server, "acme");
            await server.Owner.CreateSecretAsync(new { key = "K", value = "default-value" });
            await acme.CreateSecretAsync(new { key = "K", value = "acme-value" });
        }

        DataFiles.SettleAfterStop(dir);
        byte[] original;
        string acmeId;
        using (var connection = DataFiles.Open(dir))
        {
            acmeId = (string)DataFiles.Scalar(connection, "SELECT id FROM workspaces WHERE name = 'acme'")!;
            original = (byte[])DataFiles.Scalar(connection, "SELECT wrapped_key FROM data_keys WHERE workspace_id = $id AND generation = 1", ("$id", acmeId))!;
            var damaged = (byte[])original.Clone();
            damaged[^1] ^= 0x01;
            Assert.Equal(1, DataFiles.Execute(connection, "UPDATE data_keys SET wrapped_key = $k WHERE workspace_id = $id AND generation = 1", ("$k", damaged), ("$id", acmeId)));
        }

        DataFiles.SettleAfterStop(dir);
        var before = DataFiles.Hashes(dir);

        var error = await Assert.ThrowsAsync<MasterKeyMismatchException>(() => RotateAsync(dir, oldKey, SecretCalls.NewMasterKey()));
        Assert.Contains(acmeId, error.Message, StringComparison.Ordinal);
        // The default workspace's key (checked earlier in the same pass) and the check value were not rewritten either.
        Assert.Equal(before, DataFiles.Hashes(dir));

        using (var connection = DataFiles.Open(dir))
        {
            DataFiles.Execute(connection, "UPDATE data_keys SET wrapped_key = $k WHERE workspace_id = $id AND generation = 1", ("$k", original), ("$id", acmeId));
        }

        DataFiles.SettleAfterStop(dir);
        await using var again = await TestServer.StartAsync(dir, oldKey);
        Assert.Equal("default-value", await again.Owner.RevealValueAsync("K"));
    }

    [Fact]
    public async Task The_commit_writes_nothing_when_a_workspace_was_added_after_the_rotation_was_prepared()
    {
        var dir = TestServer.NewDataDirectory();
        string oldKey;
        await using (var server = await TestServer.StartAsync(dir))
        {
            oldKey = server.MasterKey;
        }

        DataFiles.SettleAfterStop(dir);
        using var oldMaster = LocalMasterKey.FromBase64(oldKey, "old");
        using var newMaster = LocalMasterKey.FromBase64(SecretCalls.NewMasterKey(), "new");
        MasterKeyRotationPlan plan;
        await using (var inspection = SqliteStore.OpenForInspection(dir))
        {
            plan = await MasterKeyRotation.PrepareAsync(inspection, oldMaster, newMaster, CancellationToken.None);
        }

        await using (var server = await TestServer.StartAsync(dir, oldKey))
        {
            (await CreateWorkspaceAsync(server, "late")).Dispose();
        }

        DataFiles.SettleAfterStop(dir);
        var before = DataFiles.Hashes(dir);
        await using (var store = SqliteStore.Open(dir))
        {
            await Assert.ThrowsAsync<MasterKeyRotationException>(() => MasterKeyRotation.CommitAsync(store, plan, TimeProvider.System, Actor, CancellationToken.None));
        }

        DataFiles.SettleAfterStop(dir);
        Assert.Equal(before, DataFiles.Hashes(dir));
        Assert.Equal(0, await ServeExitCodeAfterStartAsync(dir, oldKey));
    }

    [Fact]
    public async Task Rotation_refuses_while_a_server_has_the_store_open_and_changes_nothing()
    {
        var dir = TestServer.NewDataDirectory();
        await using var server = await TestServer.StartAsync(dir);
        await server.Owner.CreateSecretAsync(new { key = "K", value = "value-1234" });
        // A running server keeps pooled connections open; other tests may clear every pool of this process at any
        // moment, so an open connection of our own stands in for them deterministically (as another process's would).
        using var held = DataFiles.Open(dir);
        Assert.Equal(1L, DataFiles.Scalar(held, "SELECT count(*) FROM secrets"));
        var before = held.CreateCommand();
        before.CommandText = "SELECT group_concat(hex(wrapped_key)) FROM data_keys";
        var wrappedBefore = (string)before.ExecuteScalar()!;
        before.Dispose();

        var error = await Assert.ThrowsAsync<StoreBusyException>(() => RotateAsync(dir, server.MasterKey, SecretCalls.NewMasterKey()));
        Assert.Contains("latch serve", error.Message, StringComparison.Ordinal);
        Assert.Equal(wrappedBefore, DataFiles.Scalar(held, "SELECT group_concat(hex(wrapped_key)) FROM data_keys"));
        Assert.Equal("value-1234", await server.Owner.RevealValueAsync("K"));
        Assert.Equal("value-1234", await server.Owner.ResolveValueAsync("K"));
    }

    [Fact]
    public async Task Rotation_rewraps_every_data_key_generation_and_every_value_of_every_generation_still_opens()
    {
        var dir = TestServer.NewDataDirectory();
        string oldKey;
        await using (var server = await TestServer.StartAsync(dir))
        {
            oldKey = server.MasterKey;
            await server.Owner.CreateSecretAsync(new { key = "FIRST", value = "first-value" });
        }

        // Seal values through a keyring whose keys retire after 2 encryptions: the workspace gets several generations.
        DataFiles.SettleAfterStop(dir);
        var values = new Dictionary<string, string>(StringComparer.Ordinal) { ["FIRST"] = "first-value" };
        await using (var store = SqliteStore.Open(dir))
        using (var master = LocalMasterKey.FromBase64(oldKey, "old"))
        using (var keyring = new Keyring(master, store, new KeyringOptions { MaxEncryptionsPerKey = 2, ReservationBlockSize = 1 }))
        {
            await using var audit = new Latch.Core.Audit.AuditWriter(store);
            var secrets = new Latch.Core.Secrets.SecretService(store, keyring, audit, TimeProvider.System);
            var workspace = (await store.GetWorkspaceByNameAsync("default", CancellationToken.None))!;
            for (var i = 0; i < 5; i++)
            {
                var key = $"GEN_{i}";
                values[key] = SecretCalls.DistinctValue($"gen-{i}");
                var created = await secrets.CreateAsync(workspace.Id,
                    new Latch.Core.Secrets.SecretDraft(key, new Latch.Core.Secrets.SecretValue(values[key]), null, null, [], [], null),
                    Latch.Core.Storage.Actor.System, CancellationToken.None);
                Assert.True(created.IsSuccess);
            }
        }

        DataFiles.SettleAfterStop(dir);
        long generations;
        using (var connection = DataFiles.Open(dir))
        {
            generations = (long)DataFiles.Scalar(connection, "SELECT count(*) FROM data_keys")!;
            Assert.True(generations >= 3, $"expected several generations, found {generations}");
            Assert.Equal(generations, (long)DataFiles.Scalar(connection, "SELECT max(key_generation) FROM secret_versions")!);
        }

        var newKey = SecretCalls.NewMasterKey();
        var result = await RotateAsync(dir, oldKey, newKey);
        Assert.Equal(1, result.WorkspaceCount);
        Assert.Equal((int)generations, result.DataKeyCount);

        await using (var inspection = SqliteStore.OpenForInspection(dir))
        {
            using var master = LocalMasterKey.FromBase64(newKey, "new");
            using var keyring = new Keyring(master, inspection);
            await keyring.VerifyAsync(CancellationToken.None);
        }

        Assert.Equal(LatchServer.MasterKeyExitCode, await ServeExitCodeAsync(dir, oldKey));
        await using (var server = await TestServer.StartAsync(dir, newKey))
        {
            foreach (var (key, value) in values)
            {
                Assert.Equal(value, await server.Owner.RevealValueAsync(key));
            }
        }
    }

    /// <summary>Starts and stops the server with <paramref name="key"/> and returns 0 when it started.</summary>
    private static async Task<int> ServeExitCodeAfterStartAsync(string dir, string key)
    {
        await using var serve = await SecretCalls.StartServeAsync(new ServeOptions
        {
            DataDirectory = dir,
            MasterKey = key,
            Urls = "http://127.0.0.1:0",
            BootstrapKey = TestServer.BootstrapKey,
        });
        return serve.Address is null ? await serve.Run : await serve.StopAsync();
    }
}

using System.Net;
using System.Net.Http.Json;
using System.Text;
using Latch.Core.Crypto;
using Latch.Core.Storage.Sqlite;
using Latch.Server.Tests.Infrastructure;
using Latch.Server.Tests.Storage;
using Microsoft.Data.Sqlite;

namespace Latch.Server.Tests.Security;

/// <summary>
/// Issue 9 item 2, exhaustively: every byte position of a stored ciphertext and of every wrapped data key is flipped (not
/// one sample), ciphertexts are swapped between secrets, versions and workspaces, and a version's row is replaced by an
/// older version's row (every column). The answer is always 500 <c>secret_integrity</c> (or a refusal to start naming the
/// master key) — never a value, never a wrong value. <see cref="EncryptionTests"/> keeps the single-sample cases.
/// </summary>
public sealed class TamperTests
{
    /// <summary>Two flips per position: the lowest bit, and every bit.</summary>
    private static readonly byte[] Masks = [0x01, 0xFF];

    [Theory]
    [InlineData("one character")]
    [InlineData("37 characters")]
    public async Task Flipping_any_byte_of_a_stored_ciphertext_gives_secret_integrity_and_never_a_value(string size)
    {
        // One character that cannot occur in a response by chance (checked raw and as a JSON escape), or a random value.
        var value = size == "one character" ? "\u2603" : Value(37);
        var dir = TestServer.NewDataDirectory();
        var masterKey = SecretCalls.NewMasterKey();
        int length;
        await using (var server = await TestServer.StartAsync(dir, masterKey))
        {
            await server.Owner.CreateSecretAsync(new { key = "CONTROL", value });
            using (var db = DataFiles.Open(dir))
            {
                length = DataFiles.SealedValue(db, "CONTROL", 1).Length;
            }

            Assert.Equal(12 + Encoding.UTF8.GetByteCount(value) + 16, length);
            for (var i = 0; i < length * Masks.Length; i++)
            {
                await server.Owner.CreateSecretAsync(new { key = $"T{i}", value });
            }
        }

        var flipped = new List<(string Key, int Position, byte Mask)>();
        using (var db = DataFiles.Open(dir))
        {
            for (var m = 0; m < Masks.Length; m++)
            {
                for (var position = 0; position < length; position++)
                {
                    var key = $"T{(m * length) + position}";
                    var sealedValue = DataFiles.SealedValue(db, key, 1);
                    sealedValue[position] ^= Masks[m];
                    DataFiles.SetSealedValue(db, key, 1, sealedValue);
                    flipped.Add((key, position, Masks[m]));
                }
            }
        }

        await using var again = await TestServer.StartAsync(dir, masterKey);
        foreach (var (key, position, mask) in flipped)
        {
            await AssertIntegrityFailureAsync(again.Owner, key, value, $"byte {position} ^ 0x{mask:X2}");
        }

        // All of them in one document: refused as a whole, every one listed, no value anywhere.
        var document = flipped.ToDictionary(f => f.Key.ToLowerInvariant(), f => $"$Token{{{f.Key}}}");
        using var all = await again.Owner.ResolveAsync(document, "any_app", "dev");
        var text = await all.Content.ReadAsStringAsync();
        Assert.False(text.Contains(value, StringComparison.Ordinal), "the response holds the value");
        Assert.False(text.Contains(JsonEscaped(value), StringComparison.OrdinalIgnoreCase), "the response holds the value (JSON-escaped)");
        Assert.Equal(HttpStatusCode.InternalServerError, all.StatusCode);
        var problem = await all.ReadJsonAsync();
        Assert.Equal("secret_integrity", problem["code"]!.GetValue<string>());
        Assert.Null(problem["document"]);
        Assert.Equal(flipped.Select(f => f.Key).Order(StringComparer.Ordinal), problem["errors"]!.AsArray().Select(e => e!["key"]!.GetValue<string>()).Order(StringComparer.Ordinal));

        // The untouched secret still opens: the failure is per value, not a broken key.
        Assert.True(value == await again.Owner.ResolveValueAsync("CONTROL"), "CONTROL no longer resolves to its value");
    }

    [Theory]
    [InlineData("drop the last byte")]
    [InlineData("append a byte")]
    [InlineData("empty")]
    [InlineData("nonce only")]
    [InlineData("nonce and tag only")]
    [InlineData("all zeros, same length")]
    [InlineData("doubled")]
    public async Task A_truncated_extended_or_replaced_ciphertext_gives_secret_integrity(string how)
    {
        const string value = "truncation-probe-value";
        var (dir, masterKey) = await SeedAsync(("TARGET", value), ("CONTROL", "control-value-untouched"));
        using (var db = DataFiles.Open(dir))
        {
            var sealedValue = DataFiles.SealedValue(db, "TARGET", 1);
            byte[] tampered = how switch
            {
                "drop the last byte" => sealedValue[..^1],
                "append a byte" => [.. sealedValue, 0x00],
                "empty" => [],
                "nonce only" => sealedValue[..12],
                "nonce and tag only" => [.. sealedValue[..12], .. sealedValue[^16..]],
                "all zeros, same length" => new byte[sealedValue.Length],
                _ => [.. sealedValue, .. sealedValue],
            };
            DataFiles.SetSealedValue(db, "TARGET", 1, tampered);
        }

        await using var server = await TestServer.StartAsync(dir, masterKey);
        await AssertIntegrityFailureAsync(server.Owner, "TARGET", value, how);
        Assert.True(await server.Owner.ResolveValueAsync("CONTROL") == "control-value-untouched", "CONTROL no longer resolves");
    }

    [Fact]
    public async Task Swapping_the_ciphertexts_of_two_versions_fails_both_and_a_rollback_creates_nothing()
    {
        var (dir, masterKey) = await SeedAsync(("ROTATED", "version-one-value"));
        await using (var server = await TestServer.StartAsync(dir, masterKey))
        {
            using var rotated = await server.Owner.PatchJsonAsync("/v1/secrets/ROTATED", new { value = "version-two-value" });
            Assert.Equal(HttpStatusCode.OK, rotated.StatusCode);
        }

        using (var db = DataFiles.Open(dir))
        {
            var one = DataFiles.SealedValue(db, "ROTATED", 1);
            var two = DataFiles.SealedValue(db, "ROTATED", 2);
            DataFiles.SetSealedValue(db, "ROTATED", 1, two);
            DataFiles.SetSealedValue(db, "ROTATED", 2, one);
        }

        await using var again = await TestServer.StartAsync(dir, masterKey);
        await AssertIntegrityFailureAsync(again.Owner, "ROTATED", "version-one-value", "current version (holds version 1's ciphertext)");
        await AssertNoValueAsync(again.Owner, "ROTATED", "version-two-value");

        // Rolling back to version 1 must open version 1 (now holding version 2's ciphertext): refused, nothing written.
        using var rollback = await again.Owner.PostAsJsonAsync("/v1/secrets/ROTATED/rollback", new { version = 1 });
        await AssertIntegrityProblemAsync(rollback, "ROTATED", ["version-one-value", "version-two-value"], "rollback to version 1");
        using var versions = await again.Owner.GetAsync("/v1/secrets/ROTATED/versions");
        Assert.Equal(2, (await versions.ReadJsonAsync())["items"]!.AsArray().Count);
        using var fetch = await again.Owner.GetAsync("/v1/secrets/ROTATED");
        Assert.Equal(2, (await fetch.ReadJsonAsync())["version"]!.GetValue<int>());
    }

    [Fact]
    public async Task A_ciphertext_copied_between_workspaces_under_the_same_key_and_version_gives_secret_integrity()
    {
        var dir = TestServer.NewDataDirectory();
        var masterKey = SecretCalls.NewMasterKey();
        string secondOwner;
        await using (var server = await TestServer.StartAsync(dir, masterKey))
        {
            using var created = await server.Owner.PostAsJsonAsync("/v1/workspaces", new { name = "second" });
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
            secondOwner = (await created.ReadJsonAsync())["owner_key"]!.GetValue<string>();
            await server.Owner.CreateSecretAsync(new { key = "SAME", value = "first-workspace-value" });
            using var second = server.Client(secondOwner);
            await second.CreateSecretAsync(new { key = "SAME", value = "second-workspace-value" });
        }

        using (var db = DataFiles.Open(dir))
        {
            var rows = new List<(string Workspace, byte[] Sealed)>();
            using (var select = db.CreateCommand())
            {
                select.CommandText = "SELECT workspace_id, sealed_value FROM secret_versions WHERE secret_key = 'SAME' AND version = 1 ORDER BY workspace_id";
                using var reader = select.ExecuteReader();
                while (reader.Read())
                {
                    rows.Add((reader.GetString(0), (byte[])reader.GetValue(1)));
                }
            }

            Assert.Equal(2, rows.Count);
            Assert.Equal(1, DataFiles.Execute(db, "UPDATE secret_versions SET sealed_value = $s WHERE workspace_id = $w AND secret_key = 'SAME' AND version = 1", ("$s", rows[1].Sealed), ("$w", rows[0].Workspace)));
            Assert.Equal(1, DataFiles.Execute(db, "UPDATE secret_versions SET sealed_value = $s WHERE workspace_id = $w AND secret_key = 'SAME' AND version = 1", ("$s", rows[0].Sealed), ("$w", rows[1].Workspace)));
        }

        await using var again = await TestServer.StartAsync(dir, masterKey);
        using var secondClient = again.Client(secondOwner);
        foreach (var client in new[] { again.Owner, secondClient })
        {
            await AssertIntegrityFailureAsync(client, "SAME", "first-workspace-value", "cross-workspace copy");
            await AssertNoValueAsync(client, "SAME", "second-workspace-value");
        }
    }

    [Fact]
    public async Task Replacing_a_versions_row_with_an_older_versions_row_every_column_gives_secret_integrity()
    {
        var (dir, masterKey) = await SeedAsync(("ROLLED", "version-one-value"));
        await using (var server = await TestServer.StartAsync(dir, masterKey))
        {
            foreach (var value in new[] { "version-two-value", "version-three-value" })
            {
                using var rotated = await server.Owner.PatchJsonAsync("/v1/secrets/ROLLED", new { value });
                Assert.Equal(HttpStatusCode.OK, rotated.StatusCode);
            }
        }

        using (var db = DataFiles.Open(dir))
        {
            // Every column but the primary key, whatever the schema version (V3 adds key_generation).
            var columns = Columns(db, "secret_versions").Where(c => c is not ("workspace_id" or "secret_key" or "version")).ToList();
            Assert.Contains("sealed_value", columns);
            var list = string.Join(", ", columns);
            var changed = DataFiles.Execute(db, $"""
                UPDATE secret_versions SET ({list}) = (SELECT {list} FROM secret_versions WHERE secret_key = 'ROLLED' AND version = 1)
                WHERE secret_key = 'ROLLED' AND version = 3
                """);
            Assert.Equal(1, changed);
        }

        await using var again = await TestServer.StartAsync(dir, masterKey);
        await AssertIntegrityFailureAsync(again.Owner, "ROLLED", "version-one-value", "version 3 replaced by version 1's row");
        await AssertNoValueAsync(again.Owner, "ROLLED", "version-three-value");
        using var fetch = await again.Owner.GetAsync("/v1/secrets/ROLLED");
        Assert.Equal(3, (await fetch.ReadJsonAsync())["version"]!.GetValue<int>());
    }

    [Fact]
    public async Task A_version_that_names_another_key_generation_gives_secret_integrity()
    {
        var (dir, masterKey) = await SeedAsync(("GENERATION", "generation-probe-value"), ("CONTROL", "control-value-untouched"));
        using (var db = DataFiles.Open(dir))
        {
            Assert.Contains("key_generation", Columns(db, "secret_versions"));
        }

        foreach (var generation in new long[] { 0, -1, 2, 99, int.MaxValue, (long)int.MaxValue + 1 })
        {
            using (var db = DataFiles.Open(dir))
            {
                Assert.Equal(1, DataFiles.Execute(db, "UPDATE secret_versions SET key_generation = $g WHERE secret_key = 'GENERATION'", ("$g", generation)));
            }

            await using var server = await TestServer.StartAsync(dir, masterKey);
            await AssertIntegrityFailureAsync(server.Owner, "GENERATION", "generation-probe-value", $"key_generation = {generation}");
            Assert.True(await server.Owner.ResolveValueAsync("CONTROL") == "control-value-untouched", "CONTROL no longer resolves");
        }
    }

    [Fact]
    public async Task Flipping_any_byte_of_any_wrapped_data_key_makes_the_keyring_refuse_naming_the_master_key()
    {
        var (dir, masterKey) = await SeedWithTwoGenerationsAsync();
        DataFiles.SettleAfterStop(dir);
        List<WrappedKey> keys;
        using (var db = DataFiles.Open(dir))
        {
            keys = WrappedKeys(db);
        }

        Assert.NotEmpty(keys);
        using var master = LocalMasterKey.FromBase64(masterKey, "the test");
        await VerifyKeyringAsync(dir, master); // untouched: opens

        var checkedPositions = 0;
        foreach (var key in keys)
        {
            for (var position = 0; position < key.Bytes.Length; position++)
            {
                foreach (var mask in Masks)
                {
                    var copy = CopyDataDirectory(dir);
                    try
                    {
                        var tampered = (byte[])key.Bytes.Clone();
                        tampered[position] ^= mask;
                        using (var db = DataFiles.Open(copy))
                        {
                            key.Write(db, tampered);
                        }

                        var refused = await Assert.ThrowsAsync<MasterKeyMismatchException>(() => VerifyKeyringAsync(copy, master));
                        Assert.Contains("master key", refused.Message, StringComparison.OrdinalIgnoreCase);
                        checkedPositions++;
                    }
                    finally
                    {
                        Directory.Delete(copy, recursive: true);
                    }
                }
            }
        }

        Assert.Equal(keys.Sum(k => k.Bytes.Length) * Masks.Length, checkedPositions);
    }

    [Fact]
    public async Task Flipping_any_byte_of_the_master_key_check_value_makes_the_keyring_refuse()
    {
        var (dir, masterKey) = await SeedAsync(("API_TOKEN", "check-value-probe"));
        DataFiles.SettleAfterStop(dir);
        byte[] check;
        using (var db = DataFiles.Open(dir))
        {
            check = (byte[])DataFiles.Scalar(db, "SELECT value FROM store_meta WHERE name = 'master_key_check'")!;
        }

        using var master = LocalMasterKey.FromBase64(masterKey, "the test");
        for (var position = 0; position < check.Length; position++)
        {
            var copy = CopyDataDirectory(dir);
            try
            {
                var tampered = (byte[])check.Clone();
                tampered[position] ^= 0x01;
                using (var db = DataFiles.Open(copy))
                {
                    Assert.Equal(1, DataFiles.Execute(db, "UPDATE store_meta SET value = $v WHERE name = 'master_key_check'", ("$v", tampered)));
                }

                await Assert.ThrowsAsync<MasterKeyMismatchException>(() => VerifyKeyringAsync(copy, master));
            }
            finally
            {
                Directory.Delete(copy, recursive: true);
            }
        }
    }

    [Theory]
    [InlineData("first nonce byte")]
    [InlineData("last nonce byte")]
    [InlineData("first ciphertext byte")]
    [InlineData("first tag byte")]
    [InlineData("last byte")]
    public async Task Flipping_a_byte_of_a_wrapped_data_key_refuses_to_start_the_server_and_changes_nothing(string where)
    {
        // The newest generation's key (generation 2 from schema 3 on), and for the first position every other one too.
        var (dir, masterKey) = await SeedWithTwoGenerationsAsync();
        using (var db = DataFiles.Open(dir))
        {
            var key = WrappedKeys(db)[^1];
            var position = where switch
            {
                "first nonce byte" => 0,
                "last nonce byte" => 11,
                "first ciphertext byte" => 12,
                "first tag byte" => key.Bytes.Length - 16,
                _ => key.Bytes.Length - 1,
            };
            var tampered = (byte[])key.Bytes.Clone();
            tampered[position] ^= 0x01;
            key.Write(db, tampered);
        }

        var output = await DataFiles.AssertServeRefusesOverTheMasterKeyAsync(dir, masterKey);
        Assert.DoesNotContain("listening", output, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain(masterKey, output, StringComparison.Ordinal);
    }

    /// <summary>
    /// A store with a secret sealed by each data-key generation: from schema 3 on, generation 1's budget is marked spent
    /// (as after 2^32 − 2^24 encryptions) so the next seal creates generation 2. Before schema 3 there is one key.
    /// </summary>
    private static async Task<(string Dir, string MasterKey)> SeedWithTwoGenerationsAsync()
    {
        var (dir, masterKey) = await SeedAsync(("FIRST_GENERATION", "sealed-by-generation-one"));
        using (var db = DataFiles.Open(dir))
        {
            Assert.Contains("data_keys", Tables(db));
            Assert.Equal(1, DataFiles.Execute(db, "UPDATE data_keys SET encryptions_reserved = $n", ("$n", (1L << 32) - (1L << 24))));
        }

        await using (var server = await TestServer.StartAsync(dir, masterKey))
        {
            await server.Owner.CreateSecretAsync(new { key = "SECOND_GENERATION", value = "sealed-by-generation-two" });
            Assert.True(await server.Owner.ResolveValueAsync("FIRST_GENERATION") == "sealed-by-generation-one", "generation 1 no longer opens");
            Assert.True(await server.Owner.ResolveValueAsync("SECOND_GENERATION") == "sealed-by-generation-two", "generation 2 does not open");
        }

        using (var db = DataFiles.Open(dir))
        {
            Assert.Equal(2L, DataFiles.Scalar(db, "SELECT max(generation) FROM data_keys"));
            Assert.Equal(2L, DataFiles.Scalar(db, "SELECT key_generation FROM secret_versions WHERE secret_key = 'SECOND_GENERATION'"));
        }

        return (dir, masterKey);
    }

    /// <summary>A wrapped data key's row in <c>data_keys</c> (one per workspace and generation).</summary>
    private sealed record WrappedKey(string Description, byte[] Bytes, Action<SqliteConnection, byte[]> Write);

    private static List<WrappedKey> WrappedKeys(SqliteConnection db)
    {
        var keys = new List<WrappedKey>();
        using var select = db.CreateCommand();
        select.CommandText = "SELECT workspace_id, generation, wrapped_key FROM data_keys ORDER BY workspace_id, generation";
        using var reader = select.ExecuteReader();
        while (reader.Read())
        {
            var workspace = reader.GetString(0);
            var generation = reader.GetInt64(1);
            keys.Add(new WrappedKey($"{workspace} generation {generation}", (byte[])reader.GetValue(2), (connection, bytes) =>
            {
                Assert.Equal(1, DataFiles.Execute(connection, "UPDATE data_keys SET wrapped_key = $k WHERE workspace_id = $w AND generation = $g", ("$k", bytes), ("$w", workspace), ("$g", generation)));
            }));
        }

        return keys;
    }

    private static async Task VerifyKeyringAsync(string dir, IKeyEncryptionKey master)
    {
        await using var store = SqliteStore.OpenForInspection(dir);
        using var keyring = new Keyring(master, store);
        await keyring.VerifyAsync(CancellationToken.None);
    }

    /// <summary>A private copy of a stopped server's database (a fresh path each time, so no pooled connection sees old pages).</summary>
    private static string CopyDataDirectory(string dir)
    {
        var copy = TestServer.NewDataDirectory();
        foreach (var file in DataFiles.ExistingFiles(dir))
        {
            File.Copy(file, Path.Combine(copy, Path.GetFileName(file)));
        }

        return copy;
    }

    private static HashSet<string> Tables(SqliteConnection db)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        using var command = db.CreateCommand();
        command.CommandText = "SELECT name FROM sqlite_master WHERE type = 'table'";
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            names.Add(reader.GetString(0));
        }

        return names;
    }

    private static List<string> Columns(SqliteConnection db, string table)
    {
        var names = new List<string>();
        using var command = db.CreateCommand();
        command.CommandText = $"SELECT name FROM pragma_table_info('{table}') ORDER BY cid";
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            names.Add(reader.GetString(0));
        }

        return names;
    }

    /// <summary>A value of exactly <paramref name="length"/> ASCII characters, random so it cannot occur by chance.</summary>
    private static string Value(int length)
    {
        var text = SecretCalls.DistinctValue("v");
        while (text.Length < length)
        {
            text += SecretCalls.DistinctValue("v");
        }

        return text[..length];
    }

    private static async Task<(string Dir, string MasterKey)> SeedAsync(params (string Key, string Value)[] secrets)
    {
        var dir = TestServer.NewDataDirectory();
        var masterKey = SecretCalls.NewMasterKey();
        await using var server = await TestServer.StartAsync(dir, masterKey);
        foreach (var (key, value) in secrets)
        {
            await server.Owner.CreateSecretAsync(new { key, value });
        }

        return (dir, masterKey);
    }

    /// <summary>Resolve and reveal both answer 500 secret_integrity naming the key, with no value (checked before anything is printed).</summary>
    private static async Task AssertIntegrityFailureAsync(HttpClient owner, string key, string value, string what)
    {
        using var resolve = await owner.ResolveAsync(new { v = $"$Token{{{key}}}" }, "any_app", "dev");
        var problem = await AssertIntegrityProblemAsync(resolve, key, [value], $"resolve, {what}");
        var error = Assert.Single(problem["errors"]!.AsArray())!;
        Assert.Equal(key, error["key"]!.GetValue<string>());
        Assert.Equal("$.v", error["path"]!.GetValue<string>());
        Assert.Equal("secret_integrity", error["code"]!.GetValue<string>());
        Assert.Null(problem["document"]);

        using var reveal = await owner.GetAsync($"/v1/secrets/{key}?reveal=true");
        var revealed = await AssertIntegrityProblemAsync(reveal, key, [value], $"reveal, {what}");
        Assert.Null(revealed["value"]);
    }

    private static async Task<System.Text.Json.Nodes.JsonNode> AssertIntegrityProblemAsync(HttpResponseMessage response, string key, string[] values, string what)
    {
        var text = await response.Content.ReadAsStringAsync();
        foreach (var value in values)
        {
            Assert.False(text.Contains(value, StringComparison.Ordinal), $"{what}: the response holds a value");
            Assert.False(text.Contains(JsonEscaped(value), StringComparison.OrdinalIgnoreCase), $"{what}: the response holds a value (JSON-escaped)");
        }

        Assert.True(response.StatusCode == HttpStatusCode.InternalServerError, $"{what}: expected 500, got {(int)response.StatusCode}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = System.Text.Json.Nodes.JsonNode.Parse(text)!;
        Assert.True(problem["code"]?.GetValue<string>() == "secret_integrity", $"{what}: code {problem["code"]}");
        Assert.Equal($"Secret '{key}' failed its integrity check", problem["detail"]!.GetValue<string>());
        return problem;
    }

    private static string JsonEscaped(string value) => System.Text.Json.JsonSerializer.Serialize(value).Trim('"');

    private static async Task AssertNoValueAsync(HttpClient owner, string key, string value)
    {
        using var resolve = await owner.ResolveAsync(new { v = $"$Token{{{key}}}" }, "any_app", "dev");
        Assert.False((await resolve.Content.ReadAsStringAsync()).Contains(value, StringComparison.Ordinal), $"{key}: a resolution returned another version's value");
        using var reveal = await owner.GetAsync($"/v1/secrets/{key}?reveal=true");
        Assert.False((await reveal.Content.ReadAsStringAsync()).Contains(value, StringComparison.Ordinal), $"{key}: a reveal returned another version's value");
    }
}

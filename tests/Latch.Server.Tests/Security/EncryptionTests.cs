using Latch.Server.Tests.Infrastructure;
using Latch.Server.Tests.Storage;

namespace Latch.Server.Tests.Security;

/// <summary>SPEC §6: envelope encryption, master key handling and integrity of stored ciphertexts.</summary>
public sealed class EncryptionTests
{
    private const string Value = "correct-horse-battery-staple";

    [Fact]
    public async Task Wrong_master_key_refuses_to_start_and_changes_nothing()
    {
        var dir = TestServer.NewDataDirectory();
        string keyA;
        await using (var server = await TestServer.StartAsync(dir))
        {
            keyA = server.MasterKey;
            await server.Owner.CreateSecretAsync(new { key = "DB_PASSWORD", value = Value });
        }

        var output = await DataFiles.AssertServeRefusesOverTheMasterKeyAsync(dir, SecretCalls.NewMasterKey());
        Assert.DoesNotContain("listening", output, StringComparison.OrdinalIgnoreCase);

        await using (var again = await TestServer.StartAsync(dir, keyA))
        {
            Assert.Equal(Value, await again.Owner.ResolveValueAsync("DB_PASSWORD"));
            Assert.Equal(Value, await again.Owner.RevealValueAsync("DB_PASSWORD"));
        }
    }

    [Theory]
    [InlineData("not base64 at all!!")]
    [InlineData("c2hvcnQ=")] // base64 of 5 bytes
    [InlineData("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")] // 57 bytes
    public async Task Malformed_master_key_refuses_to_start_with_a_message_naming_the_master_key(string masterKey)
    {
        var dir = TestServer.NewDataDirectory();
        using var output = new StringWriter();
        using var patience = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        var exit = await LatchServer.RunAsync(new ServeOptions
        {
            DataDirectory = dir,
            MasterKey = masterKey,
            Urls = "http://127.0.0.1:0",
            BootstrapKey = TestServer.BootstrapKey,
        }, output, patience.Token);

        Assert.NotEqual(0, exit);
        Assert.Equal(LatchServer.MasterKeyExitCode, exit);
        Assert.Contains("master key", output.ToString(), StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain(masterKey, output.ToString(), StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(dir, "master.key")), "a key given (even a bad one) must not be replaced by a generated file");
    }

    [Fact]
    public async Task New_data_directory_without_a_master_key_generates_a_private_key_file_with_a_warning_and_reuses_it()
    {
        var dir = Path.Combine(TestServer.NewDataDirectory(), "fresh");
        var keyFile = Path.Combine(dir, "master.key");
        var options = new ServeOptions
        {
            DataDirectory = dir,
            MasterKey = null,
            Urls = "http://127.0.0.1:0",
            BootstrapKey = TestServer.BootstrapKey,
        };

        string generatedKey;
        await using (var first = await SecretCalls.StartServeAsync(options))
        {
            Assert.True(first.Address is not null, "did not start:\n" + first.Output);
            Assert.Contains("Warning", first.Output, StringComparison.Ordinal);
            Assert.Contains(keyFile, first.Output, StringComparison.Ordinal);
            Assert.True(File.Exists(keyFile));
            if (!OperatingSystem.IsWindows())
            {
                Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(keyFile));
            }

            generatedKey = await File.ReadAllTextAsync(keyFile);
            Assert.Equal(32, Convert.FromBase64String(generatedKey.Trim()).Length);
            Assert.DoesNotContain(generatedKey.Trim(), first.Output, StringComparison.Ordinal);

            using var client = first.Client(TestServer.BootstrapKey);
            await client.CreateSecretAsync(new { key = "GENERATED_KEY_SECRET", value = Value });
            Assert.Equal(0, await first.StopAsync());
        }

        await using (var second = await SecretCalls.StartServeAsync(options))
        {
            Assert.True(second.Address is not null, "did not restart:\n" + second.Output);
            Assert.DoesNotContain("Warning", second.Output, StringComparison.Ordinal);
            Assert.Equal(generatedKey, await File.ReadAllTextAsync(keyFile));
            using var client = second.Client(TestServer.BootstrapKey);
            Assert.Equal(Value, await client.ResolveValueAsync("GENERATED_KEY_SECRET"));
            Assert.Equal(0, await second.StopAsync());
        }
    }

    [Fact]
    public async Task Existing_store_without_its_master_key_file_refuses_to_start_instead_of_generating_a_new_key()
    {
        var dir = TestServer.NewDataDirectory();
        await using (var server = await TestServer.StartAsync(dir))
        {
            await server.Owner.CreateSecretAsync(new { key = "DB_PASSWORD", value = Value });
        }

        await DataFiles.AssertServeRefusesOverTheMasterKeyAsync(dir, masterKey: null, bootstrapKey: null);
        Assert.False(File.Exists(Path.Combine(dir, "master.key")));
    }

    [Theory]
    [InlineData("nonce")]
    [InlineData("ciphertext")]
    [InlineData("tag")]
    public async Task Flipping_one_byte_of_a_sealed_value_fails_the_integrity_check_and_never_yields_a_wrong_value(string where)
    {
        var (dir, masterKey) = await SeedAsync(("API_TOKEN", Value), ("OTHER", "other-value-untouched"));
        using (var db = DataFiles.Open(dir))
        {
            var sealedValue = DataFiles.SealedValue(db, "API_TOKEN", 1);
            var index = where switch
            {
                "nonce" => 3,
                "ciphertext" => 12 + 5,
                _ => sealedValue.Length - 2,
            };
            sealedValue[index] ^= 0x01;
            DataFiles.SetSealedValue(db, "API_TOKEN", 1, sealedValue);
        }

        await using var server = await TestServer.StartAsync(dir, masterKey);
        await AssertIntegrityFailureAsync(server, "API_TOKEN");
        Assert.Equal("other-value-untouched", await server.Owner.ResolveValueAsync("OTHER"));
    }

    [Fact]
    public async Task Swapping_the_sealed_values_of_two_secrets_makes_both_fail_their_integrity_check()
    {
        var (dir, masterKey) = await SeedAsync(("FIRST", "first-value-aaaa"), ("SECOND", "second-value-bbbb"));
        using (var db = DataFiles.Open(dir))
        {
            var first = DataFiles.SealedValue(db, "FIRST", 1);
            var second = DataFiles.SealedValue(db, "SECOND", 1);
            DataFiles.SetSealedValue(db, "FIRST", 1, second);
            DataFiles.SetSealedValue(db, "SECOND", 1, first);
        }

        await using var server = await TestServer.StartAsync(dir, masterKey);
        await AssertIntegrityFailureAsync(server, "FIRST");
        await AssertIntegrityFailureAsync(server, "SECOND");

        // Both in one document: refused as a whole, neither value comes back.
        var response = await server.Owner.ResolveAsync(new { a = "$Token{FIRST}", b = "$Token{SECOND}" }, "any_app", "dev");
        var problem = await response.AssertProblemAsync(500, "secret_integrity");
        Assert.Null(problem["document"]);
        var text = problem.ToJsonString();
        Assert.DoesNotContain("first-value-aaaa", text, StringComparison.Ordinal);
        Assert.DoesNotContain("second-value-bbbb", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Every_tampered_secret_in_one_document_is_listed_in_the_integrity_failure()
    {
        var (dir, masterKey) = await SeedAsync(("FIRST", "first-value-aaaa"), ("SECOND", "second-value-bbbb"));
        using (var db = DataFiles.Open(dir))
        {
            var first = DataFiles.SealedValue(db, "FIRST", 1);
            var second = DataFiles.SealedValue(db, "SECOND", 1);
            DataFiles.SetSealedValue(db, "FIRST", 1, second);
            DataFiles.SetSealedValue(db, "SECOND", 1, first);
        }

        await using var server = await TestServer.StartAsync(dir, masterKey);
        var response = await server.Owner.ResolveAsync(new { a = "$Token{FIRST}", b = "$Token{SECOND}" }, "any_app", "dev");
        var problem = await response.AssertProblemAsync(500, "secret_integrity");
        var errors = problem["errors"]!.AsArray();
        Assert.Equal(["FIRST", "SECOND"], errors.Select(e => e!["key"]!.GetValue<string>()).Order(StringComparer.Ordinal));
        Assert.All(errors, e => Assert.Equal("secret_integrity", e!["code"]!.GetValue<string>()));
        var text = problem.ToJsonString();
        Assert.DoesNotContain("first-value-aaaa", text, StringComparison.Ordinal);
        Assert.DoesNotContain("second-value-bbbb", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Copying_an_older_versions_sealed_value_over_the_current_version_fails_the_integrity_check()
    {
        var (dir, masterKey) = await SeedAsync(("ROTATED", "version-one-value"));
        await using (var server = await TestServer.StartAsync(dir, masterKey))
        {
            var rotated = await server.Owner.PatchJsonAsync("/v1/secrets/ROTATED", new { value = "version-two-value" });
            Assert.Equal(200, (int)rotated.StatusCode);
            Assert.Equal("version-two-value", await server.Owner.ResolveValueAsync("ROTATED"));
        }

        using (var db = DataFiles.Open(dir))
        {
            DataFiles.SetSealedValue(db, "ROTATED", 2, DataFiles.SealedValue(db, "ROTATED", 1));
        }

        await using var again = await TestServer.StartAsync(dir, masterKey);
        await AssertIntegrityFailureAsync(again, "ROTATED");
    }

    [Fact]
    public async Task A_sealed_value_relabelled_with_another_data_key_generation_fails_the_integrity_check()
    {
        var (dir, masterKey) = await SeedAsync(("RELABELLED", "relabelled-value"));
        using (var db = DataFiles.Open(dir))
        {
            Assert.Equal(1, DataFiles.Execute(db, "UPDATE secret_versions SET key_generation = 2 WHERE secret_key = 'RELABELLED'"));
        }

        await using var again = await TestServer.StartAsync(dir, masterKey);
        await AssertIntegrityFailureAsync(again, "RELABELLED");
    }

    [Fact]
    public async Task Altering_a_workspaces_wrapped_data_key_refuses_to_start_naming_the_master_key()
    {
        var (dir, masterKey) = await SeedAsync(("API_TOKEN", Value));
        using (var db = DataFiles.Open(dir))
        {
            var wrapped = (byte[])DataFiles.Scalar(db, "SELECT wrapped_key FROM data_keys LIMIT 1")!;
            wrapped[wrapped.Length / 2] ^= 0x80;
            Assert.Equal(1, DataFiles.Execute(db, "UPDATE data_keys SET wrapped_key = $w", ("$w", wrapped)));
        }

        await DataFiles.AssertServeRefusesOverTheMasterKeyAsync(dir, masterKey);
    }

    [Fact]
    public async Task Wrong_master_key_after_a_crash_leaves_the_pending_write_ahead_log_untouched()
    {
        // A crash leaves latch.db-wal holding committed transactions; snapshot the files of a live server to get that state.
        var live = TestServer.NewDataDirectory();
        var crashed = TestServer.NewDataDirectory();
        string keyA;
        await using (var server = await TestServer.StartAsync(live))
        {
            keyA = server.MasterKey;
            await server.Owner.CreateSecretAsync(new { key = "DB_PASSWORD", value = Value });
            foreach (var file in DataFiles.ExistingFiles(live))
            {
                await File.WriteAllBytesAsync(Path.Combine(crashed, Path.GetFileName(file)), DataFiles.ReadShared(file));
            }
        }

        var before = DataFiles.Hashes(crashed);
        Assert.Contains("latch.db-wal", before.Keys);
        using var output = new StringWriter();
        using var patience = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        var exit = await LatchServer.RunAsync(new ServeOptions
        {
            DataDirectory = crashed,
            MasterKey = SecretCalls.NewMasterKey(),
            Urls = "http://127.0.0.1:0",
            BootstrapKey = TestServer.BootstrapKey,
        }, output, patience.Token);

        Assert.Equal(LatchServer.MasterKeyExitCode, exit);
        Assert.Equal(before, DataFiles.Hashes(crashed));
        await using var again = await TestServer.StartAsync(crashed, keyA);
        Assert.Equal(Value, await again.Owner.ResolveValueAsync("DB_PASSWORD"));
    }

    private static async Task<(string Dir, string MasterKey)> SeedAsync(params (string Key, string Value)[] secrets)
    {
        var dir = TestServer.NewDataDirectory();
        var masterKey = SecretCalls.NewMasterKey();
        await using var server = await TestServer.StartAsync(dir, masterKey);
        foreach (var (key, value) in secrets)
        {
            await server.Owner.CreateSecretAsync(new { key, value });
            Assert.Equal(value, await server.Owner.ResolveValueAsync(key));
        }

        return (dir, masterKey);
    }

    private static async Task AssertIntegrityFailureAsync(TestServer server, string key)
    {
        var message = $"Secret '{key}' failed its integrity check";

        var resolve = await server.Owner.ResolveAsync(new { v = $"$Token{{{key}}}" }, "any_app", "dev");
        var problem = await resolve.AssertProblemAsync(500, "secret_integrity");
        Assert.Equal(message, problem["detail"]!.GetValue<string>());
        var error = Assert.Single(problem["errors"]!.AsArray())!;
        Assert.Equal(key, error["key"]!.GetValue<string>());
        Assert.Equal("$.v", error["path"]!.GetValue<string>());
        Assert.Equal("secret_integrity", error["code"]!.GetValue<string>());
        Assert.Equal(message, error["message"]!.GetValue<string>());
        Assert.Null(problem["document"]);

        var reveal = await server.Owner.GetAsync($"/v1/secrets/{key}?reveal=true");
        var revealProblem = await reveal.AssertProblemAsync(500, "secret_integrity");
        Assert.Equal(message, revealProblem["detail"]!.GetValue<string>());
        Assert.Null(revealProblem["value"]);

        // The metadata is still there: only the value is refused.
        var fetch = await server.Owner.GetAsync($"/v1/secrets/{key}");
        Assert.Equal(200, (int)fetch.StatusCode);
        Assert.Null((await fetch.ReadJsonAsync())["value"]);
    }
}

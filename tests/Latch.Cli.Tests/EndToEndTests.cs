using System.Security.Cryptography;
using System.Text.Json;
using Latch.Server;

namespace Latch.Cli.Tests;

/// <summary>A real Latch server on loopback with a fresh data directory, shared by one test class.</summary>
public sealed class LatchServerFixture : IAsyncLifetime
{
    private readonly string _dataDirectory = Path.Combine(Path.GetTempPath(), "latch-cli-tests-" + Guid.NewGuid().ToString("N"));
    private RunningLatch? _server;

    /// <summary>The bootstrap key: an owner key of the default workspace.</summary>
    public string ApiKey { get; } = RandomNumberGenerator.GetString("abcdefghijklmnopqrstuvwxyz0123456789", 40);

    public Uri BaseAddress => _server?.BaseAddress ?? throw new InvalidOperationException("server not started");

    public Dictionary<string, string> Variables => new()
    {
        ["LATCH_URL"] = BaseAddress.ToString(),
        ["LATCH_API_KEY"] = ApiKey,
    };

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_dataDirectory);
        _server = await LatchServer.StartAsync(new ServeOptions
        {
            Urls = "http://127.0.0.1:0",
            DataDirectory = _dataDirectory,
            MasterKey = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)),
            BootstrapKey = ApiKey,
            // Actions in these tests call upstreams on loopback, which the egress policy denies by default.
            EgressAllow = ["127.0.0.0/8"],
        });
    }

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }

        try
        {
            Directory.Delete(_dataDirectory, recursive: true);
        }
        catch (IOException)
        {
            // A file still held open by SQLite on the way down; the temp directory is cleaned eventually.
        }
    }
}

/// <summary>The CLI against a real server: every command, as a person and as a script would use it.</summary>
public sealed class EndToEndTests(LatchServerFixture server) : IClassFixture<LatchServerFixture>
{
    private Task<CliResult> Latch(params string[] args) => CliHarness.RunAsync(server.Variables, args);

    private Task<CliResult> LatchWithStdin(string stdin, params string[] args) => CliHarness.RunAsync(server.Variables, args, stdin: stdin);

    [Fact]
    public async Task A_secret_goes_through_its_whole_life()
    {
        const string First = "first-value-8b1f2c";
        const string Second = "second-value-77aa01";
        const string Stale = "stale-value-0d9e3b";

        var create = await Latch("secrets", "create", "LIFE_KEY", "--value", First, "--scope", "billing", "--envs", "prd,dev",
            "--description", "life cycle", "--type", "api_key", "--expires", "2099-01-01");
        Assert.True(create.ExitCode == 0, create.Error);
        Assert.Contains("Created secret 'LIFE_KEY'", create.Out, StringComparison.Ordinal);
        Assert.DoesNotContain(First, create.Out, StringComparison.Ordinal);

        var list = await Latch("secrets", "list");
        Assert.Equal(0, list.ExitCode);
        var row = Assert.Single(list.Out.Split('\n'), l => l.Contains("LIFE_KEY", StringComparison.Ordinal));
        Assert.Contains("billing", row, StringComparison.Ordinal);
        Assert.Contains("prd, dev", row, StringComparison.Ordinal);
        Assert.Contains("2099-01-01 00:00:00 UTC", row, StringComparison.Ordinal);
        Assert.Contains("active", row, StringComparison.Ordinal);

        var get = await Latch("secrets", "get", "LIFE_KEY");
        Assert.Equal(0, get.ExitCode);
        Assert.Matches(@"Reference\s*│\s*\$Token\{LIFE_KEY\}", get.Out);
        Assert.Matches(@"Version\s*│\s*1\b", get.Out);
        Assert.DoesNotContain(First, get.Out, StringComparison.Ordinal);

        var reveal = await Latch("secrets", "get", "LIFE_KEY", "--reveal");
        Assert.Matches($@"Value\s*│\s*{First}", reveal.Out);

        var rotate = await LatchWithStdin(Second + "\n", "secrets", "rotate", "LIFE_KEY", "--value-stdin", "--if-version", "1");
        Assert.True(rotate.ExitCode == 0, rotate.Error);
        Assert.Contains("version 2", rotate.Out, StringComparison.Ordinal);

        var stale = await Latch("secrets", "rotate", "LIFE_KEY", "--value", Stale, "--if-version", "1");
        Assert.Equal(1, stale.ExitCode);
        Assert.StartsWith("Error: ", stale.Error, StringComparison.Ordinal);
        Assert.DoesNotContain(Stale, stale.Error, StringComparison.Ordinal);

        var revoke = await Latch("secrets", "revoke", "LIFE_KEY");
        Assert.True(revoke.ExitCode == 0, revoke.Error);
        Assert.Matches(@"Status\s*│\s*revoked", revoke.Out);

        var versions = await Latch("secrets", "versions", "LIFE_KEY");
        Assert.Equal(0, versions.ExitCode);
        Assert.Matches(@"│\s*1\s*│", versions.Out);
        Assert.Matches(@"│\s*2\s*│", versions.Out);
        Assert.DoesNotContain(First, versions.Out, StringComparison.Ordinal);
        Assert.DoesNotContain(Second, versions.Out, StringComparison.Ordinal);

        var rollback = await Latch("secrets", "rollback", "LIFE_KEY", "--version", "1");
        Assert.True(rollback.ExitCode == 0, rollback.Error);
        Assert.Contains("version 3 holds the value of version 1", rollback.Out, StringComparison.Ordinal);
        var afterRollback = await Latch("secrets", "get", "LIFE_KEY", "--reveal");
        Assert.Matches($@"Value\s*│\s*{First}", afterRollback.Out);

        var delete = await Latch("secrets", "delete", "LIFE_KEY", "--yes");
        Assert.True(delete.ExitCode == 0, delete.Error);

        var gone = await Latch("secrets", "get", "LIFE_KEY");
        Assert.Equal(1, gone.ExitCode);
        Assert.Equal("Error: Secret 'LIFE_KEY' not found", gone.Error.TrimEnd());
    }

    [Fact]
    public async Task Json_output_parses_and_carries_the_spec_fields()
    {
        var create = await Latch("secrets", "create", "JSON_KEY", "--generate", "--expires", "2030-01-01", "--json");
        Assert.True(create.ExitCode == 0, create.Error);
        using (var created = JsonDocument.Parse(create.Out))
        {
            Assert.Equal("JSON_KEY", created.RootElement.GetProperty("key").GetString());
            Assert.Equal(64, created.RootElement.GetProperty("value").GetString()!.Length);
        }

        var get = await Latch("secrets", "get", "JSON_KEY", "--json");
        using (var secret = JsonDocument.Parse(get.Out))
        {
            var root = secret.RootElement;
            Assert.Equal("$Token{JSON_KEY}", root.GetProperty("reference").GetString());
            Assert.Equal(1_893_456_000, root.GetProperty("expires_at").GetInt64());
            Assert.Equal("active", root.GetProperty("status").GetString());
            Assert.Equal(1, root.GetProperty("version").GetInt32());
            Assert.Equal(JsonValueKind.Array, root.GetProperty("scope").ValueKind);
            Assert.Equal(JsonValueKind.Array, root.GetProperty("envs").ValueKind);
            Assert.False(root.TryGetProperty("value", out _));
        }

        var list = await Latch("secrets", "list", "--all", "--json");
        using (var items = JsonDocument.Parse(list.Out))
        {
            Assert.Contains(items.RootElement.GetProperty("items").EnumerateArray(), i => i.GetProperty("key").GetString() == "JSON_KEY");
        }

        var rotate = await Latch("secrets", "rotate", "JSON_KEY", "--generate", "--json");
        Assert.True(rotate.ExitCode == 0, rotate.Error);
        string rotated;
        using (var doc = JsonDocument.Parse(rotate.Out))
        {
            Assert.Equal(2, doc.RootElement.GetProperty("version").GetInt32());
            rotated = doc.RootElement.GetProperty("value").GetString()!;
        }

        var reveal = await Latch("secrets", "get", "JSON_KEY", "--reveal", "--json");
        using (var revealed = JsonDocument.Parse(reveal.Out))
        {
            Assert.Equal(rotated, revealed.RootElement.GetProperty("value").GetString());
        }

        var versions = await Latch("secrets", "versions", "JSON_KEY", "--json");
        using (var history = JsonDocument.Parse(versions.Out))
        {
            Assert.Equal([2, 1], history.RootElement.GetProperty("items").EnumerateArray().Select(v => v.GetProperty("version").GetInt32()).OrderDescending());
        }
    }

    [Fact]
    public async Task Update_changes_policy_without_a_new_version_and_no_expiry_clears_it()
    {
        var create = await Latch("secrets", "create", "POLICY_KEY", "--value", "policy-value-1", "--expires", "30d");
        Assert.True(create.ExitCode == 0, create.Error);

        var update = await Latch("secrets", "update", "POLICY_KEY", "--scope", "shop:stripe_app", "--envs", "prd", "--no-expiry", "--json");
        Assert.True(update.ExitCode == 0, update.Error);
        using var secret = JsonDocument.Parse(update.Out);
        var root = secret.RootElement;
        Assert.Equal(1, root.GetProperty("version").GetInt32());
        Assert.Equal(JsonValueKind.Null, root.GetProperty("expires_at").ValueKind);
        Assert.Equal(["shop:stripe_app"], root.GetProperty("scope").EnumerateArray().Select(s => s.GetString()));
        Assert.Equal(["prd"], root.GetProperty("envs").EnumerateArray().Select(s => s.GetString()));
    }

    [Fact]
    public async Task List_filters_by_environment_keeping_unrestricted_secrets()
    {
        await Latch("secrets", "create", "ENV_PRD_ONLY", "--value", "v-prd-only", "--envs", "prd");
        await Latch("secrets", "create", "ENV_ANYWHERE", "--value", "v-anywhere");

        var dev = await Latch("secrets", "list", "--env", "dev", "--all", "--json");
        using var doc = JsonDocument.Parse(dev.Out);
        var keys = doc.RootElement.GetProperty("items").EnumerateArray().Select(i => i.GetProperty("key").GetString()).ToList();
        Assert.Contains("ENV_ANYWHERE", keys);
        Assert.DoesNotContain("ENV_PRD_ONLY", keys);
    }

    [Fact]
    public async Task A_duplicate_key_and_a_wrong_api_key_are_errors()
    {
        await Latch("secrets", "create", "DUP_KEY", "--value", "dup-value-1");

        var duplicate = await Latch("secrets", "create", "DUP_KEY", "--value", "dup-value-2");
        Assert.Equal(1, duplicate.ExitCode);
        Assert.StartsWith("Error: ", duplicate.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("dup-value-2", duplicate.Error, StringComparison.Ordinal);

        var wrongKey = await CliHarness.RunAsync(
            new Dictionary<string, string> { ["LATCH_URL"] = server.BaseAddress.ToString(), ["LATCH_API_KEY"] = "not-a-real-key-0000000000000000000000" },
            ["secrets", "list"]);
        Assert.Equal(1, wrongKey.ExitCode);
        Assert.StartsWith("Error: ", wrongKey.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Invalid_input_is_reported_with_its_field()
    {
        var result = await Latch("secrets", "create", "not-a-valid-key!", "--value", "some-value-9");

        Assert.Equal(1, result.ExitCode);
        Assert.StartsWith("Error: ", result.Error, StringComparison.Ordinal);
        Assert.Contains("  key: ", result.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("some-value-9", result.Error, StringComparison.Ordinal);
    }
}

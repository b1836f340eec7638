using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Latch.Server;
using Microsoft.Data.Sqlite;

namespace Latch.Cli.Tests;

/// <summary><c>latch master-key rotate</c> against real data directories (the server stopped in between).</summary>
public sealed class MasterKeyCommandTests
{
    private const string BootstrapKey = "cli-master-key-tests-bootstrap-0123456789";

    private static string NewDirectory()
    {
        var path = Path.Combine(Path.GetTempPath(), "latch-cli-mk-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(path);
        return path;
    }

    private static string NewKey() => Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));

    private static string WriteKeyFile(string directory, string name, string key)
    {
        var path = Path.Combine(directory, name);
        File.WriteAllText(path, key + "\n");
        return path;
    }

    /// <summary>Starts a server on <paramref name="dir"/>, runs <paramref name="work"/>, stops it and closes its connections.</summary>
    private static async Task WithServerAsync(string dir, string? masterKey, Func<HttpClient, Task> work)
    {
        await using (var server = await LatchServer.StartAsync(new ServeOptions
        {
            Urls = "http://127.0.0.1:0",
            DataDirectory = dir,
            MasterKey = masterKey,
            BootstrapKey = BootstrapKey,
        }))
        {
            using var client = new HttpClient { BaseAddress = server.BaseAddress };
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", BootstrapKey);
            await work(client);
        }

        SqliteConnection.ClearAllPools();
    }

    private static async Task CreateAsync(HttpClient client, string key, string value)
    {
        var response = await client.PostAsJsonAsync("/v1/secrets", new { key, value });
        Assert.Equal(201, (int)response.StatusCode);
    }

    private static async Task<string> RevealAsync(HttpClient client, string key)
    {
        var body = await client.GetFromJsonAsync<JsonObject>($"/v1/secrets/{key}?reveal=true");
        return body!["value"]!.GetValue<string>();
    }

    private static async Task<int> ServeExitCodeAsync(string dir, string? masterKey)
    {
        using var patience = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        return await LatchServer.RunAsync(new ServeOptions
        {
            Urls = "http://127.0.0.1:0",
            DataDirectory = dir,
            MasterKey = masterKey,
            BootstrapKey = BootstrapKey,
        }, TextWriter.Null, patience.Token);
    }

    private static Dictionary<string, string> Hashes(string dir) =>
        new[] { "latch.db", "latch.db-wal", "latch.db-shm", "master.key" }
            .Select(name => Path.Combine(dir, name))
            .Where(File.Exists)
            .ToDictionary(p => Path.GetFileName(p), p => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(p))));

    [Fact]
    public async Task Rotating_a_store_whose_key_is_the_generated_master_key_file_replaces_that_file_atomically()
    {
        var dir = NewDirectory();
        var keyFile = Path.Combine(dir, "master.key");
        await WithServerAsync(dir, null, client => CreateAsync(client, "DB_PASSWORD", "db-value-4f2a"));
        var oldKey = File.ReadAllText(keyFile).Trim();
        var newKey = NewKey();
        var newKeyFile = WriteKeyFile(NewDirectory(), "new.key", newKey);

        var result = await CliHarness.RunAsync(new Dictionary<string, string>(), ["master-key", "rotate", "--data", dir, "--new-key-file", newKeyFile]);

        Assert.True(result.ExitCode == 0, result.Error);
        Assert.Contains("re-wrapped 1 workspace data key(s)", result.Out, StringComparison.Ordinal);
        Assert.Contains($"Replaced {keyFile}", result.Out, StringComparison.Ordinal);
        Assert.DoesNotContain(newKey, result.Out + result.Error, StringComparison.Ordinal);
        Assert.DoesNotContain(oldKey, result.Out + result.Error, StringComparison.Ordinal);
        Assert.Equal(newKey, File.ReadAllText(keyFile));
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(keyFile));
        }

        Assert.Empty(Directory.GetFiles(dir, "*.tmp"));
        Assert.Equal(LatchServer.MasterKeyExitCode, await ServeExitCodeAsync(dir, oldKey));
        // No key given: the server reads the replaced master.key.
        await WithServerAsync(dir, null, async client => Assert.Equal("db-value-4f2a", await RevealAsync(client, "DB_PASSWORD")));
    }

    [Fact]
    public async Task Rotating_with_LATCH_MASTER_KEY_tells_the_operator_to_replace_it_and_writes_no_key_file()
    {
        var dir = NewDirectory();
        var oldKey = NewKey();
        await WithServerAsync(dir, oldKey, client => CreateAsync(client, "API_TOKEN", "api-token-77c1"));
        var newKey = NewKey();
        var newKeyFile = WriteKeyFile(NewDirectory(), "new.key", newKey);

        var result = await CliHarness.RunAsync(
            new Dictionary<string, string> { ["LATCH_MASTER_KEY"] = oldKey },
            ["master-key", "rotate", "--data", dir, "--new-key-file", newKeyFile]);

        Assert.True(result.ExitCode == 0, result.Error);
        Assert.Contains("set LATCH_MASTER_KEY to the contents of", result.Out, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(dir, "master.key")));
        Assert.Equal(LatchServer.MasterKeyExitCode, await ServeExitCodeAsync(dir, oldKey));
        await WithServerAsync(dir, newKey, async client => Assert.Equal("api-token-77c1", await RevealAsync(client, "API_TOKEN")));
    }

    [Fact]
    public async Task A_wrong_old_key_exits_with_the_master_key_code_and_changes_nothing()
    {
        var dir = NewDirectory();
        var realKey = NewKey();
        await WithServerAsync(dir, realKey, client => CreateAsync(client, "K", "value-k-1"));
        var before = Hashes(dir);
        var keys = NewDirectory();
        var wrongFile = WriteKeyFile(keys, "wrong.key", NewKey());
        var newKeyFile = WriteKeyFile(keys, "new.key", NewKey());

        var result = await CliHarness.RunAsync(new Dictionary<string, string>(),
            ["master-key", "rotate", "--data", dir, "--new-key-file", newKeyFile, "--master-key-file", wrongFile]);

        Assert.Equal(LatchServer.MasterKeyExitCode, result.ExitCode);
        Assert.StartsWith("Error: ", result.Error, StringComparison.Ordinal);
        Assert.Contains("Nothing was changed", result.Error, StringComparison.Ordinal);
        Assert.Equal(before, Hashes(dir));
        await WithServerAsync(dir, realKey, async client => Assert.Equal("value-k-1", await RevealAsync(client, "K")));
    }

    [Fact]
    public async Task The_same_key_as_new_key_is_refused()
    {
        var dir = NewDirectory();
        var key = NewKey();
        await WithServerAsync(dir, key, _ => Task.CompletedTask);
        var before = Hashes(dir);
        var sameFile = WriteKeyFile(NewDirectory(), "same.key", key);

        var result = await CliHarness.RunAsync(new Dictionary<string, string> { ["LATCH_MASTER_KEY"] = key },
            ["master-key", "rotate", "--data", dir, "--new-key-file", sameFile]);

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("same as the old one", result.Error, StringComparison.Ordinal);
        Assert.Equal(before, Hashes(dir));
    }

    [Fact]
    public async Task A_directory_without_a_store_is_refused_without_creating_anything()
    {
        var dir = NewDirectory();
        var newKeyFile = WriteKeyFile(NewDirectory(), "new.key", NewKey());

        var result = await CliHarness.RunAsync(new Dictionary<string, string> { ["LATCH_MASTER_KEY"] = NewKey() },
            ["master-key", "rotate", "--data", dir, "--new-key-file", newKeyFile]);

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("no Latch store", result.Error, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFileSystemEntries(dir));
    }

    [Fact]
    public async Task A_malformed_new_key_file_is_refused_before_anything_is_read()
    {
        var dir = NewDirectory();
        var key = NewKey();
        await WithServerAsync(dir, key, _ => Task.CompletedTask);
        var before = Hashes(dir);
        var badFile = WriteKeyFile(NewDirectory(), "bad.key", "not-a-key");

        var result = await CliHarness.RunAsync(new Dictionary<string, string> { ["LATCH_MASTER_KEY"] = key },
            ["master-key", "rotate", "--data", dir, "--new-key-file", badFile]);

        Assert.Equal(LatchServer.MasterKeyExitCode, result.ExitCode);
        Assert.Contains(badFile, result.Error, StringComparison.Ordinal);
        Assert.Equal(before, Hashes(dir));
    }

    [Fact]
    public async Task The_new_key_file_is_required()
    {
        var result = await CliHarness.RunAsync(new Dictionary<string, string>(), ["master-key", "rotate", "--data", NewDirectory()]);
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("--new-key-file", result.Error, StringComparison.Ordinal);
    }
}

using System.Text.Json;

namespace Latch.Cli.Tests;

/// <summary><c>latch keys create|list|revoke</c> and <c>latch workspace</c> against a real server.</summary>
public sealed class KeysCommandTests(LatchServerFixture server) : IClassFixture<LatchServerFixture>
{
    private Task<CliResult> Latch(params string[] args) => TestCli.RunAsync(server.Variables, args);

    [Fact]
    public async Task A_key_is_created_shown_once_listed_used_and_revoked()
    {
        var create = await Latch("keys", "create", "--name", "ci-runner", "--role", "viewer", "--apps", "billing,shop", "--envs", "prd", "--expires", "30d");

        Assert.True(create.ExitCode == 0, create.Error);
        Assert.Contains("Created API key 'ci-runner' (viewer).", create.Out, StringComparison.Ordinal);
        Assert.Contains("shown once", create.Out, StringComparison.Ordinal);
        var lines = create.Out.TrimEnd().Split('\n');
        var key = lines[^1].Trim();
        Assert.True(key.Length >= 20, create.Out);
        Assert.Matches(@"Apps\s*│\s*billing, shop", create.Out);
        Assert.Matches(@"Environments\s*│\s*prd", create.Out);
        var id = System.Text.RegularExpressions.Regex.Match(create.Out, @"Id\s*│\s*(\S+)").Groups[1].Value;
        Assert.NotEmpty(id);

        var list = await Latch("keys", "list");
        Assert.Equal(0, list.ExitCode);
        var row = Assert.Single(list.Out.Split('\n'), l => l.Contains(id, StringComparison.Ordinal));
        Assert.Contains("ci-runner", row, StringComparison.Ordinal);
        Assert.Contains("viewer", row, StringComparison.Ordinal);
        Assert.DoesNotContain(key, list.Out, StringComparison.Ordinal);

        var listJson = await Latch("keys", "list", "--json");
        using (var json = JsonDocument.Parse(listJson.Out))
        {
            var item = Assert.Single(json.RootElement.GetProperty("items").EnumerateArray(), i => i.GetProperty("id").GetString() == id);
            Assert.False(item.TryGetProperty("key", out _));
        }

        // The new key works (a viewer may read the workspace).
        var asViewer = await TestCli.RunAsync(
            new Dictionary<string, string> { ["LATCH_URL"] = server.BaseAddress.ToString(), ["LATCH_API_KEY"] = key }, ["workspace"]);
        Assert.True(asViewer.ExitCode == 0, asViewer.Error);
        Assert.Matches(@"Name\s*│", asViewer.Out);

        var revoke = await Latch("keys", "revoke", id);
        Assert.True(revoke.ExitCode == 0, revoke.Error);
        Assert.Contains($"Revoked API key {id}.", revoke.Out, StringComparison.Ordinal);

        var refused = await TestCli.RunAsync(
            new Dictionary<string, string> { ["LATCH_URL"] = server.BaseAddress.ToString(), ["LATCH_API_KEY"] = key }, ["workspace"]);
        Assert.Equal(1, refused.ExitCode);

        var again = await Latch("keys", "revoke", id);
        Assert.Equal(1, again.ExitCode);
        Assert.StartsWith("Error: ", again.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Create_with_json_includes_the_key()
    {
        var create = await Latch("keys", "create", "--name", "script", "--role", "runtime", "--json");

        Assert.True(create.ExitCode == 0, create.Error);
        using var json = JsonDocument.Parse(create.Out);
        Assert.Equal("runtime", json.RootElement.GetProperty("role").GetString());
        Assert.False(string.IsNullOrEmpty(json.RootElement.GetProperty("key").GetString()));
    }

    [Fact]
    public async Task A_bad_role_is_a_usage_error()
    {
        var create = await Latch("keys", "create", "--name", "x", "--role", "god");

        Assert.Equal(2, create.ExitCode);
    }

    [Fact]
    public async Task Workspace_prints_a_table_or_json()
    {
        var table = await Latch("workspace");
        var json = await Latch("workspace", "--json");

        Assert.Equal(0, table.ExitCode);
        Assert.Matches(@"Id\s*│", table.Out);
        using var document = JsonDocument.Parse(json.Out);
        Assert.False(string.IsNullOrEmpty(document.RootElement.GetProperty("id").GetString()));
    }
}

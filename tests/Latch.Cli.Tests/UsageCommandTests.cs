using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json.Nodes;

namespace Latch.Cli.Tests;

public sealed class UsageCommandTests(LatchServerFixture server) : IClassFixture<LatchServerFixture>
{
    [Fact]
    public async Task Secrets_usage_shows_recent_resolutions_as_a_table_and_as_json()
    {
        Assert.Equal(0, (await CliHarness.RunAsync(server.Variables, ["secrets", "create", "USED_KEY", "--value", "used-value-123"])).ExitCode);
        using (var http = new HttpClient { BaseAddress = server.BaseAddress })
        {
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", server.ApiKey);
            (await http.PostAsJsonAsync("v1/secrets/resolve", new { document = new { a = "$Token{USED_KEY}" }, app = "billing", env = "prd" })).EnsureSuccessStatusCode();
        }

        var table = await CliHarness.RunAsync(server.Variables, ["secrets", "usage", "USED_KEY"]);
        Assert.Equal(0, table.ExitCode);
        Assert.Contains("Recently resolved", table.Out, StringComparison.Ordinal);
        Assert.Contains("billing", table.Out, StringComparison.Ordinal);
        Assert.DoesNotContain("used-value-123", table.Out, StringComparison.Ordinal);

        var json = await CliHarness.RunAsync(server.Variables, ["secrets", "usage", "USED_KEY", "--json"]);
        var recent = JsonNode.Parse(json.Out)!["recent"]!.AsArray();
        Assert.Equal("resolve", recent[0]!["context"]!.GetValue<string>());
        Assert.Equal(1, recent[0]!["count"]!.GetValue<long>());

        var missing = await CliHarness.RunAsync(server.Variables, ["secrets", "usage", "NOPE"]);
        Assert.Equal(1, missing.ExitCode);
        Assert.Contains("Error: Secret 'NOPE' not found", missing.Error, StringComparison.Ordinal);
    }
}

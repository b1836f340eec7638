using System.Net;
using System.Text.Json;

namespace Latch.Cli.Tests;

/// <summary>Every read command understands <c>--json</c> and prints the API's JSON (nothing else) on stdout.</summary>
public sealed class JsonCoverageTests
{
    private const string Body = """{"items":[],"next_cursor":null,"ok":true,"references":[],"id":"w1","name":"main","key":"K"}""";

    [Theory]
    [InlineData("secrets list")]
    [InlineData("secrets get K")]
    [InlineData("secrets versions K")]
    [InlineData("secrets expiring")]
    [InlineData("apps list")]
    [InlineData("apps get stripe")]
    [InlineData("products list")]
    [InlineData("products get shop")]
    [InlineData("products apps list shop")]
    [InlineData("products apps get shop stripe")]
    [InlineData("audit")]
    [InlineData("keys list")]
    [InlineData("workspace")]
    public async Task Read_commands_print_json(string command)
    {
        var handler = new StubHandler(_ => StubHandler.JsonResponse(HttpStatusCode.OK, Body));

        var result = await TestCli.RunAsync(
            new Dictionary<string, string> { ["LATCH_API_KEY"] = "k" }, [.. command.Split(' '), "--json"], handler: handler);

        Assert.True(result.ExitCode == 0, result.Error);
        using var json = JsonDocument.Parse(result.Out);
        Assert.Equal(JsonValueKind.Object, json.RootElement.ValueKind);
    }
}

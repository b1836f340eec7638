using System.Text.Json;

namespace Latch.Cli.Tests;

/// <summary><c>latch check</c> against a real server: a table of every reference, exit code 1 when any fails.</summary>
public sealed class CheckCommandTests(LatchServerFixture server) : IClassFixture<LatchServerFixture>
{
    private const string Value = "check-value-5e2b91";

    private async Task CreateSecretAsync()
    {
        var created = await TestCli.RunAsync(server.Variables, ["secrets", "create", "CHECK_OK", "--value", Value]);
        Assert.True(created.ExitCode == 0 || created.Error.Contains("already exists", StringComparison.Ordinal), created.Error);
    }

    [Fact]
    public async Task Every_reference_is_listed_and_a_failure_exits_1()
    {
        await CreateSecretAsync();
        using var dir = new TempDirectory();
        var doc = dir.File("doc.json", """{"headers":{"Authorization":"Bearer $Token{CHECK_OK}"},"x":"$Token{CHECK_MISSING}","y":"$Token{bad-key}"}""");

        var result = await TestCli.RunAsync(server.Variables, ["check", doc, "--app", "billing", "--env", "prd"]);

        Assert.Equal(1, result.ExitCode);
        Assert.Matches(@"│\s*\$\.headers\.Authorization\s*│\s*CHECK_OK\s*│\s*ok\s*│", result.Out);
        Assert.Matches(@"│\s*\$\.x\s*│\s*CHECK_MISSING\s*│\s*secret_not_found\s*│\s*Secret 'CHECK_MISSING' not found", result.Out);
        Assert.Matches(@"│\s*\$\.y\s*│\s*bad-key\s*│\s*malformed_reference\s*│", result.Out);
        Assert.StartsWith("Error: 2 of 3 reference(s) would not resolve for app 'billing' in env 'prd'", result.Error, StringComparison.Ordinal);
        Assert.DoesNotContain(Value, result.Out + result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task All_references_resolving_exits_0()
    {
        await CreateSecretAsync();

        var result = await TestCli.RunAsync(
            server.Variables, ["check", "-", "--app", "billing", "--env", "prd"], stdin: """["$Token{CHECK_OK}", {"k": "x $Token{CHECK_OK}"}]""");

        Assert.True(result.ExitCode == 0, result.Error);
        Assert.Contains("All 2 reference(s) resolve.", result.Out, StringComparison.Ordinal);
        Assert.Equal("", result.Error);
        Assert.DoesNotContain(Value, result.Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Json_prints_the_response_and_keeps_the_exit_code()
    {
        await CreateSecretAsync();

        var failing = await TestCli.RunAsync(
            server.Variables, ["check", "-", "--app", "billing", "--env", "prd", "--json"], stdin: """{"a":"$Token{CHECK_OK}","b":"$Token{NOPE_KEY}"}""");
        var passing = await TestCli.RunAsync(
            server.Variables, ["check", "-", "--app", "billing", "--env", "prd", "--json"], stdin: """{"a":"$Token{CHECK_OK}"}""");

        Assert.Equal(1, failing.ExitCode);
        using (var json = JsonDocument.Parse(failing.Out))
        {
            Assert.False(json.RootElement.GetProperty("ok").GetBoolean());
            var references = json.RootElement.GetProperty("references").EnumerateArray().ToList();
            Assert.Equal(2, references.Count);
            Assert.Contains(references, r => r.GetProperty("path").GetString() == "$.b" && r.GetProperty("code").GetString() == "secret_not_found");
        }

        Assert.Equal(0, passing.ExitCode);
        using (var json = JsonDocument.Parse(passing.Out))
        {
            Assert.True(json.RootElement.GetProperty("ok").GetBoolean());
        }
    }

    [Fact]
    public async Task A_document_without_references_is_fine()
    {
        var result = await TestCli.RunAsync(server.Variables, ["check", "-", "--app", "billing", "--env", "prd"], stdin: """{"plain":"text"}""");

        Assert.Equal(0, result.ExitCode);
        Assert.Contains("No $Token{…} references", result.Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Invalid_json_is_a_usage_error_that_does_not_echo_the_document()
    {
        var result = await TestCli.RunAsync(
            server.Variables, ["check", "-", "--app", "billing", "--env", "prd"], stdin: "{\"a\": \"sk_live_do_not_print\",,}");

        Assert.Equal(2, result.ExitCode);
        Assert.StartsWith("Error: the document from standard input is not valid JSON at line 1", result.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("sk_live_do_not_print", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task App_and_env_are_required()
    {
        var result = await TestCli.RunAsync(server.Variables, ["check", "-", "--app", "billing"], stdin: "{}");

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("--env", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_request_carries_document_app_env_and_product()
    {
        var handler = new StubHandler(_ => StubHandler.JsonResponse(System.Net.HttpStatusCode.OK, """{"ok":true,"references":[]}"""));

        var result = await TestCli.RunAsync(
            new Dictionary<string, string> { ["LATCH_API_KEY"] = "k" },
            ["check", "-", "--app", "billing", "--env", "prd", "--product", "shop"],
            stdin: """{"a":1}""",
            handler: handler);

        Assert.Equal(0, result.ExitCode);
        var request = Assert.Single(handler.Requests);
        Assert.Equal(HttpMethod.Post, request.Method);
        Assert.EndsWith("/v1/secrets/check", request.Uri.AbsolutePath, StringComparison.Ordinal);
        using var body = JsonDocument.Parse(request.Body);
        Assert.Equal(1, body.RootElement.GetProperty("document").GetProperty("a").GetInt32());
        Assert.Equal("billing", body.RootElement.GetProperty("app").GetString());
        Assert.Equal("prd", body.RootElement.GetProperty("env").GetString());
        Assert.Equal("shop", body.RootElement.GetProperty("product").GetString());
    }
}

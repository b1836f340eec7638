using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Latch.Cli.Tests;

/// <summary><c>latch apps …</c>: what the CLI sends and prints, against a recorded HTTP handler.</summary>
public sealed class AppsCommandTests : IDisposable
{
    private static readonly Dictionary<string, string> Vars = new()
    {
        ["LATCH_URL"] = "http://latch.test/prefix",
        ["LATCH_API_KEY"] = "test-api-key",
    };

    private readonly string _directory = Directory.CreateTempSubdirectory("latch-cli-apps-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    internal static StubHandler Answer(HttpStatusCode status, string json) =>
        new(_ => status == HttpStatusCode.NoContent ? new HttpResponseMessage(status) : StubHandler.JsonResponse(status, json));

    private string WriteFile(string json)
    {
        var path = Path.Combine(_directory, Guid.NewGuid().ToString("N") + ".json");
        File.WriteAllText(path, json);
        return path;
    }

    [Fact]
    public async Task Create_posts_the_file_as_it_is_and_prints_the_app()
    {
        var path = WriteFile(CannedRuntime.App);
        var handler = Answer(HttpStatusCode.Created, CannedRuntime.App);

        var result = await CliHarness.RunAsync(Vars, ["apps", "create", "--file", path], handler);

        Assert.True(result.ExitCode == 0, result.Error);
        var request = Assert.Single(handler.Requests);
        Assert.Equal(HttpMethod.Post, request.Method);
        Assert.Equal("http://latch.test/prefix/v1/apps", request.Uri.ToString());
        Assert.Equal("Bearer test-api-key", request.Authorization);
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(CannedRuntime.App), JsonNode.Parse(request.Body)), request.Body);
        Assert.Contains("Created app 'stripe_app'.", result.Out, StringComparison.Ordinal);
        Assert.Matches(@"live\s*│\s*https://api\.stripe\.test/v1", result.Out);
        Assert.Contains("Authorization: Bearer $Auth{api_key}", result.Out, StringComparison.Ordinal);
        Assert.Matches(@"create_charge\s*│\s*POST\s*│\s*/charges/\{customer\}", result.Out);
    }

    [Fact]
    public async Task Create_reads_standard_input_with_a_dash()
    {
        var handler = Answer(HttpStatusCode.Created, CannedRuntime.App);

        var result = await CliHarness.RunAsync(Vars, ["apps", "create", "--file", "-", "--json"], handler, stdin: CannedRuntime.App);

        Assert.True(result.ExitCode == 0, result.Error);
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(CannedRuntime.App), JsonNode.Parse(Assert.Single(handler.Requests).Body)));
        using var printed = JsonDocument.Parse(result.Out);
        Assert.Equal("stripe_app", printed.RootElement.GetProperty("access_tag").GetString());
    }

    [Theory]
    [InlineData("{\"access_tag\": \"x\", \"name\": \"sk_live_in_a_broken_file\"", "is not valid JSON at line 1")]
    [InlineData("[1, 2]", "must be a JSON object, not an array")]
    [InlineData("   ", "is empty")]
    public async Task A_file_that_is_not_a_JSON_object_is_a_usage_error_and_nothing_is_sent(string content, string message)
    {
        var handler = Answer(HttpStatusCode.Created, CannedRuntime.App);

        var result = await CliHarness.RunAsync(Vars, ["apps", "create", "--file", "-"], handler, stdin: content);

        Assert.Equal(2, result.ExitCode);
        Assert.StartsWith("Error: ", result.Error, StringComparison.Ordinal);
        Assert.Contains(message, result.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("sk_live_in_a_broken_file", result.Error, StringComparison.Ordinal);
        Assert.Empty(handler.Requests);
    }

    [Fact]
    public async Task A_missing_file_is_a_usage_error()
    {
        var handler = Answer(HttpStatusCode.Created, CannedRuntime.App);

        var result = await CliHarness.RunAsync(Vars, ["apps", "create", "--file", Path.Combine(_directory, "nope.json")], handler);

        Assert.Equal(2, result.ExitCode);
        Assert.StartsWith("Error: cannot read the app from '", result.Error, StringComparison.Ordinal);
        Assert.Empty(handler.Requests);
    }

    [Fact]
    public async Task Create_without_a_file_is_a_usage_error()
    {
        var handler = Answer(HttpStatusCode.Created, CannedRuntime.App);

        var result = await CliHarness.RunAsync(Vars, ["apps", "create"], handler);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("--file", result.Error, StringComparison.Ordinal);
        Assert.Empty(handler.Requests);
    }

    [Fact]
    public async Task Update_puts_the_whole_definition_filling_in_the_access_tag_first()
    {
        var withoutTag = JsonNode.Parse(CannedRuntime.App)!.AsObject();
        withoutTag.Remove("access_tag");
        var path = WriteFile(withoutTag.ToJsonString());
        var handler = Answer(HttpStatusCode.OK, CannedRuntime.App);

        var result = await CliHarness.RunAsync(Vars, ["apps", "update", "stripe_app", "-f", path], handler);

        Assert.True(result.ExitCode == 0, result.Error);
        var request = Assert.Single(handler.Requests);
        Assert.Equal(HttpMethod.Put, request.Method);
        Assert.Equal("http://latch.test/prefix/v1/apps/stripe_app", request.Uri.ToString());
        var body = JsonNode.Parse(request.Body)!.AsObject();
        Assert.Equal("access_tag", body.First().Key);
        Assert.Equal("stripe_app", (string?)body["access_tag"]);
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(CannedRuntime.App), body));
        Assert.Contains("Updated app 'stripe_app'.", result.Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Update_refuses_a_file_naming_another_app()
    {
        var handler = Answer(HttpStatusCode.OK, CannedRuntime.App);

        var result = await CliHarness.RunAsync(Vars, ["apps", "update", "other_app", "--file", "-"], handler, stdin: CannedRuntime.App);

        Assert.Equal(2, result.ExitCode);
        Assert.Equal("Error: the app's access_tag \"stripe_app\" does not match 'other_app' on the command line", result.Error.TrimEnd());
        Assert.Empty(handler.Requests);
    }

    [Fact]
    public async Task List_prints_one_row_per_app()
    {
        var handler = Answer(HttpStatusCode.OK, $$"""{"items":[{{CannedRuntime.App}},{"access_tag":"mailer","name":"Mailer","envs":[],"auths":[],"actions":[]}],"next_cursor":null}""");

        var result = await CliHarness.RunAsync(Vars, ["apps", "list"], handler);

        Assert.True(result.ExitCode == 0, result.Error);
        var request = Assert.Single(handler.Requests);
        Assert.Equal(HttpMethod.Get, request.Method);
        Assert.Equal("http://latch.test/prefix/v1/apps", request.Uri.ToString());
        Assert.Matches(@"stripe_app\s*│\s*Stripe\s*│\s*live, test\s*│\s*api_key_auth\s*│\s*create_charge, get_charge", result.Out);
        Assert.Matches(@"mailer\s*│\s*Mailer", result.Out);
    }

    [Fact]
    public async Task List_follows_cursors_with_all_and_prints_one_json_list()
    {
        var handler = new StubHandler(request => StubHandler.JsonResponse(HttpStatusCode.OK, request.Uri.Query.Contains("cursor=c2", StringComparison.Ordinal)
            ? """{"items":[{"access_tag":"b","name":"B"}],"next_cursor":null}"""
            : """{"items":[{"access_tag":"a","name":"A"}],"next_cursor":"c2"}"""));

        var result = await CliHarness.RunAsync(Vars, ["apps", "list", "--all", "--limit", "1", "--json"], handler);

        Assert.True(result.ExitCode == 0, result.Error);
        Assert.Equal(
            ["http://latch.test/prefix/v1/apps?limit=1", "http://latch.test/prefix/v1/apps?limit=1&cursor=c2"],
            handler.Requests.Select(r => r.Uri.ToString()));
        using var printed = JsonDocument.Parse(result.Out);
        Assert.Equal(["a", "b"], printed.RootElement.GetProperty("items").EnumerateArray().Select(i => i.GetProperty("access_tag").GetString()));
    }

    [Fact]
    public async Task An_empty_list_says_so()
    {
        var result = await CliHarness.RunAsync(Vars, ["apps", "list"], Answer(HttpStatusCode.OK, """{"items":[],"next_cursor":null}"""));

        Assert.Equal("No apps.", result.Out.TrimEnd());
    }

    [Fact]
    public async Task Get_escapes_the_tag_and_prints_the_definition()
    {
        var handler = Answer(HttpStatusCode.OK, CannedRuntime.App);

        var result = await CliHarness.RunAsync(Vars, ["apps", "get", "odd tag/x"], handler);

        Assert.True(result.ExitCode == 0, result.Error);
        Assert.Equal("/prefix/v1/apps/odd%20tag%2Fx", Assert.Single(handler.Requests).Uri.AbsolutePath);
        Assert.Matches(@"Access tag\s*│\s*stripe_app", result.Out);
        Assert.Matches(@"get_charge\s*│\s*GET\s*│\s*/charges/\{id\}", result.Out);
    }

    [Fact]
    public async Task A_problem_is_printed_after_Error_and_exits_1()
    {
        var handler = new StubHandler(_ => StubHandler.Problem(HttpStatusCode.NotFound,
            """{"status":404,"title":"Not Found","detail":"App 'nope' not found","code":"app_not_found"}"""));

        var result = await CliHarness.RunAsync(Vars, ["apps", "get", "nope"], handler);

        Assert.Equal(1, result.ExitCode);
        Assert.Equal("Error: App 'nope' not found", result.Error.TrimEnd());
    }

    [Fact]
    public async Task Delete_with_yes_sends_a_delete()
    {
        var handler = Answer(HttpStatusCode.NoContent, "");

        var result = await CliHarness.RunAsync(Vars, ["apps", "delete", "stripe_app", "--yes"], handler);

        Assert.True(result.ExitCode == 0, result.Error);
        var request = Assert.Single(handler.Requests);
        Assert.Equal(HttpMethod.Delete, request.Method);
        Assert.Equal("http://latch.test/prefix/v1/apps/stripe_app", request.Uri.ToString());
        Assert.Equal("Deleted app 'stripe_app'.", result.Out.TrimEnd());
    }

    [Fact]
    public async Task Delete_asks_for_the_tag_and_deletes_when_it_matches()
    {
        var handler = Answer(HttpStatusCode.NoContent, "");

        var result = await CliHarness.RunAsync(Vars, ["apps", "delete", "stripe_app"], handler, stdin: "stripe_app\n");

        Assert.True(result.ExitCode == 0, result.Error);
        Assert.Contains("Type the access tag 'stripe_app'", result.Error, StringComparison.Ordinal);
        Assert.Single(handler.Requests);
    }

    [Fact]
    public async Task Delete_does_nothing_when_the_typed_tag_differs_or_nothing_is_typed()
    {
        var handler = Answer(HttpStatusCode.NoContent, "");

        var wrong = await CliHarness.RunAsync(Vars, ["apps", "delete", "stripe_app"], handler, stdin: "stripe\n");
        var none = await CliHarness.RunAsync(Vars, ["apps", "delete", "stripe_app"], handler);

        Assert.Equal(1, wrong.ExitCode);
        Assert.Contains("Error: not deleted", wrong.Error, StringComparison.Ordinal);
        Assert.Equal(2, none.ExitCode);
        Assert.Contains("pass --yes", none.Error, StringComparison.Ordinal);
        Assert.Empty(handler.Requests);
    }
}

/// <summary>Canned bodies for apps, products and product apps.</summary>
internal static class CannedRuntime
{
    public const string App = """
        {"access_tag":"stripe_app","name":"Stripe",
         "envs":[{"slug":"live","base_url":"https://api.stripe.test/v1"},{"slug":"test","base_url":"https://sandbox.stripe.test/v1"}],
         "auths":[{"tag":"api_key_auth","headers":{"Authorization":"Bearer $Auth{api_key}"}}],
         "actions":[{"event":"create_charge","method":"POST","path":"/charges/{customer}","query":{"expand":"balance"},"body":{"amount":100}},
                    {"event":"get_charge","method":"GET","path":"/charges/{id}"}]}
        """;

    public const string Product = """
        {"tag":"shop","name":"Shop","envs":[{"slug":"prd","env_name":"Production","active":true},{"slug":"dev","env_name":"Development","active":false}]}
        """;

    public const string ProductApp = """
        {"access_tag":"stripe_app","envs":[
          {"app_env_slug":"live","product_env_slug":"prd","variables":[{"key":"account","value":"acct_1"}],"auth":[{"auth_tag":"api_key_auth","data":{"api_key":"$Token{STRIPE_KEY}"}}]},
          {"app_env_slug":"test","product_env_slug":"dev","variables":[],"auth":[{"auth_tag":"api_key_auth","data":{"api_key":"$Token{STRIPE_TEST_KEY}"}}]}]}
        """;

    public static string ProductAppWith(string warnings) =>
        ProductApp.TrimEnd().TrimEnd('}') + $",\"warnings\":{warnings}}}";
}

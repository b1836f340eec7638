using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Time.Testing;

namespace Latch.Cli.Tests;

/// <summary>What the CLI sends and prints, against a recorded HTTP handler.</summary>
public sealed class SecretsCommandTests
{
    private static readonly Dictionary<string, string> Vars = new()
    {
        ["LATCH_URL"] = "http://latch.test/prefix",
        ["LATCH_API_KEY"] = "test-api-key",
    };

    private static StubHandler Answer(HttpStatusCode status, string json) =>
        new(_ => StubHandler.JsonResponse(status, json));

    private static JsonObject BodyOf(RecordedRequest request) => JsonNode.Parse(request.Body)!.AsObject();

    [Fact]
    public async Task Create_posts_the_secret_in_snake_case_with_lists_and_an_expiry_from_the_clock()
    {
        var handler = Answer(HttpStatusCode.Created, Canned.Secret("STRIPE_KEY"));
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 3, 1, 0, 0, 0, TimeSpan.Zero));

        var result = await CliHarness.RunAsync(Vars,
            ["secrets", "create", "STRIPE_KEY", "--value", "sk_live_1", "--scope", "billing, shop:stripe_app", "--envs", "prd,dev",
             "--expires", "30d", "--description", "Stripe", "--type", "api_key"],
            handler, time: time);

        Assert.Equal(0, result.ExitCode);
        var request = Assert.Single(handler.Requests);
        Assert.Equal(HttpMethod.Post, request.Method);
        Assert.Equal("http://latch.test/prefix/v1/secrets", request.Uri.ToString());
        Assert.Equal("Bearer test-api-key", request.Authorization);
        var body = BodyOf(request);
        Assert.Equal("STRIPE_KEY", (string?)body["key"]);
        Assert.Equal("sk_live_1", (string?)body["value"]);
        Assert.Equal("Stripe", (string?)body["description"]);
        Assert.Equal("api_key", (string?)body["token_type"]);
        Assert.Equal(["billing", "shop:stripe_app"], body["scope"]!.AsArray().Select(n => (string?)n));
        Assert.Equal(["prd", "dev"], body["envs"]!.AsArray().Select(n => (string?)n));
        Assert.Equal(new DateTimeOffset(2026, 3, 31, 0, 0, 0, TimeSpan.Zero).ToUnixTimeSeconds(), (long)body["expires_at"]!);
        Assert.Contains("Created secret 'STRIPE_KEY'", result.Out, StringComparison.Ordinal);
        Assert.Contains("$Token{STRIPE_KEY}", result.Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Create_leaves_out_what_was_not_given()
    {
        var handler = Answer(HttpStatusCode.Created, Canned.Secret("K", value: "generated-by-server"));

        await CliHarness.RunAsync(Vars, ["secrets", "create", "K", "--generate"], handler);

        var body = BodyOf(Assert.Single(handler.Requests));
        Assert.Equal(["key"], body.Select(p => p.Key));
    }

    [Fact]
    public async Task Create_with_generate_prints_the_server_generated_value_once_with_a_note()
    {
        var handler = Answer(HttpStatusCode.Created, Canned.Secret("K", value: "GeneratedByServer123"));

        var result = await CliHarness.RunAsync(Vars, ["secrets", "create", "K", "--generate"], handler);

        Assert.Equal(0, result.ExitCode);
        Assert.Contains("shown once", result.Out, StringComparison.Ordinal);
        Assert.Equal(1, CountOf(result.Out, "GeneratedByServer123"));
    }

    [Fact]
    public async Task Create_reads_the_value_from_standard_input()
    {
        var handler = Answer(HttpStatusCode.Created, Canned.Secret("K"));

        var result = await CliHarness.RunAsync(Vars, ["secrets", "create", "K", "--value-stdin"], handler, stdin: "from-stdin\n");

        Assert.Equal(0, result.ExitCode);
        Assert.Equal("from-stdin", (string?)BodyOf(Assert.Single(handler.Requests))["value"]);
    }

    [Fact]
    public async Task Create_with_two_value_options_is_a_usage_error_and_sends_nothing()
    {
        var handler = Answer(HttpStatusCode.Created, Canned.Secret("K"));

        var result = await CliHarness.RunAsync(Vars, ["secrets", "create", "K", "--value", "hunter2", "--generate"], handler);

        Assert.Equal(2, result.ExitCode);
        Assert.StartsWith("Error: ", result.Error, StringComparison.Ordinal);
        Assert.Contains("mutually exclusive", result.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2", result.Error, StringComparison.Ordinal);
        Assert.Empty(handler.Requests);
    }

    [Fact]
    public async Task A_value_starting_with_an_at_sign_is_sent_literally_not_read_from_a_file()
    {
        var handler = Answer(HttpStatusCode.Created, Canned.Secret("K"));

        await CliHarness.RunAsync(Vars, ["secrets", "create", "K", "--value", "@/etc/passwd"], handler);

        Assert.Equal("@/etc/passwd", (string?)BodyOf(Assert.Single(handler.Requests))["value"]);
    }

    [Fact]
    public async Task Update_with_if_version_sends_a_quoted_if_match()
    {
        var handler = Answer(HttpStatusCode.OK, Canned.Secret("K", version: 4));

        var result = await CliHarness.RunAsync(Vars, ["secrets", "update", "K", "--description", "new", "--if-version", "3"], handler);

        Assert.Equal(0, result.ExitCode);
        var request = Assert.Single(handler.Requests);
        Assert.Equal(HttpMethod.Patch, request.Method);
        Assert.Equal("http://latch.test/prefix/v1/secrets/K", request.Uri.ToString());
        Assert.Equal("\"3\"", request.IfMatch);
        Assert.Equal(["description"], BodyOf(request).Select(p => p.Key));
    }

    [Fact]
    public async Task Update_with_no_expiry_sends_an_explicit_null_and_empty_lists_clear_the_policy()
    {
        var handler = Answer(HttpStatusCode.OK, Canned.Secret("K"));

        await CliHarness.RunAsync(Vars, ["secrets", "update", "K", "--no-expiry", "--scope", "", "--envs", ""], handler);

        var body = BodyOf(Assert.Single(handler.Requests));
        Assert.True(body.ContainsKey("expires_at"));
        Assert.Null(body["expires_at"]);
        Assert.Empty(body["scope"]!.AsArray());
        Assert.Empty(body["envs"]!.AsArray());
        Assert.False(body.ContainsKey("value"));
    }

    [Fact]
    public async Task Update_with_nothing_to_change_is_a_usage_error()
    {
        var handler = Answer(HttpStatusCode.OK, Canned.Secret("K"));

        var result = await CliHarness.RunAsync(Vars, ["secrets", "update", "K"], handler);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("Error: nothing to update", result.Error, StringComparison.Ordinal);
        Assert.Empty(handler.Requests);
    }

    [Fact]
    public async Task Expires_and_no_expiry_together_are_refused()
    {
        var handler = Answer(HttpStatusCode.OK, Canned.Secret("K"));

        var result = await CliHarness.RunAsync(Vars, ["secrets", "update", "K", "--expires", "1d", "--no-expiry"], handler);

        Assert.Equal(2, result.ExitCode);
        Assert.Empty(handler.Requests);
    }

    [Fact]
    public async Task Rotate_without_a_new_value_is_a_usage_error()
    {
        var handler = Answer(HttpStatusCode.OK, Canned.Secret("K"));

        var result = await CliHarness.RunAsync(Vars, ["secrets", "rotate", "K", "--description", "x"], handler);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("rotate needs a new value", result.Error, StringComparison.Ordinal);
        Assert.Empty(handler.Requests);
    }

    [Fact]
    public async Task Rotate_with_generate_sends_a_64_character_value_and_prints_it_once()
    {
        var handler = Answer(HttpStatusCode.OK, Canned.Secret("K", version: 2));

        var result = await CliHarness.RunAsync(Vars, ["secrets", "rotate", "K", "--generate"], handler);

        Assert.Equal(0, result.ExitCode);
        var sent = (string?)BodyOf(Assert.Single(handler.Requests))["value"];
        Assert.Matches("^[A-Za-z0-9]{64}$", sent);
        Assert.Equal(1, CountOf(result.Out, sent!));
        Assert.Contains("version 2", result.Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Rotate_with_generate_and_json_keeps_the_generated_value_in_the_output()
    {
        var handler = Answer(HttpStatusCode.OK, Canned.Secret("K", version: 2));

        var result = await CliHarness.RunAsync(Vars, ["secrets", "rotate", "K", "--generate", "--json"], handler);

        var sent = (string?)BodyOf(Assert.Single(handler.Requests))["value"];
        using var json = JsonDocument.Parse(result.Out);
        Assert.Equal(sent, json.RootElement.GetProperty("value").GetString());
        Assert.Equal(2, json.RootElement.GetProperty("version").GetInt32());
    }

    [Fact]
    public async Task List_shows_a_table_with_unrestricted_policy_spelled_out_and_expiry_as_a_utc_date()
    {
        var items = $$"""{"items":[{{Canned.Secret("OPEN_KEY")}},{{Canned.Secret("TIGHT_KEY", scope: "[\"billing\"]", envs: "[\"prd\",\"dev\"]", expiresAt: "1798761600", status: "expired")}}],"next_cursor":null}""";
        var handler = Answer(HttpStatusCode.OK, items);

        var result = await CliHarness.RunAsync(Vars, ["secrets", "list"], handler);

        Assert.Equal(0, result.ExitCode);
        var openRow = Assert.Single(result.Out.Split('\n'), l => l.Contains("OPEN_KEY", StringComparison.Ordinal));
        Assert.Contains("All apps", openRow, StringComparison.Ordinal);
        Assert.Contains("All environments", openRow, StringComparison.Ordinal);
        Assert.Contains("never", openRow, StringComparison.Ordinal);
        var tightRow = Assert.Single(result.Out.Split('\n'), l => l.Contains("TIGHT_KEY", StringComparison.Ordinal));
        Assert.Contains("billing", tightRow, StringComparison.Ordinal);
        Assert.Contains("prd, dev", tightRow, StringComparison.Ordinal);
        Assert.Contains("2027-01-01 00:00:00 UTC", tightRow, StringComparison.Ordinal);
        Assert.Contains("expired", tightRow, StringComparison.Ordinal);
    }

    [Fact]
    public async Task List_passes_its_filters_as_query_parameters()
    {
        var handler = Answer(HttpStatusCode.OK, """{"items":[],"next_cursor":null}""");

        var result = await CliHarness.RunAsync(Vars,
            ["secrets", "list", "--app", "stripe app", "--env", "prd", "--status", "revoked", "--limit", "5"], handler);

        Assert.Equal(0, result.ExitCode);
        Assert.Equal("?app=stripe%20app&env=prd&status=revoked&limit=5", Assert.Single(handler.Requests).Uri.Query);
        Assert.Contains("No secrets.", result.Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task List_refuses_an_unknown_status()
    {
        var result = await CliHarness.RunAsync(Vars, ["secrets", "list", "--status", "deleted"], Answer(HttpStatusCode.OK, "{}"));

        Assert.Equal(2, result.ExitCode);
        Assert.StartsWith("Error: ", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task List_all_follows_cursors_and_json_prints_every_item()
    {
        var handler = new StubHandler(request => StubHandler.JsonResponse(HttpStatusCode.OK, request.Uri.Query.Contains("cursor=c2", StringComparison.Ordinal)
            ? $$"""{"items":[{{Canned.Secret("B")}}],"next_cursor":null}"""
            : $$"""{"items":[{{Canned.Secret("A")}}],"next_cursor":"c2"}"""));

        var result = await CliHarness.RunAsync(Vars, ["secrets", "list", "--all", "--json"], handler);

        Assert.Equal(0, result.ExitCode);
        Assert.Equal(2, handler.Requests.Count);
        using var json = JsonDocument.Parse(result.Out);
        Assert.Equal(["A", "B"], json.RootElement.GetProperty("items").EnumerateArray().Select(i => i.GetProperty("key").GetString()));
        Assert.Equal(JsonValueKind.Null, json.RootElement.GetProperty("next_cursor").ValueKind);
    }

    [Fact]
    public async Task List_without_all_reads_one_page_and_says_how_to_get_the_next()
    {
        var handler = Answer(HttpStatusCode.OK, $$"""{"items":[{{Canned.Secret("A")}}],"next_cursor":"c2"}""");

        var result = await CliHarness.RunAsync(Vars, ["secrets", "list"], handler);

        Assert.Single(handler.Requests);
        Assert.Contains("--cursor c2", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Get_shows_one_secret_as_a_two_column_table_and_reveal_asks_for_the_value()
    {
        var handler = Answer(HttpStatusCode.OK, Canned.Secret("K", value: "the-revealed-value"));

        var result = await CliHarness.RunAsync(Vars, ["secrets", "get", "K", "--reveal"], handler);

        Assert.Equal(0, result.ExitCode);
        Assert.Equal("?reveal=true", Assert.Single(handler.Requests).Uri.Query);
        Assert.Matches(@"Reference\s*│\s*\$Token\{K\}", result.Out);
        Assert.Matches(@"Scope\s*│\s*All apps", result.Out);
        Assert.Matches(@"Value\s*│\s*the-revealed-value", result.Out);
        Assert.Matches(@"Created\s*│\s*2026-01-02 03:04:05 UTC", result.Out);
    }

    [Fact]
    public async Task Json_output_is_the_response_pretty_printed()
    {
        var handler = Answer(HttpStatusCode.OK, Canned.Secret("K"));

        var result = await CliHarness.RunAsync(Vars, ["secrets", "get", "K", "--json"], handler);

        using var json = JsonDocument.Parse(result.Out);
        Assert.Equal("$Token{K}", json.RootElement.GetProperty("reference").GetString());
        Assert.Contains("\n  \"key\": \"K\"", result.Out.ReplaceLineEndings("\n"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Keys_are_escaped_in_the_path()
    {
        var handler = Answer(HttpStatusCode.OK, Canned.Secret("K"));

        await CliHarness.RunAsync(Vars, ["secrets", "get", "../keys"], handler);

        Assert.Equal("/prefix/v1/secrets/..%2Fkeys", Assert.Single(handler.Requests).Uri.AbsolutePath);
    }

    [Fact]
    public async Task Revoke_versions_and_rollback_use_their_routes()
    {
        var handler = new StubHandler(request => StubHandler.JsonResponse(HttpStatusCode.OK,
            request.Uri.AbsolutePath.EndsWith("/versions", StringComparison.Ordinal)
                ? """{"items":[{"version":1,"created_at":"2026-01-01T00:00:00Z","created_by":"key_owner"},{"version":2,"created_at":"2026-01-02T00:00:00Z","created_by":"key_admin"}],"next_cursor":null}"""
                : Canned.Secret("K", version: 3, status: "revoked")));

        var revoke = await CliHarness.RunAsync(Vars, ["secrets", "revoke", "K"], handler);
        var versions = await CliHarness.RunAsync(Vars, ["secrets", "versions", "K"], handler);
        var rollback = await CliHarness.RunAsync(Vars, ["secrets", "rollback", "K", "--version", "1"], handler);

        Assert.Equal([0, 0, 0], new[] { revoke.ExitCode, versions.ExitCode, rollback.ExitCode });
        Assert.Equal(
            ["POST /prefix/v1/secrets/K/revoke", "GET /prefix/v1/secrets/K/versions", "POST /prefix/v1/secrets/K/rollback"],
            handler.Requests.Select(r => $"{r.Method} {r.Uri.AbsolutePath}"));
        Assert.Equal(1, (int)BodyOf(handler.Requests[2])["version"]!);
        Assert.Contains("revoked", revoke.Out, StringComparison.Ordinal);
        Assert.Matches(@"2\s*│\s*2026-01-02 00:00:00 UTC\s*│\s*key_admin", versions.Out);
        Assert.Contains("version 3 holds the value of version 1", rollback.Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Rollback_requires_a_version()
    {
        var handler = Answer(HttpStatusCode.OK, Canned.Secret("K"));

        var result = await CliHarness.RunAsync(Vars, ["secrets", "rollback", "K"], handler);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("--version", result.Error, StringComparison.Ordinal);
        Assert.Empty(handler.Requests);
    }

    [Fact]
    public async Task Delete_without_yes_and_without_confirmation_sends_nothing()
    {
        var handler = new StubHandler(_ => new HttpResponseMessage(HttpStatusCode.NoContent));

        var result = await CliHarness.RunAsync(Vars, ["secrets", "delete", "K"], handler);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("--yes", result.Error, StringComparison.Ordinal);
        Assert.Empty(handler.Requests);
    }

    [Fact]
    public async Task Delete_proceeds_when_the_key_is_typed_back_and_not_when_it_differs()
    {
        var handler = new StubHandler(_ => new HttpResponseMessage(HttpStatusCode.NoContent));

        var wrong = await CliHarness.RunAsync(Vars, ["secrets", "delete", "K"], handler, stdin: "L\n");
        Assert.Equal(1, wrong.ExitCode);
        Assert.Empty(handler.Requests);

        var typed = await CliHarness.RunAsync(Vars, ["secrets", "delete", "K"], handler, stdin: "K\n");
        Assert.Equal(0, typed.ExitCode);
        Assert.Equal(HttpMethod.Delete, Assert.Single(handler.Requests).Method);
        Assert.Contains("Deleted secret 'K'", typed.Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Url_and_api_key_flags_win_over_the_environment()
    {
        var handler = Answer(HttpStatusCode.OK, Canned.Secret("K"));

        await CliHarness.RunAsync(Vars, ["secrets", "get", "K", "--url", "https://other.test", "--api-key", "flag-key"], handler);

        var request = Assert.Single(handler.Requests);
        Assert.Equal("https://other.test/v1/secrets/K", request.Uri.ToString());
        Assert.Equal("Bearer flag-key", request.Authorization);
    }

    private static int CountOf(string text, string part)
    {
        var count = 0;
        for (var i = text.IndexOf(part, StringComparison.Ordinal); i >= 0; i = text.IndexOf(part, i + part.Length, StringComparison.Ordinal))
        {
            count++;
        }

        return count;
    }
}

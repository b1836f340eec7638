using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Latch.Cli.Run;

namespace Latch.Cli.Tests;

/// <summary><c>latch run</c>: the <c>actions.run</c> request it builds and how it prints the answer.</summary>
public sealed class RunCommandTests
{
    private static readonly Dictionary<string, string> Vars = new()
    {
        ["LATCH_URL"] = "http://latch.test/prefix",
        ["LATCH_API_KEY"] = "test-api-key",
    };

    private static readonly string[] Base = ["run", "--env", "prd", "--product", "shop", "--app", "stripe_app", "--event", "create_charge"];

    private const string Ok = """
        {"status":201,"headers":{"content-type":"application/json"},"body":{"id":"ch_1","echo":{"authorization":"Bearer ***"}},"body_base64":null,"duration_ms":42,"request_id":"req_abc"}
        """;

    private static StubHandler Answer(HttpStatusCode status, string json) => new(_ => StubHandler.JsonResponse(status, json));

    private static JsonObject BodyOf(RecordedRequest request) => JsonNode.Parse(request.Body)!.AsObject();

    [Fact]
    public async Task The_request_names_env_product_app_and_event_with_an_empty_input()
    {
        var handler = Answer(HttpStatusCode.OK, Ok);

        var result = await CliHarness.RunAsync(Vars, Base, handler);

        Assert.True(result.ExitCode == 0, result.Error);
        var request = Assert.Single(handler.Requests);
        Assert.Equal(HttpMethod.Post, request.Method);
        Assert.Equal("http://latch.test/prefix/v1/actions/run", request.Uri.ToString());
        Assert.True(JsonNode.DeepEquals(
            JsonNode.Parse("""{"env":"prd","product":"shop","app":"stripe_app","event":"create_charge","input":{}}"""), BodyOf(request)), request.Body);
    }

    [Fact]
    public async Task Flags_fill_auth_tag_retries_headers_query_and_params()
    {
        var handler = Answer(HttpStatusCode.OK, Ok);

        var result = await CliHarness.RunAsync(Vars,
            [.. Base, "--auth-tag", "api_key_auth", "--retries", "2", "--header", "X-Trace=t-1", "-H", "Idempotency-Key=a=b",
             "--query", "expand=balance", "--param", "customer=cus_1", "-p", "empty="],
            handler);

        Assert.True(result.ExitCode == 0, result.Error);
        var expected = JsonNode.Parse("""
            {"env":"prd","product":"shop","app":"stripe_app","event":"create_charge","auth_tag":"api_key_auth","retries":2,
             "input":{"headers":{"X-Trace":"t-1","Idempotency-Key":"a=b"},"query":{"expand":"balance"},"params":{"customer":"cus_1","empty":""}}}
            """);
        Assert.True(JsonNode.DeepEquals(expected, BodyOf(Assert.Single(handler.Requests))), handler.Requests[0].Body);
    }

    [Fact]
    public async Task Flags_are_merged_over_the_input_file_headers_ignoring_case()
    {
        const string Input = """
            {"headers":{"X-Trace":"from-file","Content-Language":"en"},"query":{"a":"1","b":"2"},"params":{"customer":"cus_file"},"body":{"amount":100,"note":"$Token{NOTE}"}}
            """;
        var handler = Answer(HttpStatusCode.OK, Ok);

        var result = await CliHarness.RunAsync(Vars,
            [.. Base, "--input", "-", "--header", "x-trace=from-flag", "--query", "b=3", "--param", "customer=cus_flag"], handler, stdin: Input);

        Assert.True(result.ExitCode == 0, result.Error);
        var input = BodyOf(Assert.Single(handler.Requests))["input"]!;
        Assert.True(JsonNode.DeepEquals(
            JsonNode.Parse("""
                {"headers":{"Content-Language":"en","x-trace":"from-flag"},"query":{"a":"1","b":"3"},"params":{"customer":"cus_flag"},"body":{"amount":100,"note":"$Token{NOTE}"}}
                """),
            input), input.ToJsonString());
    }

    [Theory]
    [InlineData(new[] { "--header", "NoEquals" }, "--header 'NoEquals': expected K=V")]
    [InlineData(new[] { "--query", "=v" }, "--query '=v': expected K=V")]
    [InlineData(new[] { "--retries", "-1" }, "--retries must be 0 or more")]
    public async Task Malformed_flags_are_usage_errors_and_nothing_is_sent(string[] extra, string message)
    {
        var handler = Answer(HttpStatusCode.OK, Ok);

        var result = await CliHarness.RunAsync(Vars, [.. Base, .. extra], handler);

        Assert.Equal(2, result.ExitCode);
        Assert.Equal($"Error: {message}", result.Error.TrimEnd());
        Assert.Empty(handler.Requests);
    }

    [Theory]
    [InlineData("""{"header":{"a":"b"}}""", "unknown field 'header'")]
    [InlineData("""{"headers":["a"]}""", "the input's headers must be a JSON object")]
    [InlineData("[]", "must be a JSON object, not an array")]
    public async Task A_wrong_input_file_is_a_usage_error(string input, string message)
    {
        var handler = Answer(HttpStatusCode.OK, Ok);

        var result = await CliHarness.RunAsync(Vars, [.. Base, "--input", "-", "-H", "a=b"], handler, stdin: input);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains(message, result.Error, StringComparison.Ordinal);
        Assert.Empty(handler.Requests);
    }

    [Fact]
    public async Task A_missing_required_option_is_a_usage_error()
    {
        var handler = Answer(HttpStatusCode.OK, Ok);

        var result = await CliHarness.RunAsync(Vars, ["run", "--env", "prd", "--product", "shop", "--app", "stripe_app"], handler);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("--event", result.Error, StringComparison.Ordinal);
        Assert.Empty(handler.Requests);
    }

    [Fact]
    public async Task Prints_status_duration_and_the_body_pretty_printed()
    {
        var result = await CliHarness.RunAsync(Vars, Base, Answer(HttpStatusCode.OK, Ok));

        Assert.Equal(0, result.ExitCode);
        var expected = string.Join('\n',
            "Status: 201 Created",
            "Duration: 42 ms",
            "Request id: req_abc",
            "",
            "{",
            "  \"id\": \"ch_1\",",
            "  \"echo\": {",
            "    \"authorization\": \"Bearer ***\"",
            "  }",
            "}");
        Assert.Equal(expected, result.Out.TrimEnd().ReplaceLineEndings("\n"));
        Assert.Equal("", result.Error);
    }

    [Fact]
    public async Task An_upstream_error_status_still_exits_0_with_a_note()
    {
        var handler = Answer(HttpStatusCode.OK,
            """{"status":404,"headers":{},"body":"no such charge","body_base64":null,"duration_ms":7,"request_id":"req_1"}""");

        var result = await CliHarness.RunAsync(Vars, Base, handler);

        Assert.Equal(0, result.ExitCode);
        Assert.StartsWith("Status: 404 Not Found", result.Out, StringComparison.Ordinal);
        Assert.Contains("no such charge", result.Out, StringComparison.Ordinal);
        Assert.Contains("Note: the upstream answered 404 Not Found", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Json_prints_the_whole_response()
    {
        var result = await CliHarness.RunAsync(Vars, [.. Base, "--json"], Answer(HttpStatusCode.OK, Ok));

        Assert.Equal(0, result.ExitCode);
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(Ok), JsonNode.Parse(result.Out)), result.Out);
        Assert.Equal("", result.Error);
    }

    [Fact]
    public async Task Resolution_failures_print_every_reference_error_and_exit_1()
    {
        var handler = new StubHandler(_ => StubHandler.Problem(HttpStatusCode.UnprocessableEntity, """
            {"status":422,"title":"Unresolvable references","detail":"Secret 'STRIPE_KEY' not found","code":"secret_not_found",
             "errors":[{"path":"$.headers.Authorization","key":"STRIPE_KEY","code":"secret_not_found","message":"Secret 'STRIPE_KEY' not found"},
                       {"path":"$.query.account","key":"ACCOUNT","code":"secret_env_denied","message":"Secret 'ACCOUNT' is not available in environment 'prd'"}]}
            """));

        var result = await CliHarness.RunAsync(Vars, Base, handler);

        Assert.Equal(1, result.ExitCode);
        Assert.Equal(
            ["Error: Secret 'STRIPE_KEY' not found",
             "  $.headers.Authorization: Secret 'STRIPE_KEY' not found",
             "  $.query.account: Secret 'ACCOUNT' is not available in environment 'prd'"],
            result.Error.TrimEnd().ReplaceLineEndings("\n").Split('\n'));
        Assert.Equal("", result.Out);
    }

    [Theory]
    [InlineData(HttpStatusCode.BadGateway, "upstream_unreachable", "The upstream could not be reached")]
    [InlineData(HttpStatusCode.GatewayTimeout, "upstream_timeout", "The upstream did not answer within 30 seconds")]
    [InlineData(HttpStatusCode.Conflict, "environment_inactive", "Environment 'dev' of product 'shop' is inactive")]
    [InlineData(HttpStatusCode.NotFound, "action_not_found", "Action 'nope' not found")]
    public async Task Latch_failures_print_their_detail_and_exit_1(HttpStatusCode status, string code, string detail)
    {
        var handler = new StubHandler(_ => StubHandler.Problem(status, $$"""{"status":{{(int)status}},"title":"x","detail":"{{detail}}","code":"{{code}}"}"""));

        var result = await CliHarness.RunAsync(Vars, Base, handler);

        Assert.Equal(1, result.ExitCode);
        Assert.Equal($"Error: {detail}", result.Error.TrimEnd());
    }

    [Fact]
    public async Task A_binary_body_points_to_the_json_output()
    {
        var handler = Answer(HttpStatusCode.OK, """{"status":200,"headers":{},"body":null,"body_base64":"AAEC","duration_ms":1,"request_id":"r"}""");

        var result = await CliHarness.RunAsync(Vars, Base, handler);

        Assert.Contains("(binary body: see body_base64 in the --json output)", result.Out, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(null, "(empty body)")]
    [InlineData("\"\"", "(empty body)")]
    [InlineData("\"plain text\"", "plain text")]
    [InlineData("\"{\\\"a\\\":1}\"", "{\n  \"a\": 1\n}")]
    [InlineData("\"{not json\"", "{not json")]
    [InlineData("[1]", "[\n  1\n]")]
    [InlineData("12", "12")]
    public void Bodies_are_formatted_for_reading(string? json, string expected)
    {
        var node = json is null ? null : JsonNode.Parse(json);

        Assert.Equal(expected, RunCommand.FormatBody(node).ReplaceLineEndings("\n"));
    }
}

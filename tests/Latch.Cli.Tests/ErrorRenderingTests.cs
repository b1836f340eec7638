using System.Net;
using System.Net.Sockets;

namespace Latch.Cli.Tests;

public sealed class ErrorRenderingTests
{
    private static readonly Dictionary<string, string> Vars = new()
    {
        ["LATCH_URL"] = "http://latch.test",
        ["LATCH_API_KEY"] = "test-api-key",
    };

    [Fact]
    public async Task A_problem_prints_its_detail_after_Error_and_exits_1()
    {
        var handler = new StubHandler(_ => StubHandler.Problem(HttpStatusCode.NotFound,
            """{"type":"about:blank","title":"Not Found","status":404,"detail":"Secret 'X' not found","code":"secret_not_found"}"""));

        var result = await CliHarness.RunAsync(Vars, ["secrets", "get", "X"], handler);

        Assert.Equal(1, result.ExitCode);
        Assert.Equal("Error: Secret 'X' not found", result.Error.TrimEnd());
        Assert.Equal("", result.Out);
    }

    [Fact]
    public async Task Field_validation_errors_are_listed_once_one_per_line()
    {
        var handler = new StubHandler(_ => StubHandler.Problem(HttpStatusCode.BadRequest,
            """{"status":400,"title":"Invalid input","detail":"The request is invalid","code":"validation_failed","errors":{"key":["must match ^[A-Za-z0-9_]{1,50}$"],"envs":["must be a list","must not repeat"]}}"""));

        var result = await CliHarness.RunAsync(Vars, ["secrets", "create", "bad-key", "--value", "s3cr3t-value"], handler);

        Assert.Equal(1, result.ExitCode);
        Assert.Equal(
            ["Error: The request is not valid:", "  key: must match ^[A-Za-z0-9_]{1,50}$", "  envs: must be a list", "  envs: must not repeat"],
            result.Error.TrimEnd().ReplaceLineEndings("\n").Split('\n'));
        Assert.DoesNotContain("s3cr3t-value", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Reference_errors_are_listed_with_their_paths()
    {
        var handler = new StubHandler(_ => StubHandler.Problem(HttpStatusCode.UnprocessableEntity,
            """{"status":422,"title":"Unresolvable","detail":"Secret 'A' not found","code":"secret_not_found","errors":[{"path":"$.headers.X-Key","key":"A","code":"secret_not_found","message":"Secret 'A' not found"}]}"""));

        var result = await CliHarness.RunAsync(Vars, ["secrets", "get", "A"], handler);

        Assert.Contains("  $.headers.X-Key: Secret 'A' not found", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_stale_version_is_reported_as_an_error()
    {
        var handler = new StubHandler(_ => StubHandler.Problem(HttpStatusCode.PreconditionFailed,
            """{"status":412,"title":"Version conflict","detail":"Secret 'K' is at version 3, not 2","code":"version_conflict"}"""));

        var result = await CliHarness.RunAsync(Vars, ["secrets", "rotate", "K", "--value", "new-value-123", "--if-version", "2"], handler);

        Assert.Equal(1, result.ExitCode);
        Assert.StartsWith("Error: Secret 'K' is at version 3", result.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("new-value-123", result.Error + result.Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_response_that_is_not_a_problem_falls_back_to_the_status_line()
    {
        var handler = new StubHandler(_ => new HttpResponseMessage(HttpStatusCode.BadGateway) { Content = new StringContent("<html>bad gateway</html>") });

        var result = await CliHarness.RunAsync(Vars, ["secrets", "list"], handler);

        Assert.Equal(1, result.ExitCode);
        Assert.Equal("Error: Latch answered 502 Bad Gateway", result.Error.TrimEnd());
    }

    [Fact]
    public async Task A_problem_with_only_a_title_prints_the_title()
    {
        var handler = new StubHandler(_ => StubHandler.Problem(HttpStatusCode.Unauthorized, """{"status":401,"title":"Unauthorized"}"""));

        var result = await CliHarness.RunAsync(Vars, ["secrets", "list"], handler);

        Assert.Equal("Error: Unauthorized", result.Error.TrimEnd());
    }

    [Fact]
    public async Task A_server_that_refuses_connections_is_reported_with_its_url()
    {
        // Take a free port, then close it so the connection is refused.
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();

        var result = await CliHarness.RunAsync(
            new Dictionary<string, string> { ["LATCH_URL"] = $"http://127.0.0.1:{port}", ["LATCH_API_KEY"] = "k" },
            ["secrets", "list"]);

        Assert.Equal(1, result.ExitCode);
        Assert.StartsWith($"Error: cannot reach Latch at http://127.0.0.1:{port}/: ", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_missing_api_key_is_a_clear_error()
    {
        var handler = new StubHandler(_ => throw new InvalidOperationException("must not be called"));

        var result = await CliHarness.RunAsync(new Dictionary<string, string>(), ["secrets", "list"], handler);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("Error: no API key: set LATCH_API_KEY or pass --api-key", result.Error, StringComparison.Ordinal);
        Assert.Empty(handler.Requests);
    }

    [Fact]
    public async Task A_bad_url_is_a_usage_error()
    {
        var result = await CliHarness.RunAsync(
            new Dictionary<string, string> { ["LATCH_URL"] = "ftp://x", ["LATCH_API_KEY"] = "k" }, ["secrets", "list"]);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("Error: invalid Latch URL 'ftp://x'", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Unknown_commands_and_bad_arguments_are_usage_errors()
    {
        var unknown = await CliHarness.RunAsync(Vars, ["secrets", "frobnicate"]);
        var badNumber = await CliHarness.RunAsync(Vars, ["secrets", "list", "--limit", "many"]);

        Assert.Equal(2, unknown.ExitCode);
        Assert.StartsWith("Error: ", unknown.Error, StringComparison.Ordinal);
        Assert.Equal(2, badNumber.ExitCode);
        Assert.StartsWith("Error: ", badNumber.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_invalid_expiry_is_a_usage_error_that_does_not_echo_the_value()
    {
        var handler = new StubHandler(_ => throw new InvalidOperationException("must not be called"));

        var result = await CliHarness.RunAsync(Vars, ["secrets", "create", "K", "--value", "top-secret-42", "--expires", "someday"], handler);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("Error: invalid --expires value 'someday'", result.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("top-secret-42", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Help_is_printed_to_standard_output_and_succeeds()
    {
        var result = await CliHarness.RunAsync(Vars, ["secrets", "create", "--help"]);

        Assert.Equal(0, result.ExitCode);
        Assert.Contains("--value-stdin", result.Out, StringComparison.Ordinal);
    }
}

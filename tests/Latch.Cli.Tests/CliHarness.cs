using System.Net;
using System.Text;

namespace Latch.Cli.Tests;

/// <summary>What one in-process run of <c>latch</c> printed and returned.</summary>
internal sealed record CliResult(int ExitCode, string Out, string Error);

/// <summary>Runs the CLI in-process with captured streams and a fixed set of environment variables.</summary>
internal static class CliHarness
{
    public static async Task<CliResult> RunAsync(
        IReadOnlyDictionary<string, string> variables,
        string[] args,
        HttpMessageHandler? handler = null,
        string stdin = "",
        TimeProvider? time = null)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var env = new CliEnvironment
        {
            Out = stdout,
            Error = stderr,
            In = new StringReader(stdin),
            GetVariable = name => variables.TryGetValue(name, out var value) ? value : null,
            HttpHandler = handler,
            Time = time ?? TimeProvider.System,
        };
        var exitCode = await LatchCli.RunAsync(args, env);
        return new CliResult(exitCode, stdout.ToString(), stderr.ToString());
    }

    /// <summary>What <c>latch serve</c> returns here when it got as far as starting the server (which is not started).</summary>
    public const int ServedExitCode = 7;

    /// <summary>
    /// <c>latch serve ARGS</c> with these variables, stopping where the server would start: the exit code
    /// (<see cref="ServedExitCode"/> when the options were accepted), the options it would have served with, and stderr.
    /// </summary>
    public static async Task<(int ExitCode, Latch.Server.ServeOptions? Options, string Error)> ServeAsync(Dictionary<string, string> variables, params string[] args)
    {
        Latch.Server.ServeOptions? captured = null;
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var env = new CliEnvironment
        {
            Out = stdout,
            Error = stderr,
            GetVariable = name => variables.TryGetValue(name, out var value) ? value : null,
            RunServer = (options, _, _) =>
            {
                captured = options;
                return Task.FromResult(ServedExitCode);
            },
        };
        var exitCode = await LatchCli.RunAsync(["serve", .. args], env);
        return (exitCode, captured, stderr.ToString());
    }
}

/// <summary>A recorded request: method, URI, headers and body as text.</summary>
internal sealed record RecordedRequest(HttpMethod Method, Uri Uri, string? Authorization, string? IfMatch, string Body);

/// <summary>An HTTP handler that records requests and answers with canned responses.</summary>
internal sealed class StubHandler(Func<RecordedRequest, HttpResponseMessage> respond) : HttpMessageHandler
{
    public List<RecordedRequest> Requests { get; } = [];

    public static HttpResponseMessage JsonResponse(HttpStatusCode status, string json, string mediaType = "application/json") =>
        new(status) { Content = new StringContent(json, Encoding.UTF8, mediaType) };

    public static HttpResponseMessage Problem(HttpStatusCode status, string json) =>
        JsonResponse(status, json, "application/problem+json");

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var body = request.Content is null ? "" : await request.Content.ReadAsStringAsync(cancellationToken);
        var recorded = new RecordedRequest(
            request.Method,
            request.RequestUri!,
            request.Headers.Authorization?.ToString(),
            request.Headers.IfMatch.Count == 0 ? null : string.Join(", ", request.Headers.IfMatch),
            body);
        Requests.Add(recorded);
        return respond(recorded);
    }
}

/// <summary>Canned API bodies.</summary>
internal static class Canned
{
    public static string Secret(
        string key,
        int version = 1,
        string status = "active",
        string scope = "[]",
        string envs = "[]",
        string expiresAt = "null",
        string? value = null) =>
        $$"""
        {"key":"{{key}}","description":"test secret","token_type":"api_key","scope":{{scope}},"envs":{{envs}},
         "expires_at":{{expiresAt}},"status":"{{status}}","version":{{version}},
         "created_at":"2026-01-02T03:04:05Z","updated_at":"2026-01-02T03:04:05Z","last_used_at":null,
         "reference":"$Token{{{key}}}"{{(value is null ? "" : $",\"value\":\"{value}\"")}}}
        """;
}

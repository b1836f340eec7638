using System.Net;
using System.Text.Json.Nodes;
using Latch.Cli.Serve;
using Latch.Server;
using Microsoft.Extensions.Time.Testing;

namespace Latch.Cli.Tests;

/// <summary><c>latch secrets expiring</c>, and the reveal / expiry-warning options of <c>latch serve</c>.</summary>
public sealed class ExpiringAndServeOptionsTests
{
    private static readonly DateTimeOffset Now = new(2026, 6, 1, 12, 0, 0, TimeSpan.Zero);

    private static readonly Dictionary<string, string> Api = new() { ["LATCH_URL"] = "http://latch.test/", ["LATCH_API_KEY"] = "k" };

    private static long In(TimeSpan span) => Now.Add(span).ToUnixTimeSeconds();

    private static string Secret(string key, long expiresAt) =>
        Canned.Secret(key, expiresAt: expiresAt.ToString(System.Globalization.CultureInfo.InvariantCulture));

    [Fact]
    public async Task Expiring_asks_for_seven_days_by_default_follows_every_cursor_and_lists_soonest_first()
    {
        var handler = new StubHandler(request => request.Uri.Query.Contains("cursor=c2", StringComparison.Ordinal)
            ? StubHandler.JsonResponse(HttpStatusCode.OK, $$"""{"items":[{{Secret("LATER_KEY", In(TimeSpan.FromDays(6)))}}],"next_cursor":null}""")
            : StubHandler.JsonResponse(HttpStatusCode.OK, $$"""{"items":[{{Secret("SOONEST_KEY", In(TimeSpan.FromHours(5)))}}],"next_cursor":"c2"}"""));

        var result = await CliHarness.RunAsync(Api, ["secrets", "expiring"], handler, time: new FakeTimeProvider(Now));

        Assert.True(result.ExitCode == 0, result.Error);
        Assert.Equal(2, handler.Requests.Count);
        Assert.All(handler.Requests, r => Assert.Contains("expiring_within=604800", r.Uri.Query, StringComparison.Ordinal));
        Assert.Contains("2 secret(s) expire within 7d", result.Out, StringComparison.Ordinal);
        var soonest = result.Out.IndexOf("SOONEST_KEY", StringComparison.Ordinal);
        var later = result.Out.IndexOf("LATER_KEY", StringComparison.Ordinal);
        Assert.True(soonest >= 0 && later > soonest, result.Out);
        var row = Assert.Single(result.Out.Split('\n'), l => l.Contains("SOONEST_KEY", StringComparison.Ordinal));
        Assert.Contains("5h", row, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Expiring_within_takes_a_duration_and_json_prints_every_item()
    {
        var handler = new StubHandler(_ => StubHandler.JsonResponse(HttpStatusCode.OK,
            $$"""{"items":[{{Secret("B_KEY", In(TimeSpan.FromDays(2)))}},{{Secret("A_KEY", In(TimeSpan.FromDays(1)))}}],"next_cursor":null}"""));

        var result = await CliHarness.RunAsync(Api, ["secrets", "expiring", "--within", "48h", "--json"], handler, time: new FakeTimeProvider(Now));

        Assert.True(result.ExitCode == 0, result.Error);
        Assert.Contains("expiring_within=172800", Assert.Single(handler.Requests).Uri.Query, StringComparison.Ordinal);
        var keys = JsonNode.Parse(result.Out)!["items"]!.AsArray().Select(i => i!["key"]!.GetValue<string>()).ToList();
        Assert.Equal(["A_KEY", "B_KEY"], keys);
    }

    [Fact]
    public async Task Expiring_says_so_when_nothing_expires()
    {
        var handler = new StubHandler(_ => StubHandler.JsonResponse(HttpStatusCode.OK, """{"items":[],"next_cursor":null}"""));
        var result = await CliHarness.RunAsync(Api, ["secrets", "expiring", "--within", "2w"], handler);
        Assert.Equal(0, result.ExitCode);
        Assert.Contains("No secrets expire within 14d", result.Out, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("soon")]
    [InlineData("0")]
    [InlineData("-3d")]
    [InlineData("7y")]
    public async Task Expiring_refuses_a_window_that_is_not_a_positive_duration(string within)
    {
        var handler = new StubHandler(_ => throw new InvalidOperationException("no request expected"));
        var result = await CliHarness.RunAsync(Api, ["secrets", "expiring", "--within", within], handler);
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("--within", result.Error, StringComparison.Ordinal);
        Assert.Empty(handler.Requests);
    }

    private static Task<(int ExitCode, ServeOptions? Options, string Error)> ServeAsync(Dictionary<string, string> variables, params string[] args) =>
        CliHarness.ServeAsync(variables, args);

    [Theory]
    [InlineData("--no-reveal")]
    [InlineData("--disable-reveal")]
    public async Task Serve_no_reveal_and_its_alias_turn_reveal_off(string flag)
    {
        var (_, options, _) = await ServeAsync([], flag);
        Assert.False(options!.RevealEnabled);
    }

    [Theory]
    [InlineData("false", false)]
    [InlineData("FALSE", false)]
    [InlineData("0", false)]
    [InlineData("true", true)]
    [InlineData("1", true)]
    public async Task Serve_reads_LATCH_ALLOW_REVEAL(string value, bool enabled)
    {
        var (_, options, _) = await ServeAsync(new() { ["LATCH_ALLOW_REVEAL"] = value });
        Assert.Equal(enabled, options!.RevealEnabled);
    }

    [Fact]
    public async Task Serve_no_reveal_wins_over_LATCH_ALLOW_REVEAL_true()
    {
        var (_, options, _) = await ServeAsync(new() { ["LATCH_ALLOW_REVEAL"] = "true" }, "--no-reveal");
        Assert.False(options!.RevealEnabled);
    }

    [Fact]
    public async Task Serve_refuses_an_unreadable_LATCH_ALLOW_REVEAL_instead_of_guessing()
    {
        var (exit, options, error) = await ServeAsync(new() { ["LATCH_ALLOW_REVEAL"] = "maybe" });
        Assert.Equal(2, exit);
        Assert.Null(options);
        Assert.Contains("LATCH_ALLOW_REVEAL", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Serve_expiry_warning_defaults_to_seven_days_and_reads_the_flag_then_the_environment()
    {
        Assert.Equal(TimeSpan.FromDays(7), (await ServeAsync([])).Options!.ExpiryWarning);
        Assert.Equal(TimeSpan.FromDays(3), (await ServeAsync(new() { ["LATCH_EXPIRY_WARNING"] = "3d" })).Options!.ExpiryWarning);
        Assert.Equal(TimeSpan.FromHours(48),
            (await ServeAsync(new() { ["LATCH_EXPIRY_WARNING"] = "3d" }, "--expiry-warning", "48h")).Options!.ExpiryWarning);
        var (exit, _, error) = await ServeAsync([], "--expiry-warning", "soon");
        Assert.Equal(2, exit);
        Assert.Contains("--expiry-warning", error, StringComparison.Ordinal);
    }

    [Fact]
    public void BuildOptions_maps_reveal_and_expiry_settings()
    {
        var env = new CliEnvironment
        {
            Out = TextWriter.Null,
            Error = TextWriter.Null,
            GetVariable = name => name switch
            {
                "LATCH_ALLOW_REVEAL" => "off",
                "LATCH_EXPIRY_WARNING" => "2w",
                _ => null,
            },
        };
        var options = ServeCommand.BuildOptions(env, null, null, null, disableReveal: false);
        Assert.False(options.RevealEnabled);
        Assert.Equal(TimeSpan.FromDays(14), options.ExpiryWarning);
    }
    [Fact]
    public async Task Serve_store_defaults_to_sqlite_and_reads_store_and_connection_from_flags_then_the_environment()
    {
        var (_, defaults, _) = await ServeAsync([]);
        Assert.Equal(StoreKind.Sqlite, defaults!.Store);
        Assert.Null(defaults.Connection);

        var (_, fromEnvironment, _) = await ServeAsync(new() { ["LATCH_STORE"] = "postgres", ["LATCH_CONNECTION"] = "Host=env;Database=latch" });
        Assert.Equal(StoreKind.Postgres, fromEnvironment!.Store);
        Assert.Equal("Host=env;Database=latch", fromEnvironment.Connection);

        var (_, fromFlags, _) = await ServeAsync(
            new() { ["LATCH_STORE"] = "sqlite", ["LATCH_CONNECTION"] = "Host=env" }, "--store", "postgres", "--connection", "Host=flag;Database=latch");
        Assert.Equal(StoreKind.Postgres, fromFlags!.Store);
        Assert.Equal("Host=flag;Database=latch", fromFlags.Connection);
    }

    [Theory]
    [InlineData("mysql")]
    [InlineData("postgres")]
    public async Task Serve_refuses_an_unknown_store_or_postgres_without_a_connection(string store)
    {
        var (exit, options, error) = await ServeAsync([], "--store", store);
        Assert.Equal(2, exit);
        Assert.Null(options);
        Assert.Contains(store == "mysql" ? "invalid store 'mysql'" : "--connection", error, StringComparison.Ordinal);
    }
}

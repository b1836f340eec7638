using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Latch.Cli.Audit;
using Latch.Server;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Time.Testing;

namespace Latch.Cli.Tests;

/// <summary>Runs <c>latch</c> with a cancellation token (how <c>--follow</c> is stopped) and captured streams.</summary>
internal static class AuditHarness
{
    public static async Task<CliResult> RunAsync(
        IReadOnlyDictionary<string, string> variables, string[] args, HttpMessageHandler? handler, CancellationToken cancellationToken)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var env = new CliEnvironment
        {
            Out = stdout,
            Error = stderr,
            GetVariable = name => variables.TryGetValue(name, out var value) ? value : null,
            HttpHandler = handler,
        };
        var exitCode = await LatchCli.RunAsync(args, env, cancellationToken);
        return new CliResult(exitCode, stdout.ToString(), stderr.ToString());
    }

    /// <summary>An audit item as the API answers it.</summary>
    public static string Event(long sequence, string action = "secret.resolved", string secret = "STRIPE_KEY") =>
        $$"""
        {"id":"ev_{{sequence}}","sequence":{{sequence}},"at":"2026-11-01T12:00:{{sequence:00}}Z","action":"{{action}}",
         "actor":{"key_id":"key_ci","name":"ci-runner"},"request_id":"req_{{sequence}}","client":"latch-cli/1.0","secret":"{{secret}}",
         "version":3,"product":"shop","app":"stripe_app","env":"prd","context":"resolve","path":"$.headers.Authorization",
         "code":null,"detail":null,"hash":"hash{{sequence}}"}
        """;

    /// <summary>An audit page: the events in the order given, the cursors as strings (or null).</summary>
    public static string Page(IEnumerable<long> sequences, string? next, string follow) =>
        $$"""{"items":[{{string.Join(',', sequences.Select(s => Event(s)))}}],"next_cursor":{{(next is null ? "null" : $"\"{next}\"")}},"follow_cursor":"{{follow}}"}""";

    /// <summary>The request's query, decoded, as name → value.</summary>
    public static Dictionary<string, string> Query(RecordedRequest request) =>
        request.Uri.Query.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries)
            .Select(pair => pair.Split('=', 2))
            .ToDictionary(p => Uri.UnescapeDataString(p[0]), p => Uri.UnescapeDataString(p.Length > 1 ? p[1] : ""), StringComparer.Ordinal);
}

/// <summary>What <c>latch audit</c> and <c>latch audit verify</c> send and print, against a recorded HTTP handler.</summary>
public sealed class AuditCommandTests
{
    private static readonly Dictionary<string, string> Vars = new()
    {
        ["LATCH_URL"] = "http://latch.test/prefix",
        ["LATCH_API_KEY"] = "test-api-key",
    };

    private static StubHandler Answer(HttpStatusCode status, string json) =>
        new(_ => StubHandler.JsonResponse(status, json));

    [Fact]
    public async Task Filters_become_the_query_with_times_in_utc_from_the_clock()
    {
        var handler = Answer(HttpStatusCode.OK, AuditHarness.Page([], null, "0"));
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 3, 12, 30, 0, TimeSpan.Zero));

        var result = await CliHarness.RunAsync(Vars,
            ["audit", "--secret", "STRIPE_KEY", "--app", "stripe_app", "--env", "prd", "--action", "secret.resolved",
             "--since", "24h", "--until", "2026-11-03T14:00:00+02:00", "--limit", "50"],
            handler, time: time);

        Assert.True(result.ExitCode == 0, result.Error);
        var request = Assert.Single(handler.Requests);
        Assert.Equal(HttpMethod.Get, request.Method);
        Assert.Equal("/prefix/v1/audit", request.Uri.AbsolutePath);
        Assert.Equal(
            "?secret=STRIPE_KEY&app=stripe_app&env=prd&action=secret.resolved&since=2026-11-02T12:30:00Z&until=2026-11-03T12:00:00Z&limit=50",
            Uri.UnescapeDataString(request.Uri.Query));
        Assert.Equal("Bearer test-api-key", request.Authorization);
        Assert.Equal("No audit events.", result.Out.TrimEnd());
    }

    [Fact]
    public async Task No_options_send_no_query_and_dates_and_unix_seconds_are_sent_as_utc_instants()
    {
        var handler = Answer(HttpStatusCode.OK, AuditHarness.Page([], null, "0"));

        await CliHarness.RunAsync(Vars, ["audit"], handler);
        await CliHarness.RunAsync(Vars, ["audit", "--since", "2026-11-01", "--until", "1793577600"], handler);

        Assert.Equal("http://latch.test/prefix/v1/audit", handler.Requests[0].Uri.ToString());
        var query = AuditHarness.Query(handler.Requests[1]);
        Assert.Equal("2026-11-01T00:00:00Z", query["since"]);
        Assert.Equal("2026-11-02T00:00:00Z", query["until"]);
    }

    [Fact]
    public async Task The_table_shows_time_action_secret_target_context_path_and_actor()
    {
        var handler = Answer(HttpStatusCode.OK, AuditHarness.Page([7, 6], "6", "7"));

        var result = await CliHarness.RunAsync(Vars, ["audit"], handler);

        Assert.Equal(0, result.ExitCode);
        foreach (var header in new[] { "Time", "Action", "Secret", "Product/App/Env", "Context", "Path", "Code", "Actor" })
        {
            Assert.Contains(header, result.Out, StringComparison.Ordinal);
        }

        var rows = result.Out.Split('\n').Where(l => l.Contains("secret.resolved", StringComparison.Ordinal)).ToList();
        Assert.Equal(2, rows.Count);
        Assert.Contains("2026-11-01 12:00:07 UTC", rows[0], StringComparison.Ordinal);
        Assert.Contains("2026-11-01 12:00:06 UTC", rows[1], StringComparison.Ordinal);
        Assert.Matches(@"STRIPE_KEY@3\s*│\s*shop/stripe_app/prd\s*│\s*resolve\s*│\s*\$\.headers\.Authorization\s*│\s*│\s*ci-runner", rows[0]);
        Assert.Equal("Older events follow: pass --cursor 6 for the next page, or --all.", result.Error.TrimEnd());
    }

    [Fact]
    public async Task Json_prints_the_page_as_answered()
    {
        var page = AuditHarness.Page([2, 1], "1", "2");
        var handler = Answer(HttpStatusCode.OK, page);

        var result = await CliHarness.RunAsync(Vars, ["audit", "--json"], handler);

        Assert.Equal(0, result.ExitCode);
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(page), JsonNode.Parse(result.Out)));
        Assert.Equal("", result.Error);
    }

    [Fact]
    public async Task All_follows_next_cursor_with_the_same_filters_and_merges_the_items()
    {
        var handler = new StubHandler(request => StubHandler.JsonResponse(HttpStatusCode.OK,
            AuditHarness.Query(request).GetValueOrDefault("cursor") switch
            {
                null => AuditHarness.Page([5, 4], "4", "5"),
                "4" => AuditHarness.Page([3, 2], "2", "3"),
                "2" => AuditHarness.Page([1], null, "1"),
                var other => throw new InvalidOperationException($"unexpected cursor {other}"),
            }));

        var result = await CliHarness.RunAsync(Vars, ["audit", "--all", "--json", "--action", "secret.resolved", "--limit", "2"], handler);

        Assert.True(result.ExitCode == 0, result.Error);
        Assert.Equal(
            ["action=secret.resolved&limit=2", "action=secret.resolved&limit=2&cursor=4", "action=secret.resolved&limit=2&cursor=2"],
            handler.Requests.Select(r => r.Uri.Query.TrimStart('?')));
        var output = JsonNode.Parse(result.Out)!.AsObject();
        Assert.Equal([5L, 4, 3, 2, 1], output["items"]!.AsArray().Select(i => (long)i!["sequence"]!));
        Assert.Null(output["next_cursor"]);
        Assert.Equal("5", (string?)output["follow_cursor"]);
    }

    [Fact]
    public async Task Cursor_continues_from_an_earlier_page()
    {
        var handler = Answer(HttpStatusCode.OK, AuditHarness.Page([3], null, "3"));

        var result = await CliHarness.RunAsync(Vars, ["audit", "--cursor", "4"], handler);

        Assert.Equal(0, result.ExitCode);
        Assert.Equal("?cursor=4", Assert.Single(handler.Requests).Uri.Query);
        Assert.Equal("", result.Error);
    }

    [Fact]
    public async Task Follow_prints_the_latest_page_then_new_events_oldest_first_until_cancelled()
    {
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var polls = 0;
        var handler = new StubHandler(request =>
        {
            if (!AuditHarness.Query(request).ContainsKey("after"))
            {
                return StubHandler.JsonResponse(HttpStatusCode.OK, AuditHarness.Page([2, 1], "1", "2"));
            }

            polls++;
            switch (polls)
            {
                case 1:
                    return StubHandler.JsonResponse(HttpStatusCode.OK, AuditHarness.Page([], null, "2"));
                case 2:
                    // following answers oldest first
                    return StubHandler.JsonResponse(HttpStatusCode.OK, AuditHarness.Page([3, 4], null, "4"));
                default:
                    // Batch 2 was printed before this request: Ctrl+C now.
                    cancel.Cancel();
                    return StubHandler.JsonResponse(HttpStatusCode.OK, AuditHarness.Page([], null, "4"));
            }
        });

        var result = await AuditHarness.RunAsync(Vars,
            ["audit", "--follow", "--json", "--secret", "STRIPE_KEY", "--interval", "10ms"], handler, cancel.Token);

        Assert.True(result.ExitCode == 0, result.Error);
        Assert.Equal("", result.Error);
        var lines = result.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.Equal(["ev_1", "ev_2", "ev_3", "ev_4"], lines.Select(l => (string?)JsonNode.Parse(l)!["id"]));
        Assert.All(lines, l => Assert.DoesNotContain('\n', l));
        Assert.Equal([null, "2", "2", "4"], handler.Requests.Select(r => AuditHarness.Query(r).GetValueOrDefault("after")));
        Assert.All(handler.Requests, r => Assert.Equal("STRIPE_KEY", AuditHarness.Query(r)["secret"]));
        Assert.DoesNotContain(handler.Requests, r => AuditHarness.Query(r).ContainsKey("cursor"));
    }

    [Fact]
    public async Task Follow_for_people_prints_one_line_per_event()
    {
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var handler = new StubHandler(request =>
        {
            var after = AuditHarness.Query(request).GetValueOrDefault("after");
            if (after == "5")
            {
                cancel.Cancel();
            }

            return StubHandler.JsonResponse(HttpStatusCode.OK, after switch
            {
                null => AuditHarness.Page([4], null, "4"),
                "4" => AuditHarness.Page([5], null, "5"),
                _ => AuditHarness.Page([], null, "5"),
            });
        });

        var result = await AuditHarness.RunAsync(Vars, ["audit", "--follow", "--interval", "10ms"], handler, cancel.Token);

        Assert.True(result.ExitCode == 0, result.Error);
        var lines = result.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.Equal(
            ["2026-11-01 12:00:04 UTC  secret.resolved  STRIPE_KEY@3  shop/stripe_app/prd  resolve  $.headers.Authorization  -  ci-runner",
             "2026-11-01 12:00:05 UTC  secret.resolved  STRIPE_KEY@3  shop/stripe_app/prd  resolve  $.headers.Authorization  -  ci-runner"],
            lines);
    }

    [Theory]
    [InlineData(new[] { "audit", "--since", "yesterday" }, "invalid --since value 'yesterday'")]
    [InlineData(new[] { "audit", "--until", "2026-11-01T10:00:00" }, "invalid --until value '2026-11-01T10:00:00'")]
    [InlineData(new[] { "audit", "--since", "2026-11-02", "--until", "2026-11-01" }, "--since must be before --until")]
    [InlineData(new[] { "audit", "--limit", "0" }, "--limit must be a positive number")]
    [InlineData(new[] { "audit", "--follow", "--all" }, "cannot be combined with --all or --cursor")]
    [InlineData(new[] { "audit", "--follow", "--interval", "0s" }, "invalid --interval value '0s'")]
    [InlineData(new[] { "audit", "--follow", "--interval", "soon" }, "invalid --interval value 'soon'")]
    [InlineData(new[] { "audit", "--interval", "1s" }, "--interval only applies with --follow")]
    public async Task Bad_options_are_usage_errors_before_any_request(string[] args, string message)
    {
        var handler = Answer(HttpStatusCode.OK, AuditHarness.Page([], null, "0"));

        var result = await CliHarness.RunAsync(Vars, args, handler);

        Assert.Equal(2, result.ExitCode);
        Assert.StartsWith("Error: ", result.Error, StringComparison.Ordinal);
        Assert.Contains(message, result.Error, StringComparison.Ordinal);
        Assert.Empty(handler.Requests);
    }

    [Fact]
    public async Task A_refused_query_is_an_error_with_exit_1()
    {
        var handler = new StubHandler(_ => StubHandler.Problem(HttpStatusCode.BadRequest,
            """{"type":"about:blank","title":"Validation failed","status":400,"code":"validation_failed","detail":"limit: must be an integer from 1 to 1000","errors":{"limit":["must be an integer from 1 to 1000"]}}"""));

        var result = await CliHarness.RunAsync(Vars, ["audit", "--limit", "5000"], handler);

        Assert.Equal(1, result.ExitCode);
        Assert.StartsWith("Error: ", result.Error, StringComparison.Ordinal);
        Assert.Contains("must be an integer from 1 to 1000", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Verify_reports_how_many_events_were_checked()
    {
        var handler = Answer(HttpStatusCode.OK, """{"ok":true,"checked":12,"first_broken":null}""");

        var result = await CliHarness.RunAsync(Vars, ["audit", "verify"], handler);

        Assert.Equal(0, result.ExitCode);
        Assert.Equal("ok: 12 events checked", result.Out.TrimEnd());
        Assert.Equal("http://latch.test/prefix/v1/audit/verify", Assert.Single(handler.Requests).Uri.ToString());
    }

    [Fact]
    public async Task Verify_names_the_first_broken_event_and_exits_1()
    {
        const string Broken = """{"ok":false,"checked":5,"first_broken":{"id":"ev_5","sequence":5,"at":"2026-11-01T12:00:05Z","action":"secret.revealed"}}""";
        var handler = Answer(HttpStatusCode.OK, Broken);

        var result = await CliHarness.RunAsync(Vars, ["audit", "verify"], handler);
        var json = await CliHarness.RunAsync(Vars, ["audit", "verify", "--json"], handler);

        Assert.Equal(1, result.ExitCode);
        Assert.Equal("", result.Out);
        Assert.Equal("Error: audit chain broken at event ev_5 (#5, secret.revealed, 2026-11-01 12:00:05 UTC)", result.Error.TrimEnd());
        Assert.Equal(1, json.ExitCode);
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(Broken), JsonNode.Parse(json.Out)));
    }

    [Fact]
    public async Task Verify_json_when_intact_prints_the_response_only()
    {
        var handler = Answer(HttpStatusCode.OK, """{"ok":true,"checked":1,"first_broken":null}""");

        var result = await CliHarness.RunAsync(Vars, ["audit", "verify", "--json"], handler);

        Assert.Equal(0, result.ExitCode);
        Assert.True((bool)JsonNode.Parse(result.Out)!["ok"]!);
        Assert.Equal("", result.Error);
    }

    [Theory]
    [InlineData("24h", "2026-11-02T12:00:00Z")]
    [InlineData("90s", "2026-11-03T11:58:30Z")]
    [InlineData("2w", "2026-10-20T12:00:00Z")]
    [InlineData("2026-11-01", "2026-11-01T00:00:00Z")]
    [InlineData("2026-11-01T10:00:00.5+01:00", "2026-11-01T09:00:00.5Z")]
    [InlineData("1793491200", "2026-11-01T00:00:00Z")]
    public void Times_parse_to_utc_instants(string text, string expected)
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 3, 12, 0, 0, TimeSpan.Zero));

        Assert.Equal(expected, AuditTimeParser.Format(AuditTimeParser.ParseTime(text, "--since", time)));
    }

    [Theory]
    [InlineData("10ms", 10)]
    [InlineData("1s", 1000)]
    [InlineData("3", 3000)]
    [InlineData("2m", 120_000)]
    public void Intervals_parse(string text, int milliseconds) =>
        Assert.Equal(TimeSpan.FromMilliseconds(milliseconds), AuditTimeParser.ParseInterval(text));
}

/// <summary>A Latch server this test class starts, stops and restarts on the same data directory and master key.</summary>
internal sealed class RestartableLatch : IAsyncDisposable
{
    private readonly string _masterKey = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
    private RunningLatch? _server;

    public string DataDirectory { get; } = Path.Combine(Path.GetTempPath(), "latch-cli-audit-" + Guid.NewGuid().ToString("N"));

    public string ApiKey { get; } = RandomNumberGenerator.GetString("abcdefghijklmnopqrstuvwxyz0123456789", 40);

    public Uri BaseAddress => _server?.BaseAddress ?? throw new InvalidOperationException("server not started");

    public Dictionary<string, string> Variables => new()
    {
        ["LATCH_URL"] = BaseAddress.ToString(),
        ["LATCH_API_KEY"] = ApiKey,
    };

    public async Task StartAsync()
    {
        Directory.CreateDirectory(DataDirectory);
        _server = await LatchServer.StartAsync(new ServeOptions
        {
            Urls = "http://127.0.0.1:0",
            DataDirectory = DataDirectory,
            MasterKey = _masterKey,
            BootstrapKey = ApiKey,
            // Actions in these tests call upstreams on loopback, which the egress policy denies by default.
            EgressAllow = ["127.0.0.0/8"],
        });
    }

    public async Task StopAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
            _server = null;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        try
        {
            Directory.Delete(DataDirectory, recursive: true);
        }
        catch (IOException)
        {
            // A file still held open by SQLite on the way down; the temp directory is cleaned eventually.
        }
    }
}

/// <summary><c>latch audit</c> against a real server: real events, following, and a chain broken on disk.</summary>
public sealed class AuditEndToEndTests
{
    private static async Task ResolveAsync(RestartableLatch server, string key, string app, string env)
    {
        using var http = new HttpClient { BaseAddress = server.BaseAddress };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", server.ApiKey);
        var body = new JsonObject
        {
            ["document"] = new JsonObject { ["authorization"] = $"Bearer $Token{{{key}}}" },
            ["app"] = app,
            ["env"] = env,
        };
        using var content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json");
        using var response = await http.PostAsync(new Uri("v1/secrets/resolve", UriKind.Relative), content);
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
    }

    private static JsonArray Items(CliResult result)
    {
        Assert.True(result.ExitCode == 0, result.Error);
        return JsonNode.Parse(result.Out)!["items"]!.AsArray();
    }

    [Fact]
    public async Task Events_are_listed_the_chain_verifies_and_an_edited_row_is_reported()
    {
        await using var server = new RestartableLatch();
        await server.StartAsync();
        Task<CliResult> Latch(params string[] args) => CliHarness.RunAsync(server.Variables, args);

        Assert.Equal(0, (await Latch("secrets", "create", "AUDIT_KEY", "--value", "audit-value-1f2e3d")).ExitCode);
        Assert.Equal(0, (await Latch("secrets", "get", "AUDIT_KEY", "--reveal")).ExitCode);
        await ResolveAsync(server, "AUDIT_KEY", "billing", "prd");

        var all = Items(await Latch("audit", "--json", "--secret", "AUDIT_KEY"));
        Assert.Equal(["secret.resolved", "secret.revealed", "secret.created"], all.Select(i => (string?)i!["action"]));
        var sequences = all.Select(i => (long)i!["sequence"]!).ToList();
        Assert.Equal(sequences.OrderDescending(), sequences);
        Assert.DoesNotContain("audit-value-1f2e3d", all.ToJsonString(), StringComparison.Ordinal);

        var resolved = Assert.Single(Items(await Latch("audit", "--json", "--action", "secret.resolved", "--app", "billing", "--env", "prd")));
        Assert.Equal("AUDIT_KEY", (string?)resolved!["secret"]);
        Assert.Equal(1, (int)resolved["version"]!);

        var paged = Items(await Latch("audit", "--json", "--all", "--limit", "1"));
        Assert.True(paged.Count >= 3);
        Assert.Equal(paged.Select(i => (string?)i!["id"]).Distinct().Count(), paged.Count);

        var table = await Latch("audit", "--secret", "AUDIT_KEY", "--since", "1h");
        Assert.True(table.ExitCode == 0, table.Error);
        Assert.Matches(@"secret\.resolved\s*│\s*AUDIT_KEY@1\s*│\s*-/billing/prd", table.Out);
        Assert.Contains("secret.created", table.Out, StringComparison.Ordinal);

        var ok = await Latch("audit", "verify");
        Assert.True(ok.ExitCode == 0, ok.Error);
        Assert.Equal($"ok: {paged.Count} events checked", ok.Out.TrimEnd());

        // Edit the reveal on disk while the server is down, then start it again on the same data and key.
        var revealed = all.Single(i => (string?)i!["action"] == "secret.revealed")!;
        await server.StopAsync();
        var database = new SqliteConnectionStringBuilder { DataSource = Path.Combine(server.DataDirectory, "latch.db"), Pooling = false };
        await using (var connection = new SqliteConnection(database.ToString()))
        {
            await connection.OpenAsync();
            await using var update = connection.CreateCommand();
            update.CommandText = "UPDATE audit_events SET detail = 'nothing to see here' WHERE id = $id";
            update.Parameters.AddWithValue("$id", (string)revealed["id"]!);
            Assert.Equal(1, await update.ExecuteNonQueryAsync());
        }

        await server.StartAsync();

        var broken = await Latch("audit", "verify");
        Assert.Equal(1, broken.ExitCode);
        Assert.Equal("", broken.Out);
        Assert.Matches(
            $@"^Error: audit chain broken at event {revealed["id"]} \(#{revealed["sequence"]}, secret\.revealed, \d{{4}}-\d\d-\d\d \d\d:\d\d:\d\d UTC\)\s*$",
            broken.Error);

        var json = await Latch("audit", "verify", "--json");
        Assert.Equal(1, json.ExitCode);
        var report = JsonNode.Parse(json.Out)!;
        Assert.False((bool)report["ok"]!);
        Assert.Equal((string?)revealed["id"], (string?)report["first_broken"]!["id"]);
        Assert.Equal((long)revealed["sequence"]!, (long)report["first_broken"]!["sequence"]!);
    }

    [Fact]
    public async Task Follow_prints_events_that_happen_while_it_runs()
    {
        await using var server = new RestartableLatch();
        await server.StartAsync();
        Assert.Equal(0, (await CliHarness.RunAsync(server.Variables, ["secrets", "create", "FOLLOW_KEY", "--value", "follow-value"])).ExitCode);

        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        using var handler = new WatchingHandler();
        var follow = AuditHarness.RunAsync(server.Variables,
            ["audit", "--follow", "--json", "--secret", "FOLLOW_KEY", "--interval", "10ms"], handler, cancel.Token);

        await handler.FirstPoll.WaitAsync(cancel.Token);
        Assert.Equal(0, (await CliHarness.RunAsync(server.Variables, ["secrets", "get", "FOLLOW_KEY", "--reveal"])).ExitCode);
        await handler.RequestAfterReveal.WaitAsync(cancel.Token);
        await cancel.CancelAsync();
        var result = await follow;

        Assert.True(result.ExitCode == 0, result.Error);
        var lines = result.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.Equal(["secret.created", "secret.revealed"], lines.Select(l => (string?)JsonNode.Parse(l)!["action"]));
        Assert.DoesNotContain("follow-value", result.Out, StringComparison.Ordinal);
    }

    /// <summary>
    /// Real HTTP that tells the test when following has started polling, and when a request follows the poll that
    /// returned the reveal (so that batch has been printed).
    /// </summary>
    private sealed class WatchingHandler() : DelegatingHandler(new SocketsHttpHandler())
    {
        private readonly TaskCompletionSource _firstPoll = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource _afterReveal = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private volatile bool _revealSeen;

        public Task FirstPoll => _firstPoll.Task;

        public Task RequestAfterReveal => _afterReveal.Task;

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            if (_revealSeen)
            {
                _afterReveal.TrySetResult();
            }

            var response = await base.SendAsync(request, cancellationToken);
            if (request.RequestUri?.Query.Contains("after=", StringComparison.Ordinal) == true)
            {
                await response.Content.LoadIntoBufferAsync(cancellationToken);
                var text = await response.Content.ReadAsStringAsync(cancellationToken);
                _revealSeen |= text.Contains("secret.revealed", StringComparison.Ordinal);
                _firstPoll.TrySetResult();
            }

            return response;
        }
    }
}

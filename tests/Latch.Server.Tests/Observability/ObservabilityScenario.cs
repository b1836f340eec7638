using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Http.Json;
using System.Text;
using Latch.Core.Observability;
using Latch.Server.Tests.Infrastructure;
using Latch.Server.Tests.Storage;
using Latch.Server.Tests.Webhooks;
using Microsoft.Extensions.Time.Testing;

namespace Latch.Server.Tests.Observability;

/// <summary>
/// One full run through Latch against a real loopback upstream: secrets, resolution success and every failure, dry-run
/// checks, actions (answered, refused, upstream 5xx), webhook deliveries (verified, mismatched, unsigned) and a reveal.
/// It collects what an operator would see: the log lines, the <c>/metrics</c> scrape, the <c>Latch</c> traces and the
/// audit records.
/// </summary>
internal sealed class ObservabilityScenario
{
    /// <summary>An app name no other test uses, so traces of concurrently running tests can be told apart.</summary>
    public const string App = "observed_app";

    /// <summary>The text of a reference that is malformed because of its characters.</summary>
    public const string MalformedText = "pasted-secret-text";

    private ObservabilityScenario()
    {
    }

    /// <summary>Every secret value (and the webhook body) the scenario used: none may appear in telemetry.</summary>
    public List<string> Values { get; } = [];

    public string WebhookBody { get; private set; } = "";

    public string Logs { get; private set; } = "";

    public string Metrics { get; private set; } = "";

    public string MetricsContentType { get; private set; } = "";

    public string Audit { get; private set; } = "";

    /// <summary>Finished <c>latch.action.run</c> activities of this scenario's app.</summary>
    public List<Activity> ActionRuns { get; } = [];

    /// <summary>Every finished activity of the <c>Latch</c> source seen while the scenario ran (other tests' included).</summary>
    public List<Activity> AllLatchActivities { get; } = [];

    public static async Task<ObservabilityScenario> RunAsync()
    {
        var scenario = new ObservabilityScenario();
        var stopped = new ConcurrentQueue<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == LatchTelemetry.Name,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = stopped.Enqueue,
        };
        ActivitySource.AddActivityListener(listener);

        var time = new FakeTimeProvider(TimeProvider.System.GetUtcNow());
        await using (var upstream = await EchoUpstream.StartAsync())
        {
            var server = await TestServer.StartAsync(time: time);
            await using (server)
            {
                await scenario.DriveAsync(server, upstream, time);
                using var anonymous = server.Client(null);
                using var scrape = await anonymous.GetAsync(new Uri("/metrics", UriKind.Relative));
                Assert.Equal(200, (int)scrape.StatusCode);
                scenario.MetricsContentType = scrape.Content.Headers.ContentType?.ToString() ?? "";
                scenario.Metrics = await scrape.Content.ReadAsStringAsync();
            }

            scenario.Logs = server.Logs.AllText;
            DataFiles.SettleAfterStop(server.DataDirectory);
            scenario.Audit = server.AllAuditText();
        }

        scenario.AllLatchActivities.AddRange(stopped);
        scenario.ActionRuns.AddRange(stopped.Where(a => a.OperationName == LatchTelemetry.ActionRunActivity && (a.GetTagItem("latch.app") as string) == App));
        return scenario;
    }

    private string Value(string prefix)
    {
        var value = SecretCalls.DistinctValue(prefix);
        Values.Add(value);
        return value;
    }

    private async Task DriveAsync(TestServer server, EchoUpstream upstream, FakeTimeProvider time)
    {
        var owner = server.Owner;

        // Secrets.
        var database = Value("database");
        var apiToken = Value("api");
        var rotatedToken = Value("rotated");
        var queryToken = Value("query");
        var hookSecret = Value("hook");
        await owner.CreateSecretAsync(new { key = "DB_PASSWORD", value = database });
        await owner.CreateSecretAsync(new { key = "API_TOKEN", value = apiToken });
        await owner.CreateSecretAsync(new { key = "QUERY_TOKEN", value = queryToken });
        await owner.CreateSecretAsync(new { key = "HOOK_SECRET", value = hookSecret });
        await owner.CreateSecretAsync(new { key = "SCOPED", value = Value("scoped"), scope = new[] { "billing_app" }, envs = new[] { "prd" } });
        await owner.CreateSecretAsync(new { key = "REVOKED_KEY", value = Value("revoked") });
        await owner.CreateSecretAsync(new { key = "EXPIRING", value = Value("expiring"), expires_at = time.GetUtcNow().ToUnixTimeSeconds() + 60 });
        await Ok(await owner.PostAsync(new Uri("/v1/secrets/REVOKED_KEY/revoke", UriKind.Relative), null));
        await Ok(await owner.PatchJsonAsync("/v1/secrets/API_TOKEN", new { value = rotatedToken }));
        time.Advance(TimeSpan.FromMinutes(2));

        // Resolution: a success and each failure.
        await Ok(await owner.ResolveAsync(new { db = "$Token{DB_PASSWORD}", auth = "Bearer $Token{API_TOKEN}" }, "billing_app", "prd"));
        await Unresolvable(owner, new { a = "$Token{MISSING}" }, "billing_app", "prd", "secret_not_found");
        await Unresolvable(owner, new { a = "$Token{REVOKED_KEY}" }, "billing_app", "prd", "secret_revoked");
        await Unresolvable(owner, new { a = "$Token{SCOPED}" }, "other_app", "prd", "secret_scope_denied");
        await Unresolvable(owner, new { a = "$Token{SCOPED}" }, "billing_app", "dev", "secret_env_denied");
        await Unresolvable(owner, new { a = "$Token{EXPIRING}" }, "billing_app", "prd", "secret_expired");
        await Unresolvable(owner, new { a = "$Token{DB_PASSWORD" }, "billing_app", "prd", "malformed_reference");
        await Unresolvable(owner, new { a = $"$Token{{{MalformedText}}}" }, "billing_app", "prd", "malformed_reference");
        await Unresolvable(owner, new { a = "$Token{DB_PASSWORD}", b = "$Token{MISSING}", c = "$Token{REVOKED_KEY}" }, "billing_app", "prd", "resolution_failed");
        await Ok(await owner.PostAsJsonAsync("/v1/secrets/check", new { document = new { a = "$Token{DB_PASSWORD}", b = "$Token{MISSING}" }, app = "billing_app", env = "prd" }));

        // A product, an app against the real upstream, and its actions.
        await owner.CreateProductAsync("shop", "dev", "prd");
        await Ok(await owner.PostAsJsonAsync("/v1/apps", new
        {
            access_tag = App,
            name = "Observed",
            envs = new[] { new { slug = "live", base_url = upstream.BaseUrl } },
            auths = new[] { new { tag = "bearer", headers = new Dictionary<string, string> { ["Authorization"] = "Bearer $Auth{token}" } } },
            actions = new object[]
            {
                new { @event = "charge", method = "POST", path = "/v1/charges" },
                new { @event = "status", method = "GET", path = "/status/{code}" },
            },
        }));
        await Ok(await owner.PostAsJsonAsync("/v1/products/shop/apps", new
        {
            access_tag = App,
            envs = new[]
            {
                new
                {
                    app_env_slug = "live", product_env_slug = "prd", variables = Array.Empty<object>(),
                    auth = new[] { new { auth_tag = "bearer", data = new { token = "$Token{API_TOKEN}" } } },
                },
            },
        }));

        // The upstream URL's query and the body carry resolved values: neither may reach a tag, a log or a metric.
        var charged = await Ok(await RunAsync(owner, "charge", new
        {
            query = new Dictionary<string, string> { ["key"] = "$Token{QUERY_TOKEN}" },
            headers = new Dictionary<string, string> { ["X-Db"] = "$Token{DB_PASSWORD}" },
            body = new { password = "$Token{DB_PASSWORD}" },
        }));
        Assert.Equal(200, charged["status"]!.GetValue<int>());
        var received = upstream.Last();
        Assert.Equal("Bearer " + rotatedToken, received.Headers["Authorization"]);
        Assert.Contains(Uri.EscapeDataString(queryToken), received.RawTarget, StringComparison.Ordinal);
        Assert.False(received.Headers.ContainsKey("traceparent"), "the upstream is a third party: no trace context is sent to it");
        var failed = await RunAsync(owner, "charge", new { headers = new Dictionary<string, string> { ["X-Gone"] = "$Token{REVOKED_KEY}" } });
        await failed.AssertProblemAsync(422, "secret_revoked");
        var unavailable = await Ok(await RunAsync(owner, "status", new { @params = new { code = "503" } }));
        Assert.Equal(503, unavailable["status"]!.GetValue<int>());

        // Webhook deliveries: verified, mismatched, unsigned. The body is the sender's: it belongs in no telemetry either.
        await owner.CreateWebhookAsync("shop", new { name = "Paid", tag = "paid", app = App, signing_secret = "$Token{HOOK_SECRET}", scheme = "github" });
        var workspace = await owner.WorkspaceIdAsync();
        WebhookBody = Value("payload");
        var body = Encoding.UTF8.GetBytes($"{{\"event\":\"paid\",\"card\":\"{WebhookBody}\"}}");
        var path = $"/hooks/{workspace}/shop/paid/prd";
        Assert.Equal(204, (int)(await server.DeliverAsync(path, body, ("X-Hub-Signature-256", WebhookCalls.GitHub(hookSecret, body)))).StatusCode);
        Assert.Equal(401, (int)(await server.DeliverAsync(path, body, ("X-Hub-Signature-256", WebhookCalls.GitHub("not-the-secret", body)))).StatusCode);
        Assert.Equal(401, (int)(await server.DeliverAsync(path, body)).StatusCode);

        // Reveal.
        Assert.Equal(database, await owner.RevealValueAsync("DB_PASSWORD"));
    }

    private static Task<HttpResponseMessage> RunAsync(HttpClient owner, string @event, object input) =>
        owner.PostAsJsonAsync("/v1/actions/run", new { env = "prd", product = "shop", app = App, @event, input });

    private static async Task Unresolvable(HttpClient client, object document, string app, string env, string code) =>
        await (await client.ResolveAsync(document, app, env)).AssertProblemAsync(422, code);

    private static async Task<System.Text.Json.Nodes.JsonNode> Ok(HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"{(int)response.StatusCode}: {text}");
        return text.Length == 0 ? new System.Text.Json.Nodes.JsonObject() : System.Text.Json.Nodes.JsonNode.Parse(text)!;
    }

    /// <summary>The forms a value could take in text: as is, base64, percent-encoded, and its last 20 characters.</summary>
    public static IEnumerable<(string Form, string Needle)> Forms(string value)
    {
        yield return ("plain", value);
        yield return ("base64", Convert.ToBase64String(Encoding.UTF8.GetBytes(value)));
        yield return ("url-encoded", Uri.EscapeDataString(value));
        yield return ("tail", value[^20..]);
    }
}

using System.Diagnostics;
using System.Globalization;
using Latch.Server.Observability;

namespace Latch.Server.Tests.Observability;

/// <summary>Runs <see cref="ObservabilityScenario"/> once for the tests of one class.</summary>
public sealed class ObservabilityScenarioFixture : IAsyncLifetime
{
    internal ObservabilityScenario Scenario { get; private set; } = null!;

    public async Task InitializeAsync() => Scenario = await ObservabilityScenario.RunAsync();

    public Task DisposeAsync() => Task.CompletedTask;
}

/// <summary>
/// Issue 4 item 9: Prometheus metrics at <c>/metrics</c>, traces of action runs, structured logs — and no secret value in
/// any of them, nor in the audit records of the same run.
/// </summary>
public sealed class ObservabilityTests(ObservabilityScenarioFixture fixture) : IClassFixture<ObservabilityScenarioFixture>
{
    private ObservabilityScenario Scenario => fixture.Scenario;

    [Fact]
    public void Metrics_are_served_as_prometheus_text_without_an_api_key()
    {
        Assert.StartsWith("text/plain", Scenario.MetricsContentType, StringComparison.Ordinal);
        Assert.Contains("# TYPE latch_resolutions_total counter", Scenario.Metrics, StringComparison.Ordinal);
        Assert.Contains("# TYPE latch_action_duration_milliseconds histogram", Scenario.Metrics, StringComparison.Ordinal);
        Assert.Contains("# TYPE latch_webhook_verifications_total counter", Scenario.Metrics, StringComparison.Ordinal);
        Assert.Contains("# TYPE latch_audit_queue_depth gauge", Scenario.Metrics, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("ok", "resolve")]
    [InlineData("secret_not_found", "resolve")]
    [InlineData("secret_revoked", "resolve")]
    [InlineData("secret_scope_denied", "resolve")]
    [InlineData("secret_env_denied", "resolve")]
    [InlineData("secret_expired", "resolve")]
    [InlineData("malformed_reference", "resolve")]
    [InlineData("resolution_failed", "resolve")]
    [InlineData("ok", "action")]
    [InlineData("secret_revoked", "action")]
    [InlineData("ok", "webhook")]
    [InlineData("secret_not_found", "check")]
    public void Resolutions_are_counted_by_outcome_code_and_context_kind(string outcome, string context)
    {
        var series = Series("latch_resolutions_total", ("outcome", outcome), ("context", context));
        Assert.True(series.Count > 0, $"no latch_resolutions_total series for outcome={outcome} context={context} in:\n{Scenario.Metrics}");
        Assert.All(series, line => Assert.True(SampleValue(line) >= 1, line));
    }

    [Theory]
    [InlineData("charge", "2xx")]
    [InlineData("charge", "error")]
    [InlineData("status", "5xx")]
    public void Action_durations_are_a_histogram_by_app_event_and_status_class(string @event, string statusClass)
    {
        var labels = new[] { ("app", ObservabilityScenario.App), ("event", @event), ("status_class", statusClass) };
        var count = Assert.Single(Series("latch_action_duration_milliseconds_count", labels));
        Assert.Equal(1, SampleValue(count));
        Assert.NotEmpty(Series("latch_action_duration_milliseconds_bucket", [.. labels, ("le", "+Inf")]));
        Assert.Single(Series("latch_action_duration_milliseconds_sum", labels));
    }

    [Theory]
    [InlineData("verified")]
    [InlineData("signature_mismatch")]
    [InlineData("signature_missing")]
    public void Webhook_verifications_are_counted_by_scheme_and_result(string result)
    {
        var series = Series("latch_webhook_verifications_total", ("scheme", "github"), ("result", result));
        Assert.True(series.Count > 0, $"no webhook series for {result} in:\n{Scenario.Metrics}");
    }

    [Fact]
    public void The_audit_queue_depth_is_a_gauge()
    {
        var series = Series("latch_audit_queue_depth");
        Assert.NotEmpty(series);
        Assert.All(series, line => Assert.True(SampleValue(line) >= 0, line));
    }

    [Fact]
    public void Action_runs_are_traced_with_app_event_keys_versions_and_status()
    {
        var runs = Scenario.ActionRuns;
        Assert.Equal(3, runs.Count);
        var charged = Assert.Single(runs, r => Equals(r.GetTagItem("http.response.status_code"), 200));
        Assert.Equal(ObservabilityScenario.App, charged.GetTagItem("latch.app"));
        Assert.Equal("charge", charged.GetTagItem("latch.event"));
        Assert.Equal("shop", charged.GetTagItem("latch.product"));
        Assert.Equal("prd", charged.GetTagItem("latch.env"));
        Assert.Equal("API_TOKEN,DB_PASSWORD,QUERY_TOKEN", charged.GetTagItem("latch.secret.keys"));
        // API_TOKEN was rotated once.
        Assert.Equal("2,1,1", charged.GetTagItem("latch.secret.versions"));
        Assert.Equal(ActivityStatusCode.Unset, charged.Status);

        var refused = Assert.Single(runs, r => r.Status == ActivityStatusCode.Error);
        Assert.Equal("secret_revoked", refused.GetTagItem("error.type"));
        Assert.Null(refused.GetTagItem("latch.secret.keys"));

        var upstreamFailure = Assert.Single(runs, r => Equals(r.GetTagItem("http.response.status_code"), 503));
        Assert.Equal("status", upstreamFailure.GetTagItem("latch.event"));
    }

    [Fact]
    public void Logs_are_structured_events_with_keys_codes_and_statuses()
    {
        var lines = Scenario.Logs.Split('\n');
        Assert.Contains(lines, l => l.Contains($"[{LogEvents.ResolutionFailed}]", StringComparison.Ordinal)
            && l.Contains("Resolution for resolve failed: keys REVOKED_KEY, codes secret_revoked", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains($"[{LogEvents.ResolutionFailed}]", StringComparison.Ordinal)
            && l.Contains($"Resolution for action:{ObservabilityScenario.App}.charge failed: keys REVOKED_KEY, codes secret_revoked", StringComparison.Ordinal));
        // A malformed reference's text is whatever the caller wrote: it is not logged as a key.
        Assert.Contains(lines, l => l.Contains($"[{LogEvents.ResolutionFailed}]", StringComparison.Ordinal)
            && l.Contains("keys (malformed), codes malformed_reference", StringComparison.Ordinal));
        Assert.DoesNotContain(ObservabilityScenario.MalformedText, Scenario.Logs, StringComparison.Ordinal);
        Assert.Contains(lines, l => l.Contains($"[{LogEvents.ActionRun}]", StringComparison.Ordinal)
            && l.Contains($"Action {ObservabilityScenario.App}.charge ended with 200", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains($"[{LogEvents.ActionRun}]", StringComparison.Ordinal)
            && l.Contains($"Action {ObservabilityScenario.App}.charge ended with secret_revoked", StringComparison.Ordinal));
    }

    [Fact]
    public void No_secret_value_or_webhook_body_appears_in_logs_metrics_traces_or_audit_records()
    {
        // Controls: each channel did record the scenario.
        Assert.Contains("API_TOKEN", Scenario.Audit, StringComparison.Ordinal);
        Assert.Contains("secret.revealed", Scenario.Audit, StringComparison.Ordinal);
        Assert.Contains("webhook.verified", Scenario.Audit, StringComparison.Ordinal);
        Assert.Contains("/hooks/", Scenario.Logs, StringComparison.Ordinal);
        Assert.Contains(ObservabilityScenario.App, Scenario.Metrics, StringComparison.Ordinal);
        Assert.NotEmpty(Scenario.ActionRuns);

        var traces = string.Join("\n", Scenario.AllLatchActivities.Select(a =>
            $"{a.OperationName} {a.DisplayName} {a.StatusDescription} " +
            string.Join(" ", a.TagObjects.Select(t => $"{t.Key}={Convert.ToString(t.Value, CultureInfo.InvariantCulture)}")) + " " +
            string.Join(" ", a.Baggage.Select(b => $"{b.Key}={b.Value}")) + " " +
            string.Join(" ", a.Events.Select(e => e.Name + string.Join(",", e.Tags.Select(t => $"{t.Key}={t.Value}"))))));
        var channels = new (string Name, string Text)[] { ("logs", Scenario.Logs), ("metrics", Scenario.Metrics), ("traces", traces), ("audit", Scenario.Audit) };
        Assert.NotEmpty(Scenario.Values);
        foreach (var value in Scenario.Values)
        {
            foreach (var (form, needle) in ObservabilityScenario.Forms(value))
            {
                foreach (var (name, text) in channels)
                {
                    Assert.False(text.Contains(needle, StringComparison.Ordinal), $"{name} carry a value ({form} of {value[..value.IndexOf('-', StringComparison.Ordinal)]})");
                }
            }
        }
    }

    private List<string> Series(string name, params (string Label, string Value)[] labels) =>
        Scenario.Metrics.Split('\n')
            .Where(l => l.StartsWith(name + "{", StringComparison.Ordinal) || l.StartsWith(name + " ", StringComparison.Ordinal))
            .Where(l => labels.All(p => l.Contains($"{p.Label}=\"{p.Value}\"", StringComparison.Ordinal)))
            .ToList();

    /// <summary>The sample value of an exposition line: the field after the label set (a timestamp may follow).</summary>
    private static double SampleValue(string line)
    {
        var afterLabels = line[(line.LastIndexOf('}') + 1)..].Trim();
        return double.Parse(afterLabels.Split(' ')[0], CultureInfo.InvariantCulture);
    }
}

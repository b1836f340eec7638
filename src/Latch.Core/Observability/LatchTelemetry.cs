using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Globalization;
using Latch.Core.References;
using Latch.Core.Validation;

namespace Latch.Core.Observability;

/// <summary>
/// Latch's metrics (meter <c>Latch</c>) and traces (activity source <c>Latch</c>). Every tag is a name, a code, a
/// version or a status — never a secret value, a header value, a query value or a body: the methods take no value type
/// and keys that are not valid secret keys (the text of a malformed reference) are replaced by <see cref="Unnamed"/>.
/// </summary>
public sealed class LatchTelemetry
{
    /// <summary>Name of the meter and of the activity source.</summary>
    public const string Name = "Latch";

    /// <summary>Stands in for a key that is not a valid secret key (it might be any text the caller wrote).</summary>
    public const string Unnamed = "(malformed)";

    /// <summary>Counter of resolutions (and dry-run checks) by outcome and context kind.</summary>
    public const string Resolutions = "latch.resolutions";

    /// <summary>Histogram of <c>actions.run</c> durations in milliseconds.</summary>
    public const string ActionDuration = "latch.action.duration";

    /// <summary>Counter of inbound webhook deliveries by scheme and result.</summary>
    public const string WebhookVerifications = "latch.webhook.verifications";

    /// <summary>Gauge of audit events waiting for their group commit.</summary>
    public const string AuditQueueDepth = "latch.audit.queue_depth";

    /// <summary>The activity of one <c>actions.run</c>.</summary>
    public const string ActionRunActivity = "latch.action.run";

    /// <summary>Process-wide, like every <see cref="System.Diagnostics.ActivitySource"/>: listeners subscribe by name.</summary>
    public static readonly ActivitySource ActivitySource = new(Name);

    private readonly Counter<long> _resolutions;
    private readonly Histogram<double> _actionDuration;
    private readonly Counter<long> _webhookVerifications;
    private readonly ITelemetryLog? _log;
    private Func<long>? _auditQueueDepth;

    /// <summary>Creates the instruments on a meter from <paramref name="meterFactory"/> (which owns and disposes it).</summary>
    public LatchTelemetry(IMeterFactory meterFactory, ITelemetryLog? log = null)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        _log = log;
        var meter = meterFactory.Create(Name);
        _resolutions = meter.CreateCounter<long>(Resolutions, description: "Resolutions and checks by outcome (ok or the error code) and context kind");
        _actionDuration = meter.CreateHistogram<double>(ActionDuration, "ms", "actions.run duration, resolution and upstream call included");
        _webhookVerifications = meter.CreateCounter<long>(WebhookVerifications, description: "Inbound webhook deliveries by scheme and result (verified or the rejection reason)");
        meter.CreateObservableGauge(AuditQueueDepth, () => _auditQueueDepth?.Invoke() ?? 0, "{event}", "Audit events waiting to be committed");
    }

    /// <summary>Where <see cref="AuditQueueDepth"/> reads its value (the server's one audit writer).</summary>
    public void ObserveAuditQueue(Func<long> depth) => _auditQueueDepth = depth;

    /// <summary>
    /// Counts a resolution or check that succeeded. <paramref name="context"/> is the audit context (<c>resolve</c>,
    /// <c>action:app.event</c>, <c>webhook:tag</c>, <c>check</c>); only its kind becomes a tag.
    /// </summary>
    public void Resolved(string context) => CountResolution("ok", context);

    /// <summary>
    /// Counts a failed resolution or check under <paramref name="code"/> (the code its caller sees) and logs the keys
    /// and codes of <paramref name="errors"/>.
    /// </summary>
    public void ResolutionFailed(string context, string code, IReadOnlyList<ReferenceError> errors)
    {
        ArgumentNullException.ThrowIfNull(errors);
        CountResolution(code, context);
        var keys = string.Join(",", errors.Select(e => e.Key).OfType<string>().Select(SafeKey).Distinct(StringComparer.Ordinal));
        var codes = string.Join(",", errors.Select(e => e.Code).Append(code).Distinct(StringComparer.Ordinal));
        _log?.ResolutionFailed(context, keys, codes);
    }

    /// <summary>Counts an inbound webhook delivery: <paramref name="result"/> is <c>verified</c> or the rejection reason.</summary>
    public void WebhookVerification(string scheme, string result) =>
        _webhookVerifications.Add(1, new KeyValuePair<string, object?>("scheme", scheme), new KeyValuePair<string, object?>("result", result));

    /// <summary>The audit log could not be written (the type only: messages may quote what was being written).</summary>
    public void AuditWriteFailed(Exception exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        _log?.AuditWriteFailed(exception.GetType().FullName ?? exception.GetType().Name);
    }

    /// <summary>Starts the trace and the clock of one <c>actions.run</c>; dispose the result when the run ends.</summary>
    public ActionRunTelemetry StartActionRun(string product, string env, string app, string @event)
    {
        var activity = ActivitySource.StartActivity(ActionRunActivity, ActivityKind.Internal);
        activity?.SetTag("latch.product", product);
        activity?.SetTag("latch.env", env);
        activity?.SetTag("latch.app", app);
        activity?.SetTag("latch.event", @event);
        return new ActionRunTelemetry(this, activity, app, @event);
    }

    internal void ActionCompleted(string app, string @event, string statusClass, string outcome, double milliseconds)
    {
        _actionDuration.Record(milliseconds,
            new KeyValuePair<string, object?>("app", app),
            new KeyValuePair<string, object?>("event", @event),
            new KeyValuePair<string, object?>("status_class", statusClass));
        _log?.ActionRun(app, @event, outcome, (long)milliseconds);
    }

    /// <summary>A key as it may appear in telemetry: a valid secret key, or <see cref="Unnamed"/>.</summary>
    internal static string SafeKey(string key) => Names.IsSecretKey(key) ? key : Unnamed;

    private void CountResolution(string outcome, string context)
    {
        ArgumentNullException.ThrowIfNull(context);
        _resolutions.Add(1, new KeyValuePair<string, object?>("outcome", outcome), new KeyValuePair<string, object?>("context", KindOf(context)));
    }

    private static string KindOf(string context)
    {
        var colon = context.IndexOf(':', StringComparison.Ordinal);
        return colon < 0 ? context : context[..colon];
    }

    internal static string StatusClass(int status) => (status / 100).ToString(CultureInfo.InvariantCulture) + "xx";
}

/// <summary>The trace and timing of one <c>actions.run</c>.</summary>
public sealed class ActionRunTelemetry : IDisposable
{
    private readonly LatchTelemetry _owner;
    private readonly Activity? _activity;
    private readonly string _app;
    private readonly string _event;
    private readonly long _started = Stopwatch.GetTimestamp();
    private bool _completed;

    internal ActionRunTelemetry(LatchTelemetry owner, Activity? activity, string app, string @event)
    {
        _owner = owner;
        _activity = activity;
        _app = app;
        _event = @event;
    }

    /// <summary>The trace of this run, when something listens to the <c>Latch</c> source.</summary>
    public Activity? Activity => _activity;

    /// <summary>Tags the trace with the keys and versions that were resolved (names and numbers only).</summary>
    public void Resolved(IReadOnlyList<ResolvedReference> references)
    {
        ArgumentNullException.ThrowIfNull(references);
        if (_activity is null)
        {
            return;
        }

        var distinct = references
            .GroupBy(r => r.Key, StringComparer.Ordinal)
            .Select(g => (Key: LatchTelemetry.SafeKey(g.Key), g.First().Version))
            .OrderBy(r => r.Key, StringComparer.Ordinal)
            .ToList();
        _activity.SetTag("latch.secret.keys", string.Join(",", distinct.Select(r => r.Key)));
        _activity.SetTag("latch.secret.versions", string.Join(",", distinct.Select(r => r.Version.ToString(CultureInfo.InvariantCulture))));
    }

    /// <summary>The upstream answered with <paramref name="status"/>.</summary>
    public void Answered(int status)
    {
        _activity?.SetTag("http.response.status_code", status);
        Complete(LatchTelemetry.StatusClass(status), status.ToString(CultureInfo.InvariantCulture));
    }

    /// <summary>The run was refused or the upstream could not be reached: <paramref name="code"/> is the error code.</summary>
    public void Failed(string code)
    {
        _activity?.SetTag("error.type", code);
        _activity?.SetStatus(ActivityStatusCode.Error, code);
        Complete("error", code);
    }

    private void Complete(string statusClass, string outcome)
    {
        if (_completed)
        {
            return;
        }

        _completed = true;
        _owner.ActionCompleted(_app, _event, statusClass, outcome, Stopwatch.GetElapsedTime(_started).TotalMilliseconds);
    }

    /// <summary>Ends the trace.</summary>
    public void Dispose() => _activity?.Dispose();
}

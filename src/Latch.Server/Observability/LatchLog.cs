using Latch.Core.Observability;

namespace Latch.Server.Observability;

/// <summary>Event ids of the structured log events written by <see cref="LatchLog"/>.</summary>
internal static class LogEvents
{
    public const int ResolutionFailed = 4001;
    public const int ActionRun = 4002;
    public const int AuditWriteFailed = 4003;
}

/// <summary>
/// Writes Core's log events through source-generated <c>[LoggerMessage]</c> methods. Their parameters are keys, codes,
/// statuses, durations and type names: there is no parameter through which a value could be logged.
/// </summary>
internal sealed partial class LatchLog : ITelemetryLog
{
    private readonly ILogger<LatchLog> _logger;

    public LatchLog(ILogger<LatchLog> logger) => _logger = logger;

    public void ResolutionFailed(string context, string keys, string codes) => LogResolutionFailed(_logger, context, keys, codes);

    public void ActionRun(string app, string @event, string outcome, long durationMs) => LogActionRun(_logger, app, @event, outcome, durationMs);

    public void AuditWriteFailed(string exceptionType) => LogAuditWriteFailed(_logger, exceptionType);

    [LoggerMessage(EventId = LogEvents.ResolutionFailed, Level = LogLevel.Information, Message = "Resolution for {Context} failed: keys {Keys}, codes {Codes}")]
    private static partial void LogResolutionFailed(ILogger logger, string context, string keys, string codes);

    [LoggerMessage(EventId = LogEvents.ActionRun, Level = LogLevel.Information, Message = "Action {App}.{Event} ended with {Outcome} in {DurationMs} ms")]
    private static partial void LogActionRun(ILogger logger, string app, string @event, string outcome, long durationMs);

    [LoggerMessage(EventId = LogEvents.AuditWriteFailed, Level = LogLevel.Error, Message = "The audit log could not be written ({ExceptionType}); resolutions are refused until it can")]
    private static partial void LogAuditWriteFailed(ILogger logger, string exceptionType);
}

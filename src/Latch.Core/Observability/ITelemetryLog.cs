namespace Latch.Core.Observability;

/// <summary>
/// Structured log events raised in Core, which has no logging dependency: the server writes them through
/// <c>[LoggerMessage]</c> methods. Every argument is a name, a code, a number or a type name — there is no parameter
/// a value could be passed in.
/// </summary>
public interface ITelemetryLog
{
    /// <summary>A resolution failed: its audit context, the keys involved (comma-joined) and the error codes.</summary>
    void ResolutionFailed(string context, string keys, string codes);

    /// <summary>An <c>actions.run</c> ended: the upstream status or the error code, and how long it took.</summary>
    void ActionRun(string app, string @event, string outcome, long durationMs);

    /// <summary>The audit log could not be written (the exception's type only: its message may quote what was written).</summary>
    void AuditWriteFailed(string exceptionType);
}

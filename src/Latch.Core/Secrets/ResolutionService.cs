using Latch.Core.Audit;
using Latch.Core.Caching;
using Latch.Core.Crypto;
using Latch.Core.Observability;
using Latch.Core.References;
using Latch.Core.Storage;

namespace Latch.Core.Secrets;

/// <summary>
/// Resolution against a workspace in the store: the engine's answer plus the audit trail. A resolved
/// document is returned only after the audit events of its resolution are committed.
/// </summary>
public sealed class ResolutionService
{
    private readonly ILatchStore _store;
    private readonly Keyring _keyring;
    private readonly ResolutionEngine _engine;
    private readonly AuditWriter _audit;
    private readonly TimeProvider _time;
    private readonly LatchTelemetry? _telemetry;
    private readonly SecretCache? _cache;

    /// <summary>
    /// Creates the service. With <paramref name="changes"/>, policies and decrypted values are cached in memory
    /// (<see cref="SecretCache"/>, invalidated through the feed).
    /// </summary>
    public ResolutionService(ILatchStore store, Keyring keyring, ResolutionEngine engine, AuditWriter audit, TimeProvider time, LatchTelemetry? telemetry = null, StoreChanges? changes = null)
    {
        _cache = changes is null ? null : new SecretCache(changes);
        _telemetry = telemetry;
        _store = store;
        _keyring = keyring;
        _engine = engine;
        _audit = audit;
        _time = time;
    }

    /// <summary>Scans a document; invalid JSON is a validation error on <paramref name="field"/>.</summary>
    public static Result<ScannedDocument> Scan(ReadOnlyMemory<byte> utf8Json, string field)
    {
        try
        {
            return ReferenceScanner.Scan(utf8Json);
        }
        catch (InvalidDocumentException e)
        {
            return LatchError.Invalid(field, e.Message);
        }
    }

    /// <summary>A dry run: what each reference would become, without decrypting anything.</summary>
    public async Task<CheckReport> CheckAsync(string workspaceId, ScannedDocument document, ResolutionTarget target, CancellationToken cancellationToken)
    {
        var report = await _engine.CheckAsync(document, target, Lookup(workspaceId), cancellationToken);
        Count("check", report.Errors, null);
        return report;
    }

    /// <summary>
    /// The dry run a caller asked for (<c>POST /v1/secrets/check</c>): like <see cref="CheckAsync"/>, and every failing
    /// reference is audited as <c>secret.denied</c> with context <c>check</c> (nothing resolves, so nothing else is).
    /// </summary>
    public async Task<Result<CheckReport>> CheckForCallerAsync(string workspaceId, ScannedDocument document, ResolutionTarget target, Actor actor, CancellationToken cancellationToken)
    {
        var report = await CheckAsync(workspaceId, document, target, cancellationToken);
        if (report.Errors.Count > 0)
        {
            var now = _time.GetUtcNow();
            if (!await TryRecordAsync(Denials(report.Errors, workspaceId, actor, now, target, "check"), cancellationToken))
            {
                return LatchError.AuditUnavailable;
            }
        }

        return report;
    }

    /// <summary>
    /// Resolves every reference or none. Failures are audited as <c>secret.denied</c>; successes as one
    /// <c>secret.resolved</c> per reference, committed before this returns the document.
    /// </summary>
    public async Task<Result<ResolutionOutcome>> ResolveAsync(
        string workspaceId, ScannedDocument document, ResolutionTarget target, string context, Actor actor, CancellationToken cancellationToken)
    {
        var result = await ResolveAndAuditAsync(workspaceId, document, target, context, actor, cancellationToken);
        Count(context, result.Error?.References ?? [], result.Error);
        return result;
    }

    private async Task<Result<ResolutionOutcome>> ResolveAndAuditAsync(
        string workspaceId, ScannedDocument document, ResolutionTarget target, string context, Actor actor, CancellationToken cancellationToken)
    {
        var outcome = await _engine.ResolveAsync(document, target, Lookup(workspaceId), cancellationToken);
        var now = _time.GetUtcNow();
        if (!outcome.IsSuccess)
        {
            return await TryRecordAsync(Denials(outcome.Errors, workspaceId, actor, now, target, context), cancellationToken)
                ? Problem(outcome.Errors)
                : LatchError.AuditUnavailable;
        }

        // One template, then one copy per reference (no closure, no LINQ).
        var template = Event(workspaceId, "secret.resolved", actor, now, target, context);
        var resolved = new List<AuditEvent>(outcome.Resolved.Count);
        foreach (var r in outcome.Resolved)
        {
            // Every event has its own id.
            resolved.Add(template with { Id = SecretService.EventId(now), SecretKey = r.Key, Version = r.Version, Path = r.Path });
        }

        // The values leave only after this commit (SPEC §6: no secret leaves unrecorded).
        return await TryRecordAsync(resolved, cancellationToken) ? outcome : LatchError.AuditUnavailable;
    }

    private static List<AuditEvent> Denials(IEnumerable<ReferenceError> errors, string workspaceId, Actor actor, DateTimeOffset at, ResolutionTarget target, string context) =>
        errors.Select(e => Event(workspaceId, "secret.denied", actor, at, target, context) with { SecretKey = e.Key, Path = e.Path, Code = e.Code }).ToList();

    /// <summary>Commits events (waiting for their batch); false when the audit log cannot be written.</summary>
    private async Task<bool> TryRecordAsync(List<AuditEvent> events, CancellationToken cancellationToken)
    {
        try
        {
            await _audit.AppendAsync(events, cancellationToken);
            return true;
        }
        catch (AuditUnavailableException)
        {
            return false;
        }
    }

    /// <summary>The error for a failed resolution: every failing reference; integrity failures make it a server error.</summary>
    public static LatchError Problem(IReadOnlyList<ReferenceError> errors)
    {
        var codes = errors.Select(e => e.Code).Distinct(StringComparer.Ordinal).ToList();
        var code = codes.Count == 1 ? codes[0] : "resolution_failed";
        var kind = errors.Any(e => e.Code == ReferenceCodes.Integrity) ? ErrorKind.Integrity : ErrorKind.Unresolvable;
        return new LatchError(kind, code, string.Join("; ", errors.Select(e => e.Message)), References: errors);
    }

    private void Count(string context, IReadOnlyList<ReferenceError> errors, LatchError? error)
    {
        if (error is null && errors.Count == 0)
        {
            _telemetry?.Resolved(context);
        }
        else
        {
            _telemetry?.ResolutionFailed(context, (error ?? Problem(errors)).Code, errors);
        }
    }

    private ISecretLookup Lookup(string workspaceId)
    {
        var store = new StoreSecretLookup(_store, _keyring, workspaceId);
        return _cache is null ? store : _cache.Wrap(store, workspaceId);
    }

    private static AuditEvent Event(string workspaceId, string action, Actor actor, DateTimeOffset at, ResolutionTarget target, string context) =>
        SecretService.Event(workspaceId, action, actor, at) with { Product = target.Product, App = target.App, Env = target.Env, Context = context };
}

using Latch.Core.Secrets;

namespace Latch.Core.References;

/// <summary>
/// The one place that answers: given this document, this app, this environment, now — what does each reference
/// become, or why not? Stateless; storage comes in through <see cref="ISecretLookup"/>.
/// </summary>
/// <remarks>
/// The checks depend only on the key, the target and the time, so they run once per distinct key; per-occurrence
/// results (paths) are materialized only for failures, or lazily when a caller reads them.
/// </remarks>
public sealed class ResolutionEngine
{
    private static readonly IReadOnlyDictionary<string, SecretPolicy> NoPolicies = new Dictionary<string, SecretPolicy>();
    private readonly TimeProvider _timeProvider;

    /// <summary>Creates the engine with the clock used for expiry.</summary>
    public ResolutionEngine(TimeProvider timeProvider)
    {
        ArgumentNullException.ThrowIfNull(timeProvider);
        _timeProvider = timeProvider;
    }

    /// <summary>A dry run: checks every reference (metadata only, never decrypts).</summary>
    public async Task<CheckReport> CheckAsync(ScannedDocument document, ResolutionTarget target, ISecretLookup lookup, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(document);
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(lookup);
        var (_, failures) = await EvaluateAsync(document, target, lookup, cancellationToken);
        var checks = new ReferenceCheck[document.ReferenceCount];
        for (var i = 0; i < checks.Length; i++)
        {
            var key = document.Keys[document.ReferenceKey(i)];
            var failure = failures[document.ReferenceKey(i)];
            checks[i] = new ReferenceCheck(document.ReferencePath(i), key, failure is null, failure?.Code, failure?.Message);
        }

        return new CheckReport(checks, document.Malformed, MergeErrors(document, failures));
    }

    /// <summary>
    /// Checks every reference and, only when all passed, decrypts the distinct secrets (one call). The values are not
    /// substituted: call <see cref="ScannedDocument.Substitute(IReadOnlyDictionary{string, SecretValue})"/> with them, or use
    /// <see cref="ResolveAsync"/>.
    /// </summary>
    public async Task<ValueResolution> ResolveValuesAsync(ScannedDocument document, ResolutionTarget target, ISecretLookup lookup, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(document);
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(lookup);
        var (policies, failures) = await EvaluateAsync(document, target, lookup, cancellationToken);
        if (document.Malformed.Count > 0 || Array.Exists(failures, f => f is not null))
        {
            return ValueResolution.Failure(MergeErrors(document, failures));
        }

        var keys = document.Keys;
        if (keys.Count == 0)
        {
            return ValueResolution.Success(new Dictionary<string, SecretValue>(), []);
        }

        var wanted = new SecretPolicy[keys.Count];
        for (var k = 0; k < wanted.Length; k++)
        {
            wanted[k] = policies[keys[k]];
        }

        IReadOnlyDictionary<string, SecretValue> decrypted;
        try
        {
            decrypted = await lookup.DecryptAsync(wanted, cancellationToken);
        }
        catch (SecretIntegrityException e)
        {
            for (var k = 0; k < keys.Count; k++)
            {
                if (e.Keys.Contains(keys[k], StringComparer.Ordinal))
                {
                    failures[k] = (ReferenceCodes.Integrity, ReferenceMessages.Integrity(keys[k]));
                }
            }

            return ValueResolution.Failure(MergeErrors(document, failures));
        }

        var values = new Dictionary<string, SecretValue>(wanted.Length, StringComparer.Ordinal);
        var versions = new int[wanted.Length];
        var missing = false;
        for (var k = 0; k < wanted.Length; k++)
        {
            versions[k] = wanted[k].Version;
            if (decrypted.TryGetValue(keys[k], out var value))
            {
                values[keys[k]] = value;
            }
            else
            {
                // Deleted between the checks and decryption: not found, and never a half substitution.
                failures[k] = PolicyCheck.Failure(keys[k], null, target, _timeProvider.GetUtcNow());
                missing = true;
            }
        }

        if (missing)
        {
            return ValueResolution.Failure(MergeErrors(document, failures));
        }

        var resolved = new LazyList<ResolvedReference>(
            document.ReferenceCount,
            i => new ResolvedReference(document.ReferencePath(i), keys[document.ReferenceKey(i)], versions[document.ReferenceKey(i)]));
        return ValueResolution.Success(values, resolved);
    }

    /// <summary>
    /// Resolves the document: every reference checked, then (only if all passed) decrypted and substituted in one
    /// pass. On failure there is no document and the errors list every failing reference in document order.
    /// </summary>
    public async Task<ResolutionOutcome> ResolveAsync(ScannedDocument document, ResolutionTarget target, ISecretLookup lookup, CancellationToken cancellationToken)
    {
        var values = await ResolveValuesAsync(document, target, lookup, cancellationToken);
        return values.IsSuccess
            ? ResolutionOutcome.Success(document.Substitute(values.Values), values)
            : ResolutionOutcome.Failure(values.Errors);
    }

    /// <summary>Loads the policies (one call) and runs the checks once per distinct key.</summary>
    private async Task<(IReadOnlyDictionary<string, SecretPolicy> Policies, (string Code, string Message)?[] Failures)> EvaluateAsync(
        ScannedDocument document, ResolutionTarget target, ISecretLookup lookup, CancellationToken cancellationToken)
    {
        var keys = document.Keys;
        var policies = keys.Count == 0
            ? NoPolicies
            : await lookup.GetPoliciesAsync(keys, cancellationToken);
        var now = _timeProvider.GetUtcNow();
        var failures = new (string Code, string Message)?[keys.Count];
        for (var k = 0; k < failures.Length; k++)
        {
            failures[k] = PolicyCheck.Failure(keys[k], policies.GetValueOrDefault(keys[k]), target, now);
        }

        return (policies, failures);
    }

    /// <summary>Malformed references and failing references, interleaved in document order.</summary>
    private static List<ReferenceError> MergeErrors(ScannedDocument document, (string Code, string Message)?[] failures)
    {
        var errors = new List<ReferenceError>();
        var positions = document.MalformedPositions;
        var malformed = document.Malformed;
        var m = 0;
        for (var i = 0; i < document.ReferenceCount; i++)
        {
            while (m < positions.Length && positions[m] <= i)
            {
                errors.Add(malformed[m++]);
            }

            var key = document.ReferenceKey(i);
            if (failures[key] is { } failure)
            {
                errors.Add(new ReferenceError(document.ReferencePath(i), document.Keys[key], failure.Code, failure.Message));
            }
        }

        while (m < malformed.Count)
        {
            errors.Add(malformed[m++]);
        }

        return errors;
    }
}

using System.Diagnostics.CodeAnalysis;
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
        var failures = await EvaluateAsync(document, target, lookup, cancellationToken);
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
    public Task<ValueResolution> ResolveValuesAsync(ScannedDocument document, ResolutionTarget target, ISecretLookup lookup, CancellationToken cancellationToken) =>
        ResolveValuesCoreAsync(document, target, lookup, cancellationToken).AsTask();

    /// <summary>
    /// Resolves the document: every reference checked, then (only if all passed) decrypted and substituted in one
    /// pass. On failure there is no document and the errors list every failing reference in document order.
    /// </summary>
    public async Task<ResolutionOutcome> ResolveAsync(ScannedDocument document, ResolutionTarget target, ISecretLookup lookup, CancellationToken cancellationToken)
    {
        var values = await ResolveValuesCoreAsync(document, target, lookup, cancellationToken);
        return values.IsSuccess
            ? ResolutionOutcome.Success(document.Substitute(values.Values), values)
            : ResolutionOutcome.Failure(values.Errors);
    }

    /// <summary>
    /// <see cref="ResolveValuesAsync"/> as a <see cref="ValueTask{TResult}"/>: when the lookup completes synchronously (a
    /// cache hit), so does this, without a state machine on the heap.
    /// </summary>
    private async ValueTask<ValueResolution> ResolveValuesCoreAsync(ScannedDocument document, ResolutionTarget target, ISecretLookup lookup, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(document);
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(lookup);
        var keys = document.Keys;
        var policies = NoPolicies;
        if (keys.Count > 0)
        {
            policies = await lookup.GetPoliciesAsync(keys, cancellationToken);
        }

        // The checks, once per distinct key; failures are allocated only when something fails.
        var now = _timeProvider.GetUtcNow();
        var wanted = keys.Count == 0 ? [] : new SecretPolicy[keys.Count];
        (string Code, string Message)?[]? failures = null;
        for (var k = 0; k < wanted.Length; k++)
        {
            TryFind(policies, keys[k], out var policy);
            if (PolicyCheck.Failure(keys[k], policy, target, now) is { } failure)
            {
                (failures ??= new (string Code, string Message)?[keys.Count])[k] = failure;
            }
            else
            {
                wanted[k] = policy!;
            }
        }

        if (document.Malformed.Count > 0 || failures is not null)
        {
            return ValueResolution.Failure(MergeErrors(document, failures));
        }

        if (keys.Count == 0)
        {
            return ValueResolution.Success(new KeyedValues(keys, []), []);
        }

        IReadOnlyDictionary<string, SecretValue> decrypted;
        try
        {
            decrypted = await lookup.DecryptAsync(wanted, cancellationToken);
        }
        catch (SecretIntegrityException e)
        {
            failures = new (string Code, string Message)?[keys.Count];
            for (var k = 0; k < keys.Count; k++)
            {
                if (e.Keys.Contains(keys[k], StringComparer.Ordinal))
                {
                    failures[k] = (ReferenceCodes.Integrity, ReferenceMessages.Integrity(keys[k]));
                }
            }

            return ValueResolution.Failure(MergeErrors(document, failures));
        }

        var values = new SecretValue[wanted.Length];
        for (var k = 0; k < wanted.Length; k++)
        {
            if (TryFind(decrypted, keys[k], out var value))
            {
                values[k] = value;
            }
            else
            {
                // Deleted between the checks and decryption: not found, and never a half substitution.
                (failures ??= new (string Code, string Message)?[keys.Count])[k] = PolicyCheck.Failure(keys[k], null, target, _timeProvider.GetUtcNow());
            }
        }

        if (failures is not null)
        {
            return ValueResolution.Failure(MergeErrors(document, failures));
        }

        return ValueResolution.Success(new KeyedValues(keys, values), new ResolvedReferences(document, wanted));
    }

    /// <summary>
    /// <see cref="IReadOnlyDictionary{TKey, TValue}.TryGetValue"/>, called on the concrete
    /// <see cref="Dictionary{TKey, TValue}"/> when the lookup returned one (a direct call, not an interface dispatch).
    /// </summary>
    private static bool TryFind<T>(IReadOnlyDictionary<string, T> map, string key, [MaybeNullWhen(false)] out T value)
        where T : class =>
        map is Dictionary<string, T> dictionary
            ? dictionary.TryGetValue(key, out value)
            : map.TryGetValue(key, out value);

    /// <summary>Loads the policies (one call) and runs the checks once per distinct key.</summary>
    private async Task<(string Code, string Message)?[]> EvaluateAsync(
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

        return failures;
    }

    /// <summary>Malformed references and failing references, interleaved in document order.</summary>
    private static List<ReferenceError> MergeErrors(ScannedDocument document, (string Code, string Message)?[]? failures)
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
            if (failures?[key] is { } failure)
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

    /// <summary>The resolved references of a successful resolution, created on first access.</summary>
    /// <remarks>The versions are those of the policies the values were decrypted for (<paramref name="policies"/>, by key index).</remarks>
    private sealed class ResolvedReferences(ScannedDocument document, SecretPolicy[] policies) : LazyList<ResolvedReference>(document.ReferenceCount)
    {
        protected override ResolvedReference Create(int index)
        {
            var key = document.ReferenceKey(index);
            return new ResolvedReference(document.ReferencePath(index), document.Keys[key], policies[key].Version);
        }
    }
}

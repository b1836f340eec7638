using Latch.Core.Secrets;

namespace Latch.Core.References;

/// <summary>
/// The one place that answers: given this document, this app, this environment, now — what does each reference
/// become, or why not? Stateless; storage comes in through <see cref="ISecretLookup"/>.
/// </summary>
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
        var checks = new ReferenceCheck[document.References.Count];
        for (var i = 0; i < checks.Length; i++)
        {
            var r = document.References[i];
            var error = failures[i];
            checks[i] = new ReferenceCheck(r.Path, r.Key, error is null, error?.Code, error?.Message);
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
        var errors = MergeErrors(document, failures);
        if (errors.Count > 0)
        {
            return ValueResolution.Failure(errors);
        }

        var references = document.References;
        if (references.Count == 0)
        {
            return ValueResolution.Success(new Dictionary<string, SecretValue>(), []);
        }

        var wanted = new SecretPolicy[document.Keys.Count];
        for (var k = 0; k < wanted.Length; k++)
        {
            wanted[k] = policies[document.Keys[k]];
        }

        IReadOnlyDictionary<string, SecretValue> decrypted;
        try
        {
            decrypted = await lookup.DecryptAsync(wanted, cancellationToken);
        }
        catch (SecretIntegrityException e)
        {
            for (var i = 0; i < references.Count; i++)
            {
                if (string.Equals(references[i].Key, e.Key, StringComparison.Ordinal))
                {
                    failures[i] = new ReferenceError(references[i].Path, references[i].Key, ReferenceCodes.Integrity, ReferenceMessages.Integrity(e.Key));
                }
            }

            return ValueResolution.Failure(MergeErrors(document, failures));
        }

        var values = new Dictionary<string, SecretValue>(wanted.Length, StringComparer.Ordinal);
        var missing = false;
        foreach (var policy in wanted)
        {
            if (decrypted.TryGetValue(policy.Key, out var value))
            {
                values[policy.Key] = value;
            }
            else
            {
                missing = true;
            }
        }

        if (missing)
        {
            // Deleted between the checks and decryption: report it as not found, never substitute half.
            for (var i = 0; i < references.Count; i++)
            {
                if (!values.ContainsKey(references[i].Key))
                {
                    failures[i] = PolicyCheck.Evaluate(references[i], null, target, _timeProvider.GetUtcNow());
                }
            }

            return ValueResolution.Failure(MergeErrors(document, failures));
        }

        var resolved = new ResolvedReference[references.Count];
        for (var i = 0; i < resolved.Length; i++)
        {
            var r = references[i];
            resolved[i] = new ResolvedReference(r.Path, r.Key, policies[r.Key].Version);
        }

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

    private async Task<(IReadOnlyDictionary<string, SecretPolicy> Policies, ReferenceError?[] Failures)> EvaluateAsync(
        ScannedDocument document, ResolutionTarget target, ISecretLookup lookup, CancellationToken cancellationToken)
    {
        var policies = document.Keys.Count == 0
            ? NoPolicies
            : await lookup.GetPoliciesAsync(document.Keys, cancellationToken);
        var now = _timeProvider.GetUtcNow();
        var references = document.References;
        var failures = new ReferenceError?[references.Count];
        for (var i = 0; i < failures.Length; i++)
        {
            var r = references[i];
            failures[i] = PolicyCheck.Evaluate(r, policies.GetValueOrDefault(r.Key), target, now);
        }

        return (policies, failures);
    }

    /// <summary>Malformed references and failing references, interleaved in document order.</summary>
    private static List<ReferenceError> MergeErrors(ScannedDocument document, ReferenceError?[] failures)
    {
        var errors = new List<ReferenceError>();
        var positions = document.MalformedPositions;
        var malformed = document.Malformed;
        var m = 0;
        for (var i = 0; i < failures.Length; i++)
        {
            while (m < positions.Length && positions[m] <= i)
            {
                errors.Add(malformed[m++]);
            }

            if (failures[i] is { } error)
            {
                errors.Add(error);
            }
        }

        while (m < malformed.Count)
        {
            errors.Add(malformed[m++]);
        }

        return errors;
    }
}

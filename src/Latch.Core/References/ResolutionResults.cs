using System.Diagnostics.CodeAnalysis;
using Latch.Core.Secrets;

namespace Latch.Core.References;

/// <summary>The check of one reference (a dry run: no value involved).</summary>
/// <param name="Path">JSON path of the reference.</param>
/// <param name="Key">Referenced key.</param>
/// <param name="Ok">True when the reference would resolve now.</param>
/// <param name="Code">Error code when not ok.</param>
/// <param name="Message">Exact error message when not ok.</param>
public sealed record ReferenceCheck(string Path, string Key, bool Ok, string? Code, string? Message);

/// <summary>The result of <see cref="ResolutionEngine.CheckAsync"/>.</summary>
public sealed class CheckReport
{
    internal CheckReport(IReadOnlyList<ReferenceCheck> references, IReadOnlyList<ReferenceError> malformed, IReadOnlyList<ReferenceError> errors)
    {
        References = references;
        Malformed = malformed;
        Errors = errors;
    }

    /// <summary>One entry per reference occurrence, in document order.</summary>
    public IReadOnlyList<ReferenceCheck> References { get; }

    /// <summary>Malformed references, in document order.</summary>
    public IReadOnlyList<ReferenceError> Malformed { get; }

    /// <summary>Every failure (malformed and failing references), in document order.</summary>
    public IReadOnlyList<ReferenceError> Errors { get; }

    /// <summary>True when every reference would resolve and none is malformed.</summary>
    public bool Ok => Errors.Count == 0;
}

/// <summary>
/// The result of <see cref="ResolutionEngine.ResolveValuesAsync"/>: either the decrypted values of every referenced
/// key, or every failing reference. All or nothing.
/// </summary>
public sealed class ValueResolution
{
    private ValueResolution(IReadOnlyDictionary<string, SecretValue> values, IReadOnlyList<ResolvedReference> resolved, IReadOnlyList<ReferenceError> errors)
    {
        Values = values;
        Resolved = resolved;
        Errors = errors;
    }

    /// <summary>True when every reference passed and was decrypted.</summary>
    public bool IsSuccess => Errors.Count == 0;

    /// <summary>The value of each referenced key (empty on failure).</summary>
    public IReadOnlyDictionary<string, SecretValue> Values { get; }

    /// <summary>Each reference occurrence with the version used, in document order (empty on failure).</summary>
    public IReadOnlyList<ResolvedReference> Resolved { get; }

    /// <summary>Every failing reference, in document order (empty on success).</summary>
    public IReadOnlyList<ReferenceError> Errors { get; }

    internal static ValueResolution Success(IReadOnlyDictionary<string, SecretValue> values, IReadOnlyList<ResolvedReference> resolved) =>
        new(values, resolved, []);

    internal static ValueResolution Failure(IReadOnlyList<ReferenceError> errors) =>
        new(new Dictionary<string, SecretValue>(), [], errors);
}

/// <summary>
/// The result of <see cref="ResolutionEngine.ResolveAsync"/>: either the resolved document, or every failing reference
/// (and no document). All or nothing.
/// </summary>
public sealed class ResolutionOutcome
{
    private ResolutionOutcome(byte[]? document, IReadOnlyList<ResolvedReference> resolved, IReadOnlyCollection<SecretValue> values, IReadOnlyList<ReferenceError> errors)
    {
        Document = document;
        Resolved = resolved;
        Values = values;
        Errors = errors;
    }

    /// <summary>True when every reference resolved; <see cref="Document"/> is then set.</summary>
    [MemberNotNullWhen(true, nameof(Document))]
    public bool IsSuccess => Document is not null;

    /// <summary>The resolved UTF-8 JSON document; null on failure.</summary>
    public byte[]? Document { get; }

    /// <summary>Each reference occurrence with the version used, in document order (empty on failure).</summary>
    public IReadOnlyList<ResolvedReference> Resolved { get; }

    /// <summary>The distinct values substituted, for masking (empty on failure).</summary>
    public IReadOnlyCollection<SecretValue> Values { get; }

    /// <summary>Every failing reference, in document order (empty on success).</summary>
    public IReadOnlyList<ReferenceError> Errors { get; }

    internal static ResolutionOutcome Success(byte[] document, ValueResolution values) =>
        new(document, values.Resolved, [.. values.Values.Values], []);

    internal static ResolutionOutcome Failure(IReadOnlyList<ReferenceError> errors) => new(null, [], [], errors);
}

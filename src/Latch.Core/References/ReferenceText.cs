using System.Text;
using Latch.Core.Secrets;

namespace Latch.Core.References;

/// <summary>One reference-like occurrence in a text: a valid reference, or a malformed one with its reason.</summary>
/// <param name="Index">Start of the occurrence (UTF-16 index).</param>
/// <param name="Length">Length of the occurrence (for a missing closing brace: up to the end of the text).</param>
/// <param name="Key">
/// The key. For a malformed occurrence: the key text when it is short enough to be reported (invalid character,
/// or a valid key lacking its closing brace), else null.
/// </param>
/// <param name="MalformedReason">Null for a valid reference; otherwise a short reason such as <c>missing closing brace</c>.</param>
public sealed record TextReference(int Index, int Length, string? Key, string? MalformedReason)
{
    /// <summary>True when the occurrence is not a valid reference.</summary>
    public bool IsMalformed => MalformedReason is not null;
}

/// <summary>
/// The reference grammar of SPEC §2 on a single string: <c>$Token{KEY}</c> (alias <c>$Secret{KEY}</c>), escapes
/// <c>$$Token{</c> / <c>$$Secret{</c>, and malformed references. Used for JSON string values, URLs, headers and queries.
/// </summary>
public static class ReferenceText
{
    /// <summary>Every reference and malformed reference in the text, in order.</summary>
    public static IReadOnlyList<TextReference> Find(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var found = new List<TextReference>();
        var span = text.AsSpan();
        for (var pos = 0; pos < span.Length;)
        {
            var s = ReferenceGrammar.Next(span, pos);
            switch (s.Kind)
            {
                case SegmentKind.Reference:
                    found.Add(new TextReference(s.Start, s.Length, ReferenceGrammar.KeyText(span, s), null));
                    break;
                case SegmentKind.Malformed:
                    found.Add(new TextReference(s.Start, s.Length, ReferenceGrammar.MalformedKey(span, s), ReferenceGrammar.Reason(span, s)));
                    break;
                default:
                    break;
            }

            pos = s.End;
        }

        return found;
    }

    /// <summary>
    /// Adds the references of a text found at <paramref name="path"/> to <paramref name="references"/>, and its malformed
    /// references (as <c>malformed_reference</c> errors) to <paramref name="malformed"/>.
    /// </summary>
    public static void Collect(string text, string path, ICollection<FoundReference> references, ICollection<ReferenceError> malformed)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(references);
        ArgumentNullException.ThrowIfNull(malformed);
        foreach (var r in Find(text))
        {
            if (r.MalformedReason is { } reason)
            {
                malformed.Add(new ReferenceError(path, r.Key, ReferenceCodes.Malformed, ReferenceMessages.Malformed(path, reason)));
            }
            else
            {
                references.Add(new FoundReference(path, r.Key!));
            }
        }
    }

    /// <summary>True when the text holds a reference, an escape, or a malformed reference (i.e. resolving could change it).</summary>
    public static bool HasReferenceSyntax(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return ReferenceGrammar.HasSpecial(text.AsSpan());
    }

    /// <summary>Whether <paramref name="key"/> is a valid secret key: <c>^[A-Za-z0-9_]{1,50}$</c>.</summary>
    public static bool IsValidKey(string? key) => key is not null && ReferenceGrammar.IsValidKey(key.AsSpan());

    /// <summary>The reference text for a key: <c>$Token{KEY}</c>.</summary>
    public static string Reference(string key) => "$Token{" + key + "}";

    /// <summary>
    /// Escapes a text so that it survives resolution unchanged: every <c>$Token{</c> becomes <c>$$Token{</c> and every
    /// <c>$Secret{</c> becomes <c>$$Secret{</c>.
    /// </summary>
    public static string Escape(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (!text.Contains("$Token{", StringComparison.Ordinal) && !text.Contains("$Secret{", StringComparison.Ordinal))
        {
            return text;
        }

        return text.Replace("$Token{", "$$Token{", StringComparison.Ordinal)
            .Replace("$Secret{", "$$Secret{", StringComparison.Ordinal);
    }

    /// <summary>
    /// Resolves a text in one pass: each reference is replaced by its value (inserted literally, never scanned again)
    /// and each escape becomes its literal text.
    /// </summary>
    /// <exception cref="InvalidOperationException">The text has a malformed reference, or a key has no value (the message names the key only).</exception>
    public static string Substitute(string text, IReadOnlyDictionary<string, SecretValue> values)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(values);
        var span = text.AsSpan();
        if (span.IndexOf('$') < 0)
        {
            return text;
        }

        var sb = new StringBuilder(text.Length + 32);
        for (var pos = 0; pos < span.Length;)
        {
            var s = ReferenceGrammar.Next(span, pos);
            switch (s.Kind)
            {
                case SegmentKind.Literal:
                    sb.Append(span.Slice(s.Start, s.Length));
                    break;
                case SegmentKind.Escape:
                    sb.Append(span.Slice(s.Start + 1, s.Length - 1));
                    break;
                case SegmentKind.Reference:
                    var key = ReferenceGrammar.KeyText(span, s);
                    if (!values.TryGetValue(key, out var value))
                    {
                        throw new InvalidOperationException($"No value was given for secret '{key}'.");
                    }

                    sb.Append(value.Reveal());
                    break;
                default:
                    throw new InvalidOperationException("The text holds a malformed secret reference.");
            }

            pos = s.End;
        }

        return sb.ToString();
    }
}

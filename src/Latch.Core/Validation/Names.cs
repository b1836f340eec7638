using System.Text.RegularExpressions;

namespace Latch.Core.Validation;

/// <summary>The shapes of names Latch accepts.</summary>
public static partial class Names
{
    /// <summary>Longest secret key.</summary>
    public const int MaxKeyLength = 50;

    /// <summary>Largest secret value in UTF-8 bytes.</summary>
    public const int MaxValueBytes = 64 * 1024;

    /// <summary>A secret key: <c>^[A-Za-z0-9_]{1,50}$</c>.</summary>
    public static bool IsSecretKey(string? key) => key is not null && SecretKeyRegex().IsMatch(key);

    /// <summary>An app access tag, product tag or environment slug.</summary>
    public static bool IsTag(string? tag) => tag is not null && TagRegex().IsMatch(tag);

    /// <summary>A scope entry: <c>access_tag</c> or <c>product_tag:access_tag</c>.</summary>
    public static bool IsScopeEntry(string? entry)
    {
        if (entry is null)
        {
            return false;
        }

        var colon = entry.IndexOf(':', StringComparison.Ordinal);
        return colon < 0 ? IsTag(entry) : IsTag(entry[..colon]) && IsTag(entry[(colon + 1)..]);
    }

    /// <summary>Why a secret key is invalid, or null.</summary>
    public static string? ExplainSecretKey(string key)
    {
        if (key.Length == 0)
        {
            return "must not be empty";
        }

        if (key.Length > MaxKeyLength)
        {
            return $"must be at most {MaxKeyLength} characters";
        }

        return IsSecretKey(key) ? null : "may contain only A-Z, a-z, 0-9 and _";
    }

    // \z, not $: in .NET '$' also matches before a final '\n', so "KEY\n" would pass.
    [GeneratedRegex(@"^[A-Za-z0-9_]{1,50}\z", RegexOptions.CultureInvariant)]
    private static partial Regex SecretKeyRegex();

    [GeneratedRegex(@"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}\z", RegexOptions.CultureInvariant)]
    private static partial Regex TagRegex();
}

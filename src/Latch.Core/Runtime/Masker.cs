using System.Net;
using System.Text;
using System.Text.Encodings.Web;
using Latch.Core.Secrets;

namespace Latch.Core.Runtime;

/// <summary>
/// Replaces every resolved value in upstream output by <c>***</c>: as is, percent-encoded (both styles),
/// base64 (standard and URL-safe, with or without padding) and JSON-escaped. Values shorter than
/// <see cref="MinimumLength"/> are not masked: masking one or two characters would destroy the output and
/// such values are not secrets.
/// </summary>
public sealed partial class Masker
{
    /// <summary>Shortest value that is masked.</summary>
    public const int MinimumLength = 4;

    /// <summary>The replacement text.</summary>
    public const string Mask = "***";

    private readonly string[] _patterns;

    /// <summary>Prepares the patterns for a set of values.</summary>
    public Masker(IEnumerable<SecretValue> values)
    {
        ArgumentNullException.ThrowIfNull(values);
        var patterns = new HashSet<string>(StringComparer.Ordinal);
        foreach (var value in values)
        {
            var plain = value.Reveal();
            if (plain.Length < MinimumLength)
            {
                continue;
            }

            var bytes = Encoding.UTF8.GetBytes(plain);
            var base64 = Convert.ToBase64String(bytes);
            var base64Url = base64.Replace('+', '-').Replace('/', '_');
            patterns.Add(plain);
            patterns.Add(Uri.EscapeDataString(plain));
            patterns.Add(WebUtility.UrlEncode(plain));
            patterns.Add(base64);
            patterns.Add(base64.TrimEnd('='));
            patterns.Add(base64Url);
            patterns.Add(base64Url.TrimEnd('='));
            foreach (var escaped in new[] { JavaScriptEncoder.Default.Encode(plain), JavaScriptEncoder.UnsafeRelaxedJsonEscaping.Encode(plain) })
            {
                // JSON writers differ: some escape '/' as '\/' (PHP's default), some use lowercase hex in \uXXXX.
                patterns.Add(escaped);
                patterns.Add(escaped.Replace("/", "\\/", StringComparison.Ordinal));
                var lowerHex = LowerHexEscapes().Replace(escaped, m => m.Value.ToLowerInvariant());
                patterns.Add(lowerHex);
                patterns.Add(lowerHex.Replace("/", "\\/", StringComparison.Ordinal));
            }
        }

        // Longest first, so a longer encoding is replaced whole before a shorter one could split it.
        _patterns = patterns.Where(p => p.Length >= MinimumLength).OrderByDescending(p => p.Length).ToArray();
    }

    /// <summary>Whether there is anything to mask.</summary>
    public bool IsEmpty => _patterns.Length == 0;

    /// <summary>The text with every occurrence of every pattern replaced by <c>***</c>.</summary>
    public string Apply(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        foreach (var pattern in _patterns)
        {
            if (text.Contains(pattern, StringComparison.Ordinal))
            {
                text = text.Replace(pattern, Mask, StringComparison.Ordinal);
            }
        }

        return text;
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"\\u[0-9A-F]{4}", System.Text.RegularExpressions.RegexOptions.CultureInvariant)]
    private static partial System.Text.RegularExpressions.Regex LowerHexEscapes();
}

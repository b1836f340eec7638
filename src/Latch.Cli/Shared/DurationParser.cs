using System.Globalization;

namespace Latch.Cli.Shared;

/// <summary>Parses durations such as <c>90s</c>, <c>15m</c>, <c>12h</c>, <c>7d</c>, <c>2w</c>, or plain seconds.</summary>
internal static class DurationParser
{
    public const string Expected = "expected a duration like 7d, 12h, 30m, 2w, or a number of seconds";

    /// <summary>
    /// A positive duration with a unit (<c>s</c>, <c>m</c>, <c>h</c>, <c>d</c>, <c>w</c>, and <c>ms</c> when
    /// <paramref name="allowMilliseconds"/>); false for anything else, including a bare number.
    /// </summary>
    public static bool TryParseWithUnit(string input, bool allowMilliseconds, out TimeSpan duration)
    {
        ArgumentNullException.ThrowIfNull(input);
        duration = default;
        var milliseconds = allowMilliseconds && input.EndsWith("ms", StringComparison.OrdinalIgnoreCase);
        if (input.Length < 2)
        {
            return false;
        }

        var number = milliseconds ? input[..^2] : input[..^1];
        if (number.Length is 0 or > 9 || !number.All(char.IsAsciiDigit)
            || !long.TryParse(number, NumberStyles.None, CultureInfo.InvariantCulture, out var amount) || amount <= 0)
        {
            return false;
        }

        TimeSpan? span = milliseconds ? TimeSpan.FromMilliseconds(amount) : char.ToLowerInvariant(input[^1]) switch
        {
            's' => TimeSpan.FromSeconds(amount),
            'm' => TimeSpan.FromMinutes(amount),
            'h' => TimeSpan.FromHours(amount),
            'd' => TimeSpan.FromDays(amount),
            'w' => TimeSpan.FromDays(7 * amount),
            _ => null,
        };
        if (span is not { } value || value > TimeSpan.FromDays(100 * 365))
        {
            return false;
        }

        duration = value;
        return true;
    }

    /// <summary>Whether an ISO date-time text carries a zone offset after its time part.</summary>
    public static bool HasOffset(string input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var t = input.IndexOf('T', StringComparison.OrdinalIgnoreCase);
        var tail = input[(t + 1)..];
        return tail.Contains('+', StringComparison.Ordinal) || tail.Contains('-', StringComparison.Ordinal);
    }

    /// <summary>Throws <see cref="CliUsageException"/> naming <paramref name="source"/> when the text is not a duration.</summary>
    public static TimeSpan Parse(string text, string source, bool allowZero = false)
    {
        ArgumentNullException.ThrowIfNull(text);
        var input = text.Trim();
        if (input.Length > 0)
        {
            var unit = char.ToLowerInvariant(input[^1]);
            var hasUnit = !char.IsAsciiDigit(unit);
            var number = hasUnit ? input[..^1] : input;
            if (number.Length is > 0 and <= 9 && number.All(char.IsAsciiDigit)
                && long.TryParse(number, NumberStyles.None, CultureInfo.InvariantCulture, out var amount)
                && (amount > 0 || allowZero))
            {
                TimeSpan? span = (hasUnit ? unit : 's') switch
                {
                    's' => TimeSpan.FromSeconds(amount),
                    'm' => TimeSpan.FromMinutes(amount),
                    'h' => TimeSpan.FromHours(amount),
                    'd' => TimeSpan.FromDays(amount),
                    'w' => TimeSpan.FromDays(7 * amount),
                    _ => null,
                };
                if (span is { } value && value <= TimeSpan.FromDays(100 * 365))
                {
                    return value;
                }
            }
        }

        throw new CliUsageException($"invalid {source} value '{text}': {Expected} (at most 100 years)");
    }
}

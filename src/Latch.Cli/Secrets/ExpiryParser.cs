using System.Globalization;

namespace Latch.Cli.Secrets;

/// <summary>
/// Parses <c>--expires</c>: a duration from now (<c>90s</c>, <c>15m</c>, <c>12h</c>, <c>30d</c>, <c>2w</c>),
/// a UTC date (<c>2027-01-01</c>, midnight UTC), an ISO 8601 date-time with offset, or Unix seconds.
/// </summary>
internal static class ExpiryParser
{
    public const string Expected =
        "expected a duration like 30d or 12h, a date like 2027-01-01, an ISO 8601 date-time, or Unix seconds";

    /// <summary>Returns <c>expires_at</c> in Unix seconds, or throws <see cref="CliUsageException"/>.</summary>
    public static long Parse(string text, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(time);
        var input = text.Trim();
        if (input.Length == 0)
        {
            throw Invalid(text);
        }

        if (input.All(char.IsAsciiDigit))
        {
            return long.TryParse(input, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds) && seconds > 0
                ? seconds
                : throw Invalid(text);
        }

        if (TryParseDuration(input, out var duration))
        {
            return time.GetUtcNow().Add(duration).ToUnixTimeSeconds();
        }

        if (DateOnly.TryParseExact(input, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var date))
        {
            return new DateTimeOffset(date.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero).ToUnixTimeSeconds();
        }

        // A date-time must say which zone it means; a bare local time would depend on the machine.
        if (input.Contains('T', StringComparison.OrdinalIgnoreCase)
            && (input.EndsWith('Z') || input.EndsWith('z') || HasOffset(input))
            && DateTimeOffset.TryParse(input, CultureInfo.InvariantCulture, DateTimeStyles.None, out var moment))
        {
            return moment.ToUnixTimeSeconds();
        }

        throw Invalid(text);
    }

    private static bool TryParseDuration(string input, out TimeSpan duration)
    {
        duration = default;
        var unit = char.ToLowerInvariant(input[^1]);
        var number = input[..^1];
        if (number.Length == 0 || !number.All(char.IsAsciiDigit)
            || !int.TryParse(number, NumberStyles.None, CultureInfo.InvariantCulture, out var amount) || amount <= 0)
        {
            return false;
        }

        TimeSpan? span = unit switch
        {
            's' => TimeSpan.FromSeconds(amount),
            'm' => TimeSpan.FromMinutes(amount),
            'h' => TimeSpan.FromHours(amount),
            'd' => TimeSpan.FromDays(amount),
            'w' => TimeSpan.FromDays(7L * amount),
            _ => null,
        };
        if (span is null)
        {
            return false;
        }

        duration = span.Value;
        return true;
    }

    private static bool HasOffset(string input)
    {
        var t = input.IndexOf('T', StringComparison.OrdinalIgnoreCase);
        var tail = input[(t + 1)..];
        return tail.Contains('+', StringComparison.Ordinal) || tail.Contains('-', StringComparison.Ordinal);
    }

    private static CliUsageException Invalid(string text) => new($"invalid --expires value '{text}': {Expected}");
}

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

        if (Shared.DurationParser.TryParseWithUnit(input, allowMilliseconds: false, out var duration))
        {
            return time.GetUtcNow().Add(duration).ToUnixTimeSeconds();
        }

        if (DateOnly.TryParseExact(input, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var date))
        {
            return new DateTimeOffset(date.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero).ToUnixTimeSeconds();
        }

        // A date-time must say which zone it means; a bare local time would depend on the machine.
        if (input.Contains('T', StringComparison.OrdinalIgnoreCase)
            && (input.EndsWith('Z') || input.EndsWith('z') || Shared.DurationParser.HasOffset(input))
            && DateTimeOffset.TryParse(input, CultureInfo.InvariantCulture, DateTimeStyles.None, out var moment))
        {
            return moment.ToUnixTimeSeconds();
        }

        throw Invalid(text);
    }

    private static CliUsageException Invalid(string text) => new($"invalid --expires value '{text}': {Expected}");
}

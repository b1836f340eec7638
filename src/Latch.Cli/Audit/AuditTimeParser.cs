using System.Globalization;

namespace Latch.Cli.Audit;

/// <summary>
/// Parses <c>--since</c>/<c>--until</c> and <c>--interval</c> of <c>latch audit</c>.
/// A time is a duration back from now (<c>90s</c>, <c>15m</c>, <c>24h</c>, <c>7d</c>, <c>2w</c>), a UTC date
/// (<c>2026-11-01</c>, midnight UTC), an ISO 8601 date-time with <c>Z</c> or an offset, or Unix seconds.
/// </summary>
internal static class AuditTimeParser
{
    public const string ExpectedTime =
        "expected a duration back from now like 24h or 7d, a date like 2026-11-01, an ISO 8601 date-time with Z or an offset, or Unix seconds";

    public const string ExpectedInterval = "expected a positive duration like 500ms, 1s, 2m or 1h";

    /// <summary>The largest Unix time the API accepts (9999-12-31T23:59:59Z).</summary>
    private const long MaxUnixSeconds = 253402300799;

    /// <summary>The instant <paramref name="text"/> means, or throws <see cref="CliUsageException"/> naming <paramref name="option"/>.</summary>
    public static DateTimeOffset ParseTime(string text, string option, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(time);
        var input = text.Trim();
        if (input.Length == 0)
        {
            throw InvalidTime(text, option);
        }

        if (input.All(char.IsAsciiDigit))
        {
            return long.TryParse(input, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds) && seconds <= MaxUnixSeconds
                ? DateTimeOffset.FromUnixTimeSeconds(seconds)
                : throw InvalidTime(text, option);
        }

        if (Shared.DurationParser.TryParseWithUnit(input, allowMilliseconds: false, out var ago))
        {
            var now = time.GetUtcNow();
            return now - DateTimeOffset.MinValue > ago ? now - ago : throw InvalidTime(text, option);
        }

        if (DateOnly.TryParseExact(input, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var date))
        {
            return new DateTimeOffset(date.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero);
        }

        // A date-time must say which zone it means; a bare local time would depend on the machine.
        if (input.Contains('T', StringComparison.OrdinalIgnoreCase)
            && (input.EndsWith('Z') || input.EndsWith('z') || Shared.DurationParser.HasOffset(input))
            && DateTimeOffset.TryParse(input, CultureInfo.InvariantCulture, DateTimeStyles.None, out var moment))
        {
            return moment.ToUniversalTime();
        }

        throw InvalidTime(text, option);
    }

    /// <summary>How the API is sent an instant: ISO 8601 in UTC, fractions only when there are any.</summary>
    public static string Format(DateTimeOffset moment) =>
        moment.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.FFFFFFF'Z'", CultureInfo.InvariantCulture);

    /// <summary>The polling interval of <c>--follow</c>; a bare number is seconds.</summary>
    public static TimeSpan ParseInterval(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var input = text.Trim();
        if (input.Length > 0 && input.All(char.IsAsciiDigit))
        {
            input += "s";
        }

        return input.Length > 0 && Shared.DurationParser.TryParseWithUnit(input, allowMilliseconds: true, out var interval) && interval <= TimeSpan.FromDays(1)
            ? interval
            : throw new CliUsageException($"invalid --interval value '{text}': {ExpectedInterval}");
    }

    private static CliUsageException InvalidTime(string text, string option) => new($"invalid {option} value '{text}': {ExpectedTime}");
}

using Latch.Cli.Secrets;
using Microsoft.Extensions.Time.Testing;

namespace Latch.Cli.Tests;

public sealed class ExpiryParserTests
{
    private static readonly DateTimeOffset Now = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);
    private readonly FakeTimeProvider _time = new(Now);

    [Theory]
    [InlineData("30d", 30 * 86400)]
    [InlineData("12h", 12 * 3600)]
    [InlineData("15m", 15 * 60)]
    [InlineData("90s", 90)]
    [InlineData("2w", 14 * 86400)]
    [InlineData("7D", 7 * 86400)]
    public void A_relative_duration_counts_from_the_clock(string input, long seconds) =>
        Assert.Equal(Now.ToUnixTimeSeconds() + seconds, ExpiryParser.Parse(input, _time));

    [Fact]
    public void A_date_means_midnight_utc_of_that_day() =>
        Assert.Equal(new DateTimeOffset(2027, 1, 1, 0, 0, 0, TimeSpan.Zero).ToUnixTimeSeconds(), ExpiryParser.Parse("2027-01-01", _time));

    [Fact]
    public void Unix_seconds_are_taken_as_they_are() =>
        Assert.Equal(1_900_000_000, ExpiryParser.Parse("1900000000", _time));

    [Theory]
    [InlineData("2027-01-01T10:30:00Z")]
    [InlineData("2027-01-01T12:30:00+02:00")]
    public void An_iso_date_time_with_a_zone_is_converted_to_utc(string input) =>
        Assert.Equal(new DateTimeOffset(2027, 1, 1, 10, 30, 0, TimeSpan.Zero).ToUnixTimeSeconds(), ExpiryParser.Parse(input, _time));

    [Theory]
    [InlineData("")]
    [InlineData("soon")]
    [InlineData("30x")]
    [InlineData("0d")]
    [InlineData("d")]
    [InlineData("-5")]
    [InlineData("0")]
    [InlineData("2027-13-01")]
    [InlineData("01/02/2027")]
    [InlineData("2027-01-01T10:00:00")]
    public void Anything_else_is_a_usage_error_naming_the_input(string input)
    {
        var error = Assert.Throws<CliUsageException>(() => ExpiryParser.Parse(input, _time));
        Assert.Contains($"'{input}'", error.Message, StringComparison.Ordinal);
        Assert.Contains("30d", error.Message, StringComparison.Ordinal);
    }
}

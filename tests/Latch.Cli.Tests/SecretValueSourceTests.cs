using Latch.Cli.Secrets;

namespace Latch.Cli.Tests;

public sealed class SecretValueSourceTests
{
    [Theory]
    [InlineData("v", true, false)]
    [InlineData("v", false, true)]
    [InlineData(null, true, true)]
    [InlineData("v", true, true)]
    public void Two_value_options_at_once_are_refused(string? value, bool stdin, bool generate)
    {
        var error = Assert.Throws<CliUsageException>(() => SecretValueSource.Choose(value, stdin, generate));
        Assert.Contains("mutually exclusive", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("v", false, false, "Given")]
    [InlineData(null, true, false, "Stdin")]
    [InlineData(null, false, true, "Generate")]
    [InlineData(null, false, false, "None")]
    public void One_value_option_or_none_is_accepted(string? value, bool stdin, bool generate, string expected) =>
        Assert.Equal(Enum.Parse<ValueMode>(expected), SecretValueSource.Choose(value, stdin, generate));

    [Theory]
    [InlineData("abc\n", "abc")]
    [InlineData("abc\r\n", "abc")]
    [InlineData("abc", "abc")]
    [InlineData("abc\n\n", "abc\n")]
    [InlineData(" a b \n", " a b ")]
    public void Standard_input_loses_exactly_one_trailing_newline(string input, string expected) =>
        Assert.Equal(expected, SecretValueSource.ReadStdin(new StringReader(input)));

    [Fact]
    public void Empty_standard_input_is_refused() =>
        Assert.Throws<CliUsageException>(() => SecretValueSource.ReadStdin(new StringReader("\n")));

    [Fact]
    public void Generated_values_are_64_alphanumeric_characters_and_differ()
    {
        var first = SecretValueSource.Generate();
        var second = SecretValueSource.Generate();
        Assert.Matches("^[A-Za-z0-9]{64}$", first);
        Assert.Matches("^[A-Za-z0-9]{64}$", second);
        Assert.NotEqual(first, second);
    }
}

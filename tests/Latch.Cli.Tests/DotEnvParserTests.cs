using System.Security.Cryptography;
using Latch.Cli.Secrets;

namespace Latch.Cli.Tests;

/// <summary>The dotenv rules of <c>latch secrets import</c>.</summary>
public sealed class DotEnvParserTests
{
    private static Dictionary<string, string> Values(DotEnvDocument document)
    {
        Assert.Empty(document.SyntaxErrors);
        Assert.All(document.Items, i => Assert.True(i.IsValid, i.ToString()));
        return document.Items.ToDictionary(i => i.Key, i => i.Value!);
    }

    [Fact]
    public void Comments_and_blank_lines_are_ignored()
    {
        var values = Values(DotEnvParser.Parse("# a comment\n\n   \n  # indented comment\nA=1\n\t\nB=2 # trailing comment\nC=x#not-a-comment\n"));

        Assert.Equal(new Dictionary<string, string> { ["A"] = "1", ["B"] = "2", ["C"] = "x#not-a-comment" }, values);
    }

    [Fact]
    public void Export_prefix_is_accepted()
    {
        var values = Values(DotEnvParser.Parse("export A=1\nexport\tB='two'\nexport=3\n"));

        Assert.Equal("1", values["A"]);
        Assert.Equal("two", values["B"]);
        Assert.Equal("3", values["export"]);
    }

    [Fact]
    public void Unquoted_values_are_trimmed()
    {
        var values = Values(DotEnvParser.Parse("A =   spaced value  \nB=\ttabbed\t\n"));

        Assert.Equal("spaced value", values["A"]);
        Assert.Equal("tabbed", values["B"]);
    }

    [Fact]
    public void Single_quotes_are_literal()
    {
        var values = Values(DotEnvParser.Parse("A='no \\n escapes $HOME \"here\" # nor comments'  # but this is one\n"));

        Assert.Equal("no \\n escapes $HOME \"here\" # nor comments", values["A"]);
    }

    [Fact]
    public void Double_quotes_apply_escapes()
    {
        var values = Values(DotEnvParser.Parse("A=\"l1\\nl2\\r\\t\\\"q\\\" \\\\ \\$HOME \\x # kept\" # comment\n"));

        Assert.Equal("l1\nl2\r\t\"q\" \\ $HOME \\x # kept", values["A"]);
    }

    [Fact]
    public void Quoted_values_may_span_lines()
    {
        var document = DotEnvParser.Parse("A=\"-----BEGIN KEY-----\nabc\r\ndef\n-----END KEY-----\"\nB='x\ny'\nC=3\n");
        var values = Values(document);

        Assert.Equal("-----BEGIN KEY-----\nabc\ndef\n-----END KEY-----", values["A"]);
        Assert.Equal("x\ny", values["B"]);
        Assert.Equal("3", values["C"]);
        Assert.Equal([1, 5, 7], document.Items.Select(i => i.Line));
    }

    [Fact]
    public void Windows_line_endings_count_lines()
    {
        var document = DotEnvParser.Parse("A=1\r\n\r\nB=2\r\nC=\r\n");

        Assert.Equal([1, 3, 4], document.Items.Select(i => i.Line));
        Assert.Equal("2", document.Items[1].Value);
    }

    [Theory]
    [InlineData("A=")]
    [InlineData("A=   ")]
    [InlineData("A=\"\"")]
    [InlineData("A=''")]
    [InlineData("A= # only a comment")]
    public void Empty_values_are_refused_for_that_key(string line)
    {
        var document = DotEnvParser.Parse($"OK=1\n{line}\n");

        Assert.Empty(document.SyntaxErrors);
        var item = Assert.Single(document.Items, i => i.Key == "A");
        Assert.False(item.IsValid);
        Assert.Null(item.Value);
        Assert.Equal("line 2: empty value (Latch does not store empty secrets)", item.Error);
        Assert.True(document.Items.Single(i => i.Key == "OK").IsValid);
    }

    [Theory]
    [InlineData("MY-KEY=secret-abc", "MY-KEY", "may contain only A-Z, a-z, 0-9 and _")]
    [InlineData("A.B=secret-abc", "A.B", "may contain only A-Z, a-z, 0-9 and _")]
    [InlineData("K123456789012345678901234567890123456789012345678901=secret-abc", "K123456789012345678901234567890123456789012345678901", "must be at most 50 characters")]
    public void Invalid_keys_are_reported_with_the_line_number(string line, string key, string why)
    {
        var document = DotEnvParser.Parse($"# header\n{line}\n");

        var item = Assert.Single(document.Items);
        Assert.Equal(key, item.Key);
        Assert.Equal($"line 2: invalid key: {why}", item.Error);
        Assert.DoesNotContain("secret-abc", item.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("secret-abc", item.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Duplicate_keys_keep_the_last_value_with_a_warning()
    {
        var document = DotEnvParser.Parse("A=first-secret\nB=2\nA=second-secret\n");

        Assert.Equal(["A", "B"], document.Items.Select(i => i.Key));
        Assert.Equal("second-secret", document.Items[0].Value);
        Assert.Equal(3, document.Items[0].Line);
        var warning = Assert.Single(document.Warnings);
        Assert.Equal("line 3: A is defined again (first at line 1); the definition at line 3 wins", warning.ToString());
        Assert.DoesNotContain("first-secret", warning.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain("second-secret", warning.ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("A=1\nsk_live_secretvalue\nB=2\n", 2, "expected KEY=VALUE")]
    [InlineData("A=1\nexport B\n", 2, "expected KEY=VALUE")]
    [InlineData("=sk_live_secretvalue\n", 1, "missing key before '='")]
    [InlineData("A='x' sk_live_secretvalue\n", 1, "unexpected text after the closing quote of A")]
    public void Syntax_errors_cite_the_line_and_never_the_value(string text, int line, string message)
    {
        var document = DotEnvParser.Parse(text);

        var error = Assert.Single(document.SyntaxErrors);
        Assert.Equal(line, error.Line);
        Assert.Equal(message, error.Message);
        Assert.DoesNotContain("sk_live", error.ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("A=1\nB=\"sk_live_never\nclosed\n", "double")]
    [InlineData("A=1\nB='sk_live_never\n", "single")]
    public void An_unclosed_quote_stops_parsing_at_its_line(string text, string kind)
    {
        var document = DotEnvParser.Parse(text);

        var error = Assert.Single(document.SyntaxErrors);
        Assert.Equal($"line 2: the {kind} quote opened here is never closed", error.ToString());
        Assert.Equal(["A"], document.Items.Select(i => i.Key));
    }

    [Fact]
    public void A_byte_order_mark_is_ignored()
    {
        Assert.Equal("1", Values(DotEnvParser.Parse("\uFEFFA=1"))["A"]);
    }

    [Fact]
    public void Random_values_round_trip_through_format_and_parse()
    {
        const string Alphabet = "abcXYZ019_ \t\n\r\"'\\$#=`{}é€😀";
        for (var round = 0; round < 200; round++)
        {
            var entries = new Dictionary<string, string>();
            var count = RandomNumberGenerator.GetInt32(1, 8);
            for (var i = 0; i < count; i++)
            {
                var key = "K" + RandomNumberGenerator.GetString("ABCDEFGHIJ_0123456789", RandomNumberGenerator.GetInt32(0, 20));
                var value = RandomNumberGenerator.GetString(Alphabet, RandomNumberGenerator.GetInt32(1, 40));
                entries[key] = value;
            }

            var text = DotEnvParser.Format(entries);
            var parsed = Values(DotEnvParser.Parse(text));

            Assert.Equal(entries, parsed);
        }
    }

    [Fact]
    public void Random_single_quoted_values_round_trip()
    {
        const string Alphabet = "abc XYZ\t\"\\$#=`n";
        for (var round = 0; round < 200; round++)
        {
            var value = RandomNumberGenerator.GetString(Alphabet, RandomNumberGenerator.GetInt32(1, 40));

            var parsed = Values(DotEnvParser.Parse($"export KEY='{value}' # c\n"));

            Assert.Equal(value, parsed["KEY"]);
        }
    }
}

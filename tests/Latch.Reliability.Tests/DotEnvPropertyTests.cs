using System.Text;
using CsCheck;
using Latch.Fuzz;

namespace Latch.Reliability.Tests;

/// <summary>Property-based tests (CsCheck) of the dotenv parser of <c>latch secrets import</c>, through the fuzz target's surface.</summary>
public sealed class DotEnvPropertyTests
{
    private static readonly Gen<string> Key = Gen.Select(Gen.Char["ABCXYZ_abc"], Gen.String[Gen.Char["ABCXYZ_abc0189"], 0, 20], (c, rest) => c + rest);

    private static readonly Gen<string> Value = Gen.OneOf(
        Gen.String[1, 40],
        Gen.OneOf("\"", "\\", "\n", "\r\n", "\t", "$", "#", "'", "=", " ", "export ", "${X}", "é", "😀", "a").Array[1, 12].Select(string.Concat));

    [Fact]
    public void A_double_quoted_value_with_every_escape_round_trips()
    {
        Gen.Select(Key, Value, Gen.Bool).Sample((key, value, export) =>
        {
            var text = $"# generated\n{(export ? "export " : "")}{key}=\"{Escape(value)}\" # comment\nOTHER_KEY=plain\n";
            var parsed = Targets.DotEnvValues(text);
            Assert.True(parsed.TryGetValue(key, out var got), "the key was not parsed");
            Assert.True(string.Equals(value, got, StringComparison.Ordinal), "the value did not round-trip (lengths " + value.Length + " / " + got?.Length + ")");
            Assert.Equal("plain", parsed["OTHER_KEY"]);
        });
    }

    [Fact]
    public void Any_text_parses_without_an_exception_and_keeps_the_invariants()
    {
        Gen.OneOf(Gen.String, Gen.OneOf("A=1", "export ", "\"", "'", "\\", "\n", "#", "=", " ", "B", "\r\n", "\\n").Array[0, 30].Select(string.Concat))
            .Sample(text => Targets.DotEnv(Encoding.UTF8.GetBytes(text)));
    }

    private static string Escape(string value)
    {
        var sb = new StringBuilder();
        foreach (var c in value)
        {
            sb.Append(c switch
            {
                '\\' => "\\\\",
                '"' => "\\\"",
                '\n' => "\\n",
                '\r' => "\\r",
                '\t' => "\\t",
                '$' => "\\$",
                _ => c.ToString(),
            });
        }

        return sb.ToString();
    }
}

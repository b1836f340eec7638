using Latch.Core.References;
using Latch.Core.Secrets;

namespace Latch.Core.Tests.References;

public sealed class ReferenceTextTests
{
    private static Dictionary<string, SecretValue> Values(params (string Key, string Value)[] pairs) =>
        pairs.ToDictionary(p => p.Key, p => new SecretValue(p.Value), StringComparer.Ordinal);

    [Fact]
    public void Token_reference_is_found_with_its_key()
    {
        var found = Assert.Single(ReferenceText.Find("$Token{STRIPE_KEY}"));
        Assert.Equal("STRIPE_KEY", found.Key);
        Assert.False(found.IsMalformed);
        Assert.Equal(0, found.Index);
        Assert.Equal(18, found.Length);
    }

    [Fact]
    public void Secret_alias_is_a_reference_with_the_same_meaning()
    {
        var found = Assert.Single(ReferenceText.Find("x $Secret{API_KEY} y"));
        Assert.Equal("API_KEY", found.Key);
        Assert.Equal("x v y", ReferenceText.Substitute("x $Secret{API_KEY} y", Values(("API_KEY", "v"))));
    }

    [Theory]
    [InlineData("$token{X}")]
    [InlineData("$TOKEN{X}")]
    [InlineData("$secret{X}")]
    [InlineData("Token{X}")]
    [InlineData("$ Token{X}")]
    [InlineData("$Token {X}")]
    [InlineData("$Token")]
    [InlineData("$$")]
    [InlineData("$")]
    [InlineData("{X}")]
    public void Prefix_is_case_sensitive_and_anything_else_is_plain_text(string text)
    {
        Assert.Empty(ReferenceText.Find(text));
        Assert.False(ReferenceText.HasReferenceSyntax(text));
        Assert.Equal(text, ReferenceText.Substitute(text, Values()));
    }

    [Fact]
    public void Keys_are_case_sensitive()
    {
        var values = Values(("api_key", "lower"), ("API_KEY", "upper"));
        Assert.Equal("upper lower", ReferenceText.Substitute("$Token{API_KEY} $Token{api_key}", values));
        var ex = Assert.Throws<InvalidOperationException>(() => ReferenceText.Substitute("$Token{Api_Key}", values));
        Assert.Contains("'Api_Key'", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Escaped_reference_yields_literal_text()
    {
        Assert.Empty(ReferenceText.Find("$$Token{KEY}"));
        Assert.True(ReferenceText.HasReferenceSyntax("$$Token{KEY}"));
        Assert.Equal("$Token{KEY}", ReferenceText.Substitute("$$Token{KEY}", Values()));
    }

    [Fact]
    public void Escaped_secret_alias_yields_literal_text()
    {
        Assert.Empty(ReferenceText.Find("a $$Secret{KEY} b"));
        Assert.Equal("a $Secret{KEY} b", ReferenceText.Substitute("a $$Secret{KEY} b", Values()));
    }

    [Fact]
    public void Escape_leaves_the_rest_of_the_text_plain_even_if_it_is_malformed()
    {
        // After the escape the text continues as plain text: "$$Token{ no brace" is not malformed.
        Assert.Empty(ReferenceText.Find("$$Token{ no brace"));
        Assert.Equal("$Token{ no brace", ReferenceText.Substitute("$$Token{ no brace", Values()));
    }

    [Fact]
    public void Dollar_before_an_escape_stays_a_dollar()
    {
        Assert.Empty(ReferenceText.Find("$$$Token{A}"));
        Assert.Equal("$$Token{A}", ReferenceText.Substitute("$$$Token{A}", Values()));
    }

    [Fact]
    public void Several_references_in_one_string_are_all_found_in_order()
    {
        var found = ReferenceText.Find("$Token{A}:$Secret{B}/$Token{A}");
        Assert.Equal(["A", "B", "A"], found.Select(f => f.Key));
        Assert.Equal("1:2/1", ReferenceText.Substitute("$Token{A}:$Secret{B}/$Token{A}", Values(("A", "1"), ("B", "2"))));
    }

    [Fact]
    public void Text_around_a_reference_is_kept()
    {
        Assert.Equal("Bearer sk_123!", ReferenceText.Substitute("Bearer $Token{STRIPE_KEY}!", Values(("STRIPE_KEY", "sk_123"))));
    }

    [Fact]
    public void Missing_closing_brace_is_malformed()
    {
        var found = Assert.Single(ReferenceText.Find("Bearer $Token{STRIPE_KEY"));
        Assert.Equal("missing closing brace", found.MalformedReason);
        Assert.Equal("STRIPE_KEY", found.Key);
    }

    [Fact]
    public void Missing_closing_brace_does_not_report_text_beyond_a_key()
    {
        var found = Assert.Single(ReferenceText.Find("$Token{abc password hunter2"));
        Assert.Equal("missing closing brace", found.MalformedReason);
        Assert.Null(found.Key);
    }

    [Fact]
    public void Empty_key_is_malformed()
    {
        var found = Assert.Single(ReferenceText.Find("$Token{}"));
        Assert.Equal("empty key", found.MalformedReason);
        Assert.Null(found.Key);
    }

    [Theory]
    [InlineData("$Token{A B}", "invalid character ' ' in key 'A B'", "A B")]
    [InlineData("$Token{MY-KEY}", "invalid character '-' in key 'MY-KEY'", "MY-KEY")]
    [InlineData("$Secret{clé}", "invalid character 'é' in key 'clé'", "clé")]
    [InlineData("$Token{A\nB}", "invalid character U+000A in key 'A\nB'", "A\nB")]
    [InlineData("$Token{$Token{A}", "invalid character '$' in key '$Token{A'", "$Token{A")]
    public void Character_outside_the_key_alphabet_is_malformed_and_named(string text, string reason, string key)
    {
        var found = Assert.Single(ReferenceText.Find(text));
        Assert.Equal(reason, found.MalformedReason);
        Assert.Equal(key, found.Key);
    }

    [Fact]
    public void Key_longer_than_50_characters_is_malformed_without_its_text()
    {
        var found = Assert.Single(ReferenceText.Find("$Token{" + new string('K', 51) + "}"));
        Assert.Equal("key longer than 50 characters", found.MalformedReason);
        Assert.Null(found.Key);
    }

    [Fact]
    public void Key_of_exactly_50_characters_is_valid()
    {
        var key = new string('K', 50);
        Assert.Equal(key, Assert.Single(ReferenceText.Find("$Token{" + key + "}")).Key);
        Assert.True(ReferenceText.IsValidKey(key));
        Assert.False(ReferenceText.IsValidKey(key + "K"));
        Assert.False(ReferenceText.IsValidKey(""));
        Assert.False(ReferenceText.IsValidKey("a-b"));
    }

    [Fact]
    public void Text_after_a_malformed_reference_is_still_scanned()
    {
        var found = ReferenceText.Find("$Token{A B} $Token{C}");
        Assert.Equal(2, found.Count);
        Assert.True(found[0].IsMalformed);
        Assert.Equal("C", found[1].Key);
    }

    [Fact]
    public void Substituted_value_is_never_scanned_again()
    {
        var values = Values(("A", "$Token{B}"), ("B", "secret-b"));
        Assert.Equal("x $Token{B} y", ReferenceText.Substitute("x $Token{A} y", values));
    }

    [Fact]
    public void Substitute_refuses_a_malformed_text()
    {
        Assert.Throws<InvalidOperationException>(() => ReferenceText.Substitute("$Token{A", Values(("A", "v"))));
    }

    [Fact]
    public void Substitute_names_only_the_missing_key()
    {
        var ex = Assert.Throws<InvalidOperationException>(() => ReferenceText.Substitute("$Token{A} $Token{B}", Values(("A", "topsecret"))));
        Assert.Contains("'B'", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("topsecret", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("$Token{KEY}")]
    [InlineData("$$Token{KEY}")]
    [InlineData("$Secret{A} and $$$Token{")]
    [InlineData("plain")]
    [InlineData("$Token{")]
    [InlineData("$$Secret{$Token{x}}")]
    public void Escaping_then_resolving_with_no_secrets_gives_the_original_text(string text)
    {
        var escaped = ReferenceText.Escape(text);
        Assert.Empty(ReferenceText.Find(escaped));
        Assert.Equal(text, ReferenceText.Substitute(escaped, Values()));
    }

    [Fact]
    public void Collect_reports_malformed_references_with_the_exact_message()
    {
        var references = new List<FoundReference>();
        var malformed = new List<ReferenceError>();
        ReferenceText.Collect("Bearer $Token{A} $Token{}", "$.headers.X-Key", references, malformed);
        Assert.Equal(new FoundReference("$.headers.X-Key", "A"), Assert.Single(references));
        var error = Assert.Single(malformed);
        Assert.Equal(ReferenceCodes.Malformed, error.Code);
        Assert.Equal("Malformed secret reference at $.headers.X-Key: empty key", error.Message);
    }

    [Fact]
    public void Reference_formats_the_token_text()
    {
        Assert.Equal("$Token{KEY}", ReferenceText.Reference("KEY"));
    }
}

using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using CsCheck;
using Latch.Core.References;
using Latch.Core.Secrets;
using Microsoft.Extensions.Time.Testing;

namespace Latch.Core.Tests.References;

/// <summary>Property-based tests (CsCheck) of the grammar, the scanner and the engine.</summary>
public sealed partial class ReferencePropertyTests
{
    private static readonly JsonSerializerOptions Relaxed = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
    private static readonly JsonSerializerOptions Strict = new();
    private static readonly Dictionary<string, SecretValue> NoValues = new(StringComparer.Ordinal);

    /// <summary>Pieces that exercise the grammar: prefixes, escapes, braces, keys, JSON-special and non-ASCII characters.</summary>
    private static readonly Gen<string> Fragment = Gen.OneOf(
        "$Token{", "$Secret{", "$$Token{", "$$Secret{", "$", "$$", "{", "}", "Token", "Secret", "$token{A}",
        "$Token{A}", "$Secret{B}", "$Token{KEY_1}", "A", "B", "KEY_1", " ", "\"", "\\", "\n", "\t", "\u0001",
        "é", "€", "😀", "x", "/", "<", "'", "\u2028");

    private static readonly Gen<string> Text = Fragment.Array[0, 12].Select(string.Concat);

    private static readonly Gen<string> AnyText = Gen.OneOf(Text, Gen.String, Gen.String["$Token{}Secret AB_1"]);

    private static readonly Gen<string> ValidUtf16Text = Gen.OneOf(Text, Gen.String.Where(IsValidUtf16));

    private static readonly Gen<string> PropertyName = Gen.OneOf("a", "X-API-Key", "odd name", "it's", "back\\slash", "", "$Token{A}", "é", "k_1");

    private static readonly Gen<string> Scalar = Gen.Frequency(
        (6, (IGen<string>)Gen.Select(Text, Gen.Int[0, 2], Quote)),
        (1, Gen.Int.Select(i => i.ToString(CultureInfo.InvariantCulture))),
        (1, Gen.OneOf("true", "false", "null", "1.5e3", "-0.25")));

    private static readonly Gen<string> Json = JsonText(3);

    [GeneratedRegex(@"\A[A-Za-z0-9_]{1,50}\z")]
    private static partial Regex KeyPattern();

    [Fact]
    public void Escaping_round_trips_any_text()
    {
        AnyText.Sample(text =>
        {
            var escaped = ReferenceText.Escape(text);
            Assert.Empty(ReferenceText.Find(escaped));
            Assert.Equal(text, ReferenceText.Substitute(escaped, NoValues));
        }, iter: 5000);
    }

    [Fact]
    public void Escaping_round_trips_any_text_inside_a_json_document()
    {
        Gen.Select(ValidUtf16Text, Gen.Int[0, 2]).Sample((text, mode) =>
        {
            var json = "{\"v\":[" + Quote(ReferenceText.Escape(text), mode) + "]}";
            var doc = ReferenceScanner.Scan(Encoding.UTF8.GetBytes(json));
            Assert.Empty(doc.References);
            Assert.Empty(doc.Malformed);
            Assert.Equal(text, (string?)JsonNode.Parse(doc.Substitute(NoValues))!["v"]![0]);
        }, iter: 3000);
    }

    [Fact]
    public void Resolution_never_half_substitutes()
    {
        var keys = Gen.OneOf("$Token{GOOD1}", "$Secret{GOOD2}", "$Token{MISSING}", "$Token{REVOKED}", "$Token{WRONG_ENV}", "$Token{EXPIRED}", "$Token{", "$Token{}", "$Token{a b}", "x", " ", "}");
        var strings = keys.Array[0, 6].Select(string.Concat).Array[0, 8];
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        var engine = new ResolutionEngine(time);
        var failing = new HashSet<string>(["MISSING", "REVOKED", "WRONG_ENV", "EXPIRED"], StringComparer.Ordinal);

        Check.SampleAsync(strings, async values =>
        {
            var lookup = new FakeSecretLookup()
                .Add("GOOD1", "one")
                .Add("GOOD2", "two \"quoted\"")
                .Add("REVOKED", "r", revoked: true)
                .Add("WRONG_ENV", "w", envs: ["dev"])
                .Add("EXPIRED", "e", expiresAt: time.GetUtcNow());
            var json = JsonSerializer.Serialize(values, Relaxed);
            var doc = ReferenceScanner.Scan(Encoding.UTF8.GetBytes(json));
            var found = values.SelectMany(ReferenceText.Find).ToList();
            var expectedFailures = found.Count(f => f.IsMalformed || failing.Contains(f.Key!));

            var outcome = await engine.ResolveAsync(doc, new ResolutionTarget("app", "prd"), lookup, CancellationToken.None);

            if (expectedFailures > 0)
            {
                Assert.False(outcome.IsSuccess);
                Assert.Null(outcome.Document);
                Assert.Empty(outcome.Values);
                Assert.Equal(expectedFailures, outcome.Errors.Count);
                Assert.Equal(0, lookup.DecryptCalls);
            }
            else
            {
                Assert.True(outcome.IsSuccess);
                Assert.Empty(outcome.Errors);
                Assert.Equal(found.Count, outcome.Resolved.Count);
                var again = ReferenceScanner.Scan(outcome.Document);
                Assert.Empty(again.References);
                Assert.Empty(again.Malformed);
            }
        }, iter: 1000);
    }

    [Fact]
    public void Substituted_values_are_never_expanded_again()
    {
        var references = Gen.OneOf("$Token{A}", "$Secret{B}", "$Token{KEY_1}", "x", " ", "$$Token{A}").Array[1, 6].Select(string.Concat);
        Gen.Select(references, Text, Text, Text).Sample((template, a, b, k) =>
        {
            var values = new Dictionary<string, string>(StringComparer.Ordinal) { ["A"] = a, ["B"] = b, ["KEY_1"] = k };
            var doc = ReferenceScanner.Scan(Encoding.UTF8.GetBytes(JsonSerializer.Serialize(new[] { template }, Relaxed)));
            var output = JsonNode.Parse(doc.Substitute(Wrap(values)))![0]!.GetValue<string>();
            Assert.Equal(SlowResolve(template, values), output);
            Assert.Equal(SlowResolve(template, values), ReferenceText.Substitute(template, Wrap(values)));
        }, iter: 3000);
    }

    [Fact]
    public void Scan_throws_only_invalid_document_for_random_bytes()
    {
        Gen.Byte.Array[0, 64].Sample(bytes => ScanOrInvalid(bytes), iter: 20000);
        Gen.String["{}[]\":,0123456789.eE+-tfnrulas\\ $Token{A}"].Sample(text => ScanOrInvalid(Encoding.UTF8.GetBytes(text)), iter: 20000);
    }

    [Fact]
    public void Scan_throws_only_invalid_document_for_mutated_json()
    {
        Gen.Select(Json, Mutations.Edits).Sample((json, edits) => ScanOrInvalid(Mutations.Apply(json, edits)), iter: 5000);
    }

    [Fact]
    public void Reference_text_never_throws_for_any_string()
    {
        AnyText.Sample(text =>
        {
            var found = ReferenceText.Find(text);
            _ = ReferenceText.HasReferenceSyntax(text);
            _ = ReferenceText.Escape(text);
            var values = found.Where(f => !f.IsMalformed).Select(f => f.Key!).Distinct(StringComparer.Ordinal)
                .ToDictionary(k => k, _ => new SecretValue("v"), StringComparer.Ordinal);
            if (found.Any(f => f.IsMalformed))
            {
                Assert.Throws<InvalidOperationException>(() => ReferenceText.Substitute(text, values));
            }
            else
            {
                _ = ReferenceText.Substitute(text, values);
            }

            foreach (var f in found)
            {
                Assert.True(f.Index >= 0 && f.Index + f.Length <= text.Length);
                Assert.True(f.Key is null || f.Key.Length <= text.Length);
            }
        }, iter: 5000);
    }

    [Fact]
    public void Substitute_output_is_json_that_matches_a_slow_model()
    {
        Gen.Select(Json, ValidUtf16Text, ValidUtf16Text, ValidUtf16Text).Sample((json, a, b, k) =>
        {
            var values = new Dictionary<string, string>(StringComparer.Ordinal) { ["A"] = a, ["B"] = b, ["KEY_1"] = k };
            var doc = ReferenceScanner.Scan(Encoding.UTF8.GetBytes(json));
            var expected = SlowResolveDocument(JsonNode.Parse(json), values, out var refCount, out var fails);
            Assert.Equal(refCount, doc.References.Count);
            if (fails)
            {
                Assert.Throws<InvalidOperationException>(() => doc.Substitute(Wrap(values)));
                return;
            }

            var output = doc.Substitute(Wrap(values));
            var actual = JsonNode.Parse(output);
            Assert.True(JsonNode.DeepEquals(expected, actual), $"expected {expected?.ToJsonString()} got {Encoding.UTF8.GetString(output)}");
            if (!doc.HasRewrites)
            {
                Assert.Equal(json, Encoding.UTF8.GetString(output));
            }
        }, iter: 3000);
    }

    private static void ScanOrInvalid(byte[] bytes)
    {
        ScannedDocument doc;
        try
        {
            doc = ReferenceScanner.Scan(bytes);
        }
        catch (InvalidDocumentException)
        {
            return;
        }

        // Whatever was accepted substitutes into a document that parses again.
        if (doc.Malformed.Count == 0)
        {
            var values = doc.Keys.ToDictionary(k => k, k => new SecretValue("\"v\\\n" + k), StringComparer.Ordinal);
            using var parsed = JsonDocument.Parse(doc.Substitute(values));
        }
    }

    private static Gen<string> JsonText(int depth)
    {
        if (depth == 0)
        {
            return Scalar;
        }

        var child = JsonText(depth - 1);
        var obj = Gen.Select(PropertyName, child).Array[0, 4].Select(members =>
            "{" + string.Join(",", members.Select((m, i) => Quote(m.Item1 + i.ToString(CultureInfo.InvariantCulture), i % 3) + ":" + m.Item2)) + "}");
        var arr = child.Array[0, 4].Select(items => "[ " + string.Join(", ", items) + " ]");
        return Gen.Frequency((3, (IGen<string>)Scalar), (1, obj), (1, arr));
    }

    /// <summary>JSON string literal in one of three styles: minimal escaping, default (heavy) escaping, or every <c>$</c> as <c>\u0024</c>.</summary>
    private static string Quote(string text, int mode) => mode switch
    {
        0 => JsonSerializer.Serialize(text, Relaxed),
        1 => JsonSerializer.Serialize(text, Strict),
        _ => JsonSerializer.Serialize(text, Relaxed).Replace("$", "\\u0024", StringComparison.Ordinal),
    };

    private static Dictionary<string, SecretValue> Wrap(Dictionary<string, string> values) =>
        values.ToDictionary(p => p.Key, p => new SecretValue(p.Value), StringComparer.Ordinal);

    private static JsonNode? SlowResolveDocument(JsonNode? node, Dictionary<string, string> values, out int references, out bool fails)
    {
        var count = 0;
        var failed = false;
        JsonNode? Walk(JsonNode? n)
        {
            switch (n)
            {
                case JsonObject o:
                    var copy = new JsonObject();
                    foreach (var (name, value) in o)
                    {
                        copy[name] = Walk(value);
                    }

                    return copy;
                case JsonArray a:
                    var array = new JsonArray();
                    foreach (var item in a)
                    {
                        array.Add(Walk(item));
                    }

                    return array;
                case JsonValue v when v.GetValueKind() == JsonValueKind.String:
                    var s = v.GetValue<string>();
                    var resolved = SlowResolve(s, values, out var refs);
                    count += refs;
                    failed |= resolved is null;
                    return JsonValue.Create(resolved ?? s);
                default:
                    return n?.DeepClone();
            }
        }

        var result = Walk(node);
        references = count;
        fails = failed;
        return result;
    }

    private static string? SlowResolve(string s, Dictionary<string, string> values) => SlowResolve(s, values, out _);

    /// <summary>A deliberately naive implementation of SPEC §2, independent of the production grammar. Null when resolution must fail.</summary>
    private static string? SlowResolve(string s, Dictionary<string, string> values, out int references)
    {
        references = 0;
        var failed = false;
        var sb = new StringBuilder();
        var i = 0;
        while (i < s.Length)
        {
            var rest = s[i..];
            if (rest.StartsWith("$$Token{", StringComparison.Ordinal) || rest.StartsWith("$$Secret{", StringComparison.Ordinal))
            {
                var literal = rest.StartsWith("$$Token{", StringComparison.Ordinal) ? "$Token{" : "$Secret{";
                sb.Append(literal);
                i += literal.Length + 1;
                continue;
            }

            var prefix = rest.StartsWith("$Token{", StringComparison.Ordinal) ? "$Token{" : rest.StartsWith("$Secret{", StringComparison.Ordinal) ? "$Secret{" : null;
            if (prefix is null)
            {
                sb.Append(s[i]);
                i++;
                continue;
            }

            var close = s.IndexOf('}', i + prefix.Length);
            if (close < 0)
            {
                return null;
            }

            var key = s[(i + prefix.Length)..close];
            if (!KeyPattern().IsMatch(key))
            {
                failed = true;
            }
            else
            {
                references++;
                if (values.TryGetValue(key, out var value))
                {
                    sb.Append(value);
                }
                else
                {
                    failed = true;
                }
            }

            i = close + 1;
        }

        return failed ? null : sb.ToString();
    }

    private static bool IsValidUtf16(string s)
    {
        for (var i = 0; i < s.Length; i++)
        {
            if (char.IsHighSurrogate(s[i]) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1]))
            {
                i++;
            }
            else if (char.IsSurrogate(s[i]))
            {
                return false;
            }
        }

        return true;
    }
}

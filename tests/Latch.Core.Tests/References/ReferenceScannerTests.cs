using System.Buffers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Latch.Core.References;
using Latch.Core.Secrets;

namespace Latch.Core.Tests.References;

public sealed class ReferenceScannerTests
{
    private static ScannedDocument Scan(string json, int maxDepth = ReferenceScanner.DefaultMaxDepth) =>
        ReferenceScanner.Scan(Encoding.UTF8.GetBytes(json), maxDepth);

    private static Dictionary<string, SecretValue> Values(params (string Key, string Value)[] pairs) =>
        pairs.ToDictionary(p => p.Key, p => new SecretValue(p.Value), StringComparer.Ordinal);

    private static string Resolve(string json, params (string Key, string Value)[] pairs) =>
        Encoding.UTF8.GetString(Scan(json).Substitute(Values(pairs)));

    [Fact]
    public void References_at_any_depth_are_found_with_their_json_paths()
    {
        var doc = Scan("""
            {"envs":[{"app_env_slug":"prd","auth":[{"auth_tag":"t","data":{"api_key":"$Token{STRIPE_KEY}"}}]}],
             "headers":{"X-API-Key":"$Secret{OTHER}"}}
            """);
        Assert.Equal(
            [new FoundReference("$.envs[0].auth[0].data.api_key", "STRIPE_KEY"), new FoundReference("$.headers.X-API-Key", "OTHER")],
            doc.References);
        Assert.Empty(doc.Malformed);
        Assert.True(doc.HasRewrites);
    }

    [Fact]
    public void Property_names_are_never_scanned()
    {
        var doc = Scan("""{"$Token{NAME}":"x","$Token{":1}""");
        Assert.Empty(doc.References);
        Assert.Empty(doc.Malformed);
        Assert.False(doc.HasRewrites);
    }

    [Fact]
    public void Several_references_in_one_string_each_get_an_entry()
    {
        var doc = Scan("""{"url":"https://$Token{HOST}/v1?k=$Token{KEY}&h=$Token{HOST}"}""");
        Assert.Equal(["HOST", "KEY", "HOST"], doc.References.Select(r => r.Key));
        Assert.All(doc.References, r => Assert.Equal("$.url", r.Path));
        Assert.Equal(["HOST", "KEY"], doc.Keys);
    }

    [Theory]
    [InlineData("""{"a b":"$Token{K}"}""", "$['a b']")]
    [InlineData("""{"it's":"$Token{K}"}""", @"$['it\'s']")]
    [InlineData("""{"back\\slash":"$Token{K}"}""", @"$['back\\slash']")]
    [InlineData("""{"":"$Token{K}"}""", "$['']")]
    [InlineData("""{"clé":"$Token{K}"}""", "$['clé']")]
    [InlineData("""{"a.b":"$Token{K}"}""", "$['a.b']")]
    [InlineData("""{"x_y-Z9":"$Token{K}"}""", "$.x_y-Z9")]
    [InlineData("""{"\u0041\u0042":"$Token{K}"}""", "$.AB")]
    [InlineData("""["$Token{K}"]""", "$[0]")]
    [InlineData("""[[1,[2,"$Token{K}"]]]""", "$[0][1][1]")]
    [InlineData("\"$Token{K}\"", "$")]
    public void Paths_use_dots_for_simple_names_and_brackets_otherwise(string json, string path)
    {
        Assert.Equal(path, Assert.Single(Scan(json).References).Path);
    }

    [Fact]
    public void Paths_follow_siblings_after_nested_containers()
    {
        var doc = Scan("""
            [0, {"a":"$Token{A}", "n":{"deep":[1,2]}, "b":"$Token{B}"}, ["x", "$Token{C}"], {"c":{"d":"$Token{D}"}}, "$Token{E}"]
            """);
        Assert.Equal(["$[1].a", "$[1].b", "$[2][1]", "$[3].c.d", "$[4]"], doc.References.Select(r => r.Path));
    }

    [Fact]
    public void Long_and_deep_paths_are_built_in_full()
    {
        var longName = new string('n', 300);
        Assert.Equal("$." + longName + "[0]", Assert.Single(Scan("{\"" + longName + "\":[\"$Token{K}\"]}").References).Path);

        var deep = string.Concat(Enumerable.Repeat("{\"a\":", 80)) + "\"$Token{K}\"" + new string('}', 80);
        var path = Assert.Single(ReferenceScanner.Scan(Encoding.UTF8.GetBytes(deep), maxDepth: 100).References).Path;
        Assert.Equal("$" + string.Concat(Enumerable.Repeat(".a", 80)), path);
    }

    [Fact]
    public void Json_escapes_in_a_string_are_decoded_before_scanning()
    {
        var doc = Scan("""{"a":"\u0024Token{A}","b":"\"$Token{B}\"\n"}""");
        Assert.Equal(["A", "B"], doc.References.Select(r => r.Key));
    }

    [Theory]
    [InlineData("""{"headers":{"X-Key":"$Token{A"}}""", "Malformed secret reference at $.headers.X-Key: missing closing brace", "A")]
    [InlineData("""{"headers":{"X-Key":"$Token{}"}}""", "Malformed secret reference at $.headers.X-Key: empty key", null)]
    [InlineData("""{"headers":{"X-Key":"$Token{A B}"}}""", "Malformed secret reference at $.headers.X-Key: invalid character ' ' in key 'A B'", "A B")]
    [InlineData("""{"headers":{"X-Key":"$Token{AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA}"}}""", "Malformed secret reference at $.headers.X-Key: key longer than 50 characters", null)]
    public void Malformed_references_report_code_path_key_and_exact_message(string json, string message, string? key)
    {
        var doc = Scan(json);
        Assert.Empty(doc.References);
        var error = Assert.Single(doc.Malformed);
        Assert.Equal(new ReferenceError("$.headers.X-Key", key, ReferenceCodes.Malformed, message), error);
    }

    [Fact]
    public void Every_malformed_reference_is_listed()
    {
        var doc = Scan("""["$Token{}", {"a":"$Secret{x y} $Token{OK} $Token{"}]""");
        Assert.Equal(["$[0]", "$[1].a", "$[1].a"], doc.Malformed.Select(m => m.Path));
        Assert.Equal("OK", Assert.Single(doc.References).Key);
    }

    [Theory]
    [InlineData("""{"secret": sk_live_123}""")]
    [InlineData("""{"a":"sk_live_123" """)]
    [InlineData("""{"a":"sk_live_123"} trailing_sk_live""")]
    [InlineData("""{"a":"sk_live_123",}""")]
    [InlineData("""// sk_live_123""")]
    [InlineData("")]
    [InlineData("   ")]
    public void Invalid_json_throws_without_quoting_the_document(string json)
    {
        var ex = Assert.Throws<InvalidDocumentException>(() => Scan(json));
        Assert.DoesNotContain("sk_live", ex.Message, StringComparison.Ordinal);
        Assert.Contains("byte offset", ex.Message, StringComparison.Ordinal);
        Assert.Null(ex.InnerException);
    }

    [Fact]
    public void Trailing_content_is_reported_with_its_offset_and_line()
    {
        var ex = Assert.Throws<InvalidDocumentException>(() => Scan("{\"a\":1}\n  x"));
        Assert.Equal(10, ex.ByteOffset);
        Assert.Equal(2, ex.LineNumber);
        Assert.Contains("after the JSON value", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Invalid_utf8_throws()
    {
        var bytes = new byte[] { (byte)'"', 0xC3, (byte)'"' };
        var ex = Assert.Throws<InvalidDocumentException>(() => ReferenceScanner.Scan(bytes));
        Assert.Equal(1, ex.ByteOffset);
    }

    [Fact]
    public void Nesting_up_to_the_maximum_depth_is_accepted_and_deeper_is_refused()
    {
        static string Nested(int depth) => new string('[', depth - 1) + "[\"$Token{K}\"]" + new string(']', depth - 1);
        Assert.Single(Scan(Nested(5), maxDepth: 5).References);
        var ex = Assert.Throws<InvalidDocumentException>(() => Scan(Nested(6), maxDepth: 5));
        Assert.Contains("deeper than 5", ex.Message, StringComparison.Ordinal);
        Assert.Single(Scan(Nested(64)).References);
        Assert.Throws<InvalidDocumentException>(() => Scan(Nested(65)));
    }

    [Fact]
    public void Escaped_lone_surrogate_next_to_a_reference_is_an_invalid_document()
    {
        Assert.Throws<InvalidDocumentException>(() => Scan("""["\ud800 $Token{A}"]"""));
    }

    [Fact]
    public void Substitute_replaces_references_and_keeps_everything_else_byte_for_byte()
    {
        const string json = """
            {
              "n": 1.50e3, "t": true, "z": null,
              "s": "caf\u00e9 \n",
              "auth": "Bearer $Token{A}", "list": [ "$Secret{B}", {"k":"$Token{A}-$Token{B}"} ]
            }
            """;
        var expected = json.Replace("$Token{A}", "va", StringComparison.Ordinal).Replace("$Secret{B}", "vb", StringComparison.Ordinal).Replace("$Token{B}", "vb", StringComparison.Ordinal);
        Assert.Equal(expected, Resolve(json, ("A", "va"), ("B", "vb")));
    }

    [Fact]
    public void Substitute_json_escapes_values_so_they_round_trip_exactly()
    {
        const string value = "q\"uote \\ back\nline\ttab \u0001 é € 😀 </script> $Token{B}";
        var output = Resolve("""{"a":"<$Token{A}>","b":"\t$Token{A}"}""", ("A", value));
        var node = JsonNode.Parse(output)!;
        Assert.Equal("<" + value + ">", (string?)node["a"]);
        Assert.Equal("\t" + value, (string?)node["b"]);
    }

    [Fact]
    public void Substitute_turns_escapes_into_literals_even_without_references()
    {
        var doc = Scan("""{"a":"$$Token{A}","b":"\u0024$Secret{B}"}""");
        Assert.Empty(doc.References);
        Assert.True(doc.HasRewrites);
        var node = JsonNode.Parse(doc.Substitute(Values()))!;
        Assert.Equal("$Token{A}", (string?)node["a"]);
        Assert.Equal("$Secret{B}", (string?)node["b"]);
    }

    [Fact]
    public void Substitute_of_a_document_without_references_copies_it()
    {
        const string json = """{"a" : [1, "x$y"] }""";
        Assert.Equal(json, Resolve(json));
    }

    [Fact]
    public void Substitute_refuses_a_missing_key_and_writes_nothing()
    {
        var doc = Scan("""["$Token{A}", "$Token{B}"]""");
        var output = new ArrayBufferWriter<byte>();
        var ex = Assert.Throws<InvalidOperationException>(() => doc.Substitute(Values(("A", "topsecret")), output));
        Assert.Contains("'B'", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("topsecret", ex.Message, StringComparison.Ordinal);
        Assert.Equal(0, output.WrittenCount);
    }

    [Fact]
    public void Substitute_refuses_a_document_with_malformed_references()
    {
        var doc = Scan("""["$Token{A}", "$Token{"]""");
        var output = new ArrayBufferWriter<byte>();
        Assert.Throws<InvalidOperationException>(() => doc.Substitute(Values(("A", "v")), output));
        Assert.Equal(0, output.WrittenCount);
    }

    [Fact]
    public void Substitute_into_a_buffer_writer_with_small_segments_gives_the_same_bytes()
    {
        var doc = Scan("""{"a":"x $Token{A} y","b":[1,2,3,"$$Token{Z}"],"c":"$Token{A}"}""");
        var values = Values(("A", "value-with-\"quote\""));
        var expected = doc.Substitute(values);
        var writer = new TinySegmentWriter();
        doc.Substitute(values, writer);
        Assert.Equal(expected, writer.Written.ToArray());
        JsonNode.Parse(expected);
    }

    [Fact]
    public void Substituted_escaped_strings_keep_their_other_characters()
    {
        var output = Resolve("""{"a":"line1\nq\"$Token{A}\u00e9\\"}""", ("A", "V"));
        Assert.Equal("line1\nq\"V\u00e9\\", (string?)JsonNode.Parse(output)!["a"]);
    }

    [Fact]
    public void Keys_are_distinct_in_order_of_first_appearance()
    {
        var doc = Scan("""["$Token{B}", "$Token{A}", "$Secret{B}", "$Token{C}"]""");
        Assert.Equal(["B", "A", "C"], doc.Keys);
        Assert.Equal(4, doc.References.Count);
    }

    [Fact]
    public void Output_is_valid_json_for_a_minified_document()
    {
        const string json = """{"a":"$Token{A}","b":{"c":["$Token{A}",1]}}""";
        using var parsed = JsonDocument.Parse(Resolve(json, ("A", "v")));
        Assert.Equal("v", parsed.RootElement.GetProperty("b").GetProperty("c")[0].GetString());
    }

    /// <summary>An <see cref="IBufferWriter{T}"/> that hands out at most 3 bytes at a time.</summary>
    private sealed class TinySegmentWriter : IBufferWriter<byte>
    {
        private readonly byte[] _chunk = new byte[3];

        public List<byte> Written { get; } = [];

        public void Advance(int count) => Written.AddRange(_chunk.AsSpan(0, count).ToArray());

        public Memory<byte> GetMemory(int sizeHint = 0) => _chunk;

        public Span<byte> GetSpan(int sizeHint = 0) => _chunk;
    }
}

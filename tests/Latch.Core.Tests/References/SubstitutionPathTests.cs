using System.Buffers;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using CsCheck;
using Latch.Core.References;
using Latch.Core.Secrets;

namespace Latch.Core.Tests.References;

/// <summary>
/// The shortcuts of scanning and substitution against the general paths: strings that only need their references
/// spliced in (not read again), one output span for a small document, values encoded once, and <c>\u</c> escapes
/// that the tokenizer does not read.
/// </summary>
public sealed class SubstitutionPathTests
{
    private static readonly JsonSerializerOptions Relaxed = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private static readonly Gen<string> Fragment = Gen.OneOf(
        "$Token{A}", "$Secret{B}", "$Token{KEY_1}", "$$Token{A}", "$$Secret{", "$", "$$", "{", "}", "x", " ", "\"", "\\",
        "\n", "é", "😀", "$Token{", "$Token{A B}");

    private static readonly Gen<string> Text = Fragment.Array[0, 8].Select(string.Concat);

    private static readonly Gen<string> Value = Gen.OneOf(Gen.Const(""), Gen.Const("plain"), Gen.Const("q\"b\\c\n\u0001"), Gen.Const("é😀"), Gen.String.Where(IsValidUtf16));

    [Theory]
    [InlineData("$Token{A}")]
    [InlineData("pre $Token{A}")]
    [InlineData("$Token{A} post")]
    [InlineData("a $Token{A} b $Secret{B} c")]
    [InlineData("$Token{A}$Token{A}$Secret{B}")]
    [InlineData("$$Token{A} $Token{A}")] // an escape: read again, not spliced
    [InlineData("$ $Token{A} $")]
    [InlineData("é $Token{KEY_1} 😀")]
    public void Spliced_strings_match_the_text_model(string text)
    {
        var values = Values(("A", "v\"1"), ("B", "é\n"), ("KEY_1", ""));
        foreach (var style in new[] { Relaxed, new JsonSerializerOptions() })
        {
            AssertMatchesModel(text, values, style);
        }
    }

    [Fact]
    public void Any_string_substitutes_as_the_text_model_says()
    {
        Gen.Select(Text, Text, Value, Value, Gen.Bool).Sample((a, b, va, vb, strict) =>
        {
            var text = a + "|" + b;
            if (HasMalformed(text))
            {
                return;
            }

            // Every key the text references (the two halves may form one more between them).
            var values = new Dictionary<string, SecretValue>(StringComparer.Ordinal);
            foreach (var found in ReferenceText.Find(text))
            {
                values.TryAdd(found.Key!, new SecretValue(values.Count % 2 == 0 ? va : vb));
            }

            AssertMatchesModel(text, values, strict ? new JsonSerializerOptions() : Relaxed);
        }, iter: 3000);
    }

    [Theory]
    [InlineData(ScannedDocument.SingleSpanLimit - 4096)]
    [InlineData(ScannedDocument.SingleSpanLimit + 4096)]
    public void Every_writer_gets_the_same_bytes_below_and_above_the_single_span_limit(int size)
    {
        var sb = new StringBuilder("[\"$Token{A}\",\"x \\u00e9 $Token{B} \\\"\",\"$$Token{A}\"");
        while (sb.Length < size)
        {
            sb.Append(",\"filler text\",\"a $Token{A} b\"");
        }

        sb.Append(",\"end $Secret{B}\"]");
        var doc = ReferenceScanner.Scan(Encoding.UTF8.GetBytes(sb.ToString()));
        var values = Values(("A", "v\"\u0001é"), ("B", "plain"));
        var expected = doc.Substitute(values);
        JsonNode.Parse(expected);

        var big = new ArrayBufferWriter<byte>(1);
        doc.Substitute(values, big);
        Assert.Equal(expected, big.WrittenSpan.ToArray());

        var small = new SegmentWriter(1024);
        doc.Substitute(values, small);
        Assert.Equal(expected, small.Written.ToArray());

        // The same through the engine's own values (by key index, not by name).
        var keyed = new KeyedValues(doc.Keys, [.. doc.Keys.Select(k => values[k])]);
        Assert.Equal(expected, doc.Substitute(keyed));
        var keyedWriter = new ArrayBufferWriter<byte>(1);
        doc.Substitute(keyed, keyedWriter);
        Assert.Equal(expected, keyedWriter.WrittenSpan.ToArray());
    }

    [Theory]
    [InlineData(1)]
    [InlineData(32)] // the most keys whose ranges stay on the stack
    [InlineData(33)]
    [InlineData(80)]
    public void Any_number_of_keys_substitutes_each_value_in_its_place(int keys)
    {
        var json = "[" + string.Join(",", Enumerable.Range(0, keys).Select(k => $"\"k{k}=$Token{{K{k}}}\",\"$Secret{{K{k}}}\"")) + "]";
        var doc = ReferenceScanner.Scan(Encoding.UTF8.GetBytes(json));
        var values = Enumerable.Range(0, keys).ToDictionary(k => $"K{k}", k => new SecretValue(k % 2 == 0 ? $"v{k}" : $"\"v{k}\""), StringComparer.Ordinal);
        var keyed = new KeyedValues(doc.Keys, [.. doc.Keys.Select(k => values[k])]);
        foreach (IReadOnlyDictionary<string, SecretValue> given in new IReadOnlyDictionary<string, SecretValue>[] { values, keyed })
        {
            var output = doc.Substitute(given);
            var writer = new ArrayBufferWriter<byte>(1);
            doc.Substitute(given, writer);
            Assert.Equal(output, writer.WrittenSpan.ToArray());
            var array = JsonNode.Parse(output)!.AsArray();
            for (var k = 0; k < keys; k++)
            {
                Assert.Equal($"k{k}=" + values[$"K{k}"].Reveal(), (string?)array[2 * k]);
                Assert.Equal(values[$"K{k}"].Reveal(), (string?)array[(2 * k) + 1]);
            }
        }
    }

    [Theory]
    [InlineData("\"\\u2014 $Token{A}\"", 1)]
    [InlineData("\"\\u0024Token{A}\"", 1)]
    [InlineData("\"\\u0025Token{A}\"", 0)]
    [InlineData("[\"\\u2014\",\"\\uE000\",\"\\uD7FF\",\"\\u0041\"]", 0)]
    [InlineData("[\"\\uD83D\\uDE00\",\"\\ud83d\\ude00 $Token{A}\"]", 1)]
    public void Unicode_escapes_scan_the_same_either_way(string json, int references)
    {
        var bytes = Encoding.UTF8.GetBytes(json);
        var fast = ReferenceScanner.Scan(bytes);
        var reader = ReferenceScanner.ScanWithReader(bytes);
        Assert.Equal(references, fast.References.Count);
        Assert.Equal(reader.References, fast.References);
        Assert.True(ReferenceScanner.FastPathAccepts(bytes));
    }

    [Theory]
    [InlineData("[\"\\uD800\"]")]
    [InlineData("[\"\\udbff\"]")]
    [InlineData("[\"\\uDC00\"]")]
    [InlineData("[\"\\uDfFf x\"]")]
    [InlineData("[\"\\ude00\\ud83d\"]")]
    [InlineData("{\"a\":[\"ok\",\"\\u2014\\uD800\"]}")]
    public void Unpaired_surrogate_escapes_are_still_rejected(string json)
    {
        var bytes = Encoding.UTF8.GetBytes(json);
        var fast = Assert.Throws<InvalidDocumentException>(() => ReferenceScanner.Scan(bytes));
        var reader = Assert.Throws<InvalidDocumentException>(() => ReferenceScanner.ScanWithReader(bytes));
        Assert.Equal(reader.Message, fast.Message);
        Assert.Contains("escapes an invalid UTF-16 sequence", fast.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("no_escape_needed_pooled_marker")]
    [InlineData("needs \"escaping\" _pooled_marker")]
    public void No_pooled_buffer_keeps_a_value_whether_or_not_it_was_escaped(string value)
    {
        var document = ReferenceScanner.Scan(Encoding.UTF8.GetBytes("""{"a":"$Token{K}","b":["x $Token{L} y"]}"""));
        var values = Values(("K", value), ("L", "other"));
        Assert.Contains("_pooled_marker", Encoding.UTF8.GetString(document.Substitute(values)), StringComparison.Ordinal);
        document.Substitute(values, new ArrayBufferWriter<byte>(1));

        PooledValueTests.AssertNoPooledBufferHolds("_pooled_marker");
    }

    private static void AssertMatchesModel(string text, Dictionary<string, SecretValue> values, JsonSerializerOptions style)
    {
        var json = "{\"s\":" + JsonSerializer.Serialize(text, style) + ",\"n\":[1,\"plain\"]}";
        var doc = ReferenceScanner.Scan(Encoding.UTF8.GetBytes(json));
        var expected = ReferenceText.Substitute(text, values);
        var output = doc.Substitute(values);
        Assert.Equal(expected, (string?)JsonNode.Parse(output)!["s"]);
        var writer = new ArrayBufferWriter<byte>(1);
        doc.Substitute(values, writer);
        Assert.Equal(output, writer.WrittenSpan.ToArray());
        var tiny = new SegmentWriter(3);
        doc.Substitute(values, tiny);
        Assert.Equal(output, tiny.Written.ToArray());
    }

    private static bool IsValidUtf16(string text) => Encoding.UTF8.GetString(Encoding.UTF8.GetBytes(text)) == text;

    private static bool HasMalformed(string text) => ReferenceText.Find(text).Any(f => f.MalformedReason is not null);

    private static Dictionary<string, SecretValue> Values(params (string Key, string Value)[] pairs) =>
        pairs.ToDictionary(p => p.Key, p => new SecretValue(p.Value), StringComparer.Ordinal);

    /// <summary>An <see cref="IBufferWriter{T}"/> that hands out at most a fixed number of bytes at a time.</summary>
    private sealed class SegmentWriter(int size) : IBufferWriter<byte>
    {
        private readonly byte[] _chunk = new byte[size];

        public List<byte> Written { get; } = [];

        public void Advance(int count) => Written.AddRange(_chunk.AsSpan(0, count).ToArray());

        public Memory<byte> GetMemory(int sizeHint = 0) => _chunk;

        public Span<byte> GetSpan(int sizeHint = 0) => _chunk;
    }
}

using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using CsCheck;
using Latch.Core.References;
using Latch.Core.Secrets;

namespace Latch.Core.Tests.References;

/// <summary>
/// The scanner's own tokenizer against the <see cref="Utf8JsonReader"/> scan it falls back to: for any bytes, the same
/// document (references, paths, malformed references, keys, substitution) or the same error.
/// </summary>
public sealed class FastScanTests
{
    private static readonly JsonSerializerOptions Relaxed = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private static readonly Gen<string> Fragment = Gen.OneOf(
        "$Token{", "$Secret{", "$$Token{", "$Token{A}", "$Secret{B}", "$Token{KEY_1}", "$Token{A B}", "$Token{}", "$", "{", "}",
        "x", " ", "\"", "\\", "\n", "\u0001", "é", "😀", "\u2028");

    private static readonly Gen<string> Text = Fragment.Array[0, 6].Select(string.Concat);

    /// <summary>JSON-ish pieces: the scalars, separators and escapes a tokenizer must get exactly right.</summary>
    private static readonly Gen<string> Token = Gen.OneOf(
        "{", "}", "[", "]", ",", ":", " ", "\n", "\t", "\r", "\f", "\u00a0", "\"a\"", "\"$Token{A}\"", "\"\\u0024Token{B}\"",
        "\"\\ud800\"", "\"\\ud800$Token{A}\"", "\"\\udc00\\ud800\"", "\"\\uD83D\\uDE00 $Token{A}\"", "\"\\x\"", "\"\\u12\"", "\"\\u12G4\"",
        "\"\\/\\b\\f\\n\\r\\t\\\"\\\\\"", "\"", "\"\t\"", "0", "-0", "01", "1.", "1.5", ".5", "1e5", "1E+5", "1e-5", "1e", "-", "+1",
        "-01", "1.5e", "00", "123456789012345678901234567890", "true", "false", "null", "tru", "nul", "True", "NaN", "Infinity",
        "//", "/* */", "\ufeff", "'a'", "\"\\u0041\\u0042\"", "\"\\ud800\":\"$Token{A}\"", "\"k\":", "\"k\":\"$Token{A}\"");

    private static readonly Gen<string> Soup = Token.Array[0, 16].Select(string.Concat);

    private static readonly Gen<string> Json = JsonText(3);

    [Fact]
    public void Generated_documents_scan_the_same()
    {
        Json.Sample(json => AssertSame(Encoding.UTF8.GetBytes(json)), iter: 5000);
    }

    [Fact]
    public void Token_soup_scans_the_same()
    {
        Soup.Sample(text => AssertSame(Encoding.UTF8.GetBytes(text)), iter: 30000);
        Gen.String["{}[]\":,0123456789.eE+-tfnrulas\\ $Token{A}u"].Sample(text => AssertSame(Encoding.UTF8.GetBytes(text)), iter: 20000);
    }

    [Fact]
    public void Random_and_mutated_bytes_scan_the_same()
    {
        Gen.Byte.Array[0, 64].Sample(AssertSame, iter: 20000);
        Gen.Select(Json, Mutations.Edits).Sample((json, edits) => AssertSame(Mutations.Apply(json, edits)), iter: 10000);
    }

    [Theory]
    [InlineData("\ufeff{\"a\":\"$Token{A}\"}")]
    [InlineData("{\"\\ud800\":{\"x\":\"$Token{A}\"}}")]
    [InlineData("{\"\\ud800\":{\"x\":\"plain\"}}")]
    [InlineData("[\"\\ud800\"]")]
    [InlineData("[\"\\ud800 $Token{A}\"]")]
    [InlineData("{\"a\":[1,2,{\"b\":\"$Token{A}\"},\"$Token{B\"]}")]
    [InlineData("  \"$Token{A}\"  ")]
    [InlineData("[1,]")]
    [InlineData("{\"a\":1,}")]
    [InlineData("[1 2]")]
    [InlineData("{\"a\" 1}")]
    [InlineData("{\"a\":1}{}")]
    [InlineData("[-]")]
    [InlineData("[1e+]")]
    [InlineData("")]
    [InlineData("\u000b[]")]
    public void Edge_cases_scan_the_same(string json)
    {
        AssertSame(Encoding.UTF8.GetBytes(json));
    }

    [Theory]
    [InlineData(5, 5)]
    [InlineData(6, 5)]
    [InlineData(64, 64)]
    [InlineData(65, 64)]
    [InlineData(1, 1)]
    [InlineData(2, 1)]
    public void Depth_limits_scan_the_same(int depth, int maxDepth)
    {
        var json = new string('[', depth) + "\"$Token{A}\"" + new string(']', depth);
        AssertSame(Encoding.UTF8.GetBytes(json), maxDepth);
        var obj = string.Concat(Enumerable.Repeat("{\"k\":", depth)) + "\"$Token{A}\"" + new string('}', depth);
        AssertSame(Encoding.UTF8.GetBytes(obj), maxDepth);
    }

    [Fact]
    public void Repeated_scans_on_one_thread_keep_their_keys_apart()
    {
        // The per-thread state reuses key strings across scans: each document still lists only its own keys, in order.
        var first = ReferenceScanner.Scan(Encoding.UTF8.GetBytes("""["$Token{A}","$Token{B}","$Token{A}"]"""));
        var second = ReferenceScanner.Scan(Encoding.UTF8.GetBytes("""["$Token{B}","$Token{C}"]"""));
        Assert.Equal(["A", "B"], first.Keys);
        Assert.Equal(["B", "C"], second.Keys);
        Assert.Equal(["A", "B", "A"], first.References.Select(r => r.Key));
        Assert.Equal(["B", "C"], second.References.Select(r => r.Key));
        var many = string.Join(",", Enumerable.Range(0, 3000).Select(i => string.Create(CultureInfo.InvariantCulture, $"\"$Token{{K{i % 1500}}}\"")));
        var big = ReferenceScanner.Scan(Encoding.UTF8.GetBytes("[" + many + "]"));
        Assert.Equal(1500, big.Keys.Count);
        Assert.Equal("K1499", big.Keys[1499]);
        var after = ReferenceScanner.Scan(Encoding.UTF8.GetBytes("""["$Token{K7}","$Token{A}"]"""));
        Assert.Equal(["K7", "A"], after.Keys);
    }

    /// <summary>
    /// The fast path must actually run on ordinary documents: were it to give up on everything, every comparison above
    /// would still pass (the fallback is the reader itself).
    /// </summary>
    [Theory]
    [InlineData("""{"a":"$Token{A}"}""")]
    [InlineData("""{ "headers" : { "Authorization" : "Bearer $Token{STRIPE_KEY}" }, "amount" : 2000, "currency" : "usd" }""")]
    [InlineData("""[1, -0.25, 1E-7, 0, 12.5e+3, true, false, null, "x", [], {}, [[["$Token{A}"]]]]""")]
    [InlineData("{\n\t\"a b\": \"caf\u00e9 \\\"quoted\\\" \\n line\",\r\n \"k\": [\"$Token{A} and $Token{B}\"]\n}")]
    [InlineData("""{"é":"€ $Token{A}","$Token{NOT_A_REF_IN_A_NAME}":"plain","nested":{"deeper":{"x":"$Secret{B}"}}}""")]
    [InlineData("\"$Token{A}\"")]
    [InlineData("42")]
    public void The_fast_path_reads_ordinary_documents_itself(string json)
    {
        var bytes = Encoding.UTF8.GetBytes(json);
        Assert.True(ReferenceScanner.FastPathAccepts(bytes), "the strict tokenizer gave up on an ordinary document");
        AssertSame(bytes);
    }

    [Theory]
    [InlineData("{\"a\":01}")]
    [InlineData("[1,]")]
    [InlineData("\ufeff{}")]
    [InlineData("{\"a\":\"x\"} trailing")]
    [InlineData("")]
    public void The_fast_path_gives_up_on_what_the_reader_must_judge(string json) =>
        Assert.False(ReferenceScanner.FastPathAccepts(Encoding.UTF8.GetBytes(json)));

    /// <summary>A writer that hands out small spans: substitution must take its rendering-through-a-temporary branch.</summary>
    [Fact]
    public void Substitution_into_a_writer_with_small_spans_gives_the_same_bytes()
    {
        var document = ReferenceScanner.Scan(Encoding.UTF8.GetBytes("""{"a":"x $Token{K} y","b":["$Token{K}"],"c":"plain"}"""));
        var values = new Dictionary<string, SecretValue>(StringComparer.Ordinal) { ["K"] = new SecretValue("va\"lue\n\u0001 long enough to need a temporary") };
        var writer = new SmallSpanWriter(5);
        document.Substitute(values, writer);
        Assert.Equal(document.Substitute(values), writer.Written.ToArray());
        Assert.True(writer.SmallSpansGiven > 0);
    }

    private sealed class SmallSpanWriter(int spanSize) : System.Buffers.IBufferWriter<byte>
    {
        private readonly List<byte> _written = [];
        private byte[] _span = [];

        public IReadOnlyList<byte> Written => _written;

        public int SmallSpansGiven { get; private set; }

        public void Advance(int count) => _written.AddRange(_span.AsSpan(0, count).ToArray());

        public Memory<byte> GetMemory(int sizeHint = 0) => GetArray(sizeHint);

        public Span<byte> GetSpan(int sizeHint = 0) => GetArray(sizeHint);

        private byte[] GetArray(int sizeHint)
        {
            if (sizeHint > spanSize)
            {
                SmallSpansGiven++;
            }

            _span = new byte[spanSize];
            return _span;
        }
    }

    private static void AssertSame(byte[] bytes) => AssertSame(bytes, ReferenceScanner.DefaultMaxDepth);

    private static void AssertSame(byte[] bytes, int maxDepth)
    {
        var expected = Outcome(() => ReferenceScanner.ScanWithReader(bytes, maxDepth));
        var actual = Outcome(() => ReferenceScanner.Scan(bytes, maxDepth));
        Assert.Equal(expected, actual);
    }

    /// <summary>Everything observable about a scan, as text.</summary>
    private static string Outcome(Func<ScannedDocument> scan)
    {
        ScannedDocument doc;
        try
        {
            doc = scan();
        }
        catch (InvalidDocumentException e)
        {
            return $"error {e.Message} {e.ByteOffset} {e.LineNumber} {e.BytePositionInLine}";
        }

        var sb = new StringBuilder();
        sb.Append("refs ").AppendJoin(" | ", doc.References.Select(r => r.Path + " " + r.Key)).Append('\n');
        sb.Append("malformed ").AppendJoin(" | ", doc.Malformed).Append('\n');
        sb.Append("keys ").AppendJoin(",", doc.Keys).Append('\n');
        sb.Append("rewrites ").Append(doc.HasRewrites).Append('\n');
        if (doc.Malformed.Count == 0)
        {
            var values = doc.Keys.ToDictionary(k => k, k => new SecretValue("\"v\\\n\u0001" + k + "$Token{A}"), StringComparer.Ordinal);
            sb.Append(Convert.ToHexString(doc.Substitute(values)));
            var writer = new System.Buffers.ArrayBufferWriter<byte>(1);
            doc.Substitute(values, writer);
            Assert.Equal(doc.Substitute(values), writer.WrittenSpan.ToArray());
        }

        return sb.ToString();
    }

    private static Gen<string> JsonText(int depth)
    {
        var scalar = Gen.Frequency(
            (6, (IGen<string>)Gen.Select(Text, Gen.Int[0, 2], Quote)),
            (1, Gen.Int.Select(i => i.ToString(CultureInfo.InvariantCulture))),
            (1, Gen.OneOf("true", "false", "null", "1.5e3", "-0.25", "0", "1E-7")));
        if (depth == 0)
        {
            return scalar;
        }

        var child = JsonText(depth - 1);
        var name = Gen.OneOf("a", "X-API-Key", "odd name", "it's", "back\\slash", "", "$Token{A}", "é", "k_1");
        var obj = Gen.Select(name, Gen.Int[0, 2], child).Array[0, 4].Select(members =>
            "{" + string.Join(",", members.Select((m, i) => Quote(m.Item1 + i.ToString(CultureInfo.InvariantCulture), m.Item2) + " : " + m.Item3)) + "}");
        var arr = child.Array[0, 4].Select(items => "[ " + string.Join(",\n", items) + " ]");
        return Gen.Frequency((3, (IGen<string>)scalar), (1, obj), (1, arr));
    }

    private static string Quote(string text, int mode) => mode switch
    {
        0 => JsonSerializer.Serialize(text, Relaxed),
        1 => JsonSerializer.Serialize(text),
        _ => JsonSerializer.Serialize(text, Relaxed).Replace("$", "\\u0024", StringComparison.Ordinal),
    };
}

using System.Runtime.CompilerServices;
using System.Text;
using CsCheck;
using Latch.Core.References;
using Latch.Core.Secrets;

namespace Latch.Core.Tests.References;

/// <summary>
/// The scanner's vectorised string search and the chunked storage of a scanned document (path nodes, references,
/// rewrites), which large documents spread over several chunks.
/// </summary>
public sealed class ScanStorageTests
{
    private static readonly byte[] Interesting = "\"\\$\u001f \u007fa{}"u8.ToArray().Concat(new byte[] { 0, 0x1F, 0x20, 0x80, 0x9F, 0xA0, 0xFF }).ToArray();

    [Fact]
    public void The_string_stop_search_agrees_with_a_plain_loop_for_any_bytes_and_start()
    {
        var bytes = Gen.Frequency((3, (IGen<byte>)Gen.Byte), (1, Gen.OneOf(Interesting)));
        Gen.Select(bytes.Array[0, 80], Gen.Int[0, 80]).Sample((text, start) =>
        {
            start = Math.Min(start, text.Length);
            Assert.Equal(PlainIndexOfStop(text, start), ReferenceScanner.IndexOfStringStop(text, start));
        }, iter: 50000);
    }

    [Fact]
    public void The_string_stop_search_finds_each_stop_byte_at_every_position_of_a_vector()
    {
        for (var b = 0; b < 256; b++)
        {
            var isStop = b < 0x20 || b == '"' || b == '\\' || b == '$';
            for (var length = 1; length <= 70; length++)
            {
                for (var at = 0; at < length; at++)
                {
                    var text = new byte[length];
                    Array.Fill(text, (byte)'a');
                    text[at] = (byte)b;
                    Assert.Equal(isStop ? at : -1, ReferenceScanner.IndexOfStringStop(text, 0));
                }
            }
        }
    }

    [Fact]
    public void The_string_stop_search_refuses_a_start_past_the_end()
    {
        Assert.Equal(-1, ReferenceScanner.IndexOfStringStop("ab"u8, 2));
        Assert.Throws<ArgumentOutOfRangeException>(() => ReferenceScanner.IndexOfStringStop("ab"u8, 3));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(4095)]
    [InlineData(4096)]
    [InlineData(4097)]
    [InlineData((3 * 4096) + 5)]
    public void A_chunked_copy_holds_every_item(int length)
    {
        var items = Enumerable.Range(0, length).Select(i => (long)i * 7).ToArray();
        var chunked = ChunkedArray<long>.CopyOf(items);
        Assert.Equal(length, chunked.Length);
        for (var i = 0; i < length; i++)
        {
            Assert.Equal(items[i], chunked[i]);
        }

        Assert.Throws<ArgumentOutOfRangeException>(() => chunked[length]);
        Assert.Throws<ArgumentOutOfRangeException>(() => chunked[-1]);
    }

    [Fact]
    public void A_view_holds_only_the_counted_items()
    {
        var view = ChunkedArray<int>.Over([1, 2, 3], 2);
        Assert.Equal(2, view.Length);
        Assert.Equal(2, view[1]);
        Assert.Throws<ArgumentOutOfRangeException>(() => view[2]);
        Assert.Throws<ArgumentOutOfRangeException>(() => ChunkedArray<int>.Over([1], 2));
    }

    [Fact]
    public void The_document_structs_fit_a_chunk_below_the_large_object_threshold()
    {
        Assert.True(ChunkedArray<int>.ChunkLength * Unsafe.SizeOf<ScannedDocument.PathNode>() < 85_000);
        Assert.True(ChunkedArray<int>.ChunkLength * Unsafe.SizeOf<ScannedDocument.ReferenceEntry>() < 85_000);
        Assert.True(ChunkedArray<int>.ChunkLength * Unsafe.SizeOf<ScannedDocument.Rewrite>() < 85_000);
    }

    [Fact]
    public void A_document_larger_than_a_chunk_scans_resolves_and_substitutes_like_the_reader()
    {
        // 10,000 items with a reference each (and a nested member), an escape every 7th, and names that need quoting:
        // several chunks of path nodes, references and rewrites.
        var sb = new StringBuilder("{\"items\":[");
        var expected = new StringBuilder("{\"items\":[");
        for (var i = 0; i < 10_000; i++)
        {
            var sep = i == 0 ? "" : ",";
            var key = "K" + (i % 37);
            var escape = i % 7 == 0 ? " $$Token{X}" : "";
            var literal = i % 7 == 0 ? " $Token{X}" : "";
            sb.Append(sep).Append("{\"n\":").Append(i).Append(",\"odd name\":{\"v\":\"a $Token{").Append(key).Append('}').Append(escape).Append("\"}}");
            expected.Append(sep).Append("{\"n\":").Append(i).Append(",\"odd name\":{\"v\":\"a ").Append("val-").Append(key).Append("\\\"").Append(literal).Append("\"}}");
        }

        sb.Append("]}");
        expected.Append("]}");
        var json = Encoding.UTF8.GetBytes(sb.ToString());

        var fast = ReferenceScanner.Scan(json);
        var reader = ReferenceScanner.ScanWithReader(json);
        Assert.True(ReferenceScanner.FastPathAccepts(json));
        Assert.Equal(10_000, fast.References.Count);
        Assert.Equal(reader.References.Select(r => (r.Path, r.Key)), fast.References.Select(r => (r.Path, r.Key)));
        Assert.Equal("$.items[9999]['odd name'].v", fast.References[9999].Path);
        Assert.Equal("K" + (9999 % 37), fast.References[9999].Key);
        Assert.Equal(37, fast.Keys.Count);

        var values = fast.Keys.ToDictionary(k => k, k => new SecretValue("val-" + k + "\""), StringComparer.Ordinal);
        var bytes = fast.Substitute(values);
        Assert.Equal(expected.ToString(), Encoding.UTF8.GetString(bytes));
        var writer = new System.Buffers.ArrayBufferWriter<byte>(1);
        fast.Substitute(values, writer);
        Assert.Equal(bytes, writer.WrittenSpan.ToArray());
        Assert.Equal(bytes, reader.Substitute(values));
    }

    [Fact]
    public void A_malformed_reference_after_many_path_nodes_reports_its_path()
    {
        var sb = new StringBuilder("{\"items\":[");
        for (var i = 0; i < 6_000; i++)
        {
            sb.Append(i == 0 ? "" : ",").Append("{\"a\":{\"b\":\"$Token{K}\"}}");
        }

        sb.Append(",{\"a\":{\"b\":\"$Token{bad key}\"}}]}");
        var json = Encoding.UTF8.GetBytes(sb.ToString());
        var doc = ReferenceScanner.Scan(json);
        var error = Assert.Single(doc.Malformed);
        Assert.Equal("$.items[6000].a.b", error.Path);
        Assert.Equal(ReferenceScanner.ScanWithReader(json).Malformed.Single(), error);
    }

    private static int PlainIndexOfStop(byte[] text, int start)
    {
        for (var i = start; i < text.Length; i++)
        {
            var b = text[i];
            if (b < 0x20 || b == '"' || b == '\\' || b == '$')
            {
                return i;
            }
        }

        return -1;
    }
}

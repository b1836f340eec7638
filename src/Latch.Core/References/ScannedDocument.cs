using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Latch.Core.Secrets;

namespace Latch.Core.References;

/// <summary>
/// A scanned JSON document: its references (with paths), malformed references, distinct keys, and what a substitution
/// must rewrite. Created by <see cref="ReferenceScanner.Scan"/>; keeps the source bytes.
/// </summary>
public sealed class ScannedDocument
{
    private readonly ReadOnlyMemory<byte> _source;
    private readonly PathNode[] _nodes;
    private readonly ReferenceEntry[] _references;
    private readonly int[] _malformedPositions;
    private readonly Rewrite[] _rewrites;
    private NodePath? _lastPath;

    internal ScannedDocument(
        ReadOnlyMemory<byte> source,
        PathNode[] nodes,
        ReferenceEntry[] references,
        IReadOnlyList<ReferenceError> malformed,
        int[] malformedPositions,
        IReadOnlyList<string> keys,
        Rewrite[] rewrites)
    {
        _source = source;
        _nodes = nodes;
        _references = references;
        Malformed = malformed;
        _malformedPositions = malformedPositions;
        Keys = keys;
        _rewrites = rewrites;
        References = new LazyList<FoundReference>(references.Length, i => new FoundReference(ReferencePath(i), Keys[_references[i].Key]));
    }

    /// <summary>Every reference occurrence, in document order (paths are built on first access).</summary>
    public IReadOnlyList<FoundReference> References { get; }

    /// <summary>Every malformed reference (code <c>malformed_reference</c>), in document order.</summary>
    public IReadOnlyList<ReferenceError> Malformed { get; }

    /// <summary>The distinct keys referenced, in order of first appearance.</summary>
    public IReadOnlyList<string> Keys { get; }

    /// <summary>True when a substitution changes some string (a reference or an escape).</summary>
    public bool HasRewrites => _rewrites.Length > 0;

    /// <summary>The source document.</summary>
    public ReadOnlyMemory<byte> Source => _source;

    /// <summary>Number of reference occurrences.</summary>
    internal int ReferenceCount => _references.Length;

    /// <summary>For each malformed reference, how many references precede it in document order.</summary>
    internal ReadOnlySpan<int> MalformedPositions => _malformedPositions;

    /// <summary>Index in <see cref="Keys"/> of reference <paramref name="index"/>.</summary>
    internal int ReferenceKey(int index) => _references[index].Key;

    /// <summary>JSON path of reference <paramref name="index"/> (references in the same string share the string).</summary>
    internal string ReferencePath(int index)
    {
        var node = _references[index].Node;
        if (_lastPath is { } last && last.Node == node)
        {
            return last.Path;
        }

        var path = PathOf(_nodes, node, _source.Span);
        _lastPath = new NodePath(node, path);
        return path;
    }

    /// <summary>Builds the JSON path of a node: <c>$</c>, <c>.name</c>, <c>['odd name']</c>, <c>[i]</c>.</summary>
    internal static string PathOf(ReadOnlySpan<PathNode> nodes, int node, ReadOnlySpan<byte> source)
    {
        if (node == 0)
        {
            return JsonPath.Root;
        }

        Span<int> chain = stackalloc int[64];
        var depth = 0;
        for (var n = node; n > 0; n = nodes[n].Parent)
        {
            if (depth == chain.Length)
            {
                var bigger = new int[chain.Length * 2];
                chain.CopyTo(bigger);
                chain = bigger;
            }

            chain[depth++] = n;
        }

        Span<char> buffer = stackalloc char[256];
        if (TryFormatSimple(nodes, chain[..depth], source, buffer, out var length))
        {
            return new string(buffer[..length]);
        }

        var sb = new StringBuilder(16 + (8 * depth));
        sb.Append(JsonPath.Root);
        Span<char> digits = stackalloc char[11];
        for (var d = depth - 1; d >= 0; d--)
        {
            var p = nodes[chain[d]];
            switch (p.Kind)
            {
                case PathNodeKind.Index:
                    p.Index.TryFormat(digits, out var written, provider: CultureInfo.InvariantCulture);
                    sb.Append('[').Append(digits[..written]).Append(']');
                    break;
                case PathNodeKind.Name when JsonPath.IsSimpleUtf8(source.Slice(p.NameStart + 1, p.NameLength - 2)):
                    sb.Append('.');
                    foreach (var b in source.Slice(p.NameStart + 1, p.NameLength - 2))
                    {
                        sb.Append((char)b);
                    }

                    break;
                default:
                    JsonPath.AppendProperty(sb, DecodeName(source.Slice(p.NameStart, p.NameLength), p.Kind == PathNodeKind.EscapedName));
                    break;
            }
        }

        return sb.ToString();
    }

    /// <summary>Formats a path made only of indices and simple unescaped names into a buffer; false when it does not fit or needs the slow path.</summary>
    private static bool TryFormatSimple(ReadOnlySpan<PathNode> nodes, ReadOnlySpan<int> chain, ReadOnlySpan<byte> source, Span<char> buffer, out int length)
    {
        length = 0;
        buffer[length++] = '$';
        for (var d = chain.Length - 1; d >= 0; d--)
        {
            var p = nodes[chain[d]];
            if (p.Kind == PathNodeKind.Index)
            {
                if (buffer.Length - length < 13)
                {
                    return false;
                }

                buffer[length++] = '[';
                p.Index.TryFormat(buffer[length..], out var written, provider: CultureInfo.InvariantCulture);
                length += written;
                buffer[length++] = ']';
                continue;
            }

            var name = source.Slice(p.NameStart + 1, p.NameLength - 2);
            if (p.Kind != PathNodeKind.Name || !JsonPath.IsSimpleUtf8(name) || buffer.Length - length < name.Length + 1)
            {
                return false;
            }

            buffer[length++] = '.';
            foreach (var b in name)
            {
                buffer[length++] = (char)b;
            }
        }

        return true;
    }

    private static string DecodeName(ReadOnlySpan<byte> token, bool escaped)
    {
        if (!escaped)
        {
            return Encoding.UTF8.GetString(token[1..^1]);
        }

        // Validated by the scanner when the node was created.
        var reader = new Utf8JsonReader(token);
        reader.Read();
        return reader.GetString()!;
    }

    /// <summary>
    /// The resolved document: each reference replaced by its value (JSON-escaped, never scanned again), each escape by
    /// its literal text; everything else is copied byte for byte.
    /// </summary>
    /// <exception cref="InvalidOperationException">The document has malformed references, or a key has no value.</exception>
    public byte[] Substitute(IReadOnlyDictionary<string, SecretValue> values)
    {
        ArgumentNullException.ThrowIfNull(values);
        var escaped = PrepareValues(values);
        var source = _source.Span;
        if (_rewrites.Length == 0)
        {
            return source.ToArray();
        }

        var scratch = RenderRewrites(escaped, out var lengths, out var rendered, out var removed);
        try
        {
            var result = new byte[source.Length - removed + rendered];
            var w = 0;
            var prev = 0;
            var r = 0;
            for (var i = 0; i < _rewrites.Length; i++)
            {
                var rw = _rewrites[i];
                source[prev..rw.Start].CopyTo(result.AsSpan(w));
                w += rw.Start - prev;
                scratch.AsSpan(r, lengths[i]).CopyTo(result.AsSpan(w));
                w += lengths[i];
                r += lengths[i];
                prev = rw.Start + rw.Length;
            }

            source[prev..].CopyTo(result.AsSpan(w));
            return result;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(scratch);
            ArrayPool<int>.Shared.Return(lengths);
        }
    }

    /// <summary>Writes the resolved document to <paramref name="output"/> (see <see cref="Substitute(IReadOnlyDictionary{string, SecretValue})"/>).</summary>
    /// <exception cref="InvalidOperationException">
    /// The document has malformed references, or a key has no value; nothing is written to <paramref name="output"/> then.
    /// </exception>
    public void Substitute(IReadOnlyDictionary<string, SecretValue> values, IBufferWriter<byte> output)
    {
        ArgumentNullException.ThrowIfNull(values);
        ArgumentNullException.ThrowIfNull(output);
        var escaped = PrepareValues(values);
        var source = _source.Span;
        if (_rewrites.Length == 0)
        {
            WriteAll(output, source);
            return;
        }

        var scratch = RenderRewrites(escaped, out var lengths, out var rendered, out var removed);
        try
        {
            var total = source.Length - removed + rendered;
            var dest = output.GetSpan(total);
            if (dest.Length >= total)
            {
                var w = 0;
                var prev = 0;
                var r = 0;
                for (var i = 0; i < _rewrites.Length; i++)
                {
                    var rw = _rewrites[i];
                    source[prev..rw.Start].CopyTo(dest[w..]);
                    w += rw.Start - prev;
                    scratch.AsSpan(r, lengths[i]).CopyTo(dest[w..]);
                    w += lengths[i];
                    r += lengths[i];
                    prev = rw.Start + rw.Length;
                }

                source[prev..].CopyTo(dest[w..]);
                output.Advance(total);
            }
            else
            {
                var prev = 0;
                var r = 0;
                for (var i = 0; i < _rewrites.Length; i++)
                {
                    var rw = _rewrites[i];
                    WriteAll(output, source[prev..rw.Start]);
                    WriteAll(output, scratch.AsSpan(r, lengths[i]));
                    r += lengths[i];
                    prev = rw.Start + rw.Length;
                }

                WriteAll(output, source[prev..]);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(scratch);
            ArrayPool<int>.Shared.Return(lengths);
        }
    }

    private byte[][] PrepareValues(IReadOnlyDictionary<string, SecretValue> values)
    {
        if (Malformed.Count > 0)
        {
            throw new InvalidOperationException("The document has malformed secret references; it cannot be substituted.");
        }

        var escaped = new byte[Keys.Count][];
        for (var k = 0; k < escaped.Length; k++)
        {
            if (!values.TryGetValue(Keys[k], out var value))
            {
                throw new InvalidOperationException($"No value was given for secret '{Keys[k]}'.");
            }

            escaped[k] = JsonStringEscaper.Escape(value.Reveal());
        }

        return escaped;
    }

    /// <summary>Renders every rewritten string token, one after another, into a pooled buffer.</summary>
    private byte[] RenderRewrites(byte[][] escaped, out int[] lengths, out int rendered, out int removed)
    {
        var source = _source.Span;
        long bound = 0;
        removed = 0;
        foreach (var rw in _rewrites)
        {
            removed += rw.Length;
            bound += rw.Escaped ? 6L * rw.Length : rw.Length;
        }

        foreach (var r in _references)
        {
            bound += escaped[r.Key].Length;
        }

        if (bound > Array.MaxLength)
        {
            throw new InvalidOperationException("The resolved document would be too large.");
        }

        var scratch = ArrayPool<byte>.Shared.Rent((int)bound);
        lengths = ArrayPool<int>.Shared.Rent(_rewrites.Length);
        byte[]? unescaped = null;
        var w = 0;
        try
        {
            for (var i = 0; i < _rewrites.Length; i++)
            {
                var rw = _rewrites[i];
                var token = source.Slice(rw.Start, rw.Length);
                ReadOnlySpan<byte> content;
                if (rw.Escaped)
                {
                    if (unescaped is null || unescaped.Length < token.Length)
                    {
                        if (unescaped is not null)
                        {
                            ArrayPool<byte>.Shared.Return(unescaped);
                        }

                        unescaped = ArrayPool<byte>.Shared.Rent(Math.Max(token.Length, 256));
                    }

                    var reader = new Utf8JsonReader(token);
                    reader.Read();
                    content = unescaped.AsSpan(0, reader.CopyString(unescaped));
                }
                else
                {
                    content = token[1..^1];
                }

                var start = w;
                scratch[w++] = (byte)'"';
                var reference = rw.FirstReference;
                for (var pos = 0; pos < content.Length;)
                {
                    var s = ReferenceGrammar.Next(content, pos);
                    switch (s.Kind)
                    {
                        case SegmentKind.Literal:
                            var literal = content.Slice(s.Start, s.Length);
                            if (rw.Escaped)
                            {
                                w += JsonStringEscaper.Write(literal, scratch.AsSpan(w));
                            }
                            else
                            {
                                literal.CopyTo(scratch.AsSpan(w));
                                w += literal.Length;
                            }

                            break;
                        case SegmentKind.Escape:
                            content.Slice(s.Start + 1, s.Length - 1).CopyTo(scratch.AsSpan(w));
                            w += s.Length - 1;
                            break;
                        case SegmentKind.Reference:
                            var value = escaped[_references[reference++].Key];
                            value.CopyTo(scratch.AsSpan(w));
                            w += value.Length;
                            break;
                        default:
                            throw new InvalidOperationException("The document has malformed secret references; it cannot be substituted.");
                    }

                    pos = s.End;
                }

                scratch[w++] = (byte)'"';
                lengths[i] = w - start;
            }
        }
        catch
        {
            ArrayPool<byte>.Shared.Return(scratch);
            ArrayPool<int>.Shared.Return(lengths);
            throw;
        }
        finally
        {
            if (unescaped is not null)
            {
                ArrayPool<byte>.Shared.Return(unescaped);
            }
        }

        rendered = w;
        return scratch;
    }

    private static void WriteAll(IBufferWriter<byte> output, ReadOnlySpan<byte> data)
    {
        while (!data.IsEmpty)
        {
            var dest = output.GetSpan(Math.Min(data.Length, 1 << 20));
            var n = Math.Min(dest.Length, data.Length);
            data[..n].CopyTo(dest);
            output.Advance(n);
            data = data[n..];
        }
    }

    /// <summary>The last path built, shared by the references of one string value.</summary>
    private sealed record NodePath(int Node, string Path);

    /// <summary>A string token (quotes included) that substitution rewrites.</summary>
    internal readonly record struct Rewrite(int Start, int Length, bool Escaped, int FirstReference);

    /// <summary>One reference occurrence: the path node of its string value and the index of its key.</summary>
    internal readonly record struct ReferenceEntry(int Node, int Key);

    /// <summary>What a path node adds to its parent's path.</summary>
    internal enum PathNodeKind : byte
    {
        Root,
        Name,
        EscapedName,
        Index,
    }

    /// <summary>One step of a JSON path: a property (its name token's range in the source) or an array index.</summary>
    internal readonly record struct PathNode(int Parent, int NameStart, int NameLength, int Index, PathNodeKind Kind);
}

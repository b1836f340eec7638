using System.Buffers;
using System.Security.Cryptography;
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
    private readonly ChunkedArray<PathNode> _nodes;
    private readonly ChunkedArray<ReferenceEntry> _references;
    private readonly int[] _malformedPositions;
    private readonly ChunkedArray<Rewrite> _rewrites;
    private NodePath? _lastPath;
    private FoundReferences? _found;

    internal ScannedDocument(
        ReadOnlyMemory<byte> source,
        ChunkedArray<PathNode> nodes,
        ChunkedArray<ReferenceEntry> references,
        IReadOnlyList<ReferenceError> malformed,
        int[] malformedPositions,
        IReadOnlyList<string> keys,
        ChunkedArray<Rewrite> rewrites)
    {
        _source = source;
        _nodes = nodes;
        _references = references;
        Malformed = malformed;
        _malformedPositions = malformedPositions;
        Keys = keys;
        _rewrites = rewrites;
    }

    /// <summary>Every reference occurrence, in document order (paths are built on first access).</summary>
    public IReadOnlyList<FoundReference> References => _found ??= new FoundReferences(this);

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

    /// <summary>Refuses a rendering of <paramref name="bytes"/> bytes that no array can hold.</summary>
    private static void EnsureFits(long bytes)
    {
        if (bytes > Array.MaxLength)
        {
            throw new InvalidOperationException("The resolved document would be too large.");
        }
    }

    /// <summary>Builds the JSON path of a node: <c>$</c>, <c>.name</c>, <c>['odd name']</c>, <c>[i]</c>.</summary>
    internal static string PathOf(in ChunkedArray<PathNode> nodes, int node, ReadOnlySpan<byte> source)
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
    private static bool TryFormatSimple(in ChunkedArray<PathNode> nodes, ReadOnlySpan<int> chain, ReadOnlySpan<byte> source, Span<char> buffer, out int length)
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
        using var prepared = PrepareValues(values, stackalloc int[PreparedValues.StackRanges]);
        var source = _source.Span;
        if (_rewrites.Length == 0)
        {
            return source.ToArray();
        }

        long rendered = 0;
        long removed = 0;
        for (var i = 0; i < _rewrites.Length; i++)
        {
            rendered += RewriteBound(i, prepared);
            removed += _rewrites[i].Length;
        }

        EnsureFits(rendered);
        EnsureFits(source.Length - removed + rendered);

        // The rewritten strings first (into a pooled buffer, wiped afterwards: it holds values), then the document.
        var scratch = ArrayPool<byte>.Shared.Rent((int)rendered);
        var lengths = ArrayPool<int>.Shared.Rent(_rewrites.Length);
        byte[]? unescaped = null;
        var w = 0;
        var touched = 0; // how far into scratch a rendering may have written (also when it throws part-way)
        try
        {
            for (var i = 0; i < _rewrites.Length; i++)
            {
                touched = (int)Math.Min(scratch.Length, w + RewriteBound(i, prepared));
                lengths[i] = RenderRewrite(i, source, prepared, scratch.AsSpan(w), ref unescaped);
                w += lengths[i];
            }

            var result = new byte[source.Length - (int)removed + w];
            var r = 0;
            var prev = 0;
            var at = 0;
            for (var i = 0; i < _rewrites.Length; i++)
            {
                var rw = _rewrites[i];
                source[prev..rw.Start].CopyTo(result.AsSpan(at));
                at += rw.Start - prev;
                scratch.AsSpan(r, lengths[i]).CopyTo(result.AsSpan(at));
                at += lengths[i];
                r += lengths[i];
                prev = rw.Start + rw.Length;
            }

            source[prev..].CopyTo(result.AsSpan(at));
            return result;
        }
        finally
        {
            Wipe(scratch, Math.Max(w, touched));
            ArrayPool<int>.Shared.Return(lengths);
            ReturnUnescaped(unescaped);
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
        using var prepared = PrepareValues(values, stackalloc int[PreparedValues.StackRanges]);
        var source = _source.Span;
        if (_rewrites.Length == 0)
        {
            WriteAll(output, source);
            return;
        }

        // The sum of every rewrite's bound (RewriteBound) minus what it replaces, in one pass over the rewrites and one
        // over the references. Each bound is at most this total, so one check covers them all.
        long total = source.Length;
        for (var i = 0; i < _rewrites.Length; i++)
        {
            var rw = _rewrites[i];
            if (rw.Escaped)
            {
                total += 5L * rw.Length;
            }
        }

        for (var r = 0; r < _references.Length; r++)
        {
            total += prepared.Length(_references[r].Key);
        }

        EnsureFits(total);

        // Each rewritten string is rendered straight into the output; everything between is copied.
        byte[]? unescaped = null;
        try
        {
            if (total <= SingleSpanLimit)
            {
                // A small document: one span for all of it when the writer has one that large.
                var all = output.GetSpan((int)total);
                if (all.Length >= total)
                {
                    var w = 0;
                    var at = 0;
                    for (var i = 0; i < _rewrites.Length; i++)
                    {
                        var rw = _rewrites[i];
                        source[at..rw.Start].CopyTo(all[w..]);
                        w += rw.Start - at;
                        w += RenderRewrite(i, source, prepared, all[w..], ref unescaped);
                        at = rw.Start + rw.Length;
                    }

                    source[at..].CopyTo(all[w..]);
                    output.Advance(w + (source.Length - at));
                    return;
                }
            }

            var prev = 0;
            for (var i = 0; i < _rewrites.Length; i++)
            {
                var rw = _rewrites[i];
                var gap = rw.Start - prev;
                var bound = (int)RewriteBound(i, prepared);
                var dest = output.GetSpan(gap + bound);
                if (dest.Length >= gap + bound)
                {
                    source.Slice(prev, gap).CopyTo(dest);
                    output.Advance(gap + RenderRewrite(i, source, prepared, dest[gap..], ref unescaped));
                }
                else
                {
                    WriteAll(output, source.Slice(prev, gap));
                    var temp = ArrayPool<byte>.Shared.Rent(bound);
                    try
                    {
                        var n = RenderRewrite(i, source, prepared, temp, ref unescaped);
                        WriteAll(output, temp.AsSpan(0, n));
                    }
                    finally
                    {
                        // All of the bound: a rendering that threw part-way may have written values anywhere in it.
                        Wipe(temp, bound);
                    }
                }

                prev = rw.Start + rw.Length;
            }

            WriteAll(output, source[prev..]);
        }
        finally
        {
            ReturnUnescaped(unescaped);
        }
    }

    /// <summary>Largest resolved size (bound) that <see cref="Substitute(IReadOnlyDictionary{string, SecretValue}, IBufferWriter{byte})"/> asks one span for.</summary>
    internal const int SingleSpanLimit = 64 * 1024;

    /// <summary>The escaped UTF-8 form of every key's value, in one pooled buffer (wiped when disposed).</summary>
    private PreparedValues PrepareValues(IReadOnlyDictionary<string, SecretValue> values, Span<int> ranges)
    {
        if (Malformed.Count > 0)
        {
            throw new InvalidOperationException("The document has malformed secret references; it cannot be substituted.");
        }

        var keys = Keys;
        if (values is KeyedValues own && ReferenceEquals(own.KeyList, keys))
        {
            // The engine's own result for this document: the values by key index, no lookups.
            return new PreparedValues(own.ValueArray, keys.Count, ranges);
        }

        var found = keys.Count == 0 ? [] : ArrayPool<SecretValue>.Shared.Rent(keys.Count);
        try
        {
            for (var k = 0; k < keys.Count; k++)
            {
                if (!values.TryGetValue(keys[k], out found[k]!))
                {
                    throw new InvalidOperationException($"No value was given for secret '{keys[k]}'.");
                }
            }

            return new PreparedValues(found, keys.Count, ranges);
        }
        finally
        {
            if (found.Length > 0)
            {
                ArrayPool<SecretValue>.Shared.Return(found, clearArray: true);
            }
        }
    }

    /// <summary>Largest size of rewrite <paramref name="i"/> once rendered.</summary>
    private long RewriteBound(int i, in PreparedValues values)
    {
        var rw = _rewrites[i];
        long bound = rw.Escaped ? 6L * rw.Length : rw.Length;
        var last = i + 1 < _rewrites.Length ? _rewrites[i + 1].FirstReference : _references.Length;
        for (var r = rw.FirstReference; r < last; r++)
        {
            bound += values.Length(_references[r].Key);
        }

        return bound;
    }

    /// <summary>Renders rewritten string token <paramref name="i"/> (quotes included); returns its length.</summary>
    private int RenderRewrite(int i, ReadOnlySpan<byte> source, in PreparedValues values, Span<byte> dest, ref byte[]? unescaped)
    {
        var rw = _rewrites[i];
        if (rw.Simple)
        {
            return RenderSimple(i, rw, source, values, dest);
        }

        var token = source.Slice(rw.Start, rw.Length);
        ReadOnlySpan<byte> content;
        if (rw.Escaped)
        {
            if (unescaped is null || unescaped.Length < token.Length)
            {
                ReturnUnescaped(unescaped);
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

        var w = 0;
        dest[w++] = (byte)'"';
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
                        w += JsonStringEscaper.Write(literal, dest[w..]);
                    }
                    else
                    {
                        literal.CopyTo(dest[w..]);
                        w += literal.Length;
                    }

                    break;
                case SegmentKind.Escape:
                    content.Slice(s.Start + 1, s.Length - 1).CopyTo(dest[w..]);
                    w += s.Length - 1;
                    break;
                case SegmentKind.Reference:
                    var value = values.Escaped(_references[reference++].Key);
                    value.CopyTo(dest[w..]);
                    w += value.Length;
                    break;
                default:
                    throw new InvalidOperationException("The document has malformed secret references; it cannot be substituted.");
            }

            pos = s.End;
        }

        dest[w++] = (byte)'"';
        return w;
    }

    /// <summary>
    /// Renders a <see cref="Rewrite.Simple"/> string: its bytes with each reference's text replaced by the escaped value
    /// (what <see cref="RenderRewrite"/> writes for it, without reading the string again).
    /// </summary>
    private int RenderSimple(int i, Rewrite rw, ReadOnlySpan<byte> source, in PreparedValues values, Span<byte> dest)
    {
        var last = i + 1 < _rewrites.Length ? _rewrites[i + 1].FirstReference : _references.Length;
        var w = 0;
        var at = rw.Start;
        for (var r = rw.FirstReference; r < last; r++)
        {
            var reference = _references[r];
            var start = rw.Start + 1 + reference.Offset;
            source[at..start].CopyTo(dest[w..]);
            w += start - at;
            var value = values.Escaped(reference.Key);
            value.CopyTo(dest[w..]);
            w += value.Length;
            at = start + reference.Length;
        }

        var end = rw.Start + rw.Length;
        source[at..end].CopyTo(dest[w..]);
        return w + (end - at);
    }

    private static void ReturnUnescaped(byte[]? unescaped)
    {
        if (unescaped is not null)
        {
            // It may hold the text around references; never values.
            ArrayPool<byte>.Shared.Return(unescaped);
        }
    }

    /// <summary>Clears the first <paramref name="used"/> bytes (they held secret values) and returns the buffer to the pool.</summary>
    private static void Wipe(byte[] buffer, int used)
    {
        CryptographicOperations.ZeroMemory(buffer.AsSpan(0, used));
        ArrayPool<byte>.Shared.Return(buffer);
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

    /// <summary>The escaped UTF-8 values of a document's keys, by key index, in one pooled buffer that is wiped on dispose.</summary>
    private readonly ref struct PreparedValues : IDisposable
    {
        /// <summary>Ranges (two ints per key) the callers keep on the stack: enough for this many keys.</summary>
        public const int StackRanges = 2 * 32;

        private readonly byte[] _buffer;
        private readonly Span<int> _ranges;
        private readonly int[]? _rentedRanges;

        /// <summary>Prepares the values; <paramref name="ranges"/> holds their ranges when it is large enough (else one is rented).</summary>
        public PreparedValues(SecretValue[] values, int count, Span<int> ranges)
        {
            // Each value is encoded to UTF-8 once, all into one scratch buffer; when no value needs escaping that buffer
            // is the result, else the values are escaped from it into a buffer of exactly the escaped size. Whichever
            // buffer is not kept is wiped before it goes back. The scratch's size: for small values the UTF-8 bound of their lengths (no counting pass), else exact.
            long utf8Total = 0;
            for (var k = 0; k < count; k++)
            {
                utf8Total += 3L * (values[k].Reveal().Length + 1);
            }

            if (utf8Total > ExactCountAbove)
            {
                utf8Total = 0;
                for (var k = 0; k < count; k++)
                {
                    utf8Total += Encoding.UTF8.GetByteCount(values[k].Reveal());
                }
            }

            EnsureFits(utf8Total);

            if (ranges.Length >= 2 * count)
            {
                _ranges = ranges;
            }
            else
            {
                _rentedRanges = ArrayPool<int>.Shared.Rent(2 * count);
                _ranges = _rentedRanges;
            }

            var scratch = utf8Total == 0 ? [] : ArrayPool<byte>.Shared.Rent((int)utf8Total);
            var kept = false;
            var w = 0; // how much of the scratch holds values (all of it is wiped when it goes back)
            try
            {
                long escapedTotal = 0;
                for (var k = 0; k < count; k++)
                {
                    var n = Encoding.UTF8.GetBytes(values[k].Reveal(), scratch.AsSpan(w));
                    _ranges[2 * k] = w;
                    _ranges[(2 * k) + 1] = n;
                    w += n;
                    escapedTotal += JsonStringEscaper.EscapedLength(scratch.AsSpan(w - n, n));
                }

                if (escapedTotal == w)
                {
                    _buffer = scratch;
                    Used = w;
                    kept = true;
                    return;
                }

                EnsureFits(escapedTotal);

                _buffer = ArrayPool<byte>.Shared.Rent((int)escapedTotal);
                var e = 0;
                for (var k = 0; k < count; k++)
                {
                    var escaped = JsonStringEscaper.Write(scratch.AsSpan(_ranges[2 * k], _ranges[(2 * k) + 1]), _buffer.AsSpan(e));
                    _ranges[2 * k] = e;
                    _ranges[(2 * k) + 1] = escaped;
                    e += escaped;
                }

                Used = e;
            }
            finally
            {
                if (!kept && scratch.Length > 0)
                {
                    Wipe(scratch, w);
                }
            }
        }

        /// <summary>Above this many bytes of UTF-8 bound, the values are counted exactly before the scratch is rented.</summary>
        private const long ExactCountAbove = 1 << 20;

        private int Used { get; }

        public int Length(int key) => _ranges[(2 * key) + 1];

        public ReadOnlySpan<byte> Escaped(int key) => _buffer.AsSpan(_ranges[2 * key], _ranges[(2 * key) + 1]);

        public void Dispose()
        {
            if (_buffer is null)
            {
                return;
            }

            if (_buffer.Length > 0)
            {
                CryptographicOperations.ZeroMemory(_buffer.AsSpan(0, Used));
                ArrayPool<byte>.Shared.Return(_buffer);
            }

            if (_rentedRanges is not null)
            {
                ArrayPool<int>.Shared.Return(_rentedRanges);
            }
        }
    }

    /// <summary><see cref="References"/>: built on first access.</summary>
    private sealed class FoundReferences(ScannedDocument document) : LazyList<FoundReference>(document.ReferenceCount)
    {
        protected override FoundReference Create(int index) =>
            new(document.ReferencePath(index), document.Keys[document.ReferenceKey(index)]);
    }

    /// <summary>The last path built, shared by the references of one string value.</summary>
    private sealed record NodePath(int Node, string Path);

    /// <summary>
    /// A string token (quotes included) that substitution rewrites. <paramref name="Simple"/>: not escaped, and holding
    /// nothing but references to replace (no <c>$$</c> escape, nothing malformed) — substitution splices the values
    /// into the token's bytes instead of reading the string again.
    /// </summary>
    internal readonly record struct Rewrite(int Start, int Length, bool Escaped, int FirstReference, bool Simple = false);

    /// <summary>
    /// One reference occurrence: the path node of its string value, the index of its key, and where the reference's text
    /// is in the string's content (<paramref name="Offset"/> from the byte after the opening quote; used only for
    /// <see cref="Rewrite.Simple"/> strings, whose content is their raw bytes).
    /// </summary>
    internal readonly record struct ReferenceEntry(int Node, int Key, int Offset = 0, int Length = 0);

    /// <summary>What a path node adds to its parent's path.</summary>
    internal enum PathNodeKind : byte
    {
        Root,
        Name,
        EscapedName,
        Index,
    }

    /// <summary>
    /// One step of a JSON path: a property (its name token's range in the source) or an array index. The start of a name
    /// and an index share a field, so a node is 16 bytes (a large document holds a node per member on a reference's path).
    /// </summary>
    internal readonly struct PathNode(int parent, int nameStart, int nameLength, int index, PathNodeKind kind)
    {
        private readonly int _startOrIndex = kind == PathNodeKind.Index ? index : nameStart;

        public int Parent { get; } = parent;

        public int NameLength { get; } = nameLength;

        public PathNodeKind Kind { get; } = kind;

        public int NameStart => _startOrIndex;

        public int Index => _startOrIndex;
    }
}

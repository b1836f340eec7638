using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Unicode;

namespace Latch.Core.References;

/// <summary>
/// Finds every reference in the string values of a UTF-8 JSON document in one streaming pass, with JSON paths, and
/// records which string tokens a substitution must rewrite. Everything else is later copied verbatim.
/// </summary>
public static class ReferenceScanner
{
    /// <summary>Default maximum nesting depth.</summary>
    public const int DefaultMaxDepth = 64;

    /// <summary>Largest accepted <c>maxDepth</c>.</summary>
    public const int MaxAllowedDepth = 4096;

    /// <summary>
    /// Scans a document. The returned document keeps <paramref name="utf8Json"/> (it must not change afterwards).
    /// </summary>
    /// <exception cref="InvalidDocumentException">
    /// Not valid UTF-8 JSON, content after the value, or nesting deeper than <paramref name="maxDepth"/> — the only
    /// exception this method throws for any input bytes.
    /// </exception>
    public static ScannedDocument Scan(ReadOnlyMemory<byte> utf8Json, int maxDepth = DefaultMaxDepth)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxDepth, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(maxDepth, MaxAllowedDepth);
        var state = new ScanState(utf8Json, maxDepth);
        try
        {
            state.Run();
            return state.ToDocument();
        }
        finally
        {
            state.ReturnBuffers();
        }
    }

    private struct Frame
    {
        public bool IsArray;
        public bool NameEscaped;
        public int Index;
        public int NameStart;
        public int NameLength;

        /// <summary>Path node of the current member, or -1 when not created yet.</summary>
        public int Node;
    }

    private sealed class ScanState(ReadOnlyMemory<byte> source, int maxDepth)
    {
        private readonly List<ReferenceError> _malformed = [];
        private readonly List<int> _malformedPositions = [];
        private readonly List<string> _keys = [];
        private readonly Dictionary<string, int> _keyIndex = new(StringComparer.Ordinal);
        private readonly PooledBuilder<ScannedDocument.Rewrite> _rewrites = new(256);
        private readonly PooledBuilder<ScannedDocument.PathNode> _nodes = new(256);
        private readonly PooledBuilder<ScannedDocument.ReferenceEntry> _references = new(256);
        private Frame[] _frames = new Frame[16];
        private int _depth;
        private byte[]? _unescaped;

        public void Run()
        {
            var span = source.Span;
            if (!Utf8.IsValid(span))
            {
                throw InvalidUtf8(span);
            }

            _nodes.Add(new ScannedDocument.PathNode(-1, 0, 0, 0, ScannedDocument.PathNodeKind.Root)); // node 0: "$"
            var reader = new Utf8JsonReader(span, new JsonReaderOptions { MaxDepth = maxDepth + 1 });
            try
            {
                while (reader.Read())
                {
                    switch (reader.TokenType)
                    {
                        case JsonTokenType.PropertyName:
                            ref var frame = ref _frames[_depth - 1];
                            frame.NameStart = (int)reader.TokenStartIndex;
                            frame.NameLength = reader.ValueSpan.Length + 2;
                            frame.NameEscaped = reader.ValueIsEscaped;
                            frame.Node = -1;
                            break;
                        case JsonTokenType.StartObject:
                        case JsonTokenType.StartArray:
                            NextValue();
                            Push(reader.TokenType == JsonTokenType.StartArray, reader.TokenStartIndex, span);
                            break;
                        case JsonTokenType.EndObject:
                        case JsonTokenType.EndArray:
                            _depth--;
                            break;
                        case JsonTokenType.String:
                            NextValue();
                            OnString(ref reader, span);
                            break;
                        default:
                            NextValue();
                            break;
                    }
                }
            }
            catch (JsonException e)
            {
                throw InvalidJson(e, span);
            }
        }

        public ScannedDocument ToDocument() => new(
            source,
            _nodes.ToArray(),
            _references.ToArray(),
            _malformed,
            [.. _malformedPositions],
            _keys,
            _rewrites.ToArray());

        public void ReturnBuffers()
        {
            _rewrites.Dispose();
            _nodes.Dispose();
            _references.Dispose();

            if (_unescaped is not null)
            {
                ArrayPool<byte>.Shared.Return(_unescaped);
                _unescaped = null;
            }
        }

        private void NextValue()
        {
            if (_depth > 0)
            {
                ref var top = ref _frames[_depth - 1];
                if (top.IsArray)
                {
                    top.Index++;
                    top.Node = -1;
                }
            }
        }

        private void Push(bool isArray, long offset, ReadOnlySpan<byte> span)
        {
            if (_depth >= maxDepth)
            {
                throw At(string.Create(CultureInfo.InvariantCulture, $"Invalid JSON document: nesting deeper than {maxDepth} levels"), span, offset);
            }

            if (_depth == _frames.Length)
            {
                Array.Resize(ref _frames, _frames.Length * 2);
            }

            _frames[_depth++] = new Frame { IsArray = isArray, Index = -1, Node = -1 };
        }

        private void OnString(ref Utf8JsonReader reader, ReadOnlySpan<byte> span)
        {
            var raw = reader.ValueSpan;
            var escaped = reader.ValueIsEscaped;
            if (raw.IndexOf((byte)'$') < 0 && !(escaped && raw.IndexOf("\\u"u8) >= 0))
            {
                return;
            }

            ReadOnlySpan<byte> content = raw;
            if (escaped)
            {
                if (_unescaped is null || _unescaped.Length < raw.Length)
                {
                    if (_unescaped is not null)
                    {
                        ArrayPool<byte>.Shared.Return(_unescaped);
                    }

                    _unescaped = ArrayPool<byte>.Shared.Rent(Math.Max(raw.Length, 256));
                }

                int length;
                try
                {
                    length = reader.CopyString(_unescaped);
                }
                catch (InvalidOperationException)
                {
                    throw At("Invalid JSON document: a string escapes an invalid UTF-16 sequence", span, reader.TokenStartIndex);
                }

                content = _unescaped.AsSpan(0, length);
                if (content.IndexOf((byte)'$') < 0)
                {
                    return;
                }
            }

            var rewrite = false;
            var firstReference = _references.Count;
            for (var pos = 0; pos < content.Length;)
            {
                var s = ReferenceGrammar.Next(content, pos);
                switch (s.Kind)
                {
                    case SegmentKind.Escape:
                        rewrite = true;
                        break;
                    case SegmentKind.Reference:
                        rewrite = true;
                        var keyIndex = InternKey(content.Slice(s.KeyStart, s.KeyLength));
                        _references.Add(new ScannedDocument.ReferenceEntry(CurrentNode(span), keyIndex));
                        break;
                    case SegmentKind.Malformed:
                        var node = CurrentNode(span);
                        var path = ScannedDocument.PathOf(_nodes.AsSpan(), node, span);
                        _malformed.Add(new ReferenceError(
                            path,
                            ReferenceGrammar.MalformedKey(content, s),
                            ReferenceCodes.Malformed,
                            ReferenceMessages.Malformed(path, ReferenceGrammar.Reason(content, s))));
                        _malformedPositions.Add(_references.Count);
                        break;
                    default:
                        break;
                }

                pos = s.End;
            }

            if (rewrite)
            {
                _rewrites.Add(new ScannedDocument.Rewrite((int)reader.TokenStartIndex, raw.Length + 2, escaped, firstReference));
            }
        }

        private int InternKey(ReadOnlySpan<byte> key)
        {
            Span<char> chars = stackalloc char[ReferenceGrammar.MaxKeyLength];
            var n = Encoding.ASCII.GetChars(key, chars);
            var lookup = _keyIndex.GetAlternateLookup<ReadOnlySpan<char>>();
            if (lookup.TryGetValue(chars[..n], out var index))
            {
                return index;
            }

            var text = new string(chars[..n]);
            index = _keys.Count;
            _keys.Add(text);
            _keyIndex.Add(text, index);
            return index;
        }

        /// <summary>The path node of the value being read, creating the nodes of its enclosing members when needed.</summary>
        private int CurrentNode(ReadOnlySpan<byte> span)
        {
            if (_depth == 0)
            {
                return 0;
            }

            var k = _depth - 1;
            if (_frames[k].Node >= 0)
            {
                return _frames[k].Node;
            }

            var i = k;
            while (i >= 0 && _frames[i].Node < 0)
            {
                i--;
            }

            var parent = i < 0 ? 0 : _frames[i].Node;
            for (var m = i + 1; m <= k; m++)
            {
                ref var frame = ref _frames[m];
                if (frame.IsArray)
                {
                    _nodes.Add(new ScannedDocument.PathNode(parent, 0, 0, frame.Index, ScannedDocument.PathNodeKind.Index));
                }
                else
                {
                    if (frame.NameEscaped)
                    {
                        ValidateEscapedName(span, frame.NameStart, frame.NameLength);
                    }

                    var kind = frame.NameEscaped ? ScannedDocument.PathNodeKind.EscapedName : ScannedDocument.PathNodeKind.Name;
                    _nodes.Add(new ScannedDocument.PathNode(parent, frame.NameStart, frame.NameLength, 0, kind));
                }

                parent = frame.Node = _nodes.Count - 1;
            }

            return parent;
        }

        private static void ValidateEscapedName(ReadOnlySpan<byte> span, int start, int length)
        {
            var reader = new Utf8JsonReader(span.Slice(start, length));
            try
            {
                reader.Read();
                _ = reader.GetString();
            }
            catch (InvalidOperationException)
            {
                throw At("Invalid JSON document: a property name escapes an invalid UTF-16 sequence", span, start);
            }
        }

        private static InvalidDocumentException InvalidJson(JsonException e, ReadOnlySpan<byte> span)
        {
            // The reader's own message quotes document bytes; only its category is used here.
            var what = e.Message.Contains("does not contain any JSON tokens", StringComparison.Ordinal)
                ? "no JSON value"
                : e.Message.Contains("after a single JSON value", StringComparison.Ordinal)
                    ? "unexpected content after the JSON value"
                    : e.Message.Contains("Expected end of", StringComparison.Ordinal) || e.Message.Contains("incomplete", StringComparison.OrdinalIgnoreCase)
                        ? "unexpected end or unterminated value"
                        : "malformed JSON";
            var line = e.LineNumber ?? 0;
            var column = e.BytePositionInLine ?? 0;
            var offset = OffsetOf(span, line, column);
            return new InvalidDocumentException(
                string.Create(CultureInfo.InvariantCulture, $"Invalid JSON document: {what} at byte offset {offset} (line {line + 1}, byte {column + 1})."),
                offset,
                line + 1,
                column + 1);
        }

        private static InvalidDocumentException InvalidUtf8(ReadOnlySpan<byte> span)
        {
            var offset = 0;
            while (offset < span.Length)
            {
                if (Rune.DecodeFromUtf8(span[offset..], out _, out var consumed) != OperationStatus.Done)
                {
                    break;
                }

                offset += consumed;
            }

            return At("Invalid JSON document: invalid UTF-8", span, offset);
        }

        private static InvalidDocumentException At(string what, ReadOnlySpan<byte> span, long offset)
        {
            var before = span[..(int)Math.Min(offset, span.Length)];
            var line = before.Count((byte)'\n');
            var lineStart = before.LastIndexOf((byte)'\n') + 1;
            var column = before.Length - lineStart;
            return new InvalidDocumentException(
                string.Create(CultureInfo.InvariantCulture, $"{what} at byte offset {offset} (line {line + 1}, byte {column + 1})."),
                offset,
                line + 1,
                column + 1);
        }

        private static long OffsetOf(ReadOnlySpan<byte> span, long line, long column)
        {
            var offset = 0;
            for (var l = 0L; l < line; l++)
            {
                var next = span[offset..].IndexOf((byte)'\n');
                if (next < 0)
                {
                    break;
                }

                offset += next + 1;
            }

            return Math.Min(offset + column, span.Length);
        }
    }
}

/// <summary>JSON path formatting: <c>$</c>, <c>.name</c> for simple names, <c>['odd name']</c> otherwise, <c>[i]</c>.</summary>
public static class JsonPath
{
    /// <summary>The root path.</summary>
    public const string Root = "$";

    /// <summary>Appends a property: <c>.name</c> when the name matches <c>^[A-Za-z0-9_-]+$</c>, else <c>['name']</c> with <c>'</c> and <c>\</c> escaped.</summary>
    public static string AppendProperty(string parent, string name)
    {
        ArgumentNullException.ThrowIfNull(parent);
        ArgumentNullException.ThrowIfNull(name);
        if (name.Length > 0 && IsSimple(name))
        {
            return string.Concat(parent, ".", name);
        }

        var sb = new StringBuilder(parent.Length + name.Length + 6);
        return AppendProperty(sb.Append(parent), name).ToString();
    }

    /// <summary>Appends an array index: <c>[i]</c>.</summary>
    public static string AppendIndex(string parent, int index) =>
        string.Create(CultureInfo.InvariantCulture, $"{parent}[{index}]");

    internal static StringBuilder AppendProperty(StringBuilder sb, string name)
    {
        if (name.Length > 0 && IsSimple(name))
        {
            return sb.Append('.').Append(name);
        }

        sb.Append("['");
        for (var i = 0; i < name.Length; i++)
        {
            var c = name[i];
            if (c is '\'' or '\\')
            {
                sb.Append('\\').Append(c);
            }
            else if (char.IsControl(c) || (char.IsSurrogate(c) && !IsPairAt(name, i)))
            {
                // Paths are stored in the audit log and shown in errors: control characters (NUL, which PostgreSQL
                // text cannot hold, CR/LF that would forge log lines) and unpaired surrogates are written as \uXXXX.
                sb.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
            }
            else if (char.IsHighSurrogate(c))
            {
                sb.Append(c).Append(name[++i]);
            }
            else
            {
                sb.Append(c);
            }
        }

        return sb.Append("']");
    }

    private static bool IsPairAt(string text, int i) =>
        char.IsHighSurrogate(text[i]) ? i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]) : i > 0 && char.IsHighSurrogate(text[i - 1]);

    internal static bool IsSimpleUtf8(ReadOnlySpan<byte> name)
    {
        if (name.IsEmpty)
        {
            return false;
        }

        foreach (var b in name)
        {
            if (!(ReferenceGrammar.IsKeyChar(b) || b == '-'))
            {
                return false;
            }
        }

        return true;
    }

    private static bool IsSimple(string name)
    {
        foreach (var c in name)
        {
            if (!(ReferenceGrammar.IsKeyChar(c) || c == '-'))
            {
                return false;
            }
        }

        return true;
    }
}

using System.Buffers;
using System.Globalization;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
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
    /// <remarks>
    /// A strict tokenizer reads the document first; it accepts only JSON that <see cref="Utf8JsonReader"/> accepts too,
    /// and gives up on anything else (invalid JSON, a byte-order mark, nesting beyond the limit, an invalid escape in a
    /// string it must read). The scan is then done again with <see cref="Utf8JsonReader"/>, which decides and words the
    /// error — so both paths produce the same document or the same exception.
    /// </remarks>
    public static ScannedDocument Scan(ReadOnlyMemory<byte> utf8Json, int maxDepth = DefaultMaxDepth) =>
        Scan(utf8Json, maxDepth, fast: true);

    /// <summary>The scan with <see cref="Utf8JsonReader"/> only (the reference the fast path is tested against).</summary>
    internal static ScannedDocument ScanWithReader(ReadOnlyMemory<byte> utf8Json, int maxDepth = DefaultMaxDepth) =>
        Scan(utf8Json, maxDepth, fast: false);

    /// <summary>Whether the strict tokenizer alone reads the document (false: a scan would fall back to the reader). For tests.</summary>
    internal static bool FastPathAccepts(ReadOnlyMemory<byte> utf8Json, int maxDepth = DefaultMaxDepth)
    {
        var state = ScanState.Rent(maxDepth);
        try
        {
            return Utf8.IsValid(utf8Json.Span) && state.TryRunFast(utf8Json.Span);
        }
        finally
        {
            state.Release();
        }
    }

    private static ScannedDocument Scan(ReadOnlyMemory<byte> utf8Json, int maxDepth, bool fast)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxDepth, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(maxDepth, MaxAllowedDepth);
        var state = ScanState.Rent(maxDepth);
        try
        {
            var span = utf8Json.Span;
            if (!Utf8.IsValid(span))
            {
                throw ScanState.InvalidUtf8(span);
            }

            if (!fast || !state.TryRunFast(span))
            {
                state.Reset();
                state.RunReader(span);
            }

            return state.ToDocument(utf8Json);
        }
        finally
        {
            state.Release();
        }
    }

    /// <summary>
    /// The index of the first byte at or after <paramref name="start"/> that a string scan stops at — the end quote, a
    /// backslash, <c>$</c>, or a control character (invalid in a string) — or -1. Inlined vector compares: most strings
    /// are short, and the call and dispatch of a general <see cref="SearchValues{T}"/> search cost more than the search.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static int IndexOfStringStop(ReadOnlySpan<byte> span, int start)
    {
        ref var origin = ref MemoryMarshal.GetReference(span);
        var length = span.Length;
        var i = start;
        if ((uint)i > (uint)length)
        {
            throw new ArgumentOutOfRangeException(nameof(start));
        }

        if (Vector256.IsHardwareAccelerated)
        {
            var quote = Vector256.Create((byte)'"');
            var backslash = Vector256.Create((byte)'\\');
            var dollar = Vector256.Create((byte)'$');
            var control = Vector256.Create((byte)0x1F);
            for (; i <= length - Vector256<byte>.Count; i += Vector256<byte>.Count)
            {
                var v = Vector256.LoadUnsafe(ref origin, (nuint)i);
                var hits = Vector256.Equals(v, quote) | Vector256.Equals(v, backslash) | Vector256.Equals(v, dollar)
                    | Vector256.Equals(Vector256.Max(v, control), control);
                if (hits != Vector256<byte>.Zero)
                {
                    return i + BitOperations.TrailingZeroCount(hits.ExtractMostSignificantBits());
                }
            }
        }

        if (Vector128.IsHardwareAccelerated)
        {
            var quote = Vector128.Create((byte)'"');
            var backslash = Vector128.Create((byte)'\\');
            var dollar = Vector128.Create((byte)'$');
            var control = Vector128.Create((byte)0x1F);
            for (; i <= length - Vector128<byte>.Count; i += Vector128<byte>.Count)
            {
                var v = Vector128.LoadUnsafe(ref origin, (nuint)i);
                var hits = Vector128.Equals(v, quote) | Vector128.Equals(v, backslash) | Vector128.Equals(v, dollar)
                    | Vector128.Equals(Vector128.Max(v, control), control);
                if (hits != Vector128<byte>.Zero)
                {
                    return i + BitOperations.TrailingZeroCount(hits.ExtractMostSignificantBits());
                }
            }
        }

        for (; i < length; i++)
        {
            var b = Unsafe.Add(ref origin, i);
            if (b < 0x20 || b == '"' || b == '\\' || b == '$')
            {
                return i;
            }
        }

        return -1;
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

    /// <summary>A distinct key seen by this thread's scans: its string (reused across scans) and its index in the current scan.</summary>
    private struct KeyEntry
    {
        public string Text;
        public int Hash;
        public int Next;
        public int Index;
        public int Scan;
    }

    /// <summary>
    /// The working state of one scan. One instance is kept per thread and reused (its small buffers, and the strings of
    /// the keys it has seen, so that a repeated key costs no allocation); large buffers go back to the pool.
    /// </summary>
    private sealed class ScanState
    {
        private const int KeepCapacity = 1024;
        private const int KeepKeys = 1024;

        [ThreadStatic]
        private static ScanState? t_cached;

        private readonly List<ReferenceError> _malformed = [];
        private readonly PooledBuilder<int> _malformedPositions = new(16);
        private readonly List<string> _keys = [];
        private readonly PooledBuilder<ScannedDocument.Rewrite> _rewrites = new(64);
        private readonly PooledBuilder<ScannedDocument.PathNode> _nodes = new(64);
        private readonly PooledBuilder<ScannedDocument.ReferenceEntry> _references = new(64);
        private Frame[] _frames = new Frame[16];
        private int _depth;
        private int _maxDepth;
        private byte[]? _unescaped;
        private int[] _buckets = new int[64];
        private KeyEntry[] _entries = new KeyEntry[32];
        private int _entryCount;
        private int _scanId;

        public static ScanState Rent(int maxDepth)
        {
            var state = t_cached ?? new ScanState();
            t_cached = null;
            state._maxDepth = maxDepth;
            state.Reset();
            return state;
        }

        /// <summary>Forgets what a scan collected (not the key strings).</summary>
        public void Reset()
        {
            _malformed.Clear();
            _malformedPositions.Clear(KeepCapacity);
            _keys.Clear();
            _rewrites.Clear(KeepCapacity);
            _nodes.Clear(KeepCapacity);
            _references.Clear(KeepCapacity);
            _depth = 0;
            _scanId++;
            if (_scanId == int.MaxValue)
            {
                ClearKeys();
                _scanId = 1;
            }

            _nodes.Add(new ScannedDocument.PathNode(-1, 0, 0, 0, ScannedDocument.PathNodeKind.Root)); // node 0: "$"
        }

        /// <summary>Returns large buffers to the pool and keeps this state for the thread's next scan.</summary>
        public void Release()
        {
            Reset();
            if (_unescaped is not null)
            {
                // It holds document text: back to the pool (as before), not kept with the thread.
                ArrayPool<byte>.Shared.Return(_unescaped);
                _unescaped = null;
            }

            if (_frames.Length > 256)
            {
                _frames = new Frame[16];
            }

            if (_entryCount > KeepKeys)
            {
                ClearKeys();
            }

            t_cached = this;
        }

        public ScannedDocument ToDocument(ReadOnlyMemory<byte> source) => new(
            source,
            _nodes.ToChunked(),
            _references.ToChunked(),
            _malformed.Count == 0 ? [] : _malformed.ToArray(),
            _malformedPositions.ToArray(),
            _keys.Count == 0 ? [] : _keys.ToArray(),
            _rewrites.ToChunked());

        /// <summary>
        /// The scan with a strict tokenizer of its own. False when the document is not plain valid JSON within the depth
        /// limit, or a string it must read cannot be read: the caller then scans again with <see cref="Utf8JsonReader"/>.
        /// </summary>
        public bool TryRunFast(ReadOnlySpan<byte> span)
        {
            try
            {
                return RunFast(span);
            }
            catch (InvalidDocumentException)
            {
                return false;
            }
        }

        private bool RunFast(ReadOnlySpan<byte> span)
        {
            var length = span.Length;
            var pos = SkipWhitespace(span, 0);
            if (pos >= length)
            {
                return false;
            }

            while (true)
            {
                // A value starts at pos (not whitespace, inside the document).
                int end;
                switch (span[pos])
                {
                    case (byte)'"':
                        end = ScanString(span, pos, out var escaped, out var special);
                        if (end < 0)
                        {
                            return false;
                        }

                        NextValue();
                        if (special)
                        {
                            OnString(span, pos, end - pos - 2, escaped);
                        }

                        pos = end;
                        break;
                    case (byte)'{':
                    case (byte)'[':
                        var isArray = span[pos] == '[';
                        NextValue();
                        if (_depth >= _maxDepth)
                        {
                            return false;
                        }

                        Push(isArray, pos, span);
                        pos = SkipWhitespace(span, pos + 1);
                        if (pos >= length)
                        {
                            return false;
                        }

                        if (span[pos] == (isArray ? (byte)']' : (byte)'}'))
                        {
                            _depth--;
                            pos++;
                            break;
                        }

                        if (isArray)
                        {
                            continue;
                        }

                        goto Member;
                    case (byte)'t':
                        if (!span[pos..].StartsWith("true"u8))
                        {
                            return false;
                        }

                        NextValue();
                        pos += 4;
                        break;
                    case (byte)'f':
                        if (!span[pos..].StartsWith("false"u8))
                        {
                            return false;
                        }

                        NextValue();
                        pos += 5;
                        break;
                    case (byte)'n':
                        if (!span[pos..].StartsWith("null"u8))
                        {
                            return false;
                        }

                        NextValue();
                        pos += 4;
                        break;
                    default:
                        end = ScanNumber(span, pos);
                        if (end < 0)
                        {
                            return false;
                        }

                        NextValue();
                        pos = end;
                        break;
                }

            AfterValue:
                pos = SkipWhitespace(span, pos);
                if (_depth == 0)
                {
                    return pos == length;
                }

                if (pos >= length)
                {
                    return false;
                }

                var c = span[pos];
                var inArray = _frames[_depth - 1].IsArray;
                if (c == ',')
                {
                    pos = SkipWhitespace(span, pos + 1);
                    if (pos >= length)
                    {
                        return false;
                    }

                    if (inArray)
                    {
                        continue;
                    }

                    goto Member;
                }

                if (c == (inArray ? (byte)']' : (byte)'}'))
                {
                    _depth--;
                    pos++;
                    goto AfterValue;
                }

                return false;

            Member:
                // A property name starts at pos, then a colon, then a value.
                if (span[pos] != '"')
                {
                    return false;
                }

                end = ScanString(span, pos, out var nameEscaped, out _);
                if (end < 0)
                {
                    return false;
                }

                ref var frame = ref _frames[_depth - 1];
                frame.NameStart = pos;
                frame.NameLength = end - pos;
                frame.NameEscaped = nameEscaped;
                frame.Node = -1;
                pos = SkipWhitespace(span, end);
                if (pos >= length || span[pos] != ':')
                {
                    return false;
                }

                pos = SkipWhitespace(span, pos + 1);
                if (pos >= length)
                {
                    return false;
                }
            }
        }

        private static int SkipWhitespace(ReadOnlySpan<byte> span, int pos)
        {
            while ((uint)pos < (uint)span.Length && span[pos] is (byte)' ' or (byte)'\n' or (byte)'\r' or (byte)'\t')
            {
                pos++;
            }

            return pos;
        }

        /// <summary>
        /// The end (after the closing quote) of the string token at <paramref name="quote"/>, or -1 when it is not a valid
        /// JSON string. <paramref name="special"/>: it holds a <c>$</c>, a <c>\u0024</c> or a <c>\u</c> escape of a
        /// surrogate (it must be read, for references or for the check of its UTF-16).
        /// </summary>
        private static int ScanString(ReadOnlySpan<byte> span, int quote, out bool escaped, out bool special)
        {
            escaped = false;
            special = false;
            var i = quote + 1;
            while (true)
            {
                i = IndexOfStringStop(span, i);
                if (i < 0)
                {
                    return -1;
                }

                switch (span[i])
                {
                    case (byte)'"':
                        return i + 1;
                    case (byte)'$':
                        special = true;
                        i++;
                        break;
                    case (byte)'\\':
                        escaped = true;
                        if (i + 1 >= span.Length)
                        {
                            return -1;
                        }

                        switch (span[i + 1])
                        {
                            case (byte)'"' or (byte)'\\' or (byte)'/' or (byte)'b' or (byte)'f' or (byte)'n' or (byte)'r' or (byte)'t':
                                i += 2;
                                break;
                            case (byte)'u':
                                if (i + 5 >= span.Length
                                    || !char.IsAsciiHexDigit((char)span[i + 2]) || !char.IsAsciiHexDigit((char)span[i + 3])
                                    || !char.IsAsciiHexDigit((char)span[i + 4]) || !char.IsAsciiHexDigit((char)span[i + 5]))
                                {
                                    return -1;
                                }

                                // Only an escape that can read as a '$' (\u0024) or that a read may reject (a surrogate,
                                // possibly unpaired) needs the string read; any other \uXXXX is one plain character.
                                var code = (HexValue(span[i + 2]) << 12) | (HexValue(span[i + 3]) << 8) | (HexValue(span[i + 4]) << 4) | HexValue(span[i + 5]);
                                if (code == '$' || (uint)(code - 0xD800) <= 0xDFFF - 0xD800)
                                {
                                    special = true;
                                }

                                i += 6;
                                break;
                            default:
                                return -1;
                        }

                        break;
                    default:
                        return -1; // a control character
                }
            }
        }

        /// <summary>The value of an ASCII hex digit (already checked to be one).</summary>
        private static int HexValue(byte digit) => digit <= '9' ? digit - '0' : (digit | 0x20) - 'a' + 10;

        /// <summary>The end of the number at <paramref name="pos"/> (RFC 8259 grammar), or -1.</summary>
        private static int ScanNumber(ReadOnlySpan<byte> span, int pos)
        {
            var i = pos;
            if (span[i] == '-')
            {
                i++;
            }

            if (i >= span.Length)
            {
                return -1;
            }

            if (span[i] == '0')
            {
                i++;
            }
            else if (char.IsAsciiDigit((char)span[i]))
            {
                i = SkipDigits(span, i + 1);
            }
            else
            {
                return -1;
            }

            if (i < span.Length && span[i] == '.')
            {
                var digits = i + 1;
                i = SkipDigits(span, digits);
                if (i == digits)
                {
                    return -1;
                }
            }

            if (i < span.Length && (span[i] | 0x20) == 'e')
            {
                i++;
                if (i < span.Length && span[i] is (byte)'+' or (byte)'-')
                {
                    i++;
                }

                var digits = i;
                i = SkipDigits(span, digits);
                if (i == digits)
                {
                    return -1;
                }
            }

            return i;
        }

        private static int SkipDigits(ReadOnlySpan<byte> span, int i)
        {
            while (i < span.Length && char.IsAsciiDigit((char)span[i]))
            {
                i++;
            }

            return i;
        }

        /// <summary>The scan with <see cref="Utf8JsonReader"/>: decides validity and words every error.</summary>
        public void RunReader(ReadOnlySpan<byte> span)
        {
            var reader = new Utf8JsonReader(span, new JsonReaderOptions { MaxDepth = _maxDepth + 1 });
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
                            var raw = reader.ValueSpan;
                            var escaped = reader.ValueIsEscaped;
                            if (raw.IndexOf((byte)'$') >= 0 || (escaped && raw.IndexOf("\\u"u8) >= 0))
                            {
                                OnString(span, (int)reader.TokenStartIndex, raw.Length, escaped);
                            }

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
            if (_depth >= _maxDepth)
            {
                throw At(string.Create(CultureInfo.InvariantCulture, $"Invalid JSON document: nesting deeper than {_maxDepth} levels"), span, offset);
            }

            if (_depth == _frames.Length)
            {
                Array.Resize(ref _frames, _frames.Length * 2);
            }

            _frames[_depth++] = new Frame { IsArray = isArray, Index = -1, Node = -1 };
        }

        /// <summary>
        /// Reads a string value that holds a <c>$</c> (or, escaped, a <c>\u</c> escape): its references, escapes and
        /// malformed references. <paramref name="tokenStart"/> is its opening quote, <paramref name="rawLength"/> the
        /// length between the quotes.
        /// </summary>
        private void OnString(ReadOnlySpan<byte> span, int tokenStart, int rawLength, bool escaped)
        {
            var raw = span.Slice(tokenStart + 1, rawLength);
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
                    var token = new Utf8JsonReader(span.Slice(tokenStart, rawLength + 2));
                    token.Read();
                    length = token.CopyString(_unescaped);
                }
                catch (InvalidOperationException)
                {
                    throw At("Invalid JSON document: a string escapes an invalid UTF-16 sequence", span, tokenStart);
                }

                content = _unescaped.AsSpan(0, length);
                if (content.IndexOf((byte)'$') < 0)
                {
                    return;
                }
            }

            var rewrite = false;
            var simple = !escaped; // only references to splice in: substitution copies the rest of the token as is
            var firstReference = _references.Count;
            for (var pos = 0; pos < content.Length;)
            {
                var s = ReferenceGrammar.Next(content, pos);
                switch (s.Kind)
                {
                    case SegmentKind.Escape:
                        rewrite = true;
                        simple = false;
                        break;
                    case SegmentKind.Reference:
                        rewrite = true;
                        var keyIndex = InternKey(content.Slice(s.KeyStart, s.KeyLength));
                        _references.Add(new ScannedDocument.ReferenceEntry(CurrentNode(span), keyIndex, s.Start, s.Length));
                        break;
                    case SegmentKind.Malformed:
                        simple = false;
                        var node = CurrentNode(span);
                        var path = ScannedDocument.PathOf(_nodes.AsChunked(), node, span);
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
                _rewrites.Add(new ScannedDocument.Rewrite(tokenStart, rawLength + 2, escaped, firstReference, simple));
            }
        }

        /// <summary>The index of a (valid, hence ASCII) key in this scan's key list, adding it on first sight.</summary>
        private int InternKey(ReadOnlySpan<byte> key)
        {
            var hasher = default(HashCode);
            hasher.AddBytes(key);
            var hash = hasher.ToHashCode();
            for (var e = _buckets[hash & (_buckets.Length - 1)] - 1; e >= 0; e = _entries[e].Next)
            {
                ref var entry = ref _entries[e];
                if (entry.Hash == hash && Ascii.Equals(key, entry.Text))
                {
                    if (entry.Scan != _scanId)
                    {
                        entry.Scan = _scanId;
                        entry.Index = _keys.Count;
                        _keys.Add(entry.Text);
                    }

                    return entry.Index;
                }
            }

            if (_entryCount == _entries.Length)
            {
                Array.Resize(ref _entries, _entries.Length * 2);
                _buckets = new int[_entries.Length * 2];
                for (var e = 0; e < _entryCount; e++)
                {
                    ref var bucket = ref _buckets[_entries[e].Hash & (_buckets.Length - 1)];
                    _entries[e].Next = bucket - 1;
                    bucket = e + 1;
                }
            }

            var text = Encoding.ASCII.GetString(key);
            var index = _keys.Count;
            _keys.Add(text);
            ref var head = ref _buckets[hash & (_buckets.Length - 1)];
            _entries[_entryCount] = new KeyEntry { Text = text, Hash = hash, Next = head - 1, Index = index, Scan = _scanId };
            head = ++_entryCount;
            return index;
        }

        private void ClearKeys()
        {
            _buckets = new int[64];
            _entries = new KeyEntry[32];
            _entryCount = 0;
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

        public static InvalidDocumentException InvalidUtf8(ReadOnlySpan<byte> span)
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

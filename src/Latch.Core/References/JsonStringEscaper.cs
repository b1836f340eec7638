using System.Buffers;

namespace Latch.Core.References;

/// <summary>
/// Minimal, correct JSON string escaping of UTF-8 text: <c>"</c>, <c>\</c> and control characters are escaped;
/// everything else (non-ASCII included) is copied, so the output is valid JSON and reads back to the exact text.
/// </summary>
internal static class JsonStringEscaper
{
    private static readonly SearchValues<byte> NeedsEscape = SearchValues.Create(
        "\0\u0001\u0002\u0003\u0004\u0005\u0006\u0007\b\t\n\u000B\f\r\u000E\u000F\u0010\u0011\u0012\u0013\u0014\u0015\u0016\u0017\u0018\u0019\u001A\u001B\u001C\u001D\u001E\u001F\"\\"u8);

    private static ReadOnlySpan<byte> Hex => "0123456789ABCDEF"u8;

    /// <summary>Length of the escaped form.</summary>
    public static int EscapedLength(ReadOnlySpan<byte> text)
    {
        var length = text.Length;
        var i = text.IndexOfAny(NeedsEscape);
        if (i < 0)
        {
            return length;
        }

        for (; i < text.Length; i++)
        {
            var b = text[i];
            if (b is (byte)'"' or (byte)'\\' or (byte)'\b' or (byte)'\f' or (byte)'\n' or (byte)'\r' or (byte)'\t')
            {
                length += 1;
            }
            else if (b < 0x20)
            {
                length += 5;
            }
        }

        return length;
    }

    /// <summary>Writes the escaped form; returns the number of bytes written. The destination must be large enough.</summary>
    public static int Write(ReadOnlySpan<byte> text, Span<byte> destination)
    {
        var w = 0;
        while (true)
        {
            var i = text.IndexOfAny(NeedsEscape);
            if (i < 0)
            {
                text.CopyTo(destination[w..]);
                return w + text.Length;
            }

            text[..i].CopyTo(destination[w..]);
            w += i;
            var b = text[i];
            destination[w++] = (byte)'\\';
            switch (b)
            {
                case (byte)'"': destination[w++] = (byte)'"'; break;
                case (byte)'\\': destination[w++] = (byte)'\\'; break;
                case (byte)'\b': destination[w++] = (byte)'b'; break;
                case (byte)'\f': destination[w++] = (byte)'f'; break;
                case (byte)'\n': destination[w++] = (byte)'n'; break;
                case (byte)'\r': destination[w++] = (byte)'r'; break;
                case (byte)'\t': destination[w++] = (byte)'t'; break;
                default:
                    destination[w++] = (byte)'u';
                    destination[w++] = (byte)'0';
                    destination[w++] = (byte)'0';
                    destination[w++] = Hex[b >> 4];
                    destination[w++] = Hex[b & 0xF];
                    break;
            }

            text = text[(i + 1)..];
        }
    }
}

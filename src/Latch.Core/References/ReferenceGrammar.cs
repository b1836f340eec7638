using System.Globalization;
using System.Numerics;
using System.Runtime.InteropServices;
using System.Text;

namespace Latch.Core.References;

/// <summary>What one step of the grammar found.</summary>
internal enum SegmentKind : byte
{
    /// <summary>Plain text, copied as is.</summary>
    Literal,

    /// <summary><c>$$Token{</c> / <c>$$Secret{</c>: yields the text without its first <c>$</c>.</summary>
    Escape,

    /// <summary>A valid <c>$Token{KEY}</c> / <c>$Secret{KEY}</c>.</summary>
    Reference,

    /// <summary>Looked like a reference but was not a valid one.</summary>
    Malformed,
}

/// <summary>Why a reference is malformed.</summary>
internal enum MalformedKind : byte
{
    None,
    MissingBrace,
    EmptyKey,
    KeyTooLong,
    InvalidCharacter,
}

/// <summary>One step of the grammar: a range of the text and what it is.</summary>
internal readonly record struct Segment(
    SegmentKind Kind,
    int Start,
    int Length,
    int KeyStart = 0,
    int KeyLength = 0,
    MalformedKind Problem = MalformedKind.None,
    int BadIndex = 0)
{
    public int End => Start + Length;
}

/// <summary>
/// The reference grammar of SPEC §2, written once for UTF-16 text (<see cref="char"/>) and UTF-8 text
/// (<see cref="byte"/>). Scans left to right; every position belongs to exactly one segment.
/// </summary>
internal static class ReferenceGrammar
{
    public const int MaxKeyLength = 50;

    private static ReadOnlySpan<byte> TokenPrefix => "$Token{"u8;
    private static ReadOnlySpan<byte> SecretPrefix => "$Secret{"u8;

    /// <summary>The segment starting at <paramref name="pos"/> (which must be inside the text).</summary>
    public static Segment Next<T>(ReadOnlySpan<T> text, int pos)
        where T : unmanaged, IBinaryInteger<T>
    {
        var dollar = T.CreateTruncating((byte)'$');
        var search = pos;
        while (true)
        {
            var rel = text[search..].IndexOf(dollar);
            if (rel < 0)
            {
                return new Segment(SegmentKind.Literal, pos, text.Length - pos);
            }

            var j = search + rel;
            var escape = PrefixAt(text, j + 1);
            if (escape > 0)
            {
                return j > pos
                    ? new Segment(SegmentKind.Literal, pos, j - pos)
                    : new Segment(SegmentKind.Escape, j, escape + 1);
            }

            var prefix = PrefixAt(text, j);
            if (prefix > 0)
            {
                return j > pos
                    ? new Segment(SegmentKind.Literal, pos, j - pos)
                    : ParseReference(text, j, prefix);
            }

            search = j + 1;
            if (search >= text.Length)
            {
                return new Segment(SegmentKind.Literal, pos, text.Length - pos);
            }
        }
    }

    /// <summary>True when the text holds anything the grammar treats specially (a reference, escape or malformed reference).</summary>
    public static bool HasSpecial<T>(ReadOnlySpan<T> text)
        where T : unmanaged, IBinaryInteger<T>
    {
        if (text.IndexOf(T.CreateTruncating((byte)'$')) < 0)
        {
            return false;
        }

        var pos = 0;
        while (pos < text.Length)
        {
            var s = Next(text, pos);
            if (s.Kind != SegmentKind.Literal)
            {
                return true;
            }

            pos = s.End;
        }

        return false;
    }

    /// <summary>Whether the key matches <c>^[A-Za-z0-9_]{1,50}$</c>.</summary>
    public static bool IsValidKey<T>(ReadOnlySpan<T> key)
        where T : unmanaged, IBinaryInteger<T>
        => key.Length is > 0 and <= MaxKeyLength && FirstInvalid(key) < 0;

    public static bool IsKeyChar(int c) =>
        (uint)((c | 0x20) - 'a') <= 'z' - 'a' || (uint)(c - '0') <= 9 || c == '_';

    /// <summary>The text of a segment's key (reference or malformed).</summary>
    public static string KeyText<T>(ReadOnlySpan<T> text, Segment s)
        where T : unmanaged, IBinaryInteger<T>
        => ToText(text.Slice(s.KeyStart, s.KeyLength));

    /// <summary>The key to report with a malformed reference: its text when it is short enough to be safe, else null.</summary>
    public static string? MalformedKey<T>(ReadOnlySpan<T> text, Segment s)
        where T : unmanaged, IBinaryInteger<T>
    {
        var key = text.Slice(s.KeyStart, s.KeyLength);
        return s.Problem switch
        {
            MalformedKind.InvalidCharacter => ToText(key),
            MalformedKind.MissingBrace when IsValidKey(key) => ToText(key),
            _ => null,
        };
    }

    /// <summary>A short reason, holding at most the reference's own key text (never more than 50 characters of it).</summary>
    public static string Reason<T>(ReadOnlySpan<T> text, Segment s)
        where T : unmanaged, IBinaryInteger<T>
        => s.Problem switch
        {
            MalformedKind.MissingBrace => "missing closing brace",
            MalformedKind.EmptyKey => "empty key",
            MalformedKind.KeyTooLong => string.Create(CultureInfo.InvariantCulture, $"key longer than {MaxKeyLength} characters"),
            MalformedKind.InvalidCharacter =>
                $"invalid character {DescribeCharacter(text, s.BadIndex)} in key '{KeyText(text, s)}'",
            _ => throw new InvalidOperationException("The segment is not malformed."),
        };

    private static Segment ParseReference<T>(ReadOnlySpan<T> text, int start, int prefix)
        where T : unmanaged, IBinaryInteger<T>
    {
        var keyStart = start + prefix;
        var close = text[keyStart..].IndexOf(T.CreateTruncating((byte)'}'));
        if (close < 0)
        {
            return new Segment(SegmentKind.Malformed, start, text.Length - start, keyStart, text.Length - keyStart, MalformedKind.MissingBrace);
        }

        var length = prefix + close + 1;
        if (close == 0)
        {
            return new Segment(SegmentKind.Malformed, start, length, keyStart, 0, MalformedKind.EmptyKey);
        }

        if (close > MaxKeyLength)
        {
            return new Segment(SegmentKind.Malformed, start, length, keyStart, close, MalformedKind.KeyTooLong);
        }

        var bad = FirstInvalid(text.Slice(keyStart, close));
        return bad >= 0
            ? new Segment(SegmentKind.Malformed, start, length, keyStart, close, MalformedKind.InvalidCharacter, keyStart + bad)
            : new Segment(SegmentKind.Reference, start, length, keyStart, close);
    }

    /// <summary>Length of <c>$Token{</c> or <c>$Secret{</c> when the text has it at <paramref name="at"/>, else 0.</summary>
    private static int PrefixAt<T>(ReadOnlySpan<T> text, int at)
        where T : unmanaged, IBinaryInteger<T>
    {
        if (at >= text.Length || int.CreateTruncating(text[at]) != '$')
        {
            return 0;
        }

        if (StartsWithAscii(text, at, TokenPrefix))
        {
            return TokenPrefix.Length;
        }

        return StartsWithAscii(text, at, SecretPrefix) ? SecretPrefix.Length : 0;
    }

    private static bool StartsWithAscii<T>(ReadOnlySpan<T> text, int at, ReadOnlySpan<byte> ascii)
        where T : unmanaged, IBinaryInteger<T>
    {
        if (text.Length - at < ascii.Length)
        {
            return false;
        }

        for (var k = 1; k < ascii.Length; k++)
        {
            if (int.CreateTruncating(text[at + k]) != ascii[k])
            {
                return false;
            }
        }

        return true;
    }

    private static int FirstInvalid<T>(ReadOnlySpan<T> key)
        where T : unmanaged, IBinaryInteger<T>
    {
        for (var i = 0; i < key.Length; i++)
        {
            if (!IsKeyChar(int.CreateTruncating(key[i])))
            {
                return i;
            }
        }

        return -1;
    }

    private static string ToText<T>(ReadOnlySpan<T> span)
        where T : unmanaged, IBinaryInteger<T>
        => typeof(T) == typeof(byte)
            ? Encoding.UTF8.GetString(MemoryMarshal.Cast<T, byte>(span))
            : new string(MemoryMarshal.Cast<T, char>(span));

    private static string DescribeCharacter<T>(ReadOnlySpan<T> text, int index)
        where T : unmanaged, IBinaryInteger<T>
    {
        Rune rune;
        if (typeof(T) == typeof(byte))
        {
            Rune.DecodeFromUtf8(MemoryMarshal.Cast<T, byte>(text[index..]), out rune, out _);
        }
        else
        {
            Rune.DecodeFromUtf16(MemoryMarshal.Cast<T, char>(text[index..]), out rune, out _);
        }

        var printable = rune.Value == ' '
            || !(Rune.IsControl(rune) || Rune.IsWhiteSpace(rune) || rune == Rune.ReplacementChar
                 || Rune.GetUnicodeCategory(rune) is UnicodeCategory.Format or UnicodeCategory.Surrogate or UnicodeCategory.OtherNotAssigned);
        return printable
            ? $"'{rune}'"
            : string.Create(CultureInfo.InvariantCulture, $"U+{rune.Value:X4}");
    }
}

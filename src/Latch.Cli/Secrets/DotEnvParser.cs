using System.Runtime.CompilerServices;
using System.Text;
using System.Text.RegularExpressions;

// The fuzzing harness (fuzz/Latch.Fuzz) feeds arbitrary text to the parser.
[assembly: InternalsVisibleTo("Latch.Fuzz")]

namespace Latch.Cli.Secrets;

/// <summary>
/// One key of a dotenv file: its value, or why it cannot be imported. <see cref="Line"/> is where its (last) definition starts.
/// </summary>
internal sealed record DotEnvItem(string Key, int Line, string? Value, string? Error)
{
    public bool IsValid => Error is null;

    /// <summary>Never the value: a record's default ToString would print it.</summary>
    public override string ToString() => IsValid ? $"{Key} (line {Line})" : $"{Key} (line {Line}): {Error}";
}

/// <summary>A problem at a line of a dotenv file. Messages cite line numbers and keys, never values.</summary>
internal sealed record DotEnvIssue(int Line, string Message)
{
    public override string ToString() => $"line {Line}: {Message}";
}

/// <summary>What a dotenv file holds: one item per key (first-appearance order), syntax errors and warnings.</summary>
internal sealed record DotEnvDocument(IReadOnlyList<DotEnvItem> Items, IReadOnlyList<DotEnvIssue> SyntaxErrors, IReadOnlyList<DotEnvIssue> Warnings);

/// <summary>
/// Parses dotenv files: <c>KEY=value</c> lines, blank lines, <c>#</c> comments (full-line, and after an unquoted or quoted
/// value), an optional <c>export</c> prefix, unquoted values (trimmed), single quotes (literal) and double quotes (escapes
/// <c>\n \r \t \" \\ \$</c>); quoted values may span lines. Keys must be Latch keys (<c>[A-Za-z0-9_]{1,50}</c>); empty values
/// are refused (Latch does not store them); a repeated key keeps its last definition, with a warning.
/// </summary>
internal static partial class DotEnvParser
{
    public const int MaxKeyLength = 50;

    public static DotEnvDocument Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var reader = new Reader(text.StartsWith('\uFEFF') ? text[1..] : text);
        var order = new List<string>();
        var items = new Dictionary<string, DotEnvItem>(StringComparer.Ordinal);
        var syntax = new List<DotEnvIssue>();
        var warnings = new List<DotEnvIssue>();

        while (!reader.AtEnd)
        {
            var line = reader.Line;
            var result = ParseLine(reader, line);
            if (result.Syntax is { } error)
            {
                syntax.Add(new DotEnvIssue(line, error));
                if (result.Fatal)
                {
                    break;
                }

                continue;
            }

            if (result.Item is not { } item)
            {
                continue;
            }

            if (items.TryGetValue(item.Key, out var earlier))
            {
                warnings.Add(new DotEnvIssue(line, $"{item.Key} is defined again (first at line {earlier.Line}); the definition at line {line} wins"));
            }
            else
            {
                order.Add(item.Key);
            }

            items[item.Key] = item;
        }

        return new DotEnvDocument(order.Select(k => items[k]).ToList(), syntax, warnings);
    }

    /// <summary>Writes entries as a dotenv file with double-quoted, escaped values (the inverse of <see cref="Parse"/>).</summary>
    public static string Format(IEnumerable<KeyValuePair<string, string>> entries)
    {
        ArgumentNullException.ThrowIfNull(entries);
        var builder = new StringBuilder();
        foreach (var (key, value) in entries)
        {
            builder.Append(key).Append("=\"");
            foreach (var c in value)
            {
                builder.Append(c switch
                {
                    '\n' => "\\n",
                    '\r' => "\\r",
                    '\t' => "\\t",
                    '"' => "\\\"",
                    '\\' => "\\\\",
                    '$' => "\\$",
                    _ => c.ToString(),
                });
            }

            builder.Append("\"\n");
        }

        return builder.ToString();
    }

    /// <summary>Null when <paramref name="key"/> is a valid Latch key; otherwise why not.</summary>
    public static string? ExplainKey(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (key.Length > MaxKeyLength)
        {
            return $"must be at most {MaxKeyLength} characters";
        }

        return KeyRegex().IsMatch(key) ? null : "may contain only A-Z, a-z, 0-9 and _";
    }

    private readonly record struct LineResult(DotEnvItem? Item, string? Syntax, bool Fatal);

    private static LineResult ParseLine(Reader reader, int line)
    {
        reader.SkipBlanks();
        if (reader.AtEndOfLine)
        {
            reader.SkipLineBreak();
            return default;
        }

        if (reader.Peek == '#')
        {
            reader.SkipToNextLine();
            return default;
        }

        var key = reader.ReadKey();
        if (key == "export" && reader.Peek is ' ' or '\t')
        {
            reader.SkipBlanks();
            key = reader.ReadKey();
        }

        reader.SkipBlanks();
        if (reader.Peek != '=')
        {
            reader.SkipToNextLine();
            return new LineResult(null, "expected KEY=VALUE", false);
        }

        reader.Advance();
        reader.SkipBlanks();
        string value;
        switch (reader.Peek)
        {
            case '\'':
            case '"':
                var quote = reader.Peek;
                reader.Advance();
                var quoted = quote == '"' ? reader.ReadDoubleQuoted() : reader.ReadSingleQuoted();
                if (quoted is null)
                {
                    return new LineResult(null, $"the {(quote == '"' ? "double" : "single")} quote opened here is never closed", true);
                }

                value = quoted;
                reader.SkipBlanks();
                if (!reader.AtEndOfLine && reader.Peek != '#')
                {
                    reader.SkipToNextLine();
                    return new LineResult(null, $"unexpected text after the closing quote of {Describe(key)}", false);
                }

                reader.SkipToNextLine();
                break;
            default:
                value = reader.ReadUnquoted();
                reader.SkipLineBreak();
                break;
        }

        if (key.Length == 0)
        {
            return new LineResult(null, "missing key before '='", false);
        }

        if (ExplainKey(key) is { } why)
        {
            return new LineResult(new DotEnvItem(key, line, null, $"line {line}: invalid key: {why}"), null, false);
        }

        return value.Length == 0
            ? new LineResult(new DotEnvItem(key, line, null, $"line {line}: empty value (Latch does not store empty secrets)"), null, false)
            : new LineResult(new DotEnvItem(key, line, value, null), null, false);
    }

    private static string Describe(string key) => ExplainKey(key) is null ? key : "the value";

    [GeneratedRegex(@"^[A-Za-z0-9_]{1,50}\z", RegexOptions.CultureInvariant)]
    private static partial Regex KeyRegex();

    /// <summary>A cursor over the text that counts lines (<c>\n</c>, <c>\r\n</c> and a lone <c>\r</c> each end one).</summary>
    private sealed class Reader(string text)
    {
        private int _position;

        public int Line { get; private set; } = 1;

        public bool AtEnd => _position >= text.Length;

        public bool AtEndOfLine => AtEnd || text[_position] is '\n' or '\r';

        public char Peek => AtEnd ? '\0' : text[_position];

        public void Advance()
        {
            if (AtEnd)
            {
                return;
            }

            var c = text[_position++];
            if (c == '\n' || (c == '\r' && Peek != '\n'))
            {
                Line++;
            }
        }

        public void SkipBlanks()
        {
            while (Peek is ' ' or '\t')
            {
                Advance();
            }
        }

        public void SkipLineBreak()
        {
            if (Peek == '\r')
            {
                Advance();
            }

            if (Peek == '\n')
            {
                Advance();
            }
        }

        public void SkipToNextLine()
        {
            while (!AtEndOfLine)
            {
                Advance();
            }

            SkipLineBreak();
        }

        /// <summary>Up to '=', a blank or the end of the line.</summary>
        public string ReadKey()
        {
            var start = _position;
            while (!AtEndOfLine && Peek is not ('=' or ' ' or '\t'))
            {
                Advance();
            }

            return text[start.._position];
        }

        /// <summary>The rest of the line, without a comment (a '#' at the start or after a blank) and trimmed.</summary>
        public string ReadUnquoted()
        {
            var start = _position;
            var end = -1;
            while (!AtEndOfLine)
            {
                if (Peek == '#' && (_position == start || text[_position - 1] is ' ' or '\t') && end < 0)
                {
                    end = _position;
                }

                Advance();
            }

            return text[start..(end < 0 ? _position : end)].Trim(' ', '\t');
        }

        /// <summary>Everything up to the next single quote, literally; null when it never comes.</summary>
        public string? ReadSingleQuoted()
        {
            var start = _position;
            while (!AtEnd && Peek != '\'')
            {
                Advance();
            }

            if (AtEnd)
            {
                return null;
            }

            var value = text[start.._position];
            Advance();
            return NormalizeLineBreaks(value);
        }

        /// <summary>Up to the next unescaped double quote, with escapes applied; null when it never comes.</summary>
        public string? ReadDoubleQuoted()
        {
            var builder = new StringBuilder();
            while (!AtEnd)
            {
                var c = Peek;
                Advance();
                if (c == '"')
                {
                    return builder.ToString();
                }

                if (c == '\r')
                {
                    // A line break inside the quotes is a newline, whatever the file's line endings.
                    if (Peek == '\n')
                    {
                        Advance();
                    }

                    builder.Append('\n');
                    continue;
                }

                if (c != '\\' || AtEnd)
                {
                    builder.Append(c);
                    continue;
                }

                var escaped = Peek;
                switch (escaped)
                {
                    case 'n': builder.Append('\n'); break;
                    case 'r': builder.Append('\r'); break;
                    case 't': builder.Append('\t'); break;
                    case '"': builder.Append('"'); break;
                    case '\\': builder.Append('\\'); break;
                    case '$': builder.Append('$'); break;
                    default:
                        // Not an escape: the backslash stays.
                        builder.Append('\\');
                        continue;
                }

                Advance();
            }

            return null;
        }

        private static string NormalizeLineBreaks(string value) =>
            value.Contains('\r', StringComparison.Ordinal) ? value.Replace("\r\n", "\n", StringComparison.Ordinal).Replace('\r', '\n') : value;
    }
}

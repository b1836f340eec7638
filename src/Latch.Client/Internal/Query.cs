using System.Globalization;
using System.Text;

namespace Latch.Client.Internal;

/// <summary>Builds a query string, escaping every value.</summary>
internal sealed class Query
{
    private readonly StringBuilder _text = new();

    public Query Add(string name, string? value)
    {
        if (value is not null)
        {
            _text.Append(_text.Length == 0 ? '?' : '&').Append(name).Append('=').Append(Uri.EscapeDataString(value));
        }

        return this;
    }

    public Query Add(string name, long? value) => Add(name, value?.ToString(CultureInfo.InvariantCulture));

    public Query Add(string name, DateTimeOffset? value) => Add(name, value is { } v ? UnixSecondsConverter.Format(v) : null);

    public override string ToString() => _text.ToString();
}

/// <summary>Every list answers <c>{items, next_cursor}</c>.</summary>
internal sealed record Page<T>(IReadOnlyList<T> Items, string? NextCursor);

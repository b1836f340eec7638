using System.Collections;
using System.Diagnostics.CodeAnalysis;
using Latch.Core.Secrets;

namespace Latch.Core.References;

/// <summary>
/// The values of a resolution, by key: the document's key list and a value per key, in the same order (which is also
/// the enumeration order). Substitution reads it by key index; lookups by name go through a linear search for a few
/// keys and a dictionary (built on first use) for more.
/// </summary>
internal sealed class KeyedValues(IReadOnlyList<string> keys, SecretValue[] values) : IReadOnlyDictionary<string, SecretValue>
{
    private const int LinearSearchLimit = 8;
    private Dictionary<string, int>? _index;

    /// <summary>The document's key list (substitution checks that it is the same instance).</summary>
    public IReadOnlyList<string> KeyList => keys;

    public int Count => values.Length;

    public IEnumerable<string> Keys => keys;

    public IEnumerable<SecretValue> Values => values;

    public SecretValue this[string key] => TryGetValue(key, out var value) ? value : throw new KeyNotFoundException($"No value for secret '{key}'.");

    /// <summary>The values, by index in <see cref="KeyList"/> (not to be changed).</summary>
    public SecretValue[] ValueArray => values;

    public bool ContainsKey(string key) => IndexOf(key) >= 0;

    public bool TryGetValue(string key, [MaybeNullWhen(false)] out SecretValue value)
    {
        var i = IndexOf(key);
        value = i >= 0 ? values[i] : null;
        return i >= 0;
    }

    public IEnumerator<KeyValuePair<string, SecretValue>> GetEnumerator()
    {
        for (var i = 0; i < values.Length; i++)
        {
            yield return KeyValuePair.Create(keys[i], values[i]);
        }
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    private int IndexOf(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (values.Length <= LinearSearchLimit)
        {
            for (var i = 0; i < values.Length; i++)
            {
                if (string.Equals(keys[i], key, StringComparison.Ordinal))
                {
                    return i;
                }
            }

            return -1;
        }

        var index = _index;
        if (index is null)
        {
            index = new Dictionary<string, int>(values.Length, StringComparer.Ordinal);
            for (var i = 0; i < values.Length; i++)
            {
                index[keys[i]] = i;
            }

            _index = index;
        }

        return index.GetValueOrDefault(key, -1);
    }
}

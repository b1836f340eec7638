using System.Text;
using System.Text.Json;
using Latch.Core;
using Latch.Core.Secrets;

namespace Latch.Server.Http;

/// <summary>
/// Reads the fields of a JSON object with per-field error messages, so one bad request lists every
/// problem. Unknown fields are errors too: a typo must not be silently ignored.
/// </summary>
internal sealed class FieldReader
{
    private readonly JsonElement _object;
    // Created at the first failure: a valid request allocates no error map.
    private Dictionary<string, List<string>>? _errors;

    // The fields a handler asked for; a handful, so a list searched in order beats a hash set.
    private readonly List<string> _known = new(8);

    public FieldReader(JsonElement obj) => _object = obj;

    public bool Has(string name)
    {
        Know(name);
        return _object.TryGetProperty(name, out _);
    }

    public void Fail(string field, string message)
    {
        _errors ??= new Dictionary<string, List<string>>(StringComparer.Ordinal);
        if (!_errors.TryGetValue(field, out var list))
        {
            _errors[field] = list = [];
        }

        list.Add(message);
    }

    private bool HasError(string field) => _errors is not null && _errors.ContainsKey(field);

    private void Know(string name)
    {
        if (!_known.Contains(name))
        {
            _known.Add(name);
        }
    }

    /// <summary>Whether a property of the object is one of the known fields, compared on its UTF-8 name (no string made).</summary>
    private bool IsKnown(JsonProperty property)
    {
        foreach (var name in _known)
        {
            if (property.NameEquals(name))
            {
                return true;
            }
        }

        return false;
    }

    public LatchError? Error
    {
        get
        {
            foreach (var property in _object.EnumerateObject())
            {
                string name;
                try
                {
                    if (IsKnown(property))
                    {
                        continue;
                    }

                    name = property.Name;
                }
                catch (InvalidOperationException)
                {
                    Fail("(unnamed)", "field names must be valid Unicode text");
                    continue;
                }

                if (!_known.Contains(name))
                {
                    Fail(Printable(name), "is not a known field");
                }
            }

            return _errors is null || _errors.Count == 0 ? null : LatchError.Invalid(_errors.ToDictionary(e => e.Key, e => e.Value.ToArray(), StringComparer.Ordinal));
        }
    }

    /// <summary>Absent → unset; null → set to null; string → set.</summary>
    public Optional<string?> OptionalString(string name, int maxLength, bool allowNull = true)
    {
        Know(name);
        if (!_object.TryGetProperty(name, out var element))
        {
            return default;
        }

        if (element.ValueKind == JsonValueKind.Null && allowNull)
        {
            return Optional<string?>.Of(null);
        }

        if (element.ValueKind != JsonValueKind.String)
        {
            Fail(name, allowNull ? "must be a string or null" : "must be a string");
            return default;
        }

        if (!TryGetText(element, name, out var value))
        {
            return default;
        }

        if (value.Length > maxLength)
        {
            Fail(name, $"must be at most {maxLength} characters");
            return default;
        }

        if (HasControl(value))
        {
            Fail(name, "must not contain control characters");
            return default;
        }

        return Optional<string?>.Of(value);
    }

    public string? RequiredString(string name, int maxLength)
    {
        var value = OptionalString(name, maxLength, allowNull: false);
        if (!value.IsSet && !HasError(name))
        {
            Fail(name, "is required");
        }

        return value.Value;
    }

    /// <summary>A secret value: a non-empty string up to the size limit. Error messages never echo it.</summary>
    public Optional<SecretValue> Value(string name, int maxBytes)
    {
        Know(name);
        if (!_object.TryGetProperty(name, out var element))
        {
            return default;
        }

        if (element.ValueKind != JsonValueKind.String)
        {
            Fail(name, "must be a string");
            return default;
        }

        if (!TryGetText(element, name, out var text))
        {
            return default;
        }

        if (text.Length == 0)
        {
            Fail(name, "must not be empty");
            return default;
        }

        if (Encoding.UTF8.GetByteCount(text) > maxBytes)
        {
            Fail(name, $"must be at most {maxBytes} bytes");
            return default;
        }

        return Optional<SecretValue>.Of(new SecretValue(text));
    }

    public Optional<IReadOnlyList<string>> StringArray(string name, Func<string, bool> isValid, string itemRule, int maxItems = 100)
    {
        Know(name);
        if (!_object.TryGetProperty(name, out var element))
        {
            return default;
        }

        if (element.ValueKind == JsonValueKind.Null)
        {
            return Optional<IReadOnlyList<string>>.Of([]);
        }

        if (element.ValueKind != JsonValueKind.Array)
        {
            Fail(name, "must be an array of strings");
            return default;
        }

        if (element.GetArrayLength() > maxItems)
        {
            Fail(name, $"must have at most {maxItems} items");
            return default;
        }

        var items = new List<string>();
        var index = 0;
        var ok = true;
        foreach (var item in element.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.String)
            {
                Fail($"{name}[{index}]", "must be a string");
                ok = false;
            }
            else if (!TryGetText(item, $"{name}[{index}]", out var text))
            {
                ok = false;
            }
            else if (!isValid(text))
            {
                Fail($"{name}[{index}]", itemRule);
                ok = false;
            }
            else if (!items.Contains(text, StringComparer.Ordinal))
            {
                items.Add(text);
            }

            index++;
        }

        return ok ? Optional<IReadOnlyList<string>>.Of(items) : default;
    }

    /// <summary>An object of string values (headers, query, parameters); null when absent.</summary>
    public Dictionary<string, string>? StringMap(string name, int maxItems, int maxValueLength)
    {
        Know(name);
        if (!_object.TryGetProperty(name, out var element) || element.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (element.ValueKind != JsonValueKind.Object)
        {
            Fail(name, "must be an object of strings");
            return null;
        }

        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var property in element.EnumerateObject())
        {
            string key;
            try
            {
                key = property.Name;
            }
            catch (InvalidOperationException)
            {
                Fail(name, "names must be valid Unicode text");
                continue;
            }

            if (property.Value.ValueKind != JsonValueKind.String)
            {
                Fail($"{name}.{Printable(key)}", "must be a string");
            }
            else if (TryGetText(property.Value, $"{name}.{Printable(key)}", out var text))
            {
                if (text.Length > maxValueLength)
                {
                    Fail($"{name}.{Printable(key)}", $"must be at most {maxValueLength} characters");
                }
                else
                {
                    result[key] = text;
                }
            }
        }

        if (result.Count > maxItems)
        {
            Fail(name, $"must have at most {maxItems} entries");
        }

        return result;
    }

    public Optional<long?> UnixSeconds(string name)
    {
        Know(name);
        if (!_object.TryGetProperty(name, out var element))
        {
            return default;
        }

        if (element.ValueKind == JsonValueKind.Null)
        {
            return Optional<long?>.Of(null);
        }

        // 253402300799 = 9999-12-31T23:59:59Z, the largest instant .NET represents.
        if (element.ValueKind != JsonValueKind.Number || !element.TryGetInt64(out var seconds) || seconds < 0 || seconds > 253402300799)
        {
            Fail(name, "must be Unix seconds (an integer) or null");
            return default;
        }

        return Optional<long?>.Of(seconds);
    }

    public Optional<bool> Bool(string name)
    {
        Know(name);
        if (!_object.TryGetProperty(name, out var element))
        {
            return default;
        }

        if (element.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
        {
            Fail(name, "must be true or false");
            return default;
        }

        return Optional<bool>.Of(element.GetBoolean());
    }

    public int? RequiredInt(string name, int min, int max)
    {
        Know(name);
        if (!_object.TryGetProperty(name, out var element))
        {
            Fail(name, "is required");
            return null;
        }

        if (element.ValueKind != JsonValueKind.Number || !element.TryGetInt32(out var value) || value < min || value > max)
        {
            Fail(name, $"must be an integer from {min} to {max}");
            return null;
        }

        return value;
    }

    public JsonElement? RequiredAny(string name)
    {
        Know(name);
        if (!_object.TryGetProperty(name, out var element))
        {
            Fail(name, "is required");
            return null;
        }

        return element;
    }

    /// <summary>JSON allows escapes such as a lone <c>\uD800</c> that are not valid Unicode text: a field error, not a crash.</summary>
    private bool TryGetText(JsonElement element, string field, out string text)
    {
        try
        {
            text = element.GetString()!;
            return true;
        }
        catch (InvalidOperationException)
        {
            Fail(field, "must be valid Unicode text (it contains an unpaired surrogate escape)");
            text = "";
            return false;
        }
    }

    /// <summary>Whether the text holds a character <see cref="char.IsControl(char)"/> accepts (U+0000–U+001F, U+007F–U+009F).</summary>
    private static bool HasControl(string text)
    {
        var span = text.AsSpan();
        return span.IndexOfAnyInRange('\u0000', '\u001F') >= 0 || span.IndexOfAnyInRange('\u007F', '\u009F') >= 0;
    }

    /// <summary>Field names come from the client: keep them printable and short in messages.</summary>
    private static string Printable(string name)
    {
        var cleaned = new string(name.Where(c => !char.IsControl(c)).Take(64).ToArray());
        return cleaned.Length == 0 ? "(unnamed)" : cleaned;
    }
}

using System.Text;
using Latch.Core.References;

namespace Latch.Core.Runtime;

/// <summary>
/// Expands <c>$Variable{KEY}</c> (the product app's variable for the environment) and <c>$Auth{FIELD}</c> (the
/// chosen auth entry's data) in one pass; <c>$$Variable{</c> and <c>$$Auth{</c> are literal. Inserted text is not
/// scanned again here; any <c>$Token{…}</c> it holds is resolved afterwards by the resolution engine.
/// </summary>
public static class TemplateExpander
{
    private const string Variable = "$Variable{";
    private const string Auth = "$Auth{";

    /// <summary>Whether <see cref="Expand"/> could change the text (it holds <c>$Variable{</c> or <c>$Auth{</c>).</summary>
    public static bool HasTemplate(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return text.Contains(Variable, StringComparison.Ordinal) || text.Contains(Auth, StringComparison.Ordinal);
    }

    /// <summary>Expands one string; failures are added to <paramref name="errors"/> (path, code, message).</summary>
    public static string Expand(
        string text,
        string path,
        IReadOnlyDictionary<string, string> variables,
        IReadOnlyDictionary<string, string>? auth,
        ICollection<ReferenceError> errors,
        Func<string, string>? encode = null)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(errors);
        if (!HasTemplate(text))
        {
            return text;
        }

        var output = new StringBuilder(text.Length + 32);
        var i = 0;
        while (i < text.Length)
        {
            if (text[i] == '$' && i + 1 < text.Length && text[i + 1] == '$'
                && (Starts(text, i + 1, Variable) || Starts(text, i + 1, Auth)))
            {
                output.Append('$');
                i += 2;
                continue;
            }

            var isVariable = Starts(text, i, Variable);
            if (!isVariable && !Starts(text, i, Auth))
            {
                output.Append(text[i]);
                i++;
                continue;
            }

            var open = i + (isVariable ? Variable.Length : Auth.Length);
            var close = text.IndexOf('}', open);
            var name = close < 0 ? null : text[open..close];
            if (name is null || !ReferenceText.IsValidKey(name))
            {
                errors.Add(new ReferenceError(path, null, "malformed_template",
                    $"Malformed {(isVariable ? "$Variable" : "$Auth")} reference at {path}: the name must be 1-50 of A-Z, a-z, 0-9 and _ followed by '}}'"));
                return text;
            }

            string? value = null;
            if (isVariable)
            {
                if (!variables.TryGetValue(name, out value))
                {
                    errors.Add(new ReferenceError(path, name, "unknown_variable", $"Variable '{name}' is not defined for this app and environment (at {path})"));
                }
            }
            else if (auth is null)
            {
                errors.Add(new ReferenceError(path, name, "unknown_auth_field", $"Auth field '{name}' is used at {path} but no auth entry is configured for this app and environment"));
            }
            else if (!auth.TryGetValue(name, out value))
            {
                errors.Add(new ReferenceError(path, name, "unknown_auth_field", $"Auth field '{name}' is not in the auth data (at {path})"));
            }

            if (value is not null)
            {
                output.Append(encode is null ? value : encode(value));
            }

            i = close + 1;
        }

        return output.ToString();
    }

    private static bool Starts(string text, int index, string token) =>
        string.CompareOrdinal(text, index, token, 0, token.Length) == 0;
}

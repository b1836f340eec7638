using System.Text.Json;
using System.Text.RegularExpressions;
using Latch.Core.References;
using Latch.Core.Validation;

namespace Latch.Core.Runtime;

/// <summary>
/// Reads configuration documents strictly (unknown fields, wrong types and missing required fields are field
/// errors) and checks what types cannot: tags, URLs, methods, placeholders, duplicates.
/// </summary>
public static partial class ConfigValidation
{
    private static readonly string[] Methods = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"];

    /// <summary>Deserializes <paramref name="json"/> or returns the field error that stops it.</summary>
    public static Result<T> Read<T>(JsonElement json)
        where T : class
    {
        try
        {
            var value = json.Deserialize<T>(ConfigJson.Options);
            return value is null ? LatchError.Invalid("$", "must be a JSON object") : value;
        }
        catch (JsonException e)
        {
            var field = string.IsNullOrEmpty(e.Path) || e.Path == "$" ? "$" : e.Path.StartsWith("$.", StringComparison.Ordinal) ? e.Path[2..] : e.Path;
            var message = e.Message.Contains("missing required", StringComparison.OrdinalIgnoreCase) ? "a required field is missing"
                : e.Message.Contains("could not be mapped", StringComparison.OrdinalIgnoreCase) ? "is not a known field"
                : e.Message.Contains("null", StringComparison.OrdinalIgnoreCase) ? "must not be null"
                : "has the wrong type";
            if (message == "a required field is missing" && MissingProperty().Match(e.Message) is { Success: true } m)
            {
                return LatchError.Invalid(field == "$" ? m.Groups[1].Value : $"{field}.{m.Groups[1].Value}", "is required");
            }

            return LatchError.Invalid(field, message);
        }
        catch (InvalidOperationException)
        {
            return LatchError.Invalid("$", "contains text that is not valid Unicode");
        }
    }

    /// <summary>Checks an app definition.</summary>
    public static Dictionary<string, List<string>> Check(AppDefinition app)
    {
        var errors = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        Tag(errors, "access_tag", app.AccessTag);
        Text(errors, "name", app.Name, 200);
        if (app.Envs.Count == 0)
        {
            Add(errors, "envs", "must have at least one environment");
        }

        Unique(errors, "envs", app.Envs.Select(e => e.Slug), "slug");
        for (var i = 0; i < app.Envs.Count; i++)
        {
            Tag(errors, $"envs[{i}].slug", app.Envs[i].Slug);
            if (!Uri.TryCreate(app.Envs[i].BaseUrl, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https")
                || !string.IsNullOrEmpty(uri.Query) || !string.IsNullOrEmpty(uri.Fragment) || !string.IsNullOrEmpty(uri.UserInfo))
            {
                Add(errors, $"envs[{i}].base_url", "must be an absolute http(s) URL without query, fragment or credentials");
            }
            else if (ReferenceText.HasReferenceSyntax(app.Envs[i].BaseUrl))
            {
                Add(errors, $"envs[{i}].base_url", "must not contain secret references");
            }
        }

        var auths = app.Auths ?? [];
        Unique(errors, "auths", auths.Select(a => a.Tag), "tag");
        for (var i = 0; i < auths.Count; i++)
        {
            Tag(errors, $"auths[{i}].tag", auths[i].Tag);
            HeaderNames(errors, $"auths[{i}].headers", auths[i].Headers);
        }

        var actions = app.Actions ?? [];
        Unique(errors, "actions", actions.Select(a => a.Event), "event");
        for (var i = 0; i < actions.Count; i++)
        {
            var action = actions[i];
            Tag(errors, $"actions[{i}].event", action.Event);
            if (!Methods.Contains(action.Method, StringComparer.Ordinal))
            {
                Add(errors, $"actions[{i}].method", "must be one of " + string.Join(", ", Methods));
            }

            if (!action.Path.StartsWith('/') || action.Path.Contains("//", StringComparison.Ordinal) || action.Path.Contains('?', StringComparison.Ordinal)
                || action.Path.Contains('#', StringComparison.Ordinal) || action.Path.Split('/').Any(s => s is "." or ".."))
            {
                Add(errors, $"actions[{i}].path", "must start with '/' and hold no query, fragment, '.' or '..' segments");
            }
            else if (ReferenceText.HasReferenceSyntax(action.Path))
            {
                Add(errors, $"actions[{i}].path", "must not contain secret references; use a {param} placeholder");
            }
            else if (Placeholders(action.Path).Any(p => !Names.IsTag(p)))
            {
                Add(errors, $"actions[{i}].path", "placeholders must be {name} with letters, digits and '_'");
            }

            HeaderNames(errors, $"actions[{i}].headers", action.Headers);
        }

        return errors;
    }

    /// <summary>Checks a product definition.</summary>
    public static Dictionary<string, List<string>> Check(ProductDefinition product)
    {
        var errors = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        Tag(errors, "tag", product.Tag);
        Text(errors, "name", product.Name, 200);
        if (product.Envs.Count == 0)
        {
            Add(errors, "envs", "must have at least one environment");
        }

        Unique(errors, "envs", product.Envs.Select(e => e.Slug), "slug");
        for (var i = 0; i < product.Envs.Count; i++)
        {
            Tag(errors, $"envs[{i}].slug", product.Envs[i].Slug);
            Text(errors, $"envs[{i}].env_name", product.Envs[i].EnvName, 200);
        }

        return errors;
    }

    /// <summary>Checks a product app against its product and app.</summary>
    public static Dictionary<string, List<string>> Check(ProductAppConfig config, ProductDefinition product, AppDefinition app)
    {
        var errors = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        if (config.Envs.Count == 0)
        {
            Add(errors, "envs", "must map at least one product environment");
        }

        Unique(errors, "envs", config.Envs.Select(e => e.ProductEnvSlug), "product_env_slug");
        var auths = app.Auths ?? [];
        for (var i = 0; i < config.Envs.Count; i++)
        {
            var env = config.Envs[i];
            if (!product.Envs.Any(e => e.Slug == env.ProductEnvSlug))
            {
                Add(errors, $"envs[{i}].product_env_slug", $"product '{product.Tag}' has no environment '{env.ProductEnvSlug}'");
            }

            if (!app.Envs.Any(e => e.Slug == env.AppEnvSlug))
            {
                Add(errors, $"envs[{i}].app_env_slug", $"app '{app.AccessTag}' has no environment '{env.AppEnvSlug}'");
            }

            var variables = env.Variables ?? [];
            Unique(errors, $"envs[{i}].variables", variables.Select(v => v.Key), "key");
            for (var j = 0; j < variables.Count; j++)
            {
                if (!Names.IsSecretKey(variables[j].Key))
                {
                    Add(errors, $"envs[{i}].variables[{j}].key", "may contain only A-Z, a-z, 0-9 and _ (1-50)");
                }

                Text(errors, $"envs[{i}].variables[{j}].value", variables[j].Value, 64 * 1024, allowEmpty: true);
            }

            var authEntries = env.Auth ?? [];
            Unique(errors, $"envs[{i}].auth", authEntries.Select(a => a.AuthTag), "auth_tag");
            for (var j = 0; j < authEntries.Count; j++)
            {
                if (!auths.Any(a => a.Tag == authEntries[j].AuthTag))
                {
                    Add(errors, $"envs[{i}].auth[{j}].auth_tag", $"app '{app.AccessTag}' has no auth '{authEntries[j].AuthTag}'");
                }

                foreach (var field in authEntries[j].Data.Keys.Where(k => !Names.IsSecretKey(k)))
                {
                    Add(errors, $"envs[{i}].auth[{j}].data", $"field name '{Printable(field)}' may contain only A-Z, a-z, 0-9 and _");
                }
            }
        }

        return errors;
    }

    /// <summary>The <c>{name}</c> placeholders of a path template.</summary>
    public static IEnumerable<string> Placeholders(string path) => PlaceholderRegex().Matches(path).Select(m => m.Groups[1].Value);

    /// <summary>Turns collected errors into a validation error, or null.</summary>
    public static LatchError? ToError(Dictionary<string, List<string>> errors) =>
        errors.Count == 0 ? null : LatchError.Invalid(errors.ToDictionary(e => e.Key, e => e.Value.ToArray(), StringComparer.Ordinal));

    private static void HeaderNames(Dictionary<string, List<string>> errors, string field, IReadOnlyDictionary<string, string>? headers)
    {
        foreach (var (name, value) in headers ?? new Dictionary<string, string>())
        {
            if (name.Length == 0 || name.Any(c => c <= ' ' || c >= 127 || "()<>@,;:\\\"/[]?={}".Contains(c, StringComparison.Ordinal)))
            {
                Add(errors, field, $"'{Printable(name)}' is not a valid header name");
            }

            else if (IsReservedHeader(name))
            {
                Add(errors, field, ReservedHeaderMessage(name));
            }

            if (value.Contains('\r', StringComparison.Ordinal) || value.Contains('\n', StringComparison.Ordinal))
            {
                Add(errors, field, $"the value of '{Printable(name)}' must not contain CR or LF");
            }
        }
    }

    private static readonly HashSet<string> ReservedHeaders = new(StringComparer.OrdinalIgnoreCase)
    {
        "Host", "Transfer-Encoding", "Content-Length", "Connection", "Upgrade", "TE", "Trailer", "Keep-Alive", "Expect",
    };

    /// <summary>
    /// Headers that decide where and how a request is framed or routed (hop-by-hop, framing, <c>Host</c>, <c>Proxy-*</c>):
    /// Latch sets them itself, and letting a caller choose them would let it redirect or smuggle the request.
    /// </summary>
    public static bool IsReservedHeader(string name) =>
        ReservedHeaders.Contains(name) || name.StartsWith("Proxy-", StringComparison.OrdinalIgnoreCase);

    /// <summary>The field message for a reserved header.</summary>
    public static string ReservedHeaderMessage(string name) =>
        $"'{Printable(name)}' is a routing or framing header that Latch sets itself";

    private static void Tag(Dictionary<string, List<string>> errors, string field, string? value)
    {
        if (!Names.IsTag(value))
        {
            Add(errors, field, "may contain only letters, digits, '_', '.' and '-' (1-64, starting with a letter, digit or '_')");
        }
    }

    private static void Text(Dictionary<string, List<string>> errors, string field, string? value, int max, bool allowEmpty = false)
    {
        if (value is null || (!allowEmpty && value.Trim().Length == 0))
        {
            Add(errors, field, "must not be empty");
        }
        else if (value.Length > max)
        {
            Add(errors, field, $"must be at most {max} characters");
        }
    }

    private static void Unique(Dictionary<string, List<string>> errors, string field, IEnumerable<string> values, string what)
    {
        foreach (var duplicate in values.GroupBy(v => v, StringComparer.Ordinal).Where(g => g.Count() > 1))
        {
            Add(errors, field, $"{what} '{Printable(duplicate.Key)}' appears more than once");
        }
    }

    private static void Add(Dictionary<string, List<string>> errors, string field, string message)
    {
        if (!errors.TryGetValue(field, out var list))
        {
            errors[field] = list = [];
        }

        list.Add(message);
    }

    private static string Printable(string text) => new(text.Where(c => !char.IsControl(c)).Take(64).ToArray());

    [GeneratedRegex(@"\{([^{}]*)\}", RegexOptions.CultureInvariant)]
    private static partial Regex PlaceholderRegex();

    [GeneratedRegex("JSON deserialization for type '[^']*' was missing required properties including: '([^']*)'", RegexOptions.CultureInvariant)]
    private static partial Regex MissingProperty();
}

using System.Text.Json;
using System.Buffers;
using Latch.Core.References;

namespace Latch.Core.Runtime;

/// <summary>What the caller of <c>actions.run</c> adds: headers, query, path parameters and body (applied last).</summary>
public sealed record ActionInput(
    IReadOnlyDictionary<string, string>? Headers = null,
    IReadOnlyDictionary<string, string>? Query = null,
    IReadOnlyDictionary<string, string>? Params = null,
    JsonElement? Body = null);

/// <summary>
/// The request before resolution: method, base URL and path template fixed by the app, and a JSON document
/// <c>{params, headers, query, body}</c> whose <c>$Token</c> references the engine resolves (paths such as
/// <c>$.headers.Authorization</c>).
/// </summary>
public sealed record ActionRequestDraft(string Method, string BaseUrl, string PathTemplate, byte[] Document);

/// <summary>Builds an action's request from the app definition, the product app's environment and the caller's input.</summary>
public static class ActionRequestBuilder
{
    /// <summary>Merges action → auth → input, expands <c>$Variable</c>/<c>$Auth</c>, and checks the path parameters.</summary>
    public static Result<ActionRequestDraft> Build(
        AppDefinition app, ActionDefinition action, AppEnvironment appEnv, ProductAppEnvironment config, string? authTag, ActionInput input)
    {
        ArgumentNullException.ThrowIfNull(app);
        ArgumentNullException.ThrowIfNull(action);
        ArgumentNullException.ThrowIfNull(appEnv);
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(input);
        var variables = (config.Variables ?? []).ToDictionary(v => v.Key, v => v.Value, StringComparer.Ordinal);
        var entries = config.Auth ?? [];
        ProductAppAuth? entry;
        if (authTag is not null)
        {
            entry = entries.FirstOrDefault(a => a.AuthTag == authTag);
            if (entry is null || !(app.Auths ?? []).Any(a => a.Tag == authTag))
            {
                return new LatchError(ErrorKind.Validation, "auth_not_found", $"Auth '{authTag}' is not configured for app '{app.AccessTag}' in this environment",
                    new Dictionary<string, string[]> { ["auth_tag"] = [$"no auth '{authTag}' for app '{app.AccessTag}' in this environment"] });
            }
        }
        else
        {
            // Without auth_tag the first configured auth entry is used (documented choice).
            entry = entries.FirstOrDefault();
        }

        var authDefinition = entry is null ? null : (app.Auths ?? []).FirstOrDefault(a => a.Tag == entry.AuthTag);
        var authData = entry?.Data;
        var errors = new List<ReferenceError>();

        string Expand(string text, string path) => TemplateExpander.Expand(text, path, variables, authData, errors);

        var headers = new Dictionary<string, (string Name, string Value)>(StringComparer.OrdinalIgnoreCase);
        var query = new Dictionary<string, string>(StringComparer.Ordinal);
        Merge(headers, action.Headers, "action.headers");
        Merge(headers, authDefinition?.Headers, "auth.headers");
        Merge(headers, input.Headers, "input.headers");
        MergeQuery(action.Query, "action.query");
        MergeQuery(authDefinition?.Query, "auth.query");
        MergeQuery(input.Query, "input.query");

        void MergeQuery(IReadOnlyDictionary<string, string>? values, string source)
        {
            if (values is null)
            {
                return;
            }

            foreach (var (name, value) in values)
            {
                query[name] = Expand(value, $"{source}.{name}");
            }
        }

        void Merge(Dictionary<string, (string, string)> target, IReadOnlyDictionary<string, string>? values, string source)
        {
            if (values is null)
            {
                return;
            }

            foreach (var (name, value) in values)
            {
                target[name] = (name, Expand(value, $"{source}.{name}"));
            }
        }

        // References are resolved in headers, query, params and body only: a variable holding one cannot be used in the
        // path, where it would otherwise be sent unresolved (percent-encoded) instead of failing.
        var path = TemplateExpander.Expand(action.Path, "action.path", variables, authData, errors, value =>
        {
            if (ReferenceText.HasReferenceSyntax(value))
            {
                errors.Add(new ReferenceError("action.path", null, "reference_in_path",
                    $"A variable or auth field used in the path of action '{action.Event}' holds a secret reference; pass it as a {{param}}, header or query value instead"));
            }

            return Uri.EscapeDataString(value);
        });
        var parameters = input.Params ?? EmptyStrings;
        var fieldErrors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        // Without a '{' there is no placeholder (values inserted into the path are percent-encoded).
        List<string> placeholders = path.Contains('{', StringComparison.Ordinal) ? ConfigValidation.Placeholders(path).Distinct(StringComparer.Ordinal).ToList() : [];
        foreach (var missing in placeholders.Where(p => !parameters.ContainsKey(p)))
        {
            fieldErrors[$"input.params.{missing}"] = [$"is required by the path {action.Path}"];
        }

        foreach (var (name, value) in parameters)
        {
            if (!placeholders.Contains(name, StringComparer.Ordinal))
            {
                fieldErrors[$"input.params.{name}"] = [$"is not a placeholder of the path {action.Path}"];
            }
            else if (value.Length == 0 || value is "." or "..")
            {
                fieldErrors[$"input.params.{name}"] = ["must not be empty, '.' or '..'"];
            }
        }

        if (fieldErrors.Count > 0)
        {
            return LatchError.Invalid(fieldErrors);
        }

        // The document {params, headers, query, body} is written straight to UTF-8 (what serializing the equivalent
        // JsonObject wrote, without building it); the body's strings are expanded as they are written.
        var buffer = new ArrayBufferWriter<byte>(512);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteStartObject("params");
            foreach (var (name, value) in parameters)
            {
                writer.WriteString(name, value);
            }

            writer.WriteEndObject();
            writer.WriteStartObject("headers");
            foreach (var (name, value) in headers.Values)
            {
                writer.WriteString(name, value);
            }

            writer.WriteEndObject();
            writer.WriteStartObject("query");
            foreach (var (name, value) in query)
            {
                writer.WriteString(name, value);
            }

            writer.WriteEndObject();
            writer.WritePropertyName("body");
            if (input.Body is { } inputBody)
            {
                WriteExpanded(writer, inputBody, "input.body", Expand);
            }
            else if (action.Body is { } template)
            {
                WriteExpanded(writer, template, "action.body", Expand);
            }
            else
            {
                writer.WriteNullValue();
            }

            writer.WriteEndObject();
        }

        if (errors.Count > 0)
        {
            return new LatchError(ErrorKind.Unresolvable, errors.Select(e => e.Code).Distinct().Count() == 1 ? errors[0].Code : "template_error",
                string.Join("; ", errors.Select(e => e.Message)), References: errors);
        }

        return new ActionRequestDraft(action.Method, appEnv.BaseUrl.TrimEnd('/'), path, buffer.WrittenSpan.ToArray());
    }

    private static readonly IReadOnlyDictionary<string, string> EmptyStrings = new Dictionary<string, string>();

    /// <summary>
    /// Writes a body template with every string expanded; numbers, booleans and nulls as they are. A string's path
    /// (for error messages) is built only when the string holds a template.
    /// </summary>
    private static void WriteExpanded(Utf8JsonWriter writer, JsonElement element, string path, Func<string, string, string> expand)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                writer.WriteStartObject();
                foreach (var property in element.EnumerateObject())
                {
                    writer.WritePropertyName(property.Name);
                    if (property.Value.ValueKind == JsonValueKind.String)
                    {
                        var text = property.Value.GetString()!;
                        writer.WriteStringValue(TemplateExpander.HasTemplate(text) ? expand(text, $"{path}.{property.Name}") : text);
                    }
                    else
                    {
                        WriteExpanded(writer, property.Value, $"{path}.{property.Name}", expand);
                    }
                }

                writer.WriteEndObject();
                break;
            case JsonValueKind.Array:
                writer.WriteStartArray();
                var index = 0;
                foreach (var item in element.EnumerateArray())
                {
                    if (item.ValueKind == JsonValueKind.String)
                    {
                        var text = item.GetString()!;
                        writer.WriteStringValue(TemplateExpander.HasTemplate(text) ? expand(text, $"{path}[{index}]") : text);
                    }
                    else
                    {
                        WriteExpanded(writer, item, $"{path}[{index}]", expand);
                    }

                    index++;
                }

                writer.WriteEndArray();
                break;
            case JsonValueKind.String:
                writer.WriteStringValue(expand(element.GetString()!, path));
                break;
            default:
                element.WriteTo(writer);
                break;
        }
    }

    /// <summary>Base URL + path with every <c>{param}</c> percent-encoded, so a parameter can never change host, path prefix or query.</summary>
    public static Uri BuildUri(string baseUrl, string pathTemplate, IReadOnlyDictionary<string, string> parameters, IEnumerable<KeyValuePair<string, string>> query)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        var path = pathTemplate;
        foreach (var (name, value) in parameters)
        {
            path = path.Replace("{" + name + "}", Uri.EscapeDataString(value), StringComparison.Ordinal);
        }

        var queryText = string.Join("&", query.Select(q => $"{Uri.EscapeDataString(q.Key)}={Uri.EscapeDataString(q.Value)}"));
        return new Uri(baseUrl + path + (queryText.Length > 0 ? "?" + queryText : ""), UriKind.Absolute);
    }

}

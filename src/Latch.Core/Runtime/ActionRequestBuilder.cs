using System.Text.Json;
using System.Text.Json.Nodes;
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
        foreach (var (source, values) in new[] { ("action.query", action.Query), ("auth.query", authDefinition?.Query), ("input.query", input.Query) })
        {
            foreach (var (name, value) in values ?? new Dictionary<string, string>())
            {
                query[name] = Expand(value, $"{source}.{name}");
            }
        }

        void Merge(Dictionary<string, (string, string)> target, IReadOnlyDictionary<string, string>? values, string source)
        {
            foreach (var (name, value) in values ?? new Dictionary<string, string>())
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
        var parameters = input.Params ?? new Dictionary<string, string>();
        var fieldErrors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        var placeholders = ConfigValidation.Placeholders(path).Distinct(StringComparer.Ordinal).ToList();
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

        JsonNode? body = null;
        if (input.Body is { } inputBody)
        {
            body = ExpandNode(inputBody, "input.body", Expand);
        }
        else if (action.Body is { } template)
        {
            body = ExpandNode(template, "action.body", Expand);
        }

        if (errors.Count > 0)
        {
            return new LatchError(ErrorKind.Unresolvable, errors.Select(e => e.Code).Distinct().Count() == 1 ? errors[0].Code : "template_error",
                string.Join("; ", errors.Select(e => e.Message)), References: errors);
        }

        var document = new JsonObject
        {
            ["params"] = new JsonObject(parameters.Select(p => KeyValuePair.Create(p.Key, (JsonNode?)JsonValue.Create(p.Value)))),
            ["headers"] = new JsonObject(headers.Values.Select(h => KeyValuePair.Create(h.Name, (JsonNode?)JsonValue.Create(h.Value)))),
            ["query"] = new JsonObject(query.Select(q => KeyValuePair.Create(q.Key, (JsonNode?)JsonValue.Create(q.Value)))),
            ["body"] = body,
        };
        return new ActionRequestDraft(action.Method, appEnv.BaseUrl.TrimEnd('/'), path, JsonSerializer.SerializeToUtf8Bytes(document));
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

    private static JsonNode? ExpandNode(JsonElement element, string path, Func<string, string, string> expand) => element.ValueKind switch
    {
        JsonValueKind.Object => new JsonObject(element.EnumerateObject()
            .Select(p => KeyValuePair.Create(p.Name, ExpandNode(p.Value, $"{path}.{p.Name}", expand)))),
        JsonValueKind.Array => new JsonArray(element.EnumerateArray()
            .Select((item, i) => ExpandNode(item, $"{path}[{i}]", expand)).ToArray()),
        JsonValueKind.String => JsonValue.Create(expand(element.GetString()!, path)),
        _ => JsonNode.Parse(element.GetRawText()),
    };
}

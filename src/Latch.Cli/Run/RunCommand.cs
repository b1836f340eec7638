using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Latch.Cli.Output;
using Latch.Cli.Shared;
using Microsoft.AspNetCore.WebUtilities;

namespace Latch.Cli.Run;

/// <summary>
/// <c>latch run</c>: <c>actions.run</c> (SPEC §4). Latch builds the request, resolves every reference, calls the upstream
/// and answers its (masked) response. The exit code is 0 whenever the action ran, whatever the upstream answered;
/// 1 when Latch refused or failed (unresolvable references, upstream unreachable or timing out, unknown product/app/action).
/// </summary>
internal static class RunCommand
{
    private static readonly string[] InputFields = ["headers", "query", "params", "body"];

    public static Command Create(CliEnvironment env, GlobalOptions global)
    {
        var envSlug = new Option<string>("--env") { Description = "Product environment, e.g. prd", Required = true };
        var product = new Option<string>("--product") { Description = "Product tag", Required = true };
        var app = new Option<string>("--app") { Description = "App access tag", Required = true };
        var eventName = new Option<string>("--event") { Description = "The action's event, e.g. create_charge", Required = true };
        var input = new Option<string?>("--input", "-i")
        {
            Description = "JSON file with the input: {headers?, query?, params?, body?} ('-' reads standard input)",
        };
        var authTag = new Option<string?>("--auth-tag") { Description = "Which of the app's auths to use (default: the server's choice)" };
        var retries = new Option<int?>("--retries") { Description = "How many times Latch retries a failed upstream call" };
        var headers = new Option<string[]>("--header", "-H") { Description = "A request header K=V (repeatable; over the input file's)" };
        var query = new Option<string[]>("--query", "-q") { Description = "A query parameter K=V (repeatable; over the input file's)" };
        var parameters = new Option<string[]>("--param", "-p") { Description = "A path parameter K=V for {K} in the action's path (repeatable; over the input file's)" };
        var command = new Command("run", "Run an app's action in a product environment (actions.run) and print the upstream's masked response")
        {
            envSlug, product, app, eventName, input, authTag, retries, headers, query, parameters,
        };
        command.SetAction(LatchCli.Handler(env, global, async context =>
        {
            var parse = context.Parse;
            var inputObject = parse.GetValue(input) is { } path
                ? JsonFileInput.ReadObject(path, context.Env, "the input")
                : new JsonObject();
            foreach (var (field, _) in inputObject)
            {
                if (!InputFields.Contains(field, StringComparer.Ordinal))
                {
                    throw new CliUsageException($"the input has an unknown field '{field}': expected {string.Join(", ", InputFields)}");
                }
            }

            Merge(inputObject, "headers", "--header", parse.GetValue(headers), StringComparer.OrdinalIgnoreCase);
            Merge(inputObject, "query", "--query", parse.GetValue(query), StringComparer.Ordinal);
            Merge(inputObject, "params", "--param", parse.GetValue(parameters), StringComparer.Ordinal);

            var body = new JsonObject
            {
                ["env"] = parse.GetRequiredValue(envSlug),
                ["product"] = parse.GetRequiredValue(product),
                ["app"] = parse.GetRequiredValue(app),
                ["event"] = parse.GetRequiredValue(eventName),
            };
            if (parse.GetValue(authTag) is { Length: > 0 } tag)
            {
                body["auth_tag"] = tag;
            }

            if (parse.GetValue(retries) is { } retryCount)
            {
                if (retryCount < 0)
                {
                    throw new CliUsageException("--retries must be 0 or more");
                }

                body["retries"] = retryCount;
            }

            body["input"] = inputObject;

            using var client = context.CreateClient();
            var response = await client.SendAsync(HttpMethod.Post, "v1/actions/run", body, context.CancellationToken);
            if (context.Json)
            {
                await context.Env.Out.WriteLineAsync(Json.Format(response));
                return ExitCodes.Success;
            }

            await WriteAsync(context.Env, response);
            return ExitCodes.Success;
        }));
        return command;
    }

    /// <summary>Parses <c>K=V</c> (split at the first '='; the value may be empty or contain '=').</summary>
    internal static KeyValuePair<string, string> ParsePair(string option, string text)
    {
        var equals = text.IndexOf('=', StringComparison.Ordinal);
        if (equals <= 0 || text[..equals].Trim().Length == 0)
        {
            throw new CliUsageException($"{option} '{Shorten(text)}': expected K=V");
        }

        return new(text[..equals].Trim(), text[(equals + 1)..]);
    }

    /// <summary>Sets each flag pair in <c>input[field]</c>, replacing an entry of the same name (compared with <paramref name="names"/>).</summary>
    internal static void Merge(JsonObject input, string field, string option, string[]? pairs, StringComparer names)
    {
        if (pairs is not { Length: > 0 })
        {
            return;
        }

        JsonObject target;
        if (!input.TryGetPropertyValue(field, out var existing) || existing is null)
        {
            target = [];
            input[field] = target;
        }
        else
        {
            target = existing as JsonObject
                ?? throw new CliUsageException($"the input's {field} must be a JSON object to add {option} to it");
        }

        foreach (var text in pairs)
        {
            var (name, value) = ParsePair(option, text);
            foreach (var same in target.Select(p => p.Key).Where(k => names.Equals(k, name)).ToList())
            {
                target.Remove(same);
            }

            target[name] = value;
        }
    }

    private static async Task WriteAsync(CliEnvironment env, JsonNode? response)
    {
        var status = (int)(Json.Number(response, "status") ?? 0);
        var reason = ReasonPhrases.GetReasonPhrase(status);
        var statusLine = reason.Length == 0 ? status.ToString(CultureInfo.InvariantCulture) : $"{status} {reason}";
        await env.Out.WriteLineAsync($"Status: {statusLine}");
        if (Json.Number(response, "duration_ms") is { } duration)
        {
            await env.Out.WriteLineAsync($"Duration: {duration.ToString(CultureInfo.InvariantCulture)} ms");
        }

        if (Json.String(response, "request_id") is { Length: > 0 } requestId)
        {
            await env.Out.WriteLineAsync($"Request id: {requestId}");
        }

        await env.Out.WriteLineAsync();
        var body = response is JsonObject obj ? obj["body"] : null;
        await env.Out.WriteLineAsync(body is null && Json.String(response, "body_base64") is { Length: > 0 }
            ? "(binary body: see body_base64 in the --json output)"
            : FormatBody(body));
        if (status >= 400)
        {
            await env.Error.WriteLineAsync($"Note: the upstream answered {statusLine}; the action ran, so the exit code is 0.");
        }
    }

    /// <summary>JSON pretty-printed (also JSON carried as a string); other text as is.</summary>
    internal static string FormatBody(JsonNode? body)
    {
        switch (body)
        {
            case null:
                return "(empty body)";
            case JsonObject or JsonArray:
                return Json.Format(body);
            case JsonValue value when value.TryGetValue<string>(out var text):
                if (text.Length == 0)
                {
                    return "(empty body)";
                }

                var trimmed = text.TrimStart();
                if (trimmed.StartsWith('{') || trimmed.StartsWith('['))
                {
                    try
                    {
                        return Json.Format(JsonNode.Parse(text));
                    }
                    catch (JsonException)
                    {
                        // Not JSON after all: print it as it came.
                    }
                }

                return text;
            default:
                return body.ToJsonString();
        }
    }

    private static string Shorten(string text) => text.Length <= 40 ? text : text[..40] + "…";
}

using System.Net;
using System.Text.Json.Nodes;

namespace Latch.Cli.Api;

/// <summary>An RFC 9457 problem answered by the Latch API (or a non-success status without one).</summary>
internal sealed class LatchApiException : Exception
{
    public LatchApiException(HttpStatusCode status, string detail, string? code, IReadOnlyList<string> errorLines)
        : base(detail)
    {
        Status = status;
        Code = code;
        ErrorLines = errorLines;
    }

    public LatchApiException()
        : this(HttpStatusCode.InternalServerError, "Latch answered with an error", null, [])
    {
    }

    public LatchApiException(string message)
        : this(HttpStatusCode.InternalServerError, message, null, [])
    {
    }

    public LatchApiException(string message, Exception innerException)
        : base(message, innerException)
    {
        Status = HttpStatusCode.InternalServerError;
        ErrorLines = [];
    }

    public HttpStatusCode Status { get; }

    /// <summary>The problem's <c>code</c>, e.g. <c>secret_not_found</c>.</summary>
    public string? Code { get; }

    /// <summary>One line per field or reference error, e.g. <c>key: must match ^[A-Za-z0-9_]{1,50}$</c>.</summary>
    public IReadOnlyList<string> ErrorLines { get; }

    /// <summary>Reads a problem body; falls back to the status line when the body is not a problem.</summary>
    public static LatchApiException FromResponse(HttpStatusCode status, string? reasonPhrase, string body)
    {
        JsonObject? problem = null;
        try
        {
            problem = string.IsNullOrWhiteSpace(body) ? null : JsonNode.Parse(body) as JsonObject;
        }
        catch (System.Text.Json.JsonException)
        {
            // Not JSON (a proxy's HTML page, say): report the status line instead.
        }

        var detail = Text(problem, "detail") ?? Text(problem, "title")
            ?? $"Latch answered {(int)status} {reasonPhrase ?? status.ToString()}";
        return new LatchApiException(status, detail, Text(problem, "code"), ErrorLinesOf(problem?["errors"]));
    }

    private static List<string> ErrorLinesOf(JsonNode? errors)
    {
        var lines = new List<string>();
        switch (errors)
        {
            // Invalid input: {field: [messages]}.
            case JsonObject fields:
                foreach (var (field, messages) in fields)
                {
                    if (messages is JsonArray list)
                    {
                        lines.AddRange(list.Select(m => $"{field}: {AsText(m)}"));
                    }
                    else
                    {
                        lines.Add($"{field}: {AsText(messages)}");
                    }
                }

                break;

            // Resolution failures: [{path, key, code, message}]; the message already names the key.
            case JsonArray items:
                foreach (var item in items)
                {
                    var path = Text(item as JsonObject, "path");
                    var message = Text(item as JsonObject, "message") ?? Text(item as JsonObject, "code") ?? AsText(item);
                    lines.Add(path is null ? message : $"{path}: {message}");
                }

                break;
        }

        return lines;
    }

    private static string? Text(JsonObject? obj, string name) =>
        obj?[name] is JsonValue value && value.TryGetValue<string>(out var text) ? text : null;

    private static string AsText(JsonNode? node) =>
        node is JsonValue value && value.TryGetValue<string>(out var text) ? text : node?.ToJsonString() ?? "";
}

using System.Text.Json;
using System.Text.Json.Nodes;

namespace Latch.Cli.Shared;

/// <summary>Reads a JSON document given as <c>--file PATH</c> (or <c>-</c> for standard input).</summary>
internal static class JsonFileInput
{
    public const string Stdin = "-";

    private static readonly JsonDocumentOptions Options = new() { AllowTrailingCommas = false, CommentHandling = JsonCommentHandling.Skip, MaxDepth = 64 };

    /// <summary>
    /// The document, which must be a JSON object. An unreadable file or a document that is not a JSON object is a usage
    /// error; the message names the file and the position, never the content (it may hold a literal secret).
    /// </summary>
    public static JsonObject ReadObject(string path, CliEnvironment env, string what)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(env);
        var source = path == Stdin ? "standard input" : $"'{path}'";
        string text;
        try
        {
            text = path == Stdin ? env.In.ReadToEnd() : File.ReadAllText(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            throw new CliUsageException($"cannot read {what} from {source}: {ex.Message}", ex);
        }

        if (string.IsNullOrWhiteSpace(text))
        {
            throw new CliUsageException($"{what} from {source} is empty: expected a JSON object");
        }

        JsonNode? node;
        try
        {
            node = JsonNode.Parse(text, documentOptions: Options);
        }
        catch (JsonException ex)
        {
            var where = ex.LineNumber is { } line ? $" at line {line + 1}, position {(ex.BytePositionInLine ?? 0) + 1}" : "";
            throw new CliUsageException($"{what} from {source} is not valid JSON{where}", ex);
        }

        return node as JsonObject
            ?? throw new CliUsageException($"{what} from {source} must be a JSON object, not {Kind(node)}");
    }

    /// <summary>
    /// Makes <paramref name="document"/>'s <paramref name="field"/> agree with the name given on the command line:
    /// fills it in (first) when absent; refuses a different one.
    /// </summary>
    public static void MatchName(JsonObject document, string field, string? given, string what)
    {
        ArgumentNullException.ThrowIfNull(document);
        if (given is null)
        {
            return;
        }

        if (!document.TryGetPropertyValue(field, out var existing) || existing is null)
        {
            document.Remove(field);
            document.Insert(0, field, given);
            return;
        }

        if (existing is not JsonValue value || !value.TryGetValue<string>(out var inFile) || !string.Equals(inFile, given, StringComparison.Ordinal))
        {
            throw new CliUsageException($"the {what}'s {field} {existing.ToJsonString()} does not match '{given}' on the command line");
        }
    }

    private static string Kind(JsonNode? node) => node switch
    {
        null => "null",
        JsonArray => "an array",
        JsonValue value => value.GetValueKind() switch
        {
            JsonValueKind.String => "a string",
            JsonValueKind.Number => "a number",
            JsonValueKind.True or JsonValueKind.False => "a boolean",
            _ => "a value",
        },
        _ => "something else",
    };
}

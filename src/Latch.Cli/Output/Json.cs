using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Latch.Cli.Output;

/// <summary>Reading fields of API responses and printing them for scripts.</summary>
internal static class Json
{
    private static readonly JsonSerializerOptions Pretty = new()
    {
        WriteIndented = true,
        // Written to a terminal or a pipe, never into HTML: keep '+', '&', quotes readable.
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public static string Format(JsonNode? node) => node?.ToJsonString(Pretty) ?? "null";

    public static string? String(JsonNode? node, string name) =>
        node is JsonObject obj && obj[name] is JsonValue value && value.TryGetValue<string>(out var text) ? text : null;

    public static long? Number(JsonNode? node, string name)
    {
        if (node is not JsonObject obj || obj[name] is not JsonValue value)
        {
            return null;
        }

        if (value.TryGetValue<long>(out var number))
        {
            return number;
        }

        if (value.TryGetValue<double>(out var real))
        {
            return (long)real;
        }

        return value.TryGetValue<string>(out var text)
            && long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var parsed) ? parsed : null;
    }

    public static IReadOnlyList<string> Strings(JsonNode? node, string name) =>
        node is JsonObject obj && obj[name] is JsonArray array
            ? array.Select(item => item is JsonValue v && v.TryGetValue<string>(out var s) ? s : item?.ToJsonString() ?? "").ToList()
            : [];

    public static JsonArray Items(JsonNode? node) =>
        node is JsonObject obj && obj["items"] is JsonArray items ? items : [];
}

using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using Latch.Cli.Output;
using Spectre.Console;

namespace Latch.Cli.Audit;

/// <summary>Audit events for people (a table, or one line each while following) and for scripts (NDJSON while following).</summary>
internal static class AuditRenderer
{
    private static readonly JsonSerializerOptions Compact = new()
    {
        WriteIndented = false,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    private static readonly string[] Headers = ["Time", "Action", "Secret", "Product/App/Env", "Context", "Path", "Code", "Actor"];

    /// <summary>A table, in the order given (the API's newest first). Cells are plain <see cref="Text"/>, never markup.</summary>
    public static void WriteTable(IAnsiConsole console, JsonArray items)
    {
        ArgumentNullException.ThrowIfNull(console);
        ArgumentNullException.ThrowIfNull(items);
        var table = new Table().Border(TableBorder.Rounded);
        foreach (var header in Headers)
        {
            table.AddColumn(new TableColumn(new Text(header)));
        }

        foreach (var item in items)
        {
            table.AddRow(Cells(item).Select(cell => new Text(cell)).ToArray());
        }

        console.Write(table);
    }

    /// <summary>One line per event for <c>--follow</c>: the table's columns separated by two spaces, <c>-</c> for an empty one.</summary>
    public static string Line(JsonNode? item) =>
        string.Join("  ", Cells(item).Select(cell => cell.Length == 0 ? "-" : cell));

    /// <summary>One event as a single line of JSON (NDJSON) for <c>--follow --json</c>.</summary>
    public static string JsonLine(JsonNode? item) => item?.ToJsonString(Compact) ?? "null";

    /// <summary>The <c>at</c> of an event or a broken link, as the CLI shows times.</summary>
    public static string Time(JsonNode? node) =>
        Json.String(node, "at") is { } at ? SecretRenderer.Timestamp(at) : "";

    private static string[] Cells(JsonNode? item) =>
    [
        Time(item),
        Json.String(item, "action") ?? "",
        Secret(item),
        Target(item),
        Json.String(item, "context") ?? "",
        Json.String(item, "path") ?? "",
        Json.String(item, "code") ?? "",
        Actor(item),
    ];

    private static string Secret(JsonNode? item)
    {
        var key = Json.String(item, "secret");
        if (key is null)
        {
            return "";
        }

        return Json.Number(item, "version") is { } version ? $"{key}@{version.ToString(CultureInfo.InvariantCulture)}" : key;
    }

    /// <summary><c>product/app/env</c>, <c>-</c> for a missing part; empty when the event has none of them.</summary>
    private static string Target(JsonNode? item)
    {
        string?[] parts = [Json.String(item, "product"), Json.String(item, "app"), Json.String(item, "env")];
        return parts.All(string.IsNullOrEmpty) ? "" : string.Join('/', parts.Select(p => string.IsNullOrEmpty(p) ? "-" : p));
    }

    private static string Actor(JsonNode? item)
    {
        var actor = item is JsonObject obj ? obj["actor"] : null;
        return Json.String(actor, "name") ?? Json.String(actor, "key_id") ?? "";
    }
}

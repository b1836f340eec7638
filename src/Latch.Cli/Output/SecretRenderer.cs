using System.Globalization;
using System.Text.Json.Nodes;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace Latch.Cli.Output;

/// <summary>Tables for people. Cells are plain <see cref="Text"/>, so brackets in descriptions are never markup.</summary>
internal static class SecretRenderer
{
    public const string AllApps = "All apps";
    public const string AllEnvironments = "All environments";
    public const string Never = "never";

    public static void WriteSecret(IAnsiConsole console, JsonNode? secret)
    {
        ArgumentNullException.ThrowIfNull(console);
        var table = new Table().Border(TableBorder.Rounded).HideHeaders()
            .AddColumn(new TableColumn("Field"))
            .AddColumn(new TableColumn("Value"));
        void Row(string field, IRenderable value) => table.AddRow(new Text(field), value);

        Row("Key", new Text(Json.String(secret, "key") ?? ""));
        Row("Reference", new Text(Json.String(secret, "reference") ?? ""));
        Row("Status", Status(Json.String(secret, "status")));
        Row("Version", new Text(Json.Number(secret, "version")?.ToString(CultureInfo.InvariantCulture) ?? ""));
        Row("Description", new Text(Json.String(secret, "description") ?? ""));
        Row("Type", new Text(Json.String(secret, "token_type") ?? ""));
        Row("Scope", new Text(Scope(secret)));
        Row("Environments", new Text(Envs(secret)));
        Row("Expires", new Text(Expires(secret)));
        Row("Created", new Text(Timestamp(Json.String(secret, "created_at"))));
        Row("Updated", new Text(Timestamp(Json.String(secret, "updated_at"))));
        Row("Last used", new Text(Timestamp(Json.String(secret, "last_used_at"))));
        if (Json.String(secret, "value") is { } value)
        {
            Row("Value", new Text(value));
        }

        console.Write(table);
    }

    public static void WriteList(IAnsiConsole console, JsonArray items)
    {
        ArgumentNullException.ThrowIfNull(console);
        ArgumentNullException.ThrowIfNull(items);
        var table = new Table().Border(TableBorder.Rounded);
        foreach (var header in new[] { "Key", "Status", "Scope", "Environments", "Expires", "Version", "Last used", "Description" })
        {
            table.AddColumn(new TableColumn(new Text(header)));
        }

        foreach (var secret in items)
        {
            table.AddRow(
                new Text(Json.String(secret, "key") ?? ""),
                Status(Json.String(secret, "status")),
                new Text(Scope(secret)),
                new Text(Envs(secret)),
                new Text(Expires(secret)),
                new Text(Json.Number(secret, "version")?.ToString(CultureInfo.InvariantCulture) ?? ""),
                new Text(Timestamp(Json.String(secret, "last_used_at"))),
                new Text(Json.String(secret, "description") ?? ""));
        }

        console.Write(table);
    }

    public static void WriteVersions(IAnsiConsole console, JsonArray items)
    {
        ArgumentNullException.ThrowIfNull(console);
        ArgumentNullException.ThrowIfNull(items);
        var table = new Table().Border(TableBorder.Rounded)
            .AddColumn(new TableColumn(new Text("Version")))
            .AddColumn(new TableColumn(new Text("Created")))
            .AddColumn(new TableColumn(new Text("Created by")));
        foreach (var item in items)
        {
            table.AddRow(
                new Text(Json.Number(item, "version")?.ToString(CultureInfo.InvariantCulture) ?? ""),
                new Text(Timestamp(Json.String(item, "created_at"))),
                new Text(Json.String(item, "created_by") ?? ""));
        }

        console.Write(table);
    }

    public static void WriteUsage(IAnsiConsole console, JsonNode? usage)
    {
        ArgumentNullException.ThrowIfNull(console);
        var references = new Table().Border(TableBorder.Rounded).Title("Referenced by")
            .AddColumn("Product").AddColumn("App").AddColumn("Env").AddColumn("Path").AddColumn("Source");
        foreach (var item in usage?["references"]?.AsArray() ?? [])
        {
            references.AddRow(
                new Text(Json.String(item, "product") ?? ""), new Text(Json.String(item, "app") ?? ""),
                new Text(Json.String(item, "env") ?? "all"), new Text(Json.String(item, "path") ?? ""), new Text(Json.String(item, "source") ?? ""));
        }

        var recent = new Table().Border(TableBorder.Rounded).Title("Recently resolved")
            .AddColumn("Product").AddColumn("App").AddColumn("Env").AddColumn("Context").AddColumn("Count").AddColumn("Last used");
        foreach (var item in usage?["recent"]?.AsArray() ?? [])
        {
            recent.AddRow(
                new Text(Json.String(item, "product") ?? "-"), new Text(Json.String(item, "app") ?? "-"), new Text(Json.String(item, "env") ?? "-"),
                new Text(Json.String(item, "context") ?? "-"), new Text(Json.Number(item, "count")?.ToString(CultureInfo.InvariantCulture) ?? "0"),
                new Text(Timestamp(Json.String(item, "last_used_at"))));
        }

        console.Write(references);
        console.Write(recent);
    }

    public static string Scope(JsonNode? secret)
    {
        var scope = Json.Strings(secret, "scope");
        return scope.Count == 0 ? AllApps : string.Join(", ", scope);
    }

    public static string Envs(JsonNode? secret)
    {
        var envs = Json.Strings(secret, "envs");
        return envs.Count == 0 ? AllEnvironments : string.Join(", ", envs);
    }

    /// <summary><c>expires_at</c> is Unix seconds; shown as a UTC date-time.</summary>
    public static string Expires(JsonNode? secret) =>
        Json.Number(secret, "expires_at") is { } seconds
            ? FormatUtc(DateTimeOffset.FromUnixTimeSeconds(seconds))
            : Never;

    public static string Timestamp(string? iso) =>
        iso is null ? Never
        : DateTimeOffset.TryParse(iso, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var moment)
            ? FormatUtc(moment)
            : iso;

    public static string FormatUtc(DateTimeOffset moment) =>
        moment.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss 'UTC'", CultureInfo.InvariantCulture);

    private static Markup Status(string? status) => status switch
    {
        "active" => new Markup("[green]active[/]"),
        "expired" => new Markup("[yellow]expired[/]"),
        "revoked" => new Markup("[red]revoked[/]"),
        _ => new Markup(Markup.Escape(status ?? "")),
    };
}

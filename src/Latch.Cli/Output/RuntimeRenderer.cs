using System.Globalization;
using System.Text.Json.Nodes;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace Latch.Cli.Output;

/// <summary>Tables for apps, products and product apps (SPEC §4). Cells are plain <see cref="Text"/>: templates like <c>$Token{X}</c> or <c>[x]</c> are never markup.</summary>
internal static class RuntimeRenderer
{
    public static void WriteAppList(IAnsiConsole console, JsonArray items)
    {
        ArgumentNullException.ThrowIfNull(console);
        ArgumentNullException.ThrowIfNull(items);
        var table = Columns("Access tag", "Name", "Environments", "Auths", "Actions");
        foreach (var app in items)
        {
            table.AddRow(
                new Text(Json.String(app, "access_tag") ?? ""),
                new Text(Json.String(app, "name") ?? ""),
                new Text(string.Join(", ", Objects(app, "envs").Select(e => Json.String(e, "slug") ?? ""))),
                new Text(string.Join(", ", Objects(app, "auths").Select(a => Json.String(a, "tag") ?? ""))),
                new Text(string.Join(", ", Objects(app, "actions").Select(a => Json.String(a, "event") ?? ""))));
        }

        console.Write(table);
    }

    public static void WriteApp(IAnsiConsole console, JsonNode? app)
    {
        ArgumentNullException.ThrowIfNull(console);
        var fields = Fields();
        fields.AddRow(new Text("Access tag"), new Text(Json.String(app, "access_tag") ?? ""));
        fields.AddRow(new Text("Name"), new Text(Json.String(app, "name") ?? ""));
        AddTimes(fields, app);
        console.Write(fields);

        var envs = Objects(app, "envs");
        if (envs.Count > 0)
        {
            var table = Columns("Environment", "Base URL").Title("Environments");
            foreach (var env in envs)
            {
                table.AddRow(new Text(Json.String(env, "slug") ?? ""), new Text(Json.String(env, "base_url") ?? ""));
            }

            console.Write(table);
        }

        var auths = Objects(app, "auths");
        if (auths.Count > 0)
        {
            var table = Columns("Auth", "Headers", "Query").Title("Auths");
            foreach (var auth in auths)
            {
                table.AddRow(new Text(Json.String(auth, "tag") ?? ""), new Text(Pairs(auth, "headers", ": ")), new Text(Pairs(auth, "query", "=")));
            }

            console.Write(table);
        }

        var actions = Objects(app, "actions");
        if (actions.Count > 0)
        {
            var table = Columns("Event", "Method", "Path").Title("Actions");
            foreach (var action in actions)
            {
                table.AddRow(
                    new Text(Json.String(action, "event") ?? ""),
                    new Text(Json.String(action, "method") ?? ""),
                    new Text(Json.String(action, "path") ?? ""));
            }

            console.Write(table);
        }
    }

    public static void WriteProductList(IAnsiConsole console, JsonArray items)
    {
        ArgumentNullException.ThrowIfNull(console);
        ArgumentNullException.ThrowIfNull(items);
        var table = Columns("Tag", "Name", "Environments");
        foreach (var product in items)
        {
            table.AddRow(
                new Text(Json.String(product, "tag") ?? ""),
                new Text(Json.String(product, "name") ?? ""),
                new Text(string.Join(", ", Objects(product, "envs").Select(EnvSummary))));
        }

        console.Write(table);
    }

    public static void WriteProduct(IAnsiConsole console, JsonNode? product)
    {
        ArgumentNullException.ThrowIfNull(console);
        var fields = Fields();
        fields.AddRow(new Text("Tag"), new Text(Json.String(product, "tag") ?? ""));
        fields.AddRow(new Text("Name"), new Text(Json.String(product, "name") ?? ""));
        AddTimes(fields, product);
        console.Write(fields);

        var envs = Objects(product, "envs");
        if (envs.Count > 0)
        {
            var table = Columns("Environment", "Name", "Active").Title("Environments");
            foreach (var env in envs)
            {
                table.AddRow(
                    new Text(Json.String(env, "slug") ?? ""),
                    new Text(Json.String(env, "env_name") ?? ""),
                    Active(env));
            }

            console.Write(table);
        }
    }

    public static void WriteProductAppList(IAnsiConsole console, JsonArray items)
    {
        ArgumentNullException.ThrowIfNull(console);
        ArgumentNullException.ThrowIfNull(items);
        var table = Columns("App", "Environments (product → app)");
        foreach (var config in items)
        {
            table.AddRow(
                new Text(Json.String(config, "access_tag") ?? ""),
                new Text(string.Join(", ", Objects(config, "envs").Select(e => $"{Json.String(e, "product_env_slug")} → {Json.String(e, "app_env_slug")}"))));
        }

        console.Write(table);
    }

    /// <summary>A product app: per environment, the app environment it maps to, its variable keys and auth entries (values only with <c>--json</c>).</summary>
    public static void WriteProductApp(IAnsiConsole console, JsonNode? config)
    {
        ArgumentNullException.ThrowIfNull(console);
        var fields = Fields();
        fields.AddRow(new Text("App"), new Text(Json.String(config, "access_tag") ?? ""));
        if (Json.String(config, "product") is { } product)
        {
            fields.AddRow(new Text("Product"), new Text(product));
        }

        AddTimes(fields, config);
        console.Write(fields);

        var envs = Objects(config, "envs");
        if (envs.Count > 0)
        {
            var table = Columns("Product env", "App env", "Variables", "Auth").Title("Environments");
            foreach (var env in envs)
            {
                var variables = Objects(env, "variables").Select(v => Json.String(v, "key") ?? "");
                var auths = Objects(env, "auth").Select(a =>
                    $"{Json.String(a, "auth_tag")} ({string.Join(", ", a is JsonObject o && o["data"] is JsonObject data ? data.Select(p => p.Key) : [])})");
                table.AddRow(
                    new Text(Json.String(env, "product_env_slug") ?? ""),
                    new Text(Json.String(env, "app_env_slug") ?? ""),
                    new Text(string.Join(", ", variables)),
                    new Text(string.Join(", ", auths)));
            }

            console.Write(table);
        }
    }

    /// <summary>References that would fail today; not failures (the configuration is stored).</summary>
    public static void WriteWarnings(IAnsiConsole console, JsonNode? response)
    {
        ArgumentNullException.ThrowIfNull(console);
        var warnings = Objects(response, "warnings");
        if (warnings.Count == 0)
        {
            return;
        }

        console.WriteLine(warnings.Count == 1
            ? "1 warning: this reference would fail in its environment today (the configuration is stored):"
            : $"{warnings.Count} warnings: these references would fail in their environments today (the configuration is stored):");
        var table = Columns("Env", "Path", "Key", "Message");
        foreach (var warning in warnings)
        {
            table.AddRow(
                new Text(Json.String(warning, "env") ?? ""),
                new Text(Json.String(warning, "path") ?? ""),
                new Text(Json.String(warning, "key") ?? ""),
                new Text(Json.String(warning, "message") ?? Json.String(warning, "code") ?? ""));
        }

        console.Write(table);
    }

    internal static List<JsonNode> Objects(JsonNode? node, string name) =>
        node is JsonObject obj && obj[name] is JsonArray array ? array.OfType<JsonObject>().Cast<JsonNode>().ToList() : [];

    private static Table Fields() => new Table().Border(TableBorder.Rounded).HideHeaders()
        .AddColumn(new TableColumn("Field"))
        .AddColumn(new TableColumn("Value"));

    private static Table Columns(params string[] headers)
    {
        var table = new Table().Border(TableBorder.Rounded);
        foreach (var header in headers)
        {
            table.AddColumn(new TableColumn(new Text(header)));
        }

        return table;
    }

    private static void AddTimes(Table fields, JsonNode? node)
    {
        if (Json.String(node, "created_at") is { } created)
        {
            fields.AddRow(new Text("Created"), new Text(SecretRenderer.Timestamp(created)));
        }

        if (Json.String(node, "updated_at") is { } updated)
        {
            fields.AddRow(new Text("Updated"), new Text(SecretRenderer.Timestamp(updated)));
        }
    }

    private static string EnvSummary(JsonNode env)
    {
        var slug = Json.String(env, "slug") ?? "";
        return IsActive(env) ? slug : $"{slug} (inactive)";
    }

    private static bool IsActive(JsonNode? env) =>
        env is not JsonObject obj || obj["active"] is not JsonValue value || !value.TryGetValue<bool>(out var active) || active;

    private static IRenderable Active(JsonNode? env) =>
        IsActive(env) ? new Markup("[green]yes[/]") : new Markup("[yellow]no[/]");

    private static string Pairs(JsonNode? node, string name, string separator) =>
        node is JsonObject obj && obj[name] is JsonObject pairs
            ? string.Join("\n", pairs.Select(p => $"{p.Key}{separator}{Scalar(p.Value)}"))
            : "";

    private static string Scalar(JsonNode? node) =>
        node is JsonValue value && value.TryGetValue<string>(out var text) ? text
        : node is JsonValue number && number.TryGetValue<double>(out var real) ? real.ToString(CultureInfo.InvariantCulture)
        : node?.ToJsonString() ?? "";
}

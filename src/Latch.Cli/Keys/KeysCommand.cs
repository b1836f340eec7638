using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using Latch.Cli.Output;
using Latch.Cli.Secrets;
using Spectre.Console;

namespace Latch.Cli.Keys;

/// <summary><c>latch keys create|list|revoke</c> (<c>/v1/keys</c>, owners only) and <c>latch workspace</c> (<c>GET /v1/workspace</c>).</summary>
internal static class KeysCommand
{
    public const string ShownOnceNote = "API key (shown once: store it now; Latch keeps only a hash and cannot show it again):";

    public static Command Create(CliEnvironment env, GlobalOptions global)
    {
        var keys = new Command("keys", "Create, list and revoke API keys (owner)");
        keys.Subcommands.Add(CreateCommand(env, global));
        keys.Subcommands.Add(ListCommand(env, global));
        keys.Subcommands.Add(RevokeCommand(env, global));
        return keys;
    }

    public static Command CreateWorkspace(CliEnvironment env, GlobalOptions global)
    {
        var command = new Command("workspace", "Show the workspace the API key belongs to");
        command.SetAction(LatchCli.Handler(env, global, async context =>
        {
            using var client = context.CreateClient();
            var workspace = await client.SendAsync(HttpMethod.Get, "v1/workspace", null, context.CancellationToken);
            if (context.Json)
            {
                await context.Env.Out.WriteLineAsync(Json.Format(workspace));
                return ExitCodes.Success;
            }

            var table = Fields();
            table.AddRow(new Text("Name"), new Text(Json.String(workspace, "name") ?? ""));
            table.AddRow(new Text("Id"), new Text(Json.String(workspace, "id") ?? ""));
            context.Env.CreateConsole().Write(table);
            return ExitCodes.Success;
        }));
        return command;
    }

    private static Command CreateCommand(CliEnvironment env, GlobalOptions global)
    {
        var name = new Option<string>("--name") { Description = "What the key is for", Required = true };
        var role = new Option<string>("--role") { Description = "owner, admin, runtime or viewer", Required = true };
        role.AcceptOnlyFromAmong("owner", "admin", "runtime", "viewer");
        var apps = new Option<string?>("--apps") { Description = "Bind the key to these apps, comma-separated (absent: all)" };
        var envs = new Option<string?>("--envs") { Description = "Bind the key to these environments, comma-separated (absent: all)" };
        var expires = new Option<string?>("--expires") { Description = "Expiry: a duration (30d, 12h), a UTC date (2027-01-01), an ISO date-time, or Unix seconds" };
        var command = new Command("create", "Create an API key; it is printed once") { name, role, apps, envs, expires };
        command.SetAction(LatchCli.Handler(env, global, async context =>
        {
            var parse = context.Parse;
            var body = new JsonObject { ["name"] = parse.GetRequiredValue(name), ["role"] = parse.GetRequiredValue(role) };
            if (parse.GetResult(apps) is not null)
            {
                body["apps"] = SplitList(parse.GetValue(apps));
            }

            if (parse.GetResult(envs) is not null)
            {
                body["envs"] = SplitList(parse.GetValue(envs));
            }

            if (parse.GetValue(expires) is { } expiry)
            {
                body["expires_at"] = ExpiryParser.Parse(expiry, context.Env.Time);
            }

            using var client = context.CreateClient();
            var key = await client.SendAsync(HttpMethod.Post, "v1/keys", body, context.CancellationToken);
            if (context.Json)
            {
                await context.Env.Out.WriteLineAsync(Json.Format(key));
                return ExitCodes.Success;
            }

            var console = context.Env.CreateConsole();
            console.WriteLine($"Created API key '{Json.String(key, "name")}' ({Json.String(key, "role")}).");
            WriteKey(console, key);
            console.WriteLine(ShownOnceNote);
            console.WriteLine(Json.String(key, "key") ?? "");
            return ExitCodes.Success;
        }));
        return command;
    }

    private static Command ListCommand(CliEnvironment env, GlobalOptions global)
    {
        var command = new Command("list", "List API keys (never the keys themselves)");
        command.SetAction(LatchCli.Handler(env, global, async context =>
        {
            using var client = context.CreateClient();
            var page = await client.ReadPagesAsync("v1/keys", [], null, all: true, context.CancellationToken);
            if (context.Json)
            {
                await context.Env.Out.WriteLineAsync(Json.Format(new JsonObject { ["items"] = page.Items, ["next_cursor"] = null }));
                return ExitCodes.Success;
            }

            var console = context.Env.CreateConsole();
            if (page.Items.Count == 0)
            {
                console.WriteLine("No API keys.");
                return ExitCodes.Success;
            }

            var table = new Table().Border(TableBorder.Rounded);
            foreach (var header in new[] { "Id", "Name", "Role", "Apps", "Environments", "Expires", "Created" })
            {
                table.AddColumn(new TableColumn(new Text(header)));
            }

            foreach (var key in page.Items)
            {
                table.AddRow(
                    new Text(Json.String(key, "id") ?? ""),
                    new Text(Json.String(key, "name") ?? ""),
                    new Text(Json.String(key, "role") ?? ""),
                    new Text(List(key, "apps", SecretRenderer.AllApps)),
                    new Text(List(key, "envs", SecretRenderer.AllEnvironments)),
                    new Text(SecretRenderer.Expires(key)),
                    new Text(SecretRenderer.Timestamp(Json.String(key, "created_at"))));
            }

            console.Write(table);
            return ExitCodes.Success;
        }));
        return command;
    }

    private static Command RevokeCommand(CliEnvironment env, GlobalOptions global)
    {
        var id = new Argument<string>("ID") { Description = "The key's id (from 'latch keys list')" };
        var command = new Command("revoke", "Revoke an API key: requests with it are refused from now on") { id };
        command.SetAction(LatchCli.Handler(env, global, async context =>
        {
            var keyId = context.Parse.GetRequiredValue(id);
            using var client = context.CreateClient();
            await client.SendAsync(HttpMethod.Delete, $"v1/keys/{Uri.EscapeDataString(keyId)}", null, context.CancellationToken);
            if (!context.Json)
            {
                await context.Env.Out.WriteLineAsync($"Revoked API key {keyId}.");
            }

            return ExitCodes.Success;
        }));
        return command;
    }

    private static void WriteKey(IAnsiConsole console, JsonNode? key)
    {
        var table = Fields();
        table.AddRow(new Text("Id"), new Text(Json.String(key, "id") ?? ""));
        table.AddRow(new Text("Name"), new Text(Json.String(key, "name") ?? ""));
        table.AddRow(new Text("Role"), new Text(Json.String(key, "role") ?? ""));
        table.AddRow(new Text("Apps"), new Text(List(key, "apps", SecretRenderer.AllApps)));
        table.AddRow(new Text("Environments"), new Text(List(key, "envs", SecretRenderer.AllEnvironments)));
        table.AddRow(new Text("Expires"), new Text(SecretRenderer.Expires(key)));
        table.AddRow(new Text("Created"), new Text(SecretRenderer.Timestamp(Json.String(key, "created_at"))));
        console.Write(table);
    }

    private static string List(JsonNode? node, string name, string whenEmpty)
    {
        var items = Json.Strings(node, name);
        return items.Count == 0 ? whenEmpty : string.Join(", ", items);
    }

    private static Table Fields() => new Table().Border(TableBorder.Rounded).HideHeaders()
        .AddColumn(new TableColumn("Field"))
        .AddColumn(new TableColumn("Value"));

    private static JsonArray SplitList(string? text) =>
        new((text ?? "").Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
            .Distinct(StringComparer.Ordinal)
            .Select(item => (JsonNode?)item)
            .ToArray());
}

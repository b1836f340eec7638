using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using Latch.Cli.Api;
using Latch.Cli.Output;
using Spectre.Console;

namespace Latch.Cli.Secrets;

/// <summary><c>latch secrets …</c>: the Secrets API (SPEC §3) for people (tables) and scripts (<c>--json</c>).</summary>
internal static class SecretsCommand
{
    private const string ShownOnceNote =
        "Generated value (shown once: store it now; afterwards only an owner or admin can reveal it):";

    public static Command Create(CliEnvironment env, GlobalOptions global)
    {
        var secrets = new Command("secrets", "Create, inspect, rotate, revoke and delete secrets");
        secrets.Subcommands.Add(CreateCommand(env, global));
        secrets.Subcommands.Add(ListCommand(env, global));
        secrets.Subcommands.Add(GetCommand(env, global));
        secrets.Subcommands.Add(UpdateCommand(env, global, rotate: false));
        secrets.Subcommands.Add(UpdateCommand(env, global, rotate: true));
        secrets.Subcommands.Add(RevokeCommand(env, global));
        secrets.Subcommands.Add(DeleteCommand(env, global));
        secrets.Subcommands.Add(VersionsCommand(env, global));
        secrets.Subcommands.Add(UsageCommand(env, global));
        secrets.Subcommands.Add(RollbackCommand(env, global));
        secrets.Subcommands.Add(ExpiringCommand(env, global));
        secrets.Subcommands.Add(ImportCommand.Create(env, global));
        return secrets;
    }

    private static Argument<string> KeyArgument() => new("KEY") { Description = "Secret key, e.g. STRIPE_KEY" };

    private static string SecretPath(string key) => $"v1/secrets/{Uri.EscapeDataString(key)}";

    private static Command CreateCommand(CliEnvironment env, GlobalOptions global)
    {
        var key = KeyArgument();
        var values = new ValueOptions(generateHelp: "Let the server generate a 64-character value (the default when no value is given)");
        var policy = new PolicyOptions(update: false);
        var command = new Command("create", "Create a secret") { key };
        values.AddTo(command);
        policy.AddTo(command);
        command.SetAction(LatchCli.Handler(env, global, async context =>
        {
            var parse = context.Parse;
            var name = parse.GetRequiredValue(key);
            var mode = values.Mode(parse);
            var body = new JsonObject { ["key"] = name };
            if (mode is ValueMode.Given or ValueMode.Stdin)
            {
                body["value"] = values.Read(parse, mode, context.Env);
            }

            policy.AddTo(body, parse, context.Env);
            using var client = context.CreateClient();
            var secret = await client.SendAsync(HttpMethod.Post, "v1/secrets", body, context.CancellationToken);
            if (context.Json)
            {
                await context.Env.Out.WriteLineAsync(Json.Format(secret));
                return ExitCodes.Success;
            }

            var console = context.Env.CreateConsole();
            console.WriteLine($"Created secret '{name}'. Reference it as $Token{{{name}}}.");
            SecretRenderer.WriteSecret(console, WithoutValue(secret));
            if (Json.String(secret, "value") is { } generated)
            {
                console.WriteLine(ShownOnceNote);
                console.WriteLine(generated);
            }

            return ExitCodes.Success;
        }));
        return command;
    }

    private static Command ListCommand(CliEnvironment env, GlobalOptions global)
    {
        var app = new Option<string?>("--app") { Description = "Only secrets this app (access tag) may use" };
        var envSlug = new Option<string?>("--env") { Description = "Only secrets available in this environment" };
        var status = new Option<string?>("--status") { Description = "active, expired or revoked" };
        status.AcceptOnlyFromAmong("active", "expired", "revoked");
        var limit = new Option<int?>("--limit") { Description = "Page size" };
        var cursor = new Option<string?>("--cursor") { Description = "Continue from a previous page's next_cursor" };
        var all = new Option<bool>("--all") { Description = "Follow next_cursor until every page is read" };
        var command = new Command("list", "List secrets (metadata only, never values)") { app, envSlug, status, limit, cursor, all };
        command.SetAction(LatchCli.Handler(env, global, async context =>
        {
            var parse = context.Parse;
            if (parse.GetValue(limit) is <= 0)
            {
                throw new CliUsageException("--limit must be a positive number");
            }

            var query = new List<string>();
            AddQuery(query, "app", parse.GetValue(app));
            AddQuery(query, "env", parse.GetValue(envSlug));
            AddQuery(query, "status", parse.GetValue(status));
            AddQuery(query, "limit", parse.GetValue(limit)?.ToString(CultureInfo.InvariantCulture));

            using var client = context.CreateClient();
            var (items, next, firstPage) = await ReadPagesAsync(
                client, "v1/secrets", query, parse.GetValue(cursor), parse.GetValue(all), context.CancellationToken);
            if (context.Json)
            {
                var output = parse.GetValue(all) ? new JsonObject { ["items"] = items, ["next_cursor"] = null } : firstPage;
                await context.Env.Out.WriteLineAsync(Json.Format(output));
                return ExitCodes.Success;
            }

            var console = context.Env.CreateConsole();
            if (items.Count == 0)
            {
                console.WriteLine("No secrets.");
            }
            else
            {
                SecretRenderer.WriteList(console, items);
            }

            if (next is not null)
            {
                await context.Env.Error.WriteLineAsync($"More secrets follow: pass --cursor {next} for the next page, or --all.");
            }

            return ExitCodes.Success;
        }));
        return command;
    }

    private static Command GetCommand(CliEnvironment env, GlobalOptions global)
    {
        var key = KeyArgument();
        var reveal = new Option<bool>("--reveal") { Description = "Include the current value (owner/admin; audited)" };
        var command = new Command("get", "Show a secret's metadata (and its value with --reveal)") { key, reveal };
        command.SetAction(LatchCli.Handler(env, global, async context =>
        {
            var path = SecretPath(context.Parse.GetRequiredValue(key)) + (context.Parse.GetValue(reveal) ? "?reveal=true" : "");
            using var client = context.CreateClient();
            var secret = await client.SendAsync(HttpMethod.Get, path, null, context.CancellationToken);
            if (context.Json)
            {
                await context.Env.Out.WriteLineAsync(Json.Format(secret));
            }
            else
            {
                SecretRenderer.WriteSecret(context.Env.CreateConsole(), secret);
            }

            return ExitCodes.Success;
        }));
        return command;
    }

    private static Command UpdateCommand(CliEnvironment env, GlobalOptions global, bool rotate)
    {
        var key = KeyArgument();
        var values = new ValueOptions(generateHelp: $"Generate a new {SecretValueSource.GeneratedLength}-character value and print it once");
        var policy = new PolicyOptions(update: true);
        var ifVersion = new Option<int?>("--if-version") { Description = "Only if the current version is N (sends If-Match; 412 when stale)" };
        var unrevoke = new Option<bool>("--unrevoke") { Description = "Make a revoked secret resolvable again" };
        var command = rotate
            ? new Command("rotate", "Give a secret a new value (a new version); takes the same options as update") { key }
            : new Command("update", "Change a secret's value or policy (a new value makes a new version)") { key };
        values.AddTo(command);
        policy.AddTo(command);
        command.Options.Add(ifVersion);
        command.Options.Add(unrevoke);
        command.SetAction(LatchCli.Handler(env, global, async context =>
        {
            var parse = context.Parse;
            var name = parse.GetRequiredValue(key);
            var mode = values.Mode(parse);
            if (rotate && mode == ValueMode.None)
            {
                throw new CliUsageException("rotate needs a new value: pass --value, --value-stdin or --generate");
            }

            var body = new JsonObject();
            string? generated = null;
            if (mode == ValueMode.Generate)
            {
                // PATCH takes an explicit value, so the CLI generates it.
                generated = SecretValueSource.Generate();
                body["value"] = generated;
            }
            else if (mode != ValueMode.None)
            {
                body["value"] = values.Read(parse, mode, context.Env);
            }

            policy.AddTo(body, parse, context.Env);
            if (parse.GetValue(unrevoke))
            {
                body["revoked"] = false;
            }

            if (body.Count == 0)
            {
                throw new CliUsageException(
                    "nothing to update: pass a new value or at least one of --description, --type, --scope, --envs, --expires, --no-expiry, --unrevoke");
            }

            if (parse.GetValue(ifVersion) is <= 0)
            {
                throw new CliUsageException("--if-version must be a positive version number");
            }

            using var client = context.CreateClient();
            var secret = await client.SendAsync(
                HttpMethod.Patch, SecretPath(name), body, context.CancellationToken, parse.GetValue(ifVersion));
            if (context.Json)
            {
                if (generated is not null && secret is JsonObject withValue)
                {
                    // The server never echoes a value on PATCH; without this a script would lose the generated one.
                    withValue["value"] = generated;
                }

                await context.Env.Out.WriteLineAsync(Json.Format(secret));
                return ExitCodes.Success;
            }

            var console = context.Env.CreateConsole();
            var version = Json.Number(secret, "version")?.ToString(CultureInfo.InvariantCulture) ?? "?";
            console.WriteLine(body.ContainsKey("value")
                ? $"Rotated secret '{name}': the new value is version {version}."
                : $"Updated secret '{name}'.");
            SecretRenderer.WriteSecret(console, secret);
            if (generated is not null)
            {
                console.WriteLine(ShownOnceNote);
                console.WriteLine(generated);
            }

            return ExitCodes.Success;
        }));
        return command;
    }

    private static Command RevokeCommand(CliEnvironment env, GlobalOptions global)
    {
        var key = KeyArgument();
        var command = new Command("revoke", "Revoke a secret: it is kept but no reference to it resolves") { key };
        command.SetAction(LatchCli.Handler(env, global, async context =>
        {
            var name = context.Parse.GetRequiredValue(key);
            using var client = context.CreateClient();
            var secret = await client.SendAsync(HttpMethod.Post, SecretPath(name) + "/revoke", null, context.CancellationToken);
            if (context.Json)
            {
                await context.Env.Out.WriteLineAsync(Json.Format(secret));
                return ExitCodes.Success;
            }

            var console = context.Env.CreateConsole();
            console.WriteLine($"Revoked secret '{name}'. References to it no longer resolve; 'latch secrets update {name} --unrevoke' or a new value restores it.");
            SecretRenderer.WriteSecret(console, secret);
            return ExitCodes.Success;
        }));
        return command;
    }

    private static Command DeleteCommand(CliEnvironment env, GlobalOptions global)
    {
        var key = KeyArgument();
        var confirm = new Shared.ConfirmOption();
        var command = new Command("delete", "Delete a secret and all its versions") { key, confirm.Yes };
        command.SetAction(LatchCli.Handler(env, global, async context =>
        {
            var name = context.Parse.GetRequiredValue(key);
            return await confirm.DeleteAsync(context, $"Type the key '{name}' to delete it and all its versions", name, SecretPath(name), $"Deleted secret '{name}'.");
        }));
        return command;
    }

    private static Command VersionsCommand(CliEnvironment env, GlobalOptions global)
    {
        var key = KeyArgument();
        var command = new Command("versions", "List a secret's versions (never their values)") { key };
        command.SetAction(LatchCli.Handler(env, global, async context =>
        {
            var name = context.Parse.GetRequiredValue(key);
            using var client = context.CreateClient();
            var (items, _, _) = await ReadPagesAsync(client, SecretPath(name) + "/versions", [], null, all: true, context.CancellationToken);
            if (context.Json)
            {
                await context.Env.Out.WriteLineAsync(Json.Format(new JsonObject { ["items"] = items, ["next_cursor"] = null }));
            }
            else
            {
                SecretRenderer.WriteVersions(context.Env.CreateConsole(), items);
            }

            return ExitCodes.Success;
        }));
        return command;
    }

    private static Command UsageCommand(CliEnvironment env, GlobalOptions global)
    {
        var key = KeyArgument();
        var command = new Command("usage", "Where a secret is referenced, and who resolved it recently") { key };
        command.SetAction(LatchCli.Handler(env, global, async context =>
        {
            var name = context.Parse.GetRequiredValue(key);
            using var client = context.CreateClient();
            var usage = await client.SendAsync(HttpMethod.Get, SecretPath(name) + "/usage", null, context.CancellationToken);
            if (context.Json)
            {
                await context.Env.Out.WriteLineAsync(Json.Format(usage));
            }
            else
            {
                SecretRenderer.WriteUsage(context.Env.CreateConsole(), usage);
            }

            return ExitCodes.Success;
        }));
        return command;
    }

    private static Command RollbackCommand(CliEnvironment env, GlobalOptions global)
    {
        var key = KeyArgument();
        var version = new Option<int>("--version") { Description = "The version whose value becomes current again (as a new version)", Required = true };
        var command = new Command("rollback", "Make an earlier version's value current again") { key, version };
        command.SetAction(LatchCli.Handler(env, global, async context =>
        {
            var name = context.Parse.GetRequiredValue(key);
            var target = context.Parse.GetValue(version);
            if (target <= 0)
            {
                throw new CliUsageException("--version must be a positive version number");
            }

            using var client = context.CreateClient();
            var secret = await client.SendAsync(
                HttpMethod.Post, SecretPath(name) + "/rollback", new JsonObject { ["version"] = target }, context.CancellationToken);
            if (context.Json)
            {
                await context.Env.Out.WriteLineAsync(Json.Format(secret));
                return ExitCodes.Success;
            }

            var console = context.Env.CreateConsole();
            var now = Json.Number(secret, "version")?.ToString(CultureInfo.InvariantCulture) ?? "?";
            console.WriteLine($"Rolled back secret '{name}': version {now} holds the value of version {target}.");
            SecretRenderer.WriteSecret(console, secret);
            return ExitCodes.Success;
        }));
        return command;
    }

    private static Command ExpiringCommand(CliEnvironment env, GlobalOptions global)
    {
        var within = new Option<string?>("--within") { Description = "Window from now, e.g. 7d, 48h, 2w, or seconds (default 7d)" };
        var command = new Command("expiring", "List secrets that expire soon (neither revoked nor expired yet), soonest first") { within };
        command.SetAction(LatchCli.Handler(env, global, async context =>
        {
            var window = Shared.DurationParser.Parse(context.Parse.GetValue(within) ?? "7d", "--within");
            var seconds = ((long)window.TotalSeconds).ToString(CultureInfo.InvariantCulture);
            using var client = context.CreateClient();
            var (items, _, _) = await ReadPagesAsync(
                client, "v1/secrets", [$"expiring_within={seconds}", "limit=500"], null, all: true, context.CancellationToken);
            var sorted = new JsonArray(items
                .OrderBy(i => Json.Number(i, "expires_at") ?? long.MaxValue)
                .ThenBy(i => Json.String(i, "key"), StringComparer.Ordinal)
                .Select(i => i?.DeepClone())
                .ToArray());
            if (context.Json)
            {
                await context.Env.Out.WriteLineAsync(Json.Format(new JsonObject { ["items"] = sorted, ["next_cursor"] = null }));
                return ExitCodes.Success;
            }

            var console = context.Env.CreateConsole();
            var span = Describe(window);
            if (sorted.Count == 0)
            {
                console.WriteLine($"No secrets expire within {span}.");
                return ExitCodes.Success;
            }

            var now = context.Env.Time.GetUtcNow();
            var table = new Table().Border(TableBorder.Rounded);
            foreach (var header in new[] { "Key", "Expires", "Expires in", "Scope", "Environments", "Version" })
            {
                table.AddColumn(new TableColumn(new Text(header)));
            }

            foreach (var secret in sorted)
            {
                var left = Json.Number(secret, "expires_at") is { } at
                    ? Describe(DateTimeOffset.FromUnixTimeSeconds(at) - now)
                    : "";
                table.AddRow(
                    new Text(Json.String(secret, "key") ?? ""),
                    new Text(SecretRenderer.Expires(secret)),
                    new Text(left),
                    new Text(SecretRenderer.Scope(secret)),
                    new Text(SecretRenderer.Envs(secret)),
                    new Text(Json.Number(secret, "version")?.ToString(CultureInfo.InvariantCulture) ?? ""));
            }

            console.WriteLine($"{sorted.Count} secret(s) expire within {span}:");
            console.Write(table);
            return ExitCodes.Success;
        }));
        return command;
    }

    /// <summary>A short human duration: <c>3d 4h</c>, <c>5h 10m</c>, <c>12m</c>, <c>40s</c>.</summary>
    internal static string Describe(TimeSpan span)
    {
        if (span <= TimeSpan.Zero)
        {
            return "now";
        }

        var parts = new List<string>();
        if (span.Days > 0)
        {
            parts.Add($"{span.Days}d");
        }

        if (span.Hours > 0)
        {
            parts.Add($"{span.Hours}h");
        }

        if (span.Days == 0 && span.Minutes > 0)
        {
            parts.Add($"{span.Minutes}m");
        }

        if (parts.Count == 0)
        {
            parts.Add($"{Math.Max(1, span.Seconds)}s");
        }

        return string.Join(' ', parts);
    }

    /// <summary>Reads one page, or every page when <paramref name="all"/>; returns the items, the next cursor and the first page as answered.</summary>
    private static async Task<(JsonArray Items, string? Next, JsonNode? FirstPage)> ReadPagesAsync(
        LatchApiClient client, string path, List<string> query, string? cursor, bool all, CancellationToken cancellationToken)
    {
        var items = new JsonArray();
        JsonNode? firstPage = null;
        var seen = new HashSet<string>(StringComparer.Ordinal);
        while (true)
        {
            var pageQuery = new List<string>(query);
            AddQuery(pageQuery, "cursor", cursor);
            var uri = pageQuery.Count == 0 ? path : $"{path}?{string.Join('&', pageQuery)}";
            var page = await client.SendAsync(HttpMethod.Get, uri, null, cancellationToken);
            firstPage ??= page;
            foreach (var item in Json.Items(page))
            {
                items.Add(item?.DeepClone());
            }

            cursor = Json.String(page, "next_cursor");
            if (!all || string.IsNullOrEmpty(cursor))
            {
                return (items, string.IsNullOrEmpty(cursor) ? null : cursor, firstPage);
            }

            if (!seen.Add(cursor))
            {
                throw new CliFailureException($"Latch returned the cursor '{cursor}' twice; stopped paging");
            }
        }
    }

    private static void AddQuery(List<string> query, string name, string? value)
    {
        if (!string.IsNullOrEmpty(value))
        {
            query.Add($"{name}={Uri.EscapeDataString(value)}");
        }
    }

    private static JsonNode? WithoutValue(JsonNode? secret)
    {
        if (secret is not JsonObject obj || !obj.ContainsKey("value"))
        {
            return secret;
        }

        var copy = (JsonObject)obj.DeepClone();
        copy.Remove("value");
        return copy;
    }

    /// <summary><c>--value</c>, <c>--value-stdin</c>, <c>--generate</c>.</summary>
    private sealed class ValueOptions(string generateHelp)
    {
        private readonly Option<string?> _value = new("--value")
        {
            Description = "The value (visible in shell history and to other users: prefer --value-stdin)",
        };

        private readonly Option<bool> _stdin = new("--value-stdin") { Description = "Read the value from standard input (one trailing newline is dropped)" };

        private readonly Option<bool> _generate = new("--generate") { Description = generateHelp };

        public void AddTo(Command command)
        {
            command.Options.Add(_value);
            command.Options.Add(_stdin);
            command.Options.Add(_generate);
        }

        public ValueMode Mode(ParseResult parse) =>
            SecretValueSource.Choose(parse.GetValue(_value), parse.GetValue(_stdin), parse.GetValue(_generate));

        public string Read(ParseResult parse, ValueMode mode, CliEnvironment env) => mode switch
        {
            ValueMode.Given => parse.GetValue(_value)!,
            ValueMode.Stdin => SecretValueSource.ReadStdin(env.In),
            _ => throw new InvalidOperationException($"no value to read for {mode}"),
        };
    }

    /// <summary><c>--description</c>, <c>--type</c>, <c>--scope</c>, <c>--envs</c>, <c>--expires</c> (and <c>--no-expiry</c> on update).</summary>
    private sealed class PolicyOptions(bool update)
    {
        private readonly Option<string?> _description = new("--description") { Description = "What the secret is for" };

        private readonly Option<string?> _type = new("--type") { Description = "Token type, e.g. api_key, webhook_secret" };

        private readonly Option<string?> _scope = new("--scope")
        {
            Description = "Apps that may use it, comma-separated access tags or product:app (empty or absent: all apps)",
        };

        private readonly Option<string?> _envs = new("--envs")
        {
            Description = "Environments it is available in, comma-separated (empty or absent: all environments)",
        };

        private readonly Option<string?> _expires = new("--expires")
        {
            Description = "Expiry: a duration (30d, 12h, 15m, 2w), a UTC date (2027-01-01), an ISO date-time, or Unix seconds",
        };

        private readonly Option<bool> _noExpiry = new("--no-expiry") { Description = "Remove the expiry" };

        public void AddTo(Command command)
        {
            command.Options.Add(_description);
            command.Options.Add(_type);
            command.Options.Add(_scope);
            command.Options.Add(_envs);
            command.Options.Add(_expires);
            if (update)
            {
                command.Options.Add(_noExpiry);
            }
        }

        public void AddTo(JsonObject body, ParseResult parse, CliEnvironment env)
        {
            if (parse.GetResult(_description) is not null)
            {
                body["description"] = parse.GetValue(_description) ?? "";
            }

            if (parse.GetResult(_type) is not null)
            {
                body["token_type"] = parse.GetValue(_type) ?? "";
            }

            if (parse.GetResult(_scope) is not null)
            {
                body["scope"] = SplitList(parse.GetValue(_scope));
            }

            if (parse.GetResult(_envs) is not null)
            {
                body["envs"] = SplitList(parse.GetValue(_envs));
            }

            var expires = parse.GetValue(_expires);
            var noExpiry = update && parse.GetValue(_noExpiry);
            if (expires is not null && noExpiry)
            {
                throw new CliUsageException("--expires and --no-expiry are mutually exclusive");
            }

            if (expires is not null)
            {
                body["expires_at"] = ExpiryParser.Parse(expires, env.Time);
            }
            else if (noExpiry)
            {
                body["expires_at"] = null;
            }
        }

        internal static JsonArray SplitList(string? text) =>
            new((text ?? "").Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
                .Distinct(StringComparer.Ordinal)
                .Select(item => (JsonNode?)item)
                .ToArray());
    }
}

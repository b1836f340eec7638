using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using Latch.Cli.Api;
using Latch.Cli.Output;
using Spectre.Console;

namespace Latch.Cli.Audit;

/// <summary>
/// <c>latch audit</c>: the audit log (SPEC §6), newest first, filtered and paged, or followed as it grows;
/// <c>latch audit verify</c>: walks the hash chain.
/// </summary>
internal static class AuditCommand
{
    private const string AuditPath = "v1/audit";

    public static Command Create(CliEnvironment env, GlobalOptions global)
    {
        var secret = new Option<string?>("--secret") { Description = "Only events about this secret key" };
        var app = new Option<string?>("--app") { Description = "Only events for this app (access tag)" };
        var envSlug = new Option<string?>("--env") { Description = "Only events in this environment" };
        var action = new Option<string?>("--action") { Description = "Only this action, e.g. secret.resolved, secret.revealed, secret.updated" };
        var since = new Option<string?>("--since")
        {
            Description = "Only events at or after: a duration back from now (24h, 7d), a UTC date (2026-11-01), an ISO date-time, or Unix seconds",
        };
        var until = new Option<string?>("--until") { Description = "Only events before (same forms as --since)" };
        var limit = new Option<int?>("--limit") { Description = "Page size" };
        var cursor = new Option<string?>("--cursor") { Description = "Continue from a previous page's next_cursor (older events)" };
        var all = new Option<bool>("--all") { Description = "Follow next_cursor until every page is read" };
        var follow = new Option<bool>("--follow", "-f") { Description = "Print the latest events, then new ones as they happen, until Ctrl+C (--json: one object per line)" };
        var interval = new Option<string?>("--interval") { Description = "How often --follow asks for new events (default 1s; e.g. 500ms, 5s)" };
        var audit = new Command("audit", "Show the audit log (newest first), or follow it; 'latch audit verify' checks its hash chain")
        {
            secret, app, envSlug, action, since, until, limit, cursor, all, follow, interval,
        };
        audit.Subcommands.Add(VerifyCommand(env, global));
        audit.SetAction(LatchCli.Handler(env, global, async context =>
        {
            var parse = context.Parse;
            if (parse.GetValue(limit) is <= 0)
            {
                throw new CliUsageException("--limit must be a positive number");
            }

            var from = Instant(parse.GetValue(since), "--since", context.Env.Time);
            var to = Instant(parse.GetValue(until), "--until", context.Env.Time);
            if (from is not null && to is not null && from >= to)
            {
                throw new CliUsageException("--since must be before --until");
            }

            var query = new List<string>();
            LatchApiClient.AddQuery(query, "secret", parse.GetValue(secret));
            LatchApiClient.AddQuery(query, "app", parse.GetValue(app));
            LatchApiClient.AddQuery(query, "env", parse.GetValue(envSlug));
            LatchApiClient.AddQuery(query, "action", parse.GetValue(action));
            LatchApiClient.AddQuery(query, "since", from is { } s ? AuditTimeParser.Format(s) : null);
            LatchApiClient.AddQuery(query, "until", to is { } u ? AuditTimeParser.Format(u) : null);
            LatchApiClient.AddQuery(query, "limit", parse.GetValue(limit)?.ToString(CultureInfo.InvariantCulture));

            if (parse.GetValue(follow))
            {
                if (parse.GetValue(all) || parse.GetValue(cursor) is not null)
                {
                    throw new CliUsageException("--follow starts at the newest events: it cannot be combined with --all or --cursor");
                }

                var every = parse.GetValue(interval) is { } text ? AuditTimeParser.ParseInterval(text) : TimeSpan.FromSeconds(1);
                return await FollowAsync(context, query, every);
            }

            if (parse.GetValue(interval) is not null)
            {
                throw new CliUsageException("--interval only applies with --follow");
            }

            return await ListAsync(context, query, parse.GetValue(cursor), parse.GetValue(all));
        }));
        return audit;
    }

    private static Command VerifyCommand(CliEnvironment env, GlobalOptions global)
    {
        var command = new Command("verify", "Walk the audit log's hash chain: exit 0 when intact, 1 at the first edited, deleted or reordered event");
        command.SetAction(LatchCli.Handler(env, global, async context =>
        {
            using var client = context.CreateClient();
            var result = await client.SendAsync(HttpMethod.Get, AuditPath + "/verify", null, context.CancellationToken);
            var ok = result is JsonObject obj && obj["ok"] is JsonValue value && value.TryGetValue<bool>(out var flag)
                ? flag
                : throw new CliFailureException("Latch answered the chain check without an 'ok' field");
            if (context.Json)
            {
                await context.Env.Out.WriteLineAsync(Json.Format(result));
            }

            if (ok)
            {
                if (!context.Json)
                {
                    var count = Json.Number(result, "checked") ?? 0;
                    await context.Env.Out.WriteLineAsync(
                        $"ok: {count.ToString(CultureInfo.InvariantCulture)} event{(count == 1 ? "" : "s")} checked");
                }

                return ExitCodes.Success;
            }

            var broken = result is JsonObject withBroken ? withBroken["first_broken"] : null;
            var sequence = Json.Number(broken, "sequence")?.ToString(CultureInfo.InvariantCulture) ?? "?";
            await context.Env.Error.WriteLineAsync(
                $"Error: audit chain broken at event {Json.String(broken, "id") ?? "?"} (#{sequence}, {Json.String(broken, "action") ?? "?"}, {AuditRenderer.Time(broken)})");
            return ExitCodes.Failure;
        }));
        return command;
    }

    private static async Task<int> ListAsync(CommandContext context, List<string> query, string? cursor, bool all)
    {
        using var client = context.CreateClient();
        var page = await client.ReadPagesAsync(AuditPath, query, cursor, all, context.CancellationToken);
        if (context.Json)
        {
            var output = all
                ? new JsonObject
                {
                    ["items"] = page.Items,
                    ["next_cursor"] = null,
                    ["follow_cursor"] = Json.String(page.FirstPage, "follow_cursor"),
                }
                : page.FirstPage;
            await context.Env.Out.WriteLineAsync(Json.Format(output));
            return ExitCodes.Success;
        }

        var console = context.Env.CreateConsole();
        if (page.Items.Count == 0)
        {
            console.WriteLine("No audit events.");
        }
        else
        {
            AuditRenderer.WriteTable(console, page.Items);
        }

        if (page.NextCursor is not null)
        {
            await context.Env.Error.WriteLineAsync($"Older events follow: pass --cursor {page.NextCursor} for the next page, or --all.");
        }

        return ExitCodes.Success;
    }

    /// <summary>
    /// Prints the latest page oldest first, then asks for events after the newest one seen every <paramref name="interval"/>
    /// (at once again while new events keep arriving) until the command is cancelled, which ends it successfully.
    /// </summary>
    private static async Task<int> FollowAsync(CommandContext context, List<string> query, TimeSpan interval)
    {
        var cancellationToken = context.CancellationToken;
        using var client = context.CreateClient();
        try
        {
            var page = await client.SendAsync(HttpMethod.Get, Uri(query, null), null, cancellationToken);
            await PrintAsync(context, Json.Items(page).Reverse());
            var after = FollowCursor(page)
                ?? throw new CliFailureException("Latch answered without a follow_cursor: this server cannot follow the audit log");
            while (true)
            {
                await Task.Delay(interval, context.Env.Time, cancellationToken);
                bool more;
                do
                {
                    var batch = await client.SendAsync(HttpMethod.Get, Uri(query, after), null, cancellationToken);
                    var items = Json.Items(batch);
                    await PrintAsync(context, items);
                    var next = FollowCursor(batch) ?? after;
                    more = items.Count > 0 && !string.Equals(next, after, StringComparison.Ordinal);
                    after = next;
                }
                while (more);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Ctrl+C is how following ends.
            return ExitCodes.Success;
        }
    }

    private static async Task PrintAsync(CommandContext context, IEnumerable<JsonNode?> items)
    {
        foreach (var item in items)
        {
            await context.Env.Out.WriteLineAsync(context.Json ? AuditRenderer.JsonLine(item) : AuditRenderer.Line(item));
        }

        await context.Env.Out.FlushAsync(context.CancellationToken);
    }

    private static string Uri(List<string> query, string? after)
    {
        var withAfter = new List<string>(query);
        LatchApiClient.AddQuery(withAfter, "after", after);
        return withAfter.Count == 0 ? AuditPath : $"{AuditPath}?{string.Join('&', withAfter)}";
    }

    private static string? FollowCursor(JsonNode? page) =>
        Json.String(page, "follow_cursor") is { Length: > 0 } text ? text
        : Json.Number(page, "follow_cursor")?.ToString(CultureInfo.InvariantCulture);

    private static DateTimeOffset? Instant(string? text, string option, TimeProvider time) =>
        text is null ? null : AuditTimeParser.ParseTime(text, option, time);
}

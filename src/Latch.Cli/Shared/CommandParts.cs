using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using Latch.Cli.Api;
using Latch.Cli.Output;
using Spectre.Console;

namespace Latch.Cli.Shared;

/// <summary><c>--limit</c>, <c>--cursor</c>, <c>--all</c> for a <c>{items, next_cursor}</c> list, and how to print it.</summary>
internal sealed class ListOptions
{
    private readonly Option<int?> _limit = new("--limit") { Description = "Page size" };

    private readonly Option<string?> _cursor = new("--cursor") { Description = "Continue from a previous page's next_cursor" };

    private readonly Option<bool> _all = new("--all") { Description = "Follow next_cursor until every page is read" };

    public void AddTo(Command command)
    {
        ArgumentNullException.ThrowIfNull(command);
        command.Options.Add(_limit);
        command.Options.Add(_cursor);
        command.Options.Add(_all);
    }

    /// <summary>Reads the list at <paramref name="path"/> and prints it: <c>--json</c> as answered, otherwise with <paramref name="render"/>.</summary>
    public async Task<int> RunAsync(CommandContext context, string path, string plural, Action<IAnsiConsole, JsonArray> render)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(render);
        var parse = context.Parse;
        if (parse.GetValue(_limit) is <= 0)
        {
            throw new CliUsageException("--limit must be a positive number");
        }

        var query = new List<string>();
        LatchApiClient.AddQuery(query, "limit", parse.GetValue(_limit)?.ToString(CultureInfo.InvariantCulture));
        var all = parse.GetValue(_all);
        using var client = context.CreateClient();
        var page = await client.ReadPagesAsync(path, query, parse.GetValue(_cursor), all, context.CancellationToken);
        if (context.Json)
        {
            var output = all ? new JsonObject { ["items"] = page.Items, ["next_cursor"] = null } : page.FirstPage;
            await context.Env.Out.WriteLineAsync(Json.Format(output));
            return ExitCodes.Success;
        }

        var console = context.Env.CreateConsole();
        if (page.Items.Count == 0)
        {
            console.WriteLine($"No {plural}.");
        }
        else
        {
            render(console, page.Items);
        }

        if (page.NextCursor is not null)
        {
            await context.Env.Error.WriteLineAsync($"More {plural} follow: pass --cursor {page.NextCursor} for the next page, or --all.");
        }

        return ExitCodes.Success;
    }
}

/// <summary><c>--yes</c> and the typed confirmation of a deletion.</summary>
internal sealed class ConfirmOption
{
    public Option<bool> Yes { get; } = new("--yes", "-y") { Description = "Do not ask for confirmation" };

    /// <summary>Unless <c>--yes</c>, asks on stderr to type <paramref name="expected"/>; a mismatch fails, no input is a usage error.</summary>
    /// <summary>Confirms (unless <c>--yes</c>), sends <c>DELETE</c> to <paramref name="path"/> and, for people, says what was done.</summary>
    public async Task<int> DeleteAsync(CommandContext context, string prompt, string expected, string path, string done)
    {
        ArgumentNullException.ThrowIfNull(context);
        await ConfirmAsync(context, prompt, expected);
        using var client = context.CreateClient();
        await client.SendAsync(HttpMethod.Delete, path, null, context.CancellationToken);
        if (!context.Json)
        {
            await context.Env.Out.WriteLineAsync(done);
        }

        return ExitCodes.Success;
    }

    public async Task ConfirmAsync(CommandContext context, string prompt, string expected)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (context.Parse.GetValue(Yes))
        {
            return;
        }

        await context.Env.Error.WriteAsync($"{prompt}: ");
        await context.Env.Error.FlushAsync(context.CancellationToken);
        var typed = await context.Env.In.ReadLineAsync(context.CancellationToken)
            ?? throw new CliUsageException($"refusing to delete '{expected}' without confirmation: pass --yes");
        if (!string.Equals(typed.Trim(), expected, StringComparison.Ordinal))
        {
            throw new CliFailureException($"not deleted: what was typed does not match '{expected}'");
        }
    }
}

using System.CommandLine;
using System.Net;
using System.Text.Json.Nodes;
using Latch.Cli.Api;
using Latch.Cli.Output;
using Spectre.Console;

namespace Latch.Cli.Secrets;

/// <summary>
/// <c>latch secrets import FILE.env</c>: creates one secret per key of a dotenv file (SPEC §7). Keys that already exist fail
/// (default), are skipped (<c>--skip-existing</c>) or get the file's value as a new version (<c>--overwrite</c>).
/// Values are never printed.
/// </summary>
internal static class ImportCommand
{
    public const string Created = "created";
    public const string Rotated = "rotated";
    public const string Skipped = "skipped";
    public const string Failed = "failed";

    public static Command Create(CliEnvironment env, GlobalOptions global)
    {
        var file = new Argument<string>("FILE") { Description = "The dotenv file ('-' reads standard input)" };
        var scope = new Option<string?>("--scope") { Description = "Apps that may use the secrets, comma-separated (absent: all apps)" };
        var envs = new Option<string?>("--envs") { Description = "Environments the secrets are available in, comma-separated (absent: all)" };
        var skipExisting = new Option<bool>("--skip-existing") { Description = "Leave keys that already exist untouched" };
        var overwrite = new Option<bool>("--overwrite") { Description = "Give keys that already exist the file's value (a new version), and --scope/--envs if given" };
        var dryRun = new Option<bool>("--dry-run") { Description = "Show what would happen without changing anything" };
        var command = new Command("import", "Create secrets from a dotenv file (comments, export, single and double quotes, escapes)")
        {
            file, scope, envs, skipExisting, overwrite, dryRun,
        };
        command.SetAction(LatchCli.Handler(env, global, async context =>
        {
            var parse = context.Parse;
            if (parse.GetValue(skipExisting) && parse.GetValue(overwrite))
            {
                throw new CliUsageException("--skip-existing and --overwrite are mutually exclusive");
            }

            var mode = parse.GetValue(overwrite) ? ExistingMode.Overwrite : parse.GetValue(skipExisting) ? ExistingMode.Skip : ExistingMode.Fail;
            var path = parse.GetRequiredValue(file);
            var source = path == "-" ? "standard input" : $"'{path}'";
            string text;
            try
            {
                text = path == "-" ? await context.Env.In.ReadToEndAsync(context.CancellationToken) : await File.ReadAllTextAsync(path, context.CancellationToken);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
            {
                throw new CliUsageException($"cannot read {source}: {ex.Message}", ex);
            }

            var document = DotEnvParser.Parse(text);
            foreach (var warning in document.Warnings)
            {
                await context.Env.Error.WriteLineAsync($"Warning: {warning}");
            }

            if (document.SyntaxErrors.Count > 0)
            {
                await context.Env.Error.WriteLineAsync($"Error: {source} is not a valid dotenv file; nothing was imported:");
                foreach (var error in document.SyntaxErrors)
                {
                    await context.Env.Error.WriteLineAsync($"  {error}");
                }

                return ExitCodes.Failure;
            }

            if (document.Items.Count == 0)
            {
                throw new CliFailureException($"{source} defines no keys: nothing to import");
            }

            var policy = new JsonObject();
            if (parse.GetResult(scope) is not null)
            {
                policy["scope"] = SplitList(parse.GetValue(scope));
            }

            if (parse.GetResult(envs) is not null)
            {
                policy["envs"] = SplitList(parse.GetValue(envs));
            }

            using var client = context.CreateClient();
            var importer = new Importer(client, policy, mode, parse.GetValue(dryRun), context.CancellationToken);
            var results = context.Env.IsTerminal && !context.Json
                ? await ImportWithProgressAsync(context.Env, importer, document.Items)
                : await ImportWithLinesAsync(context, importer, document.Items);
            return await ReportAsync(context, results, parse.GetValue(dryRun));
        }));
        return command;
    }

    internal enum ExistingMode
    {
        Fail,
        Skip,
        Overwrite,
    }

    /// <summary>What happened to one key. Never holds a value.</summary>
    internal sealed record ImportResult(string Key, int Line, string Result, string Message);

    private static async Task<List<ImportResult>> ImportWithProgressAsync(CliEnvironment env, Importer importer, IReadOnlyList<DotEnvItem> items)
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(env.Out),
            Ansi = AnsiSupport.Detect,
            ColorSystem = ColorSystemSupport.Detect,
            Interactive = InteractionSupport.Detect,
        });
        var results = new List<ImportResult>();
        await console.Progress()
            .AutoClear(true)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
            .StartAsync(async progress =>
            {
                var task = progress.AddTask("Importing", maxValue: items.Count);
                foreach (var item in items)
                {
                    task.Description = $"Importing {Markup.Escape(item.Key)}";
                    results.Add(await importer.ImportAsync(item));
                    task.Increment(1);
                }

                task.Description = "Imported";
            });
        return results;
    }

    private static async Task<List<ImportResult>> ImportWithLinesAsync(CommandContext context, Importer importer, IReadOnlyList<DotEnvItem> items)
    {
        var results = new List<ImportResult>();
        for (var i = 0; i < items.Count; i++)
        {
            var result = await importer.ImportAsync(items[i]);
            results.Add(result);
            if (!context.Json)
            {
                // Plain progress on stderr (no bar when not on a terminal): stdout keeps only the summary.
                await context.Env.Error.WriteLineAsync($"[{i + 1}/{items.Count}] {result.Key}: {result.Result}");
            }
        }

        return results;
    }

    private static async Task<int> ReportAsync(CommandContext context, List<ImportResult> results, bool dryRun)
    {
        var failed = results.Count(r => r.Result.EndsWith(Failed, StringComparison.Ordinal));
        if (context.Json)
        {
            var items = new JsonArray(results.Select(r => (JsonNode)new JsonObject
            {
                ["key"] = r.Key,
                ["line"] = r.Line,
                ["result"] = r.Result,
                ["message"] = r.Message.Length == 0 ? null : r.Message,
            }).ToArray());
            await context.Env.Out.WriteLineAsync(Json.Format(new JsonObject
            {
                ["dry_run"] = dryRun,
                ["items"] = items,
                ["created"] = results.Count(r => r.Result.EndsWith(Created, StringComparison.Ordinal)),
                ["rotated"] = results.Count(r => r.Result.EndsWith(Rotated, StringComparison.Ordinal)),
                ["skipped"] = results.Count(r => r.Result.EndsWith(Skipped, StringComparison.Ordinal)),
                ["failed"] = failed,
            }));
        }
        else
        {
            var console = context.Env.CreateConsole();
            var table = new Table().Border(TableBorder.Rounded)
                .AddColumn(new TableColumn(new Text("Key")))
                .AddColumn(new TableColumn(new Text("Line")))
                .AddColumn(new TableColumn(new Text("Result")))
                .AddColumn(new TableColumn(new Text("Message")));
            foreach (var result in results)
            {
                table.AddRow(
                    new Text(result.Key),
                    new Text(result.Line.ToString(System.Globalization.CultureInfo.InvariantCulture)),
                    ResultMarkup(result.Result),
                    new Text(result.Message));
            }

            console.Write(table);
            console.WriteLine(Summary(results, dryRun));
        }

        if (failed > 0)
        {
            await context.Env.Error.WriteLineAsync($"Error: {failed} of {results.Count} key(s) {(dryRun ? "would fail" : "failed")}");
            return ExitCodes.Failure;
        }

        return ExitCodes.Success;
    }

    private static string Summary(List<ImportResult> results, bool dryRun)
    {
        var counts = new[] { Created, Rotated, Skipped, Failed }
            .Select(r => (Name: r, Count: results.Count(x => x.Result.EndsWith(r, StringComparison.Ordinal))))
            .Where(c => c.Count > 0)
            .Select(c => $"{c.Count} {c.Name}");
        return (dryRun ? "Dry run, nothing changed: would be " : "") + string.Join(", ", counts) + ".";
    }

    private static Markup ResultMarkup(string result)
    {
        var color = result.EndsWith(Failed, StringComparison.Ordinal) ? "red"
            : result.EndsWith(Skipped, StringComparison.Ordinal) ? "yellow"
            : "green";
        return new Markup($"[{color}]{Markup.Escape(result)}[/]");
    }

    private static JsonArray SplitList(string? text) =>
        new((text ?? "").Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
            .Distinct(StringComparer.Ordinal)
            .Select(item => (JsonNode?)item)
            .ToArray());

    /// <summary>Imports one key at a time; API refusals become failed results, not exceptions.</summary>
    private sealed class Importer(LatchApiClient client, JsonObject policy, ExistingMode mode, bool dryRun, CancellationToken cancellationToken)
    {
        public async Task<ImportResult> ImportAsync(DotEnvItem item)
        {
            if (!item.IsValid)
            {
                return new ImportResult(item.Key, item.Line, Name(Failed), item.Error!);
            }

            try
            {
                return dryRun ? await PlanAsync(item) : await WriteAsync(item);
            }
            catch (LatchApiException ex)
            {
                return new ImportResult(item.Key, item.Line, Name(Failed), Describe(ex));
            }
        }

        private string Name(string result) => dryRun ? $"would be {result}" : result;

        private async Task<ImportResult> WriteAsync(DotEnvItem item)
        {
            var body = (JsonObject)policy.DeepClone();
            body.Insert(0, "key", item.Key);
            body.Insert(1, "value", item.Value);
            try
            {
                await client.SendAsync(HttpMethod.Post, "v1/secrets", body, cancellationToken);
                return new ImportResult(item.Key, item.Line, Created, "");
            }
            catch (LatchApiException ex) when (ex.Code == "secret_exists" || ex.Status == HttpStatusCode.Conflict)
            {
                switch (mode)
                {
                    case ExistingMode.Skip:
                        return new ImportResult(item.Key, item.Line, Skipped, "already exists");
                    case ExistingMode.Overwrite:
                        var patch = (JsonObject)policy.DeepClone();
                        patch.Insert(0, "value", item.Value);
                        var secret = await client.SendAsync(HttpMethod.Patch, $"v1/secrets/{Uri.EscapeDataString(item.Key)}", patch, cancellationToken);
                        var version = Json.Number(secret, "version");
                        return new ImportResult(item.Key, item.Line, Rotated, version is null ? "new version" : $"now version {version}");
                    default:
                        return new ImportResult(item.Key, item.Line, Failed, "already exists (pass --skip-existing or --overwrite)");
                }
            }
        }

        /// <summary>Dry run: only asks whether the key exists (HEAD), changes nothing.</summary>
        private async Task<ImportResult> PlanAsync(DotEnvItem item)
        {
            bool exists;
            try
            {
                await client.SendAsync(HttpMethod.Head, $"v1/secrets/{Uri.EscapeDataString(item.Key)}", null, cancellationToken);
                exists = true;
            }
            catch (LatchApiException ex) when (ex.Status == HttpStatusCode.NotFound)
            {
                exists = false;
            }

            return !exists ? new ImportResult(item.Key, item.Line, Name(Created), "")
                : mode switch
                {
                    ExistingMode.Skip => new ImportResult(item.Key, item.Line, Name(Skipped), "already exists"),
                    ExistingMode.Overwrite => new ImportResult(item.Key, item.Line, Name(Rotated), "already exists"),
                    _ => new ImportResult(item.Key, item.Line, Name(Failed), "already exists (pass --skip-existing or --overwrite)"),
                };
        }

        private static string Describe(LatchApiException ex) =>
            ex.ErrorLines.Count > 0 ? string.Join("; ", ex.ErrorLines) : ex.Message;
    }
}

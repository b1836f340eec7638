using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Nodes;
using Latch.Cli.Output;
using Latch.Cli.Shared;
using Spectre.Console;

namespace Latch.Cli.Check;

/// <summary>
/// <c>latch check FILE --app A --env E [--product P]</c>: <c>POST /v1/secrets/check</c>, a dry-run resolution of a JSON
/// document. Lists every reference with its result; exit code 1 when any would not resolve.
/// </summary>
internal static class CheckCommand
{
    private static readonly JsonDocumentOptions Options = new() { CommentHandling = JsonCommentHandling.Skip, MaxDepth = 64 };

    public static Command Create(CliEnvironment env, GlobalOptions global)
    {
        var file = new Argument<string>("FILE") { Description = "JSON document with $Token{KEY} references ('-' reads standard input)" };
        var app = new Option<string>("--app") { Description = "App access tag the document is resolved for", Required = true };
        var envSlug = new Option<string>("--env") { Description = "Environment, e.g. prd", Required = true };
        var product = new Option<string?>("--product") { Description = "Product tag (maps a product environment to the app's)" };
        var command = new Command("check", "Check that every $Token{KEY} in a JSON document would resolve for an app and environment (values are never fetched)")
        {
            file, app, envSlug, product,
        };
        command.SetAction(LatchCli.Handler(env, global, async context =>
        {
            var parse = context.Parse;
            var body = new JsonObject
            {
                ["document"] = ReadDocument(parse.GetRequiredValue(file), context.Env),
                ["app"] = parse.GetRequiredValue(app),
                ["env"] = parse.GetRequiredValue(envSlug),
            };
            if (parse.GetValue(product) is { Length: > 0 } productTag)
            {
                body["product"] = productTag;
            }

            using var client = context.CreateClient();
            var response = await client.SendAsync(HttpMethod.Post, "v1/secrets/check", body, context.CancellationToken);
            var references = RuntimeRenderer.Objects(response, "references");
            var failing = references.Where(r => !IsOk(r)).ToList();
            var ok = failing.Count == 0 && (response is not JsonObject obj || obj["ok"] is not JsonValue v || !v.TryGetValue<bool>(out var flag) || flag);
            if (context.Json)
            {
                await context.Env.Out.WriteLineAsync(Json.Format(response));
            }
            else
            {
                var console = context.Env.CreateConsole();
                if (references.Count == 0)
                {
                    console.WriteLine("No $Token{…} references in the document.");
                }
                else
                {
                    var table = new Table().Border(TableBorder.Rounded);
                    foreach (var header in new[] { "Path", "Key", "Result", "Message" })
                    {
                        table.AddColumn(new TableColumn(new Text(header)));
                    }

                    foreach (var reference in references)
                    {
                        table.AddRow(
                            new Text(Json.String(reference, "path") ?? ""),
                            new Text(Json.String(reference, "key") ?? ""),
                            IsOk(reference) ? new Markup("[green]ok[/]") : new Markup($"[red]{Markup.Escape(Json.String(reference, "code") ?? "failed")}[/]"),
                            new Text(Json.String(reference, "message") ?? ""));
                    }

                    console.Write(table);
                    if (ok)
                    {
                        console.WriteLine($"All {references.Count} reference(s) resolve.");
                    }
                }
            }

            if (!ok)
            {
                await context.Env.Error.WriteLineAsync(
                    $"Error: {failing.Count} of {references.Count} reference(s) would not resolve for app '{body["app"]}' in env '{body["env"]}'");
                return ExitCodes.Failure;
            }

            return ExitCodes.Success;
        }));
        return command;
    }

    private static bool IsOk(JsonNode reference) =>
        reference is JsonObject obj && obj["ok"] is JsonValue value && value.TryGetValue<bool>(out var ok) && ok;

    /// <summary>Any JSON value; errors name the file and position, never the content.</summary>
    private static JsonNode ReadDocument(string path, CliEnvironment env)
    {
        var source = path == JsonFileInput.Stdin ? "standard input" : $"'{path}'";
        string text;
        try
        {
            text = path == JsonFileInput.Stdin ? env.In.ReadToEnd() : File.ReadAllText(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            throw new CliUsageException($"cannot read the document from {source}: {ex.Message}", ex);
        }

        if (string.IsNullOrWhiteSpace(text))
        {
            throw new CliUsageException($"the document from {source} is empty: expected JSON");
        }

        try
        {
            return JsonNode.Parse(text, documentOptions: Options)
                ?? throw new CliUsageException($"the document from {source} is null: expected a JSON object or array");
        }
        catch (JsonException ex)
        {
            var where = ex.LineNumber is { } line ? $" at line {line + 1}, position {(ex.BytePositionInLine ?? 0) + 1}" : "";
            throw new CliUsageException($"the document from {source} is not valid JSON{where}", ex);
        }
    }
}

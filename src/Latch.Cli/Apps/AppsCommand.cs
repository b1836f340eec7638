using System.CommandLine;
using System.Text.Json.Nodes;
using Latch.Cli.Api;
using Latch.Cli.Output;
using Latch.Cli.Shared;
using Spectre.Console;

namespace Latch.Cli.Apps;

/// <summary><c>latch apps …</c>: third-party API definitions (SPEC §4) — environments, auths and actions.</summary>
internal static class AppsCommand
{
    public static Command Create(CliEnvironment env, GlobalOptions global)
    {
        var apps = new Command("apps", "Define the third-party APIs that actions call: environments, auths, actions");
        apps.Subcommands.Add(ListCommand(env, global));
        apps.Subcommands.Add(GetCommand(env, global));
        apps.Subcommands.Add(CreateCommand(env, global));
        apps.Subcommands.Add(UpdateCommand(env, global));
        apps.Subcommands.Add(DeleteCommand(env, global));
        return apps;
    }

    internal const string FileHelp =
        "JSON file with the app: {access_tag, name, envs:[{slug, base_url}], auths:[{tag, headers?, query?}], actions:[{event, method, path, headers?, query?, body?}]} ('-' reads standard input)";

    private static Argument<string> TagArgument() => new("TAG") { Description = "The app's access tag, e.g. stripe_app" };

    private static Option<string> FileOption() => new("--file", "-f") { Description = FileHelp, Required = true };

    private static string AppPath(string tag) => $"v1/apps/{LatchApiClient.Segment(tag)}";

    private static Command ListCommand(CliEnvironment env, GlobalOptions global)
    {
        var list = new ListOptions();
        var command = new Command("list", "List apps");
        list.AddTo(command);
        command.SetAction(LatchCli.Handler(env, global, context =>
            list.RunAsync(context, "v1/apps", "apps", RuntimeRenderer.WriteAppList)));
        return command;
    }

    private static Command GetCommand(CliEnvironment env, GlobalOptions global)
    {
        var tag = TagArgument();
        var command = new Command("get", "Show an app: environments, auths and actions") { tag };
        command.SetAction(LatchCli.Handler(env, global, async context =>
        {
            using var client = context.CreateClient();
            var app = await client.SendAsync(HttpMethod.Get, AppPath(context.Parse.GetRequiredValue(tag)), null, context.CancellationToken);
            return await PrintAsync(context, app, null);
        }));
        return command;
    }

    private static Command CreateCommand(CliEnvironment env, GlobalOptions global)
    {
        var file = FileOption();
        var command = new Command("create", "Create an app from a JSON file") { file };
        command.SetAction(LatchCli.Handler(env, global, async context =>
        {
            var body = JsonFileInput.ReadObject(context.Parse.GetRequiredValue(file), context.Env, "the app");
            using var client = context.CreateClient();
            var app = await client.SendAsync(HttpMethod.Post, "v1/apps", body, context.CancellationToken);
            return await PrintAsync(context, app, $"Created app '{Json.String(app, "access_tag") ?? Json.String(body, "access_tag")}'.");
        }));
        return command;
    }

    private static Command UpdateCommand(CliEnvironment env, GlobalOptions global)
    {
        var tag = TagArgument();
        var file = FileOption();
        var command = new Command("update", "Replace an app with the definition in a JSON file (everything not in the file is removed)") { tag, file };
        command.SetAction(LatchCli.Handler(env, global, async context =>
        {
            var name = context.Parse.GetRequiredValue(tag);
            var body = JsonFileInput.ReadObject(context.Parse.GetRequiredValue(file), context.Env, "the app");
            JsonFileInput.MatchName(body, "access_tag", name, "app");
            using var client = context.CreateClient();
            var app = await client.SendAsync(HttpMethod.Put, AppPath(name), body, context.CancellationToken);
            return await PrintAsync(context, app, $"Updated app '{name}'.");
        }));
        return command;
    }

    private static Command DeleteCommand(CliEnvironment env, GlobalOptions global)
    {
        var tag = TagArgument();
        var confirm = new ConfirmOption();
        var command = new Command("delete", "Delete an app") { tag, confirm.Yes };
        command.SetAction(LatchCli.Handler(env, global, async context =>
        {
            var name = context.Parse.GetRequiredValue(tag);
            return await confirm.DeleteAsync(context, $"Type the access tag '{name}' to delete the app", name, AppPath(name), $"Deleted app '{name}'.");
        }));
        return command;
    }

    private static async Task<int> PrintAsync(CommandContext context, JsonNode? app, string? headline)
    {
        if (context.Json)
        {
            await context.Env.Out.WriteLineAsync(Json.Format(app));
            return ExitCodes.Success;
        }

        var console = context.Env.CreateConsole();
        if (headline is not null)
        {
            console.WriteLine(headline);
        }

        RuntimeRenderer.WriteApp(console, app);
        return ExitCodes.Success;
    }
}

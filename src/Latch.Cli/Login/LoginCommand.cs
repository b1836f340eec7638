using System.CommandLine;
using Latch.Cli.Api;
using Latch.Cli.Output;

namespace Latch.Cli.Login;

/// <summary>
/// <c>latch login</c> checks an API key against <c>GET /v1/workspace</c> and saves <c>{url, api_key}</c> in the user's
/// config directory; <c>latch logout</c> removes it. API commands use the saved login when neither flags nor
/// <c>LATCH_URL</c>/<c>LATCH_API_KEY</c> say otherwise.
/// </summary>
internal static class LoginCommand
{
    public static Command Create(CliEnvironment env, GlobalOptions global)
    {
        var fromStdin = new Option<bool>("--api-key-stdin") { Description = "Read the API key from standard input (for scripts)" };
        var command = new Command(
            "login",
            "Check an API key and save it with the URL (--url, $LATCH_URL or the default) in ~/.config/latch/config.json (mode 0600); "
            + "prompts for the key on a terminal, otherwise reads it from standard input")
        {
            fromStdin,
        };
        command.SetAction(LatchCli.Handler(env, global, async context =>
        {
            var url = context.Parse.GetValue(global.Url) ?? context.Env.Variable("LATCH_URL") ?? LatchCli.DefaultUrl;
            var baseAddress = CommandContext.BaseAddressOf(url);
            var apiKey = await ReadKeyAsync(context, context.Parse.GetValue(global.ApiKey), context.Parse.GetValue(fromStdin));

            JsonWorkspace workspace;
            using (var client = new LatchApiClient(baseAddress, apiKey, context.Env.HttpHandler))
            {
                var answer = await client.SendAsync(HttpMethod.Get, "v1/workspace", null, context.CancellationToken);
                workspace = new JsonWorkspace(Json.String(answer, "id") ?? "", Json.String(answer, "name") ?? "");
            }

            var path = CliConfig.Save(context.Env, new SavedLogin(baseAddress.AbsoluteUri, apiKey));
            if (context.Json)
            {
                await context.Env.Out.WriteLineAsync(Json.Format(new System.Text.Json.Nodes.JsonObject
                {
                    ["url"] = baseAddress.AbsoluteUri,
                    ["workspace"] = new System.Text.Json.Nodes.JsonObject { ["id"] = workspace.Id, ["name"] = workspace.Name },
                    ["config"] = path,
                }));
            }
            else
            {
                await context.Env.Out.WriteLineAsync($"Logged in to {baseAddress.AbsoluteUri} (workspace '{workspace.Name}'). Saved to {path}.");
            }

            return ExitCodes.Success;
        }));
        return command;
    }

    public static Command CreateLogout(CliEnvironment env, GlobalOptions global)
    {
        var command = new Command("logout", "Forget the API key saved by 'latch login'");
        command.SetAction(LatchCli.Handler(env, global, async context =>
        {
            var removed = CliConfig.Remove(context.Env);
            await context.Env.Out.WriteLineAsync(removed is null ? "Not logged in: nothing to remove." : $"Logged out: removed {removed}.");
            return ExitCodes.Success;
        }));
        return command;
    }

    private static async Task<string> ReadKeyAsync(CommandContext context, string? given, bool fromStdin)
    {
        if (given is not null && fromStdin)
        {
            throw new CliUsageException("--api-key and --api-key-stdin are mutually exclusive");
        }

        string? key;
        if (given is not null)
        {
            key = given;
        }
        else if (!fromStdin && context.Env.PromptSecret is { } prompt)
        {
            key = prompt("API key: ");
        }
        else
        {
            key = await context.Env.In.ReadLineAsync(context.CancellationToken);
        }

        key = key?.Trim();
        return string.IsNullOrEmpty(key)
            ? throw new CliUsageException("no API key given: type it when asked, or pipe it with --api-key-stdin")
            : key;
    }

    private sealed record JsonWorkspace(string Id, string Name);
}

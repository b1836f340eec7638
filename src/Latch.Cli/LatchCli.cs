using System.CommandLine;
using System.CommandLine.Invocation;
using Latch.Cli.Api;
using Latch.Cli.Apps;
using Latch.Cli.Products;
using Latch.Cli.Run;
using Latch.Cli.Secrets;
using Latch.Cli.Serve;

namespace Latch.Cli;

/// <summary>The <c>latch</c> command line. <see cref="Program"/> runs it on the real console; tests run it in-process.</summary>
internal static class LatchCli
{
    public const string DefaultUrl = "http://127.0.0.1:5080";

    public static async Task<int> RunAsync(string[] args, CliEnvironment env, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(env);
        var root = BuildRoot(env);

        // No response files: '@name' is a legitimate secret value and must never be swapped for a file's content.
        var parse = root.Parse(args, new ParserConfiguration { ResponseFileTokenReplacer = null });
        if (parse.Action is ParseErrorAction)
        {
            foreach (var error in parse.Errors)
            {
                await env.Error.WriteLineAsync($"Error: {error.Message}");
            }

            await env.Error.WriteLineAsync("Run 'latch --help' for usage.");
            return ExitCodes.Usage;
        }

        return await parse.InvokeAsync(
            new InvocationConfiguration { Output = env.Out, Error = env.Error, EnableDefaultExceptionHandler = false },
            cancellationToken);
    }

    internal static RootCommand BuildRoot(CliEnvironment env)
    {
        var global = new GlobalOptions();
        var root = new RootCommand(
            "Latch: keep secrets encrypted, reference them as $Token{KEY}, resolve them at runtime.\n\n"
            + "Connection: --url/--api-key, else $LATCH_URL/$LATCH_API_KEY, else the login saved by 'latch login'.\n"
            + "Exit codes: 0 ok, 1 failure (the API refused, a reference does not resolve, a key failed to import), "
            + "2 usage error, 3 master key problem (serve, master-key).");
        root.Options.Add(global.Url);
        root.Options.Add(global.ApiKey);
        root.Options.Add(global.Json);
        root.Subcommands.Add(ServeCommand.Create(env));
        root.Subcommands.Add(SecretsCommand.Create(env, global));
        root.Subcommands.Add(AppsCommand.Create(env, global));
        root.Subcommands.Add(ProductsCommand.Create(env, global));
        root.Subcommands.Add(RunCommand.Create(env, global));
        root.Subcommands.Add(Audit.AuditCommand.Create(env, global));
        root.Subcommands.Add(MasterKey.MasterKeyCommand.Create(env, global));
        root.Subcommands.Add(Check.CheckCommand.Create(env, global));
        root.Subcommands.Add(Keys.KeysCommand.Create(env, global));
        root.Subcommands.Add(Keys.KeysCommand.CreateWorkspace(env, global));
        root.Subcommands.Add(Login.LoginCommand.Create(env, global));
        root.Subcommands.Add(Login.LoginCommand.CreateLogout(env, global));
        root.Subcommands.Add(Completion.CompletionCommand.Create(env));
        root.Subcommands.Add(Dev.EchoCommand.Create(env));
        return root;
    }

    /// <summary>Wraps a command body: maps failures to <c>Error: …</c> on stderr and an exit code.</summary>
    internal static Func<ParseResult, CancellationToken, Task<int>> Handler(
        CliEnvironment env, GlobalOptions global, Func<CommandContext, Task<int>> body) =>
        async (parse, cancellationToken) =>
        {
            var context = new CommandContext(parse, env, global, cancellationToken);
            try
            {
                return await body(context);
            }
            catch (CliUsageException ex)
            {
                await env.Error.WriteLineAsync($"Error: {ex.Message}");
                return ExitCodes.Usage;
            }
            catch (CliFailureException ex)
            {
                await env.Error.WriteLineAsync($"Error: {ex.Message}");
                return ExitCodes.Failure;
            }
            catch (LatchApiException ex)
            {
                // A validation problem's detail repeats its field errors; print them once, one per line.
                var message = ex.Code == "validation_failed" && ex.ErrorLines.Count > 0 ? "The request is not valid:" : ex.Message;
                await env.Error.WriteLineAsync($"Error: {message}");
                foreach (var line in ex.ErrorLines)
                {
                    await env.Error.WriteLineAsync($"  {line}");
                }

                return ExitCodes.Failure;
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                await env.Error.WriteLineAsync("Error: cancelled");
                return 130;
            }
        };
}

/// <summary>Options every API command understands (recursive from the root).</summary>
internal sealed class GlobalOptions
{
    public Option<string?> Url { get; } = new("--url")
    {
        Description = $"Latch server URL (default: $LATCH_URL or {LatchCli.DefaultUrl})",
        Recursive = true,
    };

    public Option<string?> ApiKey { get; } = new("--api-key")
    {
        Description = "API key (default: $LATCH_API_KEY; prefer the variable, arguments are visible to other users)",
        Recursive = true,
    };

    public Option<bool> Json { get; } = new("--json")
    {
        Description = "Print the API's JSON response instead of tables",
        Recursive = true,
    };
}

/// <summary>One invocation: parsed arguments, the environment, and the API connection it resolves to.</summary>
internal sealed class CommandContext(ParseResult parse, CliEnvironment env, GlobalOptions global, CancellationToken cancellationToken)
{
    public ParseResult Parse { get; } = parse;

    public CliEnvironment Env { get; } = env;

    public CancellationToken CancellationToken { get; } = cancellationToken;

    public bool Json => Parse.GetValue(global.Json);

    public LatchApiClient CreateClient()
    {
        var (url, apiKey) = ResolveConnection();
        return new LatchApiClient(BaseAddressOf(url), apiKey, Env.HttpHandler);
    }

    /// <summary>
    /// The URL and API key, each from (in order) <c>--url</c>/<c>--api-key</c>, <c>LATCH_URL</c>/<c>LATCH_API_KEY</c>, the
    /// login saved by <c>latch login</c>. The saved key is only sent to the URL it was saved for.
    /// </summary>
    public (string Url, string ApiKey) ResolveConnection()
    {
        var flagUrl = Parse.GetValue(global.Url) ?? Env.Variable("LATCH_URL");
        var flagKey = Parse.GetValue(global.ApiKey) ?? Env.Variable("LATCH_API_KEY");
        var saved = flagUrl is not null && flagKey is not null ? null : Login.CliConfig.Load(Env);
        var url = flagUrl ?? saved?.Url ?? LatchCli.DefaultUrl;
        if (flagKey is not null)
        {
            return (url, flagKey);
        }

        if (saved is not null && Login.CliConfig.SameUrl(saved.Url, url))
        {
            return (url, saved.ApiKey);
        }

        throw new CliUsageException(saved is null
            ? "no API key: set LATCH_API_KEY or pass --api-key (or run 'latch login')"
            : $"no API key for {url}: the key saved by 'latch login' is for {saved.Url}; set LATCH_API_KEY or pass --api-key");
    }

    /// <summary>The URL as a base address (ending in '/'); anything but http(s) is a usage error.</summary>
    public static Uri BaseAddressOf(string url)
    {
        if (!Uri.TryCreate(url, UriKind.Absolute, out var baseAddress)
            || (baseAddress.Scheme != Uri.UriSchemeHttp && baseAddress.Scheme != Uri.UriSchemeHttps))
        {
            throw new CliUsageException($"invalid Latch URL '{url}': expected http:// or https://");
        }

        return baseAddress.AbsolutePath.EndsWith('/') ? baseAddress : new Uri(baseAddress.AbsoluteUri + "/");
    }
}

using System.CommandLine;
using System.Runtime.InteropServices;
using Latch.Cli.Shared;
using Latch.Core.Runtime;
using Latch.Server;

namespace Latch.Cli.Serve;

/// <summary><c>latch serve</c>: runs the HTTP server. Flags win over environment variables.</summary>
internal static class ServeCommand
{
    public const string DefaultUrls = "http://127.0.0.1:5080";
    public const string DefaultData = "./latch-data";

    public static Command Create(CliEnvironment env)
    {
        var urls = new Option<string?>("--urls") { Description = $"Listen addresses (default {DefaultUrls}; port 0 picks a free one)" };
        var data = new Option<string?>("--data") { Description = $"Data directory (default: $LATCH_DATA or {DefaultData})" };
        var masterKeyFile = new Option<string?>("--master-key-file")
        {
            Description = "File holding the master key, base64 of 32 bytes (default: $LATCH_MASTER_KEY)",
        };
        var disableReveal = new Option<bool>("--no-reveal", "--disable-reveal")
        {
            Description = "Refuse ?reveal=true server-wide with 403 reveal_disabled (default: $LATCH_ALLOW_REVEAL, true)",
        };
        var expiryWarning = new Option<string?>("--expiry-warning")
        {
            Description = "Flag secrets expiring within this window as expiring_soon, e.g. 7d, 48h (default: $LATCH_EXPIRY_WARNING or 7d)",
        };

        var store = new Option<string?>("--store")
        {
            Description = "Where the store lives: sqlite (embedded, in --data; default) or postgres (shared by several instances; needs --connection) (default: $LATCH_STORE)",
        };
        var connection = new Option<string?>("--connection")
        {
            Description = "Npgsql connection string for --store postgres, e.g. \"Host=db;Database=latch;Username=latch;Password=…\" (default: $LATCH_CONNECTION)",
        };

        var egressAllow = new Option<string[]>("--egress-allow")
        {
            Description = "Let actions connect to this CIDR block, address or loopback|private|link-local|all; repeatable " +
                "(default: $LATCH_EGRESS_ALLOW, comma-separated; private and special-purpose ranges are denied unless allowed)",
            Arity = ArgumentArity.OneOrMore,
            AllowMultipleArgumentsPerToken = false,
        };
        var egressDeny = new Option<string[]>("--egress-deny")
        {
            Description = "Refuse actions to this CIDR block, address or shorthand; repeatable (default: $LATCH_EGRESS_DENY, comma-separated)",
            Arity = ArgumentArity.OneOrMore,
            AllowMultipleArgumentsPerToken = false,
        };

        var command = new Command("serve", "Run the Latch server (reads LATCH_MASTER_KEY, LATCH_BOOTSTRAP_KEY, LATCH_DATA, LATCH_STORE, LATCH_CONNECTION, LATCH_ALLOW_REVEAL, LATCH_EXPIRY_WARNING, LATCH_EGRESS_ALLOW, LATCH_EGRESS_DENY)")
        {
            urls, data, masterKeyFile, disableReveal, expiryWarning, egressAllow, egressDeny, store, connection,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            ServeOptions options;
            try
            {
                options = BuildOptions(
                    env,
                    parse.GetValue(urls),
                    parse.GetValue(data),
                    parse.GetValue(masterKeyFile),
                    parse.GetValue(disableReveal),
                    parse.GetValue(expiryWarning));
                options = WithEgress(env, options, parse.GetValue(egressAllow), parse.GetValue(egressDeny));
                options = WithStore(env, options, parse.GetValue(store), parse.GetValue(connection));
            }
            catch (CliUsageException e)
            {
                await env.Error.WriteLineAsync($"Error: {e.Message}");
                return ExitCodes.Usage;
            }

            // The web host's own console lifetime swallows SIGTERM/SIGINT without ending RunAsync, so the
            // signals are turned into cancellation here: Ctrl+C, 'docker stop' and systemd all stop the server.
            using var stopping = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
            using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
            using var sigquit = PosixSignalRegistration.Create(PosixSignal.SIGQUIT, Stop);
            return await env.RunServer(options, env.Out, stopping.Token);

            void Stop(PosixSignalContext context)
            {
                context.Cancel = true;
                stopping.Cancel();
            }
        });
        return command;
    }

    /// <summary>
    /// Flags win over environment variables. Throws <see cref="CliUsageException"/> for an invalid
    /// <c>LATCH_ALLOW_REVEAL</c> or expiry warning.
    /// </summary>
    public static ServeOptions BuildOptions(CliEnvironment env, string? urls, string? data, string? masterKeyFile, bool disableReveal, string? expiryWarning = null)
    {
        ArgumentNullException.ThrowIfNull(env);
        var warningText = expiryWarning ?? env.Variable("LATCH_EXPIRY_WARNING");
        var warning = warningText is null
            ? ServeOptions.DefaultExpiryWarning
            : DurationParser.Parse(warningText, expiryWarning is null ? "LATCH_EXPIRY_WARNING" : "--expiry-warning", allowZero: true);
        return new ServeOptions
        {
            Urls = urls ?? DefaultUrls,
            DataDirectory = data ?? env.Variable("LATCH_DATA") ?? DefaultData,
            MasterKeyFile = masterKeyFile,
            // An explicit --master-key-file wins over the variable.
            MasterKey = masterKeyFile is null ? env.Variable("LATCH_MASTER_KEY") : null,
            BootstrapKey = env.Variable("LATCH_BOOTSTRAP_KEY"),
            RevealEnabled = !disableReveal && RevealAllowedByEnvironment(env),
            ExpiryWarning = warning,
        };
    }

    /// <summary>Applies <c>--store</c>/<c>--connection</c> (flags win over <c>LATCH_STORE</c>/<c>LATCH_CONNECTION</c>).</summary>
    public static ServeOptions WithStore(CliEnvironment env, ServeOptions options, string? store, string? connection)
    {
        ArgumentNullException.ThrowIfNull(env);
        ArgumentNullException.ThrowIfNull(options);
        var kind = ParseStore(store ?? env.Variable("LATCH_STORE"));
        var connectionString = connection ?? env.Variable("LATCH_CONNECTION");
        if (kind == StoreKind.Postgres && string.IsNullOrWhiteSpace(connectionString))
        {
            throw new CliUsageException("--store postgres needs a connection string: pass --connection or set LATCH_CONNECTION");
        }

        return options with { Store = kind, Connection = kind == StoreKind.Postgres ? connectionString : null };
    }

    /// <summary>Parses a store name: <c>sqlite</c> (also the default when absent) or <c>postgres</c>/<c>postgresql</c>.</summary>
    public static StoreKind ParseStore(string? text) => text?.Trim().ToLowerInvariant() switch
    {
        null or "" or "sqlite" => StoreKind.Sqlite,
        "postgres" or "postgresql" or "pg" => StoreKind.Postgres,
        _ => throw new CliUsageException($"invalid store '{text}': expected sqlite or postgres"),
    };

    /// <summary>
    /// Applies <c>--egress-allow</c>/<c>--egress-deny</c>: a flag given at least once replaces its variable
    /// (<c>LATCH_EGRESS_ALLOW</c>/<c>LATCH_EGRESS_DENY</c>); values may be comma-separated in both. Throws
    /// <see cref="CliUsageException"/> naming the first invalid rule.
    /// </summary>
    public static ServeOptions WithEgress(CliEnvironment env, ServeOptions options, IReadOnlyList<string>? allow, IReadOnlyList<string>? deny)
    {
        ArgumentNullException.ThrowIfNull(env);
        ArgumentNullException.ThrowIfNull(options);
        return options with
        {
            EgressAllow = EgressRules(env, allow, "--egress-allow", "LATCH_EGRESS_ALLOW"),
            EgressDeny = EgressRules(env, deny, "--egress-deny", "LATCH_EGRESS_DENY"),
        };
    }

    private static string[] EgressRules(CliEnvironment env, IReadOnlyList<string>? flag, string flagName, string variable)
    {
        var fromFlag = flag is { Count: > 0 };
        IReadOnlyList<string> source = fromFlag ? flag! : [env.Variable(variable) ?? ""];
        var rules = source.SelectMany(v => v.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)).ToArray();
        foreach (var rule in rules)
        {
            if (!EgressPolicy.TryValidate(rule, out var error))
            {
                throw new CliUsageException($"invalid {(fromFlag ? flagName : variable)} value: {error}");
            }
        }

        return rules;
    }

    private static bool RevealAllowedByEnvironment(CliEnvironment env)
    {
        var text = env.Variable("LATCH_ALLOW_REVEAL")?.Trim();
        if (text is null)
        {
            return true;
        }

        if (new[] { "true", "1", "yes", "on" }.Contains(text, StringComparer.OrdinalIgnoreCase))
        {
            return true;
        }

        if (new[] { "false", "0", "no", "off" }.Contains(text, StringComparer.OrdinalIgnoreCase))
        {
            return false;
        }

        throw new CliUsageException($"invalid LATCH_ALLOW_REVEAL value '{text}': expected true or false");
    }
}

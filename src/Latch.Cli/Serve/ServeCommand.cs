using System.CommandLine;
using System.Runtime.InteropServices;
using Latch.Cli.Shared;
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

        var command = new Command("serve", "Run the Latch server (reads LATCH_MASTER_KEY, LATCH_BOOTSTRAP_KEY, LATCH_DATA, LATCH_ALLOW_REVEAL, LATCH_EXPIRY_WARNING)")
        {
            urls, data, masterKeyFile, disableReveal, expiryWarning,
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

using System.CommandLine;
using System.Runtime.InteropServices;
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
        var disableReveal = new Option<bool>("--disable-reveal") { Description = "Refuse ?reveal=true server-wide" };

        var command = new Command("serve", "Run the Latch server (reads LATCH_MASTER_KEY, LATCH_BOOTSTRAP_KEY, LATCH_DATA)")
        {
            urls, data, masterKeyFile, disableReveal,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var options = BuildOptions(
                env,
                parse.GetValue(urls),
                parse.GetValue(data),
                parse.GetValue(masterKeyFile),
                parse.GetValue(disableReveal));

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

    public static ServeOptions BuildOptions(CliEnvironment env, string? urls, string? data, string? masterKeyFile, bool disableReveal)
    {
        ArgumentNullException.ThrowIfNull(env);
        return new ServeOptions
        {
            Urls = urls ?? DefaultUrls,
            DataDirectory = data ?? env.Variable("LATCH_DATA") ?? DefaultData,
            MasterKeyFile = masterKeyFile,
            // An explicit --master-key-file wins over the variable.
            MasterKey = masterKeyFile is null ? env.Variable("LATCH_MASTER_KEY") : null,
            BootstrapKey = env.Variable("LATCH_BOOTSTRAP_KEY"),
            RevealEnabled = !disableReveal,
        };
    }
}

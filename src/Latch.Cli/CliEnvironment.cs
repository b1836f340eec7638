using Latch.Server;
using Spectre.Console;

namespace Latch.Cli;

/// <summary>
/// Everything the CLI touches outside itself, so tests can run it in-process: the console streams,
/// environment variables, the clock, the HTTP transport and the server entry point.
/// </summary>
internal sealed class CliEnvironment
{
    /// <summary>Width used for tables when output is not a terminal (files, pipes, tests).</summary>
    public const int RedirectedWidth = 200;

    public required TextWriter Out { get; init; }

    public required TextWriter Error { get; init; }

    public TextReader In { get; init; } = TextReader.Null;

    /// <summary>Environment-variable lookup; empty values count as unset.</summary>
    public Func<string, string?> GetVariable { get; init; } = static _ => null;

    /// <summary>Transport for API calls; null uses a normal <see cref="HttpClient"/>.</summary>
    public HttpMessageHandler? HttpHandler { get; init; }

    public TimeProvider Time { get; init; } = TimeProvider.System;

    /// <summary>Whether standard output is an interactive terminal (colours, real width).</summary>
    public bool IsTerminal { get; init; }

    /// <summary>What <c>latch serve</c> runs; tests replace it to inspect the options.</summary>
    public Func<ServeOptions, TextWriter, CancellationToken, Task<int>> RunServer { get; init; } = LatchServer.RunAsync;

    /// <summary>
    /// Where <c>latch login</c> keeps <c>config.json</c>. Null: <c>$XDG_CONFIG_HOME/latch</c>, else <c>$HOME/.config/latch</c>
    /// (looked up with <see cref="GetVariable"/>), else none. Tests point it at a temporary directory.
    /// </summary>
    public string? ConfigDirectory { get; init; }

    /// <summary>
    /// Reads a secret typed at an interactive terminal without echoing it (null: not interactive, or nothing typed).
    /// Null property: no interactive input, so <c>latch login</c> reads the key from <see cref="In"/>.
    /// </summary>
    public Func<string, string?>? PromptSecret { get; init; }

    public static CliEnvironment FromConsole() => new()
    {
        Out = Console.Out,
        Error = Console.Error,
        In = Console.In,
        GetVariable = Environment.GetEnvironmentVariable,
        IsTerminal = !Console.IsOutputRedirected,
        ConfigDirectory = DefaultConfigDirectory(Environment.GetEnvironmentVariable)
            ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".config", "latch"),
        PromptSecret = Console.IsInputRedirected ? null : ReadHiddenLine,
    };

    /// <summary><c>$XDG_CONFIG_HOME/latch</c> (when absolute), else <c>$HOME/.config/latch</c>, else null.</summary>
    public static string? DefaultConfigDirectory(Func<string, string?> variable)
    {
        ArgumentNullException.ThrowIfNull(variable);
        if (variable("XDG_CONFIG_HOME") is { Length: > 0 } xdg && Path.IsPathFullyQualified(xdg))
        {
            return Path.Combine(xdg, "latch");
        }

        return variable("HOME") is { Length: > 0 } home ? Path.Combine(home, ".config", "latch") : null;
    }

    public string? ResolveConfigDirectory() => ConfigDirectory ?? DefaultConfigDirectory(Variable);

    public string? Variable(string name)
    {
        var value = GetVariable(name);
        return string.IsNullOrEmpty(value) ? null : value;
    }

    private static string? ReadHiddenLine(string prompt)
    {
        Console.Error.Write(prompt);
        var typed = new System.Text.StringBuilder();
        while (true)
        {
            var key = Console.ReadKey(intercept: true);
            if (key.Key == ConsoleKey.Enter)
            {
                Console.Error.WriteLine();
                return typed.ToString();
            }

            if (key.Key == ConsoleKey.Backspace)
            {
                if (typed.Length > 0)
                {
                    typed.Length--;
                }
            }
            else if (!char.IsControl(key.KeyChar))
            {
                typed.Append(key.KeyChar);
            }
        }
    }

    /// <summary>A Spectre console writing to <see cref="Out"/>; plain text and a fixed width unless it is a terminal.</summary>
    public IAnsiConsole CreateConsole()
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(Out),
            Ansi = IsTerminal ? AnsiSupport.Detect : AnsiSupport.No,
            ColorSystem = IsTerminal ? ColorSystemSupport.Detect : ColorSystemSupport.NoColors,
            Interactive = InteractionSupport.No,
            // CI enrichers would otherwise change the profile depending on where the tests run.
            Enrichment = new ProfileEnrichment { UseDefaultEnrichers = IsTerminal },
        });
        if (!IsTerminal)
        {
            console.Profile.Width = RedirectedWidth;
        }

        return console;
    }
}

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

    public static CliEnvironment FromConsole() => new()
    {
        Out = Console.Out,
        Error = Console.Error,
        In = Console.In,
        GetVariable = Environment.GetEnvironmentVariable,
        IsTerminal = !Console.IsOutputRedirected,
    };

    public string? Variable(string name)
    {
        var value = GetVariable(name);
        return string.IsNullOrEmpty(value) ? null : value;
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

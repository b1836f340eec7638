namespace Latch.Cli.Tests;

/// <summary>
/// Runs the CLI in-process like <see cref="CliHarness"/>, with the knobs the newer commands need: a config directory,
/// a terminal flag and a secret prompt.
/// </summary>
internal static class TestCli
{
    public static async Task<CliResult> RunAsync(
        IReadOnlyDictionary<string, string> variables,
        string[] args,
        string? configDirectory = null,
        string stdin = "",
        bool isTerminal = false,
        Func<string, string?>? promptSecret = null,
        HttpMessageHandler? handler = null)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var env = new CliEnvironment
        {
            Out = stdout,
            Error = stderr,
            In = new StringReader(stdin),
            GetVariable = name => variables.TryGetValue(name, out var value) ? value : null,
            HttpHandler = handler,
            IsTerminal = isTerminal,
            ConfigDirectory = configDirectory,
            PromptSecret = promptSecret,
        };
        var exitCode = await LatchCli.RunAsync(args, env);
        return new CliResult(exitCode, stdout.ToString(), stderr.ToString());
    }
}

/// <summary>A temporary directory removed on dispose.</summary>
internal sealed class TempDirectory : IDisposable
{
    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "latch-cli-" + Guid.NewGuid().ToString("N"));

    public TempDirectory() => Directory.CreateDirectory(Path);

    public string File(string name, string content)
    {
        var path = System.IO.Path.Combine(Path, name);
        System.IO.File.WriteAllText(path, content);
        return path;
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
            // Best effort.
        }
    }
}

namespace Latch.Cli.Tests;

/// <summary><c>latch completion</c> scripts and the <c>[suggest]</c> directive they call.</summary>
public sealed class CompletionTests
{
    private static readonly Dictionary<string, string> NoVariables = [];

    [Theory]
    [InlineData("sec", "secrets")]
    [InlineData("secrets imp", "import")]
    [InlineData("ke", "keys")]
    [InlineData("keys ", "revoke")]
    public async Task The_suggest_directive_completes_commands(string line, string expected)
    {
        var result = await CliHarness.RunAsync(NoVariables, [$"[suggest:{line.Length}]", line]);

        Assert.True(result.ExitCode == 0, result.Error);
        var suggestions = result.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.Contains(expected, suggestions);
    }

    [Fact]
    public async Task The_suggest_directive_only_offers_matching_commands()
    {
        var result = await CliHarness.RunAsync(NoVariables, ["[suggest:3]", "sec"]);

        var suggestions = result.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.Equal(["secrets"], suggestions);
    }

    [Fact]
    public async Task The_suggest_directive_completes_option_values()
    {
        var result = await CliHarness.RunAsync(NoVariables, ["[suggest:21]", "keys create --role ad"]);

        Assert.Contains("admin", result.Out.Split('\n', StringSplitOptions.TrimEntries));
    }

    [Theory]
    [InlineData("bash", "complete -o default -F _latch_complete latch")]
    [InlineData("zsh", "compdef _latch latch")]
    [InlineData("pwsh", "Register-ArgumentCompleter -Native -CommandName latch")]
    public async Task Completion_prints_a_script_that_calls_the_suggest_directive(string shell, string wiring)
    {
        var result = await CliHarness.RunAsync(NoVariables, ["completion", shell]);

        Assert.Equal(0, result.ExitCode);
        Assert.Contains(wiring, result.Out, StringComparison.Ordinal);
        Assert.Contains("[suggest:", result.Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Completion_for_an_unknown_shell_is_a_usage_error()
    {
        var result = await CliHarness.RunAsync(NoVariables, ["completion", "fish"]);

        Assert.Equal(2, result.ExitCode);
    }

    [Fact]
    public async Task Help_documents_the_exit_codes()
    {
        var result = await CliHarness.RunAsync(NoVariables, ["--help"]);

        Assert.Equal(0, result.ExitCode);
        Assert.Contains("Exit codes: 0 ok, 1 failure", result.Out, StringComparison.Ordinal);
        Assert.Contains("2 usage error, 3 master key", result.Out, StringComparison.Ordinal);
    }
}

using Latch.Server;

namespace Latch.Cli.Tests;

/// <summary><c>latch serve --egress-allow/--egress-deny</c> and <c>LATCH_EGRESS_ALLOW/DENY</c>.</summary>
public sealed class EgressCliTests
{
    [Fact]
    public async Task Flags_are_repeatable_and_comma_separated_values_are_split()
    {
        var (exit, options, _) = await ServeAsync([], "--egress-allow", "127.0.0.1/32", "--egress-allow", "10.0.0.0/8, loopback", "--egress-deny", "10.0.0.5");
        Assert.Equal(CliHarness.ServedExitCode, exit);
        Assert.Equal(["127.0.0.1/32", "10.0.0.0/8", "loopback"], options!.EgressAllow);
        Assert.Equal(["10.0.0.5"], options.EgressDeny);
    }

    [Fact]
    public async Task Variables_are_read_and_a_flag_replaces_its_variable()
    {
        var variables = new Dictionary<string, string> { ["LATCH_EGRESS_ALLOW"] = "127.0.0.0/8,::1", ["LATCH_EGRESS_DENY"] = "8.8.8.8" };
        var (_, fromEnv, _) = await ServeAsync(variables);
        Assert.Equal(["127.0.0.0/8", "::1"], fromEnv!.EgressAllow);
        Assert.Equal(["8.8.8.8"], fromEnv.EgressDeny);

        var (_, withFlag, _) = await ServeAsync(variables, "--egress-allow", "192.168.0.0/16");
        Assert.Equal(["192.168.0.0/16"], withFlag!.EgressAllow);
        Assert.Equal(["8.8.8.8"], withFlag.EgressDeny);
    }

    [Fact]
    public async Task Nothing_given_means_the_default_policy()
    {
        var (_, options, _) = await ServeAsync([]);
        Assert.Empty(options!.EgressAllow);
        Assert.Empty(options.EgressDeny);
    }

    [Theory]
    [InlineData("--egress-allow", "10.0.0.0/33", "invalid --egress-allow value: '10.0.0.0/33'")]
    [InlineData("--egress-deny", "example.com", "invalid --egress-deny value: 'example.com'")]
    public async Task An_invalid_flag_value_is_a_usage_error(string flag, string value, string message)
    {
        var (exit, options, error) = await ServeAsync([], flag, value);
        Assert.Equal(2, exit);
        Assert.Null(options);
        Assert.Contains(message, error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_invalid_variable_is_a_usage_error_naming_the_variable()
    {
        var (exit, _, error) = await ServeAsync(new Dictionary<string, string> { ["LATCH_EGRESS_ALLOW"] = "127.0.0.1/32,nope" });
        Assert.Equal(2, exit);
        Assert.Contains("invalid LATCH_EGRESS_ALLOW value: 'nope'", error, StringComparison.Ordinal);
    }

    private static Task<(int ExitCode, ServeOptions? Options, string Error)> ServeAsync(Dictionary<string, string> variables, params string[] args) =>
        CliHarness.ServeAsync(variables, args);
}

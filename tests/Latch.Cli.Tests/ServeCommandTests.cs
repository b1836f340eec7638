using Latch.Server;

namespace Latch.Cli.Tests;

public sealed class ServeCommandTests
{
    private static Task<(int ExitCode, ServeOptions? Options, string Error)> ServeAsync(Dictionary<string, string> variables, params string[] args) =>
        CliHarness.ServeAsync(variables, args);

    [Fact]
    public async Task Serve_defaults_to_loopback_port_5080_and_a_local_data_directory()
    {
        var (_, options, _) = await ServeAsync([]);

        Assert.NotNull(options);
        Assert.Equal("http://127.0.0.1:5080", options.Urls);
        Assert.Equal("./latch-data", options.DataDirectory);
        Assert.Null(options.MasterKey);
        Assert.Null(options.MasterKeyFile);
        Assert.Null(options.BootstrapKey);
        Assert.True(options.RevealEnabled);
    }

    [Fact]
    public async Task Serve_reads_keys_and_data_directory_from_the_environment()
    {
        var (_, options, _) = await ServeAsync(new()
        {
            ["LATCH_MASTER_KEY"] = "bWFzdGVy",
            ["LATCH_BOOTSTRAP_KEY"] = "bootstrap-key-0123456789-0123456789",
            ["LATCH_DATA"] = "/var/lib/latch",
        });

        Assert.Equal("bWFzdGVy", options!.MasterKey);
        Assert.Equal("bootstrap-key-0123456789-0123456789", options.BootstrapKey);
        Assert.Equal("/var/lib/latch", options.DataDirectory);
    }

    [Fact]
    public async Task Serve_flags_win_over_the_environment()
    {
        var (_, options, _) = await ServeAsync(
            new() { ["LATCH_MASTER_KEY"] = "bWFzdGVy", ["LATCH_DATA"] = "/var/lib/latch" },
            "--urls", "http://127.0.0.1:0", "--data", "/tmp/d", "--master-key-file", "/etc/latch/master.key", "--disable-reveal");

        Assert.Equal("http://127.0.0.1:0", options!.Urls);
        Assert.Equal("/tmp/d", options.DataDirectory);
        Assert.Equal("/etc/latch/master.key", options.MasterKeyFile);
        Assert.Null(options.MasterKey);
        Assert.False(options.RevealEnabled);
    }

    [Fact]
    public async Task Serve_returns_the_servers_exit_code() =>
        Assert.Equal(CliHarness.ServedExitCode, (await ServeAsync([])).ExitCode);
}

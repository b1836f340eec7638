using System.Text.Json;

namespace Latch.Cli.Tests;

/// <summary><c>latch login</c>/<c>logout</c> and where API commands take the URL and key from.</summary>
public sealed class LoginCommandTests(LatchServerFixture server) : IClassFixture<LatchServerFixture>
{
    private static readonly Dictionary<string, string> NoVariables = [];

    private string Url => server.BaseAddress.ToString();

    [Fact]
    public async Task Login_verifies_the_key_and_saves_it_privately()
    {
        using var config = new TempDirectory();
        var directory = Path.Combine(config.Path, "latch");

        var login = await TestCli.RunAsync(NoVariables, ["login", "--url", Url, "--api-key-stdin"], directory, stdin: server.ApiKey + "\n");

        Assert.True(login.ExitCode == 0, login.Error);
        Assert.Contains($"Logged in to {Url}", login.Out, StringComparison.Ordinal);
        Assert.DoesNotContain(server.ApiKey, login.Out + login.Error, StringComparison.Ordinal);
        var file = Path.Combine(directory, "config.json");
        using (var saved = JsonDocument.Parse(await File.ReadAllTextAsync(file)))
        {
            Assert.Equal(Url, saved.RootElement.GetProperty("url").GetString());
            Assert.Equal(server.ApiKey, saved.RootElement.GetProperty("api_key").GetString());
        }

        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file));
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(directory));
        }

        Assert.Equal(["config.json"], Directory.GetFiles(directory).Select(Path.GetFileName));

        // No flags, no variables: the saved login is used.
        var workspace = await TestCli.RunAsync(NoVariables, ["workspace", "--json"], directory);
        Assert.True(workspace.ExitCode == 0, workspace.Error);
        using (var json = JsonDocument.Parse(workspace.Out))
        {
            Assert.False(string.IsNullOrEmpty(json.RootElement.GetProperty("name").GetString()));
        }

        var logout = await TestCli.RunAsync(NoVariables, ["logout"], directory);
        Assert.Equal(0, logout.ExitCode);
        Assert.Contains("Logged out", logout.Out, StringComparison.Ordinal);
        Assert.False(File.Exists(file));

        var after = await TestCli.RunAsync(NoVariables, ["workspace"], directory);
        Assert.Equal(2, after.ExitCode);
        Assert.Contains("Error: no API key", after.Error, StringComparison.Ordinal);

        var again = await TestCli.RunAsync(NoVariables, ["logout"], directory);
        Assert.Equal(0, again.ExitCode);
        Assert.Contains("Not logged in", again.Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_wrong_key_is_refused_and_nothing_is_saved()
    {
        using var config = new TempDirectory();

        var login = await TestCli.RunAsync(NoVariables, ["login", "--url", Url, "--api-key-stdin"], config.Path, stdin: "not-a-real-key\n");

        Assert.Equal(1, login.ExitCode);
        Assert.StartsWith("Error: ", login.Error, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(config.Path, "config.json")));
    }

    [Fact]
    public async Task On_a_terminal_login_prompts_for_the_key()
    {
        using var config = new TempDirectory();
        string? asked = null;

        var login = await TestCli.RunAsync(
            new Dictionary<string, string> { ["LATCH_URL"] = Url }, ["login"], config.Path, isTerminal: true,
            promptSecret: prompt => { asked = prompt; return server.ApiKey; });

        Assert.True(login.ExitCode == 0, login.Error);
        Assert.Equal("API key: ", asked);
        Assert.True(File.Exists(Path.Combine(config.Path, "config.json")));
    }

    [Fact]
    public async Task Login_without_a_key_is_a_usage_error()
    {
        using var config = new TempDirectory();

        var login = await TestCli.RunAsync(NoVariables, ["login", "--url", Url], config.Path, stdin: "");

        Assert.Equal(2, login.ExitCode);
        Assert.Contains("no API key given", login.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Flags_then_variables_then_the_saved_login()
    {
        using var config = new TempDirectory();
        await WriteConfigAsync(config.Path, "http://saved.example:1/", "saved-key");
        var handler = new StubHandler(_ => StubHandler.JsonResponse(System.Net.HttpStatusCode.OK, """{"id":"w","name":"n"}"""));

        await TestCli.RunAsync(NoVariables, ["workspace"], config.Path, handler: handler);
        await TestCli.RunAsync(
            new Dictionary<string, string> { ["LATCH_URL"] = "http://env.example:2/", ["LATCH_API_KEY"] = "env-key" },
            ["workspace"], config.Path, handler: handler);
        await TestCli.RunAsync(
            new Dictionary<string, string> { ["LATCH_URL"] = "http://env.example:2/", ["LATCH_API_KEY"] = "env-key" },
            ["workspace", "--url", "http://flag.example:3/", "--api-key", "flag-key"], config.Path, handler: handler);
        await TestCli.RunAsync(new Dictionary<string, string> { ["LATCH_API_KEY"] = "env-key" }, ["workspace"], config.Path, handler: handler);

        Assert.Equal(
            [
                ("http://saved.example:1/v1/workspace", "Bearer saved-key"),
                ("http://env.example:2/v1/workspace", "Bearer env-key"),
                ("http://flag.example:3/v1/workspace", "Bearer flag-key"),
                ("http://saved.example:1/v1/workspace", "Bearer env-key"),
            ],
            handler.Requests.Select(r => (r.Uri.ToString(), r.Authorization)));
    }

    [Fact]
    public async Task The_saved_key_is_never_sent_to_another_url()
    {
        using var config = new TempDirectory();
        await WriteConfigAsync(config.Path, "http://saved.example:1/", "saved-key");
        var handler = new StubHandler(_ => throw new InvalidOperationException("must not be called"));

        var result = await TestCli.RunAsync(
            new Dictionary<string, string> { ["LATCH_URL"] = "http://other.example/" }, ["workspace"], config.Path, handler: handler);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("the key saved by 'latch login' is for http://saved.example:1/", result.Error, StringComparison.Ordinal);
        Assert.Empty(handler.Requests);
    }

    [Fact]
    public async Task A_broken_config_file_is_a_clear_failure()
    {
        using var config = new TempDirectory();
        config.File("config.json", "{not json");

        var result = await TestCli.RunAsync(NoVariables, ["workspace"], config.Path);

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("config.json is not valid JSON", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void The_config_directory_follows_xdg_then_home()
    {
        Assert.Equal(Path.Combine("/x/cfg", "latch"), CliEnvironment.DefaultConfigDirectory(n => n == "XDG_CONFIG_HOME" ? "/x/cfg" : "/home/u"));
        Assert.Equal(Path.Combine("/home/u", ".config", "latch"), CliEnvironment.DefaultConfigDirectory(n => n == "HOME" ? "/home/u" : null));
        Assert.Equal(Path.Combine("/home/u", ".config", "latch"), CliEnvironment.DefaultConfigDirectory(n => n == "HOME" ? "/home/u" : "relative"));
        Assert.Null(CliEnvironment.DefaultConfigDirectory(_ => null));
    }

    private static async Task WriteConfigAsync(string directory, string url, string key) =>
        await File.WriteAllTextAsync(Path.Combine(directory, "config.json"), $$"""{"url":"{{url}}","api_key":"{{key}}"}""");
}

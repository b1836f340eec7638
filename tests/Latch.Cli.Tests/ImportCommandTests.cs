using System.Text.Json;

namespace Latch.Cli.Tests;

/// <summary><c>latch secrets import</c> against a real server.</summary>
public sealed class ImportCommandTests(LatchServerFixture server) : IClassFixture<LatchServerFixture>
{
    private Task<CliResult> Latch(params string[] args) => TestCli.RunAsync(server.Variables, args);

    private async Task<string> RevealAsync(string key)
    {
        var get = await Latch("secrets", "get", key, "--reveal", "--json");
        Assert.True(get.ExitCode == 0, get.Error);
        using var json = JsonDocument.Parse(get.Out);
        return json.RootElement.GetProperty("value").GetString()!;
    }

    private static string Row(string output, string key) =>
        Assert.Single(output.Split('\n'), l => l.Contains($" {key} ", StringComparison.Ordinal));

    [Fact]
    public async Task A_dotenv_file_is_imported_with_scope_and_envs()
    {
        using var dir = new TempDirectory();
        var file = dir.File("app.env", """
            # Stripe
            export IMP_A_STRIPE=sk_test_aaa111 # the test key
            IMP_A_PEM="-----BEGIN-----
            line2
            -----END-----"
            IMP_A_LITERAL='$NOT_EXPANDED \n'
            """);

        var result = await Latch("secrets", "import", file, "--scope", "billing", "--envs", "prd,dev");

        Assert.True(result.ExitCode == 0, result.Error);
        Assert.Matches(@"│\s*IMP_A_STRIPE\s*│\s*2\s*│\s*created\s*│", result.Out);
        Assert.Matches(@"│\s*IMP_A_PEM\s*│\s*3\s*│\s*created\s*│", result.Out);
        Assert.Matches(@"│\s*IMP_A_LITERAL\s*│\s*6\s*│\s*created\s*│", result.Out);
        Assert.Contains("3 created.", result.Out, StringComparison.Ordinal);
        Assert.DoesNotContain("sk_test_aaa111", result.Out + result.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("BEGIN", result.Out + result.Error, StringComparison.Ordinal);

        Assert.Equal("sk_test_aaa111", await RevealAsync("IMP_A_STRIPE"));
        Assert.Equal("-----BEGIN-----\nline2\n-----END-----", await RevealAsync("IMP_A_PEM"));
        Assert.Equal("$NOT_EXPANDED \\n", await RevealAsync("IMP_A_LITERAL"));
        var get = await Latch("secrets", "get", "IMP_A_STRIPE", "--json");
        using var secret = JsonDocument.Parse(get.Out);
        Assert.Equal(["billing"], secret.RootElement.GetProperty("scope").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(["prd", "dev"], secret.RootElement.GetProperty("envs").EnumerateArray().Select(e => e.GetString()));
    }

    [Fact]
    public async Task Existing_keys_fail_by_default_are_skipped_or_rotated()
    {
        Assert.Equal(0, (await Latch("secrets", "create", "IMP_B_OLD", "--value", "old-value-1")).ExitCode);
        using var dir = new TempDirectory();
        var file = dir.File("b.env", "IMP_B_OLD=new-value-2\nIMP_B_NEW=fresh-value-3\n");

        var failing = await Latch("secrets", "import", file);
        Assert.Equal(1, failing.ExitCode);
        Assert.Matches(@"│\s*IMP_B_OLD\s*│\s*1\s*│\s*failed\s*│\s*already exists \(pass --skip-existing or --overwrite\)", failing.Out);
        Assert.Matches(@"│\s*IMP_B_NEW\s*│\s*2\s*│\s*created\s*│", failing.Out);
        Assert.Contains("Error: 1 of 2 key(s) failed", failing.Error, StringComparison.Ordinal);
        Assert.Equal("old-value-1", await RevealAsync("IMP_B_OLD"));

        var skipping = await Latch("secrets", "import", file, "--skip-existing");
        Assert.True(skipping.ExitCode == 0, skipping.Error);
        Assert.Matches(@"│\s*IMP_B_OLD\s*│\s*1\s*│\s*skipped\s*│", skipping.Out);
        Assert.Matches(@"│\s*IMP_B_NEW\s*│\s*2\s*│\s*skipped\s*│", skipping.Out);
        Assert.Equal("old-value-1", await RevealAsync("IMP_B_OLD"));

        var overwriting = await Latch("secrets", "import", file, "--overwrite", "--envs", "stg");
        Assert.True(overwriting.ExitCode == 0, overwriting.Error);
        Assert.Matches(@"│\s*IMP_B_OLD\s*│\s*1\s*│\s*rotated\s*│\s*now version 2", overwriting.Out);
        Assert.Equal("new-value-2", await RevealAsync("IMP_B_OLD"));
        using var secret = JsonDocument.Parse((await Latch("secrets", "get", "IMP_B_OLD", "--json")).Out);
        Assert.Equal(["stg"], secret.RootElement.GetProperty("envs").EnumerateArray().Select(e => e.GetString()));
        Assert.DoesNotContain("new-value-2", overwriting.Out + overwriting.Error, StringComparison.Ordinal);

        var both = await Latch("secrets", "import", file, "--overwrite", "--skip-existing");
        Assert.Equal(2, both.ExitCode);
    }

    [Fact]
    public async Task Bad_keys_and_empty_values_fail_alone_and_the_rest_is_imported()
    {
        using var dir = new TempDirectory();
        var file = dir.File("c.env", "IMP_C_OK=ok-value-9\nIMP-C-BAD=bad-value-8\nIMP_C_EMPTY=\nIMP_C_OK=ok-value-10\n");

        var result = await Latch("secrets", "import", file);

        Assert.Equal(1, result.ExitCode);
        Assert.Matches(@"│\s*IMP_C_OK\s*│\s*4\s*│\s*created\s*│", result.Out);
        Assert.Matches(@"│\s*IMP-C-BAD\s*│\s*2\s*│\s*failed\s*│\s*line 2: invalid key", result.Out);
        Assert.Matches(@"│\s*IMP_C_EMPTY\s*│\s*3\s*│\s*failed\s*│\s*line 3: empty value", result.Out);
        Assert.Contains("Warning: line 4: IMP_C_OK is defined again (first at line 1)", result.Error, StringComparison.Ordinal);
        Assert.Contains("Error: 2 of 3 key(s) failed", result.Error, StringComparison.Ordinal);
        Assert.Equal("ok-value-10", await RevealAsync("IMP_C_OK"));
        Assert.DoesNotContain("value-", result.Out + result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_syntax_error_imports_nothing()
    {
        var result = await TestCli.RunAsync(server.Variables, ["secrets", "import", "-"], stdin: "IMP_D_A=1\nIMP_D_B=\"never closed sk_live_x\n");

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("Error: standard input is not a valid dotenv file; nothing was imported:", result.Error, StringComparison.Ordinal);
        Assert.Contains("  line 2: the double quote opened here is never closed", result.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("sk_live_x", result.Error, StringComparison.Ordinal);
        Assert.Equal(1, (await Latch("secrets", "get", "IMP_D_A")).ExitCode);
    }

    [Fact]
    public async Task Dry_run_changes_nothing()
    {
        Assert.Equal(0, (await Latch("secrets", "create", "IMP_E_OLD", "--value", "old-e")).ExitCode);

        var result = await TestCli.RunAsync(server.Variables, ["secrets", "import", "-", "--dry-run", "--overwrite"], stdin: "IMP_E_OLD=x1\nIMP_E_NEW=x2\n");

        Assert.True(result.ExitCode == 0, result.Error);
        Assert.Matches(@"│\s*IMP_E_OLD\s*│\s*1\s*│\s*would be rotated\s*│", result.Out);
        Assert.Matches(@"│\s*IMP_E_NEW\s*│\s*2\s*│\s*would be created\s*│", result.Out);
        Assert.Contains("Dry run, nothing changed", result.Out, StringComparison.Ordinal);
        Assert.Equal("old-e", await RevealAsync("IMP_E_OLD"));
        Assert.Equal(1, (await Latch("secrets", "get", "IMP_E_NEW")).ExitCode);
    }

    [Fact]
    public async Task Not_on_a_terminal_progress_is_plain_lines_on_stderr()
    {
        var result = await TestCli.RunAsync(server.Variables, ["secrets", "import", "-"], stdin: "IMP_F_A=a1\nIMP_F_B=b2\n");

        Assert.True(result.ExitCode == 0, result.Error);
        Assert.Contains("[1/2] IMP_F_A: created", result.Error, StringComparison.Ordinal);
        Assert.Contains("[2/2] IMP_F_B: created", result.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("\u001b[", result.Out + result.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("Importing", result.Out + result.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("━", result.Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Json_reports_each_key_without_values()
    {
        var result = await TestCli.RunAsync(server.Variables, ["secrets", "import", "-", "--json"], stdin: "IMP_G_A=g-value-1\nIMP_G_B=\n");

        Assert.Equal(1, result.ExitCode);
        Assert.DoesNotContain("g-value-1", result.Out, StringComparison.Ordinal);
        Assert.DoesNotContain("[1/", result.Error, StringComparison.Ordinal);
        using var json = JsonDocument.Parse(result.Out);
        Assert.Equal(1, json.RootElement.GetProperty("created").GetInt32());
        Assert.Equal(1, json.RootElement.GetProperty("failed").GetInt32());
        var items = json.RootElement.GetProperty("items").EnumerateArray().ToList();
        Assert.Equal("created", items[0].GetProperty("result").GetString());
        Assert.Equal("IMP_G_B", items[1].GetProperty("key").GetString());
        Assert.Equal(2, items[1].GetProperty("line").GetInt32());
        Assert.Equal("failed", items[1].GetProperty("result").GetString());
    }

    [Fact]
    public async Task On_a_terminal_a_progress_bar_runs_and_the_summary_follows()
    {
        var result = await TestCli.RunAsync(server.Variables, ["secrets", "import", "-"], stdin: "IMP_H_A=h1\n", isTerminal: true);

        Assert.True(result.ExitCode == 0, result.Error);
        Assert.DoesNotContain("[1/1]", result.Error, StringComparison.Ordinal);
        Assert.Contains("IMP_H_A", result.Out, StringComparison.Ordinal);
        Assert.Contains("1 created.", result.Out, StringComparison.Ordinal);
        Assert.DoesNotContain("h1\n", result.Out, StringComparison.Ordinal);
    }
}

using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Latch.Cli.Tests;

/// <summary>
/// A real upstream on loopback for <c>latch run</c>: <c>/api/status/{code}</c> answers that status; every other request is
/// echoed back as JSON <c>{method, path, query, headers, body}</c>, so a test sees exactly what Latch sent.
/// </summary>
public sealed class EchoUpstreamFixture : IAsyncLifetime
{
    private WebApplication? _app;

    public Uri BaseAddress { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        _app = builder.Build();
        _app.MapGet("/api/status/{code:int}", (int code) => Results.Text($"upstream says {code}", "text/plain", Encoding.UTF8, code));
        _app.MapFallback(async context =>
        {
            using var reader = new StreamReader(context.Request.Body, Encoding.UTF8);
            var body = await reader.ReadToEndAsync(context.RequestAborted);
            var headers = new JsonObject();
            foreach (var (name, values) in context.Request.Headers)
            {
                headers[name.ToLowerInvariant()] = values.ToString();
            }

            var echo = new JsonObject
            {
                ["method"] = context.Request.Method,
                ["path"] = context.Request.Path.Value,
                ["query"] = context.Request.QueryString.Value,
                ["headers"] = headers,
                ["body"] = body,
            };
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync(echo.ToJsonString(), context.RequestAborted);
        });
        await _app.StartAsync();
        var address = _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        BaseAddress = new Uri(address.TrimEnd('/'));
    }

    public async Task DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.DisposeAsync();
        }
    }
}

/// <summary><c>latch apps</c>, <c>latch products</c> and <c>latch run</c> against a real server and a real upstream.</summary>
public sealed class RuntimeEndToEndTests(LatchServerFixture server, EchoUpstreamFixture upstream)
    : IClassFixture<LatchServerFixture>, IClassFixture<EchoUpstreamFixture>
{
    private const string StripeKey = "sk_e2e_9f8e7d6c5b4a";

    private Task<CliResult> Latch(params string[] args) => CliHarness.RunAsync(server.Variables, args);

    private Task<CliResult> LatchWithStdin(string stdin, params string[] args) => CliHarness.RunAsync(server.Variables, args, stdin: stdin);

    private string App(string tag) => $$$"""
        {"access_tag":"{{{tag}}}","name":"Echo API",
         "envs":[{"slug":"live","base_url":"{{{upstream.BaseAddress}}}api"}],
         "auths":[{"tag":"api_key_auth","headers":{"Authorization":"Bearer $Auth{api_key}"}}],
         "actions":[{"event":"create_charge","method":"POST","path":"/charges/{customer}","headers":{"X-Account":"$Variable{account}"},"query":{"expand":"balance"},"body":{"amount":100}},
                    {"event":"missing","method":"GET","path":"/status/404"}]}
        """;

    private static string ProductApp(string tag, string prdKey, string sndKey) => $$$"""
        {"access_tag":"{{{tag}}}","envs":[
          {"app_env_slug":"live","product_env_slug":"prd","variables":[{"key":"account","value":"acct_1"}],"auth":[{"auth_tag":"api_key_auth","data":{"api_key":"$Token{{{{prdKey}}}}"}}]},
          {"app_env_slug":"live","product_env_slug":"snd","variables":[{"key":"account","value":"acct_2"}],"auth":[{"auth_tag":"api_key_auth","data":{"api_key":"$Token{{{{sndKey}}}}"}}]},
          {"app_env_slug":"live","product_env_slug":"dev","variables":[{"key":"account","value":"acct_3"}],"auth":[{"auth_tag":"api_key_auth","data":{"api_key":"$Token{{{{prdKey}}}}"}}]}]}
        """;

    private static void Ok(CliResult result) => Assert.True(result.ExitCode == 0, $"exit {result.ExitCode}\n{result.Error}\n{result.Out}");

    [Fact]
    public async Task An_app_and_a_product_are_defined_connected_run_and_removed()
    {
        Ok(await Latch("secrets", "create", "E2E_STRIPE_KEY", "--value", StripeKey, "--scope", "echo_app"));

        Ok(await LatchWithStdin(App("echo_app"), "apps", "create", "--file", "-"));
        var apps = await Latch("apps", "list");
        Ok(apps);
        Assert.Matches(@"echo_app\s*│\s*Echo API\s*│\s*live\s*│\s*api_key_auth\s*│\s*create_charge, missing", apps.Out);
        var app = await Latch("apps", "get", "echo_app");
        Ok(app);
        Assert.Contains("Authorization: Bearer $Auth{api_key}", app.Out, StringComparison.Ordinal);

        var product = await Latch("products", "create", "shop", "--name", "Shop", "--env", "prd:Production", "--env", "snd:Sandbox", "--env", "dev:Development:inactive");
        Ok(product);
        Assert.Matches(@"dev\s*│\s*Development\s*│\s*no", product.Out);
        Assert.Matches(@"shop\s*│\s*Shop\s*│\s*prd, snd, dev \(inactive\)", (await Latch("products", "list")).Out);

        // A reference that would fail today is a warning, not a failure.
        var add = await LatchWithStdin(ProductApp("echo_app", "E2E_STRIPE_KEY", "E2E_MISSING_KEY"), "products", "apps", "add", "shop", "--file", "-");
        Ok(add);
        Assert.Contains("Connected app 'echo_app' to product 'shop'.", add.Out, StringComparison.Ordinal);
        Assert.Matches(@"snd\s*│\s*\$\.envs\[1\]\.auth\[0\]\.data\.api_key\s*│\s*E2E_MISSING_KEY\s*│\s*Secret 'E2E_MISSING_KEY' not found", add.Out);
        Assert.Matches(@"echo_app\s*│\s*prd → live, snd → live, dev → live", (await Latch("products", "apps", "list", "shop")).Out);

        // The action runs: references resolved and sent, the value masked in what comes back.
        var run = await Latch("run", "--env", "prd", "--product", "shop", "--app", "echo_app", "--event", "create_charge",
            "--param", "customer=cus_42", "--header", "X-Trace=t-1", "--query", "limit=3");
        Ok(run);
        Assert.StartsWith("Status: 200 OK", run.Out, StringComparison.Ordinal);
        Assert.Matches(@"Duration: \d+ ms", run.Out);
        Assert.Contains("\"path\": \"/api/charges/cus_42\"", run.Out, StringComparison.Ordinal);
        Assert.Contains("\"authorization\": \"Bearer ***\"", run.Out, StringComparison.Ordinal);
        Assert.Contains("\"x-account\": \"acct_1\"", run.Out, StringComparison.Ordinal);
        Assert.Contains("\"x-trace\": \"t-1\"", run.Out, StringComparison.Ordinal);
        Assert.DoesNotContain(StripeKey, run.Out + run.Error, StringComparison.Ordinal);

        var json = await LatchWithStdin("""{"params":{"customer":"cus_file"},"query":{"limit":"1"},"body":{"amount":250}}""",
            "run", "--env", "prd", "--product", "shop", "--app", "echo_app", "--event", "create_charge", "--input", "-", "--query", "limit=9", "--json");
        Ok(json);
        using (var response = JsonDocument.Parse(json.Out))
        {
            var root = response.RootElement;
            Assert.Equal(200, root.GetProperty("status").GetInt32());
            Assert.True(root.GetProperty("duration_ms").GetInt64() >= 0);
            Assert.False(string.IsNullOrEmpty(root.GetProperty("request_id").GetString()));
            var echo = root.GetProperty("body");
            Assert.Equal("/api/charges/cus_file", echo.GetProperty("path").GetString());
            Assert.Contains("limit=9", echo.GetProperty("query").GetString(), StringComparison.Ordinal);
            Assert.Equal(250, JsonNode.Parse(echo.GetProperty("body").GetString()!)!["amount"]!.GetValue<int>());
        }

        Assert.DoesNotContain(StripeKey, json.Out, StringComparison.Ordinal);

        // The upstream's error status is not a Latch failure.
        var missing = await Latch("run", "--env", "prd", "--product", "shop", "--app", "echo_app", "--event", "missing");
        Ok(missing);
        Assert.StartsWith("Status: 404 Not Found", missing.Out, StringComparison.Ordinal);
        Assert.Contains("upstream says 404", missing.Out, StringComparison.Ordinal);
        Assert.Contains("Note: the upstream answered 404", missing.Error, StringComparison.Ordinal);

        // Latch failures: an unresolvable reference lists its path; an inactive environment; an unknown event.
        var unresolved = await Latch("run", "--env", "snd", "--product", "shop", "--app", "echo_app", "--event", "create_charge", "--param", "customer=c");
        Assert.Equal(1, unresolved.ExitCode);
        var lines = unresolved.Error.TrimEnd().ReplaceLineEndings("\n").Split('\n');
        Assert.Equal("Error: Secret 'E2E_MISSING_KEY' not found", lines[0]);
        Assert.Contains(lines, l => l.StartsWith("  $.", StringComparison.Ordinal) && l.EndsWith(": Secret 'E2E_MISSING_KEY' not found", StringComparison.Ordinal));

        var inactive = await Latch("run", "--env", "dev", "--product", "shop", "--app", "echo_app", "--event", "create_charge", "--param", "customer=c");
        Assert.Equal(1, inactive.ExitCode);
        Assert.StartsWith("Error: ", inactive.Error, StringComparison.Ordinal);

        var unknown = await Latch("run", "--env", "prd", "--product", "shop", "--app", "echo_app", "--event", "no_such_event");
        Assert.Equal(1, unknown.ExitCode);
        Assert.StartsWith("Error: ", unknown.Error, StringComparison.Ordinal);

        // Update the connection (warnings answered on PUT too), then take everything down.
        var update = await LatchWithStdin(ProductApp("echo_app", "E2E_STRIPE_KEY", "E2E_STRIPE_KEY"), "products", "apps", "update", "shop", "echo_app", "--file", "-", "--json");
        Ok(update);
        using (var updated = JsonDocument.Parse(update.Out))
        {
            Assert.Equal(0, updated.RootElement.GetProperty("warnings").GetArrayLength());
        }

        Ok(await Latch("products", "apps", "remove", "shop", "echo_app", "--yes"));
        Assert.Equal(1, (await Latch("products", "apps", "get", "shop", "echo_app")).ExitCode);
        Ok(await Latch("products", "delete", "shop", "--yes"));
        Ok(await Latch("apps", "delete", "echo_app", "--yes"));
        var gone = await Latch("apps", "get", "echo_app");
        Assert.Equal(1, gone.ExitCode);
        Assert.StartsWith("Error: ", gone.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Apps_update_replaces_the_definition_and_json_round_trips()
    {
        Ok(await LatchWithStdin(App("replace_app"), "apps", "create", "--file", "-"));
        var replacement = JsonNode.Parse(App("replace_app"))!.AsObject();
        replacement.Remove("access_tag");
        replacement["name"] = "Renamed";
        replacement["actions"] = new JsonArray(JsonNode.Parse("""{"event":"ping","method":"GET","path":"/ping"}"""));

        var update = await LatchWithStdin(replacement.ToJsonString(), "apps", "update", "replace_app", "--file", "-");
        Ok(update);
        Assert.Contains("Updated app 'replace_app'.", update.Out, StringComparison.Ordinal);

        var get = await Latch("apps", "get", "replace_app", "--json");
        Ok(get);
        using var app = JsonDocument.Parse(get.Out);
        Assert.Equal("Renamed", app.RootElement.GetProperty("name").GetString());
        Assert.Equal(["ping"], app.RootElement.GetProperty("actions").EnumerateArray().Select(a => a.GetProperty("event").GetString()));

        var list = await Latch("apps", "list", "--all", "--json");
        using var items = JsonDocument.Parse(list.Out);
        Assert.Contains(items.RootElement.GetProperty("items").EnumerateArray(), i => i.GetProperty("access_tag").GetString() == "replace_app");
    }

    [Fact]
    public async Task Invalid_definitions_are_reported_with_their_fields()
    {
        var broken = await LatchWithStdin("""{"access_tag":"bad_app","name":"Bad","envs":[{"slug":"live","base_url":"ftp://x"}]}""",
            "apps", "create", "--file", "-");

        Assert.Equal(1, broken.ExitCode);
        Assert.StartsWith("Error: ", broken.Error, StringComparison.Ordinal);
        Assert.Contains("  envs[0].base_url: ", broken.Error, StringComparison.Ordinal);

        var unknownProduct = await LatchWithStdin(ProductApp("bad_app", "X", "Y"), "products", "apps", "add", "no_such_product", "--file", "-");
        Assert.Equal(1, unknownProduct.ExitCode);
        Assert.StartsWith("Error: ", unknownProduct.Error, StringComparison.Ordinal);
    }
}

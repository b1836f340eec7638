using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Latch.Cli.Products;

namespace Latch.Cli.Tests;

/// <summary><c>latch products …</c> and <c>latch products apps …</c>, against a recorded HTTP handler.</summary>
public sealed class ProductsCommandTests
{
    private static readonly Dictionary<string, string> Vars = new()
    {
        ["LATCH_URL"] = "http://latch.test/prefix",
        ["LATCH_API_KEY"] = "test-api-key",
    };

    private static StubHandler Answer(HttpStatusCode status, string json) => AppsCommandTests.Answer(status, json);

    private static JsonObject BodyOf(RecordedRequest request) => JsonNode.Parse(request.Body)!.AsObject();

    [Fact]
    public async Task Create_with_flags_builds_the_product_from_the_env_specs()
    {
        var handler = Answer(HttpStatusCode.Created, CannedRuntime.Product);

        var result = await CliHarness.RunAsync(Vars,
            ["products", "create", "shop", "--name", "Shop", "--env", "prd:Production", "--env", "dev", "--env", "snd:Sandbox:inactive"], handler);

        Assert.True(result.ExitCode == 0, result.Error);
        var request = Assert.Single(handler.Requests);
        Assert.Equal(HttpMethod.Post, request.Method);
        Assert.Equal("http://latch.test/prefix/v1/products", request.Uri.ToString());
        var expected = JsonNode.Parse("""
            {"tag":"shop","name":"Shop","envs":[
              {"slug":"prd","env_name":"Production","active":true},
              {"slug":"dev","env_name":"dev","active":true},
              {"slug":"snd","env_name":"Sandbox","active":false}]}
            """);
        Assert.True(JsonNode.DeepEquals(expected, BodyOf(request)), request.Body);
        Assert.Contains("Created product 'shop'.", result.Out, StringComparison.Ordinal);
        Assert.Matches(@"prd\s*│\s*Production\s*│\s*yes", result.Out);
        Assert.Matches(@"dev\s*│\s*Development\s*│\s*no", result.Out);
    }

    [Fact]
    public async Task The_name_defaults_to_the_tag()
    {
        var handler = Answer(HttpStatusCode.Created, CannedRuntime.Product);

        await CliHarness.RunAsync(Vars, ["products", "create", "shop", "--env", "prd"], handler);

        Assert.Equal("shop", (string?)BodyOf(Assert.Single(handler.Requests))["name"]);
    }

    [Theory]
    [InlineData("prd", "prd", "prd", true)]
    [InlineData("prd:Production", "prd", "Production", true)]
    [InlineData("prd:inactive", "prd", "prd", false)]
    [InlineData("prd:Production:inactive", "prd", "Production", false)]
    [InlineData("prd:Production:INACTIVE", "prd", "Production", false)]
    [InlineData("eu:Prod: EU:active", "eu", "Prod: EU", true)]
    [InlineData(" dev : Development ", "dev", "Development", true)]
    public void Env_specs_parse_slug_name_and_state(string spec, string slug, string name, bool active)
    {
        var env = ProductEnvSpec.Parse(spec);

        Assert.Equal(slug, (string?)env["slug"]);
        Assert.Equal(name, (string?)env["env_name"]);
        Assert.Equal(active, (bool)env["active"]!);
    }

    [Theory]
    [InlineData("", "slug is empty")]
    [InlineData(":Production", "slug is empty")]
    [InlineData("prd:", "name is empty")]
    public void Broken_env_specs_are_usage_errors(string spec, string message)
    {
        var error = Assert.Throws<CliUsageException>(() => ProductEnvSpec.Parse(spec));

        Assert.Contains(message, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(new[] { "products", "create", "shop" }, "at least one --env")]
    [InlineData(new[] { "products", "create", "--env", "prd" }, "needs a TAG")]
    [InlineData(new[] { "products", "create", "shop", "--env", "prd", "--env", "prd:Production" }, "'prd' is given twice")]
    [InlineData(new[] { "products", "create", "shop", "--file", "-", "--env", "prd" }, "mutually exclusive")]
    public async Task Incomplete_or_conflicting_create_options_are_usage_errors(string[] args, string message)
    {
        var handler = Answer(HttpStatusCode.Created, CannedRuntime.Product);

        var result = await CliHarness.RunAsync(Vars, args, handler, stdin: CannedRuntime.Product);

        Assert.Equal(2, result.ExitCode);
        Assert.StartsWith("Error: ", result.Error, StringComparison.Ordinal);
        Assert.Contains(message, result.Error, StringComparison.Ordinal);
        Assert.Empty(handler.Requests);
    }

    [Fact]
    public async Task Create_from_a_file_sends_it_and_fills_in_the_tag_given()
    {
        var withoutTag = JsonNode.Parse(CannedRuntime.Product)!.AsObject();
        withoutTag.Remove("tag");
        var handler = Answer(HttpStatusCode.Created, CannedRuntime.Product);

        var result = await CliHarness.RunAsync(Vars, ["products", "create", "shop", "--file", "-"], handler, stdin: withoutTag.ToJsonString());

        Assert.True(result.ExitCode == 0, result.Error);
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(CannedRuntime.Product), BodyOf(Assert.Single(handler.Requests))));
    }

    [Fact]
    public async Task List_get_and_delete_use_the_product_routes()
    {
        var list = Answer(HttpStatusCode.OK, $$"""{"items":[{{CannedRuntime.Product}}],"next_cursor":null}""");
        var get = Answer(HttpStatusCode.OK, CannedRuntime.Product);
        var delete = Answer(HttpStatusCode.NoContent, "");

        var listed = await CliHarness.RunAsync(Vars, ["products", "list"], list);
        var got = await CliHarness.RunAsync(Vars, ["products", "get", "shop"], get);
        var deleted = await CliHarness.RunAsync(Vars, ["products", "delete", "shop", "-y"], delete);

        Assert.Equal("http://latch.test/prefix/v1/products", Assert.Single(list.Requests).Uri.ToString());
        Assert.Matches(@"shop\s*│\s*Shop\s*│\s*prd, dev \(inactive\)", listed.Out);
        Assert.Equal("http://latch.test/prefix/v1/products/shop", Assert.Single(get.Requests).Uri.ToString());
        Assert.Matches(@"Tag\s*│\s*shop", got.Out);
        var request = Assert.Single(delete.Requests);
        Assert.Equal(HttpMethod.Delete, request.Method);
        Assert.Equal("http://latch.test/prefix/v1/products/shop", request.Uri.ToString());
        Assert.Equal("Deleted product 'shop'.", deleted.Out.TrimEnd());
    }

    [Fact]
    public async Task Apps_add_posts_the_file_and_prints_warnings_as_a_table_without_failing()
    {
        const string Warnings = """
            [{"env":"dev","path":"$.envs[1].auth[0].data.api_key","key":"STRIPE_TEST_KEY","code":"secret_not_found","message":"Secret 'STRIPE_TEST_KEY' not found"},
             {"env":"prd","path":"$.envs[0].auth[0].data.api_key","key":"STRIPE_KEY","code":"secret_expired","message":"Secret 'STRIPE_KEY' has expired"}]
            """;
        var handler = Answer(HttpStatusCode.Created, CannedRuntime.ProductAppWith(Warnings));

        var result = await CliHarness.RunAsync(Vars, ["products", "apps", "add", "shop", "--file", "-"], handler, stdin: CannedRuntime.ProductApp);

        Assert.Equal(0, result.ExitCode);
        var request = Assert.Single(handler.Requests);
        Assert.Equal(HttpMethod.Post, request.Method);
        Assert.Equal("http://latch.test/prefix/v1/products/shop/apps", request.Uri.ToString());
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(CannedRuntime.ProductApp), BodyOf(request)), request.Body);
        Assert.Contains("Connected app 'stripe_app' to product 'shop'.", result.Out, StringComparison.Ordinal);
        Assert.Matches(@"prd\s*│\s*live\s*│\s*account\s*│\s*api_key_auth \(api_key\)", result.Out);
        Assert.Contains("2 warnings", result.Out, StringComparison.Ordinal);
        Assert.Matches(@"Env\s*│\s*Path\s*│\s*Key\s*│\s*Message", result.Out);
        Assert.Matches(@"dev\s*│\s*\$\.envs\[1\]\.auth\[0\]\.data\.api_key\s*│\s*STRIPE_TEST_KEY\s*│\s*Secret 'STRIPE_TEST_KEY' not found", result.Out);
        Assert.Matches(@"prd\s*│\s*\$\.envs\[0\]\.auth\[0\]\.data\.api_key\s*│\s*STRIPE_KEY\s*│\s*Secret 'STRIPE_KEY' has expired", result.Out);
        Assert.Equal("", result.Error);
    }

    [Fact]
    public async Task Apps_add_without_warnings_prints_none_and_json_prints_the_whole_answer()
    {
        var handler = Answer(HttpStatusCode.Created, CannedRuntime.ProductAppWith("[]"));

        var plain = await CliHarness.RunAsync(Vars, ["products", "apps", "add", "shop", "--file", "-"], handler, stdin: CannedRuntime.ProductApp);
        var json = await CliHarness.RunAsync(Vars, ["products", "apps", "add", "shop", "--file", "-", "--json"], handler, stdin: CannedRuntime.ProductApp);

        Assert.Equal(0, plain.ExitCode);
        Assert.DoesNotContain("warning", plain.Out, StringComparison.OrdinalIgnoreCase);
        using var printed = JsonDocument.Parse(json.Out);
        Assert.Equal(JsonValueKind.Array, printed.RootElement.GetProperty("warnings").ValueKind);
        Assert.Equal(2, printed.RootElement.GetProperty("envs").GetArrayLength());
    }

    [Fact]
    public async Task Apps_list_get_update_and_remove_use_the_product_app_routes()
    {
        var list = Answer(HttpStatusCode.OK, $$"""{"items":[{{CannedRuntime.ProductApp}}],"next_cursor":null}""");
        var get = Answer(HttpStatusCode.OK, CannedRuntime.ProductApp);
        var update = Answer(HttpStatusCode.OK, CannedRuntime.ProductAppWith("[]"));
        var remove = Answer(HttpStatusCode.NoContent, "");
        var withoutTag = JsonNode.Parse(CannedRuntime.ProductApp)!.AsObject();
        withoutTag.Remove("access_tag");

        var listed = await CliHarness.RunAsync(Vars, ["products", "apps", "list", "shop"], list);
        var got = await CliHarness.RunAsync(Vars, ["products", "apps", "get", "shop", "stripe_app"], get);
        var updated = await CliHarness.RunAsync(Vars, ["products", "apps", "update", "shop", "stripe_app", "--file", "-"], update, stdin: withoutTag.ToJsonString());
        var removed = await CliHarness.RunAsync(Vars, ["products", "apps", "remove", "shop", "stripe_app", "--yes"], remove);

        Assert.Equal((HttpMethod.Get, "http://latch.test/prefix/v1/products/shop/apps"), (list.Requests[0].Method, list.Requests[0].Uri.ToString()));
        Assert.Matches(@"stripe_app\s*│\s*prd → live, dev → test", listed.Out);
        Assert.Equal((HttpMethod.Get, "http://latch.test/prefix/v1/products/shop/apps/stripe_app"), (get.Requests[0].Method, get.Requests[0].Uri.ToString()));
        Assert.Matches(@"App\s*│\s*stripe_app", got.Out);
        var put = Assert.Single(update.Requests);
        Assert.Equal((HttpMethod.Put, "http://latch.test/prefix/v1/products/shop/apps/stripe_app"), (put.Method, put.Uri.ToString()));
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(CannedRuntime.ProductApp), BodyOf(put)), put.Body);
        Assert.Contains("Updated app 'stripe_app' in product 'shop'.", updated.Out, StringComparison.Ordinal);
        var delete = Assert.Single(remove.Requests);
        Assert.Equal((HttpMethod.Delete, "http://latch.test/prefix/v1/products/shop/apps/stripe_app"), (delete.Method, delete.Uri.ToString()));
        Assert.Equal("Removed app 'stripe_app' from product 'shop'.", removed.Out.TrimEnd());
    }

    [Fact]
    public async Task Apps_remove_asks_for_the_app_tag()
    {
        var handler = Answer(HttpStatusCode.NoContent, "");

        var result = await CliHarness.RunAsync(Vars, ["products", "apps", "remove", "shop", "stripe_app"], handler, stdin: "shop\n");

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("Type the access tag 'stripe_app' to disconnect it from product 'shop'", result.Error, StringComparison.Ordinal);
        Assert.Empty(handler.Requests);
    }

    [Fact]
    public async Task A_validation_problem_lists_its_fields()
    {
        var handler = new StubHandler(_ => StubHandler.Problem(HttpStatusCode.BadRequest,
            """{"status":400,"title":"Invalid input","detail":"The request is invalid","code":"validation_failed","errors":{"envs[0].app_env_slug":["app 'stripe_app' has no environment 'nope'"]}}"""));

        var result = await CliHarness.RunAsync(Vars, ["products", "apps", "add", "shop", "--file", "-"], handler, stdin: CannedRuntime.ProductApp);

        Assert.Equal(1, result.ExitCode);
        Assert.Equal(
            ["Error: The request is not valid:", "  envs[0].app_env_slug: app 'stripe_app' has no environment 'nope'"],
            result.Error.TrimEnd().ReplaceLineEndings("\n").Split('\n'));
    }
}

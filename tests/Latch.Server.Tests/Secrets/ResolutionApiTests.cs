using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Latch.Server.Tests.Infrastructure;

namespace Latch.Server.Tests.Secrets;

public sealed class ResolutionApiTests : IAsyncLifetime
{
    private TestServer _server = null!;

    private HttpClient Owner => _server.Owner;

    public async Task InitializeAsync()
    {
        _server = await TestServer.StartAsync();
        await Owner.CreateSecretAsync(new { key = "STRIPE_KEY", value = "sk_live_1", scope = new[] { "stripe_app" } });
        await Owner.CreateSecretAsync(new { key = "PROD_KEY", value = "prod-value", envs = new[] { "prd" } });
        await Owner.CreateSecretAsync(new { key = "PLAIN", value = "plain \"quoted\" $Token{PROD_KEY}" });
    }

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task Resolve_substitutes_every_reference_at_any_depth_and_lists_them()
    {
        var document = JsonNode.Parse("""
            {"headers":{"Authorization":"Bearer $Token{STRIPE_KEY}"},"list":[1,{"deep":["x $Secret{STRIPE_KEY} y $Token{PLAIN}"]}],"$Token{STRIPE_KEY}":"name stays","escaped":"$$Token{STRIPE_KEY}","n":null,"b":true}
            """);
        var response = await Owner.ResolveAsync(document!, "stripe_app", "prd");
        var body = await response.ReadJsonAsync();
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var resolved = body["document"]!;
        Assert.Equal("Bearer sk_live_1", resolved["headers"]!["Authorization"]!.GetValue<string>());
        Assert.Equal("x sk_live_1 y plain \"quoted\" $Token{PROD_KEY}", resolved["list"]![1]!["deep"]![0]!.GetValue<string>());
        Assert.Equal("name stays", resolved["$Token{STRIPE_KEY}"]!.GetValue<string>());
        Assert.Equal("$Token{STRIPE_KEY}", resolved["escaped"]!.GetValue<string>());
        Assert.Equal(1, resolved["list"]![0]!.GetValue<int>());
        Assert.True(resolved["b"]!.GetValue<bool>());
        var paths = body["references"]!.AsArray().Select(r => r!["path"]!.GetValue<string>()).ToArray();
        Assert.Equal(["$.headers.Authorization", "$.list[1].deep[0]", "$.list[1].deep[0]"], paths);
    }

    [Fact]
    public async Task The_four_seed_errors_have_their_exact_messages()
    {
        await Owner.CreateSecretAsync(new { key = "OLD_KEY", value = "x" });
        await Owner.PostAsync("/v1/secrets/OLD_KEY/revoke", null);

        var notFound = await (await Owner.ResolveAsync(new { a = "$Token{MY_SECRET}" }, "stripe_app", "prd")).AssertProblemAsync(422, "secret_not_found");
        Assert.Equal("Secret 'MY_SECRET' not found", notFound["detail"]!.GetValue<string>());
        var revoked = await (await Owner.ResolveAsync(new { a = "$Token{OLD_KEY}" }, "stripe_app", "prd")).AssertProblemAsync(422, "secret_revoked");
        Assert.Equal("Secret 'OLD_KEY' has been revoked", revoked["detail"]!.GetValue<string>());
        var scope = await (await Owner.ResolveAsync(new { a = "$Token{STRIPE_KEY}" }, "other_app", "prd")).AssertProblemAsync(422, "secret_scope_denied");
        Assert.Equal("Secret 'STRIPE_KEY' is not accessible by app 'other_app'", scope["detail"]!.GetValue<string>());
        var env = await (await Owner.ResolveAsync(new { a = "$Token{PROD_KEY}" }, "stripe_app", "dev")).AssertProblemAsync(422, "secret_env_denied");
        Assert.Equal("Secret 'PROD_KEY' is not available in environment 'dev'", env["detail"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_failing_resolution_lists_every_failure_and_returns_no_document()
    {
        var response = await Owner.ResolveAsync(new { ok = "$Token{STRIPE_KEY}", a = "$Token{MISSING}", h = new { x = "$Token{PROD_KEY}" }, m = "$Token{bad-key}" }, "stripe_app", "dev");
        var problem = await response.AssertProblemAsync(422, "resolution_failed");
        Assert.Null(problem["document"]);
        var errors = problem["errors"]!.AsArray().Select(e => (e!["path"]!.GetValue<string>(), e["code"]!.GetValue<string>())).ToArray();
        Assert.Contains(("$.a", "secret_not_found"), errors);
        Assert.Contains(("$.h.x", "secret_env_denied"), errors);
        Assert.Contains(("$.m", "malformed_reference"), errors);
        Assert.Equal(3, errors.Length);
        Assert.DoesNotContain("sk_live_1", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.StartsWith("Malformed secret reference at $.m: ", problem["errors"]!.AsArray().Single(e => e!["path"]!.GetValue<string>() == "$.m")!["message"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Product_scoped_entry_matches_only_that_products_app()
    {
        await Owner.CreateSecretAsync(new { key = "SHOP_ONLY", value = "s", scope = new[] { "shop:stripe_app" } });
        Assert.Equal(HttpStatusCode.OK, (await Owner.ResolveAsync(new { a = "$Token{SHOP_ONLY}" }, "stripe_app", "dev", "shop")).StatusCode);
        await (await Owner.ResolveAsync(new { a = "$Token{SHOP_ONLY}" }, "stripe_app", "dev", "blog")).AssertProblemAsync(422, "secret_scope_denied");
        await (await Owner.ResolveAsync(new { a = "$Token{SHOP_ONLY}" }, "stripe_app", "dev")).AssertProblemAsync(422, "secret_scope_denied");
    }

    [Fact]
    public async Task Check_reports_each_reference_without_returning_values()
    {
        var response = await Owner.PostAsJsonAsync("/v1/secrets/check", new { document = new { a = "$Token{STRIPE_KEY}", b = "$Token{PROD_KEY}", c = "$Token{" }, app = "stripe_app", env = "dev" });
        var text = await response.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.DoesNotContain("sk_live_1", text, StringComparison.Ordinal);
        Assert.DoesNotContain("prod-value", text, StringComparison.Ordinal);
        var body = JsonNode.Parse(text)!;
        Assert.False(body["ok"]!.GetValue<bool>());
        var items = body["references"]!.AsArray();
        Assert.True(items.Single(i => i!["path"]!.GetValue<string>() == "$.a")!["ok"]!.GetValue<bool>());
        Assert.Equal("secret_env_denied", items.Single(i => i!["path"]!.GetValue<string>() == "$.b")!["code"]!.GetValue<string>());
        Assert.Equal("malformed_reference", items.Single(i => i!["path"]!.GetValue<string>() == "$.c")!["code"]!.GetValue<string>());
    }

    [Fact]
    public async Task Validate_lists_references_and_malformed_ones_with_paths()
    {
        var body = await (await Owner.PostAsJsonAsync("/v1/secrets/validate", new { value = new { envs = new[] { new { auth = new[] { new { data = new { api_key = "$Token{STRIPE_KEY}", bad = "$Token{}" } } } } } } })).ReadJsonAsync();
        Assert.False(body["ok"]!.GetValue<bool>());
        Assert.Equal("$.envs[0].auth[0].data.api_key", body["references"]![0]!["path"]!.GetValue<string>());
        Assert.Equal("STRIPE_KEY", body["references"]![0]!["key"]!.GetValue<string>());
        Assert.Equal("$.envs[0].auth[0].data.bad", body["malformed"]![0]!["path"]!.GetValue<string>());
    }

    [Fact]
    public async Task Resolving_stamps_last_used_at()
    {
        await Owner.ResolveAsync(new { a = "$Token{STRIPE_KEY}" }, "stripe_app", "dev");
        var fetched = await (await Owner.GetAsync("/v1/secrets/STRIPE_KEY")).ReadJsonAsync();
        Assert.NotNull(fetched["last_used_at"]);
    }
}

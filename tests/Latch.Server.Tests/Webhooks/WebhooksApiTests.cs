using System.Net.Http.Json;
using Latch.Server.Tests.Infrastructure;

namespace Latch.Server.Tests.Webhooks;

public sealed class WebhooksApiTests : IAsyncLifetime
{
    private TestServer _server = null!;

    private HttpClient Owner => _server.Owner;

    public async Task InitializeAsync()
    {
        _server = await TestServer.StartAsync();
        await Owner.CreateProductAsync("shop", "dev", "prd");
    }

    public async Task DisposeAsync() => await _server.DisposeAsync();

    private static object GitHubHook(string tag = "gh", string secret = "$Token{GH_SECRET}") =>
        new { name = "GitHub pushes", tag, app = "github_app", signing_secret = secret, scheme = "github" };

    [Fact]
    public async Task Created_webhook_answers_its_delivery_url_with_the_env_left_to_fill()
    {
        await Owner.CreateSecretAsync(new { key = "GH_SECRET", value = "gh-signing-value" });
        var created = await Owner.CreateWebhookAsync("shop", GitHubHook());

        var workspace = await Owner.WorkspaceIdAsync();
        Assert.Equal($"{_server.BaseAddress}hooks/{workspace}/shop/gh/{{env}}", created["delivery_url"]!.GetValue<string>());
        Assert.Equal("$Token{GH_SECRET}", created["signing_secret"]!.GetValue<string>());
        Assert.Equal("github", created["scheme"]!.GetValue<string>());
        Assert.Equal("github_app", created["app"]!.GetValue<string>());
        Assert.Null(created["tolerance_seconds"]);
        Assert.Equal(0, created["rotation_grace_seconds"]!.GetValue<int>());
        Assert.Empty(created["warnings"]!.AsArray());
        Assert.Equal(0, created["rejected_count"]!.GetValue<long>());
    }

    [Fact]
    public async Task Stripe_and_standard_default_to_a_300_second_tolerance_and_hmac_to_the_X_Signature_header()
    {
        var stripe = await Owner.CreateWebhookAsync("shop", new { name = "s", tag = "stripe", app = "a", signing_secret = "$Token{S}", scheme = "stripe" });
        Assert.Equal(300, stripe["tolerance_seconds"]!.GetValue<int>());
        var standard = await Owner.CreateWebhookAsync("shop", new { name = "s", tag = "std", app = "a", signing_secret = "$Token{S}", scheme = "standard", tolerance_seconds = 60 });
        Assert.Equal(60, standard["tolerance_seconds"]!.GetValue<int>());
        var hmac = await Owner.CreateWebhookAsync("shop", new { name = "h", tag = "hmac", app = "a", signing_secret = "$Token{S}", scheme = "hmac_sha256" });
        Assert.Equal("X-Signature", hmac["header"]!.GetValue<string>());
        Assert.Null(hmac["tolerance_seconds"]);
    }

    [Fact]
    public async Task A_literal_signing_secret_is_refused_with_a_field_error_that_does_not_echo_it()
    {
        var response = await Owner.PostAsJsonAsync("/v1/products/shop/webhooks", GitHubHook(secret: "literal-signing-value-123"));
        var problem = await response.AssertProblemAsync(400, "validation_failed");
        Assert.Contains("single secret reference", problem["errors"]!["signing_secret"]![0]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.DoesNotContain("literal-signing-value-123", problem.ToJsonString(), StringComparison.Ordinal);

        var list = await (await Owner.GetAsync("/v1/products/shop/webhooks")).ReadJsonAsync();
        Assert.Empty(list["items"]!.AsArray());
    }

    [Fact]
    public async Task Text_around_a_reference_is_refused_too()
    {
        var response = await Owner.PostAsJsonAsync("/v1/products/shop/webhooks", GitHubHook(secret: "prefix $Token{GH_SECRET}"));
        var problem = await response.AssertProblemAsync(400, "validation_failed");
        Assert.NotNull(problem["errors"]!["signing_secret"]);
    }

    [Fact]
    public async Task Invalid_scheme_tolerance_and_header_are_each_a_field_error()
    {
        var response = await Owner.PostAsJsonAsync("/v1/products/shop/webhooks", new
        {
            name = "x", tag = "bad tag", app = "a", signing_secret = "$Token{S}", scheme = "github", tolerance_seconds = 10, header = "X-Other", color = "red",
        });
        var errors = (await response.AssertProblemAsync(400, "validation_failed"))["errors"]!;
        Assert.NotNull(errors["tag"]);
        Assert.Contains("stripe and standard", errors["tolerance_seconds"]![0]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Contains("hmac_sha256", errors["header"]![0]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.NotNull(errors["color"]);

        var unknown = await Owner.PostAsJsonAsync("/v1/products/shop/webhooks", new { name = "x", tag = "t", app = "a", signing_secret = "$Token{S}", scheme = "gitlab" });
        var schemeError = (await unknown.AssertProblemAsync(400, "validation_failed"))["errors"]!["scheme"]![0]!.GetValue<string>();
        Assert.Equal("must be one of github, stripe, standard, hmac_sha256", schemeError);

        var reserved = await Owner.PostAsJsonAsync("/v1/products/shop/webhooks", new { name = "x", tag = "t", app = "a", signing_secret = "$Token{S}", scheme = "hmac_sha256", header = "Authorization" });
        Assert.NotNull((await reserved.AssertProblemAsync(400, "validation_failed"))["errors"]!["header"]);
    }

    [Fact]
    public async Task Creating_in_a_missing_product_is_404_and_a_second_webhook_with_the_same_tag_is_409()
    {
        var missing = await Owner.PostAsJsonAsync("/v1/products/nope/webhooks", GitHubHook());
        Assert.Equal("Product 'nope' not found", (await missing.AssertProblemAsync(404, "product_not_found"))["detail"]!.GetValue<string>());

        await Owner.CreateWebhookAsync("shop", GitHubHook());
        var duplicate = await Owner.PostAsJsonAsync("/v1/products/shop/webhooks", GitHubHook());
        await duplicate.AssertProblemAsync(409, "webhook_exists");
    }

    [Fact]
    public async Task Create_warns_per_environment_where_the_signing_secret_would_not_resolve()
    {
        await Owner.CreateSecretAsync(new { key = "PRD_ONLY", value = "v", envs = new[] { "prd" } });
        var created = await Owner.CreateWebhookAsync("shop", GitHubHook(secret: "$Token{PRD_ONLY}"));
        var warning = Assert.Single(created["warnings"]!.AsArray());
        Assert.Equal("dev", warning!["env"]!.GetValue<string>());
        Assert.Equal("secret_env_denied", warning["code"]!.GetValue<string>());
    }

    [Fact]
    public async Task Webhooks_are_listed_fetched_and_deleted_and_changes_are_audited_as_product_changes()
    {
        await Owner.CreateWebhookAsync("shop", GitHubHook("b"));
        await Owner.CreateWebhookAsync("shop", GitHubHook("a"));
        var list = await (await Owner.GetAsync("/v1/products/shop/webhooks")).ReadJsonAsync();
        Assert.Equal(["a", "b"], list["items"]!.AsArray().Select(i => i!["tag"]!.GetValue<string>()));

        var fetched = await (await Owner.GetAsync("/v1/products/shop/webhooks/a")).ReadJsonAsync();
        Assert.Equal("GitHub pushes", fetched["name"]!.GetValue<string>());

        Assert.Equal(204, (int)(await Owner.DeleteAsync("/v1/products/shop/webhooks/a")).StatusCode);
        await (await Owner.GetAsync("/v1/products/shop/webhooks/a")).AssertProblemAsync(404, "webhook_not_found");
        await (await Owner.DeleteAsync("/v1/products/shop/webhooks/a")).AssertProblemAsync(404, "webhook_not_found");

        var details = _server.Audit("product.changed").Where(r => r.Product == "shop").Select(r => r.Detail).ToList();
        Assert.Contains("webhook a created", details);
        Assert.Contains("webhook b created", details);
        Assert.Contains("webhook a deleted", details);
    }

    [Fact]
    public async Task Viewers_read_webhooks_but_only_owners_and_admins_change_them_and_runtime_keys_read_nothing()
    {
        await Owner.CreateWebhookAsync("shop", GitHubHook());
        var viewer = await _server.ClientWithRoleAsync("viewer");
        Assert.Equal(200, (int)(await viewer.GetAsync("/v1/products/shop/webhooks/gh")).StatusCode);
        Assert.Equal(200, (int)(await viewer.GetAsync("/v1/products/shop/webhooks/gh/deliveries")).StatusCode);
        await (await viewer.PostAsJsonAsync("/v1/products/shop/webhooks", GitHubHook("other"))).AssertProblemAsync(403, "forbidden");
        await (await viewer.DeleteAsync("/v1/products/shop/webhooks/gh")).AssertProblemAsync(403, "forbidden");

        var runtime = await _server.ClientWithRoleAsync("runtime");
        await (await runtime.GetAsync("/v1/products/shop/webhooks/gh/deliveries")).AssertProblemAsync(403, "forbidden");

        var admin = await _server.ClientWithRoleAsync("admin");
        await admin.CreateWebhookAsync("shop", GitHubHook("by_admin"));
    }

    [Fact]
    public async Task Webhook_management_needs_an_api_key()
    {
        await Owner.CreateWebhookAsync("shop", GitHubHook());
        using var anonymous = _server.Client(null);
        await (await anonymous.GetAsync("/v1/products/shop/webhooks/gh/deliveries")).AssertProblemAsync(401, "unauthorized");
        await (await anonymous.GetAsync("/v1/products/shop/webhooks")).AssertProblemAsync(401, "unauthorized");
    }

    [Fact]
    public async Task Deliveries_of_a_missing_webhook_or_product_are_404()
    {
        await (await Owner.GetAsync("/v1/products/shop/webhooks/none/deliveries")).AssertProblemAsync(404, "webhook_not_found");
        await (await Owner.GetAsync("/v1/products/none/webhooks/gh/deliveries")).AssertProblemAsync(404, "product_not_found");
        await (await Owner.GetAsync("/v1/products/shop/webhooks/gh/deliveries?limit=0")).AssertProblemAsync(400, "validation_failed");
    }
}

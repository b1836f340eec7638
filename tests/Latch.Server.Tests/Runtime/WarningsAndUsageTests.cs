using System.Net.Http.Json;
using Latch.Server.Tests.Infrastructure;
using Microsoft.Extensions.Time.Testing;

namespace Latch.Server.Tests.Runtime;

public sealed class WarningsAndUsageTests
{
    [Fact]
    public async Task Product_app_warns_about_a_secret_that_has_expired_in_that_environment()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 1, 0, 0, 0, TimeSpan.Zero));
        await using var server = await TestServer.StartAsync(time: time);
        await using var upstream = await EchoUpstream.StartAsync();
        var owner = server.Owner;
        await owner.CreateSecretAsync(new { key = "SHORT_LIVED", value = "v", expires_at = time.GetUtcNow().AddHours(1).ToUnixTimeSeconds() });
        time.Advance(TimeSpan.FromHours(2));
        (await owner.PostAsJsonAsync("/v1/products", new { tag = "shop", name = "Shop", envs = new[] { new { slug = "prd", env_name = "P" } } })).EnsureSuccessStatusCode();
        (await owner.PostAsJsonAsync("/v1/apps", new { access_tag = "a", name = "A", envs = new[] { new { slug = "live", base_url = upstream.BaseUrl } } })).EnsureSuccessStatusCode();

        var added = await (await owner.PostAsJsonAsync("/v1/products/shop/apps", new
        {
            access_tag = "a",
            envs = new[] { new { app_env_slug = "live", product_env_slug = "prd", variables = new[] { new { key = "K", value = "$Token{SHORT_LIVED}" } } } },
        })).ReadJsonAsync();

        var warning = Assert.Single(added["warnings"]!.AsArray())!;
        Assert.Equal("secret_expired", warning["code"]!.GetValue<string>());
        Assert.Equal("Secret 'SHORT_LIVED' has expired", warning["message"]!.GetValue<string>());
        Assert.Equal("prd", warning["env"]!.GetValue<string>());
    }

    [Fact]
    public async Task Usage_lists_a_webhook_whose_signing_secret_references_the_secret()
    {
        await using var server = await TestServer.StartAsync();
        var owner = server.Owner;
        await owner.CreateSecretAsync(new { key = "HOOK_SECRET", value = "hook-secret-value" });
        (await owner.PostAsJsonAsync("/v1/products", new { tag = "shop", name = "Shop", envs = new[] { new { slug = "prd", env_name = "P" } } })).EnsureSuccessStatusCode();
        (await owner.PostAsJsonAsync("/v1/products/shop/webhooks", new { name = "GitHub", tag = "github_webhook", app = "github_app", signing_secret = "$Token{HOOK_SECRET}", scheme = "github" })).EnsureSuccessStatusCode();

        var usage = await (await owner.GetAsync("/v1/secrets/HOOK_SECRET/usage")).ReadJsonAsync();

        var reference = Assert.Single(usage["references"]!.AsArray())!;
        Assert.Equal("webhook:github_webhook", reference["source"]!.GetValue<string>());
        Assert.Equal("shop", reference["product"]!.GetValue<string>());
        Assert.Equal("github_app", reference["app"]!.GetValue<string>());
        Assert.Null(reference["env"]);

        await owner.DeleteAsync("/v1/products/shop/webhooks/github_webhook");
        Assert.Empty((await (await owner.GetAsync("/v1/secrets/HOOK_SECRET/usage")).ReadJsonAsync())["references"]!.AsArray());
    }
}

using System.Net;
using System.Net.Http.Json;
using Latch.Server.Tests.Infrastructure;
using Latch.Server.Tests.Runtime;

namespace Latch.Server.Tests.Caching;

/// <summary>
/// The server caches API keys, secret policies, decrypted values and parsed configurations; every change made through
/// the API must be seen by the very next request (the caches are warmed first, so a stale entry would show).
/// </summary>
public sealed class CacheInvalidationTests : RuntimeTestBase
{
    [Fact]
    public async Task Rotation_rollback_revocation_deletion_and_recreation_are_seen_by_the_next_resolution()
    {
        await Owner.CreateSecretAsync(new { key = "CACHED", value = "value-one" });
        Assert.Equal("value-one", await ResolvedAsync("CACHED"));
        Assert.Equal("value-one", await ResolvedAsync("CACHED"));

        Assert.Equal(HttpStatusCode.OK, (await Owner.PatchJsonAsync("/v1/secrets/CACHED", new { value = "value-two" })).StatusCode);
        Assert.Equal("value-two", await ResolvedAsync("CACHED"));

        Assert.Equal(HttpStatusCode.OK, (await Owner.PostAsJsonAsync("/v1/secrets/CACHED/rollback", new { version = 1 })).StatusCode);
        Assert.Equal("value-one", await ResolvedAsync("CACHED"));

        Assert.Equal(HttpStatusCode.OK, (await Owner.PatchJsonAsync("/v1/secrets/CACHED", new { scope = new[] { "other_app" } })).StatusCode);
        await (await Owner.ResolveAsync(new { k = "$Token{CACHED}" }, "my_app", "dev")).AssertProblemAsync(422, "secret_scope_denied");
        Assert.Equal(HttpStatusCode.OK, (await Owner.PatchJsonAsync("/v1/secrets/CACHED", new { scope = Array.Empty<string>() })).StatusCode);
        Assert.Equal("value-one", await ResolvedAsync("CACHED"));

        Assert.Equal(HttpStatusCode.OK, (await Owner.PostAsync("/v1/secrets/CACHED/revoke", null)).StatusCode);
        await (await Owner.ResolveAsync(new { k = "$Token{CACHED}" }, "my_app", "dev")).AssertProblemAsync(422, "secret_revoked");

        Assert.Equal(HttpStatusCode.NoContent, (await Owner.DeleteAsync("/v1/secrets/CACHED")).StatusCode);
        await (await Owner.ResolveAsync(new { k = "$Token{CACHED}" }, "my_app", "dev")).AssertProblemAsync(422, "secret_not_found");

        // Re-created: version 1 again, with another value — never the value the old version 1 had.
        await Owner.CreateSecretAsync(new { key = "CACHED", value = "recreated" });
        Assert.Equal("recreated", await ResolvedAsync("CACHED"));
    }

    [Fact]
    public async Task A_secret_created_after_a_failed_resolution_resolves_at_once()
    {
        await (await Owner.ResolveAsync(new { k = "$Token{LATER}" }, "my_app", "dev")).AssertProblemAsync(422, "secret_not_found");
        await Owner.CreateSecretAsync(new { key = "LATER", value = "now-here" });
        Assert.Equal("now-here", await ResolvedAsync("LATER"));
    }

    [Fact]
    public async Task A_revoked_api_key_is_refused_on_the_very_next_request()
    {
        var created = await (await Owner.PostAsJsonAsync("/v1/keys", new { name = "cached", role = "viewer" })).ReadJsonAsync();
        using var client = Server.Client(created["key"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/v1/secrets")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/v1/secrets")).StatusCode);

        Assert.Equal(HttpStatusCode.NoContent, (await Owner.DeleteAsync($"/v1/keys/{created["id"]!.GetValue<string>()}")).StatusCode);

        await (await client.GetAsync("/v1/secrets")).AssertProblemAsync(401, "unauthorized");
        Assert.Equal(HttpStatusCode.OK, (await Owner.GetAsync("/v1/secrets")).StatusCode);
    }

    [Fact]
    public async Task Configuration_changes_are_seen_by_the_next_action_run()
    {
        await Owner.CreateSecretAsync(new { key = "RUN_TOKEN", value = "run-token-value" });
        await Ok(await Owner.PostAsJsonAsync("/v1/apps", App("/first")));
        await Ok(await Owner.PostAsJsonAsync("/v1/products/shop/apps", new
        {
            access_tag = "cache_app",
            envs = new[] { Mapping("prd", auth: new[] { new { auth_tag = "bearer", data = new { token = "$Token{RUN_TOKEN}" } } }) },
        }));
        await Ok(await RunAsync("cache_app", "call"));
        await Ok(await RunAsync("cache_app", "call"));
        Assert.Equal("/first", Upstream.Last().Path);

        // The app's action changes: the next run uses the new path.
        await Ok(await Owner.PutAsJsonAsync("/v1/apps/cache_app", App("/second")));
        await Ok(await RunAsync("cache_app", "call"));
        Assert.Equal("/second", Upstream.Last().Path);

        // The product app is disconnected: the next run cannot find it.
        Assert.Equal(HttpStatusCode.NoContent, (await Owner.DeleteAsync("/v1/products/shop/apps/cache_app")).StatusCode);
        await (await RunAsync("cache_app", "call")).AssertProblemAsync(404, "product_app_not_found");

        // The product is deleted (with its product apps): the next run cannot find it.
        Assert.Equal(HttpStatusCode.NoContent, (await Owner.DeleteAsync("/v1/products/shop")).StatusCode);
        await (await RunAsync("cache_app", "call")).AssertProblemAsync(404, "product_not_found");
    }

    private object App(string path) => new
    {
        access_tag = "cache_app",
        name = "Cache",
        envs = AppEnvs(),
        auths = new[] { new { tag = "bearer", headers = new Dictionary<string, string> { ["Authorization"] = "Bearer $Auth{token}" } } },
        actions = new object[] { new { @event = "call", method = "GET", path } },
    };

    private async Task<string> ResolvedAsync(string key)
    {
        var response = await Owner.ResolveAsync(new { k = $"$Token{{{key}}}" }, "my_app", "dev");
        var body = await Ok(response);
        return body["document"]!["k"]!.GetValue<string>();
    }
}

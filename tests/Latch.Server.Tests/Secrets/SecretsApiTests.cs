using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Latch.Server.Tests.Infrastructure;

namespace Latch.Server.Tests.Secrets;

public sealed class SecretsApiTests : IAsyncLifetime
{
    private TestServer _server = null!;

    private HttpClient Owner => _server.Owner;

    public async Task InitializeAsync() => _server = await TestServer.StartAsync();

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task Created_secret_answers_metadata_without_its_value()
    {
        var created = await Owner.CreateSecretAsync(new { key = "STRIPE_KEY", value = "sk_test_abc", description = "Stripe", token_type = "api_key", scope = new[] { "stripe_app" }, envs = new[] { "prd" } });

        Assert.Null(created["value"]);
        Assert.Equal("$Token{STRIPE_KEY}", created["reference"]!.GetValue<string>());
        Assert.Equal("active", created["status"]!.GetValue<string>());
        Assert.Equal(1, created["version"]!.GetValue<int>());
        Assert.Equal("api_key", created["token_type"]!.GetValue<string>());
        Assert.Equal(["stripe_app"], created["scope"]!.AsArray().Select(n => n!.GetValue<string>()));
        Assert.EndsWith("Z", created["created_at"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Null(created["expires_at"]);
        Assert.Null(created["last_used_at"]);

        var fetched = await (await Owner.GetAsync("/v1/secrets/STRIPE_KEY")).ReadJsonAsync();
        Assert.Null(fetched["value"]);
        Assert.Equal("Stripe", fetched["description"]!.GetValue<string>());
    }

    [Fact]
    public async Task Create_without_value_generates_a_64_character_value_shown_once()
    {
        var created = await Owner.CreateSecretAsync(new { key = "GENERATED" });
        var value = created["value"]!.GetValue<string>();
        Assert.Equal(64, value.Length);
        Assert.True(value.All(char.IsAsciiLetterOrDigit));

        var fetched = await (await Owner.GetAsync("/v1/secrets/GENERATED")).ReadJsonAsync();
        Assert.Null(fetched["value"]);
        var revealed = await (await Owner.GetAsync("/v1/secrets/GENERATED?reveal=true")).ReadJsonAsync();
        Assert.Equal(value, revealed["value"]!.GetValue<string>());
        var other = await Owner.CreateSecretAsync(new { key = "GENERATED_2" });
        Assert.NotEqual(value, other["value"]!.GetValue<string>());
    }

    [Fact]
    public async Task Duplicate_key_is_a_409_secret_exists()
    {
        await Owner.CreateSecretAsync(new { key = "DUP", value = "one" });
        var response = await Owner.PostAsJsonAsync("/v1/secrets", new { key = "DUP", value = "two" });
        await response.AssertProblemAsync(409, "secret_exists");
        var revealed = await (await Owner.GetAsync("/v1/secrets/DUP?reveal=true")).ReadJsonAsync();
        Assert.Equal("one", revealed["value"]!.GetValue<string>());
    }

    [Theory]
    [InlineData("GET", "/v1/secrets/MISSING")]
    [InlineData("PATCH", "/v1/secrets/MISSING")]
    [InlineData("DELETE", "/v1/secrets/MISSING")]
    [InlineData("POST", "/v1/secrets/MISSING/revoke")]
    [InlineData("GET", "/v1/secrets/MISSING/versions")]
    [InlineData("POST", "/v1/secrets/MISSING/rollback")]
    [InlineData("GET", "/v1/secrets/MISSING?reveal=true")]
    public async Task Every_secrets_route_answers_404_secret_not_found_for_a_missing_key(string method, string url)
    {
        var request = new HttpRequestMessage(new HttpMethod(method), url);
        if (method is "PATCH")
        {
            request.Content = JsonContent.Create(new { description = "x" });
        }
        else if (url.EndsWith("rollback", StringComparison.Ordinal))
        {
            request.Content = JsonContent.Create(new { version = 1 });
        }

        var problem = await (await Owner.SendAsync(request)).AssertProblemAsync(404, "secret_not_found");
        Assert.Equal("Secret 'MISSING' not found", problem["detail"]!.GetValue<string>());
    }

    [Fact]
    public async Task Head_answers_200_for_an_existing_secret_and_404_otherwise()
    {
        await Owner.CreateSecretAsync(new { key = "THERE", value = "v" });
        Assert.Equal(HttpStatusCode.OK, (await Owner.SendAsync(new HttpRequestMessage(HttpMethod.Head, "/v1/secrets/THERE"))).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await Owner.SendAsync(new HttpRequestMessage(HttpMethod.Head, "/v1/secrets/NOT_THERE"))).StatusCode);
    }

    [Fact]
    public async Task Update_with_a_new_value_makes_a_new_version_and_keeps_the_old_one()
    {
        await Owner.CreateSecretAsync(new { key = "ROTATE", value = "v1" });
        var updated = await (await Owner.PatchJsonAsync("/v1/secrets/ROTATE", new { value = "v2", description = "rotated" })).ReadJsonAsync();
        Assert.Equal(2, updated["version"]!.GetValue<int>());
        Assert.Equal("rotated", updated["description"]!.GetValue<string>());
        Assert.Null(updated["value"]);

        var versions = await (await Owner.GetAsync("/v1/secrets/ROTATE/versions")).ReadJsonAsync();
        Assert.Equal([2, 1], versions["items"]!.AsArray().Select(v => v!["version"]!.GetValue<int>()));
        Assert.All(versions["items"]!.AsArray(), v => Assert.Null(v!["value"]));
        Assert.Equal("bootstrap", versions["items"]![0]!["created_by"]!.GetValue<string>());

        var resolved = await (await Owner.ResolveAsync(new { v = "$Token{ROTATE}" }, "any_app", "dev")).ReadJsonAsync();
        Assert.Equal("v2", resolved["document"]!["v"]!.GetValue<string>());
    }

    [Fact]
    public async Task Metadata_update_keeps_the_version_and_null_clears_expiry()
    {
        var future = TimeProvider.System.GetUtcNow().AddDays(3).ToUnixTimeSeconds();
        await Owner.CreateSecretAsync(new { key = "META", value = "v", expires_at = future });
        var updated = await (await Owner.PatchJsonAsync("/v1/secrets/META", new { scope = new[] { "a", "shop:b" }, expires_at = (long?)null })).ReadJsonAsync();
        Assert.Equal(1, updated["version"]!.GetValue<int>());
        Assert.Null(updated["expires_at"]);
        Assert.Equal(["a", "shop:b"], updated["scope"]!.AsArray().Select(n => n!.GetValue<string>()));
    }

    [Fact]
    public async Task Stale_if_match_is_412_version_conflict_and_changes_nothing()
    {
        await Owner.CreateSecretAsync(new { key = "CAS", value = "v1" });
        var ok = await Owner.PatchJsonAsync("/v1/secrets/CAS", new { value = "v2" }, ifMatch: "\"1\"");
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        Assert.Equal("\"2\"", ok.Headers.ETag?.ToString());

        var stale = await Owner.PatchJsonAsync("/v1/secrets/CAS", new { value = "v3" }, ifMatch: "\"1\"");
        await stale.AssertProblemAsync(412, "version_conflict");
        var revealed = await (await Owner.GetAsync("/v1/secrets/CAS?reveal=true")).ReadJsonAsync();
        Assert.Equal("v2", revealed["value"]!.GetValue<string>());
        Assert.Equal(2, revealed["version"]!.GetValue<int>());
    }

    [Fact]
    public async Task Twenty_parallel_rotations_make_twenty_one_contiguous_versions()
    {
        await Owner.CreateSecretAsync(new { key = "HOT", value = "v0" });
        var rotations = Enumerable.Range(1, 20).Select(i => Owner.PatchJsonAsync("/v1/secrets/HOT", new { value = $"value-{i}" }));
        var responses = await Task.WhenAll(rotations);
        Assert.All(responses, r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));

        var versions = await (await Owner.GetAsync("/v1/secrets/HOT/versions")).ReadJsonAsync();
        Assert.Equal(Enumerable.Range(1, 21).Reverse(), versions["items"]!.AsArray().Select(v => v!["version"]!.GetValue<int>()));
        var returned = new List<int>();
        foreach (var r in responses)
        {
            returned.Add((await r.ReadJsonAsync())["version"]!.GetValue<int>());
        }

        Assert.Equal(Enumerable.Range(2, 20), returned.Order());
    }

    [Fact]
    public async Task A_revocation_racing_metadata_edits_is_never_undone_by_them()
    {
        for (var round = 0; round < 5; round++)
        {
            var key = $"RACED_REVOKE_{round}";
            await Owner.CreateSecretAsync(new { key, value = "raced-value" });
            var edits = Enumerable.Range(0, 12).Select(i => Owner.PatchJsonAsync($"/v1/secrets/{key}", new { description = $"edit {i}" })).ToList();
            edits.Insert(6, Owner.PostAsync($"/v1/secrets/{key}/revoke", null));
            var responses = await Task.WhenAll(edits);
            Assert.All(responses, r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));

            // Every edit read the row before or after the revocation; none may write revoked = false back.
            var stored = await (await Owner.GetAsync($"/v1/secrets/{key}")).ReadJsonAsync();
            Assert.Equal("revoked", stored["status"]!.GetValue<string>());
            await (await Owner.ResolveAsync(new { k = $"$Token{{{key}}}" }, "app", "dev")).AssertProblemAsync(422, "secret_revoked");
        }
    }

    [Fact]
    public async Task Revoked_secret_never_resolves_until_unrevoked_or_rotated()
    {
        await Owner.CreateSecretAsync(new { key = "OLD_KEY", value = "old" });
        var revoked = await (await Owner.PostAsync("/v1/secrets/OLD_KEY/revoke", null)).ReadJsonAsync();
        Assert.Equal("revoked", revoked["status"]!.GetValue<string>());

        var problem = await (await Owner.ResolveAsync(new { k = "$Token{OLD_KEY}" }, "app", "dev")).AssertProblemAsync(422, "secret_revoked");
        Assert.Equal("Secret 'OLD_KEY' has been revoked", problem["detail"]!.GetValue<string>());

        await Owner.PatchJsonAsync("/v1/secrets/OLD_KEY", new { revoked = false });
        var resolved = await (await Owner.ResolveAsync(new { k = "$Token{OLD_KEY}" }, "app", "dev")).ReadJsonAsync();
        Assert.Equal("old", resolved["document"]!["k"]!.GetValue<string>());

        await Owner.PostAsync("/v1/secrets/OLD_KEY/revoke", null);
        var rotated = await (await Owner.PatchJsonAsync("/v1/secrets/OLD_KEY", new { value = "new" })).ReadJsonAsync();
        Assert.Equal("active", rotated["status"]!.GetValue<string>());
    }

    [Fact]
    public async Task Deleted_secret_is_gone_and_a_later_resolution_is_not_found()
    {
        await Owner.CreateSecretAsync(new { key = "GONE", value = "v" });
        Assert.Equal(HttpStatusCode.NoContent, (await Owner.DeleteAsync("/v1/secrets/GONE")).StatusCode);
        await (await Owner.GetAsync("/v1/secrets/GONE")).AssertProblemAsync(404, "secret_not_found");
        var problem = await (await Owner.ResolveAsync(new { k = "$Token{GONE}" }, "app", "dev")).AssertProblemAsync(422, "secret_not_found");
        Assert.Equal("Secret 'GONE' not found", problem["errors"]![0]!["message"]!.GetValue<string>());
    }

    [Fact]
    public async Task Rollback_makes_a_new_version_holding_the_old_value()
    {
        await Owner.CreateSecretAsync(new { key = "RB", value = "first" });
        await Owner.PatchJsonAsync("/v1/secrets/RB", new { value = "second" });
        var rolled = await (await Owner.PostAsJsonAsync("/v1/secrets/RB/rollback", new { version = 1 })).ReadJsonAsync();
        Assert.Equal(3, rolled["version"]!.GetValue<int>());
        var revealed = await (await Owner.GetAsync("/v1/secrets/RB?reveal=true")).ReadJsonAsync();
        Assert.Equal("first", revealed["value"]!.GetValue<string>());
        await (await Owner.PostAsJsonAsync("/v1/secrets/RB/rollback", new { version = 9 })).AssertProblemAsync(404, "version_not_found");
    }

    [Fact]
    public async Task List_filters_by_app_env_status_and_expiry()
    {
        var soon = TimeProvider.System.GetUtcNow().AddHours(2).ToUnixTimeSeconds();
        var later = TimeProvider.System.GetUtcNow().AddDays(60).ToUnixTimeSeconds();
        await Owner.CreateSecretAsync(new { key = "ALL_APPS", value = "v" });
        await Owner.CreateSecretAsync(new { key = "STRIPE_ONLY", value = "v", scope = new[] { "stripe_app" } });
        await Owner.CreateSecretAsync(new { key = "SHOP_STRIPE", value = "v", scope = new[] { "shop:stripe_app" } });
        await Owner.CreateSecretAsync(new { key = "PRD_ONLY", value = "v", envs = new[] { "prd" } });
        await Owner.CreateSecretAsync(new { key = "SOON", value = "v", expires_at = soon });
        await Owner.CreateSecretAsync(new { key = "LATER", value = "v", expires_at = later });
        await Owner.CreateSecretAsync(new { key = "REVOKED", value = "v" });
        await Owner.PostAsync("/v1/secrets/REVOKED/revoke", null);

        async Task<string[]> Keys(string query) =>
            (await (await Owner.GetAsync("/v1/secrets" + query)).ReadJsonAsync())["items"]!.AsArray().Select(i => i!["key"]!.GetValue<string>()).ToArray();

        Assert.Equal(["ALL_APPS", "LATER", "PRD_ONLY", "REVOKED", "SOON"], await Keys("?app=other_app"));
        Assert.Equal(["ALL_APPS", "LATER", "PRD_ONLY", "REVOKED", "SHOP_STRIPE", "SOON", "STRIPE_ONLY"], await Keys("?app=stripe_app"));
        Assert.DoesNotContain("PRD_ONLY", await Keys("?env=dev"));
        Assert.Contains("PRD_ONLY", await Keys("?env=prd"));
        Assert.Equal(["REVOKED"], await Keys("?status=revoked"));
        Assert.Equal(["SOON"], await Keys("?expiring_within=86400"));
        Assert.DoesNotContain("REVOKED", await Keys("?status=active"));
    }

    [Fact]
    public async Task List_pages_with_a_cursor_until_next_cursor_is_null()
    {
        for (var i = 0; i < 25; i++)
        {
            await Owner.CreateSecretAsync(new { key = $"PAGE_{i:D2}", value = "v" });
        }

        var seen = new List<string>();
        string? cursor = null;
        var pages = 0;
        do
        {
            var page = await (await Owner.GetAsync($"/v1/secrets?limit=10{(cursor is null ? "" : "&cursor=" + cursor)}")).ReadJsonAsync();
            seen.AddRange(page["items"]!.AsArray().Select(i => i!["key"]!.GetValue<string>()));
            cursor = page["next_cursor"]?.GetValue<string>();
            pages++;
        }
        while (cursor is not null);

        Assert.Equal(3, pages);
        Assert.Equal(Enumerable.Range(0, 25).Select(i => $"PAGE_{i:D2}"), seen);
    }

    [Fact]
    public async Task Expired_secret_shows_status_expired()
    {
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(TimeProvider.System.GetUtcNow());
        await using var server = await TestServer.StartAsync(time: time);
        await server.Owner.CreateSecretAsync(new { key = "SHORT", value = "v", expires_at = time.GetUtcNow().AddMinutes(5).ToUnixTimeSeconds() });
        time.Advance(TimeSpan.FromMinutes(5));
        var fetched = await (await server.Owner.GetAsync("/v1/secrets/SHORT")).ReadJsonAsync();
        Assert.Equal("expired", fetched["status"]!.GetValue<string>());
        var problem = await (await server.Owner.ResolveAsync(new { k = "$Token{SHORT}" }, "app", "dev")).AssertProblemAsync(422, "secret_expired");
        Assert.Equal("Secret 'SHORT' has expired", problem["detail"]!.GetValue<string>());
    }
}

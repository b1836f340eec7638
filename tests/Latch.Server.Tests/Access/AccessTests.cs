using System.Net;
using System.Net.Http.Json;
using Latch.Server.Tests.Infrastructure;

namespace Latch.Server.Tests.Access;

public sealed class AccessTests : IAsyncLifetime
{
    private TestServer _server = null!;

    private HttpClient Owner => _server.Owner;

    public async Task InitializeAsync() => _server = await TestServer.StartAsync();

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task Bootstrap_key_owns_workspace_default()
    {
        var workspace = await (await Owner.GetAsync("/v1/workspace")).ReadJsonAsync();
        Assert.Equal("default", workspace["name"]!.GetValue<string>());
        Assert.StartsWith("ws_", workspace["id"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Missing_or_unknown_key_is_401()
    {
        using var anonymous = _server.Client(null);
        await (await anonymous.GetAsync("/v1/secrets")).AssertProblemAsync(401, "unauthorized");
        using var wrong = _server.Client("latch_not-a-real-key");
        await (await wrong.GetAsync("/v1/secrets")).AssertProblemAsync(401, "unauthorized");
    }

    [Fact]
    public async Task Api_key_is_shown_once_listed_without_it_and_stops_working_when_revoked()
    {
        var created = await (await Owner.PostAsJsonAsync("/v1/keys", new { name = "ci", role = "viewer" })).ReadJsonAsync();
        var key = created["key"]!.GetValue<string>();
        var id = created["id"]!.GetValue<string>();
        Assert.StartsWith("latch_", key, StringComparison.Ordinal);

        var list = await Owner.GetStringAsync("/v1/keys");
        Assert.Contains(id, list, StringComparison.Ordinal);
        Assert.DoesNotContain(key, list, StringComparison.Ordinal);

        using var viewer = _server.Client(key);
        Assert.Equal(HttpStatusCode.OK, (await viewer.GetAsync("/v1/secrets")).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await Owner.DeleteAsync($"/v1/keys/{id}")).StatusCode);
        await (await viewer.GetAsync("/v1/secrets")).AssertProblemAsync(401, "unauthorized");
        await (await Owner.DeleteAsync($"/v1/keys/{id}")).AssertProblemAsync(404, "key_not_found");
    }

    [Fact]
    public async Task Roles_allow_exactly_what_the_spec_says()
    {
        await Owner.CreateSecretAsync(new { key = "ROLE_TEST", value = "v" });
        using var admin = await _server.ClientWithRoleAsync("admin");
        using var runtime = await _server.ClientWithRoleAsync("runtime");
        using var viewer = await _server.ClientWithRoleAsync("viewer");

        // admin: secrets and reveal, not keys
        Assert.Equal(HttpStatusCode.Created, (await admin.PostAsJsonAsync("/v1/secrets", new { key = "BY_ADMIN", value = "v" })).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync("/v1/secrets/ROLE_TEST?reveal=true")).StatusCode);
        await (await admin.GetAsync("/v1/keys")).AssertProblemAsync(403, "forbidden");

        // runtime: resolve and check, no metadata reads, no writes, no reveal
        Assert.Equal(HttpStatusCode.OK, (await runtime.ResolveAsync(new { a = "$Token{ROLE_TEST}" }, "app", "dev")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await runtime.PostAsJsonAsync("/v1/secrets/check", new { document = new { a = "$Token{ROLE_TEST}" }, app = "app", env = "dev" })).StatusCode);
        await (await runtime.PostAsJsonAsync("/v1/secrets", new { key = "BY_RUNTIME", value = "v" })).AssertProblemAsync(403, "forbidden");
        await (await runtime.GetAsync("/v1/secrets")).AssertProblemAsync(403, "forbidden");

        // viewer: metadata only
        Assert.Equal(HttpStatusCode.OK, (await viewer.GetAsync("/v1/secrets/ROLE_TEST")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await viewer.GetAsync("/v1/secrets/ROLE_TEST/versions")).StatusCode);
        await (await viewer.GetAsync("/v1/secrets/ROLE_TEST?reveal=true")).AssertProblemAsync(403, "forbidden");
        await (await viewer.ResolveAsync(new { a = "$Token{ROLE_TEST}" }, "app", "dev")).AssertProblemAsync(403, "forbidden");
        await (await viewer.PatchJsonAsync("/v1/secrets/ROLE_TEST", new { value = "x" })).AssertProblemAsync(403, "forbidden");
        await (await viewer.DeleteAsync("/v1/secrets/ROLE_TEST")).AssertProblemAsync(403, "forbidden");
        await (await viewer.PostAsJsonAsync("/v1/keys", new { name = "x", role = "owner" })).AssertProblemAsync(403, "forbidden");

        var revealed = await (await Owner.GetAsync("/v1/secrets/ROLE_TEST?reveal=true")).ReadJsonAsync();
        Assert.Equal("v", revealed["value"]!.GetValue<string>());
    }

    [Fact]
    public async Task Key_bound_to_apps_and_envs_is_refused_elsewhere_before_anything_resolves()
    {
        await Owner.CreateSecretAsync(new { key = "BOUND", value = "v" });
        using var bound = await _server.ClientWithRoleAsync("runtime", apps: ["stripe_app"], envs: ["prd"]);
        Assert.Equal(HttpStatusCode.OK, (await bound.ResolveAsync(new { a = "$Token{BOUND}" }, "stripe_app", "prd")).StatusCode);
        await (await bound.ResolveAsync(new { a = "$Token{BOUND}" }, "other_app", "prd")).AssertProblemAsync(403, "key_binding_denied");
        await (await bound.ResolveAsync(new { a = "$Token{BOUND}" }, "stripe_app", "dev")).AssertProblemAsync(403, "key_binding_denied");
        await (await bound.PostAsJsonAsync("/v1/secrets/check", new { document = new { a = "$Token{BOUND}" }, app = "x", env = "prd" })).AssertProblemAsync(403, "key_binding_denied");
    }

    [Fact]
    public async Task Only_the_bootstrap_key_creates_workspaces_and_their_resources_are_invisible_to_each_other()
    {
        var response = await Owner.PostAsJsonAsync("/v1/workspaces", new { name = "acme" });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var created = await response.ReadJsonAsync();
        Assert.Equal("acme", created["name"]!.GetValue<string>());
        using var acme = _server.Client(created["owner_key"]!.GetValue<string>());

        await (await acme.PostAsJsonAsync("/v1/workspaces", new { name = "evil" })).AssertProblemAsync(403, "forbidden");
        await (await Owner.PostAsJsonAsync("/v1/workspaces", new { name = "acme" })).AssertProblemAsync(409, "workspace_exists");

        await Owner.CreateSecretAsync(new { key = "DEFAULT_ONLY", value = "default-secret" });
        await acme.CreateSecretAsync(new { key = "ACME_ONLY", value = "acme-secret" });
        await (await acme.GetAsync("/v1/secrets/DEFAULT_ONLY")).AssertProblemAsync(404, "secret_not_found");
        await (await Owner.GetAsync("/v1/secrets/ACME_ONLY")).AssertProblemAsync(404, "secret_not_found");
        await (await acme.ResolveAsync(new { a = "$Token{DEFAULT_ONLY}" }, "app", "dev")).AssertProblemAsync(422, "secret_not_found");
        Assert.DoesNotContain("DEFAULT_ONLY", await acme.GetStringAsync("/v1/secrets"), StringComparison.Ordinal);

        // Same key name in both workspaces stays separate.
        await acme.CreateSecretAsync(new { key = "DEFAULT_ONLY", value = "acme-copy" });
        var mine = await (await Owner.GetAsync("/v1/secrets/DEFAULT_ONLY?reveal=true")).ReadJsonAsync();
        Assert.Equal("default-secret", mine["value"]!.GetValue<string>());

        var acmeKey = await (await acme.PostAsJsonAsync("/v1/keys", new { name = "k", role = "viewer" })).ReadJsonAsync();
        await (await Owner.DeleteAsync($"/v1/keys/{acmeKey["id"]!.GetValue<string>()}")).AssertProblemAsync(404, "key_not_found");
    }

    [Fact]
    public async Task Expired_api_key_is_refused()
    {
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(TimeProvider.System.GetUtcNow());
        await using var server = await TestServer.StartAsync(time: time);
        var created = await (await server.Owner.PostAsJsonAsync("/v1/keys", new { name = "temp", role = "viewer", expires_at = time.GetUtcNow().AddHours(1).ToUnixTimeSeconds() })).ReadJsonAsync();
        using var temp = server.Client(created["key"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.OK, (await temp.GetAsync("/v1/workspace")).StatusCode);
        time.Advance(TimeSpan.FromHours(1));
        await (await temp.GetAsync("/v1/workspace")).AssertProblemAsync(401, "unauthorized");
    }
}

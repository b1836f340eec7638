using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using Latch.Server.Tests.Infrastructure;

namespace Latch.Server.Tests.Runtime;

public sealed class ActionRunTests : RuntimeTestBase
{
    private const string Token = "tok_live_Zx9/+QrS tuv=";

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        await Owner.CreateSecretAsync(new { key = "API_TOKEN", value = Token });
        await Ok(await Owner.PostAsJsonAsync("/v1/apps", new
        {
            access_tag = "api_app",
            name = "API",
            envs = AppEnvs(),
            auths = new[] { new { tag = "bearer", headers = new Dictionary<string, string> { ["Authorization"] = "Bearer $Auth{token}" } } },
            actions = new object[]
            {
                new { @event = "get_customer", method = "GET", path = "/v1/customers/{id}", query = new Dictionary<string, string> { ["expand"] = "card" } },
                new { @event = "echo_encoded", method = "GET", path = "/encoded" },
                new { @event = "echo_php", method = "GET", path = "/php-json" },
                new { @event = "variable_path", method = "GET", path = "/accounts/$Variable{ACCOUNT}" },
                new { @event = "flaky_get", method = "GET", path = "/flaky" },
                new { @event = "flaky_post", method = "POST", path = "/flaky" },
                new { @event = "slow", method = "GET", path = "/slow" },
                new { @event = "redirect", method = "GET", path = "/redirect" },
                new { @event = "status", method = "GET", path = "/status/{code}" },
                new { @event = "uses_variable", method = "POST", path = "/v", headers = new Dictionary<string, string> { ["X-V"] = "$Variable{MISSING}" } },
            },
        }));
        await Ok(await Owner.PostAsJsonAsync("/v1/products/shop/apps", new
        {
            access_tag = "api_app",
            envs = new[]
            {
                Mapping("prd", variables: new[] { new { key = "ACCOUNT", value = "$Token{API_TOKEN}" } }, auth: new[] { new { auth_tag = "bearer", data = new { token = "$Token{API_TOKEN}" } } }),
                Mapping("old", auth: new[] { new { auth_tag = "bearer", data = new { token = "$Token{API_TOKEN}" } } }),
            },
        }));
    }

    [Fact]
    public async Task Path_parameters_are_percent_encoded_and_cannot_change_path_query_or_host()
    {
        var run = await Ok(await RunAsync("api_app", "get_customer", input: new { @params = new { id = "../admin?x=1#frag@evil.example/ü" }, query = new { limit = "5 & more" } }));

        var received = Upstream.Last();
        Assert.Equal(200, run["status"]!.GetValue<int>());
        Assert.StartsWith("/v1/customers/..%2Fadmin%3Fx%3D1%23frag%40evil.example%2F%C3%BC?", received.RawTarget, StringComparison.Ordinal);
        Assert.Contains("expand=card", received.RawTarget, StringComparison.Ordinal);
        Assert.Contains("limit=5%20%26%20more", received.RawTarget, StringComparison.Ordinal);
        // The whole parameter stayed one path segment under /v1/customers (ASP.NET keeps %2F encoded in Path).
        Assert.Equal(["", "v1", "customers", "..%2Fadmin?x=1#frag@evil.example%2Fü"], received.Path.Split('/'));
    }

    [Theory]
    [InlineData("..")]
    [InlineData(".")]
    [InlineData("")]
    public async Task Dot_segments_and_empty_parameters_are_refused(string id)
    {
        var count = Upstream.Received.Count;
        await (await RunAsync("api_app", "get_customer", input: new { @params = new { id } })).AssertProblemAsync(400, "validation_failed");
        await (await RunAsync("api_app", "get_customer")).AssertProblemAsync(400, "validation_failed");
        Assert.Equal(count, Upstream.Received.Count);
    }

    [Fact]
    public async Task Resolved_values_are_masked_as_is_percent_encoded_and_base64_in_headers_and_body()
    {
        var run = await Ok(await RunAsync("api_app", "echo_encoded"));

        Assert.Equal("Bearer " + Token, Upstream.Last().Headers["Authorization"]);
        var text = run.ToJsonString();
        Assert.DoesNotContain(Token, text, StringComparison.Ordinal);
        Assert.DoesNotContain(Uri.EscapeDataString(Token), text, StringComparison.Ordinal);
        Assert.DoesNotContain(Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(Token)), text, StringComparison.Ordinal);
        Assert.Equal("plain=*** url=*** b64=***", run["body"]!.GetValue<string>());
        Assert.Equal("***", run["headers"]!["X-Echo-Token"]!.GetValue<string>());
    }

    [Fact]
    public async Task Values_are_masked_when_the_upstream_escapes_slashes_and_uses_lowercase_unicode_escapes()
    {
        var run = await Ok(await RunAsync("api_app", "echo_php"));
        Assert.Equal("***", run["body"]!["token"]!.GetValue<string>());
        Assert.DoesNotContain("Zx9", run.ToJsonString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_variable_holding_a_reference_is_refused_in_the_path_and_nothing_is_sent()
    {
        var count = Upstream.Received.Count;
        var problem = await (await RunAsync("api_app", "variable_path")).AssertProblemAsync(422, "reference_in_path");
        Assert.DoesNotContain(Token, problem.ToJsonString(), StringComparison.Ordinal);
        Assert.Equal(count, Upstream.Received.Count);
    }

    [Fact]
    public async Task Rotation_takes_effect_at_the_next_action()
    {
        await Ok(await RunAsync("api_app", "echo_encoded"));
        Assert.Equal("Bearer " + Token, Upstream.Last().Headers["Authorization"]);

        await Ok(await Owner.PatchJsonAsync("/v1/secrets/API_TOKEN", new { value = "rotated-token-value" }));
        await Ok(await RunAsync("api_app", "echo_encoded"));

        Assert.Equal("Bearer rotated-token-value", Upstream.Last().Headers["Authorization"]);
    }

    [Fact]
    public async Task A_value_with_cr_or_lf_is_never_put_in_a_header()
    {
        await Ok(await Owner.PatchJsonAsync("/v1/secrets/API_TOKEN", new { value = "evil\r\nX-Injected: yes" }));
        var count = Upstream.Received.Count;

        var problem = await (await RunAsync("api_app", "echo_encoded")).AssertProblemAsync(422, "invalid_header_value");

        Assert.Contains("API_TOKEN", problem["detail"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.DoesNotContain("X-Injected", problem.ToJsonString(), StringComparison.Ordinal);
        Assert.Equal(count, Upstream.Received.Count);
    }

    [Fact]
    public async Task Resolution_failure_is_422_with_every_error_and_nothing_is_sent()
    {
        await Owner.PostAsync("/v1/secrets/API_TOKEN/revoke", null);
        var count = Upstream.Received.Count;
        var problem = await (await RunAsync("api_app", "echo_encoded", input: new { headers = new Dictionary<string, string> { ["X-Other"] = "$Token{NOT_THERE}" } }))
            .AssertProblemAsync(422, "resolution_failed");
        var codes = problem["errors"]!.AsArray().Select(e => e!["code"]!.GetValue<string>()).Order().ToArray();
        Assert.Equal(["secret_not_found", "secret_revoked"], codes);
        Assert.Equal(count, Upstream.Received.Count);
    }

    [Fact]
    public async Task Unknown_variable_is_a_clear_error_and_nothing_is_sent()
    {
        var count = Upstream.Received.Count;
        var problem = await (await RunAsync("api_app", "uses_variable")).AssertProblemAsync(422, "unknown_variable");
        Assert.Contains("Variable 'MISSING'", problem["detail"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal(count, Upstream.Received.Count);
    }

    [Fact]
    public async Task Inactive_environment_refuses_to_run()
    {
        var problem = await (await RunAsync("api_app", "echo_encoded", env: "old")).AssertProblemAsync(409, "environment_inactive");
        Assert.Contains("inactive", problem["detail"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Unknown_product_app_or_action_is_404()
    {
        await (await Owner.PostAsJsonAsync("/v1/actions/run", new { env = "prd", product = "nope", app = "api_app", @event = "x" })).AssertProblemAsync(404, "product_not_found");
        await (await RunAsync("api_app", "no_such_event")).AssertProblemAsync(404, "action_not_found");
        await (await RunAsync("other_app", "x")).AssertProblemAsync(404, "product_app_not_found");
        await (await RunAsync("api_app", "echo_encoded", env: "nowhere")).AssertProblemAsync(404, "environment_not_found");
    }

    [Fact]
    public async Task Upstream_status_and_headers_are_passed_through()
    {
        var run = await Ok(await RunAsync("api_app", "status", input: new { @params = new { code = "418" } }));
        Assert.Equal(418, run["status"]!.GetValue<int>());
        Assert.Equal(418, run["body"]!["status"]!.GetValue<int>());
    }

    [Fact]
    public async Task Redirects_are_returned_not_followed()
    {
        var run = await Ok(await RunAsync("api_app", "redirect"));
        Assert.Equal(302, run["status"]!.GetValue<int>());
        Assert.Equal("http://127.0.0.2:9/stolen", run["headers"]!["Location"]!.GetValue<string>());
    }

    [Fact]
    public async Task Retries_apply_to_idempotent_methods_on_5xx_only()
    {
        var post = await Ok(await RunAsync("api_app", "flaky_post", retries: 3));
        Assert.Equal(503, post["status"]!.GetValue<int>());
        Assert.Single(Upstream.Received, r => r.Path == "/flaky" && r.Method == "POST");

        var get = await Ok(await RunAsync("api_app", "flaky_get", retries: 3));
        Assert.Equal(200, get["status"]!.GetValue<int>());
        Assert.Equal(2, Upstream.Received.Count(r => r.Path == "/flaky" && r.Method == "GET"));
    }

    [Fact]
    public async Task Unreachable_upstream_is_502_and_timeout_is_504()
    {
        int closedPort;
        using (var listener = new TcpListener(IPAddress.Loopback, 0))
        {
            listener.Start();
            closedPort = ((IPEndPoint)listener.LocalEndpoint).Port;
        }

        await Ok(await Owner.PostAsJsonAsync("/v1/apps", new
        {
            access_tag = "down_app",
            name = "Down",
            envs = new[] { new { slug = "live", base_url = $"http://127.0.0.1:{closedPort}" } },
            actions = new[] { new { @event = "ping", method = "GET", path = "/ping" } },
        }));
        await Ok(await Owner.PostAsJsonAsync("/v1/products/shop/apps", new { access_tag = "down_app", envs = new[] { Mapping("prd") } }));
        await (await RunAsync("down_app", "ping", retries: 1)).AssertProblemAsync(502, "upstream_unreachable");

        await using var impatient = await TestServer.StartAsync();
        await using var _ = impatient;
        var server = await Latch.Server.LatchServer.StartAsync(new ServeOptions
        {
            Urls = "http://127.0.0.1:0",
            DataDirectory = TestServer.NewDataDirectory(),
            MasterKey = Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32)),
            BootstrapKey = TestServer.BootstrapKey,
            ActionTimeout = TimeSpan.FromMilliseconds(500),
            EgressAllow = ["127.0.0.0/8"],
        });
        await using (server)
        {
            using var owner = new HttpClient { BaseAddress = server.BaseAddress };
            owner.DefaultRequestHeaders.Authorization = new("Bearer", TestServer.BootstrapKey);
            await Ok(await owner.PostAsJsonAsync("/v1/products", new { tag = "shop", name = "Shop", envs = new[] { new { slug = "prd", env_name = "P" } } }));
            await Ok(await owner.PostAsJsonAsync("/v1/apps", new { access_tag = "slow_app", name = "Slow", envs = AppEnvs(), actions = new[] { new { @event = "slow", method = "GET", path = "/slow" } } }));
            await Ok(await owner.PostAsJsonAsync("/v1/products/shop/apps", new { access_tag = "slow_app", envs = new[] { Mapping("prd") } }));
            var response = await owner.PostAsJsonAsync("/v1/actions/run", new { env = "prd", product = "shop", app = "slow_app", @event = "slow" });
            await response.AssertProblemAsync(504, "upstream_timeout");
        }
    }

    [Fact]
    public async Task A_runtime_key_bound_elsewhere_is_refused_before_anything_is_sent()
    {
        using var bound = await Server.ClientWithRoleAsync("runtime", apps: ["other_app"]);
        var count = Upstream.Received.Count;
        await (await bound.PostAsJsonAsync("/v1/actions/run", new { env = "prd", product = "shop", app = "api_app", @event = "echo_encoded" })).AssertProblemAsync(403, "key_binding_denied");
        using var viewer = await Server.ClientWithRoleAsync("viewer");
        await (await viewer.PostAsJsonAsync("/v1/actions/run", new { env = "prd", product = "shop", app = "api_app", @event = "echo_encoded" })).AssertProblemAsync(403, "forbidden");
        Assert.Equal(count, Upstream.Received.Count);
    }

    [Fact]
    public async Task Usage_lists_every_stored_configuration_that_references_the_secret()
    {
        await Ok(await RunAsync("api_app", "echo_encoded"));
        var usage = await Ok(await Owner.GetAsync("/v1/secrets/API_TOKEN/usage"));
        var references = usage["references"]!.AsArray();
        Assert.Equal(3, references.Count); // prd: the ACCOUNT variable and the auth token; old: the auth token
        Assert.Contains(references, r => r!["path"]!.GetValue<string>() == "$.envs[0].variables[0].value");
        Assert.Contains(references, r => r!["env"]!.GetValue<string>() == "prd" && r["path"]!.GetValue<string>() == "$.envs[0].auth[0].data.token" && r["app"]!.GetValue<string>() == "api_app" && r["product"]!.GetValue<string>() == "shop");
        var recent = Assert.Single(usage["recent"]!.AsArray());
        Assert.Equal("action:api_app.echo_encoded", recent!["context"]!.GetValue<string>());
        Assert.Equal(1, recent["count"]!.GetValue<long>());

        Assert.Equal(HttpStatusCode.NoContent, (await Owner.DeleteAsync("/v1/products/shop/apps/api_app")).StatusCode);
        var after = await Ok(await Owner.GetAsync("/v1/secrets/API_TOKEN/usage"));
        Assert.Empty(after["references"]!.AsArray());
    }
}

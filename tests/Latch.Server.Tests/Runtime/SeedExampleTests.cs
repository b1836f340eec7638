using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Latch.Server.Tests.Infrastructure;

namespace Latch.Server.Tests.Runtime;

/// <summary>The seed's examples, as HTTP calls against a real upstream that records what it received.</summary>
public sealed class SeedExampleTests : RuntimeTestBase
{
    [Fact]
    public async Task Stripe_app_sends_the_api_key_from_a_token_in_its_auth_header()
    {
        await Owner.CreateSecretAsync(new { key = "STRIPE_API_KEY", value = "sk_test_51HxStripeSecret", scope = new[] { "stripe_app" } });
        await Ok(await Owner.PostAsJsonAsync("/v1/apps", new
        {
            access_tag = "stripe_app",
            name = "Stripe",
            envs = AppEnvs(),
            auths = new[] { new { tag = "api_key_auth", headers = new Dictionary<string, string> { ["Authorization"] = "Bearer $Auth{api_key}" } } },
            actions = new[] { new { @event = "create_charge", method = "POST", path = "/v1/charges", body = new { amount = 2000, currency = "usd" } } },
        }));
        var added = await Ok(await Owner.PostAsJsonAsync("/v1/products/shop/apps", new
        {
            access_tag = "stripe_app",
            envs = new[] { Mapping("prd", auth: new[] { new { auth_tag = "api_key_auth", data = new { api_key = "$Token{STRIPE_API_KEY}" } } }) },
        }));
        Assert.Empty(added["warnings"]!.AsArray());

        var run = await Ok(await RunAsync("stripe_app", "create_charge"));

        var received = Upstream.Last();
        Assert.Equal("POST", received.Method);
        Assert.Equal("/v1/charges", received.Path);
        Assert.Equal("Bearer sk_test_51HxStripeSecret", received.Headers["Authorization"]);
        Assert.Equal(2000, JsonNode.Parse(received.Body)!["amount"]!.GetValue<int>());
        Assert.Equal(200, run["status"]!.GetValue<int>());
        // The upstream echoed the header back: the caller sees it masked.
        Assert.Equal("Bearer ***", run["body"]!["headers"]!["Authorization"]!.GetValue<string>());
        Assert.DoesNotContain("sk_test_51HxStripeSecret", run.ToJsonString(), StringComparison.Ordinal);
        Assert.False(string.IsNullOrEmpty(run["request_id"]!.GetValue<string>()));
        Assert.True(run["duration_ms"]!.GetValue<long>() >= 0);
    }

    [Fact]
    public async Task Email_service_uses_a_secret_variable_and_a_literal_variable()
    {
        await Owner.CreateSecretAsync(new { key = "SENDGRID_KEY", value = "SG.sendgrid-secret-value" });
        await Ok(await Owner.PostAsJsonAsync("/v1/apps", new
        {
            access_tag = "email_app",
            name = "Email service",
            envs = AppEnvs(),
            actions = new[]
            {
                new
                {
                    @event = "send_email",
                    method = "POST",
                    path = "/v3/mail/send",
                    headers = new Dictionary<string, string> { ["Authorization"] = "Bearer $Variable{SENDGRID_KEY}" },
                    body = (object)new { from = "$Variable{FROM_EMAIL}", subject = "Hello" },
                },
            },
        }));
        await Ok(await Owner.PostAsJsonAsync("/v1/products/shop/apps", new
        {
            access_tag = "email_app",
            envs = new[] { Mapping("prd", variables: new[] { new { key = "SENDGRID_KEY", value = "$Token{SENDGRID_KEY}" }, new { key = "FROM_EMAIL", value = "noreply@shop.example" } }) },
        }));

        await Ok(await RunAsync("email_app", "send_email"));

        var received = Upstream.Last();
        Assert.Equal("Bearer SG.sendgrid-secret-value", received.Headers["Authorization"]);
        Assert.Equal("noreply@shop.example", JsonNode.Parse(received.Body)!["from"]!.GetValue<string>());
    }

    [Fact]
    public async Task Custom_action_headers_carry_their_tokens()
    {
        await Owner.CreateSecretAsync(new { key = "CUSTOM_API_KEY", value = "custom-api-key-123" });
        await Owner.CreateSecretAsync(new { key = "WEBHOOK_SECRET", value = "whsec-custom-456" });
        await Ok(await Owner.PostAsJsonAsync("/v1/apps", new
        {
            access_tag = "custom_app",
            name = "Custom",
            envs = AppEnvs(),
            actions = new[]
            {
                new
                {
                    @event = "notify",
                    method = "POST",
                    path = "/notify",
                    headers = new Dictionary<string, string> { ["X-API-Key"] = "$Token{CUSTOM_API_KEY}", ["X-Webhook-Secret"] = "$Token{WEBHOOK_SECRET}" },
                },
            },
        }));
        await Ok(await Owner.PostAsJsonAsync("/v1/products/shop/apps", new { access_tag = "custom_app", envs = new[] { Mapping("prd") } }));

        await Ok(await RunAsync("custom_app", "notify", input: new { body = new { message = "hi" } }));

        var received = Upstream.Last();
        Assert.Equal("custom-api-key-123", received.Headers["X-API-Key"]);
        Assert.Equal("whsec-custom-456", received.Headers["X-Webhook-Secret"]);
        Assert.Equal("hi", JsonNode.Parse(received.Body)!["message"]!.GetValue<string>());
    }

    [Fact]
    public async Task Multi_service_app_resolves_eight_references_in_one_request()
    {
        for (var i = 1; i <= 8; i++)
        {
            await Owner.CreateSecretAsync(new { key = $"SERVICE_{i}_KEY", value = $"service-{i}-secret-value" });
        }

        await Ok(await Owner.PostAsJsonAsync("/v1/apps", new
        {
            access_tag = "multi_service_app",
            name = "Multi service",
            envs = AppEnvs(),
            auths = new[] { new { tag = "keys", headers = new Dictionary<string, string> { ["X-Key-1"] = "$Auth{k1}", ["X-Key-2"] = "$Auth{k2}" }, query = new Dictionary<string, string> { ["k3"] = "$Auth{k3}" } } },
            actions = new[]
            {
                new
                {
                    @event = "sync",
                    method = "POST",
                    path = "/sync",
                    headers = new Dictionary<string, string> { ["X-Key-4"] = "$Token{SERVICE_4_KEY}" },
                    query = new Dictionary<string, string> { ["k5"] = "$Token{SERVICE_5_KEY}" },
                    body = (object)new { k6 = "$Token{SERVICE_6_KEY}", nested = new { k7 = "$Variable{K7}", list = new[] { "$Token{SERVICE_8_KEY}" } } },
                },
            },
        }));
        await Ok(await Owner.PostAsJsonAsync("/v1/products/shop/apps", new
        {
            access_tag = "multi_service_app",
            envs = new[]
            {
                Mapping("prd",
                    variables: new[] { new { key = "K7", value = "$Token{SERVICE_7_KEY}" } },
                    auth: new[] { new { auth_tag = "keys", data = new { k1 = "$Token{SERVICE_1_KEY}", k2 = "$Token{SERVICE_2_KEY}", k3 = "$Token{SERVICE_3_KEY}" } } }),
            },
        }));

        var run = await Ok(await RunAsync("multi_service_app", "sync"));

        var received = Upstream.Last();
        Assert.Equal("service-1-secret-value", received.Headers["X-Key-1"]);
        Assert.Equal("service-2-secret-value", received.Headers["X-Key-2"]);
        Assert.Equal("service-4-secret-value", received.Headers["X-Key-4"]);
        Assert.Contains("k3=service-3-secret-value", received.RawTarget, StringComparison.Ordinal);
        Assert.Contains("k5=service-5-secret-value", received.RawTarget, StringComparison.Ordinal);
        var body = JsonNode.Parse(received.Body)!;
        Assert.Equal("service-6-secret-value", body["k6"]!.GetValue<string>());
        Assert.Equal("service-7-secret-value", body["nested"]!["k7"]!.GetValue<string>());
        Assert.Equal("service-8-secret-value", body["nested"]!["list"]![0]!.GetValue<string>());
        var echoed = run.ToJsonString();
        for (var i = 1; i <= 8; i++)
        {
            Assert.DoesNotContain($"service-{i}-secret-value", echoed, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Scope_example_payment_app_works_and_analytics_app_gets_the_scope_error()
    {
        await Owner.CreateSecretAsync(new { key = "PAYMENT_KEY", value = "payment-secret", scope = new[] { "payment_app" } });
        foreach (var tag in new[] { "payment_app", "analytics_app" })
        {
            await Ok(await Owner.PostAsJsonAsync("/v1/apps", new
            {
                access_tag = tag,
                name = tag,
                envs = AppEnvs(),
                actions = new[] { new { @event = "call", method = "POST", path = "/call", headers = new Dictionary<string, string> { ["X-Key"] = "$Token{PAYMENT_KEY}" } } },
            }));
            var added = await Ok(await Owner.PostAsJsonAsync("/v1/products/shop/apps", new { access_tag = tag, envs = new[] { Mapping("prd") } }));
            Assert.Empty(added["warnings"]!.AsArray()); // the reference lives in the app's action, not the product app's data
        }

        await Ok(await RunAsync("payment_app", "call"));
        Assert.Equal("payment-secret", Upstream.Last().Headers["X-Key"]);
        var count = Upstream.Received.Count;

        var problem = await (await RunAsync("analytics_app", "call")).AssertProblemAsync(422, "secret_scope_denied");
        Assert.Equal("Secret 'PAYMENT_KEY' is not accessible by app 'analytics_app'", problem["detail"]!.GetValue<string>());
        Assert.Equal("$.headers.X-Key", problem["errors"]![0]!["path"]!.GetValue<string>());
        Assert.Equal(count, Upstream.Received.Count); // nothing was sent
    }

    [Fact]
    public async Task Environment_example_prd_works_and_dev_gets_the_environment_error()
    {
        await Owner.CreateSecretAsync(new { key = "PROD_DB_URL", value = "postgres://prod-secret", envs = new[] { "prd" } });
        await Ok(await Owner.PostAsJsonAsync("/v1/apps", new
        {
            access_tag = "db_app",
            name = "DB",
            envs = AppEnvs(),
            actions = new[] { new { @event = "connect", method = "POST", path = "/connect", headers = new Dictionary<string, string> { ["X-Db"] = "$Token{PROD_DB_URL}" } } },
        }));
        var added = await Ok(await Owner.PostAsJsonAsync("/v1/products/shop/apps", new
        {
            access_tag = "db_app",
            envs = new[] { Mapping("prd", variables: new[] { new { key = "DB", value = "$Token{PROD_DB_URL}" } }), Mapping("dev", variables: new[] { new { key = "DB", value = "$Token{PROD_DB_URL}" } }, appEnv: "test") },
        }));
        var warning = Assert.Single(added["warnings"]!.AsArray());
        Assert.Equal("dev", warning!["env"]!.GetValue<string>());
        Assert.Equal("$.envs[1].variables[0].value", warning["path"]!.GetValue<string>());
        Assert.Equal("secret_env_denied", warning["code"]!.GetValue<string>());

        await Ok(await RunAsync("db_app", "connect", env: "prd"));
        Assert.Equal("postgres://prod-secret", Upstream.Last().Headers["X-Db"]);
        var count = Upstream.Received.Count;

        var problem = await (await RunAsync("db_app", "connect", env: "dev")).AssertProblemAsync(422, "secret_env_denied");
        Assert.Equal("Secret 'PROD_DB_URL' is not available in environment 'dev'", problem["detail"]!.GetValue<string>());
        Assert.Equal(count, Upstream.Received.Count);
    }
}

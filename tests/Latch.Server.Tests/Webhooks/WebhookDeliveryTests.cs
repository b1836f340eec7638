using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using Latch.Server.Tests.Infrastructure;
using Microsoft.Extensions.Time.Testing;

namespace Latch.Server.Tests.Webhooks;

public sealed class WebhookDeliveryTests : IAsyncLifetime
{
    private static readonly DateTimeOffset Start = DateTimeOffset.FromUnixTimeSeconds(1_600_000_000);
    private readonly FakeTimeProvider _time = new(Start);
    private TestServer _server = null!;
    private string _workspace = "";

    private HttpClient Owner => _server.Owner;

    private long Now => _time.GetUtcNow().ToUnixTimeSeconds();

    public async Task InitializeAsync()
    {
        _server = await TestServer.StartAsync(time: _time);
        await Owner.CreateProductAsync("shop", "dev", "prd");
        _workspace = await Owner.WorkspaceIdAsync();
    }

    public async Task DisposeAsync() => await _server.DisposeAsync();

    private string Url(string tag, string env = "prd", string product = "shop") => $"/hooks/{_workspace}/{product}/{tag}/{env}";

    private async Task HookAsync(string tag, string scheme, string secretKey, string secretValue, object? extra = null, string app = "payments")
    {
        await Owner.CreateSecretAsync(new { key = secretKey, value = secretValue });
        var body = new JsonObject
        {
            ["name"] = tag, ["tag"] = tag, ["app"] = app, ["signing_secret"] = $"$Token{{{secretKey}}}", ["scheme"] = scheme,
        };
        if (extra is not null)
        {
            foreach (var (name, value) in JsonNode.Parse(extra.Json())!.AsObject())
            {
                body[name] = value?.DeepClone();
            }
        }

        var response = await Owner.PostAsync($"/v1/products/shop/webhooks", new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json"));
        Assert.True((int)response.StatusCode == 201, await response.Content.ReadAsStringAsync());
    }

    /// <summary>A correctly signed delivery of each scheme.</summary>
    private (string Name, string Value)[] Signed(string scheme, string secret, byte[] body, string header = "X-Signature") => scheme switch
    {
        "github" => [("X-Hub-Signature-256", WebhookCalls.GitHub(secret, body))],
        "stripe" => [("Stripe-Signature", $"t={Now},v1={WebhookCalls.StripeV1(secret, Now, body)}")],
        "standard" => [("webhook-id", "msg_1"), ("webhook-timestamp", Now.ToString(System.Globalization.CultureInfo.InvariantCulture)),
            ("webhook-signature", WebhookCalls.Standard(secret, "msg_1", Now, body))],
        _ => [(header, WebhookCalls.Hex(secret, body))],
    };

    private static string SecretFor(string scheme) => scheme == "standard" ? WebhookCalls.NewStandardSecret() : "sig-" + Guid.NewGuid().ToString("N");

    [Theory]
    [InlineData("github")]
    [InlineData("stripe")]
    [InlineData("standard")]
    [InlineData("hmac_sha256")]
    public async Task A_correctly_signed_delivery_is_204_and_listed(string scheme)
    {
        var secret = SecretFor(scheme);
        await HookAsync("hook", scheme, "HOOK_SECRET", secret);
        var body = Encoding.UTF8.GetBytes("{\"event\":\"paid\",\"amount\":42}");

        var response = await _server.DeliverAsync(Url("hook"), body, [.. Signed(scheme, secret, body), ("X-Request-Source", "tests")]);

        Assert.Equal(204, (int)response.StatusCode);
        var delivery = Assert.Single(await Owner.DeliveriesAsync("shop", "hook"));
        Assert.Equal("{\"event\":\"paid\",\"amount\":42}", delivery!["body"]!.GetValue<string>());
        Assert.Equal("prd", delivery["env"]!.GetValue<string>());
        Assert.StartsWith("dlv_", delivery["id"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal(Start.UtcDateTime, delivery["received_at"]!.GetValue<DateTime>().ToUniversalTime());
        Assert.Equal("tests", delivery["headers"]!["X-Request-Source"]!.GetValue<string>());

        var verified = Assert.Single(_server.Audit("webhook.verified"));
        Assert.Equal(("shop", "payments", "prd", "webhook:hook", "HOOK_SECRET", 1), (verified.Product, verified.App, verified.Env, verified.Context, verified.SecretKey, verified.Version));
        var resolved = Assert.Single(_server.Audit("secret.resolved"));
        Assert.Equal("webhook:hook", resolved.Context);
    }

    [Fact]
    public async Task GitHubs_documented_example_verifies_end_to_end()
    {
        await HookAsync("gh", "github", "GH_SECRET", "It's a Secret to Everybody");
        var response = await _server.DeliverAsync(Url("gh"), Encoding.UTF8.GetBytes("Hello, World!"),
            ("X-Hub-Signature-256", "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"));
        Assert.Equal(204, (int)response.StatusCode);
    }

    [Fact]
    public async Task Standard_webhooks_documented_example_verifies_end_to_end_at_its_timestamp()
    {
        // The example is signed at 1614265330, after this class's start time: move the clock there.
        _time.SetUtcNow(DateTimeOffset.FromUnixTimeSeconds(1614265330));
        await HookAsync("std", "standard", "STD_SECRET", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
        var response = await _server.DeliverAsync(Url("std"), Encoding.UTF8.GetBytes("{\"test\": 2432232314}"),
            ("webhook-id", "msg_p5jXN8AQM9LWM0D4loKWxJek"), ("webhook-timestamp", "1614265330"),
            ("webhook-signature", "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="));
        Assert.Equal(204, (int)response.StatusCode);
    }

    [Fact]
    public async Task A_bad_signature_is_401_not_stored_counted_and_audited_without_the_body()
    {
        await HookAsync("gh", "github", "GH_SECRET", "the-real-secret");
        var body = Encoding.UTF8.GetBytes("{\"marker\":\"BODY-MARKER-7731\"}");

        var response = await _server.DeliverAsync(Url("gh"), body, ("X-Hub-Signature-256", WebhookCalls.GitHub("a-guessed-secret", body)));

        var problem = await response.AssertProblemAsync(401, "webhook_unauthorized");
        Assert.Equal("The delivery's signature could not be verified", problem["detail"]!.GetValue<string>());
        Assert.Empty(await Owner.DeliveriesAsync("shop", "gh"));
        var hook = await (await Owner.GetAsync("/v1/products/shop/webhooks/gh")).ReadJsonAsync();
        Assert.Equal(1, hook["rejected_count"]!.GetValue<long>());
        Assert.Equal("signature_mismatch", hook["last_rejection_reason"]!.GetValue<string>());
        var rejected = Assert.Single(_server.Audit("webhook.rejected"));
        Assert.Equal(("signature_mismatch", "prd", "webhook:gh", "GH_SECRET"), (rejected.Code, rejected.Env, rejected.Context, rejected.SecretKey));
        var audit = _server.AllAuditText();
        Assert.DoesNotContain("BODY-MARKER-7731", audit, StringComparison.Ordinal);
        Assert.DoesNotContain("the-real-secret", audit, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("github")]
    [InlineData("stripe")]
    [InlineData("standard")]
    [InlineData("hmac_sha256")]
    public async Task A_delivery_without_its_signature_header_is_401_signature_missing(string scheme)
    {
        await HookAsync("hook", scheme, "HOOK_SECRET", SecretFor(scheme));
        var response = await _server.DeliverAsync(Url("hook"), Encoding.UTF8.GetBytes("{}"), ("X-Other", "x"));

        await response.AssertProblemAsync(401, "webhook_unauthorized");
        Assert.Equal("signature_missing", Assert.Single(_server.Audit("webhook.rejected")).Code);
        Assert.Empty(_server.Audit("secret.resolved"));
        Assert.Empty(await Owner.DeliveriesAsync("shop", "hook"));
    }

    [Theory]
    [InlineData("stripe")]
    [InlineData("standard")]
    public async Task A_correctly_signed_but_stale_delivery_is_401_timestamp_stale(string scheme)
    {
        var secret = SecretFor(scheme);
        await HookAsync("hook", scheme, "HOOK_SECRET", secret, new { tolerance_seconds = 120 });
        var body = Encoding.UTF8.GetBytes("{\"n\":1}");
        var headers = Signed(scheme, secret, body);

        _time.Advance(TimeSpan.FromSeconds(121));
        var stale = await _server.DeliverAsync(Url("hook"), body, headers);

        await stale.AssertProblemAsync(401, "webhook_unauthorized");
        Assert.Equal("timestamp_stale", Assert.Single(_server.Audit("webhook.rejected")).Code);
        Assert.Empty(await Owner.DeliveriesAsync("shop", "hook"));

        var fresh = await _server.DeliverAsync(Url("hook"), body, Signed(scheme, secret, body));
        Assert.Equal(204, (int)fresh.StatusCode);
    }

    [Fact]
    public async Task Stripe_header_with_several_v1_signatures_verifies_when_one_matches()
    {
        await HookAsync("stripe", "stripe", "STRIPE_HOOK", "whsec_stripe_test");
        var body = Encoding.UTF8.GetBytes("{\"id\":\"evt_1\"}");
        var header = $"t={Now},v1={WebhookCalls.StripeV1("whsec_old", Now, body)},v1={WebhookCalls.StripeV1("whsec_stripe_test", Now, body)}";
        Assert.Equal(204, (int)(await _server.DeliverAsync(Url("stripe"), body, ("Stripe-Signature", header))).StatusCode);
    }

    [Fact]
    public async Task Standard_header_with_several_space_separated_signatures_verifies_when_one_matches()
    {
        var secret = WebhookCalls.NewStandardSecret();
        await HookAsync("std", "standard", "STD_SECRET", secret);
        var body = Encoding.UTF8.GetBytes("{}");
        var other = WebhookCalls.Standard(WebhookCalls.NewStandardSecret(), "msg_9", Now, body);
        var response = await _server.DeliverAsync(Url("std"), body, ("webhook-id", "msg_9"), ("webhook-timestamp", Now.ToString(System.Globalization.CultureInfo.InvariantCulture)),
            ("webhook-signature", $"{other} {WebhookCalls.Standard(secret, "msg_9", Now, body)}"));
        Assert.Equal(204, (int)response.StatusCode);
    }

    [Fact]
    public async Task The_previous_version_verifies_during_the_rotation_grace_and_not_after()
    {
        await HookAsync("gh", "github", "GH_SECRET", "old-signing-value", new { rotation_grace_seconds = 600 });
        var body = Encoding.UTF8.GetBytes("{\"n\":1}");
        var oldSignature = ("X-Hub-Signature-256", WebhookCalls.GitHub("old-signing-value", body));
        _time.Advance(TimeSpan.FromHours(1));
        var rotated = await Owner.PatchJsonAsync("/v1/secrets/GH_SECRET", new { value = "new-signing-value" });
        Assert.Equal(200, (int)rotated.StatusCode);

        _time.Advance(TimeSpan.FromSeconds(599));
        Assert.Equal(204, (int)(await _server.DeliverAsync(Url("gh"), body, oldSignature)).StatusCode);
        Assert.Equal(1, _server.Audit("webhook.verified").Single().Version);

        _time.Advance(TimeSpan.FromSeconds(2));
        await (await _server.DeliverAsync(Url("gh"), body, oldSignature)).AssertProblemAsync(401, "webhook_unauthorized");
        Assert.Equal(204, (int)(await _server.DeliverAsync(Url("gh"), body, ("X-Hub-Signature-256", WebhookCalls.GitHub("new-signing-value", body)))).StatusCode);
        Assert.Equal([1, 2], _server.Audit("webhook.verified").Select(r => r.Version ?? 0));
    }

    [Fact]
    public async Task Without_a_rotation_grace_the_previous_version_fails_right_after_rotation()
    {
        await HookAsync("gh", "github", "GH_SECRET", "old-signing-value");
        var body = Encoding.UTF8.GetBytes("{}");
        await Owner.PatchJsonAsync("/v1/secrets/GH_SECRET", new { value = "new-signing-value" });

        var response = await _server.DeliverAsync(Url("gh"), body, ("X-Hub-Signature-256", WebhookCalls.GitHub("old-signing-value", body)));
        await response.AssertProblemAsync(401, "webhook_unauthorized");
    }

    [Fact]
    public async Task A_signing_secret_out_of_the_webhook_apps_scope_is_401_and_audited_with_the_resolution_code()
    {
        await HookAsync("gh", "github", "GH_SECRET", "scoped-signing-value", app: "github_app");
        await Owner.PatchJsonAsync("/v1/secrets/GH_SECRET", new { scope = new[] { "other_app" } });
        var body = Encoding.UTF8.GetBytes("{}");

        var response = await _server.DeliverAsync(Url("gh"), body, ("X-Hub-Signature-256", WebhookCalls.GitHub("scoped-signing-value", body)));

        var problem = await response.AssertProblemAsync(401, "webhook_unauthorized");
        Assert.DoesNotContain("scope", problem.ToJsonString(), StringComparison.OrdinalIgnoreCase);
        Assert.Equal("secret_scope_denied", Assert.Single(_server.Audit("webhook.rejected")).Code);
        Assert.Equal("secret_scope_denied", Assert.Single(_server.Audit("secret.denied")).Code);
        Assert.Empty(await Owner.DeliveriesAsync("shop", "gh"));
    }

    [Fact]
    public async Task A_revoked_signing_secret_is_401()
    {
        await HookAsync("gh", "github", "GH_SECRET", "revoked-signing-value");
        await Owner.PostAsync("/v1/secrets/GH_SECRET/revoke", null);
        var body = Encoding.UTF8.GetBytes("{}");

        var response = await _server.DeliverAsync(Url("gh"), body, ("X-Hub-Signature-256", WebhookCalls.GitHub("revoked-signing-value", body)));

        await response.AssertProblemAsync(401, "webhook_unauthorized");
        Assert.Equal("secret_revoked", Assert.Single(_server.Audit("webhook.rejected")).Code);
    }

    [Fact]
    public async Task The_signing_secret_is_resolved_for_the_delivery_environment()
    {
        await Owner.CreateSecretAsync(new { key = "PRD_HOOK", value = "prd-signing-value", envs = new[] { "prd" } });
        await Owner.CreateWebhookAsync("shop", new { name = "g", tag = "gh", app = "a", signing_secret = "$Token{PRD_HOOK}", scheme = "github" });
        var body = Encoding.UTF8.GetBytes("{}");
        var signature = ("X-Hub-Signature-256", WebhookCalls.GitHub("prd-signing-value", body));

        Assert.Equal(204, (int)(await _server.DeliverAsync(Url("gh", "prd"), body, signature)).StatusCode);
        await (await _server.DeliverAsync(Url("gh", "dev"), body, signature)).AssertProblemAsync(401, "webhook_unauthorized");
        Assert.Equal("secret_env_denied", Assert.Single(_server.Audit("webhook.rejected")).Code);
    }

    [Fact]
    public async Task Unknown_workspace_product_webhook_or_environment_are_the_same_404()
    {
        await HookAsync("gh", "github", "GH_SECRET", "v");
        var body = Encoding.UTF8.GetBytes("{}");
        var signature = ("X-Hub-Signature-256", WebhookCalls.GitHub("v", body));
        string[] urls = ["/hooks/ws_unknown/shop/gh/prd", Url("gh", product: "other"), Url("nope"), Url("gh", env: "stg")];
        var details = new List<string>();
        foreach (var url in urls)
        {
            var problem = await (await _server.DeliverAsync(url, body, signature)).AssertProblemAsync(404, "webhook_not_found");
            details.Add(problem["detail"]!.GetValue<string>());
        }

        Assert.Single(details.Distinct());
        Assert.Equal("env_not_found", Assert.Single(_server.Audit("webhook.rejected")).Code);
    }

    [Fact]
    public async Task Stored_headers_leave_out_the_signature_and_credentials_and_binary_bodies_come_back_as_base64()
    {
        await HookAsync("hmac", "hmac_sha256", "HMAC_SECRET", "hmac-signing-value", new { header = "X-Acme-Signature" });
        byte[] body = [0xff, 0x00, 0xfe, 0x01];

        var response = await _server.DeliverAsync(Url("hmac"), body, ("X-Acme-Signature", WebhookCalls.Hex("hmac-signing-value", body)),
            ("Authorization", "Bearer sender-token"), ("Cookie", "session=abc"), ("X-Acme-Event", "invoice.paid"));

        Assert.Equal(204, (int)response.StatusCode);
        var delivery = Assert.Single(await Owner.DeliveriesAsync("shop", "hmac"))!;
        Assert.Null(delivery["body"]);
        Assert.Equal(Convert.ToBase64String(body), delivery["body_base64"]!.GetValue<string>());
        var names = delivery["headers"]!.AsObject().Select(p => p.Key).ToList();
        Assert.Contains("X-Acme-Event", names);
        Assert.DoesNotContain(names, n => n.Equals("X-Acme-Signature", StringComparison.OrdinalIgnoreCase)
            || n.Equals("Authorization", StringComparison.OrdinalIgnoreCase) || n.Equals("Cookie", StringComparison.OrdinalIgnoreCase));
    }

    [Fact]
    public async Task Deliveries_are_listed_newest_first_in_pages()
    {
        await HookAsync("gh", "github", "GH_SECRET", "paging-secret");
        foreach (var n in new[] { 1, 2, 3 })
        {
            var body = Encoding.UTF8.GetBytes($"{{\"n\":{n}}}");
            Assert.Equal(204, (int)(await _server.DeliverAsync(Url("gh"), body, ("X-Hub-Signature-256", WebhookCalls.GitHub("paging-secret", body)))).StatusCode);
        }

        var first = await (await Owner.GetAsync("/v1/products/shop/webhooks/gh/deliveries?limit=2")).ReadJsonAsync();
        Assert.Equal(["{\"n\":3}", "{\"n\":2}"], first["items"]!.AsArray().Select(i => i!["body"]!.GetValue<string>()));
        var cursor = first["next_cursor"]!.GetValue<string>();
        var second = await (await Owner.GetAsync($"/v1/products/shop/webhooks/gh/deliveries?limit=2&cursor={cursor}")).ReadJsonAsync();
        Assert.Equal(["{\"n\":1}"], second["items"]!.AsArray().Select(i => i!["body"]!.GetValue<string>()));
        Assert.Null(second["next_cursor"]);
        await (await Owner.GetAsync("/v1/products/shop/webhooks/gh/deliveries?cursor=!!")).AssertProblemAsync(400, "validation_failed");
    }

    [Fact]
    public async Task Deleting_a_webhook_removes_its_deliveries_and_its_address()
    {
        await HookAsync("gh", "github", "GH_SECRET", "delete-secret");
        var body = Encoding.UTF8.GetBytes("{}");
        var signature = ("X-Hub-Signature-256", WebhookCalls.GitHub("delete-secret", body));
        Assert.Equal(204, (int)(await _server.DeliverAsync(Url("gh"), body, signature)).StatusCode);

        Assert.Equal(204, (int)(await Owner.DeleteAsync("/v1/products/shop/webhooks/gh")).StatusCode);

        await (await _server.DeliverAsync(Url("gh"), body, signature)).AssertProblemAsync(404, "webhook_not_found");
        await HookAsync("gh", "github", "GH_SECRET_2", "delete-secret");
        Assert.Empty(await Owner.DeliveriesAsync("shop", "gh"));
    }

    [Fact]
    public async Task A_delivery_larger_than_the_body_limit_is_413()
    {
        await HookAsync("gh", "github", "GH_SECRET", "limit-secret");
        var body = new byte[(1024 * 1024) + 1];
        var response = await _server.DeliverAsync(Url("gh"), body, ("X-Hub-Signature-256", WebhookCalls.GitHub("limit-secret", body)));
        await response.AssertProblemAsync(413, "payload_too_large");
        Assert.Empty(await Owner.DeliveriesAsync("shop", "gh"));
    }

    [Fact]
    public async Task The_signing_secret_value_never_appears_in_a_response_a_log_line_or_the_audit_log()
    {
        const string Value = "SIGNING-VALUE-never-shown-5501";
        var responses = new StringBuilder();
        await Owner.CreateSecretAsync(new { key = "LEAK_CHECK", value = Value });
        var created = await Owner.PostAsJsonAsync("/v1/products/shop/webhooks", new { name = "g", tag = "gh", app = "a", signing_secret = "$Token{LEAK_CHECK}", scheme = "github" });
        responses.Append(await created.Content.ReadAsStringAsync());
        var body = Encoding.UTF8.GetBytes("{}");
        foreach (var signature in new[] { WebhookCalls.GitHub(Value, body), WebhookCalls.GitHub("wrong", body) })
        {
            var delivered = await _server.DeliverAsync(Url("gh"), body, ("X-Hub-Signature-256", signature));
            responses.Append(await delivered.Content.ReadAsStringAsync()).Append(delivered.Headers);
        }

        foreach (var url in new[] { "/v1/products/shop/webhooks", "/v1/products/shop/webhooks/gh", "/v1/products/shop/webhooks/gh/deliveries" })
        {
            responses.Append(await (await Owner.GetAsync(url)).Content.ReadAsStringAsync());
        }

        Assert.Single(_server.Audit("webhook.verified"));
        Assert.Single(_server.Audit("webhook.rejected"));
        Assert.DoesNotContain(Value, responses.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain(Value, _server.Logs.AllText, StringComparison.Ordinal);
        Assert.DoesNotContain(Value, _server.AllAuditText(), StringComparison.Ordinal);
        Assert.Contains("rejected a delivery", _server.Logs.AllText, StringComparison.Ordinal);
    }
}

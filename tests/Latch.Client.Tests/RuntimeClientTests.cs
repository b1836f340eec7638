using System.Net;
using System.Text.Json.Nodes;

namespace Latch.Client.Tests;

public sealed class RuntimeClientTests : IClassFixture<LatchHarness>, IAsyncLifetime
{
    private readonly LatchHarness _latch;
    private StubServer _upstream = null!;

    public RuntimeClientTests(LatchHarness latch) => _latch = latch;

    private LatchClient Client => _latch.Client;

    public async Task InitializeAsync() => _upstream = await StubServer.StartAsync();

    public async Task DisposeAsync() => await _upstream.DisposeAsync();

    private async Task<(string Product, string App, string SecretKey)> SeedAsync(string secretValue)
    {
        var suffix = Guid.NewGuid().ToString("N")[..8];
        var product = "shop_" + suffix;
        var app = "echo_" + suffix;
        var secretKey = LatchHarness.Key("STRIPE");
        await Client.Secrets.CreateAsync(new CreateSecretRequest(secretKey) { Value = secretValue });
        await Client.Apps.CreateAsync(new AppDefinition(app, "Echo", [new AppEnvironment("live", _upstream.Url.AbsoluteUri.TrimEnd('/'))],
            [new AppAuth("api_key_auth", Headers: new Dictionary<string, string> { ["Authorization"] = "Bearer $Auth{api_key}" })],
            [new AppAction("create_charge", "POST", "/charges/{id}")]));
        await Client.Products.CreateAsync(new ProductDefinition(product, "Shop", [new ProductEnvironment("prd", "Production")]));
        return (product, app, secretKey);
    }

    [Fact]
    public async Task Apps_products_product_apps_and_actions_work_against_the_real_server()
    {
        var (product, app, secretKey) = await SeedAsync("sk_test_abcdefghijklmnop");

        Assert.Equal("Echo", (await Client.Apps.GetAsync(app)).Name);
        Assert.Contains(await Client.Apps.ListAsync(), a => a.AccessTag == app);
        var replaced = await Client.Apps.ReplaceAsync(app, (await Client.Apps.GetAsync(app)) with { Name = "Echo 2" });
        Assert.Equal("Echo 2", replaced.Name);
        Assert.Equal("Shop", (await Client.Products.GetAsync(product)).Name);
        Assert.Contains(await Client.Products.ListAsync(), p => p.Tag == product);

        var shop = Client.Product(product);
        var added = await shop.Apps.AddAsync(new ProductAppConfig(app,
        [
            new ProductAppEnvironment("live", "prd",
                [new ProductAppVariable("DB_PASSWORD", "$Token{NO_SUCH_SECRET_YET}")],
                [new ProductAppAuth("api_key_auth", new Dictionary<string, string> { ["api_key"] = $"$Token{{{secretKey}}}" })]),
        ]));
        var warning = Assert.Single(added.Warnings);
        Assert.Equal("secret_not_found", warning.Code);
        Assert.Equal("NO_SUCH_SECRET_YET", warning.Key);
        Assert.Equal(app, (await shop.Apps.GetAsync(app)).AccessTag);
        Assert.Single(await shop.Apps.ListAsync());

        var run = await Client.Actions.RunAsync(new RunActionRequest("prd", product, app, "create_charge")
        {
            Input = new ActionInput { Params = new Dictionary<string, string> { ["id"] = "ch_1" }, Body = new JsonObject { ["amount"] = 100 } },
        });
        Assert.Equal(200, run.Status);
        var sent = Assert.Single(_upstream.Requests);
        Assert.Equal("POST", sent.Method);
        Assert.Equal("/charges/ch_1", sent.Path);
        Assert.Equal("Bearer sk_test_abcdefghijklmnop", sent.Headers["Authorization"]);
        // The upstream echoed the credential; Latch masked it.
        Assert.Equal("Bearer ***", run.Body!["authorization"]!.GetValue<string>());
        Assert.DoesNotContain("sk_test_abcdefghijklmnop", run.Body.ToJsonString(), StringComparison.Ordinal);
        Assert.False(string.IsNullOrEmpty(run.RequestId));

        var unknown = await Assert.ThrowsAsync<LatchException>(() => Client.Actions.RunAsync(new RunActionRequest("prd", product, app, "no_such_event")));
        Assert.Equal(HttpStatusCode.NotFound, unknown.Status);

        var updated = await shop.Apps.UpdateAsync(new ProductAppConfig(app, [new ProductAppEnvironment("live", "prd",
            [new ProductAppVariable("DB_PASSWORD", $"$Token{{{secretKey}}}")],
            [new ProductAppAuth("api_key_auth", new Dictionary<string, string> { ["api_key"] = "$Token{MISSING_AUTH_SECRET}" })])]));
        Assert.Equal("MISSING_AUTH_SECRET", Assert.Single(updated.Warnings).Key);
        var unresolvable = await Assert.ThrowsAsync<LatchException>(() => Client.Actions.RunAsync(new RunActionRequest("prd", product, app, "create_charge")
        {
            Input = new ActionInput { Params = new Dictionary<string, string> { ["id"] = "ch_2" } },
        }));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, unresolvable.Status);
        Assert.Equal("MISSING_AUTH_SECRET", Assert.Single(unresolvable.ReferenceErrors).Key);
        Assert.Single(_upstream.Requests);

        var variables = await shop.GetVariablesAsync(app, "prd");
        Assert.Equal("sk_test_abcdefghijklmnop", variables.Variables["DB_PASSWORD"].Reveal());
        Assert.DoesNotContain("sk_test", variables.ToString(), StringComparison.Ordinal);

        await shop.Apps.RemoveAsync(app);
        Assert.Empty(await shop.Apps.ListAsync());
        await Client.Apps.DeleteAsync(app);
        await Assert.ThrowsAsync<LatchException>(() => Client.Apps.GetAsync(app));
        await Client.Products.DeleteAsync(product);
        Assert.Equal(HttpStatusCode.NotFound, (await Assert.ThrowsAsync<LatchException>(() => Client.Products.GetAsync(product))).Status);
    }

    [Fact]
    public async Task Webhooks_can_be_created_listed_fetched_and_deleted()
    {
        var (product, app, secretKey) = await SeedAsync("whsec-signing-value");
        var hooks = Client.Product(product).Webhooks;
        var created = await hooks.CreateAsync(new CreateWebhookRequest("Payments", "payments", app, $"$Token{{{secretKey}}}", "github"));
        Assert.Equal("payments", created.Tag);
        Assert.EndsWith($"/{product}/payments/{{env}}", created.DeliveryUrl, StringComparison.Ordinal);
        Assert.Equal($"$Token{{{secretKey}}}", created.SigningSecret);

        Assert.Equal("payments", Assert.Single(await hooks.ListAsync()).Tag);
        Assert.Equal(0, (await hooks.GetAsync("payments")).RejectedCount);

        // A delivery signed with the secret is verified and listed.
        var body = """{"event":"paid"}"""u8.ToArray();
        using var hmac = new System.Security.Cryptography.HMACSHA256(System.Text.Encoding.UTF8.GetBytes("whsec-signing-value"));
        var signature = "sha256=" + Convert.ToHexStringLower(hmac.ComputeHash(body));
        using var http = new HttpClient();
        using var delivery = new HttpRequestMessage(HttpMethod.Post, created.DeliveryUrl.Replace("{env}", "prd", StringComparison.Ordinal))
        {
            Content = new ByteArrayContent(body),
        };
        delivery.Headers.Add("X-Hub-Signature-256", signature);
        using var answer = await http.SendAsync(delivery);
        Assert.Equal(HttpStatusCode.NoContent, answer.StatusCode);
        var deliveries = await hooks.DeliveriesAsync("payments").ToListAsync();
        Assert.Equal("""{"event":"paid"}""", Assert.Single(deliveries).Body);

        await hooks.DeleteAsync("payments");
        Assert.Empty(await hooks.ListAsync());
    }

    [Fact]
    public async Task Keys_audit_and_workspace_work_against_the_real_server()
    {
        var workspace = await Client.Workspace.GetAsync();
        Assert.Equal("default", workspace.Name);

        var key = await Client.Keys.CreateAsync(new CreateApiKeyRequest("ci-runtime", "runtime") { Apps = ["billing"], Envs = ["prd"] });
        Assert.Equal("runtime", key.Role);
        Assert.True(key.Key!.Length >= 32);
        Assert.Equal("***", key.Key.ToString());
        var listed = Assert.Single(await Client.Keys.ListAsync(), k => k.Id == key.Id);
        Assert.Null(listed.Key);

        // The runtime key is bound to billing/prd: another app is refused before anything is resolved.
        using (var runtime = new LatchClient(_latch.Url, key.Key.Reveal()))
        {
            var denied = await Assert.ThrowsAsync<LatchException>(() => runtime.Secrets.CheckAsync(new JsonObject { ["a"] = "x" }, "other", "prd"));
            Assert.Equal(HttpStatusCode.Forbidden, denied.Status);
        }

        await Client.Keys.RevokeAsync(key.Id);
        Assert.DoesNotContain(await Client.Keys.ListAsync(), k => k.Id == key.Id);

        var secretKey = LatchHarness.Key("AUDITED");
        await Client.Secrets.CreateAsync(new CreateSecretRequest(secretKey) { Value = "audited-value" });
        await Client.Secrets.UpdateAsync(secretKey, new SecretUpdate { Value = "audited-value-2" });
        var events = await Client.Audit.ListAsync(new AuditFilter { Secret = secretKey, PageSize = 1 }).ToListAsync();
        Assert.Equal(["secret.updated", "secret.created"], events.Select(e => e.Action));
        Assert.All(events, e => Assert.Equal(secretKey, e.Secret));
        var created = await Client.Audit.ListAsync(new AuditFilter { Action = "key.created" }).ToListAsync();
        Assert.Contains(created, e => e.Action == "key.created");

        var verification = await Client.Audit.VerifyAsync();
        Assert.True(verification.Ok);
        Assert.True(verification.Checked >= 3);
        Assert.Null(verification.FirstBroken);
    }
}

using System.Globalization;
using System.Text;
using Latch.Server.Tests.Infrastructure;
using Latch.Server.Tests.Storage;
using Microsoft.Extensions.Time.Testing;

namespace Latch.Server.Tests.Webhooks;

/// <summary>
/// Replay protection by delivery id (issue 9): a verified delivery whose id was already accepted for the webhook is
/// refused with 409 <c>webhook_replayed</c>, not stored again, counted and audited as <c>webhook.rejected</c> / <c>replayed</c>.
/// </summary>
public sealed class WebhookReplayTests : IAsyncLifetime
{
    private static readonly DateTimeOffset Start = DateTimeOffset.FromUnixTimeSeconds(1_700_000_000);
    private readonly FakeTimeProvider _time = new(Start);
    private TestServer _server = null!;
    private string _workspace = "";

    private HttpClient Owner => _server.Owner;

    private long Now => _time.GetUtcNow().ToUnixTimeSeconds();

    public async Task InitializeAsync()
    {
        _server = await TestServer.StartAsync(time: _time);
        await Owner.CreateProductAsync("shop", "prd");
        _workspace = await Owner.WorkspaceIdAsync();
    }

    public async Task DisposeAsync() => await _server.DisposeAsync();

    private string Url(string tag) => $"/hooks/{_workspace}/shop/{tag}/prd";

    private async Task HookAsync(string tag, string scheme, string secret)
    {
        var key = "SECRET_" + tag.ToUpperInvariant();
        await Owner.CreateSecretAsync(new { key, value = secret });
        await Owner.CreateWebhookAsync("shop", new { name = tag, tag, app = "payments", signing_secret = $"$Token{{{key}}}", scheme });
    }

    private static string SecretFor(string scheme) => scheme == "standard" ? WebhookCalls.NewStandardSecret() : "sig-" + Guid.NewGuid().ToString("N");

    private (string Name, string Value)[] Signed(string scheme, string secret, byte[] body, string id = "msg_1") => scheme switch
    {
        "github" => [("X-Hub-Signature-256", WebhookCalls.GitHub(secret, body)), ("X-GitHub-Delivery", id)],
        "stripe" => [("Stripe-Signature", $"t={Now},v1={WebhookCalls.StripeV1(secret, Now, body)}")],
        "standard" => [("webhook-id", id), ("webhook-timestamp", Now.ToString(CultureInfo.InvariantCulture)),
            ("webhook-signature", WebhookCalls.Standard(secret, id, Now, body))],
        _ => [("X-Signature", WebhookCalls.Hex(secret, body))],
    };

    private async Task<(long Count, string? Reason)> RejectionsAsync(string tag)
    {
        var hook = await (await Owner.GetAsync($"/v1/products/shop/webhooks/{tag}")).ReadJsonAsync();
        return (hook["rejected_count"]!.GetValue<long>(), hook["last_rejection_reason"]?.GetValue<string>());
    }

    [Theory]
    [InlineData("github")]
    [InlineData("stripe")]
    [InlineData("standard")]
    [InlineData("hmac_sha256")]
    public async Task The_same_delivery_twice_is_204_then_409_replayed_stored_once_counted_and_audited(string scheme)
    {
        var secret = SecretFor(scheme);
        await HookAsync("hook", scheme, secret);
        var body = Encoding.UTF8.GetBytes("{\"id\":\"evt_1\",\"type\":\"invoice.paid\"}");
        var headers = Signed(scheme, secret, body);

        Assert.Equal(204, (int)(await _server.DeliverAsync(Url("hook"), body, headers)).StatusCode);
        var problem = await (await _server.DeliverAsync(Url("hook"), body, headers)).AssertProblemAsync(409, "webhook_replayed");

        Assert.Equal("This delivery was already received", problem["detail"]!.GetValue<string>());
        Assert.Single(await Owner.DeliveriesAsync("shop", "hook"));
        Assert.Single(_server.Audit("webhook.verified"));
        var rejected = Assert.Single(_server.Audit("webhook.rejected"));
        Assert.Equal("replayed", rejected.Code);
        Assert.Equal((1L, "replayed"), await RejectionsAsync("hook"));
        Assert.DoesNotContain(secret, problem.ToJsonString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Deliveries_with_different_ids_are_all_accepted()
    {
        var standard = WebhookCalls.NewStandardSecret();
        await HookAsync("std", "standard", standard);
        var body = Encoding.UTF8.GetBytes("{\"same\":\"body\"}");
        Assert.Equal(204, (int)(await _server.DeliverAsync(Url("std"), body, Signed("standard", standard, body, "msg_1"))).StatusCode);
        Assert.Equal(204, (int)(await _server.DeliverAsync(Url("std"), body, Signed("standard", standard, body, "msg_2"))).StatusCode);

        var stripe = SecretFor("stripe");
        await HookAsync("stripe", "stripe", stripe);
        foreach (var id in new[] { "evt_a", "evt_b" })
        {
            var eventBody = Encoding.UTF8.GetBytes($"{{\"id\":\"{id}\"}}");
            Assert.Equal(204, (int)(await _server.DeliverAsync(Url("stripe"), eventBody, Signed("stripe", stripe, eventBody))).StatusCode);
        }

        var github = SecretFor("github");
        await HookAsync("gh", "github", github);
        foreach (var n in new[] { 1, 2 })
        {
            var ghBody = Encoding.UTF8.GetBytes($"{{\"n\":{n}}}");
            Assert.Equal(204, (int)(await _server.DeliverAsync(Url("gh"), ghBody, Signed("github", github, ghBody, $"guid-{n}"))).StatusCode);
        }

        Assert.Equal(2, (await Owner.DeliveriesAsync("shop", "std")).Count);
        Assert.Equal(2, (await Owner.DeliveriesAsync("shop", "stripe")).Count);
        Assert.Equal(2, (await Owner.DeliveriesAsync("shop", "gh")).Count);
        Assert.Empty(_server.Audit("webhook.rejected"));
    }

    [Fact]
    public async Task A_stripe_event_re_signed_at_a_later_time_is_still_a_replay_of_its_event_id()
    {
        var secret = SecretFor("stripe");
        await HookAsync("stripe", "stripe", secret);
        var body = Encoding.UTF8.GetBytes("{\"id\":\"evt_same\",\"object\":\"event\"}");
        Assert.Equal(204, (int)(await _server.DeliverAsync(Url("stripe"), body, Signed("stripe", secret, body))).StatusCode);

        _time.Advance(TimeSpan.FromSeconds(30));
        await (await _server.DeliverAsync(Url("stripe"), body, Signed("stripe", secret, body))).AssertProblemAsync(409, "webhook_replayed");
    }

    [Fact]
    public async Task A_github_replay_is_caught_even_with_a_new_delivery_header_or_a_re_spelled_signature()
    {
        // X-GitHub-Delivery is not signed: whoever replays can change it, but not the signature of the same body.
        var secret = SecretFor("github");
        await HookAsync("gh", "github", secret);
        var body = Encoding.UTF8.GetBytes("{\"action\":\"opened\"}");
        var signature = WebhookCalls.GitHub(secret, body);
        Assert.Equal(204, (int)(await _server.DeliverAsync(Url("gh"), body, ("X-Hub-Signature-256", signature), ("X-GitHub-Delivery", "guid-1"))).StatusCode);

        await (await _server.DeliverAsync(Url("gh"), body, ("X-Hub-Signature-256", signature), ("X-GitHub-Delivery", "guid-2")))
            .AssertProblemAsync(409, "webhook_replayed");
        var respelled = "sha256=" + new string('0', 64) + " sha256=" + signature["sha256=".Length..].ToUpperInvariant();
        await (await _server.DeliverAsync(Url("gh"), body, ("X-Hub-Signature-256", respelled))).AssertProblemAsync(409, "webhook_replayed");
        Assert.Single(await Owner.DeliveriesAsync("shop", "gh"));
    }

    [Fact]
    public async Task Concurrent_identical_deliveries_store_exactly_one()
    {
        var secret = WebhookCalls.NewStandardSecret();
        await HookAsync("std", "standard", secret);
        var body = Encoding.UTF8.GetBytes("{\"concurrent\":true}");
        var headers = Signed("standard", secret, body, "msg_race");

        var responses = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => _server.DeliverAsync(Url("std"), body, headers)));

        Assert.Equal(1, responses.Count(r => (int)r.StatusCode == 204));
        Assert.Equal(7, responses.Count(r => (int)r.StatusCode == 409));
        Assert.Single(await Owner.DeliveriesAsync("shop", "std"));
        Assert.Equal(7, _server.Audit("webhook.rejected").Count(r => r.Code == "replayed"));
        Assert.Equal((7L, "replayed"), await RejectionsAsync("std"));
    }

    [Fact]
    public async Task A_replay_after_a_restart_is_still_refused()
    {
        var secret = SecretFor("hmac_sha256");
        await HookAsync("hmac", "hmac_sha256", secret);
        var body = Encoding.UTF8.GetBytes("{\"restart\":1}");
        var headers = Signed("hmac_sha256", secret, body);
        Assert.Equal(204, (int)(await _server.DeliverAsync(Url("hmac"), body, headers)).StatusCode);

        var (dir, masterKey) = (_server.DataDirectory, _server.MasterKey);
        await _server.DisposeAsync();
        _server = await TestServer.StartAsync(dir, masterKey, _time);

        await (await _server.DeliverAsync(Url("hmac"), body, headers)).AssertProblemAsync(409, "webhook_replayed");
        Assert.Single(await Owner.DeliveriesAsync("shop", "hmac"));
    }

    [Fact]
    public async Task Replay_keys_are_kept_for_the_retention_and_pruned_after_it()
    {
        var secret = SecretFor("hmac_sha256");
        await HookAsync("hmac", "hmac_sha256", secret);
        var old = Encoding.UTF8.GetBytes("{\"n\":\"old\"}");
        Assert.Equal(204, (int)(await _server.DeliverAsync(Url("hmac"), old, Signed("hmac_sha256", secret, old))).StatusCode);

        _time.Advance(Latch.Core.Webhooks.WebhookService.ReplayRetention - TimeSpan.FromMinutes(1));
        await (await _server.DeliverAsync(Url("hmac"), old, Signed("hmac_sha256", secret, old))).AssertProblemAsync(409, "webhook_replayed");

        // Past the retention the key is pruned by the next delivery: only this scheme, which signs no timestamp, accepts
        // such an old replay again (timestamped schemes reject it as stale long before).
        _time.Advance(TimeSpan.FromMinutes(2));
        var fresh = Encoding.UTF8.GetBytes("{\"n\":\"fresh\"}");
        Assert.Equal(204, (int)(await _server.DeliverAsync(Url("hmac"), fresh, Signed("hmac_sha256", secret, fresh))).StatusCode);
        using (var connection = DataFiles.Open(_server.DataDirectory))
        {
            Assert.Equal(1L, DataFiles.Scalar(connection, "SELECT count(*) FROM webhook_delivery_ids"));
        }

        Assert.Equal(204, (int)(await _server.DeliverAsync(Url("hmac"), old, Signed("hmac_sha256", secret, old))).StatusCode);
    }

    [Fact]
    public async Task Deleting_a_webhook_forgets_its_replay_keys()
    {
        var secret = SecretFor("hmac_sha256");
        await HookAsync("hmac", "hmac_sha256", secret);
        var body = Encoding.UTF8.GetBytes("{}");
        Assert.Equal(204, (int)(await _server.DeliverAsync(Url("hmac"), body, Signed("hmac_sha256", secret, body))).StatusCode);

        Assert.Equal(204, (int)(await Owner.DeleteAsync("/v1/products/shop/webhooks/hmac")).StatusCode);
        using var connection = DataFiles.Open(_server.DataDirectory);
        Assert.Equal(0L, DataFiles.Scalar(connection, "SELECT count(*) FROM webhook_delivery_ids"));
    }
}

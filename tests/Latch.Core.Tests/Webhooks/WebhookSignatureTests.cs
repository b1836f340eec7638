using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Latch.Core.Secrets;
using Latch.Core.Webhooks;

namespace Latch.Core.Tests.Webhooks;

public sealed class WebhookSignatureTests
{
    // GitHub, "Validating webhook deliveries" → "Testing the webhook payload validation".
    private const string GitHubSecret = "It's a Secret to Everybody";
    private const string GitHubBody = "Hello, World!";
    private const string GitHubSignature = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";

    // The Standard Webhooks specification's example (also in svix's "Verifying payloads manually").
    private const string StandardSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    private const string StandardId = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    private const long StandardTimestamp = 1614265330;
    private const string StandardBody = "{\"test\": 2432232314}";
    private const string StandardSignature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

    // Stripe publishes the algorithm, not a full vector: HMAC-SHA256 keyed with the whole signing secret (whsec_ included)
    // over "{t}.{body}", lowercase hex. Computed independently with Python's hmac module:
    // hmac.new(b"whsec_test_secret", b'1492774577.{"id": "evt_test"}', hashlib.sha256).hexdigest()
    private const string StripeSecret = "whsec_test_secret";
    private const long StripeTimestamp = 1492774577;
    private const string StripeBody = "{\"id\": \"evt_test\"}";
    private const string StripeV1 = "9cd9b9866f890d44beea3cacd2e70f88c4a822eebc7b13495732174589be6cfc";

    private static readonly WebhookDefinition GitHub = Hook(WebhookSchemes.GitHub);
    private static readonly WebhookDefinition Stripe = Hook(WebhookSchemes.Stripe);
    private static readonly WebhookDefinition Standard = Hook(WebhookSchemes.Standard);

    private static WebhookDefinition Hook(string scheme, int? tolerance = null, string? header = null) =>
        new("hook", "Hook", "app", "$Token{HOOK_SECRET}", scheme, tolerance, 0, header);

    private static Func<string, string?> Headers(params (string Name, string Value)[] headers)
    {
        var map = headers.ToDictionary(h => h.Name, h => h.Value, StringComparer.OrdinalIgnoreCase);
        return name => map.TryGetValue(name, out var value) ? value : null;
    }

    private static WebhookVerification Verify(WebhookDefinition hook, Func<string, string?> headers, string body, string secret, long nowSeconds = 0) =>
        WebhookSignatures.Verify(hook, headers, Encoding.UTF8.GetBytes(body), [new SecretValue(secret)], DateTimeOffset.FromUnixTimeSeconds(nowSeconds));

    private static Func<string, string?> StandardHeaders(string signature, string id = StandardId, long timestamp = StandardTimestamp) =>
        Headers(("webhook-id", id), ("webhook-timestamp", timestamp.ToString(System.Globalization.CultureInfo.InvariantCulture)), ("webhook-signature", signature));

    [Fact]
    public void GitHub_documented_example_verifies()
    {
        var result = Verify(GitHub, Headers(("X-Hub-Signature-256", GitHubSignature)), GitHubBody, GitHubSecret);
        Assert.True(result.Ok, result.Reason);
        Assert.Equal(0, result.MatchedSecret);
    }

    [Fact]
    public void GitHub_signature_fails_for_a_changed_body_or_another_secret()
    {
        var headers = Headers(("X-Hub-Signature-256", GitHubSignature));
        Assert.Equal(WebhookReasons.SignatureMismatch, Verify(GitHub, headers, "Hello, World?", GitHubSecret).Reason);
        Assert.Equal(WebhookReasons.SignatureMismatch, Verify(GitHub, headers, GitHubBody, "It's a Secret to Nobody").Reason);
    }

    [Fact]
    public void GitHub_signature_needs_its_sha256_prefix_and_its_header()
    {
        var bare = GitHubSignature["sha256=".Length..];
        Assert.Equal(WebhookReasons.SignatureMalformed, Verify(GitHub, Headers(("X-Hub-Signature-256", bare)), GitHubBody, GitHubSecret).Reason);
        Assert.Equal(WebhookReasons.SignatureMissing, Verify(GitHub, Headers(("X-Signature", GitHubSignature)), GitHubBody, GitHubSecret).Reason);
        Assert.Equal(WebhookReasons.SignatureMalformed, Verify(GitHub, Headers(("X-Hub-Signature-256", "sha256=zz")), GitHubBody, GitHubSecret).Reason);
    }

    [Fact]
    public void Header_names_are_matched_case_insensitively_and_hex_in_either_case()
    {
        var result = Verify(GitHub, Headers(("x-hub-signature-256", GitHubSignature.ToUpperInvariant())), GitHubBody, GitHubSecret);
        Assert.True(result.Ok, result.Reason);
    }

    [Fact]
    public void Any_one_valid_signature_among_several_space_separated_verifies()
    {
        var wrong = "sha256=" + new string('0', 64);
        var result = Verify(GitHub, Headers(("X-Hub-Signature-256", $"{wrong} {GitHubSignature}")), GitHubBody, GitHubSecret);
        Assert.True(result.Ok, result.Reason);
        Assert.False(Verify(GitHub, Headers(("X-Hub-Signature-256", $"{wrong} {wrong}")), GitHubBody, GitHubSecret).Ok);
    }

    [Fact]
    public void Standard_webhooks_documented_example_verifies_at_its_timestamp()
    {
        var result = Verify(Standard, StandardHeaders(StandardSignature), StandardBody, StandardSecret, StandardTimestamp);
        Assert.True(result.Ok, result.Reason);
    }

    [Fact]
    public void Standard_secret_without_its_whsec_prefix_is_the_same_key()
    {
        var result = Verify(Standard, StandardHeaders(StandardSignature), StandardBody, StandardSecret["whsec_".Length..], StandardTimestamp);
        Assert.True(result.Ok, result.Reason);
    }

    [Fact]
    public void Standard_signature_covers_the_message_id_and_timestamp()
    {
        Assert.Equal(WebhookReasons.SignatureMismatch,
            Verify(Standard, StandardHeaders(StandardSignature, id: "msg_other"), StandardBody, StandardSecret, StandardTimestamp).Reason);
        Assert.Equal(WebhookReasons.SignatureMismatch,
            Verify(Standard, StandardHeaders(StandardSignature, timestamp: StandardTimestamp + 1), StandardBody, StandardSecret, StandardTimestamp).Reason);
    }

    [Theory]
    [InlineData(-300, true)]
    [InlineData(300, true)]
    [InlineData(301, false)]
    [InlineData(-301, false)]
    public void Standard_timestamp_must_be_within_the_default_tolerance_of_300_seconds(long skew, bool ok)
    {
        var result = Verify(Standard, StandardHeaders(StandardSignature), StandardBody, StandardSecret, StandardTimestamp + skew);
        Assert.Equal(ok, result.Ok);
        Assert.Equal(ok ? null : WebhookReasons.TimestampStale, result.Reason);
    }

    [Fact]
    public void Standard_ignores_other_signature_versions_and_takes_any_v1()
    {
        var other = "v1," + Convert.ToBase64String(new byte[32]);
        var result = Verify(Standard, StandardHeaders($"v1a,{Convert.ToBase64String(new byte[64])} {other} {StandardSignature}"), StandardBody, StandardSecret, StandardTimestamp);
        Assert.True(result.Ok, result.Reason);
        Assert.Equal(WebhookReasons.SignatureMalformed,
            Verify(Standard, StandardHeaders("v1a,abc"), StandardBody, StandardSecret, StandardTimestamp).Reason);
    }

    [Fact]
    public void Standard_needs_all_three_headers()
    {
        var noId = Headers(("webhook-timestamp", "1614265330"), ("webhook-signature", StandardSignature));
        Assert.Equal(WebhookReasons.SignatureMissing, Verify(Standard, noId, StandardBody, StandardSecret, StandardTimestamp).Reason);
        Assert.Equal(WebhookReasons.SignatureMissing, WebhookSignatures.Precheck(Standard, noId));
        var badTimestamp = Headers(("webhook-id", StandardId), ("webhook-timestamp", "yesterday"), ("webhook-signature", StandardSignature));
        Assert.Equal(WebhookReasons.SignatureMalformed, WebhookSignatures.Precheck(Standard, badTimestamp));
    }

    [Fact]
    public void Standard_secret_that_is_not_base64_is_unusable()
    {
        var result = Verify(Standard, StandardHeaders(StandardSignature), StandardBody, "whsec_not base64!", StandardTimestamp);
        Assert.Equal(WebhookReasons.SecretUnusable, result.Reason);
    }

    [Fact]
    public void Stripe_signature_over_timestamp_dot_body_verifies()
    {
        var result = Verify(Stripe, Headers(("Stripe-Signature", $"t={StripeTimestamp},v1={StripeV1}")), StripeBody, StripeSecret, StripeTimestamp + 10);
        Assert.True(result.Ok, result.Reason);
    }

    [Fact]
    public void Stripe_vector_matches_an_hmac_computed_here_from_the_documented_algorithm()
    {
        var expected = HMACSHA256.HashData(Encoding.UTF8.GetBytes(StripeSecret), Encoding.UTF8.GetBytes($"{StripeTimestamp}.{StripeBody}"));
        Assert.Equal(StripeV1, Convert.ToHexStringLower(expected));
    }

    [Fact]
    public void Stripe_header_with_several_v1_entries_and_a_v0_verifies_when_one_v1_matches()
    {
        var header = $"t={StripeTimestamp},v1={new string('a', 64)},v1={StripeV1},v0={new string('b', 64)}";
        var result = Verify(Stripe, Headers(("Stripe-Signature", header)), StripeBody, StripeSecret, StripeTimestamp);
        Assert.True(result.Ok, result.Reason);
    }

    [Fact]
    public void Stripe_v0_alone_or_no_timestamp_is_malformed()
    {
        Assert.Equal(WebhookReasons.SignatureMalformed, WebhookSignatures.Precheck(Stripe, Headers(("Stripe-Signature", $"t={StripeTimestamp},v0={StripeV1}"))));
        Assert.Equal(WebhookReasons.SignatureMalformed, WebhookSignatures.Precheck(Stripe, Headers(("Stripe-Signature", $"v1={StripeV1}"))));
        Assert.Equal(WebhookReasons.SignatureMissing, WebhookSignatures.Precheck(Stripe, Headers()));
    }

    [Fact]
    public void Stripe_signature_binds_the_timestamp()
    {
        var result = Verify(Stripe, Headers(("Stripe-Signature", $"t={StripeTimestamp + 1},v1={StripeV1}")), StripeBody, StripeSecret, StripeTimestamp);
        Assert.Equal(WebhookReasons.SignatureMismatch, result.Reason);
    }

    [Fact]
    public void Stripe_timestamp_outside_the_configured_tolerance_is_stale()
    {
        var header = Headers(("Stripe-Signature", $"t={StripeTimestamp},v1={StripeV1}"));
        Assert.Equal(WebhookReasons.TimestampStale, Verify(Stripe, header, StripeBody, StripeSecret, StripeTimestamp + 301).Reason);
        var strict = Hook(WebhookSchemes.Stripe, tolerance: 10);
        Assert.True(Verify(strict, header, StripeBody, StripeSecret, StripeTimestamp + 10).Ok);
        Assert.Equal(WebhookReasons.TimestampStale, Verify(strict, header, StripeBody, StripeSecret, StripeTimestamp + 11).Reason);
    }

    [Fact]
    public void Hmac_sha256_reads_hex_from_X_Signature_by_default_or_from_the_configured_header()
    {
        var hex = GitHubSignature["sha256=".Length..];
        Assert.True(Verify(Hook(WebhookSchemes.HmacSha256), Headers(("X-Signature", hex)), GitHubBody, GitHubSecret).Ok);
        var custom = Hook(WebhookSchemes.HmacSha256, header: "X-Acme-Signature");
        Assert.True(Verify(custom, Headers(("X-Acme-Signature", hex)), GitHubBody, GitHubSecret).Ok);
        Assert.Equal(WebhookReasons.SignatureMissing, Verify(custom, Headers(("X-Signature", hex)), GitHubBody, GitHubSecret).Reason);
    }

    [Fact]
    public void A_later_candidate_secret_verifies_and_is_reported_as_the_match()
    {
        var result = WebhookSignatures.Verify(GitHub, Headers(("X-Hub-Signature-256", GitHubSignature)), Encoding.UTF8.GetBytes(GitHubBody),
            [new SecretValue("the new secret"), new SecretValue(GitHubSecret)], DateTimeOffset.UnixEpoch);
        Assert.True(result.Ok);
        Assert.Equal(1, result.MatchedSecret);
    }

    [Fact]
    public void Stored_headers_leave_out_every_signature_header_and_credentials()
    {
        var hook = Hook(WebhookSchemes.HmacSha256, header: "X-Acme-Signature");
        var json = WebhookSignatures.HeadersForStorage(hook,
        [
            new("Content-Type", "application/json"), new("X-Acme-Signature", "abc"), new("X-Hub-Signature-256", "sha256=abc"),
            new("X-Hub-Signature", "sha1=abc"), new("stripe-signature", "t=1,v1=abc"), new("webhook-signature", "v1,abc"),
            new("webhook-id", "msg_1"), new("Authorization", "Bearer x"), new("Cookie", "a=b"), new("X-GitHub-Event", "push"),
        ]);
        using var document = JsonDocument.Parse(json);
        var names = document.RootElement.EnumerateObject().Select(p => p.Name).ToList();
        Assert.Equal(["Content-Type", "webhook-id", "X-GitHub-Event"], names);
        Assert.Equal("push", document.RootElement.GetProperty("X-GitHub-Event").GetString());
    }

    [Theory]
    [InlineData("$Token{HOOK_SECRET}", true)]
    [InlineData("$Secret{HOOK_SECRET}", true)]
    [InlineData("whsec_literal", false)]
    [InlineData("Bearer $Token{HOOK_SECRET}", false)]
    [InlineData("$Token{A}$Token{B}", false)]
    [InlineData("$$Token{HOOK_SECRET}", false)]
    [InlineData("$Token{HOOK SECRET}", false)]
    [InlineData("", false)]
    public void Signing_secret_must_be_exactly_one_reference(string text, bool ok)
    {
        var why = WebhookService.ExplainSigningSecret(text);
        Assert.Equal(ok, why is null);
    }
}

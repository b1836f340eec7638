namespace Latch.Core.Webhooks;

/// <summary>
/// An inbound webhook of a product (SPEC §4), stored as a configuration document of kind <c>webhook</c> under its
/// product. <see cref="SigningSecret"/> is always a single reference (<c>$Token{KEY}</c>), never a literal.
/// </summary>
/// <param name="Tag">Webhook tag, unique within the product.</param>
/// <param name="Name">Display name.</param>
/// <param name="App">Access tag the signing secret is resolved for (its scope check).</param>
/// <param name="SigningSecret">The reference to the signing secret, e.g. <c>$Token{GITHUB_HOOK_SECRET}</c>.</param>
/// <param name="Scheme">One of <see cref="WebhookSchemes"/>.</param>
/// <param name="ToleranceSeconds">Timestamp tolerance for <c>stripe</c> and <c>standard</c>; null for the others.</param>
/// <param name="RotationGraceSeconds">How long after a rotation the previous version still verifies (0: not at all).</param>
/// <param name="Header">Signature header of <c>hmac_sha256</c>; null for the others.</param>
public sealed record WebhookDefinition(
    string Tag,
    string Name,
    string App,
    string SigningSecret,
    string Scheme,
    int? ToleranceSeconds = null,
    int RotationGraceSeconds = 0,
    string? Header = null);

/// <summary>The signature schemes of SPEC §4.</summary>
public static class WebhookSchemes
{
    /// <summary><c>X-Hub-Signature-256: sha256=&lt;hex HMAC-SHA256(secret, body)&gt;</c>.</summary>
    public const string GitHub = "github";

    /// <summary><c>Stripe-Signature: t=&lt;unix&gt;,v1=&lt;hex HMAC-SHA256(secret, "t.body")&gt;</c>.</summary>
    public const string Stripe = "stripe";

    /// <summary>Standard Webhooks: <c>webhook-id</c>, <c>webhook-timestamp</c>, <c>webhook-signature: v1,&lt;base64&gt;</c>.</summary>
    public const string Standard = "standard";

    /// <summary>Hex HMAC-SHA256 of the body in a configurable header.</summary>
    public const string HmacSha256 = "hmac_sha256";

    /// <summary>Default timestamp tolerance of <c>stripe</c> and <c>standard</c>.</summary>
    public const int DefaultToleranceSeconds = 300;

    /// <summary>Largest timestamp tolerance accepted (one day).</summary>
    public const int MaxToleranceSeconds = 86_400;

    /// <summary>Longest rotation grace accepted (30 days).</summary>
    public const int MaxRotationGraceSeconds = 30 * 86_400;

    /// <summary>Default signature header of <c>hmac_sha256</c>.</summary>
    public const string DefaultHmacHeader = "X-Signature";

    /// <summary>GitHub's signature header.</summary>
    public const string GitHubHeader = "X-Hub-Signature-256";

    /// <summary>Stripe's signature header.</summary>
    public const string StripeHeader = "Stripe-Signature";

    /// <summary>Standard Webhooks' message id header.</summary>
    public const string StandardIdHeader = "webhook-id";

    /// <summary>Standard Webhooks' timestamp header.</summary>
    public const string StandardTimestampHeader = "webhook-timestamp";

    /// <summary>Standard Webhooks' signature header.</summary>
    public const string StandardSignatureHeader = "webhook-signature";

    /// <summary>Every scheme, in documentation order.</summary>
    public static IReadOnlyList<string> All { get; } = [GitHub, Stripe, Standard, HmacSha256];

    /// <summary>Whether the scheme signs a timestamp (and so has a tolerance).</summary>
    public static bool HasTimestamp(string scheme) => scheme is Stripe or Standard;
}

/// <summary>Stable reasons a delivery is rejected (audited as the <c>code</c> of <c>webhook.rejected</c>).</summary>
public static class WebhookReasons
{
    /// <summary>A header the scheme needs is absent.</summary>
    public const string SignatureMissing = "signature_missing";

    /// <summary>The signature header holds no signature of the scheme's form.</summary>
    public const string SignatureMalformed = "signature_malformed";

    /// <summary>No signature matched the body.</summary>
    public const string SignatureMismatch = "signature_mismatch";

    /// <summary>The signed timestamp is outside the tolerance.</summary>
    public const string TimestampStale = "timestamp_stale";

    /// <summary>The resolved secret cannot be a key of the scheme (a <c>standard</c> secret that is not base64).</summary>
    public const string SecretUnusable = "secret_unusable";

    /// <summary>The environment in the delivery URL is not one of the product's.</summary>
    public const string UnknownEnvironment = "env_not_found";

    /// <summary>
    /// A verified delivery whose id (or signature) was already accepted for the webhook within the replay retention:
    /// refused with 409 <c>webhook_replayed</c>, not stored a second time.
    /// </summary>
    public const string Replayed = "replayed";
}

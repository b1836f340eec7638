using System.Text.Json;
using Latch.Core.Observability;
using Latch.Core.References;
using Latch.Core.Runtime;
using Latch.Core.Secrets;
using Latch.Core.Storage;
using Latch.Core.Validation;

namespace Latch.Core.Webhooks;

/// <summary>A stored webhook with its rejection counter.</summary>
/// <param name="Product">Product tag.</param>
/// <param name="Definition">The webhook.</param>
/// <param name="CreatedAt">Created.</param>
/// <param name="UpdatedAt">Last replaced.</param>
/// <param name="RejectedCount">Deliveries rejected so far.</param>
/// <param name="LastRejectedAt">When the last one was rejected.</param>
/// <param name="LastRejectionReason">Its reason (a <see cref="WebhookReasons"/> or resolution code).</param>
public sealed record WebhookInfo(
    string Product,
    WebhookDefinition Definition,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt,
    long RejectedCount,
    DateTimeOffset? LastRejectedAt,
    string? LastRejectionReason);

/// <summary>A reference problem found when a webhook is created: its signing secret would not resolve in that environment today.</summary>
/// <param name="Env">Product environment slug.</param>
/// <param name="Code">Resolution code.</param>
/// <param name="Message">Exact resolution message.</param>
public sealed record WebhookWarning(string Env, string Code, string Message);

/// <summary>A created webhook and the environments where its signing secret would not resolve today.</summary>
/// <param name="Webhook">The webhook.</param>
/// <param name="Warnings">Per-environment resolution problems (the webhook is stored anyway).</param>
public sealed record CreatedWebhook(WebhookInfo Webhook, IReadOnlyList<WebhookWarning> Warnings);

/// <summary>What became of an inbound delivery.</summary>
public enum DeliveryStatus
{
    /// <summary>No such workspace, product, webhook or environment.</summary>
    NotFound,
    /// <summary>Signature verified; the delivery is stored.</summary>
    Verified,
    /// <summary>Signature missing, invalid or stale, or the secret did not resolve; counted and audited, not stored.</summary>
    Rejected,
    /// <summary>The audit log cannot be written: nothing was verified (the sender should retry).</summary>
    AuditUnavailable,
    /// <summary>Verified, but a delivery with the same id was already accepted: counted and audited as a rejection, not stored again.</summary>
    Replayed,
}

/// <summary>The outcome of <see cref="WebhookService.ReceiveAsync"/>.</summary>
/// <param name="Status">Verified, rejected or not found.</param>
/// <param name="Reason">Why it was rejected (for the audit and logs, never for the sender).</param>
/// <param name="DeliveryId">The stored delivery's id when verified.</param>
public sealed record DeliveryOutcome(DeliveryStatus Status, string? Reason = null, string? DeliveryId = null);

/// <summary>
/// Webhooks of products: configuration (stored as <c>webhook</c> documents under the product) and inbound deliveries. The
/// signing secret is resolved through the same resolution engine as everything else — scope, environment, expiry and
/// revocation all apply — for the webhook's app in the delivery's environment.
/// </summary>
public sealed class WebhookService
{
    private const string SigningSecretField = "signing_secret";

    /// <summary>
    /// How long the replay keys of accepted deliveries are kept (30 days). Longer than the largest timestamp tolerance
    /// (one day), so a timestamped delivery (<c>stripe</c>, <c>standard</c>) can never be replayed: within the retention
    /// its id is known, after it its timestamp is stale. Deliveries of schemes without a timestamp (<c>github</c>,
    /// <c>hmac_sha256</c>) are protected for this long. A webhook's old keys are pruned as its deliveries arrive.
    /// </summary>
    public static TimeSpan ReplayRetention { get; } = TimeSpan.FromDays(30);
    private readonly ILatchStore _store;
    private readonly ResolutionService _resolution;
    private readonly SecretService _secrets;
    private readonly TimeProvider _time;
    private readonly LatchTelemetry? _telemetry;

    /// <summary>Creates the service.</summary>
    public WebhookService(ILatchStore store, ResolutionService resolution, SecretService secrets, TimeProvider time, LatchTelemetry? telemetry = null)
    {
        _telemetry = telemetry;
        _store = store;
        _resolution = resolution;
        _secrets = secrets;
        _time = time;
    }

    /// <summary>
    /// Why a <c>signing_secret</c> is not acceptable, or null. It must be exactly one reference: a literal would be stored in
    /// plain text in the configuration, outside the encrypted store, its versions and its audit trail.
    /// </summary>
    public static string? ExplainSigningSecret(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var found = ReferenceText.Find(text);
        if (found.Count == 1 && found[0] is { IsMalformed: false, Index: 0 } only && only.Length == text.Length)
        {
            return null;
        }

        return found.Any(f => f.IsMalformed)
            ? "is a malformed secret reference: " + found.First(f => f.IsMalformed).MalformedReason
            : "must be a single secret reference such as $Token{WEBHOOK_SECRET}; a literal secret would be stored in plain text";
    }

    /// <summary>Creates a webhook in an existing product (<c>product_not_found</c>, <c>webhook_exists</c>).</summary>
    public async Task<Result<CreatedWebhook>> CreateAsync(string workspaceId, string product, WebhookDefinition definition, Actor actor, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(definition);
        if (ExplainSigningSecret(definition.SigningSecret) is { } why)
        {
            return LatchError.Invalid(SigningSecretField, why);
        }

        var productDefinition = await GetProductAsync(workspaceId, product, cancellationToken);
        if (productDefinition is null)
        {
            return ProductNotFound(product);
        }

        var now = _time.GetUtcNow();
        var document = new ConfigDocument(ConfigKinds.Webhook, product, definition.Tag, ConfigJson.Serialize(definition), now, now);
        var audit = SecretService.Event(workspaceId, "product.changed", actor, now) with
        {
            Product = product, App = definition.App, Detail = $"webhook {definition.Tag} created",
        };
        if (!await _store.PutConfigAsync(workspaceId, document, PutMode.Create, audit, cancellationToken))
        {
            return new LatchError(ErrorKind.Conflict, "webhook_exists", $"Webhook '{definition.Tag}' already exists in product '{product}'");
        }

        var warnings = new List<WebhookWarning>();
        var scanned = SigningDocument(definition.SigningSecret);
        foreach (var env in productDefinition.Envs)
        {
            var report = await _resolution.CheckAsync(workspaceId, scanned, new ResolutionTarget(definition.App, env.Slug, product), cancellationToken);
            warnings.AddRange(report.Errors.Select(e => new WebhookWarning(env.Slug, e.Code, e.Message)));
        }

        return new CreatedWebhook(new WebhookInfo(product, definition, now, now, 0, null, null), warnings);
    }

    /// <summary>The webhooks of a product, by tag.</summary>
    public async Task<Result<IReadOnlyList<WebhookInfo>>> ListAsync(string workspaceId, string product, CancellationToken cancellationToken)
    {
        if (await GetProductAsync(workspaceId, product, cancellationToken) is null)
        {
            return ProductNotFound(product);
        }

        var documents = await _store.ListConfigsAsync(workspaceId, ConfigKinds.Webhook, product, cancellationToken);
        var items = new List<WebhookInfo>(documents.Count);
        foreach (var document in documents)
        {
            items.Add(await InfoAsync(workspaceId, product, document, cancellationToken));
        }

        return items;
    }

    /// <summary>One webhook with its rejection counter.</summary>
    public async Task<Result<WebhookInfo>> GetAsync(string workspaceId, string product, string tag, CancellationToken cancellationToken)
    {
        var found = await FindAsync(workspaceId, product, tag, cancellationToken);
        return found.IsSuccess ? await InfoAsync(workspaceId, product, found.Value!, cancellationToken) : found.Error!;
    }

    /// <summary>Deletes a webhook with its deliveries and counter.</summary>
    public async Task<Result<bool>> DeleteAsync(string workspaceId, string product, string tag, Actor actor, CancellationToken cancellationToken)
    {
        if (await GetProductAsync(workspaceId, product, cancellationToken) is null)
        {
            return ProductNotFound(product);
        }

        var audit = SecretService.Event(workspaceId, "product.changed", actor, _time.GetUtcNow()) with
        {
            Product = product, Detail = $"webhook {tag} deleted",
        };
        return await _store.DeleteConfigAsync(workspaceId, ConfigKinds.Webhook, product, tag, cascade: false, audit, cancellationToken)
            ? true
            : WebhookNotFound(product, tag);
    }

    /// <summary>Verified deliveries, newest first, before the given sequence number.</summary>
    public async Task<Result<IReadOnlyList<WebhookDelivery>>> ListDeliveriesAsync(
        string workspaceId, string product, string tag, long? beforeSequence, int limit, CancellationToken cancellationToken)
    {
        var found = await FindAsync(workspaceId, product, tag, cancellationToken);
        if (!found.IsSuccess)
        {
            return found.Error!;
        }

        return Result<IReadOnlyList<WebhookDelivery>>.From(
            await _store.ListDeliveriesAsync(workspaceId, product, tag, beforeSequence, limit, cancellationToken));
    }

    /// <summary>
    /// Receives a delivery: resolves the signing secret for the webhook's app in <paramref name="env"/> (audited like any
    /// resolution, context <c>webhook:{tag}</c>), verifies the signature, and stores the delivery (<c>webhook.verified</c>)
    /// or counts the rejection (<c>webhook.rejected</c> with the reason as code; the body is not stored).
    /// </summary>
    public async Task<DeliveryOutcome> ReceiveAsync(
        string workspaceId, string product, string tag, string env, IReadOnlyList<KeyValuePair<string, string>> headers, byte[] body,
        Actor sender, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(headers);
        ArgumentNullException.ThrowIfNull(body);
        ArgumentNullException.ThrowIfNull(sender);
        if (!Names.IsTag(product) || !Names.IsTag(tag) || !Names.IsTag(env) || workspaceId.Length is 0 or > 100
            || await _store.GetWorkspaceAsync(workspaceId, cancellationToken) is null)
        {
            return new DeliveryOutcome(DeliveryStatus.NotFound);
        }

        var productDefinition = await GetProductAsync(workspaceId, product, cancellationToken);
        var document = productDefinition is null ? null : await _store.GetConfigAsync(workspaceId, ConfigKinds.Webhook, product, tag, cancellationToken);
        if (document is null)
        {
            return new DeliveryOutcome(DeliveryStatus.NotFound);
        }

        var hook = ConfigJson.Deserialize<WebhookDefinition>(document.Body);
        var now = _time.GetUtcNow();
        var rejection = new Rejection(workspaceId, product, hook, env, sender, now);
        if (!productDefinition!.Envs.Any(e => e.Slug == env))
        {
            await RejectAsync(rejection, WebhookReasons.UnknownEnvironment, $"environment '{env}' is not one of the product's", null, cancellationToken);
            return new DeliveryOutcome(DeliveryStatus.NotFound, WebhookReasons.UnknownEnvironment);
        }

        var lookup = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var (name, value) in headers)
        {
            lookup.TryAdd(name, value);
        }

        string? Header(string name) => lookup.TryGetValue(name, out var value) ? value : null;
        var referencedKey = ReferenceText.Find(hook.SigningSecret).FirstOrDefault()?.Key;

        // An unsigned delivery is refused before the secret is even resolved.
        if (WebhookSignatures.Precheck(hook, Header) is { } malformed)
        {
            return await RejectAsync(rejection, malformed, Describe(malformed, hook), referencedKey, cancellationToken);
        }

        var resolved = await _resolution.ResolveAsync(workspaceId, SigningDocument(hook.SigningSecret),
            new ResolutionTarget(hook.App, env, product), Context(hook), sender, cancellationToken);
        if (!resolved.IsSuccess && resolved.Error!.Kind == ErrorKind.AuditUnavailable)
        {
            // The verification could not be recorded: refuse with 503 so the sender retries later.
            return new DeliveryOutcome(DeliveryStatus.AuditUnavailable, resolved.Error.Code);
        }

        if (!resolved.IsSuccess)
        {
            return await RejectAsync(rejection, resolved.Error!.Code, resolved.Error.Message, referencedKey, cancellationToken);
        }

        var current = resolved.Value!.Resolved[0];
        var secrets = new List<SecretValue> { resolved.Value.Values.Single() };
        var versions = new List<int> { current.Version };
        if (await PreviousInGraceAsync(workspaceId, hook, current, now, cancellationToken) is { } previous)
        {
            secrets.Add(previous.Value);
            versions.Add(previous.Version);
        }

        var check = WebhookSignatures.Verify(hook, Header, body, secrets, now);
        if (!check.Ok)
        {
            return await RejectAsync(rejection, check.Reason!, Describe(check.Reason!, hook), current.Key, cancellationToken);
        }

        var delivery = new WebhookDelivery(0, Ids.New("dlv_"), product, tag, env, now, WebhookSignatures.HeadersForStorage(hook, headers), body);
        var audit = rejection.Event("webhook.verified") with
        {
            SecretKey = current.Key, Version = versions[check.MatchedSecret], Detail = $"delivery {delivery.Id}",
        };
        var replayKeys = WebhookSignatures.ReplayKeys(hook, Header, body, check);
        bool stored;
        try
        {
            stored = await _store.AddDeliveryAsync(workspaceId, delivery, replayKeys, now - ReplayRetention, audit, cancellationToken);
        }
        catch (System.Data.Common.DbException)
        {
            // The delivery and its audit record commit together or not at all: the sender retries later.
            return new DeliveryOutcome(DeliveryStatus.AuditUnavailable, "audit_unavailable");
        }

        if (!stored)
        {
            var refused = await RejectAsync(rejection, WebhookReasons.Replayed, "a delivery with this id was already accepted", current.Key, cancellationToken);
            return refused.Status == DeliveryStatus.Rejected ? refused with { Status = DeliveryStatus.Replayed } : refused;
        }

        _telemetry?.WebhookVerification(hook.Scheme, "verified");
        return new DeliveryOutcome(DeliveryStatus.Verified, DeliveryId: delivery.Id);
    }

    /// <summary>The signing secret as a one-field document, so it goes through the resolution engine like every other reference.</summary>
    private static ScannedDocument SigningDocument(string reference) =>
        ReferenceScanner.Scan(JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, string> { [SigningSecretField] = reference }, ConfigJsonContext.Default.DictionaryStringString));

    private static string Context(WebhookDefinition hook) => $"webhook:{hook.Tag}";

    /// <summary>The previous version's value while the current one is younger than the rotation grace.</summary>
    private async Task<(SecretValue Value, int Version)?> PreviousInGraceAsync(
        string workspaceId, WebhookDefinition hook, ResolvedReference current, DateTimeOffset now, CancellationToken cancellationToken)
    {
        if (hook.RotationGraceSeconds <= 0 || current.Version <= 1)
        {
            return null;
        }

        var versions = await _store.ListVersionsAsync(workspaceId, current.Key, cancellationToken);
        var currentInfo = versions.FirstOrDefault(v => v.Version == current.Version);
        if (currentInfo is null || now - currentInfo.CreatedAt >= TimeSpan.FromSeconds(hook.RotationGraceSeconds))
        {
            return null;
        }

        // Versions are listed newest first: the first older one is the version the rotation replaced.
        var previous = versions.FirstOrDefault(v => v.Version < current.Version);
        if (previous is null)
        {
            return null;
        }

        var value = await _secrets.DecryptAsync(workspaceId, current.Key, previous.Version, cancellationToken);
        return value.IsSuccess ? (value.Value!, previous.Version) : null;
    }

    private sealed record Rejection(string WorkspaceId, string Product, WebhookDefinition Hook, string Env, Actor Sender, DateTimeOffset At)
    {
        public AuditEvent Event(string action) => SecretService.Event(WorkspaceId, action, Sender, At) with
        {
            Product = Product, App = Hook.App, Env = Env, Context = Context(Hook),
        };
    }

    private async Task<DeliveryOutcome> RejectAsync(Rejection rejection, string code, string detail, string? secretKey, CancellationToken cancellationToken)
    {
        var audit = rejection.Event("webhook.rejected") with { Code = code, Detail = detail, SecretKey = secretKey };
        try
        {
            await _store.AddRejectionAsync(rejection.WorkspaceId, rejection.Product, rejection.Hook.Tag, code, rejection.At, audit, cancellationToken);
        }
        catch (System.Data.Common.DbException)
        {
            return new DeliveryOutcome(DeliveryStatus.AuditUnavailable, "audit_unavailable");
        }

        _telemetry?.WebhookVerification(rejection.Hook.Scheme, code);
        return new DeliveryOutcome(DeliveryStatus.Rejected, code);
    }

    private static string Describe(string reason, WebhookDefinition hook) => reason switch
    {
        WebhookReasons.SignatureMissing => hook.Scheme == WebhookSchemes.Standard
            ? "a webhook-id, webhook-timestamp or webhook-signature header is missing"
            : $"the {SignatureHeader(hook)} header is missing",
        WebhookReasons.SignatureMalformed => $"the {SignatureHeader(hook)} header holds no signature of the {hook.Scheme} scheme",
        WebhookReasons.SignatureMismatch => "no signature matched the body",
        WebhookReasons.TimestampStale => $"the signed timestamp is more than {hook.ToleranceSeconds ?? WebhookSchemes.DefaultToleranceSeconds} s away from the server's time",
        WebhookReasons.SecretUnusable => "the signing secret is not a base64 key (whsec_…) as the standard scheme needs",
        _ => reason,
    };

    private static string SignatureHeader(WebhookDefinition hook) => hook.Scheme switch
    {
        WebhookSchemes.GitHub => WebhookSchemes.GitHubHeader,
        WebhookSchemes.Stripe => WebhookSchemes.StripeHeader,
        WebhookSchemes.Standard => WebhookSchemes.StandardSignatureHeader,
        _ => WebhookSignatures.HmacHeader(hook),
    };

    private async Task<ProductDefinition?> GetProductAsync(string workspaceId, string product, CancellationToken cancellationToken) =>
        await _store.GetConfigAsync(workspaceId, ConfigKinds.Product, "", product, cancellationToken) is { } document
            ? ConfigJson.Deserialize<ProductDefinition>(document.Body)
            : null;

    private async Task<Result<ConfigDocument>> FindAsync(string workspaceId, string product, string tag, CancellationToken cancellationToken)
    {
        if (await GetProductAsync(workspaceId, product, cancellationToken) is null)
        {
            return ProductNotFound(product);
        }

        return await _store.GetConfigAsync(workspaceId, ConfigKinds.Webhook, product, tag, cancellationToken) is { } document
            ? document
            : WebhookNotFound(product, tag);
    }

    private async Task<WebhookInfo> InfoAsync(string workspaceId, string product, ConfigDocument document, CancellationToken cancellationToken)
    {
        var (count, lastAt, lastReason) = await _store.GetRejectionsAsync(workspaceId, product, document.Name, cancellationToken);
        return new WebhookInfo(product, ConfigJson.Deserialize<WebhookDefinition>(document.Body), document.CreatedAt, document.UpdatedAt, count, lastAt, lastReason);
    }

    private static LatchError ProductNotFound(string product) => new(ErrorKind.NotFound, "product_not_found", $"Product '{product}' not found");

    private static LatchError WebhookNotFound(string product, string tag) =>
        new(ErrorKind.NotFound, "webhook_not_found", $"Webhook '{tag}' not found in product '{product}'");
}

using System.Runtime.CompilerServices;
using Latch.Client.Internal;

namespace Latch.Client;

/// <summary>One product: its apps (<c>product.apps</c>), its webhooks, and its apps' resolved variables.</summary>
public class ProductClient
{
    private readonly LatchTransport? _transport;

    /// <summary>For mocking.</summary>
    protected ProductClient()
    {
        Tag = "";
        Apps = null!;
        Webhooks = null!;
    }

    internal ProductClient(LatchTransport transport, string tag)
    {
        _transport = transport;
        Tag = tag;
        Apps = new ProductAppsClient(transport, tag);
        Webhooks = new WebhooksClient(transport, tag);
    }

    /// <summary>The product tag.</summary>
    public string Tag { get; }

    /// <summary>Apps connected to this product.</summary>
    public virtual ProductAppsClient Apps { get; }

    /// <summary>This product's inbound webhooks.</summary>
    public virtual WebhooksClient Webhooks { get; }

    private LatchTransport Transport => _transport ?? throw new InvalidOperationException("This instance was created for mocking.");

    /// <summary>
    /// An app's variables for one product environment with every reference resolved — what a service loads as its
    /// configuration. All or nothing, except the <paramref name="optional"/> variables, which are skipped when they would fail.
    /// </summary>
    /// <param name="app">The app's access tag.</param>
    /// <param name="env">The product environment slug.</param>
    /// <param name="optional">Variables that may be left out when their references fail.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The resolved variables.</returns>
    /// <exception cref="LatchException">422 with <see cref="LatchException.ReferenceErrors"/>; 404 when the app or environment is not configured.</exception>
    public virtual Task<ResolvedVariables> GetVariablesAsync(string app, string env, IEnumerable<string>? optional = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(app);
        ArgumentException.ThrowIfNullOrEmpty(env);
        var optionalList = optional?.Where(o => !string.IsNullOrEmpty(o)).ToList();
        var query = new Query().Add("env", env).Add("optional", optionalList is { Count: > 0 } ? string.Join(',', optionalList) : null);
        return Transport.SendAsync<ResolvedVariables>(HttpMethod.Get,
            $"v1/products/{LatchTransport.Escape(Tag)}/apps/{LatchTransport.Escape(app)}/variables{query}", null, cancellationToken);
    }
}

/// <summary><c>product.apps</c>: apps connected to a product, with per-environment variables and auth data.</summary>
public class ProductAppsClient
{
    private readonly LatchTransport? _transport;
    private readonly string _product = "";

    /// <summary>For mocking.</summary>
    protected ProductAppsClient()
    {
    }

    internal ProductAppsClient(LatchTransport transport, string product)
    {
        _transport = transport;
        _product = product;
    }

    private LatchTransport Transport => _transport ?? throw new InvalidOperationException("This instance was created for mocking.");

    /// <summary><c>product.apps.add</c>: connects an app. References are stored unresolved; warnings say which would fail today.</summary>
    /// <param name="config">The app's configuration per product environment.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The stored configuration and its warnings.</returns>
    public virtual Task<ProductAppResult> AddAsync(ProductAppConfig config, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(config);
        return Transport.SendAsync<ProductAppResult>(HttpMethod.Post, Root, config, cancellationToken);
    }

    /// <summary>Fetches a connected app's configuration.</summary>
    /// <param name="accessTag">The app's access tag.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The configuration (references unresolved).</returns>
    public virtual Task<ProductAppConfig> GetAsync(string accessTag, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(accessTag);
        return Transport.SendAsync<ProductAppConfig>(HttpMethod.Get, Path(accessTag), null, cancellationToken);
    }

    /// <summary>Lists the product's connected apps.</summary>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>Every configuration.</returns>
    public virtual async Task<IReadOnlyList<ProductAppConfig>> ListAsync(CancellationToken cancellationToken = default) =>
        (await Transport.SendAsync<Page<ProductAppConfig>>(HttpMethod.Get, Root, null, cancellationToken)).Items;

    /// <summary>Replaces a connected app's configuration.</summary>
    /// <param name="config">The new configuration (its <see cref="ProductAppConfig.AccessTag"/> names the app).</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The stored configuration and its warnings.</returns>
    public virtual Task<ProductAppResult> UpdateAsync(ProductAppConfig config, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(config);
        return Transport.SendAsync<ProductAppResult>(HttpMethod.Put, Path(config.AccessTag), config, cancellationToken);
    }

    /// <summary>Disconnects an app from the product.</summary>
    /// <param name="accessTag">The app's access tag.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>A task.</returns>
    public virtual Task RemoveAsync(string accessTag, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(accessTag);
        return Transport.SendAsync(HttpMethod.Delete, Path(accessTag), null, cancellationToken);
    }

    private string Root => $"v1/products/{LatchTransport.Escape(_product)}/apps";

    private string Path(string accessTag) => Root + "/" + LatchTransport.Escape(accessTag);
}

/// <summary>A product's inbound webhooks, verified with a signing secret (usually <c>$Token{…}</c>).</summary>
public class WebhooksClient
{
    private readonly LatchTransport? _transport;
    private readonly string _product = "";

    /// <summary>For mocking.</summary>
    protected WebhooksClient()
    {
    }

    internal WebhooksClient(LatchTransport transport, string product)
    {
        _transport = transport;
        _product = product;
    }

    private LatchTransport Transport => _transport ?? throw new InvalidOperationException("This instance was created for mocking.");

    /// <summary>Creates a webhook; <see cref="Webhook.DeliveryUrl"/> is where senders post (fill in <c>{env}</c>).</summary>
    /// <param name="request">The webhook.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The webhook, with warnings for environments where the signing secret would not resolve today.</returns>
    public virtual Task<Webhook> CreateAsync(CreateWebhookRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        return Transport.SendAsync<Webhook>(HttpMethod.Post, Root, request, cancellationToken);
    }

    /// <summary>Lists the product's webhooks.</summary>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>Every webhook.</returns>
    public virtual async Task<IReadOnlyList<Webhook>> ListAsync(CancellationToken cancellationToken = default) =>
        (await Transport.SendAsync<Page<Webhook>>(HttpMethod.Get, Root, null, cancellationToken)).Items;

    /// <summary>Fetches a webhook with its rejection counter.</summary>
    /// <param name="tag">The webhook tag.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The webhook.</returns>
    public virtual Task<Webhook> GetAsync(string tag, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(tag);
        return Transport.SendAsync<Webhook>(HttpMethod.Get, Path(tag), null, cancellationToken);
    }

    /// <summary>Deletes a webhook and its deliveries.</summary>
    /// <param name="tag">The webhook tag.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>A task.</returns>
    public virtual Task DeleteAsync(string tag, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(tag);
        return Transport.SendAsync(HttpMethod.Delete, Path(tag), null, cancellationToken);
    }

    /// <summary>Verified deliveries, newest first, following every page.</summary>
    /// <param name="tag">The webhook tag.</param>
    /// <param name="pageSize">Deliveries per request (1–500).</param>
    /// <param name="cancellationToken">Cancels the enumeration.</param>
    /// <returns>The deliveries.</returns>
    public virtual async IAsyncEnumerable<WebhookDelivery> DeliveriesAsync(string tag, int? pageSize = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(tag);
        string? cursor = null;
        do
        {
            var query = new Query().Add("limit", pageSize).Add("cursor", cursor);
            var page = await Transport.SendAsync<Page<WebhookDelivery>>(HttpMethod.Get, Path(tag) + "/deliveries" + query, null, cancellationToken);
            foreach (var delivery in page.Items)
            {
                yield return delivery;
            }

            cursor = page.NextCursor;
        }
        while (cursor is not null);
    }

    private string Root => $"v1/products/{LatchTransport.Escape(_product)}/webhooks";

    private string Path(string tag) => Root + "/" + LatchTransport.Escape(tag);
}

/// <summary>An app connected to a product (<c>product.apps.add</c>'s shape).</summary>
/// <param name="AccessTag">The app's access tag.</param>
/// <param name="Envs">Per product environment: the app environment, variables and auth data.</param>
public sealed record ProductAppConfig(string AccessTag, IReadOnlyList<ProductAppEnvironment> Envs);

/// <summary>Which app environment a product environment uses, with its variables and auth data (values may hold <c>$Token{…}</c>).</summary>
/// <param name="AppEnvSlug">The app environment.</param>
/// <param name="ProductEnvSlug">The product environment.</param>
/// <param name="Variables">Variables for <c>$Variable{KEY}</c> and for configuration loading.</param>
/// <param name="Auth">Auth data for <c>$Auth{FIELD}</c>.</param>
public sealed record ProductAppEnvironment(
    string AppEnvSlug,
    string ProductEnvSlug,
    IReadOnlyList<ProductAppVariable>? Variables = null,
    IReadOnlyList<ProductAppAuth>? Auth = null);

/// <summary>A variable.</summary>
/// <param name="Key">Its name, e.g. <c>DB_PASSWORD</c>.</param>
/// <param name="Value">Its value, e.g. <c>$Token{DB_PASSWORD}</c>.</param>
public sealed record ProductAppVariable(string Key, string Value);

/// <summary>Auth data for an auth definition.</summary>
/// <param name="AuthTag">The app's auth tag.</param>
/// <param name="Data">Fields for <c>$Auth{FIELD}</c>, e.g. <c>api_key: $Token{STRIPE_KEY}</c>.</param>
public sealed record ProductAppAuth(string AuthTag, IReadOnlyDictionary<string, string> Data);

/// <summary>What adding or replacing a product app answers.</summary>
/// <param name="AccessTag">The app's access tag.</param>
/// <param name="Envs">The stored configuration.</param>
/// <param name="Warnings">References that would fail today (missing, out of scope, wrong environment, expired).</param>
public sealed record ProductAppResult(string AccessTag, IReadOnlyList<ProductAppEnvironment> Envs, IReadOnlyList<ConfigWarning> Warnings);

/// <summary>A reference that would fail in an environment today.</summary>
/// <param name="Env">The product environment.</param>
/// <param name="Path">The JSON path.</param>
/// <param name="Key">The secret key.</param>
/// <param name="Code">E.g. <c>secret_not_found</c>.</param>
/// <param name="Message">The message.</param>
public sealed record ConfigWarning(string Env, string Path, string? Key, string Code, string Message);

/// <summary>An app's variables for one environment, references resolved. Values print as <c>***</c>.</summary>
/// <param name="Product">The product.</param>
/// <param name="App">The app.</param>
/// <param name="Env">The product environment.</param>
/// <param name="Variables">Name → resolved value.</param>
/// <param name="Skipped">Optional variables left out because their references would fail.</param>
/// <param name="References">The references that were resolved.</param>
public sealed record ResolvedVariables(
    string Product,
    string App,
    string Env,
    IReadOnlyDictionary<string, SecretValue> Variables,
    IReadOnlyList<string> Skipped,
    IReadOnlyList<ResolvedReference> References);

/// <summary>What <see cref="WebhooksClient.CreateAsync"/> sends.</summary>
/// <param name="Name">A display name.</param>
/// <param name="Tag">The webhook tag (part of the delivery URL).</param>
/// <param name="App">The app whose scope the signing secret is resolved for.</param>
/// <param name="SigningSecret">Usually <c>$Token{KEY}</c>.</param>
/// <param name="Scheme"><c>github</c>, <c>stripe</c>, <c>standard</c> or <c>hmac_sha256</c>.</param>
public sealed record CreateWebhookRequest(string Name, string Tag, string App, string SigningSecret, string Scheme)
{
    /// <summary>Timestamp tolerance in seconds (<c>stripe</c>, <c>standard</c>; default 300).</summary>
    public int? ToleranceSeconds { get; init; }

    /// <summary>How long the previous secret version still verifies after a rotation.</summary>
    public int? RotationGraceSeconds { get; init; }

    /// <summary>The signature header for <c>hmac_sha256</c> (default <c>X-Signature</c>).</summary>
    public string? Header { get; init; }
}

/// <summary>A webhook. Its signing secret is the reference text, never a value.</summary>
/// <param name="Tag">The webhook tag.</param>
/// <param name="Name">A display name.</param>
/// <param name="Product">The product.</param>
/// <param name="App">The app.</param>
/// <param name="Scheme">The signature scheme.</param>
/// <param name="SigningSecret">The signing secret reference.</param>
/// <param name="ToleranceSeconds">Timestamp tolerance.</param>
/// <param name="RotationGraceSeconds">Rotation grace.</param>
/// <param name="Header">The <c>hmac_sha256</c> header.</param>
/// <param name="DeliveryUrl">Where senders post, with <c>{env}</c> to fill in.</param>
/// <param name="CreatedAt">When it was created.</param>
/// <param name="UpdatedAt">When it last changed.</param>
/// <param name="RejectedCount">Deliveries rejected so far.</param>
/// <param name="LastRejectedAt">The latest rejection.</param>
/// <param name="LastRejectionReason">Why it was rejected.</param>
/// <param name="Warnings">Only on create: environments where the signing secret would not resolve today.</param>
public sealed record Webhook(
    string Tag,
    string Name,
    string Product,
    string App,
    string Scheme,
    string SigningSecret,
    int? ToleranceSeconds,
    int RotationGraceSeconds,
    string? Header,
    string DeliveryUrl,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt,
    long RejectedCount,
    DateTimeOffset? LastRejectedAt,
    string? LastRejectionReason,
    IReadOnlyList<WebhookWarning>? Warnings = null);

/// <summary>An environment where a webhook's signing secret would not resolve today.</summary>
/// <param name="Env">The environment.</param>
/// <param name="Code">E.g. <c>secret_not_found</c>.</param>
/// <param name="Message">The message.</param>
public sealed record WebhookWarning(string Env, string Code, string Message);

/// <summary>A verified delivery.</summary>
/// <param name="Id">Its id.</param>
/// <param name="ReceivedAt">When it arrived.</param>
/// <param name="Env">The environment it was posted for.</param>
/// <param name="Headers">Its headers, signature headers removed.</param>
/// <param name="Body">The body when it is UTF-8 text.</param>
/// <param name="BodyBase64">Otherwise the body in base64.</param>
public sealed record WebhookDelivery(string Id, DateTimeOffset ReceivedAt, string Env, IReadOnlyDictionary<string, string> Headers, string? Body, string? BodyBase64);

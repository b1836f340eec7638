namespace Latch.Core.Storage;

/// <summary>A tenant.</summary>
public sealed record Workspace(string Id, string Name, DateTimeOffset CreatedAt);

/// <summary>An API key's metadata (the key itself is only ever stored as a hash).</summary>
public sealed record ApiKeyRecord(
    string Id,
    string WorkspaceId,
    string Name,
    string Role,
    IReadOnlyList<string> Apps,
    IReadOnlyList<string> Envs,
    long? ExpiresAt,
    bool IsBootstrap,
    DateTimeOffset CreatedAt);

/// <summary>A secret's metadata; never its value.</summary>
public sealed record SecretRecord(
    string Key,
    string? Description,
    string? TokenType,
    IReadOnlyList<string> Scope,
    IReadOnlyList<string> Envs,
    long? ExpiresAt,
    bool Revoked,
    int Version,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt,
    DateTimeOffset? LastUsedAt);

/// <summary>One stored version of a secret (no value).</summary>
public sealed record SecretVersionInfo(int Version, DateTimeOffset CreatedAt, string? CreatedBy);

/// <summary>Status filter values.</summary>
public enum SecretStatus
{
    /// <summary>Not revoked and not expired.</summary>
    Active,
    /// <summary>Past its expiry.</summary>
    Expired,
    /// <summary>Revoked.</summary>
    Revoked,
}

/// <summary>A page request over a workspace's secrets, ordered by key.</summary>
public sealed record SecretQuery(
    string? App = null,
    string? Env = null,
    SecretStatus? Status = null,
    long? ExpiringWithinSeconds = null,
    string? AfterKey = null,
    int Limit = 100,
    string? Search = null);

/// <summary>An audit record. Never carries a value.</summary>
public sealed record AuditEvent
{
    /// <summary>Unique id.</summary>
    public required string Id { get; init; }
    /// <summary>Workspace.</summary>
    public required string WorkspaceId { get; init; }
    /// <summary>When.</summary>
    public required DateTimeOffset At { get; init; }
    /// <summary>e.g. <c>secret.created</c>.</summary>
    public required string Action { get; init; }
    /// <summary>API key id of the actor.</summary>
    public string? ActorKeyId { get; init; }
    /// <summary>API key name of the actor.</summary>
    public string? ActorName { get; init; }
    /// <summary>Request id.</summary>
    public string? RequestId { get; init; }
    /// <summary>Client address.</summary>
    public string? Client { get; init; }
    /// <summary>Secret key, when about one.</summary>
    public string? SecretKey { get; init; }
    /// <summary>Secret version.</summary>
    public int? Version { get; init; }
    /// <summary>Product tag.</summary>
    public string? Product { get; init; }
    /// <summary>App access tag.</summary>
    public string? App { get; init; }
    /// <summary>Environment slug.</summary>
    public string? Env { get; init; }
    /// <summary>Context such as <c>resolve</c>, <c>check</c>, <c>action:app.event</c>.</summary>
    public string? Context { get; init; }
    /// <summary>JSON path of the reference.</summary>
    public string? Path { get; init; }
    /// <summary>Denial code.</summary>
    public string? Code { get; init; }
    /// <summary>Free text without values (e.g. the changed fields).</summary>
    public string? Detail { get; init; }
    /// <summary>Previous event's hash in this workspace's chain (set by the store).</summary>
    public string PrevHash { get; init; } = "";
    /// <summary>This event's hash (set by the store).</summary>
    public string Hash { get; init; } = "";
    /// <summary>Commit order in the store (0 before it is stored).</summary>
    public long Sequence { get; init; }
}

/// <summary>A page of a workspace's audit log, newest first, filtered.</summary>
public sealed record AuditQuery(
    string? Secret = null,
    string? App = null,
    string? Env = null,
    string? Action = null,
    DateTimeOffset? Since = null,
    DateTimeOffset? Until = null,
    long? BeforeSequence = null,
    long? AfterSequence = null,
    int Limit = 100);

/// <summary>Who acted and from where; attached to audit events.</summary>
public sealed record Actor(string? KeyId, string? Name, string? RequestId, string? Client)
{
    /// <summary>The server itself (bootstrap, migrations).</summary>
    public static Actor System { get; } = new(null, "system", null, null);
}

/// <summary>A stored configuration: an app, a product, a product app or a webhook, as validated JSON.</summary>
/// <param name="Kind">One of <see cref="ConfigKinds"/>.</param>
/// <param name="Parent">Product tag for product apps and webhooks; empty otherwise.</param>
/// <param name="Name">Access tag, product tag or webhook tag.</param>
/// <param name="Body">The JSON document (references unresolved).</param>
/// <param name="CreatedAt">Created.</param>
/// <param name="UpdatedAt">Last replaced.</param>
public sealed record ConfigDocument(string Kind, string Parent, string Name, string Body, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt);

/// <summary>Kinds of configuration documents.</summary>
public static class ConfigKinds
{
    /// <summary>A third-party API definition.</summary>
    public const string App = "app";
    /// <summary>A product with its environments.</summary>
    public const string Product = "product";
    /// <summary>An app connected to a product.</summary>
    public const string ProductApp = "product_app";
    /// <summary>An inbound webhook of a product.</summary>
    public const string Webhook = "webhook";
}

/// <summary>A verified webhook delivery.</summary>
/// <param name="Sequence">Store order (cursor); 0 before insertion.</param>
/// <param name="Id">Delivery id.</param>
/// <param name="Product">Product tag.</param>
/// <param name="Webhook">Webhook tag.</param>
/// <param name="Env">Environment slug.</param>
/// <param name="ReceivedAt">When it arrived.</param>
/// <param name="HeadersJson">Headers as a JSON object, signature headers removed.</param>
/// <param name="Body">Raw body.</param>
public sealed record WebhookDelivery(long Sequence, string Id, string Product, string Webhook, string Env, DateTimeOffset ReceivedAt, string HeadersJson, byte[] Body);

/// <summary>How often, and when last, a secret was resolved for one product, app, environment and context.</summary>
public sealed record RecentUse(string? Product, string? App, string? Env, string? Context, long Count, DateTimeOffset LastUsedAt);

/// <summary>
/// One generation of a workspace's data key as stored: wrapped by the master key (never key material). The newest
/// generation whose <see cref="RetiredAt"/> is null seals new values; every generation keeps opening what it sealed.
/// </summary>
/// <param name="WorkspaceId">Workspace.</param>
/// <param name="Generation">1, 2, … in order of creation.</param>
/// <param name="WrappedKey">The key wrapped by the master key (context <c>DataKey.WrapContext(workspace, generation)</c>).</param>
/// <param name="EncryptionsReserved">Encryptions handed out so far (reserved in blocks: an over-estimate of real use).</param>
/// <param name="CreatedAt">Created.</param>
/// <param name="RetiredAt">When it stopped sealing new values; null while it is the current generation.</param>
public sealed record DataKeyRecord(string WorkspaceId, int Generation, byte[] WrappedKey, long EncryptionsReserved, DateTimeOffset CreatedAt, DateTimeOffset? RetiredAt);

/// <summary>A secret value as sealed by a workspace data key, with the generation of that key.</summary>
/// <param name="KeyGeneration">The data-key generation that sealed it (<c>secret_versions.key_generation</c>).</param>
/// <param name="Bytes"><c>nonce(12) | ciphertext | tag(16)</c>.</param>
public sealed record SealedValue(int KeyGeneration, byte[] Bytes);

namespace Latch.Core.Storage;

/// <summary>
/// Latch's storage contract. Every mutating call is one transaction that also appends its audit
/// events, so a change and its record commit together (or neither does). Nothing above this interface
/// knows which database it talks to.
/// </summary>
public interface ILatchStore : IAsyncDisposable
{
    /// <summary>Reads a named metadata blob (e.g. the master-key check value).</summary>
    Task<byte[]?> GetMetaAsync(string name, CancellationToken cancellationToken);

    /// <summary>Writes a metadata blob if it is not set yet.</summary>
    Task SetMetaIfAbsentAsync(string name, byte[] value, CancellationToken cancellationToken);

    /// <summary>Number of API keys in the whole store (bootstrap happens only when zero).</summary>
    Task<long> CountApiKeysAsync(CancellationToken cancellationToken);

    /// <summary>Creates a workspace with its wrapped data key (stored as data-key generation 1) and its first owner key.</summary>
    Task CreateWorkspaceAsync(Workspace workspace, byte[] wrappedKey, ApiKeyRecord ownerKey, byte[] ownerKeyHash, IReadOnlyList<AuditEvent> audit, CancellationToken cancellationToken);

    /// <summary>A workspace by id.</summary>
    Task<Workspace?> GetWorkspaceAsync(string id, CancellationToken cancellationToken);

    /// <summary>A workspace by name.</summary>
    Task<Workspace?> GetWorkspaceByNameAsync(string name, CancellationToken cancellationToken);

    /// <summary>
    /// Every data-key generation of one workspace, or of every workspace when <paramref name="workspaceId"/> is null
    /// (start-up checks, master-key rotation), ordered by workspace id then generation.
    /// </summary>
    Task<IReadOnlyList<DataKeyRecord>> ListDataKeysAsync(string? workspaceId, CancellationToken cancellationToken);

    /// <summary>
    /// Reserves up to <paramref name="count"/> encryptions of one data-key generation, atomically (one statement, or one
    /// transaction, that several servers may run at once): grants <c>min(count, limit - encryptions_reserved)</c> and
    /// adds it to <c>encryptions_reserved</c>. Returns the number granted: 0 when the generation is retired, does not
    /// exist, or already has <paramref name="limit"/> reserved — then the caller creates the next generation
    /// (<see cref="AddDataKeyAsync"/>). The sum of grants never exceeds <paramref name="limit"/>.
    /// </summary>
    Task<long> ReserveEncryptionsAsync(string workspaceId, int generation, long count, long limit, CancellationToken cancellationToken);

    /// <summary>
    /// In ONE transaction: inserts data-key generation <paramref name="generation"/> (<c>encryptions_reserved</c> 0,
    /// <c>retired_at</c> null), sets <c>retired_at = at</c> on every earlier generation of the workspace that is not
    /// retired yet, and appends <paramref name="audit"/>. Returns false and writes nothing when that generation already
    /// exists or is not the next one (<c>max(generation) + 1</c>): another server rotated first, re-read with
    /// <see cref="ListDataKeysAsync"/>.
    /// </summary>
    Task<bool> AddDataKeyAsync(string workspaceId, int generation, byte[] wrappedKey, DateTimeOffset at, AuditEvent audit, CancellationToken cancellationToken);

    /// <summary>Adds an API key.</summary>
    Task CreateApiKeyAsync(ApiKeyRecord key, byte[] keyHash, AuditEvent audit, CancellationToken cancellationToken);

    /// <summary>Finds a live (not revoked) key by the SHA-256 of its text, with its stored hash.</summary>
    Task<(ApiKeyRecord Key, byte[] Hash)?> FindApiKeyAsync(byte[] keyHash, CancellationToken cancellationToken);

    /// <summary>A workspace's live keys.</summary>
    Task<IReadOnlyList<ApiKeyRecord>> ListApiKeysAsync(string workspaceId, CancellationToken cancellationToken);

    /// <summary>Revokes a key; false when it does not exist in that workspace.</summary>
    Task<bool> RevokeApiKeyAsync(string workspaceId, string keyId, DateTimeOffset at, AuditEvent audit, CancellationToken cancellationToken);

    /// <summary>Creates a secret with version 1 (its value and the data-key generation that sealed it); false when the key already exists.</summary>
    Task<bool> CreateSecretAsync(string workspaceId, SecretRecord secret, SealedValue sealedValue, string? createdBy, AuditEvent audit, CancellationToken cancellationToken);

    /// <summary>A secret's metadata.</summary>
    Task<SecretRecord?> GetSecretAsync(string workspaceId, string key, CancellationToken cancellationToken);

    /// <summary>A page of secrets ordered by key.</summary>
    Task<IReadOnlyList<SecretRecord>> ListSecretsAsync(string workspaceId, SecretQuery query, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>Metadata of the given keys that exist.</summary>
    Task<IReadOnlyList<SecretRecord>> GetSecretsAsync(string workspaceId, IReadOnlyCollection<string> keys, CancellationToken cancellationToken);

    /// <summary>The sealed value of one version with its data-key generation, or null.</summary>
    Task<SealedValue?> GetSealedValueAsync(string workspaceId, string key, int version, CancellationToken cancellationToken);

    /// <summary>The sealed values of several (key, version) pairs in one round trip; pairs that do not exist are absent.</summary>
    Task<IReadOnlyDictionary<string, SealedValue>> GetSealedValuesAsync(string workspaceId, IReadOnlyCollection<(string Key, int Version)> versions, CancellationToken cancellationToken);

    /// <summary>Every version of a secret, newest first.</summary>
    Task<IReadOnlyList<SecretVersionInfo>> ListVersionsAsync(string workspaceId, string key, CancellationToken cancellationToken);

    /// <summary>
    /// Replaces a secret's metadata if its current version is still <paramref name="expectedVersion"/>
    /// (optimistic concurrency). With <paramref name="newSealedValue"/>, adds version
    /// <c>updated.Version</c> (which must be <c>expectedVersion + 1</c>), recording <c>newSealedValue.KeyGeneration</c>.
    /// With <paramref name="expectedUpdatedAt"/>, the row must also still carry that <c>updated_at</c>: changes that keep
    /// the version (revoke, scope, environments, description) then cannot silently undo each other — the later writer
    /// gets <see cref="UpdateResult.VersionConflict"/> and re-applies its change to what is stored.
    /// </summary>
    Task<UpdateResult> UpdateSecretAsync(string workspaceId, SecretRecord updated, int expectedVersion, SealedValue? newSealedValue, string? createdBy, AuditEvent audit, CancellationToken cancellationToken, DateTimeOffset? expectedUpdatedAt = null);

    /// <summary>Deletes a secret and all its versions; false when it did not exist.</summary>
    Task<bool> DeleteSecretAsync(string workspaceId, string key, AuditEvent audit, CancellationToken cancellationToken);

    /// <summary>Writes a configuration document; with <paramref name="mode"/> Create fails when it exists, Replace when it does not.</summary>
    Task<bool> PutConfigAsync(string workspaceId, ConfigDocument document, PutMode mode, AuditEvent audit, CancellationToken cancellationToken);

    /// <summary>One configuration document.</summary>
    Task<ConfigDocument?> GetConfigAsync(string workspaceId, string kind, string parent, string name, CancellationToken cancellationToken);

    /// <summary>Configuration documents of a kind (optionally under one parent), ordered by parent then name.</summary>
    Task<IReadOnlyList<ConfigDocument>> ListConfigsAsync(string workspaceId, string kind, string? parent, CancellationToken cancellationToken);

    /// <summary>Deletes a document and, when <paramref name="cascade"/>, every document whose parent is its name, with their deliveries.</summary>
    Task<bool> DeleteConfigAsync(string workspaceId, string kind, string parent, string name, bool cascade, AuditEvent audit, CancellationToken cancellationToken);

    /// <summary>
    /// Stores a verified webhook delivery together with its audit event and its replay keys, in ONE transaction — unless
    /// one of <paramref name="replayKeys"/> is already recorded for that webhook (workspace, product, webhook): then
    /// neither the delivery, its keys nor its audit event is written (the pruning below may be) and the result is false
    /// (a replay; the caller records the rejection with <see cref="AddRejectionAsync"/>). The guard is a unique key on (workspace, product, webhook,
    /// replay key), so of two concurrent identical deliveries exactly one is stored. The same transaction deletes that
    /// webhook's replay keys received before <paramref name="pruneBefore"/> (the retention).
    /// </summary>
    Task<bool> AddDeliveryAsync(string workspaceId, WebhookDelivery delivery, IReadOnlyList<string> replayKeys, DateTimeOffset pruneBefore, AuditEvent audit, CancellationToken cancellationToken);

    /// <summary>Deliveries of a webhook, newest first, after the cursor (a delivery sequence number).</summary>
    Task<IReadOnlyList<WebhookDelivery>> ListDeliveriesAsync(string workspaceId, string product, string webhook, long? beforeSequence, int limit, CancellationToken cancellationToken);

    /// <summary>Counts a rejected delivery (its body is not stored) together with its audit event.</summary>
    Task AddRejectionAsync(string workspaceId, string product, string webhook, string reason, DateTimeOffset at, AuditEvent audit, CancellationToken cancellationToken);

    /// <summary>Rejections of a webhook: count, last time and reason.</summary>
    Task<(long Count, DateTimeOffset? LastAt, string? LastReason)> GetRejectionsAsync(string workspaceId, string product, string webhook, CancellationToken cancellationToken);

    /// <summary>A page of the audit log, newest first (oldest first when <see cref="AuditQuery.AfterSequence"/> is set, for following).</summary>
    Task<IReadOnlyList<AuditEvent>> QueryAuditAsync(string workspaceId, AuditQuery query, CancellationToken cancellationToken);

    /// <summary>Every event of a workspace in commit order (for chain verification), streamed.</summary>
    IAsyncEnumerable<AuditEvent> ReadAuditChainAsync(string workspaceId, CancellationToken cancellationToken);

    /// <summary>Resolutions of a secret grouped by product, app, environment and context, most recent first.</summary>
    Task<IReadOnlyList<RecentUse>> GetRecentUsesAsync(string workspaceId, string key, CancellationToken cancellationToken);

    /// <summary>
    /// How far <c>last_used_at</c> may lag a secret's latest resolution: a resolution re-stamps it only when the stamp is
    /// at least this much older (or absent). Every resolution rewriting its secrets' rows made a large store's commits
    /// write one random page per secret; the audit log keeps every use to the tick.
    /// </summary>
    static readonly TimeSpan LastUseResolution = TimeSpan.FromMinutes(1);

    /// <summary>
    /// Appends audit events in one transaction, and stamps <c>last_used_at</c> for resolutions (when older than
    /// <see cref="LastUseResolution"/>).
    /// </summary>
    Task AppendAuditAsync(IReadOnlyList<AuditEvent> events, CancellationToken cancellationToken);

    /// <summary>
    /// Master-key rotation: in ONE transaction, replaces every wrapped data key — every generation of every workspace —
    /// and the master-key check value (compare-and-swap: each (workspace, generation) row must still hold its
    /// <c>Expected</c> bytes, and <paramref name="keys"/> must cover every row of <c>data_keys</c>), and appends <paramref name="audit"/>. Returns <see cref="RewrapOutcome.StoreChanged"/>
    /// and writes nothing when the store moved on since it was read. Throws <see cref="StoreBusyException"/> when the
    /// store is in use elsewhere (the rotation is for a stopped server). <paramref name="expectedCheck"/> null means the
    /// store has no check value yet (it is inserted).
    /// </summary>
    Task<RewrapOutcome> RewrapKeysAsync(IReadOnlyList<RewrappedKey> keys, byte[]? expectedCheck, byte[] newCheck, IReadOnlyList<AuditEvent> audit, CancellationToken cancellationToken);
}

/// <summary>How <see cref="ILatchStore.PutConfigAsync"/> treats an existing document.</summary>
public enum PutMode
{
    /// <summary>Only when absent.</summary>
    Create,
    /// <summary>Only when present.</summary>
    Replace,
}

/// <summary>Outcome of an optimistic update.</summary>
public enum UpdateResult
{
    /// <summary>Committed.</summary>
    Updated,
    /// <summary>The secret no longer exists.</summary>
    NotFound,
    /// <summary>Its version moved on since it was read.</summary>
    VersionConflict,
}

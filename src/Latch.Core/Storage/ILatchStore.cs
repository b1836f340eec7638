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

    /// <summary>Creates a workspace with its wrapped data key and its first owner key.</summary>
    Task CreateWorkspaceAsync(Workspace workspace, byte[] wrappedKey, ApiKeyRecord ownerKey, byte[] ownerKeyHash, IReadOnlyList<AuditEvent> audit, CancellationToken cancellationToken);

    /// <summary>A workspace by id.</summary>
    Task<Workspace?> GetWorkspaceAsync(string id, CancellationToken cancellationToken);

    /// <summary>A workspace by name.</summary>
    Task<Workspace?> GetWorkspaceByNameAsync(string name, CancellationToken cancellationToken);

    /// <summary>Every workspace's wrapped data key (start-up checks, master-key rotation).</summary>
    Task<IReadOnlyList<(string WorkspaceId, byte[] WrappedKey)>> ListWrappedKeysAsync(CancellationToken cancellationToken);

    /// <summary>One workspace's wrapped data key.</summary>
    Task<byte[]?> GetWrappedKeyAsync(string workspaceId, CancellationToken cancellationToken);

    /// <summary>Adds an API key.</summary>
    Task CreateApiKeyAsync(ApiKeyRecord key, byte[] keyHash, AuditEvent audit, CancellationToken cancellationToken);

    /// <summary>Finds a live (not revoked) key by the SHA-256 of its text, with its stored hash.</summary>
    Task<(ApiKeyRecord Key, byte[] Hash)?> FindApiKeyAsync(byte[] keyHash, CancellationToken cancellationToken);

    /// <summary>A workspace's live keys.</summary>
    Task<IReadOnlyList<ApiKeyRecord>> ListApiKeysAsync(string workspaceId, CancellationToken cancellationToken);

    /// <summary>Revokes a key; false when it does not exist in that workspace.</summary>
    Task<bool> RevokeApiKeyAsync(string workspaceId, string keyId, DateTimeOffset at, AuditEvent audit, CancellationToken cancellationToken);

    /// <summary>Creates a secret with version 1; false when the key already exists.</summary>
    Task<bool> CreateSecretAsync(string workspaceId, SecretRecord secret, byte[] sealedValue, string? createdBy, AuditEvent audit, CancellationToken cancellationToken);

    /// <summary>A secret's metadata.</summary>
    Task<SecretRecord?> GetSecretAsync(string workspaceId, string key, CancellationToken cancellationToken);

    /// <summary>A page of secrets ordered by key.</summary>
    Task<IReadOnlyList<SecretRecord>> ListSecretsAsync(string workspaceId, SecretQuery query, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>Metadata of the given keys that exist.</summary>
    Task<IReadOnlyList<SecretRecord>> GetSecretsAsync(string workspaceId, IReadOnlyCollection<string> keys, CancellationToken cancellationToken);

    /// <summary>The sealed value of one version, or null.</summary>
    Task<byte[]?> GetSealedValueAsync(string workspaceId, string key, int version, CancellationToken cancellationToken);

    /// <summary>Every version of a secret, newest first.</summary>
    Task<IReadOnlyList<SecretVersionInfo>> ListVersionsAsync(string workspaceId, string key, CancellationToken cancellationToken);

    /// <summary>
    /// Replaces a secret's metadata if its current version is still <paramref name="expectedVersion"/>
    /// (optimistic concurrency). With <paramref name="newSealedValue"/>, adds version
    /// <c>updated.Version</c> (which must be <c>expectedVersion + 1</c>).
    /// </summary>
    Task<UpdateResult> UpdateSecretAsync(string workspaceId, SecretRecord updated, int expectedVersion, byte[]? newSealedValue, string? createdBy, AuditEvent audit, CancellationToken cancellationToken);

    /// <summary>Deletes a secret and all its versions; false when it did not exist.</summary>
    Task<bool> DeleteSecretAsync(string workspaceId, string key, AuditEvent audit, CancellationToken cancellationToken);

    /// <summary>Appends audit events in one transaction (and stamps <c>last_used_at</c> for resolutions).</summary>
    Task AppendAuditAsync(IReadOnlyList<AuditEvent> events, CancellationToken cancellationToken);
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

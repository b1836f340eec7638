using System.Security.Cryptography;
using System.Text;
using Latch.Core.Caching;
using Latch.Core.Crypto;
using Latch.Core.Secrets;
using Latch.Core.Storage;

namespace Latch.Core.Access;

/// <summary>A validated request for a new API key.</summary>
public sealed record ApiKeyDraft(string Name, string Role, IReadOnlyList<string> Apps, IReadOnlyList<string> Envs, long? ExpiresAt);

/// <summary>A new key: its metadata and the key text, shown this once.</summary>
public sealed record IssuedApiKey(ApiKeyRecord Key, SecretValue Token);

/// <summary>Bootstrap could not proceed.</summary>
public sealed class BootstrapException : Exception
{
    /// <summary>Creates the exception.</summary>
    public BootstrapException(string message) : base(message) { }
}

/// <summary>Workspaces and API keys: bootstrap, issue, authenticate (hash + constant-time compare), revoke.</summary>
public sealed class AccessService
{
    /// <summary>Shortest bootstrap key accepted.</summary>
    public const int MinBootstrapKeyLength = 32;
    private const string KeyPrefix = "latch_";
    private readonly ILatchStore _store;
    private readonly Keyring _keyring;
    private readonly TimeProvider _time;
    private readonly StoreChanges? _changes;
    private readonly ApiKeyCache? _apiKeys;

    /// <summary>
    /// Creates the service. With <paramref name="changes"/>, authentication answers from an in-memory cache of live
    /// keys (invalidated through the feed) and every key or workspace change is published there.
    /// </summary>
    public AccessService(ILatchStore store, Keyring keyring, TimeProvider time, StoreChanges? changes = null)
    {
        _store = store;
        _keyring = keyring;
        _time = time;
        _changes = changes;
        _apiKeys = changes is null ? null : new ApiKeyCache(changes);
    }

    /// <summary>
    /// When the store has no keys and a bootstrap key is given, creates workspace <c>default</c> and an owner key
    /// with exactly that value. Returns whether it did.
    /// </summary>
    public async Task<bool> BootstrapAsync(string? bootstrapKey, CancellationToken cancellationToken)
    {
        if (string.IsNullOrEmpty(bootstrapKey))
        {
            return false;
        }

        if (bootstrapKey.Length < MinBootstrapKeyLength || bootstrapKey.Any(char.IsWhiteSpace))
        {
            throw new BootstrapException($"LATCH_BOOTSTRAP_KEY must be at least {MinBootstrapKeyLength} characters without spaces.");
        }

        if (await _store.CountApiKeysAsync(cancellationToken) > 0)
        {
            return false;
        }

        try
        {
            await CreateWorkspaceCoreAsync("default", new SecretValue(bootstrapKey), isBootstrap: true, Actor.System, cancellationToken);
            return true;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // Several instances on one database may start at once: the workspace name is unique, so one of them
            // wins and the others find its keys here.
            if (await _store.CountApiKeysAsync(cancellationToken) > 0)
            {
                return false;
            }

            throw;
        }
    }

    /// <summary>Creates a workspace with its own data key and owner key.</summary>
    public async Task<Result<(Workspace Workspace, IssuedApiKey Owner)>> CreateWorkspaceAsync(string name, Actor actor, CancellationToken cancellationToken)
    {
        if (await _store.GetWorkspaceByNameAsync(name, cancellationToken) is not null)
        {
            return new LatchError(ErrorKind.Conflict, "workspace_exists", $"Workspace '{name}' already exists");
        }

        return await CreateWorkspaceCoreAsync(name, NewToken(), isBootstrap: false, actor, cancellationToken);
    }

    private async Task<(Workspace, IssuedApiKey)> CreateWorkspaceCoreAsync(string name, SecretValue token, bool isBootstrap, Actor actor, CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        var workspace = new Workspace(Ids.New("ws_"), name, now);
        var owner = new ApiKeyRecord(Ids.New("key_"), workspace.Id, isBootstrap ? "bootstrap" : "owner", Roles.Owner, [], [], null, isBootstrap, now);
        var audit = new[]
        {
            SecretService.Event(workspace.Id, "workspace.created", actor, now) with { Detail = $"name={name}" },
            SecretService.Event(workspace.Id, "key.created", actor, now) with { Detail = $"id={owner.Id} role={owner.Role}" },
        };
        try
        {
            await _store.CreateWorkspaceAsync(workspace, _keyring.NewWrappedDataKey(workspace.Id), owner, Hash(token.Reveal()), audit, cancellationToken);
        }
        finally
        {
            Publish(new StoreChange(workspace.Id, StoreChangeKind.Workspace, null));
            Publish(new StoreChange(workspace.Id, StoreChangeKind.ApiKey, owner.Id));
        }

        return (workspace, new IssuedApiKey(owner, token));
    }

    /// <summary>
    /// The caller's key from the in-memory cache alone, without allocating: true with the answer (null when the key has
    /// expired) for a key found before; false when <see cref="AuthenticateAsync"/> must decide (not cached, no cache, or
    /// text that is no key at all). Same checks as <see cref="AuthenticateAsync"/>: hash, constant-time compare, expiry.
    /// </summary>
    public bool TryAuthenticateCached(ReadOnlySpan<char> presented, out ApiKeyRecord? key)
    {
        key = null;
        if (_apiKeys is null || presented.Length is 0 or > 256)
        {
            return false;
        }

        // At most 256 UTF-16 characters: at most 768 UTF-8 bytes.
        Span<byte> utf8 = stackalloc byte[768];
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        if (!Encoding.UTF8.TryGetBytes(presented, utf8, out var length) || SHA256.HashData(utf8[..length], hash) != hash.Length
            || !_apiKeys.TryGetCached(hash, out var match))
        {
            return false;
        }

        if (!CryptographicOperations.FixedTimeEquals(hash, match.Hash))
        {
            return false;
        }

        key = match.Key.ExpiresAt is { } expires && _time.GetUtcNow().ToUnixTimeSeconds() >= expires ? null : match.Key;
        return true;
    }

    /// <summary>The caller's key, or null when the presented text is not a live, unexpired key.</summary>
    public async Task<ApiKeyRecord?> AuthenticateAsync(string presented, CancellationToken cancellationToken)
    {
        if (presented.Length is 0 or > 256)
        {
            return null;
        }

        var hash = Hash(presented);
        var found = _apiKeys is null
            ? await _store.FindApiKeyAsync(hash, cancellationToken)
            : await _apiKeys.FindAsync(hash, _store.FindApiKeyAsync, cancellationToken);
        if (found is not { } match || !CryptographicOperations.FixedTimeEquals(hash, match.Hash))
        {
            return null;
        }

        if (match.Key.ExpiresAt is { } expires && _time.GetUtcNow().ToUnixTimeSeconds() >= expires)
        {
            return null;
        }

        return match.Key;
    }

    /// <summary>Issues a key (owner only; checked by the caller).</summary>
    public async Task<Result<IssuedApiKey>> CreateKeyAsync(string workspaceId, ApiKeyDraft draft, Actor actor, CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        if (draft.ExpiresAt is { } expires && expires <= now.ToUnixTimeSeconds())
        {
            return LatchError.Invalid("expires_at", "must be in the future");
        }

        var token = NewToken();
        var key = new ApiKeyRecord(Ids.New("key_"), workspaceId, draft.Name, draft.Role, draft.Apps, draft.Envs, draft.ExpiresAt, false, now);
        var audit = SecretService.Event(workspaceId, "key.created", actor, now) with { Detail = $"id={key.Id} role={key.Role}" };
        try
        {
            await _store.CreateApiKeyAsync(key, Hash(token.Reveal()), audit, cancellationToken);
        }
        finally
        {
            Publish(new StoreChange(workspaceId, StoreChangeKind.ApiKey, key.Id));
        }

        return new IssuedApiKey(key, token);
    }

    /// <summary>A workspace's live keys (no key text).</summary>
    public Task<IReadOnlyList<ApiKeyRecord>> ListKeysAsync(string workspaceId, CancellationToken cancellationToken) =>
        _store.ListApiKeysAsync(workspaceId, cancellationToken);

    /// <summary>Revokes a key of the workspace.</summary>
    public async Task<Result<bool>> RevokeKeyAsync(string workspaceId, string keyId, Actor actor, CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        var audit = SecretService.Event(workspaceId, "key.revoked", actor, now) with { Detail = $"id={keyId}" };
        bool revoked;
        try
        {
            revoked = await _store.RevokeApiKeyAsync(workspaceId, keyId, now, audit, cancellationToken);
        }
        finally
        {
            // Published even when the call failed: an extra invalidation is harmless, a missed one is not.
            Publish(new StoreChange(workspaceId, StoreChangeKind.ApiKey, keyId));
        }

        return revoked
            ? true
            : new LatchError(ErrorKind.NotFound, "key_not_found", $"API key '{keyId}' not found");
    }

    private void Publish(StoreChange change) => _changes?.Publish(change);

    /// <summary>The workspace.</summary>
    public Task<Workspace?> GetWorkspaceAsync(string id, CancellationToken cancellationToken) => _store.GetWorkspaceAsync(id, cancellationToken);

    private static SecretValue NewToken()
    {
        Span<byte> bytes = stackalloc byte[32];
        RandomNumberGenerator.Fill(bytes);
        return new SecretValue(KeyPrefix + Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_'));
    }

    // API keys are 256-bit random (or a 32+ character bootstrap value): SHA-256 is the right hash here.
    private static byte[] Hash(string token) => SHA256.HashData(Encoding.UTF8.GetBytes(token));
}

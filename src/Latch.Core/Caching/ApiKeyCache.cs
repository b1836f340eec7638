using Latch.Core.Storage;

namespace Latch.Core.Caching;

/// <summary>
/// Live API keys by the SHA-256 of their text, so authenticating a request needs no store read. Only keys that were
/// found are cached (an unknown key is looked up every time). Any API-key or workspace change drops every entry: key
/// changes are rare, and revocation must take effect at once. Expiry is not cached: the caller checks it at every use.
/// </summary>
public sealed class ApiKeyCache
{
    private const string All = "";
    private readonly WorkspaceCache<(ApiKeyRecord Key, byte[] Hash)> _keys;

    /// <summary>Creates the cache and subscribes it to the change feed.</summary>
    public ApiKeyCache(StoreChanges changes, CacheLimits? limits = null)
    {
        ArgumentNullException.ThrowIfNull(changes);
        limits ??= CacheLimits.Default;
        _keys = new WorkspaceCache<(ApiKeyRecord, byte[])>(changes, limits.ApiKeys, 1, static (cache, change) =>
        {
            if (change.Kind is StoreChangeKind.ApiKey or StoreChangeKind.Workspace or StoreChangeKind.Everything)
            {
                cache.ClearAll();
            }
        });
    }

    /// <summary>Keys cached (tests).</summary>
    internal int Count => _keys.Count(All);

    /// <summary>A key found before, by hash, from memory only (no allocation); false when it must be looked up.</summary>
    public bool TryGetCached(ReadOnlySpan<byte> keyHash, out (ApiKeyRecord Key, byte[] Hash) found)
    {
        Span<char> name = stackalloc char[64];
        if (!Convert.TryToBase64Chars(keyHash, name, out var written))
        {
            found = default;
            return false;
        }

        return _keys.TryGet(All, name[..written], out found);
    }

    /// <summary>Finds a live key by hash: from memory, else with <paramref name="load"/> (and remembers it when found).</summary>
    public async Task<(ApiKeyRecord Key, byte[] Hash)?> FindAsync(
        byte[] keyHash, Func<byte[], CancellationToken, Task<(ApiKeyRecord Key, byte[] Hash)?>> load, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(load);
        ArgumentNullException.ThrowIfNull(keyHash);
        var name = Convert.ToBase64String(keyHash);
        if (_keys.TryGet(All, name, out var hit))
        {
            return hit;
        }

        var snapshot = _keys.Snapshot();
        var found = await load(keyHash, cancellationToken);
        if (found is { } match)
        {
            _keys.Insert(snapshot, All, name, match);
        }

        return found;
    }
}

using Latch.Core.References;
using Latch.Core.Secrets;
using Latch.Core.Storage;

namespace Latch.Core.Caching;

/// <summary>
/// What resolution needs from the store, kept in memory per workspace: each secret's policy (scope, environments,
/// expiry, revocation, current version — or that it does not exist) and decrypted values keyed by (key, version).
/// Invalidated through <see cref="StoreChanges"/>: a change to a secret drops its policy and its values (a deleted and
/// re-created secret restarts at version 1 with another value); a workspace change or <see cref="StoreChangeKind.Everything"/>
/// drops more. Values live in memory only (as <see cref="SecretValue"/>, whose <c>ToString</c> is <c>***</c>) and are
/// never written anywhere. Expiry is not cached: it is checked against the clock at every resolution.
/// </summary>
public sealed class SecretCache
{
    private readonly WorkspaceCache<SecretPolicy?> _policies;
    private readonly WorkspaceCache<SecretValueEntry> _values;

    /// <summary>Creates the cache and subscribes it to the change feed.</summary>
    public SecretCache(StoreChanges changes, CacheLimits? limits = null)
    {
        ArgumentNullException.ThrowIfNull(changes);
        limits ??= CacheLimits.Default;
        _policies = new WorkspaceCache<SecretPolicy?>(changes, limits.PoliciesPerWorkspace, limits.Workspaces, Invalidate);
        _values = new WorkspaceCache<SecretValueEntry>(changes, limits.ValuesPerWorkspace, limits.Workspaces, Invalidate);
    }

    /// <summary>A lookup that answers from the cache and reads through <paramref name="store"/> what it lacks.</summary>
    public ISecretLookup Wrap(ISecretLookup store, string workspaceId) => new CachedSecretLookup(this, store, workspaceId);

    /// <summary>Policies cached for a workspace (tests).</summary>
    internal int PolicyCount(string workspaceId) => _policies.Count(workspaceId);

    /// <summary>Values cached for a workspace (tests).</summary>
    internal int ValueCount(string workspaceId) => _values.Count(workspaceId);

    private static void Invalidate<T>(WorkspaceCache<T> cache, StoreChange change)
    {
        switch (change.Kind)
        {
            case StoreChangeKind.Secret when change.Name is { } key:
                cache.Remove(change.WorkspaceId, key);
                break;
            case StoreChangeKind.Secret or StoreChangeKind.Workspace:
                cache.Clear(change.WorkspaceId);
                break;
            case StoreChangeKind.Everything:
                cache.ClearAll();
                break;
            default:
                break;
        }
    }

    private sealed record SecretValueEntry(int Version, SecretValue Value);

    /// <summary>One resolution's view: the epoch is read once, before any store read of this resolution.</summary>
    private sealed class CachedSecretLookup : ISecretLookup
    {
        private readonly SecretCache _cache;
        private readonly ISecretLookup _store;
        private readonly string _workspaceId;
        private readonly long? _snapshot;

        public CachedSecretLookup(SecretCache cache, ISecretLookup store, string workspaceId)
        {
            _cache = cache;
            _store = store;
            _workspaceId = workspaceId;
            _snapshot = cache._policies.Snapshot();
        }

        public async ValueTask<IReadOnlyDictionary<string, SecretPolicy>> GetPoliciesAsync(IReadOnlyCollection<string> keys, CancellationToken cancellationToken)
        {
            if (_snapshot is null)
            {
                return await _store.GetPoliciesAsync(keys, cancellationToken);
            }

            var found = new Dictionary<string, SecretPolicy>(keys.Count, StringComparer.Ordinal);
            List<string>? missing = null;
            foreach (var key in keys)
            {
                if (_cache._policies.TryGet(_workspaceId, key, out var policy))
                {
                    if (policy is not null)
                    {
                        found[key] = policy;
                    }
                }
                else
                {
                    (missing ??= []).Add(key);
                }
            }

            if (missing is null)
            {
                return found;
            }

            var loaded = await _store.GetPoliciesAsync(missing, cancellationToken);
            var inserts = new List<KeyValuePair<string, SecretPolicy?>>(missing.Count);
            foreach (var key in missing)
            {
                var policy = loaded.GetValueOrDefault(key);
                if (policy is not null)
                {
                    found[key] = policy;
                }

                // "Does not exist" is cached too: creating the secret publishes its change.
                inserts.Add(KeyValuePair.Create(key, policy));
            }

            _cache._policies.Insert(_snapshot, _workspaceId, inserts);
            return found;
        }

        public async ValueTask<IReadOnlyDictionary<string, SecretValue>> DecryptAsync(IReadOnlyCollection<SecretPolicy> secrets, CancellationToken cancellationToken)
        {
            if (_snapshot is null)
            {
                return await _store.DecryptAsync(secrets, cancellationToken);
            }

            var values = new Dictionary<string, SecretValue>(secrets.Count, StringComparer.Ordinal);
            List<SecretPolicy>? missing = null;
            foreach (var policy in secrets)
            {
                if (_cache._values.TryGet(_workspaceId, policy.Key, out var entry) && entry.Version == policy.Version)
                {
                    values[policy.Key] = entry.Value;
                }
                else
                {
                    (missing ??= []).Add(policy);
                }
            }

            if (missing is null)
            {
                return values;
            }

            // A SecretIntegrityException propagates and nothing is cached.
            var decrypted = await _store.DecryptAsync(missing, cancellationToken);
            var inserts = new List<KeyValuePair<string, SecretValueEntry>>(decrypted.Count);
            foreach (var policy in missing)
            {
                if (decrypted.TryGetValue(policy.Key, out var value))
                {
                    values[policy.Key] = value;
                    inserts.Add(KeyValuePair.Create(policy.Key, new SecretValueEntry(policy.Version, value)));
                }
            }

            _cache._values.Insert(_snapshot, _workspaceId, inserts);
            return values;
        }
    }
}

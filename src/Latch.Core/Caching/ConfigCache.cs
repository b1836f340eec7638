using Latch.Core.Storage;

namespace Latch.Core.Caching;

/// <summary>
/// Configuration documents as parsed objects (apps, products, product apps), so <c>actions.run</c> parses and validates
/// a configuration once per change instead of on every run. Keyed by <c>kind/parent/name</c> like
/// <see cref="StoreChangeKind.Config"/> changes; "not found" is cached too (creating it publishes its change).
/// A change without a name (such as deleting a product with its product apps) drops the workspace's entries.
/// Cached objects are shared: callers must treat them as immutable (the configuration records are).
/// </summary>
public sealed class ConfigCache
{
    private readonly WorkspaceCache<object?> _documents;

    /// <summary>Creates the cache and subscribes it to the change feed.</summary>
    public ConfigCache(StoreChanges changes, CacheLimits? limits = null)
    {
        ArgumentNullException.ThrowIfNull(changes);
        limits ??= CacheLimits.Default;
        _documents = new WorkspaceCache<object?>(changes, limits.ConfigsPerWorkspace, limits.Workspaces, static (cache, change) =>
        {
            switch (change.Kind)
            {
                case StoreChangeKind.Config when change.Name is { } name:
                    cache.Remove(change.WorkspaceId, name);
                    break;
                case StoreChangeKind.Config or StoreChangeKind.Workspace:
                    cache.Clear(change.WorkspaceId);
                    break;
                case StoreChangeKind.Everything:
                    cache.ClearAll();
                    break;
                default:
                    break;
            }
        });
    }

    /// <summary>The <see cref="StoreChange.Name"/> of a configuration document.</summary>
    public static string Name(string kind, string parent, string name) => $"{kind}/{parent}/{name}";

    /// <summary>
    /// The parsed document from memory alone (null when it is known not to exist); false when it must be read. Makes no
    /// string for the lookup.
    /// </summary>
    public bool TryGet<T>(string workspaceId, string kind, string parent, string name, out T? value)
        where T : class
    {
        ArgumentNullException.ThrowIfNull(kind);
        ArgumentNullException.ThrowIfNull(parent);
        ArgumentNullException.ThrowIfNull(name);
        value = null;
        var length = kind.Length + parent.Length + name.Length + 2;
        if (length > 512)
        {
            return false;
        }

        // The same text as Name(kind, parent, name), in a stack buffer.
        Span<char> id = stackalloc char[length];
        kind.AsSpan().CopyTo(id);
        id[kind.Length] = '/';
        parent.AsSpan().CopyTo(id[(kind.Length + 1)..]);
        id[kind.Length + 1 + parent.Length] = '/';
        name.AsSpan().CopyTo(id[(kind.Length + parent.Length + 2)..]);
        if (_documents.TryGet(workspaceId, (ReadOnlySpan<char>)id, out var hit) && hit is null or T)
        {
            value = (T?)hit;
            return true;
        }

        return false;
    }

    /// <summary>
    /// The parsed document: from memory, else read with <paramref name="load"/> (null when it does not exist) and parsed
    /// with <paramref name="parse"/>.
    /// </summary>
    public async Task<T?> GetAsync<T>(
        string workspaceId, string kind, string parent, string name, Func<CancellationToken, Task<string?>> load, Func<string, T> parse, CancellationToken cancellationToken)
        where T : class
    {
        ArgumentNullException.ThrowIfNull(load);
        ArgumentNullException.ThrowIfNull(parse);
        var id = Name(kind, parent, name);
        if (_documents.TryGet(workspaceId, id, out var hit) && hit is null or T)
        {
            return (T?)hit;
        }

        var snapshot = _documents.Snapshot();
        var body = await load(cancellationToken);
        var parsed = body is null ? null : parse(body);
        _documents.Insert(snapshot, workspaceId, id, parsed);
        return parsed;
    }

    /// <summary>Documents cached for a workspace (tests).</summary>
    internal int Count(string workspaceId) => _documents.Count(workspaceId);
}

using System.Collections.Concurrent;
using Latch.Core.Storage;

namespace Latch.Core.Caching;

/// <summary>
/// A bounded in-memory map per workspace that obeys the rules of <see cref="StoreChanges"/>: it is bypassed while the
/// feed is not coherent, and an entry read from the store is inserted only if no change was published since the
/// caller took its <see cref="Snapshot"/> (taken before the store read), so a concurrent invalidation is never lost.
/// </summary>
/// <remarks>
/// Invalidation is decided by the owner (<paramref name="onChange"/> in the constructor) with <see cref="Remove"/>,
/// <see cref="Clear(string)"/> and <see cref="ClearAll"/>. Nothing here is ever written to disk.
/// </remarks>
internal sealed class WorkspaceCache<TValue>
{
    private readonly ConcurrentDictionary<string, ConcurrentDictionary<string, TValue>> _workspaces = new(StringComparer.Ordinal);
    private readonly StoreChanges _changes;
    private readonly int _perWorkspace;
    private readonly int _maxWorkspaces;

    public WorkspaceCache(StoreChanges changes, int perWorkspace, int maxWorkspaces, Action<WorkspaceCache<TValue>, StoreChange> onChange)
    {
        _changes = changes;
        _perWorkspace = Math.Max(1, perWorkspace);
        _maxWorkspaces = Math.Max(1, maxWorkspaces);
        changes.Changed += change => onChange(this, change);
    }

    /// <summary>The feed's epoch, read before a store read whose result may be inserted; null when the cache must be bypassed.</summary>
    public long? Snapshot() => _changes.IsCoherent ? _changes.Epoch : null;

    public bool TryGet(string workspaceId, string name, out TValue value)
    {
        value = default!;
        return _changes.IsCoherent
            && _workspaces.TryGetValue(workspaceId, out var entries)
            && entries.TryGetValue(name, out value!);
    }

    /// <summary>Like <see cref="TryGet(string, string, out TValue)"/> for a name held in a span (no string made for the lookup).</summary>
    public bool TryGet(string workspaceId, ReadOnlySpan<char> name, out TValue value)
    {
        value = default!;
        return _changes.IsCoherent
            && _workspaces.TryGetValue(workspaceId, out var entries)
            && entries.GetAlternateLookup<ReadOnlySpan<char>>().TryGetValue(name, out value!);
    }

    /// <summary>Inserts (or replaces) entries read from the store after <paramref name="snapshot"/>; skipped when anything changed since.</summary>
    public void Insert(long? snapshot, string workspaceId, IReadOnlyList<KeyValuePair<string, TValue>> items)
    {
        if (snapshot is not { } epoch || !_changes.IsCoherent || _changes.Epoch != epoch)
        {
            return;
        }

        if (!_workspaces.TryGetValue(workspaceId, out var entries))
        {
            if (_workspaces.Count >= _maxWorkspaces)
            {
                _workspaces.Clear();
            }

            entries = _workspaces.GetOrAdd(workspaceId, _ => new ConcurrentDictionary<string, TValue>(StringComparer.Ordinal));
        }

        foreach (var (name, value) in items)
        {
            if (entries.Count >= _perWorkspace)
            {
                entries.Clear();
            }

            entries[name] = value;
        }

        // An invalidation that ran between the epoch check above and these writes cleared nothing of ours: undo.
        if (_changes.Epoch != epoch)
        {
            foreach (var (name, _) in items)
            {
                entries.TryRemove(name, out _);
            }
        }
    }

    public void Insert(long? snapshot, string workspaceId, string name, TValue value) =>
        Insert(snapshot, workspaceId, [KeyValuePair.Create(name, value)]);

    public void Remove(string workspaceId, string name)
    {
        if (_workspaces.TryGetValue(workspaceId, out var entries))
        {
            entries.TryRemove(name, out _);
        }
    }

    public void Clear(string workspaceId) => _workspaces.TryRemove(workspaceId, out _);

    public void ClearAll() => _workspaces.Clear();

    /// <summary>Entries held for a workspace (tests).</summary>
    public int Count(string workspaceId) => _workspaces.TryGetValue(workspaceId, out var entries) ? entries.Count : 0;
}

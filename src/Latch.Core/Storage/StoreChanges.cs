namespace Latch.Core.Storage;

/// <summary>What kind of stored thing changed.</summary>
public enum StoreChangeKind
{
    /// <summary>A secret (metadata, versions, revocation or deletion); <see cref="StoreChange.Name"/> is its key.</summary>
    Secret,
    /// <summary>An API key (created or revoked); <see cref="StoreChange.Name"/> is its id.</summary>
    ApiKey,
    /// <summary>A configuration document (app, product, product app, webhook); <see cref="StoreChange.Name"/> is <c>kind/parent/name</c>.</summary>
    Config,
    /// <summary>A workspace or its data keys.</summary>
    Workspace,
    /// <summary>Anything may have changed (for example after a lost notification connection): drop everything.</summary>
    Everything,
}

/// <summary>One committed change, as caches need to hear of it.</summary>
/// <param name="WorkspaceId">The workspace the change belongs to ("" with <see cref="StoreChangeKind.Everything"/>).</param>
/// <param name="Kind">What changed.</param>
/// <param name="Name">Which one (null: every one of that kind in the workspace).</param>
public readonly record struct StoreChange(string WorkspaceId, StoreChangeKind Kind, string? Name)
{
    /// <summary>The change that invalidates everything.</summary>
    public static StoreChange All => new(string.Empty, StoreChangeKind.Everything, null);

    /// <summary>Wire form for PostgreSQL <c>NOTIFY</c> payloads: <c>kind|workspace|name</c>.</summary>
    public string ToPayload() => $"{(int)Kind}|{WorkspaceId}|{Name}";

    /// <summary>Parses <see cref="ToPayload"/>; anything unreadable becomes <see cref="All"/> (fail safe: drop every cache).</summary>
    public static StoreChange FromPayload(string? payload)
    {
        if (payload is null)
        {
            return All;
        }

        var parts = payload.Split('|', 3);
        if (parts.Length != 3 || !int.TryParse(parts[0], out var kind) || !Enum.IsDefined((StoreChangeKind)kind))
        {
            return All;
        }

        return new StoreChange(parts[1], (StoreChangeKind)kind, parts[2].Length == 0 ? null : parts[2]);
    }
}

/// <summary>
/// The one place every cache in a Latch process hears about committed changes: from this process (published after
/// commit) and, with PostgreSQL, from other instances (published by the <c>LISTEN</c> loop). Caches must be safe when
/// <see cref="IsCoherent"/> is false: they bypass themselves, because changes made elsewhere may go unheard.
/// </summary>
/// <remarks>
/// To cache a value read from the store without racing an invalidation, read <see cref="Epoch"/> before the store
/// read and only insert the result if <see cref="Epoch"/> is still the same afterwards.
/// </remarks>
public sealed class StoreChanges
{
    private long _epoch;
    private volatile bool _coherent;
    // Environment.TickCount64 until which coherence holds; long.MaxValue = no lease (a single-process store).
    private long _leaseUntil = long.MaxValue;

    /// <summary>Creates the feed; <paramref name="coherent"/> is true when every change is heard (a single-process store).</summary>
    public StoreChanges(bool coherent = true) => _coherent = coherent;

    /// <summary>Raised after a change committed (synchronously, on the publishing thread: keep handlers cheap).</summary>
    public event Action<StoreChange>? Changed;

    /// <summary>
    /// True while every committed change is reported here. With a lease (see <see cref="RenewLease"/>), coherence also
    /// lapses by itself when the lease is not renewed in time — a stalled notification connection cannot keep
    /// caches trusted.
    /// </summary>
    public bool IsCoherent => _coherent && Environment.TickCount64 < Interlocked.Read(ref _leaseUntil);

    /// <summary>
    /// Extends coherence until <paramref name="validFor"/> from now. Called by a listener each time it has proven its
    /// session alive; notifications queued before the proof have been delivered by then.
    /// </summary>
    public void RenewLease(TimeSpan validFor) =>
        Interlocked.Exchange(ref _leaseUntil, Environment.TickCount64 + (long)validFor.TotalMilliseconds);

    /// <summary>Increments on every change and every coherence transition.</summary>
    public long Epoch => Interlocked.Read(ref _epoch);

    /// <summary>Reports a committed change.</summary>
    public void Publish(StoreChange change)
    {
        Interlocked.Increment(ref _epoch);
        Changed?.Invoke(change);
    }

    /// <summary>
    /// Records whether changes from elsewhere are being heard. Either transition drops every cache: going incoherent
    /// because later changes may be missed, coming back because changes during the gap were.
    /// </summary>
    public void SetCoherent(bool coherent)
    {
        _coherent = coherent;
        Publish(StoreChange.All);
    }
}

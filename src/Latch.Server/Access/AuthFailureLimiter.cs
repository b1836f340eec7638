using System.Net;
using System.Net.Sockets;
using System.Threading.RateLimiting;

namespace Latch.Server.Access;

/// <summary>
/// Counts failed authentications per client address with one <see cref="FixedWindowRateLimiter"/> per address (a
/// failure takes a permit; an address without permits is refused before its key is looked up). IPv6 clients are
/// grouped by /64 (one host usually holds a whole /64), IPv4-mapped addresses count as IPv4.
/// <para>
/// The store is bounded: at most <see cref="ServeOptions.AuthFailureTrackedAddresses"/> addresses; when it is full,
/// addresses whose window has ended are dropped, then the oldest. The limiters replenish lazily, on the monotonic clock
/// (<see cref="System.Diagnostics.Stopwatch"/>) that <c>System.Threading.RateLimiting</c> uses — it takes no
/// <see cref="TimeProvider"/> — so no timer is kept per address.
/// </para>
/// </summary>
internal sealed class AuthFailureLimiter : IDisposable
{
    private readonly int _limit;
    private readonly TimeSpan _window;
    private readonly int _capacity;
    private readonly Dictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private readonly Queue<(string Key, long Sequence)> _order = new();
    private readonly Lock _lock = new();
    private long _sequence;

    public AuthFailureLimiter(ServeOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _limit = Math.Max(0, options.AuthFailureLimit);
        _window = options.AuthFailureWindow > TimeSpan.Zero ? options.AuthFailureWindow : TimeSpan.FromMinutes(1);
        _capacity = Math.Max(1, options.AuthFailureTrackedAddresses);
    }

    public bool Enabled => _limit > 0;

    /// <summary>How many addresses are tracked now (tests).</summary>
    public int TrackedCount
    {
        get
        {
            lock (_lock)
            {
                return _entries.Count;
            }
        }
    }

    /// <summary>The partition of a client address: IPv4 as is, IPv6 by its /64, <c>unknown</c> without one.</summary>
    public static string PartitionOf(IPAddress? address)
    {
        if (address is null)
        {
            return "unknown";
        }

        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        if (address.AddressFamily != AddressFamily.InterNetworkV6)
        {
            return address.ToString();
        }

        var bytes = address.GetAddressBytes();
        Array.Clear(bytes, 8, 8);
        return new IPAddress(bytes) + "/64";
    }

    /// <summary>Null when the address may try to authenticate; otherwise how long to wait.</summary>
    public TimeSpan? RetryAfter(string partition)
    {
        if (!Enabled)
        {
            return null;
        }

        // Under the lock: eviction disposes limiters, and these calls are a few hundred nanoseconds.
        lock (_lock)
        {
            if (!_entries.TryGetValue(partition, out var entry))
            {
                return null;
            }

            entry.Limiter.TryReplenish();
            using var lease = entry.Limiter.AttemptAcquire(0);
            if (lease.IsAcquired)
            {
                return null;
            }

            return lease.TryGetMetadata(MetadataName.RetryAfter, out var retryAfter) ? retryAfter : _window;
        }
    }

    /// <summary>Records one failed authentication; true when this failure used the address's last permit.</summary>
    public bool RecordFailure(string partition)
    {
        if (!Enabled)
        {
            return false;
        }

        lock (_lock)
        {
            if (!_entries.TryGetValue(partition, out var entry))
            {
                if (_entries.Count >= _capacity)
                {
                    MakeRoomUnsynchronized();
                }

                entry = new Entry(NewLimiter(), ++_sequence);
                _entries[partition] = entry;
                _order.Enqueue((partition, entry.Sequence));
            }

            entry.Limiter.TryReplenish();
            using var lease = entry.Limiter.AttemptAcquire(1);
            return lease.IsAcquired && entry.Limiter.GetStatistics()?.CurrentAvailablePermits == 0;
        }
    }

    public void Dispose()
    {
        lock (_lock)
        {
            foreach (var entry in _entries.Values)
            {
                entry.Limiter.Dispose();
            }

            _entries.Clear();
            _order.Clear();
        }
    }

    private FixedWindowRateLimiter NewLimiter() => new(new FixedWindowRateLimiterOptions
    {
        PermitLimit = _limit,
        Window = _window,
        QueueLimit = 0,
        AutoReplenishment = false,
    });

    /// <summary>Drops every address whose window has ended; if that frees less than a tenth, the oldest go too.</summary>
    private void MakeRoomUnsynchronized()
    {
        var expired = new List<string>();
        foreach (var (key, entry) in _entries)
        {
            entry.Limiter.TryReplenish();
            if (entry.Limiter.IdleDuration is not null)
            {
                expired.Add(key);
            }
        }

        foreach (var key in expired)
        {
            Remove(key);
        }

        var target = _capacity - Math.Max(1, _capacity / 10);
        while (_entries.Count > target && _order.TryDequeue(out var oldest))
        {
            if (_entries.TryGetValue(oldest.Key, out var entry) && entry.Sequence == oldest.Sequence)
            {
                Remove(oldest.Key);
            }
        }

        // Keep the order queue from growing with keys that were already removed.
        if (_order.Count > 2 * _capacity)
        {
            var live = _order.Where(o => _entries.TryGetValue(o.Key, out var e) && e.Sequence == o.Sequence).ToList();
            _order.Clear();
            foreach (var item in live)
            {
                _order.Enqueue(item);
            }
        }
    }

    private void Remove(string key)
    {
        if (_entries.Remove(key, out var entry))
        {
            entry.Limiter.Dispose();
        }
    }

    private sealed record Entry(FixedWindowRateLimiter Limiter, long Sequence);
}

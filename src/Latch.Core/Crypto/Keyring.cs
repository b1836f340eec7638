using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Cryptography;
using Latch.Core.References;
using Latch.Core.Secrets;
using Latch.Core.Storage;

namespace Latch.Core.Crypto;

/// <summary>Limits of data-key use. The defaults are for production; tests lower them to see a key retired.</summary>
public sealed record KeyringOptions
{
    /// <summary>
    /// 2^32 − 2^24: NIST SP 800-38D (§8.3) allows at most 2^32 AES-GCM encryptions under one key with random 96-bit
    /// nonces; the margin of 2^24 (about 16.8 million) covers encryptions that were never counted, such as those of
    /// the original data key before generations existed (which is retired at the upgrade anyway).
    /// </summary>
    public const long DefaultMaxEncryptionsPerKey = (1L << 32) - (1L << 24);

    /// <summary>Encryptions reserved in the store at a time (one write per block, not per encryption).</summary>
    public const int DefaultReservationBlockSize = 65_536;

    /// <summary>Encryptions one data-key generation may make before a new generation replaces it (at most 2^32).</summary>
    public long MaxEncryptionsPerKey { get; init; } = DefaultMaxEncryptionsPerKey;

    /// <summary>
    /// How many encryptions a server reserves in the store at a time and then counts in memory. A restart or crash
    /// wastes at most the rest of one block per workspace (counts only ever over-estimate use).
    /// </summary>
    public int ReservationBlockSize { get; init; } = DefaultReservationBlockSize;
}

/// <summary>
/// Unwraps and caches each workspace's data keys (every generation, in memory only), hands out encryptions of the
/// current generation within its budget — creating the next generation when the budget is spent — and proves at
/// start-up that the master key opens the store.
/// </summary>
/// <remarks>
/// Counting: each <see cref="SealAsync"/> consumes one encryption of the workspace's current generation. Encryptions are
/// reserved in the store in blocks (<see cref="ILatchStore.ReserveEncryptionsAsync"/>, atomic, so several servers share
/// one budget) and counted in memory; a generation never has more than <see cref="KeyringOptions.MaxEncryptionsPerKey"/>
/// reserved, so it never makes more encryptions than that. When a reservation is refused, the next generation is
/// created (<see cref="ILatchStore.AddDataKeyAsync"/>, which retires the earlier ones) and sealing continues with it;
/// retired generations keep opening the values they sealed.
/// </remarks>
public sealed class Keyring : IDisposable
{
    /// <summary>The audit action recorded when a workspace gets a new data-key generation.</summary>
    public const string RotatedAuditAction = "data_key.rotated";

    private const string CheckName = "master_key_check";
    private const string CheckContext = "latch/master-key-check/v1";
    private const int MaxRotationAttempts = 16;
    private readonly IKeyEncryptionKey _master;
    private readonly ILatchStore _store;
    private readonly KeyringOptions _options;
    private readonly TimeProvider _time;
    private readonly ConcurrentDictionary<(string WorkspaceId, int Generation), Lazy<Task<DataKey>>> _keys = new();
    private readonly ConcurrentDictionary<string, Budget> _budgets = new(StringComparer.Ordinal);

    /// <summary>Creates a keyring over a store.</summary>
    public Keyring(IKeyEncryptionKey master, ILatchStore store, KeyringOptions? options = null, TimeProvider? time = null)
    {
        _master = master;
        _store = store;
        _options = options ?? new KeyringOptions();
        ArgumentOutOfRangeException.ThrowIfLessThan(_options.MaxEncryptionsPerKey, 1, nameof(options));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(_options.MaxEncryptionsPerKey, 1L << 32, nameof(options));
        ArgumentOutOfRangeException.ThrowIfLessThan(_options.ReservationBlockSize, 1, nameof(options));
        _time = time ?? TimeProvider.System;
    }

    /// <summary>
    /// Throws <see cref="MasterKeyMismatchException"/> unless the master key opens the store's check value and
    /// every data key (every generation of every workspace). Reads only; changes nothing.
    /// </summary>
    public async Task VerifyAsync(CancellationToken cancellationToken)
    {
        var check = await _store.GetMetaAsync(CheckName, cancellationToken);
        if (check is not null)
        {
            CryptographicOperations.ZeroMemory(_master.Unwrap(check, CheckContext));
        }

        foreach (var key in await _store.ListDataKeysAsync(null, cancellationToken))
        {
            CryptographicOperations.ZeroMemory(_master.Unwrap(key.WrappedKey, DataKey.WrapContext(key.WorkspaceId, key.Generation)));
        }
    }

    /// <summary>Records the check value for a new store (no-op when present).</summary>
    public Task InitializeAsync(CancellationToken cancellationToken) =>
        _store.SetMetaIfAbsentAsync(CheckName, _master.Wrap(RandomNumberGenerator.GetBytes(32), CheckContext), cancellationToken);

    /// <summary>A new data key (generation 1) for a workspace, wrapped by the master key (only the wrapped form is stored).</summary>
    public byte[] NewWrappedDataKey(string workspaceId) => NewWrappedDataKey(workspaceId, 1);

    private byte[] NewWrappedDataKey(string workspaceId, int generation)
    {
        var material = DataKey.NewKeyMaterial();
        try
        {
            return _master.Wrap(material, DataKey.WrapContext(workspaceId, generation));
        }
        finally
        {
            CryptographicOperations.ZeroMemory(material);
        }
    }

    /// <summary>Seals a value with the workspace's current data-key generation, consuming one encryption of its budget.</summary>
    internal async ValueTask<SealedValue> SealAsync(string workspaceId, string secretKey, int version, SecretValue value, CancellationToken cancellationToken)
    {
        var generation = await TakeEncryptionAsync(workspaceId, cancellationToken);
        var key = await GetKeyAsync(workspaceId, generation, cancellationToken);
        return new SealedValue(generation, key.Seal(secretKey, version, value));
    }

    /// <summary>
    /// Opens a value with the generation that sealed it. Throws <see cref="SecretIntegrityException"/> when it fails
    /// authentication or names a generation the workspace does not have.
    /// </summary>
    internal async ValueTask<SecretValue> OpenAsync(string workspaceId, string secretKey, int version, SealedValue sealedValue, CancellationToken cancellationToken)
    {
        DataKey key;
        try
        {
            key = await GetKeyAsync(workspaceId, sealedValue.KeyGeneration, cancellationToken);
        }
        catch (KeyNotFoundException)
        {
            // The row names a generation this workspace does not have: tampered, never a wrong value.
            throw new SecretIntegrityException(secretKey);
        }

        return key.Open(secretKey, version, sealedValue.Bytes);
    }

    /// <summary>One data-key generation, unwrapped once and cached.</summary>
    internal async ValueTask<DataKey> GetKeyAsync(string workspaceId, int generation, CancellationToken cancellationToken)
    {
        var lazy = _keys.GetOrAdd((workspaceId, generation), id => new Lazy<Task<DataKey>>(() => LoadAsync(id.WorkspaceId, id.Generation)));
        if (lazy.IsValueCreated && lazy.Value.IsCompletedSuccessfully)
        {
            return lazy.Value.Result;
        }

        try
        {
            return await lazy.Value.WaitAsync(cancellationToken);
        }
        catch
        {
            _keys.TryRemove(new KeyValuePair<(string, int), Lazy<Task<DataKey>>>((workspaceId, generation), lazy));
            throw;
        }
    }

    private async Task<DataKey> LoadAsync(string workspaceId, int generation)
    {
        var keys = await _store.ListDataKeysAsync(workspaceId, CancellationToken.None);
        var record = keys.FirstOrDefault(k => k.Generation == generation)
            ?? throw new KeyNotFoundException(string.Create(CultureInfo.InvariantCulture, $"Workspace '{workspaceId}' has no data key generation {generation}."));
        return new DataKey(workspaceId, generation, _master.Unwrap(record.WrappedKey, DataKey.WrapContext(workspaceId, generation)));
    }

    /// <summary>One encryption of the current generation: from the block in hand, else a new reservation (or generation).</summary>
    private async ValueTask<int> TakeEncryptionAsync(string workspaceId, CancellationToken cancellationToken)
    {
        var budget = _budgets.GetOrAdd(workspaceId, _ => new Budget());
        if (budget.TryTake(out var generation))
        {
            return generation;
        }

        await budget.Gate.WaitAsync(cancellationToken);
        try
        {
            for (var attempt = 0; attempt < MaxRotationAttempts; attempt++)
            {
                if (budget.TryTake(out generation))
                {
                    return generation;
                }

                var keys = await _store.ListDataKeysAsync(workspaceId, cancellationToken);
                if (keys.Count == 0)
                {
                    throw new InvalidOperationException($"Workspace '{workspaceId}' has no data key.");
                }

                var newest = keys[^1];
                if (newest.RetiredAt is null)
                {
                    var granted = await _store.ReserveEncryptionsAsync(
                        workspaceId, newest.Generation, _options.ReservationBlockSize, _options.MaxEncryptionsPerKey, cancellationToken);
                    if (granted > 0)
                    {
                        budget.Refill(newest.Generation, granted);
                        continue;
                    }
                }

                // The current generation's budget is spent (or it was retired): the next generation takes over. If another
                // server adds it first, AddDataKeyAsync refuses and the next attempt reserves from that one.
                var next = newest.Generation + 1;
                var now = _time.GetUtcNow();
                var audit = new AuditEvent
                {
                    Id = Ids.New("evt_"),
                    WorkspaceId = workspaceId,
                    At = now,
                    Action = RotatedAuditAction,
                    ActorName = "system",
                    Detail = string.Create(CultureInfo.InvariantCulture,
                        $"data key generation {next} created; generation {newest.Generation} retired after {newest.EncryptionsReserved} encryptions reserved (limit {_options.MaxEncryptionsPerKey})"),
                };
                await _store.AddDataKeyAsync(workspaceId, next, NewWrappedDataKey(workspaceId, next), now, audit, cancellationToken);
            }

            throw new InvalidOperationException($"Could not reserve an encryption of a data key of workspace '{workspaceId}'.");
        }
        finally
        {
            budget.Gate.Release();
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var lazy in _keys.Values)
        {
            if (lazy.IsValueCreated && lazy.Value.IsCompletedSuccessfully)
            {
                lazy.Value.Result.Dispose();
            }
        }

        foreach (var budget in _budgets.Values)
        {
            budget.Gate.Dispose();
        }
    }

    /// <summary>The encryptions in hand for one workspace: a generation and how many of its reserved encryptions are left.</summary>
    private sealed class Budget
    {
        private readonly Lock _sync = new();
        private int _generation;
        private long _remaining;

        /// <summary>Held while reserving or rotating (one store round trip per block, not one per waiting caller).</summary>
        public SemaphoreSlim Gate { get; } = new(1, 1);

        public bool TryTake(out int generation)
        {
            lock (_sync)
            {
                if (_remaining > 0)
                {
                    _remaining--;
                    generation = _generation;
                    return true;
                }
            }

            generation = 0;
            return false;
        }

        public void Refill(int generation, long count)
        {
            lock (_sync)
            {
                _generation = generation;
                _remaining = count;
            }
        }
    }
}

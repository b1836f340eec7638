using System.Collections.Concurrent;
using System.Security.Cryptography;
using Latch.Core.Storage;

namespace Latch.Core.Crypto;

/// <summary>
/// Unwraps and caches each workspace's data key (in memory only) and proves at start-up that the master
/// key opens the store.
/// </summary>
public sealed class Keyring : IDisposable
{
    private const string CheckName = "master_key_check";
    private const string CheckContext = "latch/master-key-check/v1";
    private readonly IKeyEncryptionKey _master;
    private readonly ILatchStore _store;
    private readonly ConcurrentDictionary<string, Lazy<Task<DataKey>>> _keys = new(StringComparer.Ordinal);

    /// <summary>Creates a keyring over a store.</summary>
    public Keyring(IKeyEncryptionKey master, ILatchStore store)
    {
        _master = master;
        _store = store;
    }

    /// <summary>
    /// Throws <see cref="MasterKeyMismatchException"/> unless the master key opens the store's check value and
    /// every workspace data key. Reads only; changes nothing.
    /// </summary>
    public async Task VerifyAsync(CancellationToken cancellationToken)
    {
        var check = await _store.GetMetaAsync(CheckName, cancellationToken);
        if (check is not null)
        {
            CryptographicOperations.ZeroMemory(_master.Unwrap(check, CheckContext));
        }

        foreach (var (workspaceId, wrapped) in await _store.ListWrappedKeysAsync(cancellationToken))
        {
            CryptographicOperations.ZeroMemory(_master.Unwrap(wrapped, DataKey.WrapContext(workspaceId)));
        }
    }

    /// <summary>Records the check value for a new store (no-op when present).</summary>
    public Task InitializeAsync(CancellationToken cancellationToken) =>
        _store.SetMetaIfAbsentAsync(CheckName, _master.Wrap(RandomNumberGenerator.GetBytes(32), CheckContext), cancellationToken);

    /// <summary>A new data key for a workspace, wrapped by the master key (only the wrapped form is stored).</summary>
    public byte[] NewWrappedDataKey(string workspaceId)
    {
        var material = DataKey.NewKeyMaterial();
        try
        {
            return _master.Wrap(material, DataKey.WrapContext(workspaceId));
        }
        finally
        {
            CryptographicOperations.ZeroMemory(material);
        }
    }

    internal async Task<DataKey> GetAsync(string workspaceId, CancellationToken cancellationToken)
    {
        var lazy = _keys.GetOrAdd(workspaceId, id => new Lazy<Task<DataKey>>(() => LoadAsync(id)));
        try
        {
            return await lazy.Value.WaitAsync(cancellationToken);
        }
        catch
        {
            _keys.TryRemove(new KeyValuePair<string, Lazy<Task<DataKey>>>(workspaceId, lazy));
            throw;
        }
    }

    private async Task<DataKey> LoadAsync(string workspaceId)
    {
        var wrapped = await _store.GetWrappedKeyAsync(workspaceId, CancellationToken.None)
            ?? throw new InvalidOperationException($"Workspace '{workspaceId}' has no data key.");
        return new DataKey(workspaceId, _master.Unwrap(wrapped, DataKey.WrapContext(workspaceId)));
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
    }
}

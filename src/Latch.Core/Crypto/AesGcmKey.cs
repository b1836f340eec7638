using System.Collections.Concurrent;
using System.Security.Cryptography;

namespace Latch.Core.Crypto;

/// <summary>
/// An AES-256-GCM key usable from many threads at once. <see cref="AesGcm"/> instances are not thread-safe, so each
/// operation rents one from a small pool (creating one when the pool is empty) and returns it afterwards.
/// </summary>
internal sealed class AesGcmKey : IDisposable
{
    private readonly byte[] _key;
    private readonly ConcurrentBag<AesGcm> _pool = [];
    private bool _disposed;

    /// <summary>Takes a copy of <paramref name="key"/>; the caller may wipe its own.</summary>
    public AesGcmKey(ReadOnlySpan<byte> key)
    {
        _key = key.ToArray();
        // Fails early on a wrong key size.
        _pool.Add(new AesGcm(_key, Envelope.TagSize));
    }

    public byte[] Seal(ReadOnlySpan<byte> plaintext, ReadOnlySpan<byte> associatedData)
    {
        var aes = Rent();
        try
        {
            return Envelope.Seal(aes, plaintext, associatedData);
        }
        finally
        {
            _pool.Add(aes);
        }
    }

    public byte[]? TryOpen(ReadOnlySpan<byte> sealedBytes, ReadOnlySpan<byte> associatedData)
    {
        var aes = Rent();
        try
        {
            return Envelope.TryOpen(aes, sealedBytes, associatedData);
        }
        finally
        {
            _pool.Add(aes);
        }
    }

    private AesGcm Rent()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return _pool.TryTake(out var aes) ? aes : new AesGcm(_key, Envelope.TagSize);
    }

    public void Dispose()
    {
        _disposed = true;
        while (_pool.TryTake(out var aes))
        {
            aes.Dispose();
        }

        CryptographicOperations.ZeroMemory(_key);
    }
}

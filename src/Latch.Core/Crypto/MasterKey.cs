using System.Security.Cryptography;
using System.Text;

namespace Latch.Core.Crypto;

/// <summary>
/// Wraps and unwraps data keys. Today a local AES-256 key (environment or file); a KMS would implement
/// the same interface.
/// </summary>
public interface IKeyEncryptionKey
{
    /// <summary>Encrypts <paramref name="dataKey"/> bound to <paramref name="context"/>.</summary>
    byte[] Wrap(ReadOnlySpan<byte> dataKey, string context);

    /// <summary>Decrypts a wrapped key. Throws <see cref="MasterKeyMismatchException"/> if the key or context is wrong.</summary>
    byte[] Unwrap(ReadOnlySpan<byte> wrapped, string context);
}

/// <summary>The master key does not open this store.</summary>
public sealed class MasterKeyMismatchException : Exception
{
    /// <summary>Creates the exception.</summary>
    public MasterKeyMismatchException(string message) : base(message) { }
}

/// <summary>The master key could not be loaded (missing, unreadable or not base64 of 32 bytes).</summary>
public sealed class MasterKeyFormatException : Exception
{
    /// <summary>Creates the exception.</summary>
    public MasterKeyFormatException(string message) : base(message) { }
}

/// <summary>A 256-bit master key held in memory, using AES-GCM to wrap data keys.</summary>
public sealed class LocalMasterKey : IKeyEncryptionKey, IDisposable
{
    internal const int KeySize = 32;
    private readonly AesGcmKey _aes;

    private LocalMasterKey(byte[] key)
    {
        _aes = new AesGcmKey(key);
        CryptographicOperations.ZeroMemory(key);
    }

    /// <summary>Parses base64 of exactly 32 bytes.</summary>
    public static LocalMasterKey FromBase64(string base64, string source)
    {
        byte[] key;
        try
        {
            key = Convert.FromBase64String(base64.Trim());
        }
        catch (FormatException)
        {
            throw new MasterKeyFormatException($"The master key from {source} is not valid base64 (expected base64 of 32 random bytes).");
        }

        if (key.Length != KeySize)
        {
            throw new MasterKeyFormatException($"The master key from {source} is {key.Length} bytes; it must be base64 of exactly 32 bytes.");
        }

        return new LocalMasterKey(key);
    }

    /// <summary>A new random key, as base64.</summary>
    public static string GenerateBase64() => Convert.ToBase64String(RandomNumberGenerator.GetBytes(KeySize));

    /// <inheritdoc />
    public byte[] Wrap(ReadOnlySpan<byte> dataKey, string context) =>
        _aes.Seal(dataKey, Encoding.UTF8.GetBytes(context));

    /// <inheritdoc />
    public byte[] Unwrap(ReadOnlySpan<byte> wrapped, string context)
    {
        var plain = _aes.TryOpen(wrapped, Encoding.UTF8.GetBytes(context));
        return plain ?? throw new MasterKeyMismatchException("The master key does not match this data store (a wrapped data key failed to decrypt).");
    }

    /// <inheritdoc />
    public void Dispose() => _aes.Dispose();
}

/// <summary>AES-256-GCM sealing: <c>nonce(12) | ciphertext | tag(16)</c>.</summary>
internal static class Envelope
{
    public const int NonceSize = 12;
    public const int TagSize = 16;

    public static byte[] Seal(AesGcm aes, ReadOnlySpan<byte> plaintext, ReadOnlySpan<byte> associatedData)
    {
        var output = new byte[NonceSize + plaintext.Length + TagSize];
        var nonce = output.AsSpan(0, NonceSize);
        RandomNumberGenerator.Fill(nonce);
        aes.Encrypt(nonce, plaintext, output.AsSpan(NonceSize, plaintext.Length), output.AsSpan(NonceSize + plaintext.Length, TagSize), associatedData);
        return output;
    }

    /// <summary>Null when the ciphertext fails authentication (tampered, swapped, wrong key).</summary>
    public static byte[]? TryOpen(AesGcm aes, ReadOnlySpan<byte> sealedBytes, ReadOnlySpan<byte> associatedData)
    {
        if (sealedBytes.Length < NonceSize + TagSize)
        {
            return null;
        }

        var length = sealedBytes.Length - NonceSize - TagSize;
        var plaintext = new byte[length];
        try
        {
            aes.Decrypt(sealedBytes[..NonceSize], sealedBytes.Slice(NonceSize, length), sealedBytes[^TagSize..], plaintext, associatedData);
            return plaintext;
        }
        catch (AuthenticationTagMismatchException)
        {
            CryptographicOperations.ZeroMemory(plaintext);
            return null;
        }
    }
}

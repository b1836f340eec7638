using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using Latch.Core.References;
using Latch.Core.Secrets;

namespace Latch.Core.Crypto;

/// <summary>
/// A workspace's data key. Every value is sealed with AES-256-GCM and associated data binding it to
/// workspace, secret key and version, so a row moved to another secret or version fails to open.
/// </summary>
internal sealed class DataKey : IDisposable
{
    private readonly AesGcmKey _aes;
    private readonly string _workspaceId;

    public DataKey(string workspaceId, byte[] key)
    {
        _workspaceId = workspaceId;
        _aes = new AesGcmKey(key);
        CryptographicOperations.ZeroMemory(key);
    }

    public static byte[] NewKeyMaterial() => RandomNumberGenerator.GetBytes(32);

    public static string WrapContext(string workspaceId) => "latch/data-key/v1/" + workspaceId;

    public byte[] Seal(string secretKey, int version, SecretValue value) =>
        _aes.Seal(value.RevealUtf8(), AssociatedData(secretKey, version));

    public SecretValue Open(string secretKey, int version, ReadOnlySpan<byte> sealedBytes)
    {
        var plain = _aes.TryOpen(sealedBytes, AssociatedData(secretKey, version))
            ?? throw new SecretIntegrityException(secretKey);
        try
        {
            return new SecretValue(new UTF8Encoding(false, true).GetString(plain));
        }
        catch (DecoderFallbackException)
        {
            throw new SecretIntegrityException(secretKey);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(plain);
        }
    }

    // Length-prefixed fields so ("ab","c") and ("a","bc") can never produce the same bytes.
    private byte[] AssociatedData(string secretKey, int version)
    {
        var ws = Encoding.UTF8.GetBytes(_workspaceId);
        var key = Encoding.UTF8.GetBytes(secretKey);
        const string Label = "latch/secret/v1";
        var buffer = new byte[Label.Length + 4 + ws.Length + 4 + key.Length + 4];
        var span = buffer.AsSpan();
        Encoding.ASCII.GetBytes(Label, span);
        span = span[Label.Length..];
        BinaryPrimitives.WriteInt32BigEndian(span, ws.Length);
        ws.CopyTo(span[4..]);
        span = span[(4 + ws.Length)..];
        BinaryPrimitives.WriteInt32BigEndian(span, key.Length);
        key.CopyTo(span[4..]);
        span = span[(4 + key.Length)..];
        BinaryPrimitives.WriteInt32BigEndian(span, version);
        return buffer;
    }

    public void Dispose() => _aes.Dispose();
}

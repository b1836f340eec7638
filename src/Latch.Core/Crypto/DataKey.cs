using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using Latch.Core.References;
using Latch.Core.Secrets;

namespace Latch.Core.Crypto;

/// <summary>
/// One generation of a workspace's data key. Every value is sealed with AES-256-GCM and associated data binding it to
/// workspace, secret key and version — and, from generation 2 on, the generation — so a row moved to another secret,
/// version or generation fails to open. Generation 1 keeps the original associated data (<c>latch/secret/v1</c>) so
/// values sealed before generations existed still open; for it the generation is bound by the key itself (a row
/// claiming another generation is opened with another key, and fails).
/// </summary>
internal sealed class DataKey : IDisposable
{
    private readonly AesGcmKey _aes;
    private readonly string _workspaceId;

    /// <summary>Generation 1 (the original data key of a workspace).</summary>
    public DataKey(string workspaceId, byte[] key) : this(workspaceId, 1, key) { }

    public DataKey(string workspaceId, int generation, byte[] key)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(generation, 1);
        _workspaceId = workspaceId;
        Generation = generation;
        _aes = new AesGcmKey(key);
        CryptographicOperations.ZeroMemory(key);
    }

    public int Generation { get; }

    public static byte[] NewKeyMaterial() => RandomNumberGenerator.GetBytes(32);

    /// <summary>The master key's wrap context of generation 1 (unchanged since before generations existed).</summary>
    public static string WrapContext(string workspaceId) => "latch/data-key/v1/" + workspaceId;

    /// <summary>
    /// The master key's wrap context of a generation: from generation 2 on it names the generation, so a wrapped key
    /// copied to another generation's row fails to unwrap.
    /// </summary>
    public static string WrapContext(string workspaceId, int generation) =>
        generation <= 1 ? WrapContext(workspaceId) : FormattableString.Invariant($"latch/data-key/v2/{workspaceId}/{generation}");

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

    // Length-prefixed fields so ("ab","c") and ("a","bc") can never produce the same bytes. Generation 1:
    // "latch/secret/v1" | ws | key | version; later generations: "latch/secret/v2" | ws | key | version | generation.
    private byte[] AssociatedData(string secretKey, int version)
    {
        var ws = Encoding.UTF8.GetBytes(_workspaceId);
        var key = Encoding.UTF8.GetBytes(secretKey);
        var label = Generation == 1 ? "latch/secret/v1" : "latch/secret/v2";
        var tail = Generation == 1 ? 0 : 4;
        var buffer = new byte[label.Length + 4 + ws.Length + 4 + key.Length + 4 + tail];
        var span = buffer.AsSpan();
        Encoding.ASCII.GetBytes(label, span);
        span = span[label.Length..];
        BinaryPrimitives.WriteInt32BigEndian(span, ws.Length);
        ws.CopyTo(span[4..]);
        span = span[(4 + ws.Length)..];
        BinaryPrimitives.WriteInt32BigEndian(span, key.Length);
        key.CopyTo(span[4..]);
        span = span[(4 + key.Length)..];
        BinaryPrimitives.WriteInt32BigEndian(span, version);
        if (tail > 0)
        {
            BinaryPrimitives.WriteInt32BigEndian(span[4..], Generation);
        }

        return buffer;
    }

    public void Dispose() => _aes.Dispose();
}

using System.Security.Cryptography;

namespace Latch.Core.Storage;

/// <summary>Random identifiers.</summary>
public static class Ids
{
    private const string Alphabet = "abcdefghijklmnopqrstuvwxyz0123456789";

    private const int PoolSize = 1024;

    [ThreadStatic]
    private static byte[]? _pool;

    /// <summary>Next unused byte of <see cref="_pool"/>; 0 before the pool's first fill.</summary>
    [ThreadStatic]
    private static int _poolNext;

    /// <summary><paramref name="prefix"/> + 20 random lowercase alphanumerics.</summary>
    public static string New(string prefix) => string.Create(prefix.Length + 20, prefix, static (id, prefix) =>
    {
        prefix.CopyTo(id);
        FillRandom(id[prefix.Length..], Alphabet);
    });

    /// <summary>
    /// Fills <paramref name="destination"/> with characters of <paramref name="alphabet"/> (at most 256), each uniform and
    /// independent, from the platform's CSPRNG. Each call to OpenSSL's generator costs ~2 µs whatever its size (it takes
    /// locks and checks for a fork), and <see cref="RandomNumberGenerator.GetItems{T}(ReadOnlySpan{T}, Span{T})"/> makes
    /// at least one per id — for a 20-reference resolution, 20 of them. So bytes are drawn 1 KiB at a time into a
    /// per-thread pool and handed out from there. For identifiers only: they are public (every audit event shows its
    /// id), so unused random bytes waiting in memory give nothing away; secret values and keys are drawn directly.
    /// Bytes at or above the largest multiple of the alphabet's size are rejected, so there is no modulo bias.
    /// </summary>
    public static void FillRandom(Span<char> destination, ReadOnlySpan<char> alphabet)
    {
        if (alphabet.IsEmpty || alphabet.Length > 256)
        {
            throw new ArgumentOutOfRangeException(nameof(alphabet), "The alphabet must have between 1 and 256 characters.");
        }

        var limit = 256 - (256 % alphabet.Length);
        var pool = _pool ??= new byte[PoolSize];
        for (var i = 0; i < destination.Length;)
        {
            if (_poolNext == 0 || _poolNext == pool.Length)
            {
                RandomNumberGenerator.Fill(pool);
                _poolNext = 0;
            }

            var b = pool[_poolNext++];
            if (b < limit)
            {
                destination[i++] = alphabet[b % alphabet.Length];
            }
        }
    }
}

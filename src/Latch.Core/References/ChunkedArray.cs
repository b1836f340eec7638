using System.Runtime.CompilerServices;

namespace Latch.Core.References;

/// <summary>
/// A read-only array of structs that is stored in chunks small enough to stay off the large object heap once it
/// outgrows one chunk. A scanned 10 MB document holds hundreds of thousands of path nodes, references and rewrites; as
/// single arrays they were megabytes of fresh large-object-heap memory per scan, which the GC reuses only after a
/// full collection — until then every scan wrote to never-touched pages, and its page faults doubled the scan's time.
/// Chunks are ordinary gen-0 allocations, recycled by every (cheap) gen-0 collection.
/// </summary>
internal readonly struct ChunkedArray<T>
    where T : struct
{
    /// <summary>Items per chunk: 4,096 items of at most 20 bytes stay under the 85,000-byte large object threshold.</summary>
    public const int ChunkBits = 12;

    public const int ChunkLength = 1 << ChunkBits;

    private const int ChunkMask = ChunkLength - 1;

    /// <summary>The items when they fit in one chunk (then <see cref="_chunks"/> is null).</summary>
    private readonly T[] _single;

    /// <summary>Full chunks of <see cref="ChunkLength"/> items, the last one possibly shorter; null for a single array.</summary>
    private readonly T[][]? _chunks;

    private ChunkedArray(T[] single, T[][]? chunks, int length)
    {
        _single = single;
        _chunks = chunks;
        Length = length;
    }

    /// <summary>Number of items.</summary>
    public int Length { get; }

    /// <summary>Item <paramref name="index"/> (bounds-checked).</summary>
    public T this[int index]
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get
        {
            if ((uint)index >= (uint)Length)
            {
                ThrowIndex();
            }

            return _chunks is null ? _single[index] : _chunks[index >> ChunkBits][index & ChunkMask];
        }
    }

    /// <summary>A view of the first <paramref name="length"/> items of <paramref name="items"/> (not copied).</summary>
    public static ChunkedArray<T> Over(T[] items, int length)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan((uint)length, (uint)items.Length, nameof(length));
        return new ChunkedArray<T>(items, null, length);
    }

    /// <summary>A copy of <paramref name="items"/>: one exact array when it fits in a chunk, else chunks.</summary>
    public static ChunkedArray<T> CopyOf(ReadOnlySpan<T> items)
    {
        if (items.Length <= ChunkLength)
        {
            return new ChunkedArray<T>(items.IsEmpty ? [] : items.ToArray(), null, items.Length);
        }

        var chunks = new T[(items.Length + ChunkMask) >> ChunkBits][];
        for (var c = 0; c < chunks.Length; c++)
        {
            chunks[c] = items.Slice(c << ChunkBits, Math.Min(ChunkLength, items.Length - (c << ChunkBits))).ToArray();
        }

        return new ChunkedArray<T>([], chunks, items.Length);
    }

    private static void ThrowIndex() => throw new ArgumentOutOfRangeException("index");
}

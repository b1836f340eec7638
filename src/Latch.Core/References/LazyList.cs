using System.Collections;

namespace Latch.Core.References;

/// <summary>
/// A read-only list whose items are created on first access (and then kept), so a large scan allocates little. The
/// cache is chunked so that it never lands on the large object heap, and is allocated only when an item is read.
/// Concurrent readers may race benignly.
/// </summary>
internal abstract class LazyList<T>(int count) : IReadOnlyList<T>
    where T : class
{
    private const int ChunkBits = 10;
    private const int ChunkSize = 1 << ChunkBits;
    private T?[]?[]? _chunks;

    public int Count => count;

    public T this[int index]
    {
        get
        {
            ArgumentOutOfRangeException.ThrowIfNegative(index);
            ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, count);
            var chunks = _chunks ??= new T?[]?[(count + ChunkSize - 1) >> ChunkBits];
            var chunk = chunks[index >> ChunkBits] ??= new T?[Math.Min(ChunkSize, count - (index & ~(ChunkSize - 1)))];
            return chunk[index & (ChunkSize - 1)] ??= Create(index);
        }
    }

    public IEnumerator<T> GetEnumerator()
    {
        for (var i = 0; i < count; i++)
        {
            yield return this[i];
        }
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <summary>Creates item <paramref name="index"/> (called once per index, barring benign races).</summary>
    protected abstract T Create(int index);
}

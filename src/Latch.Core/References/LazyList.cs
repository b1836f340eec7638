using System.Collections;

namespace Latch.Core.References;

/// <summary>
/// A read-only list whose items are created on first access (and then kept), so a large scan allocates little. The
/// cache is chunked so that it never lands on the large object heap. Concurrent readers may race benignly.
/// </summary>
internal sealed class LazyList<T>(int count, Func<int, T> factory) : IReadOnlyList<T>
    where T : class
{
    private const int ChunkBits = 10;
    private const int ChunkSize = 1 << ChunkBits;
    private readonly T?[]?[] _chunks = new T?[]?[(count + ChunkSize - 1) >> ChunkBits];

    public int Count => count;

    public T this[int index]
    {
        get
        {
            ArgumentOutOfRangeException.ThrowIfNegative(index);
            ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, count);
            var chunk = _chunks[index >> ChunkBits] ??= new T?[Math.Min(ChunkSize, count - (index & ~(ChunkSize - 1)))];
            return chunk[index & (ChunkSize - 1)] ??= factory(index);
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
}

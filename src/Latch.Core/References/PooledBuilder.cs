using System.Buffers;

namespace Latch.Core.References;

/// <summary>
/// A growable array backed by <see cref="ArrayPool{T}"/>: growing costs no garbage, and the final exact copy is the only
/// allocation. Reusable: <see cref="Clear"/> keeps a small buffer for the next use and returns a large one to the pool.
/// </summary>
internal sealed class PooledBuilder<T>(int initialCapacity) : IDisposable
    where T : struct
{
    private T[] _items = [];

    public int Count { get; private set; }

    public ref T this[int index] => ref _items[index];

    public void Add(in T item)
    {
        if (Count == _items.Length)
        {
            Grow();
        }

        _items[Count++] = item;
    }

    public T[] ToArray() => Count == 0 ? [] : _items.AsSpan(0, Count).ToArray();

    /// <summary>A copy in chunks that stay off the large object heap (see <see cref="ChunkedArray{T}"/>).</summary>
    public ChunkedArray<T> ToChunked() => ChunkedArray<T>.CopyOf(_items.AsSpan(0, Count));

    /// <summary>A view of the items (not copied; valid until the next <see cref="Add"/> or <see cref="Clear"/>).</summary>
    public ChunkedArray<T> AsChunked() => ChunkedArray<T>.Over(_items, Count);

    public ReadOnlySpan<T> AsSpan() => _items.AsSpan(0, Count);

    /// <summary>Empties the builder; the buffer is kept when it holds at most <paramref name="keepCapacity"/> items.</summary>
    public void Clear(int keepCapacity)
    {
        Count = 0;
        if (_items.Length > keepCapacity)
        {
            ArrayPool<T>.Shared.Return(_items);
            _items = [];
        }
    }

    public void Dispose() => Clear(0);

    private void Grow()
    {
        var bigger = ArrayPool<T>.Shared.Rent(Math.Max(initialCapacity, _items.Length * 2));
        _items.AsSpan(0, Count).CopyTo(bigger);
        if (_items.Length > 0)
        {
            ArrayPool<T>.Shared.Return(_items);
        }

        _items = bigger;
    }
}

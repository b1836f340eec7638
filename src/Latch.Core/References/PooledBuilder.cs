using System.Buffers;

namespace Latch.Core.References;

/// <summary>A growable array backed by <see cref="ArrayPool{T}"/>: growing costs no garbage, and the final exact copy is the only allocation.</summary>
internal sealed class PooledBuilder<T>(int initialCapacity) : IDisposable
    where T : struct
{
    private T[] _items = ArrayPool<T>.Shared.Rent(initialCapacity);

    public int Count { get; private set; }

    public ref T this[int index] => ref _items[index];

    public void Add(in T item)
    {
        if (Count == _items.Length)
        {
            var bigger = ArrayPool<T>.Shared.Rent(_items.Length * 2);
            _items.AsSpan(0, Count).CopyTo(bigger);
            ArrayPool<T>.Shared.Return(_items);
            _items = bigger;
        }

        _items[Count++] = item;
    }

    public T[] ToArray() => _items.AsSpan(0, Count).ToArray();

    public ReadOnlySpan<T> AsSpan() => _items.AsSpan(0, Count);

    public void Dispose()
    {
        if (_items.Length > 0)
        {
            ArrayPool<T>.Shared.Return(_items);
            _items = [];
            Count = 0;
        }
    }
}

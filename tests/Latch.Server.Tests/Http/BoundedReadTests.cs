using Latch.Server.Http;

namespace Latch.Server.Tests.Http;

public sealed class BoundedReadTests
{
    /// <summary>Hands out at most <c>chunk</c> bytes per read, like a socket.</summary>
    private sealed class TrickleStream(byte[] data, int chunk) : MemoryStream(data)
    {
        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            base.ReadAsync(buffer[..Math.Min(buffer.Length, chunk)], cancellationToken);
    }

    private static byte[] Bytes(int length) => Enumerable.Range(0, length).Select(i => (byte)(i * 7)).ToArray();

    [Theory]
    [InlineData(0, null)]
    [InlineData(0, 0L)]
    [InlineData(1, null)]
    [InlineData(4096, null)]
    [InlineData(4097, null)]
    [InlineData(70_000, null)]
    [InlineData(70_000, 70_000L)]
    [InlineData(65_536, 65_536L)]
    [InlineData(10, 10L)]
    [InlineData(100_000, 100_000L)]
    public async Task Reads_every_byte_with_or_without_a_declared_length(int length, long? declared)
    {
        var data = Bytes(length);
        foreach (var chunk in new[] { 1, 7, 1000, 1 << 20 })
        {
            var read = await BoundedRead.ReadAsync(new TrickleStream(data, chunk), declared, 200_000, CancellationToken.None);
            Assert.Equal(data, read.AsSpan().ToArray());
        }
    }

    [Theory]
    [InlineData(101, null)]
    [InlineData(101, 101L)]
    [InlineData(5000, null)]
    [InlineData(70_000, 70_000L)]
    public async Task More_than_the_limit_is_refused(int length, long? declared)
    {
        var limit = length == 70_000 ? 69_999 : 100;
        await Assert.ThrowsAsync<InvalidDataException>(() =>
            BoundedRead.ReadAsync(new TrickleStream(Bytes(length), 1000), declared, limit, CancellationToken.None).AsTask());
    }

    [Fact]
    public async Task Exactly_the_limit_is_accepted()
    {
        var read = await BoundedRead.ReadAsync(new TrickleStream(Bytes(100), 30), null, 100, CancellationToken.None);
        Assert.Equal(100, read.Count);
    }

    [Fact]
    public async Task A_stream_shorter_than_declared_ends_where_it_ends()
    {
        var read = await BoundedRead.ReadAsync(new TrickleStream(Bytes(10), 3), 50, 100, CancellationToken.None);
        Assert.Equal(Bytes(10), read.AsSpan().ToArray());
    }
}

namespace Latch.Server.Http;

/// <summary>
/// Reads a whole stream into one array, at most <c>limit</c> bytes. With a declared length (Content-Length) the array is
/// that size from the start (up to <see cref="MaxInitialBytes"/>, so a large declaration alone allocates little) and the
/// body is read straight into it: no intermediate chunk, no growing copy, no final copy.
/// </summary>
internal static class BoundedRead
{
    /// <summary>First allocation when the length is unknown.</summary>
    private const int UnknownLengthBytes = 4 * 1024;

    /// <summary>Largest first allocation, whatever length is declared; the array grows as bytes actually arrive.</summary>
    private const int MaxInitialBytes = 64 * 1024;

    /// <summary>
    /// The stream's bytes (a ValueTask: a body already received completes without allocating a task); <see cref="InvalidDataException"/> when there are more than <paramref name="limit"/>. A declared
    /// length is trusted as the framing (Kestrel and HttpClient end the stream there, or fail).
    /// </summary>
    public static async ValueTask<ArraySegment<byte>> ReadAsync(Stream stream, long? declaredLength, long limit, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(stream);
        // One byte over the limit is enough to know it is exceeded.
        var cap = (int)Math.Min(limit + 1, Array.MaxLength);
        var initial = declaredLength is { } declared and >= 0 ? Math.Min(declared, MaxInitialBytes) : UnknownLengthBytes;
        var buffer = new byte[(int)Math.Min(initial, cap)];
        var filled = 0;
        while (true)
        {
            if (filled == buffer.Length)
            {
                if (declaredLength == filled)
                {
                    break;
                }

                var next = (int)Math.Min(Math.Max(buffer.Length * 2L, UnknownLengthBytes), cap);
                if (declaredLength is { } length && length > filled)
                {
                    next = (int)Math.Min(next, Math.Max(length, filled + 1L));
                }

                if (next <= buffer.Length)
                {
                    throw new InvalidDataException("too large");
                }

                Array.Resize(ref buffer, next);
            }

            var read = await stream.ReadAsync(buffer.AsMemory(filled), cancellationToken);
            if (read == 0)
            {
                break;
            }

            filled += read;
            if (filled > limit)
            {
                throw new InvalidDataException("too large");
            }
        }

        return new ArraySegment<byte>(buffer, 0, filled);
    }
}

using System.Buffers;
using System.Text;
using Latch.Core.References;
using Latch.Core.Secrets;

namespace Latch.Core.Tests.References;

/// <summary>
/// Substitution escapes values into buffers rented from <see cref="ArrayPool{T}.Shared"/>; they must be wiped before
/// they go back, or the next renter on the thread could read a secret.
/// </summary>
public sealed class PooledValueTests
{
    [Fact]
    public void No_buffer_rented_after_a_substitution_holds_a_value()
    {
        // A quote and a control character: the value goes through escaping too.
        var value = "sk_live_\"" + new string('Q', 40) + "\u0001_pooled_value_marker";
        var document = ReferenceScanner.Scan(Encoding.UTF8.GetBytes("""{"a":"$Token{K}","b":"x $Token{K} y","c":["$Token{K}"]}"""));
        var values = new Dictionary<string, SecretValue>(StringComparer.Ordinal) { ["K"] = new SecretValue(value) };
        var output = document.Substitute(values);
        Assert.Contains("_pooled_value_marker", Encoding.UTF8.GetString(output), StringComparison.Ordinal); // the substitution did happen
        var writer = new ArrayBufferWriter<byte>(1);
        document.Substitute(values, writer);

        AssertNoPooledBufferHolds("_pooled_value_marker");
    }

    /// <summary>
    /// Fails when a buffer of the shared byte pool still holds <paramref name="marker"/>. The shared pool hands this
    /// thread back what it returned last, bucket by bucket: look in every bucket.
    /// </summary>
    internal static void AssertNoPooledBufferHolds(string marker)
    {
        var bytes = Encoding.UTF8.GetBytes(marker);
        for (var size = 16; size <= 1 << 20; size <<= 1)
        {
            var rented = ArrayPool<byte>.Shared.Rent(size);
            try
            {
                Assert.True(rented.AsSpan().IndexOf(bytes) < 0, $"a rented buffer of {rented.Length} bytes still holds the value");
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }
}

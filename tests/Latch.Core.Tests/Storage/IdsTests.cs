using Latch.Core.Secrets;
using Latch.Core.Storage;

namespace Latch.Core.Tests.Storage;

/// <summary>
/// Identifiers come from <see cref="Ids.FillRandom"/>, which hands out CSPRNG bytes from a per-thread pool: the
/// characters must stay in the alphabet, uniform (no modulo bias, no pool reuse) and unique across pool refills.
/// </summary>
public sealed class IdsTests
{
    private const string Alphabet = "0123456789abcdefghijklmnopqrstuvwxyz";

    [Fact]
    public void Characters_are_uniform_over_the_alphabet_across_many_pool_refills()
    {
        // 720,000 characters (~700 refills of the 1 KiB pool): 20,000 expected per character, standard deviation ~139.
        // A bias towards the first 256 % 36 = 4 characters (modulo without rejection) would give them ~+12% (~17σ); the
        // ±5% bound is ~7σ, so this does not fail by chance.
        var counts = new int[Alphabet.Length];
        Span<char> chunk = stackalloc char[24];
        for (var round = 0; round < 30_000; round++)
        {
            Ids.FillRandom(chunk, Alphabet);
            foreach (var c in chunk)
            {
                var index = Alphabet.IndexOf(c, StringComparison.Ordinal);
                Assert.True(index >= 0, $"'{c}' is not in the alphabet");
                counts[index]++;
            }
        }

        var expected = 30_000 * 24 / Alphabet.Length;
        Assert.All(counts, n => Assert.InRange(n, expected * 95 / 100, expected * 105 / 100));
    }

    [Fact]
    public void Ids_are_unique_and_well_formed_across_threads()
    {
        var ids = new System.Collections.Concurrent.ConcurrentBag<string>();
        Parallel.For(0, 4, _ =>
        {
            for (var i = 0; i < 25_000; i++)
            {
                ids.Add(Ids.New("key_"));
                ids.Add(SecretService.EventId(DateTimeOffset.UnixEpoch.AddDays(20_000)));
            }
        });

        Assert.Equal(200_000, ids.Distinct(StringComparer.Ordinal).Count());
        Assert.All(ids.Where(id => id.StartsWith("key_", StringComparison.Ordinal)), id => Assert.Matches("^key_[a-z0-9]{20}$", id));
        Assert.All(ids.Where(id => id.StartsWith("evt_", StringComparison.Ordinal)), id => Assert.Matches("^evt_[0-9a-z]{20}$", id));
    }

    [Fact]
    public void Event_ids_sort_by_time_before_their_random_part()
    {
        var earlier = SecretService.EventId(DateTimeOffset.UnixEpoch.AddDays(20_000));
        var later = SecretService.EventId(DateTimeOffset.UnixEpoch.AddDays(20_000).AddMilliseconds(1));
        Assert.True(string.CompareOrdinal(earlier, later) < 0, $"{earlier} !< {later}");
    }

    [Fact]
    public void Alphabets_must_have_one_to_256_characters()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => Ids.FillRandom(new char[4], ""));
        Assert.Throws<ArgumentOutOfRangeException>(() => Ids.FillRandom(new char[4], new string('a', 257)));
        var single = new char[8];
        Ids.FillRandom(single, "x");
        Assert.Equal("xxxxxxxx", new string(single));
    }
}

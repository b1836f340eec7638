using CsCheck;
using Latch.Core.Storage;

namespace Latch.Core.Tests.Audit;

/// <summary>
/// The chain hash is a stored format: every hash already in a database must still verify. The buffer-writing
/// <see cref="AuditChain.Compute"/> must give exactly what the original string-building version gave, for any field
/// text (including lone surrogates, non-ASCII, empty and missing fields, long details).
/// </summary>
public sealed class AuditChainTests
{
    private static readonly Gen<string?> Text = Gen.Frequency(
        (2, Gen.Const<string?>((string?)null)),
        (2, Gen.Const<string?>("")),
        (6, Gen.String.Select(s => (string?)s)),
        (2, Gen.String["$é€𝄞\uD800\uDC00\uDFFF\uD83D:-1 "].Select(s => (string?)s)),
        (1, Gen.String[0, 3000].Select(s => (string?)s)));

    private static readonly Gen<AuditEvent> Events =
        Gen.Select(Gen.Select(Text, Text, Text, Text, Text, Text), Gen.Select(Text, Text, Text, Text, Text, Text),
                   Gen.Select(Gen.Long[0, 253402300798000L], Gen.Int.Select(i => i % 3 == 0 ? (int?)null : i), Text, Gen.String["abc_0123"]))
            .Select(t => new AuditEvent
            {
                Id = t.Item3.Item4,
                WorkspaceId = t.Item1.Item1 ?? "ws",
                At = DateTimeOffset.FromUnixTimeMilliseconds(t.Item3.Item1).AddTicks(t.Item3.Item1 % 10_000),
                Action = t.Item1.Item2 ?? "secret.resolved",
                ActorKeyId = t.Item1.Item3,
                ActorName = t.Item1.Item4,
                RequestId = t.Item1.Item5,
                Client = t.Item1.Item6,
                SecretKey = t.Item2.Item1,
                Version = t.Item3.Item2,
                Product = t.Item2.Item2,
                App = t.Item2.Item3,
                Env = t.Item2.Item4,
                Context = t.Item2.Item5,
                Path = t.Item2.Item6,
                Code = t.Item3.Item3,
                Detail = t.Item3.Item3 is null ? null : t.Item3.Item3 + t.Item1.Item1,
                PrevHash = t.Item2.Item1 ?? AuditChain.Genesis,
            });

    [Fact]
    public void Compute_gives_the_same_hash_as_the_original_string_building_version_for_any_fields() =>
        Events.Sample(e => Assert.Equal(Original(e), AuditChain.Compute(e)), iter: 3000);

    [Fact]
    public void A_known_event_keeps_its_known_hash()
    {
        var e = new AuditEvent
        {
            Id = "evt_0000000001abcdefghij",
            WorkspaceId = "ws_1",
            At = new DateTimeOffset(2026, 11, 28, 9, 0, 0, TimeSpan.Zero).AddTicks(1234567),
            Action = "secret.resolved",
            ActorKeyId = "key_1",
            SecretKey = "STRIPE_KEY",
            Version = 3,
            Path = "$.document.k01",
            PrevHash = AuditChain.Genesis,
        };
        Assert.Equal(Original(e), AuditChain.Compute(e));
        Assert.Equal(AuditChain.Compute(e), AuditChain.Link(e with { Hash = "x" }, AuditChain.Genesis).Hash);
    }

    private static string Original(AuditEvent e) => AuditChain.ComputeAsDefined(e);
}

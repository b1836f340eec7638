using BenchmarkDotNet.Attributes;
using Latch.Core.Storage;

namespace Latch.Benchmarks;

/// <summary>
/// The audit writer hashes every event it commits (20 per 20-reference resolution). Baseline: the chain's original
/// string-building definition (StringBuilder → string → UTF-8 array → SHA-256); against it the buffer-writing
/// <see cref="AuditChain.Compute"/>, which must and does give the same hash (AuditChainTests).
/// <c>dotnet Latch.Benchmarks.dll --filter '*AuditChain*'</c>.
/// </summary>
[MemoryDiagnoser]
public class AuditChainBenchmarks
{
    private readonly AuditEvent _event = new()
    {
        Id = "evt_0m3k2j1h0g9f8e7d6c5b",
        WorkspaceId = "ws_3f9a2b7c1d",
        At = new DateTimeOffset(2026, 11, 28, 9, 0, 0, TimeSpan.Zero).AddTicks(1234567),
        Action = "secret.resolved",
        ActorKeyId = "key_0123456789abcdef",
        ActorName = "bench runtime key",
        RequestId = "0HNABCDEFGH:00000001",
        Client = "127.0.0.1",
        SecretKey = "BENCH_R01",
        Version = 1,
        App = "up_app",
        Env = "prd",
        Context = "resolve",
        Path = "$.document.k01",
        PrevHash = AuditChain.Genesis,
    };

    /// <summary>The original definition.</summary>
    [Benchmark(Baseline = true)]
    public string StringBuilding() => AuditChain.ComputeAsDefined(_event);

    /// <summary>What the writer runs now.</summary>
    [Benchmark]
    public string BufferWriting() => AuditChain.Compute(_event);
}

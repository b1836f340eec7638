using System.Diagnostics;
using Latch.Core.References;

namespace Latch.Benchmarks;

/// <summary>A quick stopwatch breakdown of the 10 MB case (min and median of 15 runs), for finding where time goes.</summary>
internal static class Profile
{
    public static void Run()
    {
        var b = new ResolutionBenchmarks { Document = "10MB" };
        b.Setup();
        var json = Documents.Large();
        var engine = new ResolutionEngine(TimeProvider.System);
        var lookup = new InMemoryLookup(Documents.DistinctKeys);
        var target = new ResolutionTarget("bench_app", "prd", "shop");
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(json.Length * 2);
        for (var round = 0; round < 3; round++)
        {
            Time("floor", () => b.Floor());
            Time("reader only", () => { var r = new System.Text.Json.Utf8JsonReader(json); var n = 0; while (r.Read()) { n++; } return n; });
            Time("isvalid", () => System.Text.Unicode.Utf8.IsValid(json) ? 1 : 0);
            Time("reader+switch", () => { var r = new System.Text.Json.Utf8JsonReader(json); var n = 0; while (r.Read()) { if (r.TokenType == System.Text.Json.JsonTokenType.String && r.ValueSpan.IndexOf((byte)'$') >= 0) { n++; } } return n; });
            Time("scan", () => ReferenceScanner.Scan(json).References.Count);
            var doc = ReferenceScanner.Scan(json);
            Time("values", () => engine.ResolveValuesAsync(doc, target, lookup, default).Result.Resolved.Count);
            var values = engine.ResolveValuesAsync(doc, target, lookup, default).Result;
            Time("substitute", () => { buffer.ResetWrittenCount(); doc.Substitute(values.Values, buffer); return buffer.WrittenCount; });
            Time("resolve", () => b.Resolve().Result);
        }
    }

    private static void Time(string name, Func<int> f)
    {
        f();
        var times = new List<double>();
        var g0 = GC.CollectionCount(0);
        var g1 = GC.CollectionCount(1);
        var g2 = GC.CollectionCount(2);
        for (var i = 0; i < 15; i++)
        {
            var sw = Stopwatch.StartNew();
            f();
            times.Add(sw.Elapsed.TotalMilliseconds);
        }

        times.Sort();
        Console.WriteLine($"{name,-14} min {times[0],8:F2} ms  median {times[7],8:F2} ms  gc {GC.CollectionCount(0) - g0}/{GC.CollectionCount(1) - g1}/{GC.CollectionCount(2) - g2}");
    }
}

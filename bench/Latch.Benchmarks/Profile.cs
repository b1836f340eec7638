using System.Diagnostics;
using Latch.Core.References;

namespace Latch.Benchmarks;

/// <summary>
/// A quick stopwatch breakdown of the 10 MB case, or of the 4 KB case with <c>--profile 4KB</c> (min and median of 15
/// timings; a 4 KB timing is a batch of 2,000 calls, reported per call in microseconds), for finding where time goes.
/// </summary>
internal static class Profile
{
    private static int _repeat = 1;

    public static void Run(string document = "10MB")
    {
        var b = new ResolutionBenchmarks { Document = document };
        b.Setup();
        var small = document == "4KB";
        _repeat = small ? 2000 : 1;
        var json = small ? Documents.Small() : Documents.Large();
        var engine = new ResolutionEngine(TimeProvider.System);
        var lookup = new InMemoryLookup(Documents.DistinctKeys);
        var target = new ResolutionTarget("bench_app", "prd", "shop");
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(json.Length * 2);
        var plain = json.Select(c => c == (byte)'$' ? (byte)'%' : c).ToArray();
        for (var round = 0; round < 3; round++)
        {
            Time("floor", () => b.Floor());
            Time("reader only", () => { var r = new System.Text.Json.Utf8JsonReader(json); var n = 0; while (r.Read()) { n++; } return n; });
            Time("isvalid", () => System.Text.Unicode.Utf8.IsValid(json) ? 1 : 0);
            Time("reader+switch", () => { var r = new System.Text.Json.Utf8JsonReader(json); var n = 0; while (r.Read()) { if (r.TokenType == System.Text.Json.JsonTokenType.String && r.ValueSpan.IndexOf((byte)'$') >= 0) { n++; } } return n; });
            Time("scan", () => ReferenceScanner.Scan(json).References.Count);
            Time("scan no refs", () => ReferenceScanner.Scan(plain).Keys.Count);
            Time("reader scan", () => ReferenceScanner.ScanWithReader(json).Keys.Count);
            var doc = ReferenceScanner.Scan(json);
            Time("values", () => engine.ResolveValuesAsync(doc, target, lookup, default).Result.Resolved.Count);
            var values = engine.ResolveValuesAsync(doc, target, lookup, default).Result;
            Time("substitute", () => { buffer.ResetWrittenCount(); doc.Substitute(values.Values, buffer); return buffer.WrittenCount; });
            Time("resolve", () => b.Resolve().Result);
        }
    }

    private static void Time(string name, Func<int> f)
    {
        for (var w = 0; w < _repeat; w++)
        {
            f();
        }

        var times = new List<double>();
        var g0 = GC.CollectionCount(0);
        var g1 = GC.CollectionCount(1);
        var g2 = GC.CollectionCount(2);
        for (var i = 0; i < 15; i++)
        {
            var sw = Stopwatch.StartNew();
            for (var r = 0; r < _repeat; r++)
            {
                f();
            }

            times.Add(_repeat == 1 ? sw.Elapsed.TotalMilliseconds : sw.Elapsed.TotalMicroseconds / _repeat);
        }

        times.Sort();
        var unit = _repeat == 1 ? "ms" : "us";
        Console.WriteLine($"{name,-14} min {times[0],8:F2} {unit}  median {times[7],8:F2} {unit}  gc {GC.CollectionCount(0) - g0}/{GC.CollectionCount(1) - g1}/{GC.CollectionCount(2) - g2}");
    }
}

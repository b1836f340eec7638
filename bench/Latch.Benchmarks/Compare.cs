using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using Latch.Core.References;

namespace Latch.Benchmarks;

/// <summary>
/// Console modes used by <c>bench/run</c> (not BenchmarkDotNet): side-by-side timings that alternate A B A B in one
/// process, and the Latch half of the <c>envsubst</c> comparison. Each mode prints one <c>RESULT</c> line per figure.
/// </summary>
internal static class Compare
{
    private static readonly ResolutionTarget Target = new("bench_app", "prd", "shop");

    /// <summary>
    /// <c>--floor-compare [rounds]</c>: Floor and Resolve from <see cref="ResolutionBenchmarks"/>, alternating, for the
    /// 10 MB and 4 KB documents (or those listed, comma-separated, in <c>BENCH_DOC</c>); prints the median of each and
    /// the ratio Resolve / Floor.
    /// </summary>
    public static void FloorVsResolve(int rounds)
    {
        var docs = (Environment.GetEnvironmentVariable("BENCH_DOC") ?? "10MB,4KB").Split(',');
        foreach (var document in docs)
        {
            var batch = document == "4KB" ? 2000 : 3;

            var b = new ResolutionBenchmarks { Document = document };
            b.Setup();
            WarmUp(b, batch);
            var floor = new List<double>();
            var resolve = new List<double>();
            for (var round = 0; round < rounds; round++)
            {
                floor.Add(PerCall(batch, () => b.Floor()));
                resolve.Add(PerCall(batch, () => b.Resolve().GetAwaiter().GetResult()));
            }

            var f = Median(floor);
            var r = Median(resolve);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"RESULT floor-compare {document} floor_us={f:F2} resolve_us={r:F2} ratio={r / f:F3} rounds={rounds}"));
        }
    }

    /// <summary>Minimum warm-up time of each document in <see cref="FloorVsResolve"/>.</summary>
    private static readonly TimeSpan FloorWarmUp = TimeSpan.FromSeconds(1.5);

    /// <summary>
    /// Runs Floor and Resolve alternately for at least <see cref="FloorWarmUp"/> (and five batches each). A fixed count
    /// of 5 × 2,000 calls was too short for the 4 KB document: it took ~60 ms, less than the tiered JIT's 100 ms
    /// promotion delay, so the 4 KB timings that followed the 10 MB document were taken while methods were still being
    /// re-compiled (Resolve measured 7.8 µs there, 3.9 µs in a second 4 KB pass of the same process, floor 3.8 → 2.8 µs).
    /// Both sides get the same warm-up; only the warm, steady state is timed.
    /// </summary>
    private static void WarmUp(ResolutionBenchmarks b, int batch)
    {
        var sw = Stopwatch.StartNew();
        for (var i = 0; i < 5 || sw.Elapsed < FloorWarmUp; i++)
        {
            PerCall(batch, () => b.Floor());
            PerCall(batch, () => b.Resolve().GetAwaiter().GetResult());
        }
    }

    /// <summary>
    /// <c>--write-docs DIR</c>: writes <c>token.json</c> (the 10 MB document, <c>$Token{…}</c>/<c>$Secret{…}</c> form),
    /// <c>envsubst.json</c> (the same document, <c>${KEY_n}</c> form) and <c>values.env</c> (<c>KEY_n=value</c> lines,
    /// the same values the in-memory lookup holds).
    /// </summary>
    public static void WriteDocs(string directory)
    {
        Directory.CreateDirectory(directory);
        var json = Documents.Large();
        File.WriteAllBytes(Path.Combine(directory, "token.json"), json);
        var text = Encoding.UTF8.GetString(json);
        var envForm = text.Replace("$Token{", "${", StringComparison.Ordinal).Replace("$Secret{", "${", StringComparison.Ordinal);
        File.WriteAllText(Path.Combine(directory, "envsubst.json"), envForm, new UTF8Encoding(false));
        var lookup = new InMemoryLookup(Documents.DistinctKeys);
        var sb = new StringBuilder();
        foreach (var (key, value) in lookup.Values)
        {
            sb.Append(key).Append('=').Append(value).Append('\n');
        }

        File.WriteAllText(Path.Combine(directory, "values.env"), sb.ToString(), new UTF8Encoding(false));
        var refs = ReferenceScanner.Scan(json).References.Count;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"RESULT docs bytes={json.Length} references={refs}"));
    }

    /// <summary>
    /// Iterations run before timing. Three were too few: with tiered compilation the scanner's loops were still in
    /// their first-tier code for the timed iterations (the first round of a run took 70 ms, later ones 26–39 ms), which
    /// measured the JIT, not a warm server. Twenty calls reach the optimised tier.
    /// </summary>
    private const int WarmUpIterations = 20;

    /// <summary>
    /// <c>--envsubst-compare FILE [iterations]</c>: what envsubst does, the Latch way — per iteration read the file,
    /// scan it, check and look up every reference (in memory), substitute, write the result to /dev/null. Prints the
    /// median milliseconds per iteration (after <see cref="WarmUpIterations"/> warm-up iterations, as a running
    /// server is warm; the whole-process cold time is measured separately by bench/run).
    /// </summary>
    /// <remarks>
    /// Every iteration reads the whole file from disk (open, length, read) and writes the whole output to /dev/null,
    /// but into buffers reused across iterations — the input buffer (grown only when the file grows) and the output
    /// writer — as a server reuses its request and response buffers. Allocating a fresh 10 MB array per iteration
    /// (<c>File.ReadAllBytes</c>) put it on the large object heap and made the timings bimodal (full GCs).
    /// </remarks>
    public static void Envsubst(string file, int iterations)
    {
        var engine = new ResolutionEngine(TimeProvider.System);
        var lookup = new InMemoryLookup(Documents.DistinctKeys);
        var buffer = new ArrayBufferWriter<byte>(16 * 1024 * 1024);
        var input = Array.Empty<byte>();
        using var sink = new FileStream("/dev/null", FileMode.Open, FileAccess.Write);
        var times = new List<double>();
        var written = 0;
        for (var i = -WarmUpIterations; i < iterations; i++)
        {
            var sw = Stopwatch.StartNew();
            var length = ReadFile(file, ref input);
            var read = sw.Elapsed.TotalMilliseconds;
            var doc = ReferenceScanner.Scan(input.AsMemory(0, length));
            var scanned = sw.Elapsed.TotalMilliseconds;
            var values = engine.ResolveValuesAsync(doc, Target, lookup, CancellationToken.None).GetAwaiter().GetResult();
            if (!values.IsSuccess)
            {
                throw new InvalidOperationException("The document does not resolve");
            }

            buffer.ResetWrittenCount();
            doc.Substitute(values.Values, buffer);
            var substituted = sw.Elapsed.TotalMilliseconds;
            sink.Write(buffer.WrittenSpan);
            written = buffer.WrittenCount;
            if (i >= 0)
            {
                times.Add(sw.Elapsed.TotalMilliseconds);
                if (Environment.GetEnvironmentVariable("BENCH_TRACE") == "1") { Console.WriteLine($"{sw.Elapsed.TotalMilliseconds:F1} read={read:F1} scanned={scanned:F1} substituted={substituted:F1} gc0={GC.CollectionCount(0)} gc1={GC.CollectionCount(1)} gc2={GC.CollectionCount(2)}"); }
            }
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"RESULT envsubst-latch median_ms={Median(times):F2} min_ms={times.Min():F2} iterations={iterations} output_bytes={written}"));
    }

    /// <summary>Reads the whole file into <paramref name="buffer"/> (grown when too small); returns its length.</summary>
    private static int ReadFile(string file, ref byte[] buffer)
    {
        using var handle = File.OpenHandle(file, FileMode.Open, FileAccess.Read, FileShare.Read, FileOptions.SequentialScan);
        var length = checked((int)RandomAccess.GetLength(handle));
        if (buffer.Length < length)
        {
            buffer = new byte[length];
        }

        var read = 0;
        while (read < length)
        {
            var n = RandomAccess.Read(handle, buffer.AsSpan(read, length - read), read);
            if (n == 0)
            {
                throw new IOException($"{file} shrank while it was read.");
            }

            read += n;
        }

        return length;
    }

    private static double PerCall(int batch, Func<int> action)
    {
        var sw = Stopwatch.StartNew();
        for (var i = 0; i < batch; i++)
        {
            action();
        }

        return sw.Elapsed.TotalMicroseconds / batch;
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;
    }
}

using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;

namespace Latch.Benchmarks;

/// <summary>
/// Entry point: <c>dotnet run -c Release --project bench/Latch.Benchmarks -- --filter '*' [--job short|medium|long|dry]</c>.
/// Benchmarks run in process (so no generated project is built next to the repository's own build output), and
/// BenchmarkDotNet's reports go to a temporary directory unless <c>--artifacts</c> is given.
/// <c>--profile</c> prints a quick stopwatch breakdown (scan, checks, substitution) instead; <c>--floor-compare</c>,
/// <c>--write-docs</c> and <c>--envsubst-compare</c> are the console modes <c>bench/run</c> uses (see Compare.cs), and
/// <c>--scale-seed</c> builds part d's large store (see Scale.cs).
/// </summary>
internal static class Program
{
    public static void Main(string[] args)
    {
        if (args.Length > 0 && args[0] == "--profile")
        {
            Profile.Run(args.Length > 1 ? args[1] : "10MB");
            return;
        }

        switch (args.FirstOrDefault())
        {
            case "--floor-compare":
                Compare.FloorVsResolve(args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 8);
                return;
            case "--write-docs":
                Compare.WriteDocs(args[1]);
                return;
            case "--scale-seed":
                Scale.SeedAsync(args[1], int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture),
                    long.Parse(args[3], System.Globalization.CultureInfo.InvariantCulture)).GetAwaiter().GetResult();
                return;
            case "--envsubst-compare":
                Compare.Envsubst(args[1], args.Length > 2 ? int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 5);
                return;
            default:
                break;
        }

        var job = Job.Default;
        var rest = new List<string>();
        for (var i = 0; i < args.Length; i++)
        {
            if (args[i] is "--job" or "-j" && i + 1 < args.Length)
            {
                job = args[++i].ToUpperInvariant() switch
                {
                    "SHORT" => Job.ShortRun,
                    "MEDIUM" => Job.MediumRun,
                    "LONG" => Job.LongRun,
                    "DRY" => Job.Dry,
                    _ => Job.Default,
                };
            }
            else
            {
                rest.Add(args[i]);
            }
        }

        var config = DefaultConfig.Instance
            .AddJob(job.WithToolchain(InProcessEmitToolchain.Instance).AsDefault())
            .WithArtifactsPath(Path.Combine(Path.GetTempPath(), "latch-benchmarks"));
        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run([.. rest], config);
    }
}

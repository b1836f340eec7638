using System.Globalization;
using Latch.Reliability;

// reliability/run crash-loop [--cycles 20] [--workers 6]
// reliability/run soak [--minutes 10] [--rate 200] [--warmup-seconds 60] [--window-seconds 30]
const string Usage = "usage: Latch.Reliability crash-loop [--cycles N] [--workers N] | soak [--minutes N] [--rate N] [--warmup-seconds N] [--window-seconds N]";
if (args.Length == 0)
{
    Console.Error.WriteLine(Usage);
    return 2;
}

var options = new Dictionary<string, double>(StringComparer.Ordinal);
for (var i = 1; i < args.Length; i++)
{
    if (!args[i].StartsWith("--", StringComparison.Ordinal) || i + 1 >= args.Length
        || !double.TryParse(args[i + 1], NumberStyles.Float, CultureInfo.InvariantCulture, out var number) || number <= 0)
    {
        Console.Error.WriteLine(Usage);
        return 2;
    }

    options[args[i][2..]] = number;
    i++;
}

double Option(string name, double fallback) => options.Remove(name, out var value) ? value : fallback;
using var cancel = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    cancel.Cancel();
};

switch (args[0])
{
    case "crash-loop":
    {
        var loop = new CrashLoopOptions { Cycles = (int)Option("cycles", 20), Workers = (int)Option("workers", 6) };
        if (options.Count > 0)
        {
            Console.Error.WriteLine(Usage);
            return 2;
        }

        Console.WriteLine($"crash loop: {loop.Cycles} cycles, {loop.Workers} workers, kill -9 after {loop.MinLoad.TotalSeconds}-{loop.MaxLoad.TotalSeconds} s of load");
        var report = await new CrashLoop(loop, Console.Out).RunAsync(cancel.Token);
        return report.Ok ? 0 : 1;
    }

    case "soak":
    {
        var minutes = Option("minutes", 10);
        var soak = new SoakOptions
        {
            Duration = TimeSpan.FromMinutes(minutes),
            Rate = (int)Option("rate", 200),
            WarmUp = TimeSpan.FromSeconds(Option("warmup-seconds", Math.Min(60, minutes * 60 / 4))),
            Window = TimeSpan.FromSeconds(Option("window-seconds", Math.Min(30, minutes * 60 / 6))),
        };
        if (options.Count > 0)
        {
            Console.Error.WriteLine(Usage);
            return 2;
        }

        Console.WriteLine($"soak: {soak.Duration.TotalMinutes} min at {soak.Rate} req/s, warm-up {soak.WarmUp.TotalSeconds} s, windows of {soak.Window.TotalSeconds} s");
        var report = await new Soak(soak, Console.Out).RunAsync(cancel.Token);
        return report.Ok ? 0 : 1;
    }

    default:
        Console.Error.WriteLine(Usage);
        return 2;
}

using Latch.Fuzz;
using SharpFuzz;

// Usage: Latch.Fuzz <target>            run under afl-fuzz (fuzz/run does this)
//        Latch.Fuzz <target> <file|dir>  replay inputs (a crash reproduces with its exception and stack trace)
if (args.Length == 0 || !Targets.All.TryGetValue(args[0], out var target))
{
    Console.Error.WriteLine($"usage: Latch.Fuzz <{string.Join('|', Targets.All.Keys)}> [input file or directory]");
    return 2;
}

if (args.Length > 1)
{
    var files = Directory.Exists(args[1]) ? Directory.GetFiles(args[1]).Order(StringComparer.Ordinal).ToArray() : [args[1]];
    foreach (var file in files)
    {
        target(File.ReadAllBytes(file));
    }

    Console.WriteLine($"{args[0]}: {files.Length} inputs replayed, no crash");
    return 0;
}

Fuzzer.OutOfProcess.Run(stream =>
{
    using var buffer = new MemoryStream();
    stream.CopyTo(buffer);
    target(buffer.ToArray());
});
return 0;

namespace Latch.Cli;

internal static class Program
{
    private static Task<int> Main(string[] args) => LatchCli.RunAsync(args, CliEnvironment.FromConsole());
}

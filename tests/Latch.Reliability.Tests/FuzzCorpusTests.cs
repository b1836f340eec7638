using Latch.Fuzz;

namespace Latch.Reliability.Tests;

/// <summary>
/// Every input in fuzz/corpus/&lt;target&gt;/ (the seeds, plus each crash afl-fuzz found, kept as a regression) goes through its
/// fuzz target without a crash: the target accepts only the documented failures.
/// </summary>
public sealed class FuzzCorpusTests
{
    public static TheoryData<string> TargetNames() => new(Targets.All.Keys);

    [Theory]
    [MemberData(nameof(TargetNames))]
    public void The_committed_corpus_replays_without_a_crash(string target)
    {
        var dir = Path.Combine(AppContext.BaseDirectory, "corpus", target);
        var files = Directory.GetFiles(dir);
        Assert.NotEmpty(files);
        foreach (var file in files)
        {
            var input = File.ReadAllBytes(file);
            var thrown = Record.Exception(() => Targets.All[target](input));
            Assert.True(thrown is null, $"{target}: {Path.GetFileName(file)} crashed the target: {thrown?.GetType().Name}: {thrown?.Message}");
        }
    }
}

using System.Text;
using CsCheck;
using Latch.Core.References;
using Xunit.Abstractions;

namespace Latch.Core.Tests.References;

public sealed class TmpStats(ITestOutputHelper output)
{
    [Fact]
    public void Stats()
    {
        var gen = typeof(ReferencePropertyTests).GetField("Json", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Static)!.GetValue(null) as Gen<string>;
        int n = 0, withRefs = 0, clean = 0, rewrites = 0, escaped = 0;
        gen!.Sample(json =>
        {
            n++;
            var d = ReferenceScanner.Scan(Encoding.UTF8.GetBytes(json));
            if (d.References.Count > 0) withRefs++;
            if (d.Malformed.Count == 0 && d.References.Count > 0 && d.Keys.All(k => k is "A" or "B" or "KEY_1")) clean++;
            if (d.HasRewrites) rewrites++;
            if (json.Contains("\\u0024", StringComparison.Ordinal)) escaped++;
        }, iter: 3000, threads: 1);
        output.WriteLine($"n={n} withRefs={withRefs} cleanResolvable={clean} rewrites={rewrites} escaped={escaped}");
    }
}

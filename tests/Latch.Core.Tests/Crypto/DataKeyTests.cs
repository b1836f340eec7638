using Latch.Core.Crypto;
using Latch.Core.References;
using Latch.Core.Secrets;

namespace Latch.Core.Tests.Crypto;

public sealed class DataKeyTests
{
    [Fact]
    public void Sealed_value_opens_only_under_the_same_workspace_key_and_version()
    {
        using var key = new DataKey("ws_a", DataKey.NewKeyMaterial());
        var sealedValue = key.Seal("API_KEY", 3, new SecretValue("s3cr3t"));

        Assert.Equal("s3cr3t", key.Open("API_KEY", 3, sealedValue).Reveal());
        Assert.Throws<SecretIntegrityException>(() => key.Open("OTHER_KEY", 3, sealedValue));
        Assert.Throws<SecretIntegrityException>(() => key.Open("API_KEY", 2, sealedValue));
        sealedValue[^1] ^= 1;
        Assert.Throws<SecretIntegrityException>(() => key.Open("API_KEY", 3, sealedValue));
    }

    [Fact]
    public void A_data_key_from_another_workspace_cannot_open_the_value()
    {
        var material = DataKey.NewKeyMaterial();
        using var a = new DataKey("ws_a", (byte[])material.Clone());
        using var b = new DataKey("ws_b", material);
        var sealedValue = a.Seal("K", 1, new SecretValue("v"));
        Assert.Throws<SecretIntegrityException>(() => b.Open("K", 1, sealedValue));
    }

    [Fact]
    public async Task One_data_key_seals_and_opens_correctly_from_many_threads_at_once()
    {
        // AesGcm instances are not thread-safe; a shared one fails ("cipher operation failed") or corrupts under concurrency.
        using var key = new DataKey("ws_a", DataKey.NewKeyMaterial());
        var sealedValues = Enumerable.Range(0, 64).Select(i => key.Seal($"K{i}", 1, new SecretValue($"value-{i}-" + new string('x', 200)))).ToArray();
        var failures = 0;
        using var start = new Barrier(16);
        await Task.WhenAll(Enumerable.Range(0, 16).Select(worker => Task.Factory.StartNew(() =>
        {
            start.SignalAndWait();
            for (var i = 0; i < 4000; i++)
            {
                var n = (worker + i) % sealedValues.Length;
                try
                {
                    if (key.Open($"K{n}", 1, sealedValues[n]).Reveal() != $"value-{n}-" + new string('x', 200))
                    {
                        Interlocked.Increment(ref failures);
                    }
                }
                catch (Exception e) when (e is SecretIntegrityException or System.Security.Cryptography.CryptographicException)
                {
                    Interlocked.Increment(ref failures);
                }
            }
        }, TaskCreationOptions.LongRunning)));
        Assert.Equal(0, failures);
    }

    [Fact]
    public void Master_key_wraps_and_unwraps_only_for_its_context()
    {
        using var master = LocalMasterKey.FromBase64(LocalMasterKey.GenerateBase64(), "test");
        var wrapped = master.Wrap([1, 2, 3], "ctx-a");
        Assert.Equal([1, 2, 3], master.Unwrap(wrapped, "ctx-a"));
        Assert.Throws<MasterKeyMismatchException>(() => master.Unwrap(wrapped, "ctx-b"));
        using var other = LocalMasterKey.FromBase64(LocalMasterKey.GenerateBase64(), "test");
        Assert.Throws<MasterKeyMismatchException>(() => other.Unwrap(wrapped, "ctx-a"));
    }
}

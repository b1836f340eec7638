using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using Latch.Core.Access;
using Latch.Core.Audit;
using Latch.Core.Crypto;
using Latch.Core.Secrets;
using Latch.Core.Storage;
using Latch.Core.Storage.Sqlite;

namespace Latch.Benchmarks;

/// <summary>
/// <c>--scale-seed DIR SECRETS EVENTS</c> (issue 8, part d): builds a store for <c>latch serve --data DIR</c> directly
/// through Latch's own services — real envelope encryption, real hash-chained audit log — without HTTP. The master key
/// comes from <c>LATCH_MASTER_KEY</c> and the owner key from <c>LATCH_BOOTSTRAP_KEY</c>, as for <c>latch serve</c>.
/// Secrets are <c>S000001</c>…, created one transaction each (durable, as through the API); then resolution events
/// (<c>secret.resolved</c> for random secrets) are appended in group commits until the log holds EVENTS events.
/// Prints one <c>RESULT scale-seed</c> line.
/// </summary>
internal static class Scale
{
    private const int AuditBatch = 5_000;

    public static async Task SeedAsync(string directory, int secrets, long events)
    {
        var masterKey = Environment.GetEnvironmentVariable("LATCH_MASTER_KEY") ?? throw new InvalidOperationException("LATCH_MASTER_KEY is not set");
        var bootstrap = Environment.GetEnvironmentVariable("LATCH_BOOTSTRAP_KEY") ?? throw new InvalidOperationException("LATCH_BOOTSTRAP_KEY is not set");
        var time = TimeProvider.System;
        var total = Stopwatch.StartNew();
        await using var store = SqliteStore.Open(directory);
        await store.MigrateAsync(null, CancellationToken.None);
        using var master = LocalMasterKey.FromBase64(masterKey, "LATCH_MASTER_KEY");
        using var keyring = new Keyring(master, store);
        await keyring.InitializeAsync(CancellationToken.None);
        await new AccessService(store, keyring, time).BootstrapAsync(bootstrap, CancellationToken.None);
        var workspace = await store.GetWorkspaceByNameAsync("default", CancellationToken.None)
            ?? throw new InvalidOperationException("workspace 'default' was not created (the store already had keys?)");

        long written = 0;
        await using (var audit = new AuditWriter(store))
        {
            var service = new SecretService(store, keyring, audit, time);
            var next = 0;
            var watch = Stopwatch.StartNew();
            // A few writers so that sealing overlaps the (serialised) commits.
            await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Task.Run(async () =>
            {
                int i;
                while ((i = Interlocked.Increment(ref next)) <= secrets)
                {
                    var draft = new SecretDraft(Key(i), new SecretValue(RandomNumberGenerator.GetString("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", 40)),
                        $"scale secret {i}", null, [], [], null);
                    var created = await service.CreateAsync(workspace.Id, draft, Actor.System, CancellationToken.None);
                    if (!created.IsSuccess)
                    {
                        throw new InvalidOperationException($"create {draft.Key}: {created.Error!.Code}");
                    }

                    if (i % 10_000 == 0)
                    {
                        await Console.Error.WriteLineAsync($"   seeded {i:N0} secrets ({watch.Elapsed.TotalSeconds:F0} s)");
                    }
                }
            })));
            Console.Error.WriteLine($"   {secrets:N0} secrets in {watch.Elapsed.TotalSeconds:F1} s");

            written = await CountEventsAsync(store, workspace.Id);
            var random = new Deterministic(42);
            var actor = new Actor("key_scale", "scale-seed", null, "127.0.0.1");
            watch.Restart();
            while (written < events)
            {
                var n = (int)Math.Min(AuditBatch, events - written);
                var batch = new List<AuditEvent>(n);
                var now = time.GetUtcNow();
                for (var j = 0; j < n; j++)
                {
                    // Each event its own request (a one-reference resolution), so each is its own row: the embedded store
                    // keeps one resolution's events in one row (schema 4), and 5,000 events of one request would make a
                    // million events a few thousand rows — a flattering store, not the one a million resolutions leave.
                    batch.Add(SecretService.Event(workspace.Id, "secret.resolved", actor with { RequestId = string.Create(CultureInfo.InvariantCulture, $"scale-{written + j}") }, now) with
                    {
                        SecretKey = Key(1 + random.Next(secrets)), Version = 1, App = "scale_app", Env = "prd", Context = "resolve", Path = "$.k",
                    });
                }

                await store.AppendAuditAsync(batch, CancellationToken.None);
                written += n;
                if (written / AuditBatch % 40 == 0)
                {
                    await Console.Error.WriteLineAsync($"   {written:N0} audit events ({watch.Elapsed.TotalSeconds:F0} s)");
                }
            }
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"RESULT scale-seed secrets={secrets} events={written} seconds={total.Elapsed.TotalSeconds:F1}"));
    }

    /// <summary>The key of the i-th seeded secret (1-based).</summary>
    public static string Key(int i) => string.Create(CultureInfo.InvariantCulture, $"S{i:D6}");

    private static async Task<long> CountEventsAsync(ILatchStore store, string workspaceId)
    {
        long count = 0;
        await foreach (var _ in store.ReadAuditChainAsync(workspaceId, CancellationToken.None))
        {
            count++;
        }

        return count;
    }
}

using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Latch.Server.Tests.Infrastructure;

namespace Latch.Server.Tests.Storage;

/// <summary>
/// SPEC §6 and issue 7: several real <c>latch serve</c> processes on one PostgreSQL database. Each sees another's
/// changes within a second (LISTEN/NOTIFY, with a safe fallback), concurrent rotations never share a version, and
/// the audit hash chain stays valid with every instance writing.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class MultiInstanceTests
{
    /// <summary>The promise under test: another instance sees a committed change within one second.</summary>
    private static readonly TimeSpan Visibility = TimeSpan.FromSeconds(1);

    [Fact]
    public async Task Changes_through_one_instance_are_seen_by_the_others_next_resolution_within_a_second()
    {
        await using var db = await PostgresDatabase.CreateAsync();
        var masterKey = SecretCalls.NewMasterKey();
        using var a = await StartAsync(db, masterKey);
        using var b = await StartAsync(db, masterKey);
        using var viaA = a.Client(TestServer.BootstrapKey);
        using var viaB = b.Client(TestServer.BootstrapKey);
        await WarmAsync(viaA, viaB);

        // Created through A → resolvable through B.
        var first = SecretCalls.DistinctValue("created");
        await viaA.CreateSecretAsync(new { key = "SHARED", value = first });
        await SeenWithinAsync(viaB, "SHARED", first, "created through A");

        // Warm B (whatever it caches), then rotate through A.
        for (var i = 0; i < 5; i++)
        {
            Assert.Equal(first, await viaB.ResolveValueAsync("SHARED"));
        }

        var second = SecretCalls.DistinctValue("rotated");
        Assert.Equal(HttpStatusCode.OK, (await viaA.PatchJsonAsync("/v1/secrets/SHARED", new { value = second })).StatusCode);
        await SeenWithinAsync(viaB, "SHARED", second, "rotated through A");

        // Revoked through B → refused by A.
        Assert.Equal(HttpStatusCode.OK, (await viaB.PostAsync("/v1/secrets/SHARED/revoke", null)).StatusCode);
        await RefusedWithinAsync(viaA, "SHARED", "secret_revoked", "revoked through B");

        // Un-revoked through A, then deleted through A → B reports it missing.
        Assert.Equal(HttpStatusCode.OK, (await viaA.PatchJsonAsync("/v1/secrets/SHARED", new { revoked = false })).StatusCode);
        await SeenWithinAsync(viaB, "SHARED", second, "un-revoked through A");
        Assert.Equal(HttpStatusCode.NoContent, (await viaA.DeleteAsync("/v1/secrets/SHARED")).StatusCode);
        await RefusedWithinAsync(viaB, "SHARED", "secret_not_found", "deleted through A");

        // Re-created with the same key (version 1 again, another value): B must not serve the old version 1.
        var recreated = SecretCalls.DistinctValue("recreated");
        await viaA.CreateSecretAsync(new { key = "SHARED", value = recreated });
        await SeenWithinAsync(viaB, "SHARED", recreated, "re-created through A");

        // An API key revoked through A stops working on B.
        var created = await (await viaA.PostAsJsonAsync("/v1/keys", new { name = "ci", role = "admin" })).ReadJsonAsync();
        using var keyOnB = b.Client(created["key"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.OK, (await keyOnB.GetAsync("/v1/secrets")).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await viaA.DeleteAsync($"/v1/keys/{created["id"]!.GetValue<string>()}")).StatusCode);
        await WithinAsync(async () => (await keyOnB.GetAsync("/v1/secrets")).StatusCode == HttpStatusCode.Unauthorized, "key revoked through A still works on B");
    }

    [Fact]
    public async Task Concurrent_rotations_through_two_instances_never_hand_out_the_same_version_and_the_chain_holds()
    {
        await using var db = await PostgresDatabase.CreateAsync();
        var masterKey = SecretCalls.NewMasterKey();
        using var a = await StartAsync(db, masterKey);
        using var b = await StartAsync(db, masterKey);
        using var viaA = a.Client(TestServer.BootstrapKey);
        using var viaB = b.Client(TestServer.BootstrapKey);
        await viaA.CreateSecretAsync(new { key = "RACED", value = SecretCalls.DistinctValue("v1") });

        var written = new System.Collections.Concurrent.ConcurrentDictionary<int, string>();
        var rotations = Enumerable.Range(0, 30).Select(async i =>
        {
            var client = i % 2 == 0 ? viaA : viaB;
            var value = SecretCalls.DistinctValue($"r{i}");
            var response = await client.PatchJsonAsync("/v1/secrets/RACED", new { value });
            var body = await response.ReadJsonAsync();
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"rotation {i}: {(int)response.StatusCode} {body}");
            var version = body["version"]!.GetValue<int>();
            Assert.True(written.TryAdd(version, value), $"version {version} was handed out twice");
        });
        var resolutions = Enumerable.Range(0, 30).Select(async i => await (i % 2 == 0 ? viaB : viaA).ResolveValueAsync("RACED"));
        await Task.WhenAll(rotations.Concat<Task>(resolutions));

        Assert.Equal(Enumerable.Range(2, 30), written.Keys.Order());
        var versions = await (await viaB.GetAsync("/v1/secrets/RACED/versions")).ReadJsonAsync();
        Assert.Equal(Enumerable.Range(1, 31).Reverse(), versions["items"]!.AsArray().Select(v => v!["version"]!.GetValue<int>()));

        // Every version holds exactly the value its rotation wrote: roll back to it and read it through the other instance.
        foreach (var version in new[] { 2, 17, 31 })
        {
            var rolled = await viaA.PostAsJsonAsync("/v1/secrets/RACED/rollback", new { version });
            Assert.Equal(HttpStatusCode.OK, rolled.StatusCode);
            await SeenWithinAsync(viaB, "RACED", written[version], $"rollback to {version}");
        }

        foreach (var client in new[] { viaA, viaB })
        {
            var verify = await (await client.GetAsync("/v1/audit/verify")).ReadJsonAsync();
            Assert.True(verify["ok"]!.GetValue<bool>(), $"chain broken: {verify}");
            // 1 workspace + 1 key + 1 create + 30 rotations + ≥30 resolutions + 3 rollbacks.
            Assert.True(verify["checked"]!.GetValue<long>() >= 66, verify.ToJsonString());
        }
    }

    [Fact]
    public async Task When_the_notification_connection_drops_an_instance_still_sees_changes_and_listens_again()
    {
        await using var db = await PostgresDatabase.CreateAsync();
        var masterKey = SecretCalls.NewMasterKey();
        using var a = await StartAsync(db, masterKey);
        using var b = await StartAsync(db, masterKey);
        using var viaA = a.Client(TestServer.BootstrapKey);
        using var viaB = b.Client(TestServer.BootstrapKey);
        var first = SecretCalls.DistinctValue("before");
        await WarmAsync(viaA, viaB);
        await viaA.CreateSecretAsync(new { key = "DROPPED", value = first });
        await SeenWithinAsync(viaB, "DROPPED", first, "created");
        Assert.Equal(2L, await ListenersAsync(db));

        // Kill every listening session of this database: the instances must fall back to reading the database.
        Assert.Equal(2L, await db.AdminAsync($"SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = '{db.Name}' AND application_name = 'latch-listener'"));
        var second = SecretCalls.DistinctValue("during");
        Assert.Equal(HttpStatusCode.OK, (await viaA.PatchJsonAsync("/v1/secrets/DROPPED", new { value = second })).StatusCode);
        await SeenWithinAsync(viaB, "DROPPED", second, "rotated while the notification connection was down");

        // Both reconnect by themselves, and notifications work again.
        await WithinAsync(async () => await ListenersAsync(db) == 2L, "the listeners did not reconnect", TimeSpan.FromSeconds(15));
        var third = SecretCalls.DistinctValue("after");
        Assert.Equal(HttpStatusCode.OK, (await viaB.PatchJsonAsync("/v1/secrets/DROPPED", new { value = third })).StatusCode);
        await SeenWithinAsync(viaA, "DROPPED", third, "rotated after reconnecting");
    }

    [Fact]
    public async Task Two_instances_starting_at_once_on_an_empty_database_bootstrap_exactly_one_workspace()
    {
        await using var db = await PostgresDatabase.CreateAsync();
        var masterKey = SecretCalls.NewMasterKey();
        var starting = await Task.WhenAll(StartAsync(db, masterKey), StartAsync(db, masterKey));
        using var a = starting[0];
        using var b = starting[1];
        Assert.Equal(1L, await db.ScalarAsync("SELECT count(*) FROM workspaces"));
        Assert.Equal(HttpStatusCode.OK, (await a.Client(TestServer.BootstrapKey).GetAsync("/v1/workspace")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await b.Client(TestServer.BootstrapKey).GetAsync("/v1/workspace")).StatusCode);
        Assert.Equal(1L, await db.ScalarAsync("SELECT count(DISTINCT version) FROM schema_migrations WHERE version = '1'"));
    }

    internal static Task<LatchProcess> StartAsync(PostgresDatabase db, string masterKey) =>
        LatchProcess.StartAsync(TestServer.NewDataDirectory(), masterKey, ["--store", "postgres", "--connection", db.ConnectionString]);

    /// <summary>First requests pay for JIT and connection set-up; the visibility promise is measured on warm instances.</summary>
    internal static async Task WarmAsync(params HttpClient[] clients)
    {
        foreach (var client in clients)
        {
            for (var i = 0; i < 3; i++)
            {
                await client.ResolveAsync(new { v = "$Token{WARM_UP_ONLY}" }, "any_app", "dev");
            }
        }
    }

    private static async Task<long> ListenersAsync(PostgresDatabase db) =>
        (long)(await db.AdminAsync($"SELECT count(*) FROM pg_stat_activity WHERE datname = '{db.Name}' AND application_name = 'latch-listener'"))!;

    private static Task SeenWithinAsync(HttpClient client, string key, string expected, string what) =>
        WithinAsync(async () =>
        {
            var response = await client.ResolveAsync(new { v = $"$Token{{{key}}}" }, "any_app", "dev");
            return response.StatusCode == HttpStatusCode.OK && (await response.ReadJsonAsync())["document"]!["v"]!.GetValue<string>() == expected;
        }, $"{key} {what}: the other instance did not resolve the new value within {Visibility.TotalSeconds} s");

    private static Task RefusedWithinAsync(HttpClient client, string key, string code, string what) =>
        WithinAsync(async () =>
        {
            var response = await client.ResolveAsync(new { v = $"$Token{{{key}}}" }, "any_app", "dev");
            if (response.StatusCode == HttpStatusCode.OK)
            {
                return false;
            }

            var errors = (await response.ReadJsonAsync())["errors"] as JsonArray;
            return errors?.Any(e => e?["code"]?.GetValue<string>() == code) == true;
        }, $"{key} {what}: the other instance did not refuse it with {code} within {Visibility.TotalSeconds} s");

    /// <summary>
    /// Polls until <paramref name="condition"/> holds. The deadline is the product promise itself (one second after the
    /// change was acknowledged), not a performance target.
    /// </summary>
    private static async Task WithinAsync(Func<Task<bool>> condition, string failure, TimeSpan? patience = null)
    {
        var clock = Stopwatch.StartNew();
        var limit = patience ?? Visibility;
        while (true)
        {
            if (await condition())
            {
                return;
            }

            Assert.True(clock.Elapsed < limit, failure);
            await Task.Delay(25);
        }
    }
}

/// <summary>Tests that start several server processes on PostgreSQL run one at a time (two cores).</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class PostgresCollection
{
    /// <summary>The collection's name.</summary>
    public const string Name = "postgres-processes";
}

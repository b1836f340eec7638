using Latch.Core.Caching;
using Latch.Core.References;
using Latch.Core.Secrets;
using Latch.Core.Storage;

namespace Latch.Core.Tests.Caching;

/// <summary>The resolution cache obeys the change feed: invalidation, incoherence, the epoch rule and its bounds.</summary>
public sealed class SecretCacheTests
{
    private const string Ws = "ws_a";

    [Fact]
    public async Task A_second_resolution_is_answered_from_memory()
    {
        var (cache, store, _) = Setup();
        await ResolveAsync(cache, store, "A", "B");
        await ResolveAsync(cache, store, "A", "B");

        Assert.Equal(1, store.PolicyReads);
        Assert.Equal(1, store.ValueReads);
    }

    [Fact]
    public async Task A_change_to_a_secret_drops_its_policy_and_value_and_only_those()
    {
        var (cache, store, changes) = Setup();
        Assert.Equal("a-1", (await ResolveAsync(cache, store, "A", "B"))["A"]);

        store.Set("A", 2, "a-2"); // rotated
        changes.Publish(new StoreChange(Ws, StoreChangeKind.Secret, "A"));
        var values = await ResolveAsync(cache, store, "A", "B");

        Assert.Equal("a-2", values["A"]);
        Assert.Equal(["A"], store.LastPolicyKeys);
        Assert.Equal(["A"], store.LastValueKeys);
    }

    [Fact]
    public async Task A_deleted_and_recreated_secret_at_version_1_gets_its_new_value()
    {
        var (cache, store, changes) = Setup();
        Assert.Equal("a-1", (await ResolveAsync(cache, store, "A"))["A"]);

        store.Remove("A");
        changes.Publish(new StoreChange(Ws, StoreChangeKind.Secret, "A"));
        Assert.Empty(await ResolveAsync(cache, store, "A")); // not found, and that is cached too

        store.Set("A", 1, "recreated");
        changes.Publish(new StoreChange(Ws, StoreChangeKind.Secret, "A"));
        Assert.Equal("recreated", (await ResolveAsync(cache, store, "A"))["A"]);
    }

    [Fact]
    public async Task Revocation_is_seen_at_once()
    {
        var (cache, store, changes) = Setup();
        await ResolveAsync(cache, store, "A");

        store.Set("A", 1, "a-1", revoked: true);
        changes.Publish(new StoreChange(Ws, StoreChangeKind.Secret, "A"));
        var policies = await cache.Wrap(store, Ws).GetPoliciesAsync(["A"], CancellationToken.None);

        Assert.True(policies["A"].Revoked);
    }

    [Theory]
    [InlineData(StoreChangeKind.Workspace)]
    [InlineData(StoreChangeKind.Everything)]
    public async Task Workspace_and_everything_changes_drop_the_workspace(StoreChangeKind kind)
    {
        var (cache, store, changes) = Setup();
        await ResolveAsync(cache, store, "A", "B");

        changes.Publish(kind == StoreChangeKind.Everything ? StoreChange.All : new StoreChange(Ws, kind, null));

        Assert.Equal(0, cache.PolicyCount(Ws));
        Assert.Equal(0, cache.ValueCount(Ws));
    }

    [Fact]
    public async Task Changes_in_another_workspace_or_of_another_kind_keep_the_entries()
    {
        var (cache, store, changes) = Setup();
        await ResolveAsync(cache, store, "A", "B");

        changes.Publish(new StoreChange("ws_other", StoreChangeKind.Secret, "A"));
        changes.Publish(new StoreChange(Ws, StoreChangeKind.ApiKey, "key_1"));
        changes.Publish(new StoreChange(Ws, StoreChangeKind.Config, "app//x"));
        await ResolveAsync(cache, store, "A", "B");

        Assert.Equal(1, store.PolicyReads);
    }

    [Fact]
    public async Task While_the_feed_is_incoherent_every_resolution_reads_the_store_and_nothing_is_kept()
    {
        var (cache, store, changes) = Setup();
        await ResolveAsync(cache, store, "A");
        changes.SetCoherent(false);

        store.Set("A", 2, "changed-elsewhere"); // a change this process did not hear of
        Assert.Equal("changed-elsewhere", (await ResolveAsync(cache, store, "A"))["A"]);
        await ResolveAsync(cache, store, "A");
        Assert.Equal(3, store.PolicyReads);
        Assert.Equal(0, cache.PolicyCount(Ws));

        changes.SetCoherent(true);
        await ResolveAsync(cache, store, "A");
        await ResolveAsync(cache, store, "A");
        Assert.Equal(4, store.PolicyReads);
    }

    [Fact]
    public async Task A_change_published_during_the_store_read_is_not_lost()
    {
        var (cache, store, changes) = Setup();
        // The change commits while the policies are being read: what was read may be stale and must not be kept.
        store.DuringPolicyRead = () =>
        {
            store.Set("A", 2, "a-2");
            changes.Publish(new StoreChange(Ws, StoreChangeKind.Secret, "A"));
        };
        await ResolveAsync(cache, store, "A");
        store.DuringPolicyRead = null;

        Assert.Equal(0, cache.PolicyCount(Ws));
        Assert.Equal(0, cache.ValueCount(Ws));
        Assert.Equal("a-2", (await ResolveAsync(cache, store, "A"))["A"]);
    }

    [Fact]
    public async Task A_value_that_fails_its_integrity_check_is_not_cached()
    {
        var (cache, store, _) = Setup();
        store.Tampered = true;
        var lookup = cache.Wrap(store, Ws);
        var policies = await lookup.GetPoliciesAsync(["A"], CancellationToken.None);
        await Assert.ThrowsAsync<SecretIntegrityException>(async () => await lookup.DecryptAsync(policies.Values.ToList(), CancellationToken.None));

        Assert.Equal(0, cache.ValueCount(Ws));
    }

    [Fact]
    public async Task The_cache_stays_within_its_bounds()
    {
        var changes = new StoreChanges();
        var cache = new SecretCache(changes, new CacheLimits { PoliciesPerWorkspace = 3, ValuesPerWorkspace = 2 });
        var store = new FakeLookup();
        for (var i = 0; i < 10; i++)
        {
            store.Set($"K{i}", 1, $"v{i}");
            await ResolveAsync(cache, store, $"K{i}");
            Assert.InRange(cache.PolicyCount(Ws), 1, 3);
            Assert.InRange(cache.ValueCount(Ws), 1, 2);
        }
    }

    [Fact]
    public void A_cached_value_still_prints_as_stars()
    {
        Assert.Equal("***", new SecretValue("s3cr3t-value").ToString());
    }

    private static (SecretCache Cache, FakeLookup Store, StoreChanges Changes) Setup()
    {
        var changes = new StoreChanges();
        var store = new FakeLookup();
        store.Set("A", 1, "a-1");
        store.Set("B", 1, "b-1");
        return (new SecretCache(changes), store, changes);
    }

    private static async Task<Dictionary<string, string>> ResolveAsync(SecretCache cache, ISecretLookup store, params string[] keys)
    {
        var lookup = cache.Wrap(store, Ws);
        var policies = await lookup.GetPoliciesAsync(keys, CancellationToken.None);
        var values = await lookup.DecryptAsync(policies.Values.ToList(), CancellationToken.None);
        return values.ToDictionary(v => v.Key, v => v.Value.Reveal(), StringComparer.Ordinal);
    }

    /// <summary>A store of (version, value) per key that counts its reads.</summary>
    private sealed class FakeLookup : ISecretLookup
    {
        private readonly Dictionary<string, (int Version, string Value, bool Revoked)> _secrets = new(StringComparer.Ordinal);

        public int PolicyReads { get; private set; }

        public int ValueReads { get; private set; }

        public List<string> LastPolicyKeys { get; private set; } = [];

        public List<string> LastValueKeys { get; private set; } = [];

        public Action? DuringPolicyRead { get; set; }

        public bool Tampered { get; set; }

        public void Set(string key, int version, string value, bool revoked = false) => _secrets[key] = (version, value, revoked);

        public void Remove(string key) => _secrets.Remove(key);

        public ValueTask<IReadOnlyDictionary<string, SecretPolicy>> GetPoliciesAsync(IReadOnlyCollection<string> keys, CancellationToken cancellationToken)
        {
            PolicyReads++;
            LastPolicyKeys = keys.ToList();
            var result = keys.Where(_secrets.ContainsKey).ToDictionary(
                k => k, k => new SecretPolicy(k, _secrets[k].Version, _secrets[k].Revoked, [], [], null), StringComparer.Ordinal);
            DuringPolicyRead?.Invoke();
            return ValueTask.FromResult<IReadOnlyDictionary<string, SecretPolicy>>(result);
        }

        public ValueTask<IReadOnlyDictionary<string, SecretValue>> DecryptAsync(IReadOnlyCollection<SecretPolicy> secrets, CancellationToken cancellationToken)
        {
            ValueReads++;
            LastValueKeys = secrets.Select(p => p.Key).ToList();
            if (Tampered)
            {
                throw new SecretIntegrityException(secrets.Select(p => p.Key).ToList());
            }

            var result = secrets.Where(p => _secrets.TryGetValue(p.Key, out var s) && s.Version == p.Version)
                .ToDictionary(p => p.Key, p => new SecretValue(_secrets[p.Key].Value), StringComparer.Ordinal);
            return ValueTask.FromResult<IReadOnlyDictionary<string, SecretValue>>(result);
        }
    }
}

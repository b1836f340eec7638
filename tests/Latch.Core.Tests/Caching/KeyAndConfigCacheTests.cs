using Latch.Core.Caching;
using Latch.Core.Storage;

namespace Latch.Core.Tests.Caching;

public sealed class KeyAndConfigCacheTests
{
    private static readonly byte[] Hash = [1, 2, 3, 4];

    [Fact]
    public async Task A_found_key_is_remembered_until_any_key_change_and_unknown_keys_are_not()
    {
        var changes = new StoreChanges();
        var cache = new ApiKeyCache(changes);
        var loads = 0;
        (ApiKeyRecord, byte[])? stored = (Key("key_1"), Hash);
        Task<(ApiKeyRecord, byte[])?> Load(byte[] hash, CancellationToken ct)
        {
            loads++;
            return Task.FromResult(stored);
        }

        Assert.NotNull(await cache.FindAsync(Hash, Load, CancellationToken.None));
        Assert.NotNull(await cache.FindAsync(Hash, Load, CancellationToken.None));
        Assert.Equal(1, loads);

        // Revoking any key (here another one of the workspace) drops every entry: the next request reads the store.
        stored = null;
        changes.Publish(new StoreChange("ws_a", StoreChangeKind.ApiKey, "key_2"));
        Assert.Null(await cache.FindAsync(Hash, Load, CancellationToken.None));
        Assert.Null(await cache.FindAsync(Hash, Load, CancellationToken.None));
        Assert.Equal(3, loads);
        Assert.Equal(0, cache.Count);
    }

    [Fact]
    public async Task Keys_are_not_cached_while_incoherent_or_when_a_change_raced_the_read()
    {
        var changes = new StoreChanges();
        var cache = new ApiKeyCache(changes);
        changes.SetCoherent(false);
        await cache.FindAsync(Hash, (_, _) => Task.FromResult<(ApiKeyRecord, byte[])?>((Key("key_1"), Hash)), CancellationToken.None);
        Assert.Equal(0, cache.Count);

        changes.SetCoherent(true);
        await cache.FindAsync(Hash, (_, _) =>
        {
            changes.Publish(new StoreChange("ws_a", StoreChangeKind.ApiKey, "key_1")); // revoked while we read
            return Task.FromResult<(ApiKeyRecord, byte[])?>((Key("key_1"), Hash));
        }, CancellationToken.None);
        Assert.Equal(0, cache.Count);
    }

    [Fact]
    public async Task A_configuration_is_parsed_once_per_change()
    {
        var changes = new StoreChanges();
        var cache = new ConfigCache(changes);
        var parses = 0;
        var body = "v1";
        Task<string?> Load(CancellationToken ct) => Task.FromResult<string?>(body);
        string Parse(string text)
        {
            parses++;
            return text;
        }

        Assert.Equal("v1", await cache.GetAsync("ws_a", "app", "", "x", Load, Parse, CancellationToken.None));
        Assert.Equal("v1", await cache.GetAsync("ws_a", "app", "", "x", Load, Parse, CancellationToken.None));
        Assert.Equal(1, parses);

        body = "v2";
        changes.Publish(new StoreChange("ws_a", StoreChangeKind.Config, "app/y")); // another document
        Assert.Equal("v1", await cache.GetAsync("ws_a", "app", "", "x", Load, Parse, CancellationToken.None));
        changes.Publish(new StoreChange("ws_a", StoreChangeKind.Config, ConfigCache.Name("app", "", "x")));
        Assert.Equal("v2", await cache.GetAsync("ws_a", "app", "", "x", Load, Parse, CancellationToken.None));

        body = null;
        changes.Publish(new StoreChange("ws_a", StoreChangeKind.Config, null)); // e.g. a product deleted with its apps
        Assert.Null(await cache.GetAsync<string>("ws_a", "app", "", "x", Load, Parse, CancellationToken.None));
        Assert.Equal(2, parses);
    }

    private static ApiKeyRecord Key(string id) => new(id, "ws_a", "k", "owner", [], [], null, false, DateTimeOffset.UnixEpoch);
}

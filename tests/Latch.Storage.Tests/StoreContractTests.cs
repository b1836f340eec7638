using System.Data.Common;
using System.Security.Cryptography;
using System.Text;
using Latch.Core.Storage;

namespace Latch.Storage.Tests;

/// <summary>
/// Latch's storage contract, written once and run against every <see cref="ILatchStore"/> (SQLite and PostgreSQL
/// subclasses supply the stores). Tests work in workspaces of their own, so they share one store per class; store-wide
/// behaviour (counts, meta, master-key rotation) gets a fresh store.
/// </summary>
public abstract class StoreContractTests
{
    private static readonly CancellationToken None = CancellationToken.None;

    /// <summary>A time with sub-microsecond ticks: stores must keep the full .NET precision (the audit chain hashes it).</summary>
    protected static readonly DateTimeOffset T0 = new DateTimeOffset(2026, 3, 4, 5, 6, 7, TimeSpan.Zero).AddTicks(1_234_567);

    /// <summary>Creates the tests over a fixture.</summary>
    protected StoreContractTests(IStoreFixture fixture) => Fixture = fixture;

    /// <summary>The stores under test.</summary>
    protected IStoreFixture Fixture { get; }

    /// <summary>The shared store.</summary>
    protected ILatchStore Store => Fixture.Shared;

    // ---------------------------------------------------------------- helpers

    /// <summary>A new workspace (with its owner key and <c>workspace.created</c> event) in <paramref name="store"/>; returns its id.</summary>
    protected static async Task<string> NewWorkspaceAsync(ILatchStore store, string? name = null, byte[]? wrappedKey = null)
    {
        var id = Ids.New("ws_");
        var owner = Key(id, "owner", T0);
        await store.CreateWorkspaceAsync(
            new Workspace(id, name ?? "w-" + id, T0), wrappedKey ?? RandomNumberGenerator.GetBytes(60), owner, Hash(owner.Id),
            [Event(id, "workspace.created"), Event(id, "key.created")], None);
        return id;
    }

    /// <summary>An API key record.</summary>
    protected static ApiKeyRecord Key(string workspaceId, string name, DateTimeOffset createdAt, string role = "owner") =>
        new(Ids.New("key_"), workspaceId, name, role, ["stripe_app", "shop:github"], ["dev", "prd"], null, false, createdAt);

    /// <summary>A stand-in for the SHA-256 of a key's text.</summary>
    protected static byte[] Hash(string text) => SHA256.HashData(Encoding.UTF8.GetBytes(text));

    /// <summary>An audit event.</summary>
    protected static AuditEvent Event(string workspaceId, string action, string? secret = null, DateTimeOffset? at = null, string? id = null) => new()
    {
        Id = id ?? Ids.New("ev_"),
        WorkspaceId = workspaceId,
        At = at ?? T0,
        Action = action,
        ActorKeyId = "key_actor",
        ActorName = "tester",
        RequestId = "req-1",
        Client = "127.0.0.1",
        SecretKey = secret,
        Version = secret is null ? null : 1,
    };

    /// <summary>A secret's metadata at version 1.</summary>
    protected static SecretRecord Secret(string key, string? description = null, IReadOnlyList<string>? scope = null, IReadOnlyList<string>? envs = null,
        long? expiresAt = null, bool revoked = false) =>
        new(key, description, "api_key", scope ?? [], envs ?? [], expiresAt, revoked, 1, T0, T0, null);

    /// <summary>A sealed value stand-in (the store never looks inside).</summary>
    protected static SealedValue Sealed(int generation = 1) => new(generation, RandomNumberGenerator.GetBytes(44));

    /// <summary>Creates a secret and asserts it was created.</summary>
    protected async Task<SealedValue> CreateSecretAsync(string workspaceId, SecretRecord secret, ILatchStore? store = null)
    {
        var value = Sealed();
        Assert.True(await (store ?? Store).CreateSecretAsync(workspaceId, secret, value, "tester", Event(workspaceId, "secret.created", secret.Key), None));
        return value;
    }

    /// <summary>Every audit event of a workspace in commit order.</summary>
    protected static async Task<List<AuditEvent>> ChainAsync(ILatchStore store, string workspaceId)
    {
        var events = new List<AuditEvent>();
        await foreach (var e in store.ReadAuditChainAsync(workspaceId, None))
        {
            events.Add(e);
        }

        return events;
    }

    /// <summary>Asserts the workspace's chain verifies, recomputing every hash, and returns its length.</summary>
    protected static async Task<long> AssertChainValidAsync(ILatchStore store, string workspaceId)
    {
        var (count, broken) = await AuditChain.VerifyAsync(store.ReadAuditChainAsync(workspaceId, None), None);
        Assert.Null(broken);
        var events = await ChainAsync(store, workspaceId);
        var previous = AuditChain.Genesis;
        foreach (var e in events)
        {
            Assert.Equal(previous, e.PrevHash);
            Assert.Equal(AuditChain.Compute(e), e.Hash);
            previous = e.Hash;
        }

        Assert.Equal(events.Select(e => e.Sequence).Order(), events.Select(e => e.Sequence));
        return count;
    }

    private static ConfigDocument Config(string kind, string parent, string name, string body = """{"a":1}""") => new(kind, parent, name, body, T0, T0);

    private static WebhookDelivery Delivery(string product, string webhook, DateTimeOffset at, string body = "{}") =>
        new(0, Ids.New("dl_"), product, webhook, "prd", at, """{"Content-Type":"application/json"}""", Encoding.UTF8.GetBytes(body));

    // ---------------------------------------------------------------- meta, workspaces, data keys

    [Fact]
    public async Task Meta_is_written_only_when_absent()
    {
        var store = await Fixture.OpenFreshAsync();
        Assert.Null(await store.GetMetaAsync("master_key_check", None));
        await store.SetMetaIfAbsentAsync("master_key_check", [1, 2, 3], None);
        await store.SetMetaIfAbsentAsync("master_key_check", [9, 9], None);
        Assert.Equal([1, 2, 3], await store.GetMetaAsync("master_key_check", None));
    }

    [Fact]
    public async Task Api_keys_are_counted_across_every_workspace()
    {
        var store = await Fixture.OpenFreshAsync();
        Assert.Equal(0, await store.CountApiKeysAsync(None));
        var a = await NewWorkspaceAsync(store);
        await NewWorkspaceAsync(store);
        var key = Key(a, "ci", T0);
        await store.CreateApiKeyAsync(key, Hash(key.Id), Event(a, "key.created"), None);
        Assert.Equal(3, await store.CountApiKeysAsync(None));
    }

    [Fact]
    public async Task A_created_workspace_is_found_by_id_and_name_with_its_owner_key_and_first_data_key()
    {
        var wrapped = RandomNumberGenerator.GetBytes(60);
        var id = await NewWorkspaceAsync(Store, wrappedKey: wrapped);
        var workspace = await Store.GetWorkspaceAsync(id, None);
        Assert.Equal(new Workspace(id, "w-" + id, T0), workspace);
        Assert.Equal(workspace, await Store.GetWorkspaceByNameAsync("w-" + id, None));
        Assert.Null(await Store.GetWorkspaceAsync("ws_missing", None));
        Assert.Null(await Store.GetWorkspaceByNameAsync("missing", None));

        var keys = await Store.ListDataKeysAsync(id, None);
        var key = Assert.Single(keys);
        Assert.Equal(new DataKeyRecord(id, 1, key.WrappedKey, 0, T0, null), key);
        Assert.Equal(wrapped, key.WrappedKey);
        var owner = Assert.Single(await Store.ListApiKeysAsync(id, None));
        Assert.Equal("owner", owner.Name);
        Assert.Equal(["workspace.created", "key.created"], (await ChainAsync(Store, id)).Select(e => e.Action));
    }

    [Fact]
    public async Task Workspace_names_are_unique_and_a_refused_workspace_leaves_nothing_behind()
    {
        var name = "dup-" + Ids.New("");
        await NewWorkspaceAsync(Store, name);
        var id = Ids.New("ws_");
        var owner = Key(id, "owner", T0);
        await Assert.ThrowsAnyAsync<DbException>(() => Store.CreateWorkspaceAsync(
            new Workspace(id, name, T0), [1], owner, Hash(owner.Id), [Event(id, "workspace.created")], None));
        Assert.Null(await Store.GetWorkspaceAsync(id, None));
        Assert.Null(await Store.FindApiKeyAsync(Hash(owner.Id), None));
        Assert.Empty(await ChainAsync(Store, id));
        Assert.Empty(await Store.ListDataKeysAsync(id, None));
    }

    [Fact]
    public async Task Data_keys_are_listed_for_one_or_every_workspace_in_order()
    {
        var store = await Fixture.OpenFreshAsync();
        var a = await NewWorkspaceAsync(store);
        var b = await NewWorkspaceAsync(store);
        Assert.True(await store.AddDataKeyAsync(a, 2, [7, 7], T0.AddDays(1), Event(a, "workspace.data_key_rotated"), None));
        var all = await store.ListDataKeysAsync(null, None);
        Assert.Equal(
            new[] { (a, 1), (a, 2), (b, 1) }.OrderBy(x => x.Item1, StringComparer.Ordinal).ThenBy(x => x.Item2),
            all.Select(k => (k.WorkspaceId, k.Generation)));
        Assert.Equal(2, (await store.ListDataKeysAsync(a, None)).Count);
    }

    [Fact]
    public async Task Encryptions_are_reserved_up_to_the_limit_and_a_new_generation_retires_the_old_one()
    {
        var ws = await NewWorkspaceAsync(Store);
        Assert.Equal(60, await Store.ReserveEncryptionsAsync(ws, 1, 60, 100, None));
        Assert.Equal(40, await Store.ReserveEncryptionsAsync(ws, 1, 60, 100, None));
        Assert.Equal(0, await Store.ReserveEncryptionsAsync(ws, 1, 1, 100, None));
        Assert.Equal(0, await Store.ReserveEncryptionsAsync(ws, 9, 1, 100, None));
        Assert.Equal(100, (await Store.ListDataKeysAsync(ws, None))[0].EncryptionsReserved);

        Assert.False(await Store.AddDataKeyAsync(ws, 3, [3], T0.AddHours(1), Event(ws, "workspace.data_key_rotated"), None));
        Assert.True(await Store.AddDataKeyAsync(ws, 2, [2], T0.AddHours(1), Event(ws, "workspace.data_key_rotated"), None));
        Assert.False(await Store.AddDataKeyAsync(ws, 2, [2], T0.AddHours(2), Event(ws, "workspace.data_key_rotated"), None));
        var keys = await Store.ListDataKeysAsync(ws, None);
        Assert.Equal(T0.AddHours(1), keys[0].RetiredAt);
        Assert.Null(keys[1].RetiredAt);
        Assert.Equal([2], keys[1].WrappedKey);
        Assert.Equal(0, await Store.ReserveEncryptionsAsync(ws, 1, 1, 1000, None));
        Assert.Equal(5, await Store.ReserveEncryptionsAsync(ws, 2, 5, 1000, None));
        Assert.False(await Store.AddDataKeyAsync(Ids.New("ws_"), 2, [2], T0, Event(ws, "workspace.data_key_rotated"), None));
        // Only the successful rotation was audited.
        Assert.Single(await ChainAsync(Store, ws), e => e.Action == "workspace.data_key_rotated");
    }

    [Fact]
    public async Task Concurrent_reservations_never_grant_more_than_the_limit()
    {
        var ws = await NewWorkspaceAsync(Store);
        var grants = await Task.WhenAll(Enumerable.Range(0, 16).Select(_ => Task.Run(() => Store.ReserveEncryptionsAsync(ws, 1, 7, 50, None))));
        Assert.Equal(50, grants.Sum());
        Assert.Equal(50, (await Store.ListDataKeysAsync(ws, None))[0].EncryptionsReserved);
    }

    // ---------------------------------------------------------------- api keys

    [Fact]
    public async Task Api_keys_are_found_by_hash_listed_in_creation_order_and_revoked_once()
    {
        var ws = await NewWorkspaceAsync(Store);
        var other = await NewWorkspaceAsync(Store);
        var first = Key(ws, "ci", T0.AddMinutes(1), "editor") with { ExpiresAt = 1_900_000_000, Apps = [], Envs = ["dev"] };
        var second = Key(ws, "viewer", T0.AddMinutes(2), "viewer");
        await Store.CreateApiKeyAsync(second, Hash(second.Id), Event(ws, "key.created"), None);
        await Store.CreateApiKeyAsync(first, Hash(first.Id), Event(ws, "key.created"), None);

        var found = await Store.FindApiKeyAsync(Hash(first.Id), None);
        Assert.NotNull(found);
        AssertKey(first, found.Value.Key);
        Assert.Equal(Hash(first.Id), found.Value.Hash);
        Assert.Null(await Store.FindApiKeyAsync(Hash("unknown"), None));

        Assert.Equal(["owner", "ci", "viewer"], (await Store.ListApiKeysAsync(ws, None)).Select(k => k.Name));
        Assert.False(await Store.RevokeApiKeyAsync(other, first.Id, T0.AddHours(1), Event(other, "key.revoked"), None));
        Assert.True(await Store.RevokeApiKeyAsync(ws, first.Id, T0.AddHours(1), Event(ws, "key.revoked"), None));
        Assert.False(await Store.RevokeApiKeyAsync(ws, first.Id, T0.AddHours(2), Event(ws, "key.revoked"), None));
        Assert.Null(await Store.FindApiKeyAsync(Hash(first.Id), None));
        Assert.Equal(["owner", "viewer"], (await Store.ListApiKeysAsync(ws, None)).Select(k => k.Name));
        Assert.Single(await ChainAsync(Store, ws), e => e.Action == "key.revoked");
        Assert.DoesNotContain(await ChainAsync(Store, other), e => e.Action == "key.revoked");
    }

    private static void AssertKey(ApiKeyRecord expected, ApiKeyRecord actual)
    {
        Assert.Equal(expected with { Apps = [], Envs = [] }, actual with { Apps = [], Envs = [] });
        Assert.Equal(expected.Apps, actual.Apps);
        Assert.Equal(expected.Envs, actual.Envs);
    }

    // ---------------------------------------------------------------- secrets

    private static void AssertSecret(SecretRecord expected, SecretRecord? actual)
    {
        Assert.NotNull(actual);
        Assert.Equal(expected with { Scope = [], Envs = [] }, actual with { Scope = [], Envs = [] });
        Assert.Equal(expected.Scope, actual.Scope);
        Assert.Equal(expected.Envs, actual.Envs);
    }

    [Fact]
    public async Task A_secret_is_created_once_and_read_back_exactly()
    {
        var ws = await NewWorkspaceAsync(Store);
        var secret = Secret("STRIPE_KEY", "Stripe test key", ["stripe_app"], ["dev", "prd"], 1_900_000_000);
        var value = await CreateSecretAsync(ws, secret);
        AssertSecret(secret, await Store.GetSecretAsync(ws, "STRIPE_KEY", None));

        Assert.False(await Store.CreateSecretAsync(ws, secret with { Description = "other" }, Sealed(), "x", Event(ws, "secret.created", "STRIPE_KEY"), None));
        AssertSecret(secret, await Store.GetSecretAsync(ws, "STRIPE_KEY", None));
        var stored = await Store.GetSealedValueAsync(ws, "STRIPE_KEY", 1, None);
        Assert.Equal(value.Bytes, stored!.Bytes);
        Assert.Single(await ChainAsync(Store, ws), e => e.Action == "secret.created");
        Assert.Null(await Store.GetSecretAsync(ws, "MISSING", None));
        Assert.Null(await Store.GetSecretAsync(await NewWorkspaceAsync(Store), "STRIPE_KEY", None));
    }

    [Fact]
    public async Task Secrets_are_fetched_in_bulk_by_key()
    {
        var ws = await NewWorkspaceAsync(Store);
        foreach (var key in new[] { "A", "B", "C" })
        {
            await CreateSecretAsync(ws, Secret(key));
        }

        Assert.Equal(["A", "C"], (await Store.GetSecretsAsync(ws, ["C", "A", "NOPE"], None)).Select(s => s.Key).Order(StringComparer.Ordinal));
        Assert.Empty(await Store.GetSecretsAsync(ws, [], None));
    }

    [Fact]
    public async Task Secrets_are_listed_in_code_point_order_with_cursor_paging()
    {
        var ws = await NewWorkspaceAsync(Store);
        var keys = new[] { "b_key", "A_KEY", "Z", "_UNDER", "B_KEY", "a1" };
        foreach (var key in keys)
        {
            await CreateSecretAsync(ws, Secret(key));
        }

        var expected = keys.Order(StringComparer.Ordinal).ToList();
        var seen = new List<string>();
        string? after = null;
        while (true)
        {
            var page = await Store.ListSecretsAsync(ws, new SecretQuery(AfterKey: after, Limit: 4), T0, None);
            seen.AddRange(page.Select(s => s.Key));
            if (page.Count < 4)
            {
                break;
            }

            after = page[^1].Key;
        }

        Assert.Equal(expected, seen);
    }

    [Fact]
    public async Task Random_mixed_case_keys_page_in_ordinal_order_at_every_page_size()
    {
        var ws = await NewWorkspaceAsync(Store);
        const string alphabet = "ABCXYZabcxyz019_";
        var keys = Enumerable.Range(0, 40).Select(_ => RandomNumberGenerator.GetString(alphabet, 1 + RandomNumberGenerator.GetInt32(6))).Distinct().ToList();
        foreach (var key in keys)
        {
            await CreateSecretAsync(ws, Secret(key));
        }

        var expected = keys.Order(StringComparer.Ordinal).ToList();
        Assert.Equal(expected, (await Store.GetSecretsAsync(ws, keys, None)).Select(s => s.Key).Order(StringComparer.Ordinal));
        foreach (var size in new[] { 1, 3, 7, 500 })
        {
            var seen = new List<string>();
            string? after = null;
            while (true)
            {
                var page = await Store.ListSecretsAsync(ws, new SecretQuery(AfterKey: after, Limit: size), T0, None);
                seen.AddRange(page.Select(s => s.Key));
                if (page.Count < size)
                {
                    break;
                }

                after = page[^1].Key;
            }

            Assert.Equal(expected, seen);
        }
    }

    [Fact]
    public async Task Secret_listing_filters_by_app_env_status_expiry_and_search()
    {
        var ws = await NewWorkspaceAsync(Store);
        var now = DateTimeOffset.FromUnixTimeSeconds(1_800_000_000);
        var t = now.ToUnixTimeSeconds();
        await CreateSecretAsync(ws, Secret("ANY_APP"));
        await CreateSecretAsync(ws, Secret("STRIPE", "Payments", scope: ["stripe_app"], envs: ["prd"]));
        await CreateSecretAsync(ws, Secret("QUALIFIED", scope: ["shop:stripe_app"], envs: ["dev"]));
        await CreateSecretAsync(ws, Secret("OTHER_APP", scope: ["github_app", "xstripe_app"]));
        await CreateSecretAsync(ws, Secret("EXPIRED", expiresAt: t - 1));
        await CreateSecretAsync(ws, Secret("SOON", "expires SOON", expiresAt: t + 3600));
        await CreateSecretAsync(ws, Secret("LATER", expiresAt: t + 90 * 86400));
        await CreateSecretAsync(ws, Secret("GONE", revoked: true, expiresAt: t + 60));

        async Task<string[]> Keys(SecretQuery q) => (await Store.ListSecretsAsync(ws, q, now, None)).Select(s => s.Key).ToArray();

        Assert.Equal(["ANY_APP", "EXPIRED", "GONE", "LATER", "QUALIFIED", "SOON", "STRIPE"], await Keys(new(App: "stripe_app")));
        Assert.Equal(["ANY_APP", "EXPIRED", "GONE", "LATER", "OTHER_APP", "SOON", "STRIPE"], await Keys(new(Env: "prd")));
        Assert.Equal(["GONE"], await Keys(new(Status: SecretStatus.Revoked)));
        Assert.Equal(["EXPIRED"], await Keys(new(Status: SecretStatus.Expired)));
        Assert.Equal(["ANY_APP", "LATER", "OTHER_APP", "QUALIFIED", "SOON", "STRIPE"], await Keys(new(Status: SecretStatus.Active)));
        Assert.Equal(["SOON"], await Keys(new(ExpiringWithinSeconds: 7 * 86400)));
        Assert.Equal(["SOON"], await Keys(new(Search: "soon")));
        Assert.Equal(["STRIPE"], await Keys(new(Search: "PAYMENT")));
        Assert.Equal(["ANY_APP", "OTHER_APP"], await Keys(new(Search: "_app")));
        Assert.Equal(["QUALIFIED"], await Keys(new(App: "stripe_app", Env: "dev", Status: SecretStatus.Active, Search: "quali")));
        Assert.Equal(["ANY_APP", "EXPIRED"], await Keys(new(Limit: 2)));
    }

    [Fact]
    public async Task Updates_add_versions_and_every_version_keeps_its_sealed_value_and_generation()
    {
        var ws = await NewWorkspaceAsync(Store);
        var v1 = await CreateSecretAsync(ws, Secret("K"));
        var v2 = Sealed(generation: 2);
        var updated = Secret("K", "rotated") with { Version = 2, UpdatedAt = T0.AddMinutes(5) };
        Assert.Equal(UpdateResult.Updated, await Store.UpdateSecretAsync(ws, updated, 1, v2, "rotator", Event(ws, "secret.updated", "K"), None));
        AssertSecret(updated, await Store.GetSecretAsync(ws, "K", None));

        var versions = await Store.ListVersionsAsync(ws, "K", None);
        Assert.Equal([new SecretVersionInfo(2, T0.AddMinutes(5), "rotator"), new SecretVersionInfo(1, T0, "tester")], versions);
        var one = await Store.GetSealedValueAsync(ws, "K", 1, None);
        Assert.Equal(1, one!.KeyGeneration);
        Assert.Equal(v1.Bytes, one.Bytes);
        Assert.Null(await Store.GetSealedValueAsync(ws, "K", 3, None));

        var many = await Store.GetSealedValuesAsync(ws, [("K", 2), ("NOPE", 1), ("K", 9)], None);
        var only = Assert.Single(many);
        Assert.Equal(("K", 2), (only.Key, only.Value.KeyGeneration));
        Assert.Equal(v2.Bytes, only.Value.Bytes);
        Assert.Empty(await Store.GetSealedValuesAsync(ws, [], None));
    }

    [Fact]
    public async Task An_update_from_a_stale_version_conflicts_and_one_of_a_missing_secret_is_not_found()
    {
        var ws = await NewWorkspaceAsync(Store);
        await CreateSecretAsync(ws, Secret("K"));
        Assert.Equal(UpdateResult.Updated, await Store.UpdateSecretAsync(ws, Secret("K", "meta only"), 1, null, null, Event(ws, "secret.updated", "K"), None));
        Assert.Equal(UpdateResult.Updated, await Store.UpdateSecretAsync(ws, Secret("K") with { Version = 2 }, 1, Sealed(), null, Event(ws, "secret.updated", "K"), None));
        Assert.Equal(UpdateResult.VersionConflict, await Store.UpdateSecretAsync(ws, Secret("K") with { Version = 2 }, 1, Sealed(), null, Event(ws, "secret.updated", "K"), None));
        Assert.Equal(UpdateResult.NotFound, await Store.UpdateSecretAsync(ws, Secret("NOPE"), 1, null, null, Event(ws, "secret.updated", "NOPE"), None));
        Assert.Equal([2, 1], (await Store.ListVersionsAsync(ws, "K", None)).Select(v => v.Version));
        Assert.Equal(2, (await ChainAsync(Store, ws)).Count(e => e.Action == "secret.updated"));
    }

    [Fact]
    public async Task A_metadata_change_based_on_a_stale_read_conflicts_so_a_revocation_cannot_be_undone()
    {
        var ws = await NewWorkspaceAsync(Store);
        await CreateSecretAsync(ws, Secret("K"));
        var read = await Store.GetSecretAsync(ws, "K", None);
        Assert.Equal(T0, read!.UpdatedAt);

        // Two writers read the same row; the first revokes it (same version, later updated_at).
        var revoked = Secret("K", revoked: true) with { UpdatedAt = T0.AddSeconds(1) };
        Assert.Equal(UpdateResult.Updated, await Store.UpdateSecretAsync(ws, revoked, 1, null, null, Event(ws, "secret.revoked", "K"), None, expectedUpdatedAt: read.UpdatedAt));

        // The second, still holding revoked = false from its read, must not overwrite it.
        var stale = Secret("K", "new description") with { UpdatedAt = T0.AddSeconds(2) };
        Assert.Equal(UpdateResult.VersionConflict, await Store.UpdateSecretAsync(ws, stale, 1, null, null, Event(ws, "secret.updated", "K"), None, expectedUpdatedAt: read.UpdatedAt));
        var stored = await Store.GetSecretAsync(ws, "K", None);
        Assert.True(stored!.Revoked);
        Assert.Equal(T0.AddSeconds(1), stored.UpdatedAt);

        // Re-read and re-applied, it goes through and keeps the revocation.
        Assert.Equal(UpdateResult.Updated, await Store.UpdateSecretAsync(ws, stale with { Revoked = true }, 1, null, null, Event(ws, "secret.updated", "K"), None, expectedUpdatedAt: stored.UpdatedAt));
        Assert.True((await Store.GetSecretAsync(ws, "K", None))!.Revoked);
        Assert.Equal(2, (await ChainAsync(Store, ws)).Count(e => e.Action is "secret.updated" or "secret.revoked"));
    }

    [Fact]
    public async Task Deleting_a_secret_removes_every_version_and_the_key_starts_again_at_one()
    {
        var ws = await NewWorkspaceAsync(Store);
        await CreateSecretAsync(ws, Secret("K"));
        await Store.UpdateSecretAsync(ws, Secret("K") with { Version = 2 }, 1, Sealed(), null, Event(ws, "secret.updated", "K"), None);
        Assert.True(await Store.DeleteSecretAsync(ws, "K", Event(ws, "secret.deleted", "K"), None));
        Assert.False(await Store.DeleteSecretAsync(ws, "K", Event(ws, "secret.deleted", "K"), None));
        Assert.Null(await Store.GetSecretAsync(ws, "K", None));
        Assert.Empty(await Store.ListVersionsAsync(ws, "K", None));
        Assert.Null(await Store.GetSealedValueAsync(ws, "K", 2, None));
        await CreateSecretAsync(ws, Secret("K"));
        Assert.Equal([1], (await Store.ListVersionsAsync(ws, "K", None)).Select(v => v.Version));
        Assert.Single(await ChainAsync(Store, ws), e => e.Action == "secret.deleted");
    }

    // ---------------------------------------------------------------- configs, deliveries, rejections

    [Fact]
    public async Task Configs_honour_create_and_replace_modes_and_list_by_parent_then_name()
    {
        var ws = await NewWorkspaceAsync(Store);
        Assert.True(await Store.PutConfigAsync(ws, Config(ConfigKinds.Product, "", "shop"), PutMode.Create, Event(ws, "product.changed"), None));
        Assert.False(await Store.PutConfigAsync(ws, Config(ConfigKinds.Product, "", "shop", "{}"), PutMode.Create, Event(ws, "product.changed"), None));
        Assert.False(await Store.PutConfigAsync(ws, Config(ConfigKinds.Product, "", "nope"), PutMode.Replace, Event(ws, "product.changed"), None));
        var replaced = new ConfigDocument(ConfigKinds.Product, "", "shop", """{"b":2}""", T0.AddDays(9), T0.AddDays(1));
        Assert.True(await Store.PutConfigAsync(ws, replaced, PutMode.Replace, Event(ws, "product.changed"), None));
        Assert.Equal(replaced with { CreatedAt = T0 }, await Store.GetConfigAsync(ws, ConfigKinds.Product, "", "shop", None));
        Assert.Null(await Store.GetConfigAsync(ws, ConfigKinds.App, "", "shop", None));

        foreach (var (parent, name) in new[] { ("shop", "b"), ("blog", "z"), ("shop", "a"), ("blog", "a") })
        {
            Assert.True(await Store.PutConfigAsync(ws, Config(ConfigKinds.ProductApp, parent, name), PutMode.Create, Event(ws, "product.changed"), None));
        }

        Assert.Equal(["blog/a", "blog/z", "shop/a", "shop/b"], (await Store.ListConfigsAsync(ws, ConfigKinds.ProductApp, null, None)).Select(d => d.Parent + "/" + d.Name));
        Assert.Equal(["shop/a", "shop/b"], (await Store.ListConfigsAsync(ws, ConfigKinds.ProductApp, "shop", None)).Select(d => d.Parent + "/" + d.Name));
        Assert.Equal(6, (await ChainAsync(Store, ws)).Count(e => e.Action == "product.changed"));
    }

    [Fact]
    public async Task Deleting_a_config_with_cascade_removes_its_children_deliveries_and_rejections()
    {
        var ws = await NewWorkspaceAsync(Store);
        await Store.PutConfigAsync(ws, Config(ConfigKinds.Product, "", "shop"), PutMode.Create, Event(ws, "product.changed"), None);
        await Store.PutConfigAsync(ws, Config(ConfigKinds.ProductApp, "shop", "stripe_app"), PutMode.Create, Event(ws, "product.changed"), None);
        await Store.PutConfigAsync(ws, Config(ConfigKinds.Webhook, "shop", "gh"), PutMode.Create, Event(ws, "product.changed"), None);
        await Store.PutConfigAsync(ws, Config(ConfigKinds.Webhook, "blog", "gh"), PutMode.Create, Event(ws, "product.changed"), None);
        await Store.AddDeliveryAsync(ws, Delivery("shop", "gh", T0), ["k1"], T0.AddDays(-1), Event(ws, "webhook.verified"), None);
        await Store.AddDeliveryAsync(ws, Delivery("blog", "gh", T0), ["k1"], T0.AddDays(-1), Event(ws, "webhook.verified"), None);
        await Store.AddRejectionAsync(ws, "shop", "gh", "signature_mismatch", T0, Event(ws, "webhook.rejected"), None);

        Assert.False(await Store.DeleteConfigAsync(ws, ConfigKinds.Product, "", "nope", true, Event(ws, "product.changed"), None));
        Assert.True(await Store.DeleteConfigAsync(ws, ConfigKinds.Product, "", "shop", true, Event(ws, "product.changed"), None));
        Assert.Null(await Store.GetConfigAsync(ws, ConfigKinds.Product, "", "shop", None));
        Assert.Empty(await Store.ListConfigsAsync(ws, ConfigKinds.ProductApp, "shop", None));
        Assert.Equal(["blog"], (await Store.ListConfigsAsync(ws, ConfigKinds.Webhook, null, None)).Select(d => d.Parent));
        Assert.Empty(await Store.ListDeliveriesAsync(ws, "shop", "gh", null, 50, None));
        Assert.Equal((0L, (DateTimeOffset?)null, (string?)null), await Store.GetRejectionsAsync(ws, "shop", "gh", None));
        Assert.Single(await Store.ListDeliveriesAsync(ws, "blog", "gh", null, 50, None));
        // The replay keys went with the product: the same delivery id is accepted again.
        Assert.True(await Store.AddDeliveryAsync(ws, Delivery("shop", "gh", T0), ["k1"], T0.AddDays(-1), Event(ws, "webhook.verified"), None));
    }

    [Fact]
    public async Task Deleting_a_webhook_without_cascade_removes_only_its_own_deliveries()
    {
        var ws = await NewWorkspaceAsync(Store);
        await Store.PutConfigAsync(ws, Config(ConfigKinds.Webhook, "shop", "gh"), PutMode.Create, Event(ws, "product.changed"), None);
        await Store.PutConfigAsync(ws, Config(ConfigKinds.Webhook, "shop", "stripe"), PutMode.Create, Event(ws, "product.changed"), None);
        await Store.AddDeliveryAsync(ws, Delivery("shop", "gh", T0), [], T0, Event(ws, "webhook.verified"), None);
        await Store.AddDeliveryAsync(ws, Delivery("shop", "stripe", T0), [], T0, Event(ws, "webhook.verified"), None);
        await Store.AddRejectionAsync(ws, "shop", "gh", "signature_missing", T0, Event(ws, "webhook.rejected"), None);
        Assert.True(await Store.DeleteConfigAsync(ws, ConfigKinds.Webhook, "shop", "gh", false, Event(ws, "product.changed"), None));
        Assert.Empty(await Store.ListDeliveriesAsync(ws, "shop", "gh", null, 50, None));
        Assert.Equal(0, (await Store.GetRejectionsAsync(ws, "shop", "gh", None)).Count);
        Assert.Single(await Store.ListDeliveriesAsync(ws, "shop", "stripe", null, 50, None));
        Assert.NotNull(await Store.GetConfigAsync(ws, ConfigKinds.Webhook, "shop", "stripe", None));
    }

    [Fact]
    public async Task Deliveries_are_listed_newest_first_with_a_sequence_cursor_and_round_trip_exactly()
    {
        var ws = await NewWorkspaceAsync(Store);
        var sent = new List<WebhookDelivery>();
        for (var i = 0; i < 5; i++)
        {
            var delivery = Delivery("shop", "gh", T0.AddSeconds(i), $$"""{"n":{{i}},"text":"é€"}""");
            sent.Add(delivery);
            Assert.True(await Store.AddDeliveryAsync(ws, delivery, [], T0, Event(ws, "webhook.verified"), None));
        }

        var first = await Store.ListDeliveriesAsync(ws, "shop", "gh", null, 3, None);
        Assert.Equal(sent.AsEnumerable().Reverse().Take(3).Select(d => d.Id), first.Select(d => d.Id));
        Assert.True(first[0].Sequence > first[1].Sequence);
        var rest = await Store.ListDeliveriesAsync(ws, "shop", "gh", first[^1].Sequence, 3, None);
        Assert.Equal(sent.Take(2).Reverse().Select(d => d.Id), rest.Select(d => d.Id));
        var newest = first[0];
        Assert.Equal(sent[4] with { Sequence = newest.Sequence, Body = newest.Body }, newest);
        Assert.Equal(sent[4].Body, newest.Body);
        Assert.Empty(await Store.ListDeliveriesAsync(ws, "shop", "other", null, 3, None));
    }

    [Fact]
    public async Task A_replayed_delivery_id_is_refused_until_it_is_pruned()
    {
        var ws = await NewWorkspaceAsync(Store);
        Assert.True(await Store.AddDeliveryAsync(ws, Delivery("shop", "gh", T0), ["id-1", "id-1b"], T0.AddDays(-1), Event(ws, "webhook.verified"), None));
        Assert.False(await Store.AddDeliveryAsync(ws, Delivery("shop", "gh", T0.AddMinutes(1)), ["id-2", "id-1b"], T0.AddDays(-1), Event(ws, "webhook.verified"), None));
        // Another webhook has its own ids.
        Assert.True(await Store.AddDeliveryAsync(ws, Delivery("shop", "stripe", T0), ["id-1"], T0.AddDays(-1), Event(ws, "webhook.verified"), None));
        Assert.Single(await Store.ListDeliveriesAsync(ws, "shop", "gh", null, 50, None));
        Assert.Equal(2, (await ChainAsync(Store, ws)).Count(e => e.Action == "webhook.verified"));
        // id-2 was not recorded by the refused delivery; once the retention passes, id-1 is accepted again.
        Assert.True(await Store.AddDeliveryAsync(ws, Delivery("shop", "gh", T0.AddMinutes(2)), ["id-2"], T0.AddDays(-1), Event(ws, "webhook.verified"), None));
        Assert.True(await Store.AddDeliveryAsync(ws, Delivery("shop", "gh", T0.AddDays(2)), ["id-1"], T0.AddDays(1), Event(ws, "webhook.verified"), None));
    }

    [Fact]
    public async Task Rejections_are_counted_with_the_last_time_and_reason()
    {
        var ws = await NewWorkspaceAsync(Store);
        Assert.Equal((0L, (DateTimeOffset?)null, (string?)null), await Store.GetRejectionsAsync(ws, "shop", "gh", None));
        await Store.AddRejectionAsync(ws, "shop", "gh", "signature_missing", T0, Event(ws, "webhook.rejected"), None);
        await Store.AddRejectionAsync(ws, "shop", "gh", "timestamp_stale", T0.AddMinutes(1), Event(ws, "webhook.rejected"), None);
        Assert.Equal((2L, (DateTimeOffset?)T0.AddMinutes(1), (string?)"timestamp_stale"), await Store.GetRejectionsAsync(ws, "shop", "gh", None));
        Assert.Equal(2, (await ChainAsync(Store, ws)).Count(e => e.Action == "webhook.rejected"));
    }

    // ---------------------------------------------------------------- audit

    [Fact]
    public async Task Audit_queries_filter_page_newest_first_and_follow_oldest_first()
    {
        var ws = await NewWorkspaceAsync(Store);
        var b = T0.AddHours(1);
        var events = Enumerable.Range(0, 12).Select(i => Event(ws, i % 3 == 0 ? "secret.revealed" : "secret.resolved", i % 2 == 0 ? "A" : "B", b.AddMinutes(i)) with
        {
            App = i % 4 == 0 ? "stripe_app" : "github_app",
            Env = i < 6 ? "dev" : "prd",
            Product = "shop",
            Context = "resolve",
            Path = "$.k",
            Code = null,
            Detail = "n" + i,
        }).ToList();
        await Store.AppendAuditAsync(events, None);

        var all = await Store.QueryAuditAsync(ws, new AuditQuery(Since: b), None);
        Assert.Equal(events.Select(e => e.Id).Reverse(), all.Select(e => e.Id));
        var stored = all[^1];
        Assert.Equal(events[0] with { PrevHash = stored.PrevHash, Hash = stored.Hash, Sequence = stored.Sequence }, stored);

        async Task<string[]> Details(AuditQuery q) => (await Store.QueryAuditAsync(ws, q, None)).Select(e => e.Detail!).ToArray();
        Assert.Equal(["n10", "n8", "n6", "n4", "n2", "n0"], await Details(new(Secret: "A", Since: b)));
        Assert.Equal(["n8", "n4", "n0"], await Details(new(App: "stripe_app")));
        Assert.Equal(["n5", "n4", "n3", "n2", "n1", "n0"], await Details(new(Env: "dev", Since: b)));
        Assert.Equal(["n9", "n6", "n3", "n0"], await Details(new(Action: "secret.revealed")));
        Assert.Equal(["n4", "n3"], await Details(new(Since: b.AddMinutes(3), Until: b.AddMinutes(5))));
        Assert.Equal(["n11", "n10", "n9"], await Details(new(Since: b, Limit: 3)));
        Assert.Equal(["n7", "n6"], await Details(new(BeforeSequence: all[3].Sequence, Limit: 2)));
        Assert.Equal(["n3", "n4", "n5"], await Details(new(AfterSequence: all[^3].Sequence, Limit: 3)));
        Assert.Empty(await Store.QueryAuditAsync(await NewWorkspaceAsync(Store), new AuditQuery(Action: "secret.resolved"), None));
    }

    [Fact]
    public async Task The_audit_chain_links_every_event_in_commit_order_and_verifies()
    {
        var ws = await NewWorkspaceAsync(Store);
        var other = await NewWorkspaceAsync(Store);
        await CreateSecretAsync(ws, Secret("K"));
        await Store.AppendAuditAsync([Event(ws, "secret.resolved", "K"), Event(other, "secret.resolved"), Event(ws, "secret.revealed", "K")], None);
        await Store.DeleteSecretAsync(ws, "K", Event(ws, "secret.deleted", "K"), None);

        Assert.Equal(6, await AssertChainValidAsync(Store, ws));
        Assert.Equal(3, await AssertChainValidAsync(Store, other));
        var chain = await ChainAsync(Store, ws);
        Assert.Equal(AuditChain.Genesis, chain[0].PrevHash);
        Assert.Equal(["workspace.created", "key.created", "secret.created", "secret.resolved", "secret.revealed", "secret.deleted"], chain.Select(e => e.Action));
    }

    [Fact]
    public async Task Resolutions_stamp_last_use_and_group_into_recent_uses()
    {
        var ws = await NewWorkspaceAsync(Store);
        await CreateSecretAsync(ws, Secret("K"));
        await CreateSecretAsync(ws, Secret("UNUSED"));
        AuditEvent Use(string app, string env, int minute) => Event(ws, "secret.resolved", "K", T0.AddMinutes(minute)) with { Product = "shop", App = app, Env = env, Context = "resolve" };
        await Store.AppendAuditAsync([Use("stripe_app", "dev", 1), Use("stripe_app", "dev", 3), Use("github_app", "prd", 2)], None);
        await Store.AppendAuditAsync([Use("github_app", "prd", 5), Event(ws, "secret.denied", "K", T0.AddMinutes(9))], None);

        Assert.Equal(T0.AddMinutes(5), (await Store.GetSecretAsync(ws, "K", None))!.LastUsedAt);
        Assert.Null((await Store.GetSecretAsync(ws, "UNUSED", None))!.LastUsedAt);
        Assert.Equal(
            [new RecentUse("shop", "github_app", "prd", "resolve", 2, T0.AddMinutes(5)), new RecentUse("shop", "stripe_app", "dev", "resolve", 2, T0.AddMinutes(3))],
            await Store.GetRecentUsesAsync(ws, "K", None));
        Assert.Empty(await Store.GetRecentUsesAsync(ws, "UNUSED", None));
    }

    /// <summary>
    /// Two resolutions (25 and 6 references, from two requests) committed in one call, between single events — as the
    /// audit writer group-commits them. Whatever the store does with them (SQLite keeps each resolution in one row), every
    /// reference reads back as its own event: its id, secret, version, path, a sequence number of its own, a chain link.
    /// </summary>
    [Fact]
    public async Task Every_reference_of_a_resolution_reads_back_as_its_own_event_and_pages_exactly()
    {
        var ws = await NewWorkspaceAsync(Store);
        await CreateSecretAsync(ws, Secret("A"));
        await CreateSecretAsync(ws, Secret("B"));
        await CreateSecretAsync(ws, Secret("C"));
        var at = T0.AddHours(2);
        AuditEvent Resolved(string request, string key, int i) => Event(ws, "secret.resolved", key, at) with
        {
            RequestId = request, Version = 1 + (i % 4), Product = "shop", App = "stripe_app", Env = "prd", Context = "resolve", Path = $"$.items[{i}].k\u00e9y \"q\"",
        };
        var first = Enumerable.Range(0, 25).Select(i => Resolved("req-a", "ABC"[i % 3].ToString(), i)).ToList();
        var second = Enumerable.Range(0, 6).Select(i => Resolved("req-b", i < 4 ? "A" : "C", i)).ToList();
        await Store.AppendAuditAsync([Event(ws, "secret.revealed", "B", at), .. first, .. second, Event(ws, "secret.revealed", "A", at)], None);
        await Store.AppendAuditAsync([.. Enumerable.Range(0, 3).Select(i => Resolved("req-c", "B", i))], None);

        var chain = await ChainAsync(Store, ws);
        var written = chain.SkipWhile(e => e.Action != "secret.revealed").ToList();
        var expected = new List<AuditEvent> { Event(ws, "secret.revealed", "B", at) };
        expected.AddRange(first);
        expected.AddRange(second);
        Assert.Equal(36, written.Count);
        Assert.Equal([.. first.Select(e => e.Id), .. second.Select(e => e.Id)], written.Skip(1).Take(31).Select(e => e.Id));
        for (var i = 0; i < 31; i++)
        {
            var original = i < 25 ? first[i] : second[i - 25];
            var stored = written[i + 1];
            Assert.Equal(original with { PrevHash = stored.PrevHash, Hash = stored.Hash, Sequence = stored.Sequence }, stored);
        }

        Assert.Equal(chain.Count, chain.Select(e => e.Sequence).Distinct().Count());
        Assert.Equal(chain.Count, await AssertChainValidAsync(Store, ws));

        // Newest first in pages of 7, and oldest first following in pages of 4: each event exactly once, in order.
        var all = (await Store.QueryAuditAsync(ws, new AuditQuery(), None)).ToList();
        Assert.Equal(chain.Select(e => e.Id).Reverse(), all.Select(e => e.Id));
        Assert.Equal(all.Select(e => e.Id), await PagesAsync(new AuditQuery(Limit: 7)));
        Assert.Equal(chain.Select(e => e.Id), await FollowAsync(new AuditQuery(AfterSequence: 0, Limit: 4)));

        // One secret: only its events, across rows, in pages that start inside rows.
        var ofB = chain.Where(e => e.SecretKey == "B").Select(e => e.Id).Reverse().ToList();
        Assert.Equal(ofB, await PagesAsync(new AuditQuery(Secret: "B", Limit: 3)));
        Assert.Equal(ofB, (await Store.QueryAuditAsync(ws, new AuditQuery(Secret: "B"), None)).Select(e => e.Id));
        var ofC = chain.Where(e => e.SecretKey == "C" && e.Action == "secret.resolved").Select(e => e.Id).Reverse().ToList();
        Assert.Equal(ofC, await PagesAsync(new AuditQuery(Secret: "C", Action: "secret.resolved", Limit: 2)));
        Assert.Equal(ofC.Reverse<string>(), await FollowAsync(new AuditQuery(Secret: "C", Action: "secret.resolved", AfterSequence: 0, Limit: 5)));

        // A cursor inside a resolution: the events before it, then none twice.
        var middle = written[13];
        Assert.Equal(chain.Where(e => e.Sequence < middle.Sequence).Select(e => e.Id).Reverse().Take(5),
            (await Store.QueryAuditAsync(ws, new AuditQuery(BeforeSequence: middle.Sequence, Limit: 5), None)).Select(e => e.Id));
        Assert.Equal(chain.Where(e => e.Sequence > middle.Sequence).Select(e => e.Id).Take(5),
            (await Store.QueryAuditAsync(ws, new AuditQuery(AfterSequence: middle.Sequence, Limit: 5), None)).Select(e => e.Id));
        Assert.Equal(chain[^1].Id, (await Store.QueryAuditAsync(ws, new AuditQuery(Limit: 1), None)).Single().Id);

        // Uses count references, not requests.
        Assert.Equal([new RecentUse("shop", "stripe_app", "prd", "resolve", 8 + 3, at)], await Store.GetRecentUsesAsync(ws, "B", None));
        Assert.Equal([new RecentUse("shop", "stripe_app", "prd", "resolve", 9 + 4, at)], await Store.GetRecentUsesAsync(ws, "A", None));
        Assert.Equal(at, (await Store.GetSecretAsync(ws, "C", None))!.LastUsedAt);

        async Task<List<string>> PagesAsync(AuditQuery query)
        {
            var ids = new List<string>();
            while (true)
            {
                var page = await Store.QueryAuditAsync(ws, query, None);
                Assert.True(page.Count <= query.Limit);
                ids.AddRange(page.Select(e => e.Id));
                if (page.Count < query.Limit)
                {
                    return ids;
                }

                query = query with { BeforeSequence = page[^1].Sequence };
            }
        }

        async Task<List<string>> FollowAsync(AuditQuery query)
        {
            var ids = new List<string>();
            while (true)
            {
                var page = await Store.QueryAuditAsync(ws, query, None);
                ids.AddRange(page.Select(e => e.Id));
                if (page.Count < query.Limit)
                {
                    return ids;
                }

                query = query with { AfterSequence = page[^1].Sequence };
            }
        }
    }

    [Fact]
    public async Task Last_use_is_restamped_only_when_older_than_the_resolution_of_a_minute()
    {
        var ws = await NewWorkspaceAsync(Store);
        await CreateSecretAsync(ws, Secret("K"));
        async Task<DateTimeOffset?> UseAt(TimeSpan offset)
        {
            await Store.AppendAuditAsync([Event(ws, "secret.resolved", "K", T0.Add(offset)) with { RequestId = "req-" + offset.Ticks }], None);
            return (await Store.GetSecretAsync(ws, "K", None))!.LastUsedAt;
        }

        Assert.Equal(T0, await UseAt(TimeSpan.Zero));
        Assert.Equal(T0, await UseAt(TimeSpan.FromSeconds(59)));
        Assert.Equal(T0.AddSeconds(61), await UseAt(TimeSpan.FromSeconds(61)));
        Assert.Equal(T0.AddSeconds(61), await UseAt(TimeSpan.FromSeconds(30))); // never moves back
        Assert.Equal(T0.AddMinutes(5), await UseAt(TimeSpan.FromMinutes(5)));
        Assert.Equal(ILatchStore.LastUseResolution, TimeSpan.FromMinutes(1));
    }

    [Fact]
    public async Task A_deleted_and_recreated_secret_is_stamped_by_its_next_use()
    {
        // The SQLite store remembers recent stamps between group commits; a write in between must make it forget them.
        var ws = await NewWorkspaceAsync(Store);
        await CreateSecretAsync(ws, Secret("K"));
        await Store.AppendAuditAsync([Event(ws, "secret.resolved", "K", T0)], None);
        Assert.Equal(T0, (await Store.GetSecretAsync(ws, "K", None))!.LastUsedAt);

        Assert.True(await Store.DeleteSecretAsync(ws, "K", Event(ws, "secret.deleted", "K"), None));
        await CreateSecretAsync(ws, Secret("K"));
        Assert.Null((await Store.GetSecretAsync(ws, "K", None))!.LastUsedAt);
        await Store.AppendAuditAsync([Event(ws, "secret.resolved", "K", T0.AddSeconds(10))], None);
        Assert.Equal(T0.AddSeconds(10), (await Store.GetSecretAsync(ws, "K", None))!.LastUsedAt);
    }

    [Fact]
    public async Task Stamps_written_before_a_restart_still_count()
    {
        var store = await Fixture.OpenFreshAsync();
        var ws = await NewWorkspaceAsync(store);
        await CreateSecretAsync(ws, Secret("K"), store);
        await store.AppendAuditAsync([Event(ws, "secret.resolved", "K", T0)], None);

        store = await Fixture.ReopenAsync(store);
        await store.AppendAuditAsync([Event(ws, "secret.resolved", "K", T0.AddSeconds(30))], None);
        Assert.Equal(T0, (await store.GetSecretAsync(ws, "K", None))!.LastUsedAt);
        await store.AppendAuditAsync([Event(ws, "secret.resolved", "K", T0.AddSeconds(61))], None);
        Assert.Equal(T0.AddSeconds(61), (await store.GetSecretAsync(ws, "K", None))!.LastUsedAt);
    }

    [Fact]
    public async Task A_refused_audit_commit_writes_nothing_and_the_next_one_succeeds()
    {
        var ws = await NewWorkspaceAsync(Store);
        await CreateSecretAsync(ws, Secret("K"));
        var first = Event(ws, "secret.resolved", "K", T0);
        await Store.AppendAuditAsync([first], None);
        var before = await ChainAsync(Store, ws);

        // A resolution that would re-stamp K, then an event reusing an id: the database refuses the whole batch.
        await Assert.ThrowsAnyAsync<DbException>(() => Store.AppendAuditAsync(
            [Event(ws, "secret.resolved", "K", T0.AddMinutes(2)) with { RequestId = "req-2" }, Event(ws, "secret.revealed", "K", T0.AddMinutes(2), id: first.Id)], None));
        Assert.Equal(before.Select(e => e.Id), (await ChainAsync(Store, ws)).Select(e => e.Id));
        Assert.Equal(T0, (await Store.GetSecretAsync(ws, "K", None))!.LastUsedAt);

        // Nothing of the refused batch is remembered: a use 2.5 minutes after the first is stamped.
        var next = Event(ws, "secret.resolved", "K", T0.AddSeconds(150)) with { RequestId = "req-3" };
        await Store.AppendAuditAsync([next], None);
        Assert.Equal([.. before.Select(e => e.Id), next.Id], (await ChainAsync(Store, ws)).Select(e => e.Id));
        Assert.Equal(T0.AddSeconds(150), (await Store.GetSecretAsync(ws, "K", None))!.LastUsedAt);
        await AssertChainValidAsync(Store, ws);
    }

    // ---------------------------------------------------------------- master-key rotation

    [Fact]
    public async Task Rewrapping_replaces_every_data_key_and_the_check_value_in_one_go()
    {
        var store = await Fixture.OpenFreshAsync();
        await store.SetMetaIfAbsentAsync("master_key_check", [1], None);
        var a = await NewWorkspaceAsync(store);
        var b = await NewWorkspaceAsync(store);
        await store.AddDataKeyAsync(a, 2, [22], T0, Event(a, "workspace.data_key_rotated"), None);
        var plan = (await store.ListDataKeysAsync(null, None)).Select(k => new RewrappedKey(k.WorkspaceId, k.Generation, k.WrappedKey, [.. k.WrappedKey, 0xEE])).ToList();

        store = await Fixture.ReopenAsync(store);
        var outcome = await store.RewrapKeysAsync(plan, [1], [2], [Event(a, "master_key.rotated"), Event(b, "master_key.rotated")], None);

        Assert.Equal(RewrapOutcome.Rewrapped, outcome);
        Assert.Equal(plan.Select(p => p.Replacement), (await store.ListDataKeysAsync(null, None)).Select(k => k.WrappedKey));
        Assert.Equal([2], await store.GetMetaAsync("master_key_check", None));
        Assert.Equal("master_key.rotated", (await ChainAsync(store, a))[^1].Action);
        await AssertChainValidAsync(store, b);
    }

    [Fact]
    public async Task Rewrapping_writes_nothing_when_the_store_moved_on()
    {
        var store = await Fixture.OpenFreshAsync();
        var a = await NewWorkspaceAsync(store);
        var b = await NewWorkspaceAsync(store);
        var keys = await store.ListDataKeysAsync(null, None);
        var plan = keys.Select(k => new RewrappedKey(k.WorkspaceId, k.Generation, k.WrappedKey, [9, 9])).ToList();
        IReadOnlyList<AuditEvent> Audit() => [Event(a, "master_key.rotated")];
        async Task<RewrapOutcome> RewrapAsync(IReadOnlyList<RewrappedKey> keys, byte[]? expected)
        {
            store = await Fixture.ReopenAsync(store);
            return await store.RewrapKeysAsync(keys, expected, [5], Audit(), None);
        }

        // A workspace missing from the plan, a stale wrapped key, a duplicate entry, a stale check value.
        Assert.Equal(RewrapOutcome.StoreChanged, await RewrapAsync(plan.Take(1).ToList(), null));
        Assert.Equal(RewrapOutcome.StoreChanged, await RewrapAsync([plan[0], plan[1] with { Expected = [0] }], null));
        Assert.Equal(RewrapOutcome.StoreChanged, await RewrapAsync([plan[0], plan[0]], null));
        Assert.Equal(RewrapOutcome.StoreChanged, await RewrapAsync(plan, [4]));
        await store.SetMetaIfAbsentAsync("master_key_check", [4], None);
        Assert.Equal(RewrapOutcome.StoreChanged, await RewrapAsync(plan, null));
        Assert.Equal(RewrapOutcome.StoreChanged, await RewrapAsync(plan, [3]));

        Assert.Equal(keys.Select(k => k.WrappedKey), (await store.ListDataKeysAsync(null, None)).Select(k => k.WrappedKey));
        Assert.Equal([4], await store.GetMetaAsync("master_key_check", None));
        Assert.DoesNotContain(await ChainAsync(store, a), e => e.Action == "master_key.rotated");
        Assert.DoesNotContain(await ChainAsync(store, b), e => e.Action == "master_key.rotated");
        Assert.Equal(RewrapOutcome.Rewrapped, await RewrapAsync(plan, [4]));
    }

    [Fact]
    public async Task Rewrapping_inserts_the_check_value_when_the_store_has_none()
    {
        var store = await Fixture.OpenFreshAsync();
        var a = await NewWorkspaceAsync(store);
        var plan = (await store.ListDataKeysAsync(null, None)).Select(k => new RewrappedKey(k.WorkspaceId, k.Generation, k.WrappedKey, [1])).ToList();
        store = await Fixture.ReopenAsync(store);
        Assert.Equal(RewrapOutcome.Rewrapped, await store.RewrapKeysAsync(plan, null, [8], [Event(a, "master_key.rotated")], None));
        Assert.Equal([8], await store.GetMetaAsync("master_key_check", None));
    }

    // ---------------------------------------------------------------- atomicity and concurrency

    [Fact]
    public async Task A_change_whose_audit_event_cannot_be_written_leaves_nothing_behind()
    {
        var ws = await NewWorkspaceAsync(Store);
        await CreateSecretAsync(ws, Secret("K"));
        var taken = (await ChainAsync(Store, ws))[^1].Id;
        AuditEvent Duplicate(string action) => Event(ws, action, "X", id: taken);

        await Assert.ThrowsAnyAsync<DbException>(() => Store.CreateSecretAsync(ws, Secret("X"), Sealed(), null, Duplicate("secret.created"), None));
        Assert.Null(await Store.GetSecretAsync(ws, "X", None));
        Assert.Empty(await Store.ListVersionsAsync(ws, "X", None));

        await Assert.ThrowsAnyAsync<DbException>(() => Store.UpdateSecretAsync(ws, Secret("K", "changed") with { Version = 2 }, 1, Sealed(), null, Duplicate("secret.updated"), None));
        Assert.Equal((1, (string?)null), await Store.GetSecretAsync(ws, "K", None) is { } k ? (k.Version, k.Description) : default);
        Assert.Single(await Store.ListVersionsAsync(ws, "K", None));

        await Assert.ThrowsAnyAsync<DbException>(() => Store.DeleteSecretAsync(ws, "K", Duplicate("secret.deleted"), None));
        Assert.NotNull(await Store.GetSecretAsync(ws, "K", None));

        var key = Key(ws, "ci", T0);
        await Assert.ThrowsAnyAsync<DbException>(() => Store.CreateApiKeyAsync(key, Hash(key.Id), Duplicate("key.created"), None));
        Assert.Null(await Store.FindApiKeyAsync(Hash(key.Id), None));

        await Assert.ThrowsAnyAsync<DbException>(() => Store.PutConfigAsync(ws, Config(ConfigKinds.App, "", "a"), PutMode.Create, Duplicate("app.changed"), None));
        Assert.Null(await Store.GetConfigAsync(ws, ConfigKinds.App, "", "a", None));

        await Assert.ThrowsAnyAsync<DbException>(() => Store.AddDeliveryAsync(ws, Delivery("shop", "gh", T0), ["r"], T0, Duplicate("webhook.verified"), None));
        Assert.Empty(await Store.ListDeliveriesAsync(ws, "shop", "gh", null, 10, None));
        Assert.True(await Store.AddDeliveryAsync(ws, Delivery("shop", "gh", T0), ["r"], T0, Event(ws, "webhook.verified"), None));

        await Assert.ThrowsAnyAsync<DbException>(() => Store.AddRejectionAsync(ws, "shop", "gh", "signature_missing", T0, Duplicate("webhook.rejected"), None));
        Assert.Equal(0, (await Store.GetRejectionsAsync(ws, "shop", "gh", None)).Count);

        // The duplicate comes first: the embedded store keeps one resolution's events in one row and the database checks that
        // row's id; the other events' ids (SecretService.EventId: the millisecond plus ~51 random bits) are not checked again
        // (docs/DECISIONS.md).
        await Assert.ThrowsAnyAsync<DbException>(() => Store.AppendAuditAsync([Duplicate("secret.resolved"), Event(ws, "secret.resolved", "K")], None));
        Assert.Null((await Store.GetSecretAsync(ws, "K", None))!.LastUsedAt);

        await Assert.ThrowsAnyAsync<DbException>(() => Store.AddDataKeyAsync(ws, 2, [2], T0, Duplicate("workspace.data_key_rotated"), None));
        Assert.Single(await Store.ListDataKeysAsync(ws, None));

        Assert.Equal(4, await AssertChainValidAsync(Store, ws));
    }

    [Fact]
    public async Task Of_twenty_concurrent_updates_from_one_version_exactly_one_wins()
    {
        var ws = await NewWorkspaceAsync(Store);
        await CreateSecretAsync(ws, Secret("K"));
        var results = await Task.WhenAll(Enumerable.Range(0, 20).Select(i => Task.Run(() =>
            Store.UpdateSecretAsync(ws, Secret("K", "writer " + i) with { Version = 2 }, 1, Sealed(), "w" + i, Event(ws, "secret.updated", "K"), None))));
        Assert.Single(results, r => r == UpdateResult.Updated);
        Assert.Equal(19, results.Count(r => r == UpdateResult.VersionConflict));
        Assert.Equal([2, 1], (await Store.ListVersionsAsync(ws, "K", None)).Select(v => v.Version));
        Assert.Single(await ChainAsync(Store, ws), e => e.Action == "secret.updated");
        await AssertChainValidAsync(Store, ws);
    }

    [Fact]
    public async Task Concurrent_appends_and_changes_keep_one_valid_chain()
    {
        var ws = await NewWorkspaceAsync(Store);
        var tasks = Enumerable.Range(0, 8).Select(t => Task.Run(async () =>
        {
            for (var i = 0; i < 10; i++)
            {
                await Store.AppendAuditAsync([Event(ws, "secret.resolved", "K"), Event(ws, "secret.resolved", "K")], None);
                if (i % 5 == 0)
                {
                    await CreateSecretAsync(ws, Secret($"K{t}_{i}"));
                }
            }
        }));
        await Task.WhenAll(tasks);
        Assert.Equal(2 + (8 * 10 * 2) + (8 * 2), await AssertChainValidAsync(Store, ws));
    }

    // ---------------------------------------------------------------- text

    [Fact]
    public async Task Non_ascii_text_round_trips_everywhere()
    {
        const string text = "Clé d’accès — 秘密の鍵 🔑 Ωmega";
        var ws = await NewWorkspaceAsync(Store, "espace-" + text + Ids.New(""));
        Assert.StartsWith("espace-" + text, (await Store.GetWorkspaceAsync(ws, None))!.Name, StringComparison.Ordinal);
        await CreateSecretAsync(ws, Secret("KEY", text, scope: ["app-é"], envs: ["prød"]));
        Assert.Equal(text, (await Store.GetSecretAsync(ws, "KEY", None))!.Description);
        Assert.Equal(["KEY"], (await Store.ListSecretsAsync(ws, new SecretQuery(App: "app-é", Env: "prød", Search: "秘密"), T0, None)).Select(s => s.Key));
        var body = $$"""{"name":"{{text}}"}""";
        await Store.PutConfigAsync(ws, Config(ConfigKinds.App, "", "app-é", body), PutMode.Create, Event(ws, "app.changed") with { Detail = text }, None);
        Assert.Equal(body, (await Store.GetConfigAsync(ws, ConfigKinds.App, "", "app-é", None))!.Body);
        Assert.Equal(text, (await ChainAsync(Store, ws))[^1].Detail);
        await AssertChainValidAsync(Store, ws);
    }
}

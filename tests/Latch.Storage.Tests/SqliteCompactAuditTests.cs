using System.Security.Cryptography;
using Latch.Core.Crypto;
using Latch.Core.Storage;
using Latch.Core.Storage.Sqlite;
using Microsoft.Data.Sqlite;

namespace Latch.Storage.Tests;

/// <summary>
/// The embedded store's physical form of resolution events (schema 4): one row per resolution, found by secret through
/// <c>audit_secret_ranges</c> (per bucket of sequence numbers since schema 5), and still a tamper-evident chain. The event-level behaviour is in the storage contract
/// (<c>Every_reference_of_a_resolution_reads_back_as_its_own_event_and_pages_exactly</c>), run on both stores.
/// </summary>
public sealed class SqliteCompactAuditTests : IAsyncLifetime
{
    private static readonly DateTimeOffset T0 = new DateTimeOffset(2026, 3, 4, 5, 6, 7, TimeSpan.Zero).AddTicks(1_234_567);
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "latch-compact-tests-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6)));
    private SqliteStore _store = null!;
    private string _workspace = "";

    public async Task InitializeAsync()
    {
        _store = SqliteStore.Open(_directory);
        await _store.MigrateAsync(null, CancellationToken.None);
        _workspace = Ids.New("ws_");
        var owner = new ApiKeyRecord(Ids.New("key_"), _workspace, "owner", "owner", [], [], null, false, T0);
        await _store.CreateWorkspaceAsync(new Workspace(_workspace, "w", T0), RandomNumberGenerator.GetBytes(60), owner, SHA256.HashData(owner.Id.Select(c => (byte)c).ToArray()),
            [Event("workspace.created", null, "req-0")], CancellationToken.None);
    }

    public async Task DisposeAsync()
    {
        await _store.DisposeAsync(); // closes this store's pooled connections only: ClearAllPools would checkpoint other tests' stores
        Directory.Delete(_directory, recursive: true);
    }

    [Fact]
    public async Task A_resolution_is_one_row_with_its_references_and_the_next_row_starts_after_its_last_event()
    {
        var resolution = Enumerable.Range(0, 20).Select(i => Event("secret.resolved", i % 2 == 0 ? "EVEN" : $"KEY_{i}", "req-1") with { Path = $"$.k{i}" }).ToList();
        await _store.AppendAuditAsync([.. resolution, Event("secret.revealed", "EVEN", "req-2")], CancellationToken.None);

        Assert.Equal(3L, Scalar("SELECT count(*) FROM audit_events WHERE workspace_id = $w"));
        Assert.Equal(20L, Scalar("SELECT ref_count FROM audit_events WHERE workspace_id = $w AND action = 'secret.resolved'"));
        Assert.Equal(1L, Scalar("SELECT count(*) FROM audit_events WHERE workspace_id = $w AND action = 'secret.resolved' AND secret_key IS NULL AND path IS NULL AND version IS NULL"));
        Assert.Equal(11L, Scalar("SELECT count(*) FROM audit_secret_ranges WHERE workspace_id = $w"));
        Assert.Equal(0L, Scalar("SELECT count(*) FROM audit_secret_ranges r JOIN audit_events a ON a.seq = r.first_seq WHERE r.workspace_id = $w AND (r.first_seq <> r.last_seq OR a.ref_count <> 20)"));
        Assert.Equal(10, (await _store.GetRecentUsesAsync(_workspace, "EVEN", CancellationToken.None)).Single().Count);
        Assert.Equal(1, (await _store.GetRecentUsesAsync(_workspace, "KEY_19", CancellationToken.None)).Single().Count);

        var chain = await ChainAsync();
        var first = chain.Single(e => e.Id == resolution[0].Id).Sequence;
        Assert.Equal(Enumerable.Range(0, 21).Select(i => first + i), chain.Skip(1).Select(e => e.Sequence));
        Assert.Equal(first + 20, Scalar("SELECT seq FROM audit_events WHERE workspace_id = $w AND action = 'secret.revealed'"));
        Assert.Equal(22, (await AuditChain.VerifyAsync(_store.ReadAuditChainAsync(_workspace, CancellationToken.None), CancellationToken.None)).Checked);
    }

    [Fact]
    public async Task One_commit_indexes_each_secret_once_and_the_secret_filter_skips_rows_between_that_do_not_name_it()
    {
        var other = Ids.New("ws_");
        AuditEvent In(string workspace, string key, string request, int i) => Event("secret.resolved", key, request) with { WorkspaceId = workspace, Path = $"$.k{i}" };
        var x1 = Enumerable.Range(0, 3).Select(i => In(_workspace, "X", "req-1", i)).ToList();
        var elsewhere = Enumerable.Range(0, 3).Select(i => In(other, "X", "req-2", i)).ToList();
        var y = Enumerable.Range(0, 2).Select(i => In(_workspace, "Y", "req-3", i)).ToList();
        var x2 = Enumerable.Range(0, 2).Select(i => In(_workspace, i == 0 ? "X" : "Z", "req-4", i)).ToList();
        await _store.AppendAuditAsync([.. x1, .. elsewhere, .. y, .. x2], CancellationToken.None);

        // One range per secret and workspace for the whole commit; X's spans rows of another workspace and of Y.
        Assert.Equal(3L, Scalar("SELECT count(*) FROM audit_secret_ranges WHERE workspace_id = $w"));
        Assert.Equal(1L, Scalar("SELECT count(*) FROM audit_secret_ranges WHERE workspace_id = $w AND secret_key = 'X' AND last_seq > first_seq"));
        Assert.Equal(4, (await _store.GetRecentUsesAsync(_workspace, "X", CancellationToken.None)).Single().Count);
        Assert.Equal(3, (await _store.GetRecentUsesAsync(other, "X", CancellationToken.None)).Single().Count);

        Assert.Equal([.. x1.Select(e => e.Id), x2[0].Id], (await _store.QueryAuditAsync(_workspace, new AuditQuery(Secret: "X", AfterSequence: 0, Limit: 2), CancellationToken.None))
            .Concat(await _store.QueryAuditAsync(_workspace, new AuditQuery(Secret: "X", AfterSequence: (await _store.QueryAuditAsync(_workspace, new AuditQuery(Secret: "X", AfterSequence: 0, Limit: 2), CancellationToken.None))[^1].Sequence, Limit: 10), CancellationToken.None))
            .Select(e => e.Id));
        Assert.Equal([x2[0].Id, .. x1.Select(e => e.Id).Reverse()], (await _store.QueryAuditAsync(_workspace, new AuditQuery(Secret: "X", Limit: 1), CancellationToken.None))
            .Concat(await _store.QueryAuditAsync(_workspace, new AuditQuery(Secret: "X", BeforeSequence: x2Sequence(), Limit: 10), CancellationToken.None)).Select(e => e.Id));
        Assert.Equal(elsewhere.Select(e => e.Id).Reverse(), (await _store.QueryAuditAsync(other, new AuditQuery(Secret: "X"), CancellationToken.None)).Select(e => e.Id));
        Assert.Equal(y.Select(e => e.Id).Reverse(), (await _store.QueryAuditAsync(_workspace, new AuditQuery(Secret: "Y"), CancellationToken.None)).Select(e => e.Id));
        Assert.Equal([x2[1].Id], (await _store.QueryAuditAsync(_workspace, new AuditQuery(Secret: "Z"), CancellationToken.None)).Select(e => e.Id));

        long x2Sequence() => Scalar($"SELECT seq FROM audit_events WHERE id = '{x2[0].Id}'");
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(true, false)]
    [InlineData(false, true)]
    [InlineData(true, true)]
    public void The_secret_filter_walks_the_indexes_in_order_without_sorting(bool following, bool continuing)
    {
        var query = following ? new AuditQuery(Secret: "K", App: "a", AfterSequence: 100, Limit: 10) : new AuditQuery(Secret: "K", App: "a", BeforeSequence: 100, Limit: 10);
        using var connection = Connect();
        using var command = connection.CreateCommand();
        command.CommandText = "EXPLAIN QUERY PLAN " + SqliteStore.AuditQuerySql(query, continuing);
        foreach (var (name, value) in new (string, object)[] { ("@workspaceId", "w"), ("@Secret", "K"), ("@App", "a"), ("@AfterSequence", 100), ("@upper", 100), ("@lower", 0), ("@Limit", 10), ("@needle", "\"K\"") })
        {
            command.Parameters.AddWithValue(name, value);
        }

        using var reader = command.ExecuteReader();
        var plan = new List<string>();
        var nodes = new Dictionary<long, (long Parent, string Detail)>();
        while (reader.Read())
        {
            plan.Add(reader.GetString(3));
            nodes[reader.GetInt64(0)] = (reader.GetInt64(1), reader.GetString(3));
        }

        // Both halves read their index in order and stop at the limit (no sort inside either); only the merge of the two
        // limited halves sorts, at most Limit rows each.
        Assert.All(nodes.Values.Where(n => n.Detail.Contains("TEMP B-TREE", StringComparison.Ordinal)),
            n => Assert.Contains(nodes[n.Parent].Detail, new[] { "LEFT", "RIGHT" }));
        Assert.Contains(plan, p => p.StartsWith("SEARCH audit_events USING INDEX ix_audit_secret", StringComparison.Ordinal));
        Assert.Contains(plan, p => p.StartsWith("SEARCH r USING INDEX ix_audit_secret_ranges_secret", StringComparison.Ordinal));
        Assert.Contains(plan, p => p.StartsWith("SEARCH a USING INTEGER PRIMARY KEY", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("UPDATE audit_events SET refs = replace(refs, '$.k7', '$.k8') WHERE action = 'secret.resolved'")]
    [InlineData("UPDATE audit_events SET refs = replace(refs, '\"KEY_3\"', '\"KEY_5\"') WHERE action = 'secret.resolved'")]
    [InlineData("UPDATE audit_events SET refs = substr(refs, 1, 40) WHERE action = 'secret.resolved'")]
    [InlineData("UPDATE audit_events SET refs = '[]' WHERE action = 'secret.resolved'")]
    [InlineData("UPDATE audit_events SET ref_count = 19 WHERE action = 'secret.resolved'")]
    [InlineData("UPDATE audit_events SET app = 'github_app' WHERE action = 'secret.resolved'")]
    [InlineData("UPDATE audit_events SET refs = replace(refs, '\"$.k2\"', '\"\\ud800\"') WHERE action = 'secret.resolved'")]
    [InlineData("UPDATE audit_events SET secret_key = 'KEY_1' WHERE action = 'secret.resolved'")]
    [InlineData("UPDATE audit_events SET id = 'evt_elsewhere' WHERE action = 'secret.resolved'")]
    public async Task An_edited_resolution_row_breaks_the_chain_at_that_row(string tamper)
    {
        var resolution = Enumerable.Range(0, 20).Select(i => Event("secret.resolved", $"KEY_{i}", "req-1") with { Path = $"$.k{i}" }).ToList();
        await _store.AppendAuditAsync(resolution, CancellationToken.None);
        await _store.AppendAuditAsync([Event("secret.revealed", "KEY_1", "req-2")], CancellationToken.None);
        Assert.Null((await AuditChain.VerifyAsync(_store.ReadAuditChainAsync(_workspace, CancellationToken.None), CancellationToken.None)).FirstBroken);

        Assert.Equal(1L, Execute(tamper));

        var (_, broken) = await AuditChain.VerifyAsync(_store.ReadAuditChainAsync(_workspace, CancellationToken.None), CancellationToken.None);
        Assert.NotNull(broken);
        var rowStart = Scalar("SELECT seq FROM audit_events WHERE action = 'secret.resolved'");
        Assert.InRange(broken.Sequence, rowStart, rowStart + 19);
        Assert.Equal("secret.resolved", broken.Action);

        // Reads keep working; nothing throws on the damaged row, and no event is read twice.
        var ofKey1 = await _store.QueryAuditAsync(_workspace, new AuditQuery(Secret: "KEY_1"), CancellationToken.None);
        Assert.NotEmpty(ofKey1);
        Assert.Equal(ofKey1.Count, ofKey1.Select(e => e.Id).Distinct().Count());
        Assert.InRange((await _store.GetRecentUsesAsync(_workspace, "KEY_1", CancellationToken.None)).Sum(u => u.Count), 0, 1);
    }

    [Fact]
    public async Task A_schema_3_store_upgrades_with_its_resolutions_counted_and_its_sequence_continued()
    {
        var directory = _directory + "-v3";
        Directory.CreateDirectory(directory);
        var old = Enumerable.Range(0, 3).Select(i => Event("secret.resolved", "OLD", "req-old") with { WorkspaceId = "ws_old", Path = $"$.o{i}", At = T0.AddMinutes(i) }).ToList();
        await CreateSchema3StoreAsync(directory, old);

        var store = SqliteStore.Open(directory);
        try
        {
            await store.MigrateAsync(null, CancellationToken.None);
            var added = Enumerable.Range(0, 4).Select(i => Event("secret.resolved", i < 2 ? "OLD" : "NEW", "req-new") with { WorkspaceId = "ws_old", Path = $"$.n{i}" }).ToList();
            await store.AppendAuditAsync(added, CancellationToken.None);

            Assert.Equal([new RecentUse("shop", "stripe_app", "prd", "resolve", 5, T0.AddMinutes(2))], await store.GetRecentUsesAsync("ws_old", "OLD", CancellationToken.None));
            var chain = new List<AuditEvent>();
            await foreach (var e in store.ReadAuditChainAsync("ws_old", CancellationToken.None))
            {
                chain.Add(e);
            }

            Assert.Equal([.. old.Select(e => e.Id), .. added.Select(e => e.Id)], chain.Select(e => e.Id));
            Assert.Equal([1L, 2, 3, 4, 5, 6, 7], chain.Select(e => e.Sequence));
            Assert.Null((await AuditChain.VerifyAsync(store.ReadAuditChainAsync("ws_old", CancellationToken.None), CancellationToken.None)).FirstBroken);
            Assert.Equal([added[1].Id, added[0].Id, .. old.Select(e => e.Id).Reverse()],
                (await store.QueryAuditAsync("ws_old", new AuditQuery(Secret: "OLD"), CancellationToken.None)).Select(e => e.Id));
        }
        finally
        {
            await store.DisposeAsync();
            Directory.Delete(directory, recursive: true);
        }
    }

    [Theory]
    [InlineData(3)]
    [InlineData(4)]
    public async Task Master_key_rotation_refuses_an_older_schema_with_the_upgrade_message(int schema)
    {
        var directory = _directory + "-rotate" + schema;
        Directory.CreateDirectory(directory);
        try
        {
            await (schema == 3 ? CreateSchema3StoreAsync(directory, []) : CreateSchema4StoreAsync(directory, [], []));
            using var oldKey = LocalMasterKey.FromBase64(Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)), "test");
            using var newKey = LocalMasterKey.FromBase64(Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)), "test");
            var refused = await Assert.ThrowsAsync<MasterKeyRotationException>(() =>
                MasterKeyRotation.RotateSqliteAsync(directory, oldKey, newKey, TimeProvider.System, "test", CancellationToken.None));
            Assert.Contains("start 'latch serve' on it once to upgrade it", refused.Message, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    /// <summary>An open, unpooled connection to a new store in <paramref name="directory"/> migrated up to <paramref name="version"/>.</summary>
    private static async Task<SqliteConnection> MigrateToAsync(string directory, string version)
    {
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = SqliteStore.DatabasePath(directory), Pooling = false }.ToString());
        await connection.OpenAsync();
        new EvolveDb.Evolve(connection, _ => { })
        {
            EmbeddedResourceAssemblies = [typeof(SqliteStore).Assembly],
            EmbeddedResourceFilters = ["Latch.Core.Storage.Migrations.Sqlite."],
            MetadataTableName = "schema_migrations",
            EnableClusterMode = false,
            TargetVersion = new EvolveDb.Migration.MigrationVersion(version),
        }.Migrate();
        return connection;
    }

    /// <summary>A store as schema 3 left it (migrations up to V3), holding <paramref name="old"/> as schema 3 wrote them.</summary>
    private static async Task CreateSchema3StoreAsync(string directory, IReadOnlyList<AuditEvent> old)
    {
        var connection = await MigrateToAsync(directory, "3");
        await using (connection)
        {

            // Rows as schema 3 wrote them: one per event, seq from AUTOINCREMENT.
            var previous = AuditChain.Genesis;
            foreach (var e in old)
            {
                var linked = AuditChain.Link(e, previous);
                await using var insert = connection.CreateCommand();
                insert.CommandText = """
                    INSERT INTO audit_events(id, workspace_id, at, action, actor_key_id, actor_name, request_id, client, secret_key, version, product, app, env, context, path, prev_hash, hash)
                    VALUES ($id, $ws, $at, $action, $key_id, $name, $request, $client, $secret, $version, $product, $app, $env, $context, $path, $prev, $hash)
                    """;
                foreach (var (name, value) in new (string, object?)[]
                {
                    ("$id", e.Id), ("$ws", e.WorkspaceId), ("$at", SqliteStore.Time(e.At)), ("$action", e.Action), ("$key_id", e.ActorKeyId), ("$name", e.ActorName),
                    ("$request", e.RequestId), ("$client", e.Client), ("$secret", e.SecretKey), ("$version", e.Version), ("$product", e.Product), ("$app", e.App),
                    ("$env", e.Env), ("$context", e.Context), ("$path", e.Path), ("$prev", previous), ("$hash", linked.Hash),
                })
                {
                    insert.Parameters.AddWithValue(name, value ?? DBNull.Value);
                }

                await insert.ExecuteNonQueryAsync();
                previous = linked.Hash;
            }
        }

    }

    [Fact]
    public async Task Commits_extend_each_secret_s_range_within_a_bucket_and_a_new_bucket_starts_new_ranges()
    {
        // 220 resolutions of 20 references in commits of 20: ~4,400 events, across the bucket boundary at seq 4,096.
        // SPARSE replaces K18 in resolutions 19 and 21 (a gap of 40 sequence numbers, across two commits: one range) and 60
        // (a gap of 780, more than RangeGap: a range of its own).
        string KeyOf(int r, int i) => i switch
        {
            19 when r is 3 or 215 => "RARE",
            18 when r is 19 or 21 or 60 => "SPARSE",
            _ => $"K{i}",
        };
        var resolutions = Enumerable.Range(0, 220).Select(r => Enumerable.Range(0, 20)
            .Select(i => Event("secret.resolved", KeyOf(r, i), $"req-{r}") with { Path = $"$.k{i}" }).ToList()).ToList();
        foreach (var commit in resolutions.Chunk(20))
        {
            await _store.AppendAuditAsync([.. commit.SelectMany(r => r)], CancellationToken.None);
        }

        // One range per secret and bucket for secrets resolved again and again, however many commits: K0..K19 and RARE in
        // buckets 0 and 1; SPARSE twice in bucket 0, its first range extended by the next commit.
        Assert.Equal(2L, Scalar("SELECT count(DISTINCT bucket) FROM audit_secret_ranges WHERE workspace_id = $w"));
        Assert.Equal(21L * 2 + 2, Scalar("SELECT count(*) FROM audit_secret_ranges WHERE workspace_id = $w"));
        Assert.Equal(0L, Scalar("SELECT count(*) FROM audit_secret_ranges WHERE workspace_id = $w AND secret_key NOT IN ('SPARSE', 'RARE') AND first_seq = last_seq"));
        Assert.Equal(1L, Scalar("SELECT count(*) FROM audit_secret_ranges WHERE workspace_id = $w AND secret_key = 'SPARSE' AND bucket = 0 AND last_seq - first_seq = 40"));
        Assert.Equal(1L, Scalar("SELECT count(*) FROM audit_secret_ranges WHERE workspace_id = $w AND secret_key = 'SPARSE' AND bucket = 0 AND last_seq = first_seq"));
        Assert.Equal(0L, Scalar($"SELECT count(*) FROM audit_secret_ranges WHERE workspace_id = $w AND (first_seq / {SqliteStore.RangeBucketSize} <> bucket OR last_seq / {SqliteStore.RangeBucketSize} <> bucket)"));
        Assert.Equal(2L, Scalar("SELECT count(*) FROM audit_secret_ranges WHERE workspace_id = $w AND secret_key = 'RARE' AND first_seq = last_seq"));

        var rare = resolutions.SelectMany(r => r).Where(e => e.SecretKey == "RARE").Select(e => e.Id).ToList();
        Assert.Equal(rare.AsEnumerable().Reverse(), (await _store.QueryAuditAsync(_workspace, new AuditQuery(Secret: "RARE"), CancellationToken.None)).Select(e => e.Id));
        Assert.Equal(2, (await _store.GetRecentUsesAsync(_workspace, "RARE", CancellationToken.None)).Single().Count);

        // Every event of K0 and K19, newest first and oldest first, page by page across the boundary.
        foreach (var key in new[] { "K0", "K18", "K19", "SPARSE" })
        {
            var expected = resolutions.SelectMany(r => r).Where(e => e.SecretKey == key).Select(e => e.Id).ToList();
            Assert.Equal(expected.AsEnumerable().Reverse(), await PagesAsync(key, descending: true, limit: 7));
            Assert.Equal(expected, await PagesAsync(key, descending: false, limit: 9));
            Assert.Equal(expected.Count, (await _store.GetRecentUsesAsync(_workspace, key, CancellationToken.None)).Single().Count);
        }

        Assert.Null((await AuditChain.VerifyAsync(_store.ReadAuditChainAsync(_workspace, CancellationToken.None), CancellationToken.None)).FirstBroken);
    }

    [Fact]
    public async Task A_schema_4_store_upgrades_its_ranges_to_buckets_and_finds_every_event_as_before()
    {
        var directory = _directory + "-v4";
        Directory.CreateDirectory(directory);
        AuditEvent Ref(string key, string request, int i) => Event("secret.resolved", key, request) with { WorkspaceId = "ws_v4", Path = $"$.r{i}" };
        var r1 = new[] { Ref("A", "req-1", 0), Ref("B", "req-1", 1) };
        var r2 = new[] { Ref("A", "req-2", 0), Ref("B", "req-2", 1) };
        var r3 = Enumerable.Range(0, 20).Select(i => Ref(i % 2 == 0 ? "A" : "C", "req-3", i)).ToArray();
        var r4 = new[] { Ref("A", "req-4", 0), Ref("C", "req-4", 1) };

        // Another workspace's resolution between them, in bucket 1.
        var other = new[] { Ref("A", "req-b", 0) with { WorkspaceId = "ws_v4b" }, Ref("A", "req-b", 1) with { WorkspaceId = "ws_v4b" } };

        // Rows as schema 4 wrote them (r3's events straddle seq 4,096) and its ranges per commit: (r1, r2), then (r3, other,
        // r4) as one commit whose ranges cross the bucket boundary. V5 rebuilds the ranges from the rows.
        await CreateSchema4StoreAsync(directory, [(1, r1), (30, r2), (4090, r3), (4110, other), (5000, r4)],
            [("A", 1, 30), ("B", 1, 30), ("A", 4090, 5000), ("C", 4090, 5000)]);

        var store = SqliteStore.Open(directory);
        try
        {
            await store.MigrateAsync(null, CancellationToken.None);
            Assert.True(await store.HasCompactAuditRowsAsync(CancellationToken.None));
            var added = new[] { Ref("A", "req-5", 0), Ref("B", "req-5", 1) };
            await store.AppendAuditAsync(added, CancellationToken.None);

            using (var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = SqliteStore.DatabasePath(directory), Pooling = false }.ToString()))
            {
                connection.Open();
                using var command = connection.CreateCommand();
                command.CommandText = "SELECT secret_key || ':' || bucket || ':' || first_seq || '-' || last_seq FROM audit_secret_ranges WHERE workspace_id = 'ws_v4' ORDER BY secret_key, bucket";
                using var reader = command.ExecuteReader();
                var rows = new List<string>();
                while (reader.Read())
                {
                    rows.Add(reader.GetString(0));
                }

                // The new resolution lands at seq 5002 (after r4's last event), in bucket 1.
                Assert.Equal(["A:0:1-4090", "A:1:5000-5002", "B:0:1-30", "B:1:5002-5002", "C:0:4090-4090", "C:1:5000-5000"], rows);
            }

            var a = new[] { r1[0], r2[0] }.Concat(r3.Where(e => e.SecretKey == "A")).Concat([r4[0], added[0]]).Select(e => e.Id).ToList();
            var newestFirst = new List<string>();
            for (long? before = null; ;)
            {
                var page = await store.QueryAuditAsync("ws_v4", new AuditQuery(Secret: "A", BeforeSequence: before, Limit: 4), CancellationToken.None);
                newestFirst.AddRange(page.Select(e => e.Id));
                if (page.Count < 4)
                {
                    break;
                }

                before = page[^1].Sequence;
            }

            Assert.Equal(a.AsEnumerable().Reverse(), newestFirst);
            Assert.Equal([r3[1].Id, r3[3].Id], (await store.QueryAuditAsync("ws_v4", new AuditQuery(Secret: "C", AfterSequence: 0, Limit: 2), CancellationToken.None)).Select(e => e.Id));
            Assert.Equal(a.Count, (await store.GetRecentUsesAsync("ws_v4", "A", CancellationToken.None)).Sum(u => u.Count));
            Assert.Equal(3, (await store.GetRecentUsesAsync("ws_v4", "B", CancellationToken.None)).Sum(u => u.Count));
            Assert.Equal(other.Select(e => e.Id).Reverse(), (await store.QueryAuditAsync("ws_v4b", new AuditQuery(Secret: "A"), CancellationToken.None)).Select(e => e.Id));
            Assert.Equal(a, (await store.QueryAuditAsync("ws_v4", new AuditQuery(Secret: "A", AfterSequence: 0, Limit: 100), CancellationToken.None)).Select(e => e.Id));
            Assert.Null((await AuditChain.VerifyAsync(store.ReadAuditChainAsync("ws_v4b", CancellationToken.None), CancellationToken.None)).FirstBroken);
            Assert.Null((await AuditChain.VerifyAsync(store.ReadAuditChainAsync("ws_v4", CancellationToken.None), CancellationToken.None)).FirstBroken);
        }
        finally
        {
            await store.DisposeAsync();
            Directory.Delete(directory, recursive: true);
        }
    }

    private async Task<List<string>> PagesAsync(string key, bool descending, int limit)
    {
        var ids = new List<string>();
        long? cursor = descending ? null : 0;
        while (true)
        {
            var query = descending ? new AuditQuery(Secret: key, BeforeSequence: cursor, Limit: limit) : new AuditQuery(Secret: key, AfterSequence: cursor, Limit: limit);
            var page = await _store.QueryAuditAsync(_workspace, query, CancellationToken.None);
            ids.AddRange(page.Select(e => e.Id));
            if (page.Count < limit)
            {
                return ids;
            }

            cursor = page[^1].Sequence;
        }
    }

    /// <summary>
    /// A store as schema 4 left it (migrations up to V4): compact rows at the given sequence numbers, each workspace's
    /// linked into its chain, and <c>audit_secret_ranges</c> rows in schema 4's shape (secret, last_seq, first_seq).
    /// </summary>
    private static async Task CreateSchema4StoreAsync(string directory, IReadOnlyList<(long Seq, AuditEvent[] Events)> rows, IReadOnlyList<(string Key, long First, long Last)> ranges)
    {
        var connection = await MigrateToAsync(directory, "4");
        await using (connection)
        {

            var heads = new Dictionary<string, string>();
            foreach (var (seq, events) in rows)
            {
                var previous = heads.GetValueOrDefault(events[0].WorkspaceId, AuditChain.Genesis);
                var hash = previous;
                foreach (var e in events)
                {
                    hash = AuditChain.Link(e, hash).Hash;
                }

                var e0 = events[0];
                await using var insert = connection.CreateCommand();
                insert.CommandText = """
                    INSERT INTO audit_events(seq, id, workspace_id, at, action, actor_key_id, actor_name, request_id, client, product, app, env, context, prev_hash, hash, refs, ref_count)
                    VALUES ($seq, $id, $ws, $at, $action, $key_id, $name, $request, $client, $product, $app, $env, $context, $prev, $hash, $refs, $count)
                    """;
                foreach (var (name, value) in new (string, object?)[]
                {
                    ("$seq", seq), ("$id", e0.Id), ("$ws", e0.WorkspaceId), ("$at", SqliteStore.Time(e0.At)), ("$action", e0.Action), ("$key_id", e0.ActorKeyId),
                    ("$name", e0.ActorName), ("$request", e0.RequestId), ("$client", e0.Client), ("$product", e0.Product), ("$app", e0.App), ("$env", e0.Env),
                    ("$context", e0.Context), ("$prev", previous), ("$hash", hash), ("$refs", CompactResolutions.Write(events, 0, events.Length)), ("$count", events.Length),
                })
                {
                    insert.Parameters.AddWithValue(name, value ?? DBNull.Value);
                }

                await insert.ExecuteNonQueryAsync();
                heads[events[0].WorkspaceId] = hash;
            }

            foreach (var (key, first, last) in ranges)
            {
                await using var insert = connection.CreateCommand();
                insert.CommandText = "INSERT INTO audit_secret_ranges(workspace_id, secret_key, last_seq, first_seq) VALUES ('ws_v4', $key, $last, $first)";
                insert.Parameters.AddWithValue("$key", key);
                insert.Parameters.AddWithValue("$last", last);
                insert.Parameters.AddWithValue("$first", first);
                await insert.ExecuteNonQueryAsync();
            }
        }
    }

    private async Task<List<AuditEvent>> ChainAsync()
    {
        var events = new List<AuditEvent>();
        await foreach (var e in _store.ReadAuditChainAsync(_workspace, CancellationToken.None))
        {
            events.Add(e);
        }

        return events;
    }

    private long Scalar(string sql)
    {
        using var connection = Connect();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.Parameters.AddWithValue("$w", _workspace);
        return (long)command.ExecuteScalar()!;
    }

    private long Execute(string sql)
    {
        using var connection = Connect();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return command.ExecuteNonQuery();
    }

    private SqliteConnection Connect()
    {
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = SqliteStore.DatabasePath(_directory), Pooling = false }.ToString());
        connection.Open();
        return connection;
    }

    private AuditEvent Event(string action, string? secret, string requestId) => new()
    {
        Id = Ids.New("ev_"),
        WorkspaceId = _workspace,
        At = T0,
        Action = action,
        ActorKeyId = "key_actor",
        ActorName = "tester",
        RequestId = requestId,
        Client = "127.0.0.1",
        SecretKey = secret,
        Version = secret is null ? null : 3,
        Product = "shop",
        App = "stripe_app",
        Env = "prd",
        Context = "resolve",
    };
}

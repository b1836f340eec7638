using System.Security.Cryptography;
using Latch.Core.Storage;
using Latch.Core.Storage.Sqlite;
using Microsoft.Data.Sqlite;

namespace Latch.Storage.Tests;

/// <summary>
/// The embedded store's physical form of resolution events (schema 4): one row per resolution, found by secret through
/// <c>audit_secret_uses</c>, and still a tamper-evident chain. The event-level behaviour is in the storage contract
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
        await _store.DisposeAsync();
        SqliteConnection.ClearAllPools();
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
        Assert.Equal(10L, Scalar("SELECT uses FROM audit_secret_uses WHERE workspace_id = $w AND secret_key = 'EVEN'"));
        Assert.Equal(11L, Scalar("SELECT count(*) FROM audit_secret_uses WHERE workspace_id = $w"));

        var chain = await ChainAsync();
        var first = chain.Single(e => e.Id == resolution[0].Id).Sequence;
        Assert.Equal(Enumerable.Range(0, 21).Select(i => first + i), chain.Skip(1).Select(e => e.Sequence));
        Assert.Equal(first + 20, Scalar("SELECT seq FROM audit_events WHERE workspace_id = $w AND action = 'secret.revealed'"));
        Assert.Equal(22, (await AuditChain.VerifyAsync(_store.ReadAuditChainAsync(_workspace, CancellationToken.None), CancellationToken.None)).Checked);
    }

    [Theory]
    [InlineData("UPDATE audit_events SET refs = replace(refs, '$.k7', '$.k8') WHERE action = 'secret.resolved'")]
    [InlineData("UPDATE audit_events SET refs = replace(refs, '\"KEY_3\"', '\"KEY_5\"') WHERE action = 'secret.resolved'")]
    [InlineData("UPDATE audit_events SET refs = substr(refs, 1, 40) WHERE action = 'secret.resolved'")]
    [InlineData("UPDATE audit_events SET refs = '[]' WHERE action = 'secret.resolved'")]
    [InlineData("UPDATE audit_events SET ref_count = 19 WHERE action = 'secret.resolved'")]
    [InlineData("UPDATE audit_events SET app = 'github_app' WHERE action = 'secret.resolved'")]
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

        // Reads keep working; nothing throws on the damaged row.
        Assert.NotEmpty(await _store.QueryAuditAsync(_workspace, new AuditQuery(Secret: "KEY_1"), CancellationToken.None));
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

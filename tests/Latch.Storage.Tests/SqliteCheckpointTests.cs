using System.Security.Cryptography;
using Latch.Core.Storage;
using Latch.Core.Storage.Sqlite;
using Microsoft.Data.Sqlite;

namespace Latch.Storage.Tests;

/// <summary>
/// SQLite only: <see cref="SqliteStore.StartBackgroundCheckpoints"/> moves write-ahead-log checkpoints off the commit
/// path. The committed rows reach the database file without any commit having had to checkpoint, and nothing is lost.
/// </summary>
public sealed class SqliteCheckpointTests : IDisposable
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 1, 12, 0, 0, TimeSpan.Zero);
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "latch-checkpoint-tests-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6)));

    [Fact]
    public async Task Background_checkpoints_copy_committed_rows_into_the_database_file_and_lose_nothing()
    {
        const int events = 300; // six compact rows of 50 (a few pages): far below both the 1,000-page default and the safety net, so only the background checkpointer copies them.
        var store = SqliteStore.Open(_directory);
        await store.MigrateAsync(null, CancellationToken.None);
        var workspace = await NewWorkspaceAsync(store);
        store.StartBackgroundCheckpoints(TimeSpan.FromMilliseconds(20));
        for (var batch = 0; batch < events / 50; batch++)
        {
            await store.AppendAuditAsync(
                Enumerable.Range(0, 50).Select(i => Event(workspace, "secret.resolved", $"KEY_{i}", T0.AddSeconds(batch))).ToList(), CancellationToken.None);
        }

        // The database file alone (immutable: the log is not read) holds every committed row once a checkpoint ran.
        var deadline = TimeSpan.FromSeconds(20);
        var started = TimeProvider.System.GetTimestamp();
        long inFile = 0;
        while (TimeProvider.System.GetElapsedTime(started) < deadline)
        {
            inFile = CountInDatabaseFileOnly(workspace);
            if (inFile == events + 1)
            {
                break;
            }

            await Task.Delay(50);
        }

        Assert.Equal(events + 1, inFile);
        Assert.True(store.BackgroundCheckpoints > 0);

        // Reads through the store see everything, the chain holds, and disposing stops the checkpointer cleanly.
        var chain = new List<AuditEvent>();
        await foreach (var e in store.ReadAuditChainAsync(workspace, CancellationToken.None))
        {
            chain.Add(e);
        }

        Assert.Equal(events + 1, chain.Count);
        var (checkedCount, broken) = await AuditChain.VerifyAsync(store.ReadAuditChainAsync(workspace, CancellationToken.None), CancellationToken.None);
        Assert.Equal(events + 1, checkedCount);
        Assert.Null(broken);
        await store.DisposeAsync();

        await using var reopened = SqliteStore.Open(_directory);
        var again = 0;
        await foreach (var unused in reopened.ReadAuditChainAsync(workspace, CancellationToken.None))
        {
            again++;
        }

        Assert.Equal(events + 1, again);
    }

    [Fact]
    public async Task A_store_opened_for_inspection_refuses_to_checkpoint()
    {
        var store = SqliteStore.Open(_directory);
        await store.MigrateAsync(null, CancellationToken.None);
        await store.DisposeAsync();
        await using var inspection = SqliteStore.OpenForInspection(_directory);
        Assert.Throws<InvalidOperationException>(() => inspection.StartBackgroundCheckpoints(TimeSpan.FromMilliseconds(20)));
    }

    private long CountInDatabaseFileOnly(string workspace)
    {
        var path = SqliteStore.DatabasePath(_directory);
        var uri = "file:" + Uri.EscapeDataString(path).Replace("%2F", "/", StringComparison.Ordinal) + "?immutable=1";
        using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = uri, Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString());
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT coalesce(sum(coalesce(ref_count, 1)), 0) FROM audit_events WHERE workspace_id = $w"; // events: a compact row holds ref_count
        command.Parameters.AddWithValue("$w", workspace);
        try
        {
            return (long)command.ExecuteScalar()!;
        }
        catch (SqliteException)
        {
            return -1; // the table itself is not in the file yet
        }
    }

    private static async Task<string> NewWorkspaceAsync(ILatchStore store)
    {
        var id = Ids.New("ws_");
        var owner = new ApiKeyRecord(Ids.New("key_"), id, "owner", "owner", [], [], null, false, T0);
        await store.CreateWorkspaceAsync(new Workspace(id, "w-" + id, T0), RandomNumberGenerator.GetBytes(60), owner, SHA256.HashData(owner.Id.Select(c => (byte)c).ToArray()),
            [Event(id, "workspace.created")], CancellationToken.None);
        return id;
    }

    private static AuditEvent Event(string workspaceId, string action, string? secret = null, DateTimeOffset? at = null) => new()
    {
        Id = Ids.New("ev_"),
        WorkspaceId = workspaceId,
        At = at ?? T0,
        Action = action,
        ActorKeyId = "key_actor",
        SecretKey = secret,
        Version = secret is null ? null : 1,
    };

    /// <inheritdoc />
    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        if (Directory.Exists(_directory))
        {
            Directory.Delete(_directory, recursive: true);
        }
    }
}

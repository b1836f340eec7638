using System.Security.Cryptography;
using Latch.Core.Storage;
using Latch.Core.Storage.Postgres;
using Latch.Core.Storage.Sqlite;
using Npgsql;

namespace Latch.Storage.Tests;

/// <summary>Gives the contract tests stores of one kind: a shared one (tests use their own workspaces) and fresh ones.</summary>
public interface IStoreFixture
{
    /// <summary>A migrated store shared by the tests of a class; each test works in workspaces of its own.</summary>
    ILatchStore Shared { get; }

    /// <summary>A new, empty, migrated store (for store-wide behaviour: counts, meta, master-key rotation); disposed with the fixture.</summary>
    Task<ILatchStore> OpenFreshAsync();

    /// <summary>
    /// The store ready for master-key rotation, which is for a store nobody else uses: SQLite's needs sole access to the
    /// file, so its store is closed (its pooled connections with it) and opened again; PostgreSQL's is returned as is.
    /// </summary>
    Task<ILatchStore> ReopenAsync(ILatchStore store);
}

/// <summary>SQLite stores in temporary directories.</summary>
public sealed class SqliteStoreFixture : IStoreFixture, IAsyncLifetime
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "latch-storage-tests-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6)));
    private readonly List<ILatchStore> _stores = [];
    private ILatchStore? _shared;

    /// <inheritdoc />
    public ILatchStore Shared => _shared ?? throw new InvalidOperationException("Not initialised.");

    /// <inheritdoc />
    public async Task<ILatchStore> OpenFreshAsync()
    {
        var store = SqliteStore.Open(Path.Combine(_root, "s" + _stores.Count));
        await store.MigrateAsync(null, CancellationToken.None);
        _stores.Add(store);
        return store;
    }

    /// <inheritdoc />
    public async Task<ILatchStore> ReopenAsync(ILatchStore store)
    {
        var index = _stores.IndexOf(store);
        await store.DisposeAsync();
        var reopened = SqliteStore.Open(Path.Combine(_root, "s" + index));
        _stores[index] = reopened;
        return reopened;
    }

    /// <inheritdoc />
    public async Task InitializeAsync() => _shared = await OpenFreshAsync();

    /// <inheritdoc />
    public async Task DisposeAsync()
    {
        foreach (var store in _stores)
        {
            await store.DisposeAsync();
        }

        Directory.Delete(_root, recursive: true);
    }
}

/// <summary>
/// PostgreSQL stores in throw-away databases (<c>latch_test_&lt;hex&gt;</c>) on the server named by the admin connection
/// string in <c>LATCH_TEST_POSTGRES</c>; every database is dropped (<c>WITH (FORCE)</c>) afterwards. Without the variable
/// every test fails with how to set it: these tests never skip.
/// </summary>
public sealed class PostgresStoreFixture : IStoreFixture, IAsyncLifetime
{
    /// <summary>The variable holding the admin connection string.</summary>
    public const string Variable = "LATCH_TEST_POSTGRES";

    private readonly List<ILatchStore> _stores = [];
    private readonly List<string> _databases = [];
    private ILatchStore? _shared;

    /// <summary>The admin connection string (to the <c>postgres</c> database).</summary>
    public static string AdminConnectionString =>
        Environment.GetEnvironmentVariable(Variable) is { Length: > 0 } value
            ? value
            : throw new InvalidOperationException(
                $"{Variable} is not set, so the PostgreSQL store tests cannot run (they never skip). Run `source tests/postgres.sh` " +
                "from the repository root first (it installs PostgreSQL if needed, starts a private test cluster on 127.0.0.1:55432 and " +
                $"exports {Variable}), or run ./test.sh, which does it.");

    /// <inheritdoc />
    public ILatchStore Shared => _shared ?? throw new InvalidOperationException("Not initialised.");

    /// <summary>Connection string of the shared store's database.</summary>
    public string SharedConnectionString { get; private set; } = "";

    /// <summary>Creates an empty database and returns its connection string (dropped with the fixture).</summary>
    public async Task<string> CreateDatabaseAsync()
    {
        var name = "latch_test_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6));
        await AdminAsync($"CREATE DATABASE {name}");
        _databases.Add(name);
        return new NpgsqlConnectionStringBuilder(AdminConnectionString) { Database = name }.ConnectionString;
    }

    /// <inheritdoc />
    public async Task<ILatchStore> OpenFreshAsync() => Track(await PostgresStore.OpenAsync(await CreateDatabaseAsync(), CancellationToken.None));

    /// <inheritdoc />
    public Task<ILatchStore> ReopenAsync(ILatchStore store) => Task.FromResult(store);

    /// <summary>Keeps a store to dispose with the fixture.</summary>
    public T Track<T>(T store) where T : ILatchStore
    {
        _stores.Add(store);
        return store;
    }

    /// <summary>Runs a statement on the admin database.</summary>
    public static async Task AdminAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(AdminConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    /// <inheritdoc />
    public async Task InitializeAsync()
    {
        SharedConnectionString = await CreateDatabaseAsync();
        _shared = Track(await PostgresStore.OpenAsync(SharedConnectionString, CancellationToken.None));
    }

    /// <inheritdoc />
    public async Task DisposeAsync()
    {
        foreach (var store in _stores)
        {
            await store.DisposeAsync();
        }

        foreach (var name in _databases)
        {
            await AdminAsync($"DROP DATABASE IF EXISTS {name} WITH (FORCE)");
        }
    }
}

using System.Security.Cryptography;
using Npgsql;

namespace Latch.Server.Tests.Infrastructure;

/// <summary>
/// A throw-away database on the test PostgreSQL server named by <c>LATCH_TEST_POSTGRES</c> (set by
/// <c>tests/postgres.sh</c>, which <c>./test.sh</c> sources); dropped on dispose.
/// </summary>
internal sealed class PostgresDatabase : IAsyncDisposable
{
    private readonly string _admin;

    private PostgresDatabase(string admin, string name)
    {
        _admin = admin;
        Name = name;
        ConnectionString = new NpgsqlConnectionStringBuilder(admin) { Database = name }.ConnectionString;
    }

    /// <summary>The database's name.</summary>
    public string Name { get; }

    /// <summary>An Npgsql connection string for it.</summary>
    public string ConnectionString { get; }

    /// <summary>The admin connection string from <c>LATCH_TEST_POSTGRES</c>; fails (never skips) when unset.</summary>
    public static string AdminConnectionString =>
        Environment.GetEnvironmentVariable("LATCH_TEST_POSTGRES")
        ?? throw new InvalidOperationException(
            "LATCH_TEST_POSTGRES is not set. Run the suite with ./test.sh (it installs and starts PostgreSQL through tests/postgres.sh), " +
            "or run `source tests/postgres.sh` in your shell first.");

    /// <summary>Creates an empty database.</summary>
    public static async Task<PostgresDatabase> CreateAsync(string prefix = "latch_it")
    {
        var admin = AdminConnectionString;
        var database = new PostgresDatabase(admin, $"{prefix}_{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6))}");
        await database.AdminAsync($"CREATE DATABASE {database.Name}");
        return database;
    }

    /// <summary>Runs a statement on the admin connection (e.g. <c>CREATE DATABASE</c>, <c>pg_terminate_backend</c>).</summary>
    public async Task<object?> AdminAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(_admin);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return await command.ExecuteScalarAsync();
    }

    /// <summary>Runs a query on this database and returns the first column of the first row.</summary>
    public async Task<object?> ScalarAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return await command.ExecuteScalarAsync();
    }

    /// <summary>Another empty database on the same server (for restores), dropped with this one.</summary>
    public async Task<PostgresDatabase> SiblingAsync(string suffix)
    {
        var sibling = new PostgresDatabase(_admin, $"{Name}_{suffix}");
        await AdminAsync($"CREATE DATABASE {sibling.Name}");
        _siblings.Add(sibling);
        return sibling;
    }

    private readonly List<PostgresDatabase> _siblings = [];

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        foreach (var sibling in _siblings)
        {
            await sibling.DisposeAsync();
        }

        await AdminAsync($"DROP DATABASE IF EXISTS {Name} WITH (FORCE)");
    }
}

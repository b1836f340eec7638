using System.Security.Cryptography;
using Latch.Core.Storage.Sqlite;
using Microsoft.Data.Sqlite;

namespace Latch.Server.Tests.Storage;

/// <summary>Direct access to a data directory's SQLite files, bypassing the server (tampering, raw byte scans).</summary>
internal static class DataFiles
{
    public static string DatabasePath(string dataDirectory) => SqliteStore.DatabasePath(dataDirectory);

    /// <summary>latch.db and its -wal / -shm companions, those that exist.</summary>
    public static IReadOnlyList<string> ExistingFiles(string dataDirectory)
    {
        var db = DatabasePath(dataDirectory);
        return new[] { db, db + "-wal", db + "-shm" }.Where(File.Exists).ToList();
    }

    /// <summary>Reads a file even while SQLite has it open.</summary>
    public static byte[] ReadShared(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        using var buffer = new MemoryStream();
        stream.CopyTo(buffer);
        return buffer.ToArray();
    }

    /// <summary>SHA-256 of each existing database file, by file name.</summary>
    public static Dictionary<string, string> Hashes(string dataDirectory) =>
        ExistingFiles(dataDirectory).ToDictionary(p => Path.GetFileName(p), p => Convert.ToHexString(SHA256.HashData(ReadShared(p))));

    /// <summary>
    /// Opens and closes the file once after the server stopped (the stopped server closed its own pooled connections, see
    /// <c>Stopping_the_server_closes_its_database_connections</c>) so the files reach their final state before they are hashed.
    /// Clearing every pool here would close the connections of servers that other tests are running in parallel.
    /// </summary>
    public static void SettleAfterStop(string dataDirectory)
    {
        using var connection = Open(dataDirectory);
        connection.Close();
    }

    /// <summary>A connection of the test's own: no pooling, so disposing it really closes the file.</summary>
    public static SqliteConnection Open(string dataDirectory)
    {
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder
        {
            DataSource = DatabasePath(dataDirectory),
            Mode = SqliteOpenMode.ReadWrite,
            Pooling = false,
        }.ToString());
        connection.Open();
        return connection;
    }

    public static object? Scalar(SqliteConnection connection, string sql, params (string Name, object? Value)[] parameters)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value ?? DBNull.Value);
        }

        return command.ExecuteScalar();
    }

    public static int Execute(SqliteConnection connection, string sql, params (string Name, object? Value)[] parameters)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value ?? DBNull.Value);
        }

        return command.ExecuteNonQuery();
    }

    public static byte[] SealedValue(SqliteConnection connection, string key, int version) =>
        (byte[])(Scalar(connection, "SELECT sealed_value FROM secret_versions WHERE secret_key = $k AND version = $v", ("$k", key), ("$v", version))
            ?? throw new InvalidOperationException($"no version {version} of {key}"));

    public static void SetSealedValue(SqliteConnection connection, string key, int version, byte[] value)
    {
        var changed = Execute(connection, "UPDATE secret_versions SET sealed_value = $s WHERE secret_key = $k AND version = $v",
            ("$s", value), ("$k", key), ("$v", version));
        if (changed != 1)
        {
            throw new InvalidOperationException($"expected to change one row of {key} v{version}, changed {changed}");
        }
    }

    /// <summary>Every column of every row of the audit tables (events, and where compact rows name each secret), as text, for leak checks.</summary>
    public static string AllAuditText(string dataDirectory)
    {
        using var connection = Open(dataDirectory);
        var text = new System.Text.StringBuilder();
        foreach (var table in new[] { "audit_events", "audit_secret_ranges" })
        {
            using var command = connection.CreateCommand();
            command.CommandText = $"SELECT * FROM {table}";
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                for (var i = 0; i < reader.FieldCount; i++)
                {
                    text.Append(reader.IsDBNull(i) ? "" : Convert.ToString(reader.GetValue(i), System.Globalization.CultureInfo.InvariantCulture)).Append('|');
                }

                text.AppendLine();
            }
        }

        return text.ToString();
    }

    /// <summary>Whether <paramref name="needle"/> occurs anywhere in <paramref name="haystack"/>.</summary>
    public static bool Contains(byte[] haystack, byte[] needle) => haystack.AsSpan().IndexOf(needle) >= 0;

    /// <summary>
    /// Starts <c>latch serve</c> on a stopped data directory and asserts the master-key refusal: exit code
    /// <see cref="LatchServer.MasterKeyExitCode"/>, a message naming the master key, and every database file byte-for-byte
    /// as it was. Returns what the server printed, for further assertions.
    /// </summary>
    public static async Task<string> AssertServeRefusesOverTheMasterKeyAsync(string dataDirectory, string? masterKey, string? bootstrapKey = Infrastructure.TestServer.BootstrapKey)
    {
        SettleAfterStop(dataDirectory);
        var before = Hashes(dataDirectory);
        Assert.Contains("latch.db", before.Keys);
        using var output = new StringWriter();
        using var patience = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        var exit = await LatchServer.RunAsync(new ServeOptions
        {
            DataDirectory = dataDirectory,
            MasterKey = masterKey,
            Urls = "http://127.0.0.1:0",
            BootstrapKey = bootstrapKey,
        }, output, patience.Token);

        Assert.Equal(LatchServer.MasterKeyExitCode, exit);
        Assert.Contains("master key", output.ToString(), StringComparison.OrdinalIgnoreCase);
        Assert.Equal(before, Hashes(dataDirectory));
        return output.ToString();
    }
}

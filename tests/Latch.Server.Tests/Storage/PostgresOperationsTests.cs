using System.Diagnostics;
using System.Net;
using System.Text;
using Latch.Server.Tests.Infrastructure;
using Npgsql;

namespace Latch.Server.Tests.Storage;

/// <summary>
/// Issue 7's operations on PostgreSQL, with the real <c>latch</c> executable: a refused master key changes nothing,
/// backup and restore with <c>pg_dump</c>/<c>pg_restore</c> plus the master key, and master-key rotation.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class PostgresOperationsTests
{
    [Fact]
    public async Task A_backup_restored_with_pg_restore_and_the_master_key_serves_every_value_and_a_valid_chain()
    {
        await using var db = await PostgresDatabase.CreateAsync();
        var masterKey = SecretCalls.NewMasterKey();
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        long eventsBefore;
        using (var latch = await MultiInstanceTests.StartAsync(db, masterKey))
        {
            using var client = latch.Client(TestServer.BootstrapKey);
            for (var i = 0; i < 10; i++)
            {
                var key = $"BACKED_UP_{i}";
                values[key] = SecretCalls.DistinctValue($"b{i}");
                await client.CreateSecretAsync(new { key, value = values[key] });
            }

            values["BACKED_UP_3"] = SecretCalls.DistinctValue("rotated");
            Assert.Equal(HttpStatusCode.OK, (await client.PatchJsonAsync("/v1/secrets/BACKED_UP_3", new { value = values["BACKED_UP_3"] })).StatusCode);
            Assert.Equal(values["BACKED_UP_5"], await client.ResolveValueAsync("BACKED_UP_5"));
            var verify = await (await client.GetAsync("/v1/audit/verify")).ReadJsonAsync();
            Assert.True(verify["ok"]!.GetValue<bool>());
            eventsBefore = verify["checked"]!.GetValue<long>();
        }

        var dump = Path.Combine(TestServer.NewDataDirectory(), "latch.dump");
        Directory.CreateDirectory(Path.GetDirectoryName(dump)!);
        await PgToolAsync("pg_dump", db.ConnectionString, "--format=custom", "--file", dump);
        var dumped = await File.ReadAllBytesAsync(dump);
        Assert.All(values.Values, v => Assert.False(DataFiles.Contains(dumped, Encoding.UTF8.GetBytes(v)), "the backup holds a value in plaintext"));
        var restored = await db.SiblingAsync("restored");
        await PgToolAsync("pg_restore", restored.ConnectionString, "--no-owner", "--exit-on-error", dump);

        // The restored copy without the right master key: refused, nothing changed.
        var auditRows = await restored.ScalarAsync("SELECT count(*) FROM audit_events");
        var wrong = LatchProcess.Launch(TestServer.NewDataDirectory(), SecretCalls.NewMasterKey(), new Uri("http://127.0.0.1:1/"), ["--store", "postgres", "--connection", restored.ConnectionString]);
        using (wrong)
        {
            Assert.Equal(3, await wrong.WaitForExitAsync(TimeSpan.FromSeconds(60)));
            Assert.Contains("does not open the store", wrong.Output, StringComparison.Ordinal);
            Assert.DoesNotContain("Password", wrong.Output, StringComparison.OrdinalIgnoreCase);
        }

        Assert.Equal(auditRows, await restored.ScalarAsync("SELECT count(*) FROM audit_events"));

        // With the master key: every value, and the chain verifies over every event of the backup.
        using var again = await MultiInstanceTests.StartAsync(restored, masterKey);
        using var viaRestored = again.Client(TestServer.BootstrapKey);
        foreach (var (key, value) in values)
        {
            Assert.Equal(value, await viaRestored.ResolveValueAsync(key));
        }

        var after = await (await viaRestored.GetAsync("/v1/audit/verify")).ReadJsonAsync();
        Assert.True(after["ok"]!.GetValue<bool>(), after.ToJsonString());
        Assert.True(after["checked"]!.GetValue<long>() >= eventsBefore + values.Count, after.ToJsonString());
    }

    [Fact]
    public async Task PostgreSQL_needs_a_master_key_given_to_the_instance_and_never_generates_one()
    {
        await using var db = await PostgresDatabase.CreateAsync();
        var dir = TestServer.NewDataDirectory();
        using var latch = LatchProcess.Launch(dir, "", new Uri("http://127.0.0.1:1/"), ["--store", "postgres", "--connection", db.ConnectionString]);
        Assert.Equal(3, await latch.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        Assert.Contains("LATCH_MASTER_KEY", latch.Output, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(dir, "master.key")));
        Assert.Equal(0L, await db.ScalarAsync("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"));
    }

    [Fact]
    public async Task Master_key_rotation_works_on_PostgreSQL()
    {
        await using var db = await PostgresDatabase.CreateAsync();
        var oldKey = SecretCalls.NewMasterKey();
        var value = SecretCalls.DistinctValue("kept");
        using (var latch = await MultiInstanceTests.StartAsync(db, oldKey))
        {
            using var client = latch.Client(TestServer.BootstrapKey);
            await client.CreateSecretAsync(new { key = "SURVIVES_ROTATION", value });
        }

        var newKeyFile = Path.Combine(TestServer.NewDataDirectory(), "new.key");
        Directory.CreateDirectory(Path.GetDirectoryName(newKeyFile)!);
        var newKey = SecretCalls.NewMasterKey();
        await File.WriteAllTextAsync(newKeyFile, newKey + "\n");
        var (exit, output) = await RunLatchAsync(oldKey, "master-key", "rotate", "--store", "postgres", "--connection", db.ConnectionString, "--new-key-file", newKeyFile);
        Assert.True(exit == 0, output);
        Assert.Contains("Rotated the master key", output, StringComparison.Ordinal);

        using (var refused = LatchProcess.Launch(TestServer.NewDataDirectory(), oldKey, new Uri("http://127.0.0.1:1/"), ["--store", "postgres", "--connection", db.ConnectionString]))
        {
            Assert.Equal(3, await refused.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        }

        using var rotated = await MultiInstanceTests.StartAsync(db, newKey);
        using var viaRotated = rotated.Client(TestServer.BootstrapKey);
        Assert.Equal(value, await viaRotated.ResolveValueAsync("SURVIVES_ROTATION"));
        var verify = await (await viaRotated.GetAsync("/v1/audit/verify")).ReadJsonAsync();
        Assert.True(verify["ok"]!.GetValue<bool>(), verify.ToJsonString());
    }

    [Fact]
    public async Task Control_characters_in_property_names_are_audited_on_PostgreSQL_and_never_fail_a_batch()
    {
        // PostgreSQL text cannot hold NUL: the audit path must escape it, or the whole group commit would fail (503).
        await using var db = await PostgresDatabase.CreateAsync();
        await using var server = await TestServer.StartAsync(configure: o => o with { Store = StoreKind.Postgres, Connection = db.ConnectionString });
        await server.Owner.CreateSecretAsync(new { key = "NUL_OK", value = "nul-ok-value" });

        var failing = await server.Owner.ResolveAsync(System.Text.Json.Nodes.JsonNode.Parse("""{"a\u0000b":"$Token{NUL_OK}","gone\u0000":"$Token{NOPE}"}""")!, "any_app", "dev");
        var problem = await failing.AssertProblemAsync(422, "secret_not_found");
        Assert.Equal("$['gone\\u0000']", problem["errors"]![0]!["path"]!.GetValue<string>());

        var parallel = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ =>
            server.Owner.ResolveAsync(System.Text.Json.Nodes.JsonNode.Parse("""{"a\u0000b":"$Token{NUL_OK}","c\r\nd":"$Token{NUL_OK}"}""")!, "any_app", "dev")));
        Assert.All(parallel, r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
        var verify = await (await server.Owner.GetAsync("/v1/audit/verify")).ReadJsonAsync();
        Assert.True(verify["ok"]!.GetValue<bool>(), verify.ToJsonString());
        // 8 resolutions × 2 references, each audited with its escaped path (plus the failing request's denial).
        Assert.True((long)(await db.ScalarAsync("SELECT count(*) FROM audit_events WHERE action = 'secret.resolved' AND path LIKE '%\\u00%'"))! == 16);
    }

    /// <summary>Runs a PostgreSQL client tool against the database of an Npgsql connection string (password via PGPASSWORD).</summary>
    private static async Task PgToolAsync(string tool, string connectionString, params string[] arguments)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        var start = new ProcessStartInfo(tool) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var (flag, v) in new[] { ("--host", builder.Host), ("--port", builder.Port.ToString(System.Globalization.CultureInfo.InvariantCulture)), ("--username", builder.Username), ("--dbname", builder.Database) })
        {
            if (!string.IsNullOrEmpty(v))
            {
                start.ArgumentList.Add(flag);
                start.ArgumentList.Add(v);
            }
        }

        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        if (!string.IsNullOrEmpty(builder.Password))
        {
            start.Environment["PGPASSWORD"] = builder.Password;
        }

        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        Assert.True(process.ExitCode == 0, $"{tool} exited {process.ExitCode}: {await stderr}{await stdout}");
    }

    /// <summary>Runs the <c>latch</c> CLI (not the server) with <c>LATCH_MASTER_KEY</c> set.</summary>
    private static async Task<(int Exit, string Output)> RunLatchAsync(string masterKey, params string[] arguments)
    {
        var start = new ProcessStartInfo(LatchProcess.DotnetHost())
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "latch.dll"));
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment.Remove("LATCH_STORE");
        start.Environment.Remove("LATCH_CONNECTION");
        start.Environment["LATCH_MASTER_KEY"] = masterKey;
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        return (process.ExitCode, await stdout + await stderr);
    }
}

using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text;
using Latch.Server.Tests.Infrastructure;

namespace Latch.Server.Tests.Storage;

/// <summary>SPEC §6: the embedded SQLite store survives a hard kill, runs in WAL mode with numbered migrations, and never holds plaintext.</summary>
public sealed class DurabilityTests
{
    [Fact]
    public async Task Every_acknowledged_secret_survives_a_kill_9_of_the_latch_process()
    {
        var dir = TestServer.NewDataDirectory();
        var masterKey = SecretCalls.NewMasterKey();
        var values = Enumerable.Range(0, 20).ToDictionary(i => $"KILLED_{i:D2}", i => SecretCalls.DistinctValue($"survivor{i}"));

        using (var latch = await LatchProcess.StartAsync(dir, masterKey))
        {
            using var client = latch.Client(TestServer.BootstrapKey);
            foreach (var (key, value) in values)
            {
                var response = await client.PostAsJsonAsync("/v1/secrets", new { key, value });
                Assert.True(response.StatusCode == HttpStatusCode.Created, $"{key}: {(int)response.StatusCode}\n{latch.Output}");
            }

            // Immediately after the last acknowledgement: no graceful shutdown, no checkpoint.
            latch.KillHard();
        }

        await using var again = await TestServer.StartAsync(dir, masterKey);
        Assert.Equal(values.Keys.Order(StringComparer.Ordinal), (await again.Owner.ListKeysAsync()).Order(StringComparer.Ordinal));
        foreach (var (key, value) in values)
        {
            Assert.Equal(value, await again.Owner.RevealValueAsync(key));
            Assert.Equal(value, await again.Owner.ResolveValueAsync(key));
        }
    }

    [Fact]
    public async Task The_store_runs_in_wal_mode_with_numbered_migrations()
    {
        await using var server = await TestServer.StartAsync();
        await server.Owner.CreateSecretAsync(new { key = "WAL_CHECK", value = "wal-check-value" });

        using var db = DataFiles.Open(server.DataDirectory);
        Assert.Equal("wal", (string?)DataFiles.Scalar(db, "PRAGMA journal_mode"), StringComparer.OrdinalIgnoreCase);

        var versions = new List<string>();
        using (var command = db.CreateCommand())
        {
            command.CommandText = "SELECT version, name, success FROM schema_migrations WHERE version IS NOT NULL AND version <> '0' ORDER BY id";
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                versions.Add(reader.GetString(0));
                Assert.StartsWith($"V{reader.GetString(0)}__", reader.GetString(1), StringComparison.Ordinal);
                Assert.True(reader.GetBoolean(2), $"migration {reader.GetString(1)} did not succeed");
            }
        }

        Assert.Contains("1", versions);
        Assert.All(versions, v => Assert.True(int.TryParse(v, out var n) && n >= 1, $"migration version '{v}' is not a number"));
        Assert.Equal(versions.Count, versions.Distinct(StringComparer.Ordinal).Count());
    }

    [Fact]
    public async Task A_restart_does_not_reapply_migrations_or_lose_data()
    {
        var dir = TestServer.NewDataDirectory();
        var masterKey = SecretCalls.NewMasterKey();
        await using (var server = await TestServer.StartAsync(dir, masterKey))
        {
            await server.Owner.CreateSecretAsync(new { key = "KEPT", value = "kept-value-1" });
        }

        long migrationsAfterFirst;
        DataFiles.SettleAfterStop(dir);
        using (var db = DataFiles.Open(dir))
        {
            migrationsAfterFirst = (long)DataFiles.Scalar(db, "SELECT count(*) FROM schema_migrations")!;
        }

        await using var again = await TestServer.StartAsync(dir, masterKey);
        Assert.Equal("kept-value-1", await again.Owner.ResolveValueAsync("KEPT"));
        using var check = DataFiles.Open(dir);
        Assert.Equal(migrationsAfterFirst, (long)DataFiles.Scalar(check, "SELECT count(*) FROM schema_migrations")!);
    }

    [Fact]
    public async Task No_secret_value_is_in_the_database_files_in_plaintext_utf16_or_base64()
    {
        var dir = TestServer.NewDataDirectory();
        var masterKey = SecretCalls.NewMasterKey();
        var values = new List<string>();
        var keys = new List<string>();
        var current = new Dictionary<string, string>(StringComparer.Ordinal);
        await using (var server = await TestServer.StartAsync(dir, masterKey))
        {
            for (var i = 0; i < 30; i++)
            {
                var key = $"PLAIN_CHECK_{i:D2}";
                var value = SecretCalls.DistinctValue($"plaintext{i}");
                keys.Add(key);
                values.Add(value);
                current[key] = value;
                await server.Owner.CreateSecretAsync(new { key, value, description = "no plaintext here" });
                if (i % 3 == 0)
                {
                    for (var r = 0; r < 2; r++)
                    {
                        var rotated = SecretCalls.DistinctValue($"rotated{i}x{r}");
                        values.Add(rotated);
                        current[key] = rotated;
                        var response = await server.Owner.PatchJsonAsync($"/v1/secrets/{key}", new { value = rotated });
                        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                    }
                }
            }

            // Generated values too, and a resolution and a reveal (audited) so every code path has written.
            var generated = await server.Owner.CreateSecretAsync(new { key = "PLAIN_GENERATED" });
            values.Add(generated["value"]!.GetValue<string>());
            Assert.Equal(current["PLAIN_CHECK_27"], await server.Owner.ResolveValueAsync("PLAIN_CHECK_27"));
            Assert.Equal(current["PLAIN_CHECK_01"], await server.Owner.RevealValueAsync("PLAIN_CHECK_01"));

            AssertNoValueInFiles(dir, keys, values, "while the server runs");
        }

        AssertNoValueInFiles(dir, keys, values, "after the server stopped");
        DataFiles.SettleAfterStop(dir);
        AssertNoValueInFiles(dir, keys, values, "after the write-ahead log was checkpointed");
    }

    [Fact]
    public async Task A_second_server_on_the_same_data_directory_refuses_to_start_and_the_first_keeps_serving()
    {
        var dir = TestServer.NewDataDirectory();
        var masterKey = SecretCalls.NewMasterKey();
        var first = await TestServer.StartAsync(dir, masterKey);
        await first.Owner.CreateSecretAsync(new { key = "ONE_WRITER", value = "one-writer-value" });

        await using var second = await SecretCalls.StartServeAsync(new ServeOptions { Urls = "http://127.0.0.1:0", DataDirectory = dir, MasterKey = masterKey });
        Assert.Equal(LatchServer.StartupFailedExitCode, await second.Run);
        Assert.Contains("another latch serve is already using", second.Output, StringComparison.Ordinal);
        Assert.Equal("one-writer-value", await first.Owner.ResolveValueAsync("ONE_WRITER"));

        // Once the first stops, the directory is free again.
        await first.DisposeAsync();
        await using var third = await TestServer.StartAsync(dir, masterKey);
        Assert.Equal("one-writer-value", await third.Owner.ResolveValueAsync("ONE_WRITER"));
    }

    [Fact]
    public async Task Stopping_the_server_closes_its_database_connections()
    {
        var server = await TestServer.StartAsync();
        await server.Owner.CreateSecretAsync(new { key = "CLOSED", value = "closed-value" });
        var db = DataFiles.DatabasePath(server.DataDirectory);
        Assert.True(File.Exists(db + "-wal"));

        await server.DisposeAsync();

        // SQLite checkpoints and removes the write-ahead log when the last connection to the file closes.
        Assert.False(File.Exists(db + "-wal"), "latch.db-wal is still there: a connection of the stopped server is still open");
    }

    private static void AssertNoValueInFiles(string dir, IReadOnlyList<string> keys, IReadOnlyList<string> values, string when)
    {
        var files = DataFiles.ExistingFiles(dir);
        Assert.NotEmpty(files);
        var contents = files.ToDictionary(f => Path.GetFileName(f), DataFiles.ReadShared);

        // Control: the search does find what is stored in clear (keys), so a miss below means something.
        var all = contents.Values.SelectMany(b => b).ToArray();
        Assert.All(keys, k => Assert.True(DataFiles.Contains(all, Encoding.UTF8.GetBytes(k)), $"{when}: key {k} not found: the scan reads the wrong files"));

        foreach (var value in values)
        {
            var forms = new Dictionary<string, byte[]>
            {
                ["utf-8"] = Encoding.UTF8.GetBytes(value),
                ["utf-16le"] = Encoding.Unicode.GetBytes(value),
                ["base64"] = Encoding.ASCII.GetBytes(Convert.ToBase64String(Encoding.UTF8.GetBytes(value))),
                ["utf-8 tail"] = Encoding.UTF8.GetBytes(value[^24..]),
            };
            foreach (var (name, bytes) in contents)
            {
                foreach (var (form, needle) in forms)
                {
                    Assert.False(DataFiles.Contains(bytes, needle), $"{when}: {name} holds a secret value ({form})");
                }
            }
        }
    }
}

/// <summary>The real <c>latch</c> executable (<c>dotnet latch.dll serve</c>) as a child process.</summary>
internal sealed class LatchProcess : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private LatchProcess(Process process, Uri address)
    {
        _process = process;
        Address = address;
    }

    public Uri Address { get; }

    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    public static Task<LatchProcess> StartAsync(string dataDirectory, string masterKey) => StartAsync(dataDirectory, masterKey, []);

    /// <summary>Starts <c>latch serve</c> with extra command-line arguments (e.g. <c>--store postgres --connection …</c>).</summary>
    public static async Task<LatchProcess> StartAsync(string dataDirectory, string masterKey, IReadOnlyList<string> extraArguments)
    {
        var failures = new StringBuilder();
        for (var attempt = 0; attempt < 3; attempt++)
        {
            var address = new Uri($"http://127.0.0.1:{FreePort()}/");
            var latch = Launch(dataDirectory, masterKey, address, extraArguments);
            try
            {
                if (await latch.WaitHealthyAsync())
                {
                    return latch;
                }

                failures.AppendLine(latch.Output);
            }
            catch
            {
                latch.Dispose();
                throw;
            }

            latch.Dispose(); // Most likely the port was taken between probing and binding: try another.
        }

        throw new InvalidOperationException("latch serve never became healthy:\n" + failures);
    }

    public HttpClient Client(string apiKey)
    {
        var client = new HttpClient { BaseAddress = Address };
        client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", apiKey);
        return client;
    }

    /// <summary>Waits for the process to end by itself and returns its exit code.</summary>
    public async Task<int> WaitForExitAsync(TimeSpan patience)
    {
        using var timeout = new CancellationTokenSource(patience);
        await _process.WaitForExitAsync(timeout.Token);
        return _process.ExitCode;
    }

    /// <summary>SIGKILL: no shutdown code runs.</summary>
    public void KillHard()
    {
        _process.Kill(entireProcessTree: true);
        _process.WaitForExit();
    }

    public void Dispose()
    {
        try
        {
            if (!_process.HasExited)
            {
                KillHard();
            }
        }
        catch (InvalidOperationException)
        {
            // Never started or already gone.
        }

        _process.Dispose();
    }

    /// <summary>Starts <c>latch serve</c> without waiting; for runs that are expected to fail (see <see cref="WaitForExitAsync"/>).</summary>
    public static LatchProcess Launch(string dataDirectory, string masterKey, Uri address, IReadOnlyList<string> extraArguments)
    {
        var start = new ProcessStartInfo(DotnetHost())
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "latch.dll"));
        start.ArgumentList.Add("serve");
        start.ArgumentList.Add("--urls");
        start.ArgumentList.Add(address.GetLeftPart(UriPartial.Authority));
        start.ArgumentList.Add("--data");
        start.ArgumentList.Add(dataDirectory);
        foreach (var argument in extraArguments)
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var inherited in new[] { "LATCH_DATA", "LATCH_URL", "LATCH_API_KEY", "LATCH_STORE", "LATCH_CONNECTION", "ASPNETCORE_URLS", "DOTNET_URLS" })
        {
            start.Environment.Remove(inherited);
        }

        start.Environment["LATCH_MASTER_KEY"] = masterKey;
        start.Environment["LATCH_BOOTSTRAP_KEY"] = TestServer.BootstrapKey;
        var process = new Process { StartInfo = start };
        var latch = new LatchProcess(process, address);
        process.OutputDataReceived += (_, e) => latch.Append(e.Data);
        process.ErrorDataReceived += (_, e) => latch.Append(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return latch;
    }

    private void Append(string? line)
    {
        if (line is not null)
        {
            lock (_output)
            {
                _output.AppendLine(line);
            }
        }
    }

    private async Task<bool> WaitHealthyAsync()
    {
        using var http = new HttpClient { BaseAddress = Address, Timeout = TimeSpan.FromSeconds(5) };
        using var patience = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        while (!patience.IsCancellationRequested)
        {
            if (_process.HasExited)
            {
                return false;
            }

            try
            {
                using var response = await http.GetAsync("/healthz", patience.Token);
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    return true;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }
            catch (TaskCanceledException) when (!patience.IsCancellationRequested)
            {
                // One probe timed out; try again.
            }

            await Task.Delay(100, CancellationToken.None);
        }

        return false;
    }

    private static int FreePort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        try
        {
            return ((IPEndPoint)listener.LocalEndpoint).Port;
        }
        finally
        {
            listener.Stop();
        }
    }

    internal static string DotnetHost()
    {
        var host = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH");
        if (!string.IsNullOrEmpty(host) && File.Exists(host))
        {
            return host;
        }

        var current = Environment.ProcessPath;
        return current is not null && Path.GetFileNameWithoutExtension(current).Equals("dotnet", StringComparison.OrdinalIgnoreCase) ? current : "dotnet";
    }
}

using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;

namespace Latch.Reliability;

/// <summary>The real <c>latch serve</c> (<c>dotnet latch.dll serve</c>) as a child process, on loopback.</summary>
public sealed class LatchProcess : IDisposable
{
    /// <summary>The owner key the first start creates (LATCH_BOOTSTRAP_KEY).</summary>
    public const string BootstrapKey = "reliability-bootstrap-key-0123456789-abcdefghij";

    private static readonly Lazy<bool> SupportsEgressFlag = new(() => ServeHelp().Contains("--egress-allow", StringComparison.Ordinal));
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private LatchProcess(Process process, Uri address)
    {
        _process = process;
        Address = address;
    }

    public Uri Address { get; }

    public int Pid => _process.Id;

    public bool HasExited => _process.HasExited;

    /// <summary>The server's stdout and stderr (it never logs values).</summary>
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

    public static string NewMasterKey() => Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));

    public static async Task<LatchProcess> StartAsync(string dataDirectory, string masterKey, CancellationToken cancellationToken = default)
    {
        var failures = new StringBuilder();
        for (var attempt = 0; attempt < 3; attempt++)
        {
            var address = new Uri($"http://127.0.0.1:{FreePort()}/");
            var latch = Launch(dataDirectory, masterKey, address);
            try
            {
                if (await latch.WaitHealthyAsync(cancellationToken))
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

    /// <summary>SIGKILL: no shutdown code runs.</summary>
    public void KillHard()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }

        _process.WaitForExit();
    }

    /// <summary>SIGTERM and wait (a graceful stop).</summary>
    public void Stop(TimeSpan patience)
    {
        if (_process.HasExited)
        {
            return;
        }

        using (var term = Process.Start("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
        {
            term.WaitForExit();
        }

        if (!_process.WaitForExit(patience))
        {
            KillHard();
        }
    }

    public void Dispose()
    {
        try
        {
            KillHard();
        }
        catch (InvalidOperationException)
        {
            // Never started or already gone.
        }

        _process.Dispose();
    }

    private static LatchProcess Launch(string dataDirectory, string masterKey, Uri address)
    {
        var start = Start("serve", "--urls", address.GetLeftPart(UriPartial.Authority), "--data", dataDirectory);
        if (SupportsEgressFlag.Value)
        {
            // The echo upstream is on loopback, which the egress policy denies by default.
            start.ArgumentList.Add("--egress-allow");
            start.ArgumentList.Add("127.0.0.0/8");
        }

        start.Environment["LATCH_MASTER_KEY"] = masterKey;
        start.Environment["LATCH_BOOTSTRAP_KEY"] = BootstrapKey;
        var process = new Process { StartInfo = start };
        var latch = new LatchProcess(process, address);
        process.OutputDataReceived += (_, e) => latch.Append(e.Data);
        process.ErrorDataReceived += (_, e) => latch.Append(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return latch;
    }

    private static ProcessStartInfo Start(params string[] arguments)
    {
        var start = new ProcessStartInfo(DotnetHost())
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "latch.dll"));
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var inherited in new[] { "LATCH_DATA", "LATCH_URL", "LATCH_API_KEY", "ASPNETCORE_URLS", "DOTNET_URLS", "LATCH_EGRESS_ALLOW", "LATCH_EGRESS_DENY" })
        {
            start.Environment.Remove(inherited);
        }

        return start;
    }

    private static string ServeHelp()
    {
        using var process = Process.Start(Start("serve", "--help"))!;
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        process.WaitForExit(60_000);
        return output.GetAwaiter().GetResult() + errors.GetAwaiter().GetResult();
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

    private async Task<bool> WaitHealthyAsync(CancellationToken cancellationToken)
    {
        using var http = new HttpClient { BaseAddress = Address, Timeout = TimeSpan.FromSeconds(5) };
        using var patience = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        patience.CancelAfter(TimeSpan.FromSeconds(120));
        while (!patience.IsCancellationRequested)
        {
            if (_process.HasExited)
            {
                return false;
            }

            try
            {
                using var response = await http.GetAsync(new Uri("/healthz", UriKind.Relative), patience.Token);
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

        cancellationToken.ThrowIfCancellationRequested();
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

    private static string DotnetHost()
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

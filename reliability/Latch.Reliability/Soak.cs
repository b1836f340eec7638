using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;

namespace Latch.Reliability;

/// <summary>Options of the soak.</summary>
public sealed record SoakOptions
{
    public TimeSpan Duration { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>Requests per second, sent on a fixed schedule whatever the server's latency (open loop).</summary>
    public int Rate { get; init; } = 200;

    /// <summary>The first part of the run that the criteria ignore (JIT, caches, pools, SQLite page cache).</summary>
    public TimeSpan WarmUp { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>Latency percentiles are reported per window.</summary>
    public TimeSpan Window { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Allowed RSS growth from the first post-warm-up window to the last one (median RSS of each).</summary>
    public double MaxRssGrowth { get; init; } = 0.10;

    /// <summary>Allowed growth of the open descriptors that are not sockets (files, pipes, eventfds), at the end versus after warm-up.</summary>
    public int FdSlack { get; init; } = 4;

    /// <summary>The last window's p99 may be at most this factor of the first post-warm-up window's p99 (plus <see cref="P99FloorMs"/>).</summary>
    public double P99Factor { get; init; } = 3.0;

    public double P99FloorMs { get; init; } = 25;

    /// <summary>Whether the p99 criterion fails the run (the long run) or is only reported (CI, on a shared machine).</summary>
    public bool AssertP99 { get; init; } = true;

    public int MaxConnections { get; init; } = 64;
}

/// <summary>One window of the soak.</summary>
public sealed record SoakWindow(int Index, double StartSeconds, int Requests, double P50, double P95, double P99, double MaxMs, long RssKb, int Fds, int NonSocketFds, int ServerErrors, int TransportErrors, int Unexpected)
{
    public override string ToString() => FormattableString.Invariant($"window {Index,2} @{StartSeconds,5:0}s: {Requests,6} req | p50 {P50,6:0.0} ms p95 {P95,6:0.0} ms p99 {P99,7:0.0} ms max {MaxMs,7:0.0} ms | ") + FormattableString.Invariant($"RSS {RssKb / 1024.0,6:0.0} MiB | fds {Fds,4} (non-socket {NonSocketFds,3}) | 5xx {ServerErrors} transport {TransportErrors} unexpected {Unexpected}");
}

/// <summary>The outcome of a soak and its pass criteria.</summary>
public sealed record SoakReport(
    SoakOptions Options,
    IReadOnlyList<SoakWindow> Windows,
    long Requests,
    long ServerErrors,
    long TransportErrors,
    long Unexpected,
    IReadOnlyDictionary<string, long> ByOperation,
    IReadOnlyList<string> UnexpectedSamples,
    long RssAfterWarmUpKb,
    long RssAtEndKb,
    int NonSocketFdsAfterWarmUp,
    int NonSocketFdsAtEnd,
    int FdsAfterWarmUp,
    int FdsAtEnd,
    double FirstP99,
    double LastP99,
    double AchievedRate,
    long UpstreamWrongCredential)
{
    public double RssGrowth => RssAfterWarmUpKb == 0 ? 0 : (RssAtEndKb - RssAfterWarmUpKb) / (double)RssAfterWarmUpKb;

    public bool RssOk => RssGrowth < Options.MaxRssGrowth;

    public bool FdsOk => NonSocketFdsAtEnd <= NonSocketFdsAfterWarmUp + Options.FdSlack;

    public bool P99Ok => LastP99 <= Math.Max(FirstP99 * Options.P99Factor, FirstP99 + Options.P99FloorMs);

    public bool ErrorsOk => ServerErrors == 0 && TransportErrors == 0 && Unexpected == 0 && UpstreamWrongCredential == 0;

    public bool Ok => ErrorsOk && RssOk && FdsOk && (P99Ok || !Options.AssertP99);

    public string Summary() => (
        $"soak: {Options.Duration.TotalMinutes:0.#} min at {Options.Rate} req/s (achieved {AchievedRate:0.0}/s), {Requests} requests " +
        $"[{string.Join(", ", ByOperation.OrderBy(o => o.Key, StringComparer.Ordinal).Select(o => $"{o.Key} {o.Value}"))}]\n" +
        $"  errors: 5xx {ServerErrors}, transport {TransportErrors}, unexpected status {Unexpected}, upstream wrong credential {UpstreamWrongCredential} -> {(ErrorsOk ? "PASS" : "FAIL")}\n" +
        $"  RSS: {RssAfterWarmUpKb / 1024.0:0.0} MiB after warm-up -> {RssAtEndKb / 1024.0:0.0} MiB at the end ({RssGrowth:+0.0%;-0.0%}; limit +{Options.MaxRssGrowth:0%}) -> {(RssOk ? "PASS" : "FAIL")}\n" +
        $"  fds: non-socket {NonSocketFdsAfterWarmUp} -> {NonSocketFdsAtEnd} (slack {Options.FdSlack}) -> {(FdsOk ? "PASS" : "FAIL")}; all (incl. sockets, reported) {FdsAfterWarmUp} -> {FdsAtEnd}\n" +
        $"  p99: first post-warm-up window {FirstP99:0.0} ms, last window {LastP99:0.0} ms (limit max({Options.P99Factor}x, +{Options.P99FloorMs} ms)) -> {(P99Ok ? "PASS" : Options.AssertP99 ? "FAIL" : "over the limit (reported only)")}\n" +
        $"  overall: {(Ok ? "PASS" : "FAIL")}" +
        (UnexpectedSamples.Count == 0 ? "" : "\n  first unexpected answers: " + string.Join("; ", UnexpectedSamples)));
}

/// <summary>
/// Runs <c>latch serve</c> and sends a fixed-rate mix of requests (resolve, reveal, list, get, create, rotate, delete,
/// action runs against the echo upstream, signed webhook deliveries), sampling the server's RSS and descriptors and
/// per-window latency percentiles. Latency is measured from each request's scheduled time (no coordinated omission).
/// </summary>
public sealed class Soak
{
    private static readonly (string Name, int Weight)[] Mix =
    [
        ("resolve", 30), ("reveal", 8), ("list", 8), ("get", 6), ("create", 6), ("rotate", 8), ("delete", 4), ("action", 15), ("webhook", 15),
    ];

    private readonly SoakOptions _options;
    private readonly TextWriter _log;
    /// <summary>Per stable key, the values a read may see: the last acknowledged ones and any rotation in flight (reads race rotations).</summary>
    private readonly ConcurrentDictionary<string, ImmutableValues> _values = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<string> _deletable = new();
    private readonly ConcurrentDictionary<string, byte> _busy = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, long> _byOperation = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<string> _unexpectedSamples = new();
    private readonly string _actionValue = Dice.Value("action");
    private readonly string _hookValue = Dice.Value("hook");
    private string[] _stableKeys = [];
    private int _next;

    public Soak(SoakOptions options, TextWriter log)
    {
        _options = options;
        _log = log;
    }

    public async Task<SoakReport> RunAsync(CancellationToken cancellationToken = default)
    {
        var dir = Path.Combine(Path.GetTempPath(), "latch-soak-" + Dice.Nonce());
        Directory.CreateDirectory(dir);
        await using var upstream = await EchoUpstream.StartAsync();
        upstream.ExpectedAuthorization = "Bearer " + _actionValue;
        try
        {
            using var latch = await LatchProcess.StartAsync(dir, LatchProcess.NewMasterKey(), cancellationToken);
            using var api = new LatchApi(latch.Address, LatchProcess.BootstrapKey, _options.MaxConnections);
            var workspaceId = await api.SetUpRuntimeAsync(upstream.BaseUrl, _actionValue, _hookValue, cancellationToken);
            _stableKeys = new string[50];
            for (var i = 0; i < _stableKeys.Length; i++)
            {
                var key = $"SOAK_STABLE_{i:D3}";
                var value = Dice.Value("s");
                var created = await api.PostAsync("/v1/secrets", new { key, value }, cancellationToken);
                if (created.Status != 201)
                {
                    throw new InvalidOperationException($"seeding {key}: HTTP {created.Status}");
                }

                _values[key] = new ImmutableValues([value]);
                _stableKeys[i] = key;
            }

            var windows = await DriveAsync(latch, api, workspaceId, cancellationToken);
            var report = Report(windows, upstream.WrongCredential);
            await _log.WriteLineAsync(report.Summary());
            latch.Stop(TimeSpan.FromSeconds(30));
            return report;
        }
        finally
        {
            try
            {
                Directory.Delete(dir, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    private async Task<List<SoakWindow>> DriveAsync(LatchProcess latch, LatchApi api, string workspaceId, CancellationToken cancellationToken)
    {
        var inFlight = new ConcurrentDictionary<long, Task>();
        var records = new ConcurrentQueue<Record>();
        var samples = new List<(double At, long Rss, int Fds, int NonSocket)>();
        var clock = Stopwatch.StartNew();
        var interval = TimeSpan.FromSeconds(1.0 / _options.Rate);
        var nextSample = TimeSpan.Zero;
        var nextProgress = _options.Window;
        long sent = 0;
        while (clock.Elapsed < _options.Duration && !cancellationToken.IsCancellationRequested)
        {
            var due = interval * sent;
            var now = clock.Elapsed;
            if (now >= nextSample)
            {
                var (rss, fds, nonSocket) = Sample(latch.Pid);
                samples.Add((now.TotalSeconds, rss, fds, nonSocket));
                nextSample = now + TimeSpan.FromSeconds(1);
            }

            if (now >= nextProgress)
            {
                var (rss, fds, _) = Sample(latch.Pid);
                await _log.WriteLineAsync((
                    $"  {now.TotalSeconds,5:0}s: {sent} sent, {inFlight.Count} in flight, RSS {rss / 1024.0:0.0} MiB, fds {fds}"));
                nextProgress += _options.Window;
            }

            if (due > now)
            {
                var wait = due - now;
                if (wait > TimeSpan.FromMilliseconds(2))
                {
                    await Task.Delay(wait - TimeSpan.FromMilliseconds(1), cancellationToken);
                }

                continue;
            }

            // Send everything that is due (after a stall the schedule catches up: that is the open loop).
            var id = sent++;
            var task = OneAsync(api, workspaceId, clock, due, records);
            inFlight[id] = task;
            _ = task.ContinueWith(_ => inFlight.TryRemove(id, out Task? _), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }

        await Task.WhenAll(inFlight.Values.ToArray());
        _achievedRate = sent / clock.Elapsed.TotalSeconds;
        var end = Sample(latch.Pid);
        samples.Add((clock.Elapsed.TotalSeconds, end.RssKb, end.Fds, end.NonSocketFds));

        // Windows by scheduled time (stragglers count in the window they were sent in).
        var windows = new List<SoakWindow>();
        var all = records.ToArray();
        var count = (int)Math.Ceiling(_options.Duration / _options.Window);
        for (var i = 0; i < count; i++)
        {
            var from = (_options.Window * i).TotalSeconds;
            var to = (_options.Window * (i + 1)).TotalSeconds;
            var inWindow = all.Where(r => r.ScheduledAt >= from && r.ScheduledAt < to).ToList();
            var latencies = inWindow.Select(r => r.LatencyMs).Order().ToList();
            var windowSamples = samples.Where(s => s.At >= from && (s.At < to || (i == count - 1))).ToList();
            var rss = windowSamples.Count == 0 ? 0 : windowSamples.Select(s => s.Rss).Order().ElementAt(windowSamples.Count / 2);
            windows.Add(new SoakWindow(i, from, latencies.Count, Percentiles.Of(latencies, 50), Percentiles.Of(latencies, 95), Percentiles.Of(latencies, 99),
                latencies.Count == 0 ? 0 : latencies[^1], rss,
                windowSamples.Count == 0 ? 0 : windowSamples.Max(s => s.Fds), windowSamples.Count == 0 ? 0 : windowSamples.Max(s => s.NonSocket),
                inWindow.Count(r => r.ServerError), inWindow.Count(r => r.Transport), inWindow.Count(r => r.Unexpected)));
            await _log.WriteLineAsync(windows[^1].ToString());
        }

        return windows;
    }

    private double _achievedRate;

    private readonly record struct Record(double ScheduledAt, double LatencyMs, bool Transport, bool ServerError, bool Unexpected);

    private SoakReport Report(List<SoakWindow> windows, long wrongCredential)
    {
        var measured = windows.Where(w => w.StartSeconds >= _options.WarmUp.TotalSeconds - 0.001).ToList();
        if (measured.Count < 2)
        {
            measured = windows.Skip(Math.Max(0, windows.Count - 2)).ToList();
        }

        var first = measured.Count > 0 ? measured[0] : null;
        var last = measured.Count > 0 ? measured[^1] : null;
        return new SoakReport(
            _options,
            windows,
            windows.Sum(w => (long)w.Requests),
            windows.Sum(w => (long)w.ServerErrors),
            windows.Sum(w => (long)w.TransportErrors),
            windows.Sum(w => (long)w.Unexpected),
            new Dictionary<string, long>(_byOperation, StringComparer.Ordinal),
            _unexpectedSamples.Take(5).ToList(),
            first?.RssKb ?? 0,
            last?.RssKb ?? 0,
            first?.NonSocketFds ?? 0,
            last?.NonSocketFds ?? 0,
            first?.Fds ?? 0,
            last?.Fds ?? 0,
            first?.P99 ?? 0,
            last?.P99 ?? 0,
            _achievedRate,
            wrongCredential);
    }

    private async Task OneAsync(LatchApi api, string workspaceId, Stopwatch clock, TimeSpan scheduledAt, ConcurrentQueue<Record> records)
    {
        await Task.Yield();
        var operation = Pick();
        _byOperation.AddOrUpdate(operation, 1, (_, n) => n + 1);
        int status;
        string? problem;
        try
        {
            (status, problem) = await SendAsync(operation, api, workspaceId);
        }
        catch (Exception e) when (Dice.IsTransportFailure(e))
        {
            records.Enqueue(new Record(scheduledAt.TotalSeconds, (clock.Elapsed - scheduledAt).TotalMilliseconds, true, false, false));
            Note($"{operation}: {e.GetType().Name}");
            return;
        }

        if (problem is not null)
        {
            Note($"{operation}: HTTP {status} {problem}");
        }

        records.Enqueue(new Record(scheduledAt.TotalSeconds, (clock.Elapsed - scheduledAt).TotalMilliseconds, false,
            HttpStatus.IsServerError(status), problem is not null && !HttpStatus.IsServerError(status)));
    }

    private void Note(string what)
    {
        if (_unexpectedSamples.Count < 20)
        {
            _unexpectedSamples.Enqueue(what);
        }
    }

    private static string Pick()
    {
        var roll = Dice.Below(Mix.Sum(m => m.Weight));
        foreach (var (name, weight) in Mix)
        {
            if (roll < weight)
            {
                return name;
            }

            roll -= weight;
        }

        return Mix[0].Name;
    }

    /// <summary>One request; returns the status and, when it is not the expected one, a short description (never a value).</summary>
    private async Task<(int Status, string? Problem)> SendAsync(string operation, LatchApi api, string workspaceId)
    {
        switch (operation)
        {
            case "resolve":
            {
                var key = _stableKeys[Dice.Below(_stableKeys.Length)];
                var document = new JsonObject { ["headers"] = new JsonObject { ["Authorization"] = $"Bearer $Token{{{key}}}" }, ["n"] = 1 };
                var answer = await api.PostAsync("/v1/secrets/resolve", new { document, app = LatchApi.App, env = LatchApi.Env });
                if (answer.Status != 200)
                {
                    return (answer.Status, $"{answer.Json?["code"]}");
                }

                return (answer.Status, _values[key].Allows(answer.Json!["document"]?["headers"]?["Authorization"]?.GetValue<string>(), "Bearer ") ? null : "resolved value differs");
            }

            case "reveal":
            {
                var key = _stableKeys[Dice.Below(_stableKeys.Length)];
                var answer = await api.GetAsync($"/v1/secrets/{key}?reveal=true");
                return answer.Status != 200 ? (answer.Status, $"{answer.Json?["code"]}")
                    : (answer.Status, _values[key].Allows(answer.Json!["value"]?.GetValue<string>(), "") ? null : "revealed value differs");
            }

            case "list":
            {
                var answer = await api.GetAsync("/v1/secrets?limit=50");
                return (answer.Status, answer.Status == 200 ? null : $"{answer.Json?["code"]}");
            }

            case "get":
            {
                var answer = await api.GetAsync($"/v1/secrets/{_stableKeys[Dice.Below(_stableKeys.Length)]}");
                return (answer.Status, answer.Status == 200 ? null : $"{answer.Json?["code"]}");
            }

            case "create":
            {
                var key = string.Create(CultureInfo.InvariantCulture, $"SOAK_{Interlocked.Increment(ref _next):D7}");
                var answer = await api.PostAsync("/v1/secrets", new { key, value = Dice.Value("n") });
                if (answer.Status == 201)
                {
                    _deletable.Enqueue(key);
                }

                return (answer.Status, answer.Status == 201 ? null : $"{answer.Json?["code"]}");
            }

            case "rotate":
            {
                // Rotate a stable key; one rotation per key at a time so the expected value is known.
                var key = _stableKeys[Dice.Below(_stableKeys.Length)];
                if (!_busy.TryAdd(key, 0))
                {
                    goto case "get";
                }

                try
                {
                    var value = Dice.Value("r");
                    _values[key] = _values[key].With(value); // Readers may see it as soon as it is sent.
                    var answer = await api.PatchAsync($"/v1/secrets/{key}", new { value });

                    return (answer.Status, answer.Status == 200 ? null : $"{answer.Json?["code"]}");
                }
                finally
                {
                    _busy.TryRemove(key, out _);
                }
            }

            case "delete":
            {
                if (!_deletable.TryDequeue(out var key))
                {
                    goto case "list";
                }

                var answer = await api.DeleteAsync($"/v1/secrets/{key}");
                return (answer.Status, answer.Status == 204 ? null : $"{answer.Json?["code"]}");
            }

            case "action":
            {
                var answer = await api.RunActionAsync();
                return (answer.Status, answer.Status == 200 && answer.Json?["status"]?.GetValue<int>() == 200 ? null : $"{answer.Json?["code"]} upstream {answer.Json?["status"]}");
            }

            default:
            {
                var body = Encoding.UTF8.GetBytes($"{{\"delivery\":\"{Dice.Nonce()}\"}}");
                var answer = await api.DeliverWebhookAsync(workspaceId, _hookValue, body);
                return (answer.Status, answer.Status == 204 ? null : $"{answer.Json?["code"]}");
            }
        }
    }

    /// <summary>RSS (kB) from /proc/&lt;pid&gt;/status and descriptors from /proc/&lt;pid&gt;/fd (sockets counted apart).</summary>
    public static (long RssKb, int Fds, int NonSocketFds) Sample(int pid)
    {
        long rss = 0;
        try
        {
            foreach (var line in File.ReadLines($"/proc/{pid}/status"))
            {
                if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                {
                    rss = long.Parse(line["VmRSS:".Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
                }
            }

            var fds = 0;
            var nonSocket = 0;
            foreach (var fd in Directory.EnumerateFileSystemEntries($"/proc/{pid}/fd"))
            {
                fds++;
                try
                {
                    var target = new FileInfo(fd).LinkTarget ?? "";
                    if (!target.StartsWith("socket:", StringComparison.Ordinal))
                    {
                        nonSocket++;
                    }
                }
                catch (IOException)
                {
                    // Closed while listing.
                }
            }

            return (rss, fds, nonSocket);
        }
        catch (IOException)
        {
            return (rss, 0, 0);
        }
        catch (UnauthorizedAccessException)
        {
            return (rss, 0, 0);
        }
    }

    /// <summary>The last few values of a key (only rotations add one; at most one rotation per key is in flight).</summary>
    private sealed class ImmutableValues(string[] values)
    {
        public ImmutableValues With(string value) => new([.. values.TakeLast(2), value]);

        public bool Allows(string? seen, string prefix) => seen is not null && values.Any(v => string.Equals(seen, prefix + v, StringComparison.Ordinal));
    }
}

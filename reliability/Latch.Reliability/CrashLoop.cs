using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using Microsoft.Data.Sqlite;

namespace Latch.Reliability;

/// <summary>Options of the crash loop.</summary>
public sealed record CrashLoopOptions
{
    public int Cycles { get; init; } = 20;

    /// <summary>Concurrent clients; each owns its keys, so every key's history is sequential and checkable exactly.</summary>
    public int Workers { get; init; } = 6;

    /// <summary>The kill comes at a random moment in [min, max) after the load started.</summary>
    public TimeSpan MinLoad { get; init; } = TimeSpan.FromSeconds(2);

    public TimeSpan MaxLoad { get; init; } = TimeSpan.FromSeconds(8);

    /// <summary>Where the data directory goes (deleted at the end unless <see cref="KeepData"/>).</summary>
    public string? DataDirectory { get; init; }

    public bool KeepData { get; init; }
}

/// <summary>One cycle's numbers.</summary>
public sealed record CycleResult(
    int Cycle,
    double KilledAfterSeconds,
    int AckedCreates,
    int AckedRotations,
    int AckedDeletes,
    int AckedResolutions,
    int AckedActions,
    int AckedReveals,
    int InFlightAtKill,
    double RestartSeconds,
    int KeysChecked,
    int ValueChecks,
    string Integrity,
    bool ChainOk,
    long ChainChecked,
    int AckedResolutionRequests,
    int AckedResolutionRequestsAudited,
    int UnackedResolutionRequests,
    int UnackedResolutionRequestsAudited,
    IReadOnlyList<string> Failures)
{
    public bool Ok => Failures.Count == 0;

    public override string ToString() => (
        $"cycle {Cycle,3}: kill -9 after {KilledAfterSeconds,4:0.0}s | acked {AckedCreates} creates, {AckedRotations} rotations, {AckedDeletes} deletes, " +
        $"{AckedResolutions} resolves, {AckedActions} actions, {AckedReveals} reveals | writes in flight {InFlightAtKill} | restart {RestartSeconds:0.0}s | " +
        $"keys {KeysChecked} ok, {ValueChecks} values compared | integrity_check {Integrity} | chain {(ChainOk ? "ok" : "BROKEN")} ({ChainChecked} events) | " +
        $"acked resolution requests audited {AckedResolutionRequestsAudited}/{AckedResolutionRequests} | " +
        $"unacked: {UnackedResolutionRequests} sent, {UnackedResolutionRequestsAudited} audited, {UnackedResolutionRequests - UnackedResolutionRequestsAudited} without events" +
        (Ok ? "" : " | FAILED: " + string.Join("; ", Failures)));
}

/// <summary>The outcome of a crash loop.</summary>
public sealed record CrashLoopReport(IReadOnlyList<CycleResult> Cycles, TimeSpan Duration, long UpstreamWrongCredential)
{
    public bool Ok => Cycles.All(c => c.Ok) && UpstreamWrongCredential == 0;

    public string Summary()
    {
        var acked = Cycles.Sum(c => c.AckedResolutionRequests);
        var ackedAudited = Cycles.Sum(c => c.AckedResolutionRequestsAudited);
        var unacked = Cycles.Sum(c => c.UnackedResolutionRequests);
        var unackedAudited = Cycles.Sum(c => c.UnackedResolutionRequestsAudited);
        return (
            $"crash loop: {Cycles.Count} cycles in {Duration.TotalMinutes:0.0} min, {Cycles.Count(c => c.Ok)} passed | " +
            $"acked writes: {Cycles.Sum(c => c.AckedCreates)} creates, {Cycles.Sum(c => c.AckedRotations)} rotations, {Cycles.Sum(c => c.AckedDeletes)} deletes — all present after every kill: {(Cycles.All(c => c.Ok) ? "yes" : "NO")} | " +
            $"values compared: {Cycles.Sum(c => c.ValueChecks)} | integrity_check ok: {Cycles.Count(c => c.Integrity == "ok")}/{Cycles.Count} | chain ok: {Cycles.Count(c => c.ChainOk)}/{Cycles.Count} | " +
            $"resolution audit (SPEC §6 group commit): acknowledged requests {ackedAudited}/{acked} audited (lost: {acked - ackedAudited}); " +
            $"unacknowledged requests {unacked}: {unackedAudited} audited, {unacked - unackedAudited} without events (allowed: lost in the batch, or never reached the server) | " +
            $"upstream saw a wrong credential: {UpstreamWrongCredential}");
    }
}

/// <summary>
/// Runs <c>latch serve</c>, drives concurrent creates, rotations, deletes, resolutions, reveals and action runs, kills it
/// with SIGKILL at a random moment, restarts it on the same data directory and master key, and checks everything that
/// was acknowledged. Values are compared, never printed.
/// </summary>
public sealed class CrashLoop
{
    private readonly CrashLoopOptions _options;
    private readonly TextWriter _log;
    private readonly ConcurrentDictionary<string, KeyModel> _keys = new(StringComparer.Ordinal);
    private readonly string _actionValue = Dice.Value("action");
    private readonly string _hookValue = Dice.Value("hook");
    private int _nextKey;

    public CrashLoop(CrashLoopOptions options, TextWriter log)
    {
        _options = options;
        _log = log;
    }

    public async Task<CrashLoopReport> RunAsync(CancellationToken cancellationToken = default)
    {
        var total = Stopwatch.StartNew();
        var dir = _options.DataDirectory ?? Path.Combine(Path.GetTempPath(), "latch-crash-loop-" + Dice.Nonce());
        Directory.CreateDirectory(dir);
        var masterKey = LatchProcess.NewMasterKey();
        await using var upstream = await EchoUpstream.StartAsync();
        upstream.ExpectedAuthorization = "Bearer " + _actionValue;
        var results = new List<CycleResult>();
        try
        {
            for (var cycle = 1; cycle <= _options.Cycles; cycle++)
            {
                var result = await CycleAsync(cycle, dir, masterKey, upstream, cancellationToken);
                results.Add(result);
                await _log.WriteLineAsync(result.ToString());
                await _log.FlushAsync(cancellationToken);
                if (!result.Ok && result.Failures.Any(f => f.StartsWith("fatal", StringComparison.Ordinal)))
                {
                    break;
                }
            }
        }
        finally
        {
            if (!_options.KeepData)
            {
                TryDelete(dir);
            }
        }

        var report = new CrashLoopReport(results, total.Elapsed, upstream.WrongCredential);
        await _log.WriteLineAsync(report.Summary());
        return report;
    }

    private async Task<CycleResult> CycleAsync(int cycle, string dir, string masterKey, EchoUpstream upstream, CancellationToken cancellationToken)
    {
        var failures = new List<string>();
        var cycleStart = DateTimeOffset.FromUnixTimeSeconds(TimeProvider.System.GetUtcNow().ToUnixTimeSeconds() - 2);
        using var latch = await LatchProcess.StartAsync(dir, masterKey, cancellationToken);
        double restartSeconds;
        using var api = new LatchApi(latch.Address, LatchProcess.BootstrapKey, timeout: TimeSpan.FromSeconds(60));

        // 1. Start (the first time: set up the runtime the action runs use).
        var workspaceId = cycle == 1
            ? await api.SetUpRuntimeAsync(upstream.BaseUrl, _actionValue, _hookValue, cancellationToken)
            : (await api.GetAsync("/v1/workspace", cancellationToken)).Json?["id"]?.GetValue<string>();

        // 2. Load, then SIGKILL at a random moment.
        var ledger = new Ledger();
        using var stop = new CancellationTokenSource();
        var workers = Enumerable.Range(0, _options.Workers).Select(w => Task.Run(() => WorkerAsync(cycle, w, api, ledger, workspaceId, stop.Token), CancellationToken.None)).ToArray();
        var loadFor = TimeSpan.FromMilliseconds(Dice.Between((int)_options.MinLoad.TotalMilliseconds, (int)_options.MaxLoad.TotalMilliseconds));
        await Task.Delay(loadFor, cancellationToken);
        latch.KillHard();
        await stop.CancelAsync();
        await Task.WhenAll(workers);
        failures.AddRange(ledger.Failures);

        // 3. The database file is consistent (a copy: the next start, not this check, recovers the write-ahead log).
        var integrity = IntegrityCheck(dir);
        if (integrity != "ok")
        {
            failures.Add("PRAGMA integrity_check: " + integrity);
        }

        // 4. Restart on the same data directory and master key: everything acknowledged is there, decrypts to what was
        //    written, the chain verifies, and every acknowledged resolution's events survived the kill.
        int keysChecked, valueChecks, ackedAudited, unackedAudited;
        bool chainOk;
        long chainChecked;
        var inFlight = _keys.Values.Count(k => k.Pending is not null);
        var restart = Stopwatch.StartNew();
        using (var again = await LatchProcess.StartAsync(dir, masterKey, cancellationToken))
        using (var api2 = new LatchApi(again.Address, LatchProcess.BootstrapKey, timeout: TimeSpan.FromSeconds(60)))
        {
            restartSeconds = restart.Elapsed.TotalSeconds;
            var (paths, requestIds) = await ResolvedEventsAsync(api2, cycleStart, cancellationToken);
            (keysChecked, valueChecks) = await VerifyKeysAsync(api2, failures, cancellationToken);
            var chain = await api2.GetAsync("/v1/audit/verify", cancellationToken);
            chainOk = chain.Ok && chain.Json!["ok"]!.GetValue<bool>();
            chainChecked = chain.Json?["checked"]?.GetValue<long>() ?? 0;
            if (!chainOk)
            {
                failures.Add($"audit chain broken at {chain.Json?["first_broken"]?.ToJsonString()}");
            }

            ackedAudited = 0;
            foreach (var request in ledger.AckedResolutions)
            {
                var audited = request.Nonce is { } nonce ? paths.Contains($"$.n_{nonce}") : requestIds.Contains(request.RequestId ?? "");
                if (audited)
                {
                    ackedAudited++;
                }
                else
                {
                    failures.Add($"acknowledged {request.Kind} (request id {request.RequestId}) has no secret.resolved event after the kill");
                }
            }

            unackedAudited = ledger.UnackedResolutions.Count(nonce => paths.Contains($"$.n_{nonce}"));
            again.Stop(TimeSpan.FromSeconds(30));
        }

        return new CycleResult(cycle, loadFor.TotalSeconds, ledger.Creates, ledger.Rotations, ledger.Deletes, ledger.Resolves, ledger.Actions, ledger.Reveals,
            inFlight, restartSeconds, keysChecked, valueChecks, integrity, chainOk, chainChecked,
            ledger.AckedResolutions.Count, ackedAudited, ledger.UnackedResolutions.Count, unackedAudited, failures);
    }

    /// <summary>One client: random operations on its own keys until stopped or the server is gone.</summary>
    private async Task WorkerAsync(int cycle, int worker, LatchApi api, Ledger ledger, string? workspaceId, CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            var mine = _keys.Values.Where(k => k.Worker == worker && k.Exists && k.Pending is null).ToList();
            var roll = Dice.Below(100);
            try
            {
                if (mine.Count < 3 || roll < 12)
                {
                    await CreateAsync(cycle, worker, api, ledger);
                }
                else if (roll < 32)
                {
                    await RotateAsync(mine[Dice.Below(mine.Count)], api, ledger);
                }
                else if (roll < 40)
                {
                    await DeleteAsync(mine[Dice.Below(mine.Count)], api, ledger);
                }
                else if (roll < 75)
                {
                    await ResolveAsync(mine[Dice.Below(mine.Count)], api, ledger);
                }
                else if (roll < 90)
                {
                    await ActionAsync(api, ledger);
                }
                else
                {
                    await RevealAsync(mine[Dice.Below(mine.Count)], api, ledger);
                }
            }
            catch (Exception e) when (Dice.IsTransportFailure(e))
            {
                return; // The server is gone (killed): whatever was in flight stays pending.
            }
        }
    }

    private async Task CreateAsync(int cycle, int worker, LatchApi api, Ledger ledger)
    {
        var key = string.Create(CultureInfo.InvariantCulture, $"CL_{cycle:D3}_{worker}_{Interlocked.Increment(ref _nextKey):D6}");
        var model = new KeyModel(key, worker) { Pending = new PendingWrite(WriteKind.Create, Dice.Value("c")) };
        _keys[key] = model;
        var answer = await api.PostAsync("/v1/secrets", new { key, value = model.Pending.Value });
        if (answer.Status == 201)
        {
            model.Apply(model.Pending, answer.Json!["version"]!.GetValue<int>());
            ledger.Count(WriteKind.Create);
        }
        else
        {
            ledger.Fail($"create {key}: HTTP {answer.Status}");
            _keys.TryRemove(key, out _);
        }
    }

    private static async Task RotateAsync(KeyModel model, LatchApi api, Ledger ledger)
    {
        model.Pending = new PendingWrite(WriteKind.Rotate, Dice.Value("r"));
        var answer = await api.PatchAsync($"/v1/secrets/{model.Key}", new { value = model.Pending.Value });
        if (answer.Status == 200)
        {
            model.Apply(model.Pending, answer.Json!["version"]!.GetValue<int>());
            ledger.Count(WriteKind.Rotate);
        }
        else
        {
            ledger.Fail($"rotate {model.Key}: HTTP {answer.Status}");
            model.Pending = null;
        }
    }

    private static async Task DeleteAsync(KeyModel model, LatchApi api, Ledger ledger)
    {
        model.Pending = new PendingWrite(WriteKind.Delete, null);
        var answer = await api.DeleteAsync($"/v1/secrets/{model.Key}");
        if (answer.Status == 204)
        {
            model.Apply(model.Pending, model.Version);
            ledger.Count(WriteKind.Delete);
        }
        else
        {
            ledger.Fail($"delete {model.Key}: HTTP {answer.Status}");
            model.Pending = null;
        }
    }

    private static async Task ResolveAsync(KeyModel model, LatchApi api, Ledger ledger)
    {
        var nonce = Dice.Nonce();
        ledger.Sent(nonce);
        var document = new JsonObject { ["n_" + nonce] = $"$Token{{{model.Key}}}" };
        var answer = await api.PostAsync("/v1/secrets/resolve", new { document, app = LatchApi.App, env = LatchApi.Env });
        if (answer.Status != 200)
        {
            ledger.Fail($"resolve {model.Key}: HTTP {answer.Status} {answer.Json?["code"]}");
            ledger.Unsent(nonce);
            return;
        }

        ledger.Acked(new AckedResolution("resolve", nonce, answer.RequestId));
        if (!string.Equals(answer.Json!["document"]?["n_" + nonce]?.GetValue<string>(), model.Value, StringComparison.Ordinal))
        {
            ledger.Fail($"resolve {model.Key}: the value is not the last acknowledged one");
        }
    }

    private static async Task ActionAsync(LatchApi api, Ledger ledger)
    {
        var answer = await api.RunActionAsync();
        if (answer.Status != 200 || answer.Json?["status"]?.GetValue<int>() != 200)
        {
            ledger.Fail($"action run: HTTP {answer.Status} {answer.Json?["code"]} upstream {answer.Json?["status"]}");
            return;
        }

        ledger.Acked(new AckedResolution("action run", null, answer.Json["request_id"]?.GetValue<string>() ?? answer.RequestId));
    }

    private static async Task RevealAsync(KeyModel model, LatchApi api, Ledger ledger)
    {
        var answer = await api.GetAsync($"/v1/secrets/{model.Key}?reveal=true");
        if (answer.Status != 200)
        {
            ledger.Fail($"reveal {model.Key}: HTTP {answer.Status}");
            return;
        }

        ledger.CountReveal();
        if (!string.Equals(answer.Json!["value"]?.GetValue<string>(), model.Value, StringComparison.Ordinal))
        {
            ledger.Fail($"reveal {model.Key}: the value is not the last acknowledged one");
        }
    }

    /// <summary>Every tracked key against the model: present/absent, version, value (reveal and resolve).</summary>
    private async Task<(int Keys, int Values)> VerifyKeysAsync(LatchApi api, List<string> failures, CancellationToken cancellationToken)
    {
        var listed = new HashSet<string>(StringComparer.Ordinal);
        string? cursor = null;
        do
        {
            var page = await api.GetAsync("/v1/secrets?limit=200" + (cursor is null ? "" : "&cursor=" + Uri.EscapeDataString(cursor)), cancellationToken);
            if (!page.Ok)
            {
                failures.Add($"list: HTTP {page.Status}");
                break;
            }

            foreach (var item in page.Json!["items"]!.AsArray())
            {
                listed.Add(item!["key"]!.GetValue<string>());
            }

            cursor = page.Json["next_cursor"]?.GetValue<string>();
        }
        while (cursor is not null);

        var keys = 0;
        var values = 0;
        var resolvable = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var model in _keys.Values.OrderBy(k => k.Key, StringComparer.Ordinal).ToList())
        {
            keys++;
            var answer = await api.GetAsync($"/v1/secrets/{model.Key}?reveal=true", cancellationToken);
            var exists = answer.Status == 200;
            if (answer.Status is not (200 or 404))
            {
                failures.Add($"{model.Key}: reveal answered HTTP {answer.Status}");
                continue;
            }

            if (exists != listed.Contains(model.Key))
            {
                failures.Add($"{model.Key}: reveal and list disagree on whether it exists");
            }

            var version = exists ? answer.Json!["version"]!.GetValue<int>() : 0;
            var value = exists ? answer.Json!["value"]?.GetValue<string>() : null;
            var matchesAcked = model.Exists ? exists && version == model.Version && value == model.Value : !exists;
            var pending = model.Pending;
            var matchesPending = pending switch
            {
                { Kind: WriteKind.Create } => exists && version == 1 && value == pending.Value,
                { Kind: WriteKind.Rotate } => exists && version == model.Version + 1 && value == pending.Value,
                { Kind: WriteKind.Delete } => !exists,
                _ => false,
            };
            if (matchesPending)
            {
                model.Apply(pending!, version);
            }
            else if (!matchesAcked)
            {
                failures.Add(model.Exists
                    ? $"{model.Key}: acknowledged at version {model.Version}, found {(exists ? $"version {version} with {(value == model.Value ? "the same" : "a different")} value" : "nothing")}"
                    : $"{model.Key}: acknowledged as {(model.Deleted ? "deleted" : "never created")}, but it exists");
                continue;
            }

            model.Pending = null;
            if (exists)
            {
                values++;
                resolvable[model.Key] = value!;
            }

            if (!model.Exists)
            {
                _keys.TryRemove(model.Key, out _); // Deleted for good: nothing more to check.
            }
        }

        // And through resolution (the other decryption path), all in one document.
        foreach (var chunk in resolvable.Chunk(200))
        {
            var document = new JsonObject();
            foreach (var (key, _) in chunk)
            {
                document["v_" + key.ToLowerInvariant()] = $"$Token{{{key}}}";
            }

            var answer = await api.PostAsync("/v1/secrets/resolve", new { document, app = LatchApi.App, env = LatchApi.Env }, cancellationToken);
            if (answer.Status != 200)
            {
                failures.Add($"resolve after restart: HTTP {answer.Status} {answer.Json?["code"]}");
                continue;
            }

            foreach (var (key, value) in chunk)
            {
                values++;
                if (!string.Equals(answer.Json!["document"]?["v_" + key.ToLowerInvariant()]?.GetValue<string>(), value, StringComparison.Ordinal))
                {
                    failures.Add($"{key}: resolves to a different value than it reveals");
                }
            }
        }

        return (keys, values);
    }

    /// <summary>The JSON paths and request ids of every secret.resolved event since the cycle started.</summary>
    private static async Task<(HashSet<string> Paths, HashSet<string> RequestIds)> ResolvedEventsAsync(LatchApi api, DateTimeOffset since, CancellationToken cancellationToken)
    {
        var paths = new HashSet<string>(StringComparer.Ordinal);
        var ids = new HashSet<string>(StringComparer.Ordinal);
        string? cursor = null;
        do
        {
            var page = await api.GetAsync(
                $"/v1/audit?action=secret.resolved&since={since.ToUnixTimeSeconds()}&limit=1000" + (cursor is null ? "" : "&cursor=" + cursor), cancellationToken);
            if (!page.Ok)
            {
                throw new InvalidOperationException($"GET /v1/audit: HTTP {page.Status}");
            }

            foreach (var item in page.Json!["items"]!.AsArray())
            {
                if (item!["path"]?.GetValue<string>() is { } path)
                {
                    paths.Add(path);
                }

                if (item["request_id"]?.GetValue<string>() is { } id)
                {
                    ids.Add(id);
                }
            }

            cursor = page.Json["next_cursor"]?.GetValue<string>();
        }
        while (cursor is not null);

        return (paths, ids);
    }

    /// <summary>PRAGMA integrity_check on a copy of latch.db and its write-ahead log, taken after the kill.</summary>
    public static string IntegrityCheck(string dataDirectory)
    {
        var copy = Path.Combine(Path.GetTempPath(), "latch-integrity-" + Dice.Nonce());
        Directory.CreateDirectory(copy);
        try
        {
            foreach (var suffix in new[] { "", "-wal" })
            {
                var source = Path.Combine(dataDirectory, "latch.db" + suffix);
                if (File.Exists(source))
                {
                    File.Copy(source, Path.Combine(copy, "latch.db" + suffix));
                }
            }

            using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = Path.Combine(copy, "latch.db"), Pooling = false }.ToString());
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "PRAGMA integrity_check";
            var lines = new List<string>();
            using (var reader = command.ExecuteReader())
            {
                while (reader.Read())
                {
                    lines.Add(reader.GetString(0));
                }
            }

            return string.Join(" / ", lines);
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            TryDelete(copy);
        }
    }

    private static void TryDelete(string dir)
    {
        try
        {
            Directory.Delete(dir, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    private enum WriteKind
    {
        Create,
        Rotate,
        Delete,
    }

    private sealed record PendingWrite(WriteKind Kind, string? Value);

    private sealed record AckedResolution(string Kind, string? Nonce, string? RequestId);

    /// <summary>What the harness knows about a key: the last acknowledged state and the write in flight, if any.</summary>
    private sealed class KeyModel(string key, int worker)
    {
        public string Key { get; } = key;

        public int Worker { get; } = worker;

        public bool Exists { get; private set; }

        public bool Deleted { get; private set; }

        public int Version { get; private set; }

        public string? Value { get; private set; }

        public PendingWrite? Pending { get; set; }

        public void Apply(PendingWrite write, int version)
        {
            switch (write.Kind)
            {
                case WriteKind.Create:
                case WriteKind.Rotate:
                    Exists = true;
                    Version = version;
                    Value = write.Value;
                    break;
                case WriteKind.Delete:
                    Exists = false;
                    Deleted = true;
                    break;
            }

            Pending = null;
        }
    }

    /// <summary>The cycle's counts, acknowledged resolutions and failures (thread-safe).</summary>
    private sealed class Ledger
    {
        private readonly object _gate = new();
        private readonly HashSet<string> _unacked = new(StringComparer.Ordinal);
        private readonly List<AckedResolution> _acked = [];
        private readonly List<string> _failures = [];

        public int Creates { get; private set; }

        public int Rotations { get; private set; }

        public int Deletes { get; private set; }

        public int Resolves { get; private set; }

        public int Actions { get; private set; }

        public int Reveals { get; private set; }

        public IReadOnlyList<AckedResolution> AckedResolutions
        {
            get
            {
                lock (_gate)
                {
                    return _acked.ToList();
                }
            }
        }

        public IReadOnlyCollection<string> UnackedResolutions
        {
            get
            {
                lock (_gate)
                {
                    return _unacked.ToList();
                }
            }
        }

        public IReadOnlyList<string> Failures
        {
            get
            {
                lock (_gate)
                {
                    return _failures.ToList();
                }
            }
        }

        public void Count(WriteKind kind)
        {
            lock (_gate)
            {
                _ = kind switch
                {
                    WriteKind.Create => Creates++,
                    WriteKind.Rotate => Rotations++,
                    _ => Deletes++,
                };
            }
        }

        public void CountReveal()
        {
            lock (_gate)
            {
                Reveals++;
            }
        }

        public void Sent(string nonce)
        {
            lock (_gate)
            {
                _unacked.Add(nonce);
            }
        }

        public void Unsent(string nonce)
        {
            lock (_gate)
            {
                _unacked.Remove(nonce);
            }
        }

        public void Acked(AckedResolution resolution)
        {
            lock (_gate)
            {
                _acked.Add(resolution);
                if (resolution.Nonce is { } nonce)
                {
                    _unacked.Remove(nonce);
                    Resolves++;
                }
                else
                {
                    Actions++;
                }
            }
        }

        public void Fail(string failure)
        {
            lock (_gate)
            {
                _failures.Add(failure);
            }
        }
    }
}

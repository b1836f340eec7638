using Microsoft.Extensions.Logging;
using Npgsql;

namespace Latch.Core.Storage.Postgres;

/// <summary>
/// Hears other instances' committed changes: holds one dedicated connection that <c>LISTEN</c>s on
/// <see cref="PostgresStore.NotifyChannel"/> and publishes every notification into <see cref="StoreChanges"/>.
/// </summary>
/// <remarks>
/// Fail-safe by construction: the feed is marked coherent only while the <c>LISTEN</c> session is proven alive
/// (a probe on the same session every <see cref="ProbeInterval"/>). When the connection drops or a probe fails,
/// the feed becomes incoherent at once, so every cache bypasses itself and each read goes to the database;
/// after reconnecting (with back-off), the feed turns coherent again, which drops every cache because changes
/// made during the gap were not heard.
/// </remarks>
public sealed partial class PostgresChangeListener : IAsyncDisposable
{
    /// <summary>The <c>application_name</c> of the listening session (operators and tests can find it in <c>pg_stat_activity</c>).</summary>
    public const string ApplicationName = "latch-listener";

    private readonly string _connectionString;
    private readonly StoreChanges _changes;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stop = new();
    private readonly TaskCompletionSource _firstListen = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Task? _loop;

    /// <summary>Creates a listener for the database named by <paramref name="connectionString"/>.</summary>
    public PostgresChangeListener(string connectionString, StoreChanges changes, ILogger logger)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString)
        {
            ApplicationName = ApplicationName,
            // The listening session is long-lived and must not be handed back to a pool.
            Pooling = false,
            // TCP keepalive so a silently dead peer is noticed even between probes.
            TcpKeepAlive = true,
            Multiplexing = false,
        };
        _connectionString = builder.ConnectionString;
        _changes = changes;
        _logger = logger;
    }

    /// <summary>How often the listening session is probed; a failed probe makes the feed incoherent.</summary>
    public static TimeSpan ProbeInterval { get; } = TimeSpan.FromMilliseconds(400);

    /// <summary>How long a successful probe keeps the feed coherent: a stalled session lapses within this.</summary>
    public static TimeSpan Lease { get; } = TimeSpan.FromMilliseconds(900);

    /// <summary>Longest a probe may take before the session counts as lost.</summary>
    public static TimeSpan ProbeTimeout { get; } = TimeSpan.FromMilliseconds(400);

    /// <summary>Starts listening; completes once the first <c>LISTEN</c> is in place (or <paramref name="cancellationToken"/> fires).</summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        _loop ??= Task.Run(() => RunAsync(_stop.Token), CancellationToken.None);
        await _firstListen.Task.WaitAsync(cancellationToken);
    }

    private async Task RunAsync(CancellationToken stop)
    {
        var backoff = TimeSpan.FromMilliseconds(100);
        while (!stop.IsCancellationRequested)
        {
            try
            {
                await using var connection = new NpgsqlConnection(_connectionString);
                connection.Notification += (_, e) => _changes.Publish(StoreChange.FromPayload(e.Payload));
                await connection.OpenAsync(stop);
                await using (var listen = new NpgsqlCommand($"LISTEN {PostgresStore.NotifyChannel}", connection))
                {
                    await listen.ExecuteNonQueryAsync(stop);
                }

                // Coherent from here on: changes committed before this point are dropped with the caches.
                _changes.SetCoherent(true);
                _changes.RenewLease(Lease);
                _firstListen.TrySetResult();
                backoff = TimeSpan.FromMilliseconds(100);
                LogListening(_logger);
                await using var probe = new NpgsqlCommand("SELECT 1", connection) { CommandTimeout = 2 };
                while (!stop.IsCancellationRequested)
                {
                    // Returns early when a notification arrives (handled by the event above).
                    await connection.WaitAsync(ProbeInterval, stop);
                    using var probeTimeout = CancellationTokenSource.CreateLinkedTokenSource(stop);
                    probeTimeout.CancelAfter(ProbeTimeout);
                    await probe.ExecuteScalarAsync(probeTimeout.Token);
                    // Notifications sent before the probe's answer have been handled by now.
                    _changes.RenewLease(Lease);
                }
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                break;
            }
            catch (Exception e)
            {
                // Anything at all (a lost connection, a timed-out probe, a bad connection-string option): fall back to
                // reading the database and try again; the loop must never die while caches might trust it.
                _changes.SetCoherent(false);
                LogLost(_logger, e.GetType().Name, (int)backoff.TotalMilliseconds);
                // Start-up must not wait forever for a database that is down: the feed is incoherent, which is safe.
                _firstListen.TrySetResult();
                try
                {
                    await Task.Delay(backoff, stop);
                }
                catch (OperationCanceledException)
                {
                    break;
                }

                backoff = TimeSpan.FromMilliseconds(Math.Min(backoff.TotalMilliseconds * 2, 2000));
            }
        }

        _changes.SetCoherent(false);
        _firstListen.TrySetResult();
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        if (_loop is not null)
        {
            await _loop;
        }

        _stop.Dispose();
    }

    [LoggerMessage(EventId = 4110, Level = LogLevel.Information, Message = "Listening for other instances' changes")]
    private static partial void LogListening(ILogger logger);

    [LoggerMessage(EventId = 4111, Level = LogLevel.Warning, Message = "Lost the change notification connection ({ErrorType}); caches are bypassed until it is back (retrying in {DelayMs} ms)")]
    private static partial void LogLost(ILogger logger, string errorType, int delayMs);
}

using System.Threading.Channels;
using Latch.Core.Observability;
using Latch.Core.Storage;

namespace Latch.Core.Audit;

/// <summary>The audit log could not be written; whatever depended on it was refused.</summary>
public sealed class AuditUnavailableException : Exception
{
    /// <summary>Creates the exception (the cause is kept as the inner exception, never shown to clients).</summary>
    public AuditUnavailableException(Exception inner)
        : base("The audit log cannot be written", inner)
    {
    }
}

/// <summary>
/// Group-commits resolution events. Callers enqueue their events and wait for the transaction that holds them:
/// a value may leave only after that commit (SPEC §6). While one batch commits, the next one gathers, so under
/// load many requests share one fsync and a lone request waits only for its own commit (well within 100 ms).
/// </summary>
public sealed class AuditWriter : IAsyncDisposable
{
    /// <summary>Largest number of events committed in one transaction.</summary>
    public const int MaxBatchEvents = 2000;

    private readonly ILatchStore _store;
    private readonly Channel<Pending> _queue;
    private readonly Task _loop;
    private readonly LatchTelemetry? _telemetry;
    private long _queued;

    /// <summary>Starts the writer.</summary>
    public AuditWriter(ILatchStore store, int capacity = 10_000, LatchTelemetry? telemetry = null)
    {
        _store = store;
        _telemetry = telemetry;
        telemetry?.ObserveAuditQueue(() => QueueDepth);
        _queue = Channel.CreateBounded<Pending>(new BoundedChannelOptions(capacity)
        {
            SingleReader = true,
            FullMode = BoundedChannelFullMode.Wait,
        });
        _loop = Task.Run(RunAsync);
    }

    /// <summary>Events waiting to be committed (for metrics).</summary>
    public long QueueDepth => Interlocked.Read(ref _queued);

    /// <summary>
    /// Enqueues events and completes once they are committed. Throws <see cref="AuditUnavailableException"/> when
    /// the store refused them: the caller must then refuse whatever the events describe.
    /// </summary>
    public async Task AppendAsync(IReadOnlyList<AuditEvent> events, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(events);
        if (events.Count == 0)
        {
            return;
        }

        var pending = new Pending(events, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        Interlocked.Add(ref _queued, events.Count);
        try
        {
            await _queue.Writer.WriteAsync(pending, cancellationToken);
        }
        catch (ChannelClosedException e)
        {
            Interlocked.Add(ref _queued, -events.Count);
            throw new AuditUnavailableException(e);
        }
        catch (OperationCanceledException)
        {
            Interlocked.Add(ref _queued, -events.Count);
            throw;
        }

        // Not cancellable once queued: the batch commits or fails as a whole.
        await pending.Committed.Task;
    }

    private async Task RunAsync()
    {
        var batch = new List<Pending>();
        var events = new List<AuditEvent>();
        while (await _queue.Reader.WaitToReadAsync())
        {
            batch.Clear();
            events.Clear();
            while (events.Count < MaxBatchEvents && _queue.Reader.TryRead(out var pending))
            {
                batch.Add(pending);
                events.AddRange(pending.Events);
            }

            try
            {
                await _store.AppendAuditAsync(events, CancellationToken.None);
                foreach (var pending in batch)
                {
                    pending.Committed.TrySetResult();
                }
            }
#pragma warning disable CA1031 // Any store failure must fail the waiting requests, never the writer loop.
            catch (Exception e)
#pragma warning restore CA1031
            {
                _telemetry?.AuditWriteFailed(e);
                if (batch.Count == 1)
                {
                    batch[0].Committed.TrySetException(new AuditUnavailableException(e));
                }
                else
                {
                    // One request's events must not fail everyone it was batched with (e.g. a value the database
                    // refuses): each request is retried in its own transaction, and only what still fails is refused.
                    await CommitEachAsync(batch);
                }
            }
            finally
            {
                Interlocked.Add(ref _queued, -events.Count);
            }
        }
    }

    private async Task CommitEachAsync(List<Pending> batch)
    {
        foreach (var pending in batch)
        {
            try
            {
                await _store.AppendAuditAsync(pending.Events, CancellationToken.None);
                pending.Committed.TrySetResult();
            }
#pragma warning disable CA1031 // Same rule as the batch: fail the waiting request, never the writer loop.
            catch (Exception e)
#pragma warning restore CA1031
            {
                pending.Committed.TrySetException(new AuditUnavailableException(e));
            }
        }
    }

    /// <summary>Stops accepting events and commits what is queued.</summary>
    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _loop;
    }

    private sealed record Pending(IReadOnlyList<AuditEvent> Events, TaskCompletionSource Committed);
}

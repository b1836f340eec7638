using System.Runtime.CompilerServices;
using Latch.Client.Internal;

namespace Latch.Client;

/// <summary>The audit log (<c>/v1/audit</c>): hash-chained events of every change, reveal, resolution and denial.</summary>
public class AuditClient
{
    private readonly LatchTransport? _transport;

    /// <summary>For mocking.</summary>
    protected AuditClient()
    {
    }

    internal AuditClient(LatchTransport transport) => _transport = transport;

    private LatchTransport Transport => _transport ?? throw new InvalidOperationException("This instance was created for mocking.");

    /// <summary>Audit events, newest first, following every page.</summary>
    /// <param name="filter">Optional filters (secret, app, env, action, time range) and page size.</param>
    /// <param name="cancellationToken">Cancels the enumeration.</param>
    /// <returns>The events.</returns>
    public virtual async IAsyncEnumerable<AuditEvent> ListAsync(AuditFilter? filter = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        string? cursor = null;
        do
        {
            var query = new Query()
                .Add("secret", filter?.Secret)
                .Add("app", filter?.App)
                .Add("env", filter?.Env)
                .Add("action", filter?.Action)
                .Add("since", filter?.Since)
                .Add("until", filter?.Until)
                .Add("limit", filter?.PageSize)
                .Add("cursor", cursor);
            var page = await Transport.SendAsync<Page<AuditEvent>>(HttpMethod.Get, "v1/audit" + query, null, cancellationToken);
            foreach (var item in page.Items)
            {
                yield return item;
            }

            cursor = page.NextCursor;
        }
        while (cursor is not null);
    }

    /// <summary>Walks the hash chain and reports the first broken link.</summary>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The verification.</returns>
    public virtual Task<AuditVerification> VerifyAsync(CancellationToken cancellationToken = default) =>
        Transport.SendAsync<AuditVerification>(HttpMethod.Get, "v1/audit/verify", null, cancellationToken);
}

/// <summary>Filters for <see cref="AuditClient.ListAsync"/>.</summary>
public sealed record AuditFilter
{
    /// <summary>Only events about this secret key.</summary>
    public string? Secret { get; init; }

    /// <summary>Only events for this app.</summary>
    public string? App { get; init; }

    /// <summary>Only events for this environment.</summary>
    public string? Env { get; init; }

    /// <summary>Only this action, e.g. <c>secret.resolved</c>.</summary>
    public string? Action { get; init; }

    /// <summary>Only events at or after this time.</summary>
    public DateTimeOffset? Since { get; init; }

    /// <summary>Only events before this time.</summary>
    public DateTimeOffset? Until { get; init; }

    /// <summary>Events fetched per request (1–1000; the server's default is 100).</summary>
    public int? PageSize { get; init; }
}

/// <summary>Who did it.</summary>
/// <param name="KeyId">The API key id.</param>
/// <param name="Name">The API key name.</param>
public sealed record AuditActor(string? KeyId, string? Name);

/// <summary>An audit event. It never holds a secret value.</summary>
/// <param name="Id">Its id.</param>
/// <param name="Sequence">Its position in the chain.</param>
/// <param name="At">When.</param>
/// <param name="Action">E.g. <c>secret.created</c>, <c>secret.resolved</c>.</param>
/// <param name="Actor">Who.</param>
/// <param name="RequestId">The request id.</param>
/// <param name="Client">The client address.</param>
/// <param name="Secret">The secret key.</param>
/// <param name="Version">The secret version.</param>
/// <param name="Product">The product.</param>
/// <param name="App">The app.</param>
/// <param name="Env">The environment.</param>
/// <param name="Context">E.g. <c>action:stripe_app.create_charge</c>.</param>
/// <param name="Path">The JSON path of the reference.</param>
/// <param name="Code">For denials: the code.</param>
/// <param name="Detail">Details.</param>
/// <param name="Hash">The chain hash.</param>
public sealed record AuditEvent(
    string Id,
    long Sequence,
    DateTimeOffset At,
    string Action,
    AuditActor Actor,
    string? RequestId,
    string? Client,
    string? Secret,
    int? Version,
    string? Product,
    string? App,
    string? Env,
    string? Context,
    string? Path,
    string? Code,
    string? Detail,
    string Hash);

/// <summary>What <see cref="AuditClient.VerifyAsync"/> answers.</summary>
/// <param name="Ok">Whether the chain is intact.</param>
/// <param name="Checked">Events checked.</param>
/// <param name="FirstBroken">The first broken event, if any.</param>
public sealed record AuditVerification(bool Ok, long Checked, AuditBrokenLink? FirstBroken);

/// <summary>The first event whose hash does not match.</summary>
/// <param name="Id">Its id.</param>
/// <param name="Sequence">Its position.</param>
/// <param name="At">When.</param>
/// <param name="Action">Its action.</param>
public sealed record AuditBrokenLink(string Id, long Sequence, DateTimeOffset At, string Action);

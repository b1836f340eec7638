using Latch.Client.Internal;

namespace Latch.Client;

/// <summary>The caller's workspace (<c>/v1/workspace</c>).</summary>
public class WorkspaceClient
{
    private readonly LatchTransport? _transport;

    /// <summary>For mocking.</summary>
    protected WorkspaceClient()
    {
    }

    internal WorkspaceClient(LatchTransport transport) => _transport = transport;

    private LatchTransport Transport => _transport ?? throw new InvalidOperationException("This instance was created for mocking.");

    /// <summary>The workspace of the API key in use.</summary>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>Its id and name.</returns>
    public virtual Task<WorkspaceInfo> GetAsync(CancellationToken cancellationToken = default) =>
        Transport.SendAsync<WorkspaceInfo>(HttpMethod.Get, "v1/workspace", null, cancellationToken);
}

/// <summary>A workspace.</summary>
/// <param name="Id">Its id.</param>
/// <param name="Name">Its name.</param>
public sealed record WorkspaceInfo(string Id, string Name);

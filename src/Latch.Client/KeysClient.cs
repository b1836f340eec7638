using System.Text.Json.Serialization;
using Latch.Client.Internal;

namespace Latch.Client;

/// <summary>API keys (<c>/v1/keys</c>, owner keys only).</summary>
public class KeysClient
{
    private readonly LatchTransport? _transport;

    /// <summary>For mocking.</summary>
    protected KeysClient()
    {
    }

    internal KeysClient(LatchTransport transport) => _transport = transport;

    private LatchTransport Transport => _transport ?? throw new InvalidOperationException("This instance was created for mocking.");

    /// <summary>Creates an API key; its token is in <see cref="ApiKey.Key"/> this once.</summary>
    /// <param name="request">Name, role and bindings.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The key with its token.</returns>
    public virtual Task<ApiKey> CreateAsync(CreateApiKeyRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        return Transport.SendAsync<ApiKey>(HttpMethod.Post, "v1/keys", request, cancellationToken);
    }

    /// <summary>Lists the workspace's API keys (no tokens).</summary>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>Every key.</returns>
    public virtual async Task<IReadOnlyList<ApiKey>> ListAsync(CancellationToken cancellationToken = default) =>
        (await Transport.SendAsync<Page<ApiKey>>(HttpMethod.Get, "v1/keys", null, cancellationToken)).Items;

    /// <summary>Revokes an API key.</summary>
    /// <param name="id">The key id.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>A task.</returns>
    public virtual Task RevokeAsync(string id, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(id);
        return Transport.SendAsync(HttpMethod.Delete, "v1/keys/" + LatchTransport.Escape(id), null, cancellationToken);
    }
}

/// <summary>What <see cref="KeysClient.CreateAsync"/> sends.</summary>
/// <param name="Name">A name (shown as the actor in the audit log).</param>
/// <param name="Role"><c>owner</c>, <c>admin</c>, <c>runtime</c> or <c>viewer</c>.</param>
public sealed record CreateApiKeyRequest(string Name, string Role)
{
    /// <summary>Apps the key is bound to (runtime calls for other apps are refused).</summary>
    public IReadOnlyList<string>? Apps { get; init; }

    /// <summary>Environments the key is bound to.</summary>
    public IReadOnlyList<string>? Envs { get; init; }

    /// <summary>When the key expires.</summary>
    [JsonConverter(typeof(UnixSecondsConverter))]
    public DateTimeOffset? ExpiresAt { get; init; }
}

/// <summary>An API key.</summary>
/// <param name="Id">Its id.</param>
/// <param name="Name">Its name.</param>
/// <param name="Role">Its role.</param>
/// <param name="Apps">Apps it is bound to (empty: all).</param>
/// <param name="Envs">Environments it is bound to (empty: all).</param>
/// <param name="ExpiresAt">When it expires.</param>
/// <param name="CreatedAt">When it was created.</param>
/// <param name="Key">The token, only in the create response; prints as <c>***</c>.</param>
public sealed record ApiKey(
    string Id,
    string Name,
    string Role,
    IReadOnlyList<string> Apps,
    IReadOnlyList<string> Envs,
    [property: JsonConverter(typeof(UnixSecondsConverter))] DateTimeOffset? ExpiresAt,
    DateTimeOffset CreatedAt,
    SecretValue? Key = null);

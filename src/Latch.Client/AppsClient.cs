using System.Text.Json.Nodes;
using Latch.Client.Internal;

namespace Latch.Client;

/// <summary>Apps (<c>/v1/apps</c>): third-party API definitions with environments, auths and actions.</summary>
public class AppsClient
{
    private readonly LatchTransport? _transport;

    /// <summary>For mocking.</summary>
    protected AppsClient()
    {
    }

    internal AppsClient(LatchTransport transport) => _transport = transport;

    private LatchTransport Transport => _transport ?? throw new InvalidOperationException("This instance was created for mocking.");

    /// <summary>Creates an app.</summary>
    /// <param name="app">The definition.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The stored definition.</returns>
    public virtual Task<AppDefinition> CreateAsync(AppDefinition app, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(app);
        return Transport.SendAsync<AppDefinition>(HttpMethod.Post, "v1/apps", app, cancellationToken);
    }

    /// <summary>Fetches an app.</summary>
    /// <param name="accessTag">The app's access tag.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The definition.</returns>
    public virtual Task<AppDefinition> GetAsync(string accessTag, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(accessTag);
        return Transport.SendAsync<AppDefinition>(HttpMethod.Get, Path(accessTag), null, cancellationToken);
    }

    /// <summary>Lists the workspace's apps.</summary>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>Every app.</returns>
    public virtual async Task<IReadOnlyList<AppDefinition>> ListAsync(CancellationToken cancellationToken = default) =>
        (await Transport.SendAsync<Page<AppDefinition>>(HttpMethod.Get, "v1/apps", null, cancellationToken)).Items;

    /// <summary>Replaces an app's definition.</summary>
    /// <param name="accessTag">The app's current access tag.</param>
    /// <param name="app">The new definition.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The stored definition.</returns>
    public virtual Task<AppDefinition> ReplaceAsync(string accessTag, AppDefinition app, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(accessTag);
        ArgumentNullException.ThrowIfNull(app);
        return Transport.SendAsync<AppDefinition>(HttpMethod.Put, Path(accessTag), app, cancellationToken);
    }

    /// <summary>Deletes an app (409 while a product uses it).</summary>
    /// <param name="accessTag">The app's access tag.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>A task.</returns>
    public virtual Task DeleteAsync(string accessTag, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(accessTag);
        return Transport.SendAsync(HttpMethod.Delete, Path(accessTag), null, cancellationToken);
    }

    private static string Path(string accessTag) => "v1/apps/" + LatchTransport.Escape(accessTag);
}

/// <summary>An app: a third-party API definition.</summary>
/// <param name="AccessTag">Its tag, e.g. <c>stripe_app</c> (what secret scopes name).</param>
/// <param name="Name">A display name.</param>
/// <param name="Envs">Its environments and base URLs.</param>
/// <param name="Auths">How it authenticates (templates using <c>$Auth{FIELD}</c>).</param>
/// <param name="Actions">Its actions (<c>event</c> → method and path).</param>
public sealed record AppDefinition(
    string AccessTag,
    string Name,
    IReadOnlyList<AppEnvironment> Envs,
    IReadOnlyList<AppAuth>? Auths = null,
    IReadOnlyList<AppAction>? Actions = null);

/// <summary>An app environment.</summary>
/// <param name="Slug">E.g. <c>sandbox</c>.</param>
/// <param name="BaseUrl">Where its API lives.</param>
public sealed record AppEnvironment(string Slug, string BaseUrl);

/// <summary>An auth definition: header and query templates using <c>$Auth{FIELD}</c>.</summary>
/// <param name="Tag">E.g. <c>api_key_auth</c>.</param>
/// <param name="Headers">Header templates, e.g. <c>Authorization: Bearer $Auth{api_key}</c>.</param>
/// <param name="Query">Query templates.</param>
public sealed record AppAuth(string Tag, IReadOnlyDictionary<string, string>? Headers = null, IReadOnlyDictionary<string, string>? Query = null);

/// <summary>An action: an event mapped to a request.</summary>
/// <param name="Event">E.g. <c>create_charge</c>.</param>
/// <param name="Method">The HTTP method.</param>
/// <param name="Path">The path, with <c>{param}</c> placeholders.</param>
/// <param name="Headers">Default headers.</param>
/// <param name="Query">Default query.</param>
/// <param name="Body">Default body.</param>
public sealed record AppAction(
    string Event,
    string Method,
    string Path,
    IReadOnlyDictionary<string, string>? Headers = null,
    IReadOnlyDictionary<string, string>? Query = null,
    JsonNode? Body = null);

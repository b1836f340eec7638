using Latch.Client.Internal;

namespace Latch.Client;

/// <summary>
/// The Latch client: <see cref="Secrets"/>, <see cref="Apps"/>, <see cref="Products"/>, <see cref="Product"/>,
/// <see cref="Actions"/>, <see cref="Keys"/>, <see cref="Audit"/> and <see cref="Workspace"/>. Thread-safe; create one and
/// share it (or register it with <c>services.AddLatchClient(…)</c>). Every member is virtual so tests can fake it.
/// </summary>
public class LatchClient : IDisposable
{
    /// <summary>The name of the <see cref="HttpClient"/> that <c>AddLatchClient</c> registers.</summary>
    public const string HttpClientName = "Latch";

    private readonly LatchTransport? _transport;

    /// <summary>A client with its own connection pool.</summary>
    /// <param name="url">The server, e.g. <c>https://latch.example.com</c>.</param>
    /// <param name="apiKey">The API key.</param>
    public LatchClient(Uri url, string apiKey)
        : this(Owned(), url, apiKey, owns: true)
    {
    }

    /// <summary>A client sending through an <see cref="HttpClient"/> you own (its base address and headers are not used).</summary>
    /// <param name="httpClient">The HTTP client.</param>
    /// <param name="url">The server.</param>
    /// <param name="apiKey">The API key.</param>
    public LatchClient(HttpClient httpClient, Uri url, string apiKey)
        : this(httpClient, url, apiKey, owns: false)
    {
    }

    /// <summary>For mocking.</summary>
    protected LatchClient()
    {
        Secrets = null!;
        Apps = null!;
        Products = null!;
        Actions = null!;
        Keys = null!;
        Audit = null!;
        Workspace = null!;
    }

    private LatchClient(HttpClient httpClient, Uri url, string apiKey, bool owns)
        : this(Create(() => httpClient, url, apiKey, owns ? httpClient : null))
    {
    }

    internal LatchClient(LatchTransport transport)
    {
        _transport = transport;
        Secrets = new SecretsClient(transport);
        Apps = new AppsClient(transport);
        Products = new ProductsClient(transport);
        Actions = new ActionsClient(transport);
        Keys = new KeysClient(transport);
        Audit = new AuditClient(transport);
        Workspace = new WorkspaceClient(transport);
    }

    /// <summary>The server this client calls.</summary>
    public virtual Uri? BaseAddress => _transport?.BaseAddress;

    /// <summary>Secrets: create, list, fetch, update, revoke, delete, versions, usage, validate, check, resolve.</summary>
    public virtual SecretsClient Secrets { get; }

    /// <summary>Apps: third-party API definitions.</summary>
    public virtual AppsClient Apps { get; }

    /// <summary>Products.</summary>
    public virtual ProductsClient Products { get; }

    /// <summary><c>actions.run</c>.</summary>
    public virtual ActionsClient Actions { get; }

    /// <summary>API keys (owner keys only).</summary>
    public virtual KeysClient Keys { get; }

    /// <summary>The audit log.</summary>
    public virtual AuditClient Audit { get; }

    /// <summary>The caller's workspace.</summary>
    public virtual WorkspaceClient Workspace { get; }

    /// <summary>One product: <c>Product("shop").Apps.AddAsync(…)</c>, <c>.Webhooks</c>, <c>.GetVariablesAsync(…)</c>.</summary>
    /// <param name="tag">The product tag.</param>
    /// <returns>A client for that product.</returns>
    public virtual ProductClient Product(string tag)
    {
        ArgumentException.ThrowIfNullOrEmpty(tag);
        return new ProductClient(_transport ?? throw new InvalidOperationException("This instance was created for mocking."), tag);
    }

    /// <summary>Releases the connection pool if this client created it.</summary>
    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Releases the connection pool if this client created it.</summary>
    /// <param name="disposing">Whether called from <see cref="Dispose()"/>.</param>
    protected virtual void Dispose(bool disposing)
    {
        if (disposing)
        {
            _transport?.Dispose();
        }
    }

    internal static LatchTransport Create(Func<HttpClient> client, Uri url, string apiKey, HttpClient? owned)
    {
        var options = new LatchClientOptions { Url = url, ApiKey = apiKey };
        var errors = options.Validate();
        if (errors.Count > 0)
        {
            owned?.Dispose();
            throw new ArgumentException(string.Join(" ", errors), url is null || !url.IsAbsoluteUri ? nameof(url) : nameof(apiKey));
        }

        return new LatchTransport(client, url, apiKey, owned);
    }

    private static HttpClient Owned() => new(new SocketsHttpHandler
    {
        PooledConnectionLifetime = TimeSpan.FromMinutes(2),
        AllowAutoRedirect = false,
    })
    {
        Timeout = TimeSpan.FromSeconds(100),
    };
}

using Latch.Client.Internal;

namespace Latch.Client;

/// <summary>Products (<c>/v1/products</c>). For one product's apps, webhooks and variables use <see cref="LatchClient.Product"/>.</summary>
public class ProductsClient
{
    private readonly LatchTransport? _transport;

    /// <summary>For mocking.</summary>
    protected ProductsClient()
    {
    }

    internal ProductsClient(LatchTransport transport) => _transport = transport;

    private LatchTransport Transport => _transport ?? throw new InvalidOperationException("This instance was created for mocking.");

    /// <summary>Creates a product.</summary>
    /// <param name="product">The definition.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The stored definition.</returns>
    public virtual Task<ProductDefinition> CreateAsync(ProductDefinition product, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(product);
        return Transport.SendAsync<ProductDefinition>(HttpMethod.Post, "v1/products", product, cancellationToken);
    }

    /// <summary>Fetches a product.</summary>
    /// <param name="tag">The product tag.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The definition.</returns>
    public virtual Task<ProductDefinition> GetAsync(string tag, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(tag);
        return Transport.SendAsync<ProductDefinition>(HttpMethod.Get, "v1/products/" + LatchTransport.Escape(tag), null, cancellationToken);
    }

    /// <summary>Lists the workspace's products.</summary>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>Every product.</returns>
    public virtual async Task<IReadOnlyList<ProductDefinition>> ListAsync(CancellationToken cancellationToken = default) =>
        (await Transport.SendAsync<Page<ProductDefinition>>(HttpMethod.Get, "v1/products", null, cancellationToken)).Items;

    /// <summary>Deletes a product.</summary>
    /// <param name="tag">The product tag.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>A task.</returns>
    public virtual Task DeleteAsync(string tag, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(tag);
        return Transport.SendAsync(HttpMethod.Delete, "v1/products/" + LatchTransport.Escape(tag), null, cancellationToken);
    }
}

/// <summary>A product and its environments.</summary>
/// <param name="Tag">E.g. <c>shop</c>.</param>
/// <param name="Name">A display name.</param>
/// <param name="Envs">Its environments.</param>
public sealed record ProductDefinition(string Tag, string Name, IReadOnlyList<ProductEnvironment> Envs);

/// <summary>A product environment; an inactive one refuses to run actions.</summary>
/// <param name="Slug">E.g. <c>dev</c>, <c>prd</c>.</param>
/// <param name="EnvName">A display name.</param>
/// <param name="Active">Whether actions run there.</param>
public sealed record ProductEnvironment(string Slug, string EnvName, bool Active = true);

using System.Text;
using System.Text.Json;
using Latch.Core.Caching;
using Latch.Core.References;
using Latch.Core.Secrets;
using Latch.Core.Storage;

namespace Latch.Core.Runtime;

/// <summary>A reference in a stored product app that would fail in its environment today.</summary>
public sealed record ConfigWarning(string Env, string Path, string? Key, string Code, string Message);

/// <summary>A stored configuration that references a secret: a product app (per environment) or a webhook (every environment).</summary>
public sealed record SecretUsage(string Product, string App, string? Env, string Path, string Source);

/// <summary>Apps, products and product apps: validated, stored with references unresolved, audited.</summary>
public sealed class RuntimeConfigService
{
    private readonly ILatchStore _store;
    private readonly ResolutionService _resolution;
    private readonly TimeProvider _time;
    private readonly StoreChanges? _changes;
    private readonly ConfigCache? _cache;

    /// <summary>
    /// Creates the service. With <paramref name="changes"/>, apps, products and product apps are parsed once per change
    /// and kept in memory (<see cref="ConfigCache"/>), and every change is published there after it commits.
    /// </summary>
    public RuntimeConfigService(ILatchStore store, ResolutionService resolution, TimeProvider time, StoreChanges? changes = null)
    {
        _changes = changes;
        _cache = changes is null ? null : new ConfigCache(changes);
        _store = store;
        _resolution = resolution;
        _time = time;
    }

    /// <summary>Creates or replaces an app.</summary>
    public async Task<Result<AppDefinition>> PutAppAsync(string workspaceId, AppDefinition app, PutMode mode, string? pathTag, Actor actor, CancellationToken cancellationToken)
    {
        var errors = ConfigValidation.Check(app);
        if (pathTag is not null && app.AccessTag != pathTag)
        {
            errors.TryAdd("access_tag", ["must match the access tag in the URL"]);
        }

        if (ConfigValidation.ToError(errors) is { } invalid)
        {
            return invalid;
        }

        if (mode == PutMode.Replace)
        {
            // A product app must keep pointing at environments and auths that exist.
            foreach (var config in await ProductAppsOfAsync(workspaceId, app.AccessTag, cancellationToken))
            {
                var product = await GetProductAsync(workspaceId, config.Product, cancellationToken);
                if (product.IsSuccess && ConfigValidation.ToError(ConfigValidation.Check(config.Config, product.Value!, app)) is not null)
                {
                    return new LatchError(ErrorKind.Conflict, "app_in_use",
                        $"App '{app.AccessTag}' is connected to product '{config.Product}' through environments or auths this change removes");
                }
            }
        }

        var ok = await PutAsync(workspaceId, ConfigKinds.App, "", app.AccessTag, ConfigJson.Serialize(app), mode, "app.changed", actor, cancellationToken);
        return ok ? app : mode == PutMode.Create
            ? new LatchError(ErrorKind.Conflict, "app_exists", $"App '{app.AccessTag}' already exists")
            : AppNotFound(app.AccessTag);
    }

    /// <summary>An app.</summary>
    public async Task<Result<AppDefinition>> GetAppAsync(string workspaceId, string accessTag, CancellationToken cancellationToken) =>
        await ReadAsync<AppDefinition>(workspaceId, ConfigKinds.App, "", accessTag, cancellationToken) is { } app
            ? app
            : AppNotFound(accessTag);

    /// <summary>Every app.</summary>
    public async Task<IReadOnlyList<AppDefinition>> ListAppsAsync(string workspaceId, CancellationToken cancellationToken) =>
        (await _store.ListConfigsAsync(workspaceId, ConfigKinds.App, null, cancellationToken)).Select(d => ConfigJson.Deserialize<AppDefinition>(d.Body)).ToList();

    /// <summary>Deletes an app that no product uses.</summary>
    public async Task<Result<bool>> DeleteAppAsync(string workspaceId, string accessTag, Actor actor, CancellationToken cancellationToken)
    {
        var users = await ProductAppsOfAsync(workspaceId, accessTag, cancellationToken);
        if (users.Count > 0)
        {
            return new LatchError(ErrorKind.Conflict, "app_in_use",
                $"App '{accessTag}' is connected to product(s) {string.Join(", ", users.Select(u => $"'{u.Product}'"))}; remove it from them first");
        }

        return await Published(workspaceId, ConfigCache.Name(ConfigKinds.App, "", accessTag),
                _store.DeleteConfigAsync(workspaceId, ConfigKinds.App, "", accessTag, false, Event(workspaceId, "app.changed", actor, $"app {accessTag} deleted"), cancellationToken))
            ? true
            : AppNotFound(accessTag);
    }

    /// <summary>Creates a product.</summary>
    public async Task<Result<ProductDefinition>> CreateProductAsync(string workspaceId, ProductDefinition product, Actor actor, CancellationToken cancellationToken)
    {
        if (ConfigValidation.ToError(ConfigValidation.Check(product)) is { } invalid)
        {
            return invalid;
        }

        return await PutAsync(workspaceId, ConfigKinds.Product, "", product.Tag, ConfigJson.Serialize(product), PutMode.Create, "product.changed", actor, cancellationToken)
            ? product
            : new LatchError(ErrorKind.Conflict, "product_exists", $"Product '{product.Tag}' already exists");
    }

    /// <summary>A product.</summary>
    public async Task<Result<ProductDefinition>> GetProductAsync(string workspaceId, string tag, CancellationToken cancellationToken) =>
        await ReadAsync<ProductDefinition>(workspaceId, ConfigKinds.Product, "", tag, cancellationToken) is { } product
            ? product
            : ProductNotFound(tag);

    /// <summary>Every product.</summary>
    public async Task<IReadOnlyList<ProductDefinition>> ListProductsAsync(string workspaceId, CancellationToken cancellationToken) =>
        (await _store.ListConfigsAsync(workspaceId, ConfigKinds.Product, null, cancellationToken)).Select(d => ConfigJson.Deserialize<ProductDefinition>(d.Body)).ToList();

    /// <summary>Deletes a product with its product apps, webhooks and deliveries.</summary>
    public async Task<Result<bool>> DeleteProductAsync(string workspaceId, string tag, Actor actor, CancellationToken cancellationToken) =>
        // The cascade removes the product's apps and webhooks too: the change names no single document.
        await Published(workspaceId, null,
                _store.DeleteConfigAsync(workspaceId, ConfigKinds.Product, "", tag, true, Event(workspaceId, "product.changed", actor, $"product {tag} deleted"), cancellationToken))
            ? true
            : ProductNotFound(tag);

    /// <summary>
    /// <c>product.apps.add</c> (Create) or its update (Replace): stored with references unresolved; answers the
    /// references that would fail in their environment today as warnings.
    /// </summary>
    public async Task<Result<(ProductAppConfig Config, IReadOnlyList<ConfigWarning> Warnings)>> PutProductAppAsync(
        string workspaceId, string productTag, ProductAppConfig config, PutMode mode, string? pathTag, Actor actor, CancellationToken cancellationToken)
    {
        var product = await GetProductAsync(workspaceId, productTag, cancellationToken);
        if (!product.IsSuccess)
        {
            return product.Error!;
        }

        if (pathTag is not null && config.AccessTag != pathTag)
        {
            return LatchError.Invalid("access_tag", "must match the access tag in the URL");
        }

        var app = await GetAppAsync(workspaceId, config.AccessTag, cancellationToken);
        if (!app.IsSuccess)
        {
            return LatchError.Invalid("access_tag", $"no app has access tag '{config.AccessTag}'");
        }

        var errors = ConfigValidation.Check(config, product.Value!, app.Value!);
        var json = ConfigJson.Serialize(config);
        var scanned = ReferenceScanner.Scan(Encoding.UTF8.GetBytes(json));
        foreach (var malformed in scanned.Malformed)
        {
            errors.TryAdd(malformed.Path.TrimStart('$', '.'), []);
            errors[malformed.Path.TrimStart('$', '.')].Add(malformed.Message);
        }

        if (ConfigValidation.ToError(errors) is { } invalid)
        {
            return invalid;
        }

        var warnings = await WarningsAsync(workspaceId, productTag, config, scanned, cancellationToken);
        if (!await PutAsync(workspaceId, ConfigKinds.ProductApp, productTag, config.AccessTag, json, mode, "product.changed", actor, cancellationToken))
        {
            return mode == PutMode.Create
                ? new LatchError(ErrorKind.Conflict, "product_app_exists", $"App '{config.AccessTag}' is already connected to product '{productTag}'")
                : ProductAppNotFound(productTag, config.AccessTag);
        }

        return (config, warnings);
    }

    /// <summary>A product app.</summary>
    public async Task<Result<ProductAppConfig>> GetProductAppAsync(string workspaceId, string productTag, string accessTag, CancellationToken cancellationToken)
    {
        var product = await GetProductAsync(workspaceId, productTag, cancellationToken);
        if (!product.IsSuccess)
        {
            return product.Error!;
        }

        return await ReadAsync<ProductAppConfig>(workspaceId, ConfigKinds.ProductApp, productTag, accessTag, cancellationToken) is { } config
            ? config
            : ProductAppNotFound(productTag, accessTag);
    }

    /// <summary>A product's apps.</summary>
    public async Task<Result<IReadOnlyList<ProductAppConfig>>> ListProductAppsAsync(string workspaceId, string productTag, CancellationToken cancellationToken)
    {
        var product = await GetProductAsync(workspaceId, productTag, cancellationToken);
        if (!product.IsSuccess)
        {
            return product.Error!;
        }

        var documents = await _store.ListConfigsAsync(workspaceId, ConfigKinds.ProductApp, productTag, cancellationToken);
        return Result<IReadOnlyList<ProductAppConfig>>.From(documents.Select(d => ConfigJson.Deserialize<ProductAppConfig>(d.Body)).ToList());
    }

    /// <summary>Disconnects an app from a product.</summary>
    public async Task<Result<bool>> DeleteProductAppAsync(string workspaceId, string productTag, string accessTag, Actor actor, CancellationToken cancellationToken)
    {
        var product = await GetProductAsync(workspaceId, productTag, cancellationToken);
        if (!product.IsSuccess)
        {
            return product.Error!;
        }

        return await Published(workspaceId, ConfigCache.Name(ConfigKinds.ProductApp, productTag, accessTag),
                _store.DeleteConfigAsync(workspaceId, ConfigKinds.ProductApp, productTag, accessTag, false,
                    Event(workspaceId, "product.changed", actor, $"app {accessTag} removed from product {productTag}"), cancellationToken))
            ? true
            : ProductAppNotFound(productTag, accessTag);
    }

    /// <summary>Every stored product app that references <paramref name="key"/> (computed from the stored documents, so always current).</summary>
    public async Task<IReadOnlyList<SecretUsage>> UsageAsync(string workspaceId, string key, CancellationToken cancellationToken)
    {
        var usages = new List<SecretUsage>();
        foreach (var document in await _store.ListConfigsAsync(workspaceId, ConfigKinds.ProductApp, null, cancellationToken))
        {
            var config = ConfigJson.Deserialize<ProductAppConfig>(document.Body);
            var scanned = ReferenceScanner.Scan(Encoding.UTF8.GetBytes(document.Body));
            foreach (var reference in scanned.References.Where(r => r.Key == key))
            {
                usages.Add(new SecretUsage(document.Parent, document.Name, EnvOf(config, reference.Path), reference.Path, "product_app"));
            }
        }

        foreach (var document in await _store.ListConfigsAsync(workspaceId, ConfigKinds.Webhook, null, cancellationToken))
        {
            var webhook = ConfigJson.Deserialize<Webhooks.WebhookDefinition>(document.Body);
            if (ReferenceText.Find(webhook.SigningSecret).Any(r => r.Key == key))
            {
                usages.Add(new SecretUsage(document.Parent, webhook.App, null, "$.signing_secret", $"webhook:{webhook.Tag}"));
            }
        }

        return usages;
    }

    private async Task<IReadOnlyList<ConfigWarning>> WarningsAsync(string workspaceId, string productTag, ProductAppConfig config, ScannedDocument scanned, CancellationToken cancellationToken)
    {
        var warnings = new List<ConfigWarning>();
        if (scanned.References.Count == 0)
        {
            return warnings;
        }

        for (var i = 0; i < config.Envs.Count; i++)
        {
            var env = config.Envs[i].ProductEnvSlug;
            var report = await _resolution.CheckAsync(workspaceId, scanned, new ResolutionTarget(config.AccessTag, env, productTag), cancellationToken);
            var prefix = $"$.envs[{i}].";
            warnings.AddRange(report.References
                .Where(r => !r.Ok && r.Path.StartsWith(prefix, StringComparison.Ordinal))
                .Select(r => new ConfigWarning(env, r.Path, r.Key, r.Code!, r.Message!)));
        }

        return warnings;
    }

    private static string? EnvOf(ProductAppConfig config, string path)
    {
        const string Prefix = "$.envs[";
        if (!path.StartsWith(Prefix, StringComparison.Ordinal))
        {
            return null;
        }

        var end = path.IndexOf(']', StringComparison.Ordinal);
        return int.TryParse(path.AsSpan(Prefix.Length, end - Prefix.Length), out var index) && index < config.Envs.Count
            ? config.Envs[index].ProductEnvSlug
            : null;
    }

    private async Task<List<(string Product, ProductAppConfig Config)>> ProductAppsOfAsync(string workspaceId, string accessTag, CancellationToken cancellationToken) =>
        (await _store.ListConfigsAsync(workspaceId, ConfigKinds.ProductApp, null, cancellationToken))
            .Where(d => d.Name == accessTag)
            .Select(d => (d.Parent, ConfigJson.Deserialize<ProductAppConfig>(d.Body)))
            .ToList();

    private Task<bool> PutAsync(string workspaceId, string kind, string parent, string name, string body, PutMode mode, string action, Actor actor, CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        var what = kind == ConfigKinds.ProductApp ? $"app {name} of product {parent}" : $"{kind} {name}";
        return Published(workspaceId, ConfigCache.Name(kind, parent, name), _store.PutConfigAsync(workspaceId, new ConfigDocument(kind, parent, name, body, now, now), mode,
            Event(workspaceId, action, actor, $"{what} {(mode == PutMode.Create ? "created" : "replaced")}"), cancellationToken));
    }

    /// <summary>A stored document, parsed (from the cache when there is one); null when it does not exist.</summary>
    private async Task<T?> ReadAsync<T>(string workspaceId, string kind, string parent, string name, CancellationToken cancellationToken)
        where T : class
    {
        if (_cache is not null)
        {
            // A hit needs neither the loader's closure nor the key's string.
            if (_cache.TryGet<T>(workspaceId, kind, parent, name, out var cached))
            {
                return cached;
            }

            return await _cache.GetAsync(workspaceId, kind, parent, name,
                async ct => (await _store.GetConfigAsync(workspaceId, kind, parent, name, ct))?.Body, ConfigJson.Deserialize<T>, cancellationToken);
        }

        return await _store.GetConfigAsync(workspaceId, kind, parent, name, cancellationToken) is { } document
            ? ConfigJson.Deserialize<T>(document.Body)
            : null;
    }

    /// <summary>
    /// Awaits a mutating store call, then publishes the configuration change (<paramref name="name"/> null: every
    /// configuration of the workspace) — also when the call failed: an extra invalidation is harmless, a missed one is not.
    /// </summary>
    private async Task<bool> Published(string workspaceId, string? name, Task<bool> call)
    {
        try
        {
            return await call;
        }
        finally
        {
            _changes?.Publish(new StoreChange(workspaceId, StoreChangeKind.Config, name));
        }
    }

    private AuditEvent Event(string workspaceId, string action, Actor actor, string detail) =>
        SecretService.Event(workspaceId, action, actor, _time.GetUtcNow()) with { Detail = detail };

    internal static LatchError AppNotFound(string tag) => new(ErrorKind.NotFound, "app_not_found", $"App '{tag}' not found");

    internal static LatchError ProductNotFound(string tag) => new(ErrorKind.NotFound, "product_not_found", $"Product '{tag}' not found");

    internal static LatchError ProductAppNotFound(string product, string app) =>
        new(ErrorKind.NotFound, "product_app_not_found", $"App '{app}' is not connected to product '{product}'");
}

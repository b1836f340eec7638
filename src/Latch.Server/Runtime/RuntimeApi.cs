using System.Text.Json;
using Latch.Core;
using Latch.Core.Runtime;
using Latch.Core.Storage;
using Latch.Server.Access;
using Latch.Server.Http;

namespace Latch.Server.Runtime;

/// <summary>Apps, products and product apps (SPEC §4).</summary>
internal static class RuntimeApi
{
    public static void MapApps(this RouteGroupBuilder v1)
    {
        var apps = v1.MapGroup("/apps").WithTags("Apps");
        apps.MapPost("", CreateAppAsync).RequireRole(Authentication.Writers).WithJsonBody<AppDefinition>().Produces<AppDefinition>(201).ProducesProblem(400).ProducesProblem(409);
        apps.MapGet("", ListAppsAsync).RequireRole(Authentication.Readers).Produces<ListResponse<AppDefinition>>();
        apps.MapGet("/{accessTag}", GetAppAsync).RequireRole(Authentication.Readers).Produces<AppDefinition>().ProducesProblem(404);
        apps.MapPut("/{accessTag}", ReplaceAppAsync).RequireRole(Authentication.Writers).WithJsonBody<AppDefinition>().Produces<AppDefinition>().ProducesProblem(400).ProducesProblem(404).ProducesProblem(409);
        apps.MapDelete("/{accessTag}", DeleteAppAsync).RequireRole(Authentication.Writers).Produces(204).ProducesProblem(404).ProducesProblem(409);
    }

    public static void MapProducts(this RouteGroupBuilder v1)
    {
        var products = v1.MapGroup("/products").WithTags("Products");
        products.MapPost("", CreateProductAsync).RequireRole(Authentication.Writers).WithJsonBody<ProductDefinition>().Produces<ProductDefinition>(201).ProducesProblem(400).ProducesProblem(409);
        products.MapGet("", ListProductsAsync).RequireRole(Authentication.Readers).Produces<ListResponse<ProductDefinition>>();
        products.MapGet("/{product}", GetProductAsync).RequireRole(Authentication.Readers).Produces<ProductDefinition>().ProducesProblem(404);
        products.MapDelete("/{product}", DeleteProductAsync).RequireRole(Authentication.Writers).Produces(204).ProducesProblem(404);

        var productApps = products.MapGroup("/{product}/apps");
        productApps.MapPost("", AddProductAppAsync).RequireRole(Authentication.Writers).WithJsonBody<ProductAppConfig>().Produces<ProductAppResponse>(201).ProducesProblem(400).ProducesProblem(404).ProducesProblem(409)
            .WithSummary("product.apps.add");
        productApps.MapGet("", ListProductAppsAsync).RequireRole(Authentication.Readers).Produces<ListResponse<ProductAppConfig>>().ProducesProblem(404);
        productApps.MapGet("/{accessTag}", GetProductAppAsync).RequireRole(Authentication.Readers).Produces<ProductAppConfig>().ProducesProblem(404);
        productApps.MapPut("/{accessTag}", ReplaceProductAppAsync).RequireRole(Authentication.Writers).WithJsonBody<ProductAppConfig>().Produces<ProductAppResponse>().ProducesProblem(400).ProducesProblem(404);
        productApps.MapDelete("/{accessTag}", DeleteProductAppAsync).RequireRole(Authentication.Writers).Produces(204).ProducesProblem(404);
    }

    private static async Task<IResult> CreateAppAsync(HttpContext context, RuntimeConfigService configs)
    {
        var (app, problem) = await ReadAsync<AppDefinition>(context);
        if (problem is not null)
        {
            return problem;
        }

        var created = await configs.PutAppAsync(context.Caller().WorkspaceId, app!, PutMode.Create, null, context.Caller().Actor, context.RequestAborted);
        return created.IsSuccess ? TypedResults.Created($"/v1/apps/{app!.AccessTag}", created.Value) : Problems.From(created.Error!);
    }

    private static async Task<IResult> ReplaceAppAsync(string accessTag, HttpContext context, RuntimeConfigService configs)
    {
        var (app, problem) = await ReadAsync<AppDefinition>(context);
        if (problem is not null)
        {
            return problem;
        }

        var replaced = await configs.PutAppAsync(context.Caller().WorkspaceId, app!, PutMode.Replace, accessTag, context.Caller().Actor, context.RequestAborted);
        return replaced.IsSuccess ? TypedResults.Ok(replaced.Value) : Problems.From(replaced.Error!);
    }

    private static async Task<IResult> ListAppsAsync(HttpContext context, RuntimeConfigService configs) =>
        TypedResults.Ok(new ListResponse<AppDefinition>(await configs.ListAppsAsync(context.Caller().WorkspaceId, context.RequestAborted), null));

    private static async Task<IResult> GetAppAsync(string accessTag, HttpContext context, RuntimeConfigService configs) =>
        Answer(await configs.GetAppAsync(context.Caller().WorkspaceId, accessTag, context.RequestAborted));

    private static async Task<IResult> DeleteAppAsync(string accessTag, HttpContext context, RuntimeConfigService configs) =>
        NoContent(await configs.DeleteAppAsync(context.Caller().WorkspaceId, accessTag, context.Caller().Actor, context.RequestAborted));

    private static async Task<IResult> CreateProductAsync(HttpContext context, RuntimeConfigService configs)
    {
        var (product, problem) = await ReadAsync<ProductDefinition>(context);
        if (problem is not null)
        {
            return problem;
        }

        var created = await configs.CreateProductAsync(context.Caller().WorkspaceId, product!, context.Caller().Actor, context.RequestAborted);
        return created.IsSuccess ? TypedResults.Created($"/v1/products/{product!.Tag}", created.Value) : Problems.From(created.Error!);
    }

    private static async Task<IResult> ListProductsAsync(HttpContext context, RuntimeConfigService configs) =>
        TypedResults.Ok(new ListResponse<ProductDefinition>(await configs.ListProductsAsync(context.Caller().WorkspaceId, context.RequestAborted), null));

    private static async Task<IResult> GetProductAsync(string product, HttpContext context, RuntimeConfigService configs) =>
        Answer(await configs.GetProductAsync(context.Caller().WorkspaceId, product, context.RequestAborted));

    private static async Task<IResult> DeleteProductAsync(string product, HttpContext context, RuntimeConfigService configs) =>
        NoContent(await configs.DeleteProductAsync(context.Caller().WorkspaceId, product, context.Caller().Actor, context.RequestAborted));

    private static Task<IResult> AddProductAppAsync(string product, HttpContext context, RuntimeConfigService configs) =>
        PutProductAppAsync(product, null, PutMode.Create, context, configs);

    private static Task<IResult> ReplaceProductAppAsync(string product, string accessTag, HttpContext context, RuntimeConfigService configs) =>
        PutProductAppAsync(product, accessTag, PutMode.Replace, context, configs);

    private static async Task<IResult> PutProductAppAsync(string product, string? accessTag, PutMode mode, HttpContext context, RuntimeConfigService configs)
    {
        var (config, problem) = await ReadAsync<ProductAppConfig>(context);
        if (problem is not null)
        {
            return problem;
        }

        var result = await configs.PutProductAppAsync(context.Caller().WorkspaceId, product, config!, mode, accessTag, context.Caller().Actor, context.RequestAborted);
        if (!result.IsSuccess)
        {
            return Problems.From(result.Error!);
        }

        var (stored, warnings) = result.Value;
        var response = new ProductAppResponse(stored.AccessTag, stored.Envs, warnings);
        return mode == PutMode.Create ? TypedResults.Created($"/v1/products/{product}/apps/{stored.AccessTag}", response) : TypedResults.Ok(response);
    }

    private static async Task<IResult> ListProductAppsAsync(string product, HttpContext context, RuntimeConfigService configs)
    {
        var list = await configs.ListProductAppsAsync(context.Caller().WorkspaceId, product, context.RequestAborted);
        return list.IsSuccess ? TypedResults.Ok(new ListResponse<ProductAppConfig>(list.Value!, null)) : Problems.From(list.Error!);
    }

    private static async Task<IResult> GetProductAppAsync(string product, string accessTag, HttpContext context, RuntimeConfigService configs) =>
        Answer(await configs.GetProductAppAsync(context.Caller().WorkspaceId, product, accessTag, context.RequestAborted));

    private static async Task<IResult> DeleteProductAppAsync(string product, string accessTag, HttpContext context, RuntimeConfigService configs) =>
        NoContent(await configs.DeleteProductAppAsync(context.Caller().WorkspaceId, product, accessTag, context.Caller().Actor, context.RequestAborted));

    private static async Task<(T? Value, IResult? Problem)> ReadAsync<T>(HttpContext context)
        where T : class
    {
        var (document, problem) = await JsonBody.ReadObjectAsync(context, context.RequestAborted);
        if (problem is not null)
        {
            return (null, problem);
        }

        using (document)
        {
            var read = ConfigValidation.Read<T>(document!.RootElement);
            return read.IsSuccess ? (read.Value, null) : (null, Problems.From(read.Error!));
        }
    }

    private static IResult Answer<T>(Result<T> result) => result.IsSuccess ? TypedResults.Ok(result.Value) : Problems.From(result.Error!);

    private static IResult NoContent(Result<bool> result) => result.IsSuccess ? TypedResults.NoContent() : Problems.From(result.Error!);
}

/// <summary><c>product.apps.add</c>'s answer: the stored configuration plus warnings for references that would fail today.</summary>
internal sealed record ProductAppResponse(string AccessTag, IReadOnlyList<ProductAppEnvironment> Envs, IReadOnlyList<ConfigWarning> Warnings);

/// <summary>
/// <c>GET /v1/products/{product}/apps/{access_tag}/variables?env=E[&amp;optional=K1,K2]</c>: the product app's variables for
/// one environment with every reference resolved — what a service loads as its configuration (the SDK's configuration
/// provider). All or nothing, audited with context <c>config</c>; variables named in <c>optional</c> that would fail are
/// left out instead of failing the whole call.
/// </summary>
internal static class VariablesApi
{
    public static void MapVariables(this RouteGroupBuilder v1) =>
        v1.MapGet("/products/{product}/apps/{accessTag}/variables", ResolveVariablesAsync).WithTags("Products")
            .RequireRole(Authentication.Resolvers).Produces<ResolvedVariables>().ProducesProblem(400).ProducesProblem(403).ProducesProblem(404).ProducesProblem(422)
            .WithSummary("A product app's variables for an environment, references resolved (configuration loading)");

    private static async Task<IResult> ResolveVariablesAsync(
        string product, string accessTag, HttpContext context, RuntimeConfigService configs, Latch.Core.Secrets.ResolutionService resolution)
    {
        var env = context.Request.Query["env"].ToString();
        if (!Latch.Core.Validation.Names.IsTag(env))
        {
            return Problems.Invalid("env", "is required: the product environment slug");
        }

        var optional = context.Request.Query["optional"].ToString()
            .Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToHashSet(StringComparer.Ordinal);
        var caller = context.Caller();
        if (caller.CheckBinding(accessTag, env) is { } denied)
        {
            return denied;
        }

        var config = await configs.GetProductAppAsync(caller.WorkspaceId, product, accessTag, context.RequestAborted);
        if (!config.IsSuccess)
        {
            return Problems.From(config.Error!);
        }

        var mapping = config.Value!.Envs.FirstOrDefault(e => e.ProductEnvSlug == env);
        if (mapping is null)
        {
            return Problems.Of(404, "environment_not_mapped", $"App '{accessTag}' has no configuration for environment '{env}' of product '{product}'");
        }

        var variables = (mapping.Variables ?? []).ToDictionary(v => v.Key, v => v.Value, StringComparer.Ordinal);
        var target = new Latch.Core.References.ResolutionTarget(accessTag, env, product);
        var scanned = Latch.Core.References.ReferenceScanner.Scan(JsonSerializer.SerializeToUtf8Bytes(variables, LatchJsonContext.Default.DictionaryStringString));
        var skipped = new List<string>();
        if (optional.Count > 0)
        {
            // Optional variables whose references would fail are dropped before resolving the rest, all or nothing.
            var report = await resolution.CheckAsync(caller.WorkspaceId, scanned, target, context.RequestAborted);
            foreach (var failed in report.Errors.Select(e => e.Path[2..]).Distinct(StringComparer.Ordinal).Where(optional.Contains))
            {
                variables.Remove(failed);
                skipped.Add(failed);
            }

            scanned = Latch.Core.References.ReferenceScanner.Scan(JsonSerializer.SerializeToUtf8Bytes(variables, LatchJsonContext.Default.DictionaryStringString));
        }

        var resolved = await resolution.ResolveAsync(caller.WorkspaceId, scanned, target, "config", caller.Actor, context.RequestAborted);
        if (!resolved.IsSuccess)
        {
            return Problems.From(resolved.Error!);
        }

        var values = JsonSerializer.Deserialize(resolved.Value!.Document!, LatchJsonContext.Default.DictionaryStringString)!;
        context.Response.Headers.CacheControl = "no-store";
        return TypedResults.Ok(new ResolvedVariables(product, accessTag, env, values, skipped,
            resolved.Value.Resolved.Select(r => new ResolvedVariableReference(r.Path, r.Key, r.Version)).ToList()));
    }
}

internal sealed record ResolvedVariableReference(string Path, string Key, int Version);

internal sealed record ResolvedVariables(string Product, string App, string Env, IReadOnlyDictionary<string, string> Variables, IReadOnlyList<string> Skipped, IReadOnlyList<ResolvedVariableReference> References);

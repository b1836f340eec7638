using System.Buffers;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using Latch.Core;
using Latch.Core.References;
using Latch.Core.Secrets;
using Latch.Core.Storage;
using Latch.Core.Validation;
using Latch.Server.Access;
using Latch.Server.Http;

namespace Latch.Server.Secrets;

/// <summary>The secrets API of SPEC §3.</summary>
internal static class SecretsApi
{
    private const int DefaultPageSize = 50;
    private const int MaxPageSize = 500;

    public static void MapSecrets(this RouteGroupBuilder v1)
    {
        var secrets = v1.MapGroup("/secrets").WithTags("Secrets");
        secrets.MapPost("", CreateAsync).WithJsonBody<CreateSecretRequest>().Produces<SecretResponse>(201).ProducesProblem(400).ProducesProblem(409).RequireRole(Authentication.Writers).WithSummary("Create a secret");
        secrets.MapGet("", ListAsync).Produces<ListResponse<SecretResponse>>().ProducesProblem(400).RequireRole(Authentication.Readers).WithSummary("List secrets");
        secrets.MapPost("/validate", (Delegate)ValidateAsync).WithJsonBody<ValidateRequest>().Produces<ValidateResponse>().ProducesProblem(400).RequireRole(Authentication.Anyone).WithSummary("Find references in any JSON");
        secrets.MapPost("/check", CheckAsync).WithJsonBody<ResolutionRequestShape>().Produces<CheckResponse>().ProducesProblem(400).ProducesProblem(403).RequireRole(Authentication.Anyone).WithSummary("Dry-run resolution of a document");
        secrets.MapPost("/resolve", ResolveAsync).WithJsonBody<ResolutionRequestShape>().ProducesProblem(400).ProducesProblem(403).ProducesProblem(422).RequireRole(Authentication.Resolvers).WithSummary("Resolve a document");
        secrets.MapGet("/{key}", FetchAsync).Produces<SecretResponse>().ProducesProblem(404).RequireRole(Authentication.Readers).WithSummary("Fetch metadata (or reveal)");
        secrets.MapMethods("/{key}", [HttpMethods.Head], ExistsAsync).RequireRole(Authentication.Readers).WithSummary("Does a secret exist");
        secrets.MapPatch("/{key}", UpdateAsync).WithJsonBody<UpdateSecretRequest>().Produces<SecretResponse>().ProducesProblem(400).ProducesProblem(404).ProducesProblem(412).RequireRole(Authentication.Writers).WithSummary("Update or rotate");
        secrets.MapDelete("/{key}", DeleteAsync).Produces(204).ProducesProblem(404).RequireRole(Authentication.Writers).WithSummary("Delete");
        secrets.MapPost("/{key}/revoke", RevokeAsync).Produces<SecretResponse>().ProducesProblem(404).RequireRole(Authentication.Writers).WithSummary("Revoke");
        secrets.MapGet("/{key}/versions", VersionsAsync).Produces<ListResponse<SecretVersionResponse>>().ProducesProblem(404).RequireRole(Authentication.Readers).WithSummary("List versions");
        secrets.MapGet("/{key}/usage", UsageAsync).RequireRole(Authentication.Readers).Produces<UsageResponse>().ProducesProblem(404).WithSummary("Where a secret is referenced and who used it recently");
        secrets.MapPost("/{key}/rollback", RollbackAsync).WithJsonBody<RollbackRequest>().Produces<SecretResponse>().ProducesProblem(404).RequireRole(Authentication.Writers).WithSummary("Roll back to a version");
    }

    private static async Task<IResult> CreateAsync(HttpContext context, SecretService secrets, TimeProvider time)
    {
        var (document, problem) = await JsonBody.ReadObjectAsync(context, context.RequestAborted);
        if (problem is not null)
        {
            return problem;
        }

        using (document)
        {
            var fields = new FieldReader(document!.RootElement);
            var key = fields.RequiredString("key", 1000);
            if (key is not null && Names.ExplainSecretKey(key) is { } why)
            {
                fields.Fail("key", why);
            }

            var value = fields.Value("value", Names.MaxValueBytes);
            var description = fields.OptionalString("description", 1000);
            var tokenType = fields.OptionalString("token_type", 100);
            var scope = Scope(fields);
            var envs = Envs(fields);
            var expires = fields.UnixSeconds("expires_at");
            if (fields.Error is { } error)
            {
                return Problems.From(error);
            }

            var draft = new SecretDraft(key!, value.Value, description.Value, tokenType.Value,
                scope.IsSet ? scope.Value : [], envs.IsSet ? envs.Value : [], expires.Value);
            var created = await secrets.CreateAsync(context.Caller().WorkspaceId, draft, context.Caller().Actor, context.RequestAborted);
            if (!created.IsSuccess)
            {
                return Problems.From(created.Error!);
            }

            var secret = created.Value!.Secret;
            context.Response.Headers.ETag = ETag(secret.Version);
            return TypedResults.Created($"/v1/secrets/{secret.Key}",
                SecretResponse.From(secret, time.GetUtcNow(), context, created.Value.GeneratedValue?.Reveal()));
        }
    }

    private static async Task<IResult> ListAsync(HttpContext context, SecretService secrets, TimeProvider time)
    {
        var query = context.Request.Query;
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        var limit = QueryParameters.Limit(query, DefaultPageSize, MaxPageSize, errors);

        string? afterKey = null;
        if (query.TryGetValue("cursor", out var cursor) && !string.IsNullOrEmpty(cursor))
        {
            afterKey = DecodeCursor(cursor!);
            if (afterKey is null)
            {
                errors["cursor"] = ["is not a cursor returned by this API"];
            }
        }

        SecretStatus? status = null;
        if (query.TryGetValue("status", out var statusText))
        {
            status = statusText.ToString() switch
            {
                "active" => SecretStatus.Active,
                "expired" => SecretStatus.Expired,
                "revoked" => SecretStatus.Revoked,
                _ => null,
            };
            if (status is null)
            {
                errors["status"] = ["must be active, expired or revoked"];
            }
        }

        long? within = null;
        if (query.TryGetValue("expiring_within", out var withinText))
        {
            if (long.TryParse(withinText, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds) && seconds > 0 && seconds <= 100L * 365 * 86400)
            {
                within = seconds;
            }
            else
            {
                errors["expiring_within"] = ["must be a positive number of seconds"];
            }
        }

        var app = TagParameter(query, "app", errors);
        var env = TagParameter(query, "env", errors);
        var search = query.TryGetValue("q", out var q) && !string.IsNullOrWhiteSpace(q) ? q.ToString() : null;
        if (search is { Length: > 100 })
        {
            errors["q"] = ["must be at most 100 characters"];
        }
        else if (search is not null && search.Any(c => char.IsControl(c) || char.IsSurrogate(c)))
        {
            // Keys and descriptions hold neither; and PostgreSQL text cannot hold NUL.
            errors["q"] = ["must not contain control characters or unpaired surrogates"];
        }

        if (errors.Count > 0)
        {
            return Problems.From(LatchError.Invalid(errors));
        }

        var page = await secrets.ListAsync(context.Caller().WorkspaceId,
            new SecretQuery(app, env, status, within, afterKey, limit + 1, search), context.RequestAborted);
        var now = time.GetUtcNow();
        var items = page.Take(limit).Select(s => SecretResponse.From(s, now, context)).ToList();
        var next = page.Count > limit ? EncodeCursor(items[^1].Key) : null;
        return TypedResults.Ok(new ListResponse<SecretResponse>(items, next));
    }

    private static async Task<IResult> FetchAsync(string key, HttpContext context, SecretService secrets, TimeProvider time, ServeOptions options)
    {
        var caller = context.Caller();
        var reveal = context.Request.Query.TryGetValue("reveal", out var revealText) && revealText.ToString() is "true" or "1";
        if (!reveal)
        {
            var secret = await secrets.GetAsync(caller.WorkspaceId, key, context.RequestAborted);
            if (!secret.IsSuccess)
            {
                return Problems.From(secret.Error!);
            }

            context.Response.Headers.ETag = ETag(secret.Value!.Version);
            return TypedResults.Ok(SecretResponse.From(secret.Value, time.GetUtcNow(), context));
        }

        if (!options.RevealEnabled)
        {
            return Problems.Of(403, "reveal_disabled", "Revealing secret values is disabled on this server");
        }

        if (!caller.HasRole(Authentication.Writers))
        {
            return Problems.Of(403, "forbidden", $"API key '{caller.Key.Name}' has role '{caller.Key.Role}', which may not reveal values (needs owner or admin)");
        }

        var revealed = await secrets.RevealAsync(caller.WorkspaceId, key, caller.Actor, context.RequestAborted);
        if (!revealed.IsSuccess)
        {
            return Problems.From(revealed.Error!);
        }

        var (record, value) = revealed.Value;
        context.Response.Headers.ETag = ETag(record.Version);
        context.Response.Headers.CacheControl = "no-store";
        return TypedResults.Ok(SecretResponse.From(record, time.GetUtcNow(), context, value.Reveal()));
    }

    private static async Task<IResult> ExistsAsync(string key, HttpContext context, SecretService secrets)
    {
        var secret = await secrets.GetAsync(context.Caller().WorkspaceId, key, context.RequestAborted);
        if (!secret.IsSuccess)
        {
            return TypedResults.NotFound();
        }

        context.Response.Headers.ETag = ETag(secret.Value!.Version);
        return TypedResults.Ok();
    }

    private static async Task<IResult> UpdateAsync(string key, HttpContext context, SecretService secrets, TimeProvider time)
    {
        int? ifMatch = null;
        var ifMatchHeader = context.Request.Headers.IfMatch.ToString();
        if (ifMatchHeader.Length > 0)
        {
            ifMatch = ParseETag(ifMatchHeader);
            if (ifMatch is null)
            {
                return Problems.Of(400, "invalid_if_match", "If-Match must be a version in quotes, e.g. If-Match: \"3\"");
            }
        }

        var (document, problem) = await JsonBody.ReadObjectAsync(context, context.RequestAborted);
        if (problem is not null)
        {
            return problem;
        }

        using (document)
        {
            var fields = new FieldReader(document!.RootElement);
            var patch = new SecretPatch
            {
                Value = fields.Value("value", Names.MaxValueBytes).Value,
                Description = fields.OptionalString("description", 1000),
                TokenType = fields.OptionalString("token_type", 100),
                Scope = Scope(fields),
                Envs = Envs(fields),
                ExpiresAt = fields.UnixSeconds("expires_at"),
                Revoked = fields.Bool("revoked"),
            };
            if (fields.Error is { } error)
            {
                return Problems.From(error);
            }

            if (!patch.FieldNames().Any())
            {
                return Problems.Invalid("$", "send at least one of value, description, token_type, scope, envs, expires_at, revoked");
            }

            var updated = await secrets.UpdateAsync(context.Caller().WorkspaceId, key, patch, ifMatch, context.Caller().Actor, context.RequestAborted);
            return SecretResult(context, updated, time);
        }
    }

    private static async Task<IResult> RevokeAsync(string key, HttpContext context, SecretService secrets, TimeProvider time) =>
        SecretResult(context, await secrets.RevokeAsync(context.Caller().WorkspaceId, key, context.Caller().Actor, context.RequestAborted), time);

    private static async Task<IResult> DeleteAsync(string key, HttpContext context, SecretService secrets)
    {
        var deleted = await secrets.DeleteAsync(context.Caller().WorkspaceId, key, context.Caller().Actor, context.RequestAborted);
        return deleted.IsSuccess ? TypedResults.NoContent() : Problems.From(deleted.Error!);
    }

    private static async Task<IResult> VersionsAsync(string key, HttpContext context, SecretService secrets)
    {
        var versions = await secrets.VersionsAsync(context.Caller().WorkspaceId, key, context.RequestAborted);
        return versions.IsSuccess
            ? TypedResults.Ok(new ListResponse<SecretVersionResponse>(
                versions.Value!.Select(v => new SecretVersionResponse(v.Version, v.CreatedAt.UtcDateTime, v.CreatedBy)).ToList(), null))
            : Problems.From(versions.Error!);
    }

    private static async Task<IResult> RollbackAsync(string key, HttpContext context, SecretService secrets, TimeProvider time)
    {
        var (document, problem) = await JsonBody.ReadObjectAsync(context, context.RequestAborted);
        if (problem is not null)
        {
            return problem;
        }

        using (document)
        {
            var fields = new FieldReader(document!.RootElement);
            var version = fields.RequiredInt("version", 1, int.MaxValue);
            if (fields.Error is { } error)
            {
                return Problems.From(error);
            }

            return SecretResult(context, await secrets.RollbackAsync(context.Caller().WorkspaceId, key, version!.Value, context.Caller().Actor, context.RequestAborted), time);
        }
    }

    private static async Task<IResult> UsageAsync(string key, HttpContext context, SecretService secrets, Latch.Core.Runtime.RuntimeConfigService configs, ILatchStore store)
    {
        var workspaceId = context.Caller().WorkspaceId;
        var secret = await secrets.GetAsync(workspaceId, key, context.RequestAborted);
        if (!secret.IsSuccess)
        {
            return Problems.From(secret.Error!);
        }

        var references = await configs.UsageAsync(workspaceId, key, context.RequestAborted);
        var recent = await store.GetRecentUsesAsync(workspaceId, key, context.RequestAborted);
        return TypedResults.Ok(new UsageResponse(
            key,
            references.Select(r => new UsageReference(r.Product, r.App, r.Env, r.Path, r.Source)).ToList(),
            recent.Select(r => new UsageRecent(r.Product, r.App, r.Env, r.Context, r.Count, r.LastUsedAt.UtcDateTime)).ToList()));
    }

    private static async Task<IResult> ValidateAsync(HttpContext context)
    {
        var (document, body, problem) = await JsonBody.ReadObjectWithBodyAsync(context, context.RequestAborted);
        if (problem is not null)
        {
            return problem;
        }

        using (document)
        {
            var fields = new FieldReader(document!.RootElement);
            var value = fields.RequiredAny("value");
            if (fields.Error is { } error)
            {
                return Problems.From(error);
            }

            var scanned = ResolutionService.Scan(RawBytes(value!.Value, body), "value");
            if (!scanned.IsSuccess)
            {
                return Problems.From(scanned.Error!);
            }

            var doc = scanned.Value!;
            return TypedResults.Ok(new ValidateResponse(
                doc.Malformed.Count == 0,
                doc.References.Select(r => new FoundReferenceResponse(r.Path, r.Key)).ToList(),
                doc.Malformed.Select(ErrorResponse.From).ToList()));
        }
    }

    private static async Task<IResult> CheckAsync(HttpContext context, ResolutionService resolution)
    {
        var request = await ReadResolutionRequestAsync(context);
        if (request.Problem is not null)
        {
            return request.Problem;
        }

        var checkedReport = await resolution.CheckForCallerAsync(context.Caller().WorkspaceId, request.Document!, request.Target!, context.Caller().Actor, context.RequestAborted);
        if (!checkedReport.IsSuccess)
        {
            return Problems.From(checkedReport.Error!);
        }

        var report = checkedReport.Value!;
        var items = new List<CheckItemResponse>(report.References.Count + report.Malformed.Count);
        foreach (var r in report.References)
        {
            items.Add(new CheckItemResponse(r.Path, r.Key, r.Ok, r.Code, r.Message));
        }

        foreach (var m in report.Malformed)
        {
            items.Add(new CheckItemResponse(m.Path, m.Key, false, m.Code, m.Message));
        }

        return TypedResults.Ok(new CheckResponse(report.Ok, items));
    }

    private static async Task<IResult> ResolveAsync(HttpContext context, ResolutionService resolution)
    {
        var request = await ReadResolutionRequestAsync(context);
        if (request.Problem is not null)
        {
            return request.Problem;
        }

        var caller = context.Caller();
        var outcome = await resolution.ResolveAsync(caller.WorkspaceId, request.Document!, request.Target!, "resolve", caller.Actor, context.RequestAborted);
        if (!outcome.IsSuccess)
        {
            return Problems.From(outcome.Error!);
        }

        var resolved = outcome.Value!;
        context.Response.Headers.CacheControl = "no-store";
        return new RawJsonResult(writer =>
        {
            writer.WriteStartObject();
            writer.WritePropertyName("document");
            writer.WriteRawValue(resolved.Document!, skipInputValidation: true);
            writer.WriteStartArray("references");
            foreach (var r in resolved.Resolved)
            {
                writer.WriteStartObject();
                writer.WriteString("path", r.Path);
                writer.WriteString("key", r.Key);
                writer.WriteNumber("version", r.Version);
                writer.WriteEndObject();
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        });
    }

    private sealed record ResolutionRequest(ScannedDocument? Document, ResolutionTarget? Target, IResult? Problem);

    private static async Task<ResolutionRequest> ReadResolutionRequestAsync(HttpContext context)
    {
        var (body, bytes, problem) = await JsonBody.ReadObjectWithBodyAsync(context, context.RequestAborted);
        if (problem is not null)
        {
            return new(null, null, problem);
        }

        using (body)
        {
            var fields = new FieldReader(body!.RootElement);
            var document = fields.RequiredAny("document");
            var app = fields.RequiredString("app", 64);
            var env = fields.RequiredString("env", 64);
            var product = fields.OptionalString("product", 64);
            if (app is not null && !Names.IsTag(app))
            {
                fields.Fail("app", "must be an app access tag");
            }

            if (env is not null && !Names.IsTag(env))
            {
                fields.Fail("env", "must be an environment slug");
            }

            if (product.Value is not null && !Names.IsTag(product.Value))
            {
                fields.Fail("product", "must be a product tag");
            }

            if (fields.Error is { } error)
            {
                return new(null, null, Problems.From(error));
            }

            // Bound keys are refused before anything is looked up or resolved.
            if (context.Caller().CheckBinding(app!, env!) is { } denied)
            {
                return new(null, null, denied);
            }

            var scanned = ResolutionService.Scan(RawBytes(document!.Value, bytes), "document");
            return scanned.IsSuccess
                ? new(scanned.Value, new ResolutionTarget(app!, env!, product.Value), null)
                : new(null, null, Problems.From(scanned.Error!));
        }
    }

    /// <summary>
    /// The element's JSON text as a slice of the request body it was parsed from (no copy; the body is never written
    /// to); a copy only if the element does not lie within <paramref name="body"/>.
    /// </summary>
    private static ReadOnlyMemory<byte> RawBytes(JsonElement element, ReadOnlyMemory<byte> body)
    {
        var raw = JsonMarshal.GetRawUtf8Value(element);
        return body.Span.Overlaps(raw, out var offset) && offset >= 0 && offset + raw.Length <= body.Length
            ? body.Slice(offset, raw.Length)
            : raw.ToArray();
    }

    private static IResult SecretResult(HttpContext context, Result<SecretRecord> result, TimeProvider time)
    {
        if (!result.IsSuccess)
        {
            return Problems.From(result.Error!);
        }

        context.Response.Headers.ETag = ETag(result.Value!.Version);
        return TypedResults.Ok(SecretResponse.From(result.Value, time.GetUtcNow(), context));
    }

    private static Optional<IReadOnlyList<string>> Scope(FieldReader fields) =>
        fields.StringArray("scope", Names.IsScopeEntry, "must be an app access tag or product_tag:access_tag");

    private static Optional<IReadOnlyList<string>> Envs(FieldReader fields) =>
        fields.StringArray("envs", Names.IsTag, "must be an environment slug");

    private static string? TagParameter(IQueryCollection query, string name, Dictionary<string, string[]> errors)
    {
        if (!query.TryGetValue(name, out var value))
        {
            return null;
        }

        if (!Names.IsTag(value))
        {
            errors[name] = [$"must be {(name == "app" ? "an app access tag" : "an environment slug")}"];
            return null;
        }

        return value.ToString();
    }

    private static string ETag(int version) => $"\"{version.ToString(CultureInfo.InvariantCulture)}\"";

    private static int? ParseETag(string header)
    {
        var text = header.Trim();
        if (text.StartsWith("W/", StringComparison.Ordinal))
        {
            text = text[2..];
        }

        text = text.Trim('"');
        return int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var version) && version > 0 ? version : null;
    }

    private static string EncodeCursor(string key) => Convert.ToBase64String(Encoding.UTF8.GetBytes(key)).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private static string? DecodeCursor(string cursor)
    {
        var text = cursor.Replace('-', '+').Replace('_', '/');
        text = text.PadRight(text.Length + ((4 - (text.Length % 4)) % 4), '=');
        var buffer = new byte[text.Length];
        if (!Convert.TryFromBase64String(text, buffer, out var written))
        {
            return null;
        }

        var key = Encoding.UTF8.GetString(buffer, 0, written);
        return Names.IsSecretKey(key) ? key : null;
    }
}

internal sealed record FoundReferenceResponse(string Path, string Key);

internal sealed record UsageReference(string Product, string App, string? Env, string Path, string Source);

internal sealed record UsageRecent(string? Product, string? App, string? Env, string? Context, long Count, DateTime LastUsedAt);

internal sealed record UsageResponse(string Key, IReadOnlyList<UsageReference> References, IReadOnlyList<UsageRecent> Recent);

internal sealed record ErrorResponse(string Path, string? Key, string Code, string Message)
{
    public static ErrorResponse From(ReferenceError e) => new(e.Path, e.Key, e.Code, e.Message);
}

internal sealed record ValidateResponse(bool Ok, IReadOnlyList<FoundReferenceResponse> References, IReadOnlyList<ErrorResponse> Malformed);

internal sealed record CheckItemResponse(
    string Path,
    string? Key,
    bool Ok,
    [property: System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)] string? Code,
    [property: System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)] string? Message);

internal sealed record CheckResponse(bool Ok, IReadOnlyList<CheckItemResponse> References);

/// <summary>Writes JSON straight to the response (for documents that are already UTF-8 JSON).</summary>
internal sealed class RawJsonResult : IResult
{
    private readonly Action<Utf8JsonWriter> _write;

    public RawJsonResult(Action<Utf8JsonWriter> write) => _write = write;

    public Task ExecuteAsync(HttpContext httpContext)
    {
        ArgumentNullException.ThrowIfNull(httpContext);
        httpContext.Response.ContentType = "application/json; charset=utf-8";
        // Straight into the response's pipe (pooled segments), flushed once: no intermediate buffer and no copy.
        var pipe = httpContext.Response.BodyWriter;
        using (var writer = new Utf8JsonWriter(pipe))
        {
            _write(writer);
        }

        return FlushAsync(pipe, httpContext.RequestAborted);
    }

    private static async Task FlushAsync(System.IO.Pipelines.PipeWriter pipe, CancellationToken cancellationToken) =>
        await pipe.FlushAsync(cancellationToken);
}

using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;
using System.Text.Unicode;
using Latch.Core.Storage;
using Latch.Core.Validation;
using Latch.Core;
using Latch.Core.Webhooks;
using Latch.Server.Access;
using Latch.Server.Http;
using Microsoft.AspNetCore.Mvc;

namespace Latch.Server.Webhooks;

/// <summary>Webhooks of products (SPEC §4): configuration under <c>/v1</c>, deliveries at <c>/hooks/…</c> (the signature is the credential).</summary>
internal static partial class WebhooksApi
{
    private const int DefaultPageSize = 50;
    private const int MaxPageSize = 500;

    /// <summary>Headers a <c>hmac_sha256</c> webhook may not use for its signature: they mean something else to HTTP.</summary>
    private static readonly string[] ReservedHeaders =
    [
        "Authorization", "Proxy-Authorization", "Cookie", "Host", "Content-Type", "Content-Length", "Content-Encoding",
        "Transfer-Encoding", "Connection", "Expect", "Upgrade", "TE", "Trailer",
    ];

    public static void MapWebhooks(this RouteGroupBuilder v1)
    {
        var hooks = v1.MapGroup("/products/{product}/webhooks").WithTags("Webhooks");
        hooks.MapPost("", CreateAsync).WithJsonBody<CreateWebhookRequest>().Produces<WebhookResponse>(201).ProducesProblem(400).ProducesProblem(404).ProducesProblem(409).RequireRole(Authentication.Writers).WithSummary("Create a webhook");
        hooks.MapGet("", ListAsync).Produces<ListResponse<WebhookResponse>>().ProducesProblem(404).RequireRole(Authentication.Readers).WithSummary("List a product's webhooks");
        hooks.MapGet("/{tag}", GetAsync).Produces<WebhookResponse>().ProducesProblem(404).RequireRole(Authentication.Readers).WithSummary("Fetch a webhook with its rejection counter");
        hooks.MapDelete("/{tag}", DeleteAsync).Produces(204).ProducesProblem(404).RequireRole(Authentication.Writers).WithSummary("Delete a webhook and its deliveries");
        hooks.MapGet("/{tag}/deliveries", DeliveriesAsync).Produces<ListResponse<DeliveryResponse>>().ProducesProblem(400).ProducesProblem(404).RequireRole(Authentication.Readers).WithSummary("Verified deliveries, newest first");
    }

    /// <summary>The unauthenticated receiver: no API key, the signature is the credential.</summary>
    public static void MapWebhookReceiver(this IEndpointRouteBuilder app)
    {
        app.MapPost("/hooks/{workspace_id}/{product}/{tag}/{env}", ReceiveAsync).WithTags("Webhooks")
            .Produces(204).ProducesProblem(401).ProducesProblem(404).ProducesProblem(409).ProducesProblem(413)
            .WithSummary("Receive a signed delivery (204 verified, 401 missing, invalid or stale signature, 409 a replay of an accepted delivery)");
    }

    private static async Task<IResult> CreateAsync(string product, HttpContext context, WebhookService webhooks)
    {
        var (document, problem) = await JsonBody.ReadObjectAsync(context, context.RequestAborted);
        if (problem is not null)
        {
            return problem;
        }

        using (document)
        {
            var root = document!.RootElement;
            var fields = new FieldReader(root);
            var name = fields.RequiredString("name", 200);
            var tag = Tag(fields, "tag", "must be a webhook tag (letters, digits, _ . -, up to 64 characters)");
            var app = Tag(fields, "app", "must be an app access tag");
            var signingSecret = fields.RequiredString("signing_secret", 200);
            if (signingSecret is not null && WebhookService.ExplainSigningSecret(signingSecret) is { } why)
            {
                fields.Fail("signing_secret", why);
            }

            var scheme = fields.RequiredString("scheme", 50);
            if (scheme is not null && !WebhookSchemes.All.Contains(scheme, StringComparer.Ordinal))
            {
                fields.Fail("scheme", $"must be one of {string.Join(", ", WebhookSchemes.All)}");
                scheme = null;
            }

            var tolerance = OptionalInt(root, fields, "tolerance_seconds", 1, WebhookSchemes.MaxToleranceSeconds);
            var grace = OptionalInt(root, fields, "rotation_grace_seconds", 0, WebhookSchemes.MaxRotationGraceSeconds);
            var header = fields.OptionalString("header", 100).Value;
            if (scheme is not null && tolerance is not null && !WebhookSchemes.HasTimestamp(scheme))
            {
                fields.Fail("tolerance_seconds", "applies only to the stripe and standard schemes");
            }

            if (header is not null)
            {
                if (scheme is not null && scheme != WebhookSchemes.HmacSha256)
                {
                    fields.Fail("header", "applies only to the hmac_sha256 scheme");
                }
                else if (!HeaderNameRegex().IsMatch(header) || ReservedHeaders.Contains(header, StringComparer.OrdinalIgnoreCase))
                {
                    fields.Fail("header", "must be an HTTP header name (letters, digits and -) other than a standard header such as Authorization");
                }
            }

            if (fields.Error is { } error)
            {
                return Problems.From(error);
            }

            var definition = new WebhookDefinition(tag!, name!, app!, signingSecret!, scheme!,
                WebhookSchemes.HasTimestamp(scheme!) ? tolerance ?? WebhookSchemes.DefaultToleranceSeconds : null,
                grace ?? 0,
                scheme == WebhookSchemes.HmacSha256 ? header ?? WebhookSchemes.DefaultHmacHeader : null);
            var caller = context.Caller();
            var created = await webhooks.CreateAsync(caller.WorkspaceId, product, definition, caller.Actor, context.RequestAborted);
            if (!created.IsSuccess)
            {
                return Problems.From(created.Error!);
            }

            var response = WebhookResponse.From(created.Value!.Webhook, context) with
            {
                Warnings = created.Value.Warnings.Select(w => new WebhookWarningResponse(w.Env, w.Code, w.Message)).ToList(),
            };
            return TypedResults.Created($"/v1/products/{product}/webhooks/{definition.Tag}", response);
        }
    }

    private static async Task<IResult> ListAsync(string product, HttpContext context, WebhookService webhooks)
    {
        var list = await webhooks.ListAsync(context.Caller().WorkspaceId, product, context.RequestAborted);
        return list.IsSuccess
            ? TypedResults.Ok(new ListResponse<WebhookResponse>(list.Value!.Select(w => WebhookResponse.From(w, context)).ToList(), null))
            : Problems.From(list.Error!);
    }

    private static async Task<IResult> GetAsync(string product, string tag, HttpContext context, WebhookService webhooks)
    {
        var hook = await webhooks.GetAsync(context.Caller().WorkspaceId, product, tag, context.RequestAborted);
        return hook.IsSuccess ? TypedResults.Ok(WebhookResponse.From(hook.Value!, context)) : Problems.From(hook.Error!);
    }

    private static async Task<IResult> DeleteAsync(string product, string tag, HttpContext context, WebhookService webhooks)
    {
        var deleted = await webhooks.DeleteAsync(context.Caller().WorkspaceId, product, tag, context.Caller().Actor, context.RequestAborted);
        return deleted.IsSuccess ? TypedResults.NoContent() : Problems.From(deleted.Error!);
    }

    private static async Task<IResult> DeliveriesAsync(string product, string tag, HttpContext context, WebhookService webhooks)
    {
        var query = context.Request.Query;
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        var limit = QueryParameters.Limit(query, DefaultPageSize, MaxPageSize, errors);

        long? before = null;
        if (query.TryGetValue("cursor", out var cursor) && !string.IsNullOrEmpty(cursor))
        {
            before = DecodeCursor(cursor!);
            if (before is null)
            {
                errors["cursor"] = ["is not a cursor returned by this API"];
            }
        }

        if (errors.Count > 0)
        {
            return Problems.From(Latch.Core.LatchError.Invalid(errors));
        }

        var page = await webhooks.ListDeliveriesAsync(context.Caller().WorkspaceId, product, tag, before, limit + 1, context.RequestAborted);
        if (!page.IsSuccess)
        {
            return Problems.From(page.Error!);
        }

        var deliveries = page.Value!;
        var items = deliveries.Take(limit).Select(DeliveryResponse.From).ToList();
        var next = deliveries.Count > limit ? EncodeCursor(deliveries[limit - 1].Sequence) : null;
        return TypedResults.Ok(new ListResponse<DeliveryResponse>(items, next));
    }

    private static async Task<IResult> ReceiveAsync(
        [FromRoute(Name = "workspace_id")] string workspaceId, string product, string tag, string env, HttpContext context,
        WebhookService webhooks, JsonBody.Limits limits, ILoggerFactory loggers)
    {
        var body = await ReadBodyAsync(context, limits.MaxBytes);
        if (body is null)
        {
            return Problems.Of(413, "payload_too_large", $"The request body is larger than the limit of {limits.MaxBytes} bytes");
        }

        var headers = context.Request.Headers.Select(h => new KeyValuePair<string, string>(h.Key, h.Value.ToString())).ToList();
        var sender = new Actor(null, "webhook sender", context.TraceIdentifier, context.Connection.RemoteIpAddress?.ToString());
        var outcome = await webhooks.ReceiveAsync(workspaceId, product, tag, env, headers, body, sender, context.RequestAborted);
        var logger = loggers.CreateLogger("Latch.Server.Webhooks");
        switch (outcome.Status)
        {
            case DeliveryStatus.Verified:
                Log.DeliveryVerified(logger, product, tag, env, outcome.DeliveryId!);
                return TypedResults.NoContent();
            case DeliveryStatus.Rejected:
                Log.DeliveryRejected(logger, product, tag, env, outcome.Reason!);
                // The sender learns nothing about why: the audit log and the webhook's counter say it.
                return Problems.Of(401, "webhook_unauthorized", "The delivery's signature could not be verified");
            case DeliveryStatus.Replayed:
                // Only a sender holding a validly signed delivery gets here: saying it is a duplicate leaks nothing.
                Log.DeliveryRejected(logger, product, tag, env, outcome.Reason!);
                return Problems.Of(409, "webhook_replayed", "This delivery was already received");
            case DeliveryStatus.AuditUnavailable:
                return Problems.From(LatchError.AuditUnavailable);
            default:
                return Problems.Of(404, "webhook_not_found", "No webhook receives deliveries at this address");
        }
    }

    /// <summary>The raw body up to the server's body limit; null when it is larger.</summary>
    private static async Task<byte[]?> ReadBodyAsync(HttpContext context, long limit)
    {
        if (context.Request.ContentLength > limit)
        {
            return null;
        }

        try
        {
            using var buffer = new MemoryStream();
            var chunk = new byte[16 * 1024];
            int read;
            while ((read = await context.Request.Body.ReadAsync(chunk, context.RequestAborted)) > 0)
            {
                if (buffer.Length + read > limit)
                {
                    return null;
                }

                buffer.Write(chunk, 0, read);
            }

            return buffer.ToArray();
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return null;
        }
    }

    private static string? Tag(FieldReader fields, string name, string rule)
    {
        var value = fields.RequiredString(name, 64);
        if (value is not null && !Names.IsTag(value))
        {
            fields.Fail(name, rule);
            return null;
        }

        return value;
    }

    /// <summary>An optional integer: absent or null → null.</summary>
    private static int? OptionalInt(JsonElement root, FieldReader fields, string name, int min, int max)
    {
        if (!fields.Has(name) || root.GetProperty(name).ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        return fields.RequiredInt(name, min, max);
    }

    private static string EncodeCursor(long sequence) =>
        Convert.ToBase64String(Encoding.ASCII.GetBytes(sequence.ToString(CultureInfo.InvariantCulture))).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private static long? DecodeCursor(string cursor)
    {
        var text = cursor.Replace('-', '+').Replace('_', '/');
        text = text.PadRight(text.Length + ((4 - (text.Length % 4)) % 4), '=');
        var buffer = new byte[text.Length];
        if (!Convert.TryFromBase64String(text, buffer, out var written))
        {
            return null;
        }

        return long.TryParse(Encoding.ASCII.GetString(buffer, 0, written), NumberStyles.None, CultureInfo.InvariantCulture, out var sequence) && sequence > 0
            ? sequence
            : null;
    }

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9-]{0,99}$", RegexOptions.CultureInvariant)]
    private static partial Regex HeaderNameRegex();

    private static partial class Log
    {
        [LoggerMessage(EventId = 3001, Level = LogLevel.Information, Message = "Webhook {Product}/{Tag} verified delivery {DeliveryId} for {Env}")]
        public static partial void DeliveryVerified(ILogger logger, string product, string tag, string env, string deliveryId);

        [LoggerMessage(EventId = 3002, Level = LogLevel.Information, Message = "Webhook {Product}/{Tag} rejected a delivery for {Env}: {Reason}")]
        public static partial void DeliveryRejected(ILogger logger, string product, string tag, string env, string reason);
    }
}

/// <summary>A webhook as the API shows it: the signing secret is the reference text, never a value.</summary>
internal sealed record WebhookResponse(
    string Tag,
    string Name,
    string Product,
    string App,
    string Scheme,
    string SigningSecret,
    int? ToleranceSeconds,
    int RotationGraceSeconds,
    string? Header,
    string DeliveryUrl,
    DateTime CreatedAt,
    DateTime UpdatedAt,
    long RejectedCount,
    DateTime? LastRejectedAt,
    string? LastRejectionReason)
{
    /// <summary>Only in the create response: environments where the signing secret would not resolve today.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<WebhookWarningResponse>? Warnings { get; init; }

    public static WebhookResponse From(WebhookInfo info, HttpContext context)
    {
        var d = info.Definition;
        return new(d.Tag, d.Name, info.Product, d.App, d.Scheme, d.SigningSecret, d.ToleranceSeconds, d.RotationGraceSeconds, d.Header,
            UrlFor(context, info.Product, d.Tag), info.CreatedAt.UtcDateTime, info.UpdatedAt.UtcDateTime, info.RejectedCount,
            info.LastRejectedAt?.UtcDateTime, info.LastRejectionReason);
    }

    /// <summary>Where senders post, from the request's own scheme and host, with <c>{env}</c> left for the environment slug.</summary>
    private static string UrlFor(HttpContext context, string product, string tag)
    {
        var request = context.Request;
        return $"{request.Scheme}://{request.Host}{request.PathBase}/hooks/{context.Caller().WorkspaceId}/{product}/{tag}/{{env}}";
    }
}

internal sealed record WebhookWarningResponse(string Env, string Code, string Message);

/// <summary>A verified delivery: <c>body</c> when it is UTF-8 text, otherwise <c>body_base64</c>.</summary>
internal sealed record DeliveryResponse(
    string Id,
    DateTime ReceivedAt,
    string Env,
    JsonElement Headers,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Body,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? BodyBase64)
{
    public static DeliveryResponse From(WebhookDelivery d)
    {
        using var headers = JsonDocument.Parse(d.HeadersJson);
        var text = Utf8.IsValid(d.Body);
        return new(d.Id, d.ReceivedAt.UtcDateTime, d.Env, headers.RootElement.Clone(),
            text ? Encoding.UTF8.GetString(d.Body) : null, text ? null : Convert.ToBase64String(d.Body));
    }
}

#pragma warning disable CA1812 // OpenAPI metadata, never instantiated.
internal sealed record CreateWebhookRequest(
    string Name, string Tag, string App, string SigningSecret, string Scheme, int? ToleranceSeconds, int? RotationGraceSeconds, string? Header);
#pragma warning restore CA1812

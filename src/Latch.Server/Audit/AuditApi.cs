using System.Globalization;
using Latch.Core;
using Latch.Core.Storage;
using Latch.Core.Validation;
using Latch.Server.Access;
using Latch.Server.Http;

namespace Latch.Server.Audit;

/// <summary><c>GET /v1/audit</c> and <c>GET /v1/audit/verify</c> (SPEC §6).</summary>
internal static class AuditApi
{
    private const int DefaultPageSize = 100;
    private const int MaxPageSize = 1000;

    public static void MapAudit(this RouteGroupBuilder v1)
    {
        var audit = v1.MapGroup("/audit").WithTags("Audit").RequireRole(Authentication.Readers);
        audit.MapGet("", QueryAsync).Produces<AuditPage>().ProducesProblem(400)
            .WithSummary("The audit log, newest first; filters secret, app, env, action, since, until; cursor paging (after= follows new events, oldest first)");
        audit.MapGet("/verify", VerifyAsync).Produces<AuditVerification>().WithSummary("Walk the hash chain and report the first broken event");
    }

    private static async Task<IResult> QueryAsync(HttpContext context, ILatchStore store)
    {
        var query = context.Request.Query;
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        var limit = QueryParameters.Limit(query, DefaultPageSize, MaxPageSize, errors);

        var before = Sequence(query, "cursor", errors);
        var after = Sequence(query, "after", errors);
        if (before is not null && after is not null)
        {
            errors["after"] = ["cannot be combined with cursor"];
        }

        var secret = Text(query, "secret", Names.IsSecretKey, "must be a secret key", errors);
        var app = Text(query, "app", Names.IsTag, "must be an app access tag", errors);
        var env = Text(query, "env", Names.IsTag, "must be an environment slug", errors);
        var action = Text(query, "action", a => a.Length <= 40 && a.All(c => char.IsAsciiLetterLower(c) || c is '.' or '_'), "must be an audit action such as secret.resolved", errors);
        var since = Instant(query, "since", errors);
        var until = Instant(query, "until", errors);
        if (errors.Count > 0)
        {
            return Problems.From(LatchError.Invalid(errors));
        }

        var events = await store.QueryAuditAsync(context.Caller().WorkspaceId,
            new AuditQuery(secret, app, env, action, since, until, before, after, limit + 1), context.RequestAborted);
        var page = events.Take(limit).Select(AuditItem.From).ToList();
        string? next = null;
        if (after is null && events.Count > limit)
        {
            next = page[^1].Sequence.ToString(CultureInfo.InvariantCulture);
        }

        // Following (after=): the next call continues after the newest event returned.
        var follow = page.Count > 0 ? page.Max(e => e.Sequence) : after ?? (await LatestAsync(store, context)) ?? 0;
        return TypedResults.Ok(new AuditPage(page, next, follow.ToString(CultureInfo.InvariantCulture)));
    }

    private static async Task<long?> LatestAsync(ILatchStore store, HttpContext context)
    {
        var latest = await store.QueryAuditAsync(context.Caller().WorkspaceId, new AuditQuery(Limit: 1), context.RequestAborted);
        return latest.Count == 0 ? null : latest[0].Sequence;
    }

    private static async Task<IResult> VerifyAsync(HttpContext context, ILatchStore store)
    {
        var (checkedCount, broken) = await AuditChain.VerifyAsync(store.ReadAuditChainAsync(context.Caller().WorkspaceId, context.RequestAborted), context.RequestAborted);
        return TypedResults.Ok(new AuditVerification(broken is null, checkedCount,
            broken is null ? null : new BrokenLink(broken.Id, broken.Sequence, broken.At.UtcDateTime, broken.Action)));
    }

    private static long? Sequence(IQueryCollection query, string name, Dictionary<string, string[]> errors)
    {
        if (!query.TryGetValue(name, out var text) || string.IsNullOrEmpty(text))
        {
            return null;
        }

        if (long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value))
        {
            return value;
        }

        errors[name] = ["is not a cursor returned by this API"];
        return null;
    }

    private static string? Text(IQueryCollection query, string name, Func<string, bool> valid, string rule, Dictionary<string, string[]> errors)
    {
        if (!query.TryGetValue(name, out var text) || string.IsNullOrEmpty(text))
        {
            return null;
        }

        if (!valid(text!))
        {
            errors[name] = [rule];
            return null;
        }

        return text.ToString();
    }

    private static DateTimeOffset? Instant(IQueryCollection query, string name, Dictionary<string, string[]> errors)
    {
        if (!query.TryGetValue(name, out var text) || string.IsNullOrEmpty(text))
        {
            return null;
        }

        if (long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds) && seconds <= 253402300799)
        {
            return DateTimeOffset.FromUnixTimeSeconds(seconds);
        }

        if (DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var instant))
        {
            return instant;
        }

        errors[name] = ["must be an ISO 8601 time or Unix seconds"];
        return null;
    }
}

internal sealed record AuditActor(string? KeyId, string? Name);

internal sealed record AuditItem(
    string Id, long Sequence, DateTime At, string Action, AuditActor Actor, string? RequestId, string? Client, string? Secret, int? Version,
    string? Product, string? App, string? Env, string? Context, string? Path, string? Code, string? Detail, string Hash)
{
    public static AuditItem From(AuditEvent e) => new(
        e.Id, e.Sequence, e.At.UtcDateTime, e.Action, new AuditActor(e.ActorKeyId, e.ActorName), e.RequestId, e.Client, e.SecretKey, e.Version,
        e.Product, e.App, e.Env, e.Context, e.Path, e.Code, e.Detail, e.Hash);
}

internal sealed record AuditPage(IReadOnlyList<AuditItem> Items, string? NextCursor, string FollowCursor);

internal sealed record BrokenLink(string Id, long Sequence, DateTime At, string Action);

internal sealed record AuditVerification(bool Ok, long Checked, BrokenLink? FirstBroken);

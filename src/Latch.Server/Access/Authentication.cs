using Latch.Core.Access;
using Latch.Server.Http;

namespace Latch.Server.Access;

/// <summary>Bearer API-key authentication and role checks for the <c>/v1</c> API.</summary>
internal static partial class Authentication
{
    /// <summary>
    /// Authenticates every request of the group; 401 problem when the key is missing or unknown. A client address with
    /// too many recent failures gets 429 <c>rate_limited</c> before its key is even looked up (<see cref="AuthFailureLimiter"/>).
    /// </summary>
    public static RouteGroupBuilder RequireApiKey(this RouteGroupBuilder group)
    {
        group.AddEndpointFilter(async (invocation, next) =>
        {
            var context = invocation.HttpContext;
            var limiter = context.RequestServices.GetRequiredService<AuthFailureLimiter>();
            var partition = AuthFailureLimiter.PartitionOf(context.Connection.RemoteIpAddress);
            if (limiter.RetryAfter(partition) is { } wait)
            {
                return RateLimited(context, wait);
            }

            var header = context.Request.Headers.Authorization.ToString();
            const string Scheme = "Bearer ";
            if (!header.StartsWith(Scheme, StringComparison.OrdinalIgnoreCase))
            {
                return Unauthorized(context, limiter, partition, "Missing API key: send 'Authorization: Bearer <api key>'");
            }

            var access = context.RequestServices.GetRequiredService<AccessService>();
            // A key seen before is answered from memory without allocating; anything else takes the full path.
            var presented = header.AsSpan(Scheme.Length).Trim();
            var key = access.TryAuthenticateCached(presented, out var cached)
                ? cached
                : await access.AuthenticateAsync(presented.ToString(), context.RequestAborted);
            if (key is null)
            {
                return Unauthorized(context, limiter, partition, "The API key is not valid (unknown, revoked or expired)");
            }

            context.SetCaller(new Caller(key, context.TraceIdentifier, context.Connection.RemoteIpAddress?.ToString()));
            return await next(invocation);
        });
        return group;
    }

    /// <summary>Allows only the given roles (403 <c>forbidden</c> otherwise).</summary>
    public static TBuilder RequireRole<TBuilder>(this TBuilder builder, params string[] roles)
        where TBuilder : IEndpointConventionBuilder
    {
        builder.AddEndpointFilter(async (invocation, next) =>
        {
            var caller = invocation.HttpContext.Caller();
            if (!caller.HasRole(roles))
            {
                return Problems.Of(403, "forbidden", $"API key '{caller.Key.Name}' has role '{caller.Key.Role}', which may not do this (needs {string.Join(" or ", roles)})");
            }

            return await next(invocation);
        });
        return builder;
    }

    /// <summary>Every role may read metadata.</summary>
    public static readonly string[] Readers = [Roles.Owner, Roles.Admin, Roles.Viewer];

    /// <summary>Who may change secrets, apps and products.</summary>
    public static readonly string[] Writers = [Roles.Owner, Roles.Admin];

    /// <summary>Who may resolve references.</summary>
    public static readonly string[] Resolvers = [Roles.Owner, Roles.Admin, Roles.Runtime];

    /// <summary>Every role.</summary>
    public static readonly string[] Anyone = [Roles.Owner, Roles.Admin, Roles.Runtime, Roles.Viewer];

    /// <summary>
    /// 401, counted against the client address. Failed authentications are not audited — an unknown key belongs to no
    /// workspace, and the audit log is per workspace — but the moment an address is cut off is logged (event 4101).
    /// </summary>
    private static IResult Unauthorized(HttpContext context, AuthFailureLimiter limiter, string partition, string detail)
    {
        if (limiter.RecordFailure(partition))
        {
            var options = context.RequestServices.GetRequiredService<ServeOptions>();
            var logger = context.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger("Latch.Server.Access");
            LogRateLimited(logger, partition, options.AuthFailureLimit, (long)options.AuthFailureWindow.TotalSeconds);
        }

        context.Response.Headers.WWWAuthenticate = "Bearer";
        return Problems.Of(401, "unauthorized", detail);
    }

    private static IResult RateLimited(HttpContext context, TimeSpan wait)
    {
        var seconds = Math.Max(1, (long)Math.Ceiling(wait.TotalSeconds));
        context.Response.Headers.RetryAfter = seconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return Problems.Of(429, "rate_limited", $"Too many failed authentications from this address; retry in {seconds} s");
    }

    [LoggerMessage(EventId = 4101, Level = LogLevel.Warning,
        Message = "Client {Client} reached {Limit} failed authentications within {WindowSeconds} s; its requests are refused with 429 until the window ends")]
    private static partial void LogRateLimited(ILogger logger, string client, int limit, long windowSeconds);
}

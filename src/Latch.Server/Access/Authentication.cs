using Latch.Core.Access;
using Latch.Server.Http;

namespace Latch.Server.Access;

/// <summary>Bearer API-key authentication and role checks for the <c>/v1</c> API.</summary>
internal static class Authentication
{
    /// <summary>Authenticates every request of the group; 401 problem when the key is missing or unknown.</summary>
    public static RouteGroupBuilder RequireApiKey(this RouteGroupBuilder group)
    {
        group.AddEndpointFilter(async (invocation, next) =>
        {
            var context = invocation.HttpContext;
            var header = context.Request.Headers.Authorization.ToString();
            const string Scheme = "Bearer ";
            if (!header.StartsWith(Scheme, StringComparison.OrdinalIgnoreCase))
            {
                return Unauthorized(context, "Missing API key: send 'Authorization: Bearer <api key>'");
            }

            var access = context.RequestServices.GetRequiredService<AccessService>();
            var key = await access.AuthenticateAsync(header[Scheme.Length..].Trim(), context.RequestAborted);
            if (key is null)
            {
                return Unauthorized(context, "The API key is not valid (unknown, revoked or expired)");
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

    private static IResult Unauthorized(HttpContext context, string detail)
    {
        context.Response.Headers.WWWAuthenticate = "Bearer";
        return Problems.Of(401, "unauthorized", detail);
    }
}

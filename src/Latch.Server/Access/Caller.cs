using Latch.Core.Storage;
using Latch.Server.Http;

namespace Latch.Server.Access;

/// <summary>The authenticated API key behind a request.</summary>
internal sealed record Caller(ApiKeyRecord Key, string RequestId, string? Client)
{
    public string WorkspaceId => Key.WorkspaceId;

    public Actor Actor => new(Key.Id, Key.Name, RequestId, Client);

    public bool HasRole(params string[] roles) => Array.IndexOf(roles, Key.Role) >= 0;

    /// <summary>A key bound to apps/environments may only act for those (403 before anything is resolved).</summary>
    public IResult? CheckBinding(string app, string env)
    {
        if (Key.Apps.Count > 0 && !Key.Apps.Contains(app, StringComparer.Ordinal))
        {
            return Problems.Of(403, "key_binding_denied", $"API key '{Key.Name}' is not allowed to act for app '{app}'");
        }

        if (Key.Envs.Count > 0 && !Key.Envs.Contains(env, StringComparer.Ordinal))
        {
            return Problems.Of(403, "key_binding_denied", $"API key '{Key.Name}' is not allowed to act in environment '{env}'");
        }

        return null;
    }
}

/// <summary>Access to the caller from handlers.</summary>
internal static class CallerExtensions
{
    // A request feature rather than an Items entry: Kestrel reuses its feature storage across a connection's requests,
    // while the first use of Items allocates a dictionary per request.
    public static Caller Caller(this HttpContext context) =>
        context.Features.Get<Caller>() ?? throw new InvalidOperationException("Endpoint is missing authentication.");

    public static void SetCaller(this HttpContext context, Caller caller) => context.Features.Set(caller);

    public static Caller? TryGetCaller(this HttpContext context) => context.Features.Get<Caller>();
}

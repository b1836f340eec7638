namespace Latch.Server.Http;

/// <summary>
/// Security headers on every response the pipeline writes — API answers, problems from the exception handler and the
/// status-code pages (404, 405, 413 from Kestrel's body limit), 401/429, <c>/healthz</c>, <c>/metrics</c>, the
/// Workbench. Added in <see cref="HttpResponse.OnStarting(Func{Task})"/>, so a handler that clears the response (the
/// exception handler does) cannot drop them. A header a response already set wins: the Workbench keeps its own
/// Content-Security-Policy, Permissions-Policy and <c>Cache-Control: no-cache</c>.
/// </summary>
internal static class SecurityHeaders
{
    /// <summary>For everything that is not a Workbench page: nothing may load, nothing may frame it.</summary>
    public const string ContentSecurityPolicy = "default-src 'none'; frame-ancestors 'none'";

    /// <summary>Every powerful feature off.</summary>
    public const string PermissionsPolicy =
        "accelerometer=(), autoplay=(), camera=(), clipboard-read=(), clipboard-write=(), display-capture=(), " +
        "encrypted-media=(), fullscreen=(), geolocation=(), gyroscope=(), hid=(), idle-detection=(), magnetometer=(), " +
        "microphone=(), midi=(), payment=(), picture-in-picture=(), publickey-credentials-get=(), screen-wake-lock=(), " +
        "serial=(), usb=(), xr-spatial-tracking=()";

    /// <summary>One year, sent on HTTPS requests only (it means nothing over HTTP, and must not be sent there).</summary>
    public const string StrictTransportSecurity = "max-age=31536000";

    /// <summary>Adds the middleware; put it first, before exception handling.</summary>
    public static IApplicationBuilder UseSecurityHeaders(this IApplicationBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        return app.Use((context, next) =>
        {
            context.Response.OnStarting(static state =>
            {
                Apply((HttpContext)state);
                return Task.CompletedTask;
            }, context);
            return next(context);
        });
    }

    /// <summary>Sets the headers on <paramref name="context"/>'s response (missing ones only, except the fixed ones).</summary>
    public static void Apply(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var headers = context.Response.Headers;
        headers.XContentTypeOptions = "nosniff";
        headers["Referrer-Policy"] = "no-referrer";
        headers.XFrameOptions = "DENY";
        headers["Cross-Origin-Opener-Policy"] = "same-origin";
        headers["Cross-Origin-Resource-Policy"] = "same-origin";
        headers["X-Request-Id"] = context.TraceIdentifier;
        if (!headers.ContainsKey("Permissions-Policy"))
        {
            headers["Permissions-Policy"] = PermissionsPolicy;
        }

        if (!headers.ContainsKey("Content-Security-Policy"))
        {
            headers.ContentSecurityPolicy = ContentSecurityPolicy;
        }

        // API answers may hold values (resolve, reveal, generated secrets): no cache may keep any of them.
        if (!headers.ContainsKey("Cache-Control"))
        {
            headers.CacheControl = "no-store";
        }

        if (context.Request.IsHttps)
        {
            headers.StrictTransportSecurity = StrictTransportSecurity;
        }
    }
}

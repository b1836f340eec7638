using System.Collections.Frozen;
using System.Reflection;
using System.Security.Cryptography;
using Microsoft.AspNetCore.StaticFiles;
using Microsoft.Net.Http.Headers;

namespace Latch.Server.Workbench;

/// <summary>
/// Serves the Workbench (SPEC §7): plain HTML, CSS and JavaScript modules embedded in this assembly from
/// <c>wwwroot/</c>, so every host of the server (the CLI's <c>latch serve</c>, tests) has them without static
/// web assets. Only GET and HEAD requests that no endpoint answered are considered; the API keeps its problems.
/// </summary>
internal static class WorkbenchExtensions
{
    /// <summary>The Workbench's Content-Security-Policy: no inline script or style, nothing from another origin.</summary>
    public const string ContentSecurityPolicy =
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
        "frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

    private const string ResourcePrefix = "wwwroot/";

    private static readonly Lazy<FrozenDictionary<string, WorkbenchFile>> Files = new(Load);

    /// <summary>Adds the Workbench middleware (after routing has chosen an endpoint, before endpoints run).</summary>
    public static IApplicationBuilder UseWorkbench(this IApplicationBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        return app.Use((context, next) =>
        {
            if (context.GetEndpoint() is not null || !(HttpMethods.IsGet(context.Request.Method) || HttpMethods.IsHead(context.Request.Method)))
            {
                return next(context);
            }

            var path = context.Request.Path.Value ?? "/";
            if (path == "/")
            {
                path = "/index.html";
            }

            return Files.Value.TryGetValue(path, out var file) ? ServeAsync(context, file) : next(context);
        });
    }

    /// <summary>The embedded Workbench paths, e.g. <c>/index.html</c> (for tests and diagnostics).</summary>
    public static IReadOnlyCollection<string> Paths => Files.Value.Keys;

    private static async Task ServeAsync(HttpContext context, WorkbenchFile file)
    {
        var response = context.Response;
        var headers = response.Headers;
        headers.ContentSecurityPolicy = ContentSecurityPolicy;
        headers["Cross-Origin-Opener-Policy"] = "same-origin";
        headers["Cross-Origin-Resource-Policy"] = "same-origin";
        headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=()";
        // Revalidate every time: a new server version must never run with yesterday's modules.
        headers.CacheControl = "no-cache";
        headers.ETag = file.ETag;
        var ifNoneMatch = context.Request.Headers.IfNoneMatch.ToString();
        if (ifNoneMatch.Length > 0 && ifNoneMatch.Split(',', StringSplitOptions.TrimEntries).Contains(file.ETag, StringComparer.Ordinal))
        {
            response.StatusCode = StatusCodes.Status304NotModified;
            return;
        }

        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = file.ContentType;
        response.ContentLength = file.Content.Length;
        if (!HttpMethods.IsHead(context.Request.Method))
        {
            await response.Body.WriteAsync(file.Content, context.RequestAborted);
        }
    }

    private static FrozenDictionary<string, WorkbenchFile> Load()
    {
        var assembly = typeof(WorkbenchExtensions).Assembly;
        var types = new FileExtensionContentTypeProvider();
        var files = new Dictionary<string, WorkbenchFile>(StringComparer.Ordinal);
        foreach (var name in assembly.GetManifestResourceNames())
        {
            if (!name.StartsWith(ResourcePrefix, StringComparison.Ordinal))
            {
                continue;
            }

            var content = Read(assembly, name);
            var path = "/" + name[ResourcePrefix.Length..].Replace('\\', '/');
            var contentType = path.EndsWith(".js", StringComparison.Ordinal) ? "text/javascript"
                : types.TryGetContentType(path, out var known) ? known : "application/octet-stream";
            if (contentType.StartsWith("text/", StringComparison.Ordinal) || contentType.EndsWith("+xml", StringComparison.Ordinal))
            {
                contentType += "; charset=utf-8";
            }

            var etag = new EntityTagHeaderValue($"\"{Convert.ToHexStringLower(SHA256.HashData(content))[..20]}\"").ToString();
            files[path] = new WorkbenchFile(content, contentType, etag);
        }

        return files.ToFrozenDictionary(StringComparer.Ordinal);
    }

    private static byte[] Read(Assembly assembly, string name)
    {
        using var stream = assembly.GetManifestResourceStream(name) ?? throw new InvalidOperationException($"missing resource {name}");
        using var buffer = new MemoryStream();
        stream.CopyTo(buffer);
        return buffer.ToArray();
    }

    private sealed record WorkbenchFile(byte[] Content, string ContentType, string ETag);
}

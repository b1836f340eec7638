using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Latch.Server.Tests.Infrastructure;

/// <summary>What the upstream received.</summary>
public sealed record ReceivedRequest(string Method, string RawTarget, string Path, IReadOnlyDictionary<string, string> Headers, string Body);

/// <summary>
/// A real HTTP server on loopback standing in for a third-party API. It records every request and, by default,
/// answers 200 with a JSON echo of what it received (so masking can be checked). Special paths:
/// <c>/status/{code}</c> answers that status, <c>/slow</c> waits 5 s, <c>/flaky</c> fails with 503 twice then succeeds,
/// <c>/redirect</c> answers 302 to another host, <c>/encoded</c> echoes the Authorization header percent-encoded and base64.
/// </summary>
public sealed class EchoUpstream : IAsyncDisposable
{
    private readonly WebApplication _app;
    private int _flaky;

    private EchoUpstream(WebApplication app) => _app = app;

    public ConcurrentQueue<ReceivedRequest> Received { get; } = new();

    public string BaseUrl { get; private set; } = "";

    public static async Task<EchoUpstream> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var upstream = new EchoUpstream(app);
        app.Run(upstream.HandleAsync);
        await app.StartAsync();
        upstream.BaseUrl = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First().TrimEnd('/');
        return upstream;
    }

    private async Task HandleAsync(HttpContext context)
    {
        using var reader = new StreamReader(context.Request.Body, Encoding.UTF8);
        var body = await reader.ReadToEndAsync();
        var headers = context.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase);
        var rawTarget = context.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpRequestFeature>()!.RawTarget;
        var received = new ReceivedRequest(context.Request.Method, rawTarget, context.Request.Path.Value ?? "", headers, body);
        Received.Enqueue(received);

        var path = context.Request.Path.Value ?? "";
        if (path.StartsWith("/status/", StringComparison.Ordinal) && int.TryParse(path["/status/".Length..], out var status))
        {
            context.Response.StatusCode = status;
            await context.Response.WriteAsJsonAsync(new { status });
            return;
        }

        if (path == "/slow")
        {
            await Task.Delay(TimeSpan.FromSeconds(5), context.RequestAborted);
        }

        if (path == "/flaky" && Interlocked.Increment(ref _flaky) <= 2)
        {
            context.Response.StatusCode = 503;
            return;
        }

        if (path == "/redirect")
        {
            context.Response.StatusCode = 302;
            context.Response.Headers.Location = "http://127.0.0.2:9/stolen";
            return;
        }

        if (path == "/encoded")
        {
            var auth = headers.GetValueOrDefault("Authorization") ?? "";
            var token = auth.StartsWith("Bearer ", StringComparison.Ordinal) ? auth[7..] : auth;
            context.Response.Headers["X-Echo-Token"] = token;
            context.Response.ContentType = "text/plain";
            await context.Response.WriteAsync($"plain={token} url={Uri.EscapeDataString(token)} b64={Convert.ToBase64String(Encoding.UTF8.GetBytes(token))}");
            return;
        }

        if (path == "/php-json")
        {
            // Some JSON writers (PHP's json_encode by default) escape '/' as '\/'.
            var auth = headers.GetValueOrDefault("Authorization") ?? "";
            var token = auth.StartsWith("Bearer ", StringComparison.Ordinal) ? auth[7..] : auth;
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync("{\"token\":\"" + token.Replace("/", "\\/", StringComparison.Ordinal).Replace("+", "\\u002b", StringComparison.Ordinal) + "\"}");
            return;
        }

        context.Response.Headers["X-Upstream"] = "echo";
        await context.Response.WriteAsJsonAsync(new
        {
            method = received.Method,
            target = received.RawTarget,
            headers = received.Headers,
            body = received.Body,
        }, new JsonSerializerOptions(JsonSerializerDefaults.Web));
    }

    public ReceivedRequest Last() => Received.Last();

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

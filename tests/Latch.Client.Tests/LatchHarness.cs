using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text.Json;
using Latch.Server;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Latch.Client.Tests;

/// <summary>A real Latch server on loopback with its own data directory, and a client authenticated as the bootstrap owner.</summary>
public sealed class LatchHarness : IAsyncLifetime
{
    public const string BootstrapKey = "test-bootstrap-key-0123456789-abcdefghijklmnop";

    private RunningLatch? _server;
    private string? _data;

    public Uri Url => _server!.BaseAddress;

    public LatchClient Client { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        _data = Path.Combine(Path.GetTempPath(), "latch-client-tests-" + Guid.NewGuid().ToString("N"));
        _server = await LatchServer.StartAsync(new ServeOptions
        {
            Urls = "http://127.0.0.1:0",
            DataDirectory = _data,
            MasterKey = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)),
            BootstrapKey = BootstrapKey,
            // Actions in these tests call upstreams on loopback, which the egress policy denies by default.
            EgressAllow = ["127.0.0.0/8"],
            ConfigureLogging = logging => logging.ClearProviders(),
        });
        Client = new LatchClient(Url, BootstrapKey);
    }

    public async Task DisposeAsync()
    {
        Client.Dispose();
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }

        try
        {
            Directory.Delete(_data!, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    /// <summary>A unique secret key for one test.</summary>
    public static string Key(string prefix) => $"{prefix}_{Guid.NewGuid():N}"[..Math.Min(50, prefix.Length + 13)].ToUpperInvariant();
}

/// <summary>What a stub server received.</summary>
public sealed record Received(string Method, string Path, IReadOnlyDictionary<string, string> Headers, string Body);

/// <summary>A loopback HTTP server: the upstream of actions, or a stub Latch answering fixed statuses.</summary>
public sealed class StubServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private StubServer(WebApplication app) => _app = app;

    public ConcurrentQueue<Received> Requests { get; } = new();

    public Uri Url { get; private set; } = null!;

    /// <summary>Starts a server; <paramref name="status"/> null echoes each request as JSON with 200.</summary>
    public static async Task<StubServer> StartAsync(int? status = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var stub = new StubServer(app);
        app.Run(async context =>
        {
            using var reader = new StreamReader(context.Request.Body);
            var body = await reader.ReadToEndAsync();
            var headers = context.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase);
            stub.Requests.Enqueue(new Received(context.Request.Method, context.Request.Path.Value ?? "", headers, body));
            if (status is { } s)
            {
                context.Response.StatusCode = s;
                return;
            }

            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync(JsonSerializer.Serialize(new
            {
                method = context.Request.Method,
                path = context.Request.Path.Value,
                authorization = headers.GetValueOrDefault("Authorization"),
                body,
            }));
        });
        await app.StartAsync();
        stub.Url = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First().TrimEnd('/') + "/");
        return stub;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

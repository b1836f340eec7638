using System.Collections.Concurrent;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Latch.Server;
using Microsoft.Extensions.Logging;

namespace Latch.Server.Tests.Infrastructure;

/// <summary>
/// A real Latch server on a loopback port with its own temporary data directory, every log line captured,
/// and an HttpClient authenticated with the bootstrap owner key.
/// </summary>
public sealed class TestServer : IAsyncDisposable
{
    public const string BootstrapKey = "test-bootstrap-key-0123456789-abcdefghijklmnop";

    private readonly RunningLatch _server;

    private TestServer(RunningLatch server, string dataDirectory, string masterKey, CapturingLoggerProvider logs)
    {
        _server = server;
        DataDirectory = dataDirectory;
        MasterKey = masterKey;
        Logs = logs;
        Owner = Client(BootstrapKey);
    }

    public Uri BaseAddress => _server.BaseAddress;

    public string DataDirectory { get; }

    public string MasterKey { get; }

    public CapturingLoggerProvider Logs { get; }

    /// <summary>Authenticated as the bootstrap owner of workspace <c>default</c>.</summary>
    public HttpClient Owner { get; }

    public static async Task<TestServer> StartAsync(
        string? dataDirectory = null, string? masterKey = null, TimeProvider? time = null, long? maxBody = null, Func<ServeOptions, ServeOptions>? configure = null)
    {
        dataDirectory ??= NewDataDirectory();
        masterKey ??= Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
        var logs = new CapturingLoggerProvider();
        configure ??= o => o;
        var server = await LatchServer.StartAsync(configure(new ServeOptions
        {
            // Actions in these tests call upstreams on loopback, which the egress policy denies by default.
            EgressAllow = ["127.0.0.0/8"],

            Urls = "http://127.0.0.1:0",
            DataDirectory = dataDirectory,
            MasterKey = masterKey,
            BootstrapKey = BootstrapKey,
            TimeProvider = time,
            MaxRequestBodyBytes = maxBody ?? 1024 * 1024,
            ConfigureLogging = logging =>
            {
                logging.AddProvider(logs);
                logging.SetMinimumLevel(LogLevel.Trace);
            },
        }));
        return new TestServer(server, dataDirectory, masterKey, logs);
    }

    public static string NewDataDirectory()
    {
        var path = Path.Combine(Path.GetTempPath(), "latch-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(path);
        return path;
    }

    public HttpClient Client(string? apiKey)
    {
        var client = new HttpClient { BaseAddress = BaseAddress };
        if (apiKey is not null)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
        }

        return client;
    }

    /// <summary>Creates an API key in the owner's workspace and returns a client using it.</summary>
    public async Task<HttpClient> ClientWithRoleAsync(string role, string[]? apps = null, string[]? envs = null, HttpClient? owner = null)
    {
        var response = await (owner ?? Owner).PostAsJsonAsync("/v1/keys", new { name = $"{role}-key", role, apps, envs });
        var body = await response.ReadJsonAsync();
        Assert.Equal(201, (int)response.StatusCode);
        return Client(body["key"]!.GetValue<string>());
    }

    public async ValueTask DisposeAsync()
    {
        Owner.Dispose();
        await _server.DisposeAsync();
    }
}

public static class HttpTestExtensions
{
    public static async Task<JsonNode> ReadJsonAsync(this HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync();
        return JsonNode.Parse(text) ?? throw new InvalidOperationException("empty body");
    }

    public static Task<HttpResponseMessage> PostJsonAsync(this HttpClient client, string url, string json) =>
        client.PostAsync(url, new StringContent(json, Encoding.UTF8, "application/json"));

    public static Task<HttpResponseMessage> PatchJsonAsync(this HttpClient client, string url, object body, string? ifMatch = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Patch, url) { Content = JsonContent.Create(body) };
        if (ifMatch is not null)
        {
            request.Headers.TryAddWithoutValidation("If-Match", ifMatch);
        }

        return client.SendAsync(request);
    }

    public static async Task<JsonNode> CreateSecretAsync(this HttpClient client, object body)
    {
        var response = await client.PostAsJsonAsync("/v1/secrets", body);
        var json = await response.ReadJsonAsync();
        Assert.True((int)response.StatusCode == 201, $"create failed: {(int)response.StatusCode} {json.ToJsonString()}");
        return json;
    }

    public static Task<HttpResponseMessage> ResolveAsync(this HttpClient client, object document, string app, string env, string? product = null) =>
        client.PostAsJsonAsync("/v1/secrets/resolve", new { document, app, env, product });

    /// <summary>Asserts an RFC 9457 problem with the given status and code, and returns it.</summary>
    public static async Task<JsonNode> AssertProblemAsync(this HttpResponseMessage response, int status, string code)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True((int)response.StatusCode == status, $"expected {status} {code}, got {(int)response.StatusCode}: {text}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var json = JsonNode.Parse(text)!;
        Assert.Equal(code, json["code"]?.GetValue<string>());
        Assert.Equal(status, json["status"]?.GetValue<int>());
        Assert.False(string.IsNullOrEmpty(json["detail"]?.GetValue<string>()));
        return json;
    }

    public static string Json(this object value) => JsonSerializer.Serialize(value);
}

/// <summary>Keeps every formatted log line (message and exception text) for leak assertions.</summary>
public sealed class CapturingLoggerProvider : ILoggerProvider
{
    private readonly ConcurrentQueue<string> _lines = new();

    public IReadOnlyCollection<string> Lines => _lines;

    public string AllText => string.Join("\n", _lines);

    public ILogger CreateLogger(string categoryName) => new CapturingLogger(categoryName, _lines);

    public void Dispose()
    {
    }

    private sealed class CapturingLogger(string category, ConcurrentQueue<string> lines) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var properties = state is IEnumerable<KeyValuePair<string, object?>> pairs
                ? string.Join(" ", pairs.Select(p => $"{p.Key}={p.Value}"))
                : "";
            lines.Enqueue($"{logLevel} {category} [{eventId.Id}] {formatter(state, exception)} {properties} {exception}");
        }
    }
}

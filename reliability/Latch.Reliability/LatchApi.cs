using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Latch.Reliability;

/// <summary>One HTTP answer: status, parsed JSON body (null when none) and the server's request id.</summary>
public sealed record Answer(int Status, JsonNode? Json, string? RequestId)
{
    public bool Ok => Status is >= 200 and < 300;
}

/// <summary>A thin client of Latch's HTTP API. Transport failures surface as <see cref="HttpRequestException"/> or a timeout.</summary>
public sealed class LatchApi : IDisposable
{
    /// <summary>The app, product, environment and webhook the harnesses create (see <see cref="SetUpRuntimeAsync"/>).</summary>
    public const string App = "rel_app";
    public const string Product = "rel_shop";
    public const string Env = "prd";
    public const string Event = "charge";
    public const string ActionKey = "REL_ACTION_KEY";
    public const string HookKey = "REL_HOOK_SECRET";
    public const string HookTag = "rel_hook";

    private readonly HttpClient _http;

    public LatchApi(Uri address, string apiKey, int maxConnections = 64, TimeSpan? timeout = null)
    {
        var handler = new SocketsHttpHandler
        {
            MaxConnectionsPerServer = maxConnections,
            PooledConnectionIdleTimeout = TimeSpan.FromSeconds(30),
        };
        _http = new HttpClient(handler) { BaseAddress = address, Timeout = timeout ?? TimeSpan.FromSeconds(30) };
        _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
    }

    public Task<Answer> GetAsync(string path, CancellationToken cancellationToken = default) => SendAsync(HttpMethod.Get, path, null, cancellationToken);

    public Task<Answer> DeleteAsync(string path, CancellationToken cancellationToken = default) => SendAsync(HttpMethod.Delete, path, null, cancellationToken);

    public Task<Answer> PostAsync(string path, object body, CancellationToken cancellationToken = default) => SendAsync(HttpMethod.Post, path, body, cancellationToken);

    public Task<Answer> PatchAsync(string path, object body, CancellationToken cancellationToken = default) => SendAsync(HttpMethod.Patch, path, body, cancellationToken);

    public async Task<Answer> SendAsync(HttpMethod method, string path, object? body, CancellationToken cancellationToken = default, IReadOnlyDictionary<string, string>? headers = null, byte[]? rawBody = null)
    {
        using var request = new HttpRequestMessage(method, new Uri(path, UriKind.Relative));
        if (rawBody is not null)
        {
            request.Content = new ByteArrayContent(rawBody);
        }
        else if (body is not null)
        {
            request.Content = new StringContent(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json");
        }

        foreach (var (name, value) in headers ?? new Dictionary<string, string>())
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        using var response = await _http.SendAsync(request, cancellationToken);
        var text = await response.Content.ReadAsStringAsync(cancellationToken);
        JsonNode? json = null;
        if (text.Length > 0 && (response.Content.Headers.ContentType?.MediaType?.Contains("json", StringComparison.Ordinal) ?? false))
        {
            json = JsonNode.Parse(text);
        }

        var requestId = response.Headers.TryGetValues("X-Request-Id", out var ids) ? ids.FirstOrDefault() : null;
        return new Answer((int)response.StatusCode, json, requestId);
    }

    /// <summary>
    /// The runtime the action runs and webhook deliveries use: app <see cref="App"/> (base URL = the echo upstream),
    /// product <see cref="Product"/> with env <see cref="Env"/>, auth data <c>$Token{REL_ACTION_KEY}</c>, a github webhook.
    /// Returns the workspace id.
    /// </summary>
    public async Task<string> SetUpRuntimeAsync(string upstreamUrl, string actionKeyValue, string hookSecretValue, CancellationToken cancellationToken = default)
    {
        await Expect(PostAsync("/v1/secrets", new { key = ActionKey, value = actionKeyValue, scope = new[] { App } }, cancellationToken), "create action key");
        await Expect(PostAsync("/v1/secrets", new { key = HookKey, value = hookSecretValue }, cancellationToken), "create hook secret");
        await Expect(PostAsync("/v1/apps", new Dictionary<string, object>
        {
            ["access_tag"] = App,
            ["name"] = "Reliability echo",
            ["envs"] = new[] { new Dictionary<string, object> { ["slug"] = "live", ["base_url"] = upstreamUrl } },
            ["auths"] = new[] { new Dictionary<string, object> { ["tag"] = "bearer", ["headers"] = new Dictionary<string, string> { ["Authorization"] = "Bearer $Auth{token}" } } },
            ["actions"] = new[] { new Dictionary<string, object> { ["event"] = Event, ["method"] = "POST", ["path"] = "/v1/charges", ["body"] = new { amount = 1 } } },
        }, cancellationToken), "create app");
        await Expect(PostAsync("/v1/products", new { tag = Product, name = "Reliability", envs = new[] { new { slug = Env, env_name = "Production", active = true } } }, cancellationToken), "create product");
        await Expect(PostAsync($"/v1/products/{Product}/apps", new Dictionary<string, object>
        {
            ["access_tag"] = App,
            ["envs"] = new[]
            {
                new Dictionary<string, object>
                {
                    ["app_env_slug"] = "live",
                    ["product_env_slug"] = Env,
                    ["auth"] = new[] { new Dictionary<string, object> { ["auth_tag"] = "bearer", ["data"] = new Dictionary<string, string> { ["token"] = $"$Token{{{ActionKey}}}" } } },
                },
            },
        }, cancellationToken), "connect app");
        await Expect(PostAsync($"/v1/products/{Product}/webhooks", new { name = "Reliability hook", tag = HookTag, app = App, signing_secret = $"$Token{{{HookKey}}}", scheme = "github" }, cancellationToken), "create webhook");
        var workspace = await Expect(GetAsync("/v1/workspace", cancellationToken), "workspace");
        return workspace.Json!["id"]!.GetValue<string>();
    }

    public Task<Answer> RunActionAsync(CancellationToken cancellationToken = default) =>
        PostAsync("/v1/actions/run", new { env = Env, product = Product, app = App, @event = Event }, cancellationToken);

    /// <summary>A GitHub-signed delivery (HMAC-SHA256 of the body with the hook secret).</summary>
    public Task<Answer> DeliverWebhookAsync(string workspaceId, string hookSecretValue, byte[] body, CancellationToken cancellationToken = default)
    {
        var signature = "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(hookSecretValue), body));
        return SendAsync(HttpMethod.Post, $"/hooks/{workspaceId}/{Product}/{HookTag}/{Env}", null, cancellationToken,
            new Dictionary<string, string> { ["X-Hub-Signature-256"] = signature }, body);
    }

    public void Dispose() => _http.Dispose();

    private static async Task<Answer> Expect(Task<Answer> call, string what)
    {
        var answer = await call;
        if (!answer.Ok)
        {
            throw new InvalidOperationException($"{what}: HTTP {answer.Status} {answer.Json?["code"]} {answer.Json?["detail"]}");
        }

        return answer;
    }
}

/// <summary>Random choices for the harness (RandomNumberGenerator: System.Random is banned in this repository).</summary>
public static class Dice
{
    public static int Below(int exclusive) => RandomNumberGenerator.GetInt32(exclusive);

    public static int Between(int min, int maxExclusive) => RandomNumberGenerator.GetInt32(min, maxExclusive);

    /// <summary>A fresh secret value (never printed).</summary>
    public static string Value(string prefix) => prefix + "-" + RandomNumberGenerator.GetHexString(32, lowercase: true);

    public static string Nonce() => RandomNumberGenerator.GetHexString(16, lowercase: true);

    public static bool IsTransportFailure(Exception e) =>
        e is HttpRequestException or TaskCanceledException or IOException or OperationCanceledException;
}

/// <summary>Percentiles over latencies in milliseconds.</summary>
public static class Percentiles
{
    public static double Of(IReadOnlyList<double> sorted, double p)
    {
        if (sorted.Count == 0)
        {
            return 0;
        }

        var index = (int)Math.Ceiling(p / 100.0 * sorted.Count) - 1;
        return sorted[Math.Clamp(index, 0, sorted.Count - 1)];
    }
}

public static class HttpStatus
{
    public static bool IsServerError(int status) => status >= (int)HttpStatusCode.InternalServerError;
}

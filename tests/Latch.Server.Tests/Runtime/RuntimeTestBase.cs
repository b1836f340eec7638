using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Latch.Server.Tests.Infrastructure;

namespace Latch.Server.Tests.Runtime;

/// <summary>A Latch server, an upstream echo server and helpers to connect apps the way the seed does.</summary>
public abstract class RuntimeTestBase : IAsyncLifetime
{
    protected TestServer Server { get; private set; } = null!;

    protected EchoUpstream Upstream { get; private set; } = null!;

    protected HttpClient Owner => Server.Owner;

    public virtual async Task InitializeAsync()
    {
        Upstream = await EchoUpstream.StartAsync();
        Server = await TestServer.StartAsync();
        await Ok(await Owner.PostAsJsonAsync("/v1/products", new
        {
            tag = "shop",
            name = "Shop",
            envs = new object[]
            {
                new { slug = "dev", env_name = "Development", active = true },
                new { slug = "prd", env_name = "Production", active = true },
                new { slug = "old", env_name = "Retired", active = false },
            },
        }));
    }

    public async Task DisposeAsync()
    {
        await Server.DisposeAsync();
        await Upstream.DisposeAsync();
    }

    protected static async Task<JsonNode> Ok(HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"{(int)response.StatusCode}: {text}");
        return text.Length == 0 ? new JsonObject() : JsonNode.Parse(text)!;
    }

    protected object AppEnvs() => new object[] { new { slug = "live", base_url = Upstream.BaseUrl }, new { slug = "test", base_url = Upstream.BaseUrl + "/sandbox" } };

    protected static object Mapping(string productEnv, object? variables = null, object? auth = null, string appEnv = "live") =>
        new { app_env_slug = appEnv, product_env_slug = productEnv, variables = variables ?? Array.Empty<object>(), auth = auth ?? Array.Empty<object>() };

    protected Task<HttpResponseMessage> RunAsync(string app, string @event, string env = "prd", object? input = null, string? authTag = null, int? retries = null) =>
        Owner.PostAsJsonAsync("/v1/actions/run", new { env, product = "shop", app, @event, auth_tag = authTag, retries, input = input ?? new { } });
}

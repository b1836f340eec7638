using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Latch.Server;
using Microsoft.Extensions.Time.Testing;
using Microsoft.Playwright;

namespace Latch.Workbench.Tests;

/// <summary>One headless system Chromium for every Workbench test (they run one after another: CI has two cores).</summary>
public sealed class BrowserFixture : IAsyncLifetime
{
    public const string ChromiumPath = "/usr/bin/chromium";

    private IPlaywright? _playwright;

    public IBrowser Browser { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Assert.True(File.Exists(ChromiumPath), $"Chromium is missing at {ChromiumPath}: test.sh installs it (apt-get install chromium).");
        _playwright = await Playwright.CreateAsync();
        // Playwright gives every launch a fresh, temporary user-data-dir; nothing is downloaded.
        Browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ChromiumPath,
            Headless = true,
            Args =
            [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run",
            ],
        });
    }

    public async Task DisposeAsync()
    {
        if (Browser is not null)
        {
            await Browser.DisposeAsync();
        }

        _playwright?.Dispose();
    }
}

[CollectionDefinition(Name)]
public sealed class BrowserCollection : ICollectionFixture<BrowserFixture>
{
    public const string Name = "browser";
}

/// <summary>A real Latch server on loopback with its own data directory and a clock the test controls.</summary>
public sealed class LatchUnderTest : IAsyncDisposable
{
    public const string OwnerKey = "workbench-owner-key-0123456789-abcdefghijklmnop";

    private readonly RunningLatch _server;

    private LatchUnderTest(RunningLatch server, FakeTimeProvider time, string dataDirectory)
    {
        _server = server;
        Time = time;
        DataDirectory = dataDirectory;
        Owner = Client(OwnerKey);
    }

    public Uri BaseAddress => _server.BaseAddress;

    public FakeTimeProvider Time { get; }

    public string DataDirectory { get; }

    public HttpClient Owner { get; }

    public static async Task<LatchUnderTest> StartAsync()
    {
        // The fake clock starts at the real time, so the browser's "in 3 days" agrees with the server's expiry.
        var time = new FakeTimeProvider(TimeProvider.System.GetUtcNow());
        var data = Path.Combine(Path.GetTempPath(), "latch-workbench-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(data);
        var server = await LatchServer.StartAsync(new ServeOptions
        {
            Urls = "http://127.0.0.1:0",
            DataDirectory = data,
            MasterKey = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)),
            BootstrapKey = OwnerKey,
            TimeProvider = time,
            // Actions in these tests call upstreams on loopback, which the egress policy denies by default.
            EgressAllow = ["127.0.0.0/8"],
            ConfigureLogging = _ => { }, // quiet: no log providers
        });
        return new LatchUnderTest(server, time, data);
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

    public async Task<JsonNode> PostAsync(string path, object body, int expectedStatus = 201)
    {
        using var response = await Owner.PostAsJsonAsync(path, body);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True((int)response.StatusCode == expectedStatus, $"POST {path}: {(int)response.StatusCode} {text}");
        return JsonNode.Parse(text.Length == 0 ? "null" : text) ?? new JsonObject();
    }

    public async Task<JsonNode?> GetJsonAsync(string path, int expectedStatus = 200)
    {
        using var response = await Owner.GetAsync(path);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True((int)response.StatusCode == expectedStatus, $"GET {path}: {(int)response.StatusCode} {text}");
        return text.Length == 0 ? null : JsonNode.Parse(text);
    }

    public Task<JsonNode> CreateSecretAsync(object body) => PostAsync("/v1/secrets", body);

    /// <summary>An app with environments <c>live</c> and <c>test</c>, and a product <c>shop</c> with <c>prd</c> and <c>dev</c>.</summary>
    public async Task AddCatalogAsync()
    {
        await PostAsync("/v1/apps", new
        {
            access_tag = "stripe_app",
            name = "Stripe",
            envs = new object[] { new { slug = "live", base_url = "https://api.example.test" }, new { slug = "test", base_url = "https://sandbox.example.test" } },
        });
        await PostAsync("/v1/apps", new
        {
            access_tag = "mail_app",
            name = "Mailer",
            envs = new object[] { new { slug = "live", base_url = "https://mail.example.test" } },
        });
        await PostAsync("/v1/products", new
        {
            tag = "shop",
            name = "Shop",
            envs = new object[] { new { slug = "prd", env_name = "Production", active = true }, new { slug = "dev", env_name = "Development", active = true } },
        });
    }

    public async ValueTask DisposeAsync()
    {
        Owner.Dispose();
        await _server.DisposeAsync();
        try
        {
            Directory.Delete(DataDirectory, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}

internal static class Artifacts
{
    /// <summary>Screenshots of the main states, beside the test binaries: <c>artifacts/screenshots/*.png</c>.</summary>
    public static string Screenshot(string name)
    {
        var directory = Path.Combine(AppContext.BaseDirectory, "artifacts", "screenshots");
        Directory.CreateDirectory(directory);
        return Path.Combine(directory, name + ".png");
    }

    /// <summary>The repository's docs folder (from this source file's location).</summary>
    public static string Docs([CallerFilePath] string here = "") =>
        Path.GetFullPath(Path.Combine(Path.GetDirectoryName(here)!, "..", "..", "docs"));

    /// <summary>README screenshots are refreshed only when asked (LATCH_UPDATE_DOCS=1), so test runs leave the tree clean.</summary>
    public static bool UpdateDocs => Environment.GetEnvironmentVariable("LATCH_UPDATE_DOCS") == "1";
}

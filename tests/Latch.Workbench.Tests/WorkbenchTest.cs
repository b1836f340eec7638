using System.Collections.Concurrent;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Latch.Workbench.Tests;

/// <summary>A fresh Latch server and a fresh browser context (clipboard allowed) for each test.</summary>
[Collection(BrowserCollection.Name)]
public abstract class WorkbenchTest : IAsyncLifetime
{
    private readonly BrowserFixture _browser;
    private readonly ConcurrentQueue<string> _requests = new();
    private readonly ConcurrentQueue<string> _problems = new();

    protected WorkbenchTest(BrowserFixture browser)
    {
        _browser = browser;
        // Generous: CI has two cores shared by the server, the browser and the test.
        SetDefaultExpectTimeout(20_000);
    }

    protected LatchUnderTest Latch { get; private set; } = null!;

    protected IBrowserContext Context { get; private set; } = null!;

    protected IPage Page { get; private set; } = null!;

    protected virtual int ViewportWidth => 1280;

    protected virtual int ViewportHeight => 800;

    protected virtual ColorScheme Scheme => ColorScheme.Light;

    public async Task InitializeAsync()
    {
        Latch = await LatchUnderTest.StartAsync();
        Context = await _browser.Browser.NewContextAsync(new BrowserNewContextOptions
        {
            ViewportSize = new ViewportSize { Width = ViewportWidth, Height = ViewportHeight },
            Permissions = ["clipboard-read", "clipboard-write"],
            Locale = "en-US",
            TimezoneId = "Europe/Berlin",
            ColorScheme = Scheme,
        });
        Context.SetDefaultTimeout(30_000);
        Page = await Context.NewPageAsync();
        Page.Request += (_, request) => _requests.Enqueue(request.Url);
        Page.PageError += (_, error) => _problems.Enqueue("page error: " + error);
        Page.Console += (_, message) =>
        {
            if (message.Text.Contains("Content Security Policy", StringComparison.OrdinalIgnoreCase))
            {
                _problems.Enqueue("console: " + message.Text);
            }
        };
    }

    public async Task DisposeAsync()
    {
        await Context.DisposeAsync();
        await Latch.DisposeAsync();
        // Nothing left the machine, nothing broke the Content-Security-Policy, no script failed.
        var origin = Latch.BaseAddress.GetLeftPart(UriPartial.Authority);
        Assert.All(_requests, url => Assert.True(url.StartsWith(origin, StringComparison.Ordinal) || url.StartsWith("data:", StringComparison.Ordinal), $"request to {url}"));
        Assert.Empty(_problems);
    }

    protected string Url(string path = "/") => new Uri(Latch.BaseAddress, path).ToString();

    protected async Task SignInAsync(string key = LatchUnderTest.OwnerKey)
    {
        await Page.GotoAsync(Url());
        await Page.GetByLabel("API key", new() { Exact = true }).FillAsync(key);
        await Page.GetByRole(AriaRole.Button, new() { Name = "Sign in", Exact = true }).ClickAsync();
        await Expect(Page.GetByRole(AriaRole.Heading, new() { Name = "Secrets", Exact = true, Level = 1 })).ToBeVisibleAsync();
    }

    protected ILocator Row(string key) => Page.Locator($"#secrets-body tr[data-key='{key}']");

    protected ILocator SecretsView => Page.Locator("#secrets-view");

    protected ILocator Dialog => Page.GetByRole(AriaRole.Dialog);

    protected ILocator Status => Page.Locator("#status");

    protected ILocator Button(string name, ILocator? within = null) =>
        (within ?? Page.Locator("body")).GetByRole(AriaRole.Button, new() { Name = name, Exact = true });

    protected Task<string> ClipboardAsync() => Page.EvaluateAsync<string>("navigator.clipboard.readText()");

    protected async Task ScreenshotAsync(string name, bool docs = false)
    {
        // Let the relative-time hints and fonts settle: screenshots wait for no animation (there is none).
        await Page.ScreenshotAsync(new PageScreenshotOptions { Path = Artifacts.Screenshot(name), FullPage = true });
        if (docs && Artifacts.UpdateDocs)
        {
            await Page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(Artifacts.Docs(), $"workbench-{name}.png") });
        }
    }
}

using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Latch.Workbench.Tests;

public sealed class PhoneWidthTests(BrowserFixture browser) : WorkbenchTest(browser)
{
    protected override int ViewportWidth => 390;

    protected override int ViewportHeight => 844;

    [Fact]
    public async Task At_390_pixels_rows_become_cards_that_still_copy_and_act()
    {
        await Latch.AddCatalogAsync();
        await Latch.CreateSecretAsync(new { key = "STRIPE_API_KEY", value = "v", description = "Stripe live key", scope = new[] { "stripe_app" }, envs = new[] { "live" }, expires_at = Latch.Time.GetUtcNow().AddDays(20).ToUnixTimeSeconds() });
        await Latch.CreateSecretAsync(new { key = "A_VERY_LONG_SECRET_KEY_NAME_THAT_MUST_WRAP_NICELY", value = "v", description = "Long" });
        await SignInAsync();

        var row = Row("STRIPE_API_KEY");
        await Expect(row).ToBeVisibleAsync();
        // A card: the row is as wide as the screen allows and the header row is not shown.
        var box = await row.BoundingBoxAsync();
        Assert.NotNull(box);
        Assert.True(box.X >= 0 && box.X + box.Width <= 390, $"row spans {box.X}..{box.X + box.Width}");
        Assert.Equal("block", await row.EvaluateAsync<string>("r => getComputedStyle(r).display"));
        // Nothing scrolls sideways.
        Assert.True(await Page.EvaluateAsync<bool>("document.documentElement.scrollWidth <= window.innerWidth"), "the page scrolls horizontally");

        var copy = Button("Copy $Token{STRIPE_API_KEY}");
        var copyBox = await copy.BoundingBoxAsync();
        Assert.True(copyBox!.Width >= 40 && copyBox.Height >= 40, "the copy button is a comfortable touch target");
        await copy.ClickAsync();
        await Expect(Status).ToHaveTextAsync("Copied: $Token{STRIPE_API_KEY}");
        Assert.Equal("$Token{STRIPE_API_KEY}", await ClipboardAsync());
        await ScreenshotAsync("phone", docs: true);

        await Button("Rotate STRIPE_API_KEY").ClickAsync();
        var dialogBox = await Dialog.BoundingBoxAsync();
        Assert.True(dialogBox!.X >= 0 && dialogBox.X + dialogBox.Width <= 390, "the dialog fits the screen");
        await ScreenshotAsync("phone-rotate");
        await Button("Cancel").ClickAsync();
        await Expect(Dialog).ToBeHiddenAsync();
    }
}

public sealed class DarkSchemeTests(BrowserFixture browser) : WorkbenchTest(browser)
{
    protected override ColorScheme Scheme => ColorScheme.Dark;

    [Fact]
    public async Task The_dark_scheme_follows_the_system_preference()
    {
        await Latch.CreateSecretAsync(new { key = "DARK_MODE_SECRET", value = "v", description = "Shown in the dark" });
        await SignInAsync();
        await Expect(Row("DARK_MODE_SECRET")).ToBeVisibleAsync();
        var background = await Page.EvaluateAsync<string>("getComputedStyle(document.body).backgroundColor");
        Assert.Equal("rgb(15, 18, 22)", background);
        await ScreenshotAsync("dark");
    }
}

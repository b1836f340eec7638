using System.Net;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Latch.Workbench.Tests;

public sealed class SignInAndListTests(BrowserFixture browser) : WorkbenchTest(browser)
{
    [Fact]
    public async Task The_page_is_served_by_Latch_with_a_strict_content_security_policy_and_the_API_keeps_its_problems()
    {
        using var anonymous = Latch.Client(null);
        foreach (var path in new[] { "/", "/js/app.js", "/css/workbench.css" })
        {
            using var response = await anonymous.GetAsync(path);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var csp = response.Headers.GetValues("Content-Security-Policy").Single();
            Assert.Contains("default-src 'self'", csp, StringComparison.Ordinal);
            Assert.Contains("script-src 'self';", csp, StringComparison.Ordinal);
            Assert.Contains("frame-ancestors 'none'", csp, StringComparison.Ordinal);
            Assert.Equal("DENY", response.Headers.GetValues("X-Frame-Options").Single());
            Assert.Equal("nosniff", response.Headers.GetValues("X-Content-Type-Options").Single());
        }

        using (var page = await anonymous.GetAsync("/"))
        {
            Assert.Equal("text/html", page.Content.Headers.ContentType?.MediaType);
            var html = await page.Content.ReadAsStringAsync();
            Assert.DoesNotContain("<script>", html, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain("style=", html, StringComparison.OrdinalIgnoreCase);
        }

        using (var script = await anonymous.GetAsync("/js/app.js"))
        {
            Assert.Equal("text/javascript", script.Content.Headers.ContentType?.MediaType);
        }

        using (var api404 = await Latch.Owner.GetAsync("/v1/nothing-here"))
        {
            Assert.Equal(HttpStatusCode.NotFound, api404.StatusCode);
            Assert.Equal("application/problem+json", api404.Content.Headers.ContentType?.MediaType);
        }

        using (var missing = await anonymous.GetAsync("/js/missing.js"))
        {
            Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        }
    }

    [Fact]
    public async Task Sign_in_with_an_API_key_kept_for_the_tab_and_sign_out()
    {
        await Page.GotoAsync(Url());
        var keyField = Page.GetByLabel("API key", new() { Exact = true });
        await Expect(keyField).ToBeFocusedAsync();
        await keyField.FillAsync("not-a-real-key-at-all");
        await keyField.PressAsync("Enter");
        await Expect(Page.Locator("#api-key-error")).ToContainTextAsync("This API key was refused");
        await Expect(keyField).ToHaveAttributeAsync("aria-invalid", "true");
        await ScreenshotAsync("sign-in-refused");

        await SignInAsync();
        Assert.Equal(LatchUnderTest.OwnerKey, await Page.EvaluateAsync<string>("sessionStorage.getItem('latch.apiKey')"));
        Assert.Null(await Page.EvaluateAsync<string?>("localStorage.getItem('latch.apiKey')"));
        await Expect(Page.GetByText("Workspace: default")).ToBeVisibleAsync();

        // A reload keeps the tab signed in.
        await Page.ReloadAsync();
        await Expect(Page.GetByRole(AriaRole.Heading, new() { Name = "Secrets", Level = 1 })).ToBeVisibleAsync();

        await Button("Sign out").ClickAsync();
        await Expect(Page.GetByLabel("API key", new() { Exact = true })).ToBeVisibleAsync();
        Assert.Null(await Page.EvaluateAsync<string?>("sessionStorage.getItem('latch.apiKey')"));

        // Signed out stays signed out.
        await Page.ReloadAsync();
        await Expect(Page.GetByLabel("API key", new() { Exact = true })).ToBeVisibleAsync();
    }

    [Fact]
    public async Task The_list_shows_status_scope_environments_expiry_version_and_last_use_and_the_copy_button_copies_the_reference()
    {
        await Latch.AddCatalogAsync();
        var inThreeDays = Latch.Time.GetUtcNow().AddDays(3).AddHours(1).ToUnixTimeSeconds();
        await Latch.CreateSecretAsync(new { key = "STRIPE_API_KEY", value = "sk_live_do_not_show", description = "Stripe live key", scope = new[] { "stripe_app" }, envs = new[] { "live" }, expires_at = inThreeDays, token_type = "api_key" });
        await Latch.CreateSecretAsync(new { key = "MAIL_PASSWORD", value = "hunter2-do-not-show", description = "SMTP password" });
        await Latch.CreateSecretAsync(new { key = "OLD_TOKEN", value = "old-do-not-show" });
        await Latch.PostAsync("/v1/secrets/OLD_TOKEN/revoke", new { }, 200);

        await SignInAsync();
        var stripe = Row("STRIPE_API_KEY");
        await Expect(stripe).ToContainTextAsync("Stripe live key");
        await Expect(stripe).ToContainTextAsync("Active");
        await Expect(stripe).ToContainTextAsync("Expiring soon");
        await Expect(stripe).ToContainTextAsync("stripe_app");
        await Expect(stripe).ToContainTextAsync("live");
        await Expect(stripe).ToContainTextAsync("in 3 days");
        await Expect(stripe).ToContainTextAsync("v1");
        var mail = Row("MAIL_PASSWORD");
        await Expect(mail).ToContainTextAsync("All apps");
        await Expect(mail).ToContainTextAsync("All environments");
        await Expect(mail).ToContainTextAsync("Never");
        await Expect(Row("OLD_TOKEN")).ToContainTextAsync("Revoked");
        await ScreenshotAsync("secrets", docs: true);

        // No value is in the page.
        var text = await Page.ContentAsync();
        Assert.DoesNotContain("do-not-show", text, StringComparison.Ordinal);
        Assert.DoesNotContain("do_not_show", text, StringComparison.Ordinal);

        // The copy icon: a real button named after the reference, working with the mouse …
        var copy = Button("Copy $Token{STRIPE_API_KEY}");
        await copy.ClickAsync();
        await Expect(Status).ToHaveTextAsync("Copied: $Token{STRIPE_API_KEY}");
        Assert.Equal("$Token{STRIPE_API_KEY}", await ClipboardAsync());

        // … and from the keyboard.
        var copyMail = Button("Copy $Token{MAIL_PASSWORD}");
        await copyMail.FocusAsync();
        await Page.Keyboard.PressAsync("Enter");
        await Expect(Status).ToHaveTextAsync("Copied: $Token{MAIL_PASSWORD}");
        Assert.Equal("$Token{MAIL_PASSWORD}", await ClipboardAsync());
        await ScreenshotAsync("copied");
    }

    [Fact]
    public async Task Search_filters_and_paging_use_the_API()
    {
        await Latch.AddCatalogAsync();
        for (var i = 0; i < 60; i++)
        {
            await Latch.CreateSecretAsync(new { key = $"BULK_{i:D3}", value = "v", envs = i % 2 == 0 ? new[] { "prd" } : new[] { "dev" } });
        }

        await Latch.CreateSecretAsync(new { key = "STRIPE_WEBHOOK_SECRET", value = "whsec", description = "Signing secret", scope = new[] { "stripe_app" } });
        await Latch.PostAsync("/v1/secrets/BULK_001/revoke", new { }, 200);

        await SignInAsync();
        await Expect(Page.Locator("#secrets-body tr")).ToHaveCountAsync(50);
        await Expect(Button("Previous")).ToBeDisabledAsync();
        await Button("Next").ClickAsync();
        await Expect(Page.Locator("#secrets-body tr")).ToHaveCountAsync(11);
        await Expect(Row("STRIPE_WEBHOOK_SECRET")).ToBeVisibleAsync();
        await Expect(Button("Next")).ToBeDisabledAsync();
        await Button("Previous").ClickAsync();
        await Expect(Row("BULK_000")).ToBeVisibleAsync();
        await Expect(Page.Locator("#secrets-body tr")).ToHaveCountAsync(50);

        await SecretsView.GetByLabel("Search", new() { Exact = true }).FillAsync("webhook");
        await Expect(Page.Locator("#secrets-body tr")).ToHaveCountAsync(1);
        await Expect(Row("STRIPE_WEBHOOK_SECRET")).ToBeVisibleAsync();
        await SecretsView.GetByLabel("Search", new() { Exact = true }).FillAsync("");

        await SecretsView.GetByLabel("Status", new() { Exact = true }).SelectOptionAsync("revoked");
        await Expect(Page.Locator("#secrets-body tr")).ToHaveCountAsync(1);
        await Expect(Row("BULK_001")).ToBeVisibleAsync();
        await SecretsView.GetByLabel("Status", new() { Exact = true }).SelectOptionAsync("");

        // An environment keeps the secrets that environment may use (unrestricted ones too).
        await SecretsView.GetByLabel("Environment", new() { Exact = true }).SelectOptionAsync("dev");
        await Expect(Row("BULK_001")).ToBeVisibleAsync();
        await Expect(Row("STRIPE_WEBHOOK_SECRET")).ToBeVisibleAsync();
        await Expect(Row("BULK_000")).ToHaveCountAsync(0);
        await SecretsView.GetByLabel("Environment", new() { Exact = true }).SelectOptionAsync("");

        await SecretsView.GetByLabel("App", new() { Exact = true }).SelectOptionAsync("mail_app");
        await Expect(Row("STRIPE_WEBHOOK_SECRET")).ToHaveCountAsync(0);
        await Expect(Row("BULK_000")).ToBeVisibleAsync();
    }
}

using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Latch.Workbench.Tests;

public sealed class AuditPageTests(BrowserFixture browser) : WorkbenchTest(browser)
{
    [Fact]
    public async Task The_audit_log_lists_events_newest_first_with_filters()
    {
        await Latch.AddCatalogAsync();
        await Latch.CreateSecretAsync(new { key = "AUDITED", value = "v" });
        await Latch.CreateSecretAsync(new { key = "OTHER", value = "v" });
        await Latch.PostAsync("/v1/secrets/AUDITED/revoke", new { }, 200);

        await SignInAsync();
        await Page.GetByRole(AriaRole.Link, new() { Name = "Audit log" }).ClickAsync();
        await Expect(Page.GetByRole(AriaRole.Heading, new() { Name = "Audit log", Level = 1 })).ToBeVisibleAsync();
        await Expect(Page.GetByRole(AriaRole.Link, new() { Name = "Audit log" })).ToHaveAttributeAsync("aria-current", "page");
        var rows = Page.Locator("#audit-body tr");
        // Newest first: the revocation is on top.
        await Expect(rows.First).ToContainTextAsync("secret.revoked");
        await Expect(rows.Filter(new() { HasText = "secret.created" })).ToHaveCountAsync(2);
        await ScreenshotAsync("audit");

        await Page.Locator("#audit-view").GetByLabel("Secret", new() { Exact = true }).FillAsync("AUDITED");
        await Expect(rows).ToHaveCountAsync(2);
        await Page.Locator("#audit-view").GetByLabel("Action", new() { Exact = true }).SelectOptionAsync("secret.revoked");
        await Expect(rows).ToHaveCountAsync(1);
        await Expect(rows.First).ToContainTextAsync("AUDITED");

        await Page.Locator("#audit-view").GetByLabel("Action", new() { Exact = true }).SelectOptionAsync("secret.deleted");
        await Expect(Page.GetByText("No audit event matches these filters.")).ToBeVisibleAsync();
    }

    [Fact]
    public async Task The_audit_log_pages_through_many_events()
    {
        for (var i = 0; i < 55; i++)
        {
            await Latch.CreateSecretAsync(new { key = $"MANY_{i:D2}", value = "v" });
        }

        await SignInAsync();
        await Page.GotoAsync(Url("/#/audit"));
        var rows = Page.Locator("#audit-body tr");
        await Expect(rows).ToHaveCountAsync(50);
        await Expect(rows.First).ToContainTextAsync("MANY_54");
        await Page.GetByRole(AriaRole.Button, new() { Name = "Next", Exact = true }).ClickAsync();
        await Expect(rows.First).ToContainTextAsync("MANY_04");
        await Page.GetByRole(AriaRole.Button, new() { Name = "Previous", Exact = true }).ClickAsync();
        await Expect(rows.First).ToContainTextAsync("MANY_54");
    }
}

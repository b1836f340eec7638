using System.Text.Json.Nodes;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Latch.Workbench.Tests;

public sealed class SecretLifecycleTests(BrowserFixture browser) : WorkbenchTest(browser)
{
    private static LocatorGetByLabelOptions Exact => new() { Exact = true };

    [Fact]
    public async Task Create_with_a_typed_value_scope_environments_and_expiry()
    {
        await Latch.AddCatalogAsync();
        await SignInAsync();
        await Button("New secret").ClickAsync();
        var dialog = Dialog;
        await Expect(dialog).ToHaveAttributeAsync("aria-modal", "true");
        await Expect(dialog.GetByLabel("Key", Exact)).ToBeFocusedAsync();
        await dialog.GetByLabel("Key", Exact).FillAsync("STRIPE_API_KEY");
        await dialog.GetByLabel("Value", Exact).FillAsync("sk_live_typed_value");
        await dialog.GetByLabel("Description", Exact).FillAsync("Stripe live key");
        await dialog.GetByRole(AriaRole.Checkbox, new() { Name = "stripe_app" }).CheckAsync();
        await dialog.GetByRole(AriaRole.Checkbox, new() { Name = "live", Exact = true }).CheckAsync();
        // Free entry: an environment nothing defines yet.
        await dialog.GetByLabel("Other environments (slugs, comma-separated)").FillAsync("staging");
        await dialog.GetByRole(AriaRole.Radio, new() { Name = "In a number of days" }).CheckAsync();
        await dialog.GetByLabel("Days from now", Exact).FillAsync("30");
        await Expect(dialog).ToContainTextAsync("in 30 days");
        await ScreenshotAsync("create");
        await Button("Create secret").ClickAsync();

        await Expect(dialog).ToBeHiddenAsync();
        await Expect(Status).ToHaveTextAsync("Secret STRIPE_API_KEY created");
        var row = Row("STRIPE_API_KEY");
        await Expect(row).ToContainTextAsync("Stripe live key");
        await Expect(row).ToContainTextAsync("staging");
        await Expect(row).ToContainTextAsync("in 30 days");
        // Focus went back to the button that opened the dialog.
        await Expect(Button("New secret")).ToBeFocusedAsync();

        var secret = (await Latch.GetJsonAsync("/v1/secrets/STRIPE_API_KEY?reveal=true"))!;
        Assert.Equal("sk_live_typed_value", secret["value"]!.GetValue<string>());
        Assert.Equal(["stripe_app"], secret["scope"]!.AsArray().Select(n => n!.GetValue<string>()));
        Assert.Equal(["live", "staging"], secret["envs"]!.AsArray().Select(n => n!.GetValue<string>()));
        var expires = secret["expires_at"]!.GetValue<long>();
        Assert.InRange(expires - Latch.Time.GetUtcNow().ToUnixTimeSeconds(), 29 * 86400, 31 * 86400);
        Assert.DoesNotContain("sk_live_typed_value", await Page.ContentAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Create_with_a_generated_value_shows_it_once_with_its_own_copy_button()
    {
        await SignInAsync();
        await Button("New secret").ClickAsync();
        await Dialog.GetByLabel("Key", Exact).FillAsync("GENERATED_TOKEN");
        await Dialog.GetByRole(AriaRole.Radio, new() { Name = "Generate a random 64-character value" }).CheckAsync();
        await Expect(Dialog.GetByLabel("Value", Exact)).ToBeHiddenAsync();
        await Button("Create secret").ClickAsync();

        var shown = Page.Locator("#generated-value");
        await Expect(shown).ToHaveTextAsync(new System.Text.RegularExpressions.Regex("^[A-Za-z0-9_\\-]{64}$"));
        var value = await shown.TextContentAsync();
        await Expect(Dialog).ToContainTextAsync("shown this once");
        await ScreenshotAsync("generated");
        await Button("Copy generated value").ClickAsync();
        await Expect(Dialog.Locator(".dialog-status")).ToHaveTextAsync("Copied the generated value");
        Assert.Equal(value, await ClipboardAsync());

        await Button("Done").ClickAsync();
        await Expect(Dialog).ToBeHiddenAsync();
        await Expect(Row("GENERATED_TOKEN")).ToBeVisibleAsync();
        Assert.DoesNotContain(value!, await Page.ContentAsync(), StringComparison.Ordinal);
        var revealed = (await Latch.GetJsonAsync("/v1/secrets/GENERATED_TOKEN?reveal=true"))!;
        Assert.Equal(value, revealed["value"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_validation_error_appears_next_to_its_field_with_the_API_message()
    {
        using var response = await Latch.Owner.PostAsync("/v1/secrets", new StringContent("""{"key":"bad key!","value":"x"}""", System.Text.Encoding.UTF8, "application/json"));
        var problem = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        var message = problem["errors"]!["key"]![0]!.GetValue<string>();

        await SignInAsync();
        await Button("New secret").ClickAsync();
        var key = Dialog.GetByLabel("Key", Exact);
        await key.FillAsync("bad key!");
        await Dialog.GetByLabel("Value", Exact).FillAsync("x");
        await Button("Create secret").ClickAsync();

        var error = Dialog.Locator("[data-error-for='key']");
        await Expect(error).ToContainTextAsync(message);
        await Expect(key).ToHaveAttributeAsync("aria-invalid", "true");
        await Expect(key).ToBeFocusedAsync();
        // The message is tied to the field for screen readers.
        var describedBy = await key.GetAttributeAsync("aria-describedby");
        Assert.Contains(await error.GetAttributeAsync("id"), describedBy!.Split(' '));
        await ScreenshotAsync("validation");

        // A duplicate key is reported next to the key too.
        await Latch.CreateSecretAsync(new { key = "TAKEN", value = "v" });
        await key.FillAsync("TAKEN");
        await Button("Create secret").ClickAsync();
        await Expect(error).ToContainTextAsync("TAKEN");
    }

    [Fact]
    public async Task Edit_rotate_revoke_restore_and_delete()
    {
        await Latch.AddCatalogAsync();
        await Latch.CreateSecretAsync(new { key = "DB_PASSWORD", value = "first-value", description = "Database" });
        await SignInAsync();

        // Edit: description and scope.
        await Button("Edit DB_PASSWORD").ClickAsync();
        await Dialog.GetByLabel("Description", Exact).FillAsync("Primary database");
        await Dialog.GetByRole(AriaRole.Checkbox, new() { Name = "mail_app" }).CheckAsync();
        await Button("Save changes").ClickAsync();
        await Expect(Dialog).ToBeHiddenAsync();
        await Expect(Row("DB_PASSWORD")).ToContainTextAsync("Primary database");
        await Expect(Row("DB_PASSWORD")).ToContainTextAsync("mail_app");

        // Rotate with a typed value and a new expiry.
        await Button("Rotate DB_PASSWORD").ClickAsync();
        await Dialog.GetByLabel("New value", Exact).FillAsync("second-value");
        await Dialog.GetByRole(AriaRole.Radio, new() { Name = "In a number of days" }).CheckAsync();
        await Dialog.GetByLabel("Days from now", Exact).FillAsync("10");
        await Button("Rotate").ClickAsync();
        await Expect(Dialog).ToBeHiddenAsync();
        await Expect(Status).ToHaveTextAsync("Rotated DB_PASSWORD to version 2");
        await Expect(Row("DB_PASSWORD")).ToContainTextAsync("v2");
        await Expect(Row("DB_PASSWORD")).ToContainTextAsync("in 10 days");
        Assert.Equal("second-value", (await Latch.GetJsonAsync("/v1/secrets/DB_PASSWORD?reveal=true"))!["value"]!.GetValue<string>());

        // Revoke: the key must be typed first.
        await Button("Revoke DB_PASSWORD").ClickAsync();
        var confirm = Dialog.GetByLabel("Type DB_PASSWORD to confirm", Exact);
        await Expect(confirm).ToBeFocusedAsync();
        var revoke = Button("Revoke secret");
        await Expect(revoke).ToBeDisabledAsync();
        await confirm.FillAsync("DB_PASS");
        await Expect(revoke).ToBeDisabledAsync();
        await confirm.FillAsync("DB_PASSWORD");
        await ScreenshotAsync("revoke");
        await revoke.ClickAsync();
        await Expect(Dialog).ToBeHiddenAsync();
        await Expect(Row("DB_PASSWORD")).ToContainTextAsync("Revoked");
        // The keyboard focus stays on that row (its Revoke button became Restore).
        await Expect(Button("DB_PASSWORD")).ToBeFocusedAsync();
        Assert.Equal("revoked", (await Latch.GetJsonAsync("/v1/secrets/DB_PASSWORD"))!["status"]!.GetValue<string>());

        // Restore.
        await Button("Restore DB_PASSWORD").ClickAsync();
        await Button("Restore secret").ClickAsync();
        await Expect(Row("DB_PASSWORD")).ToContainTextAsync("Active");

        // Delete: typed confirmation too.
        await Button("Delete DB_PASSWORD").ClickAsync();
        var delete = Button("Delete secret");
        await Expect(delete).ToBeDisabledAsync();
        await Dialog.GetByLabel("Type DB_PASSWORD to confirm", Exact).FillAsync("DB_PASSWORD");
        await delete.ClickAsync();
        await Expect(Dialog).ToBeHiddenAsync();
        await Expect(Row("DB_PASSWORD")).ToHaveCountAsync(0);
        await Expect(Status).ToHaveTextAsync("Deleted DB_PASSWORD");
        await Latch.GetJsonAsync("/v1/secrets/DB_PASSWORD", 404);
    }

    [Fact]
    public async Task Details_show_versions_usage_reveal_and_roll_back()
    {
        await Latch.CreateSecretAsync(new { key = "API_TOKEN", value = "value-one" });
        using (var patch = new HttpRequestMessage(HttpMethod.Patch, "/v1/secrets/API_TOKEN") { Content = new StringContent("""{"value":"value-two"}""", System.Text.Encoding.UTF8, "application/json") })
        using (var response = await Latch.Owner.SendAsync(patch))
        {
            Assert.True(response.IsSuccessStatusCode);
        }

        await SignInAsync();
        await Button("API_TOKEN").ClickAsync();
        await Expect(Dialog.GetByRole(AriaRole.Heading, new() { Name = "API_TOKEN" })).ToBeVisibleAsync();
        var versions = Dialog.GetByRole(AriaRole.Table, new() { Name = "Versions of API_TOKEN" });
        await Expect(versions.Locator("tbody tr")).ToHaveCountAsync(2);
        await Expect(Dialog).ToContainTextAsync("Not resolved recently.");
        await Expect(Dialog).Not.ToContainTextAsync("value-two");

        await Button("Reveal value").ClickAsync();
        await Expect(Page.Locator("#revealed-value")).ToHaveTextAsync("value-two");
        await ScreenshotAsync("revealed");
        await Button("Hide").ClickAsync();
        await Expect(Page.Locator("#revealed-value")).ToHaveCountAsync(0);
        Assert.DoesNotContain("value-two", await Page.ContentAsync(), StringComparison.Ordinal);

        await Button("Roll back to v1").ClickAsync();
        await Dialog.GetByRole(AriaRole.Button, new() { Name = "Roll back to v1" }).ClickAsync();
        await Expect(versions.Locator("tbody tr")).ToHaveCountAsync(3);
        await Expect(Row("API_TOKEN")).ToContainTextAsync("v3");
        Assert.Equal("value-one", (await Latch.GetJsonAsync("/v1/secrets/API_TOKEN?reveal=true"))!["value"]!.GetValue<string>());

        // Escape closes the dialog and the value area goes with it.
        await Page.Keyboard.PressAsync("Escape");
        await Expect(Dialog).ToBeHiddenAsync();
    }

    [Fact]
    public async Task A_viewer_sees_the_API_refusal_when_revealing()
    {
        await Latch.CreateSecretAsync(new { key = "VIEWED", value = "never-shown-to-viewers" });
        var viewer = await Latch.PostAsync("/v1/keys", new { name = "viewer", role = "viewer" });
        await SignInAsync(viewer["key"]!.GetValue<string>());
        await Button("VIEWED").ClickAsync();
        await Button("Reveal value").ClickAsync();
        await Expect(Dialog.GetByRole(AriaRole.Alert)).ToContainTextAsync("may not reveal values");
        Assert.DoesNotContain("never-shown-to-viewers", await Page.ContentAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_expired_secret_shows_as_expired_when_the_server_clock_passes_its_expiry()
    {
        var tomorrow = Latch.Time.GetUtcNow().AddDays(1).ToUnixTimeSeconds();
        await Latch.CreateSecretAsync(new { key = "SHORT_LIVED", value = "v", expires_at = tomorrow });
        await SignInAsync();
        await Expect(Row("SHORT_LIVED")).ToContainTextAsync("Active");
        await Expect(Row("SHORT_LIVED")).ToContainTextAsync("Expiring soon");

        Latch.Time.Advance(TimeSpan.FromDays(2));
        await Page.ReloadAsync();
        await Expect(Row("SHORT_LIVED").Locator(".badge.expired")).ToHaveTextAsync("Expired");
        await Expect(Row("SHORT_LIVED")).Not.ToContainTextAsync("Expiring soon");
        await SecretsView.GetByLabel("Status", new() { Exact = true }).SelectOptionAsync("expired");
        await Expect(Page.Locator("#secrets-body tr")).ToHaveCountAsync(1);
        await ScreenshotAsync("expired");
    }
}

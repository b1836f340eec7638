using System.Net;
using System.Text.Json.Nodes;

namespace Latch.Client.Tests;

public sealed class SecretsClientTests : IClassFixture<LatchHarness>
{
    private readonly LatchHarness _latch;

    public SecretsClientTests(LatchHarness latch) => _latch = latch;

    private SecretsClient Secrets => _latch.Client.Secrets;

    [Fact]
    public async Task A_secret_goes_through_its_whole_life_with_every_call()
    {
        var key = LatchHarness.Key("LIFE");
        var created = await Secrets.CreateAsync(new CreateSecretRequest(key) { Value = "first-value", Description = "db", Scope = ["billing"], Envs = ["prd"] });
        Assert.Equal(key, created.Key);
        Assert.Equal(1, created.Version);
        Assert.Equal(SecretStatus.Active, created.Status);
        Assert.Equal($"$Token{{{key}}}", created.Reference);
        Assert.Null(created.Value);

        var fetched = await Secrets.FetchAsync(key);
        Assert.Null(fetched.Value);
        Assert.Equal(["billing"], fetched.Scope);
        var revealed = await Secrets.FetchAsync(key, reveal: true);
        Assert.Equal("first-value", revealed.Value!.Reveal());
        Assert.DoesNotContain("first-value", revealed.ToString(), StringComparison.Ordinal);
        Assert.True(await Secrets.ExistsAsync(key));

        var rotated = await Secrets.UpdateAsync(key, new SecretUpdate { Value = "second-value" }, ifVersion: 1);
        Assert.Equal(2, rotated.Version);

        var stale = await Assert.ThrowsAsync<LatchException>(() => Secrets.UpdateAsync(key, new SecretUpdate { Value = "third-value" }, ifVersion: 1));
        Assert.Equal(HttpStatusCode.PreconditionFailed, stale.Status);
        Assert.Equal("version_conflict", stale.Code);
        Assert.DoesNotContain("third-value", stale.Message, StringComparison.Ordinal);

        var revoked = await Secrets.RevokeAsync(key);
        Assert.Equal(SecretStatus.Revoked, revoked.Status);

        var document = new JsonObject { ["password"] = $"$Token{{{key}}}", ["missing"] = "$Token{NOPE_NOT_THERE}" };
        var failed = await Assert.ThrowsAsync<LatchException>(() => Secrets.ResolveAsync(document, "billing", "prd"));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, failed.Status);
        Assert.Equal(2, failed.ReferenceErrors.Count);
        Assert.Contains(failed.ReferenceErrors, e => e.Path == "$.password" && e.Key == key && e.Code == "secret_revoked");
        Assert.Contains(failed.ReferenceErrors, e => e.Path == "$.missing" && e.Code == "secret_not_found" && e.Message == "Secret 'NOPE_NOT_THERE' not found");

        // Un-revoke, then roll back to version 1: a new version holding the first value.
        await Secrets.UpdateAsync(key, new SecretUpdate { Revoked = false });
        var rolledBack = await Secrets.RollbackAsync(key, 1);
        Assert.Equal(3, rolledBack.Version);
        Assert.Equal("first-value", (await Secrets.FetchAsync(key, reveal: true)).Value!.Reveal());

        var versions = await Secrets.VersionsAsync(key);
        Assert.Equal([1, 2, 3], versions.Select(v => v.Version).Order());

        var resolved = await Secrets.ResolveAsync(new JsonObject { ["password"] = $"$Token{{{key}}}" }, "billing", "prd");
        Assert.Equal("first-value", resolved.Document!["password"]!.GetValue<string>());
        Assert.Equal(3, Assert.Single(resolved.References).Version);
        Assert.DoesNotContain("first-value", resolved.ToString(), StringComparison.Ordinal);

        var usage = await Secrets.UsageAsync(key);
        Assert.Equal(key, usage.Key);
        Assert.Contains(usage.Recent, r => r.App == "billing" && r.Env == "prd" && r.Count >= 1);

        var validation = await Secrets.ValidateAsync(JsonValue.Create($"Bearer $Token{{{key}}} and $Token{{bad-key}}"));
        Assert.False(validation.Ok);
        Assert.Equal(key, Assert.Single(validation.References).Key);
        Assert.Equal("malformed_reference", Assert.Single(validation.Malformed).Code);

        var check = await Secrets.CheckAsync(new JsonObject { ["a"] = $"$Token{{{key}}}" }, "billing", "dev");
        Assert.False(check.Ok);
        var item = Assert.Single(check.References);
        Assert.Equal("secret_env_denied", item.Code);
        Assert.Equal($"Secret '{key}' is not available in environment 'dev'", item.Message);
        Assert.True((await Secrets.CheckAsync(new JsonObject { ["a"] = $"$Token{{{key}}}" }, "billing", "prd")).Ok);

        await Secrets.DeleteAsync(key);
        Assert.False(await Secrets.ExistsAsync(key));
        var gone = await Assert.ThrowsAsync<LatchException>(() => Secrets.FetchAsync(key));
        Assert.Equal(HttpStatusCode.NotFound, gone.Status);
        Assert.Equal($"Secret '{key}' not found", gone.Message);
    }

    [Fact]
    public async Task Listing_streams_every_page_and_applies_filters()
    {
        var prefix = LatchHarness.Key("PAGE")[..12];
        var keys = Enumerable.Range(0, 7).Select(i => $"{prefix}_{i}").ToList();
        foreach (var key in keys)
        {
            await Secrets.CreateAsync(new CreateSecretRequest(key) { Value = "v", Envs = key.EndsWith('0') ? ["snd"] : null });
        }

        var listed = new List<string>();
        await foreach (var secret in Secrets.ListAsync(new SecretFilter { Search = prefix, PageSize = 2 }))
        {
            listed.Add(secret.Key);
        }

        Assert.Equal(keys, listed);

        var revoked = await Secrets.RevokeAsync(keys[1]);
        var onlyRevoked = await Secrets.ListAsync(new SecretFilter { Search = prefix, Status = SecretStatus.Revoked }).Select(s => s.Key).ToListAsync();
        Assert.Equal([revoked.Key], onlyRevoked);
        var inPrd = await Secrets.ListAsync(new SecretFilter { Search = prefix, Env = "prd", PageSize = 3 }).Select(s => s.Key).ToListAsync();
        Assert.DoesNotContain(keys[0], inPrd);
        Assert.Equal(6, inPrd.Count);
    }

    [Fact]
    public async Task A_generated_value_is_returned_once_and_prints_as_stars()
    {
        var key = LatchHarness.Key("GEN");
        var created = await Secrets.CreateAsync(new CreateSecretRequest(key) { ExpiresAt = DateTimeOffset.FromUnixTimeSeconds(4_000_000_000) });
        Assert.Equal(64, created.Value!.Length);
        Assert.Equal("***", created.Value.ToString());
        Assert.DoesNotContain(created.Value.Reveal(), created.ToString(), StringComparison.Ordinal);
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(4_000_000_000), created.ExpiresAt);

        var cleared = await Secrets.UpdateAsync(key, new SecretUpdate { ClearExpiry = true, Description = "no expiry" });
        Assert.Null(cleared.ExpiresAt);
        Assert.Equal("no expiry", cleared.Description);
        Assert.Null((await Secrets.FetchAsync(key)).Value);
    }

    [Fact]
    public async Task Errors_carry_status_code_and_field_errors()
    {
        var key = LatchHarness.Key("DUP");
        await Secrets.CreateAsync(new CreateSecretRequest(key) { Value = "duplicate-value" });
        var duplicate = await Assert.ThrowsAsync<LatchException>(() => Secrets.CreateAsync(new CreateSecretRequest(key) { Value = "duplicate-value" }));
        Assert.Equal(HttpStatusCode.Conflict, duplicate.Status);
        Assert.Equal("secret_exists", duplicate.Code);

        var invalid = await Assert.ThrowsAsync<LatchException>(() => Secrets.CreateAsync(new CreateSecretRequest("bad key!") { Value = "a-secret-value", Envs = ["not a slug"] }));
        Assert.Equal(HttpStatusCode.BadRequest, invalid.Status);
        Assert.Contains("key", invalid.FieldErrors.Keys);
        Assert.DoesNotContain("a-secret-value", invalid.Message, StringComparison.Ordinal);
        Assert.Empty(invalid.ReferenceErrors);
    }

    [Fact]
    public async Task An_unreachable_server_is_a_LatchException_with_status_zero()
    {
        var stub = await StubServer.StartAsync();
        var url = stub.Url;
        await stub.DisposeAsync();
        using var client = new LatchClient(url, "some-key-that-is-long-enough");
        var error = await Assert.ThrowsAsync<LatchException>(() => client.Workspace.GetAsync());
        Assert.Equal((HttpStatusCode)0, error.Status);
        Assert.Equal("unreachable", error.Code);
    }
}

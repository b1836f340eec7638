using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Latch.Server.Tests.Infrastructure;
using Microsoft.Extensions.Time.Testing;

namespace Latch.Server.Tests.Secrets;

/// <summary>Issue 4 items 6 and 8: <c>expiring_soon</c> in secret metadata, and reveal switched off server-wide.</summary>
public sealed class ExpiryAndRevealTests
{
    private static readonly DateTimeOffset Start = new(2026, 6, 1, 12, 0, 0, TimeSpan.Zero);

    private static long In(FakeTimeProvider time, TimeSpan span) => time.GetUtcNow().Add(span).ToUnixTimeSeconds();

    private static async Task<Dictionary<string, JsonNode>> ListAsync(HttpClient client)
    {
        var page = await client.GetFromJsonAsync<JsonObject>("/v1/secrets?limit=500") ?? throw new InvalidOperationException("empty list");
        return page["items"]!.AsArray().ToDictionary(i => i!["key"]!.GetValue<string>(), i => i!);
    }

    private static bool Soon(JsonNode secret) => secret["expiring_soon"]!.GetValue<bool>();

    /// <summary>A server like <see cref="TestServer"/> but with options of the test's choosing.</summary>
    private static async Task<(RunningLatch Server, HttpClient Owner)> StartWithAsync(Func<ServeOptions, ServeOptions> configure, TimeProvider? time = null)
    {
        var server = await LatchServer.StartAsync(configure(new ServeOptions
        {
            Urls = "http://127.0.0.1:0",
            DataDirectory = TestServer.NewDataDirectory(),
            MasterKey = Storage.SecretCalls.NewMasterKey(),
            BootstrapKey = TestServer.BootstrapKey,
            TimeProvider = time,
        }));
        var owner = new HttpClient { BaseAddress = server.BaseAddress };
        owner.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", TestServer.BootstrapKey);
        return (server, owner);
    }

    [Fact]
    public async Task Expiring_soon_is_true_only_for_live_secrets_expiring_within_the_default_seven_days()
    {
        var time = new FakeTimeProvider(Start);
        await using var server = await TestServer.StartAsync(time: time);
        var created = await server.Owner.CreateSecretAsync(new { key = "IN_3_DAYS", value = "v-3-days", expires_at = In(time, TimeSpan.FromDays(3)) });
        Assert.True(Soon(created));
        await server.Owner.CreateSecretAsync(new { key = "IN_10_DAYS", value = "v-10-days", expires_at = In(time, TimeSpan.FromDays(10)) });
        await server.Owner.CreateSecretAsync(new { key = "EXACTLY_7_DAYS", value = "v-7-days", expires_at = In(time, TimeSpan.FromDays(7)) });
        await server.Owner.CreateSecretAsync(new { key = "NEVER", value = "v-never" });
        await server.Owner.CreateSecretAsync(new { key = "REVOKED_SOON", value = "v-revoked", expires_at = In(time, TimeSpan.FromDays(1)) });
        await server.Owner.CreateSecretAsync(new { key = "GONE_IN_1_HOUR", value = "v-hour", expires_at = In(time, TimeSpan.FromHours(1)) });
        var revoked = await (await server.Owner.PostAsync("/v1/secrets/REVOKED_SOON/revoke", null)).ReadJsonAsync();
        Assert.False(Soon(revoked));

        var items = await ListAsync(server.Owner);
        Assert.True(Soon(items["IN_3_DAYS"]));
        Assert.True(Soon(items["EXACTLY_7_DAYS"]));
        Assert.True(Soon(items["GONE_IN_1_HOUR"]));
        Assert.False(Soon(items["IN_10_DAYS"]));
        Assert.False(Soon(items["NEVER"]));
        Assert.False(Soon(items["REVOKED_SOON"]));

        time.Advance(TimeSpan.FromDays(4));
        items = await ListAsync(server.Owner);
        Assert.True(Soon(items["IN_10_DAYS"]));
        Assert.Equal("expired", items["GONE_IN_1_HOUR"]["status"]!.GetValue<string>());
        Assert.False(Soon(items["GONE_IN_1_HOUR"]));
        Assert.Equal("expired", items["IN_3_DAYS"]["status"]!.GetValue<string>());
        Assert.False(Soon(items["IN_3_DAYS"]));

        // Single fetch and update answer the same flag.
        var fetched = await server.Owner.GetFromJsonAsync<JsonObject>("/v1/secrets/IN_10_DAYS");
        Assert.True(Soon(fetched!));
        var pushedOut = await (await server.Owner.PatchJsonAsync("/v1/secrets/IN_10_DAYS", new { expires_at = In(time, TimeSpan.FromDays(30)) })).ReadJsonAsync();
        Assert.False(Soon(pushedOut));
    }

    [Fact]
    public async Task Expiring_within_lists_exactly_the_secrets_flagged_expiring_soon_for_the_same_window()
    {
        var time = new FakeTimeProvider(Start);
        await using var server = await TestServer.StartAsync(time: time);
        foreach (var days in new[] { 1, 6, 8, 40 })
        {
            await server.Owner.CreateSecretAsync(new { key = $"D{days}", value = $"value-{days}", expires_at = In(time, TimeSpan.FromDays(days)) });
        }

        var page = await server.Owner.GetFromJsonAsync<JsonObject>($"/v1/secrets?expiring_within={7 * 86400}");
        var listed = page!["items"]!.AsArray().Select(i => i!["key"]!.GetValue<string>()).ToList();
        Assert.Equal(["D1", "D6"], listed);
        var flagged = (await ListAsync(server.Owner)).Where(p => Soon(p.Value)).Select(p => p.Key).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(listed, flagged);
    }

    [Fact]
    public async Task The_expiry_warning_window_is_configurable_per_server()
    {
        var time = new FakeTimeProvider(Start);
        var (server, owner) = await StartWithAsync(o => o with { ExpiryWarning = TimeSpan.FromDays(1) }, time);
        await using (server)
        using (owner)
        {
            var threeDays = await owner.CreateSecretAsync(new { key = "IN_3_DAYS", value = "v-3", expires_at = In(time, TimeSpan.FromDays(3)) });
            var twelveHours = await owner.CreateSecretAsync(new { key = "IN_12_HOURS", value = "v-12", expires_at = In(time, TimeSpan.FromHours(12)) });
            Assert.False(Soon(threeDays));
            Assert.True(Soon(twelveHours));
        }
    }

    [Fact]
    public async Task With_reveal_disabled_server_wide_reveal_answers_403_reveal_disabled_and_metadata_still_works()
    {
        var (server, owner) = await StartWithAsync(o => o with { RevealEnabled = false });
        await using (server)
        using (owner)
        {
            const string Value = "never-revealed-9f8e7d";
            await owner.CreateSecretAsync(new { key = "HIDDEN", value = Value });

            var response = await owner.GetAsync("/v1/secrets/HIDDEN?reveal=true");
            var text = await response.Content.ReadAsStringAsync();
            Assert.DoesNotContain(Value, text, StringComparison.Ordinal);
            await response.AssertProblemAsync(403, "reveal_disabled");

            var metadata = await owner.GetFromJsonAsync<JsonObject>("/v1/secrets/HIDDEN");
            Assert.Equal("HIDDEN", metadata!["key"]!.GetValue<string>());
            Assert.False(metadata.ContainsKey("value"));

            // Resolution is not reveal: services still get their configuration.
            Assert.Equal(Value, await Storage.SecretCalls.ResolveValueAsync(owner, "HIDDEN"));
        }
    }

    [Fact]
    public async Task LATCH_ALLOW_REVEAL_false_from_the_cli_turns_reveal_off_on_the_real_server()
    {
        var env = new Latch.Cli.CliEnvironment
        {
            Out = TextWriter.Null,
            Error = TextWriter.Null,
            GetVariable = name => name == "LATCH_ALLOW_REVEAL" ? "false" : null,
        };
        var fromCli = Latch.Cli.Serve.ServeCommand.BuildOptions(env, null, null, null, disableReveal: false);
        Assert.False(fromCli.RevealEnabled);

        var (server, owner) = await StartWithAsync(o => o with { RevealEnabled = fromCli.RevealEnabled });
        await using (server)
        using (owner)
        {
            await owner.CreateSecretAsync(new { key = "HIDDEN", value = "hidden-value-123" });
            await (await owner.GetAsync("/v1/secrets/HIDDEN?reveal=true")).AssertProblemAsync(403, "reveal_disabled");
        }
    }

    [Fact]
    public async Task Reveal_stays_on_by_default()
    {
        await using var server = await TestServer.StartAsync();
        await server.Owner.CreateSecretAsync(new { key = "SHOWN", value = "shown-value-123" });
        Assert.Equal("shown-value-123", await Storage.SecretCalls.RevealValueAsync(server.Owner, "SHOWN"));
    }
}

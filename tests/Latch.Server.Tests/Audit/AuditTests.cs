using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Latch.Server.Tests.Infrastructure;
using Latch.Server.Tests.Runtime;
using Latch.Server.Tests.Storage;
using Microsoft.Data.Sqlite;

namespace Latch.Server.Tests.Audit;

public sealed class AuditTests : RuntimeTestBase
{
    private async Task<JsonNode> AuditAsync(string query = "") => await Ok(await Owner.GetAsync("/v1/audit" + query));

    [Fact]
    public async Task Every_change_reveal_resolution_and_denial_is_recorded_with_actor_request_and_client()
    {
        await Owner.CreateSecretAsync(new { key = "AUDITED", value = "audited-value", scope = new[] { "app_a" } });
        await Owner.PatchJsonAsync("/v1/secrets/AUDITED", new { value = "audited-value-2" });
        await Owner.PostAsJsonAsync("/v1/secrets/AUDITED/rollback", new { version = 1 });
        await Owner.GetAsync("/v1/secrets/AUDITED?reveal=true");
        var resolve = await Owner.ResolveAsync(new { x = new[] { "$Token{AUDITED}" } }, "app_a", "prd", "shop");
        var requestId = resolve.Headers.GetValues("X-Request-Id").Single();
        await Owner.ResolveAsync(new { x = "$Token{AUDITED}" }, "app_b", "prd");
        await Owner.PostAsJsonAsync("/v1/secrets/check", new { document = new { y = "$Token{AUDITED}" }, app = "app_c", env = "dev" });
        await Owner.PostAsync("/v1/secrets/AUDITED/revoke", null);
        await Owner.DeleteAsync("/v1/secrets/AUDITED");

        var items = (await AuditAsync("?secret=AUDITED"))["items"]!.AsArray();
        var actions = items.Select(i => i!["action"]!.GetValue<string>()).Reverse().ToArray();
        Assert.Equal(["secret.created", "secret.updated", "secret.rolled_back", "secret.revealed", "secret.resolved", "secret.denied", "secret.denied", "secret.revoked", "secret.deleted"], actions);

        var resolved = items.Single(i => i!["action"]!.GetValue<string>() == "secret.resolved")!;
        Assert.Equal(requestId, resolved["request_id"]!.GetValue<string>());
        Assert.Equal("$.x[0]", resolved["path"]!.GetValue<string>());
        Assert.Equal(3, resolved["version"]!.GetValue<int>());
        Assert.Equal("shop", resolved["product"]!.GetValue<string>());
        Assert.Equal("app_a", resolved["app"]!.GetValue<string>());
        Assert.Equal("prd", resolved["env"]!.GetValue<string>());
        Assert.Equal("resolve", resolved["context"]!.GetValue<string>());
        Assert.Equal("bootstrap", resolved["actor"]!["name"]!.GetValue<string>());
        Assert.StartsWith("key_", resolved["actor"]!["key_id"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal("127.0.0.1", resolved["client"]!.GetValue<string>());
        var denied = items.Where(i => i!["action"]!.GetValue<string>() == "secret.denied").Reverse().ToArray();
        Assert.Equal("secret_scope_denied", denied[0]!["code"]!.GetValue<string>());
        Assert.Equal("resolve", denied[0]!["context"]!.GetValue<string>());
        Assert.Equal("check", denied[1]!["context"]!.GetValue<string>());
        Assert.Equal("$.y", denied[1]!["path"]!.GetValue<string>());

        var all = (await AuditAsync("?limit=1000")).ToJsonString();
        Assert.DoesNotContain("audited-value", all, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Action_runs_are_audited_with_their_context_and_key_changes_too()
    {
        await Owner.CreateSecretAsync(new { key = "ACTION_KEY", value = "action-value" });
        await Ok(await Owner.PostAsJsonAsync("/v1/apps", new { access_tag = "ctx_app", name = "Ctx", envs = AppEnvs(), actions = new[] { new { @event = "create_charge", method = "POST", path = "/c", headers = new Dictionary<string, string> { ["X-K"] = "$Token{ACTION_KEY}" } } } }));
        await Ok(await Owner.PostAsJsonAsync("/v1/products/shop/apps", new { access_tag = "ctx_app", envs = new[] { Mapping("prd") } }));
        await Ok(await RunAsync("ctx_app", "create_charge"));
        var created = await (await Owner.PostAsJsonAsync("/v1/keys", new { name = "ci", role = "viewer" })).ReadJsonAsync();
        await Owner.DeleteAsync($"/v1/keys/{created["id"]!.GetValue<string>()}");

        var resolved = Assert.Single((await AuditAsync("?action=secret.resolved&secret=ACTION_KEY"))["items"]!.AsArray())!;
        Assert.Equal("action:ctx_app.create_charge", resolved["context"]!.GetValue<string>());
        Assert.Equal("$.headers.X-K", resolved["path"]!.GetValue<string>());
        var keyEvents = (await AuditAsync())["items"]!.AsArray().Select(i => i!["action"]!.GetValue<string>()).ToArray();
        Assert.Contains("key.created", keyEvents);
        Assert.Contains("key.revoked", keyEvents);
        Assert.Contains("app.changed", keyEvents);
        Assert.Contains("product.changed", keyEvents);
    }

    [Fact]
    public async Task Audit_is_filtered_and_cursor_paged_newest_first()
    {
        for (var i = 0; i < 7; i++)
        {
            await Owner.CreateSecretAsync(new { key = $"PAGED_{i}", value = "v" });
        }

        var sequences = new List<long>();
        string? cursor = null;
        do
        {
            var page = await AuditAsync($"?action=secret.created&limit=3{(cursor is null ? "" : "&cursor=" + cursor)}");
            sequences.AddRange(page["items"]!.AsArray().Select(i => i!["sequence"]!.GetValue<long>()));
            cursor = page["next_cursor"]?.GetValue<string>();
        }
        while (cursor is not null);

        Assert.Equal(7, sequences.Count);
        Assert.Equal(sequences.OrderDescending(), sequences);

        var follow = (await AuditAsync("?limit=1"))["follow_cursor"]!.GetValue<string>();
        Assert.Empty((await AuditAsync($"?after={follow}"))["items"]!.AsArray());
        await Owner.CreateSecretAsync(new { key = "AFTER_FOLLOW", value = "v" });
        var newer = (await AuditAsync($"?after={follow}"))["items"]!.AsArray();
        Assert.Equal("AFTER_FOLLOW", Assert.Single(newer)!["secret"]!.GetValue<string>());

        var future = (await AuditAsync("?since=2999-01-01T00:00:00Z"))["items"]!.AsArray();
        Assert.Empty(future);
        Assert.NotEmpty((await AuditAsync("?until=2999-01-01T00:00:00Z"))["items"]!.AsArray());
        await (await Owner.GetAsync("/v1/audit?since=yesterday")).AssertProblemAsync(400, "validation_failed");
        await (await Owner.GetAsync("/v1/audit?limit=0")).AssertProblemAsync(400, "validation_failed");
        using var runtime = await Server.ClientWithRoleAsync("runtime");
        await (await runtime.GetAsync("/v1/audit")).AssertProblemAsync(403, "forbidden");
    }

    [Fact]
    public async Task Verify_reports_ok_then_the_first_edited_event()
    {
        await Owner.CreateSecretAsync(new { key = "CHAINED", value = "v" });
        await Owner.ResolveAsync(new { a = "$Token{CHAINED}" }, "app", "prd");
        await Owner.ResolveAsync(new { a = "$Token{CHAINED}" }, "app", "prd");
        var ok = await Ok(await Owner.GetAsync("/v1/audit/verify"));
        Assert.True(ok["ok"]!.GetValue<bool>());
        var total = ok["checked"]!.GetValue<long>();
        Assert.True(total >= 4);
        Assert.Null(ok["first_broken"]);

        var target = (await AuditAsync("?action=secret.resolved"))["items"]!.AsArray().Last()!;
        await using (var connection = new SqliteConnection($"Data Source={Path.Combine(Server.DataDirectory, "latch.db")};Pooling=False"))
        {
            await connection.OpenAsync();
            await using var command = connection.CreateCommand();
            command.CommandText = "UPDATE audit_events SET path = '$.elsewhere' WHERE id = $id";
            command.Parameters.AddWithValue("$id", target["id"]!.GetValue<string>());
            Assert.Equal(1, await command.ExecuteNonQueryAsync());
        }

        var broken = await Ok(await Owner.GetAsync("/v1/audit/verify"));
        Assert.False(broken["ok"]!.GetValue<bool>());
        Assert.Equal(target["id"]!.GetValue<string>(), broken["first_broken"]!["id"]!.GetValue<string>());
        Assert.Equal("secret.resolved", broken["first_broken"]!["action"]!.GetValue<string>());
    }

    [Fact]
    public async Task When_the_audit_log_cannot_be_written_resolutions_actions_and_reveals_are_refused_with_503()
    {
        await Owner.CreateSecretAsync(new { key = "GUARDED", value = "guarded-value" });
        await Owner.CreateSecretAsync(new { key = "HOOK_KEY", value = "hook-key-value" });
        await Ok(await Owner.PostAsJsonAsync("/v1/products/shop/webhooks", new { name = "H", tag = "gh", app = "guard_app", signing_secret = "$Token{HOOK_KEY}", scheme = "github" }));
        await Ok(await Owner.PostAsJsonAsync("/v1/apps", new { access_tag = "guard_app", name = "G", envs = AppEnvs(), actions = new[] { new { @event = "go", method = "POST", path = "/go", headers = new Dictionary<string, string> { ["X-K"] = "$Token{GUARDED}" } } } }));
        await Ok(await Owner.PostAsJsonAsync("/v1/products/shop/apps", new { access_tag = "guard_app", envs = new[] { Mapping("prd") } }));

        // Make the audit store fail the way a full disk or a broken table would: every insert is refused.
        await using (var connection = new SqliteConnection($"Data Source={Path.Combine(Server.DataDirectory, "latch.db")};Pooling=False"))
        {
            await connection.OpenAsync();
            await using var command = connection.CreateCommand();
            command.CommandText = "CREATE TRIGGER audit_broken BEFORE INSERT ON audit_events BEGIN SELECT RAISE(ABORT, 'audit store unavailable'); END;";
            await command.ExecuteNonQueryAsync();
        }

        var sent = Upstream.Received.Count;
        var resolve = await Owner.ResolveAsync(new { a = "$Token{GUARDED}" }, "guard_app", "prd");
        await resolve.AssertProblemAsync(503, "audit_unavailable");
        Assert.DoesNotContain("guarded-value", await resolve.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        var run = await RunAsync("guard_app", "go");
        await run.AssertProblemAsync(503, "audit_unavailable");
        Assert.Equal(sent, Upstream.Received.Count);

        var reveal = await Owner.GetAsync("/v1/secrets/GUARDED?reveal=true");
        await reveal.AssertProblemAsync(503, "audit_unavailable");
        Assert.DoesNotContain("guarded-value", await reveal.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        // A management change whose audit record cannot be written fails as a whole, and the log holds the exception's
        // type only, never its message.
        await (await Owner.PostAsJsonAsync("/v1/secrets", new { key = "NOT_STORED", value = "never-stored-value" })).AssertProblemAsync(500, "internal_error");
        await (await Owner.GetAsync("/v1/secrets/NOT_STORED")).AssertProblemAsync(404, "secret_not_found");
        Assert.Contains("SqliteException", Server.Logs.AllText, StringComparison.Ordinal);
        Assert.DoesNotContain("audit store unavailable", Server.Logs.AllText, StringComparison.Ordinal);

        // A webhook delivery cannot be verified without its record either: 503, so the sender retries later.
        var workspace = (await Ok(await Owner.GetAsync("/v1/workspace")))["id"]!.GetValue<string>();
        var body = "{\"event\":\"push\"}"u8.ToArray();
        var signature = Convert.ToHexStringLower(System.Security.Cryptography.HMACSHA256.HashData("hook-key-value"u8.ToArray(), body));
        using var delivery = new HttpRequestMessage(HttpMethod.Post, $"/hooks/{workspace}/shop/gh/prd") { Content = new ByteArrayContent(body) };
        delivery.Headers.Add("X-Hub-Signature-256", "sha256=" + signature);
        await (await Server.Client(null).SendAsync(delivery)).AssertProblemAsync(503, "audit_unavailable");

        // A failed resolution cannot be recorded either: still refused, never a 422 that went unrecorded.
        await (await Owner.ResolveAsync(new { a = "$Token{NOPE}" }, "guard_app", "prd")).AssertProblemAsync(503, "audit_unavailable");
        Assert.DoesNotContain("guarded-value", Server.Logs.AllText, StringComparison.Ordinal);

        await using (var connection = new SqliteConnection($"Data Source={Path.Combine(Server.DataDirectory, "latch.db")};Pooling=False"))
        {
            await connection.OpenAsync();
            await using var command = connection.CreateCommand();
            command.CommandText = "DROP TRIGGER audit_broken;";
            await command.ExecuteNonQueryAsync();
        }

        Assert.Equal(HttpStatusCode.OK, (await Owner.ResolveAsync(new { a = "$Token{GUARDED}" }, "guard_app", "prd")).StatusCode);
        Assert.True((await Ok(await Owner.GetAsync("/v1/audit/verify")))["ok"]!.GetValue<bool>());
    }

    [Fact]
    public async Task Concurrent_resolutions_each_wait_for_their_commit_and_all_are_recorded()
    {
        await Owner.CreateSecretAsync(new { key = "BUSY", value = "busy-value" });
        var responses = await Task.WhenAll(Enumerable.Range(0, 40).Select(i => Owner.ResolveAsync(new { a = "$Token{BUSY}", b = "$Token{BUSY}" }, "app", "prd")));
        Assert.All(responses, r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
        var events = (await AuditAsync("?action=secret.resolved&secret=BUSY&limit=1000"))["items"]!.AsArray();
        Assert.Equal(80, events.Count);
        Assert.Equal(40, events.Select(e => e!["request_id"]!.GetValue<string>()).Distinct().Count());
        Assert.True((await Ok(await Owner.GetAsync("/v1/audit/verify")))["ok"]!.GetValue<bool>());
    }
}

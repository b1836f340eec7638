using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using Latch.Core.Storage;
using Latch.Core.Storage.Sqlite;
using Latch.Server.Tests.Infrastructure;
using Latch.Server.Tests.Storage;
using Microsoft.Extensions.Time.Testing;

namespace Latch.Server.Tests.Security;

/// <summary>
/// SPEC §2/§6: a secret value never appears in an error, a log line or an audit record, and leaves only through the
/// responses meant to carry it (reveal, a successful resolution, the generated value on create).
/// </summary>
public sealed class NoLeakTests
{
    private sealed class Exchange(string label, string text)
    {
        public string Label { get; } = label;

        public string Text { get; } = text;

        /// <summary>The values this response is meant to carry.</summary>
        public HashSet<string> Allowed { get; } = new(StringComparer.Ordinal);
    }

    private sealed class Recorder
    {
        public List<Exchange> Exchanges { get; } = [];

        public async Task<(HttpStatusCode Status, JsonNode? Body, Exchange Exchange)> CallAsync(string label, Task<HttpResponseMessage> send, params string[] allowed)
        {
            using var response = await send;
            var body = await response.Content.ReadAsStringAsync();
            var text = new StringBuilder().Append((int)response.StatusCode).Append('\n');
            foreach (var header in response.Headers.Concat(response.Content.Headers))
            {
                text.Append(header.Key).Append(": ").Append(string.Join(", ", header.Value)).Append('\n');
            }

            text.Append('\n').Append(body);
            var exchange = new Exchange(label, text.ToString());
            exchange.Allowed.UnionWith(allowed);
            Exchanges.Add(exchange);
            JsonNode? json = null;
            if (body.Length > 0)
            {
                json = JsonNode.Parse(body);
            }

            return (response.StatusCode, json, exchange);
        }
    }

    [Fact]
    public async Task No_secret_value_leaks_into_responses_logs_or_the_audit_log_and_the_audit_chain_holds()
    {
        var time = new FakeTimeProvider(TimeProvider.System.GetUtcNow());
        var dir = TestServer.NewDataDirectory();
        var typed = SecretCalls.DistinctValue("typed");
        var rotated = SecretCalls.DistinctValue("rotated");
        var stale = SecretCalls.DistinctValue("stale");
        var scoped = SecretCalls.DistinctValue("scoped");
        var revoked = SecretCalls.DistinctValue("revoked");
        var expiring = SecretCalls.DistinctValue("expiring");
        var deleted = SecretCalls.DistinctValue("deleted");
        var conflicting = SecretCalls.DistinctValue("conflicting");
        var badKey = SecretCalls.DistinctValue("badkey");
        var badField = SecretCalls.DistinctValue("badfield");
        var badPatch = SecretCalls.DistinctValue("badpatch");
        var badJson = SecretCalls.DistinctValue("badjson");
        string generated;
        var rec = new Recorder();
        CapturingLoggerProvider logs;

        await using (var server = await TestServer.StartAsync(dir, time: time))
        {
            logs = server.Logs;
            var owner = server.Owner;
            using var viewer = await server.ClientWithRoleAsync("viewer");
            using var runtime = await server.ClientWithRoleAsync("runtime");

            // Create: typed values are not echoed; a generated value is returned once.
            var (status, body, _) = await rec.CallAsync("create typed", owner.PostAsJsonAsync("/v1/secrets", new { key = "DB_PASSWORD", value = typed, token_type = "password", description = "database" }));
            Assert.Equal(HttpStatusCode.Created, status);
            Assert.Null(body!["value"]);
            (status, body, var generatedExchange) = await rec.CallAsync("create generated", owner.PostAsJsonAsync("/v1/secrets", new { key = "GEN_TOKEN" }));
            Assert.Equal(HttpStatusCode.Created, status);
            generated = body!["value"]!.GetValue<string>();
            Assert.Equal(64, generated.Length);
            generatedExchange.Allowed.Add(generated);
            await CreateAsync(rec, owner, new { key = "SCOPED", value = scoped, scope = new[] { "billing_app" }, envs = new[] { "prd" } });
            await CreateAsync(rec, owner, new { key = "REVOKED_KEY", value = revoked });
            await CreateAsync(rec, owner, new { key = "EXPIRING", value = expiring, expires_at = time.GetUtcNow().ToUnixTimeSeconds() + 60 });
            await CreateAsync(rec, owner, new { key = "DELETE_ME", value = deleted });
            Assert.Equal(HttpStatusCode.OK, (await rec.CallAsync("revoke", owner.PostAsync("/v1/secrets/REVOKED_KEY/revoke", null))).Status);
            time.Advance(TimeSpan.FromMinutes(2));

            // Refused changes that carry values.
            Assert.Equal(HttpStatusCode.Conflict, (await rec.CallAsync("duplicate key", owner.PostAsJsonAsync("/v1/secrets", new { key = "DB_PASSWORD", value = conflicting }))).Status);
            Assert.Equal(HttpStatusCode.BadRequest, (await rec.CallAsync("invalid key", owner.PostAsJsonAsync("/v1/secrets", new { key = "NOT VALID", value = badKey }))).Status);
            Assert.Equal(HttpStatusCode.BadRequest, (await rec.CallAsync("unknown field", owner.PostAsJsonAsync("/v1/secrets", new { key = "NEW_ONE", value = badField, colour = "blue" }))).Status);
            Assert.Equal(HttpStatusCode.BadRequest, (await rec.CallAsync("bad patch", owner.PatchJsonAsync("/v1/secrets/DB_PASSWORD", new { value = badPatch, expires_at = "soon" }))).Status);
            Assert.Equal(HttpStatusCode.BadRequest, (await rec.CallAsync("truncated json", owner.PostJsonAsync("/v1/secrets", $$"""{"key":"NEW_ONE","value":"{{badJson}}"""))).Status);

            // Reading metadata.
            Assert.Equal(HttpStatusCode.OK, (await rec.CallAsync("list", owner.GetAsync("/v1/secrets"))).Status);
            Assert.Equal(HttpStatusCode.OK, (await rec.CallAsync("list filtered", owner.GetAsync("/v1/secrets?app=billing_app&env=prd"))).Status);
            Assert.Equal(HttpStatusCode.OK, (await rec.CallAsync("list revoked", owner.GetAsync("/v1/secrets?status=revoked"))).Status);
            Assert.Equal(HttpStatusCode.OK, (await rec.CallAsync("viewer list", viewer.GetAsync("/v1/secrets"))).Status);
            foreach (var key in new[] { "DB_PASSWORD", "GEN_TOKEN", "SCOPED", "REVOKED_KEY", "EXPIRING" })
            {
                (status, body, _) = await rec.CallAsync($"fetch {key}", owner.GetAsync($"/v1/secrets/{key}"));
                Assert.Equal(HttpStatusCode.OK, status);
                Assert.Null(body!["value"]);
                Assert.Equal(HttpStatusCode.OK, (await rec.CallAsync($"head {key}", owner.SendAsync(new HttpRequestMessage(HttpMethod.Head, $"/v1/secrets/{key}")))).Status);
                Assert.Equal(HttpStatusCode.OK, (await rec.CallAsync($"versions {key}", owner.GetAsync($"/v1/secrets/{key}/versions"))).Status);
                Assert.Equal(HttpStatusCode.OK, (await rec.CallAsync($"viewer fetch {key}", viewer.GetAsync($"/v1/secrets/{key}"))).Status);
            }

            Assert.Equal(HttpStatusCode.Forbidden, (await rec.CallAsync("viewer reveal", viewer.GetAsync("/v1/secrets/DB_PASSWORD?reveal=true"))).Status);
            Assert.Equal(HttpStatusCode.Forbidden, (await rec.CallAsync("runtime reveal", runtime.GetAsync("/v1/secrets/DB_PASSWORD?reveal=true"))).Status);
            Assert.Equal(HttpStatusCode.OK, (await rec.CallAsync("reveal false", owner.GetAsync("/v1/secrets/DB_PASSWORD?reveal=false"))).Status);

            // Reveal (meant to carry the value).
            (status, body, _) = await rec.CallAsync("reveal v1", owner.GetAsync("/v1/secrets/DB_PASSWORD?reveal=true"), typed);
            Assert.Equal(HttpStatusCode.OK, status);
            Assert.Equal(typed, body!["value"]!.GetValue<string>());
            (status, body, _) = await rec.CallAsync("reveal generated", owner.GetAsync("/v1/secrets/GEN_TOKEN?reveal=true"), generated);
            Assert.Equal(generated, body!["value"]!.GetValue<string>());

            // Rotate, a stale rotation, rollback.
            (status, body, _) = await rec.CallAsync("rotate", owner.PatchJsonAsync("/v1/secrets/DB_PASSWORD", new { value = rotated }, "\"1\""));
            Assert.Equal(HttpStatusCode.OK, status);
            Assert.Equal(2, body!["version"]!.GetValue<int>());
            Assert.Equal(HttpStatusCode.PreconditionFailed, (await rec.CallAsync("stale rotate", owner.PatchJsonAsync("/v1/secrets/DB_PASSWORD", new { value = stale }, "\"1\""))).Status);
            (status, body, _) = await rec.CallAsync("reveal v2", owner.GetAsync("/v1/secrets/DB_PASSWORD?reveal=true"), rotated);
            Assert.Equal(rotated, body!["value"]!.GetValue<string>());
            (status, body, _) = await rec.CallAsync("rollback", owner.PostAsJsonAsync("/v1/secrets/DB_PASSWORD/rollback", new { version = 1 }));
            Assert.Equal(HttpStatusCode.OK, status);
            Assert.Equal(3, body!["version"]!.GetValue<int>());
            Assert.Equal(HttpStatusCode.OK, (await rec.CallAsync("versions after rollback", owner.GetAsync("/v1/secrets/DB_PASSWORD/versions"))).Status);
            Assert.Equal(HttpStatusCode.OK, (await rec.CallAsync("description only", owner.PatchJsonAsync("/v1/secrets/DB_PASSWORD", new { description = "rolled back" }))).Status);

            // Resolve: success (meant to carry values) and every failure.
            var good = new { db = "$Token{DB_PASSWORD}", auth = "Bearer $Token{GEN_TOKEN}", nested = new[] { new { s = "$Token{SCOPED}" } } };
            (status, body, _) = await rec.CallAsync("resolve", owner.ResolveAsync(good, "billing_app", "prd"), typed, generated, scoped);
            Assert.Equal(HttpStatusCode.OK, status);
            Assert.Equal(typed, body!["document"]!["db"]!.GetValue<string>());
            Assert.Equal($"Bearer {generated}", body["document"]!["auth"]!.GetValue<string>());
            Assert.Equal(scoped, body["document"]!["nested"]![0]!["s"]!.GetValue<string>());
            (status, _, _) = await rec.CallAsync("runtime resolve", runtime.ResolveAsync(new { db = "$Token{DB_PASSWORD}" }, "billing_app", "prd"), typed);
            Assert.Equal(HttpStatusCode.OK, status);

            await ResolveFailsAsync(rec, owner, "not found", new { a = "$Token{MISSING}" }, "billing_app", "prd", "secret_not_found");
            await ResolveFailsAsync(rec, owner, "revoked", new { a = "$Token{REVOKED_KEY}" }, "billing_app", "prd", "secret_revoked");
            await ResolveFailsAsync(rec, owner, "scope", new { a = "$Token{SCOPED}" }, "other_app", "prd", "secret_scope_denied");
            await ResolveFailsAsync(rec, owner, "env", new { a = "$Token{SCOPED}" }, "billing_app", "dev", "secret_env_denied");
            await ResolveFailsAsync(rec, owner, "expired", new { a = "$Token{EXPIRING}" }, "billing_app", "prd", "secret_expired");
            await ResolveFailsAsync(rec, owner, "malformed", new { a = "$Token{DB_PASSWORD" }, "billing_app", "prd", "malformed_reference");
            await ResolveFailsAsync(rec, owner, "all or nothing", new { good = "$Token{DB_PASSWORD}", gen = "$Token{GEN_TOKEN}", bad = "$Token{MISSING}" }, "billing_app", "prd", "secret_not_found");
            await ResolveFailsAsync(rec, owner, "several failures", new { a = "$Token{DB_PASSWORD}", b = "$Token{REVOKED_KEY}", c = "$Token{EXPIRING}", d = "$Token{MISSING}" }, "billing_app", "prd", "resolution_failed");
            var bound = await server.ClientWithRoleAsync("runtime", apps: ["billing_app"], envs: ["prd"]);
            using (bound)
            {
                Assert.Equal(HttpStatusCode.Forbidden, (await rec.CallAsync("bound key other env", bound.ResolveAsync(new { a = "$Token{DB_PASSWORD}" }, "billing_app", "dev"))).Status);
            }

            // Check and validate: dry runs, never a value.
            (status, body, _) = await rec.CallAsync("check", owner.PostAsJsonAsync("/v1/secrets/check", new
            {
                document = new { db = "$Token{DB_PASSWORD}", gen = "$Token{GEN_TOKEN}", s = "$Token{SCOPED}", r = "$Token{REVOKED_KEY}", m = "$Token{MISSING}", x = "$Token{bad" },
                app = "billing_app",
                env = "prd",
            }));
            Assert.Equal(HttpStatusCode.OK, status);
            Assert.Equal(6, body!["references"]!.AsArray().Count);
            Assert.Equal(HttpStatusCode.OK, (await rec.CallAsync("runtime check", runtime.PostAsJsonAsync("/v1/secrets/check", new { document = new { db = "$Token{DB_PASSWORD}" }, app = "billing_app", env = "prd" }))).Status);
            Assert.Equal(HttpStatusCode.OK, (await rec.CallAsync("validate", owner.PostAsJsonAsync("/v1/secrets/validate", new { value = new { a = "$Token{DB_PASSWORD}", b = "x $Token{GEN_TOKEN", c = new[] { "$$Token{SCOPED}" } } }))).Status);

            // Delete.
            Assert.Equal(HttpStatusCode.NoContent, (await rec.CallAsync("delete", owner.DeleteAsync("/v1/secrets/DELETE_ME"))).Status);
            Assert.Equal(HttpStatusCode.NotFound, (await rec.CallAsync("fetch deleted", owner.GetAsync("/v1/secrets/DELETE_ME"))).Status);
            Assert.Equal(HttpStatusCode.NotFound, (await rec.CallAsync("reveal deleted", owner.GetAsync("/v1/secrets/DELETE_ME?reveal=true"))).Status);
            await ResolveFailsAsync(rec, owner, "deleted", new { a = "$Token{DELETE_ME}" }, "billing_app", "prd", "secret_not_found");
        }

        string[] values = [typed, rotated, stale, scoped, revoked, expiring, deleted, conflicting, badKey, badField, badPatch, badJson, generated];

        // Responses: only those meant to carry a value carry it, and only that one.
        Assert.Contains(rec.Exchanges, e => e.Allowed.Count > 0 && e.Text.Contains(typed, StringComparison.Ordinal));
        foreach (var exchange in rec.Exchanges)
        {
            foreach (var value in values.Where(v => !exchange.Allowed.Contains(v)))
            {
                foreach (var (form, needle) in Forms(value))
                {
                    Assert.False(exchange.Text.Contains(needle, StringComparison.Ordinal), $"response '{exchange.Label}' carries a value ({form}):\n{exchange.Text}");
                }
            }
        }

        // Logs.
        var logText = logs.AllText;
        Assert.Contains("/v1/secrets/DB_PASSWORD", logText, StringComparison.Ordinal); // control: request logging is captured
        foreach (var value in values)
        {
            foreach (var (form, needle) in Forms(value))
            {
                Assert.False(logText.Contains(needle, StringComparison.Ordinal), $"a log line carries a value ({form})");
            }
        }

        // The audit log: no values, the expected actions, an intact hash chain.
        DataFiles.SettleAfterStop(dir);
        var events = await ReadAuditAsync(dir);
        var auditText = string.Join("\n", events.Select(e => string.Join("|", e.Id, e.Action, e.ActorKeyId, e.ActorName, e.RequestId, e.Client, e.SecretKey, e.Product, e.App, e.Env, e.Context, e.Path, e.Code, e.Detail)))
            + "\n" + DataFiles.AllAuditText(dir); // and every stored column, compact rows' references included
        foreach (var value in values)
        {
            foreach (var (form, needle) in Forms(value))
            {
                Assert.False(auditText.Contains(needle, StringComparison.Ordinal), $"the audit log carries a value ({form})");
            }
        }

        var actions = events.Select(e => e.Action).ToHashSet(StringComparer.Ordinal);
        foreach (var expected in new[] { "secret.created", "secret.updated", "secret.revealed", "secret.resolved", "secret.denied", "secret.deleted", "secret.revoked", "secret.rolled_back" })
        {
            Assert.Contains(expected, actions);
        }

        Assert.Contains(events, e => e is { Action: "secret.resolved", SecretKey: "DB_PASSWORD", Version: 3, Path: "$.db", App: "billing_app", Env: "prd" });
        Assert.Contains(events, e => e is { Action: "secret.resolved", SecretKey: "SCOPED", Path: "$.nested[0].s" });
        Assert.Contains(events, e => e is { Action: "secret.revealed", SecretKey: "DB_PASSWORD", Version: 2 });
        Assert.Contains(events, e => e is { Action: "secret.deleted", SecretKey: "DELETE_ME" });
        var denials = events.Where(e => e.Action == "secret.denied").Select(e => e.Code).ToHashSet(StringComparer.Ordinal);
        foreach (var code in new[] { "secret_not_found", "secret_revoked", "secret_scope_denied", "secret_env_denied", "secret_expired", "malformed_reference" })
        {
            Assert.Contains(code, denials);
        }

        AssertChain(events);
    }

    [Fact]
    public async Task Editing_a_stored_audit_event_breaks_the_recomputed_hash_chain()
    {
        var dir = TestServer.NewDataDirectory();
        await using (var server = await TestServer.StartAsync(dir))
        {
            await server.Owner.CreateSecretAsync(new { key = "CHAINED", value = "chained-value" });
            Assert.Equal("chained-value", await server.Owner.ResolveValueAsync("CHAINED"));
        }

        DataFiles.SettleAfterStop(dir);
        var events = await ReadAuditAsync(dir);
        AssertChain(events);

        using (var db = DataFiles.Open(dir))
        {
            Assert.Equal(1, DataFiles.Execute(db, "UPDATE audit_events SET app = 'someone_else' WHERE action = 'secret.resolved'"));
        }

        var tampered = await ReadAuditAsync(dir);
        Assert.Contains(tampered, e => AuditChain.Compute(e) != e.Hash);
    }

    private static async Task CreateAsync(Recorder rec, HttpClient owner, object body)
    {
        var (status, json, _) = await rec.CallAsync("create", owner.PostAsJsonAsync("/v1/secrets", body));
        Assert.True(status == HttpStatusCode.Created, json?.ToJsonString());
        Assert.Null(json!["value"]);
    }

    private static async Task ResolveFailsAsync(Recorder rec, HttpClient client, string label, object document, string app, string env, string code)
    {
        var (status, body, exchange) = await rec.CallAsync($"resolve {label}", client.ResolveAsync(document, app, env));
        Assert.True(status == (HttpStatusCode)422, $"resolve {label}: {exchange.Text}");
        Assert.Equal(code, body!["code"]!.GetValue<string>());
        Assert.Null(body["document"]);
        Assert.NotEmpty(body["errors"]!.AsArray());
    }

    private static IEnumerable<(string Form, string Needle)> Forms(string value)
    {
        yield return ("plain", value);
        yield return ("base64", Convert.ToBase64String(Encoding.UTF8.GetBytes(value)));
        yield return ("url-encoded", Uri.EscapeDataString(value));
        yield return ("tail", value[^20..]);
    }

    /// <summary>
    /// Every audit event of every workspace, read through a store opened for inspection: on disk a resolution's events
    /// share one row, which the store expands (recomputing the links inside the row from its two stored ends), so an
    /// edited row still fails <see cref="AssertChain"/> at its last link.
    /// </summary>
    private static async Task<List<AuditEvent>> ReadAuditAsync(string dir)
    {
        var workspaces = new List<string>();
        using (var db = DataFiles.Open(dir))
        using (var command = db.CreateCommand())
        {
            command.CommandText = "SELECT DISTINCT workspace_id FROM audit_events ORDER BY workspace_id";
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                workspaces.Add(reader.GetString(0));
            }
        }

        var events = new List<AuditEvent>();
        await using var store = SqliteStore.OpenForInspection(dir);
        foreach (var workspace in workspaces)
        {
            await foreach (var e in store.ReadAuditChainAsync(workspace, CancellationToken.None))
            {
                events.Add(e);
            }
        }

        Assert.NotEmpty(events);
        return events;
    }

    private static void AssertChain(IReadOnlyList<AuditEvent> events)
    {
        foreach (var workspace in events.GroupBy(e => e.WorkspaceId, StringComparer.Ordinal))
        {
            var previous = AuditChain.Genesis;
            var index = 0;
            foreach (var e in workspace)
            {
                Assert.True(e.PrevHash == previous, $"event {index} ({e.Action}) of {workspace.Key} does not link to the previous hash");
                Assert.True(AuditChain.Compute(e) == e.Hash, $"event {index} ({e.Action}, {e.At.ToString("O", CultureInfo.InvariantCulture)}) of {workspace.Key} has a hash that does not match its fields");
                previous = e.Hash;
                index++;
            }
        }
    }
}

using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using Latch.Server.Tests.Infrastructure;
using Latch.Server.Tests.Storage;
using Latch.Server.Tests.Webhooks;

namespace Latch.Server.Tests.Security;

/// <summary>
/// One server, one echo upstream and a small world (secrets, an app, a product, a product app, two webhooks, one accepted
/// delivery of each) shared by every row of the hostile-input catalogue.
/// </summary>
public sealed class HostileInputFixture : IAsyncLifetime
{
    public const string ApiToken = "tok_live_catalogue_0123456789";
    public const string CrLfToken = "evil\r\nX-Injected: yes";
    public const string LfToken = "evil\nX-Injected: yes";
    public const string CrToken = "evil\rX-Injected: yes";
    public const string HookSecret = "gh-catalogue-signing-secret-0123456789";
    public const string GitHubBody = """{"action":"opened","number":1}""";
    public const string StandardBody = """{"type":"invoice.paid","id":"inv_1"}""";
    public const string StandardId = "msg_catalogue_1";

    public TestServer Server { get; private set; } = null!;

    public EchoUpstream Upstream { get; private set; } = null!;

    public string WorkspaceId { get; private set; } = "";

    public string StandardSecret { get; } = WebhookCalls.NewStandardSecret();

    public string GitHubDeliveryId { get; } = Guid.NewGuid().ToString();

    public long StandardTimestamp { get; private set; }

    /// <summary>Every secret value of the fixture: no response or failure message may contain one.</summary>
    public IReadOnlyList<string> Values => [ExistingValue, ApiToken, CrLfToken, LfToken, CrToken, HookSecret, StandardSecret];

    public const string ExistingValue = "existing-value-untouched-catalogue";

    public HttpClient Owner => Server.Owner;

    public string HookUrl(string tag, string env = "prd") => $"/hooks/{WorkspaceId}/shop/{tag}/{env}";

    public async Task InitializeAsync()
    {
        Upstream = await EchoUpstream.StartAsync();
        Server = await TestServer.StartAsync();
        WorkspaceId = await Owner.WorkspaceIdAsync();

        await Owner.CreateSecretAsync(new { key = "EXISTING", value = ExistingValue, description = "kept", envs = new[] { "dev", "prd" } });
        await Owner.CreateSecretAsync(new { key = "PATCHED", value = ExistingValue, description = "target of the PATCH rows" });
        await Owner.CreateSecretAsync(new { key = "API_TOKEN", value = ApiToken });
        await Owner.CreateSecretAsync(new { key = "CRLF_TOKEN", value = CrLfToken });
        await Owner.CreateSecretAsync(new { key = "LF_TOKEN", value = LfToken });
        await Owner.CreateSecretAsync(new { key = "CR_TOKEN", value = CrToken });
        await Owner.CreateSecretAsync(new { key = "HOOK_SECRET", value = HookSecret });
        await Owner.CreateSecretAsync(new { key = "STD_SECRET", value = StandardSecret });

        var bearer = new Dictionary<string, string> { ["Authorization"] = "Bearer $Auth{token}" };
        await Created(await Owner.PostAsJsonAsync("/v1/apps", new
        {
            access_tag = "api_app",
            name = "API",
            envs = new[] { new { slug = "live", base_url = Upstream.BaseUrl } },
            auths = new[]
            {
                new { tag = "bearer", headers = bearer },
                new { tag = "crlf", headers = bearer },
                new { tag = "lf", headers = bearer },
                new { tag = "cr", headers = bearer },
            },
            actions = new object[]
            {
                new { @event = "get_customer", method = "GET", path = "/v1/customers/{id}" },
                new { @event = "post_echo", method = "POST", path = "/echo" },
            },
        }));
        await Created(await Owner.PostAsJsonAsync("/v1/products", new
        {
            tag = "shop",
            name = "Shop",
            envs = new[] { new { slug = "prd", env_name = "Production", active = true } },
        }));
        await Created(await Owner.PostAsJsonAsync("/v1/products/shop/apps", new
        {
            access_tag = "api_app",
            envs = new[]
            {
                new
                {
                    app_env_slug = "live",
                    product_env_slug = "prd",
                    variables = Array.Empty<object>(),
                    auth = new[]
                    {
                        new { auth_tag = "bearer", data = new { token = "$Token{API_TOKEN}" } },
                        new { auth_tag = "crlf", data = new { token = "$Token{CRLF_TOKEN}" } },
                        new { auth_tag = "lf", data = new { token = "$Token{LF_TOKEN}" } },
                        new { auth_tag = "cr", data = new { token = "$Token{CR_TOKEN}" } },
                    },
                },
            },
        }));
        await Owner.CreateWebhookAsync("shop", new { name = "GitHub", tag = "gh", app = "api_app", signing_secret = "$Token{HOOK_SECRET}", scheme = "github" });
        await Owner.CreateWebhookAsync("shop", new { name = "Standard", tag = "std", app = "api_app", signing_secret = "$Token{STD_SECRET}", scheme = "standard", tolerance_seconds = 3600 });

        // One accepted delivery of each, for the replay rows to send again.
        using (var first = await SendGitHubOriginalAsync())
        {
            Assert.Equal(HttpStatusCode.NoContent, first.StatusCode);
        }

        StandardTimestamp = TimeProvider.System.GetUtcNow().ToUnixTimeSeconds();
        using (var second = await SendStandardAsync(StandardId, StandardTimestamp))
        {
            Assert.Equal(HttpStatusCode.NoContent, second.StatusCode);
        }
    }

    /// <summary>The original GitHub delivery, byte for byte (sending it again is a replay).</summary>
    public Task<HttpResponseMessage> SendGitHubOriginalAsync()
    {
        var body = Encoding.UTF8.GetBytes(GitHubBody);
        return Server.DeliverAsync(HookUrl("gh"), body,
            ("X-Hub-Signature-256", WebhookCalls.GitHub(HookSecret, body)), ("X-GitHub-Delivery", GitHubDeliveryId), ("X-GitHub-Event", "issues"));
    }

    /// <summary>A correctly signed Standard Webhooks delivery with the given id and timestamp.</summary>
    public Task<HttpResponseMessage> SendStandardAsync(string id, long timestamp, string body = StandardBody)
    {
        var bytes = Encoding.UTF8.GetBytes(body);
        return Server.DeliverAsync(HookUrl("std"), bytes,
            ("webhook-id", id), ("webhook-timestamp", timestamp.ToString(CultureInfo.InvariantCulture)),
            ("webhook-signature", WebhookCalls.Standard(StandardSecret, id, timestamp, bytes)));
    }

    public async Task DisposeAsync()
    {
        await Server.DisposeAsync();
        await Upstream.DisposeAsync();
    }

    private static async Task Created(HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True((int)response.StatusCode == 201, $"setup failed: {(int)response.StatusCode} {text}");
    }
}

/// <summary>
/// Issue 9 item 4: a catalogue of hostile requests across every body-taking route family — malformed and truncated JSON,
/// wrong types, huge strings and arrays, deep nesting, control characters and Unicode tricks (bidi overrides, zero-width
/// joiners, homoglyphs, NFD, fullwidth forms, NUL, lone surrogates) in keys and tags, CR/LF in values bound for headers,
/// path and host tricks, SQL meta-characters, duplicate properties, oversized and replayed webhook deliveries. Every row
/// must be a 4xx <c>application/problem+json</c> with a <c>code</c>; nothing may be stored (a fingerprint of every table,
/// and of the data-changing audit events, is identical before and after); the upstream receives nothing; the server is
/// healthy afterwards and a normal request still works. <see cref="BadInputTests"/> covers the secrets routes' basic cases;
/// this catalogue does not repeat them.
/// </summary>
public sealed class HostileInputCatalogueTests(HostileInputFixture fixture) : IClassFixture<HostileInputFixture>
{
    private const string Json = "application/json";
    private const string Drop = "'; DROP TABLE secrets;--";
    private const string Rlo = "\u202E";       // RIGHT-TO-LEFT OVERRIDE
    private const string Zwj = "\u200D";       // ZERO WIDTH JOINER
    private const string Zwsp = "\u200B";      // ZERO WIDTH SPACE
    private const string CyrillicA = "\u0430"; // looks like Latin 'a'

    /// <summary>Data-changing audit actions are everything except reads, resolutions and rejections.</summary>
    private static readonly string[] ReadOnlyAuditActions = ["secret.resolved", "secret.denied", "secret.revealed", "webhook.rejected"];

    private sealed record Row(int Status, string Code, Func<HostileInputFixture, Task<HttpResponseMessage>> Send);

    private static readonly Dictionary<string, Row> Catalogue = new(StringComparer.Ordinal)
    {
        // ---- secrets: Unicode tricks and control characters in keys and tags (BadInputTests has the basic key rules) ----
        ["secrets: key with a bidi override U+202E"] = Post("/v1/secrets", $$"""{"key":"NEW{{Rlo}}_A","value":"x"}""", 400, "validation_failed"),
        ["secrets: key with a Cyrillic homoglyph 'а'"] = Post("/v1/secrets", $$"""{"key":"NEW_{{CyrillicA}}","value":"x"}""", 400, "validation_failed"),
        ["secrets: key with a zero-width joiner"] = Post("/v1/secrets", $$"""{"key":"NEW{{Zwj}}A","value":"x"}""", 400, "validation_failed"),
        ["secrets: key in fullwidth forms"] = Post("/v1/secrets", """{"key":"ＮＥＷ＿Ａ","value":"x"}""", 400, "validation_failed"),
        ["secrets: key with a trailing newline"] = Post("/v1/secrets", """{"key":"NEW_A\n","value":"x"}""", 400, "validation_failed"),
        ["secrets: key with an escaped NUL"] = Post("/v1/secrets", """{"key":"NEW_A\u0000","value":"x"}""", 400, "validation_failed"),
        ["secrets: key that is SQL"] = Post("/v1/secrets", $$"""{"key":"{{Drop}}","value":"x"}""", 400, "validation_failed"),
        ["secrets: scope tag with a trailing newline"] = Post("/v1/secrets", """{"key":"NEW_A","value":"x","scope":["billing\n"]}""", 400, "validation_failed"),
        ["secrets: scope tag with a trailing CR LF"] = Post("/v1/secrets", """{"key":"NEW_A","value":"x","scope":["billing\r\n"]}""", 400, "validation_failed"),
        ["secrets: scope tag NFC 'café'"] = Post("/v1/secrets", """{"key":"NEW_A","value":"x","scope":["caf\u00e9"]}""", 400, "validation_failed"),
        ["secrets: scope tag NFD 'café'"] = Post("/v1/secrets", """{"key":"NEW_A","value":"x","scope":["cafe\u0301"]}""", 400, "validation_failed"),
        ["secrets: scope product:app with a homoglyph"] = Post("/v1/secrets", $$"""{"key":"NEW_A","value":"x","scope":["shop:{{CyrillicA}}pi_app"]}""", 400, "validation_failed"),
        ["secrets: envs tag with a zero-width space"] = Post("/v1/secrets", $$"""{"key":"NEW_A","value":"x","envs":["prd{{Zwsp}}"]}""", 400, "validation_failed"),
        ["secrets: envs tag with a trailing newline"] = Post("/v1/secrets", """{"key":"NEW_A","value":"x","envs":["prd\n"]}""", 400, "validation_failed"),
        ["secrets: envs tag with NUL"] = Post("/v1/secrets", """{"key":"NEW_A","value":"x","envs":["p\u0000rd"]}""", 400, "validation_failed"),
        ["secrets: property name that is a lone surrogate"] = Post("/v1/secrets", """{"key":"NEW_A","value":"x","\uD800":1}""", 400, "validation_failed"),
        ["secrets: scope with 10,000 items"] = Post("/v1/secrets", $$"""{"key":"NEW_A","value":"x","scope":[{{string.Join(",", Enumerable.Repeat("\"a\"", 10_000))}}]}""", 400, "validation_failed"),
        ["secrets: a string just under the body limit"] = Post("/v1/secrets", $$"""{"key":"NEW_A","value":"x","scope":["{{new string('s', (1024 * 1024) - 100)}}"]}""", 400, "validation_failed"),
        ["secrets: PATCH scope with a bidi override"] = Patch("/v1/secrets/PATCHED", $$"""{"scope":["bill{{Rlo}}ing"]}""", 400, "validation_failed"),
        ["secrets: PATCH envs with a trailing newline"] = Patch("/v1/secrets/PATCHED", """{"envs":["dev\n"]}""", 400, "validation_failed"),
        ["secrets: PATCH revoked given twice"] = Patch("/v1/secrets/PATCHED", """{"revoked":false,"revoked":true}""", 400, "invalid_json"),
        ["secrets: rollback to a version beyond Int64"] = Post("/v1/secrets/EXISTING/rollback", """{"version":1e309}""", 400, "validation_failed"),
        ["secrets: rollback of a key that is a path traversal"] = Post("/v1/secrets/..%2f..%2fkeys/rollback", """{"version":1}""", 404, "secret_not_found"),
        ["secrets: list filtered by an app that is SQL"] = Get("/v1/secrets?app=" + Uri.EscapeDataString(Drop), 400, "validation_failed"),
        ["secrets: list filtered by env '%'"] = Get("/v1/secrets?env=%25", 400, "validation_failed"),
        ["secrets: list filtered by an env with a trailing newline"] = Get("/v1/secrets?env=prd%0A", 400, "validation_failed"),
        ["secrets: list filtered by an app with a trailing newline"] = Get("/v1/secrets?app=api_app%0A", 400, "validation_failed"),
        ["audit: filtered by a secret with a trailing newline"] = Get("/v1/audit?secret=EXISTING%0A", 400, "validation_failed"),
        ["audit: filtered by an app that is SQL"] = Get("/v1/audit?app=" + Uri.EscapeDataString("' OR '1'='1"), 400, "validation_failed"),
        ["audit: filtered by secret '%'"] = Get("/v1/audit?secret=%25", 400, "validation_failed"),
        ["secrets: list with a search over 100 characters"] = Get("/v1/secrets?q=" + new string('%', 101).Replace("%", "%25", StringComparison.Ordinal), 400, "validation_failed"),

        // ---- resolve / check / validate ----
        ["resolve: truncated JSON"] = Post("/v1/secrets/resolve", """{"document":{"a":"$Token{EXISTING}"},"app":"x","env":"d""", 400, "invalid_json"),
        ["resolve: document over the limit, sent chunked"] = Oversized("/v1/secrets/resolve", """{"app":"api_app","env":"dev","document":{"a":"{0}"}}""", chunked: true),
        ["resolve: app as a number"] = Post("/v1/secrets/resolve", """{"document":{"a":"$Token{EXISTING}"},"app":7,"env":"dev"}""", 400, "validation_failed"),
        ["resolve: app given twice"] = Post("/v1/secrets/resolve", """{"document":{},"app":"api_app","app":"other","env":"dev"}""", 400, "invalid_json"),
        ["resolve: env with a trailing newline"] = Post("/v1/secrets/resolve", """{"document":{"a":"$Token{EXISTING}"},"app":"api_app","env":"dev\n"}""", 400, "validation_failed"),
        ["resolve: document nested 65 levels deep"] = Post("/v1/secrets/resolve", $$"""{"app":"api_app","env":"dev","document":{{Nested(65)}}}""", 400, "invalid_json"),
        ["check: truncated JSON"] = Post("/v1/secrets/check", """{"document":{"a":"$Token{EXISTING}"},"app":""", 400, "invalid_json"),
        ["check: app with a bidi override"] = Post("/v1/secrets/check", $$"""{"document":{"a":"$Token{EXISTING}"},"app":"api{{Rlo}}_app","env":"dev"}""", 400, "validation_failed"),
        ["check: product that is SQL"] = Post("/v1/secrets/check", $$"""{"document":{"a":"$Token{EXISTING}"},"app":"api_app","env":"dev","product":"{{Drop}}"}""", 400, "validation_failed"),
        ["validate: value nested 65 levels deep"] = Post("/v1/secrets/validate", $$"""{"value":{{Nested(65)}}}""", 400, "invalid_json"),
        ["resolve: document with a lone-surrogate property name"] = Post("/v1/secrets/resolve", """{"document":{"\uD800":"$Token{EXISTING}"},"app":"api_app","env":"dev"}""", 400, "validation_failed"),
        ["resolve: document with a lone-surrogate string"] = Post("/v1/secrets/resolve", """{"document":{"a":"$Token{EXISTING}\uDC00"},"app":"api_app","env":"dev"}""", 400, "validation_failed"),
        ["check: document with a lone-surrogate property name deep inside"] = Post("/v1/secrets/check", """{"document":{"a":[{"b":{"\uDBFF":"x"}}]},"app":"api_app","env":"dev"}""", 400, "validation_failed"),
        ["validate: value with a lone-surrogate string"] = Post("/v1/secrets/validate", """{"value":["$Token{EXISTING}","\uD800"]}""", 400, "validation_failed"),
        ["validate: single-quoted JSON"] = Post("/v1/secrets/validate", """{'value':'$Token{EXISTING}'}""", 400, "invalid_json"),
        ["validate: missing value"] = Post("/v1/secrets/validate", """{"values":"$Token{EXISTING}"}""", 400, "validation_failed"),

        // ---- apps ----
        ["apps: truncated JSON"] = Post("/v1/apps", """{"access_tag":"new_app","name":"N","envs":[{"slug":"li""", 400, "invalid_json"),
        ["apps: envs as a string"] = Post("/v1/apps", """{"access_tag":"new_app","name":"N","envs":"live"}""", 400, "validation_failed"),
        ["apps: 500,000-item envs array under the body limit"] = Post("/v1/apps", $$"""{"access_tag":"new_app","name":"N","envs":[{{string.Join(",", Enumerable.Repeat("0", 500_000))}}]}""", 400, "validation_failed"),
        ["apps: auth header named Host"] = Post("/v1/apps", NewApp(authHeaderName: "Host", authHeader: "evil.example"), 400, "validation_failed"),
        ["apps: auth header named Transfer-Encoding"] = Post("/v1/apps", NewApp(authHeaderName: "Transfer-Encoding", authHeader: "chunked"), 400, "validation_failed"),
        ["apps: access_tag with a trailing newline"] = Post("/v1/apps", NewApp(tag: "new_app\\n"), 400, "validation_failed"),
        ["apps: access_tag with a Cyrillic homoglyph"] = Post("/v1/apps", NewApp(tag: $"{CyrillicA}pi_app"), 400, "validation_failed"),
        ["apps: access_tag with a zero-width joiner"] = Post("/v1/apps", NewApp(tag: $"new{Zwj}app"), 400, "validation_failed"),
        ["apps: base_url with user:pass@"] = Post("/v1/apps", NewApp(baseUrl: "http://user:pass@evil.example"), 400, "validation_failed"),
        ["apps: base_url with a file scheme"] = Post("/v1/apps", NewApp(baseUrl: "file:///etc/passwd"), 400, "validation_failed"),
        ["apps: base_url with a fragment"] = Post("/v1/apps", NewApp(baseUrl: "http://api.example/#@evil.example"), 400, "validation_failed"),
        ["apps: action path with ../"] = Post("/v1/apps", NewApp(path: "/v1/../admin"), 400, "validation_failed"),
        ["apps: action path //evil"] = Post("/v1/apps", NewApp(path: "//evil.example/x"), 400, "validation_failed"),
        ["apps: action path with ? and #"] = Post("/v1/apps", NewApp(path: "/x?admin=1#y"), 400, "validation_failed"),
        ["apps: action path holding a reference"] = Post("/v1/apps", NewApp(path: "/x/$Token{API_TOKEN}"), 400, "validation_failed"),
        ["apps: auth header value with CR LF"] = Post("/v1/apps", NewApp(authHeader: "Bearer x\\r\\nX-Injected: yes"), 400, "validation_failed"),
        ["apps: auth header name with a colon"] = Post("/v1/apps", NewApp(authHeaderName: "X-Evil:"), 400, "validation_failed"),
        ["apps: name with a lone surrogate"] = Post("/v1/apps", NewApp().Replace("\"New\"", "\"N\\uD800\"", StringComparison.Ordinal), 400, "validation_failed"),
        ["apps: body one byte over the limit"] = Oversized("/v1/apps", """{"access_tag":"new_app","name":"N","envs":[],"pad":"{0}"}""", chunked: false),
        ["apps: access_tag given twice"] = Post("/v1/apps", """{"access_tag":"new_app","access_tag":"api_app","name":"N","envs":[]}""", 400, "invalid_json"),
        ["apps: PUT with truncated JSON"] = Put("/v1/apps/api_app", """{"access_tag":"api_app","name":""", 400, "invalid_json"),

        // ---- products ----
        ["products: truncated JSON"] = Post("/v1/products", """{"tag":"new_shop","name":"N","envs":[{"slug":""", 400, "invalid_json"),
        ["products: envs as an object"] = Post("/v1/products", """{"tag":"new_shop","name":"N","envs":{"slug":"prd"}}""", 400, "validation_failed"),
        ["products: tag in fullwidth forms"] = Post("/v1/products", """{"tag":"ｓｈｏｐ２","name":"N","envs":[{"slug":"prd","env_name":"P","active":true}]}""", 400, "validation_failed"),
        ["products: tag with a trailing newline"] = Post("/v1/products", """{"tag":"new_shop\n","name":"N","envs":[{"slug":"prd","env_name":"P","active":true}]}""", 400, "validation_failed"),
        ["products: env slug with NUL"] = Post("/v1/products", """{"tag":"new_shop","name":"N","envs":[{"slug":"p\u0000rd","env_name":"P","active":true}]}""", 400, "validation_failed"),
        ["products: env slug with a trailing newline"] = Post("/v1/products", """{"tag":"new_shop","name":"N","envs":[{"slug":"prd\n","env_name":"P","active":true}]}""", 400, "validation_failed"),
        ["products: active as a string"] = Post("/v1/products", """{"tag":"new_shop","name":"N","envs":[{"slug":"prd","env_name":"P","active":"yes"}]}""", 400, "validation_failed"),
        ["products: body nested 65 levels deep"] = Post("/v1/products", $$"""{"tag":"new_shop","name":{{Nested(65)}}}""", 400, "invalid_json"),

        // ---- product apps ----
        ["product apps: PUT with a trailing comma"] = Put("/v1/products/shop/apps/api_app", """{"access_tag":"api_app","envs":[],}""", 400, "invalid_json"),
        ["product apps: truncated JSON"] = Post("/v1/products/shop/apps", """{"access_tag":"api_app","envs":[{""", 400, "invalid_json"),
        ["product apps: variable key with a homoglyph"] = Post("/v1/products/shop/apps", ProductApp($$"""[{"key":"ACC{{CyrillicA}}","value":"v"}]""", "[]"), 400, "validation_failed"),
        ["product apps: variable key with a trailing newline"] = Post("/v1/products/shop/apps", ProductApp("""[{"key":"ACCOUNT\n","value":"v"}]""", "[]"), 400, "validation_failed"),
        ["product apps: auth data field with a bidi override"] = Post("/v1/products/shop/apps", ProductApp("[]", $$$"""[{"auth_tag":"bearer","data":{"tok{{{Rlo}}}en":"$Token{API_TOKEN}"}}]"""), 400, "validation_failed"),
        ["product apps: product that is a path traversal"] = Post("/v1/products/..%2f..%2fapps/apps", ProductApp("[]", "[]"), 404, "product_not_found"),
        ["product apps: access_tag that is a path traversal"] = Post("/v1/products/shop/apps", """{"access_tag":"../api_app","envs":[]}""", 400, "validation_failed"),

        // ---- webhooks (configuration) ----
        ["webhooks: truncated JSON"] = Post("/v1/products/shop/webhooks", """{"name":"N","tag":"new_hook","app":""", 400, "invalid_json"),
        ["webhooks: signing_secret a literal"] = Post("/v1/products/shop/webhooks", NewHook(secret: "literal-secret"), 400, "validation_failed"),
        ["webhooks: signing_secret a reference with text around it"] = Post("/v1/products/shop/webhooks", NewHook(secret: "x$Token{HOOK_SECRET}"), 400, "validation_failed"),
        ["webhooks: scheme as a number"] = Post("/v1/products/shop/webhooks", """{"name":"N","tag":"new_hook","app":"api_app","signing_secret":"$Token{HOOK_SECRET}","scheme":1}""", 400, "validation_failed"),
        ["webhooks: tag with a Cyrillic homoglyph"] = Post("/v1/products/shop/webhooks", NewHook(tag: $"g{CyrillicA}h"), 400, "validation_failed"),
        ["webhooks: hmac header Authorization"] = Post("/v1/products/shop/webhooks", NewHook(scheme: "hmac_sha256", header: "Authorization"), 400, "validation_failed"),
        ["webhooks: hmac header with CR LF"] = Post("/v1/products/shop/webhooks", NewHook(scheme: "hmac_sha256", header: "X-Sig\\r\\nX-Injected: yes"), 400, "validation_failed"),
        ["webhooks: tolerance_seconds 1e20"] = Post("/v1/products/shop/webhooks", """{"name":"N","tag":"new_hook","app":"api_app","signing_secret":"$Token{HOOK_SECRET}","scheme":"stripe","tolerance_seconds":1e20}""", 400, "validation_failed"),
        ["webhooks: deliveries with a cursor that is SQL"] = Get("/v1/products/shop/webhooks/gh/deliveries?cursor=" + Uri.EscapeDataString(Drop), 400, "validation_failed"),

        // ---- keys and workspaces ----
        ["keys: malformed JSON"] = Post("/v1/keys", """{"name":"k","role":"viewer",}""", 400, "invalid_json"),
        ["keys: role in another case"] = Post("/v1/keys", """{"name":"k","role":"Owner"}""", 400, "validation_failed"),
        ["keys: role with a zero-width space"] = Post("/v1/keys", $$"""{"name":"k","role":"owner{{Zwsp}}"}""", 400, "validation_failed"),
        ["keys: apps tag with a trailing newline"] = Post("/v1/keys", """{"name":"k","role":"runtime","apps":["api_app\n"]}""", 400, "validation_failed"),
        ["keys: envs that is SQL"] = Post("/v1/keys", $$"""{"name":"k","role":"runtime","envs":["{{Drop}}"]}""", 400, "validation_failed"),
        ["keys: apps with 10,000 items"] = Post("/v1/keys", $$"""{"name":"k","role":"runtime","apps":[{{string.Join(",", Enumerable.Repeat("\"api_app\"", 10_000))}}]}""", 400, "validation_failed"),
        ["workspaces: truncated JSON"] = Post("/v1/workspaces", """{"name":"te""", 400, "invalid_json"),
        ["keys: name as an array"] = Post("/v1/keys", """{"name":["k"],"role":"viewer"}""", 400, "validation_failed"),
        ["keys: name with a lone surrogate"] = Post("/v1/keys", """{"name":"k\uDC00","role":"viewer"}""", 400, "validation_failed"),
        ["keys: role given twice"] = Post("/v1/keys", """{"name":"k","role":"viewer","role":"owner"}""", 400, "invalid_json"),
        ["workspaces: name with a bidi override"] = Post("/v1/workspaces", $$"""{"name":"team{{Rlo}}txt"}""", 400, "validation_failed"),
        ["workspaces: name with a trailing newline"] = Post("/v1/workspaces", """{"name":"team\n"}""", 400, "validation_failed"),

        // ---- actions.run ----
        ["actions: malformed JSON"] = Post("/v1/actions/run", """{"env":"prd","product":"shop",,"app":"api_app"}""", 400, "invalid_json"),
        ["actions: input.body over the limit"] = Oversized("/v1/actions/run", """{"env":"prd","product":"shop","app":"api_app","event":"post_echo","input":{"body":{"a":"{0}"}}}""", chunked: false),
        ["actions: input.params as an array"] = Run("""{"params":["x"]}""", 400, "validation_failed"),
        ["actions: input.headers value as a number"] = Run("""{"headers":{"X-A":1}}""", 400, "validation_failed"),
        ["actions: retries as a string"] = Post("/v1/actions/run", """{"env":"prd","product":"shop","app":"api_app","event":"post_echo","retries":"3"}""", 400, "validation_failed"),
        ["actions: product that is a path traversal"] = Post("/v1/actions/run", """{"env":"prd","product":"../shop","app":"api_app","event":"post_echo"}""", 400, "validation_failed"),
        ["actions: event with @host"] = Post("/v1/actions/run", """{"env":"prd","product":"shop","app":"api_app","event":"post_echo@evil.example"}""", 400, "validation_failed"),
        ["actions: app with a trailing newline"] = Post("/v1/actions/run", """{"env":"prd","product":"shop","app":"api_app\n","event":"post_echo"}""", 400, "validation_failed"),
        ["actions: an undeclared path parameter"] = Run("""{"params":{"id":"1","host":"evil.example"}}""", 400, "validation_failed", "get_customer"),
        ["actions: path parameter '..' given twice"] = Run("""{"params":{"id":"1","id":".."}}""", 400, "invalid_json", "get_customer"),
        ["actions: input.body with a lone-surrogate string"] = Run("""{"body":{"note":"\uD800"}}""", 400, "validation_failed"),
        ["actions: input.headers name with a lone surrogate"] = Run("""{"headers":{"X-\uD800":"1"}}""", 400, "validation_failed"),
        ["actions: secret with CR LF bound into the auth header"] = Run("{}", 422, "invalid_header_value", authTag: "crlf"),
        ["actions: secret with LF bound into the auth header"] = Run("{}", 422, "invalid_header_value", authTag: "lf"),
        ["actions: secret with CR bound into the auth header"] = Run("{}", 422, "invalid_header_value", authTag: "cr"),
        ["actions: input header value with CR LF"] = Run("""{"headers":{"X-Note":"a\r\nX-Injected: yes"}}""", 422, "invalid_header_value"),
        ["actions: input header Content-Length"] = Run("""{"headers":{"Content-Length":"0"}}""", 400, "validation_failed"),
        ["actions: input header Host pointing elsewhere"] = Run("""{"headers":{"Host":"evil.example"}}""", 400, "validation_failed"),
        ["actions: input header Transfer-Encoding"] = Run("""{"headers":{"Transfer-Encoding":"chunked"}}""", 400, "validation_failed"),
        ["actions: input header Connection"] = Run("""{"headers":{"connection":"upgrade"}}""", 400, "validation_failed"),
        ["actions: input header Proxy-Authorization"] = Run("""{"headers":{"Proxy-Authorization":"Basic eA=="}}""", 400, "validation_failed"),
        ["actions: input header name with a space"] = Run("""{"headers":{"X Evil":"1"}}""", 400, "invalid_header"),

        // ---- webhook deliveries (no API key: the signature is the credential) ----
        ["deliveries: body one byte over the limit"] = new(413, "payload_too_large", SendOneByteOverAsync),
        ["deliveries: chunked body over the limit"] = new(413, "payload_too_large", SendChunkedOversizedAsync),
        ["deliveries: malformed JSON with a wrong signature"] = new(401, "webhook_unauthorized", f => f.Server.DeliverAsync(f.HookUrl("gh"), Encoding.UTF8.GetBytes("{\"a\":"),
            ("X-Hub-Signature-256", "sha256=" + new string('0', 64)))),
        ["deliveries: path traversal in the workspace segment"] = new(404, "webhook_not_found", f => f.Server.DeliverAsync($"/hooks/..%2f{f.WorkspaceId}/shop/gh/prd", Encoding.UTF8.GetBytes(HostileInputFixture.GitHubBody),
            ("X-Hub-Signature-256", WebhookCalls.GitHub(HostileInputFixture.HookSecret, Encoding.UTF8.GetBytes(HostileInputFixture.GitHubBody))))),
        ["deliveries: replayed GitHub delivery (same X-GitHub-Delivery)"] = new(409, "webhook_replayed", f => f.SendGitHubOriginalAsync()),
        ["deliveries: replayed Standard Webhooks delivery (same bytes)"] = new(409, "webhook_replayed", f => f.SendStandardAsync(HostileInputFixture.StandardId, f.StandardTimestamp)),
        ["deliveries: Standard Webhooks id re-signed with a new timestamp and body"] = new(409, "webhook_replayed",
            f => f.SendStandardAsync(HostileInputFixture.StandardId, f.StandardTimestamp + 1, """{"type":"invoice.paid","id":"inv_2"}""")),
    };

    public static TheoryData<string> RowNames => new(Catalogue.Keys);

    [Fact]
    public void The_catalogue_has_at_least_fifty_rows_across_every_route_family()
    {
        Assert.True(Catalogue.Count >= 50, $"{Catalogue.Count} rows");
        string[] families = ["secrets", "resolve", "check", "validate", "apps", "products", "product apps", "webhooks", "keys", "workspaces", "actions", "deliveries"];
        foreach (var family in families)
        {
            Assert.Contains(Catalogue.Keys, name => name.StartsWith(family + ":", StringComparison.Ordinal));
        }
    }

    [Theory]
    [MemberData(nameof(RowNames))]
    public async Task A_hostile_request_is_a_4xx_problem_stores_nothing_sends_nothing_and_leaves_the_server_healthy(string row)
    {
        var entry = Catalogue[row];
        var before = Fingerprint();
        var sent = fixture.Upstream.Received.Count;

        using (var response = await entry.Send(fixture))
        {
            await AssertProblemAsync(response, entry.Status, entry.Code);
        }

        Assert.Equal(sent, fixture.Upstream.Received.Count);
        var after = Fingerprint();
        Assert.True(before == after, $"{row}: the store changed:\n{Scrub(Difference(before, after))}");
        await AssertHealthyAsync();
    }

    public static TheoryData<string> PathTricks => new()
    {
        "../admin",
        "../../../etc/passwd",
        "..%2fadmin",
        "%2e%2e",
        "%2e%2e%2fadmin",
        "a/b",
        "..\\admin",
        "\\\\evil.example\\share",
        "@evil.example",
        "user:pass@evil.example",
        "//evil.example/x",
        "#fragment",
        "?admin=true",
        "x?y#z@evil.example:81/",
        "a\r\nHost: evil.example",
        "%0d%0aX-Injected: yes",
        "tab\there",
        "ｅｖｉｌ．ｅｘａｍｐｌｅ",
        "\u202Etxt.exe",
        "%00",
        "...",
    };

    [Theory]
    [MemberData(nameof(PathTricks))]
    public async Task A_path_parameter_trick_stays_one_encoded_segment_on_the_configured_host(string id)
    {
        var sent = fixture.Upstream.Received.Count;
        using var response = await fixture.Owner.PostAsJsonAsync("/v1/actions/run", new
        {
            env = "prd", product = "shop", app = "api_app", @event = "get_customer", input = new { @params = new { id } },
        });
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{(int)response.StatusCode}: {Scrub(text)}");

        Assert.Equal(sent + 1, fixture.Upstream.Received.Count);
        var received = fixture.Upstream.Last();
        var upstream = new Uri(fixture.Upstream.BaseUrl);
        Assert.Equal(upstream.Authority, received.Headers["Host"]);
        const string Prefix = "/v1/customers/";
        Assert.StartsWith(Prefix, received.RawTarget, StringComparison.Ordinal);
        var segment = received.RawTarget[Prefix.Length..];
        Assert.DoesNotContain(segment, c => c is '/' or '\\' or '?' or '#' or '@' or ':' or '\r' or '\n' or '\0' || c > 127);
        Assert.Equal(id, Uri.UnescapeDataString(segment));
        Assert.False(received.Headers.ContainsKey("X-Injected"));
        await AssertHealthyAsync();
    }

    public static TheoryData<string> LiteralSearches => new() { "%", "_", "%_%", "a_b", "100%", Drop, "' OR '1'='1", "\\", "[a-z]*" };

    [Theory]
    [MemberData(nameof(LiteralSearches))]
    public async Task Sql_meta_characters_in_the_search_are_matched_literally_not_as_wildcards(string search)
    {
        var before = Fingerprint();
        using var all = await fixture.Owner.GetAsync("/v1/secrets?limit=500");
        var everything = (await all.ReadJsonAsync())["items"]!.AsArray()
            .Select(i => (Key: i!["key"]!.GetValue<string>(), Description: i["description"]?.GetValue<string>() ?? ""))
            .ToList();
        var expected = everything
            .Where(s => s.Key.Contains(search, StringComparison.OrdinalIgnoreCase) || s.Description.Contains(search, StringComparison.OrdinalIgnoreCase))
            .Select(s => s.Key)
            .Order(StringComparer.Ordinal)
            .ToList();

        using var response = await fixture.Owner.GetAsync("/v1/secrets?limit=500&q=" + Uri.EscapeDataString(search));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var found = (await response.ReadJsonAsync())["items"]!.AsArray().Select(i => i!["key"]!.GetValue<string>()).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(expected, found);
        Assert.Equal(before, Fingerprint());
        await AssertHealthyAsync();
    }

    [Fact]
    public async Task Wildcard_characters_in_descriptions_and_searches_only_match_themselves()
    {
        // Fresh secrets whose descriptions differ only where a LIKE wildcard would blur them.
        await fixture.Owner.CreateSecretAsync(new { key = "WILDCARD_PCT", description = "rate 100% fixed" });
        await fixture.Owner.CreateSecretAsync(new { key = "WILDCARD_US", description = "plan a_b" });
        await fixture.Owner.CreateSecretAsync(new { key = "WILDCARD_X", description = "plan axb rate 1000 fixed" });
        try
        {
            Assert.Equal(["WILDCARD_PCT"], await SearchAsync("100%"));
            Assert.Equal(["WILDCARD_US"], await SearchAsync("a_b"));
            Assert.Empty(await SearchAsync("100%_fixed"));
        }
        finally
        {
            foreach (var key in new[] { "WILDCARD_PCT", "WILDCARD_US", "WILDCARD_X" })
            {
                using var deleted = await fixture.Owner.DeleteAsync($"/v1/secrets/{key}");
            }
        }
    }

    private async Task<List<string>> SearchAsync(string q)
    {
        using var response = await fixture.Owner.GetAsync("/v1/secrets?limit=500&q=" + Uri.EscapeDataString(q));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (await response.ReadJsonAsync())["items"]!.AsArray().Select(i => i!["key"]!.GetValue<string>()).Order(StringComparer.Ordinal).ToList();
    }

    private async Task AssertProblemAsync(HttpResponseMessage response, int status, string code)
    {
        var text = await response.Content.ReadAsStringAsync();
        var headers = string.Join("\n", response.Headers.Concat(response.Content.Headers).Select(h => $"{h.Key}: {string.Join(",", h.Value)}"));
        foreach (var value in fixture.Values)
        {
            Assert.False(text.Contains(value, StringComparison.Ordinal), "the response body holds a secret value");
            Assert.False(headers.Contains(value, StringComparison.Ordinal), "a response header holds a secret value");
        }

        Assert.True((int)response.StatusCode == status, $"expected {status} {code}, got {(int)response.StatusCode}: {Scrub(text)}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = JsonNode.Parse(text)!;
        Assert.Equal(code, problem["code"]?.GetValue<string>());
        Assert.Equal(status, problem["status"]?.GetValue<int>());
        Assert.False(string.IsNullOrEmpty(problem["detail"]?.GetValue<string>()));
    }

    private async Task AssertHealthyAsync()
    {
        using var anonymous = fixture.Server.Client(null);
        using var health = await anonymous.GetAsync("/healthz");
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);

        using var fetch = await fixture.Owner.GetAsync("/v1/secrets/EXISTING");
        Assert.Equal(HttpStatusCode.OK, fetch.StatusCode);
        var secret = await fetch.ReadJsonAsync();
        Assert.Equal(1, secret["version"]!.GetValue<int>());
        Assert.Equal("active", secret["status"]!.GetValue<string>());
        Assert.Equal(["dev", "prd"], secret["envs"]!.AsArray().Select(e => e!.GetValue<string>()));
        Assert.Empty(secret["scope"]!.AsArray());
        Assert.True(HostileInputFixture.ExistingValue == await fixture.Owner.ResolveValueAsync("EXISTING"), "EXISTING no longer resolves to its value");
    }

    /// <summary>
    /// Every row of every table (all columns but <c>last_used_at</c>, which a resolution updates) except the webhook
    /// rejection counters, plus the data-changing audit events: equal before and after means nothing was stored.
    /// </summary>
    private string Fingerprint()
    {
        using var db = DataFiles.Open(fixture.Server.DataDirectory);
        var text = new StringBuilder();
        var tables = new List<string>();
        using (var list = db.CreateCommand())
        {
            list.CommandText = "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite%' ORDER BY name";
            using var reader = list.ExecuteReader();
            while (reader.Read())
            {
                tables.Add(reader.GetString(0));
            }
        }

        foreach (var table in tables.Where(t => !t.StartsWith("audit_", StringComparison.Ordinal) && t != "webhook_rejections")) // the audit tables are checked below, by action
        {
            text.Append("## ").AppendLine(table);
            using var select = db.CreateCommand();
            select.CommandText = $"SELECT * FROM \"{table}\"";
            using var reader = select.ExecuteReader();
            var rows = new List<string>();
            while (reader.Read())
            {
                var row = new StringBuilder();
                for (var i = 0; i < reader.FieldCount; i++)
                {
                    if (reader.GetName(i) == "last_used_at")
                    {
                        continue;
                    }

                    var value = reader.IsDBNull(i) ? "null" : reader.GetValue(i) is byte[] bytes ? Convert.ToHexString(bytes) : Convert.ToString(reader.GetValue(i), CultureInfo.InvariantCulture);
                    row.Append(reader.GetName(i)).Append('=').Append(value).Append(' ');
                }

                rows.Add(row.ToString());
            }

            rows.Sort(StringComparer.Ordinal);
            rows.ForEach(r => text.AppendLine(r));
        }

        text.AppendLine("## audit_events (data-changing)");
        using (var audit = db.CreateCommand())
        {
            audit.CommandText = $"SELECT seq, action, coalesce(secret_key, ''), coalesce(detail, '') FROM audit_events WHERE action NOT IN ({string.Join(", ", ReadOnlyAuditActions.Select(a => $"'{a}'"))}) ORDER BY seq";
            using var reader = audit.ExecuteReader();
            while (reader.Read())
            {
                text.Append(reader.GetInt64(0)).Append(' ').Append(reader.GetString(1)).Append(' ').Append(reader.GetString(2)).Append(' ').AppendLine(reader.GetString(3));
            }
        }

        return text.ToString();
    }

    private static string Difference(string before, string after)
    {
        var old = before.Split('\n').ToHashSet(StringComparer.Ordinal);
        var now = after.Split('\n').ToHashSet(StringComparer.Ordinal);
        return "added:\n" + string.Join("\n", now.Except(old).Select(l => l.Length > 300 ? l[..300] + "…" : l))
            + "\nremoved:\n" + string.Join("\n", old.Except(now).Select(l => l.Length > 300 ? l[..300] + "…" : l));
    }

    /// <summary>Failure messages never carry a secret value of the fixture (nor a huge body).</summary>
    private string Scrub(string text)
    {
        foreach (var value in fixture.Values)
        {
            text = text.Replace(value, "[value]", StringComparison.Ordinal);
        }

        return text.Length > 2000 ? text[..2000] + "…" : text;
    }

    /// <summary>
    /// Content-Length one byte over the limit, correctly signed. <c>Expect: 100-continue</c> lets the server refuse before the
    /// body is sent (without it the client may still be writing when the 413 arrives and see a broken pipe instead).
    /// </summary>
    private static async Task<HttpResponseMessage> SendOneByteOverAsync(HostileInputFixture f)
    {
        using var client = f.Server.Client(null);
        var body = new byte[(1024 * 1024) + 1];
        using var request = new HttpRequestMessage(HttpMethod.Post, f.HookUrl("gh")) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue(Json);
        request.Headers.ExpectContinue = true;
        request.Headers.TryAddWithoutValidation("X-Hub-Signature-256", WebhookCalls.GitHub(HostileInputFixture.HookSecret, body));
        return await client.SendAsync(request);
    }

    private static async Task<HttpResponseMessage> SendChunkedOversizedAsync(HostileInputFixture f)
    {
        using var client = f.Server.Client(null);
        var body = new byte[(2 * 1024 * 1024) + 7];
        using var request = new HttpRequestMessage(HttpMethod.Post, f.HookUrl("gh")) { Content = new StreamContent(new NoLengthStream(body)) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue(Json);
        request.Headers.TransferEncodingChunked = true;
        request.Headers.TryAddWithoutValidation("X-Hub-Signature-256", WebhookCalls.GitHub(HostileInputFixture.HookSecret, body));
        return await client.SendAsync(request);
    }

    private static string Nested(int depth) => string.Concat(Enumerable.Repeat("{\"a\":", depth)) + "1" + new string('}', depth);

    private static string NewApp(string tag = "new_app", string baseUrl = "https://api.example", string path = "/v1/things", string authHeader = "Bearer $Auth{token}", string authHeaderName = "Authorization") =>
        $$$"""
        {"access_tag":"{{{tag}}}","name":"New","envs":[{"slug":"live","base_url":"{{{baseUrl}}}"}],
         "auths":[{"tag":"bearer","headers":{"{{{authHeaderName}}}":"{{{authHeader}}}"}}],
         "actions":[{"event":"get","method":"GET","path":"{{{path}}}"}]}
        """;

    private static string ProductApp(string variables, string auth) =>
        $$$"""{"access_tag":"api_app","envs":[{"app_env_slug":"live","product_env_slug":"prd","variables":{{{variables}}},"auth":{{{auth}}}}]}""";

    private static string NewHook(string tag = "new_hook", string secret = "$Token{HOOK_SECRET}", string scheme = "github", string? header = null) =>
        $$"""{"name":"N","tag":"{{tag}}","app":"api_app","signing_secret":"{{secret}}","scheme":"{{scheme}}"{{(header is null ? "" : $",\"header\":\"{header}\"")}}}""";

    private static Row Post(string url, string body, int status, string code) => Send("POST", url, body, status, code);

    /// <summary>
    /// A JSON body one byte over the 1 MiB limit (<c>{0}</c> is padded to fit): with a Content-Length and
    /// <c>Expect: 100-continue</c> (so the 413 can arrive before the body is sent), or chunked (no length to refuse early).
    /// </summary>
    private static Row Oversized(string url, string template, bool chunked) => new(413, "payload_too_large", async f =>
    {
        var padding = (1024 * 1024) + 1 - (Encoding.UTF8.GetByteCount(template) - 3);
        var body = Encoding.UTF8.GetBytes(template.Replace("{0}", new string('x', padding), StringComparison.Ordinal));
        Assert.Equal((1024 * 1024) + 1, body.Length);
        using var request = new HttpRequestMessage(HttpMethod.Post, url)
        {
            Content = chunked ? new StreamContent(new NoLengthStream(body)) : new ByteArrayContent(body),
        };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue(Json);
        if (chunked)
        {
            request.Headers.TransferEncodingChunked = true;
        }
        else
        {
            request.Headers.ExpectContinue = true;
        }

        return await f.Owner.SendAsync(request);
    });

    private static Row Put(string url, string body, int status, string code) => Send("PUT", url, body, status, code);

    private static Row Patch(string url, string body, int status, string code) => Send("PATCH", url, body, status, code);

    private static Row Get(string url, int status, string code) => Send("GET", url, null, status, code);

    private static Row Run(string input, int status, string code, string @event = "post_echo", string? authTag = null) =>
        Post("/v1/actions/run", $$"""{"env":"prd","product":"shop","app":"api_app","event":"{{@event}}"{{(authTag is null ? "" : $",\"auth_tag\":\"{authTag}\"")}},"input":{{input}}}""", status, code);

    private static Row Send(string method, string url, string? body, int status, string code) => new(status, code, async f =>
    {
        using var request = new HttpRequestMessage(new HttpMethod(method), url);
        if (body is not null)
        {
            request.Content = new ByteArrayContent(Encoding.UTF8.GetBytes(body));
            request.Content.Headers.ContentType = new MediaTypeHeaderValue(Json);
        }

        return await f.Owner.SendAsync(request);
    });

    /// <summary>A stream that does not say its length, so HttpClient sends it chunked (no Content-Length to refuse early).</summary>
    private sealed class NoLengthStream(byte[] data) : Stream
    {
        private int _position;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count)
        {
            var n = Math.Min(count, data.Length - _position);
            Array.Copy(data, _position, buffer, offset, n);
            _position += n;
            return n;
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}

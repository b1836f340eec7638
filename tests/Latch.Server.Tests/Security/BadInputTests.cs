using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Latch.Server.Tests.Infrastructure;
using Latch.Server.Tests.Storage;

namespace Latch.Server.Tests.Security;

/// <summary>One server with one known secret, shared by the hostile-input cases.</summary>
public sealed class BadInputServer : IAsyncLifetime
{
    public const string ExistingKey = "EXISTING";
    public const string ExistingValue = "existing-value-untouched";

    public TestServer Server { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Server = await TestServer.StartAsync();
        await Server.Owner.CreateSecretAsync(new { key = ExistingKey, value = ExistingValue, description = "kept", envs = new[] { "dev" } });
    }

    public async Task DisposeAsync() => await Server.DisposeAsync();
}

/// <summary>Hostile input: every bad request is a 4xx problem with a stable code, stores nothing, echoes no value, and the server stays healthy.</summary>
public sealed class BadInputTests(BadInputServer fixture) : IClassFixture<BadInputServer>
{
    private const string Json = "application/json";
    private const string Echo = "hunter2-DO-NOT-ECHO";

    private sealed record BadRequest(string Method, string Url, string? Body, string? ContentType, int Status, string Code)
    {
        public string? IfMatch { get; init; }
    }

    private static readonly Dictionary<string, BadRequest> Cases = new(StringComparer.Ordinal)
    {
        ["truncated JSON"] = Create("""{"key":"NEW_A","value":"x" """.TrimEnd(), 400, "invalid_json"),
        ["trailing garbage"] = Create("""{"key":"NEW_A","value":"x"} and more""", 400, "invalid_json"),
        ["two JSON objects"] = Create("""{"key":"NEW_A","value":"x"}{"key":"NEW_B","value":"y"}""", 400, "invalid_json"),
        ["empty body"] = Create("", 400, "invalid_json"),
        ["whitespace body"] = Create("   \n ", 400, "invalid_json"),
        ["JSON array instead of object"] = Create("""[{"key":"NEW_A","value":"x"}]""", 400, "validation_failed"),
        ["JSON string instead of object"] = Create("\"NEW_A\"", 400, "validation_failed"),
        ["JSON null instead of object"] = Create("null", 400, "validation_failed"),
        ["scope as a string"] = Create("""{"key":"NEW_A","value":"x","scope":"billing"}""", 400, "validation_failed"),
        ["scope with an invalid tag"] = Create("""{"key":"NEW_A","value":"x","scope":["bad tag"]}""", 400, "validation_failed"),
        ["expires_at as text"] = Create("""{"key":"NEW_A","value":"x","expires_at":"tomorrow"}""", 400, "validation_failed"),
        ["expires_at as an ISO date"] = Create("""{"key":"NEW_A","value":"x","expires_at":"2030-01-01T00:00:00Z"}""", 400, "validation_failed"),
        ["expires_at as a fraction"] = Create("""{"key":"NEW_A","value":"x","expires_at":1900000000.5}""", 400, "validation_failed"),
        ["expires_at in the past"] = Create("""{"key":"NEW_A","value":"x","expires_at":1000}""", 400, "validation_failed"),
        ["value as a number"] = Create("""{"key":"NEW_A","value":12345}""", 400, "validation_failed"),
        ["value as an object"] = Create("""{"key":"NEW_A","value":{"v":"x"}}""", 400, "validation_failed"),
        ["envs with a number item"] = Create("""{"key":"NEW_A","value":"x","envs":["dev",3]}""", 400, "validation_failed"),
        ["envs as an object"] = Create("""{"key":"NEW_A","value":"x","envs":{"dev":true}}""", 400, "validation_failed"),
        ["key with a space"] = Create("""{"key":"NEW A","value":"x"}""", 400, "validation_failed"),
        ["key with a dash"] = Create("""{"key":"NEW-A","value":"x"}""", 400, "validation_failed"),
        ["key with non-ASCII letters"] = Create("""{"key":"KÉY","value":"x"}""", 400, "validation_failed"),
        ["key of 51 characters"] = Create($$"""{"key":"{{new string('K', 51)}}","value":"x"}""", 400, "validation_failed"),
        ["empty key"] = Create("""{"key":"","value":"x"}""", 400, "validation_failed"),
        ["missing key"] = Create("""{"value":"x"}""", 400, "validation_failed"),
        ["key as a number"] = Create("""{"key":42,"value":"x"}""", 400, "validation_failed"),
        ["key with a reference"] = Create("""{"key":"$Token{NEW_A}","value":"x"}""", 400, "validation_failed"),
        ["empty value"] = Create("""{"key":"NEW_A","value":""}""", 400, "validation_failed"),
        ["value over 64 KiB"] = Create($$"""{"key":"NEW_A","value":"{{new string('v', 64 * 1024 + 1)}}"}""", 400, "validation_failed"),
        ["unknown field"] = Create("""{"key":"NEW_A","value":"x","colour":"blue"}""", 400, "validation_failed"),
        ["misspelt field"] = Create("""{"key":"NEW_A","value":"x","expires":1900000000}""", 400, "validation_failed"),
        ["duplicate property"] = Create("""{"key":"A","key":"B","value":"x"}""", 400, "invalid_json"),
        ["duplicate value property"] = Create("""{"key":"NEW_A","value":"x","value":"y"}""", 400, "invalid_json"),
        ["body over 1 MiB"] = Create($$"""{"key":"NEW_A","value":"x","description":"{{new string('d', (1024 * 1024) + 16)}}"}""", 413, "payload_too_large"),
        ["arrays nested 200 levels deep"] = Create($$"""{"key":"NEW_A","value":"x","description":{{new string('[', 200)}}{{new string(']', 200)}}}""", 400, "invalid_json"),
        ["objects nested 200 levels deep"] = Create($$"""{"key":"NEW_A","value":"x","description":{{string.Concat(Enumerable.Repeat("{\"a\":", 200))}}1{{new string('}', 200)}}}""", 400, "invalid_json"),
        ["newline in description"] = Create("""{"key":"NEW_A","value":"x","description":"line one\nline two"}""", 400, "validation_failed"),
        ["bell character in description"] = Create("""{"key":"NEW_A","value":"x","description":"ding\u0007"}""", 400, "validation_failed"),
        ["NUL in token_type"] = Create("""{"key":"NEW_A","value":"x","token_type":"api\u0000key"}""", 400, "validation_failed"),
        ["PATCH with no fields"] = Patch("{}", 400, "validation_failed"),
        ["PATCH with an empty value"] = Patch("""{"value":""}""", 400, "validation_failed"),
        ["PATCH revoked as text"] = Patch("""{"revoked":"yes"}""", 400, "validation_failed"),
        ["PATCH expires_at as text"] = Patch("""{"expires_at":"soon"}""", 400, "validation_failed"),
        ["PATCH unknown field"] = Patch("""{"description":"new","key":"RENAMED"}""", 400, "validation_failed"),
        ["PATCH invalid JSON"] = Patch("""{"description":""", 400, "invalid_json"),
        ["PATCH with a garbage If-Match"] = new("PATCH", $"/v1/secrets/{BadInputServer.ExistingKey}", """{"description":"new"}""", Json, 400, "invalid_if_match") { IfMatch = "version one" },
        ["rollback to version 0"] = Rollback("""{"version":0}""", 400, "validation_failed"),
        ["rollback to a negative version"] = Rollback("""{"version":-1}""", 400, "validation_failed"),
        ["rollback to a version given as a string"] = Rollback("""{"version":"1"}""", 400, "validation_failed"),
        ["rollback to a fractional version"] = Rollback("""{"version":1.5}""", 400, "validation_failed"),
        ["rollback without a version"] = Rollback("{}", 400, "validation_failed"),
        ["rollback to a version that does not exist"] = Rollback("""{"version":7}""", 404, "version_not_found"),
        ["list with limit=0"] = List("limit=0"),
        ["list with limit=abc"] = List("limit=abc"),
        ["list with limit=-1"] = List("limit=-1"),
        ["list with limit=100000"] = List("limit=100000"),
        ["list with status=bogus"] = List("status=bogus"),
        ["list with cursor=!!!"] = List("cursor=!!!"),
        ["list with expiring_within=soon"] = List("expiring_within=soon"),
        ["list with an invalid app tag"] = List("app=bad%20app"),
        ["resolve without app and env"] = new("POST", "/v1/secrets/resolve", """{"document":{"a":"$Token{EXISTING}"}}""", Json, 400, "validation_failed"),
        ["resolve with an invalid env"] = new("POST", "/v1/secrets/resolve", """{"document":{"a":"$Token{EXISTING}"},"app":"a","env":"no env"}""", Json, 400, "validation_failed"),
    };

    public static TheoryData<string> CaseNames => new(Cases.Keys);

    [Theory]
    [MemberData(nameof(CaseNames))]
    public async Task A_bad_request_is_a_problem_with_a_stable_code_and_changes_nothing(string name)
    {
        var bad = Cases[name];
        using var response = await SendAsync(bad);
        var problem = await response.AssertProblemAsync(bad.Status, bad.Code);
        Assert.Equal(bad.Status, problem["status"]!.GetValue<int>());
        if (bad.Code == "validation_failed")
        {
            Assert.NotNull(problem["errors"]?.AsObject());
            Assert.NotEmpty(problem["errors"]!.AsObject());
        }

        await AssertNothingChangedAsync();
    }

    public static TheoryData<string, string, string> EchoCases => new()
    {
        { "invalid key", "POST", $$"""{"key":"NOT VALID","value":"{{Echo}}"}""" },
        { "unknown field", "POST", $$"""{"key":"NEW_A","value":"{{Echo}}","colour":"blue"}""" },
        { "scope as a string", "POST", $$"""{"key":"NEW_A","value":"{{Echo}}","scope":"billing"}""" },
        { "duplicate value", "POST", $$"""{"key":"NEW_A","value":"{{Echo}}","value":"{{Echo}}"}""" },
        { "truncated after the value", "POST", $$"""{"key":"NEW_A","value":"{{Echo}}""" },
        { "garbage after the value", "POST", $$"""{"key":"NEW_A","value":"{{Echo}}"} {{Echo}}""" },
        { "value in the wrong place", "POST", $$"""{"key":"NEW_A","value":"x","description":["{{Echo}}"]}""" },
        { "value over the size limit", "POST", $$"""{"key":"NEW_A","value":"{{string.Concat(Enumerable.Repeat(Echo, 4000))}}"}""" },
        { "existing key", "POST", $$"""{"key":"{{BadInputServer.ExistingKey}}","value":"{{Echo}}"}""" },
        { "patch with a bad expiry", "PATCH", $$"""{"value":"{{Echo}}","expires_at":"soon"}""" },
        { "patch with an unknown field", "PATCH", $$"""{"value":"{{Echo}}","colour":"blue"}""" },
        { "patch of a missing secret", "PATCH /v1/secrets/NOT_THERE", $$"""{"value":"{{Echo}}"}""" },
    };

    [Theory]
    [MemberData(nameof(EchoCases))]
    public async Task Error_responses_and_logs_never_echo_a_submitted_value(string name, string method, string body)
    {
        var url = method.Contains(' ', StringComparison.Ordinal) ? method.Split(' ')[1] : method == "PATCH" ? $"/v1/secrets/{BadInputServer.ExistingKey}" : "/v1/secrets";
        using var response = await SendAsync(new BadRequest(method.Split(' ')[0], url, body, Json, 0, ""));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True((int)response.StatusCode is >= 400 and < 500, $"{name}: {(int)response.StatusCode} {text}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.DoesNotContain(Echo, text, StringComparison.Ordinal);
        Assert.DoesNotContain(Echo, string.Join("\n", response.Headers.Concat(response.Content.Headers).Select(h => $"{h.Key}: {string.Join(",", h.Value)}")), StringComparison.Ordinal);
        Assert.DoesNotContain(Echo, fixture.Server.Logs.AllText, StringComparison.Ordinal);
        await AssertNothingChangedAsync();
    }

    public static TheoryData<string, string, string> NonJsonBodies => new()
    {
        { "/v1/secrets", "text/plain", """{"key":"NEW_A","value":"x"}""" },
        { "/v1/secrets", "application/x-www-form-urlencoded", "key=NEW_A&value=x" },
        { "/v1/secrets", "application/xml", "<secret><key>NEW_A</key></secret>" },
        { $"/v1/secrets/{BadInputServer.ExistingKey}/rollback", "text/plain", """{"version":1}""" },
        { "/v1/secrets/resolve", "text/plain", """{"document":{},"app":"a","env":"dev"}""" },
    };

    [Theory]
    [MemberData(nameof(NonJsonBodies))]
    public async Task A_non_json_content_type_is_refused_with_415_and_changes_nothing(string url, string contentType, string body)
    {
        using var response = await SendAsync(new BadRequest("POST", url, body, contentType, 415, ""));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.UnsupportedMediaType, $"{(int)response.StatusCode}: {text}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        await AssertNothingChangedAsync();
    }

    [Theory]
    [MemberData(nameof(NonJsonBodies))]
    public async Task A_non_json_content_type_has_the_stable_code_unsupported_media_type(string url, string contentType, string body)
    {
        using var response = await SendAsync(new BadRequest("POST", url, body, contentType, 415, ""));
        await response.AssertProblemAsync(415, "unsupported_media_type");
    }

    [Theory]
    [InlineData("""{"key":"NEW_A","value":"abc\uD800"}""")]
    [InlineData("""{"key":"NEW_A","value":"x","description":"\uDC00"}""")]
    [InlineData("""{"key":"NEW_\uD800","value":"x"}""")]
    [InlineData("""{"key":"NEW_A","value":"x","envs":["\uD800"]}""")]
    public async Task A_lone_surrogate_escape_is_a_400_not_a_server_error(string body)
    {
        using var response = await SendAsync(new BadRequest("POST", "/v1/secrets", body, Json, 400, ""));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True((int)response.StatusCode == 400, $"{(int)response.StatusCode}: {text}");
        await AssertNothingChangedAsync();
    }

    [Fact]
    public async Task A_request_without_content_type_is_read_as_json_and_still_validated()
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/secrets") { Content = new ByteArrayContent(Encoding.UTF8.GetBytes("""{"key":"NEW A","value":"x"}""")) };
        using var response = await fixture.Server.Owner.SendAsync(request);
        await response.AssertProblemAsync(400, "validation_failed");
        await AssertNothingChangedAsync();
    }

    private async Task<HttpResponseMessage> SendAsync(BadRequest bad)
    {
        using var request = new HttpRequestMessage(new HttpMethod(bad.Method), bad.Url);
        if (bad.Body is not null)
        {
            request.Content = new ByteArrayContent(Encoding.UTF8.GetBytes(bad.Body));
            if (bad.Status == 413)
            {
                // Wait for the server's verdict before sending the body: Kestrel answers 413 from Content-Length and
                // closes the connection, and a client still writing the body would see a broken pipe instead.
                request.Headers.ExpectContinue = true;
            }

            if (bad.ContentType is not null)
            {
                request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(bad.ContentType);
            }
        }

        if (bad.IfMatch is not null)
        {
            request.Headers.TryAddWithoutValidation("If-Match", bad.IfMatch);
        }

        return await fixture.Server.Owner.SendAsync(request);
    }

    private async Task AssertNothingChangedAsync()
    {
        var owner = fixture.Server.Owner;
        Assert.Equal([BadInputServer.ExistingKey], await owner.ListKeysAsync());

        using var fetch = await owner.GetAsync($"/v1/secrets/{BadInputServer.ExistingKey}");
        var secret = await fetch.ReadJsonAsync();
        Assert.Equal(HttpStatusCode.OK, fetch.StatusCode);
        Assert.Equal(1, secret["version"]!.GetValue<int>());
        Assert.Equal("kept", secret["description"]!.GetValue<string>());
        Assert.Equal("active", secret["status"]!.GetValue<string>());
        Assert.Null(secret["token_type"]?.GetValue<string>());
        Assert.Equal(["dev"], secret["envs"]!.AsArray().Select(e => e!.GetValue<string>()));
        Assert.Empty(secret["scope"]!.AsArray());
        Assert.Null(secret["expires_at"]?.GetValue<long>());
        Assert.Equal(BadInputServer.ExistingValue, await owner.RevealValueAsync(BadInputServer.ExistingKey));

        using var anonymous = fixture.Server.Client(null);
        using var health = await anonymous.GetAsync("/healthz");
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
    }

    private static BadRequest Create(string body, int status, string code) => new("POST", "/v1/secrets", body, Json, status, code);

    private static BadRequest Patch(string body, int status, string code) => new("PATCH", $"/v1/secrets/{BadInputServer.ExistingKey}", body, Json, status, code);

    private static BadRequest Rollback(string body, int status, string code) => new("POST", $"/v1/secrets/{BadInputServer.ExistingKey}/rollback", body, Json, status, code);

    private static BadRequest List(string query) => new("GET", "/v1/secrets?" + query, null, null, 400, "validation_failed");
}

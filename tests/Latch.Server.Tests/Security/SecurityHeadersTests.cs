using System.Net;
using System.Text;
using Latch.Server.Http;
using Latch.Server.Tests.Infrastructure;
using Latch.Server.Workbench;
using Microsoft.AspNetCore.Http;

namespace Latch.Server.Tests.Security;

/// <summary>Every response — API, problems, 401/404/405/413/429, probes, metrics, the Workbench — carries the security headers.</summary>
public sealed class SecurityHeadersTests
{
    private static readonly string[] Always =
        ["X-Content-Type-Options", "Referrer-Policy", "X-Frame-Options", "Cross-Origin-Opener-Policy", "Cross-Origin-Resource-Policy", "Permissions-Policy", "X-Request-Id"];

    [Fact]
    public async Task Api_probe_metric_and_problem_responses_carry_the_headers_and_are_never_cached()
    {
        await using var server = await TestServer.StartAsync(maxBody: 4096, configure: o => o with { AuthFailureLimit = 2 });
        await server.Owner.CreateSecretAsync(new { key = "HEADERS_KEY", value = "headers-value-1234" });
        using var anonymous = server.Client(null);

        var cases = new List<(string Name, Func<Task<HttpResponseMessage>> Send, int Status)>
        {
            ("list", () => server.Owner.GetAsync("/v1/secrets"), 200),
            ("reveal", () => server.Owner.GetAsync("/v1/secrets/HEADERS_KEY?reveal=true"), 200),
            ("resolve", () => server.Owner.ResolveAsync(new { k = "$Token{HEADERS_KEY}" }, "any", "dev"), 200),
            ("not found problem", () => server.Owner.GetAsync("/v1/secrets/NOPE"), 404),
            ("validation problem", () => server.Owner.PostJsonAsync("/v1/secrets", "{\"key\":\"bad key\"}"), 400),
            ("no route", () => anonymous.GetAsync("/no/such/route"), 404),
            ("wrong method", () => anonymous.DeleteAsync("/healthz"), 405),
            ("too large", () => server.Owner.PostAsync("/v1/secrets", new StringContent(new string('x', 64 * 1024), Encoding.UTF8, "application/json")), 413),
            ("healthz", () => anonymous.GetAsync("/healthz"), 200),
            ("readyz", () => anonymous.GetAsync("/readyz"), 200),
            ("metrics", () => anonymous.GetAsync("/metrics"), 200),
            ("openapi", () => anonymous.GetAsync("/openapi/v1.json"), 200),
            ("unauthorized", () => anonymous.GetAsync("/v1/secrets"), 401),
            ("unauthorized again", () => anonymous.GetAsync("/v1/secrets"), 401),
            ("rate limited", () => anonymous.GetAsync("/v1/secrets"), 429),
        };

        foreach (var (name, send, status) in cases)
        {
            using var response = await send();
            Assert.True(status == (int)response.StatusCode, $"{name}: expected {status}, got {(int)response.StatusCode}");
            AssertCommon(response, name);
            Assert.Equal("default-src 'none'; frame-ancestors 'none'", Header(response, "Content-Security-Policy"));
            Assert.Equal(SecurityHeaders.PermissionsPolicy, Header(response, "Permissions-Policy"));
            Assert.True(response.Headers.CacheControl?.NoStore == true, $"{name}: Cache-Control is '{response.Headers.CacheControl}'");
            Assert.False(response.Headers.Contains("Strict-Transport-Security"), $"{name}: HSTS over plain HTTP");
        }
    }

    [Fact]
    public async Task Workbench_pages_keep_their_own_policy_and_get_the_rest()
    {
        await using var server = await TestServer.StartAsync();
        using var anonymous = server.Client(null);

        foreach (var path in new[] { "/", "/index.html" }.Concat(WorkbenchExtensions.Paths.Take(5)))
        {
            using var response = await anonymous.GetAsync(path);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            AssertCommon(response, path);
            Assert.Equal(WorkbenchExtensions.ContentSecurityPolicy, Header(response, "Content-Security-Policy"));
            Assert.StartsWith("default-src 'self'; script-src 'self';", Header(response, "Content-Security-Policy"), StringComparison.Ordinal);
            Assert.Contains("frame-ancestors 'none'", Header(response, "Content-Security-Policy"), StringComparison.Ordinal);
            Assert.True(response.Headers.CacheControl?.NoCache == true, $"{path}: Cache-Control is '{response.Headers.CacheControl}'");

            using var conditional = new HttpRequestMessage(HttpMethod.Get, path);
            conditional.Headers.TryAddWithoutValidation("If-None-Match", response.Headers.ETag!.ToString());
            using var notModified = await anonymous.SendAsync(conditional);
            Assert.Equal(HttpStatusCode.NotModified, notModified.StatusCode);
            AssertCommon(notModified, path + " (304)");
        }
    }

    [Fact]
    public void Strict_transport_security_is_sent_on_https_requests_only()
    {
        var https = new DefaultHttpContext();
        https.Request.Scheme = "https";
        SecurityHeaders.Apply(https);
        Assert.Equal("max-age=31536000", https.Response.Headers.StrictTransportSecurity.ToString());

        var http = new DefaultHttpContext();
        http.Request.Scheme = "http";
        SecurityHeaders.Apply(http);
        Assert.False(http.Response.Headers.ContainsKey("Strict-Transport-Security"));
        Assert.Equal("no-store", http.Response.Headers.CacheControl.ToString());
    }

    [Fact]
    public void Headers_already_set_by_a_response_win()
    {
        var context = new DefaultHttpContext();
        context.Response.Headers.ContentSecurityPolicy = "default-src 'self'";
        context.Response.Headers.CacheControl = "no-cache";
        SecurityHeaders.Apply(context);
        Assert.Equal("default-src 'self'", context.Response.Headers.ContentSecurityPolicy.ToString());
        Assert.Equal("no-cache", context.Response.Headers.CacheControl.ToString());
        Assert.Equal("nosniff", context.Response.Headers.XContentTypeOptions.ToString());
    }

    private static void AssertCommon(HttpResponseMessage response, string name)
    {
        foreach (var header in Always)
        {
            Assert.True(!string.IsNullOrEmpty(Header(response, header)), $"{name}: missing {header}");
        }

        Assert.Equal("nosniff", Header(response, "X-Content-Type-Options"));
        Assert.Equal("no-referrer", Header(response, "Referrer-Policy"));
        Assert.Equal("DENY", Header(response, "X-Frame-Options"));
        Assert.Equal("same-origin", Header(response, "Cross-Origin-Opener-Policy"));
        Assert.Equal("same-origin", Header(response, "Cross-Origin-Resource-Policy"));
    }

    private static string? Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) || response.Content.Headers.TryGetValues(name, out values)
            ? string.Join(", ", values)
            : null;
}

using System.Net;
using System.Text.Json.Nodes;
using Latch.Server.Tests.Infrastructure;

namespace Latch.Server.Tests;

public sealed class HostTests : IAsyncLifetime
{
    private TestServer _server = null!;

    public async Task InitializeAsync() => _server = await TestServer.StartAsync();

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task Health_and_readiness_answer_without_a_key()
    {
        using var anonymous = _server.Client(null);
        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync("/healthz")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync("/readyz")).StatusCode);
    }

    [Fact]
    public async Task OpenApi_document_describes_the_secrets_routes_with_request_bodies()
    {
        using var anonymous = _server.Client(null);
        var document = JsonNode.Parse(await anonymous.GetStringAsync("/openapi/v1.json"))!;
        var paths = document["paths"]!.AsObject();
        Assert.Contains("/v1/secrets/{key}/rollback", paths.Select(p => p.Key));
        Assert.Contains("/v1/secrets/resolve", paths.Select(p => p.Key));
        var create = document["paths"]!["/v1/secrets"]!["post"]!;
        Assert.NotNull(create["requestBody"]);
        Assert.NotNull(create["responses"]!["201"]);
        var schemaText = document["components"]!.ToJsonString();
        Assert.Contains("expires_at", schemaText, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Unknown_route_is_a_problem_and_every_response_has_security_headers()
    {
        var response = await _server.Owner.GetAsync("/v1/nothing-here");
        await response.AssertProblemAsync(404, "route_not_found");
        Assert.Equal("nosniff", response.Headers.GetValues("X-Content-Type-Options").Single());
        Assert.Equal("DENY", response.Headers.GetValues("X-Frame-Options").Single());
        Assert.True(response.Headers.Contains("X-Request-Id"));
    }

    [Fact]
    public void Serve_options_never_print_the_master_key_bootstrap_key_or_connection_string()
    {
        var options = new ServeOptions
        {
            MasterKey = "bWFzdGVyLWtleS1tYXN0ZXIta2V5LW1hc3Rlci1rZXk=",
            BootstrapKey = "bootstrap-key-that-must-not-print-0123456789",
            Store = StoreKind.Postgres,
            Connection = "Host=db;Username=latch;Password=connection-password-must-not-print",
        };
        var text = options.ToString();
        Assert.Contains("Store = Postgres", text, StringComparison.Ordinal);
        Assert.DoesNotContain(options.MasterKey, text, StringComparison.Ordinal);
        Assert.DoesNotContain(options.BootstrapKey, text, StringComparison.Ordinal);
        Assert.DoesNotContain("connection-password-must-not-print", text, StringComparison.Ordinal);
    }
}

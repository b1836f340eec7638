using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Latch.Client.Tests;

public sealed class DependencyInjectionTests : IClassFixture<LatchHarness>
{
    private readonly LatchHarness _latch;

    public DependencyInjectionTests(LatchHarness latch) => _latch = latch;

    [Theory]
    [InlineData("ftp://latch.example.com", "a-key")]
    [InlineData("/relative", "a-key")]
    [InlineData("https://latch.example.com", "")]
    public async Task Invalid_options_fail_when_the_host_starts(string url, string apiKey)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Services.AddLatchClient(o =>
        {
            o.Url = new Uri(url, UriKind.RelativeOrAbsolute);
            o.ApiKey = apiKey;
        });
        using var host = builder.Build();
        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());
        Assert.Contains(error.Failures, f => f.StartsWith("LatchClientOptions.", StringComparison.Ordinal));
    }

    [Fact]
    public async Task The_registered_client_talks_to_the_server()
    {
        var services = new ServiceCollection();
        services.AddLatchClient(o =>
        {
            o.Url = _latch.Url;
            o.ApiKey = LatchHarness.BootstrapKey;
        });
        await using var provider = services.BuildServiceProvider();
        var client = provider.GetRequiredService<LatchClient>();
        Assert.Same(client, provider.GetRequiredService<LatchClient>());
        Assert.Equal("default", (await client.Workspace.GetAsync()).Name);
        var key = LatchHarness.Key("DI");
        await client.Secrets.CreateAsync(new CreateSecretRequest(key) { Value = "di-value" });
        Assert.True(await client.Secrets.ExistsAsync(key));
    }

    [Fact]
    public async Task Resilience_never_retries_a_POST_or_PATCH_but_retries_a_GET()
    {
        await using var stub = await StubServer.StartAsync(status: 503);
        var services = new ServiceCollection();
        services.AddLatchClient(o =>
        {
            o.Url = stub.Url;
            o.ApiKey = "stub-key";
            o.MaxRetryAttempts = 1;
        });
        await using var provider = services.BuildServiceProvider();
        var client = provider.GetRequiredService<LatchClient>();

        var post = await Assert.ThrowsAsync<LatchException>(() => client.Actions.RunAsync(new RunActionRequest("prd", "shop", "app", "charge")));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, post.Status);
        var patch = await Assert.ThrowsAsync<LatchException>(() => client.Secrets.UpdateAsync("KEY", new SecretUpdate { Description = "d" }));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, patch.Status);
        Assert.Equal(1, stub.Requests.Count(r => r.Method == "POST"));
        Assert.Equal(1, stub.Requests.Count(r => r.Method == "PATCH"));

        var get = await Assert.ThrowsAsync<LatchException>(() => client.Workspace.GetAsync());
        Assert.Equal(HttpStatusCode.ServiceUnavailable, get.Status);
        Assert.Equal("http_503", get.Code);
        Assert.Equal(2, stub.Requests.Count(r => r.Method == "GET"));
        Assert.All(stub.Requests, r => Assert.Equal("Bearer stub-key", r.Headers["Authorization"]));
    }
}

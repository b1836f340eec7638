using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Latch.Core.Runtime;
using Latch.Server.Runtime;
using Latch.Server.Tests.Infrastructure;

namespace Latch.Server.Tests.Security;

/// <summary>The egress policy: which addresses it denies, and that actions.run enforces it where it connects.</summary>
public sealed class EgressPolicyTests
{
    [Theory]
    [InlineData("127.0.0.1")]
    [InlineData("127.255.0.9")]
    [InlineData("::1")]
    [InlineData("::")]
    [InlineData("0.0.0.0")]
    [InlineData("10.1.2.3")]
    [InlineData("172.16.0.1")]
    [InlineData("172.31.255.254")]
    [InlineData("192.168.1.1")]
    [InlineData("169.254.169.254")]
    [InlineData("100.64.0.1")]
    [InlineData("224.0.0.1")]
    [InlineData("255.255.255.255")]
    [InlineData("fc00::1")]
    [InlineData("fd12:3456::1")]
    [InlineData("fe80::1")]
    [InlineData("ff02::1")]
    [InlineData("::ffff:127.0.0.1")]
    [InlineData("::ffff:169.254.169.254")]
    [InlineData("::ffff:10.0.0.1")]
    [InlineData("::ffff:192.168.0.1")]
    public void Private_and_special_addresses_are_denied_by_default(string address) =>
        Assert.False(EgressPolicy.Default.IsAllowed(IPAddress.Parse(address)), address);

    [Theory]
    [InlineData("8.8.8.8")]
    [InlineData("1.1.1.1")]
    [InlineData("172.32.0.1")]
    [InlineData("100.128.0.1")]
    [InlineData("2001:4860:4860::8888")]
    [InlineData("::ffff:8.8.8.8")]
    public void Public_addresses_are_allowed_by_default(string address) =>
        Assert.True(EgressPolicy.Default.IsAllowed(IPAddress.Parse(address)), address);

    [Fact]
    public void An_allow_rule_opens_exactly_its_block_in_both_forms()
    {
        var policy = EgressPolicy.Create(["127.0.0.1/32"], []);
        Assert.True(policy.IsAllowed(IPAddress.Parse("127.0.0.1")));
        Assert.True(policy.IsAllowed(IPAddress.Parse("::ffff:127.0.0.1")));
        Assert.False(policy.IsAllowed(IPAddress.Parse("127.0.0.2")));
        Assert.False(policy.IsAllowed(IPAddress.Parse("::1")));
        Assert.False(policy.IsAllowed(IPAddress.Parse("169.254.169.254")));
    }

    [Fact]
    public void Deny_beats_allow_on_the_same_block_and_the_longest_prefix_decides_otherwise()
    {
        // Same block in both lists: deny wins.
        Assert.False(EgressPolicy.Create(["127.0.0.1/32"], ["127.0.0.1"]).IsAllowed(IPAddress.Parse("127.0.0.1")));
        Assert.False(EgressPolicy.Create(["8.8.8.8"], ["8.8.8.8/32"]).IsAllowed(IPAddress.Parse("8.8.8.8")));

        // A more specific deny inside an allowed block.
        var carved = EgressPolicy.Create(["10.0.0.0/8"], ["10.0.0.5"]);
        Assert.False(carved.IsAllowed(IPAddress.Parse("10.0.0.5")));
        Assert.True(carved.IsAllowed(IPAddress.Parse("10.0.0.6")));

        // Deny everything, allow one block.
        var only = EgressPolicy.Create(["203.0.113.0/24"], ["all"]);
        Assert.True(only.IsAllowed(IPAddress.Parse("203.0.113.7")));
        Assert.False(only.IsAllowed(IPAddress.Parse("8.8.8.8")));
        Assert.False(only.IsAllowed(IPAddress.Parse("2001:4860:4860::8888")));

        // Allowing everything does not open the special ranges: their built-in rules are more specific.
        var broad = EgressPolicy.Create(["0.0.0.0/0"], []);
        Assert.False(broad.IsAllowed(IPAddress.Parse("127.0.0.1")));
        Assert.False(broad.IsAllowed(IPAddress.Parse("169.254.169.254")));

        // An explicit allow of exactly a built-in range wins over it.
        Assert.True(EgressPolicy.Create(["127.0.0.0/8"], []).IsAllowed(IPAddress.Parse("127.1.2.3")));

        // An explicit deny of a public address.
        Assert.False(EgressPolicy.Create([], ["8.8.8.8"]).IsAllowed(IPAddress.Parse("8.8.8.8")));
    }

    [Fact]
    public void Shorthands_and_mapped_rules_are_understood()
    {
        Assert.True(EgressPolicy.Create(["loopback"], []).IsAllowed(IPAddress.Parse("::1")));
        Assert.True(EgressPolicy.Create(["loopback"], []).IsAllowed(IPAddress.Parse("127.0.0.1")));
        Assert.True(EgressPolicy.Create(["private"], []).IsAllowed(IPAddress.Parse("192.168.1.1")));
        Assert.False(EgressPolicy.Create(["private"], []).IsAllowed(IPAddress.Parse("169.254.169.254")));
        Assert.True(EgressPolicy.Create(["link-local"], []).IsAllowed(IPAddress.Parse("169.254.169.254")));
        Assert.True(EgressPolicy.Create(["::ffff:127.0.0.0/104"], []).IsAllowed(IPAddress.Parse("127.9.9.9")));
        Assert.False(EgressPolicy.Create([], ["::ffff:8.8.8.0/120"]).IsAllowed(IPAddress.Parse("8.8.8.8")));
    }

    [Theory]
    [InlineData("10.0.0.0/33")]
    [InlineData("10.0.0.1/8")]
    [InlineData("not-a-cidr")]
    [InlineData("")]
    public void Invalid_rules_are_refused_with_the_entry_named(string rule)
    {
        var error = Assert.Throws<FormatException>(() => EgressPolicy.Create([rule], []));
        Assert.Contains($"'{rule}'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_connect_callback_judges_the_address_it_connects_to_so_DNS_rebinding_fails()
    {
        await using var upstream = await EchoUpstream.StartAsync();
        var port = new Uri(upstream.BaseUrl).Port;
        var answers = 0;
        // First answer public (what a pre-check would see), then loopback (what the attacker's DNS says at connect time).
        var guard = new EgressGuard(EgressPolicy.Default, (_, _) =>
            Task.FromResult(Interlocked.Increment(ref answers) == 1 ? [IPAddress.Parse("93.184.216.34")] : new[] { IPAddress.Loopback }));
        Assert.Single(await guard.AllowedAddressesAsync("rebind.example", CancellationToken.None));

        using var handler = new SocketsHttpHandler { ConnectCallback = guard.ConnectAsync, UseProxy = false };
        using var client = new HttpClient(handler);
        var error = await Assert.ThrowsAsync<HttpRequestException>(() => client.GetAsync($"http://rebind.example:{port}/"));
        var refusal = EgressGuard.Refusal(error);
        Assert.NotNull(refusal);
        Assert.Equal("rebind.example", refusal.Host);
        Assert.Equal(IPAddress.Loopback, refusal.Address);
        Assert.Empty(upstream.Received);
    }
}

/// <summary>actions.run against a loopback upstream under several egress settings.</summary>
public sealed class EgressActionTests
{
    private const string Token = "egress-test-token-9f8e7d6c5b4a";

    [Fact]
    public async Task Loopback_is_denied_by_default_with_403_egress_denied_and_nothing_is_sent_or_resolved()
    {
        await using var upstream = await EchoUpstream.StartAsync();
        await using var server = await TestServer.StartAsync(configure: o => o with { EgressAllow = [] });
        await SetUpAsync(server, upstream.BaseUrl);

        var problem = await (await RunAsync(server)).AssertProblemAsync(403, "egress_denied");

        var detail = problem["detail"]!.GetValue<string>();
        Assert.Contains("127.0.0.1", detail, StringComparison.Ordinal);
        Assert.DoesNotContain(Token, problem.ToJsonString(), StringComparison.Ordinal);
        Assert.Empty(upstream.Received);
        // Refused before resolution: the secret was neither decrypted for this action nor audited as resolved.
        var audit = await server.Owner.GetFromJsonAsync<JsonNode>("/v1/audit?action=secret.resolved");
        Assert.Empty(audit!["items"]!.AsArray());
    }

    [Fact]
    public async Task Loopback_is_allowed_with_an_allow_rule()
    {
        await using var upstream = await EchoUpstream.StartAsync();
        await using var server = await TestServer.StartAsync(configure: o => o with { EgressAllow = ["127.0.0.1/32"] });
        await SetUpAsync(server, upstream.BaseUrl);

        using var response = await RunAsync(server);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, body);
        Assert.Equal("Bearer " + Token, Assert.Single(upstream.Received).Headers["Authorization"]);
    }

    [Fact]
    public async Task A_hostname_resolving_to_loopback_is_denied()
    {
        await using var upstream = await EchoUpstream.StartAsync();
        await using var server = await TestServer.StartAsync(configure: o => o with { EgressAllow = [] });
        await SetUpAsync(server, $"http://localhost:{new Uri(upstream.BaseUrl).Port}");

        var problem = await (await RunAsync(server)).AssertProblemAsync(403, "egress_denied");
        Assert.Contains("'localhost'", problem["detail"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Empty(upstream.Received);
    }

    [Fact]
    public async Task An_IPv4_mapped_IPv6_literal_is_judged_as_IPv4()
    {
        await using var upstream = await EchoUpstream.StartAsync();
        var mapped = $"http://[::ffff:127.0.0.1]:{new Uri(upstream.BaseUrl).Port}";
        await using (var server = await TestServer.StartAsync(configure: o => o with { EgressAllow = [] }))
        {
            await SetUpAsync(server, mapped);
            await (await RunAsync(server)).AssertProblemAsync(403, "egress_denied");
            Assert.Empty(upstream.Received);
        }

        // Allowed as 127.0.0.1, it is reached as 127.0.0.1.
        await using (var server = await TestServer.StartAsync(configure: o => o with { EgressAllow = ["127.0.0.1/32"] }))
        {
            await SetUpAsync(server, mapped);
            using var response = await RunAsync(server);
            Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
            Assert.Single(upstream.Received);
        }
    }

    [Fact]
    public async Task Deny_beats_allow_for_the_same_block()
    {
        await using var upstream = await EchoUpstream.StartAsync();
        await using var server = await TestServer.StartAsync(configure: o => o with { EgressAllow = ["127.0.0.1/32"], EgressDeny = ["127.0.0.1"] });
        await SetUpAsync(server, upstream.BaseUrl);

        await (await RunAsync(server)).AssertProblemAsync(403, "egress_denied");
        Assert.Empty(upstream.Received);
    }

    [Fact]
    public async Task An_invalid_rule_stops_the_server_from_starting()
    {
        var output = new StringWriter();
        var exit = await LatchServer.RunAsync(
            new ServeOptions { DataDirectory = TestServer.NewDataDirectory(), Urls = "http://127.0.0.1:0", EgressAllow = ["10.0.0.0/40"] },
            output,
            CancellationToken.None);
        Assert.Equal(LatchServer.StartupFailedExitCode, exit);
        Assert.Contains("egress rule: '10.0.0.0/40'", output.ToString(), StringComparison.Ordinal);
    }

    private static async Task SetUpAsync(TestServer server, string baseUrl)
    {
        await server.Owner.CreateSecretAsync(new { key = "EGRESS_TOKEN", value = Token });
        await Ok(await server.Owner.PostAsJsonAsync("/v1/apps", new
        {
            access_tag = "egress_app",
            name = "Egress",
            envs = new[] { new { slug = "live", base_url = baseUrl } },
            auths = new[] { new { tag = "bearer", headers = new Dictionary<string, string> { ["Authorization"] = "Bearer $Auth{token}" } } },
            actions = new[] { new { @event = "call", method = "POST", path = "/v1/call" } },
        }));
        await Ok(await server.Owner.PostAsJsonAsync("/v1/products", new { tag = "shop", name = "Shop", envs = new[] { new { slug = "prd", env_name = "Production", active = true } } }));
        await Ok(await server.Owner.PostAsJsonAsync("/v1/products/shop/apps", new
        {
            access_tag = "egress_app",
            envs = new[]
            {
                new { app_env_slug = "live", product_env_slug = "prd", auth = new[] { new { auth_tag = "bearer", data = new { token = "$Token{EGRESS_TOKEN}" } } } },
            },
        }));
    }

    private static Task<HttpResponseMessage> RunAsync(TestServer server) =>
        server.Owner.PostAsJsonAsync("/v1/actions/run", new { env = "prd", product = "shop", app = "egress_app", @event = "call", input = new { body = new { n = 1 } } });

    private static async Task Ok(HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"{(int)response.StatusCode}: {text}");
    }
}

using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using Latch.Server.Access;
using Latch.Server.Tests.Infrastructure;

namespace Latch.Server.Tests.Security;

/// <summary>Failed authentications are limited per client address; other addresses and good keys are unaffected.</summary>
public sealed class AuthRateLimitTests
{
    private const string WrongKey = "latch_wrong-key-for-rate-limit-tests-000000000";

    [Fact]
    public async Task After_the_limit_every_request_from_the_address_gets_429_with_retry_after_even_with_a_good_key()
    {
        await using var server = await TestServer.StartAsync(configure: o => o with { AuthFailureLimit = 3, AuthFailureWindow = TimeSpan.FromMinutes(5) });
        using var wrong = server.Client(WrongKey);
        using var anonymous = server.Client(null);

        await (await wrong.GetAsync("/v1/secrets")).AssertProblemAsync(401, "unauthorized");
        await (await anonymous.GetAsync("/v1/secrets")).AssertProblemAsync(401, "unauthorized");
        await (await wrong.GetAsync("/v1/workspace")).AssertProblemAsync(401, "unauthorized");

        using var limited = await wrong.GetAsync("/v1/secrets");
        var problem = await limited.AssertProblemAsync(429, "rate_limited");
        Assert.Equal(TimeSpan.FromMinutes(5), limited.Headers.RetryAfter?.Delta);
        Assert.DoesNotContain(WrongKey, problem.ToJsonString(), StringComparison.Ordinal);

        // Refused before the key is looked up: the owner's valid key from the same address is refused too.
        using var owner = await server.Owner.GetAsync("/v1/secrets");
        await owner.AssertProblemAsync(429, "rate_limited");

        // Routes outside the API are not affected.
        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync("/healthz")).StatusCode);

        // The moment the address was cut off is logged once, naming the address, never the key.
        var lines = server.Logs.Lines.Where(l => l.Contains("[4101]", StringComparison.Ordinal)).ToList();
        Assert.Single(lines);
        Assert.Contains("127.0.0.1", lines[0], StringComparison.Ordinal);
        Assert.DoesNotContain(WrongKey, server.Logs.AllText, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Another_address_still_authenticates_while_one_is_limited()
    {
        await using var server = await TestServer.StartAsync(configure: o => o with { AuthFailureLimit = 2 });
        using var attacker = FromAddress(server, IPAddress.Parse("127.0.0.2"), WrongKey);
        for (var i = 0; i < 2; i++)
        {
            await (await attacker.GetAsync("/v1/secrets")).AssertProblemAsync(401, "unauthorized");
        }

        await (await attacker.GetAsync("/v1/secrets")).AssertProblemAsync(429, "rate_limited");

        // The owner on 127.0.0.1 is not affected, and neither is a good key from a third address.
        Assert.Equal(HttpStatusCode.OK, (await server.Owner.GetAsync("/v1/secrets")).StatusCode);
        using var other = FromAddress(server, IPAddress.Parse("127.0.0.3"), TestServer.BootstrapKey);
        Assert.Equal(HttpStatusCode.OK, (await other.GetAsync("/v1/secrets")).StatusCode);
    }

    [Fact]
    public async Task Successful_authentications_do_not_count_and_the_limit_ends_with_its_window()
    {
        await using var server = await TestServer.StartAsync(configure: o => o with { AuthFailureLimit = 2, AuthFailureWindow = TimeSpan.FromSeconds(1) });
        for (var i = 0; i < 10; i++)
        {
            Assert.Equal(HttpStatusCode.OK, (await server.Owner.GetAsync("/v1/secrets")).StatusCode);
        }

        using var wrong = server.Client(WrongKey);
        await (await wrong.GetAsync("/v1/secrets")).AssertProblemAsync(401, "unauthorized");
        await (await wrong.GetAsync("/v1/secrets")).AssertProblemAsync(401, "unauthorized");
        using var limited = await server.Owner.GetAsync("/v1/secrets");
        await limited.AssertProblemAsync(429, "rate_limited");
        Assert.Equal(TimeSpan.FromSeconds(1), limited.Headers.RetryAfter?.Delta);

        await Task.Delay(TimeSpan.FromMilliseconds(1100));
        Assert.Equal(HttpStatusCode.OK, (await server.Owner.GetAsync("/v1/secrets")).StatusCode);
    }

    [Fact]
    public async Task A_limit_of_zero_turns_limiting_off()
    {
        await using var server = await TestServer.StartAsync(configure: o => o with { AuthFailureLimit = 0 });
        using var wrong = server.Client(WrongKey);
        for (var i = 0; i < 30; i++)
        {
            await (await wrong.GetAsync("/v1/secrets")).AssertProblemAsync(401, "unauthorized");
        }
    }

    [Fact]
    public void The_address_store_is_bounded_and_keeps_the_newest()
    {
        using var limiter = new AuthFailureLimiter(new ServeOptions { AuthFailureLimit = 1, AuthFailureTrackedAddresses = 100 });
        for (var i = 0; i < 5000; i++)
        {
            limiter.RecordFailure($"10.{i / 65536}.{i / 256 % 256}.{i % 256}");
            Assert.True(limiter.TrackedCount <= 100);
        }

        Assert.NotNull(limiter.RetryAfter("10.0.19.135"));   // the last one, still limited
        Assert.Null(limiter.RetryAfter("10.0.0.0"));         // long forgotten
    }

    [Fact]
    public void IPv6_clients_are_grouped_by_their_64_and_mapped_addresses_count_as_IPv4()
    {
        Assert.Equal(AuthFailureLimiter.PartitionOf(IPAddress.Parse("2001:db8:1:2::1")), AuthFailureLimiter.PartitionOf(IPAddress.Parse("2001:db8:1:2:ffff:ffff:ffff:ffff")));
        Assert.NotEqual(AuthFailureLimiter.PartitionOf(IPAddress.Parse("2001:db8:1:2::1")), AuthFailureLimiter.PartitionOf(IPAddress.Parse("2001:db8:1:3::1")));
        Assert.Equal("192.0.2.7", AuthFailureLimiter.PartitionOf(IPAddress.Parse("::ffff:192.0.2.7")));
        Assert.Equal("unknown", AuthFailureLimiter.PartitionOf(null));
    }

    /// <summary>A client whose connections come from <paramref name="local"/> (any 127.x address reaches the server on Linux).</summary>
    private static HttpClient FromAddress(TestServer server, IPAddress local, string apiKey)
    {
        var handler = new SocketsHttpHandler
        {
            UseProxy = false,
            ConnectCallback = async (context, cancellationToken) =>
            {
                var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                try
                {
                    socket.Bind(new IPEndPoint(local, 0));
                    await socket.ConnectAsync(context.DnsEndPoint, cancellationToken);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            },
        };
        var client = new HttpClient(handler, disposeHandler: true) { BaseAddress = server.BaseAddress };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
        return client;
    }
}

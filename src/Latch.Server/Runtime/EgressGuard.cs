using System.Net;
using System.Net.Sockets;
using Latch.Core.Runtime;

namespace Latch.Server.Runtime;

/// <summary>A connection refused by the egress policy. The message names the host and address, nothing else.</summary>
internal sealed class EgressDeniedException : Exception
{
    public EgressDeniedException(string host, IPAddress? address)
        : base(address is null
            ? $"The upstream host '{host}' does not resolve to any address"
            : $"Connecting to '{host}' ({address}) is refused by the egress policy: it is a private or special-purpose address, or denied by --egress-deny")
    {
        Host = host;
        Address = address;
    }

    public string Host { get; }

    public IPAddress? Address { get; }
}

/// <summary>
/// Enforces <see cref="EgressPolicy"/> where the action runner's sockets are opened: the host is resolved here, every
/// address is judged, and the socket connects only to an address that was judged — so a DNS answer that changes between
/// a check and the connection (DNS rebinding) cannot reach a denied address.
/// </summary>
internal sealed class EgressGuard
{
    private readonly EgressPolicy _policy;
    private readonly Func<string, CancellationToken, Task<IPAddress[]>> _resolve;

    /// <param name="policy">What may be reached.</param>
    /// <param name="resolve">The resolver (tests pass one that changes its answer, as a rebinding attacker's DNS would).</param>
    public EgressGuard(EgressPolicy policy, Func<string, CancellationToken, Task<IPAddress[]>>? resolve = null)
    {
        _policy = policy;
        _resolve = resolve ?? Dns.GetHostAddressesAsync;
    }

    public EgressPolicy Policy => _policy;

    /// <summary>The allowed addresses of <paramref name="host"/>, in resolver order; throws when there is none.</summary>
    public async Task<IPAddress[]> AllowedAddressesAsync(string host, CancellationToken cancellationToken)
    {
        var bare = host.Trim('[', ']');
        var addresses = IPAddress.TryParse(bare, out var literal)
            ? [literal]
            : await _resolve(bare, cancellationToken);
        var allowed = addresses.Where(_policy.IsAllowed).ToArray();
        if (allowed.Length == 0)
        {
            throw new EgressDeniedException(bare, addresses.FirstOrDefault());
        }

        return allowed;
    }

    /// <summary>A <see cref="SocketsHttpHandler.ConnectCallback"/> that connects only to allowed addresses.</summary>
    public async ValueTask<Stream> ConnectAsync(SocketsHttpConnectionContext context, CancellationToken cancellationToken)
    {
        var endpoint = context.DnsEndPoint;
        var addresses = await AllowedAddressesAsync(endpoint.Host, cancellationToken);
        SocketException? last = null;
        foreach (var allowed in addresses)
        {
            // The judged form: ::ffff:a.b.c.d is connected to as a.b.c.d.
            var address = EgressPolicy.Normalize(allowed);
            var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                await socket.ConnectAsync(new IPEndPoint(address, endpoint.Port), cancellationToken);
                return new NetworkStream(socket, ownsSocket: true);
            }
            catch (SocketException e)
            {
                socket.Dispose();
                last = e;
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        }

        throw last!;
    }

    /// <summary>The refusal carried by an <see cref="HttpRequestException"/>, if that is what it was.</summary>
    public static EgressDeniedException? Refusal(Exception exception)
    {
        for (Exception? e = exception; e is not null; e = e.InnerException)
        {
            if (e is EgressDeniedException denied)
            {
                return denied;
            }
        }

        return null;
    }
}

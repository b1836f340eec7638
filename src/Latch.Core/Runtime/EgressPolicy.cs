using System.Net;
using System.Net.Sockets;

namespace Latch.Core.Runtime;

/// <summary>
/// Which addresses <c>actions.run</c> may connect to (SSRF protection). Rules are CIDR blocks, single addresses or the
/// shorthands <c>loopback</c>, <c>private</c>, <c>link-local</c> and <c>all</c>.
/// <para>
/// Decision for an address (an IPv4-mapped IPv6 address such as <c>::ffff:127.0.0.1</c> is judged as its IPv4 address;
/// rules written in that form are read as IPv4 rules): of every rule that contains the address — explicit allow rules,
/// explicit deny rules and the built-in deny rules of <see cref="SpecialRanges"/> — the one with the longest prefix
/// decides. On a tie an explicit deny beats an explicit allow, which beats a built-in deny. No matching rule: allowed.
/// So <c>--egress-allow 127.0.0.1/32</c> opens exactly that address, <c>--egress-allow 0.0.0.0/0</c> does not open
/// loopback (the built-in <c>127.0.0.0/8</c> is more specific), and <c>--egress-deny 0.0.0.0/0 --egress-allow
/// 203.0.113.0/24</c> allows only that block.
/// </para>
/// </summary>
public sealed class EgressPolicy
{
    /// <summary>Ranges denied unless an allow rule at least as specific says otherwise.</summary>
    public static readonly IReadOnlyList<string> SpecialRanges =
    [
        "0.0.0.0/8",          // "this network"
        "10.0.0.0/8",         // private
        "100.64.0.0/10",      // carrier-grade NAT
        "127.0.0.0/8",        // loopback
        "169.254.0.0/16",     // link-local, cloud metadata (169.254.169.254)
        "172.16.0.0/12",      // private
        "192.0.0.0/24",       // IETF protocol assignments
        "192.168.0.0/16",     // private
        "198.18.0.0/15",      // benchmarking
        "224.0.0.0/4",        // multicast
        "240.0.0.0/4",        // reserved, broadcast
        "::/96",              // unspecified, loopback (::1), IPv4-compatible
        "64:ff9b:1::/48",     // local-use NAT64
        "fc00::/7",           // unique local
        "fe80::/10",          // link-local
        "fec0::/10",          // site-local (deprecated)
        "ff00::/8",           // multicast
    ];

    private static readonly Dictionary<string, string[]> Shorthands = new(StringComparer.OrdinalIgnoreCase)
    {
        ["loopback"] = ["127.0.0.0/8", "::1/128"],
        ["private"] = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "fc00::/7"],
        ["link-local"] = ["169.254.0.0/16", "fe80::/10"],
        ["all"] = ["0.0.0.0/0", "::/0"],
    };

    private readonly List<Rule> _rules;

    private EgressPolicy(List<Rule> rules) => _rules = rules;

    /// <summary>The default policy: <see cref="SpecialRanges"/> denied, everything else allowed.</summary>
    public static EgressPolicy Default { get; } = Create([], []);

    /// <summary>
    /// Builds a policy. Throws <see cref="FormatException"/> naming the first entry that is not a CIDR block, an address
    /// or a shorthand.
    /// </summary>
    public static EgressPolicy Create(IEnumerable<string> allow, IEnumerable<string> deny)
    {
        ArgumentNullException.ThrowIfNull(allow);
        ArgumentNullException.ThrowIfNull(deny);
        var rules = new List<Rule>();
        foreach (var range in SpecialRanges)
        {
            rules.Add(new Rule(Normalize(IPNetwork.Parse(range)), Verdict.BuiltInDeny));
        }

        foreach (var entry in allow)
        {
            rules.AddRange(ParseEntry(entry).Select(n => new Rule(n, Verdict.Allow)));
        }

        foreach (var entry in deny)
        {
            rules.AddRange(ParseEntry(entry).Select(n => new Rule(n, Verdict.Deny)));
        }

        return new EgressPolicy(rules);
    }

    /// <summary>Whether <paramref name="entry"/> is a valid rule (for early validation of flags).</summary>
    public static bool TryValidate(string entry, out string? error)
    {
        try
        {
            _ = ParseEntry(entry);
            error = null;
            return true;
        }
        catch (FormatException e)
        {
            error = e.Message;
            return false;
        }
    }

    /// <summary>Whether a connection to <paramref name="address"/> is allowed.</summary>
    public bool IsAllowed(IPAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        var candidate = Normalize(address);
        Rule? best = null;
        foreach (var rule in _rules)
        {
            if (rule.Network.BaseAddress.AddressFamily != candidate.AddressFamily || !rule.Network.Contains(candidate))
            {
                continue;
            }

            if (best is null || rule.Network.PrefixLength > best.Network.PrefixLength
                || (rule.Network.PrefixLength == best.Network.PrefixLength && rule.Verdict > best.Verdict))
            {
                best = rule;
            }
        }

        return best is null || best.Verdict == Verdict.Allow;
    }

    /// <summary>The address as it is judged: IPv4-mapped IPv6 becomes IPv4, the scope id is dropped.</summary>
    public static IPAddress Normalize(IPAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        if (address.IsIPv4MappedToIPv6)
        {
            return address.MapToIPv4();
        }

        return address.AddressFamily == AddressFamily.InterNetworkV6 && address.ScopeId != 0
            ? new IPAddress(address.GetAddressBytes())
            : address;
    }

    private static IEnumerable<IPNetwork> ParseEntry(string entry)
    {
        var text = entry?.Trim() ?? "";
        if (Shorthands.TryGetValue(text, out var expanded))
        {
            return expanded.Select(e => IPNetwork.Parse(e));
        }

        if (IPNetwork.TryParse(text, out var network))
        {
            // 10.0.0.1/8 is ambiguous (the block, or a typo for one address?): refuse it rather than guess.
            if (IPAddress.TryParse(text[..text.IndexOf('/', StringComparison.Ordinal)], out var written) && !written.Equals(network.BaseAddress))
            {
                throw new FormatException($"'{text}' has bits set after its /{network.PrefixLength} prefix: write {network} for the block, or the address alone");
            }

            return [Normalize(network)];
        }

        if (IPAddress.TryParse(text.Trim('[', ']'), out var single) && !text.Contains('/', StringComparison.Ordinal))
        {
            var address = Normalize(single);
            return [new IPNetwork(address, address.AddressFamily == AddressFamily.InterNetwork ? 32 : 128)];
        }

        throw new FormatException(
            $"'{text}' is not a CIDR block (e.g. 10.0.0.0/8, 2001:db8::/32), an address, or one of loopback, private, link-local, all");
    }

    private static IPNetwork Normalize(IPNetwork network)
    {
        // ::ffff:a.b.c.d/n (n >= 96) is the IPv4 block a.b.c.d/(n - 96).
        if (network.BaseAddress.IsIPv4MappedToIPv6 && network.PrefixLength >= 96)
        {
            return new IPNetwork(network.BaseAddress.MapToIPv4(), network.PrefixLength - 96);
        }

        return network;
    }

    private enum Verdict
    {
        BuiltInDeny = 0,
        Allow = 1,
        Deny = 2,
    }

    private sealed record Rule(IPNetwork Network, Verdict Verdict);
}

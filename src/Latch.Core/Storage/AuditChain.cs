using System.Buffers;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Latch.Core.Storage;

/// <summary>
/// The audit hash chain: each event's hash covers its fields and the previous event's hash in the same
/// workspace, so editing, deleting or reordering a stored event breaks every later link.
/// </summary>
public static class AuditChain
{
    /// <summary>The previous hash of a workspace's first event.</summary>
    public const string Genesis = "0000000000000000000000000000000000000000000000000000000000000000";

    /// <summary>Returns the event with <see cref="AuditEvent.PrevHash"/> and <see cref="AuditEvent.Hash"/> set.</summary>
    public static AuditEvent Link(AuditEvent e, string previousHash)
    {
        ArgumentNullException.ThrowIfNull(e);
        return e with { PrevHash = previousHash, Hash = Compute(e, previousHash) };
    }

    /// <summary>The hash an event should carry given its fields and <see cref="AuditEvent.PrevHash"/>.</summary>
    /// <remarks>
    /// SHA-256 over the UTF-8 of the fields in a fixed order, each written as <c>{UTF-16 length}:{text}</c> (or
    /// <c>-1:</c> for a missing one) so field boundaries cannot be shifted. The bytes are written straight into one
    /// buffer — no intermediate string — because the audit writer hashes every event it commits.
    /// </remarks>
    public static string Compute(AuditEvent e)
    {
        ArgumentNullException.ThrowIfNull(e);
        return Compute(e, e.PrevHash);
    }

    /// <summary>The hash of <paramref name="e"/> as the link after <paramref name="previousHash"/> (its own <see cref="AuditEvent.PrevHash"/> is ignored).</summary>
    internal static string Compute(AuditEvent e, string previousHash)
    {
        Span<char> at = stackalloc char[40];
        if (!e.At.UtcDateTime.TryFormat(at, out var atLength, "O", CultureInfo.InvariantCulture))
        {
            throw new InvalidOperationException("An audit time did not format.");
        }

        Span<char> version = stackalloc char[11];
        var versionLength = -1;
        if (e.Version is { } v && !v.TryFormat(version, out versionLength, provider: CultureInfo.InvariantCulture))
        {
            throw new InvalidOperationException("An audit version did not format.");
        }

        // Upper bound: per field a sign, ten digits and ':', and at most three UTF-8 bytes per UTF-16 unit.
        var maxBytes = 18 * 12 + 3 * (Length(previousHash) + Length(e.Id) + Length(e.WorkspaceId) + atLength + Length(e.Action) + Length(e.ActorKeyId)
            + Length(e.ActorName) + Length(e.RequestId) + Length(e.Client) + Length(e.SecretKey) + Math.Max(0, versionLength) + Length(e.Product)
            + Length(e.App) + Length(e.Env) + Length(e.Context) + Length(e.Path) + Length(e.Code) + Length(e.Detail));
        byte[]? rented = null;
        var buffer = maxBytes <= 1024 ? stackalloc byte[1024] : (rented = ArrayPool<byte>.Shared.Rent(maxBytes));
        try
        {
            var n = 0;
            n += Field(buffer[n..], previousHash);
            n += Field(buffer[n..], e.Id);
            n += Field(buffer[n..], e.WorkspaceId);
            n += Field(buffer[n..], at[..atLength], isNull: false);
            n += Field(buffer[n..], e.Action);
            n += Field(buffer[n..], e.ActorKeyId);
            n += Field(buffer[n..], e.ActorName);
            n += Field(buffer[n..], e.RequestId);
            n += Field(buffer[n..], e.Client);
            n += Field(buffer[n..], e.SecretKey);
            n += Field(buffer[n..], version[..Math.Max(0, versionLength)], isNull: versionLength < 0);
            n += Field(buffer[n..], e.Product);
            n += Field(buffer[n..], e.App);
            n += Field(buffer[n..], e.Env);
            n += Field(buffer[n..], e.Context);
            n += Field(buffer[n..], e.Path);
            n += Field(buffer[n..], e.Code);
            n += Field(buffer[n..], e.Detail);
            Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
            SHA256.HashData(buffer[..n], hash);
            return Convert.ToHexStringLower(hash);
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    /// <summary>
    /// The chain's definition written plainly — StringBuilder, string, UTF-8 array — as it was first implemented. Not used
    /// by the store: <see cref="Compute(AuditEvent)"/> must give exactly this (AuditChainTests) and is measured against it
    /// (AuditChainBenchmarks).
    /// </summary>
    internal static string ComputeAsDefined(AuditEvent e)
    {
        var builder = new StringBuilder(256);
        void Field(string? value)
        {
            if (value is null)
            {
                builder.Append("-1:");
                return;
            }

            builder.Append(value.Length.ToString(CultureInfo.InvariantCulture)).Append(':').Append(value);
        }

        Field(e.PrevHash);
        Field(e.Id);
        Field(e.WorkspaceId);
        Field(e.At.UtcDateTime.ToString("O", CultureInfo.InvariantCulture));
        Field(e.Action);
        Field(e.ActorKeyId);
        Field(e.ActorName);
        Field(e.RequestId);
        Field(e.Client);
        Field(e.SecretKey);
        Field(e.Version?.ToString(CultureInfo.InvariantCulture));
        Field(e.Product);
        Field(e.App);
        Field(e.Env);
        Field(e.Context);
        Field(e.Path);
        Field(e.Code);
        Field(e.Detail);
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(builder.ToString())));
    }

    private static int Length(string? value) => value?.Length ?? 0;

    private static int Field(Span<byte> destination, string? value) => Field(destination, value.AsSpan(), value is null);

    private static int Field(Span<byte> destination, ReadOnlySpan<char> value, bool isNull)
    {
        if (isNull)
        {
            "-1:"u8.CopyTo(destination);
            return 3;
        }

        // The length counts UTF-16 code units (string.Length), as the chain has always done; the text is UTF-8, a
        // lone surrogate becoming U+FFFD exactly as Encoding.UTF8 always wrote it.
        if (!value.Length.TryFormat(destination, out var digits, provider: CultureInfo.InvariantCulture))
        {
            throw new InvalidOperationException("An audit field length did not format.");
        }

        destination[digits] = (byte)':';
        return digits + 1 + Encoding.UTF8.GetBytes(value, destination[(digits + 1)..]);
    }

    /// <summary>
    /// Walks a workspace's events in commit order: each must link to the previous hash and carry the hash of its own
    /// fields. Returns how many were checked and the first broken event, if any.
    /// </summary>
    public static async Task<(long Checked, AuditEvent? FirstBroken)> VerifyAsync(IAsyncEnumerable<AuditEvent> events, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(events);
        var previous = Genesis;
        long count = 0;
        await foreach (var e in events.WithCancellation(cancellationToken))
        {
            count++;
            if (!string.Equals(e.PrevHash, previous, StringComparison.Ordinal) || !string.Equals(Compute(e), e.Hash, StringComparison.Ordinal))
            {
                return (count, e);
            }

            previous = e.Hash;
        }

        return (count, null);
    }
}

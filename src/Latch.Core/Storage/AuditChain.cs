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
        var linked = e with { PrevHash = previousHash, Hash = "" };
        return linked with { Hash = Compute(linked) };
    }

    /// <summary>The hash an event should carry given its fields and <see cref="AuditEvent.PrevHash"/>.</summary>
    public static string Compute(AuditEvent e)
    {
        var builder = new StringBuilder(256);
        void Field(string? value)
        {
            // Length-prefixed so field boundaries cannot be shifted.
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

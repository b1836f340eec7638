using System.Buffers;
using System.Text;
using System.Text.Json;

namespace Latch.Core.Storage;

/// <summary>
/// How the embedded store keeps the <c>secret.resolved</c> events of one resolution in one row (SQLite schema 4).
/// </summary>
/// <remarks>
/// <para>
/// A resolution of N references yields N events that differ only in id, secret, version and JSON path. Storing them as N
/// rows made the audit write the ceiling of <c>POST /v1/secrets/resolve</c> (docs/DECISIONS.md, "Performance"). A
/// compact row holds the shared fields once, the per-reference facts as <c>refs</c>
/// (<c>[[id, secret, version, path], …]</c>) and their number as <c>ref_count</c>.
/// </para>
/// <para>
/// Nothing about the events changes: each keeps its id, gets its own sequence number (the row's <c>seq</c> is the first
/// one, and the next row starts after the last), and is a link of the same hash chain as if it had its own row — the row
/// stores the chain's hash before its first event (<c>prev_hash</c>) and after its last (<c>hash</c>); the links between
/// are recomputed when the row is read. So an edited reference makes the row's last link fail verification.
/// </para>
/// </remarks>
internal static class CompactResolutions
{
    /// <summary>The most events one row holds; a larger resolution takes several rows.</summary>
    public const int MaxEventsPerRow = 256;

    private const string Resolved = "secret.resolved";

    /// <summary>
    /// How many events from <paramref name="start"/> on can share one row: 1 when the event stands alone, otherwise the
    /// length of the run of resolution events that agree on every field except id, secret, version and path.
    /// </summary>
    public static int RunLength(IReadOnlyList<AuditEvent> events, int start)
    {
        var first = events[start];
        if (!Compactable(first))
        {
            return 1;
        }

        var end = start + 1;
        while (end < events.Count && end - start < MaxEventsPerRow && SharesRow(first, events[end]))
        {
            end++;
        }

        return end - start;
    }

    /// <summary>The <c>refs</c> column for <paramref name="count"/> events from <paramref name="start"/> on.</summary>
    public static string Write(IReadOnlyList<AuditEvent> events, int start, int count)
    {
        var buffer = new ArrayBufferWriter<byte>(64 * count);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartArray();
            for (var i = start; i < start + count; i++)
            {
                var e = events[i];
                writer.WriteStartArray();
                writer.WriteStringValue(e.Id);
                writer.WriteStringValue(e.SecretKey);
                if (e.Version is { } version)
                {
                    writer.WriteNumberValue(version);
                }
                else
                {
                    writer.WriteNullValue();
                }

                writer.WriteStringValue(e.Path);
                writer.WriteEndArray();
            }

            writer.WriteEndArray();
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>
    /// The events of a row, oldest first, appended to <paramref name="into"/>. <paramref name="row"/> carries the row's
    /// shared fields, its first sequence number and its stored hashes. A row whose <c>refs</c> cannot be read (or
    /// disagree with <paramref name="count"/> or with the row's own columns) is returned as one event with the row's own fields — whose hash then
    /// fails verification, so damage is reported, never hidden.
    /// </summary>
    public static void Expand(AuditEvent row, string refs, long count, List<AuditEvent> into)
    {
        // A compact row never has its own secret, version or path, and its id is its first event's; those columns are
        // not covered by the hash as such, so a row that has them set was edited and reads back as damaged.
        var parsed = Parse(refs);
        if (parsed is null || parsed.Count < 2 || parsed.Count != count
            || row.SecretKey is not null || row.Version is not null || row.Path is not null
            || !string.Equals(parsed[0].Id, row.Id, StringComparison.Ordinal))
        {
            into.Add(row);
            return;
        }

        var previous = row.PrevHash;
        for (var i = 0; i < parsed.Count; i++)
        {
            var (id, key, version, path) = parsed[i];
            var e = row with { Id = id, SecretKey = key, Version = version, Path = path, Sequence = row.Sequence + i, PrevHash = previous, Hash = "" };
            var hash = i == parsed.Count - 1 ? row.Hash : AuditChain.Compute(e, previous);
            into.Add(e with { Hash = hash });
            previous = hash;
        }
    }

    private static bool Compactable(AuditEvent e) => e.Action == Resolved && e.SecretKey is not null;

    private static bool SharesRow(AuditEvent first, AuditEvent e) =>
        Compactable(e)
        && e.At == first.At
        && e.At.Offset == first.At.Offset
        && string.Equals(e.WorkspaceId, first.WorkspaceId, StringComparison.Ordinal)
        && string.Equals(e.ActorKeyId, first.ActorKeyId, StringComparison.Ordinal)
        && string.Equals(e.ActorName, first.ActorName, StringComparison.Ordinal)
        && string.Equals(e.RequestId, first.RequestId, StringComparison.Ordinal)
        && string.Equals(e.Client, first.Client, StringComparison.Ordinal)
        && string.Equals(e.Product, first.Product, StringComparison.Ordinal)
        && string.Equals(e.App, first.App, StringComparison.Ordinal)
        && string.Equals(e.Env, first.Env, StringComparison.Ordinal)
        && string.Equals(e.Context, first.Context, StringComparison.Ordinal)
        && string.Equals(e.Code, first.Code, StringComparison.Ordinal)
        && string.Equals(e.Detail, first.Detail, StringComparison.Ordinal);

    private static List<(string Id, string Key, int? Version, string? Path)>? Parse(string refs)
    {
        try
        {
            var reader = new Utf8JsonReader(Encoding.UTF8.GetBytes(refs));
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartArray)
            {
                return null;
            }

            var list = new List<(string, string, int?, string?)>();
            while (reader.Read() && reader.TokenType == JsonTokenType.StartArray)
            {
                if (!Next(ref reader, JsonTokenType.String) || reader.GetString() is not { } id
                    || !Next(ref reader, JsonTokenType.String) || reader.GetString() is not { } key
                    || !reader.Read())
                {
                    return null;
                }

                int? version = null;
                if (reader.TokenType == JsonTokenType.Number && reader.TryGetInt32(out var v))
                {
                    version = v;
                }
                else if (reader.TokenType != JsonTokenType.Null)
                {
                    return null;
                }

                string? path = null;
                if (!reader.Read())
                {
                    return null;
                }

                if (reader.TokenType == JsonTokenType.String)
                {
                    path = reader.GetString();
                }
                else if (reader.TokenType != JsonTokenType.Null)
                {
                    return null;
                }

                if (!reader.Read() || reader.TokenType != JsonTokenType.EndArray)
                {
                    return null;
                }

                list.Add((id, key, version, path));
            }

            return reader.TokenType == JsonTokenType.EndArray && !reader.Read() ? list : null;
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or ArgumentException)
        {
            // Damaged text (malformed JSON, a lone surrogate GetString refuses): reported by verification, never thrown.
            return null;
        }
    }

    private static bool Next(ref Utf8JsonReader reader, JsonTokenType expected) => reader.Read() && reader.TokenType == expected;
}

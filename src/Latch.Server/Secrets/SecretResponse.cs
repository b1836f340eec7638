using System.Text.Json.Serialization;
using Latch.Core.Storage;

namespace Latch.Server.Secrets;

/// <summary>A secret as the API shows it (SPEC §3). <c>value</c> only on reveal and on a generated create.</summary>
internal sealed record SecretResponse(
    string Key,
    string? Description,
    string? TokenType,
    IReadOnlyList<string> Scope,
    IReadOnlyList<string> Envs,
    long? ExpiresAt,
    string Status,
    int Version,
    DateTime CreatedAt,
    DateTime UpdatedAt,
    DateTime? LastUsedAt,
    string Reference,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Value = null)
{
    public static SecretResponse From(SecretRecord s, DateTimeOffset now, string? value = null) => new(
        s.Key, s.Description, s.TokenType, s.Scope, s.Envs, s.ExpiresAt, StatusOf(s, now), s.Version,
        s.CreatedAt.UtcDateTime, s.UpdatedAt.UtcDateTime, s.LastUsedAt?.UtcDateTime, $"$Token{{{s.Key}}}", value);

    public static string StatusOf(SecretRecord s, DateTimeOffset now) =>
        s.Revoked ? "revoked" : s.ExpiresAt is { } e && now.ToUnixTimeSeconds() >= e ? "expired" : "active";
}

internal sealed record SecretVersionResponse(int Version, DateTime CreatedAt, string? CreatedBy);

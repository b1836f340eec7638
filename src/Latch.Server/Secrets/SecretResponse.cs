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
    bool ExpiringSoon,
    int Version,
    DateTime CreatedAt,
    DateTime UpdatedAt,
    DateTime? LastUsedAt,
    string Reference,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Value = null)
{
    /// <summary>The response for a request: <c>expiring_soon</c> uses the server's <see cref="ServeOptions.ExpiryWarning"/>.</summary>
    public static SecretResponse From(SecretRecord s, DateTimeOffset now, HttpContext context, string? value = null) =>
        From(s, now, context.RequestServices.GetRequiredService<ServeOptions>().ExpiryWarning, value);

    public static SecretResponse From(SecretRecord s, DateTimeOffset now, TimeSpan expiryWarning, string? value = null) => new(
        s.Key, s.Description, s.TokenType, s.Scope, s.Envs, s.ExpiresAt, StatusOf(s, now), IsExpiringSoon(s, now, expiryWarning), s.Version,
        s.CreatedAt.UtcDateTime, s.UpdatedAt.UtcDateTime, s.LastUsedAt?.UtcDateTime, $"$Token{{{s.Key}}}", value);

    /// <summary>Not revoked, not expired, and expiring within the window (the same rule as <c>?expiring_within=</c>).</summary>
    public static bool IsExpiringSoon(SecretRecord s, DateTimeOffset now, TimeSpan window)
    {
        if (s.Revoked || s.ExpiresAt is not { } expires)
        {
            return false;
        }

        var nowSeconds = now.ToUnixTimeSeconds();
        return expires > nowSeconds && expires - nowSeconds <= (long)window.TotalSeconds;
    }

    public static string StatusOf(SecretRecord s, DateTimeOffset now) =>
        s.Revoked ? "revoked" : s.ExpiresAt is { } e && now.ToUnixTimeSeconds() >= e ? "expired" : "active";
}

internal sealed record SecretVersionResponse(int Version, DateTime CreatedAt, string? CreatedBy);

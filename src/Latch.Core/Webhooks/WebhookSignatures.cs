using System.Buffers.Text;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Latch.Core.Secrets;

namespace Latch.Core.Webhooks;

/// <summary>The outcome of checking a delivery's signature.</summary>
/// <param name="Ok">True when a signature matched (and, for timestamped schemes, the timestamp is within tolerance).</param>
/// <param name="Reason">One of <see cref="WebhookReasons"/> when not ok.</param>
/// <param name="MatchedSecret">Index in the given secrets of the one that matched; -1 when none did.</param>
public sealed record WebhookVerification(bool Ok, string? Reason, int MatchedSecret)
{
    /// <summary>
    /// Hex SHA-256 of the signature (MAC bytes) that matched, when one did: the same for every identical replay of a
    /// delivery however its header is re-spelled (case, order, extra entries), since only the MAC itself is hashed.
    /// </summary>
    public string? SignatureDigest { get; init; }

    internal static WebhookVerification Rejected(string reason) => new(false, reason, -1);
}

/// <summary>
/// Signature checks of the four schemes of SPEC §4. Pure functions of the headers, the raw body, the candidate secrets and
/// the time: every comparison of MACs is constant-time, and a header may carry several signatures (any valid one verifies).
/// </summary>
public static class WebhookSignatures
{
    private const int MacLength = 32;
    private const string StandardSecretPrefix = "whsec_";
    private const string Sha256Prefix = "sha256=";

    /// <summary>Headers never stored with a delivery: signatures of every scheme and credentials.</summary>
    private static readonly string[] AlwaysRemoved =
    [
        WebhookSchemes.GitHubHeader, "X-Hub-Signature", WebhookSchemes.StripeHeader, WebhookSchemes.StandardSignatureHeader,
        "Authorization", "Proxy-Authorization", "Cookie",
    ];

    /// <summary>
    /// Checks only the headers' presence and form: <see cref="WebhookReasons.SignatureMissing"/> or
    /// <see cref="WebhookReasons.SignatureMalformed"/>, or null when a signature is there to be checked. Lets a receiver
    /// refuse obviously unsigned deliveries before resolving the secret.
    /// </summary>
    public static string? Precheck(WebhookDefinition hook, Func<string, string?> header)
    {
        ArgumentNullException.ThrowIfNull(hook);
        ArgumentNullException.ThrowIfNull(header);
        return Parse(hook, header).Reason;
    }

    /// <summary>
    /// Verifies a delivery against each candidate secret (the current version first, then, in a rotation grace, the
    /// previous one). The signature is checked before the timestamp, so a stale timestamp is reported only for a
    /// delivery that was genuinely signed (a replay).
    /// </summary>
    public static WebhookVerification Verify(
        WebhookDefinition hook, Func<string, string?> header, ReadOnlySpan<byte> body, IReadOnlyList<SecretValue> secrets, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(hook);
        ArgumentNullException.ThrowIfNull(header);
        ArgumentNullException.ThrowIfNull(secrets);
        var parsed = Parse(hook, header);
        if (parsed.Reason is { } reason)
        {
            return WebhookVerification.Rejected(reason);
        }

        var matched = -1;
        byte[]? matchedMac = null;
        var usable = 0;
        Span<byte> mac = stackalloc byte[MacLength];
        for (var i = 0; i < secrets.Count && matched < 0; i++)
        {
            var key = KeyOf(hook.Scheme, secrets[i]);
            if (key is null)
            {
                continue;
            }

            usable++;
            try
            {
                using var hmac = IncrementalHash.CreateHMAC(HashAlgorithmName.SHA256, key);
                hmac.AppendData(parsed.Prefix);
                hmac.AppendData(body);
                hmac.GetHashAndReset(mac);
                foreach (var candidate in parsed.Candidates)
                {
                    // Every candidate is compared (no early exit on a mismatch), each in constant time.
                    if (CryptographicOperations.FixedTimeEquals(mac, candidate))
                    {
                        matched = i;
                        matchedMac = candidate;
                    }
                }

                CryptographicOperations.ZeroMemory(mac);
            }
            finally
            {
                CryptographicOperations.ZeroMemory(key);
            }
        }

        if (usable == 0)
        {
            return WebhookVerification.Rejected(WebhookReasons.SecretUnusable);
        }

        if (matched < 0)
        {
            return WebhookVerification.Rejected(WebhookReasons.SignatureMismatch);
        }

        if (parsed.Timestamp is { } timestamp)
        {
            var tolerance = hook.ToleranceSeconds ?? WebhookSchemes.DefaultToleranceSeconds;
            // Both directions: a timestamp far in the future is as suspect as an old one (Standard Webhooks does the same).
            if (Math.Abs(now.ToUnixTimeSeconds() - timestamp) > tolerance)
            {
                return WebhookVerification.Rejected(WebhookReasons.TimestampStale);
            }
        }

        return new WebhookVerification(true, null, matched) { SignatureDigest = Convert.ToHexStringLower(SHA256.HashData(matchedMac!)) };
    }

    /// <summary>GitHub's delivery id header (not signed by GitHub).</summary>
    public const string GitHubDeliveryHeader = "X-GitHub-Delivery";

    /// <summary>
    /// The replay keys of a verified delivery (hex SHA-256 of <c>kind:id</c>, so each is 64 characters whatever the sender
    /// sent): a delivery is a replay when any of its keys was already accepted for the webhook.
    /// <list type="bullet">
    /// <item><c>standard</c>: the <c>webhook-id</c> (signed, so it cannot be changed by whoever replays).</item>
    /// <item><c>stripe</c>: the event <c>id</c> at the top of the JSON body (signed with the body; Stripe's own retries
    /// re-sign with a new timestamp but keep the event id), else the matched signature.</item>
    /// <item><c>github</c>: <c>X-GitHub-Delivery</c> when present AND the matched signature — the header is not signed,
    /// so a replay with a new delivery id still carries the same signature of the same body.</item>
    /// <item><c>hmac_sha256</c>: the matched signature (an identical replay has an identical MAC).</item>
    /// </list>
    /// </summary>
    public static IReadOnlyList<string> ReplayKeys(WebhookDefinition hook, Func<string, string?> header, ReadOnlySpan<byte> body, WebhookVerification verification)
    {
        ArgumentNullException.ThrowIfNull(hook);
        ArgumentNullException.ThrowIfNull(header);
        ArgumentNullException.ThrowIfNull(verification);
        if (!verification.Ok || verification.SignatureDigest is not { } digest)
        {
            throw new ArgumentException("Only a verified delivery has replay keys.", nameof(verification));
        }

        var keys = new List<string>(2);
        switch (hook.Scheme)
        {
            case WebhookSchemes.Standard when header(WebhookSchemes.StandardIdHeader) is { Length: > 0 } id:
                keys.Add("standard-id:" + id);
                break;
            case WebhookSchemes.Stripe when StripeEventId(body) is { } eventId:
                keys.Add("stripe-event:" + eventId);
                break;
            case WebhookSchemes.GitHub:
                if (header(GitHubDeliveryHeader) is { Length: > 0 } delivery)
                {
                    keys.Add("github-delivery:" + delivery.Trim());
                }

                keys.Add("signature:" + digest);
                break;
            default:
                keys.Add("signature:" + digest);
                break;
        }

        return keys.Select(k => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(k)))).ToList();
    }

    /// <summary>The top-level <c>"id"</c> string of a JSON object body (Stripe's event id), or null.</summary>
    private static string? StripeEventId(ReadOnlySpan<byte> body)
    {
        try
        {
            var reader = new Utf8JsonReader(body, new JsonReaderOptions { MaxDepth = 64 });
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return null;
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var isId = reader.ValueTextEquals("id"u8);
                reader.Read();
                if (isId && reader.TokenType == JsonTokenType.String && reader.GetString() is { Length: > 0 } id)
                {
                    return id;
                }

                reader.Skip();
            }

            return null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>
    /// The headers of a delivery as stored: a JSON object of name → value, without any signature header (of every scheme,
    /// and the webhook's own <c>hmac_sha256</c> header) and without credentials (<c>Authorization</c>, <c>Cookie</c>).
    /// </summary>
    public static string HeadersForStorage(WebhookDefinition hook, IEnumerable<KeyValuePair<string, string>> headers)
    {
        ArgumentNullException.ThrowIfNull(hook);
        ArgumentNullException.ThrowIfNull(headers);
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            var written = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
            foreach (var (name, value) in headers)
            {
                if (IsRemoved(hook, name) || !written.Add(name))
                {
                    continue;
                }

                writer.WriteString(name, value);
            }

            writer.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    /// <summary>Whether a header is left out of a stored delivery.</summary>
    public static bool IsRemoved(WebhookDefinition hook, string name)
    {
        ArgumentNullException.ThrowIfNull(hook);
        ArgumentNullException.ThrowIfNull(name);
        return AlwaysRemoved.Contains(name, StringComparer.OrdinalIgnoreCase)
            || (hook.Scheme == WebhookSchemes.HmacSha256 && name.Equals(HmacHeader(hook), StringComparison.OrdinalIgnoreCase));
    }

    /// <summary>The header a <c>hmac_sha256</c> webhook reads.</summary>
    public static string HmacHeader(WebhookDefinition hook)
    {
        ArgumentNullException.ThrowIfNull(hook);
        return hook.Header ?? WebhookSchemes.DefaultHmacHeader;
    }

    private sealed record Parsed(byte[] Prefix, IReadOnlyList<byte[]> Candidates, long? Timestamp, string? Reason)
    {
        public static Parsed Fail(string reason) => new([], [], null, reason);
    }

    private static Parsed Parse(WebhookDefinition hook, Func<string, string?> header) => hook.Scheme switch
    {
        WebhookSchemes.GitHub => ParseHex(header(WebhookSchemes.GitHubHeader), requirePrefix: true),
        WebhookSchemes.HmacSha256 => ParseHex(header(HmacHeader(hook)), requirePrefix: false),
        WebhookSchemes.Stripe => ParseStripe(header(WebhookSchemes.StripeHeader)),
        WebhookSchemes.Standard => ParseStandard(
            header(WebhookSchemes.StandardIdHeader), header(WebhookSchemes.StandardTimestampHeader), header(WebhookSchemes.StandardSignatureHeader)),
        _ => throw new InvalidOperationException($"Unknown webhook scheme '{hook.Scheme}'."),
    };

    /// <summary>GitHub: <c>sha256=&lt;hex&gt;</c> tokens; hmac_sha256: bare hex (a <c>sha256=</c> prefix is tolerated).</summary>
    private static Parsed ParseHex(string? value, bool requirePrefix)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            return Parsed.Fail(WebhookReasons.SignatureMissing);
        }

        var candidates = new List<byte[]>();
        foreach (var token in value.Split([' ', ','], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var hex = token;
            if (hex.StartsWith(Sha256Prefix, StringComparison.OrdinalIgnoreCase))
            {
                hex = hex[Sha256Prefix.Length..];
            }
            else if (requirePrefix)
            {
                continue;
            }

            if (Hex(hex) is { } mac)
            {
                candidates.Add(mac);
            }
        }

        return candidates.Count == 0 ? Parsed.Fail(WebhookReasons.SignatureMalformed) : new Parsed([], candidates, null, null);
    }

    /// <summary>Stripe: <c>t=&lt;unix&gt;,v1=&lt;hex&gt;[,v1=&lt;hex&gt;…][,v0=…]</c>; only <c>v1</c> counts; signed payload <c>"{t}.{body}"</c>.</summary>
    private static Parsed ParseStripe(string? value)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            return Parsed.Fail(WebhookReasons.SignatureMissing);
        }

        string? t = null;
        var candidates = new List<byte[]>();
        foreach (var item in value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var eq = item.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0)
            {
                continue;
            }

            var name = item[..eq];
            var text = item[(eq + 1)..];
            if (name == "t" && t is null)
            {
                t = text;
            }
            else if (name == "v1" && Hex(text) is { } mac)
            {
                candidates.Add(mac);
            }
        }

        if (t is null || UnixSeconds(t) is not { } timestamp || candidates.Count == 0)
        {
            return Parsed.Fail(WebhookReasons.SignatureMalformed);
        }

        return new Parsed(Encoding.ASCII.GetBytes(t + "."), candidates, timestamp, null);
    }

    /// <summary>Standard Webhooks: space-separated <c>v1,&lt;base64&gt;</c> entries over <c>"{id}.{timestamp}.{body}"</c>; other versions are ignored.</summary>
    private static Parsed ParseStandard(string? id, string? timestampText, string? signature)
    {
        if (string.IsNullOrEmpty(id) || string.IsNullOrEmpty(timestampText) || string.IsNullOrWhiteSpace(signature))
        {
            return Parsed.Fail(WebhookReasons.SignatureMissing);
        }

        if (UnixSeconds(timestampText) is not { } timestamp)
        {
            return Parsed.Fail(WebhookReasons.SignatureMalformed);
        }

        var candidates = new List<byte[]>();
        foreach (var entry in signature.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            if (!entry.StartsWith("v1,", StringComparison.Ordinal))
            {
                continue;
            }

            var buffer = new byte[MacLength + 3];
            if (Convert.TryFromBase64String(entry[3..], buffer, out var written) && written == MacLength)
            {
                candidates.Add(buffer[..MacLength]);
            }
        }

        return candidates.Count == 0
            ? Parsed.Fail(WebhookReasons.SignatureMalformed)
            : new Parsed(Encoding.UTF8.GetBytes(id + "." + timestampText + "."), candidates, timestamp, null);
    }

    /// <summary>The HMAC key: the secret's UTF-8 bytes, or for <c>standard</c> the base64 after <c>whsec_</c>. Null when unusable.</summary>
    private static byte[]? KeyOf(string scheme, SecretValue secret)
    {
        if (scheme != WebhookSchemes.Standard)
        {
            return secret.RevealUtf8();
        }

        var text = secret.Reveal();
        if (text.StartsWith(StandardSecretPrefix, StringComparison.Ordinal))
        {
            text = text[StandardSecretPrefix.Length..];
        }

        var buffer = new byte[Base64.GetMaxDecodedFromUtf8Length(text.Length)];
        try
        {
            return text.Length > 0 && Convert.TryFromBase64String(text, buffer, out var written) && written > 0 ? buffer[..written] : null;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(buffer);
        }
    }

    private static byte[]? Hex(string text)
    {
        if (text.Length != MacLength * 2)
        {
            return null;
        }

        try
        {
            return Convert.FromHexString(text);
        }
        catch (FormatException)
        {
            return null;
        }
    }

    private static long? UnixSeconds(string text) =>
        text.Length is > 0 and <= 12 && long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds) ? seconds : null;
}

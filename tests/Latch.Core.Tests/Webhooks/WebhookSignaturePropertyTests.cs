using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using CsCheck;
using Latch.Core.Secrets;
using Latch.Core.Webhooks;

namespace Latch.Core.Tests.Webhooks;

/// <summary>Property-based tests (CsCheck) of the signature header parsers: total on any header text, and exact on signed deliveries.</summary>
public sealed class WebhookSignaturePropertyTests
{
    private static readonly DateTimeOffset Now = DateTimeOffset.FromUnixTimeSeconds(1_800_000_000);

    private static readonly string[] Reasons =
    [
        WebhookReasons.SignatureMissing, WebhookReasons.SignatureMalformed, WebhookReasons.SignatureMismatch,
        WebhookReasons.TimestampStale, WebhookReasons.SecretUnusable,
    ];

    /// <summary>Header text built from the pieces the parsers look for, plus arbitrary strings.</summary>
    private static readonly Gen<string> HeaderText = Gen.OneOf(
        Gen.OneOf("sha256=", "t=", "v1=", "v0=", "v1,", "v2,", ",", " ", "=", "1800000000", "-1", "99999999999999",
                "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", "g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=", "é", "\t")
            .Array[0, 10].Select(string.Concat),
        Gen.String);

    private static readonly Gen<string> Scheme = Gen.Int[0, WebhookSchemes.All.Count - 1].Select(i => WebhookSchemes.All[i]);

    [Fact]
    public void Any_header_text_is_rejected_with_a_documented_reason_and_never_throws()
    {
        Gen.Select(Scheme, HeaderText, HeaderText, HeaderText, Gen.String).Sample((scheme, a, b, c, body) =>
        {
            var hook = new WebhookDefinition("hook", "Hook", "app", "$Token{S}", scheme, WebhookSchemes.HasTimestamp(scheme) ? 300 : null);
            var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase)
            {
                [WebhookSchemes.GitHubHeader] = a,
                [WebhookSchemes.StripeHeader] = a,
                [WebhookSignatures.HmacHeader(hook)] = a,
                [WebhookSchemes.StandardIdHeader] = b,
                [WebhookSchemes.StandardTimestampHeader] = c,
                [WebhookSchemes.StandardSignatureHeader] = a,
            };
            var precheck = WebhookSignatures.Precheck(hook, n => headers.GetValueOrDefault(n));
            var result = WebhookSignatures.Verify(hook, n => headers.GetValueOrDefault(n), Encoding.UTF8.GetBytes(body), [new SecretValue("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")], Now);
            // Random header text never carries a valid HMAC of a random body under this secret.
            Assert.False(result.Ok);
            Assert.True(Reasons.Contains(result.Reason), result.Reason);
            Assert.True(precheck is null || result.Reason == precheck);
        });
    }

    [Fact]
    public void A_correctly_signed_delivery_verifies_and_any_changed_body_byte_does_not()
    {
        Gen.Select(Scheme, Gen.Byte.Array[1, 200], Gen.Byte.Array[16, 40], Gen.Int[0, 199], Gen.Long[-300, 300]).Sample((scheme, body, keyBytes, flip, skew) =>
        {
            var hook = new WebhookDefinition("hook", "Hook", "app", "$Token{S}", scheme, WebhookSchemes.HasTimestamp(scheme) ? 300 : null);
            var secret = scheme == WebhookSchemes.Standard ? "whsec_" + Convert.ToBase64String(keyBytes) : Convert.ToHexString(keyBytes);
            var key = scheme == WebhookSchemes.Standard ? keyBytes : Encoding.UTF8.GetBytes(secret);
            var timestamp = (Now.ToUnixTimeSeconds() + skew).ToString(CultureInfo.InvariantCulture);
            var headers = Sign(hook, key, timestamp, body);

            var ok = WebhookSignatures.Verify(hook, n => headers.GetValueOrDefault(n), body, [new SecretValue(secret)], Now);
            Assert.True(ok.Ok, ok.Reason);

            var changed = (byte[])body.Clone();
            changed[flip % changed.Length] ^= 0x01;
            var bad = WebhookSignatures.Verify(hook, n => headers.GetValueOrDefault(n), changed, [new SecretValue(secret)], Now);
            Assert.Equal(WebhookReasons.SignatureMismatch, bad.Reason);
        });
    }

    private static Dictionary<string, string> Sign(WebhookDefinition hook, byte[] key, string timestamp, byte[] body)
    {
        byte[] Mac(string prefix) => HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(prefix).Concat(body).ToArray());
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        switch (hook.Scheme)
        {
            case WebhookSchemes.GitHub:
                headers[WebhookSchemes.GitHubHeader] = "sha256=" + Convert.ToHexStringLower(Mac(""));
                break;
            case WebhookSchemes.HmacSha256:
                headers[WebhookSignatures.HmacHeader(hook)] = Convert.ToHexStringLower(Mac(""));
                break;
            case WebhookSchemes.Stripe:
                headers[WebhookSchemes.StripeHeader] = $"t={timestamp},v1={Convert.ToHexStringLower(Mac(timestamp + "."))}";
                break;
            default:
                headers[WebhookSchemes.StandardIdHeader] = "msg_1";
                headers[WebhookSchemes.StandardTimestampHeader] = timestamp;
                headers[WebhookSchemes.StandardSignatureHeader] = "v1," + Convert.ToBase64String(Mac("msg_1." + timestamp + "."));
                break;
        }

        return headers;
    }
}

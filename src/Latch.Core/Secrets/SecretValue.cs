using System.Security.Cryptography;
using System.Text;

namespace Latch.Core.Secrets;

/// <summary>
/// A decrypted secret value. Its <see cref="ToString"/> redacts, so it cannot reach a log line or an
/// exception message by accident; the plaintext is only reachable through <see cref="Reveal"/>.
/// </summary>
public sealed class SecretValue : IEquatable<SecretValue>
{
    private readonly string _value;

    /// <summary>Wraps a plaintext value.</summary>
    public SecretValue(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        _value = value;
    }

    /// <summary>The plaintext. Call only where the value is meant to leave (substitution, reveal, signature check).</summary>
    public string Reveal() => _value;

    /// <summary>The plaintext as UTF-8.</summary>
    public byte[] RevealUtf8() => Encoding.UTF8.GetBytes(_value);

    /// <summary>Always <c>***</c>.</summary>
    public override string ToString() => "***";

    /// <summary>Constant-time comparison of two values.</summary>
    public bool Equals(SecretValue? other) =>
        other is not null && CryptographicOperations.FixedTimeEquals(
            Utf8(_value), Utf8(other._value));

    /// <inheritdoc />
    public override bool Equals(object? obj) => obj is SecretValue other && Equals(other);

    /// <inheritdoc />
    public override int GetHashCode() => _value.Length;

    private static ReadOnlySpan<byte> Utf8(string s) => Encoding.UTF8.GetBytes(s);
}

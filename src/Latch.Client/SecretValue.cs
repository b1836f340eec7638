using System.Text.Json;
using System.Text.Json.Serialization;

namespace Latch.Client;

/// <summary>
/// A secret value held by the SDK. <see cref="ToString"/> answers <c>***</c>, so a value never reaches a log line,
/// an exception message or a record's printed form by accident; call <see cref="Reveal"/> to use it.
/// </summary>
[JsonConverter(typeof(SecretValueJsonConverter))]
public sealed class SecretValue : IEquatable<SecretValue>
{
    private readonly string _value;

    /// <summary>Wraps a value.</summary>
    /// <param name="value">The plain value.</param>
    public SecretValue(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        _value = value;
    }

    /// <summary>The number of characters of the value (safe to log).</summary>
    public int Length => _value.Length;

    /// <summary>The plain value. Use it, do not log it.</summary>
    /// <returns>The value.</returns>
    public string Reveal() => _value;

    /// <summary>Always <c>***</c>.</summary>
    /// <returns><c>***</c>.</returns>
    public override string ToString() => "***";

    /// <summary>Wraps a value (the named alternative of the implicit conversion).</summary>
    /// <param name="value">The plain value.</param>
    /// <returns>The wrapped value.</returns>
    public static SecretValue FromString(string value) => new(value);

    /// <summary>Wraps a value, so a request can say <c>Value = "sk_live_…"</c>.</summary>
    /// <param name="value">The plain value.</param>
    public static implicit operator SecretValue(string value) => new(value);

    /// <summary>Compares values in constant time.</summary>
    /// <param name="other">The other value.</param>
    /// <returns>Whether both hold the same text.</returns>
    public bool Equals(SecretValue? other) =>
        other is not null && System.Security.Cryptography.CryptographicOperations.FixedTimeEquals(
            System.Text.Encoding.UTF8.GetBytes(_value), System.Text.Encoding.UTF8.GetBytes(other._value));

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is SecretValue other && Equals(other);

    /// <inheritdoc/>
    public override int GetHashCode() => _value.Length;

    /// <summary>Value equality.</summary>
    /// <param name="left">A value.</param>
    /// <param name="right">Another value.</param>
    /// <returns>Whether they are equal.</returns>
    public static bool operator ==(SecretValue? left, SecretValue? right) => left is null ? right is null : left.Equals(right);

    /// <summary>Value inequality.</summary>
    /// <param name="left">A value.</param>
    /// <param name="right">Another value.</param>
    /// <returns>Whether they differ.</returns>
    public static bool operator !=(SecretValue? left, SecretValue? right) => !(left == right);
}

/// <summary>Reads and writes a <see cref="SecretValue"/> as a JSON string.</summary>
internal sealed class SecretValueJsonConverter : JsonConverter<SecretValue>
{
    public override SecretValue? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        reader.TokenType == JsonTokenType.Null ? null : new SecretValue(reader.GetString()!);

    public override void Write(Utf8JsonWriter writer, SecretValue value, JsonSerializerOptions options) => writer.WriteStringValue(value.Reveal());
}

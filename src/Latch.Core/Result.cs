using Latch.Core.References;

namespace Latch.Core;

/// <summary>What kind of failure an expected error is; the server maps each to an HTTP status.</summary>
public enum ErrorKind
{
    /// <summary>Invalid input (400).</summary>
    Validation,
    /// <summary>Caller may not do this (403).</summary>
    Forbidden,
    /// <summary>Resource does not exist (404).</summary>
    NotFound,
    /// <summary>Resource already exists (409).</summary>
    Conflict,
    /// <summary>Stale <c>If-Match</c> (412).</summary>
    PreconditionFailed,
    /// <summary>References did not resolve (422).</summary>
    Unresolvable,
    /// <summary>A ciphertext failed its integrity check (500).</summary>
    Integrity,
    /// <summary>The upstream of an action could not be reached (502).</summary>
    UpstreamUnreachable,
    /// <summary>The upstream of an action did not answer in time (504).</summary>
    UpstreamTimeout,
    /// <summary>The audit log cannot be written, so nothing that must be recorded may happen (503).</summary>
    AuditUnavailable,
}

/// <summary>An expected failure with a stable code and an exact message. Never carries a value.</summary>
public sealed record LatchError(
    ErrorKind Kind,
    string Code,
    string Message,
    IReadOnlyDictionary<string, string[]>? Fields = null,
    IReadOnlyList<ReferenceError>? References = null)
{
    /// <summary>Invalid input with per-field messages.</summary>
    public static LatchError Invalid(IReadOnlyDictionary<string, string[]> fields) =>
        new(ErrorKind.Validation, "validation_failed", "The request is not valid: " +
            string.Join("; ", fields.Select(f => $"{f.Key}: {string.Join(", ", f.Value)}")), fields);

    /// <summary>Invalid input in one field.</summary>
    public static LatchError Invalid(string field, string message) =>
        Invalid(new Dictionary<string, string[]> { [field] = [message] });

    /// <summary><c>audit_unavailable</c>: refused because it could not be recorded.</summary>
    public static LatchError AuditUnavailable { get; } =
        new(ErrorKind.AuditUnavailable, "audit_unavailable", "The audit log cannot be written, so the request was refused; nothing was resolved or revealed");

    /// <summary><c>secret_not_found</c>.</summary>
    public static LatchError SecretNotFound(string key) => new(ErrorKind.NotFound, ReferenceCodes.NotFound, ReferenceMessages.NotFound(key));
}

/// <summary>A value or an expected failure.</summary>
public readonly struct Result<T>
{
    private Result(T? value, LatchError? error)
    {
        Value = value;
        Error = error;
    }

    /// <summary>The value (when <see cref="IsSuccess"/>).</summary>
    public T? Value { get; }

    /// <summary>The failure (when not <see cref="IsSuccess"/>).</summary>
    public LatchError? Error { get; }

    /// <summary>Whether this is a value.</summary>
    public bool IsSuccess => Error is null;

    /// <summary>Wraps a value.</summary>
    public static implicit operator Result<T>(T value) => new(value, null);

    /// <summary>Wraps a value (for interface-typed values, where implicit conversion is not allowed).</summary>
    public static Result<T> From(T value) => new(value, null);

    /// <summary>Wraps a failure.</summary>
    public static implicit operator Result<T>(LatchError error) => new(default, error);
}

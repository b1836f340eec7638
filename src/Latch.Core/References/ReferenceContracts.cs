using Latch.Core.Secrets;

namespace Latch.Core.References;

/// <summary>The policy half of a secret: everything the checks need, no value.</summary>
/// <param name="Key">Secret key.</param>
/// <param name="Version">Current version number.</param>
/// <param name="Revoked">Revoked secrets never resolve.</param>
/// <param name="Scope">Empty: every app. Otherwise access tags, or <c>product:access_tag</c>.</param>
/// <param name="Envs">Empty: every environment. Otherwise environment slugs.</param>
/// <param name="ExpiresAt">Null: never expires.</param>
public sealed record SecretPolicy(
    string Key,
    int Version,
    bool Revoked,
    IReadOnlyList<string> Scope,
    IReadOnlyList<string> Envs,
    DateTimeOffset? ExpiresAt);

/// <summary>Who is resolving: the app (access tag), its product if known, and the environment slug.</summary>
public sealed record ResolutionTarget(string App, string Env, string? Product = null);

/// <summary>One failing reference: JSON path, key (null when malformed beyond a key), stable code and exact message.</summary>
public sealed record ReferenceError(string Path, string? Key, string Code, string Message);

/// <summary>One reference occurrence in a document, in document order.</summary>
public sealed record FoundReference(string Path, string Key);

/// <summary>One reference that resolved: where, which secret, which version.</summary>
public sealed record ResolvedReference(string Path, string Key, int Version);

/// <summary>
/// What the engine needs from storage. Policies are metadata only; values are decrypted only once every
/// reference has passed its checks.
/// </summary>
public interface ISecretLookup
{
    /// <summary>Policies for the keys that exist (absent keys are simply missing from the result).</summary>
    ValueTask<IReadOnlyDictionary<string, SecretPolicy>> GetPoliciesAsync(IReadOnlyCollection<string> keys, CancellationToken cancellationToken);

    /// <summary>
    /// Decrypts the given versions. Throws <see cref="SecretIntegrityException"/> when a ciphertext fails
    /// authentication (tampered, swapped, or wrong key) — never returns a wrong value.
    /// </summary>
    ValueTask<IReadOnlyDictionary<string, SecretValue>> DecryptAsync(IReadOnlyCollection<SecretPolicy> secrets, CancellationToken cancellationToken);
}

/// <summary>One or more ciphertexts failed authentication. Carries the keys only.</summary>
public sealed class SecretIntegrityException : Exception
{
    /// <summary>Creates the exception for one key.</summary>
    public SecretIntegrityException(string key)
        : this([key])
    {
    }

    /// <summary>Creates the exception for every key whose ciphertext failed (at least one).</summary>
    public SecretIntegrityException(IReadOnlyList<string> keys)
        : base(ReferenceMessages.Integrity(keys[0]))
    {
        Keys = keys;
    }

    /// <summary>The first secret whose ciphertext failed.</summary>
    public string Key => Keys[0];

    /// <summary>Every secret whose ciphertext failed.</summary>
    public IReadOnlyList<string> Keys { get; }
}

/// <summary>Stable error codes of resolution.</summary>
public static class ReferenceCodes
{
    /// <summary>Secret does not exist in the workspace.</summary>
    public const string NotFound = "secret_not_found";
    /// <summary>Secret was revoked.</summary>
    public const string Revoked = "secret_revoked";
    /// <summary>Secret's scope does not include the app.</summary>
    public const string ScopeDenied = "secret_scope_denied";
    /// <summary>Secret is not available in the environment.</summary>
    public const string EnvDenied = "secret_env_denied";
    /// <summary>Secret has expired.</summary>
    public const string Expired = "secret_expired";
    /// <summary>Text looked like a reference but was not a valid one.</summary>
    public const string Malformed = "malformed_reference";
    /// <summary>Ciphertext failed authentication.</summary>
    public const string Integrity = "secret_integrity";
}

/// <summary>The exact messages of SPEC §2.</summary>
public static class ReferenceMessages
{
    /// <summary><c>Secret 'KEY' not found</c></summary>
    public static string NotFound(string key) => $"Secret '{key}' not found";
    /// <summary><c>Secret 'KEY' has been revoked</c></summary>
    public static string Revoked(string key) => $"Secret '{key}' has been revoked";
    /// <summary><c>Secret 'KEY' is not accessible by app 'APP'</c></summary>
    public static string ScopeDenied(string key, string app) => $"Secret '{key}' is not accessible by app '{app}'";
    /// <summary><c>Secret 'KEY' is not available in environment 'ENV'</c></summary>
    public static string EnvDenied(string key, string env) => $"Secret '{key}' is not available in environment '{env}'";
    /// <summary><c>Secret 'KEY' has expired</c></summary>
    public static string Expired(string key) => $"Secret '{key}' has expired";
    /// <summary><c>Malformed secret reference at PATH: WHAT</c></summary>
    public static string Malformed(string path, string what) => $"Malformed secret reference at {path}: {what}";
    /// <summary><c>Secret 'KEY' failed its integrity check</c></summary>
    public static string Integrity(string key) => $"Secret '{key}' failed its integrity check";
}

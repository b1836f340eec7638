using System.Security.Cryptography;
using Latch.Core.Audit;
using Latch.Core.Crypto;
using Latch.Core.References;
using Latch.Core.Storage;

namespace Latch.Core.Secrets;

/// <summary>A value that may be absent (not sent) as opposed to null (sent as null).</summary>
public readonly record struct Optional<T>(bool IsSet, T Value)
{
    /// <summary>A present value.</summary>
    public static Optional<T> Of(T value) => new(true, value);
}

/// <summary>A validated request to create a secret.</summary>
public sealed record SecretDraft(
    string Key,
    SecretValue? Value,
    string? Description,
    string? TokenType,
    IReadOnlyList<string> Scope,
    IReadOnlyList<string> Envs,
    long? ExpiresAt);

/// <summary>A validated partial update; unset fields are left alone.</summary>
public sealed record SecretPatch
{
    /// <summary>A new value (rotation: makes a new version and clears revocation).</summary>
    public SecretValue? Value { get; init; }
    /// <summary>New description.</summary>
    public Optional<string?> Description { get; init; }
    /// <summary>New token type.</summary>
    public Optional<string?> TokenType { get; init; }
    /// <summary>New scope.</summary>
    public Optional<IReadOnlyList<string>> Scope { get; init; }
    /// <summary>New environments.</summary>
    public Optional<IReadOnlyList<string>> Envs { get; init; }
    /// <summary>New expiry (null clears).</summary>
    public Optional<long?> ExpiresAt { get; init; }
    /// <summary>Revoke or un-revoke.</summary>
    public Optional<bool> Revoked { get; init; }

    /// <summary>Names of the fields this patch sets (for the audit log; never values).</summary>
    public IEnumerable<string> FieldNames()
    {
        if (Value is not null) yield return "value";
        if (Description.IsSet) yield return "description";
        if (TokenType.IsSet) yield return "token_type";
        if (Scope.IsSet) yield return "scope";
        if (Envs.IsSet) yield return "envs";
        if (ExpiresAt.IsSet) yield return "expires_at";
        if (Revoked.IsSet) yield return "revoked";
    }
}

/// <summary>A created secret and, when Latch generated the value, that value (shown once).</summary>
public sealed record CreatedSecret(SecretRecord Secret, SecretValue? GeneratedValue);

/// <summary>Secret lifecycle: create, read, rotate, revoke, delete, versions, rollback. Every change is audited in its own transaction.</summary>
public sealed class SecretService
{
    private const string GeneratedAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    private const int GeneratedLength = 64;
    private const int MaxConcurrencyRetries = 200;
    private readonly ILatchStore _store;
    private readonly Keyring _keyring;
    private readonly TimeProvider _time;
    private readonly AuditWriter _audit;
    private readonly StoreChanges? _changes;

    /// <summary>Creates the service; with <paramref name="changes"/>, every secret change is published there after it commits (caches listen).</summary>
    public SecretService(ILatchStore store, Keyring keyring, AuditWriter audit, TimeProvider time, StoreChanges? changes = null)
    {
        _changes = changes;
        _store = store;
        _keyring = keyring;
        _audit = audit;
        _time = time;
    }

    /// <summary>A 64-character random value from [A-Za-z0-9].</summary>
    public static SecretValue GenerateValue() => new(RandomNumberGenerator.GetString(GeneratedAlphabet, GeneratedLength));

    /// <summary>Creates version 1 of a new secret.</summary>
    public async Task<Result<CreatedSecret>> CreateAsync(string workspaceId, SecretDraft draft, Actor actor, CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        if (draft.ExpiresAt is { } expires && expires <= now.ToUnixTimeSeconds())
        {
            return LatchError.Invalid("expires_at", "must be in the future");
        }

        var generated = draft.Value is null ? GenerateValue() : null;
        var value = draft.Value ?? generated!;
        var record = new SecretRecord(draft.Key, draft.Description, draft.TokenType, draft.Scope, draft.Envs, draft.ExpiresAt,
            Revoked: false, Version: 1, now, now, LastUsedAt: null);
        var sealedValue = await _keyring.SealAsync(workspaceId, draft.Key, 1, value, cancellationToken);
        var audit = Event(workspaceId, "secret.created", actor, now) with { SecretKey = draft.Key, Version = 1 };
        if (!await Published(workspaceId, draft.Key, _store.CreateSecretAsync(workspaceId, record, sealedValue, actor.Name, audit, cancellationToken)))
        {
            return new LatchError(ErrorKind.Conflict, "secret_exists", $"Secret '{draft.Key}' already exists");
        }

        return new CreatedSecret(record, generated);
    }

    /// <summary>A secret's metadata.</summary>
    public async Task<Result<SecretRecord>> GetAsync(string workspaceId, string key, CancellationToken cancellationToken) =>
        await _store.GetSecretAsync(workspaceId, key, cancellationToken) is { } secret ? secret : LatchError.SecretNotFound(key);

    /// <summary>Metadata plus the current value; the reveal is committed to the audit log before the value is returned.</summary>
    public async Task<Result<(SecretRecord Secret, SecretValue Value)>> RevealAsync(string workspaceId, string key, Actor actor, CancellationToken cancellationToken)
    {
        var secret = await _store.GetSecretAsync(workspaceId, key, cancellationToken);
        if (secret is null)
        {
            return LatchError.SecretNotFound(key);
        }

        var value = await DecryptAsync(workspaceId, key, secret.Version, cancellationToken);
        if (!value.IsSuccess)
        {
            return value.Error!;
        }

        try
        {
            await _audit.AppendAsync(
                [Event(workspaceId, "secret.revealed", actor, _time.GetUtcNow()) with { SecretKey = key, Version = secret.Version }],
                cancellationToken);
        }
        catch (AuditUnavailableException)
        {
            return LatchError.AuditUnavailable;
        }

        return (secret, value.Value!);
    }

    /// <summary>A page of secrets.</summary>
    public Task<IReadOnlyList<SecretRecord>> ListAsync(string workspaceId, SecretQuery query, CancellationToken cancellationToken) =>
        _store.ListSecretsAsync(workspaceId, query, _time.GetUtcNow(), cancellationToken);

    /// <summary>Every version, newest first.</summary>
    public async Task<Result<IReadOnlyList<SecretVersionInfo>>> VersionsAsync(string workspaceId, string key, CancellationToken cancellationToken)
    {
        var versions = await _store.ListVersionsAsync(workspaceId, key, cancellationToken);
        return versions.Count == 0 ? LatchError.SecretNotFound(key) : Result<IReadOnlyList<SecretVersionInfo>>.From(versions);
    }

    /// <summary>
    /// Applies a patch. A new value makes version n+1 (rotation). With <paramref name="ifMatchVersion"/> a stale
    /// version fails with <c>version_conflict</c>; without it, concurrent writers are retried so no version is lost.
    /// </summary>
    public Task<Result<SecretRecord>> UpdateAsync(string workspaceId, string key, SecretPatch patch, int? ifMatchVersion, Actor actor, CancellationToken cancellationToken) =>
        MutateAsync(workspaceId, key, ifMatchVersion, "secret.updated", actor, cancellationToken, (current, now) =>
        {
            if (patch.ExpiresAt is { IsSet: true, Value: { } expires } && expires <= now.ToUnixTimeSeconds())
            {
                return LatchError.Invalid("expires_at", "must be in the future");
            }

            var rotated = patch.Value is not null;
            var updated = current with
            {
                Description = patch.Description.IsSet ? patch.Description.Value : current.Description,
                TokenType = patch.TokenType.IsSet ? patch.TokenType.Value : current.TokenType,
                Scope = patch.Scope.IsSet ? patch.Scope.Value : current.Scope,
                Envs = patch.Envs.IsSet ? patch.Envs.Value : current.Envs,
                ExpiresAt = patch.ExpiresAt.IsSet ? patch.ExpiresAt.Value : current.ExpiresAt,
                // A new value un-revokes (SPEC §3) unless the same patch explicitly revokes.
                Revoked = patch.Revoked.IsSet ? patch.Revoked.Value : (!rotated && current.Revoked),
                Version = rotated ? current.Version + 1 : current.Version,
                UpdatedAt = now,
            };
            return new Mutation(updated, patch.Value, string.Join(",", patch.FieldNames()));
        });

    /// <summary>Revokes: kept, never resolvable until un-revoked or rotated.</summary>
    public Task<Result<SecretRecord>> RevokeAsync(string workspaceId, string key, Actor actor, CancellationToken cancellationToken) =>
        MutateAsync(workspaceId, key, null, "secret.revoked", actor, cancellationToken,
            (current, now) => new Mutation(current with { Revoked = true, UpdatedAt = now }, null, null));

    /// <summary>Makes a new version holding an earlier version's value.</summary>
    public async Task<Result<SecretRecord>> RollbackAsync(string workspaceId, string key, int version, Actor actor, CancellationToken cancellationToken)
    {
        var secret = await _store.GetSecretAsync(workspaceId, key, cancellationToken);
        if (secret is null)
        {
            return LatchError.SecretNotFound(key);
        }

        if (version < 1 || version > secret.Version)
        {
            return new LatchError(ErrorKind.NotFound, "version_not_found", $"Secret '{key}' has no version {version}");
        }

        var old = await DecryptAsync(workspaceId, key, version, cancellationToken);
        if (!old.IsSuccess)
        {
            return old.Error!;
        }

        return await MutateAsync(workspaceId, key, null, "secret.rolled_back", actor, cancellationToken, (current, now) =>
            new Mutation(current with { Version = current.Version + 1, Revoked = false, UpdatedAt = now }, old.Value, $"from_version={version}"));
    }

    /// <summary>Deletes a secret and every version.</summary>
    public async Task<Result<bool>> DeleteAsync(string workspaceId, string key, Actor actor, CancellationToken cancellationToken)
    {
        var audit = Event(workspaceId, "secret.deleted", actor, _time.GetUtcNow()) with { SecretKey = key };
        return await Published(workspaceId, key, _store.DeleteSecretAsync(workspaceId, key, audit, cancellationToken)) ? true : LatchError.SecretNotFound(key);
    }

    /// <summary>
    /// Awaits a mutating store call, then publishes the secret's change — also when the call failed (an extra
    /// invalidation is harmless, a missed one is not).
    /// </summary>
    private async Task<T> Published<T>(string workspaceId, string key, Task<T> call)
    {
        try
        {
            return await call;
        }
        finally
        {
            _changes?.Publish(new StoreChange(workspaceId, StoreChangeKind.Secret, key));
        }
    }

    /// <summary>Decrypts one version; an integrity failure is an error, never a wrong value.</summary>
    internal async Task<Result<SecretValue>> DecryptAsync(string workspaceId, string key, int version, CancellationToken cancellationToken)
    {
        var sealedValue = await _store.GetSealedValueAsync(workspaceId, key, version, cancellationToken);
        try
        {
            if (sealedValue is null)
            {
                throw new SecretIntegrityException(key);
            }

            return await _keyring.OpenAsync(workspaceId, key, version, sealedValue, cancellationToken);
        }
        catch (SecretIntegrityException)
        {
            return new LatchError(ErrorKind.Integrity, ReferenceCodes.Integrity, ReferenceMessages.Integrity(key));
        }
    }

    private sealed record Mutation(SecretRecord Updated, SecretValue? NewValue, string? Detail);

    private async Task<Result<SecretRecord>> MutateAsync(
        string workspaceId, string key, int? ifMatchVersion, string action, Actor actor, CancellationToken cancellationToken,
        Func<SecretRecord, DateTimeOffset, Result<Mutation>> change)
    {
        for (var attempt = 0; attempt < MaxConcurrencyRetries; attempt++)
        {
            var current = await _store.GetSecretAsync(workspaceId, key, cancellationToken);
            if (current is null)
            {
                return LatchError.SecretNotFound(key);
            }

            if (ifMatchVersion is { } expected && expected != current.Version)
            {
                return VersionConflict(key, expected, current.Version);
            }

            var now = _time.GetUtcNow();
            var mutation = change(current, now);
            if (!mutation.IsSuccess)
            {
                return mutation.Error!;
            }

            var (updated, newValue, detail) = mutation.Value!;
            SealedValue? sealedValue = null;
            if (newValue is not null)
            {
                sealedValue = await _keyring.SealAsync(workspaceId, key, updated.Version, newValue, cancellationToken);
            }

            var audit = Event(workspaceId, action, actor, now) with { SecretKey = key, Version = updated.Version, Detail = detail };
            switch (await Published(workspaceId, key, _store.UpdateSecretAsync(workspaceId, updated, current.Version, sealedValue, actor.Name, audit, cancellationToken, expectedUpdatedAt: current.UpdatedAt)))
            {
                case UpdateResult.Updated:
                    return updated;
                case UpdateResult.NotFound:
                    return LatchError.SecretNotFound(key);
                case UpdateResult.VersionConflict when ifMatchVersion is not null:
                    var latest = await _store.GetSecretAsync(workspaceId, key, cancellationToken);
                    return latest is null ? LatchError.SecretNotFound(key) : VersionConflict(key, ifMatchVersion.Value, latest.Version);
                default:
                    continue; // Someone else committed first: re-read and re-apply.
            }
        }

        return new LatchError(ErrorKind.Conflict, "version_conflict", $"Secret '{key}' is being changed too often; try again");
    }

    private const string SortableAlphabet = "0123456789abcdefghijklmnopqrstuvwxyz";

    /// <summary>
    /// <c>evt_</c> + 20 characters of <c>[0-9a-z]</c> like <see cref="Ids.New"/>, but time-ordered: 10 characters of the
    /// event time (milliseconds, base 36, fixed width, so they sort as text) then 10 random ones (51 bits). New ids land at
    /// the end of the audit table's unique id index, so a group commit of hundreds of events dirties a few index pages
    /// instead of one random page per event (which made every commit write megabytes once the log held ~10⁵ events).
    /// </summary>
    internal static string EventId(DateTimeOffset at)
    {
        Span<char> id = stackalloc char[24];
        "evt_".CopyTo(id);
        var ms = (ulong)Math.Max(0, at.ToUnixTimeMilliseconds());
        for (var i = 13; i >= 4; i--)
        {
            id[i] = SortableAlphabet[(int)(ms % 36)];
            ms /= 36;
        }

        Ids.FillRandom(id[14..], SortableAlphabet);
        return new string(id);
    }

    private static LatchError VersionConflict(string key, int expected, int actual) =>
        new(ErrorKind.PreconditionFailed, "version_conflict", $"Secret '{key}' is at version {actual}, not {expected}");

    internal static AuditEvent Event(string workspaceId, string action, Actor actor, DateTimeOffset at) => new()
    {
        Id = EventId(at),
        WorkspaceId = workspaceId,
        At = at,
        Action = action,
        ActorKeyId = actor.KeyId,
        ActorName = actor.Name,
        RequestId = actor.RequestId,
        Client = actor.Client,
    };
}
